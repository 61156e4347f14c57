-- Requests answered per hour (UTC), summed over every process: the admin dashboard's chart.
-- `hour` is the hour's first second since the epoch. Each process adds its counts every minute.
CREATE TABLE insights_request_hours (
    hour BIGINT PRIMARY KEY,
    requests BIGINT NOT NULL,
    client_errors BIGINT NOT NULL,
    server_errors BIGINT NOT NULL
);
