-- Roles and the admin console's audit (issue "Admin console").
--
-- 1. Each account is a `user` or an `admin`. Admins reach /api/admin/*
--    (and the console's pages); every admin request checks the role in this
--    table, so a demotion takes effect at the next request.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));

-- The last enabled admin cannot be disabled, demoted or deleted: whoever
-- asks (the console, the admin command, a hand-written statement), the
-- database refuses, so two admins demoting each other at once cannot both
-- succeed.
CREATE TRIGGER users_keep_an_admin_update BEFORE UPDATE OF role, disabled ON users
  WHEN old.role = 'admin' AND old.disabled = 0
   AND (new.role <> 'admin' OR new.disabled <> 0)
   AND (SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0) <= 1
BEGIN SELECT RAISE(ABORT, 'the last enabled admin cannot be disabled or demoted'); END;
CREATE TRIGGER users_keep_an_admin_delete BEFORE DELETE ON users
  WHEN old.role = 'admin' AND old.disabled = 0
   AND (SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0) <= 1
BEGIN SELECT RAISE(ABORT, 'the last enabled admin cannot be deleted'); END;

-- 2. What admins did: who, when, what, to whom, from where. Append-only
--    like auth_events (no update; no delete of anything younger than 30
--    days), pruned with AUDIT_RETENTION_DAYS. Never a password.
CREATE TABLE admin_events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  actor     TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 256),
  action    TEXT    NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
  target    TEXT    CHECK (target IS NULL OR length(target) <= 256),
  detail    TEXT    CHECK (detail IS NULL OR json_valid(detail)),
  client_ip TEXT
);
CREATE INDEX admin_events_by_time ON admin_events (at);
CREATE TRIGGER admin_events_no_update BEFORE UPDATE ON admin_events
BEGIN SELECT RAISE(ABORT, 'admin_events is append-only'); END;
CREATE TRIGGER admin_events_no_delete BEFORE DELETE ON admin_events
  WHEN old.at > unixepoch() - 30 * 86400
BEGIN SELECT RAISE(ABORT, 'admin_events is append-only for 30 days'); END;
