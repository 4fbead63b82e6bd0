//! Admission to a login step: an attempt counted against the rate limits
//! ([`super::limits`]) in the store, first and atomically, and taken back
//! when the login succeeds.

use super::audit::Refusal;
use super::limits::{Client, LimitKey, retry_after, window_start};
use super::store::SignInStore;
use crate::keys::UserKey;

/// An attempt counted against its limits, to take back if it succeeds.
#[derive(Debug)]
#[must_use = "a successful login must release its admission"]
pub struct Admission {
    counted: Vec<LimitKey>,
    window_start: u64,
}

impl Admission {
    /// Takes this attempt back from every counter it was counted in.
    ///
    /// # Errors
    /// Storage failures, as `internal`.
    pub async fn release<S: SignInStore>(self, store: &S) -> Result<(), Refusal> {
        for key in &self.counted {
            store.forgive(key, self.window_start).await.map_err(Refusal::internal)?;
        }
        Ok(())
    }
}

/// Counts an attempt for `username` (normalized, or empty) from `client`,
/// then decides: admitted, or refused with the first limit exceeded. A
/// `known_browser` (one that passed this user's password before) is not
/// counted against the per-username limit.
///
/// # Errors
/// A `rate_limited` refusal with `Retry-After`, or storage failures.
pub async fn admit<S: SignInStore>(
    store: &S,
    username: &UserKey,
    client: Client,
    known_browser: bool,
    now: u64,
) -> Result<Admission, Refusal> {
    let window_start = window_start(now);
    let keys = [
        Some(LimitKey::UserClient(username.to_string(), client)),
        Some(LimitKey::Client(client)),
        (!known_browser).then(|| LimitKey::User(username.to_string())),
    ];
    let mut counted = Vec::with_capacity(keys.len());
    for key in keys.into_iter().flatten() {
        let count = store.hit(&key, window_start, now).await.map_err(Refusal::internal)?;
        let limit = key.limit();
        if count > limit.max {
            return Err(Refusal::rate_limited(limit.reason, retry_after(now), count, limit.max)
                .detail(format!("{count} attempts in the window")));
        }
        counted.push(key);
    }
    Ok(Admission { counted, window_start })
}
