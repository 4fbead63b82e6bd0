//! Scheduled maintenance (the Worker's Cron Trigger, `wrangler.toml`): what
//! is kept and for how long, so no table grows without bound.
//!
//! | table | deleted | why it is safe |
//! |---|---|---|
//! | `sessions` | expired or revoked more than [`SESSION_GRACE_SECONDS`] ago | no longer accepted anyway |
//! | `spent_states` | spent more than [`STATE_KEEP_SECONDS`] ago | the login ticket bound to a state lives at most `LOGIN_MAX_SECONDS` (600 s): a replay that late is refused at the ticket |
//! | `login_attempts` | windows that ended a minute or more ago | limits count only the current window; each counter over its limit by more than one is first summarized in one audit row |
//! | `login_attempts`, a login's passcodes (`pc:`) | windows that started more than `LOGIN_MAX_SECONDS` + a window + a minute ago | the login counted in the window its password passed in is over by then |
//! | `login_attempts`, an account's passcodes (`pa:`) | when the account no longer exists | the count holds until a Duo approval or a new password clears it |
//! | `auth_events` | older than `AUDIT_RETENTION_DAYS` | the migration's trigger refuses anything younger than 30 days |
//! | `admin_events` | older than `AUDIT_RETENTION_DAYS` | the same (migration 0004) |
//!
//! A client already over a rate limit gets one audit row for its first
//! refusal in a window ([`super::limits`]); the summary row then says how
//! many more were refused (`repeats`), with the limit's reason, the
//! username and the client.

use super::limits::{PER_CLIENT, PER_USER, PER_USER_CLIENT, WINDOW_SECONDS, window_start};
use crate::cookie::LOGIN_MAX_SECONDS;

/// How long an expired or revoked session row is kept (a day), for an
/// operator looking into a recent sign-in.
pub const SESSION_GRACE_SECONDS: u64 = 86_400;
/// How long a spent Duo state is kept: an hour, six times the longest a
/// login ticket (and so its state) can be accepted.
pub const STATE_KEEP_SECONDS: u64 = 3_600;
/// How long after its end a rate-limit window is kept: isolates' clocks
/// may differ a little, and a late hit must not land in a deleted window.
pub const WINDOW_KEEP_SECONDS: u64 = 60;
/// The shortest audit retention the database accepts (its trigger).
pub use crate::config::MIN_AUDIT_RETENTION_DAYS;

// A state outlives every ticket it could be presented with.
const _: () = assert!(STATE_KEEP_SECONDS > LOGIN_MAX_SECONDS + 60);

/// The limit of each kind of rate-limit counter, for the summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterLimits {
    /// Per username and client (`uc:`).
    pub user_client: u32,
    /// Per client (`c:`).
    pub client: u32,
    /// Per username (`u:`).
    pub user: u32,
    /// Duo steps per username (`ds:`), `DUO_START_LIMIT`.
    pub duo_start: u32,
}

/// What one maintenance run deletes: everything strictly before each cutoff
/// (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunePlan {
    /// When the run happens.
    pub now: u64,
    /// Sessions that expired or were revoked before this.
    pub sessions_before: u64,
    /// States spent before this.
    pub states_before: u64,
    /// Rate-limit windows that started before this (all ended at least
    /// [`WINDOW_KEEP_SECONDS`] ago).
    pub windows_before: u64,
    /// A login's passcode counters (`pc:`) whose window started before
    /// this: no login counted there can still be accepted.
    pub passcode_windows_before: u64,
    /// Audit and admin events recorded before this.
    pub audit_before: u64,
    /// The limits, to summarize the counters over them.
    pub limits: CounterLimits,
}

impl PrunePlan {
    /// The plan for a run at `now`, keeping audit events
    /// `audit_retention_days` (at least [`MIN_AUDIT_RETENTION_DAYS`]).
    pub fn at(now: u64, audit_retention_days: u32, duo_start_limit: u32) -> Self {
        let retention = u64::from(audit_retention_days.max(MIN_AUDIT_RETENTION_DAYS)) * 86_400;
        Self {
            now,
            sessions_before: now.saturating_sub(SESSION_GRACE_SECONDS),
            states_before: now.saturating_sub(STATE_KEEP_SECONDS),
            windows_before: window_start(now.saturating_sub(WINDOW_KEEP_SECONDS)),
            passcode_windows_before: now
                .saturating_sub(LOGIN_MAX_SECONDS + WINDOW_SECONDS + WINDOW_KEEP_SECONDS),
            audit_before: now.saturating_sub(retention),
            limits: CounterLimits {
                user_client: PER_USER_CLIENT.max,
                client: PER_CLIENT.max,
                user: PER_USER.max,
                duo_start: duo_start_limit,
            },
        }
    }
}

// A window is deleted only once it has ended.
const _: () = assert!(WINDOW_KEEP_SECONDS < WINDOW_SECONDS);

/// Rows deleted (and summaries written) by one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Session rows.
    pub sessions: u64,
    /// Spent states.
    pub states: u64,
    /// Rate-limit counters.
    pub counters: u64,
    /// Audit summaries of counters over their limits, written first.
    pub summaries: u64,
    /// Audit events past retention.
    pub audit_events: u64,
    /// Admin events past retention.
    pub admin_events: u64,
    /// Remembered browsers expired or forgotten before the sessions' cutoff.
    pub browsers: u64,
}
