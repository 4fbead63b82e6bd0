//! `POST /auth/duo/start` ([`crate::flow::duo_start`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use shared::ErrorCode;
use shared::api::{AuthMethod, DuoReachability};
use shared::duo::{HttpResponse, Nonce, State, TransportError, TransportErrorKind};

use crate::config::SessionSecret;
use crate::cookie::{LOGIN_MAX_SECONDS, LOGIN_TTL_SECONDS, LoginTicket};
use crate::flow::duo_start::{StartOutcome, StartRequest, duo_start};
use crate::flow::health::{FAILURE_MEMO_SECONDS, HEALTH_MEMO_SECONDS, HealthMemo};
use crate::flow::limits::{WINDOW_SECONDS, window_start};
use crate::flow::store::UserRecord;
use crate::flow::testing::{
    API_HOST, APP_ORIGIN, CLIENT_ID, MemoryStore, NOW, SESSION_SECRET_B64, ScriptedDuo, Task,
    block_on, config, config_with, ctx, join_all, random, store, user,
};
use crate::flow::{Reason, Refusal};

fn key() -> SessionSecret {
    SessionSecret::parse(SESSION_SECRET_B64).unwrap()
}

/// A login cookie for `username`, as the password step seals it at `at`.
fn login_cookie(username: &str, at: u64) -> String {
    LoginTicket::new(username, at).seal(&key())
}

fn start(
    store: &MemoryStore,
    duo: &ScriptedDuo,
    fail_mode: &str,
    memo: &HealthMemo,
    cookie: Option<&str>,
    origin: Option<&str>,
    now: u64,
) -> Result<StartOutcome, Refusal> {
    let config = config(fail_mode);
    let request = StartRequest { origin, login_cookie: cookie, remember: false };
    block_on(duo_start(store, duo, &config, memo, request, &ctx(now, "192.0.2.20"), &random(7)))
}

/// The claims of the signed request JWT in an authorize URL.
fn request_claims(url: &str) -> Value {
    let query = url.split_once('?').expect("a query").1;
    let (_, jwt) = form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "request")
        .expect("a request JWT");
    let payload = jwt.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

#[test]
fn start_redirects_to_duo_with_state_and_nonce_bound_to_the_cookie() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    duo.healthy();
    let cookie = login_cookie("alice", NOW - 30);
    let outcome =
        start(&store, &duo, "closed", &memo, Some(&cookie), Some(APP_ORIGIN), NOW).unwrap();
    let StartOutcome::Duo { url, login_cookie, max_age } = outcome else {
        panic!("expected a redirect to Duo: {outcome:?}");
    };
    assert!(url.starts_with(&format!("https://{API_HOST}/oauth/v1/authorize?")), "{url}");
    assert!(url.contains(&format!("client_id={CLIENT_ID}")), "{url}");
    assert!(url.contains("response_type=code"), "{url}");
    let claims = request_claims(&url);
    let state = State::generate(&random(7).state);
    let nonce = Nonce::generate(&random(7).nonce);
    assert_eq!(claims["state"], state.as_str());
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["duo_uname"], "alice");
    assert_eq!(claims["client_id"], CLIENT_ID);
    let callback = shared::api::routes::at(shared::api::routes::DUO_CALLBACK);
    assert_eq!(claims["redirect_uri"], format!("{APP_ORIGIN}{callback}"));
    // The cookie now carries the same state and nonce, renewed for the prompt.
    let ticket = LoginTicket::open(&login_cookie, &key(), NOW).unwrap();
    assert!(ticket.state.as_ref().is_some_and(|s| s.ct_eq(&state)));
    assert!(ticket.nonce.as_ref().is_some_and(|n| n.ct_eq(&nonce)));
    assert_eq!((ticket.issued_at, ticket.expires_at), (NOW - 30, NOW + LOGIN_TTL_SECONDS));
    assert_eq!(max_age, LOGIN_TTL_SECONDS);
    assert_eq!(duo.paths(), ["/oauth/v1/health_check"]);
    assert_eq!(memo.reachability(), DuoReachability::Reachable);
    assert_eq!(store.audit(), [("duo_start", "success", "redirect_to_duo")]);
    assert_eq!(store.last_event().username, "alice");
    assert_eq!(store.session_count(), 0);
}

#[test]
fn a_restart_never_keeps_the_ticket_past_its_overall_limit() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    duo.healthy();
    // Started once already, 290 s ago, 540 s after the password.
    let first = LoginTicket::new("alice", NOW - LOGIN_MAX_SECONDS + 60).for_duo(
        State::generate(&[1; 32]),
        Nonce::generate(&[2; 32]),
        NOW - 290,
    );
    let cookie = first.seal(&key());
    let outcome =
        start(&store, &duo, "closed", &memo, Some(&cookie), Some(APP_ORIGIN), NOW).unwrap();
    let StartOutcome::Duo { max_age, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(max_age, 60);
}

#[test]
fn duo_is_told_the_users_duo_username_when_set() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    store.add_user(UserRecord {
        duo_username: Some("dora@example.com".to_owned()),
        ..user("dora", "dora-pass", "required", false)
    });
    duo.healthy();
    let cookie = login_cookie("dora", NOW);
    let outcome =
        start(&store, &duo, "closed", &memo, Some(&cookie), Some(APP_ORIGIN), NOW).unwrap();
    let StartOutcome::Duo { url, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(request_claims(&url)["duo_uname"], "dora@example.com");
}

#[test]
fn a_healthy_duo_is_trusted_for_a_minute_and_a_failure_for_ten_seconds() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let cookie = login_cookie("alice", NOW);
    let go = |now| start(&store, &duo, "closed", &memo, Some(&cookie), Some(APP_ORIGIN), now);
    duo.healthy();
    assert!(go(NOW).is_ok());
    assert!(go(NOW + HEALTH_MEMO_SECONDS - 1).is_ok(), "no second health check");
    assert_eq!(duo.paths().len(), 1);
    duo.unreachable();
    let failed_at = NOW + HEALTH_MEMO_SECONDS;
    let refusal = go(failed_at).unwrap_err();
    assert_eq!(refusal.reason, Reason::DuoUnreachable);
    duo.healthy();
    let again = go(failed_at + FAILURE_MEMO_SECONDS - 1).unwrap_err();
    assert_eq!(again.reason, Reason::DuoUnreachable, "the failure is applied again");
    assert_eq!(duo.paths().len(), 2, "without a new health check");
    assert!(go(failed_at + FAILURE_MEMO_SECONDS).is_ok(), "then Duo is checked again");
    assert_eq!(duo.paths().len(), 3);
}

#[test]
fn a_remembered_failure_fails_open_again_without_a_new_check() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let cookie = login_cookie("alice", NOW);
    let go = |now| start(&store, &duo, "open", &memo, Some(&cookie), Some(APP_ORIGIN), now);
    duo.unreachable().healthy();
    assert!(matches!(go(NOW), Ok(StartOutcome::FailOpen { .. })));
    store.sessions.borrow_mut().clear(); // `start` draws the same session id each time
    let again = go(NOW + FAILURE_MEMO_SECONDS - 1);
    assert!(matches!(again, Ok(StartOutcome::FailOpen { .. })), "{again:?}");
    assert_eq!(duo.paths().len(), 1, "no new health check inside the window");
    assert!(matches!(go(NOW + FAILURE_MEMO_SECONDS), Ok(StartOutcome::Duo { .. })));
    assert_eq!(store.audit().iter().filter(|(_, _, r)| *r == "fail_open").count(), 2);
}

/// Health check answers that mean Duo is down: only these may fail open.
fn unreachable_answers() -> Vec<(&'static str, Result<HttpResponse, TransportError>)> {
    vec![
        ("connect", Err(TransportError::new(TransportErrorKind::Connect, "refused"))),
        ("timeout", Err(TransportError::new(TransportErrorKind::Timeout, "10 s"))),
        ("502 page", Ok(HttpResponse::new(502, "<html>Bad Gateway</html>"))),
        ("503 FAIL", Ok(HttpResponse::new(503, r#"{"stat":"FAIL","code":50301,"message":"x"}"#))),
        ("FAIL 5xxxx", Ok(HttpResponse::new(200, r#"{"stat":"FAIL","code":50001,"message":"x"}"#))),
    ]
}

/// Health check answers that mean Duo refuses us or is not Duo: never
/// fail open, whatever the mode.
fn refusing_answers() -> Vec<(&'static str, Result<HttpResponse, TransportError>, Reason)> {
    let invalid_client =
        r#"{"stat":"FAIL","code":40002,"message":"invalid_client","message_detail":"x"}"#;
    vec![
        (
            "FAIL invalid_client",
            Ok(HttpResponse::new(200, invalid_client)),
            Reason::DuoHealthRejected,
        ),
        ("400 FAIL", Ok(HttpResponse::new(400, invalid_client)), Reason::DuoHealthRejected),
        (
            "OAuth error",
            Ok(HttpResponse::new(401, r#"{"error":"invalid_client","error_description":"x"}"#)),
            Reason::DuoHealthRejected,
        ),
        (
            "OAuth error at 500",
            Ok(HttpResponse::new(500, r#"{"error":"invalid_client"}"#)),
            Reason::DuoHealthRejected,
        ),
        (
            "404 page",
            Ok(HttpResponse::new(404, "<html>Not Found</html>")),
            Reason::DuoHealthRejected,
        ),
        ("redirect", Ok(HttpResponse::new(302, "")), Reason::DuoHealthRejected),
        ("200 not JSON", Ok(HttpResponse::new(200, "<html>hi</html>")), Reason::DuoHealthMalformed),
        (
            "200 no stat",
            Ok(HttpResponse::new(200, r#"{"response":{}}"#)),
            Reason::DuoHealthMalformed,
        ),
        (
            "TLS",
            Err(TransportError::new(TransportErrorKind::Tls, "bad certificate")),
            Reason::DuoHealthTransport,
        ),
        (
            "too large",
            Err(TransportError::new(TransportErrorKind::BodyTooLarge, "body")),
            Reason::DuoHealthMalformed,
        ),
    ]
}

#[test]
fn only_an_unreachable_duo_fails_open() {
    for (what, answer) in unreachable_answers() {
        let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
        let cookie = login_cookie("alice", NOW);
        duo.reply(answer);
        let outcome = start(&store, &duo, "open", &memo, Some(&cookie), Some(APP_ORIGIN), NOW);
        assert!(matches!(outcome, Ok(StartOutcome::FailOpen { .. })), "{what}: {outcome:?}");
        assert_eq!(store.audit(), [("duo_start", "success", "fail_open")], "{what}");
        assert_eq!(memo.reachability(), DuoReachability::Unreachable, "{what}");
    }
}

#[test]
fn a_duo_that_refuses_us_is_never_failed_open() {
    for mode in ["open", "closed"] {
        for (what, answer, reason) in refusing_answers() {
            let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
            let cookie = login_cookie("alice", NOW);
            duo.reply(answer);
            let go = |now| start(&store, &duo, mode, &memo, Some(&cookie), Some(APP_ORIGIN), now);
            let refusal = go(NOW).unwrap_err();
            assert_eq!(refusal.reason, reason, "{mode} {what}");
            let code = if reason == Reason::DuoHealthTransport {
                ErrorCode::DuoUnavailable
            } else {
                ErrorCode::ConfigError
            };
            assert_eq!(refusal.code(), code, "{mode} {what}");
            assert!(refusal.detail.is_some(), "{mode} {what}: the log says why");
            assert_eq!(store.session_count(), 0, "{mode} {what}");
            assert_eq!(store.audit(), [("duo_start", "error", reason.as_str())], "{mode} {what}");
            // Remembered too: a retry inside the window gets the same refusal.
            duo.healthy();
            assert_eq!(go(NOW + 1).unwrap_err().reason, reason, "{mode} {what}");
            assert_eq!(duo.paths().len(), 1, "{mode} {what}");
        }
    }
}

#[test]
fn duo_down_fail_closed_refuses_the_second_step() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let cookie = login_cookie("alice", NOW);
    duo.unreachable();
    let down = start(&store, &duo, "closed", &memo, Some(&cookie), Some(APP_ORIGIN), NOW);
    let refusal = down.unwrap_err();
    assert_eq!(
        (refusal.reason, refusal.code()),
        (Reason::DuoUnreachable, ErrorCode::DuoUnavailable)
    );
    assert!(refusal.detail.is_some_and(|d| d.contains("could not reach Duo (Connect)")));
    assert_eq!(memo.reachability(), DuoReachability::Unreachable);
    // A health check that answers `stat: FAIL` is just as down.
    duo.reply(Ok(HttpResponse::new(503, r#"{"stat":"FAIL","code":50301,"message":"down"}"#)));
    let memo = HealthMemo::new();
    let failed = start(&store, &duo, "closed", &memo, Some(&cookie), Some(APP_ORIGIN), NOW);
    assert_eq!(failed.unwrap_err().code(), ErrorCode::DuoUnavailable);
    assert_eq!(store.session_count(), 0);
    assert_eq!(
        store.audit(),
        [("duo_start", "error", "duo_unreachable"), ("duo_start", "error", "duo_unreachable")]
    );
}

#[test]
fn duo_down_fail_open_issues_a_fail_open_session() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let cookie = login_cookie("alice", NOW);
    duo.unreachable();
    let outcome = start(&store, &duo, "open", &memo, Some(&cookie), Some(APP_ORIGIN), NOW).unwrap();
    let StartOutcome::FailOpen { session, duo_error } = outcome else { panic!("{outcome:?}") };
    assert_eq!(session.info.method, AuthMethod::FailOpen);
    assert_eq!((session.info.username.as_str(), session.info.duo.as_ref()), ("alice", None));
    assert!(duo_error.contains("could not reach Duo"), "{duo_error}");
    let sessions = store.sessions.borrow();
    assert_eq!(sessions[&session.id.storage_key()].session.method, "fail_open");
    assert_eq!(store.audit(), [("duo_start", "success", "fail_open")]);
}

#[test]
fn fail_open_still_requires_the_origin_and_the_login_cookie() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let cookie = login_cookie("alice", NOW);
    let evil = start(&store, &duo, "open", &memo, Some(&cookie), Some("https://evil.example"), NOW);
    assert_eq!(evil.unwrap_err().reason, Reason::ForbiddenOrigin);
    let none = start(&store, &duo, "open", &memo, None, Some(APP_ORIGIN), NOW);
    assert_eq!(none.unwrap_err().reason, Reason::LoginCookieMissing);
    assert!(duo.requests.borrow().is_empty(), "Duo is not asked before these checks");
    assert_eq!(store.session_count(), 0);
}

#[test]
fn start_checks_the_origin_first() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let cookie = login_cookie("alice", NOW);
    for origin in
        [None, Some("null"), Some("https://evil.example"), Some("https://login.example.com/")]
    {
        let refusal = start(&store, &duo, "closed", &memo, Some(&cookie), origin, NOW).unwrap_err();
        assert_eq!(
            (refusal.reason, refusal.code()),
            (Reason::ForbiddenOrigin, ErrorCode::ForbiddenOrigin)
        );
    }
    assert_eq!(store.last_event().reason, "forbidden_origin");
    assert_eq!(store.last_event().outcome.as_str(), "failure");
    assert!(duo.requests.borrow().is_empty());
}

#[test]
fn start_requires_a_valid_login_cookie() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let genuine = login_cookie("alice", NOW);
    let (payload, tag) = genuine.split_once('.').unwrap();
    let tampered = format!("{payload}.{}", tag.chars().rev().collect::<String>());
    let expired = login_cookie("alice", NOW - LOGIN_TTL_SECONDS);
    let future = login_cookie("alice", NOW + 3600);
    let cases = [
        (None, Reason::LoginCookieMissing),
        (Some("garbage"), Reason::LoginCookieInvalid),
        (Some(tampered.as_str()), Reason::LoginCookieInvalid),
        (Some(future.as_str()), Reason::LoginCookieInvalid),
        (Some(expired.as_str()), Reason::LoginCookieExpired),
    ];
    for (cookie, expected) in cases {
        let refusal =
            start(&store, &duo, "closed", &memo, cookie, Some(APP_ORIGIN), NOW).unwrap_err();
        assert_eq!(
            (refusal.reason, refusal.code()),
            (expected, ErrorCode::LoginExpired),
            "{cookie:?}"
        );
        assert_eq!(store.last_event().reason, expected.as_str());
    }
    assert!(duo.requests.borrow().is_empty());
}

#[test]
fn start_refuses_a_user_gone_or_disabled_since_the_password() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    for name in ["erin", "ghost"] {
        let cookie = login_cookie(name, NOW);
        let refusal =
            start(&store, &duo, "closed", &memo, Some(&cookie), Some(APP_ORIGIN), NOW).unwrap_err();
        assert_eq!(
            (refusal.reason, refusal.code()),
            (Reason::UserUnavailable, ErrorCode::LoginExpired)
        );
    }
    assert!(duo.requests.borrow().is_empty());
}

#[test]
fn duo_starts_are_limited_per_user_before_the_health_check() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let config = config("closed");
    assert_eq!(config.duo_start_limit, 5);
    let cookie = login_cookie("alice", NOW);
    duo.healthy();
    // From five different clients: the limit is the user's, not the client's.
    for n in 0..5 {
        let ctx = ctx(NOW + n, &format!("192.0.2.{}", 40 + n));
        let request =
            StartRequest { origin: Some(APP_ORIGIN), login_cookie: Some(&cookie), remember: false };
        let outcome = block_on(duo_start(&store, &duo, &config, &memo, request, &ctx, &random(7)));
        assert!(matches!(outcome, Ok(StartOutcome::Duo { .. })), "start {n}: {outcome:?}");
    }
    // The sixth is refused before Duo is asked anything (a fresh memo
    // would otherwise check Duo's health).
    let memo = HealthMemo::new();
    duo.healthy();
    let refusal =
        start(&store, &duo, "closed", &memo, Some(&cookie), Some(APP_ORIGIN), NOW + 5).unwrap_err();
    assert_eq!((refusal.reason, refusal.code()), (Reason::DuoStartLimit, ErrorCode::RateLimited));
    let window_end = window_start(NOW) + WINDOW_SECONDS;
    assert_eq!(refusal.retry_after, Some(window_end - (NOW + 5)));
    assert_eq!(duo.paths().len(), 1);
    assert_eq!(store.last_event().reason, "duo_start_limit");
    assert_eq!(store.last_event().outcome.as_str(), "rate_limited");
    assert_eq!(store.last_event().username, "alice");
    // Another user is not affected; the next window starts afresh.
    store.add_user(user("dora", "dora-pass", "required", false));
    let dora = login_cookie("dora", NOW);
    assert!(start(&store, &duo, "closed", &memo, Some(&dora), Some(APP_ORIGIN), NOW + 6).is_ok());
    let later = login_cookie("alice", window_end);
    duo.healthy();
    let next = start(&store, &duo, "closed", &memo, Some(&later), Some(APP_ORIGIN), window_end);
    assert!(next.is_ok(), "{next:?}");
}

#[test]
fn concurrent_duo_starts_get_at_most_the_limit_through() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let config = config("closed");
    let cookie = login_cookie("alice", NOW);
    for _ in 0..30 {
        duo.healthy();
    }
    let ctxs: Vec<_> = (0..30).map(|n| ctx(NOW, &format!("198.51.100.{n}"))).collect();
    let random = random(7);
    let futures: Vec<Task<'_, Result<StartOutcome, Refusal>>> = ctxs
        .iter()
        .map(|ctx| {
            let request = StartRequest {
                origin: Some(APP_ORIGIN),
                login_cookie: Some(&cookie),
                remember: false,
            };
            Box::pin(duo_start(&store, &duo, &config, &memo, request, ctx, &random)) as Task<'_, _>
        })
        .collect();
    let results = join_all(futures);
    let through = results.iter().filter(|r| matches!(r, Ok(StartOutcome::Duo { .. }))).count();
    let limited = results
        .iter()
        .filter(|r| matches!(r, Err(refusal) if refusal.reason == Reason::DuoStartLimit))
        .count();
    assert_eq!((through, limited), (5, 25));
}

#[test]
fn fail_open_counts_against_the_duo_start_limit_too() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let cookie = login_cookie("alice", NOW);
    duo.unreachable();
    for n in 0..5 {
        store.sessions.borrow_mut().clear(); // `start` draws the same session id each time
        let outcome = start(&store, &duo, "open", &memo, Some(&cookie), Some(APP_ORIGIN), NOW + n);
        assert!(matches!(outcome, Ok(StartOutcome::FailOpen { .. })), "{n}: {outcome:?}");
    }
    let refusal =
        start(&store, &duo, "open", &memo, Some(&cookie), Some(APP_ORIGIN), NOW + 5).unwrap_err();
    assert_eq!(refusal.reason, Reason::DuoStartLimit);
}

#[test]
fn a_fail_open_session_lives_only_the_fail_open_ttl() {
    let (store, duo, memo) = (store(), ScriptedDuo::default(), HealthMemo::new());
    let config = config_with("open", &[("DUO_FAILOPEN_SESSION_TTL_SECONDS", "600")]);
    assert_eq!(config.session_ttl_seconds, 3600);
    let cookie = login_cookie("alice", NOW);
    duo.unreachable();
    let request =
        StartRequest { origin: Some(APP_ORIGIN), login_cookie: Some(&cookie), remember: false };
    let ctx = ctx(NOW, "192.0.2.20");
    let outcome = block_on(duo_start(&store, &duo, &config, &memo, request, &ctx, &random(7)));
    let Ok(StartOutcome::FailOpen { session, .. }) = outcome else { panic!("{outcome:?}") };
    assert_eq!(session.max_age, 600);
    assert_eq!(session.info.expires_at, i64::try_from(NOW + 600).unwrap());
    let sessions = store.sessions.borrow();
    assert_eq!(sessions[&session.id.storage_key()].session.expires_at, NOW + 600);
}
