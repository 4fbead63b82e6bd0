//! The storage the flow needs, as a trait: users, sessions, rate-limit
//! counters, spent Duo states and the audit log. The Worker implements it
//! over D1 (`edge::d1::D1Store`, `migrations/`); tests over memory
//! (`flow::testing::MemoryStore`). No `Send` bound (wasm).

use shared::admin::{AuditQuery, AuditRow};

use super::audit::{Outcome, Step};
use super::context::Ctx;
use super::limits::LimitKey;
use super::maintenance::{PrunePlan, Pruned};
use shared::alerts::{AlertKind, Delivery, WebhookFormat};

use crate::keys::{IdHash, SigningSecret, Txid, UserKey, hex_sha256};

/// A value a sign-in may use once: a second use is a replay. Only its
/// SHA-256 is stored (`spent_states`), one table for both kinds, each kind
/// hashed under its own name so that neither can spend the other.
#[derive(Debug, Clone, Copy)]
pub enum SingleUse<'a> {
    /// A Universal Prompt `state`, spent at the callback.
    DuoState(&'a shared::duo::State),
    /// An inline push's or call's Duo transaction id, spent when it makes
    /// its session.
    InlineTransaction(&'a Txid),
}

impl SingleUse<'_> {
    /// Its key in `spent_states`: a SHA-256 (hex), never the value. (A
    /// state is hashed bare, as it always was, so states spent before
    /// this type stay spent.)
    pub fn storage_key(&self) -> String {
        match self {
            Self::DuoState(state) => hex_sha256(state.as_str().as_bytes()),
            Self::InlineTransaction(txid) => {
                hex_sha256(format!("inline-txid\0{}", txid.as_str()).as_bytes())
            }
        }
    }
}

/// A storage failure; the detail is for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

/// A row of `users`, as the flow needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct UserRecord {
    /// As registered.
    pub username: String,
    /// PHC string.
    pub password_hash: String,
    /// `required` or `bypass`.
    pub duo_policy: String,
    /// `0` or `1`.
    pub disabled: u8,
    /// The username Duo knows, when it differs from `username`.
    #[serde(default)]
    pub duo_username: Option<String>,
    /// `user` or `admin`.
    #[serde(default = "user_role")]
    pub role: String,
    /// `1` when an admin turned Duo enforcement off (the `settings` row,
    /// read in the same statement), else `0`.
    #[serde(default)]
    pub duo_off: u8,
    /// `1` when an admin set the password (migration 0008): the user must
    /// choose their own.
    #[serde(default)]
    pub must_change_password: u8,
    /// The sign-in policies (`policies.document`, read in the same
    /// statement); `None` without the row.
    #[serde(default)]
    pub policies: Option<String>,
    /// Bumped by every change that must end the sign-ins under way
    /// (migration 0011): the login ticket carries the version its password
    /// was checked at.
    #[serde(default)]
    pub account_version: u64,
    /// When a sign-in reported as fraud put the account on hold (migration
    /// 0012); `None` when it is not held.
    #[serde(default)]
    pub held_at: Option<u64>,
}

fn user_role() -> String {
    "user".to_owned()
}

/// A new row of `sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 (hex) of the session id.
    pub id_hash: IdHash,
    /// As registered.
    pub username: String,
    /// `duo`, `bypass` or `fail_open` (`AuthMethod::as_str`).
    pub method: &'static str,
    /// Duo's report as JSON, for method `duo`.
    pub duo_context: Option<String>,
    /// Start (Unix seconds).
    pub created_at: u64,
    /// End (Unix seconds).
    pub expires_at: u64,
    /// The client it was made for.
    pub client_ip: Option<String>,
    /// The account's version the step read: the session is stored only
    /// while the account is enabled and still has it.
    pub account_version: u64,
    /// How long it may go unused (`SESSION_IDLE_SECONDS` now; 0: no limit).
    pub idle_seconds: u32,
    /// The browser and system it was made in ("Firefox on Linux").
    pub user_agent: Option<String>,
    /// Cloudflare's country of its client (ISO 3166-1 alpha-2).
    pub country: Option<String>,
}

/// The sign-in log and the sessions, aggregated for the overview.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverviewRecord {
    /// Hours with events (hour index from `from`, counts); the others had
    /// none.
    pub hours: Vec<(u32, shared::admin::HourCounts)>,
    /// Sessions made, by the success reason that made them ([`SIGNED_IN`]).
    pub methods: Vec<shared::admin::Tally>,
    /// Sessions made with Duo, by factor.
    pub factors: Vec<shared::admin::Tally>,
    /// Refusals (failures and rate limits, with their repeats) by reason.
    pub refusals: Vec<shared::admin::Tally>,
    /// The [`shared::admin::OVERVIEW_TOP`] addresses refused most.
    pub refused_addresses: Vec<shared::admin::Tally>,
    /// The [`shared::admin::OVERVIEW_TOP`] countries refused most.
    pub refused_countries: Vec<shared::admin::Tally>,
    /// Live sessions, and of them `fail_open`.
    pub live_sessions: u32,
    pub live_fail_open: u32,
}

/// The success reasons of a step that made a session: a sign-in.
pub const SIGNED_IN: [&str; 7] = [
    "bypass",
    "fail_open",
    "duo_allow",
    "duo_bypass",
    "duo_not_enforced",
    "policy_bypass",
    "remembered_browser",
];

/// Which users the console's users list holds, in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// By name: containing the text (in the name or the Duo name), or
    /// exactly one.
    pub whose: Whose,
    /// `admin`, `user`, or empty for both.
    pub role: &'static str,
    /// `enabled`, `disabled`, `held` (on hold after a fraud report), or
    /// empty for any.
    pub state: &'static str,
    /// Most recent sign-in first (never signed in last), else by name.
    pub by_last_sign_in: bool,
}

impl UserQuery {
    /// Users whose name or Duo name contains `text`, by name.
    pub fn containing(text: &str) -> Self {
        Self {
            whose: Whose { text: text.to_owned(), exact: false },
            role: "",
            state: "",
            by_last_sign_in: false,
        }
    }
}

impl NewSession {
    /// The Duo factor it was made with (`duo_context`'s `factor`), if any.
    pub fn factor(&self) -> Option<String> {
        let context: serde_json::Value = serde_json::from_str(self.duo_context.as_deref()?).ok()?;
        let factor = context.get("factor")?.as_str()?;
        (!factor.is_empty() && factor.len() <= 64).then(|| factor.to_owned())
    }
}

/// Which live sessions the console's sessions list holds, in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionQuery {
    /// Whose.
    pub whose: Whose,
    /// How they were made (`duo`, `bypass`, `fail_open`, `remembered`), or
    /// empty for any.
    pub method: &'static str,
    /// Most recently used first, else most recently started first.
    pub by_last_active: bool,
}

impl From<Whose> for SessionQuery {
    fn from(whose: Whose) -> Self {
        Self { whose, method: "", by_last_active: false }
    }
}

/// Whose rows a console list holds: users whose normalized name contains
/// the text (the search box), or exactly one user (a user's page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whose {
    /// Lower case; empty matches everyone.
    pub text: String,
    /// The normalized name equals `text` instead of containing it.
    pub exact: bool,
}

impl Whose {
    /// Whether `username` (as registered) is one of them.
    pub fn matches(&self, username: &str) -> bool {
        let name = username.trim().to_ascii_lowercase();
        self.text.is_empty()
            || if self.exact { name == self.text } else { name.contains(&self.text) }
    }

    /// Everyone.
    pub fn everyone() -> Self {
        Self { text: String::new(), exact: false }
    }

    /// The bind value of `exact` (`SQLite` has no booleans).
    pub const fn exact_flag(&self) -> u64 {
        if self.exact { 1 } else { 0 }
    }
}

/// A live session, as the admin console lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AdminSessionRecord {
    /// SHA-256 (hex) of the session id: names the session, opens nothing.
    pub id_hash: IdHash,
    /// As registered.
    pub username: String,
    /// `duo`, `bypass` or `fail_open`.
    pub method: String,
    /// Duo's report as JSON, or `None`.
    #[serde(default)]
    pub duo_context: Option<String>,
    /// The client it was made for.
    #[serde(default)]
    pub client_ip: Option<String>,
    /// The browser and system it was made in.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Its client's country.
    #[serde(default)]
    pub country: Option<String>,
    /// Start.
    pub created_at: u64,
    /// End.
    pub expires_at: u64,
    /// Last used (its start for a session from before migration 0013).
    #[serde(default)]
    pub last_seen_at: Option<u64>,
}

/// A live session, as `GET /api/session` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SessionRecord {
    /// As registered.
    pub username: String,
    /// `duo`, `bypass` or `fail_open`.
    pub method: String,
    /// Duo's report as JSON, or `None`.
    pub duo_context: Option<String>,
    /// Start.
    pub created_at: u64,
    /// End.
    pub expires_at: u64,
    /// `1` while the session's user still exists and is enabled, else `0`
    /// (read with the session, in the same statement).
    pub user_active: u8,
    /// The user's role now (`user` when the user is gone).
    #[serde(default = "user_role")]
    pub role: String,
    /// `1` while the user must replace a password an admin set.
    #[serde(default)]
    pub must_change_password: u8,
    /// When it was last used (its start until then).
    #[serde(default)]
    pub last_seen_at: u64,
    /// How long it may go unused (0: no limit, a session from before).
    #[serde(default)]
    pub idle_seconds: u32,
}

/// One of a user's own live sessions, as their account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct OwnSessionRecord {
    /// SHA-256 (hex) of the session id: names it, opens nothing.
    pub id_hash: IdHash,
    /// `duo`, `bypass`, `remembered`, ...
    pub method: String,
    /// The client it was made for.
    #[serde(default)]
    pub client_ip: Option<String>,
    /// Start.
    pub created_at: u64,
    /// Last used.
    pub last_seen_at: u64,
    /// End.
    pub expires_at: u64,
}

/// What a user ends of their own from their account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnItem {
    /// A session.
    Session,
    /// A trusted browser.
    Browser,
}

/// One audit record (`auth_events`). Never a password, code or token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When (Unix seconds).
    pub at: u64,
    /// Normalized username as submitted (may name no user; empty if unknown).
    pub username: String,
    /// Which step.
    pub step: Step,
    /// How it ended.
    pub outcome: Outcome,
    /// A stable reason code (`Success::as_str` or `Reason::as_str`).
    pub reason: &'static str,
    /// Duo's transaction id, when there is one.
    pub duo_txid: Option<String>,
    /// The client's address, when known.
    pub client_ip: Option<String>,
    /// How many more refused requests this row stands for (a rate-limit
    /// summary, `flow::maintenance`); 0 for one event.
    pub repeats: u32,
    /// The sign-in policy that decided the step ("#2 Office"), if one did.
    pub policy: Option<String>,
    /// Cloudflare's country of the client (ISO 3166-1 alpha-2), when known.
    pub country: Option<String>,
    /// The Duo factor of the session the step made, if it made one with Duo.
    pub factor: Option<String>,
}

/// A user as the admin console lists them (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AdminUserRecord {
    /// As registered.
    pub username: String,
    /// `user` or `admin`.
    pub role: String,
    /// `required` or `bypass`.
    pub duo_policy: String,
    /// The name Duo knows, when it differs.
    #[serde(default)]
    pub duo_username: Option<String>,
    /// `0` or `1`.
    pub disabled: u8,
    /// When the account was made.
    pub created_at: u64,
    /// The newest session's start.
    #[serde(default)]
    pub last_login_at: Option<u64>,
    /// The newest session's method.
    #[serde(default)]
    pub last_login_method: Option<String>,
    /// On hold since (a sign-in reported as fraud).
    #[serde(default)]
    pub held_at: Option<u64>,
}

/// A page of users, and the counts the console shows above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// This page.
    pub rows: Vec<AdminUserRecord>,
    /// Users matching the search.
    pub total: u32,
    /// Accounts on hold, of all users.
    pub held: u32,
}

/// A change an admin makes to one user (stored values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserUpdate {
    /// `users.duo_policy`.
    Policy(&'static str),
    /// `users.role`.
    Role(&'static str),
    /// `users.disabled`; disabling also revokes the user's sessions.
    Disabled(bool),
    /// `users.duo_username`.
    DuoUsername(Option<String>),
    /// Revoke every live session of the user.
    RevokeSessions,
    /// `users.password_hash` (a PHC string) set by an admin, which the user
    /// must then replace (`must_change_password`); also revokes the user's
    /// sessions: they were opened with the old password.
    Password(String),
    /// Release a hold (`users.held_at` cleared) after an admin looked at it.
    Release,
}

impl UserUpdate {
    /// Whether the update also ends the user's live sessions and forgets
    /// their remembered browsers.
    pub const fn revokes_sessions(&self) -> bool {
        matches!(self, Self::Disabled(true) | Self::RevokeSessions | Self::Password(_))
    }
}

/// A user an admin adds (`users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// As typed (trimmed, validated).
    pub username: String,
    /// The lookup key.
    pub normalized: UserKey,
    /// PHC string.
    pub password_hash: String,
    /// `required` or `bypass`.
    pub duo_policy: &'static str,
    /// The name Duo knows, when it differs.
    pub duo_username: Option<String>,
    /// `user` or `admin`.
    pub role: &'static str,
    /// The user must replace the password at their first sign-in.
    pub must_change_password: bool,
}

/// What [`ConsoleStore::add_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// Stored, with its admin event.
    Added,
    /// A user has that (normalized) name; nothing written.
    Exists,
    /// Another account has that Duo identity; nothing written.
    DuoIdentityTaken,
}

/// What storage knows about a user's mapping to Duo
/// ([`ConsoleStore::duo_mapping`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DuoMapping {
    /// Another account whose Duo identity is the one asked about.
    pub taken_by: Option<String>,
    /// The user's last successful Duo step (`duo_callback`, success).
    pub last_success: Option<u64>,
    /// The user's last failed Duo step: when, and its reason code.
    pub last_failure: Option<(u64, String)>,
}

/// One admin action (`admin_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEvent {
    /// When.
    pub at: u64,
    /// The admin, as registered.
    pub actor: String,
    /// What, e.g. `disable`.
    pub action: &'static str,
    /// Whom (a normalized username).
    pub target: Option<String>,
    /// The change as JSON (never a password).
    pub detail: Option<String>,
    /// The admin's address.
    pub client_ip: Option<String>,
}

impl AdminEvent {
    /// `actor`'s `action` during the request `ctx` (its time, its client),
    /// on nobody in particular and without detail until said.
    pub fn new(actor: String, action: &'static str, ctx: &Ctx) -> Self {
        Self {
            at: ctx.now,
            actor,
            action,
            target: None,
            detail: None,
            client_ip: ctx.client.map(|ip| ip.to_string()),
        }
    }

    /// This event on user `target`.
    #[must_use]
    pub fn on(self, target: &UserKey) -> Self {
        self.about(target.as_str())
    }

    /// This event on the thing named `target` (a webhook).
    #[must_use]
    pub fn about(self, target: &str) -> Self {
        Self { target: Some(target.to_owned()), ..self }
    }

    /// This event with `detail` (never a password).
    #[must_use]
    pub fn with(self, detail: &serde_json::Value) -> Self {
        Self { detail: Some(detail.to_string()), ..self }
    }
}

/// The `enforce_duo` setting and its last change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct EnforceSetting {
    /// `on` or `off`.
    pub value: String,
    /// When it was last written.
    pub updated_at: u64,
    /// Who wrote it (an admin), `None` for the migration.
    #[serde(default)]
    pub updated_by: Option<String>,
}

/// A browser a user had remembered after a Duo sign-in
/// (`remembered_browsers`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RememberedBrowser {
    /// SHA-256 (hex) of the `__Host-remember` cookie's token.
    pub id_hash: IdHash,
    /// The user (normalized).
    pub username: String,
    /// When it was remembered.
    pub created_at: u64,
    /// When it is forgotten.
    pub expires_at: u64,
    /// When it last skipped Duo.
    #[serde(default)]
    pub last_used_at: Option<u64>,
    /// "Firefox on Linux".
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The client it was remembered from.
    #[serde(default)]
    pub client_ip: Option<String>,
}

/// The `policies` row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct StoredPolicies {
    /// Bumped by each save.
    pub version: u32,
    /// The set as JSON (canonical form).
    pub document: String,
    /// When it was last saved.
    pub updated_at: u64,
    /// By whom (`None`: the migration).
    #[serde(default)]
    pub updated_by: Option<String>,
}

/// What [`ConsoleStore::change_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Done, with its admin event.
    Changed,
    /// No user has that name; nothing written.
    NoSuchUser,
    /// It would leave no enabled admin; nothing written.
    LastAdmin,
    /// Another account has that Duo identity; nothing written.
    DuoIdentityTaken,
}

/// What the flow stores, as one bound: every port. Every method is one atomic operation of the
/// backing store and one round trip to it (one D1 statement, or one D1
/// batch, which D1 runs as a transaction).
pub trait Store: SessionStore + SignInStore + ConsoleStore + MaintenanceStore + AlertStore {}

impl<T: SessionStore + SignInStore + ConsoleStore + MaintenanceStore + AlertStore> Store for T {}

/// Sessions and the sign-in log: made (with their step's record), read,
/// ended; and a step's record alone. The port of `flow::session` and of
/// every step's [`super::trail::Trail`].
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Stores a new session and the audit record of the step that made it,
    /// atomically: no session exists without its record. Only while the
    /// session's user is enabled and still has `session.account_version`:
    /// `false` (nothing written) when the account changed since the step
    /// read it. A session of method `duo` also clears the account's count
    /// of wrong passcodes ([`LimitKey::PasscodeAccount`]), as Duo's
    /// approval clears Duo's.
    async fn create_session(
        &self,
        session: &NewSession,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// The session stored under `id_hash`, unless revoked or expired at
    /// `now`, with whether its user is still active.
    async fn live_session(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Revokes the live session stored under `id_hash`: its username, or
    /// `None` when there was no live session.
    async fn revoke_session(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<String>, StoreError>;

    /// Revokes every live session of the user whose normalized name is
    /// `normalized` (sessions hold the name as registered: compared after
    /// the same normalization), forgets their remembered browsers and bumps
    /// the account's version (ending the sign-ins under way).
    async fn revoke_user_sessions(&self, normalized: &UserKey, now: u64) -> Result<(), StoreError>;

    /// Appends to the audit log.
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Marks the live session `id_hash` used at `now` (its idle window
    /// starts again).
    async fn touch_session(&self, id_hash: &IdHash, now: u64) -> Result<(), StoreError>;

    /// The live sessions (idle ones are not) and trusted browsers of the
    /// user `normalized`, newest first, in one round trip.
    async fn list_own(
        &self,
        normalized: &UserKey,
        now: u64,
    ) -> Result<(Vec<OwnSessionRecord>, Vec<RememberedBrowser>), StoreError>;

    /// Ends the live session or trusted browser `id_hash` when it is the
    /// user `normalized`'s own: whether one ended.
    async fn end_own(
        &self,
        normalized: &UserKey,
        item: OwnItem,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<bool, StoreError>;
}

/// What the sign-in reads and counts: the user (with the policies and the
/// enforcement switch), the rate limits, the values spent once, the
/// trusted browsers.
#[allow(async_fn_in_trait)]
pub trait SignInStore {
    /// The user whose normalized name is `normalized`.
    async fn user(&self, normalized: &UserKey) -> Result<Option<UserRecord>, StoreError>;

    /// Counts one attempt against `key` in the window starting at
    /// `window_start` and returns the new count, atomically (an
    /// `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`): concurrent
    /// attempts each see a distinct count.
    async fn hit(&self, key: &LimitKey, window_start: u64, now: u64) -> Result<u32, StoreError>;

    /// Takes back one attempt counted by [`SignInStore::hit`] in that window (a
    /// login that succeeded does not count against its limits).
    async fn forgive(&self, key: &LimitKey, window_start: u64) -> Result<(), StoreError>;

    /// The user whose normalized name is `normalized`, and one attempt
    /// counted against `key` (as [`SignInStore::hit`]), in one round trip.
    async fn user_and_hit(
        &self,
        normalized: &UserKey,
        key: &LimitKey,
        window_start: u64,
        now: u64,
    ) -> Result<(Option<UserRecord>, u32), StoreError>;

    /// The user whose normalized name is `normalized`, and one attempt
    /// counted against each of `keys` (a key and its window's start), as
    /// [`SignInStore::hit`] does, in one round trip: the counts in the order of
    /// `keys`.
    async fn user_and_hits(
        &self,
        normalized: &UserKey,
        keys: &[(LimitKey, u64)],
        now: u64,
    ) -> Result<(Option<UserRecord>, Vec<u32>), StoreError>;

    /// Spends `once` (by [`SingleUse::storage_key`]): `true` the first
    /// time, `false` when it was already spent, atomically, so two
    /// concurrent callbacks (or status polls) cannot both win; and reads the
    /// user whose normalized name is `normalized`, in the same round trip.
    async fn spend_once_and_user(
        &self,
        once: SingleUse<'_>,
        normalized: &UserKey,
        now: u64,
    ) -> Result<(bool, Option<UserRecord>), StoreError>;

    /// Stores a remembered browser, only while the stored policies still
    /// offer to remember browsers (`remember_days` above 0): `false`
    /// (nothing written) when they no longer do.
    async fn remember_browser(&self, browser: &RememberedBrowser) -> Result<bool, StoreError>;

    /// Whether `id_hash` is a live remembered browser of `normalized` at
    /// `now` (not revoked, not expired, and remembered less than `max_age`
    /// seconds ago: the days the policies allow now, which may have been
    /// lowered since); if so its `last_used_at` becomes `now`, in the same
    /// statement.
    async fn use_remembered(
        &self,
        id_hash: &IdHash,
        normalized: &UserKey,
        now: u64,
        max_age: u64,
    ) -> Result<bool, StoreError>;

    /// Forgets the remembered browser `id_hash`: its user (normalized), or
    /// `None` when it was not live.
    async fn forget_browser(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<String>, StoreError>;

    /// A sign-in reported as fraud: puts the account on hold at `now`,
    /// bumps its version, ends its live sessions and trusted browsers, in
    /// one batch. `true` when this put it on hold (`false`: it already was,
    /// or no such user; the sessions and browsers end either way).
    async fn hold_for_fraud(&self, normalized: &UserKey, now: u64) -> Result<bool, StoreError>;
}

/// What the console reads and changes: users, sessions, the audit logs, the
/// settings, the policies, trusted browsers, accounts; every change with
/// its `admin_events` row, atomically.
#[allow(async_fn_in_trait)]
pub trait ConsoleStore {
    /// The users `query` asks for (a name containing its text, or its
    /// Duo name, or exactly that name; a role; a state), by normalized name
    /// or by the last sign-in, `limit` from `offset`, how many match in
    /// all and how many accounts are on hold, in one round trip.
    async fn list_users(
        &self,
        query: &UserQuery,
        offset: u32,
        limit: u32,
    ) -> Result<UserPage, StoreError>;

    /// Live sessions at `now` (not revoked, not expired, not idle) that
    /// `query` asks for, newest first (or most recently used first),
    /// `limit` from `offset`, and how many match in all, in one round trip.
    async fn list_sessions(
        &self,
        query: &SessionQuery,
        now: u64,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<AdminSessionRecord>, u32), StoreError>;

    /// Revokes the live session stored under `id_hash` and records
    /// `event` with the session's user (normalized) as its target,
    /// atomically; `false` (nothing written) when there was no live
    /// session.
    async fn revoke_session_as_admin(
        &self,
        id_hash: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError>;

    /// The overview's aggregates of the sign-in log from `from` (a whole
    /// hour) to `now`, and the live sessions at `now`, in one round trip.
    async fn overview(&self, from: u64, now: u64) -> Result<OverviewRecord, StoreError>;

    /// A page of an audit log (`query.log`), newest first, `limit` from
    /// `offset`, and how many events match in all, in one round trip.
    async fn list_audit(
        &self,
        query: &AuditQuery,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<AuditRow>, u32), StoreError>;

    /// Appends one admin action that changes no row (an export, a setting
    /// is written with its own event).
    async fn record_admin(&self, event: &AdminEvent) -> Result<(), StoreError>;

    /// The `enforce_duo` setting (`None`: no row, which means on).
    async fn enforce_setting(&self) -> Result<Option<EnforceSetting>, StoreError>;

    /// Writes the `enforce_duo` setting and records `event`, atomically.
    async fn set_enforce(&self, on: bool, event: &AdminEvent) -> Result<(), StoreError>;

    /// Applies `update` to the user whose normalized name is `normalized`
    /// and records `event`, atomically: both or neither.
    async fn change_user(
        &self,
        normalized: &UserKey,
        update: &UserUpdate,
        event: &AdminEvent,
    ) -> Result<ChangeOutcome, StoreError>;

    /// The user's own password change: `new_hash` replaces `old_hash` only
    /// if it is still the stored one (two changes at once: one wins),
    /// clears `must_change_password`, revokes the user's other live
    /// sessions (all but `keep_session`, a session id's hash) and records
    /// `event`, atomically. `false` (nothing written) when the stored hash
    /// was no longer `old_hash`.
    async fn change_own_password(
        &self,
        normalized: &UserKey,
        old_hash: &str,
        new_hash: &str,
        keep_session: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError>;

    /// The sign-in policies.
    async fn policies(&self) -> Result<StoredPolicies, StoreError>;

    /// Live remembered browsers at `now` of the users `whose`, newest
    /// first (or the most recently used first, never used last), `limit`
    /// from `offset`, and how many in all.
    async fn list_remembered(
        &self,
        whose: &Whose,
        by_last_used: bool,
        now: u64,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<RememberedBrowser>, u32), StoreError>;

    /// Forgets a live remembered browser and records `event` with its user
    /// as target, atomically; `false` (nothing written) when it was not
    /// live.
    async fn forget_browser_as_admin(
        &self,
        id_hash: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError>;

    /// Replaces the policies with `document` if their version is still
    /// `expected_version` (bumping it), and records `event`, atomically;
    /// `false` (nothing written) when another save came first. With
    /// `forget_browsers` (a set that no longer remembers browsers), every
    /// remembered browser is forgotten in the same transaction: turning
    /// "trust this browser" off ends the trust already given.
    async fn save_policies(
        &self,
        expected_version: u32,
        document: &str,
        forget_browsers: bool,
        event: &AdminEvent,
    ) -> Result<bool, StoreError>;

    /// The enabled admins' usernames (as registered), in name order.
    async fn enabled_admins(&self) -> Result<Vec<String>, StoreError>;

    /// Adds `user` and records `event`, atomically: both or neither.
    /// `user.password_hash` is new (its salt is fresh): no stored row has
    /// it.
    async fn add_user(&self, user: &NewUser, event: &AdminEvent) -> Result<AddOutcome, StoreError>;

    /// The account (as registered) other than `normalized` whose Duo
    /// identity (its Duo username, else its username, trimmed and lower
    /// case) is `identity`, and the user's last successful and last failed
    /// Duo steps in the audit log, in one round trip.
    async fn duo_mapping(
        &self,
        normalized: &UserKey,
        identity: &str,
    ) -> Result<DuoMapping, StoreError>;
}

/// The scheduled maintenance.
#[allow(async_fn_in_trait)]
pub trait MaintenanceStore {
    /// Scheduled maintenance, atomically: first one audit summary per
    /// rate-limit counter of a window before `plan.windows_before` that
    /// went over its limit by more than one (the first refusal was recorded
    /// on its own): step `login` (`duo_start` for Duo steps), outcome
    /// `rate_limited`, the limit's reason, the username and client of its
    /// key, at `plan.now`, `repeats` = count - limit - 1; then every row
    /// before its cutoff is deleted.
    async fn prune(&self, plan: &PrunePlan) -> Result<Pruned, StoreError>;
}

/// A webhook as stored (`alert_webhooks`), its address and signing secret
/// included: only the queue's consumer reads those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhook {
    /// Random, names it in the API.
    pub id: String,
    /// The admin's name for it (unique, case-insensitively).
    pub name: String,
    /// Where alerts are posted.
    pub url: String,
    /// How the body is written.
    pub format: WebhookFormat,
    /// What it is sent.
    pub events: Vec<AlertKind>,
    /// Off: nothing is sent to it.
    pub enabled: bool,
    /// The HMAC key of its signatures.
    pub secret: SigningSecret,
    /// When it was added.
    pub created_at: u64,
    /// Who added it.
    pub created_by: String,
}

/// Which deliveries a page lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only failed attempts and give-ups.
    pub failed_only: bool,
    /// Only this webhook's.
    pub webhook: Option<String>,
}

/// How long delivery records are kept (90 days): each record written
/// deletes those older.
pub const DELIVERIES_KEPT_SECONDS: u64 = 90 * 86_400;

/// Alerts: the webhooks, the queue's once-per-window claims and the
/// delivery log. The port of `flow::webhooks` (the console) and
/// `flow::alerts` (the queue's consumer).
#[allow(async_fn_in_trait)]
pub trait AlertStore {
    /// Every webhook, by name.
    async fn webhooks(&self) -> Result<Vec<StoredWebhook>, StoreError>;
    /// Adds `webhook` and `event` atomically; `false` (nothing written)
    /// when another webhook has its name (case-insensitively).
    async fn add_webhook(
        &self,
        webhook: &StoredWebhook,
        event: &AdminEvent,
    ) -> Result<bool, StoreError>;
    /// Sets webhook `id`'s state and events, with `event`, atomically;
    /// `false` (nothing written) when there is no such webhook.
    async fn change_webhook(
        &self,
        id: &str,
        enabled: bool,
        events: &[AlertKind],
        event: &AdminEvent,
    ) -> Result<bool, StoreError>;
    /// Removes webhook `id`, with `event`, atomically; `false` (nothing
    /// written) when there is no such webhook. Its deliveries stay.
    async fn remove_webhook(&self, id: &str, event: &AdminEvent) -> Result<bool, StoreError>;
    /// Claims `key` until `until` when it is free at `now` (never claimed,
    /// or its last claim ended): `true` for exactly one of any claims
    /// racing for it.
    async fn claim_alert(&self, key: &str, now: u64, until: u64) -> Result<bool, StoreError>;
    /// Records one attempt (and deletes records older than
    /// [`DELIVERIES_KEPT_SECONDS`]).
    async fn record_delivery(&self, delivery: &Delivery) -> Result<(), StoreError>;
    /// A page of deliveries matching `query`, newest first, and how many
    /// match.
    async fn deliveries(
        &self,
        query: &DeliveryQuery,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<Delivery>, u32), StoreError>;
    /// Failed attempts and give-ups at or after `since`.
    async fn failures_since(&self, since: u64) -> Result<u32, StoreError>;
}
