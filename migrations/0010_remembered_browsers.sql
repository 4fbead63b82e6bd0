-- "Trust this browser" (issue "Edge policies").
--
-- After a sign-in completed with Duo, a user may have this browser
-- remembered for the days the policies allow (`remember_days`, 0 = off):
-- the browser gets a separate `__Host-remember` cookie holding a random
-- 32-byte token, and only the token's SHA-256 is stored here, so a copy of
-- this table opens nothing. A later sign-in from that browser, password
-- verified, skips Duo while the row is live and the deciding policy allows
-- remembered browsers. A password reset or change, disabling the user, an
-- admin's revocation or the user's "forget this browser" end it
-- (`revoked_at`); the scheduled maintenance deletes ended rows.
CREATE TABLE remembered_browsers (
  id_hash      TEXT    NOT NULL PRIMARY KEY CHECK (length(id_hash) = 64),
  username     TEXT    NOT NULL CHECK (username = lower(trim(username))),
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  user_agent   TEXT    CHECK (user_agent IS NULL OR length(user_agent) <= 64),
  client_ip    TEXT    CHECK (client_ip IS NULL OR length(client_ip) <= 64),
  revoked_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX remembered_browsers_by_user ON remembered_browsers (username);
CREATE INDEX remembered_browsers_by_expiry ON remembered_browsers (expires_at);

-- Sessions made that way say so: `remembered`. SQLite cannot change a
-- CHECK in place, so the table is made again with the same rows.
CREATE TABLE sessions_new (
  id_hash     TEXT    NOT NULL PRIMARY KEY CHECK (length(id_hash) = 64),
  username    TEXT    NOT NULL,
  method      TEXT    NOT NULL CHECK (method IN ('duo', 'bypass', 'fail_open', 'remembered')),
  duo_context TEXT    CHECK (duo_context IS NULL OR json_valid(duo_context)),
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  revoked_at  INTEGER,
  client_ip   TEXT    CHECK (client_ip IS NULL OR length(client_ip) <= 64)
) WITHOUT ROWID;
INSERT INTO sessions_new (id_hash, username, method, duo_context, created_at, expires_at, revoked_at, client_ip)
  SELECT id_hash, username, method, duo_context, created_at, expires_at, revoked_at, client_ip FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_by_username ON sessions (username);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
