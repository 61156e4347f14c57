CREATE TABLE runtime_apps (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    namespace TEXT NOT NULL UNIQUE,
    current_deployment INTEGER,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX runtime_apps_org ON runtime_apps (organization_id);

CREATE TABLE runtime_deployments (
    app_id TEXT NOT NULL REFERENCES runtime_apps (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    collections JSON NOT NULL,
    source TEXT NOT NULL,
    operations JSON NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (app_id, number)
);
