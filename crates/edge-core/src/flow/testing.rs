//! Test support for the flow core: an in-memory [`Store`], a scripted Duo
//! [`Transport`] with correctly HS512-signed `id_token`s, a counting
//! [`Passwords`] over `credentials`' pure PBKDF2, a minimal
//! executor, and fixtures.
//!
//! Every seam yields once (returns `Pending` before answering), as the
//! real ones do at their `await`s, so futures joined with [`join_all`]
//! interleave there: that is what makes the concurrency tests able to fail.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credentials::PasswordHash;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha512;
use shared::admin::{AuditLog, AuditQuery, AuditRow};
use shared::duo::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
use zeroize::Zeroizing;

use super::audit::{Outcome, Reason, Step};
use super::context::{Ctx, Passwords, Random, unix_i64};
use super::limits::LimitKey;
use super::maintenance::{PrunePlan, Pruned};
use super::store::{
    AddOutcome, AdminEvent, AdminSessionRecord, AdminUserRecord, AuditEvent, ChangeOutcome,
    ConsoleStore, DuoMapping, EnforceSetting, MaintenanceStore, NewSession, NewUser, OwnItem,
    OwnSessionRecord, RememberedBrowser, SessionRecord, SessionStore, SignInStore, SingleUse,
    StoreError, StoredPolicies, UserPage, UserRecord, UserUpdate,
};
use super::store::{AlertStore, DELIVERIES_KEPT_SECONDS, DeliveryQuery, StoredWebhook};
use crate::config::Config;
use crate::keys::{IdHash, UserKey};
use shared::alerts::{AlertKind, Delivery, DeliveryOutcome};

// ---------------------------------------------------------------------------
// Executor.
// ---------------------------------------------------------------------------

/// A future that is `Pending` once (waking itself), then ready.
#[derive(Default)]
pub struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Polls more than this many rounds: a future that never finishes.
const MAX_ROUNDS: usize = 100_000;

/// Runs `future` to completion (its seams never wait on anything real).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..MAX_ROUNDS {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("the future did not finish");
}

/// A boxed future, for [`join_all`].
pub type Task<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Runs `futures` concurrently, round-robin, each up to its next `Pending`;
/// their outputs in order.
pub fn join_all<T>(futures: Vec<Task<'_, T>>) -> Vec<T> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut slots: Vec<(Task<'_, T>, Option<T>)> = futures.into_iter().map(|f| (f, None)).collect();
    for _ in 0..MAX_ROUNDS {
        let mut done = true;
        for (future, output) in &mut slots {
            if output.is_none() {
                match future.as_mut().poll(&mut cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => done = false,
                }
            }
        }
        if done {
            return slots.into_iter().filter_map(|(_, output)| output).collect();
        }
    }
    panic!("the futures did not finish");
}

// ---------------------------------------------------------------------------
// Store.
// ---------------------------------------------------------------------------

/// A session row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub session: NewSession,
    pub revoked_at: Option<u64>,
    /// Last used (migration 0013); its start until then.
    pub last_seen_at: u64,
}

impl StoredSession {
    /// Live at `now`: not revoked, not expired, not idle past its window.
    pub fn live(&self, now: u64) -> bool {
        let idle = u64::from(self.session.idle_seconds);
        self.revoked_at.is_none()
            && self.session.expires_at > now
            && (idle == 0 || self.last_seen_at.saturating_add(idle) > now)
    }
}

/// [`Store`] in memory. Each operation is atomic (it runs between two
/// polls), as each D1 statement is.
#[derive(Default)]
pub struct MemoryStore {
    pub users: RefCell<HashMap<String, UserRecord>>,
    /// When each user (normalized) was added through the console's port
    /// (`users.created_at`; 0 for those the fixtures add).
    pub created_at: RefCell<HashMap<String, u64>>,
    pub sessions: RefCell<HashMap<IdHash, StoredSession>>,
    pub counters: RefCell<HashMap<(LimitKey, u64), u32>>,
    /// Spent state hash → when.
    pub spent: RefCell<HashMap<String, u64>>,
    pub events: RefCell<Vec<AuditEvent>>,
    pub admin_events: RefCell<Vec<AdminEvent>>,
    /// The `enforce_duo` setting (`None`: no row, which means on).
    pub enforce: RefCell<Option<EnforceSetting>>,
    /// The `policies` row (`None`: as the migration leaves it).
    pub policies: RefCell<Option<StoredPolicies>>,
    /// Remembered browsers, and when each was revoked.
    pub browsers: RefCell<Vec<(RememberedBrowser, Option<u64>)>>,
    /// When set, every operation fails.
    pub broken: Cell<bool>,
    /// The alerts' webhooks.
    pub webhooks: RefCell<Vec<StoredWebhook>>,
    /// Claimed alert keys and until when.
    pub claims: RefCell<HashMap<String, u64>>,
    /// The delivery log, oldest first.
    pub deliveries: RefCell<Vec<Delivery>>,
}

impl MemoryStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.broken.get() { Err(StoreError("the store is down".to_owned())) } else { Ok(()) }
    }

    /// Migration 0001's check on `users.password_hash`.
    fn check_hash(hash: &str) -> Result<(), StoreError> {
        if hash.starts_with("$pbkdf2-sha256$") {
            Ok(())
        } else {
            Err(StoreError("CHECK constraint failed: password_hash".to_owned()))
        }
    }

    /// The user stored under `normalized`, as `SELECT_USER` reads it (with
    /// the enforcement setting).
    fn stored_user(&self, normalized: &str) -> Option<UserRecord> {
        let off = self.enforce.borrow().as_ref().is_some_and(|s| s.value == "off");
        let mut user = self.users.borrow().get(normalized).cloned()?;
        user.duo_off = u8::from(off);
        user.policies = Some(self.stored_policies().document);
        Some(user)
    }

    /// What migration 0011's triggers do when a column of the user
    /// `normalized` changes: the account's version bumped, and with a new
    /// password the count of wrong passcodes cleared.
    fn account_changed(&self, user: &mut UserRecord, normalized: &str, password: bool) {
        user.account_version += 1;
        if password {
            self.counters
                .borrow_mut()
                .retain(|(key, _), _| *key != LimitKey::PasscodeAccount(normalized.to_owned()));
        }
    }

    /// Revokes every live remembered browser of `normalized` at `now`.
    fn forget_browsers_of(&self, normalized: &str, now: u64) {
        for (browser, revoked) in self.browsers.borrow_mut().iter_mut() {
            if browser.username == normalized && revoked.is_none() {
                *revoked = Some(now);
            }
        }
    }

    /// The `policies` row.
    pub fn stored_policies(&self) -> StoredPolicies {
        self.policies.borrow().clone().unwrap_or_else(|| StoredPolicies {
            version: 1,
            document: r#"{"rules":[]}"#.to_owned(),
            updated_at: 0,
            updated_by: None,
        })
    }

    /// Adds a user.
    pub fn add_user(&self, user: UserRecord) {
        let key = credentials::normalize(&user.username).expect("a valid test username");
        self.users.borrow_mut().insert(key, user);
    }

    /// The audit log so far, as `(step, outcome, reason)`.
    pub fn audit(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        self.events
            .borrow()
            .iter()
            .map(|e| (e.step.as_str(), e.outcome.as_str(), e.reason))
            .collect()
    }

    /// The last audit record.
    pub fn last_event(&self) -> AuditEvent {
        self.events.borrow().last().cloned().expect("an audit event")
    }

    /// The number of session rows.
    pub fn session_count(&self) -> usize {
        self.sessions.borrow().len()
    }
}

impl SessionStore for MemoryStore {
    async fn create_session(
        &self,
        session: &NewSession,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let normalized = credentials::normalize(&session.username).unwrap_or_default();
        let current = self.users.borrow().get(&normalized).is_some_and(|user| {
            user.disabled == 0 && user.account_version == session.account_version
        });
        if !current {
            return Ok(false);
        }
        if session.method == "duo" {
            self.counters
                .borrow_mut()
                .retain(|(key, _), _| *key != LimitKey::PasscodeAccount(normalized.clone()));
        }
        let row = StoredSession {
            session: session.clone(),
            revoked_at: None,
            last_seen_at: session.created_at,
        };
        let previous = self.sessions.borrow_mut().insert(session.id_hash.clone(), row);
        assert!(previous.is_none(), "session ids are unique");
        self.events.borrow_mut().push(event.clone());
        Ok(true)
    }

    async fn live_session(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let users = self.users.borrow();
        Ok(self.sessions.borrow().get(id_hash).and_then(|row| {
            let key = credentials::normalize(&row.session.username).unwrap_or_default();
            let active = users.get(&key).is_some_and(|user| user.disabled == 0);
            let role = users.get(&key).map_or_else(|| "user".to_owned(), |user| user.role.clone());
            let must_change = users.get(&key).map_or(0, |user| user.must_change_password);
            row.live(now).then(|| SessionRecord {
                username: row.session.username.clone(),
                method: row.session.method.to_owned(),
                duo_context: row.session.duo_context.clone(),
                created_at: row.session.created_at,
                expires_at: row.session.expires_at,
                user_active: u8::from(active),
                role,
                must_change_password: must_change,
                last_seen_at: row.last_seen_at,
                idle_seconds: row.session.idle_seconds,
            })
        }))
    }

    async fn revoke_session(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<String>, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut sessions = self.sessions.borrow_mut();
        Ok(sessions.get_mut(id_hash).filter(|row| row.revoked_at.is_none()).map(|row| {
            row.revoked_at = Some(now);
            row.session.username.clone()
        }))
    }

    async fn touch_session(&self, id_hash: &IdHash, now: u64) -> Result<(), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        if let Some(row) = self.sessions.borrow_mut().get_mut(id_hash)
            && row.revoked_at.is_none()
        {
            row.last_seen_at = now;
        }
        Ok(())
    }

    async fn list_own(
        &self,
        normalized: &UserKey,
        now: u64,
    ) -> Result<(Vec<OwnSessionRecord>, Vec<RememberedBrowser>), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let key = normalized.as_str();
        let mut sessions: Vec<OwnSessionRecord> = self
            .sessions
            .borrow()
            .values()
            .filter(|row| row.live(now) && row.session.username.trim().eq_ignore_ascii_case(key))
            .map(|row| OwnSessionRecord {
                id_hash: row.session.id_hash.clone(),
                method: row.session.method.to_owned(),
                client_ip: row.session.client_ip.clone(),
                created_at: row.session.created_at,
                last_seen_at: row.last_seen_at,
                expires_at: row.session.expires_at,
            })
            .collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        let mut browsers: Vec<RememberedBrowser> = self
            .browsers
            .borrow()
            .iter()
            .filter(|(b, revoked)| revoked.is_none() && b.username == key && b.expires_at > now)
            .map(|(b, _)| b.clone())
            .collect();
        browsers.sort_by_key(|b| std::cmp::Reverse(b.created_at));
        Ok((sessions, browsers))
    }

    async fn end_own(
        &self,
        normalized: &UserKey,
        item: OwnItem,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let key = normalized.as_str();
        Ok(match item {
            OwnItem::Session => {
                let mut sessions = self.sessions.borrow_mut();
                let theirs = sessions.get_mut(id_hash).filter(|row| {
                    row.live(now) && row.session.username.trim().eq_ignore_ascii_case(key)
                });
                theirs.map(|row| row.revoked_at = Some(now)).is_some()
            }
            OwnItem::Browser => {
                let mut browsers = self.browsers.borrow_mut();
                let theirs = browsers.iter_mut().find(|(b, revoked)| {
                    b.id_hash == *id_hash && revoked.is_none() && b.username == key
                });
                theirs.map(|(_, revoked)| *revoked = Some(now)).is_some()
            }
        })
    }

    async fn revoke_user_sessions(&self, normalized: &UserKey, now: u64) -> Result<(), StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        for row in self.sessions.borrow_mut().values_mut() {
            let theirs = row.session.username.trim().eq_ignore_ascii_case(normalized);
            if theirs && row.revoked_at.is_none() {
                row.revoked_at = Some(now);
            }
        }
        self.forget_browsers_of(normalized, now);
        if let Some(user) = self.users.borrow_mut().get_mut(normalized) {
            self.account_changed(user, normalized, false);
        }
        Ok(())
    }

    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        self.events.borrow_mut().push(event.clone());
        Ok(())
    }
}

impl SignInStore for MemoryStore {
    async fn user(&self, normalized: &UserKey) -> Result<Option<UserRecord>, StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        Ok(self.stored_user(normalized))
    }

    async fn hit(&self, key: &LimitKey, window_start: u64, _now: u64) -> Result<u32, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut counters = self.counters.borrow_mut();
        let count = counters.entry((key.clone(), window_start)).or_insert(0);
        *count += 1;
        Ok(*count)
    }

    async fn forgive(&self, key: &LimitKey, window_start: u64) -> Result<(), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        if let Some(count) = self.counters.borrow_mut().get_mut(&(key.clone(), window_start)) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    async fn user_and_hit(
        &self,
        normalized: &UserKey,
        key: &LimitKey,
        window_start: u64,
        _now: u64,
    ) -> Result<(Option<UserRecord>, u32), StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        let user = self.stored_user(normalized);
        let mut counters = self.counters.borrow_mut();
        let count = counters.entry((key.clone(), window_start)).or_insert(0);
        *count += 1;
        Ok((user, *count))
    }

    async fn user_and_hits(
        &self,
        normalized: &UserKey,
        keys: &[(LimitKey, u64)],
        _now: u64,
    ) -> Result<(Option<UserRecord>, Vec<u32>), StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        let user = self.stored_user(normalized);
        let mut counters = self.counters.borrow_mut();
        let counts = keys
            .iter()
            .map(|(key, window_start)| {
                let count = counters.entry((key.clone(), *window_start)).or_insert(0);
                *count += 1;
                *count
            })
            .collect();
        Ok((user, counts))
    }

    async fn spend_once_and_user(
        &self,
        once: SingleUse<'_>,
        normalized: &UserKey,
        now: u64,
    ) -> Result<(bool, Option<UserRecord>), StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        let user = self.stored_user(normalized);
        let mut spent = self.spent.borrow_mut();
        let key = once.storage_key();
        if spent.contains_key(&key) {
            return Ok((false, user));
        }
        spent.insert(key, now);
        Ok((true, user))
    }

    async fn remember_browser(&self, browser: &RememberedBrowser) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let set: shared::policy::PolicySet =
            serde_json::from_str(&self.stored_policies().document).unwrap_or_default();
        if set.remember_days == 0 {
            return Ok(false);
        }
        self.browsers.borrow_mut().push((browser.clone(), None));
        Ok(true)
    }

    async fn use_remembered(
        &self,
        id_hash: &IdHash,
        normalized: &UserKey,
        now: u64,
        max_age: u64,
    ) -> Result<bool, StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        let mut browsers = self.browsers.borrow_mut();
        let live = browsers.iter_mut().find(|(b, revoked)| {
            b.id_hash == *id_hash
                && b.username == normalized
                && revoked.is_none()
                && b.expires_at > now
                && b.created_at.saturating_add(max_age) > now
        });
        Ok(live.map(|(b, _)| b.last_used_at = Some(now)).is_some())
    }

    async fn forget_browser(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<String>, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut browsers = self.browsers.borrow_mut();
        let live =
            browsers.iter_mut().find(|(b, revoked)| b.id_hash == *id_hash && revoked.is_none());
        Ok(live.map(|(b, revoked)| {
            *revoked = Some(now);
            b.username.clone()
        }))
    }

    async fn hold_for_fraud(&self, normalized: &UserKey, now: u64) -> Result<bool, StoreError> {
        let key = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        let held = match self.users.borrow_mut().get_mut(key) {
            Some(user) if user.held_at.is_none() => {
                user.held_at = Some(now);
                user.account_version += 1;
                true
            }
            _ => false,
        };
        for row in self.sessions.borrow_mut().values_mut() {
            let theirs = row.session.username.trim().eq_ignore_ascii_case(key);
            if theirs && row.revoked_at.is_none() {
                row.revoked_at = Some(now);
            }
        }
        self.forget_browsers_of(key, now);
        Ok(held)
    }
}

impl ConsoleStore for MemoryStore {
    async fn list_users(
        &self,
        query: &crate::flow::store::UserQuery,
        offset: u32,
        limit: u32,
    ) -> Result<UserPage, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let users = self.users.borrow();
        let sessions = self.sessions.borrow();
        let whose = &query.whose;
        let last_sign_in = |user: &UserRecord| {
            sessions
                .values()
                .filter(|row| row.session.username == user.username)
                .map(|row| row.session.created_at)
                .max()
        };
        let mut keys: Vec<&String> = users
            .iter()
            .filter(|(key, user)| {
                whose.matches(key)
                    || !whose.exact
                        && user
                            .duo_username
                            .as_deref()
                            .is_some_and(|d| d.to_ascii_lowercase().contains(&whose.text))
            })
            .filter(|(_, user)| query.role.is_empty() || user.role == query.role)
            .filter(|(_, user)| match query.state {
                "enabled" => user.disabled == 0,
                "disabled" => user.disabled != 0,
                "held" => user.held_at.is_some(),
                _ => true,
            })
            .map(|(key, _)| key)
            .collect();
        keys.sort();
        if query.by_last_sign_in {
            // Stable: by name among equals; never signed in last.
            keys.sort_by_key(|key| std::cmp::Reverse(last_sign_in(&users[key.as_str()])));
        }
        let total = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        let rows = keys
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|key| {
                let user = &users[key];
                let last = sessions
                    .values()
                    .filter(|row| row.session.username == user.username)
                    .max_by_key(|row| row.session.created_at);
                AdminUserRecord {
                    username: user.username.clone(),
                    role: user.role.clone(),
                    duo_policy: user.duo_policy.clone(),
                    duo_username: user.duo_username.clone(),
                    disabled: user.disabled,
                    created_at: self.created_at.borrow().get(key.as_str()).copied().unwrap_or(0),
                    last_login_at: last.map(|row| row.session.created_at),
                    last_login_method: last.map(|row| row.session.method.to_owned()),
                    held_at: user.held_at,
                }
            })
            .collect();
        let held = users.values().filter(|user| user.held_at.is_some()).count();
        Ok(UserPage { rows, total, held: u32::try_from(held).unwrap_or(u32::MAX) })
    }

    async fn list_sessions(
        &self,
        query: &crate::flow::store::SessionQuery,
        now: u64,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<AdminSessionRecord>, u32), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let sessions = self.sessions.borrow();
        let mut live: Vec<(&IdHash, &StoredSession)> = sessions
            .iter()
            .filter(|(_, row)| row.live(now))
            .filter(|(_, row)| query.whose.matches(&row.session.username))
            .filter(|(_, row)| query.method.is_empty() || row.session.method == query.method)
            .collect();
        live.sort_by(|a, b| b.1.session.created_at.cmp(&a.1.session.created_at).then(a.0.cmp(b.0)));
        if query.by_last_active {
            // Stable: the newest first among equals.
            live.sort_by_key(|(_, row)| std::cmp::Reverse(row.last_seen_at));
        }
        let total = u32::try_from(live.len()).unwrap_or(u32::MAX);
        let rows = live
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|(_, row)| AdminSessionRecord {
                id_hash: row.session.id_hash.clone(),
                username: row.session.username.clone(),
                method: row.session.method.to_owned(),
                duo_context: row.session.duo_context.clone(),
                client_ip: row.session.client_ip.clone(),
                user_agent: row.session.user_agent.clone(),
                country: row.session.country.clone(),
                created_at: row.session.created_at,
                expires_at: row.session.expires_at,
                last_seen_at: Some(row.last_seen_at),
            })
            .collect();
        Ok((rows, total))
    }

    async fn overview(
        &self,
        from: u64,
        now: u64,
    ) -> Result<crate::flow::store::OverviewRecord, StoreError> {
        use crate::flow::store::SIGNED_IN;
        use shared::admin::{HourCounts, OVERVIEW_TOP, Tally};
        YieldOnce::default().await;
        self.check()?;
        let mut hours: HashMap<u32, HourCounts> = HashMap::new();
        let mut tallies: [HashMap<String, u32>; 5] = Default::default();
        let [methods, factors, refusals, addresses, countries] = &mut tallies;
        for e in self.events.borrow().iter().filter(|e| e.at >= from && e.at <= now) {
            let hour = u32::try_from((e.at - from) / 3600).unwrap_or(u32::MAX);
            let slot = hours.entry(hour).or_default();
            let weight = 1 + e.repeats;
            match e.outcome {
                Outcome::Success if SIGNED_IN.contains(&e.reason) => {
                    slot.signed_in += 1;
                    *methods.entry(e.reason.to_owned()).or_default() += 1;
                    if let Some(factor) = &e.factor {
                        *factors.entry(factor.clone()).or_default() += 1;
                    }
                }
                Outcome::Failure | Outcome::RateLimited => {
                    if e.outcome == Outcome::Failure {
                        slot.refused += 1;
                    } else {
                        slot.rate_limited += weight;
                    }
                    *refusals.entry(e.reason.to_owned()).or_default() += weight;
                    if let Some(ip) = e.client_ip.clone().filter(|ip| !ip.is_empty()) {
                        *addresses.entry(ip).or_default() += weight;
                    }
                    if let Some(country) = e.country.clone() {
                        *countries.entry(country).or_default() += weight;
                    }
                }
                Outcome::Error => slot.errors += 1,
                Outcome::Success => {}
            }
        }
        let ranked = |tally: &HashMap<String, u32>, top: Option<u32>| {
            let mut ranked: Vec<Tally> = tally
                .iter()
                .map(|(key, count)| Tally { key: key.clone(), count: *count })
                .collect();
            ranked.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
            ranked.truncate(top.map_or(usize::MAX, |n| n as usize));
            ranked
        };
        let mut hours: Vec<(u32, HourCounts)> = hours.into_iter().collect();
        hours.sort_by_key(|(hour, _)| *hour);
        let sessions = self.sessions.borrow();
        let live: Vec<&StoredSession> = sessions.values().filter(|row| row.live(now)).collect();
        Ok(crate::flow::store::OverviewRecord {
            hours,
            methods: ranked(methods, None),
            factors: ranked(factors, None),
            refusals: ranked(refusals, None),
            refused_addresses: ranked(addresses, Some(OVERVIEW_TOP)),
            refused_countries: ranked(countries, Some(OVERVIEW_TOP)),
            live_sessions: u32::try_from(live.len()).unwrap_or(u32::MAX),
            live_fail_open: u32::try_from(
                live.iter().filter(|row| row.session.method == "fail_open").count(),
            )
            .unwrap_or(u32::MAX),
        })
    }

    async fn list_audit(
        &self,
        query: &AuditQuery,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<AuditRow>, u32), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let within = |at: u64| {
            let at = unix_i64(at);
            query.from.is_none_or(|from| at >= from) && query.to.is_none_or(|to| at <= to)
        };
        let mut rows: Vec<AuditRow> = match query.log {
            AuditLog::SignIns => self
                .events
                .borrow()
                .iter()
                .filter(|e| query.user.is_empty() || e.username == query.user)
                .filter(|e| query.outcome.is_empty() || e.outcome.as_str() == query.outcome)
                .filter(|e| within(e.at))
                .map(|e| AuditRow {
                    at: unix_i64(e.at),
                    user: e.username.clone(),
                    event: e.step.as_str().to_owned(),
                    outcome: e.outcome.as_str().to_owned(),
                    reason: e.reason.to_owned(),
                    target: None,
                    duo_txid: e.duo_txid.clone(),
                    client_ip: e.client_ip.clone(),
                    repeats: e.repeats,
                    policy: e.policy.clone(),
                    country: e.country.clone(),
                    factor: e.factor.clone(),
                })
                .collect(),
            AuditLog::Admin => self
                .admin_events
                .borrow()
                .iter()
                .filter(|e| {
                    query.user.is_empty()
                        || e.actor.to_ascii_lowercase() == query.user
                        || e.target.as_deref() == Some(query.user.as_str())
                })
                .filter(|_| query.outcome.is_empty() || query.outcome == "success")
                .filter(|e| within(e.at))
                .map(|e| AuditRow {
                    at: unix_i64(e.at),
                    user: e.actor.clone(),
                    event: e.action.to_owned(),
                    outcome: "success".to_owned(),
                    reason: e.detail.clone().unwrap_or_default(),
                    target: e.target.clone(),
                    duo_txid: None,
                    client_ip: e.client_ip.clone(),
                    repeats: 0,
                    policy: None,
                    country: None,
                    factor: None,
                })
                .collect(),
        };
        // Newest first; among equal times, the later insert first (as `id DESC`);
        // or the oldest first, in insert order.
        // (Stable sorts: insert order kept among equal times.)
        if query.oldest_first {
            rows.sort_by_key(|row| row.at);
        } else {
            rows.reverse();
            rows.sort_by_key(|row| std::cmp::Reverse(row.at));
        }
        let total = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        Ok((rows.into_iter().skip(offset as usize).take(limit as usize).collect(), total))
    }

    async fn record_admin(&self, event: &AdminEvent) -> Result<(), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        self.admin_events.borrow_mut().push(event.clone());
        Ok(())
    }

    async fn enforce_setting(&self) -> Result<Option<EnforceSetting>, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        Ok(self.enforce.borrow().clone())
    }

    async fn set_enforce(&self, on: bool, event: &AdminEvent) -> Result<(), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        *self.enforce.borrow_mut() = Some(EnforceSetting {
            value: if on { "on" } else { "off" }.to_owned(),
            updated_at: event.at,
            updated_by: Some(event.actor.clone()),
        });
        self.admin_events.borrow_mut().push(event.clone());
        Ok(())
    }

    async fn revoke_session_as_admin(
        &self,
        id_hash: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut sessions = self.sessions.borrow_mut();
        let Some(row) = sessions.get_mut(id_hash) else { return Ok(false) };
        if row.revoked_at.is_some() || row.session.expires_at <= event.at {
            return Ok(false);
        }
        row.revoked_at = Some(event.at);
        let target = row.session.username.trim().to_ascii_lowercase();
        // The session in words, read with it (as the database's statement does).
        let mut detail: Value =
            serde_json::from_str(event.detail.as_deref().unwrap_or("{}")).unwrap_or(json!({}));
        detail["method"] = json!(row.session.method);
        detail["browser"] = json!(row.session.user_agent);
        detail["started"] = json!(row.session.created_at);
        let detail = Some(detail.to_string());
        self.admin_events.borrow_mut().push(AdminEvent {
            target: Some(target),
            detail,
            ..event.clone()
        });
        Ok(true)
    }

    async fn change_user(
        &self,
        normalized: &UserKey,
        update: &UserUpdate,
        event: &AdminEvent,
    ) -> Result<ChangeOutcome, StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        let mut users = self.users.borrow_mut();
        let enabled_admins =
            users.values().filter(|u| u.role == "admin" && u.disabled == 0).count();
        let identity = |user: &UserRecord| {
            user.duo_username.as_deref().unwrap_or(&user.username).trim().to_ascii_lowercase()
        };
        let others: Vec<String> =
            users.iter().filter(|(k, _)| *k != normalized).map(|(_, u)| identity(u)).collect();
        let Some(user) = users.get_mut(normalized) else { return Ok(ChangeOutcome::NoSuchUser) };
        let mut changed = user.clone();
        match update {
            UserUpdate::Policy(value) => (*value).clone_into(&mut changed.duo_policy),
            UserUpdate::Role(value) => (*value).clone_into(&mut changed.role),
            UserUpdate::Disabled(value) => changed.disabled = u8::from(*value),
            UserUpdate::DuoUsername(value) => changed.duo_username.clone_from(value),
            UserUpdate::RevokeSessions => {}
            UserUpdate::Release => changed.held_at = None,
            UserUpdate::Password(phc) => {
                Self::check_hash(phc)?;
                changed.password_hash.clone_from(phc);
                changed.must_change_password = 1;
            }
        }
        // The migration's triggers and unique index.
        let was_enabled_admin = user.role == "admin" && user.disabled == 0;
        let still = changed.role == "admin" && changed.disabled == 0;
        if was_enabled_admin && !still && enabled_admins <= 1 {
            return Ok(ChangeOutcome::LastAdmin);
        }
        if others.contains(&identity(&changed)) {
            return Ok(ChangeOutcome::DuoIdentityTaken);
        }
        self.account_changed(&mut changed, normalized, matches!(update, UserUpdate::Password(_)));
        *user = changed;
        if update.revokes_sessions() {
            self.forget_browsers_of(normalized, event.at);
            for row in self.sessions.borrow_mut().values_mut() {
                let theirs =
                    credentials::normalize(&row.session.username).as_deref() == Some(normalized);
                if theirs && row.revoked_at.is_none() {
                    row.revoked_at = Some(event.at);
                }
            }
        }
        self.admin_events.borrow_mut().push(event.clone());
        Ok(ChangeOutcome::Changed)
    }

    async fn change_own_password(
        &self,
        normalized: &UserKey,
        old_hash: &str,
        new_hash: &str,
        keep_session: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        Self::check_hash(new_hash)?;
        let mut users = self.users.borrow_mut();
        let Some(user) = users.get_mut(normalized).filter(|u| u.password_hash == old_hash) else {
            return Ok(false);
        };
        new_hash.clone_into(&mut user.password_hash);
        user.must_change_password = 0;
        self.account_changed(user, normalized, true);
        self.forget_browsers_of(normalized, event.at);
        for (id_hash, row) in self.sessions.borrow_mut().iter_mut() {
            let theirs =
                credentials::normalize(&row.session.username).as_deref() == Some(normalized);
            if theirs && id_hash != keep_session && row.revoked_at.is_none() {
                row.revoked_at = Some(event.at);
            }
        }
        self.admin_events.borrow_mut().push(event.clone());
        Ok(true)
    }

    async fn list_remembered(
        &self,
        whose: &crate::flow::store::Whose,
        by_last_used: bool,
        now: u64,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<RememberedBrowser>, u32), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut live: Vec<RememberedBrowser> = self
            .browsers
            .borrow()
            .iter()
            .filter(|(b, revoked)| revoked.is_none() && b.expires_at > now)
            .filter(|(b, _)| whose.matches(&b.username))
            .map(|(b, _)| b.clone())
            .collect();
        live.sort_by_key(|b| std::cmp::Reverse(b.created_at));
        if by_last_used {
            live.sort_by_key(|b| std::cmp::Reverse(b.last_used_at));
        }
        let total = u32::try_from(live.len()).unwrap_or(u32::MAX);
        let page = live.into_iter().skip(offset as usize).take(limit as usize).collect();
        Ok((page, total))
    }

    async fn forget_browser_as_admin(
        &self,
        id_hash: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut browsers = self.browsers.borrow_mut();
        let live = browsers.iter_mut().find(|(b, revoked)| {
            b.id_hash == *id_hash && revoked.is_none() && b.expires_at > event.at
        });
        let Some((browser, revoked)) = live else { return Ok(false) };
        *revoked = Some(event.at);
        let target = Some(browser.username.clone());
        self.admin_events.borrow_mut().push(AdminEvent { target, ..event.clone() });
        Ok(true)
    }

    async fn policies(&self) -> Result<StoredPolicies, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        Ok(self.stored_policies())
    }

    async fn save_policies(
        &self,
        expected_version: u32,
        document: &str,
        forget_browsers: bool,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let current = self.stored_policies();
        if current.version != expected_version {
            return Ok(false);
        }
        if forget_browsers {
            for (_, revoked) in self.browsers.borrow_mut().iter_mut() {
                revoked.get_or_insert(event.at);
            }
        }
        *self.policies.borrow_mut() = Some(StoredPolicies {
            version: current.version + 1,
            document: document.to_owned(),
            updated_at: event.at,
            updated_by: Some(event.actor.clone()),
        });
        self.admin_events.borrow_mut().push(event.clone());
        Ok(true)
    }

    async fn enabled_admins(&self) -> Result<Vec<String>, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let users = self.users.borrow();
        let mut admins: Vec<(&String, String)> = users
            .iter()
            .filter(|(_, u)| u.role == "admin" && u.disabled == 0)
            .map(|(key, u)| (key, u.username.clone()))
            .collect();
        admins.sort();
        Ok(admins.into_iter().map(|(_, name)| name).collect())
    }

    async fn add_user(&self, user: &NewUser, event: &AdminEvent) -> Result<AddOutcome, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        Self::check_hash(&user.password_hash)?;
        let mut users = self.users.borrow_mut();
        // The primary key, then migration 0003's Duo identity trigger.
        if users.contains_key(user.normalized.as_str()) {
            return Ok(AddOutcome::Exists);
        }
        let identity = |name: Option<&str>, username: &str| {
            name.unwrap_or(username).trim().to_ascii_lowercase()
        };
        let wanted = identity(user.duo_username.as_deref(), &user.username);
        if users.values().any(|u| identity(u.duo_username.as_deref(), &u.username) == wanted) {
            return Ok(AddOutcome::DuoIdentityTaken);
        }
        let record = UserRecord {
            username: user.username.clone(),
            password_hash: user.password_hash.clone(),
            duo_policy: user.duo_policy.to_owned(),
            disabled: 0,
            duo_username: user.duo_username.clone(),
            role: user.role.to_owned(),
            duo_off: 0,
            must_change_password: u8::from(user.must_change_password),
            policies: None,
            account_version: 0,
            held_at: None,
        };
        users.insert(user.normalized.as_str().to_owned(), record);
        self.created_at.borrow_mut().insert(user.normalized.as_str().to_owned(), event.at);
        self.admin_events.borrow_mut().push(event.clone());
        Ok(AddOutcome::Added)
    }

    async fn duo_mapping(
        &self,
        normalized: &UserKey,
        identity: &str,
    ) -> Result<DuoMapping, StoreError> {
        let normalized = normalized.as_str();
        YieldOnce::default().await;
        self.check()?;
        let taken_by = self
            .users
            .borrow()
            .iter()
            .filter(|(key, _)| *key != normalized)
            .find(|(_, u)| {
                u.duo_username.as_deref().unwrap_or(&u.username).trim().to_ascii_lowercase()
                    == identity
            })
            .map(|(_, u)| u.username.clone());
        let events = self.events.borrow();
        let theirs = || events.iter().filter(|e| e.username == normalized);
        let last_success = theirs()
            .filter(|e| e.step == Step::DuoCallback && e.outcome == Outcome::Success)
            .map(|e| e.at)
            .max();
        // The newest (the later row when two share a second).
        let last_failure = theirs()
            .filter(|e| matches!(e.step, Step::DuoStart | Step::DuoCallback))
            .filter(|e| matches!(e.outcome, Outcome::Failure | Outcome::Error))
            .fold(None::<&AuditEvent>, |newest, e| match newest {
                Some(n) if n.at > e.at => Some(n),
                _ => Some(e),
            })
            .map(|e| (e.at, e.reason.to_owned()));
        Ok(DuoMapping { taken_by, last_success, last_failure })
    }
}

impl AlertStore for MemoryStore {
    async fn webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut hooks = self.webhooks.borrow().clone();
        hooks.sort_by_key(|w| w.name.to_lowercase());
        Ok(hooks)
    }

    async fn add_webhook(
        &self,
        webhook: &StoredWebhook,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut hooks = self.webhooks.borrow_mut();
        if hooks.iter().any(|w| w.name.eq_ignore_ascii_case(&webhook.name)) {
            return Ok(false);
        }
        hooks.push(webhook.clone());
        self.admin_events.borrow_mut().push(event.clone());
        Ok(true)
    }

    async fn change_webhook(
        &self,
        id: &str,
        enabled: bool,
        events: &[AlertKind],
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut hooks = self.webhooks.borrow_mut();
        let Some(hook) = hooks.iter_mut().find(|w| w.id == id) else { return Ok(false) };
        hook.enabled = enabled;
        hook.events = events.to_vec();
        self.admin_events.borrow_mut().push(event.clone());
        Ok(true)
    }

    async fn remove_webhook(&self, id: &str, event: &AdminEvent) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut hooks = self.webhooks.borrow_mut();
        let before = hooks.len();
        hooks.retain(|w| w.id != id);
        if hooks.len() == before {
            return Ok(false);
        }
        self.admin_events.borrow_mut().push(event.clone());
        Ok(true)
    }

    async fn claim_alert(&self, key: &str, now: u64, until: u64) -> Result<bool, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut claims = self.claims.borrow_mut();
        if claims.get(key).is_some_and(|&claimed| claimed > now) {
            return Ok(false);
        }
        claims.insert(key.to_owned(), until);
        Ok(true)
    }

    async fn record_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut log = self.deliveries.borrow_mut();
        log.retain(|d| d.at >= delivery.at.saturating_sub(DELIVERIES_KEPT_SECONDS));
        log.push(delivery.clone());
        Ok(())
    }

    async fn deliveries(
        &self,
        query: &DeliveryQuery,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<Delivery>, u32), StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let log = self.deliveries.borrow();
        let matching: Vec<&Delivery> = log
            .iter()
            .rev()
            .filter(|d| !query.failed_only || d.outcome != DeliveryOutcome::Delivered)
            .filter(|d| query.webhook.as_ref().is_none_or(|id| d.webhook_id == *id))
            .collect();
        let total = u32::try_from(matching.len()).unwrap_or(u32::MAX);
        let page = matching.into_iter().skip(offset as usize).take(limit as usize).cloned();
        Ok((page.collect(), total))
    }

    async fn failures_since(&self, since: u64) -> Result<u32, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let log = self.deliveries.borrow();
        let failed =
            log.iter().filter(|d| d.at >= since && d.outcome != DeliveryOutcome::Delivered);
        Ok(u32::try_from(failed.count()).unwrap_or(u32::MAX))
    }
}

impl MaintenanceStore for MemoryStore {
    async fn prune(&self, plan: &PrunePlan) -> Result<Pruned, StoreError> {
        YieldOnce::default().await;
        self.check()?;
        let mut pruned = Pruned::default();
        let mut counters = self.counters.borrow_mut();
        let mut summaries: Vec<AuditEvent> = counters
            .iter()
            .filter(|((_, window), _)| *window < plan.windows_before)
            .filter_map(|((key, _), &count)| summary(key, count, plan))
            .collect();
        summaries.sort_by(|a, b| (&a.username, &a.client_ip).cmp(&(&b.username, &b.client_ip)));
        pruned.summaries = summaries.len() as u64;
        let before = counters.len();
        let users = self.users.borrow();
        counters.retain(|(key, window), _| match key {
            LimitKey::PasscodeAccount(user) => users.contains_key(user),
            LimitKey::Passcode(..) => *window >= plan.passcode_windows_before,
            _ => *window >= plan.windows_before,
        });
        pruned.counters = (before - counters.len()) as u64;

        let mut sessions = self.sessions.borrow_mut();
        let before = sessions.len();
        sessions.retain(|_, row| {
            row.session.expires_at >= plan.sessions_before
                && row.revoked_at.is_none_or(|at| at >= plan.sessions_before)
        });
        pruned.sessions = (before - sessions.len()) as u64;
        let mut browsers = self.browsers.borrow_mut();
        let before = browsers.len();
        browsers.retain(|(b, revoked)| {
            b.expires_at >= plan.sessions_before
                && revoked.is_none_or(|at| at >= plan.sessions_before)
        });
        pruned.browsers = (before - browsers.len()) as u64;

        let mut spent = self.spent.borrow_mut();
        let before = spent.len();
        spent.retain(|_, at| *at >= plan.states_before);
        pruned.states = (before - spent.len()) as u64;

        let mut events = self.events.borrow_mut();
        let before = events.len();
        events.retain(|event| event.at >= plan.audit_before);
        pruned.audit_events = (before - events.len()) as u64;
        events.extend(summaries);

        let mut admin_events = self.admin_events.borrow_mut();
        let before = admin_events.len();
        admin_events.retain(|event| event.at >= plan.audit_before);
        pruned.admin_events = (before - admin_events.len()) as u64;
        Ok(pruned)
    }
}

/// The audit summary of a counter over its limit by more than one.
fn summary(key: &LimitKey, count: u32, plan: &PrunePlan) -> Option<AuditEvent> {
    let limits = plan.limits;
    let (step, reason, username, client, max) = match key {
        LimitKey::UserClient(user, client) => {
            (Step::Login, Reason::UserClientLimit, user.clone(), Some(client), limits.user_client)
        }
        LimitKey::Client(client) => {
            (Step::Login, Reason::ClientLimit, String::new(), Some(client), limits.client)
        }
        LimitKey::User(user) => (Step::Login, Reason::UserLimit, user.clone(), None, limits.user),
        LimitKey::DuoStart(user) => {
            (Step::DuoStart, Reason::DuoStartLimit, user.clone(), None, limits.duo_start)
        }
        // Every passcode refusal is audited on its own: nothing to summarize.
        LimitKey::Passcode(..) | LimitKey::PasscodeAccount(_) => return None,
    };
    (count > max + 1).then(|| AuditEvent {
        at: plan.now,
        username,
        step,
        outcome: Outcome::RateLimited,
        reason: reason.as_str(),
        duo_txid: None,
        client_ip: client.map(ToString::to_string),
        repeats: count - max - 1,
        policy: None,
        country: None,
        factor: None,
    })
}

// ---------------------------------------------------------------------------
// Password verifier.
// ---------------------------------------------------------------------------

/// `credentials`' pure PBKDF2, counting verifications. A dummy hash (no
/// password matches it) is not derived, to keep debug-build tests fast: the
/// call is recorded and answers `false`, which is what deriving it would
/// answer.
pub struct CountingVerifier {
    /// Every verification, in order: whether it was against a dummy hash,
    /// and its iterations.
    pub verified: RefCell<Vec<(bool, u32)>>,
    /// Pwned Passwords as this stand-in knows it: breached passwords and
    /// their counts (`None` in the list's place: the service is down).
    pub pwned: RefCell<Option<Vec<(&'static str, u64)>>>,
    /// The range URLs asked for, in order.
    pub ranges: RefCell<Vec<String>>,
}

impl Default for CountingVerifier {
    /// Pwned Passwords up, knowing no breached password.
    fn default() -> Self {
        Self {
            verified: RefCell::default(),
            pwned: RefCell::new(Some(Vec::new())),
            ranges: RefCell::default(),
        }
    }
}

impl CountingVerifier {
    /// How many password checks ran (a top-up of a cheap hash, a dummy of
    /// fewer iterations than the default, is part of the check before it).
    pub fn count(&self) -> usize {
        let topped_up = |&(dummy, iterations): &(bool, u32)| {
            dummy && iterations < credentials::DEFAULT_ITERATIONS
        };
        self.verified.borrow().iter().filter(|check| !topped_up(check)).count()
    }

    /// How many were against the dummy hash of the default cost.
    pub fn dummies(&self) -> usize {
        let default = credentials::DEFAULT_ITERATIONS;
        self.verified.borrow().iter().filter(|&&(dummy, i)| dummy && i == default).count()
    }

    /// PBKDF2 iterations spent in all.
    pub fn iterations(&self) -> u64 {
        self.verified.borrow().iter().map(|&(_, iterations)| u64::from(iterations)).sum()
    }
}

impl Passwords for CountingVerifier {
    async fn verify(&self, hash: &PasswordHash, password: &[u8]) -> bool {
        YieldOnce::default().await;
        let dummy = hash.is_dummy();
        self.verified.borrow_mut().push((dummy, hash.iterations()));
        !dummy && hash.verify(password)
    }

    async fn hash(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<PasswordHash, credentials::PasswordError> {
        YieldOnce::default().await;
        PasswordHash::derive(password, salt, iterations)
    }

    async fn pwned_range(&self, url: &str) -> Result<String, String> {
        YieldOnce::default().await;
        self.ranges.borrow_mut().push(url.to_owned());
        let pwned = self.pwned.borrow();
        let Some(known) = pwned.as_ref() else { return Err("Connect: refused".to_owned()) };
        let prefix = url.rsplit('/').next().unwrap_or_default();
        // Always one padding line, so an empty range is still a range.
        let mut body = "0000000000000000000000000000000000A:0\r\n".to_owned();
        for (password, count) in known {
            let query = credentials::breach::RangeQuery::of(password);
            if query.prefix() == prefix {
                let hex = sha1_hex(password);
                let _ = write!(body, "{}:{count}\r\n", &hex[5..]);
            }
        }
        Ok(body)
    }
}

/// Upper-case hex SHA-1 of `text` (the stand-in's side of a range).
fn sha1_hex(text: &str) -> String {
    use sha1::Digest as _;
    sha1::Sha1::digest(text.as_bytes()).iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02X}");
        out
    })
}

// ---------------------------------------------------------------------------
// Duo.
// ---------------------------------------------------------------------------

/// A Duo that answers from a script, recording every request.
#[derive(Default)]
pub struct ScriptedDuo {
    replies: RefCell<VecDeque<Result<HttpResponse, TransportError>>>,
    /// The URLs requested, in order.
    pub requests: RefCell<Vec<HttpRequest>>,
}

impl ScriptedDuo {
    /// Drops the replies not asked for (a step refused before asking Duo).
    pub fn unasked(&self) {
        self.replies.borrow_mut().clear();
    }

    /// Queues a reply.
    pub fn reply(&self, reply: Result<HttpResponse, TransportError>) -> &Self {
        self.replies.borrow_mut().push_back(reply);
        self
    }

    /// Queues a healthy health check.
    pub fn healthy(&self) -> &Self {
        self.reply(Ok(HttpResponse::new(200, r#"{"stat":"OK","response":{"timestamp":1}}"#)))
    }

    /// Queues a connection failure.
    pub fn unreachable(&self) -> &Self {
        self.reply(Err(TransportError::new(TransportErrorKind::Connect, "connection refused")))
    }

    /// The paths requested (`/oauth/v1/...`).
    pub fn paths(&self) -> Vec<String> {
        self.requests
            .borrow()
            .iter()
            .map(|r| r.url.trim_start_matches(&format!("https://{API_HOST}")).to_owned())
            .collect()
    }
}

impl Transport for ScriptedDuo {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        YieldOnce::default().await;
        self.requests.borrow_mut().push(request);
        self.replies
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| Err(TransportError::new(TransportErrorKind::Other, "not scripted")))
    }
}

/// Signs `claims` as Duo does: compact JWS, HMAC-SHA512 with the client secret.
pub fn sign_id_token(header: &Value, claims: &Value) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(CLIENT_SECRET.as_bytes()).expect("key");
    mac.update(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
    token
}

/// The claims of a genuine `allow` for `username` with `nonce`, issued at `now`.
pub fn allow_claims(username: &str, nonce: &str, now: u64) -> Value {
    json!({
        "iss": format!("https://{API_HOST}/oauth/v1/token"),
        "aud": CLIENT_ID,
        "sub": username,
        "exp": now + 300,
        "iat": now,
        "auth_time": now,
        "nonce": nonce,
        "preferred_username": username,
        "auth_result": {"status": "allow", "result": "allow", "status_msg": "Login Successful"},
        "auth_context": {
            "txid": "txid-0001",
            "factor": "duo_push",
            "auth_device": {"name": "iPhone 15"},
            "result": "success",
        },
    })
}

/// A token endpoint answer carrying `id_token`.
pub fn token_reply(id_token: &str) -> HttpResponse {
    let body = json!({
        "id_token": id_token,
        "access_token": "access-token",
        "expires_in": 3600,
        "token_type": "Bearer",
    });
    HttpResponse::new(200, body.to_string())
}

/// A token endpoint answer with a genuine HS512 `id_token` for `claims`.
pub fn signed_reply(claims: &Value) -> HttpResponse {
    token_reply(&sign_id_token(&json!({"alg": "HS512", "typ": "JWT"}), claims))
}

// ---------------------------------------------------------------------------
// Fixtures.
// ---------------------------------------------------------------------------

pub const CLIENT_ID: &str = "DIEMULATORDEVCLIENT1";
pub const CLIENT_SECRET: &str = "EmulatorDevSecretNotForProduction0000000";
pub const API_HOST: &str = "api-deadbeef.duosecurity.com";
pub const APP_ORIGIN: &str = "https://login.example.com";
pub const SESSION_SECRET_B64: &str = "ZTJlLXRlc3Qtc2Vzc2lvbi1zZWNyZXQtMzItYnl0ZXMhIQ==";
/// A time 10 s into a rate-limit window (1 800 000 000 starts one).
/// The emulator's Auth API application (inline mode).
pub const IKEY: &str = "DIEMULATORAUTHAPI001";
pub const SKEY: &str = "EmulatorAuthApiSecretNotForProduction000";
pub const NOW: u64 = 1_800_000_010;

/// The configuration of the tests, with `DUO_FAILMODE` `fail_mode`.
pub fn config(fail_mode: &str) -> Config {
    config_with(fail_mode, &[])
}

/// [`config`] with `extra` settings added (or replacing the defaults).
pub fn config_with(fail_mode: &str, extra: &[(&str, &str)]) -> Config {
    let defaults = [
        ("DUO_CLIENT_ID", CLIENT_ID),
        ("DUO_CLIENT_SECRET", CLIENT_SECRET),
        ("DUO_API_HOST", API_HOST),
        ("APP_ORIGIN", APP_ORIGIN),
        ("SESSION_SECRET", SESSION_SECRET_B64),
        ("SESSION_TTL_SECONDS", "3600"),
        ("DUO_FAILMODE", fail_mode),
    ];
    let lookup = |name: &str| {
        extra
            .iter()
            .chain(defaults.iter())
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Zeroizing::new((*v).to_owned()))
    };
    Config::parse(lookup).expect("test settings are valid")
}

/// [`config`] in inline mode (Auth API keys [`IKEY`], [`SKEY`]).
pub fn inline_config(fail_mode: &str) -> Config {
    config_with(fail_mode, &[("DUO_MODE", "inline"), ("DUO_IKEY", IKEY), ("DUO_SKEY", SKEY)])
}

/// The test cast plus an admin, `root`, and the cookie of a session of
/// root's (its audit record taken out, as [`issue_stored`] does).
pub fn store_with_admin() -> (MemoryStore, String) {
    let store = store();
    store.add_user(UserRecord { role: "admin".to_owned(), ..user("root", "x", "required", false) });
    let cookie = session_cookie(&store, "root", 9);
    (store, cookie)
}

/// A Duo session of `username`'s, started a minute ago from 192.0.2.1
/// (`seed` makes it distinct), stored as [`issue_stored`] does.
pub fn live_session(
    store: &MemoryStore,
    username: &str,
    seed: u8,
) -> super::session::IssuedSession {
    let at = ctx(NOW - 60, "192.0.2.1");
    issue_stored(store, username, shared::api::AuthMethod::Duo, None, &at, &random(seed))
}

/// The cookie of a [`live_session`].
pub fn session_cookie(store: &MemoryStore, username: &str, seed: u8) -> String {
    live_session(store, username, seed).id.to_cookie_value()
}

/// The password step in prompt mode (`DUO_FAILMODE=closed`, Duo healthy)
/// for `username` with `password` during `ctx`, the browser holding the
/// `__Host-remember` value `remembered`: the step's verdict.
pub fn password_step(
    store: &MemoryStore,
    username: &str,
    password: &str,
    remembered: Option<&str>,
    ctx: &Ctx,
) -> Result<super::login::LoginOutcome, super::Refusal> {
    let body = shared::api::LoginRequest {
        username: username.to_owned(),
        password: shared::api::Password::new(password),
        return_to: None,
        fresh: false,
    };
    let (duo, health) = (ScriptedDuo::default(), super::health::HealthMemo::new());
    duo.healthy();
    let link = super::login::DuoLink { transport: &duo, health: &health };
    let input = super::login::LoginInput { body: &body, known_browser: None, remembered };
    let verifier = CountingVerifier::default();
    block_on(super::login::login(store, &verifier, link, &config("closed"), input, ctx, &random(1)))
}

/// A user row with a cheap hash of `password`.
pub fn user(username: &str, password: &str, policy: &str, disabled: bool) -> UserRecord {
    let hash = PasswordHash::derive(password.as_bytes(), b"test-salt-16-byt", 1_000).expect("hash");
    UserRecord {
        username: username.to_owned(),
        password_hash: hash.to_phc(),
        duo_policy: policy.to_owned(),
        disabled: u8::from(disabled),
        duo_username: None,
        role: "user".to_owned(),
        duo_off: 0,
        must_change_password: 0,
        policies: None,
        account_version: 0,
        held_at: None,
    }
}

/// Issues a session for `username` and stores it (a fixture: stored as
/// is, whatever the account's state, with no audit record, so that tests
/// see only the audit of the steps they run).
pub fn issue_stored(
    store: &MemoryStore,
    username: &str,
    method: shared::api::AuthMethod,
    duo: Option<shared::api::DuoDetails>,
    ctx: &Ctx,
    random: &Random,
) -> super::session::IssuedSession {
    let config = config("closed");
    let issued = super::session::issue(
        &config,
        &user(username, "-", "required", false),
        method,
        duo,
        ctx,
        random,
    )
    .expect("a session");
    let row = StoredSession {
        session: issued.row.clone(),
        revoked_at: None,
        last_seen_at: issued.row.created_at,
    };
    let previous = store.sessions.borrow_mut().insert(issued.row.id_hash.clone(), row);
    assert!(previous.is_none(), "session ids are unique");
    issued
}

/// A store with the demo's cast: alice (Duo), admin (bypass), erin (disabled).
pub fn store() -> MemoryStore {
    let store = MemoryStore::default();
    store.add_user(user("alice", "alice-pass", "required", false));
    store.add_user(user("admin", "admin-pass", "bypass", false));
    store.add_user(user("erin", "erin-pass", "required", true));
    store
}

/// A request at `now` from `ip`.
pub fn ctx(now: u64, ip: &str) -> Ctx {
    Ctx {
        now,
        client: Some(ip.parse().expect("a test address")),
        country: None,
        asn: None,
        city: None,
        agent: Some(crate::headers::UserAgent::parse(
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
        )),
    }
}

/// Random bytes, distinct per `seed`.
pub fn random(seed: u8) -> Random {
    Random {
        state: [seed; 32],
        nonce: [seed.wrapping_add(1); 32],
        jti: [seed.wrapping_add(2); 32],
        session: [seed.wrapping_add(3); 32],
        password: [seed.wrapping_add(4); 32],
        remember: [seed.wrapping_add(5); 32],
    }
}

// ---------------------------------------------------------------------------
// The console as a route reaches it.
// ---------------------------------------------------------------------------

/// Each console function behind its guard, as a route adapter calls it:
/// [`Admin::reading`] for a page, [`Admin::acting`] for a change (`Origin`
/// first), then the function with the capability. Tests drive these, so
/// each refusal of the guard is asserted where the request meets it.
pub mod console {
    use shared::admin::{
        AuditList, AuditQuery, DuoProvider, DuoTest, DuoUserCheck, DuoUserCheckRequest,
        EnforceRequest, NewUserRequest, PasswordIssued, PasswordResetRequest, RememberedList,
        SessionList, UserChange, UserList,
    };
    use shared::duo::Transport;
    use shared::policy::{DryRunRequest, DryRunResult, PoliciesSave, PoliciesView};

    use crate::flow::admin::{Admin, Caller};
    use crate::flow::audit_log::Export;
    use crate::flow::store::Store;
    use crate::flow::{Config, Ctx, Passwords, Random, Refusal};
    use crate::flow::{accounts, admin, audit_log, policy_admin, provider, remembered};

    /// `POST /api/admin/users/change` as the route reads it.
    #[derive(Debug, Clone, Copy)]
    pub struct ChangeRequest<'a> {
        /// The `Origin` header.
        pub origin: Option<&'a str>,
        /// The `__Host-session` cookie's value.
        pub session_cookie: Option<&'a str>,
        /// Whom.
        pub username: &'a str,
        /// What.
        pub change: &'a UserChange,
    }

    /// `POST /api/admin/duo/test` as the route reads it.
    pub struct TestRequest<'a> {
        /// The `Origin` header.
        pub origin: Option<&'a str>,
        /// The `__Host-session` cookie's value.
        pub session_cookie: Option<&'a str>,
        /// Milliseconds, for the latency.
        pub clock: provider::Clock<'a>,
    }

    pub async fn users<S: Store>(
        store: &S,
        cookie: Option<&str>,
        search: &str,
        page: u32,
        now: u64,
    ) -> Result<UserList, Refusal> {
        let admin = Admin::reading(store, cookie, now).await?;
        admin::users(store, &admin, &admin::user_query(search, None, "", "", ""), page).await
    }

    pub async fn sessions<S: Store>(
        store: &S,
        cookie: Option<&str>,
        search: &str,
        page: u32,
        now: u64,
    ) -> Result<SessionList, Refusal> {
        let admin = Admin::reading(store, cookie, now).await?;
        admin::sessions(store, &admin, &admin::session_query(search, None, "", ""), page, now).await
    }

    pub async fn revoke_session<S: Store>(
        store: &S,
        config: &Config,
        origin: Option<&str>,
        session_cookie: Option<&str>,
        id: &str,
        ctx: &Ctx,
    ) -> Result<(), Refusal> {
        let caller = Caller { origin, session_cookie };
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        admin::revoke_session(store, &admin, id, ctx).await
    }

    pub async fn change_user<S: Store>(
        store: &S,
        config: &Config,
        request: ChangeRequest<'_>,
        ctx: &Ctx,
    ) -> Result<(), Refusal> {
        let caller = Caller { origin: request.origin, session_cookie: request.session_cookie };
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        admin::change_user(store, &admin, request.username, request.change, ctx).await
    }

    pub async fn add_user<S: Store, P: Passwords>(
        store: &S,
        passwords: &P,
        config: &Config,
        caller: Caller<'_>,
        request: &NewUserRequest,
        ctx: &Ctx,
        random: &Random,
    ) -> Result<PasswordIssued, Refusal> {
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        accounts::add_user(store, passwords, config, &admin, request, ctx, random).await
    }

    pub async fn reset_password<S: Store, P: Passwords>(
        store: &S,
        passwords: &P,
        config: &Config,
        caller: Caller<'_>,
        request: &PasswordResetRequest,
        ctx: &Ctx,
        random: &Random,
    ) -> Result<PasswordIssued, Refusal> {
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        accounts::reset_password(store, passwords, config, &admin, request, ctx, random).await
    }

    pub async fn check_duo_user<S: Store, T: Transport>(
        store: &S,
        duo: &T,
        config: &Config,
        caller: Caller<'_>,
        request: &DuoUserCheckRequest,
        ctx: &Ctx,
    ) -> Result<DuoUserCheck, Refusal> {
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        accounts::check_duo_user(store, duo, config, &admin, request, ctx).await
    }

    pub async fn list<S: Store>(
        store: &S,
        cookie: Option<&str>,
        search: &str,
        page: u32,
        now: u64,
    ) -> Result<RememberedList, Refusal> {
        let admin = Admin::reading(store, cookie, now).await?;
        remembered::list(store, &admin, &admin::whose(search, None), false, page, now).await
    }

    pub async fn revoke<S: Store>(
        store: &S,
        config: &Config,
        caller: Caller<'_>,
        id: &str,
        ctx: &Ctx,
    ) -> Result<(), Refusal> {
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        remembered::revoke(store, &admin, id, ctx).await
    }

    pub async fn page<S: Store>(
        store: &S,
        cookie: Option<&str>,
        query: &AuditQuery,
        now: u64,
    ) -> Result<AuditList, Refusal> {
        let admin = Admin::reading(store, cookie, now).await?;
        audit_log::page(store, &admin, query).await
    }

    pub async fn export<S: Store>(
        store: &S,
        config: &Config,
        caller: Caller<'_>,
        query: &AuditQuery,
        ctx: &Ctx,
    ) -> Result<Export, Refusal> {
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        audit_log::export(store, &admin, query, ctx).await
    }

    pub async fn view<S: Store>(
        store: &S,
        cookie: Option<&str>,
        now: u64,
    ) -> Result<PoliciesView, Refusal> {
        let admin = Admin::reading(store, cookie, now).await?;
        policy_admin::view(store, &admin).await
    }

    pub async fn save<S: Store>(
        store: &S,
        config: &Config,
        caller: Caller<'_>,
        request: &PoliciesSave,
        ctx: &Ctx,
    ) -> Result<PoliciesView, Refusal> {
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        policy_admin::save(store, &admin, request, ctx).await
    }

    pub async fn dry_run<S: Store>(
        store: &S,
        config: &Config,
        caller: Caller<'_>,
        request: &DryRunRequest,
        now: u64,
    ) -> Result<DryRunResult, Refusal> {
        let admin = Admin::acting(store, config, caller, now).await?;
        policy_admin::dry_run(store, &admin, request).await
    }

    pub async fn settings<S: Store>(
        store: &S,
        config: &Config,
        cookie: Option<&str>,
        now: u64,
    ) -> Result<DuoProvider, Refusal> {
        let admin = Admin::reading(store, cookie, now).await?;
        provider::settings(store, config, &admin).await
    }

    pub async fn set_enforce<S: Store>(
        store: &S,
        config: &Config,
        origin: Option<&str>,
        session_cookie: Option<&str>,
        request: &EnforceRequest,
        ctx: &Ctx,
    ) -> Result<(), Refusal> {
        let caller = Caller { origin, session_cookie };
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        provider::set_enforce(store, &admin, request, ctx).await
    }

    pub async fn test_connection<S: Store, T: Transport>(
        store: &S,
        duo: &T,
        config: &Config,
        request: &TestRequest<'_>,
        ctx: &Ctx,
        random: &Random,
    ) -> Result<DuoTest, Refusal> {
        let caller = Caller { origin: request.origin, session_cookie: request.session_cookie };
        let admin = Admin::acting(store, config, caller, ctx.now).await?;
        provider::test_connection(store, duo, config, &admin, request.clock, ctx, random).await
    }
}

/// The key of a valid test username.
pub fn user_key(username: &str) -> UserKey {
    UserKey::of(username).expect("a valid test username")
}
