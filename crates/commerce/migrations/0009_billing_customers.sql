-- An organization as a provider's customer (Stripe), whose saved cards renewals charge.
CREATE TABLE billing_customers (
    organization_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, provider)
);
CREATE UNIQUE INDEX billing_customers_ref ON billing_customers (provider, customer_ref);
