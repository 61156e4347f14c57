-- Builders' files (images and assets for pages, documents), per organization; the bytes are
-- in the file storage under `storage_key`. Public files (page images) are served without a
-- signed link.
CREATE TABLE platform_files (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    width BIGINT,
    height BIGINT,
    public BOOLEAN NOT NULL,
    storage_key TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX platform_files_org ON platform_files (organization_id, created_at);
