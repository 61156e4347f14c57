-- The plans on sale, editable by platform administrators. Limits: a JSON object, null for
-- no limit.
CREATE TABLE billing_plans (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    currency TEXT NOT NULL,
    price_month BIGINT NOT NULL,
    price_year BIGINT NOT NULL,
    limits TEXT NOT NULL
);
INSERT INTO billing_plans (code, name, position, currency, price_month, price_year, limits) VALUES
    ('FREE', 'Free', 0, 'EUR', 0, 0, '{"projects":3,"apps":1,"records":10000,"storage_bytes":104857600,"api_calls_per_day":10000,"ai_tokens_per_month":20000,"exports_per_month":5,"members":3}'),
    ('PRO', 'Pro', 1, 'EUR', 1900, 19000, '{"projects":20,"apps":5,"records":100000,"storage_bytes":5368709120,"api_calls_per_day":100000,"ai_tokens_per_month":500000,"exports_per_month":50,"members":10}'),
    ('BUSINESS', 'Business', 2, 'EUR', 7900, 79000, '{"projects":100,"apps":25,"records":1000000,"storage_bytes":53687091200,"api_calls_per_day":1000000,"ai_tokens_per_month":5000000,"exports_per_month":500,"members":50}'),
    ('ENTERPRISE', 'Enterprise', 3, 'EUR', 29900, 299000, '{"projects":null,"apps":null,"records":null,"storage_bytes":null,"api_calls_per_day":null,"ai_tokens_per_month":null,"exports_per_month":null,"members":null}');

-- An organization's plan (no row: FREE).
CREATE TABLE billing_subscriptions (
    organization_id TEXT PRIMARY KEY,
    plan_code TEXT NOT NULL REFERENCES billing_plans (code),
    period TEXT NOT NULL,
    status TEXT NOT NULL,
    current_period_start TIMESTAMP NOT NULL,
    current_period_end TIMESTAMP,
    cancel_at_period_end BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
