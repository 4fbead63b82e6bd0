-- Sign-in policies (issue "Edge policies").
--
-- One row holds the whole set as JSON (shared::policy::PolicySet, in the
-- canonical form edge/src/flow/policy.rs saves), first match wins. An
-- admin's save replaces it only if `version` is still the one their edit
-- started from, so two admins editing at once cannot silently overwrite
-- each other. The login reads it in the same statement as the user. The
-- migration's set is empty: every account's own setting applies (Duo
-- required unless the account is a break-glass bypass).
CREATE TABLE policies (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  version    INTEGER NOT NULL CHECK (version >= 1),
  document   TEXT    NOT NULL CHECK (json_valid(document)),
  updated_at INTEGER NOT NULL,
  updated_by TEXT
);
INSERT INTO policies (id, version, document, updated_at, updated_by)
  VALUES (1, 1, '{"rules":[]}', unixepoch(), NULL);

-- The rule that decided a sign-in ("#2 Office network"), when one did.
ALTER TABLE auth_events ADD COLUMN policy TEXT CHECK (policy IS NULL OR length(policy) <= 80);
