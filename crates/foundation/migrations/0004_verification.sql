-- Organizations' verification (KYC for individuals, KYB for businesses): the current state,
-- and the documents of every submission (the bytes are in the file storage under
-- `storage_key`).
CREATE TABLE org_verifications (
    organization_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    submissions BIGINT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    reviewed_by TEXT,
    reviewed_at TIMESTAMP,
    reason TEXT
);
CREATE INDEX org_verifications_status ON org_verifications (status, submitted_at);
CREATE TABLE org_verification_documents (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    submission BIGINT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    metadata TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX org_verification_documents_org ON org_verification_documents (organization_id, submission);
