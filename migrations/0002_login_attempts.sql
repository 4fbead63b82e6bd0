-- Login rate limits become counters (edge/src/flow/limits.rs): every
-- attempt is counted first, by one atomic statement
--   INSERT ... ON CONFLICT (limit_key, window_start) DO UPDATE
--   SET count = count + 1 ... RETURNING count
-- and only an attempt within every limit goes on to the password check (a
-- successful login is taken back: count - 1). Counting failures from the
-- audit log after the check let concurrent guesses all through.
--   limit_key:    uc:<username>|<client>, c:<client>, u:<username>, where
--                 <client> is an IPv4 address, an IPv6 /64 or `unknown`
--   window_start: Unix seconds, a multiple of the window (900 s)
-- Old windows are dead rows; deleting them is safe at any time.
CREATE TABLE login_attempts (
  limit_key    TEXT    NOT NULL CHECK (length(limit_key) BETWEEN 1 AND 1024),
  window_start INTEGER NOT NULL,
  count        INTEGER NOT NULL CHECK (count >= 0),
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (limit_key, window_start)
) WITHOUT ROWID;

-- The audit log no longer drives the limits.
DROP INDEX auth_events_login_failures_by_user;
DROP INDEX auth_events_login_failures_by_ip;
