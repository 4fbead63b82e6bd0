-- Issue "Duo as organisations run it today": a sign-in reported as fraud in
-- Duo (a push marked fraudulent on the phone, inline; or the prompt's "Deny
-- and report fraud") puts the account on hold: `held_at` is when. While it
-- is set, a correct password is answered `account_held` and no Duo step
-- starts; the report also ended the account's sessions and trusted browsers
-- and bumped its version (in the same batch), so sign-ins under way stop.
-- An admin releases the hold from the console (`release_hold`, audited).
ALTER TABLE users ADD COLUMN held_at INTEGER CHECK (held_at IS NULL OR held_at > 0);
