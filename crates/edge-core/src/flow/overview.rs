//! The console's home (`GET /api/admin/overview`): sign-ins per hour by
//! outcome over 7 days, how sessions were made (methods, Duo factors), the
//! refusals by reason, the addresses and countries refused most, and the
//! live sessions (those made without Duo because it was unreachable
//! apart). The database aggregates; this fills the hours without events.

use shared::admin::{HourCounts, OVERVIEW_HOURS, Overview};

use super::admin::Admin;
use super::audit::Refusal;
use super::context::unix_i64;
use super::store::ConsoleStore;

/// The start of the first hour the overview covers at `now`: whole hours,
/// the current one last.
pub const fn first_hour(now: u64) -> u64 {
    (now / 3600 + 1).saturating_mul(3600).saturating_sub(OVERVIEW_HOURS as u64 * 3600)
}

/// `GET /api/admin/overview`.
///
/// # Errors
/// `internal` for storage.
pub async fn overview<S: ConsoleStore>(
    store: &S,
    _admin: &Admin,
    now: u64,
) -> Result<Overview, Refusal> {
    let from = first_hour(now);
    let record = store.overview(from, now).await.map_err(Refusal::internal)?;
    let mut hours = vec![HourCounts::default(); OVERVIEW_HOURS];
    for (hour, counts) in record.hours {
        if let Some(slot) = usize::try_from(hour).ok().and_then(|h| hours.get_mut(h)) {
            *slot = counts;
        }
    }
    Ok(Overview {
        at: unix_i64(now),
        hours_from: unix_i64(from),
        hours,
        methods: record.methods,
        factors: record.factors,
        refusals: record.refusals,
        refused_addresses: record.refused_addresses,
        refused_countries: record.refused_countries,
        live_sessions: record.live_sessions,
        live_fail_open: record.live_fail_open,
    })
}
