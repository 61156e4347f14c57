CREATE TABLE studio_projects (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    namespace TEXT NOT NULL UNIQUE,
    schema_version INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX studio_projects_org ON studio_projects (organization_id, updated_at);

CREATE TABLE studio_favorites (
    user_id TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES studio_projects (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, project_id)
);

CREATE TABLE studio_share_links (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES studio_projects (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX studio_share_links_project ON studio_share_links (project_id);

CREATE TABLE studio_pages (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES studio_projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    position INTEGER NOT NULL,
    seo_title TEXT NOT NULL DEFAULT '',
    seo_description TEXT NOT NULL DEFAULT '',
    document JSON NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (project_id, slug)
);

CREATE TABLE studio_page_versions (
    page_id TEXT NOT NULL REFERENCES studio_pages (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    seo_title TEXT NOT NULL,
    seo_description TEXT NOT NULL,
    document JSON NOT NULL,
    size_bytes INTEGER NOT NULL,
    author_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (page_id, version)
);

CREATE TABLE studio_components (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    props_schema JSON NOT NULL,
    document JSON NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE studio_collections (
    project_id TEXT NOT NULL REFERENCES studio_projects (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    definition JSON NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, name)
);

CREATE TABLE studio_schema_migrations (
    project_id TEXT NOT NULL REFERENCES studio_projects (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    collection_id TEXT NOT NULL,
    collection_name TEXT NOT NULL,
    operations JSON NOT NULL,
    statements JSON NOT NULL,
    actor_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, seq)
);
