//! What the Worker remembers about Duo's health between requests: one memo
//! per isolate (the adapter keeps it in a `thread_local!`; a Worker isolate
//! is single-threaded), passed to [`super::duo_start::duo_start`].

use std::cell::Cell;

use shared::api::DuoReachability;

/// How long a successful health check is trusted, in seconds.
pub const HEALTH_MEMO_SECONDS: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checked {
    at: u64,
    reachable: bool,
}

/// The last health check's result.
#[derive(Debug, Default)]
pub struct HealthMemo(Cell<Option<Checked>>);

impl HealthMemo {
    /// Nothing checked yet.
    pub const fn new() -> Self {
        Self(Cell::new(None))
    }

    /// What was last learned, for `GET /api/health`.
    pub fn reachability(&self) -> DuoReachability {
        match self.0.get() {
            None => DuoReachability::Unknown,
            Some(checked) if checked.reachable => DuoReachability::Reachable,
            Some(_) => DuoReachability::Unreachable,
        }
    }

    /// Whether a success from the last [`HEALTH_MEMO_SECONDS`] can stand in
    /// for a new check at `now`. Failures are never reused.
    pub fn is_fresh(&self, now: u64) -> bool {
        self.0.get().is_some_and(|checked| {
            checked.reachable
                && checked.at <= now
                && now < checked.at.saturating_add(HEALTH_MEMO_SECONDS)
        })
    }

    /// Records a check's result.
    pub fn remember(&self, now: u64, reachable: bool) {
        self.0.set(Some(Checked { at: now, reachable }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_trusts_only_recent_successes() {
        let memo = HealthMemo::new();
        assert_eq!(memo.reachability(), DuoReachability::Unknown);
        assert!(!memo.is_fresh(1_000));
        memo.remember(1_000, true);
        assert_eq!(memo.reachability(), DuoReachability::Reachable);
        assert!(memo.is_fresh(1_000));
        assert!(memo.is_fresh(1_000 + HEALTH_MEMO_SECONDS - 1));
        assert!(!memo.is_fresh(1_000 + HEALTH_MEMO_SECONDS));
        assert!(!memo.is_fresh(999), "a memo from the future is not trusted");
        memo.remember(1_010, false);
        assert_eq!(memo.reachability(), DuoReachability::Unreachable);
        assert!(!memo.is_fresh(1_010), "failures are never reused");
    }
}
