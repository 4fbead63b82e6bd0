//! A sign-in started before an account change cannot be finished
//! (issue "Hardening, second round", 1): the login ticket carries the
//! account's version, every later step checks it, and a session is stored
//! only while the account still has the version the step read. (The inline
//! mode's steps: `tests/inline.rs`.)

use shared::ErrorCode;
use shared::api::AuthMethod;

use crate::config::SessionSecret;
use crate::cookie::LoginTicket;
use crate::flow::duo_callback::{CallbackQuery, SignedIn, duo_callback};
use crate::flow::duo_start::{StartOutcome, StartRequest, duo_start};
use crate::flow::health::HealthMemo;
use crate::flow::login::LoginOutcome;
use crate::flow::session::{self, logout_everywhere};
use crate::flow::store::{AdminEvent, ConsoleStore, UserUpdate};
use crate::flow::testing::{
    APP_ORIGIN, MemoryStore, NOW, SESSION_SECRET_B64, ScriptedDuo, allow_claims, block_on, config,
    ctx, password_step, random, session_cookie, signed_reply, store, user_key,
};
use crate::flow::trail::Trail;
use crate::flow::{Reason, Refusal, Step};
use crate::keys::IdHash;

fn key() -> SessionSecret {
    SessionSecret::parse(SESSION_SECRET_B64).expect("the test secret")
}

/// alice's login cookie, as her password step sealed it at `NOW`.
fn alice_passed(store: &MemoryStore) -> String {
    let at = ctx(NOW, "192.0.2.40");
    match password_step(store, "alice", "alice-pass", None, &at) {
        Ok(LoginOutcome::Duo { login_cookie, .. }) => login_cookie,
        other => panic!("expected the Duo step, got {other:?}"),
    }
}

fn start(store: &MemoryStore, cookie: &str, now: u64) -> Result<StartOutcome, Refusal> {
    let duo = ScriptedDuo::default();
    duo.healthy();
    let request =
        StartRequest { origin: Some(APP_ORIGIN), login_cookie: Some(cookie), remember: false };
    let memo = HealthMemo::new();
    let config = config("closed");
    block_on(duo_start(store, &duo, &config, &memo, request, &ctx(now, "192.0.2.40"), &random(7)))
}

fn admin_event(action: &'static str) -> AdminEvent {
    AdminEvent {
        at: NOW + 5,
        actor: "root".into(),
        action,
        target: Some("alice".into()),
        detail: None,
        client_ip: None,
    }
}

/// Each change that must end a sign-in under way, applied to alice.
/// A change applied to alice's account.
type Change = Box<dyn Fn(&MemoryStore)>;

fn changes() -> Vec<(&'static str, Change)> {
    let admin = |update: UserUpdate, action: &'static str| {
        Box::new(move |store: &MemoryStore| {
            let changed =
                block_on(store.change_user(&user_key("alice"), &update, &admin_event(action)));
            assert_eq!(changed, Ok(crate::flow::store::ChangeOutcome::Changed), "{action}");
        }) as Change
    };
    vec![
        ("an admin's password reset", admin(UserUpdate::Password(new_hash()), "reset_password")),
        ("an admin's sign-out everywhere", admin(UserUpdate::RevokeSessions, "revoke_sessions")),
        ("a role change", admin(UserUpdate::Role("admin"), "set_role")),
        ("a Duo username change", admin(UserUpdate::DuoUsername(Some("a.smith".into())), "set")),
        (
            "disabled, then enabled again",
            Box::new(|store: &MemoryStore| {
                for value in [true, false] {
                    let update = UserUpdate::Disabled(value);
                    block_on(store.change_user(
                        &user_key("alice"),
                        &update,
                        &admin_event("disable"),
                    ))
                    .expect("changed");
                }
            }),
        ),
        (
            "her own password change",
            Box::new(|store: &MemoryStore| {
                let old = store.users.borrow()["alice"].password_hash.clone();
                let event = admin_event("change_own_password");
                let changed = block_on(store.change_own_password(
                    &user_key("alice"),
                    &old,
                    &new_hash(),
                    &IdHash::of(b"no session"),
                    &event,
                ));
                assert_eq!(changed, Ok(true));
            }),
        ),
        (
            "her own sign-out everywhere",
            Box::new(|store: &MemoryStore| {
                let cookie = session_cookie(store, "alice", 31);
                block_on(logout_everywhere(store, Some(&cookie), &ctx(NOW + 5, "192.0.2.41")))
                    .expect("signed out everywhere");
            }),
        ),
    ]
}

fn new_hash() -> String {
    credentials::PasswordHash::derive(b"a-new-password-1", b"other-salt-16-by", 1_000)
        .expect("hash")
        .to_phc()
}

#[test]
fn a_login_ticket_from_before_an_account_change_starts_no_duo_step() {
    for (change, apply) in changes() {
        let store = store();
        let cookie = alice_passed(&store);
        apply(&store);
        let refused = start(&store, &cookie, NOW + 10).expect_err(change);
        assert_eq!(
            (refused.reason, refused.code()),
            (Reason::AccountChanged, ErrorCode::LoginExpired),
            "{change}"
        );
        assert_eq!(store.last_event().reason, "account_changed", "{change}: audited");
        // A new password step (with the new password where it changed)
        // starts one again.
        let password = if change.contains("password") { None } else { Some("alice-pass") };
        if let Some(password) = password {
            let at = ctx(NOW + 20, "192.0.2.40");
            if let Ok(LoginOutcome::Duo { login_cookie, .. }) =
                password_step(&store, "alice", password, None, &at)
            {
                assert!(start(&store, &login_cookie, NOW + 21).is_ok(), "{change}: a new login");
            }
        }
    }
}

#[test]
fn a_prompt_approved_after_an_account_change_makes_no_session() {
    for (change, apply) in changes() {
        let store = store();
        let cookie = alice_passed(&store);
        let Ok(StartOutcome::Duo { login_cookie, .. }) = start(&store, &cookie, NOW + 1) else {
            panic!("to Duo")
        };
        let ticket = LoginTicket::open(&login_cookie, &key(), NOW + 2).expect("a ticket");
        let (state, nonce) = (ticket.state.expect("state"), ticket.nonce.expect("nonce"));
        // The user is at Duo's prompt when the account changes.
        apply(&store);
        let sessions_before = store.session_count();
        let duo = ScriptedDuo::default();
        duo.reply(Ok(signed_reply(&allow_claims("alice", nonce.as_str(), NOW + 20))));
        let query = CallbackQuery {
            state: Some(state.as_str().to_owned()),
            code: Some("code-1".to_owned()),
            ..CallbackQuery::default()
        };
        let config = config("closed");
        let at = ctx(NOW + 20, "192.0.2.40");
        let result = block_on(duo_callback(
            &store,
            &duo,
            &config,
            &query,
            Some(&login_cookie),
            &at,
            &random(9),
        ));
        let refused = match result {
            Ok(SignedIn(session, _)) => panic!("{change}: a session {session:?}"),
            Err(refusal) => refusal,
        };
        assert_eq!(refused.reason, Reason::AccountChanged, "{change}");
        assert!(duo.requests.borrow().is_empty(), "{change}: the code is not even exchanged");
        assert_eq!(store.session_count(), sessions_before, "{change}: no session stored");
    }
}

/// The change lands while the last step runs (after it read the account,
/// before it stores the session): the session is not stored either, and
/// the step's audit says why.
#[test]
fn a_change_racing_the_last_step_wins() {
    let store = store();
    let alice = store.users.borrow()["alice"].clone();
    let at = ctx(NOW, "192.0.2.40");
    let issued =
        session::issue(&config("closed"), &alice, AuthMethod::Duo, None, &at, &random(3)).unwrap();
    let update = UserUpdate::Password(new_hash());
    block_on(store.change_user(&user_key("alice"), &update, &admin_event("reset_password")))
        .unwrap();
    let mut trail = Trail::new(Step::DuoCallback, &at);
    trail.username = user_key("alice");
    let finished = block_on(trail.finish(&store, Ok(SignedIn(issued, None))));
    let refused = finished.expect_err("refused");
    assert_eq!((refused.reason, refused.code()), (Reason::AccountChanged, ErrorCode::LoginExpired));
    assert_eq!(store.session_count(), 0, "no session stored");
    assert_eq!(store.audit(), [("duo_callback", "failure", "account_changed")]);

    // Without a change the same step stores its session.
    let alice = store.users.borrow()["alice"].clone();
    let issued =
        session::issue(&config("closed"), &alice, AuthMethod::Duo, None, &at, &random(4)).unwrap();
    assert!(block_on(trail.finish(&store, Ok(SignedIn(issued, None)))).is_ok());
    assert_eq!(store.session_count(), 1);
}

/// A ticket sealed before this release (no version) still works for an
/// account no change has touched since the migration.
#[test]
fn a_ticket_without_a_version_is_version_zero() {
    let store = store();
    let cookie = LoginTicket::new("alice", NOW).seal(&key());
    assert!(start(&store, &cookie, NOW + 1).is_ok());
}
