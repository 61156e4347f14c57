-- The job queue every module uses, the event outbox, and the scheduler's schedules.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    queue TEXT NOT NULL,
    payload JSON NOT NULL,
    status TEXT NOT NULL,
    priority BIGINT NOT NULL DEFAULT 0,
    run_at TIMESTAMP NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    timeout_secs BIGINT NOT NULL,
    locked_until TIMESTAMP,
    lease TEXT,
    idempotency_key TEXT UNIQUE,
    result JSON,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_queue ON jobs (queue, status);
CREATE INDEX jobs_kind ON jobs (kind, status, created_at);

CREATE TABLE job_attempts (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    worker TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    outcome TEXT NOT NULL,
    error TEXT,
    duration_ms BIGINT,
    PRIMARY KEY (job_id, attempt)
);

CREATE TABLE outbox (
    seq ID_SEQUENCE,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    organization_id TEXT,
    payload JSON NOT NULL,
    created_at TIMESTAMP NOT NULL,
    dispatched_at TIMESTAMP,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_dispatched ON outbox (dispatched_at) WHERE dispatched_at IS NOT NULL;

CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    job_kind TEXT NOT NULL,
    queue TEXT NOT NULL,
    payload JSON NOT NULL,
    enabled BOOLEAN NOT NULL,
    next_run_at TIMESTAMP NOT NULL,
    last_run_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX schedules_due ON schedules (enabled, next_run_at);

-- Mail still waiting in the old one-purpose queue becomes email jobs.
INSERT INTO jobs (id, kind, queue, payload, status, priority, run_at, attempts, max_attempts, timeout_secs, created_at, updated_at)
SELECT id, 'email.send', 'email',
       JSON_OBJECT('to', to_addr, 'subject', subject, 'html', html, 'text', text),
       'queued', 0, next_attempt_at, attempts, 8, 60, created_at, created_at
FROM mail_queue WHERE status = 'pending';
DROP TABLE mail_queue;

-- Email templates edited by administrators (the shipped defaults live in code).
CREATE TABLE email_templates (
    key TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    updated_by TEXT,
    updated_at TIMESTAMP NOT NULL
);
