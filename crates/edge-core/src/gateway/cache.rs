//! The gateway's hot path: a session, once checked against the store, is
//! trusted for `SESSION_RECHECK_SECONDS` without asking again, so a
//! signed-in browser's requests cost no storage round trip in the steady
//! state. That window is the bound on revocation: a session signed out,
//! revoked by an admin, or whose user is disabled or has a new password
//! stops reaching the app at most that long after, and never past its own
//! expiry. Sign-outs through the same isolate take effect at once
//! ([`SessionCache::forget`]).
//!
//! The assertion signed for a session is kept with it and forwarded again
//! while at least half its lifetime is left and the identity it states is
//! still the one checked: a signature per session every minute or so, not
//! per request. (Its `jti` names the assertion, not the request.)
//!
//! The cache lives in one Worker isolate (each isolate keeps its own); it
//! holds at most [`CAPACITY`] sessions, dropping the longest unchecked when
//! full. Refusals are never kept: a browser that has just signed in is
//! asked about again at once.

use std::cell::RefCell;
use std::collections::HashMap;

use super::assertion::Identity;
use super::forward;
use crate::flow::audit::Refusal;
use crate::flow::store::SessionStore;
use crate::keys::IdHash;
use crate::session::SessionId;

/// The most sessions one isolate keeps.
pub const CAPACITY: usize = 4_096;

#[derive(Debug, Clone)]
struct Entry {
    identity: Identity,
    checked_at: u64,
    /// The assertion last signed for this identity, and its `exp`.
    assertion: Option<(String, u64)>,
}

/// Checked sessions, by their id's hash.
#[derive(Debug)]
pub struct SessionCache {
    entries: HashMap<IdHash, Entry>,
    capacity: usize,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl SessionCache {
    /// An empty cache holding at most `capacity` sessions (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self { entries: HashMap::new(), capacity: capacity.max(1) }
    }

    /// The identity of `session`, when it was checked less than
    /// `recheck_seconds` ago and has not expired.
    pub fn fresh(&self, session: &IdHash, now: u64, recheck_seconds: u64) -> Option<&Identity> {
        let entry = self.entries.get(session)?;
        let within = now < entry.checked_at.saturating_add(recheck_seconds);
        (within && now < entry.identity.expires_at && now >= entry.checked_at)
            .then_some(&entry.identity)
    }

    /// Keeps `identity` as checked at `now`.
    pub fn remember(&mut self, identity: Identity, now: u64) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&identity.session) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.checked_at)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        // A recheck that finds the same identity keeps its assertion.
        let assertion = self
            .entries
            .remove(&identity.session)
            .filter(|entry| entry.identity == identity)
            .and_then(|entry| entry.assertion);
        let entry = Entry { identity, checked_at: now, assertion };
        self.entries.insert(entry.identity.session.clone(), entry);
    }

    /// The assertion kept for `identity`, if it still has at least half of
    /// `ttl` to live at `now`.
    pub fn assertion(&self, identity: &Identity, now: u64, ttl: u64) -> Option<&str> {
        let entry = self.entries.get(&identity.session).filter(|e| &e.identity == identity)?;
        let (token, expires) = entry.assertion.as_ref()?;
        (*expires >= now.saturating_add(ttl.div_ceil(2))).then_some(token.as_str())
    }

    /// Keeps `token` (expiring at `expires`) as the assertion of
    /// `identity`, if its session is kept.
    pub fn keep_assertion(&mut self, identity: &Identity, token: String, expires: u64) {
        if let Some(entry) =
            self.entries.get_mut(&identity.session).filter(|e| &e.identity == identity)
        {
            entry.assertion = Some((token, expires));
        }
    }

    /// Drops `session` (signed out through this isolate).
    pub fn forget(&mut self, session: &IdHash) {
        self.entries.remove(session);
    }

    /// The user of `session`, if it is kept (fresh or not).
    pub fn user_of(&self, session: &IdHash) -> Option<&crate::keys::UserKey> {
        self.entries.get(session).map(|entry| &entry.identity.user)
    }

    /// Drops every session of `user` (signed out everywhere through this
    /// isolate).
    pub fn forget_user(&mut self, user: &crate::keys::UserKey) {
        self.entries.retain(|_, entry| &entry.identity.user != user);
    }

    /// How many sessions are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Who the session cookie signs in: from `cache` while it is fresh, else
/// checked against `store` ([`forward::identify`]) and kept.
///
/// # Errors
/// `internal` for storage.
pub async fn identify<S: SessionStore>(
    cache: &RefCell<SessionCache>,
    store: &S,
    session_cookie: Option<&str>,
    now: u64,
    recheck_seconds: u64,
) -> Result<Option<Identity>, Refusal> {
    let Some(id) = session_cookie.and_then(SessionId::parse) else { return Ok(None) };
    let key = id.storage_key();
    if let Some(identity) = cache.borrow().fresh(&key, now, recheck_seconds) {
        return Ok(Some(identity.clone()));
    }
    let checked = forward::identify(store, session_cookie, now).await?;
    let mut cache = cache.borrow_mut();
    match &checked {
        Some(identity) => cache.remember(identity.clone(), now),
        None => cache.forget(&key),
    }
    Ok(checked)
}
