-- The audit log by user (issue "Admin console").
--
-- The console searches auth_events by user (the audit log page) and reads
-- a user's last Duo steps (the Duo-username check on the users page); the
-- partial indexes of 0001 cover failed logins only.
CREATE INDEX auth_events_by_user ON auth_events (username, at);
