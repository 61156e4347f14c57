-- The marketplace: items (a template's project bundle or a component, as published),
-- purchases (one per item and buying organization) and reviews (one per item and person).
CREATE TABLE marketplace_items (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    screenshots TEXT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    license TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    rejection_reason TEXT,
    reviewed_by TEXT,
    reviewed_at TIMESTAMP,
    rating_count BIGINT NOT NULL,
    rating_sum BIGINT NOT NULL,
    sales BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX marketplace_items_listing ON marketplace_items (status, category, created_at);
CREATE INDEX marketplace_items_seller ON marketplace_items (organization_id, created_at);

CREATE TABLE marketplace_purchases (
    id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES marketplace_items (id),
    organization_id TEXT NOT NULL,
    bought_by TEXT NOT NULL,
    price BIGINT NOT NULL,
    currency TEXT NOT NULL,
    payment_id TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE UNIQUE INDEX marketplace_purchases_once ON marketplace_purchases (item_id, organization_id);

CREATE TABLE marketplace_reviews (
    item_id TEXT NOT NULL REFERENCES marketplace_items (id),
    user_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    rating BIGINT NOT NULL,
    comment TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, user_id)
);
