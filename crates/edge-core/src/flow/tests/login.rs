//! `POST /api/login` ([`crate::flow::login`]).

use shared::ErrorCode;
use shared::api::{AuthMethod, LoginRequest, Password};

use crate::config::SessionSecret;
use crate::cookie::{KnownBrowser, LOGIN_TTL_SECONDS, LoginTicket};
use crate::flow::health::HealthMemo;
use crate::flow::limits::{PER_CLIENT, PER_USER, PER_USER_CLIENT, WINDOW_SECONDS, window_start};
use crate::flow::login::DuoLink;
use crate::flow::login::{BodyError, LoginInput, LoginOutcome, login, parse_body};
use crate::flow::testing::{
    CountingVerifier, MemoryStore, NOW, SESSION_SECRET_B64, ScriptedDuo, Task, block_on, config,
    ctx, join_all, random, store, user,
};
use crate::flow::{Reason, Refusal};

fn request(username: &str, password: &str) -> LoginRequest {
    LoginRequest {
        username: username.to_owned(),
        password: Password::new(password),
        return_to: None,
        fresh: false,
    }
}

fn attempt(
    store: &MemoryStore,
    verifier: &CountingVerifier,
    username: &str,
    password: &str,
    now: u64,
    ip: &str,
) -> Result<LoginOutcome, Refusal> {
    attempt_from(store, verifier, (username, password), None, now, ip)
}

/// An attempt from a browser holding `known_browser` (its cookie's value).
fn attempt_from(
    store: &MemoryStore,
    verifier: &CountingVerifier,
    (username, password): (&str, &str),
    known_browser: Option<&str>,
    now: u64,
    ip: &str,
) -> Result<LoginOutcome, Refusal> {
    let config = config("closed");
    let body = request(username, password);
    let input = LoginInput { body: &body, known_browser, remembered: None };
    let (duo, health) = (ScriptedDuo::default(), HealthMemo::new());
    let duo = DuoLink { transport: &duo, health: &health };
    block_on(login(store, verifier, duo, &config, input, &ctx(now, ip), &random(1)))
}

fn reason(result: Result<LoginOutcome, Refusal>) -> Reason {
    match result {
        Ok(outcome) => panic!("expected a refusal, got {outcome:?}"),
        Err(refusal) => refusal.reason,
    }
}

/// The ticket of a login that asked to return to `return_to`.
fn ticket_returning_to(return_to: &str) -> LoginTicket {
    let (store, verifier) = (store(), CountingVerifier::default());
    let config = config("closed");
    let body =
        LoginRequest { return_to: Some(return_to.to_owned()), ..request("alice", "alice-pass") };
    let input = LoginInput { body: &body, known_browser: None, remembered: None };
    let (duo, health) = (ScriptedDuo::default(), HealthMemo::new());
    let duo = DuoLink { transport: &duo, health: &health };
    let outcome =
        block_on(login(&store, &verifier, duo, &config, input, &ctx(NOW, "192.0.2.1"), &random(1)));
    let Ok(LoginOutcome::Duo { login_cookie, .. }) = outcome else {
        panic!("alice needs Duo: {outcome:?}");
    };
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    LoginTicket::open(&login_cookie, &key, NOW).unwrap()
}

#[test]
fn the_ticket_keeps_a_same_origin_return_target_and_drops_any_other() {
    let ticket = ticket_returning_to("/reports/7?tab=audit&q=a%20b");
    assert_eq!(ticket.return_to.as_deref(), Some("/reports/7?tab=audit&q=a%20b"));
    assert_eq!(
        ticket.return_target().map(|t| t.as_str().to_owned()).as_deref(),
        ticket.return_to.as_deref()
    );
    for hostile in [
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "/%2F%2Fevil",
        "javascript:alert(1)",
    ] {
        assert_eq!(ticket_returning_to(hostile).return_to, None, "{hostile}");
    }
}

#[test]
fn duo_user_gets_a_sealed_login_ticket_and_no_session() {
    let (store, verifier) = (store(), CountingVerifier::default());
    let outcome = attempt(&store, &verifier, "  Alice ", "alice-pass", NOW, "192.0.2.1").unwrap();
    let LoginOutcome::Duo { username, login_cookie, max_age, .. } = outcome else {
        panic!("alice needs Duo: {outcome:?}");
    };
    assert_eq!(username, "alice");
    assert_eq!(max_age, LOGIN_TTL_SECONDS);
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let ticket = LoginTicket::open(&login_cookie, &key, NOW).unwrap();
    assert_eq!(ticket, LoginTicket::new("alice", NOW));
    assert_eq!(store.session_count(), 0);
    assert_eq!(verifier.count(), 1);
    assert_eq!(store.audit(), [("login", "success", "duo_required")]);
    let event = store.last_event();
    assert_eq!((event.username.as_str(), event.client_ip.as_deref()), ("alice", Some("192.0.2.1")));
}

#[test]
fn bypass_user_gets_a_session_at_once() {
    let (store, verifier) = (store(), CountingVerifier::default());
    let outcome = attempt(&store, &verifier, "ADMIN", "admin-pass", NOW, "192.0.2.2").unwrap();
    let LoginOutcome::Done { session: issued, .. } = outcome else {
        panic!("admin bypasses Duo: {outcome:?}")
    };
    assert_eq!(issued.info.username, "admin");
    assert_eq!(issued.info.method, AuthMethod::Bypass);
    assert_eq!(issued.info.duo, None);
    assert_eq!(issued.info.expires_at - issued.info.authenticated_at, 3600);
    assert_eq!(issued.max_age, 3600);
    let sessions = store.sessions.borrow();
    let row = sessions.get(&issued.id.storage_key()).expect("stored by its hash");
    assert_eq!((row.session.method, row.session.duo_context.as_deref()), ("bypass", None));
    assert_eq!(store.audit(), [("login", "success", "bypass")]);
}

#[test]
fn wrong_password_unknown_and_disabled_users_are_refused_alike() {
    let (store, verifier) = (store(), CountingVerifier::default());
    let cases = [
        ("alice", "not-alices", Reason::BadPassword),
        ("nobody", "whatever", Reason::UnknownUser),
        ("erin", "erin-pass", Reason::Disabled),
        ("not a name!", "whatever", Reason::UnknownUser),
    ];
    for (n, (name, password, expected)) in cases.into_iter().enumerate() {
        let ip = format!("192.0.2.{}", 10 + n);
        let refusal = attempt(&store, &verifier, name, password, NOW, &ip).unwrap_err();
        assert_eq!(refusal.reason, expected, "{name}");
        assert_eq!(refusal.code(), ErrorCode::InvalidCredentials, "{name}");
        assert_eq!(verifier.count(), n + 1, "{name}: one verification, whatever the case");
        // The same PBKDF2 work whatever the case: the test users' hashes
        // have 1,000 iterations and are topped up to the default.
        let default = u64::from(credentials::DEFAULT_ITERATIONS);
        assert_eq!(verifier.iterations(), (n as u64 + 1) * default, "{name}: the same cost");
    }
    assert_eq!(verifier.dummies(), 2, "unknown users are checked against the dummy hash");
    assert_eq!(
        store.audit(),
        [
            ("login", "failure", "bad_password"),
            ("login", "failure", "unknown_user"),
            ("login", "failure", "disabled"),
            ("login", "failure", "unknown_user"),
        ]
    );
    assert_eq!(store.last_event().username, "", "a name no user can have is audited as empty");
    assert_eq!(store.session_count(), 0);
}

#[test]
fn unusable_stored_records_are_invalid_credentials() {
    let (store, verifier) = (store(), CountingVerifier::default());
    store.add_user(crate::flow::store::UserRecord {
        password_hash: "$pbkdf2-sha256$garbage".to_owned(),
        ..user("mallory", "x", "required", false)
    });
    store.add_user(user("oscar", "oscar-pass", "sometimes", false));
    for (name, password) in [("mallory", "x"), ("oscar", "oscar-pass")] {
        let refusal = attempt(&store, &verifier, name, password, NOW, "192.0.2.3").unwrap_err();
        assert_eq!(
            (refusal.reason, refusal.code()),
            (Reason::UnusableHash, ErrorCode::InvalidCredentials)
        );
    }
    assert_eq!(verifier.count(), 2);
}

#[test]
fn five_failures_from_one_client_refuse_that_client_before_verifying() {
    let (store, verifier) = (store(), CountingVerifier::default());
    for _ in 0..PER_USER_CLIENT.max {
        assert_eq!(
            reason(attempt(&store, &verifier, "alice", "wrong", NOW, "198.51.100.1")),
            Reason::BadPassword
        );
    }
    let refusal =
        attempt(&store, &verifier, "alice", "alice-pass", NOW, "198.51.100.1").unwrap_err();
    assert_eq!((refusal.reason, refusal.code()), (Reason::UserClientLimit, ErrorCode::RateLimited));
    assert_eq!(refusal.retry_after, Some(window_start(NOW) + WINDOW_SECONDS - NOW));
    assert_eq!(verifier.count(), 5, "the refused attempt verified no password");
    assert_eq!(store.last_event().outcome.as_str(), "rate_limited");
    assert_eq!(store.last_event().reason, "user_client_limit");
    // Another client is not locked out by this one.
    assert!(attempt(&store, &verifier, "alice", "alice-pass", NOW, "198.51.100.2").is_ok());
    // The next window starts afresh.
    let next = window_start(NOW) + WINDOW_SECONDS;
    assert!(attempt(&store, &verifier, "alice", "alice-pass", next, "198.51.100.1").is_ok());
}

#[test]
fn successful_logins_do_not_use_up_the_limits() {
    let (store, verifier) = (store(), CountingVerifier::default());
    for _ in 0..3 * PER_CLIENT.max {
        assert!(attempt(&store, &verifier, "alice", "alice-pass", NOW, "192.0.2.4").is_ok());
    }
    assert!(store.counters.borrow().values().all(|&count| count == 0), "{:?}", store.counters);
}

#[test]
fn one_client_guessing_many_names_is_refused() {
    let (store, verifier) = (store(), CountingVerifier::default());
    for n in 0..PER_CLIENT.max {
        let name = format!("stranger{n}");
        assert_eq!(
            reason(attempt(&store, &verifier, &name, "x", NOW, "203.0.113.7")),
            Reason::UnknownUser
        );
    }
    let refused = attempt(&store, &verifier, "alice", "alice-pass", NOW, "203.0.113.7");
    assert_eq!(reason(refused), Reason::ClientLimit);
    assert_eq!(store.last_event().reason, "ip_limit");
    assert!(attempt(&store, &verifier, "alice", "alice-pass", NOW, "203.0.113.8").is_ok());
}

#[test]
fn many_clients_guessing_one_name_meet_the_softer_per_user_limit() {
    let (store, verifier) = (store(), CountingVerifier::default());
    let clients = PER_USER.max / PER_USER_CLIENT.max;
    for c in 0..clients {
        for _ in 0..PER_USER_CLIENT.max {
            let ip = format!("198.51.100.{}", 10 + c);
            assert_eq!(
                reason(attempt(&store, &verifier, "alice", "no", NOW, &ip)),
                Reason::BadPassword
            );
        }
    }
    let refused = attempt(&store, &verifier, "alice", "alice-pass", NOW, "198.51.100.99");
    assert_eq!(reason(refused), Reason::UserLimit);
    assert_eq!(store.last_event().reason, "user_limit");
    assert_eq!(verifier.count(), usize::try_from(PER_USER.max).unwrap());
    // Other users are not affected.
    assert!(attempt(&store, &verifier, "admin", "admin-pass", NOW, "198.51.100.99").is_ok());
}

/// Strangers spending alice's per-username limit do not lock her out of
/// the browser where her password passed before; they still lock out every
/// other browser, and the cookie helps no other user.
#[test]
fn a_known_browser_is_not_held_to_the_per_user_limit() {
    let (store, verifier) = (store(), CountingVerifier::default());
    // Wrong passwords for `name` from as many addresses as the per-username
    // limit takes, the per-address limit apart.
    let strangers_guess = |name: &str, net: u8| {
        for c in 0..PER_USER.max / PER_USER_CLIENT.max {
            for _ in 0..PER_USER_CLIENT.max {
                let ip = format!("198.51.{net}.{}", 10 + c);
                let wrong = attempt(&store, &verifier, name, "no", NOW, &ip);
                assert_ne!(reason(wrong), Reason::UserLimit);
            }
        }
    };
    let home = attempt(&store, &verifier, "alice", "alice-pass", NOW - 60, "203.0.113.5").unwrap();
    let known = home.known_browser().to_owned();
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    assert!(KnownBrowser::vouches_for(Some(&known), &key, "alice", NOW));
    strangers_guess("alice", 100);
    let stranger = attempt(&store, &verifier, "alice", "alice-pass", NOW, "203.0.113.6");
    assert_eq!(reason(stranger), Reason::UserLimit, "without the cookie, the limit holds");
    let home = |password| {
        attempt_from(&store, &verifier, ("alice", password), Some(&known), NOW, "203.0.113.5")
    };
    assert!(home("alice-pass").is_ok(), "with it, alice signs in");
    // The cookie spares only the per-username limit: five wrong passwords
    // from that browser's address still refuse it.
    for _ in 0..PER_USER_CLIENT.max {
        assert_eq!(reason(home("no")), Reason::BadPassword);
    }
    assert_eq!(reason(home("alice-pass")), Reason::UserClientLimit);
    // Another user's name with alice's cookie gets no exemption.
    strangers_guess("admin", 101);
    let as_admin = ("admin", "admin-pass");
    let with_alices = attempt_from(&store, &verifier, as_admin, Some(&known), NOW, "203.0.113.5");
    assert_eq!(reason(with_alices), Reason::UserLimit);
}

#[test]
fn an_ipv6_client_is_its_64_prefix() {
    let (store, verifier) = (store(), CountingVerifier::default());
    for n in 1..=PER_USER_CLIENT.max {
        let ip = format!("2001:db8:1:2::{n}");
        assert_eq!(
            reason(attempt(&store, &verifier, "alice", "no", NOW, &ip)),
            Reason::BadPassword
        );
    }
    let same_64 = attempt(&store, &verifier, "alice", "alice-pass", NOW, "2001:db8:1:2:ffff::9");
    assert_eq!(reason(same_64), Reason::UserClientLimit);
    assert!(attempt(&store, &verifier, "alice", "alice-pass", NOW, "2001:db8:1:3::1").is_ok());
}

#[test]
fn concurrent_guesses_verify_at_most_the_limit() {
    let (store, verifier) = (store(), CountingVerifier::default());
    let config = config("closed");
    let requests: Vec<LoginRequest> =
        (0..60).map(|n| request("alice", &format!("guess{n}"))).collect();
    let (ctx, random) = (ctx(NOW, "198.51.100.50"), random(1));
    let (duo, health) = (ScriptedDuo::default(), HealthMemo::new());
    let duo = DuoLink { transport: &duo, health: &health };
    let futures: Vec<Task<'_, _>> = requests
        .iter()
        .map(|body| LoginInput { body, known_browser: None, remembered: None })
        .map(|input| {
            Box::pin(login(&store, &verifier, duo, &config, input, &ctx, &random)) as Task<'_, _>
        })
        .collect();
    let results = join_all(futures);
    let reasons: Vec<Reason> = results.into_iter().map(reason).collect();
    let wrong = reasons.iter().filter(|&&r| r == Reason::BadPassword).count();
    let limited = reasons.iter().filter(|&&r| r == Reason::UserClientLimit).count();
    assert_eq!(verifier.count(), 5, "at most the limit is verified");
    assert_eq!((wrong, limited), (5, 55));
}

#[test]
fn a_store_failure_is_internal() {
    let (store, verifier) = (store(), CountingVerifier::default());
    store.broken.set(true);
    let refusal = attempt(&store, &verifier, "alice", "alice-pass", NOW, "192.0.2.5").unwrap_err();
    assert_eq!((refusal.reason, refusal.code()), (Reason::Internal, ErrorCode::Internal));
    assert!(refusal.detail.is_some_and(|d| d.contains("audit event not written")));
    assert_eq!(verifier.count(), 0);
}

#[test]
fn login_bodies_are_parsed_strictly() {
    let ok = parse_body(br#"{"username":"alice","password":"pw"}"#).unwrap();
    assert_eq!((ok.username.as_str(), ok.password.expose()), ("alice", "pw"));
    for malformed in [
        &b"{"[..],
        b"",
        b"null",
        b"[]",
        br#"{"username":"alice"}"#,
        br#"{"username":"alice","password":7}"#,
        br#"{"username":"alice","password":"pw","admin":true}"#,
        b"\x00\x01garbage",
    ] {
        assert_eq!(parse_body(malformed).unwrap_err(), BodyError::Malformed, "{malformed:?}");
    }
    for empty in [
        &br#"{"username":"","password":"x"}"#[..],
        br#"{"username":"  ","password":"x"}"#,
        br#"{"username":"a","password":""}"#,
    ] {
        assert_eq!(parse_body(empty).unwrap_err(), BodyError::Empty);
    }
}

mod step_up {
    use shared::api::AuthMethod;

    use super::*;
    use crate::flow::login::step_up;
    use crate::flow::testing::session_cookie;

    fn ask(
        store: &MemoryStore,
        cookie: Option<&str>,
        return_to: &str,
    ) -> Result<LoginOutcome, Refusal> {
        let config = config("closed");
        let (duo, health) = (ScriptedDuo::default(), HealthMemo::new());
        duo.healthy();
        let link = DuoLink { transport: &duo, health: &health };
        block_on(step_up(
            store,
            link,
            &config,
            cookie,
            Some(return_to),
            &ctx(NOW, "192.0.2.9"),
            &random(4),
        ))
    }

    #[test]
    fn a_session_stands_in_for_the_password_and_duo_comes_next() {
        let store = store();
        let cookie = session_cookie(&store, "alice", 7);
        let outcome = ask(&store, Some(&cookie), "/pay/42?amount=10").expect("a step-up");
        let LoginOutcome::Duo { username, login_cookie, remember_days, .. } = outcome else {
            panic!("Duo comes next: {outcome:?}");
        };
        assert_eq!((username.as_str(), remember_days), ("alice", 0));
        let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
        let ticket = LoginTicket::open(&login_cookie, &key, NOW).expect("a ticket");
        assert_eq!(ticket.return_to.as_deref(), Some("/pay/42?amount=10"));
        assert_eq!(ticket.username, "alice");
        // A hostile target is dropped, not followed.
        let outcome = ask(&store, Some(&cookie), "//evil.example/").expect("a step-up");
        let LoginOutcome::Duo { login_cookie, .. } = outcome else { panic!("{outcome:?}") };
        assert_eq!(LoginTicket::open(&login_cookie, &key, NOW).unwrap().return_to, None);
    }

    #[test]
    fn without_a_live_session_there_is_nothing_to_step_up() {
        let store = store();
        assert_eq!(reason(ask(&store, None, "/x")), Reason::NoSession);
        assert_eq!(reason(ask(&store, Some("not-a-session"), "/x")), Reason::NoSession);
        let cookie = session_cookie(&store, "alice", 8);
        if let Some(alice) = store.users.borrow_mut().get_mut("alice") {
            alice.disabled = 1;
        }
        assert!(ask(&store, Some(&cookie), "/x").is_err(), "a disabled user's session");
    }

    #[test]
    fn an_account_that_skips_duo_gets_no_approval_from_a_step_up() {
        let store = store();
        let cookie = session_cookie(&store, "admin", 9);
        let outcome = ask(&store, Some(&cookie), "/x").expect("an answer");
        let LoginOutcome::Done { session, .. } = outcome else { panic!("{outcome:?}") };
        assert_eq!(session.info.method, AuthMethod::Bypass, "no Duo: the gateway then says 403");
    }
}
