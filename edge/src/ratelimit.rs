//! Login rate limits: failed logins in a sliding window, per normalized
//! username and per client IP, counted from the audit log in D1
//! (`auth_events`, outcome `failure`). Pure policy here; the queries are in
//! [`crate::store`].

/// At most `max_failures` failed logins within `window_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed in the window; the next attempt is refused.
    pub max_failures: u32,
    /// The window, in seconds.
    pub window_seconds: u64,
}

/// Per username: 5 failures in 15 minutes (then wait for the oldest to age out).
pub const PER_USERNAME: Limit = Limit { max_failures: 5, window_seconds: 900 };
/// Per client IP: 20 failures in 15 minutes.
pub const PER_IP: Limit = Limit { max_failures: 20, window_seconds: 900 };

impl Limit {
    /// The oldest failure time that still counts at `now`.
    pub const fn window_start(self, now: u64) -> u64 {
        now.saturating_sub(self.window_seconds)
    }

    /// Seconds to wait before another attempt, or `None` when one is allowed.
    ///
    /// `recent` holds the times of failures after [`Limit::window_start`],
    /// newest first, at least the `max_failures` newest ones when there are
    /// that many. The attempt is refused while `max_failures` of them are in
    /// the window; it is allowed again when the `max_failures`-th newest
    /// ages out.
    pub fn retry_after(self, recent: &[u64], now: u64) -> Option<u64> {
        let index = usize::try_from(self.max_failures).ok()?.checked_sub(1)?;
        let boundary = *recent.get(index)?;
        let free_at = boundary.saturating_add(self.window_seconds);
        (free_at > now).then(|| (free_at - now).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn allows_until_the_limit() {
        let recent = [NOW - 1, NOW - 2, NOW - 3, NOW - 4];
        assert_eq!(PER_USERNAME.retry_after(&recent, NOW), None);
        assert_eq!(PER_USERNAME.retry_after(&[], NOW), None);
    }

    #[test]
    fn refuses_at_the_limit_until_the_fifth_newest_ages_out() {
        let recent = [NOW - 1, NOW - 2, NOW - 3, NOW - 4, NOW - 100, NOW - 800];
        assert_eq!(PER_USERNAME.retry_after(&recent, NOW), Some(800));
        assert_eq!(PER_USERNAME.retry_after(&recent, NOW + 799), Some(1));
        assert_eq!(PER_USERNAME.retry_after(&recent, NOW + 800), None);
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let recent = [NOW; 5];
        assert_eq!(PER_USERNAME.retry_after(&recent, NOW), Some(900));
        let limit = Limit { max_failures: 1, window_seconds: 1 };
        assert_eq!(limit.retry_after(&[NOW], NOW), Some(1));
    }

    #[test]
    fn zero_failures_allowed_never_panics() {
        let limit = Limit { max_failures: 0, window_seconds: 60 };
        assert_eq!(limit.retry_after(&[NOW], NOW), None);
    }

    #[test]
    fn window_start_saturates() {
        assert_eq!(PER_IP.window_start(10), 0);
        assert_eq!(PER_IP.window_start(NOW), NOW - 900);
    }
}
