//! Time, behind a trait: the emulator reads the wall clock in exactly one place, and tests (or the
//! `clock_offset` fault) can move it.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Time elapsed since the Unix epoch.
    fn now(&self) -> Duration;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The emulator is a native-only test tool (never compiled for wasm32), so reading the OS clock
    // is fine here; this is the only place that does it.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Duration {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

/// A clock that only moves when told to (for tests that need exact times).
#[derive(Debug, Default)]
pub struct ManualClock(Mutex<Duration>);

impl ManualClock {
    /// A clock showing `unix_seconds`.
    pub fn new(unix_seconds: u64) -> Self {
        Self(Mutex::new(Duration::from_secs(unix_seconds)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A point in time, in microseconds since the Unix epoch (may be shifted by the clock offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime {
    micros: i64,
}

impl UnixTime {
    /// `duration` since the epoch shifted by `offset_seconds`.
    pub fn from_duration(duration: Duration, offset_seconds: i64) -> Self {
        let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        Self { micros: micros.saturating_add(offset_seconds.saturating_mul(1_000_000)) }
    }

    /// Whole seconds (rounded down).
    pub fn secs(self) -> i64 {
        self.micros.div_euclid(1_000_000)
    }

    /// Seconds with the fraction, for comparing with the float `exp` some clients send.
    #[allow(clippy::cast_precision_loss)] // microsecond timestamps fit an f64's 52-bit mantissa
    pub fn secs_f64(self) -> f64 {
        self.micros as f64 / 1_000_000.0
    }

    /// This time plus `seconds` (which may be negative).
    #[must_use]
    pub fn plus_secs(self, seconds: i64) -> Self {
        Self { micros: self.micros.saturating_add(seconds.saturating_mul(1_000_000)) }
    }

    /// ISO 8601 with microseconds and `+00:00`, as Duo writes `auth_context.isotimestamp`
    /// (e.g. `2026-11-23T08:13:32.123456+00:00`).
    pub fn iso8601(self) -> String {
        let secs = self.secs();
        let micros = self.micros.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
            of_day / 3600,
            (of_day % 3600) / 60,
            of_day % 60
        )
    }
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_instants() {
        let t = UnixTime::from_duration(Duration::from_micros(1_700_000_000_123_456), 0);
        assert_eq!(t.iso8601(), "2023-11-14T22:13:20.123456+00:00");
        let epoch = UnixTime::from_duration(Duration::ZERO, 0);
        assert_eq!(epoch.iso8601(), "1970-01-01T00:00:00.000000+00:00");
        let leap = UnixTime::from_duration(Duration::from_hours(264_384), 0);
        assert_eq!(leap.iso8601(), "2000-02-29T00:00:00.000000+00:00");
    }

    #[test]
    fn offset_shifts_time() {
        let t = UnixTime::from_duration(Duration::from_secs(1000), -120);
        assert_eq!(t.secs(), 880);
        assert_eq!(t.plus_secs(20).secs(), 900);
    }

    #[test]
    fn manual_clock_advances() {
        let clock = ManualClock::new(10);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), Duration::from_secs(15));
    }
}
