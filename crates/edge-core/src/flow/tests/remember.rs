//! "Trust this browser" ([`crate::flow::remember`]): offered by the
//! policies, answered in the Duo step, granted on Duo's allow, honoured at
//! the next password, and ended by everything that should end it.

use shared::api::{AuthMethod, LoginRequest, Password, Role};
use shared::policy::{PolicyAction, PolicyRule, PolicySet};

use crate::config::SessionSecret;
use crate::cookie::LoginTicket;
use crate::flow::admin::Caller;
use crate::flow::duo_start::{StartOutcome, StartRequest, duo_start};
use crate::flow::health::HealthMemo;
use crate::flow::login::{DuoLink, LoginInput, LoginOutcome, login};
use crate::flow::remember::{forget, grant};
use crate::flow::session::logout_everywhere;
use crate::flow::store::{AdminEvent, ConsoleStore, StoredPolicies, UserUpdate};
use crate::flow::testing::console::{list, revoke};
use crate::flow::testing::{
    APP_ORIGIN, CountingVerifier, MemoryStore, NOW, SESSION_SECRET_B64, ScriptedDuo, block_on,
    config, ctx, live_session, password_step, random, session_cookie, store_with_admin, user,
    user_key,
};
use crate::flow::{Reason, Refusal};
use crate::session::SessionId;

const DAY: u64 = 86_400;

fn key() -> SessionSecret {
    SessionSecret::parse(SESSION_SECRET_B64).expect("the test secret")
}

/// The test cast and root, under `rules`, remembering browsers for `days`.
fn store_with(days: u32, rules: Vec<PolicyRule>) -> (MemoryStore, String) {
    let (store, root) = store_with_admin();
    let document =
        serde_json::to_string(&PolicySet { rules, remember_days: days, access: Vec::new() })
            .expect("JSON");
    *store.policies.borrow_mut() =
        Some(StoredPolicies { version: 2, document, updated_at: NOW - 100, updated_by: None });
    (store, root)
}

fn sign_in(
    store: &MemoryStore,
    who: &str,
    remembered: Option<&str>,
    now: u64,
) -> Result<LoginOutcome, Refusal> {
    password_step(store, who, &format!("{who}-pass"), remembered, &ctx(now, "192.0.2.60"))
}

/// alice's browser, remembered for `days` at `at`: its cookie's value.
fn remembered_alice(store: &MemoryStore, days: u32, at: u64) -> String {
    let ticket = LoginTicket::new("alice", at).offering_remember(days).remembering(true);
    let granted =
        block_on(grant(store, &ticket, &ctx(at, "192.0.2.60"), &random(12))).expect("stored");
    granted.expect("remembered").value
}

#[test]
fn a_grant_stores_only_the_tokens_hash_for_the_days_offered() {
    let (store, _) = store_with(30, vec![]);
    let cookie = remembered_alice(&store, 30, NOW);
    let hash = SessionId::parse(&cookie).expect("a token").storage_key();
    let browsers = store.browsers.borrow();
    let (row, revoked) = &browsers[0];
    assert_eq!(
        (row.id_hash.as_str(), row.username.as_str(), *revoked),
        (hash.as_str(), "alice", None)
    );
    assert_eq!(row.expires_at, NOW + 30 * DAY);
    assert_eq!(row.user_agent.as_deref(), Some("Firefox on Linux"));
    assert!(!row.id_hash.as_str().contains(&cookie), "never the token itself");
    drop(browsers);
    // Not offered, or offered and not asked: nothing.
    for ticket in [
        LoginTicket::new("alice", NOW).remembering(true),
        LoginTicket::new("alice", NOW).offering_remember(30),
    ] {
        let none =
            block_on(grant(&store, &ticket, &ctx(NOW, "192.0.2.60"), &random(13))).expect("ok");
        assert!(none.is_none());
    }
    assert_eq!(store.browsers.borrow().len(), 1);
}

#[test]
fn the_duo_step_keeps_the_answer_only_when_the_login_offered() {
    let (store, _) = store_with(30, vec![]);
    let opened = |offered: u32, asked: bool| {
        let (duo, memo) = (ScriptedDuo::default(), HealthMemo::new());
        duo.healthy();
        let cookie = LoginTicket::new("alice", NOW - 10).offering_remember(offered).seal(&key());
        let request =
            StartRequest { origin: Some(APP_ORIGIN), login_cookie: Some(&cookie), remember: asked };
        let outcome = block_on(duo_start(
            &store,
            &duo,
            &config("closed"),
            &memo,
            request,
            &ctx(NOW, "192.0.2.60"),
            &random(14),
        ));
        let Ok(StartOutcome::Duo { login_cookie, .. }) = outcome else {
            panic!("to Duo: {outcome:?}")
        };
        LoginTicket::open(&login_cookie, &key(), NOW).expect("a ticket").remember
    };
    assert!(opened(30, true));
    assert!(!opened(30, false));
    assert!(!opened(0, true), "a browser cannot ask for what the policies did not offer");
}

#[test]
fn a_remembered_browser_skips_duo_until_it_ends() {
    let (store, _) = store_with(30, vec![]);
    let outcome = sign_in(&store, "alice", None, NOW).expect("the password");
    let LoginOutcome::Duo { remember_days, .. } = outcome else { panic!("to Duo: {outcome:?}") };
    assert_eq!(remember_days, 30, "offered");

    let cookie = remembered_alice(&store, 30, NOW - DAY);
    let Ok(LoginOutcome::Done { session, .. }) = sign_in(&store, "alice", Some(&cookie), NOW)
    else {
        panic!("expected a session")
    };
    assert_eq!(session.info.method, AuthMethod::Remembered);
    assert_eq!(store.last_event().reason, "remembered_browser");
    assert_eq!(store.browsers.borrow()[0].0.last_used_at, Some(NOW));

    // Not for someone else's password, nor a wrong one, nor after expiry.
    store.add_user(user("dave", "dave-pass", "required", false));
    let dave = sign_in(&store, "dave", Some(&cookie), NOW);
    assert!(
        matches!(dave, Ok(LoginOutcome::Duo { .. })),
        "alice's browser is not dave's: {dave:?}"
    );
    let bad = LoginRequest {
        username: "alice".into(),
        password: Password::new("guess"),
        return_to: None,
        fresh: false,
    };
    let (duo, health) = (ScriptedDuo::default(), HealthMemo::new());
    let input = LoginInput { body: &bad, known_browser: None, remembered: Some(&cookie) };
    let link = DuoLink { transport: &duo, health: &health };
    let wrong = block_on(login(
        &store,
        &CountingVerifier::default(),
        link,
        &config("closed"),
        input,
        &ctx(NOW, "192.0.2.60"),
        &random(15),
    ));
    assert_eq!(wrong.expect_err("the password still counts").reason, Reason::BadPassword);
    let later = sign_in(&store, "alice", Some(&cookie), NOW + 30 * DAY);
    assert!(matches!(later, Ok(LoginOutcome::Duo { .. })), "expired: {later:?}");

    // An admin's reset forgets it.
    let event = AdminEvent {
        at: NOW,
        actor: "root".into(),
        action: "reset_password",
        target: Some("alice".into()),
        detail: None,
        client_ip: None,
    };
    let phc = store.users.borrow()["alice"].password_hash.clone();
    block_on(store.change_user(&user_key("alice"), &UserUpdate::Password(phc), &event))
        .expect("reset");
    let after = sign_in(&store, "alice", Some(&cookie), NOW + 1);
    assert!(matches!(after, Ok(LoginOutcome::Duo { .. })), "forgotten: {after:?}");
}

#[test]
fn fewer_days_in_the_policies_shorten_what_was_granted() {
    let (store, _) = store_with(30, vec![]);
    let cookie = remembered_alice(&store, 30, NOW - 3 * DAY);
    let (lowered, _) = store_with(2, vec![]);
    *store.policies.borrow_mut() = lowered.policies.borrow().clone();
    let outcome = sign_in(&store, "alice", Some(&cookie), NOW);
    assert!(matches!(outcome, Ok(LoginOutcome::Duo { remember_days: 2, .. })), "{outcome:?}");
    let (raised, _) = store_with(30, vec![]);
    *store.policies.borrow_mut() = raised.policies.borrow().clone();
    let Ok(LoginOutcome::Done { session, .. }) = sign_in(&store, "alice", Some(&cookie), NOW)
    else {
        panic!("within 30 days again")
    };
    assert_eq!(session.info.method, AuthMethod::Remembered);
}

#[test]
fn disabling_the_user_or_their_own_new_password_forgets_their_browsers() {
    let (store, _) = store_with(30, vec![]);
    let cookie = remembered_alice(&store, 30, NOW - DAY);
    let event = AdminEvent {
        at: NOW,
        actor: "root".into(),
        action: "disable",
        target: Some("alice".into()),
        detail: None,
        client_ip: None,
    };
    block_on(store.change_user(&user_key("alice"), &UserUpdate::Disabled(true), &event))
        .expect("disabled");
    block_on(store.change_user(&user_key("alice"), &UserUpdate::Disabled(false), &event))
        .expect("enabled");
    let outcome = sign_in(&store, "alice", Some(&cookie), NOW + 1);
    assert!(matches!(outcome, Ok(LoginOutcome::Duo { .. })), "forgotten by disabling: {outcome:?}");

    let cookie = remembered_alice(&store, 30, NOW - DAY);
    let alice = live_session(&store, "alice", 18);
    let old = store.users.borrow()["alice"].password_hash.clone();
    let changed = block_on(store.change_own_password(
        &user_key("alice"),
        &old,
        &old,
        &alice.row.id_hash,
        &event,
    ));
    assert!(changed.expect("changed"), "the same hash stands in for a new one here");
    let outcome = sign_in(&store, "alice", Some(&cookie), NOW + 1);
    assert!(
        matches!(outcome, Ok(LoginOutcome::Duo { .. })),
        "forgotten by her new password: {outcome:?}"
    );
}

#[test]
fn a_rule_can_keep_remembered_browsers_out_and_zero_days_offer_nothing() {
    let no_admins = PolicyRule {
        name: "Admins".into(),
        roles: vec![Role::Admin],
        allow_remembered: false,
        ..PolicyRule::default()
    };
    let (store, _) = store_with(30, vec![no_admins]);
    store.users.borrow_mut().get_mut("alice").expect("alice").role = "admin".into();
    let cookie = remembered_alice(&store, 30, NOW - DAY);
    let outcome = sign_in(&store, "alice", Some(&cookie), NOW).expect("the password");
    let LoginOutcome::Duo { remember_days, .. } = outcome else { panic!("to Duo: {outcome:?}") };
    assert_eq!(remember_days, 0, "not offered under this rule");

    let (store, _) = store_with(30, vec![]);
    let cookie = remembered_alice(&store, 30, NOW - DAY);
    let none =
        serde_json::to_string(&PolicySet { rules: vec![], remember_days: 0, access: Vec::new() })
            .expect("JSON");
    store.policies.borrow_mut().as_mut().expect("a set").document = none;
    let outcome = sign_in(&store, "alice", Some(&cookie), NOW).expect("the password");
    assert!(matches!(outcome, LoginOutcome::Duo { remember_days: 0, .. }), "{outcome:?}");
    // A policy that bypasses Duo makes a plain bypass session, not a remembered one.
    let open =
        PolicyRule { name: "All".into(), action: PolicyAction::BypassDuo, ..PolicyRule::default() };
    let (store, _) = store_with(30, vec![open]);
    let cookie = remembered_alice(&store, 30, NOW - DAY);
    let Ok(LoginOutcome::Done { session, .. }) = sign_in(&store, "alice", Some(&cookie), NOW)
    else {
        panic!("a session")
    };
    assert_eq!(session.info.method, AuthMethod::Bypass);
}

#[test]
fn the_user_or_an_admin_forgets_a_browser_and_sign_out_everywhere_does_too() {
    let (store, root) = store_with(30, vec![]);
    let cookie = remembered_alice(&store, 30, NOW - DAY);
    assert_eq!(
        block_on(forget(
            &store,
            &config("closed"),
            Some("https://evil.example"),
            Some(&cookie),
            NOW
        ))
        .expect_err("origin")
        .reason,
        Reason::ForbiddenOrigin
    );
    block_on(forget(&store, &config("closed"), Some(APP_ORIGIN), Some(&cookie), NOW))
        .expect("forgotten");
    assert!(store.browsers.borrow()[0].1.is_some());
    block_on(forget(&store, &config("closed"), Some(APP_ORIGIN), None, NOW)).expect("idempotent");

    let second = remembered_alice(&store, 30, NOW - DAY);
    let listed = block_on(list(&store, Some(&root), "ali", 1, NOW)).expect("a list");
    assert_eq!(listed.total, 1, "the forgotten one is gone from the list");
    let id = listed.browsers[0].id.clone();
    assert_eq!(id, SessionId::parse(&second).expect("a token").storage_key().into_string());
    let caller = Caller { origin: Some(APP_ORIGIN), session_cookie: Some(&root) };
    block_on(revoke(&store, &config("closed"), caller, &id, &ctx(NOW, "198.51.100.8")))
        .expect("forgotten by root");
    let event = store.admin_events.borrow().last().cloned().expect("recorded");
    assert_eq!((event.action, event.target.as_deref()), ("forget_browser", Some("alice")));
    let again = block_on(revoke(&store, &config("closed"), caller, &id, &ctx(NOW, "198.51.100.8")));
    assert_eq!(again.expect_err("gone").reason, Reason::NoSuchUser);

    let alice = session_cookie(&store, "alice", 16);
    let third = remembered_alice(&store, 30, NOW - DAY);
    block_on(logout_everywhere(&store, Some(&alice), &ctx(NOW, "192.0.2.1"))).expect("signed out");
    let after = sign_in(&store, "alice", Some(&third), NOW + 1);
    assert!(
        matches!(after, Ok(LoginOutcome::Duo { .. })),
        "forgotten with the sessions: {after:?}"
    );
    let user = session_cookie(&store, "alice", 17);
    assert_eq!(
        block_on(list(&store, Some(&user), "", 1, NOW)).expect_err("403").reason,
        Reason::NotAdmin
    );
}

/// Each sign-in's own randomness (its session id).
static SEED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(100);

/// alice's password from her remembered browser, with `config` and `duo`.
fn remembered_sign_in(
    store: &MemoryStore,
    config: &crate::config::Config,
    duo: &ScriptedDuo,
    cookie: &str,
) -> Result<LoginOutcome, Refusal> {
    let body = LoginRequest {
        username: "alice".into(),
        password: Password::new("alice-pass"),
        return_to: None,
        fresh: false,
    };
    let health = HealthMemo::new();
    let input = LoginInput { body: &body, known_browser: None, remembered: Some(cookie) };
    let link = DuoLink { transport: duo, health: &health };
    let verifier = CountingVerifier::default();
    let seed = SEED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    block_on(login(store, &verifier, link, config, input, &ctx(NOW, "192.0.2.60"), &random(seed)))
}

#[allow(clippy::unnecessary_wraps, reason = "a scripted reply")]
fn preauth(
    result: &str,
    message: &str,
) -> Result<shared::duo::HttpResponse, shared::duo::TransportError> {
    let body =
        serde_json::json!({"stat": "OK", "response": {"result": result, "status_msg": message}});
    Ok(shared::duo::HttpResponse::new(200, body.to_string()))
}

#[allow(clippy::unnecessary_wraps, reason = "a scripted reply")]
fn checked() -> Result<shared::duo::HttpResponse, shared::duo::TransportError> {
    Ok(shared::duo::HttpResponse::new(200, r#"{"stat": "OK", "response": {"time": 1}}"#))
}

#[test]
fn a_trusted_browser_still_asks_duo_where_there_are_auth_api_keys() {
    use crate::flow::testing::{IKEY, SKEY, config_with, inline_config};
    let prompt_with_keys = config_with("closed", &[("DUO_IKEY", IKEY), ("DUO_SKEY", SKEY)]);
    for config in [inline_config("closed"), prompt_with_keys] {
        let (store, _) = store_with(30, vec![]);
        let cookie = remembered_alice(&store, 30, NOW - DAY);

        // Duo would authenticate her: signed in, no push (a silent preauth).
        let duo = ScriptedDuo::default();
        duo.reply(checked()).reply(preauth("auth", "Account is active"));
        let Ok(LoginOutcome::Done { session, .. }) =
            remembered_sign_in(&store, &config, &duo, &cookie)
        else {
            panic!("expected a session")
        };
        assert_eq!(session.info.method, AuthMethod::Remembered);
        assert_eq!(duo.paths(), ["/auth/v2/check", "/auth/v2/preauth"]);
        let sent = String::from_utf8(duo.requests.borrow()[1].body.clone()).expect("a form");
        assert!(!sent.contains("verified_push"), "nothing to push: {sent}");

        // Duo down: closed refuses and keeps the trust; open lets the trust stand in.
        let duo = ScriptedDuo::default();
        duo.unreachable();
        let down = remembered_sign_in(&store, &config, &duo, &cookie).expect_err("closed");
        assert_eq!(down.reason, Reason::DuoUnreachable);
        assert_eq!(store.browsers.borrow()[0].1, None, "still trusted");

        // Locked out in Duo since: refused with Duo's words, and the trust ends.
        let duo = ScriptedDuo::default();
        duo.reply(checked()).reply(preauth("deny", "Your account is locked out"));
        let denied = remembered_sign_in(&store, &config, &duo, &cookie).expect_err("denied");
        assert_eq!(denied.reason, Reason::TrustRevokedByDuo);
        assert_eq!(denied.message.as_deref(), Some("Your account is locked out"));
        assert_eq!(store.last_event().reason, "trust_revoked_by_duo");
        assert!(store.browsers.borrow()[0].1.is_some(), "the trust ended");
        // The next sign-in goes through Duo like any other.
        let duo = ScriptedDuo::default();
        duo.healthy().reply(checked()).reply(preauth("deny", "Your account is locked out"));
        let next = remembered_sign_in(&store, &config, &duo, &cookie);
        assert!(!matches!(next, Ok(LoginOutcome::Done { .. })), "{next:?}");
    }

    // Unknown to Duo now (enroll): refused, the trust ends.
    let inline = inline_config("closed");
    let (store, _) = store_with(30, vec![]);
    let cookie = remembered_alice(&store, 30, NOW - DAY);
    let duo = ScriptedDuo::default();
    duo.reply(checked()).reply(preauth("enroll", "Enroll an authentication device to proceed"));
    let gone = remembered_sign_in(&store, &inline, &duo, &cookie).expect_err("unknown");
    assert_eq!(gone.reason, Reason::TrustRevokedByDuo);
    assert!(store.browsers.borrow()[0].1.is_some());

    // Our keys refused: never let in, trust kept. Duo down and open: let in.
    let (store, _) = store_with(30, vec![]);
    let cookie = remembered_alice(&store, 30, NOW - DAY);
    let duo = ScriptedDuo::default();
    let body = r#"{"stat": "FAIL", "code": 40103, "message": "Invalid signature"}"#;
    duo.reply(Ok(shared::duo::HttpResponse::new(401, body)));
    let rejected = remembered_sign_in(&store, &inline_config("open"), &duo, &cookie);
    assert_eq!(rejected.expect_err("refused").reason, Reason::DuoAuthApiRejected);
    let duo = ScriptedDuo::default();
    duo.unreachable();
    let open = remembered_sign_in(&store, &inline_config("open"), &duo, &cookie);
    assert!(matches!(open, Ok(LoginOutcome::Done { .. })), "{open:?}");
    assert_eq!(store.browsers.borrow()[0].1, None);

    // Prompt mode without Auth API keys: the trust stands in, Duo is not asked.
    let duo = ScriptedDuo::default();
    let plain = remembered_sign_in(&store, &config("closed"), &duo, &cookie);
    assert!(matches!(plain, Ok(LoginOutcome::Done { .. })), "{plain:?}");
    assert!(duo.paths().is_empty());
}
