-- The live form of each page is a Y.Doc. Every accepted change is one row of its update log
-- (who, when, in which editing session); `collab_snapshots` holds, per page, the
-- `checkpoint` (the whole state up to `upto_id`, so loading reads it and the rows after it)
-- and the `base` (the state before the oldest row still kept, from which time travel starts).
CREATE TABLE collab_updates (
    id ID_SEQUENCE,
    page_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    -- edit (a live editor), repair (the server undoing an invalid change), rest (a REST
    -- write), restore (a return to an earlier state), seed (the page's JSON before live editing)
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX collab_updates_page ON collab_updates (page_id, id);
CREATE INDEX collab_updates_session ON collab_updates (session_id, id);
CREATE INDEX collab_updates_time ON collab_updates (created_at);

CREATE TABLE collab_snapshots (
    page_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    upto_id INTEGER NOT NULL,
    state BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (page_id, kind)
);

-- An editing session: one connection of one person to one page (or one REST write, one
-- restore). `changes` counts its updates.
CREATE TABLE collab_sessions (
    id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    changes INTEGER NOT NULL DEFAULT 0,
    started_at TIMESTAMP NOT NULL,
    last_change_at TIMESTAMP,
    ended_at TIMESTAMP
);
CREATE INDEX collab_sessions_page ON collab_sessions (page_id, started_at);
CREATE INDEX collab_sessions_org ON collab_sessions (organization_id, started_at);
