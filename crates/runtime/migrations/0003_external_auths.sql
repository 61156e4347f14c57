-- Provider accounts linked to app records (PocketBase's _externalAuths).
CREATE TABLE runtime_external_auths (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES runtime_apps (id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX runtime_external_auths_identity ON runtime_external_auths (app_id, collection_id, provider, provider_id);
CREATE INDEX runtime_external_auths_record ON runtime_external_auths (app_id, record_id);
