-- Renewals: a subscription whose period ended waits for its renewal payment until
-- `grace_until` (status `past_due`), then falls back to FREE.
ALTER TABLE billing_subscriptions ADD COLUMN grace_until TIMESTAMP;
ALTER TABLE billing_subscriptions ADD COLUMN renewal_payment_id TEXT;
