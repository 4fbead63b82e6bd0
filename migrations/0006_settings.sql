-- Settings admins change from the console (issue "Admin console").
--
-- `enforce_duo`: `on` (the default) asks Duo after the password of every
-- user whose policy is `required`; `off` lets them in with the password
-- alone (audited as `duo_not_enforced`), for when Duo itself is the
-- problem. Turning it off takes a typed confirmation in the console and is
-- recorded in admin_events with who did it. A missing row means `on`.
CREATE TABLE settings (
  name       TEXT    NOT NULL PRIMARY KEY CHECK (name IN ('enforce_duo')),
  value      TEXT    NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT,
  CHECK (name <> 'enforce_duo' OR value IN ('on', 'off'))
) WITHOUT ROWID;
INSERT INTO settings (name, value, updated_at, updated_by) VALUES ('enforce_duo', 'on', unixepoch(), NULL);
