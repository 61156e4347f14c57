-- What organizations used, per UTC day: API calls, AI tokens, exports (written in batches
-- by each process's meter). Monthly allowances sum the days of the month.
CREATE TABLE billing_usage_daily (
    organization_id TEXT NOT NULL,
    day TEXT NOT NULL,
    metric TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (organization_id, day, metric)
);
