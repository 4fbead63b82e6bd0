//! The Duo provider page ([`crate::flow::provider`]): settings without
//! secrets, the connection test and its diagnoses, and the enforcement
//! switch with its confirmation, its audit and its effect on the login.

use serde_json::json;
use shared::admin::{ENFORCE_OFF_PHRASE, EnforceRequest};
use shared::api::AuthMethod;
use shared::duo::{HttpResponse, TransportError, TransportErrorKind};

use crate::flow::login::LoginOutcome;
use crate::flow::testing::console::{TestRequest, set_enforce, settings, test_connection};
use crate::flow::testing::{
    APP_ORIGIN, CLIENT_SECRET, IKEY, MemoryStore, NOW, SKEY, ScriptedDuo, block_on, config, ctx,
    inline_config, issue_stored, password_step, random, store_with_admin,
};
use crate::flow::{Config, Reason, Success};

fn run_test(
    store: &MemoryStore,
    duo: &ScriptedDuo,
    config: &Config,
    cookie: &str,
) -> shared::admin::DuoTest {
    let ticks = std::cell::Cell::new(1000.0);
    // Each reading 42 ms later: the latency is the clock's, not measured here.
    let clock = || {
        ticks.set(ticks.get() + 42.0);
        ticks.get()
    };
    let request =
        TestRequest { origin: Some(APP_ORIGIN), session_cookie: Some(cookie), clock: &clock };
    block_on(test_connection(store, duo, config, &request, &ctx(NOW, "198.51.100.2"), &random(4)))
        .expect("a test result")
}

#[test]
fn the_settings_show_no_secret() {
    let (store, root) = store_with_admin();
    let prompt = block_on(settings(&store, &config("closed"), Some(&root), NOW)).expect("settings");
    assert_eq!(
        (prompt.mode.as_str(), prompt.key_masked.as_str()),
        ("prompt", "DIEM••••••••••••••T1")
    );
    let callback = shared::api::routes::at(shared::api::routes::DUO_CALLBACK);
    assert_eq!(prompt.redirect_uri, Some(format!("https://login.example.com{callback}")));
    assert!(prompt.enforce_duo, "on without a settings row");
    let wire = serde_json::to_string(&prompt).unwrap();
    assert!(!wire.contains(CLIENT_SECRET) && !wire.contains("DIEMULATORDEVCLIENT1"), "{wire}");

    let inline = inline_config("closed");
    let shown = block_on(settings(&store, &inline, Some(&root), NOW)).expect("settings");
    assert_eq!((shown.key_setting.as_str(), shown.redirect_uri.as_deref()), ("DUO_IKEY", None));
    let wire = serde_json::to_string(&shown).unwrap();
    assert!(!wire.contains(SKEY) && !wire.contains(IKEY), "{wire}");
}

fn password_login(store: &MemoryStore) -> LoginOutcome {
    password_step(store, "alice", "alice-pass", None, &ctx(NOW, "192.0.2.7"))
        .expect("signed in or sent to Duo")
}

#[test]
fn turning_duo_off_takes_the_phrase_is_audited_and_lets_passwords_in() {
    let (store, root) = store_with_admin();
    let config = config("closed");
    let switch = |enforce: bool, confirm: Option<&str>| {
        let asked = EnforceRequest { enforce, confirm: confirm.map(str::to_owned) };
        block_on(set_enforce(
            &store,
            &config,
            Some(APP_ORIGIN),
            Some(&root),
            &asked,
            &ctx(NOW, "198.51.100.2"),
        ))
    };
    assert!(matches!(password_login(&store), LoginOutcome::Duo { .. }));
    for confirm in [None, Some("yes"), Some("turn off duo")] {
        let refused = switch(false, confirm).expect_err("not confirmed");
        assert_eq!(refused.reason, Reason::AdminBadValue);
    }
    assert!(store.admin_events.borrow().is_empty());
    assert!(matches!(password_login(&store), LoginOutcome::Duo { .. }), "still enforced");

    switch(false, Some(ENFORCE_OFF_PHRASE)).expect("off");
    let LoginOutcome::Done { session, success, .. } = password_login(&store) else {
        panic!("a session without Duo")
    };
    assert_eq!((success, session.info.method), (Success::DuoNotEnforced, AuthMethod::Bypass));
    assert_eq!(store.audit().last(), Some(&("login", "success", "duo_not_enforced")));
    let shown = block_on(settings(&store, &config, Some(&root), NOW)).expect("settings");
    assert!(!shown.enforce_duo);
    assert_eq!(shown.enforce_changed_by.as_deref(), Some("root"));

    switch(true, None).expect("on again, no phrase needed");
    assert!(matches!(password_login(&store), LoginOutcome::Duo { .. }));
    let actions: Vec<_> = store.admin_events.borrow().iter().map(|e| e.action).collect();
    assert_eq!(actions, ["enforce_duo_off", "enforce_duo_on"]);

    // A user may not, and no page may without Origin.
    let alice = issue_stored(
        &store,
        "alice",
        AuthMethod::Duo,
        None,
        &ctx(NOW - 5, "192.0.2.1"),
        &random(5),
    );
    let asked = EnforceRequest { enforce: false, confirm: Some(ENFORCE_OFF_PHRASE.into()) };
    let refused = block_on(set_enforce(
        &store,
        &config,
        Some(APP_ORIGIN),
        Some(&alice.id.to_cookie_value()),
        &asked,
        &ctx(NOW, "192.0.2.1"),
    ));
    assert_eq!(refused.expect_err("a user").reason, Reason::NotAdmin);
    let refused =
        block_on(set_enforce(&store, &config, None, Some(&root), &asked, &ctx(NOW, "192.0.2.1")));
    assert_eq!(refused.expect_err("no Origin").reason, Reason::ForbiddenOrigin);
}

#[allow(clippy::unnecessary_wraps, reason = "a scripted reply")]
fn fail(detail: &str) -> Result<HttpResponse, TransportError> {
    let body = json!({"stat": "FAIL", "code": 40002, "message": "invalid_client", "message_detail": detail});
    Ok(HttpResponse::new(200, body.to_string()))
}

#[allow(clippy::unnecessary_wraps, reason = "a scripted reply")]
fn ping(offset: i64) -> Result<HttpResponse, TransportError> {
    let time = i64::try_from(NOW).unwrap() + offset;
    Ok(HttpResponse::new(200, json!({"stat": "OK", "response": {"time": time}}).to_string()))
}

#[test]
fn a_prompt_test_names_the_likely_cause() {
    let (store, root) = store_with_admin();
    let config = config("closed");
    let duo = ScriptedDuo::default();
    duo.reply(Ok(HttpResponse::new(
        200,
        json!({"stat": "OK", "response": {"timestamp": NOW + 3}}).to_string(),
    )));
    let ok = run_test(&store, &duo, &config, &root);
    assert!(ok.ok && ok.cause.is_none(), "{ok:?}");
    assert_eq!(
        (ok.endpoint.as_str(), ok.latency_ms, ok.clock_offset_seconds),
        ("health_check", 42, Some(3))
    );

    duo.reply(fail("The provided client_assertion was invalid.")).reply(ping(2));
    let keys = run_test(&store, &duo, &config, &root);
    assert!(!keys.ok);
    assert!(keys.cause.as_deref().is_some_and(|c| c.contains("DUO_CLIENT_SECRET")), "{keys:?}");
    assert_eq!(
        duo.paths().last().map(String::as_str),
        Some("/auth/v2/ping"),
        "the clock was asked"
    );

    duo.reply(fail("The provided client_assertion was invalid.")).reply(ping(-300));
    let clock = run_test(&store, &duo, &config, &root);
    assert_eq!(clock.clock_offset_seconds, Some(-300));
    assert!(clock.cause.as_deref().is_some_and(|c| c.contains("clock is -300 s off")), "{clock:?}");

    duo.reply(fail("Integration type does not support frameless access"));
    let frameless = run_test(&store, &duo, &config, &root);
    assert!(frameless.cause.as_deref().is_some_and(|c| c.contains("Web SDK")), "{frameless:?}");

    duo.unreachable();
    let down = run_test(&store, &duo, &config, &root);
    assert!(down.cause.as_deref().is_some_and(|c| c.contains("DUO_API_HOST")), "{down:?}");
    duo.reply(Err(TransportError::new(TransportErrorKind::Timeout, "slow")));
    assert_eq!(run_test(&store, &duo, &config, &root).summary, "Duo did not answer in time.");

    let tests: Vec<_> =
        store.admin_events.borrow().iter().map(|e| (e.action, e.detail.clone())).collect();
    assert_eq!(tests.len(), 6, "each test recorded");
    assert_eq!(
        tests[0].1.as_deref(),
        Some(r#"{"endpoint":"health_check","latency_ms":42,"ok":true}"#)
    );
}

#[test]
fn an_inline_test_signs_a_check_and_explains_duo_codes() {
    let (store, root) = store_with_admin();
    let config = inline_config("closed");
    let duo = ScriptedDuo::default();
    duo.reply(ping(0));
    let ok = run_test(&store, &duo, &config, &root);
    assert!(ok.ok, "{ok:?}");
    let sent = duo.requests.borrow().last().cloned().expect("a request");
    assert!(sent.url.ends_with("/auth/v2/check"));
    assert!(
        sent.headers
            .iter()
            .any(|(name, value)| *name == "authorization" && value.starts_with("Basic "))
    );

    let refused = json!({"stat": "FAIL", "code": 40103, "message": "Invalid signature in request credentials"});
    duo.reply(Ok(HttpResponse::new(401, refused.to_string())));
    let wrong = run_test(&store, &duo, &config, &root);
    assert!(!wrong.ok);
    assert!(wrong.summary.contains("40103"), "{wrong:?}");
    assert!(wrong.cause.as_deref().is_some_and(|c| c.contains("DUO_SKEY")), "{wrong:?}");
}
