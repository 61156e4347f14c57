-- What administrators sent (to a user, a role or everyone): the back-office lists it. The
-- sender's and the addressee's addresses are kept as they were when it was sent.
CREATE TABLE sent_notifications (
    id TEXT PRIMARY KEY,
    sent_by TEXT NOT NULL,
    sent_by_email TEXT,
    audience TEXT NOT NULL,
    audience_value TEXT,
    type TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    url TEXT,
    job_id TEXT,
    recipients INTEGER,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX sent_notifications_created ON sent_notifications (created_at);
