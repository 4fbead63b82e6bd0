-- Issue "An admin console a security team would trust": the console lists a
-- session with the browser and system it was made in (a short label from
-- `User-Agent`, "Firefox on Linux", never the raw header) and Cloudflare's
-- country of its client, beside the address and the last use. Sessions from
-- before have neither.
ALTER TABLE sessions ADD COLUMN user_agent TEXT CHECK (user_agent IS NULL OR length(user_agent) <= 64);
ALTER TABLE sessions ADD COLUMN country TEXT CHECK (country IS NULL OR length(country) = 2);

-- The console's overview charts sign-ins and refusals from `auth_events`:
-- the client's country (refusals by country) and, for a step that made a
-- session, the Duo factor it was made with (factors used) are kept with each
-- event. Its aggregates read a time range (`auth_events_by_time`); the
-- sessions' methods read theirs by start.
ALTER TABLE auth_events ADD COLUMN country TEXT CHECK (country IS NULL OR length(country) = 2);
ALTER TABLE auth_events ADD COLUMN factor TEXT CHECK (factor IS NULL OR length(factor) <= 64);
