-- Issue "Duo as organisations run it today": sessions as NIST SP 800-63B-4
-- asks at AAL2: an idle timeout beside the absolute one. Each session keeps
-- the idle window it was issued with (`SESSION_IDLE_SECONDS` then; 0 for the
-- sessions from before, which have none) and when it was last used
-- (`last_seen_at`, moved at most about once a minute by the session check:
-- the gateway's and the pages' requests). A session is live while
-- `coalesce(last_seen_at, created_at) + idle_seconds` is still ahead.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
ALTER TABLE sessions ADD COLUMN idle_seconds INTEGER NOT NULL DEFAULT 0 CHECK (idle_seconds >= 0);
