//! Accounts from the admin console ([`crate::flow::accounts`]): adding a
//! user, setting a password (typed under the policy, or generated and
//! answered once), and checking a user's mapping to Duo; and the user's
//! own password change ([`crate::flow::own_password`]), which a password
//! an admin set requires.

use credentials::{DEFAULT_ITERATIONS, PasswordHash};
use serde_json::json;
use shared::admin::{
    DuoPolicy, DuoPreauth, DuoUserCheck, DuoUserCheckRequest, NewPassword, NewUserRequest,
    PasswordIssued, PasswordResetRequest,
};
use shared::api::{Password, PasswordChangeRequest, Role};
use shared::duo::{HttpResponse, TransportError, TransportErrorKind};

use crate::flow::admin::Caller;
use crate::flow::login::LoginOutcome;
use crate::flow::own_password::change_password;
use crate::flow::store::AuditEvent;
use crate::flow::testing::console::{add_user, check_duo_user, reset_password};
use crate::flow::testing::{
    APP_ORIGIN, CountingVerifier, MemoryStore, NOW, ScriptedDuo, Task, block_on, config, ctx,
    inline_config, join_all, live_session, password_step, random, session_cookie, store_with_admin,
};
use crate::flow::{Config, Outcome, Reason, Refusal, Step};
use crate::keys::IdHash;

fn caller(cookie: &str) -> Caller<'_> {
    Caller { origin: Some(APP_ORIGIN), session_cookie: Some(cookie) }
}

fn new_user(username: &str, password: NewPassword) -> NewUserRequest {
    NewUserRequest {
        username: username.to_owned(),
        role: Role::User,
        duo_policy: DuoPolicy::Required,
        duo_username: None,
        password,
    }
}

fn typed(password: &str) -> NewPassword {
    NewPassword::Typed(Password::new(password))
}

fn add(
    store: &MemoryStore,
    cookie: &str,
    request: &NewUserRequest,
) -> Result<PasswordIssued, Refusal> {
    let at = ctx(NOW, "198.51.100.7");
    block_on(add_user(
        store,
        &CountingVerifier::default(),
        &config("closed"),
        caller(cookie),
        request,
        &at,
        &random(5),
    ))
}

fn reset(
    store: &MemoryStore,
    cookie: &str,
    username: &str,
    password: NewPassword,
) -> Result<PasswordIssued, Refusal> {
    let request = PasswordResetRequest { username: username.to_owned(), password };
    let at = ctx(NOW, "198.51.100.7");
    block_on(reset_password(
        store,
        &CountingVerifier::default(),
        &config("closed"),
        caller(cookie),
        &request,
        &at,
        &random(6),
    ))
}

fn stored_hash(store: &MemoryStore, normalized: &str) -> PasswordHash {
    let users = store.users.borrow();
    PasswordHash::parse(&users[normalized].password_hash).expect("a stored hash")
}

fn refusal<T: std::fmt::Debug>(result: Result<T, Refusal>) -> Refusal {
    result.expect_err("a refusal")
}

/// Signs `username` in with `password` (prompt mode): the first factor's verdict.
fn sign_in(store: &MemoryStore, username: &str, password: &str) -> Result<LoginOutcome, Refusal> {
    password_step(store, username, password, None, &ctx(NOW + 5, "192.0.2.44"))
}

#[test]
fn a_generated_password_is_answered_once_stored_as_a_hash_and_signs_in() {
    let (store, root) = store_with_admin();
    let issued = add(&store, &root, &new_user("Bob.Smith", NewPassword::Generate)).expect("added");
    assert_eq!(issued.username, "Bob.Smith");
    let password = issued.generated.expect("a generated password");
    let password = password.expose();
    assert_eq!((password.len(), password.matches('-').count()), (24, 4), "{password}");

    let hash = stored_hash(&store, "bob.smith");
    assert_eq!(hash.iterations(), DEFAULT_ITERATIONS, "the cost of every other login");
    assert!(hash.verify(password.as_bytes()));
    let user = store.users.borrow()["bob.smith"].clone();
    assert_eq!(
        (user.role.as_str(), user.duo_policy.as_str(), user.disabled),
        ("user", "required", 0)
    );

    let event = store.admin_events.borrow().last().cloned().expect("an admin event");
    assert_eq!(
        (event.actor.as_str(), event.action, event.target.as_deref()),
        ("root", "add_user", Some("bob.smith"))
    );
    let detail = event.detail.expect("a detail");
    assert!(detail.contains(r#""password":"generated""#), "{detail}");
    assert!(!detail.contains(password), "never the password");

    // The first factor accepts it; Duo comes next.
    assert!(matches!(sign_in(&store, "bob.smith", password), Ok(LoginOutcome::Duo { .. })));
    assert_eq!(
        sign_in(&store, "bob.smith", "wrong-password").map(drop).map_err(|r| r.reason),
        Err(Reason::BadPassword)
    );
}

#[test]
fn a_typed_password_keeps_to_the_policy_and_is_not_answered() {
    let (store, root) = store_with_admin();
    let before = store.users.borrow().len();
    for (password, said) in [
        ("short", "The password must be at least 8 characters."),
        ("  CAROL ", "The password must not be the username."),
    ] {
        let refused = refusal(add(&store, &root, &new_user("carol", typed(password))));
        assert_eq!(
            (refused.reason, refused.message.as_deref()),
            (Reason::AdminBadValue, Some(said))
        );
    }
    let long = "x".repeat(1025);
    assert_eq!(
        refusal(add(&store, &root, &new_user("carol", typed(&long)))).reason,
        Reason::AdminBadValue
    );
    assert_eq!(store.users.borrow().len(), before, "nothing stored");
    assert!(store.admin_events.borrow().is_empty(), "nothing recorded");

    let issued =
        add(&store, &root, &new_user("carol", typed("correct horse battery"))).expect("added");
    assert_eq!(issued.generated, None);
    assert!(stored_hash(&store, "carol").verify(b"correct horse battery"));
    assert!(
        store.admin_events.borrow()[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains(r#""password":"typed""#))
    );
}

#[test]
fn adding_refuses_bad_names_taken_names_and_taken_duo_identities() {
    let (store, root) = store_with_admin();
    let bad = refusal(add(&store, &root, &new_user("no spaces", NewPassword::Generate)));
    assert_eq!(bad.reason, Reason::AdminBadValue);
    assert!(bad.message.as_deref().is_some_and(|m| m.starts_with("That username cannot be used")));
    let taken = refusal(add(&store, &root, &new_user(" ALICE ", NewPassword::Generate)));
    assert_eq!(taken.message.as_deref(), Some("There is already a user named ALICE."));
    // alice's Duo identity is her username: nobody else may be her in Duo.
    let twin = NewUserRequest {
        duo_username: Some("Alice".into()),
        ..new_user("mallory", NewPassword::Generate)
    };
    let refused = refusal(add(&store, &root, &twin));
    assert!(refused.message.as_deref().is_some_and(|m| m.contains("Duo username")), "{refused:?}");
    assert!(!store.users.borrow().contains_key("mallory"));
    let blank = NewUserRequest {
        duo_username: Some("   ".into()),
        ..new_user("dave", NewPassword::Generate)
    };
    add(&store, &root, &blank).expect("a blank Duo username means the username");
    assert_eq!(store.users.borrow()["dave"].duo_username, None);
}

#[test]
fn only_an_admin_from_the_app_origin_adds_or_resets() {
    let (store, root) = store_with_admin();
    let alice = session_cookie(&store, "alice", 8);
    assert_eq!(
        refusal(add(&store, &alice, &new_user("eve", NewPassword::Generate))).reason,
        Reason::NotAdmin
    );
    assert_eq!(
        refusal(reset(&store, &alice, "admin", NewPassword::Generate)).reason,
        Reason::NotAdmin
    );
    let elsewhere = Caller { origin: Some("https://evil.example"), session_cookie: Some(&root) };
    let request = new_user("eve", NewPassword::Generate);
    let at = ctx(NOW, "198.51.100.7");
    let refused = block_on(add_user(
        &store,
        &CountingVerifier::default(),
        &config("closed"),
        elsewhere,
        &request,
        &at,
        &random(5),
    ));
    assert_eq!(refusal(refused).reason, Reason::ForbiddenOrigin);
    assert!(!store.users.borrow().contains_key("eve"));
    assert!(store.admin_events.borrow().is_empty());
}

#[test]
fn two_admins_adding_the_same_name_at_once_make_one_user() {
    let (store, root) = store_with_admin();
    let (verifier, config, at) =
        (CountingVerifier::default(), config("closed"), ctx(NOW, "198.51.100.7"));
    let (first, second) =
        (new_user("zoe", typed("first password")), new_user("Zoe", typed("second password")));
    let (r1, r2) = (random(1), random(2));
    let tasks: Vec<Task<'_, Result<PasswordIssued, Refusal>>> = vec![
        Box::pin(add_user(&store, &verifier, &config, caller(&root), &first, &at, &r1)),
        Box::pin(add_user(&store, &verifier, &config, caller(&root), &second, &at, &r2)),
    ];
    let results = join_all(tasks);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert_eq!(store.admin_events.borrow().len(), 1, "one add, one record");
}

#[test]
fn a_reset_replaces_the_password_and_ends_the_sessions() {
    let (store, root) = store_with_admin();
    let session = live_session(&store, "alice", 8);
    let issued = reset(&store, &root, "Alice", NewPassword::Generate).expect("reset");
    let password = issued.generated.expect("a generated password");
    let hash = stored_hash(&store, "alice");
    assert!(hash.verify(password.expose().as_bytes()) && !hash.verify(b"alice-pass"));
    let revoked = store.sessions.borrow()[&session.row.id_hash].revoked_at;
    assert_eq!(revoked, Some(NOW), "signed out everywhere");
    let event = store.admin_events.borrow().last().cloned().expect("an event");
    assert_eq!((event.action, event.target.as_deref()), ("reset_password", Some("alice")));
    assert_eq!(event.detail.as_deref(), Some(r#"{"password":"generated"}"#));

    reset(&store, &root, "alice", typed("a typed one, long enough")).expect("typed");
    assert!(stored_hash(&store, "alice").verify(b"a typed one, long enough"));
    assert_eq!(
        refusal(reset(&store, &root, "alice", typed("alice"))).reason,
        Reason::AdminBadValue
    );
    assert_eq!(
        refusal(reset(&store, &root, "nobody", NewPassword::Generate)).reason,
        Reason::NoSuchUser
    );
    assert_eq!(
        refusal(reset(&store, &root, "bad name", NewPassword::Generate)).reason,
        Reason::NoSuchUser
    );
    // One's own: it would end this session; a lost password would lock one out.
    let own = refusal(reset(&store, &root, "ROOT", NewPassword::Generate));
    assert_eq!(own.reason, Reason::SelfLockout);
    assert_eq!(store.admin_events.borrow().len(), 2, "refusals change nothing");
}

// ---------------------------------------------------------------------------
// The Duo username check.
// ---------------------------------------------------------------------------

#[allow(clippy::unnecessary_wraps, reason = "a scripted reply")]
fn ok(response: &serde_json::Value) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse::new(200, json!({"stat": "OK", "response": response}).to_string()))
}

fn check(
    store: &MemoryStore,
    duo: &ScriptedDuo,
    config: &Config,
    cookie: &str,
    username: &str,
    candidate: Option<&str>,
) -> Result<DuoUserCheck, Refusal> {
    let request = DuoUserCheckRequest {
        username: username.to_owned(),
        duo_username: candidate.map(str::to_owned),
    };
    block_on(check_duo_user(
        store,
        duo,
        config,
        caller(cookie),
        &request,
        &ctx(NOW, "198.51.100.7"),
    ))
}

fn duo_step(store: &MemoryStore, username: &str, at: u64, outcome: Outcome, reason: &'static str) {
    store.events.borrow_mut().push(AuditEvent {
        at,
        username: username.to_owned(),
        step: Step::DuoCallback,
        outcome,
        reason,
        duo_txid: None,
        client_ip: None,
        repeats: 0,
        policy: None,
        country: None,
        factor: None,
    });
}

#[test]
fn inline_mode_asks_duo_preauth_about_the_name() {
    let (store, root) = store_with_admin();
    let config = inline_config("closed");
    let duo = ScriptedDuo::default();
    duo.reply(ok(&json!({"result": "auth", "status_msg": "Account is active", "devices": [
        {"device": "DPIPHONE000000000001", "display_name": "iPhone (XXX-XXX-0100)", "type": "phone", "capabilities": ["push"]},
    ]})));
    let checked =
        check(&store, &duo, &config, &root, "alice", Some(" alice@example.com ")).expect("checked");
    assert_eq!(checked.duo_username, "alice@example.com");
    assert_eq!(
        checked.preauth,
        Some(DuoPreauth::Enrolled { devices: vec!["iPhone (XXX-XXX-0100)".into()] })
    );
    assert!(
        checked.summary.starts_with("Duo knows alice@example.com, with 1 device."),
        "{}",
        checked.summary
    );
    assert_eq!(duo.paths(), ["/auth/v2/preauth"]);
    let sent = String::from_utf8_lossy(&duo.requests.borrow()[0].body).into_owned();
    assert!(sent.contains("username=alice%40example.com"), "{sent}");
    let event = store.admin_events.borrow().last().cloned().expect("recorded");
    assert_eq!((event.action, event.target.as_deref()), ("check_duo_username", Some("alice")));

    for (reply, expected) in [
        (
            ok(
                &json!({"result": "enroll", "status_msg": "Enroll", "enroll_portal_url": "https://api-deadbeef.duosecurity.com/portal?code=1"}),
            ),
            DuoPreauth::NotEnrolled,
        ),
        (
            ok(&json!({"result": "allow", "status_msg": "Allowing unknown user"})),
            DuoPreauth::Allowed,
        ),
        (
            ok(&json!({"result": "deny", "status_msg": "Your account is locked out"})),
            DuoPreauth::Denied { message: "Your account is locked out".into() },
        ),
    ] {
        let duo = ScriptedDuo::default();
        duo.reply(reply);
        let checked = check(&store, &duo, &config, &root, "alice", None).expect("checked");
        assert_eq!(checked.duo_username, "alice", "the stored name, else the username");
        assert_eq!(checked.preauth, Some(expected));
    }
    let duo = ScriptedDuo::default();
    duo.reply(Err(TransportError::new(TransportErrorKind::Connect, "no route")));
    let checked =
        check(&store, &duo, &config, &root, "alice", None).expect("a result, not an error");
    assert!(matches!(checked.preauth, Some(DuoPreauth::Failed { .. })), "{checked:?}");
    assert!(checked.summary.contains("Duo could not be asked"), "{}", checked.summary);
}

#[test]
fn prompt_mode_reports_the_identity_and_the_last_duo_sign_ins() {
    let (store, root) = store_with_admin();
    let (duo, config) = (ScriptedDuo::default(), config("closed"));
    let fresh = check(&store, &duo, &config, &root, "alice", None).expect("checked");
    assert_eq!(
        (fresh.preauth.as_ref(), fresh.last_duo_success, fresh.last_duo_failure.as_ref()),
        (None, None, None)
    );
    assert!(fresh.summary.ends_with("No sign-in with Duo yet."), "{}", fresh.summary);
    assert!(duo.requests.borrow().is_empty(), "the Universal Prompt has no lookup");

    duo_step(&store, "alice", NOW - 300, Outcome::Failure, "state_mismatch");
    duo_step(&store, "alice", NOW - 200, Outcome::Success, "duo_allow");
    let healthy = check(&store, &duo, &config, &root, "alice", None).expect("checked");
    assert_eq!(healthy.last_duo_success, Some(i64::try_from(NOW - 200).unwrap()));
    assert_eq!(healthy.last_duo_failure, None, "a failure before the success is history");
    assert!(
        healthy.summary.ends_with("The last sign-in with Duo succeeded."),
        "{}",
        healthy.summary
    );

    duo_step(&store, "alice", NOW - 100, Outcome::Failure, "id_token_username");
    let broken = check(&store, &duo, &config, &root, "alice", None).expect("checked");
    assert_eq!(
        broken.last_duo_failure.as_ref().map(|f| f.reason.as_str()),
        Some("id_token_username")
    );
    assert!(broken.summary.contains("Duo confirmed a different username"), "{}", broken.summary);

    // A name another account has as its Duo identity.
    let taken = check(&store, &duo, &config, &root, "alice", Some("ADMIN")).expect("checked");
    assert_eq!(taken.taken_by.as_deref(), Some("admin"));
    assert!(
        taken.summary.starts_with("admin already has the Duo username ADMIN"),
        "{}",
        taken.summary
    );
    assert_eq!(
        refusal(check(&store, &duo, &config, &root, "nobody", None)).reason,
        Reason::NoSuchUser
    );
    assert_eq!(
        refusal(check(&store, &duo, &config, &root, "alice", Some("a\u{0}b"))).reason,
        Reason::AdminBadValue
    );
}

// ---------------------------------------------------------------------------
// The user's own password change.
// ---------------------------------------------------------------------------

fn change_own(
    store: &MemoryStore,
    cookie: &str,
    current: &str,
    new: &str,
    seed: u8,
) -> Result<Option<String>, Refusal> {
    let request =
        PasswordChangeRequest { current: Password::new(current), new: Password::new(new) };
    let at = ctx(NOW, "192.0.2.50");
    let passwords = CountingVerifier::default();
    block_on(change_password(
        store,
        &passwords,
        &config("closed"),
        Caller { origin: Some(APP_ORIGIN), session_cookie: Some(cookie) },
        &request,
        &at,
        &random(seed),
    ))
}

fn cookie_of(store: &MemoryStore, username: &str, seed: u8) -> (String, IdHash) {
    let issued = live_session(store, username, seed);
    (issued.id.to_cookie_value(), issued.row.id_hash)
}

#[test]
fn a_password_an_admin_set_must_be_replaced_before_the_console() {
    let (store, root) = store_with_admin();
    let issued = add(
        &store,
        &root,
        &NewUserRequest { role: Role::Admin, ..new_user("hank", NewPassword::Generate) },
    )
    .expect("added");
    let generated = issued.generated.expect("generated");
    assert_eq!(store.users.borrow()["hank"].must_change_password, 1);
    let (hank, _) = cookie_of(&store, "hank", 20);
    let session = block_on(crate::flow::session::check(&store, Some(&hank), NOW)).expect("live");
    assert!(session.password_change_required);
    let refused =
        refusal(block_on(crate::flow::testing::console::users(&store, Some(&hank), "", 1, NOW)));
    assert_eq!(
        (refused.reason, refused.code()),
        (Reason::PasswordChangeRequired, shared::ErrorCode::Forbidden)
    );

    change_own(&store, &hank, generated.expose(), "hank's very own password", 21).expect("changed");
    assert_eq!(store.users.borrow()["hank"].must_change_password, 0);
    assert!(stored_hash(&store, "hank").verify(b"hank's very own password"));
    assert!(
        block_on(crate::flow::testing::console::users(&store, Some(&hank), "", 1, NOW)).is_ok()
    );
    let event = store.admin_events.borrow().last().cloned().expect("recorded");
    assert_eq!(
        (event.actor.as_str(), event.action, event.detail),
        ("hank", "change_own_password", Some(r#"{"breach_check":"clean"}"#.to_owned()))
    );

    // An admin's reset asks for a new one again.
    reset(&store, &root, "hank", NewPassword::Generate).expect("reset");
    assert_eq!(store.users.borrow()["hank"].must_change_password, 1);
}

#[test]
fn changing_ones_password_asks_the_current_one_and_ends_the_other_sessions() {
    let store = crate::flow::testing::store();
    let (here, here_hash) = cookie_of(&store, "alice", 30);
    let (_, there_hash) = cookie_of(&store, "alice", 31);

    let wrong = refusal(change_own(&store, &here, "not-alices", "a brand new password", 32));
    assert_eq!(
        (wrong.reason, wrong.code()),
        (Reason::BadPassword, shared::ErrorCode::InvalidCredentials)
    );
    for (new, said) in [
        ("short", "The password must be at least 8 characters."),
        ("alice-pass", "Choose a password other than your current one."),
        (" ALICE ", "The password must be at least 8 characters."),
        ("  Alice   ", "The password must not be the username."),
    ] {
        let refused = refusal(change_own(&store, &here, "alice-pass", new, 33));
        assert_eq!(
            (refused.reason, refused.message.as_deref()),
            (Reason::AdminBadValue, Some(said)),
            "{new:?}"
        );
    }
    assert!(stored_hash(&store, "alice").verify(b"alice-pass"), "nothing changed yet");

    change_own(&store, &here, "alice-pass", "a brand new password", 34).expect("changed");
    assert!(stored_hash(&store, "alice").verify(b"a brand new password"));
    let sessions = store.sessions.borrow();
    assert_eq!(sessions[&here_hash].revoked_at, None, "this session stays");
    assert_eq!(sessions[&there_hash].revoked_at, Some(NOW), "the others end");
    drop(sessions);
    // The old password is no longer the current one.
    let stale = refusal(change_own(&store, &here, "alice-pass", "yet another password", 35));
    assert_eq!(stale.reason, Reason::BadPassword);
}

#[test]
fn wrong_current_passwords_count_against_the_login_limits() {
    let store = crate::flow::testing::store();
    let (alice, _) = cookie_of(&store, "alice", 40);
    let per_user_client = crate::flow::limits::PER_USER_CLIENT.max;
    for _ in 0..per_user_client {
        assert_eq!(
            refusal(change_own(&store, &alice, "guess", "a brand new password", 41)).reason,
            Reason::BadPassword
        );
    }
    let limited = refusal(change_own(&store, &alice, "alice-pass", "a brand new password", 42));
    assert_eq!(limited.code(), shared::ErrorCode::RateLimited, "{limited:?}");
    assert!(
        stored_hash(&store, "alice").verify(b"alice-pass"),
        "not even the right one gets through"
    );
}

#[test]
fn two_changes_at_once_one_wins() {
    let store = crate::flow::testing::store();
    let (alice, _) = cookie_of(&store, "alice", 50);
    let (first, second) = (
        PasswordChangeRequest {
            current: Password::new("alice-pass"),
            new: Password::new("first new password"),
        },
        PasswordChangeRequest {
            current: Password::new("alice-pass"),
            new: Password::new("second new password"),
        },
    );
    let (passwords, config, at) =
        (CountingVerifier::default(), config("closed"), ctx(NOW, "192.0.2.50"));
    let (r1, r2) = (random(51), random(52));
    let tasks: Vec<Task<'_, Result<Option<String>, Refusal>>> = vec![
        Box::pin(change_password(
            &store,
            &passwords,
            &config,
            Caller { origin: Some(APP_ORIGIN), session_cookie: Some(&alice) },
            &first,
            &at,
            &r1,
        )),
        Box::pin(change_password(
            &store,
            &passwords,
            &config,
            Caller { origin: Some(APP_ORIGIN), session_cookie: Some(&alice) },
            &second,
            &at,
            &r2,
        )),
    ];
    let results = join_all(tasks);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let hash = stored_hash(&store, "alice");
    assert!(hash.verify(b"first new password") != hash.verify(b"second new password"));
    assert_eq!(store.admin_events.borrow().len(), 1);
}

#[test]
fn a_password_change_needs_the_app_origin_and_a_session() {
    let store = crate::flow::testing::store();
    let (alice, _) = cookie_of(&store, "alice", 60);
    let request = PasswordChangeRequest {
        current: Password::new("alice-pass"),
        new: Password::new("a brand new password"),
    };
    let (passwords, config, at) =
        (CountingVerifier::default(), config("closed"), ctx(NOW, "192.0.2.50"));
    let elsewhere = block_on(change_password(
        &store,
        &passwords,
        &config,
        Caller { origin: Some("https://evil.example"), session_cookie: Some(&alice) },
        &request,
        &at,
        &random(61),
    ));
    assert_eq!(refusal(elsewhere).reason, Reason::ForbiddenOrigin);
    let nobody = block_on(change_password(
        &store,
        &passwords,
        &config,
        Caller { origin: Some(APP_ORIGIN), session_cookie: None },
        &request,
        &at,
        &random(62),
    ));
    assert_eq!(refusal(nobody).reason, Reason::NoSession);
    assert!(stored_hash(&store, "alice").verify(b"alice-pass"));
}

/// A wrong current password is a failed sign-in, and is audited as one
/// (step `password_change`), rate-limited refusals included.
#[test]
fn wrong_current_passwords_are_audited_like_failed_sign_ins() {
    let store = crate::flow::testing::store();
    let (alice, _) = cookie_of(&store, "alice", 50);
    let wrong = refusal(change_own(&store, &alice, "guess", "a brand new password", 51));
    assert_eq!(wrong.reason, Reason::BadPassword);
    let event = store.last_event();
    assert_eq!(
        (event.step.as_str(), event.outcome.as_str(), event.reason, event.username.as_str()),
        ("password_change", "failure", "bad_password", "alice")
    );
    assert_eq!(event.client_ip.as_deref(), Some("192.0.2.50"));
    for _ in 1..crate::flow::limits::PER_USER_CLIENT.max {
        let _ = change_own(&store, &alice, "guess", "a brand new password", 52);
    }
    let limited = refusal(change_own(&store, &alice, "guess", "a brand new password", 53));
    assert_eq!(limited.code(), shared::ErrorCode::RateLimited);
    assert_eq!(
        store.audit().last(),
        Some(&("password_change", "rate_limited", "user_client_limit"))
    );
    // Without a session nothing is recorded (a flood cannot grow the log).
    let before = store.events.borrow().len();
    let nobody = change_own(&store, &"A".repeat(43), "guess", "a brand new password", 54);
    assert_eq!(refusal(nobody).reason, Reason::NoSession);
    assert_eq!(store.events.borrow().len(), before);
}

/// An admin who resets another admin's password knows it: that admin's
/// next sign-in needs Duo whatever a bypass, a policy or the enforcement
/// switch say, and so does a new admin's first one.
#[test]
fn a_password_another_admin_set_never_signs_an_admin_in_without_duo() {
    let (store, root) = store_with_admin();
    store.add_user(crate::flow::store::UserRecord {
        role: "admin".to_owned(),
        ..crate::flow::testing::user("ivy", "ivy-pass", "bypass", false)
    });
    // A password-only admin (a break-glass account), enforcement off, and a
    // policy that lets every admin in on the password: Duo all the same.
    *store.enforce.borrow_mut() = Some(crate::flow::store::EnforceSetting {
        value: "off".into(),
        updated_at: NOW - 10,
        updated_by: Some("root".into()),
    });
    let bypass = shared::policy::PolicyRule {
        name: "admins".into(),
        action: shared::policy::PolicyAction::BypassDuo,
        roles: vec![Role::Admin],
        ..shared::policy::PolicyRule::default()
    };
    let document = serde_json::to_string(&shared::policy::PolicySet {
        rules: vec![bypass],
        remember_days: 30,
        access: Vec::new(),
    })
    .expect("JSON");
    *store.policies.borrow_mut() = Some(crate::flow::store::StoredPolicies {
        version: 2,
        document,
        updated_at: NOW - 10,
        updated_by: None,
    });
    let before = sign_in(&store, "ivy", "ivy-pass").expect("her own password");
    assert!(matches!(before, LoginOutcome::Done { .. }), "password alone, as configured");

    reset(&store, &root, "ivy", typed("root-knows-this-one")).expect("reset");
    let after = sign_in(&store, "ivy", "root-knows-this-one").expect("the password passes");
    let LoginOutcome::Duo { remember_days, .. } = after else {
        panic!("Duo is required: {after:?}")
    };
    assert_eq!(remember_days, 0, "no trusted browser stands in for Duo either");

    // A user's reset changes nothing for them: the admin manages users.
    // (The sign-ins above and below draw the same session id.)
    store.sessions.borrow_mut().retain(|_, row| row.session.username != "ivy");
    store.add_user(crate::flow::testing::user("jo", "jo-pass", "bypass", false));
    reset(&store, &root, "jo", typed("root-knows-this-one")).expect("reset");
    let jo = sign_in(&store, "jo", "root-knows-this-one").expect("the password passes");
    assert!(matches!(jo, LoginOutcome::Done { .. }), "{jo:?}");
}

// ---------------------------------------------------------------------------
// Breached passwords (Pwned Passwords, by k-anonymity).
// ---------------------------------------------------------------------------

/// Pwned Passwords knowing `password` (breached 42 times), or down.
fn pwned(up: bool) -> CountingVerifier {
    let passwords = CountingVerifier::default();
    *passwords.pwned.borrow_mut() = up.then(|| vec![("Password1234", 42)]);
    passwords
}

fn add_with(
    store: &MemoryStore,
    cookie: &str,
    passwords: &CountingVerifier,
    mode: &str,
    name: &str,
    password: &str,
) -> Result<PasswordIssued, Refusal> {
    let config = crate::flow::testing::config_with("closed", &[("PWNED_PASSWORDS", mode)]);
    let request = new_user(name, typed(password));
    let at = ctx(NOW, "198.51.100.7");
    block_on(add_user(store, passwords, &config, caller(cookie), &request, &at, &random(7)))
}

#[test]
fn a_breached_password_is_refused_warned_or_let_through_as_set_and_only_a_prefix_leaves() {
    let (store, root) = store_with_admin();
    let passwords = pwned(true);
    let refused = add_with(&store, &root, &passwords, "block", "carol", "Password1234");
    let refused = refused.expect_err("breached");
    assert_eq!(
        (refused.reason, refused.code()),
        (Reason::BreachedPassword, shared::ErrorCode::BadRequest)
    );
    assert!(refused.message.as_deref().is_some_and(|m| m.contains("42 known data breaches")));
    assert!(!store.users.borrow().contains_key("carol"), "nothing stored");
    // What left: the API's range URL with the SHA-1's first five hex digits
    // (SHA-1("Password1234") = 5B966...), never the password or the rest.
    let asked = passwords.ranges.borrow().clone();
    assert_eq!(asked, ["https://api.pwnedpasswords.com/range/5B966"]);

    let warned =
        add_with(&store, &root, &passwords, "warn", "carol", "Password1234").expect("warn");
    assert!(warned.warning.as_deref().is_some_and(|w| w.contains("42 known data breaches")));
    let detail = store.admin_events.borrow().last().and_then(|e| e.detail.clone());
    assert!(detail.is_some_and(|d| d.contains(r#""breach_check":"breached""#)));

    let clean = add_with(&store, &root, &passwords, "block", "dora", "a long and rare phrase")
        .expect("clean");
    assert_eq!(clean.warning, None);
    let off = pwned(true);
    add_with(&store, &root, &off, "off", "gina", "Password1234").expect("not checked");
    assert!(off.ranges.borrow().is_empty(), "off: nothing asked");

    // Down: accepted, said, recorded.
    let down = add_with(&store, &root, &pwned(false), "block", "hugo", "Password1234")
        .expect("accepted unchecked");
    assert!(down.warning.as_deref().is_some_and(|w| w.contains("could not be checked")));
    let detail = store.admin_events.borrow().last().and_then(|e| e.detail.clone());
    assert!(detail.is_some_and(|d| d.contains(r#""breach_check":"unchecked""#)));

    // The user's own change: refused the same way.
    let alice = session_cookie(&store, "alice", 60);
    let request = PasswordChangeRequest {
        current: Password::new("alice-pass"),
        new: Password::new("Password1234"),
    };
    let own = block_on(change_password(
        &store,
        &passwords,
        &config("closed"),
        Caller { origin: Some(APP_ORIGIN), session_cookie: Some(&alice) },
        &request,
        &ctx(NOW, "192.0.2.50"),
        &random(61),
    ));
    assert_eq!(own.expect_err("breached").reason, Reason::BreachedPassword);
    assert!(stored_hash(&store, "alice").verify(b"alice-pass"), "unchanged");
    // A generated password is not asked about.
    let before = passwords.ranges.borrow().len();
    reset(&store, &root, "alice", NewPassword::Generate).expect("reset");
    assert_eq!(passwords.ranges.borrow().len(), before);
}

#[test]
fn ones_own_password_change_needs_a_recent_duo_approval_or_is_confirmed_by_the_password() {
    use crate::flow::testing::issue_stored;
    use shared::api::AuthMethod;
    let (store, _) = store_with_admin();
    let old = ctx(NOW - 1800, "192.0.2.50");
    let duo = issue_stored(&store, "alice", AuthMethod::Duo, None, &old, &random(90));
    let refused = change_own(&store, &duo.id.to_cookie_value(), "alice-pass", "a new long one", 91);
    assert_eq!(refused.expect_err("stale").reason, Reason::ReauthRequired);
    assert!(stored_hash(&store, "alice").verify(b"alice-pass"), "unchanged");
    // Without Duo (break-glass), the current password is the confirmation.
    let bypass = issue_stored(&store, "alice", AuthMethod::Bypass, None, &old, &random(92));
    let changed =
        change_own(&store, &bypass.id.to_cookie_value(), "alice-pass", "a new long one", 93);
    assert_eq!(changed, Ok(None));
}
