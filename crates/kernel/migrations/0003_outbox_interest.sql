-- Which listeners want the events of a scope. Events that only matter while someone listens
-- (a record's writes) are appended only when their scope has a row here.
CREATE TABLE outbox_interest (
    scope TEXT NOT NULL,
    listener TEXT NOT NULL,
    PRIMARY KEY (scope, listener)
);
