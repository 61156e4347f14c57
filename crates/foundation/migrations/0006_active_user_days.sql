-- The days (UTC, `YYYY-MM-DD`) on which each account signed in or renewed a session: the
-- admin dashboard's active accounts per day. Kept 90 days.
CREATE TABLE active_user_days (
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (day, user_id)
);
