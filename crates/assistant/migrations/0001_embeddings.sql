-- Embeddings of what semantic search looks through (marketplace items, components), kept
-- per model and re-made when the embedded text changes.
CREATE TABLE assistant_embeddings (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    model TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    vector TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, id, model)
);
