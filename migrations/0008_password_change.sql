-- A password set by an admin is the user's to replace (issue "Admin console").
--
-- The console sets must_change_password when it adds a user or resets a
-- password (generated or typed: the admin knows it). The session then says
-- `password_change_required`, the SPA asks for a new password before
-- anything else, and the admin API refuses such a session; the user's own
-- change (POST /api/password) clears the flag. `user-admin` (the operator's
-- command line) leaves it unset.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
  CHECK (must_change_password IN (0, 1));
