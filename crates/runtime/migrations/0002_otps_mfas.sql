-- One-time passwords of app end users (hashed with their id), and sign-ins waiting for
-- a second factor (PocketBase's _otps and _mfas).
CREATE TABLE runtime_otps (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES runtime_apps (id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    sent_to TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX runtime_otps_record ON runtime_otps (app_id, collection_id, record_id, created_at);

CREATE TABLE runtime_mfas (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES runtime_apps (id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    method TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX runtime_mfas_created ON runtime_mfas (created_at);
