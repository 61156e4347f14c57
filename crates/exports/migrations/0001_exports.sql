-- Exports of a project (a static site as a ZIP), made by the job queue; the ZIP is in the
-- file storage under `storage_key`.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    format TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL,
    progress BIGINT NOT NULL,
    step TEXT NOT NULL,
    error TEXT,
    size BIGINT,
    storage_key TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX exports_project ON exports (project_id, created_at);
