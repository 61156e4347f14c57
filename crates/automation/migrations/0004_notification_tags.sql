-- A notification may carry a tag: a later notification with the same tag for the same user
-- replaces it (an export's progress, then its end) instead of piling up.
ALTER TABLE notifications ADD COLUMN tag TEXT;
CREATE INDEX notifications_user_tag ON notifications (user_id, tag);
