-- Bounded tables and one Duo identity per account (issue "Hardening").
--
-- 1. The scheduled handler (Cron Trigger in wrangler.toml, edge/src/flow/
--    maintenance.rs) deletes expired sessions, spent Duo states whose login
--    tickets expired long ago, finished rate-limit windows and audit events
--    past AUDIT_RETENTION_DAYS. The audit log stays append-only for anything
--    younger than 30 days, whatever the setting says: the trigger refuses
--    to delete it.
DROP TRIGGER auth_events_no_delete;
CREATE TRIGGER auth_events_no_delete BEFORE DELETE ON auth_events
  WHEN old.at > unixepoch() - 30 * 86400
BEGIN SELECT RAISE(ABORT, 'auth_events is append-only for 30 days'); END;

-- How many more refused requests a row stands for: a client already over a
-- rate limit gets one audit row for its first refusal in a window; the rest
-- are counted (login_attempts) and summarized in one row when the window is
-- pruned, with `repeats` set.
ALTER TABLE auth_events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0 CHECK (repeats >= 0);

CREATE INDEX auth_events_by_time ON auth_events (at);
CREATE INDEX spent_states_by_time ON spent_states (spent_at);
CREATE INDEX login_attempts_by_window ON login_attempts (window_start);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- 2. The name Duo is told (duo_username, else the username) identifies one
--    account only, compared as Duo compares usernames (case-insensitively),
--    so one person's phone cannot approve another account. The triggers say
--    so in words; the unique index is the guarantee.
CREATE TRIGGER users_duo_identity_insert BEFORE INSERT ON users
  WHEN EXISTS (
    SELECT 1 FROM users
    WHERE lower(trim(coalesce(duo_username, username)))
          = lower(trim(coalesce(new.duo_username, new.username)))
      AND username_normalized <> new.username_normalized)
BEGIN SELECT RAISE(ABORT, 'another user already has this Duo username (duo_username, or the username when duo_username is not set)'); END;
CREATE TRIGGER users_duo_identity_update BEFORE UPDATE OF username, duo_username ON users
  WHEN EXISTS (
    SELECT 1 FROM users
    WHERE lower(trim(coalesce(duo_username, username)))
          = lower(trim(coalesce(new.duo_username, new.username)))
      AND username_normalized <> new.username_normalized)
BEGIN SELECT RAISE(ABORT, 'another user already has this Duo username (duo_username, or the username when duo_username is not set)'); END;
CREATE UNIQUE INDEX users_duo_identity ON users (lower(trim(coalesce(duo_username, username))));
