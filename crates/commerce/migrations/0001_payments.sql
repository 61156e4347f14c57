-- Payments: amounts in minor units with an ISO 4217 currency.
CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    status TEXT NOT NULL,
    amount BIGINT NOT NULL,
    amount_refunded BIGINT NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    purpose_kind TEXT,
    purpose_id TEXT,
    success_url TEXT NOT NULL,
    cancel_url TEXT NOT NULL,
    failure_reason TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP
);
CREATE INDEX payments_org ON payments (organization_id, created_at);
CREATE UNIQUE INDEX payments_provider_ref ON payments (provider, provider_ref);

CREATE TABLE payment_refunds (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX payment_refunds_payment ON payment_refunds (payment_id);

-- Every webhook delivery, valid or not.
CREATE TABLE payment_webhook_deliveries (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    event_id TEXT,
    event_type TEXT,
    signature_valid BOOLEAN NOT NULL,
    duplicate BOOLEAN NOT NULL,
    error TEXT,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX payment_webhook_deliveries_received ON payment_webhook_deliveries (received_at);

-- Each provider event once: its first valid delivery stores it and enqueues its processing.
CREATE TABLE payment_webhook_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP,
    outcome TEXT,
    PRIMARY KEY (provider, event_id)
);
