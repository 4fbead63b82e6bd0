//! `GET /auth/duo/callback` ([`crate::flow::duo_callback`]).

use serde_json::{Value, json};
use shared::ErrorCode;
use shared::api::AuthMethod;
use shared::duo::{HttpResponse, Nonce, State};

use crate::config::SessionSecret;
use crate::cookie::LoginTicket;
use crate::flow::duo_callback::{CallbackQuery, SignedIn, duo_callback};
use crate::flow::testing::{
    MemoryStore, NOW, SESSION_SECRET_B64, ScriptedDuo, Task, allow_claims, block_on, config, ctx,
    join_all, random, sign_id_token, signed_reply, store, token_reply,
};
use crate::flow::{Reason, Refusal};

/// A login cookie after the start step, and its state and nonce.
fn started(username: &str) -> (String, String, String) {
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let (state, nonce) = (State::generate(&[41; 32]), Nonce::generate(&[42; 32]));
    let (s, n) = (state.as_str().to_owned(), nonce.as_str().to_owned());
    let ticket = LoginTicket::new(username, NOW - 20).for_duo(state, nonce, NOW - 10);
    (ticket.seal(&key), s, n)
}

fn query(state: &str, code: &str) -> CallbackQuery {
    CallbackQuery {
        state: Some(state.to_owned()),
        code: Some(code.to_owned()),
        ..CallbackQuery::default()
    }
}

fn callback(
    store: &MemoryStore,
    duo: &ScriptedDuo,
    query: &CallbackQuery,
    cookie: Option<&str>,
) -> Result<SignedIn, Refusal> {
    let config = config("closed");
    block_on(duo_callback(store, duo, &config, query, cookie, &ctx(NOW, "192.0.2.30"), &random(9)))
}

fn refused(result: Result<SignedIn, Refusal>) -> Refusal {
    match result {
        Ok(SignedIn(session, _)) => panic!("expected a refusal, got {session:?}"),
        Err(refusal) => refusal,
    }
}

#[test]
fn an_approved_callback_returns_to_the_tickets_target_if_it_is_still_local() {
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    for (kept, expected) in [
        (Some("/deep/link?x=1"), Some("/deep/link?x=1")),
        (None, None),
        (Some("//evil.example"), None),
    ] {
        let (store, duo) = (store(), ScriptedDuo::default());
        let (state, nonce) = (State::generate(&[41; 32]), Nonce::generate(&[42; 32]));
        let (s, n) = (state.as_str().to_owned(), nonce.as_str().to_owned());
        let mut ticket = LoginTicket::new("alice", NOW - 20).for_duo(state, nonce, NOW - 10);
        // Set directly: a login never seals an unsafe target, and a
        // callback must not trust one if it ever did.
        ticket.return_to = kept.map(str::to_owned);
        duo.reply(Ok(signed_reply(&allow_claims("alice", &n, NOW))));
        let SignedIn(_, target) =
            callback(&store, &duo, &query(&s, "code-1"), Some(&ticket.seal(&key))).unwrap();
        assert_eq!(target.as_ref().map(shared::return_to::ReturnTo::as_str), expected, "{kept:?}");
    }
}

#[test]
fn an_approved_callback_signs_in_with_duos_details() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let (cookie, state, nonce) = started("alice");
    duo.reply(Ok(signed_reply(&allow_claims("alice", &nonce, NOW))));
    let SignedIn(session, _) =
        callback(&store, &duo, &query(&state, "code-1"), Some(&cookie)).unwrap();
    assert_eq!(session.info.method, AuthMethod::Duo);
    assert_eq!(session.info.username, "alice");
    let details = session.info.duo.clone().expect("Duo's details");
    assert_eq!(details.factor.as_deref(), Some("duo_push"));
    assert_eq!(details.device.as_deref(), Some("iPhone 15"));
    assert_eq!(details.txid.as_deref(), Some("txid-0001"));
    assert_eq!(details.result.as_deref(), Some("allow"));
    // The code went to the token endpoint, once.
    let requests = duo.requests.borrow();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].url.ends_with("/oauth/v1/token"));
    let body = String::from_utf8(requests[0].body.clone()).unwrap();
    assert!(body.contains("grant_type=authorization_code") && body.contains("code=code-1"));
    // Stored with Duo's context; audited with Duo's txid.
    let sessions = store.sessions.borrow();
    let row = &sessions[&session.id.storage_key()];
    assert_eq!(row.session.method, "duo");
    let context: Value = serde_json::from_str(row.session.duo_context.as_deref().unwrap()).unwrap();
    assert_eq!(context["txid"], "txid-0001");
    assert_eq!(store.audit(), [("duo_callback", "success", "duo_allow")]);
    assert_eq!(store.last_event().duo_txid.as_deref(), Some("txid-0001"));
}

#[test]
fn a_replayed_callback_is_state_mismatch_and_never_reaches_duo() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let (cookie, state, nonce) = started("alice");
    duo.reply(Ok(signed_reply(&allow_claims("alice", &nonce, NOW))));
    assert!(callback(&store, &duo, &query(&state, "code-1"), Some(&cookie)).is_ok());
    duo.reply(Ok(signed_reply(&allow_claims("alice", &nonce, NOW))));
    let replay = refused(callback(&store, &duo, &query(&state, "code-1"), Some(&cookie)));
    assert_eq!((replay.reason, replay.code()), (Reason::StateReplayed, ErrorCode::StateMismatch));
    assert_eq!(duo.requests.borrow().len(), 1);
    assert_eq!(store.session_count(), 1);
    assert_eq!(store.last_event().reason, "state_replayed");
}

#[test]
fn concurrent_callbacks_with_one_state_sign_in_once() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let (cookie, state, nonce) = started("alice");
    duo.reply(Ok(signed_reply(&allow_claims("alice", &nonce, NOW))));
    duo.reply(Ok(signed_reply(&allow_claims("alice", &nonce, NOW))));
    let config = config("closed");
    let (q, c) = (query(&state, "code-1"), ctx(NOW, "192.0.2.30"));
    let (r1, r2) = (random(1), random(2));
    let futures: Vec<Task<'_, Result<SignedIn, Refusal>>> = vec![
        Box::pin(duo_callback(&store, &duo, &config, &q, Some(&cookie), &c, &r1)),
        Box::pin(duo_callback(&store, &duo, &config, &q, Some(&cookie), &c, &r2)),
    ];
    let results = join_all(futures);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    let loser = results.into_iter().find_map(Result::err).expect("one refusal");
    assert_eq!(loser.reason, Reason::StateReplayed);
    assert_eq!(duo.requests.borrow().len(), 1, "only the winner exchanged the code");
    assert_eq!(store.session_count(), 1);
}

#[test]
fn the_state_must_be_this_browsers() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let (cookie, state, _) = started("alice");
    let other = State::generate(&[99; 32]);
    let mismatch = refused(callback(&store, &duo, &query(other.as_str(), "c"), Some(&cookie)));
    assert_eq!(
        (mismatch.reason, mismatch.code()),
        (Reason::StateMismatch, ErrorCode::StateMismatch)
    );
    for bad in
        [CallbackQuery { code: Some("c".into()), ..CallbackQuery::default() }, query("short", "c")]
    {
        let missing = refused(callback(&store, &duo, &bad, Some(&cookie)));
        assert_eq!(
            (missing.reason, missing.code()),
            (Reason::StateMissing, ErrorCode::StateMismatch)
        );
    }
    // A cookie from before the Duo step has no state to match.
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let fresh = LoginTicket::new("alice", NOW).seal(&key);
    let not_started = refused(callback(&store, &duo, &query(&state, "c"), Some(&fresh)));
    assert_eq!(
        (not_started.reason, not_started.code()),
        (Reason::DuoNotStarted, ErrorCode::StateMismatch)
    );
    assert!(store.spent.borrow().is_empty(), "nothing spent");
    assert!(duo.requests.borrow().is_empty());
    assert_eq!(
        store.audit().iter().map(|e| e.2).collect::<Vec<_>>(),
        ["state_mismatch", "state_missing", "state_missing", "duo_not_started"]
    );
}

#[test]
fn duos_error_without_this_browsers_state_cancels_nothing() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let (cookie, state, nonce) = started("alice");
    let forged = [
        CallbackQuery { error: Some("access_denied".into()), ..CallbackQuery::default() },
        CallbackQuery {
            state: Some(State::generate(&[5; 32]).as_str().to_owned()),
            error: Some("access_denied".into()),
            ..CallbackQuery::default()
        },
    ];
    for query in &forged {
        let refusal = refused(callback(&store, &duo, query, Some(&cookie)));
        assert_eq!(refusal.code(), ErrorCode::StateMismatch, "{query:?}");
    }
    // The victim's genuine callback still signs in.
    duo.reply(Ok(signed_reply(&allow_claims("alice", &nonce, NOW))));
    assert!(callback(&store, &duo, &query(&state, "code-1"), Some(&cookie)).is_ok());
}

#[test]
fn duos_error_with_this_browsers_state_is_denied_or_an_error_and_spends_it() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let cases = [
        ("access_denied", Reason::DuoAccessDenied, ErrorCode::DuoDenied, "failure"),
        ("server_error", Reason::DuoErrorRedirect, ErrorCode::DuoError, "error"),
    ];
    for (error, reason, code, outcome) in cases {
        let (cookie, state, _) = started("alice");
        store.spent.borrow_mut().clear();
        let q = CallbackQuery {
            state: Some(state.clone()),
            error: Some(error.into()),
            error_description: Some("Something\nbroke".into()),
            ..CallbackQuery::default()
        };
        let refusal = refused(callback(&store, &duo, &q, Some(&cookie)));
        assert_eq!((refusal.reason, refusal.code()), (reason, code));
        assert!(refusal.detail.is_some_and(|d| !d.contains('\n')), "log detail is one line");
        assert_eq!(store.last_event().outcome.as_str(), outcome);
        let replay = refused(callback(&store, &duo, &query(&state, "c"), Some(&cookie)));
        assert_eq!(replay.reason, Reason::StateReplayed, "the state is spent");
    }
    assert!(duo.requests.borrow().is_empty());
}

#[test]
fn the_login_cookie_is_required_and_checked_before_the_state_is_spent() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let (cookie, state, nonce) = started("alice");
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let mut expired = LoginTicket::open(&cookie, &key, NOW).unwrap();
    expired.expires_at = NOW;
    let expired = expired.seal(&key);
    let (payload, tag) = cookie.split_once('.').unwrap();
    let tampered = format!("{}.{tag}", payload.replacen('e', "f", 1));
    let cases = [
        (None, Reason::LoginCookieMissing),
        (Some(expired.as_str()), Reason::LoginCookieExpired),
        (Some(tampered.as_str()), Reason::LoginCookieInvalid),
    ];
    for (bad, reason) in cases {
        let refusal = refused(callback(&store, &duo, &query(&state, "code-1"), bad));
        assert_eq!((refusal.reason, refusal.code()), (reason, ErrorCode::LoginExpired));
    }
    assert!(store.spent.borrow().is_empty());
    duo.reply(Ok(signed_reply(&allow_claims("alice", &nonce, NOW))));
    assert!(callback(&store, &duo, &query(&state, "code-1"), Some(&cookie)).is_ok());
}

#[test]
fn a_missing_or_malformed_code_is_duo_error() {
    let (store, duo) = (store(), ScriptedDuo::default());
    for (code, reason) in [(None, Reason::CodeMissing), (Some("two words"), Reason::CodeMalformed)]
    {
        let (cookie, state, _) = started("alice");
        store.spent.borrow_mut().clear();
        let q = CallbackQuery {
            state: Some(state),
            code: code.map(str::to_owned),
            ..CallbackQuery::default()
        };
        let refusal = refused(callback(&store, &duo, &q, Some(&cookie)));
        assert_eq!((refusal.reason, refusal.code()), (reason, ErrorCode::DuoError));
    }
    assert!(duo.requests.borrow().is_empty());
}

/// Runs one callback whose token endpoint answers `reply`.
fn exchange(reply: Result<HttpResponse, shared::duo::TransportError>) -> (MemoryStore, Refusal) {
    let (store, duo) = (store(), ScriptedDuo::default());
    let (cookie, state, _) = started("alice");
    duo.reply(reply);
    let refusal = refused(callback(&store, &duo, &query(&state, "code-1"), Some(&cookie)));
    assert_eq!(store.session_count(), 0);
    (store, refusal)
}

#[test]
fn token_endpoint_failures_are_unavailable_or_duo_error() {
    use shared::duo::{TransportError, TransportErrorKind};
    let cases = [
        (
            Ok(HttpResponse::new(503, "Service Unavailable")),
            Reason::DuoHttpStatus,
            ErrorCode::DuoUnavailable,
        ),
        (Ok(HttpResponse::new(500, "{}")), Reason::DuoHttpStatus, ErrorCode::DuoUnavailable),
        (
            Err(TransportError::new(TransportErrorKind::Timeout, "no answer within 10 s")),
            Reason::DuoUnreachable,
            ErrorCode::DuoUnavailable,
        ),
        (
            Ok(HttpResponse::new(400, r#"{"error":"invalid_grant","error_description":"used"}"#)),
            Reason::DuoOAuthError,
            ErrorCode::DuoError,
        ),
        (Ok(HttpResponse::new(200, "not json")), Reason::DuoMalformed, ErrorCode::DuoError),
        (
            Ok(HttpResponse::new(200, r#"{"access_token":"a"}"#)),
            Reason::DuoMalformed,
            ErrorCode::DuoError,
        ),
    ];
    for (reply, reason, code) in cases {
        let (store, refusal) = exchange(reply);
        assert_eq!((refusal.reason, refusal.code()), (reason, code));
        assert_eq!(store.last_event().outcome.as_str(), "error");
    }
    let (_, timeout) = exchange(Err(shared::duo::TransportError::new(
        shared::duo::TransportErrorKind::Timeout,
        "no answer within 10 s",
    )));
    assert!(timeout.detail.is_some_and(|d| d.contains("could not reach Duo (Timeout)")));
}

#[test]
fn every_id_token_defect_is_duo_error_without_a_session() {
    let (_, _, nonce) = started("alice");
    let hs512 = json!({"alg": "HS512", "typ": "JWT"});
    let with = |key: &str, value: Value| {
        let mut claims = allow_claims("alice", &nonce, NOW);
        claims[key] = value;
        sign_id_token(&hs512, &claims)
    };
    let mut bad_signature = sign_id_token(&hs512, &allow_claims("alice", &nonce, NOW));
    let last = if bad_signature.ends_with('A') { "B" } else { "A" };
    bad_signature.replace_range(bad_signature.len() - 1.., last);
    let mut no_nonce = allow_claims("alice", &nonce, NOW);
    no_nonce.as_object_mut().unwrap().remove("nonce");
    let defects = [
        (with("nonce", json!(Nonce::generate(&[1; 32]).as_str())), Reason::IdTokenNonce),
        (sign_id_token(&hs512, &no_nonce), Reason::IdTokenNonce),
        (bad_signature, Reason::IdTokenSignature),
        (
            sign_id_token(&json!({"alg": "HS256"}), &allow_claims("alice", &nonce, NOW)),
            Reason::IdTokenSignature,
        ),
        (
            sign_id_token(&json!({"alg": "none"}), &allow_claims("alice", &nonce, NOW)),
            Reason::IdTokenSignature,
        ),
        (with("exp", json!(NOW - 120)), Reason::IdTokenTime),
        (with("iat", json!(NOW + 600)), Reason::IdTokenTime),
        (with("preferred_username", json!("mallory")), Reason::IdTokenUsername),
        (with("iss", json!("https://evil.example/oauth/v1/token")), Reason::IdTokenIssuer),
        (with("aud", json!("DIOTHERCLIENTID00000")), Reason::IdTokenAudience),
    ];
    for (id_token, reason) in defects {
        let (store, refusal) = exchange(Ok(token_reply(&id_token)));
        assert_eq!((refusal.reason, refusal.code()), (reason, ErrorCode::DuoError));
        assert_eq!(store.last_event().reason, reason.as_str());
    }
}

#[test]
fn duos_deny_is_duo_denied_and_audited_with_its_txid() {
    let (_, _, nonce) = started("alice");
    let mut claims = allow_claims("alice", &nonce, NOW);
    claims["auth_result"] = json!({"status": "deny", "result": "deny"});
    let (store, refusal) = exchange(Ok(signed_reply(&claims)));
    assert_eq!((refusal.reason, refusal.code()), (Reason::DuoDenied, ErrorCode::DuoDenied));
    assert_eq!(store.audit(), [("duo_callback", "failure", "duo_denied")]);
    assert_eq!(store.last_event().duo_txid.as_deref(), Some("txid-0001"));
}

#[test]
fn a_prompt_that_refused_the_account_or_was_cancelled_says_so() {
    for (why, reason, denial) in [
        ("locked_out", Reason::DuoAccountDenied, Some(shared::api::DuoDenial::Account)),
        ("user_disabled", Reason::DuoAccountDenied, Some(shared::api::DuoDenial::Account)),
        ("deny_unenrolled_user", Reason::DuoAccountDenied, Some(shared::api::DuoDenial::Account)),
        ("user_cancelled", Reason::DuoCancelled, Some(shared::api::DuoDenial::Cancelled)),
        ("user_mistake", Reason::DuoDenied, None),
    ] {
        let (_, _, nonce) = started("alice");
        let mut claims = allow_claims("alice", &nonce, NOW);
        claims["auth_result"] = json!({"status": "deny", "result": "deny"});
        claims["auth_context"]["reason"] = json!(why);
        let (store, refusal) = exchange(Ok(signed_reply(&claims)));
        assert_eq!((refusal.reason, refusal.code()), (reason, ErrorCode::DuoDenied), "{why}");
        assert_eq!(refusal.reason.denial(), denial, "{why}");
        assert_eq!(store.audit(), [("duo_callback", "failure", reason.as_str())]);
    }
}

#[test]
fn an_allow_status_with_a_deny_result_is_duo_denied_without_a_session() {
    // Issue #11: a correctly signed token whose `auth_result` contradicts
    // itself is a denial, never a session.
    let (_, _, nonce) = started("alice");
    let mut claims = allow_claims("alice", &nonce, NOW);
    claims["auth_result"] = json!({"status": "allow", "result": "deny"});
    let (store, refusal) = exchange(Ok(signed_reply(&claims)));
    assert_eq!((refusal.reason, refusal.code()), (Reason::DuoDenied, ErrorCode::DuoDenied));
    assert_eq!(store.audit(), [("duo_callback", "failure", "duo_denied")]);
    assert!(store.sessions.borrow().is_empty(), "no session for a denial");
}

#[test]
fn a_user_disabled_during_the_prompt_is_refused() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let (cookie, state, nonce) = started("erin");
    duo.reply(Ok(signed_reply(&allow_claims("erin", &nonce, NOW))));
    let refusal = refused(callback(&store, &duo, &query(&state, "code-1"), Some(&cookie)));
    assert_eq!(
        (refusal.reason, refusal.code()),
        (Reason::UserUnavailable, ErrorCode::LoginExpired)
    );
    assert!(duo.requests.borrow().is_empty());
}

#[test]
fn callback_query_takes_duo_code_over_code_and_the_first_of_each() {
    let q = CallbackQuery::parse("code=plain&state=first&duo_code=duo&state=second&error=e&x=y");
    assert_eq!(q.code.as_deref(), Some("duo"));
    assert_eq!(q.state.as_deref(), Some("first"));
    assert_eq!(q.error.as_deref(), Some("e"));
    assert_eq!(CallbackQuery::parse("code=a&code=b").code.as_deref(), Some("a"));
    assert_eq!(CallbackQuery::parse("state=a%2Bb+c").state.as_deref(), Some("a+b c"));
    assert_eq!(CallbackQuery::parse(""), CallbackQuery::default());
}

/// What is spent once is named by its kind: a state keeps the key states
/// always had (those spent before stay spent), and a transaction id with
/// the same text is another key.
#[test]
fn single_use_values_are_keyed_by_their_kind() {
    use crate::flow::store::SingleUse;
    use crate::keys::{IdHash, Txid, hex_sha256};
    let state = State::generate(&[5; 32]);
    let as_state = SingleUse::DuoState(&state).storage_key();
    assert_eq!(as_state, hex_sha256(state.as_str().as_bytes()));
    let txid = Txid::new(state.as_str().to_owned());
    let as_txid = SingleUse::InlineTransaction(&txid).storage_key();
    assert_ne!(as_state, as_txid);
    assert!(IdHash::parse(&as_txid).is_some());
}
