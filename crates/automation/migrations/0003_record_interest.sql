-- Record events are appended to the outbox only while a listener wants them (the kernel's
-- outbox_interest): declare the interest of the workflows and webhooks made before that.
-- A webhook counts whatever it subscribes to; its next change narrows it to record events.
INSERT INTO outbox_interest (scope, listener)
SELECT DISTINCT 'records:app:' || trigger_app_id, 'workflows' FROM workflows
WHERE enabled = TRUE AND trigger_type = 'record' AND trigger_app_id IS NOT NULL;
INSERT INTO outbox_interest (scope, listener)
SELECT DISTINCT 'records:org:' || organization_id, 'webhooks' FROM webhook_subscriptions WHERE active = TRUE;
