-- Schema of the D1 database `DB` (DESIGN.md, "Data"). Applied by
-- `wrangler d1 migrations apply DB --local` (the dev command and the test
-- bed) or `--remote` (production). Times are Unix seconds (UTC).

-- Users. `username` is stored as typed; `username_normalized` is the lookup
-- key: trimmed, ASCII lower-case (crates/credentials/src/username.rs; only
-- ASCII names are accepted, so SQLite's lower(trim()) is the same function).
CREATE TABLE users (
  username            TEXT    NOT NULL UNIQUE,
  username_normalized TEXT    NOT NULL PRIMARY KEY
                              CHECK (username_normalized = lower(trim(username))),
  -- PHC string: $pbkdf2-sha256$i=<iterations>,l=32$<salt>$<hash>
  password_hash       TEXT    NOT NULL CHECK (password_hash LIKE '$pbkdf2-sha256$%'),
  duo_policy          TEXT    NOT NULL DEFAULT 'required'
                              CHECK (duo_policy IN ('required', 'bypass')),
  -- The username Duo knows, when it differs from `username`.
  duo_username        TEXT,
  disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
) WITHOUT ROWID;

-- Sessions. The cookie holds a random 32-byte id; only its SHA-256 (hex) is
-- stored, so a copy of this table opens no session.
CREATE TABLE sessions (
  id_hash          TEXT    NOT NULL PRIMARY KEY CHECK (length(id_hash) = 64),
  username         TEXT    NOT NULL,
  method           TEXT    NOT NULL CHECK (method IN ('duo', 'bypass', 'fail_open')),
  -- {"factor","device","txid","result"} for method `duo`, else NULL.
  duo_context      TEXT    CHECK (duo_context IS NULL OR json_valid(duo_context)),
  created_at       INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  revoked_at       INTEGER
) WITHOUT ROWID;
CREATE INDEX sessions_by_username ON sessions (username);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Audit log of every login step. Append-only (the triggers refuse UPDATE and
-- DELETE; pruning means dropping them in a migration, on purpose). Never
-- holds a password, a Duo code, a token or a cookie.
--   step:    login | duo_start | duo_callback | logout
--   outcome: success | failure | rate_limited | error
--   reason:  a stable code, e.g. bad_password, unknown_user, disabled,
--            duo_required, bypass, user_limit, ip_limit, logout
-- `username` is the normalized name as submitted (it may name no user).
CREATE TABLE auth_events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  username  TEXT    NOT NULL,
  step      TEXT    NOT NULL CHECK (step IN ('login', 'duo_start', 'duo_callback', 'logout')),
  outcome   TEXT    NOT NULL CHECK (outcome IN ('success', 'failure', 'rate_limited', 'error')),
  reason    TEXT    NOT NULL,
  duo_txid  TEXT,
  client_ip TEXT
);
CREATE TRIGGER auth_events_no_update BEFORE UPDATE ON auth_events
BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END;
CREATE TRIGGER auth_events_no_delete BEFORE DELETE ON auth_events
BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END;

-- Rate limiting counts recent failed logins straight from the audit log
-- (edge/src/ratelimit.rs): per normalized username and per client IP.
CREATE INDEX auth_events_login_failures_by_user ON auth_events (username, at)
  WHERE step = 'login' AND outcome = 'failure';
CREATE INDEX auth_events_login_failures_by_ip ON auth_events (client_ip, at)
  WHERE step = 'login' AND outcome = 'failure';

-- Duo `state` values spent at the callback (SHA-256, hex): the primary key
-- makes a replayed callback fail even inside the login cookie's lifetime.
CREATE TABLE spent_states (
  state_hash TEXT    NOT NULL PRIMARY KEY CHECK (length(state_hash) = 64),
  spent_at   INTEGER NOT NULL
) WITHOUT ROWID;
