//! What the Worker remembers about Duo's health between requests: one memo
//! per isolate (the adapter keeps it in a `thread_local!`; a Worker isolate
//! is single-threaded), passed to [`super::duo_start::duo_start`], and what
//! a failed health check means ([`HealthFailure::of`]).

use std::cell::Cell;

use shared::api::DuoReachability;
use shared::duo::{DuoError, TransportErrorKind};

use super::audit::Reason;
use crate::config::FailMode;

/// How long a successful health check is trusted, in seconds.
pub const HEALTH_MEMO_SECONDS: u64 = 60;
/// How long a failed health check is applied again without a new check,
/// in seconds: retrying `/auth/duo/start` cannot pick the moment a check
/// happens to fail.
pub const FAILURE_MEMO_SECONDS: u64 = 10;

/// What a failed health check means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthFailure {
    /// Duo cannot be reached: a connection failure, a timeout, a 5xx status
    /// (or Duo's `stat: FAIL` with a 5xxxx code). The only failure
    /// `DUO_FAILMODE=open` lets users through.
    Unreachable,
    /// Duo answered, and refuses us or is not Duo (misconfiguration):
    /// always refused, with this reason, whatever the fail mode.
    Refused(Reason),
}

impl HealthFailure {
    /// Classifies a health check's error: only a Duo that is down is
    /// [`HealthFailure::Unreachable`]; anything that means our settings
    /// are wrong (an OAuth error such as `invalid_client`, a 4xx status, a
    /// 4xxxx code, a body that is not Duo's) is refused.
    pub fn of(error: &DuoError) -> Self {
        // Duo's numeric codes start with the HTTP status they stand for.
        let server_code = |code: Option<i64>| code.is_some_and(|c| (50_000..60_000).contains(&c));
        let client_code = |code: Option<i64>| code.is_some_and(|c| (40_000..50_000).contains(&c));
        match error {
            DuoError::Transport(transport) => match transport.kind {
                TransportErrorKind::Connect | TransportErrorKind::Timeout => Self::Unreachable,
                TransportErrorKind::BodyTooLarge => Self::Refused(Reason::DuoHealthMalformed),
                _ => Self::Refused(Reason::DuoHealthTransport),
            },
            DuoError::HealthCheckFailed { status, code, message, .. } => {
                let invalid_client = message.as_deref() == Some("invalid_client");
                if !invalid_client && !client_code(*code) && (*status >= 500 || server_code(*code))
                {
                    Self::Unreachable
                } else {
                    Self::Refused(Reason::DuoHealthRejected)
                }
            }
            DuoError::Http { status, .. } if *status >= 500 => Self::Unreachable,
            DuoError::MalformedResponse(_) => Self::Refused(Reason::DuoHealthMalformed),
            _ => Self::Refused(Reason::DuoHealthRejected),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checked {
    at: u64,
    result: Result<(), HealthFailure>,
}

/// The last health check's result.
#[derive(Debug, Default)]
pub struct HealthMemo(Cell<Option<Checked>>);

impl HealthMemo {
    /// Nothing checked yet.
    pub const fn new() -> Self {
        Self(Cell::new(None))
    }

    /// What was last learned (`GET /api/health` says [`Self::report`]).
    pub fn reachability(&self) -> DuoReachability {
        match self.0.get() {
            None => DuoReachability::Unknown,
            Some(Checked { result: Ok(()), .. }) => DuoReachability::Reachable,
            Some(_) => DuoReachability::Unreachable,
        }
    }

    /// What `GET /api/health` may say about Duo under `fail_mode`: with
    /// `open`, always `unknown`, since whether Duo is reachable tells
    /// someone holding a password when a Duo step would be skipped.
    pub fn report(&self, fail_mode: FailMode) -> DuoReachability {
        match fail_mode {
            FailMode::Open => DuoReachability::Unknown,
            FailMode::Closed => self.reachability(),
        }
    }

    /// The last check's result, when it can stand in for a new check at
    /// `now`: a success for [`HEALTH_MEMO_SECONDS`], a failure for
    /// [`FAILURE_MEMO_SECONDS`]. A memo from the future is not used.
    pub fn fresh(&self, now: u64) -> Option<Result<(), HealthFailure>> {
        let checked = self.0.get()?;
        let trusted = match checked.result {
            Ok(()) => HEALTH_MEMO_SECONDS,
            Err(_) => FAILURE_MEMO_SECONDS,
        };
        (checked.at <= now && now < checked.at.saturating_add(trusted)).then_some(checked.result)
    }

    /// Records a check's result.
    pub fn remember(&self, now: u64, result: Result<(), HealthFailure>) {
        self.0.set(Some(Checked { at: now, result }));
    }

    /// Duo's health at `now`, the one health decision of both modes: the
    /// last result while it is fresh ([`Self::fresh`]), else `ask`'s, which
    /// is remembered. A failure comes with its detail for the log.
    ///
    /// # Errors
    /// The failure, remembered or new, and its detail.
    pub async fn checked<F>(
        &self,
        now: u64,
        ask: impl FnOnce() -> F,
    ) -> Result<(), (HealthFailure, String)>
    where
        F: Future<Output = Result<(), (HealthFailure, String)>>,
    {
        if let Some(remembered) = self.fresh(now) {
            return remembered.map_err(|failure| {
                (failure, format!("Duo's health check failed in the last {FAILURE_MEMO_SECONDS} s"))
            });
        }
        let result = ask().await;
        self.remember(now, result.as_ref().copied().map_err(|(failure, _)| *failure));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_trusts_recent_successes_for_a_minute_and_failures_for_ten_seconds() {
        let memo = HealthMemo::new();
        assert_eq!(memo.reachability(), DuoReachability::Unknown);
        assert_eq!(memo.fresh(1_000), None);
        memo.remember(1_000, Ok(()));
        assert_eq!(memo.reachability(), DuoReachability::Reachable);
        assert_eq!(memo.fresh(1_000), Some(Ok(())));
        assert_eq!(memo.fresh(1_000 + HEALTH_MEMO_SECONDS - 1), Some(Ok(())));
        assert_eq!(memo.fresh(1_000 + HEALTH_MEMO_SECONDS), None);
        assert_eq!(memo.fresh(999), None, "a memo from the future is not trusted");
        let down = Err(HealthFailure::Unreachable);
        memo.remember(1_010, down);
        assert_eq!(memo.reachability(), DuoReachability::Unreachable);
        assert_eq!(memo.fresh(1_010), Some(down));
        assert_eq!(memo.fresh(1_010 + FAILURE_MEMO_SECONDS - 1), Some(down));
        assert_eq!(memo.fresh(1_010 + FAILURE_MEMO_SECONDS), None);
    }

    #[test]
    fn health_reveals_nothing_about_duo_when_failing_open() {
        let memo = HealthMemo::new();
        for result in [Ok(()), Err(HealthFailure::Unreachable)] {
            memo.remember(1_000, result);
            assert_eq!(memo.report(FailMode::Open), DuoReachability::Unknown, "{result:?}");
            assert_eq!(memo.report(FailMode::Closed), memo.reachability(), "{result:?}");
        }
        assert_eq!(memo.report(FailMode::Closed), DuoReachability::Unreachable);
    }
}
