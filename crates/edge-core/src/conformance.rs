//! The store ports' conformance suites: what every implementation of
//! [`SessionStore`], [`SignInStore`], [`ConsoleStore`] and
//! [`MaintenanceStore`] must do, as executable cases. The same cases run
//! against the in-memory store of the native tests
//! (`flow/tests/store_conformance.rs`) and against the Worker's D1 store
//! under `wrangler dev` (`tests/store-conformance`, driven by the end-to-end
//! test `store_conformance`), so that the fast tests' store cannot drift
//! from the real one.
//!
//! The concurrent cases start two operations at once and join them: two
//! spends of one state or txid, two changes of one password, two saves of
//! the policies, two admins demoted together. Exactly one may win.
//!
//! Every case works on its own accounts (named `conf-…`), so the cases
//! share one store and run in order, over a store fresh from its
//! migrations (other users may exist: the demo seed's). Two change the
//! whole store: `last_admin_survives_two_demotions` demotes every other
//! admin, and the maintenance case, which runs last, prunes. Times are
//! relative to the `now` the runner is given, which must be the real time
//! (D1 refuses to delete audit events younger than its retention floor).

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use shared::admin::{AuditLog, AuditQuery, AuditRow};
use shared::policy::PolicySet;

use crate::flow::audit::{Outcome, Step};
use crate::flow::limits::{Client, LimitKey};
use crate::flow::maintenance::PrunePlan;
use crate::flow::store::{
    AddOutcome, AdminEvent, AuditEvent, ChangeOutcome, NewSession, NewUser, OwnItem,
    RememberedBrowser, SessionQuery, SingleUse, Store, StoreError, UserPage, UserQuery, UserUpdate,
    Whose,
};
use crate::flow::store::{DeliveryQuery, StoredWebhook};
use crate::keys::SigningSecret;
use crate::keys::{IdHash, Txid, UserKey};
use shared::alerts::{AlertKind, Delivery, DeliveryOutcome, WebhookFormat};

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// The port it checks: `sessions`, `sign-in`, `console` or
    /// `maintenance`.
    pub port: String,
    /// The case (a function of this module).
    pub case: String,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
}

/// Why a case failed.
#[derive(Debug)]
pub struct Failure(String);

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self(error.to_string())
    }
}

type Checked = Result<(), Failure>;

/// Fails the case with the message unless `condition` holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(Failure(format!($($message)+)));
        }
    };
}

/// Fails the case unless `got == want`, saying what `what` was.
#[expect(clippy::needless_pass_by_value, reason = "the cases compare what they just read")]
fn same<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Checked {
    ensure!(got == want, "{what}: got {got:?}, want {want:?}");
    Ok(())
}

/// Runs `a` and `b` concurrently (each polled up to its next pending
/// point in turn, on the caller's executor) and returns both outputs.
pub async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut done_a, mut done_b) = (None, None);
    std::future::poll_fn(move |cx| {
        if done_a.is_none()
            && let Poll::Ready(value) = a.as_mut().poll(cx)
        {
            done_a = Some(value);
        }
        if done_b.is_none()
            && let Poll::Ready(value) = b.as_mut().poll(cx)
        {
            done_b = Some(value);
        }
        match (done_a.take(), done_b.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                (done_a, done_b) = (a, b);
                Poll::Pending
            }
        }
    })
    .await
}

macro_rules! suite {
    ($($port:literal => [$($case:ident),* $(,)?]),* $(,)?) => {
        /// Every case, as (port, case), in the order [`run`] runs them.
        pub const CASES: &[(&str, &str)] = &[$($(($port, stringify!($case)),)*)*];

        /// Runs every case in order against `store` at `now` (the real
        /// time, Unix seconds), a store fresh from its migrations.
        pub async fn run<S: Store>(store: &S, now: u64) -> Vec<Verdict> {
            let mut verdicts = Vec::with_capacity(CASES.len());
            $($(
                verdicts.push(Verdict {
                    port: $port.to_owned(),
                    case: stringify!($case).to_owned(),
                    failure: $case(store, now).await.err().map(|Failure(why)| why),
                });
            )*)*
            verdicts
        }
    };
}

suite! {
    "sessions" => [
        a_session_lives_until_it_expires,
        a_session_needs_the_account_as_read,
        a_session_is_revoked_once,
        a_users_sessions_end_together,
        a_record_is_listed,
        an_unused_session_ends_and_a_used_one_lives_on,
        a_user_lists_and_ends_only_their_own,
    ],
    "sign-in" => [
        a_user_is_read_with_the_settings,
        the_enforcement_switch_reaches_the_user,
        hits_count_per_window_and_forgive,
        two_hits_at_once_count_twice,
        a_user_and_hits_in_one_trip,
        a_value_is_spent_once_per_kind,
        two_spends_at_once_one_wins,
        a_remembered_browser_follows_the_policies,
        turning_trust_off_forgets_browsers,
        a_fraud_report_holds_the_account_and_ends_everything,
    ],
    "console" => [
        a_user_is_added_once,
        users_are_searched_and_paged,
        a_change_applies_and_ends_sign_ins,
        a_password_set_by_an_admin_ends_everything,
        last_admin_survives_two_demotions,
        two_password_changes_at_once_one_wins,
        two_policy_saves_at_once_one_wins,
        an_admin_ends_a_session,
        an_admin_forgets_a_browser,
        the_duo_mapping_names_the_other_account,
        an_admin_action_is_listed,
        the_overview_counts_what_the_log_says,
    ],
    "alerts" => [
        a_webhook_is_added_changed_and_removed,
        an_alert_key_is_claimed_once_per_window,
        deliveries_are_listed_newest_first,
    ],
    "maintenance" => [
        pruning_deletes_only_what_ended,
    ],
}

// ---------------------------------------------------------------------------
// Fixtures.
// ---------------------------------------------------------------------------

/// An admin action by the suite at `at`.
fn admin_event(at: u64, action: &'static str) -> AdminEvent {
    AdminEvent {
        at,
        actor: "conformance".to_owned(),
        action,
        target: None,
        detail: None,
        client_ip: Some("192.0.2.1".to_owned()),
    }
}

/// Adds the user `username` (normalized: lower case) as `role`, with a
/// password hash naming them, and returns the normalized name.
async fn add<S: Store>(
    store: &S,
    now: u64,
    username: &str,
    role: &'static str,
) -> Result<UserKey, Failure> {
    let normalized = key(username);
    let user = NewUser {
        username: username.to_owned(),
        normalized: normalized.clone(),
        password_hash: hash_of(normalized.as_str()),
        duo_policy: "required",
        duo_username: None,
        role,
        must_change_password: false,
    };
    let outcome = store.add_user(&user, &admin_event(now, "add_user").on(&normalized)).await?;
    same("adding a user", outcome, AddOutcome::Added)?;
    Ok(normalized)
}

/// A password hash of the form the database accepts, naming `user`.
fn hash_of(user: impl AsRef<str>) -> String {
    format!("$pbkdf2-sha256$i=1$conf${}", user.as_ref())
}

/// A Duo `state` the suite spends.
fn state(value: &str) -> Result<shared::duo::State, Failure> {
    shared::duo::State::parse(value).map_err(|e| Failure(format!("the state {value:?}: {e}")))
}

/// The key of `username` (the suite's names are valid usernames).
fn key(username: &str) -> UserKey {
    UserKey::normalized(username.trim().to_ascii_lowercase())
}

/// The account's version now.
async fn version<S: Store>(store: &S, normalized: &UserKey) -> Result<u64, Failure> {
    match store.user(normalized).await? {
        Some(user) => Ok(user.account_version),
        None => Err(Failure(format!("no user {normalized}"))),
    }
}

/// A session of `username` (as registered) under a hash of `seed`, for an
/// hour from `now`, at the account's version `account_version`.
fn new_session(seed: &str, username: &str, now: u64, account_version: u64) -> NewSession {
    NewSession {
        id_hash: IdHash::of(seed.as_bytes()),
        username: username.to_owned(),
        method: "duo",
        duo_context: Some(r#"{"factor":"push"}"#.to_owned()),
        created_at: now,
        expires_at: now + 3600,
        client_ip: Some("192.0.2.2".to_owned()),
        account_version,
        idle_seconds: 1800,
        user_agent: Some("Firefox on Linux".to_owned()),
        country: Some("CH".to_owned()),
    }
}

/// The users whose names contain `text` (a console search).
fn containing(text: &str) -> Whose {
    Whose { text: text.to_owned(), exact: false }
}

/// The sign-in log's record of `username`'s `step` at `at`.
fn audit_event(
    at: u64,
    username: impl AsRef<str>,
    step: Step,
    outcome: Outcome,
    reason: &'static str,
) -> AuditEvent {
    AuditEvent {
        at,
        username: username.as_ref().to_owned(),
        step,
        outcome,
        reason,
        duo_txid: None,
        client_ip: Some("192.0.2.3".to_owned()),
        repeats: 0,
        policy: None,
        country: None,
        factor: None,
    }
}

/// Stores a session for the user `normalized` (registered as `username`) at
/// the account's current version; its id hash.
async fn signed_in<S: Store>(
    store: &S,
    now: u64,
    seed: &str,
    username: &str,
) -> Result<IdHash, Failure> {
    let normalized = key(username);
    let session = new_session(seed, username, now, version(store, &normalized).await?);
    let event =
        audit_event(now, normalized.as_str(), Step::DuoCallback, Outcome::Success, "duo_allow");
    ensure!(
        store.create_session(&session, &event).await?,
        "the session of {username} was not stored"
    );
    Ok(session.id_hash)
}

/// Saves policies remembering browsers for `days`, over whatever is stored.
async fn remember_for<S: Store>(store: &S, now: u64, days: u32) -> Checked {
    let current = store.policies().await?;
    let document = serde_json::to_string(&PolicySet {
        rules: vec![],
        remember_days: days,
        access: Vec::new(),
    })
    .map_err(|e| Failure(e.to_string()))?;
    let saved = store
        .save_policies(current.version, &document, days == 0, &admin_event(now, "save_policies"))
        .await?;
    ensure!(saved, "the policies were not saved");
    Ok(())
}

/// A browser of `normalized` remembered at `now` for `days`, under a hash of
/// `seed`.
fn browser(seed: &str, normalized: &UserKey, now: u64, days: u64) -> RememberedBrowser {
    RememberedBrowser {
        id_hash: IdHash::of(seed.as_bytes()),
        username: normalized.to_string(),
        created_at: now,
        expires_at: now + days * 86_400,
        last_used_at: None,
        user_agent: Some("Firefox on Linux".to_owned()),
        client_ip: Some("192.0.2.4".to_owned()),
    }
}

/// One page of a log for `user`.
async fn log_of<S: Store>(
    store: &S,
    log: AuditLog,
    user: impl AsRef<str>,
) -> Result<Vec<AuditRow>, Failure> {
    let query = AuditQuery {
        log,
        user: user.as_ref().to_owned(),
        outcome: String::new(),
        from: None,
        to: None,
        page: 1,
        oldest_first: false,
    };
    Ok(store.list_audit(&query, 0, 50).await?.0)
}

// ---------------------------------------------------------------------------
// Sessions.
// ---------------------------------------------------------------------------

async fn a_session_lives_until_it_expires<S: Store>(store: &S, now: u64) -> Checked {
    let alice = add(store, now, "Conf-Live", "user").await?;
    let id = signed_in(store, now, "conf-live-1", "Conf-Live").await?;
    let Some(live) = store.live_session(&id, now + 10).await? else {
        return Err(Failure("the new session is not live".to_owned()));
    };
    same("its user as registered", live.username.as_str(), "Conf-Live")?;
    same("its method", live.method.as_str(), "duo")?;
    same("Duo's report", live.duo_context.as_deref(), Some(r#"{"factor":"push"}"#))?;
    same("its times", (live.created_at, live.expires_at), (now, now + 3600))?;
    same("its user is active", live.user_active, 1)?;
    same("its user's role", live.role.as_str(), "user")?;
    same("a password to replace", live.must_change_password, 0)?;
    ensure!(store.live_session(&id, now + 3600).await?.is_none(), "live at its end");
    ensure!(
        store.live_session(&IdHash::of(b"conf-live-2"), now).await?.is_none(),
        "another id is live"
    );
    same("its record", log_of(store, AuditLog::SignIns, &alice).await?.len(), 1)
}

async fn a_session_needs_the_account_as_read<S: Store>(store: &S, now: u64) -> Checked {
    let bob = add(store, now, "conf-stale", "user").await?;
    let read = version(store, &bob).await?;
    let changed = store
        .change_user(&bob, &UserUpdate::Policy("bypass"), &admin_event(now, "policy").on(&bob))
        .await?;
    same("the change", changed, ChangeOutcome::Changed)?;
    ensure!(version(store, &bob).await? > read, "a change did not bump the account's version");
    let event = audit_event(now, &bob, Step::DuoCallback, Outcome::Success, "duo_allow");
    let stale = new_session("conf-stale-1", "conf-stale", now, read);
    ensure!(!store.create_session(&stale, &event).await?, "a session at an old version was stored");
    ensure!(
        store.live_session(&stale.id_hash, now).await?.is_none(),
        "the refused session is live"
    );
    same("records of a refused session", log_of(store, AuditLog::SignIns, &bob).await?.len(), 0)?;
    let disable = UserUpdate::Disabled(true);
    store.change_user(&bob, &disable, &admin_event(now, "disable").on(&bob)).await?;
    let current = new_session("conf-stale-2", "conf-stale", now, version(store, &bob).await?);
    ensure!(!store.create_session(&current, &event).await?, "a disabled user's session was stored");
    let ghost = new_session("conf-stale-3", "conf-nobody", now, 0);
    ensure!(!store.create_session(&ghost, &event).await?, "a session of nobody was stored");
    Ok(())
}

async fn a_session_is_revoked_once<S: Store>(store: &S, now: u64) -> Checked {
    add(store, now, "Conf-Revoke", "user").await?;
    let id = signed_in(store, now, "conf-revoke-1", "Conf-Revoke").await?;
    same(
        "the first revocation",
        store.revoke_session(&id, now + 1).await?.as_deref(),
        Some("Conf-Revoke"),
    )?;
    same("the second", store.revoke_session(&id, now + 2).await?, None)?;
    ensure!(store.live_session(&id, now + 3).await?.is_none(), "a revoked session is live");
    same("revoking nothing", store.revoke_session(&IdHash::of(b"conf-none"), now).await?, None)
}

async fn a_users_sessions_end_together<S: Store>(store: &S, now: u64) -> Checked {
    remember_for(store, now, 30).await?;
    let carol = add(store, now, "Conf-All", "user").await?;
    let other = add(store, now, "conf-all-other", "user").await?;
    let first = signed_in(store, now, "conf-all-1", "Conf-All").await?;
    let second = signed_in(store, now + 1, "conf-all-2", "Conf-All").await?;
    let theirs = signed_in(store, now, "conf-all-3", "conf-all-other").await?;
    ensure!(
        store.remember_browser(&browser("conf-all-b", &carol, now, 30)).await?,
        "not remembered"
    );
    let before = version(store, &carol).await?;
    store.revoke_user_sessions(&carol, now + 5).await?;
    for id in [&first, &second] {
        ensure!(
            store.live_session(id, now + 6).await?.is_none(),
            "a session outlived its user's revocation"
        );
    }
    ensure!(store.live_session(&theirs, now + 6).await?.is_some(), "another user's session ended");
    let id_hash = IdHash::of(b"conf-all-b");
    ensure!(
        !store.use_remembered(&id_hash, &carol, now + 6, 86_400).await?,
        "the browser is still trusted"
    );
    same("the account's version", version(store, &carol).await?, before + 1)?;
    same("the other account's version", version(store, &other).await?, 0)
}

async fn a_fraud_report_holds_the_account_and_ends_everything<S: Store>(
    store: &S,
    now: u64,
) -> Checked {
    remember_for(store, now, 30).await?;
    let dora = add(store, now, "Conf-Fraud", "user").await?;
    let session = signed_in(store, now, "conf-fraud-1", "Conf-Fraud").await?;
    ensure!(
        store.remember_browser(&browser("conf-fraud-b", &dora, now, 30)).await?,
        "not remembered"
    );
    let before = version(store, &dora).await?;
    ensure!(store.hold_for_fraud(&dora, now + 5).await?, "not put on hold");
    ensure!(!store.hold_for_fraud(&dora, now + 6).await?, "put on hold twice");
    let read = store.user(&dora).await?.ok_or_else(|| Failure("no user".to_owned()))?;
    same("on hold since", read.held_at, Some(now + 5))?;
    same("the account's version", read.account_version, before + 1)?;
    ensure!(store.live_session(&session, now + 7).await?.is_none(), "a session outlived the hold");
    ensure!(
        !store.use_remembered(&IdHash::of(b"conf-fraud-b"), &dora, now + 7, 86_400).await?,
        "the browser is still trusted"
    );
    let listed = store.list_users(&UserQuery::containing("conf-fraud"), 0, 10).await?;
    same("listed on hold", listed.rows.first().and_then(|u| u.held_at), Some(now + 5))?;
    ensure!(listed.held >= 1, "no held account counted");
    let release = admin_event(now + 8, "release_hold").on(&dora);
    same(
        "released",
        store.change_user(&dora, &UserUpdate::Release, &release).await?,
        ChangeOutcome::Changed,
    )?;
    let read = store.user(&dora).await?.ok_or_else(|| Failure("no user".to_owned()))?;
    same("no longer held", read.held_at, None)?;
    ensure!(!store.hold_for_fraud(&key("conf-nobody-fraud"), now).await?, "held a ghost");
    Ok(())
}

/// Sessions are made with an idle window of 1,800 s ([`new_session`]).
async fn an_unused_session_ends_and_a_used_one_lives_on<S: Store>(store: &S, now: u64) -> Checked {
    add(store, now, "conf-idle", "user").await?;
    let used = signed_in(store, now, "conf-idle-used", "conf-idle").await?;
    let unused = signed_in(store, now, "conf-idle-unused", "conf-idle").await?;
    let read = store.live_session(&used, now + 1799).await?;
    same("read as made", read.map(|r| (r.last_seen_at, r.idle_seconds)), Some((now, 1800)))?;
    store.touch_session(&used, now + 1000).await?;
    ensure!(store.live_session(&unused, now + 1800).await?.is_none(), "an unused session lived on");
    let live = store.live_session(&used, now + 2500).await?;
    same("used at", live.map(|r| r.last_seen_at), Some(now + 1000))?;
    ensure!(store.live_session(&used, now + 2800).await?.is_none(), "idle again, still live");
    let listed = store.list_sessions(&containing("conf-idle").into(), now + 1900, 0, 10).await?;
    same("the console lists the used one only", listed.1, 1)
}

async fn a_user_lists_and_ends_only_their_own<S: Store>(store: &S, now: u64) -> Checked {
    remember_for(store, now, 30).await?;
    let owner = add(store, now, "Conf-Mine", "user").await?;
    let other = add(store, now, "conf-mine-other", "user").await?;
    let mine = signed_in(store, now, "conf-mine-1", "Conf-Mine").await?;
    let newer = signed_in(store, now + 5, "conf-mine-2", "Conf-Mine").await?;
    let theirs = signed_in(store, now, "conf-mine-3", "conf-mine-other").await?;
    ensure!(store.remember_browser(&browser("conf-mine-b", &owner, now, 30)).await?, "not trusted");
    ensure!(store.remember_browser(&browser("conf-mine-o", &other, now, 30)).await?, "not trusted");
    let (sessions, browsers) = store.list_own(&owner, now + 10).await?;
    let ids: Vec<&IdHash> = sessions.iter().map(|s| &s.id_hash).collect();
    same("their sessions, newest first", ids, vec![&newer, &mine])?;
    same("their browser", browsers.len(), 1)?;
    let browser_id = IdHash::of(b"conf-mine-b");
    same("named by its hash", &browsers[0].id_hash, &browser_id)?;
    ensure!(
        !store.end_own(&owner, OwnItem::Session, &theirs, now + 11).await?,
        "ended another user's session"
    );
    ensure!(store.live_session(&theirs, now + 12).await?.is_some(), "another user's session ended");
    let their_browser = IdHash::of(b"conf-mine-o");
    ensure!(
        !store.end_own(&owner, OwnItem::Browser, &their_browser, now + 11).await?,
        "forgot another user's browser"
    );
    ensure!(store.end_own(&owner, OwnItem::Session, &mine, now + 11).await?, "not ended");
    ensure!(!store.end_own(&owner, OwnItem::Session, &mine, now + 12).await?, "ended twice");
    ensure!(store.live_session(&mine, now + 12).await?.is_none(), "still live");
    ensure!(store.live_session(&newer, now + 12).await?.is_some(), "the other one ended too");
    ensure!(store.end_own(&owner, OwnItem::Browser, &browser_id, now + 11).await?, "not forgotten");
    let (sessions, browsers) = store.list_own(&owner, now + 13).await?;
    same("what is left", (sessions.len(), browsers.len()), (1, 0))
}

async fn a_record_is_listed<S: Store>(store: &S, now: u64) -> Checked {
    let mut event =
        audit_event(now - 5, "conf-record", Step::Login, Outcome::Failure, "bad_password");
    event.duo_txid = Some("conf-txid".to_owned());
    event.repeats = 3;
    event.policy = Some("#2 Office".to_owned());
    store.record(&event).await?;
    store
        .record(&audit_event(now - 4, "conf-record", Step::Logout, Outcome::Success, "logout"))
        .await?;
    let rows = log_of(store, AuditLog::SignIns, "conf-record").await?;
    same("rows", rows.len(), 2)?;
    same("newest first", rows[0].event.as_str(), "logout")?;
    let row = &rows[1];
    same("when", row.at, i64::try_from(now - 5).unwrap_or(i64::MAX))?;
    same(
        "what",
        (row.event.as_str(), row.outcome.as_str(), row.reason.as_str()),
        ("login", "failure", "bad_password"),
    )?;
    same("the txid", row.duo_txid.as_deref(), Some("conf-txid"))?;
    same("the client", row.client_ip.as_deref(), Some("192.0.2.3"))?;
    same("repeats", row.repeats, 3)?;
    same("the policy", row.policy.as_deref(), Some("#2 Office"))?;
    let failures = AuditQuery {
        log: AuditLog::SignIns,
        user: "conf-record".to_owned(),
        outcome: "failure".to_owned(),
        from: None,
        to: None,
        page: 1,
        oldest_first: false,
    };
    same("failures only", store.list_audit(&failures, 0, 50).await?.1, 1)
}

// ---------------------------------------------------------------------------
// Sign-in.
// ---------------------------------------------------------------------------

async fn a_user_is_read_with_the_settings<S: Store>(store: &S, now: u64) -> Checked {
    let user = NewUser {
        username: "Conf-Reader".to_owned(),
        normalized: key("conf-reader"),
        password_hash: hash_of("conf-reader"),
        duo_policy: "bypass",
        duo_username: Some("reader@example.com".to_owned()),
        role: "user",
        must_change_password: true,
    };
    store.add_user(&user, &admin_event(now, "add_user").on(&key("conf-reader"))).await?;
    let Some(read) = store.user(&key("conf-reader")).await? else {
        return Err(Failure("the user was not found".to_owned()));
    };
    same("as registered", read.username.as_str(), "Conf-Reader")?;
    same("the hash", read.password_hash.as_str(), hash_of("conf-reader").as_str())?;
    same(
        "Duo",
        (read.duo_policy.as_str(), read.duo_username.as_deref()),
        ("bypass", Some("reader@example.com")),
    )?;
    same(
        "role, disabled, must change",
        (read.role.as_str(), read.disabled, read.must_change_password),
        ("user", 0, 1),
    )?;
    same("the policies", read.policies, Some(store.policies().await?.document))?;
    ensure!(
        store.user(&UserKey::normalized("Conf-Reader".to_owned())).await?.is_none(),
        "read by a name that is not normalized"
    );
    ensure!(store.user(&key("conf-nobody")).await?.is_none(), "a user nobody added");
    Ok(())
}

async fn the_enforcement_switch_reaches_the_user<S: Store>(store: &S, now: u64) -> Checked {
    let dave = add(store, now, "conf-enforce", "user").await?;
    store.set_enforce(false, &admin_event(now, "enforce_off")).await?;
    let off = store.enforce_setting().await?;
    same(
        "the setting",
        off.as_ref().map(|s| (s.value.as_str(), s.updated_at)),
        Some(("off", now)),
    )?;
    same("by whom", off.and_then(|s| s.updated_by), Some("conformance".to_owned()))?;
    same("Duo off, with the user", store.user(&dave).await?.map(|u| u.duo_off), Some(1))?;
    store.set_enforce(true, &admin_event(now + 1, "enforce_on")).await?;
    same("Duo on again", store.user(&dave).await?.map(|u| u.duo_off), Some(0))?;
    let rows = log_of(store, AuditLog::Admin, "conformance").await?;
    ensure!(rows.iter().any(|row| row.event == "enforce_off"), "the switch was not recorded");
    Ok(())
}

async fn hits_count_per_window_and_forgive<S: Store>(store: &S, now: u64) -> Checked {
    let key = LimitKey::UserClient("conf-hits".to_owned(), Client::V4([192, 0, 2, 5]));
    let window = now - now % 900;
    for want in 1..=3 {
        same("a hit", store.hit(&key, window, now).await?, want)?;
    }
    same("another window", store.hit(&key, window + 900, now).await?, 1)?;
    same("another key", store.hit(&LimitKey::User("conf-hits".to_owned()), window, now).await?, 1)?;
    store.forgive(&key, window).await?;
    same("after forgiving one", store.hit(&key, window, now).await?, 3)?;
    store.forgive(&LimitKey::Client(Client::Unknown), window - 900).await?;
    same(
        "forgiving nothing counted",
        store.hit(&LimitKey::Client(Client::Unknown), window - 900, now).await?,
        1,
    )
}

async fn two_hits_at_once_count_twice<S: Store>(store: &S, now: u64) -> Checked {
    let key = LimitKey::DuoStart("conf-race-hits".to_owned());
    let (a, b) = both(store.hit(&key, now, now), store.hit(&key, now, now)).await;
    let mut counts = [a?, b?];
    counts.sort_unstable();
    same("the counts seen", counts, [1, 2])
}

async fn a_user_and_hits_in_one_trip<S: Store>(store: &S, now: u64) -> Checked {
    let erin = add(store, now, "conf-trip", "user").await?;
    let user = LimitKey::User(erin.to_string());
    let client = LimitKey::Client(Client::V6Prefix([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]));
    store.hit(&client, now, now).await?;
    let (read, counts) =
        store.user_and_hits(&erin, &[(user.clone(), now), (client, now)], now).await?;
    same("the user", read.map(|u| u.username), Some("conf-trip".to_owned()))?;
    same("the counts, in order", counts, vec![1, 2])?;
    let (read, count) = store.user_and_hit(&key("conf-nobody"), &user, now, now).await?;
    ensure!(read.is_none(), "a user nobody added");
    same("the count", count, 2)
}

async fn a_value_is_spent_once_per_kind<S: Store>(store: &S, now: u64) -> Checked {
    let frank = add(store, now, "conf-spend", "user").await?;
    let state = state("conf-state-0123456789abcdef0123456789abcdef")?;
    let (first, user) = store.spend_once_and_user(SingleUse::DuoState(&state), &frank, now).await?;
    ensure!(first, "a new state was not spendable");
    same("the user, read with it", user.map(|u| u.username), Some("conf-spend".to_owned()))?;
    let (again, user) = store.spend_once_and_user(SingleUse::DuoState(&state), &frank, now).await?;
    ensure!(!again, "a state was spent twice");
    ensure!(user.is_some(), "the user was not read with a replay");
    let txid = Txid::new(state.as_str().to_owned());
    let txid = SingleUse::InlineTransaction(&txid);
    ensure!(store.spend_once_and_user(txid, &frank, now).await?.0, "a txid was spent as a state");
    ensure!(!store.spend_once_and_user(txid, &frank, now).await?.0, "a txid was spent twice");
    Ok(())
}

async fn two_spends_at_once_one_wins<S: Store>(store: &S, now: u64) -> Checked {
    let state = state("conf-race-state-0123456789abcdef0123456789")?;
    let txid = Txid::new("conf-race-txid".to_owned());
    for once in [SingleUse::DuoState(&state), SingleUse::InlineTransaction(&txid)] {
        let (a, b) = both(
            store.spend_once_and_user(once, &key("conf-nobody"), now),
            store.spend_once_and_user(once, &key("conf-nobody"), now),
        )
        .await;
        let wins = [a?.0, b?.0].into_iter().filter(|won| *won).count();
        same("spends that won", wins, 1)?;
    }
    Ok(())
}

async fn a_remembered_browser_follows_the_policies<S: Store>(store: &S, now: u64) -> Checked {
    let grace = add(store, now, "conf-trust", "user").await?;
    remember_for(store, now, 0).await?;
    ensure!(
        !store.remember_browser(&browser("conf-trust-0", &grace, now, 30)).await?,
        "remembered with trust off"
    );
    remember_for(store, now, 30).await?;
    ensure!(
        store.remember_browser(&browser("conf-trust-1", &grace, now, 30)).await?,
        "not remembered"
    );
    let id_hash = IdHash::of(b"conf-trust-1");
    let month = 30 * 86_400;
    ensure!(
        !store.use_remembered(&IdHash::of(b"conf-trust-0"), &grace, now, month).await?,
        "a refused browser is trusted"
    );
    ensure!(
        !store.use_remembered(&id_hash, &key("conf-other"), now + 1, month).await?,
        "trusted for another user"
    );
    ensure!(
        !store.use_remembered(&id_hash, &grace, now + 100, 100).await?,
        "trusted past the days allowed now"
    );
    ensure!(
        !store.use_remembered(&id_hash, &grace, now + month, 2 * month).await?,
        "trusted after it expired"
    );
    ensure!(store.use_remembered(&id_hash, &grace, now + 50, month).await?, "not trusted");
    let (listed, total) =
        store.list_remembered(&containing("conf-trust"), false, now + 60, 0, 10).await?;
    same("listed", total, 1)?;
    same("its last use", listed.first().and_then(|b| b.last_used_at), Some(now + 50))?;
    same(
        "its browser",
        listed.first().and_then(|b| b.user_agent.clone()),
        Some("Firefox on Linux".to_owned()),
    )?;
    // A second one, newer and never used: first by date, last by use.
    ensure!(
        store.remember_browser(&browser("conf-trust-2", &grace, now + 1, 30)).await?,
        "not remembered"
    );
    let second = IdHash::of(b"conf-trust-2");
    let order = |by_last_used| async move {
        let (rows, _) =
            store.list_remembered(&containing("conf-trust"), by_last_used, now + 60, 0, 10).await?;
        Ok::<Vec<IdHash>, Failure>(rows.into_iter().map(|b| b.id_hash).collect())
    };
    same("newest first", order(false).await?, vec![second.clone(), id_hash.clone()])?;
    same("last used first", order(true).await?, vec![id_hash.clone(), second.clone()])?;
    same(
        "the second forgotten",
        store.forget_browser(&second, now + 61).await?,
        Some(grace.to_string()),
    )?;
    same("forgotten", store.forget_browser(&id_hash, now + 70).await?, Some(grace.to_string()))?;
    same("forgotten again", store.forget_browser(&id_hash, now + 71).await?, None)?;
    ensure!(
        !store.use_remembered(&id_hash, &grace, now + 72, month).await?,
        "a forgotten browser is trusted"
    );
    Ok(())
}

async fn turning_trust_off_forgets_browsers<S: Store>(store: &S, now: u64) -> Checked {
    let henry = add(store, now, "conf-trust-off", "user").await?;
    remember_for(store, now, 30).await?;
    ensure!(
        store.remember_browser(&browser("conf-off-1", &henry, now, 30)).await?,
        "not remembered"
    );
    remember_for(store, now + 1, 0).await?;
    remember_for(store, now + 2, 30).await?;
    let id_hash = IdHash::of(b"conf-off-1");
    ensure!(
        !store.use_remembered(&id_hash, &henry, now + 3, 30 * 86_400).await?,
        "trust came back"
    );
    same(
        "listed",
        store.list_remembered(&containing("conf-trust-off"), false, now + 3, 0, 10).await?.1,
        0,
    )
}

// ---------------------------------------------------------------------------
// Console.
// ---------------------------------------------------------------------------

async fn a_user_is_added_once<S: Store>(store: &S, now: u64) -> Checked {
    let user = NewUser {
        username: "Conf-Added".to_owned(),
        normalized: key("conf-added"),
        password_hash: hash_of("conf-added"),
        duo_policy: "required",
        duo_username: Some("added@example.com".to_owned()),
        role: "user",
        must_change_password: true,
    };
    let event = admin_event(now, "add_user").on(&key("conf-added"));
    let plain = NewUser { password_hash: "hunter2".to_owned(), ..user.clone() };
    ensure!(
        store.add_user(&plain, &event).await.is_err(),
        "a password that is no PHC hash was stored"
    );
    same("the first add", store.add_user(&user, &event).await?, AddOutcome::Added)?;
    // Every hash is new (a fresh salt): the port may rely on it.
    let again = NewUser {
        username: "conf-ADDED".to_owned(),
        password_hash: hash_of("conf-added-again"),
        duo_username: None,
        ..user.clone()
    };
    same("the same name", store.add_user(&again, &event).await?, AddOutcome::Exists)?;
    let twin = NewUser {
        username: "conf-added-2".to_owned(),
        normalized: key("conf-added-2"),
        password_hash: hash_of("conf-added-2"),
        duo_username: Some(" Added@Example.com".to_owned()),
        ..user
    };
    same(
        "the same Duo identity",
        store.add_user(&twin, &event).await?,
        AddOutcome::DuoIdentityTaken,
    )?;
    let listed = store.list_users(&UserQuery::containing("conf-added"), 0, 10).await?;
    let (rows, total) = (listed.rows, listed.total);
    same("users", total, 1)?;
    let Some(row) = rows.first() else { return Err(Failure("no row".to_owned())) };
    same("as registered", row.username.as_str(), "Conf-Added")?;
    same("added at", row.created_at, now)?;
    same("never signed in", (row.last_login_at, row.last_login_method.as_deref()), (None, None))?;
    same("recorded once", log_of(store, AuditLog::Admin, "conf-added").await?.len(), 1)
}

async fn users_are_searched_and_paged<S: Store>(store: &S, now: u64) -> Checked {
    for name in ["conf-list-c", "conf-list-a", "Conf-List-B"] {
        add(store, now, name, "user").await?;
    }
    let event = admin_event(now, "duo_username").on(&key("conf-list-a"));
    let phone = UserUpdate::DuoUsername(Some("conf-zz-phone".to_owned()));
    same(
        "a Duo name",
        store.change_user(&key("conf-list-a"), &phone, &event).await?,
        ChangeOutcome::Changed,
    )?;
    signed_in(store, now + 7, "conf-list-s1", "Conf-List-B").await?;
    signed_in(store, now + 9, "conf-list-s2", "Conf-List-B").await?;
    let listed = store.list_users(&UserQuery::containing("conf-list"), 0, 2).await?;
    let (page, total) = (listed.rows, listed.total);
    same("matches", total, 3)?;
    let names: Vec<&str> = page.iter().map(|u| u.username.as_str()).collect();
    same("the first page, by normalized name", names, vec!["conf-list-a", "Conf-List-B"])?;
    same(
        "the last sign-in",
        page.get(1).map(|u| (u.last_login_at, u.last_login_method.clone())),
        Some((Some(now + 9), Some("duo".to_owned()))),
    )?;
    let listed = store.list_users(&UserQuery::containing("conf-list"), 2, 2).await?;
    let (page, _) = (listed.rows, listed.total);
    same(
        "the second page",
        page.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(),
        vec!["conf-list-c"],
    )?;
    let listed = store.list_users(&UserQuery::containing("conf-zz"), 0, 10).await?;
    let (page, total) = (listed.rows, listed.total);
    same(
        "by Duo name",
        (page.first().map(|u| u.username.as_str()), total),
        (Some("conf-list-a"), 1),
    )?;
    // The console's filters and order, in the store.
    let names =
        |listed: UserPage| -> Vec<String> { listed.rows.into_iter().map(|u| u.username).collect() };
    let asked = |change: &dyn Fn(&mut UserQuery)| {
        let mut query = UserQuery::containing("conf-list");
        change(&mut query);
        query
    };
    let exactly = asked(&|q| q.whose = Whose { text: "conf-list-b".to_owned(), exact: true });
    same(
        "exactly one",
        names(store.list_users(&exactly, 0, 10).await?),
        vec!["Conf-List-B".to_owned()],
    )?;
    let duo_name = asked(&|q| q.whose = Whose { text: "conf-zz-phone".to_owned(), exact: true });
    same(
        "exactly is the name, not the Duo name",
        store.list_users(&duo_name, 0, 10).await?.total,
        0,
    )?;
    let event = admin_event(now, "role").on(&key("conf-list-c"));
    store.change_user(&key("conf-list-c"), &UserUpdate::Role("admin"), &event).await?;
    let event = admin_event(now, "disable").on(&key("conf-list-a"));
    store.change_user(&key("conf-list-a"), &UserUpdate::Disabled(true), &event).await?;
    let admins = asked(&|q| q.role = "admin");
    same("admins", names(store.list_users(&admins, 0, 10).await?), vec!["conf-list-c".to_owned()])?;
    let disabled = asked(&|q| q.state = "disabled");
    let listed = store.list_users(&disabled, 0, 10).await?;
    same("disabled", (names(listed.clone()), listed.total), (vec!["conf-list-a".to_owned()], 1))?;
    let enabled_users = asked(&|q| {
        q.state = "enabled";
        q.role = "user";
    });
    same(
        "enabled users",
        names(store.list_users(&enabled_users, 0, 10).await?),
        vec!["Conf-List-B".to_owned()],
    )?;
    same("none on hold", store.list_users(&asked(&|q| q.state = "held"), 0, 10).await?.total, 0)?;
    signed_in(store, now + 8, "conf-list-s3", "conf-list-c").await?;
    let recent = asked(&|q| q.by_last_sign_in = true);
    same(
        "the most recent sign-in first, never signed in last",
        names(store.list_users(&recent, 0, 10).await?),
        vec!["Conf-List-B".to_owned(), "conf-list-c".to_owned(), "conf-list-a".to_owned()],
    )
}

async fn a_change_applies_and_ends_sign_ins<S: Store>(store: &S, now: u64) -> Checked {
    let ivan = add(store, now, "conf-change", "user").await?;
    add(store, now, "conf-change-phone", "user").await?;
    let before = version(store, &ivan).await?;
    let event = admin_event(now, "change").on(&ivan);
    same(
        "no such user",
        store.change_user(&key("conf-nobody"), &UserUpdate::Disabled(true), &event).await?,
        ChangeOutcome::NoSuchUser,
    )?;
    let taken = UserUpdate::DuoUsername(Some("Conf-Change-Phone".to_owned()));
    same(
        "a Duo identity taken",
        store.change_user(&ivan, &taken, &event).await?,
        ChangeOutcome::DuoIdentityTaken,
    )?;
    same("nothing written", version(store, &ivan).await?, before)?;
    let session = signed_in(store, now, "conf-change-1", "conf-change").await?;
    store.change_user(&ivan, &UserUpdate::Policy("bypass"), &event).await?;
    ensure!(store.live_session(&session, now).await?.is_some(), "a policy change ended a session");
    store.change_user(&ivan, &UserUpdate::RevokeSessions, &event).await?;
    ensure!(
        store.live_session(&session, now).await?.is_none(),
        "sign out everywhere left a session"
    );
    let read = store.user(&ivan).await?;
    same("the policy", read.as_ref().map(|u| u.duo_policy.as_str()), Some("bypass"))?;
    same("the version", read.map(|u| u.account_version), Some(before + 2))?;
    same("recorded", log_of(store, AuditLog::Admin, &ivan).await?.len(), 3)
}

async fn a_password_set_by_an_admin_ends_everything<S: Store>(store: &S, now: u64) -> Checked {
    let judy = add(store, now, "conf-reset", "user").await?;
    remember_for(store, now, 30).await?;
    ensure!(
        store.remember_browser(&browser("conf-reset-b", &judy, now, 30)).await?,
        "not remembered"
    );
    let session = signed_in(store, now, "conf-reset-1", "conf-reset").await?;
    let passcodes = LimitKey::PasscodeAccount(judy.to_string());
    store.hit(&passcodes, now, now).await?;
    let plain = UserUpdate::Password("hunter2".to_owned());
    ensure!(
        store.change_user(&judy, &plain, &admin_event(now, "reset").on(&judy)).await.is_err(),
        "a password that is no PHC hash was set"
    );
    let set = UserUpdate::Password("$pbkdf2-sha256$hash-set-by-admin".to_owned());
    same(
        "the reset",
        store.change_user(&judy, &set, &admin_event(now, "reset").on(&judy)).await?,
        ChangeOutcome::Changed,
    )?;
    let read = store.user(&judy).await?;
    same(
        "the hash and its flag",
        read.map(|u| (u.password_hash, u.must_change_password)),
        Some(("$pbkdf2-sha256$hash-set-by-admin".to_owned(), 1)),
    )?;
    ensure!(store.live_session(&session, now).await?.is_none(), "a session outlived the reset");
    ensure!(
        !store.use_remembered(&IdHash::of(b"conf-reset-b"), &judy, now, 86_400).await?,
        "a browser outlived the reset"
    );
    same("wrong passcodes, counted afresh", store.hit(&passcodes, now, now).await?, 1)
}

async fn last_admin_survives_two_demotions<S: Store>(store: &S, now: u64) -> Checked {
    let others = store.enabled_admins().await?;
    let ann = add(store, now, "Conf-Admin-A", "admin").await?;
    let ben = add(store, now, "Conf-Admin-B", "admin").await?;
    // The store's own admins step down first: A and B are then the only two.
    for other in &others {
        let normalized = key(other);
        let event = admin_event(now, "role").on(&normalized);
        let outcome = store.change_user(&normalized, &UserUpdate::Role("user"), &event).await?;
        same("an admin stepping down", outcome, ChangeOutcome::Changed)?;
    }
    same(
        "admins",
        store.enabled_admins().await?,
        vec!["Conf-Admin-A".to_owned(), "Conf-Admin-B".to_owned()],
    )?;
    let (demote, disable) = (UserUpdate::Role("user"), UserUpdate::Disabled(true));
    let (a, b) = both(
        store.change_user(&ann, &demote, &admin_event(now, "role").on(&ann)),
        store.change_user(&ben, &disable, &admin_event(now, "disable").on(&ben)),
    )
    .await;
    let mut outcomes = [a?, b?];
    outcomes.sort_by_key(|o| *o == ChangeOutcome::LastAdmin);
    same("the outcomes", outcomes, [ChangeOutcome::Changed, ChangeOutcome::LastAdmin])?;
    let left = store.enabled_admins().await?;
    same("admins left", left.len(), 1)?;
    let last = key(&left[0]);
    let event = admin_event(now, "role").on(&last);
    same(
        "demoting the last",
        store.change_user(&last, &demote, &event).await?,
        ChangeOutcome::LastAdmin,
    )?;
    same(
        "disabling the last",
        store.change_user(&last, &disable, &event).await?,
        ChangeOutcome::LastAdmin,
    )?;
    same(
        "the last sign-out everywhere",
        store.change_user(&last, &UserUpdate::RevokeSessions, &event).await?,
        ChangeOutcome::Changed,
    )
}

async fn two_password_changes_at_once_one_wins<S: Store>(store: &S, now: u64) -> Checked {
    let kim = add(store, now, "conf-own", "user").await?;
    let kept = signed_in(store, now, "conf-own-1", "conf-own").await?;
    let other = signed_in(store, now, "conf-own-2", "conf-own").await?;
    let old = hash_of(&kim);
    let (a, b) = both(
        store.change_own_password(
            &kim,
            &old,
            "$pbkdf2-sha256$hash-new-a",
            &kept,
            &admin_event(now, "password").on(&kim),
        ),
        store.change_own_password(
            &kim,
            &old,
            "$pbkdf2-sha256$hash-new-b",
            &kept,
            &admin_event(now, "password").on(&kim),
        ),
    )
    .await;
    let (a, b) = (a?, b?);
    same("changes that won", u8::from(a) + u8::from(b), 1)?;
    let winner = if a { "$pbkdf2-sha256$hash-new-a" } else { "$pbkdf2-sha256$hash-new-b" };
    let read = store.user(&kim).await?;
    same("the stored hash", read.map(|u| u.password_hash), Some(winner.to_owned()))?;
    ensure!(store.live_session(&kept, now).await?.is_some(), "the session that changed it ended");
    ensure!(
        store.live_session(&other, now).await?.is_none(),
        "another session outlived the change"
    );
    same(
        "recorded once",
        log_of(store, AuditLog::Admin, &kim)
            .await?
            .iter()
            .filter(|r| r.event == "password")
            .count(),
        1,
    )
}

async fn two_policy_saves_at_once_one_wins<S: Store>(store: &S, now: u64) -> Checked {
    let before = store.policies().await?;
    let (one, two) = (r#"{"rules":[],"remember_days":7}"#, r#"{"rules":[],"remember_days":9}"#);
    let (a, b) = both(
        store.save_policies(before.version, one, false, &admin_event(now, "save_policies")),
        store.save_policies(before.version, two, false, &admin_event(now, "save_policies")),
    )
    .await;
    let (a, b) = (a?, b?);
    same("saves that won", u8::from(a) + u8::from(b), 1)?;
    let after = store.policies().await?;
    same("the version", after.version, before.version + 1)?;
    same("the document", after.document.as_str(), if a { one } else { two })?;
    same(
        "when and by whom",
        (after.updated_at, after.updated_by.as_deref()),
        (now, Some("conformance")),
    )
}

/// The sign-in log [`the_overview_counts_what_the_log_says`] aggregates:
/// its window starts at `from` and ends at `at`.
fn overview_log(from: u64, at: u64) -> Vec<AuditEvent> {
    use crate::flow::store::SIGNED_IN;
    let hour = |h: u64| from + h * 3600 + 5;
    let from_client = |mut event: AuditEvent, ip: &str, country: Option<&str>, repeats: u32| {
        event.client_ip = Some(ip.to_owned());
        event.country = country.map(str::to_owned);
        event.repeats = repeats;
        event
    };
    let mut log = Vec::new();
    // Every kind of sign-in once in the first hour; a step that is none.
    for reason in SIGNED_IN {
        log.push(audit_event(from + 1, "conf-ov", Step::Login, Outcome::Success, reason));
    }
    log.push(audit_event(at - 5, "conf-ov", Step::Login, Outcome::Success, "duo_required"));
    for (factor, seconds) in [("Duo Push", 10), ("Passcode", 20)] {
        let mut event =
            audit_event(at - seconds, "conf-ov", Step::DuoCallback, Outcome::Success, "duo_allow");
        event.factor = Some(factor.to_owned());
        log.push(event);
    }
    // Refusals: one address many times (and a rate-limit summary), others once.
    let bad = |at| audit_event(at, "conf-ov", Step::Login, Outcome::Failure, "bad_password");
    for _ in 0..3 {
        log.push(from_client(bad(hour(100)), "198.51.100.1", Some("CH"), 0));
    }
    let denied =
        audit_event(hour(100), "conf-ov", Step::DuoCallback, Outcome::Failure, "duo_denied");
    log.push(from_client(denied, "198.51.100.2", None, 0));
    let limited = audit_event(hour(100), "", Step::Login, Outcome::RateLimited, "client_limit");
    log.push(from_client(limited, "198.51.100.1", Some("CH"), 4));
    for n in 10..15 {
        log.push(from_client(bad(hour(101)), &format!("198.51.100.{n}"), Some("US"), 0));
    }
    log.push(audit_event(hour(101), "conf-ov", Step::DuoStart, Outcome::Error, "duo_unreachable"));
    // Outside the window.
    log.push(from_client(bad(from - 1), "198.51.100.1", Some("CH"), 0));
    log.push(from_client(bad(at + 1), "198.51.100.1", Some("CH"), 0));
    log
}

/// The overview's aggregates against a log written here, a year ahead of
/// the other cases (their events and sessions are outside its window).
async fn the_overview_counts_what_the_log_says<S: Store>(store: &S, now: u64) -> Checked {
    use shared::admin::{HourCounts, Tally};
    // Half past an hour, so that the last minute's events share its hour.
    let at = (now / 3600 + 400 * 24) * 3600 + 1800;
    let from = crate::flow::overview::first_hour(at);
    for event in &overview_log(from, at) {
        store.record(event).await?;
    }
    // Two live sessions, one made without Duo because Duo was unreachable.
    let user = add(store, now, "Conf-Ov", "user").await?;
    signed_in(store, at - 60, "conf-ov-1", "Conf-Ov").await?;
    let mut fail_open = new_session("conf-ov-2", "Conf-Ov", at - 30, version(store, &user).await?);
    (fail_open.method, fail_open.duo_context) = ("fail_open", None);
    let made = audit_event(at - 30, "conf-ov", Step::Login, Outcome::Success, "fail_open");
    ensure!(store.create_session(&fail_open, &made).await?, "the fail-open session");

    let mut figures = store.overview(from, at).await?;
    figures.hours.sort_by_key(|(h, _)| *h);
    let counts = |signed_in, refused, rate_limited, errors| HourCounts {
        signed_in,
        refused,
        rate_limited,
        errors,
    };
    same(
        "by hour",
        figures.hours,
        vec![
            (0, counts(7, 0, 0, 0)),
            (100, counts(0, 4, 5, 0)),
            (101, counts(0, 5, 0, 1)),
            (167, counts(4, 0, 0, 0)),
        ],
    )?;
    let tally = |pairs: &[(&str, u32)]| -> Vec<Tally> {
        pairs.iter().map(|(key, count)| Tally { key: (*key).to_owned(), count: *count }).collect()
    };
    same(
        "methods",
        figures.methods,
        tally(&[
            ("duo_allow", 4),
            ("fail_open", 2),
            ("bypass", 1),
            ("duo_bypass", 1),
            ("duo_not_enforced", 1),
            ("policy_bypass", 1),
            ("remembered_browser", 1),
        ]),
    )?;
    same("factors", figures.factors, tally(&[("Duo Push", 1), ("Passcode", 1)]))?;
    same(
        "refusals",
        figures.refusals,
        tally(&[("bad_password", 8), ("client_limit", 5), ("duo_denied", 1)]),
    )?;
    same(
        "the addresses refused most",
        figures.refused_addresses,
        tally(&[
            ("198.51.100.1", 8),
            ("198.51.100.10", 1),
            ("198.51.100.11", 1),
            ("198.51.100.12", 1),
            ("198.51.100.13", 1),
        ]),
    )?;
    same("the countries refused most", figures.refused_countries, tally(&[("CH", 8), ("US", 5)]))?;
    same("live", (figures.live_sessions, figures.live_fail_open), (2, 1))
}

async fn an_admin_ends_a_session<S: Store>(store: &S, now: u64) -> Checked {
    add(store, now, "Conf-End", "user").await?;
    let older = signed_in(store, now, "conf-end-1", "Conf-End").await?;
    let newer = signed_in(store, now + 1, "conf-end-2", "Conf-End").await?;
    let (rows, total) = store.list_sessions(&containing("conf-end").into(), now + 2, 0, 10).await?;
    same("listed", total, 2)?;
    same(
        "newest first",
        rows.iter().map(|r| r.id_hash.clone()).collect::<Vec<_>>(),
        vec![newer.clone(), older.clone()],
    )?;
    same(
        "its details",
        rows.first().map(|r| {
            (
                r.username.as_str(),
                r.method.as_str(),
                r.client_ip.as_deref(),
                r.user_agent.as_deref(),
                r.country.as_deref(),
                r.last_seen_at,
            )
        }),
        Some((
            "Conf-End",
            "duo",
            Some("192.0.2.2"),
            Some("Firefox on Linux"),
            Some("CH"),
            Some(now + 1),
        )),
    )?;
    // A user's page lists that user's sessions only: not those of a name
    // that contains it.
    add(store, now, "Conf-End-Two", "user").await?;
    signed_in(store, now, "conf-end-3", "Conf-End-Two").await?;
    same(
        "containing",
        store.list_sessions(&containing("conf-end").into(), now + 2, 0, 10).await?.1,
        3,
    )?;
    let exactly = Whose { text: "conf-end".to_owned(), exact: true };
    same("exactly", store.list_sessions(&exactly.clone().into(), now + 2, 0, 10).await?.1, 2)?;
    // By how they were made, and most recently used first.
    let bypass = SessionQuery { method: "bypass", ..exactly.clone().into() };
    same("none made without Duo", store.list_sessions(&bypass, now + 2, 0, 10).await?.1, 0)?;
    let duo = SessionQuery { method: "duo", ..exactly.clone().into() };
    same("made with Duo", store.list_sessions(&duo, now + 2, 0, 10).await?.1, 2)?;
    store.touch_session(&older, now + 1000).await?;
    let used = SessionQuery { by_last_active: true, ..exactly.clone().into() };
    let (rows, _) = store.list_sessions(&used, now + 1000, 0, 10).await?;
    same(
        "the one used last first",
        rows.iter().map(|r| r.id_hash.clone()).collect::<Vec<_>>(),
        vec![older.clone(), newer.clone()],
    )?;
    let event = admin_event(now + 3, "revoke_session");
    ensure!(store.revoke_session_as_admin(&older, &event).await?, "not ended");
    ensure!(!store.revoke_session_as_admin(&older, &event).await?, "ended twice");
    same("listed after", store.list_sessions(&exactly.clone().into(), now + 4, 0, 10).await?.1, 1)?;
    same(
        "past its end",
        store.list_sessions(&exactly.clone().into(), now + 3601, 0, 10).await?.1,
        0,
    )?;
    let late = admin_event(now + 3601, "revoke_session");
    ensure!(!store.revoke_session_as_admin(&newer, &late).await?, "an expired session was ended");
    let rows = log_of(store, AuditLog::Admin, "conf-end").await?;
    // The session in words beside its hash: how, where and when it started.
    let detail = rows
        .iter()
        .find(|r| r.event == "revoke_session")
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.reason).unwrap_or_default());
    same(
        "the session described",
        detail.map(|d| (d["method"].clone(), d["browser"].clone(), d["started"].clone())),
        Some((
            serde_json::json!("duo"),
            serde_json::json!("Firefox on Linux"),
            serde_json::json!(now),
        )),
    )?;
    same(
        "the record names its user",
        rows.iter().filter(|r| r.event == "revoke_session").count(),
        1,
    )
}

async fn an_admin_forgets_a_browser<S: Store>(store: &S, now: u64) -> Checked {
    let lee = add(store, now, "conf-forget", "user").await?;
    remember_for(store, now, 30).await?;
    ensure!(
        store.remember_browser(&browser("conf-forget-1", &lee, now, 30)).await?,
        "not remembered"
    );
    let id_hash = IdHash::of(b"conf-forget-1");
    let event = admin_event(now + 1, "forget_browser");
    ensure!(store.forget_browser_as_admin(&id_hash, &event).await?, "not forgotten");
    ensure!(!store.forget_browser_as_admin(&id_hash, &event).await?, "forgotten twice");
    ensure!(!store.use_remembered(&id_hash, &lee, now + 2, 86_400).await?, "still trusted");
    let rows = log_of(store, AuditLog::Admin, &lee).await?;
    same("recorded on its user", rows.iter().filter(|r| r.event == "forget_browser").count(), 1)
}

async fn the_duo_mapping_names_the_other_account<S: Store>(store: &S, now: u64) -> Checked {
    add(store, now, "Conf-Map-X", "user").await?;
    let y = add(store, now, "conf-map-y", "user").await?;
    let phone = UserUpdate::DuoUsername(Some("conf-map-phone".to_owned()));
    store
        .change_user(
            &key("conf-map-x"),
            &phone,
            &admin_event(now, "duo_username").on(&key("conf-map-x")),
        )
        .await?;
    store
        .record(&audit_event(now - 20, &y, Step::DuoCallback, Outcome::Success, "duo_allow"))
        .await?;
    store
        .record(&audit_event(now - 10, &y, Step::DuoCallback, Outcome::Failure, "duo_deny"))
        .await?;
    store.record(&audit_event(now - 5, &y, Step::Login, Outcome::Failure, "bad_password")).await?;
    let mapping = store.duo_mapping(&y, "conf-map-phone").await?;
    same("taken by", mapping.taken_by.as_deref(), Some("Conf-Map-X"))?;
    same("the last success", mapping.last_success, Some(now - 20))?;
    same("the last failure", mapping.last_failure, Some((now - 10, "duo_deny".to_owned())))?;
    let own = store.duo_mapping(&key("conf-map-x"), "conf-map-phone").await?;
    same("its own identity", own.taken_by, None)
}

async fn an_admin_action_is_listed<S: Store>(store: &S, now: u64) -> Checked {
    let detail = serde_json::json!({"rows": 12});
    store
        .record_admin(&admin_event(now - 3, "export_csv").on(&key("conf-export")).with(&detail))
        .await?;
    let rows = log_of(store, AuditLog::Admin, "conf-export").await?;
    let Some(row) = rows.first() else { return Err(Failure("not listed".to_owned())) };
    same(
        "what",
        (row.user.as_str(), row.event.as_str(), row.outcome.as_str()),
        ("conformance", "export_csv", "success"),
    )?;
    same("on whom", row.target.as_deref(), Some("conf-export"))?;
    same("the detail", serde_json::from_str::<serde_json::Value>(&row.reason).ok(), Some(detail))?;
    same("the client", row.client_ip.as_deref(), Some("192.0.2.1"))?;
    // Newest first, or the oldest first (an incident read in order); among
    // equal times, in the order written.
    for (at, action) in [(now - 2, "first"), (now - 1, "second"), (now - 1, "third")] {
        store.record_admin(&admin_event(at, action).on(&key("conf-order"))).await?;
    }
    let order = |oldest_first| {
        let query = AuditQuery {
            log: AuditLog::Admin,
            user: "conf-order".to_owned(),
            page: 1,
            oldest_first,
            ..AuditQuery::default()
        };
        async move {
            let (rows, _) = store.list_audit(&query, 0, 10).await?;
            Ok::<Vec<String>, Failure>(rows.into_iter().map(|r| r.event).collect())
        }
    };
    same(
        "newest first",
        order(false).await?,
        vec!["third".into(), "second".into(), "first".into()],
    )?;
    same("oldest first", order(true).await?, vec!["first".into(), "second".into(), "third".into()])
}

// ---------------------------------------------------------------------------
// Maintenance.
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Alerts.
// ---------------------------------------------------------------------------

fn webhook(id: &str, name: &str, now: u64) -> StoredWebhook {
    StoredWebhook {
        id: id.to_owned(),
        name: name.to_owned(),
        url: format!("https://hooks.example.com/{id}"),
        format: WebhookFormat::Json,
        events: vec![AlertKind::FraudReported, AlertKind::RoleChanged],
        enabled: true,
        secret: SigningSecret::stored(format!("whsec_{id}")),
        created_at: now,
        created_by: "conformance".to_owned(),
    }
}

/// A webhook is stored as given (its secret too), with its admin event;
/// a second of the same name (in any case) is refused; a change and a
/// removal apply to the webhook named, and to none that is gone.
async fn a_webhook_is_added_changed_and_removed<S: Store>(store: &S, now: u64) -> Checked {
    let first = webhook("wh_conf_a", "Conf Ops", now);
    ensure!(store.add_webhook(&first, &admin_event(now, "add_webhook")).await?, "not added");
    let twin = webhook("wh_conf_b", "conf ops", now);
    ensure!(!store.add_webhook(&twin, &admin_event(now, "add_webhook")).await?, "a twin added");
    let stored = store.webhooks().await?;
    let ours: Vec<&StoredWebhook> = stored.iter().filter(|w| w.id.starts_with("wh_conf")).collect();
    same("stored", ours, vec![&first])?;
    let events = [AlertKind::PolicyChanged];
    let changed = store
        .change_webhook(&first.id, false, &events, &admin_event(now, "change_webhook"))
        .await?;
    ensure!(changed, "not changed");
    let after = store.webhooks().await?.into_iter().find(|w| w.id == first.id);
    same(
        "changed",
        after.map(|w| (w.enabled, w.events)),
        Some((false, vec![AlertKind::PolicyChanged])),
    )?;
    let removed = store.remove_webhook(&first.id, &admin_event(now, "remove_webhook")).await?;
    ensure!(removed, "not removed");
    ensure!(
        !store.remove_webhook(&first.id, &admin_event(now, "remove_webhook")).await?,
        "removed twice"
    );
    ensure!(
        !store
            .change_webhook(&first.id, true, &events, &admin_event(now, "change_webhook"))
            .await?,
        "a removed webhook changed"
    );
    let rows = log_of(store, AuditLog::Admin, "conformance").await?;
    let recorded = rows.iter().filter(|r| r.event.ends_with("_webhook")).count();
    same("admin events", recorded, 3)
}

/// Of two claims of one key at once, one wins; the key is free again
/// when its window ends.
async fn an_alert_key_is_claimed_once_per_window<S: Store>(store: &S, now: u64) -> Checked {
    let key = "conf_burst";
    let (a, b) =
        both(store.claim_alert(key, now, now + 900), store.claim_alert(key, now, now + 900)).await;
    same("claims won", u8::from(a?) + u8::from(b?), 1)?;
    ensure!(!store.claim_alert(key, now + 899, now + 1799).await?, "claimed inside the window");
    ensure!(store.claim_alert(key, now + 900, now + 1800).await?, "not free after the window");
    ensure!(store.claim_alert("conf_other", now, now + 900).await?, "keys are separate");
    Ok(())
}

/// Deliveries are listed newest first, filtered by failure and webhook,
/// and counted; failures since a time are counted.
async fn deliveries_are_listed_newest_first<S: Store>(store: &S, now: u64) -> Checked {
    let delivery = |at: u64, hook: &str, attempt: u32, outcome: DeliveryOutcome| Delivery {
        at,
        alert_id: format!("al_conf_{attempt}"),
        kind: AlertKind::FraudReported,
        webhook_id: hook.to_owned(),
        webhook_name: "Conf".to_owned(),
        attempt,
        outcome,
        status: (outcome != DeliveryOutcome::GaveUp).then_some(503),
        error: (outcome != DeliveryOutcome::Delivered).then(|| "503".to_owned()),
        retry_at: (outcome == DeliveryOutcome::Failed).then_some(at + 60),
    };
    let before = store.failures_since(now).await?;
    for d in [
        delivery(now, "wh_conf_x", 1, DeliveryOutcome::Failed),
        delivery(now + 1, "wh_conf_x", 2, DeliveryOutcome::GaveUp),
        delivery(now + 2, "wh_conf_y", 1, DeliveryOutcome::Delivered),
    ] {
        store.record_delivery(&d).await?;
    }
    let of_x = DeliveryQuery { failed_only: false, webhook: Some("wh_conf_x".to_owned()) };
    let (rows, total) = store.deliveries(&of_x, 0, 10).await?;
    same(
        "x's",
        rows,
        vec![
            delivery(now + 1, "wh_conf_x", 2, DeliveryOutcome::GaveUp),
            delivery(now, "wh_conf_x", 1, DeliveryOutcome::Failed),
        ],
    )?;
    same("x's count", total, 2)?;
    let failed = DeliveryQuery { failed_only: true, webhook: None };
    let (rows, _) = store.deliveries(&failed, 0, 50).await?;
    ensure!(
        rows.iter().all(|d| d.outcome != DeliveryOutcome::Delivered),
        "a success listed as failed"
    );
    let (page, _) = store.deliveries(&DeliveryQuery::default(), 1, 1).await?;
    same("the second newest", page.first().map(|d| d.at), Some(now + 1))?;
    same("failures counted", store.failures_since(now).await? - before, 2)
}

async fn pruning_deletes_only_what_ended<S: Store>(store: &S, now: u64) -> Checked {
    let plan = PrunePlan::at(now, 30, 5);
    let old = plan.windows_before - 900;
    let mia = add(store, now, "conf-prune", "user").await?;
    let key = LimitKey::User(mia.to_string());
    for _ in 0..plan.limits.user + 3 {
        store.hit(&key, old, old).await?;
    }
    let fresh = LimitKey::DuoStart(mia.to_string());
    store.hit(&fresh, plan.windows_before, now).await?;
    let state = state("conf-prune-state-0123456789abcdef01234567")?;
    store.spend_once_and_user(SingleUse::DuoState(&state), &mia, plan.states_before - 1).await?;
    let live = signed_in(store, now, "conf-prune-1", "conf-prune").await?;
    store
        .record(&audit_event(
            plan.audit_before - 1,
            &mia,
            Step::Login,
            Outcome::Failure,
            "bad_password",
        ))
        .await?;
    store
        .record(&audit_event(
            plan.audit_before + 1,
            &mia,
            Step::Login,
            Outcome::Failure,
            "bad_password",
        ))
        .await?;

    let pruned = store.prune(&plan).await?;
    ensure!(
        pruned.summaries >= 1
            && pruned.counters >= 1
            && pruned.states >= 1
            && pruned.audit_events >= 1,
        "counted {pruned:?}"
    );
    ensure!(store.live_session(&live, now).await?.is_some(), "a live session was deleted");
    same("an old window, counted afresh", store.hit(&key, old, now).await?, 1)?;
    same("a window still open", store.hit(&fresh, plan.windows_before, now).await?, 2)?;
    let (again, _) = store.spend_once_and_user(SingleUse::DuoState(&state), &mia, now).await?;
    ensure!(again, "an old spent state was kept");
    let rows = log_of(store, AuditLog::SignIns, &mia).await?;
    let summary: Vec<(i64, &str, &str, &str, u32)> = rows
        .iter()
        .filter(|r| r.outcome == "rate_limited")
        .map(|r| (r.at, r.event.as_str(), r.outcome.as_str(), r.reason.as_str(), r.repeats))
        .collect();
    let at = i64::try_from(now).unwrap_or(i64::MAX);
    same("the summary", summary, vec![(at, "login", "rate_limited", "user_limit", 2)])?;
    let kept: Vec<i64> = rows.iter().filter(|r| r.reason == "bad_password").map(|r| r.at).collect();
    same("events kept", kept, vec![i64::try_from(plan.audit_before + 1).unwrap_or(i64::MAX)])
}
