-- Hardening, second round (issue "a sign-in started before an account
-- change must not finish").
--
-- 1. Every account has a version, bumped by every change that must end the
--    sign-ins already under way: a password set or changed, the account
--    disabled or enabled, its role, Duo policy or Duo username changed (by
--    the console, the user, `user-admin` or a hand-written statement: the
--    trigger sees them all), and "sign out everywhere" (which touches no
--    column, so it bumps the version itself). The login ticket carries the
--    version its password was checked at; every later step (Duo start and
--    callback, inline start and status) refuses a ticket of another
--    version, and a session is stored only while the account still has the
--    version the step read (one statement), so a change racing the last
--    step wins too.
ALTER TABLE users ADD COLUMN account_version INTEGER NOT NULL DEFAULT 0
  CHECK (account_version >= 0);
CREATE TRIGGER users_account_version
  AFTER UPDATE OF password_hash, disabled, role, duo_policy, duo_username ON users
BEGIN
  UPDATE users SET account_version = old.account_version + 1
   WHERE username_normalized = new.username_normalized;
END;

-- 2. Wrong passcodes are counted per account across logins, in
--    login_attempts under `pa:<username>` with window_start 0 (never
--    pruned: Duo's own lockout has no window either). A Duo approval takes
--    the count back to nothing (as Duo does), and so does a new password:
--    someone who had the old one was guessing.
CREATE TRIGGER users_password_clears_passcode_count
  AFTER UPDATE OF password_hash ON users
BEGIN
  DELETE FROM login_attempts WHERE limit_key = 'pa:' || new.username_normalized;
END;

-- 3. A wrong current password at POST /api/password is a failed sign-in
--    and is audited as one, as step `password_change`. SQLite cannot change
--    a CHECK in place: the table is made again with the same rows (and
--    ids), its indexes and its append-only triggers.
DROP TRIGGER auth_events_no_update;
DROP TRIGGER auth_events_no_delete;
CREATE TABLE auth_events_new (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  username  TEXT    NOT NULL,
  step      TEXT    NOT NULL
            CHECK (step IN ('login', 'duo_start', 'duo_callback', 'logout', 'password_change')),
  outcome   TEXT    NOT NULL CHECK (outcome IN ('success', 'failure', 'rate_limited', 'error')),
  reason    TEXT    NOT NULL,
  duo_txid  TEXT,
  client_ip TEXT,
  repeats   INTEGER NOT NULL DEFAULT 0 CHECK (repeats >= 0),
  policy    TEXT    CHECK (policy IS NULL OR length(policy) <= 80)
);
INSERT INTO auth_events_new (id, at, username, step, outcome, reason, duo_txid, client_ip, repeats, policy)
  SELECT id, at, username, step, outcome, reason, duo_txid, client_ip, repeats, policy FROM auth_events;
DROP TABLE auth_events;
ALTER TABLE auth_events_new RENAME TO auth_events;
CREATE INDEX auth_events_by_time ON auth_events (at);
CREATE INDEX auth_events_by_user ON auth_events (username, at);
CREATE TRIGGER auth_events_no_update BEFORE UPDATE ON auth_events
BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END;
CREATE TRIGGER auth_events_no_delete BEFORE DELETE ON auth_events
  WHEN old.at > unixepoch() - 30 * 86400
BEGIN SELECT RAISE(ABORT, 'auth_events is append-only for 30 days'); END;
