-- Signed calls to workflows' webhooks already received, so that a call replayed (within
-- the signature's tolerance) or sent again by a sender that lost the answer starts its
-- workflow once. Kept a day.
CREATE TABLE workflow_hook_deliveries (
    workflow_id TEXT NOT NULL,
    delivery TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (workflow_id, delivery)
);
CREATE INDEX workflow_hook_deliveries_received ON workflow_hook_deliveries (received_at);
