//! The inline mode ([`crate::flow::inline`]): preauth after the password,
//! starting a factor, following it.

use serde_json::{Value, json};
use shared::ErrorCode;
use shared::api::{AuthMethod, InlineMethod, InlineStartRequest, LoginRequest, Passcode};
use shared::duo::{HttpResponse, TransportError, TransportErrorKind};

use crate::config::SessionSecret;
use crate::cookie::LoginTicket;
use crate::flow::duo_start::{StartRequest, duo_start};
use crate::flow::health::HealthMemo;
use crate::flow::inline::{self, InlineRequest, Progress, parse_start_body};
use crate::flow::limits::{
    PASSCODES_PER_ACCOUNT, PASSCODES_PER_LOGIN, WINDOW_SECONDS, window_start,
};
use crate::flow::login::{DuoLink, LoginInput, LoginOutcome, login};
use crate::flow::testing::{
    APP_ORIGIN, CountingVerifier, IKEY, MemoryStore, NOW, SESSION_SECRET_B64, SKEY, ScriptedDuo,
    block_on, config_with, ctx, inline_config, random, store, user_key,
};
use crate::flow::{Config, Reason, Refusal};

const IPHONE: &str = "DPIPHONE000000000001";
const DESK: &str = "DPDESKPHONE000000002";
const TXID: &str = "45f7c92b-f45f-4862-8545-e0f58e78075a";

#[allow(clippy::unnecessary_wraps, reason = "a scripted reply")]
fn ok(response: &Value) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse::new(200, json!({"stat": "OK", "response": response}).to_string()))
}

#[allow(clippy::unnecessary_wraps, reason = "a scripted reply")]
fn fail(status: u16, code: u32, message: &str) -> Result<HttpResponse, TransportError> {
    let body = json!({"stat": "FAIL", "code": code, "message": message}).to_string();
    Ok(HttpResponse::new(status, body))
}

fn checked() -> Result<HttpResponse, TransportError> {
    ok(&json!({"time": NOW}))
}

fn devices() -> Value {
    json!({"result": "auth", "status_msg": "Account is active", "devices": [
        {"device": IPHONE, "display_name": "iPhone (XXX-XXX-0100)", "name": "iPhone",
         "number": "XXX-XXX-0100", "type": "phone",
         "capabilities": ["auto", "push", "sms", "phone", "mobile_otp"]},
        {"device": DESK, "display_name": "Office phone (XXX-XXX-0142)", "name": "Office phone",
         "number": "XXX-XXX-0142", "type": "phone", "capabilities": ["auto", "phone"]},
        {"device": "javascript:alert(1)", "display_name": "evil", "capabilities": ["push"]},
        {"device": "DHTOKEN0000000000003", "name": "123", "type": "token"},
    ]})
}

fn sign_in(
    store: &MemoryStore,
    duo: &ScriptedDuo,
    health: &HealthMemo,
    config: &Config,
    username: &str,
) -> Result<LoginOutcome, Refusal> {
    let body = LoginRequest {
        username: username.to_owned(),
        password: shared::api::Password::new(format!("{username}-pass")),
        return_to: None,
        fresh: false,
    };
    let input = LoginInput { body: &body, known_browser: None, remembered: None };
    let link = DuoLink { transport: duo, health };
    let verifier = CountingVerifier::default();
    block_on(login(store, &verifier, link, config, input, &ctx(NOW, "192.0.2.30"), &random(3)))
}

fn start(
    store: &MemoryStore,
    duo: &ScriptedDuo,
    config: &Config,
    cookie: &str,
    body: &InlineStartRequest,
    now: u64,
) -> Result<Progress, Refusal> {
    let request = InlineRequest { origin: Some(APP_ORIGIN), login_cookie: Some(cookie) };
    block_on(inline::start(store, duo, config, request, body, &ctx(now, "192.0.2.30"), &random(4)))
}

fn status(
    store: &MemoryStore,
    duo: &ScriptedDuo,
    config: &Config,
    cookie: &str,
    now: u64,
) -> Result<Progress, Refusal> {
    let request = InlineRequest { origin: Some(APP_ORIGIN), login_cookie: Some(cookie) };
    block_on(inline::status(store, duo, config, request, &ctx(now, "192.0.2.30"), &random(5)))
}

fn push_on(device: &str) -> InlineStartRequest {
    InlineStartRequest {
        method: InlineMethod::Push,
        device: Some(device.to_owned()),
        passcode: None,
        remember: false,
    }
}

fn passcode(code: &str) -> InlineStartRequest {
    InlineStartRequest {
        method: InlineMethod::Passcode,
        device: None,
        passcode: Some(Passcode::new(code)),
        remember: false,
    }
}

fn reason<T: std::fmt::Debug>(result: Result<T, Refusal>) -> Reason {
    match result {
        Ok(outcome) => panic!("expected a refusal, got {outcome:?}"),
        Err(refusal) => refusal.reason,
    }
}

/// The login cookie of a successful inline login.
fn chooser(store: &MemoryStore, duo: &ScriptedDuo, config: &Config) -> String {
    duo.reply(checked()).reply(ok(&devices()));
    match sign_in(store, duo, &HealthMemo::new(), config, "alice") {
        Ok(LoginOutcome::DuoInline { login_cookie, .. }) => login_cookie,
        other => panic!("expected the chooser, got {other:?}"),
    }
}

fn form(request: &shared::duo::HttpRequest) -> Vec<(String, String)> {
    let text = String::from_utf8(request.body.clone()).expect("a form");
    let query = request.url.split_once('?').map_or("", |(_, q)| q).to_owned();
    form_urlencoded::parse(text.as_bytes())
        .chain(form_urlencoded::parse(query.as_bytes()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[test]
fn after_the_password_preauth_lists_the_devices_and_their_methods() {
    use InlineMethod::{Passcode as Code, Phone, Push, Sms};
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    duo.reply(checked()).reply(ok(&devices()));
    let outcome = sign_in(&store, &duo, &HealthMemo::new(), &config, "alice").expect("signed in");
    let LoginOutcome::DuoInline { devices, login_cookie, .. } = outcome else {
        panic!("expected the chooser, got {outcome:?}")
    };
    let listed: Vec<(&str, &str, Vec<InlineMethod>)> =
        devices.iter().map(|d| (d.id.as_str(), d.name.as_str(), d.methods.clone())).collect();
    assert_eq!(
        listed,
        [
            (IPHONE, "iPhone (XXX-XXX-0100)", vec![Push, Phone, Sms, Code]),
            (DESK, "Office phone (XXX-XXX-0142)", vec![Phone]),
            ("DHTOKEN0000000000003", "123", vec![Code]),
        ],
        "a device id that is not Duo's shape is dropped"
    );
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let ticket = LoginTicket::open(&login_cookie, &key, NOW).expect("a ticket");
    assert_eq!(ticket.devices.len(), 3, "the ticket lists the devices offered");
    assert_eq!(duo.paths(), ["/auth/v2/check", "/auth/v2/preauth"]);
    let sent = form(&duo.requests.borrow()[1]);
    assert!(sent.contains(&("username".into(), "alice".into())));
    assert!(sent.contains(&("ipaddr".into(), "192.0.2.30".into())), "{sent:?}");
    assert_eq!(store.audit().last(), Some(&("login", "success", "duo_choose")));
}

#[test]
fn preauth_allow_deny_and_enroll() {
    let (store, config) = (store(), inline_config("closed"));
    // allow: a session, audited as Duo's bypass.
    let duo = ScriptedDuo::default();
    duo.reply(checked())
        .reply(ok(&json!({"result": "allow", "status_msg": "Allowing unknown user"})));
    let Ok(LoginOutcome::Done { session, .. }) =
        sign_in(&store, &duo, &HealthMemo::new(), &config, "alice")
    else {
        panic!("expected a session")
    };
    assert_eq!(session.info.method, AuthMethod::Duo);
    assert_eq!(session.info.duo.as_ref().and_then(|d| d.factor.as_deref()), Some("Duo bypass"));
    assert_eq!(store.audit().last(), Some(&("login", "success", "duo_bypass")));

    // deny: Duo's message for the person.
    let duo = ScriptedDuo::default();
    duo.reply(checked())
        .reply(ok(&json!({"result": "deny", "status_msg": "Your account is locked out"})));
    let refusal = sign_in(&store, &duo, &HealthMemo::new(), &config, "alice").expect_err("denied");
    assert_eq!((refusal.reason, refusal.code()), (Reason::DuoPreauthDenied, ErrorCode::DuoDenied));
    assert_eq!(refusal.message.as_deref(), Some("Your account is locked out"));

    // enroll: Duo's link, when it is a web link.
    let duo = ScriptedDuo::default();
    let link = "https://api-deadbeef.duosecurity.com/portal?code=48bac5d9393fb2c2";
    duo.reply(checked()).reply(ok(&json!({"result": "enroll", "status_msg": "Enroll an authentication device to proceed", "enroll_portal_url": link})));
    let Ok(LoginOutcome::DuoEnroll { enroll_url, message, .. }) =
        sign_in(&store, &duo, &HealthMemo::new(), &config, "alice")
    else {
        panic!("expected the enrollment link")
    };
    assert_eq!(
        (enroll_url.as_str(), message.as_str()),
        (link, "Enroll an authentication device to proceed")
    );
    let duo = ScriptedDuo::default();
    duo.reply(checked()).reply(ok(
        &json!({"result": "enroll", "status_msg": "x", "enroll_portal_url": "javascript:alert(1)"}),
    ));
    let refused = sign_in(&store, &duo, &HealthMemo::new(), &config, "alice");
    assert_eq!(reason(refused), Reason::DuoAuthApiMalformed, "never a script link");
}

#[test]
fn duo_down_fails_closed_or_open_and_wrong_keys_never_fail_open() {
    let store = store();
    let duo = ScriptedDuo::default();
    duo.unreachable();
    let closed = sign_in(&store, &duo, &HealthMemo::new(), &inline_config("closed"), "alice");
    assert_eq!(reason(closed), Reason::DuoUnreachable);

    let duo = ScriptedDuo::default();
    duo.reply(fail(503, 50301, "Service Unavailable"));
    let open = sign_in(&store, &duo, &HealthMemo::new(), &inline_config("open"), "alice");
    let Ok(LoginOutcome::Done { session, .. }) = open else { panic!("expected fail-open") };
    assert_eq!(session.info.method, AuthMethod::FailOpen);
    assert_eq!(store.audit().last(), Some(&("login", "success", "fail_open")));

    // The check passes, preauth is unreachable: the same.
    let duo = ScriptedDuo::default();
    duo.reply(checked()).unreachable();
    let memo = HealthMemo::new();
    let refused = sign_in(&store, &duo, &memo, &inline_config("closed"), "alice");
    assert_eq!(reason(refused), Reason::DuoUnreachable);
    assert_eq!(memo.reachability(), shared::api::DuoReachability::Unreachable);

    for (status, code) in [(401, 40103), (403, 40301), (400, 40002)] {
        let duo = ScriptedDuo::default();
        duo.reply(fail(status, code, "refused"));
        let refused = sign_in(&store, &duo, &HealthMemo::new(), &inline_config("open"), "alice")
            .expect_err("refused");
        assert_eq!(refused.code(), ErrorCode::ConfigError, "{code}");
    }
    let duo = ScriptedDuo::default();
    duo.reply(fail(429, 42901, "Too Many Requests"));
    let limited = sign_in(&store, &duo, &HealthMemo::new(), &inline_config("open"), "alice");
    assert_eq!(reason(limited), Reason::DuoUnreachable, "429 is refused, never let through");
}

#[test]
fn a_push_is_started_followed_and_makes_one_session() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let cookie = chooser(&store, &duo, &config);
    duo.reply(ok(&json!({"txid": TXID})));
    let started =
        start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 5).expect("started");
    let Progress::Started { status: pushed, message, login_cookie, .. } = started else {
        panic!("started")
    };
    assert_eq!(pushed, "pushed");
    assert!(message.contains("iPhone (XXX-XXX-0100)"), "{message}");
    let sent = form(duo.requests.borrow().last().expect("auth"));
    for pair in [("factor", "push"), ("device", IPHONE), ("async", "1"), ("username", "alice")] {
        assert!(sent.contains(&(pair.0.into(), pair.1.into())), "{pair:?} in {sent:?}");
    }
    assert_eq!(store.audit().last(), Some(&("duo_start", "success", "duo_factor_started")));

    duo.reply(ok(&json!({"result": "waiting", "status": "pushed", "status_msg": "Pushed a login request to your device..."})));
    let waiting = status(&store, &duo, &config, &login_cookie, NOW + 6).expect("waiting");
    assert!(
        matches!(waiting, Progress::Waiting { ref status, .. } if status == "pushed"),
        "{waiting:?}"
    );
    // Duo holding the poll past the Worker's bound is "still waiting".
    duo.reply(Err(TransportError::new(TransportErrorKind::Timeout, "held")));
    let held = status(&store, &duo, &config, &login_cookie, NOW + 30).expect("waiting");
    assert!(matches!(held, Progress::Waiting { ref status, .. } if status == "waiting"));
    duo.reply(ok(
        &json!({"result": "allow", "status": "allow", "status_msg": "Success. Logging you in..."}),
    ));
    let done = status(&store, &duo, &config, &login_cookie, NOW + 31).expect("allowed");
    let Progress::Done(session) = done else { panic!("a session") };
    let details = session.info.duo.clone().expect("Duo's details");
    assert_eq!(details.factor.as_deref(), Some("Duo Push"));
    assert_eq!(details.device.as_deref(), Some("iPhone (XXX-XXX-0100)"));
    assert_eq!(details.txid.as_deref(), Some(TXID));
    assert_eq!(store.audit().last(), Some(&("duo_callback", "success", "duo_allow")));
    assert_eq!(store.session_count(), 1);

    // The same ticket cannot make a second session from the same approval.
    duo.reply(ok(&json!({"result": "allow", "status": "allow", "status_msg": "Success."})));
    let replay = status(&store, &duo, &config, &login_cookie, NOW + 32);
    assert_eq!(reason(replay), Reason::StateReplayed);
    assert_eq!(store.session_count(), 1);
}

#[test]
fn denials_carry_duos_message_and_bind_to_the_ticket() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let cookie = chooser(&store, &duo, &config);
    // Nothing started: nothing to follow.
    assert_eq!(reason(status(&store, &duo, &config, &cookie, NOW + 1)), Reason::NoTransaction);
    // A device the preauth did not offer is refused before Duo is asked.
    let asked = duo.requests.borrow().len();
    let elsewhere =
        start(&store, &duo, &config, &cookie, &push_on("DPSOMEONEELSE0000001"), NOW + 2);
    assert_eq!(reason(elsewhere), Reason::DeviceRefused);
    assert_eq!(duo.requests.borrow().len(), asked);
    // Duo refuses a push to a landline: the person is told to choose another.
    duo.reply(fail(400, 40002, "Invalid request parameters"));
    let landline =
        start(&store, &duo, &config, &cookie, &push_on(DESK), NOW + 3).expect_err("no push");
    assert_eq!((landline.reason, landline.code()), (Reason::DeviceRefused, ErrorCode::BadRequest));
    assert!(landline.message.is_some());

    duo.reply(ok(&json!({"txid": TXID})));
    let Ok(Progress::Started { login_cookie, .. }) =
        start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 4)
    else {
        panic!("started")
    };
    duo.reply(ok(
        &json!({"result": "deny", "status": "deny", "status_msg": "Login request denied."}),
    ));
    let denied = status(&store, &duo, &config, &login_cookie, NOW + 5).expect_err("denied");
    assert_eq!((denied.reason, denied.code()), (Reason::DuoFactorDenied, ErrorCode::DuoDenied));
    assert_eq!(denied.message.as_deref(), Some("Login request denied."));
    // A ticket changed by hand (someone else's txid) is not a ticket.
    let mut forged = login_cookie.clone();
    forged.replace_range(0..1, if forged.starts_with('e') { "f" } else { "e" });
    assert_eq!(reason(status(&store, &duo, &config, &forged, NOW + 6)), Reason::LoginCookieInvalid);
    let sent = form(duo.requests.borrow().last().expect("auth_status"));
    assert_eq!(sent, [("txid".to_owned(), TXID.to_owned())], "only the ticket's txid is followed");
}

#[test]
fn passcodes_sms_and_their_limits() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let cookie = chooser(&store, &duo, &config);
    let sms = InlineStartRequest {
        method: InlineMethod::Sms,
        device: Some(IPHONE.into()),
        passcode: None,
        remember: false,
    };
    duo.reply(ok(
        &json!({"result": "deny", "status": "sent", "status_msg": "New SMS passcodes sent."}),
    ));
    let sent = start(&store, &duo, &config, &cookie, &sms, NOW + 1).expect("sent");
    assert!(matches!(sent, Progress::Sent { ref message } if message == "New SMS passcodes sent."));
    assert_eq!(store.audit().last(), Some(&("duo_start", "success", "duo_sms_sent")));

    for attempt in 1..=PASSCODES_PER_LOGIN {
        duo.reply(ok(&json!({"result": "deny", "status": "deny", "status_msg": "Incorrect passcode. Please try again."})));
        let wrong = start(&store, &duo, &config, &cookie, &passcode("1111111"), NOW + 2)
            .expect_err("wrong");
        assert_eq!(wrong.reason, Reason::DuoFactorDenied, "attempt {attempt}");
    }
    let asked = duo.requests.borrow().len();
    let over =
        start(&store, &duo, &config, &cookie, &passcode("2222222"), NOW + 3).expect_err("limit");
    assert_eq!((over.reason, over.code()), (Reason::PasscodeLimit, ErrorCode::RateLimited));
    assert_eq!(duo.requests.borrow().len(), asked, "Duo is not asked past the limit");

    // A new login (a new ticket) may try again; a right passcode signs in.
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let listed = vec![(IPHONE.to_owned(), "iPhone".to_owned())];
    let cookie = LoginTicket::new("alice", NOW + 3).with_devices(listed).seal(&key);
    duo.reply(ok(
        &json!({"result": "allow", "status": "allow", "status_msg": "Success. Logging you in..."}),
    ));
    let done =
        start(&store, &duo, &config, &cookie, &passcode("123456"), NOW + 4).expect("allowed");
    let Progress::Done(session) = done else { panic!("a session") };
    assert_eq!(session.info.duo.and_then(|d| d.factor).as_deref(), Some("Passcode"));
}

#[test]
fn pushes_count_against_the_duo_start_limit() {
    let (store, duo) = (store(), ScriptedDuo::default());
    let config = config_with(
        "closed",
        &[("DUO_MODE", "inline"), ("DUO_IKEY", IKEY), ("DUO_SKEY", SKEY), ("DUO_START_LIMIT", "2")],
    );
    let cookie = chooser(&store, &duo, &config);
    for _ in 0..2 {
        duo.reply(ok(&json!({"txid": TXID})));
        assert!(start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 1).is_ok());
    }
    let third = start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 2);
    assert_eq!(reason(third), Reason::DuoStartLimit);
}

#[test]
fn each_mode_refuses_the_other_modes_steps() {
    let store = store();
    let prompt = config_with("closed", &[]);
    let cookie =
        LoginTicket::new("alice", NOW).seal(&SessionSecret::parse(SESSION_SECRET_B64).unwrap());
    let duo = ScriptedDuo::default();
    assert_eq!(
        reason(start(&store, &duo, &prompt, &cookie, &push_on(IPHONE), NOW)),
        Reason::WrongMode
    );
    let inline = inline_config("closed");
    let request =
        StartRequest { origin: Some(APP_ORIGIN), login_cookie: Some(&cookie), remember: false };
    let redirect = block_on(duo_start(
        &store,
        &duo,
        &inline,
        &HealthMemo::new(),
        request,
        &ctx(NOW, "192.0.2.1"),
        &random(1),
    ));
    assert_eq!(reason(redirect), Reason::WrongMode);
    assert!(duo.requests.borrow().is_empty());
}

#[test]
fn start_bodies_are_checked() {
    let good = br#"{"method":"push","device":"DPIPHONE000000000001"}"#;
    assert!(parse_start_body(good).is_ok());
    assert!(parse_start_body(br#"{"method":"passcode","passcode":"123456"}"#).is_ok());
    for bad in [
        &br#"{"method":"passcode"}"#[..],
        br#"{"method":"push","passcode":"123456"}"#,
        br#"{"method":"push","device":"<script>"}"#,
        br#"{"method":"passcode","passcode":""}"#,
        br#"{"method":"fax"}"#,
        br#"{"method":"push","admin":true}"#,
        b"not json",
    ] {
        assert!(parse_start_body(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    let debug = format!("{:?}", parse_start_body(br#"{"method":"passcode","passcode":"987654"}"#));
    assert!(!debug.contains("987654"), "{debug}");
}

/// A wrong passcode Duo answers for `cookie`'s login at `now`.
fn wrong_passcode(
    store: &MemoryStore,
    duo: &ScriptedDuo,
    config: &Config,
    cookie: &str,
    now: u64,
) -> Refusal {
    duo.reply(ok(&json!({"result": "deny", "status": "deny", "status_msg": "Incorrect passcode. Please try again."})));
    let refused =
        start(store, duo, config, cookie, &passcode("1111111"), now).expect_err("refused");
    duo.unasked();
    refused
}

/// A login ticket of alice's whose password passed at `at`.
fn alice_ticket(at: u64) -> String {
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let listed = vec![(IPHONE.to_owned(), "iPhone".to_owned())];
    LoginTicket::new("alice", at).with_devices(listed).seal(&key)
}

/// Someone with alice's password sends wrong passcodes from login after
/// login: they stop below Duo's lockout (ten in a row), and only a Duo
/// approval or a new password lets passcodes through again.
#[test]
fn wrong_passcodes_are_capped_per_account_across_logins() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let mut denied_by_duo = 0;
    let mut refused_here = 0;
    for login in 0..3 {
        let cookie = alice_ticket(NOW + login * 60);
        for attempt in 0..6 {
            let refusal =
                wrong_passcode(&store, &duo, &config, &cookie, NOW + login * 60 + attempt);
            match refusal.reason {
                Reason::DuoFactorDenied => denied_by_duo += 1,
                Reason::PasscodeLimit | Reason::PasscodeAccountLimit => refused_here += 1,
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(denied_by_duo, PASSCODES_PER_ACCOUNT, "Duo saw no more than the account's cap");
    assert_eq!(refused_here, 18 - PASSCODES_PER_ACCOUNT);
    const { assert!(PASSCODES_PER_ACCOUNT < 10, "below Duo's default lockout") };
    let cookie = alice_ticket(NOW + 300);
    let asked = duo.requests.borrow().len();
    let over =
        start(&store, &duo, &config, &cookie, &passcode("123456"), NOW + 301).expect_err("capped");
    assert_eq!((over.reason, over.code()), (Reason::PasscodeAccountLimit, ErrorCode::RateLimited));
    assert!(over.message.is_some_and(|m| m.contains("Duo Push")), "says what to do instead");
    assert_eq!(duo.requests.borrow().len(), asked, "Duo is not asked");
    assert_eq!(store.last_event().reason, "passcode_account_limit", "audited");

    // A push approved clears the count, as Duo's approval clears Duo's.
    duo.reply(ok(&json!({"txid": TXID})));
    let Ok(Progress::Started { login_cookie, .. }) =
        start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 302)
    else {
        panic!("a push")
    };
    duo.reply(ok(&json!({"result": "allow", "status": "allow", "status_msg": "Success."})));
    assert!(matches!(
        status(&store, &duo, &config, &login_cookie, NOW + 303),
        Ok(Progress::Done(_))
    ));
    let cookie = alice_ticket(NOW + 400);
    assert_eq!(
        wrong_passcode(&store, &duo, &config, &cookie, NOW + 401).reason,
        Reason::DuoFactorDenied
    );

    // So does a new password (whoever was guessing had the old one).
    for at in 0..PASSCODES_PER_ACCOUNT {
        let cookie = alice_ticket(NOW + 500 + u64::from(at) * 60);
        let _ = wrong_passcode(&store, &duo, &config, &cookie, NOW + 501 + u64::from(at) * 60);
    }
    let cookie = alice_ticket(NOW + 1_100);
    let capped = wrong_passcode(&store, &duo, &config, &cookie, NOW + 1_101);
    assert_eq!(capped.reason, Reason::PasscodeAccountLimit);
    let hash = credentials::PasswordHash::derive(b"new-pass-123456", b"other-salt-16-by", 1_000)
        .expect("hash")
        .to_phc();
    let event = crate::flow::store::AdminEvent::new(
        "root".into(),
        "reset_password",
        &ctx(NOW + 1_102, "192.0.2.9"),
    );
    block_on(crate::flow::store::ConsoleStore::change_user(
        &store,
        &user_key("alice"),
        &crate::flow::store::UserUpdate::Password(hash),
        &event,
    ))
    .expect("reset");
    let version = store.users.borrow()["alice"].account_version;
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let listed = vec![(IPHONE.to_owned(), "iPhone".to_owned())];
    let cookie =
        LoginTicket::new("alice", NOW + 1_103).at_version(version).with_devices(listed).seal(&key);
    assert_eq!(
        wrong_passcode(&store, &duo, &config, &cookie, NOW + 1_104).reason,
        Reason::DuoFactorDenied
    );
}

/// One login whose passcodes straddle a window boundary still gets
/// [`PASSCODES_PER_LOGIN`]: its count lives in the window its password
/// passed in.
#[test]
fn one_login_straddling_a_window_gets_its_passcodes_once() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let boundary = window_start(NOW) + WINDOW_SECONDS;
    let cookie = alice_ticket(boundary - 100);
    let mut denied = 0;
    for at in [
        boundary - 90,
        boundary - 80,
        boundary - 70,
        boundary + 10,
        boundary + 20,
        boundary + 30,
        boundary + 40,
    ] {
        if wrong_passcode(&store, &duo, &config, &cookie, at).reason == Reason::DuoFactorDenied {
            denied += 1;
        }
    }
    assert_eq!(denied, PASSCODES_PER_LOGIN);
}

/// The inline steps refuse a login from before an account change: no push
/// is started, and an approval already given makes no session.
#[test]
fn an_inline_login_from_before_an_account_change_goes_no_further() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let cookie = chooser(&store, &duo, &config);
    duo.reply(ok(&json!({"txid": TXID})));
    let Ok(Progress::Started { login_cookie, .. }) =
        start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 1)
    else {
        panic!("a push")
    };
    let event = crate::flow::store::AdminEvent::new(
        "root".into(),
        "revoke_sessions",
        &ctx(NOW + 2, "192.0.2.9"),
    );
    block_on(crate::flow::store::ConsoleStore::change_user(
        &store,
        &user_key("alice"),
        &crate::flow::store::UserUpdate::RevokeSessions,
        &event,
    ))
    .expect("signed out everywhere");
    let asked = duo.requests.borrow().len();
    let again = start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 3);
    assert_eq!(reason(again), Reason::AccountChanged);
    assert_eq!(duo.requests.borrow().len(), asked, "no push sent for a stale login");
    duo.reply(ok(&json!({"result": "allow", "status": "allow", "status_msg": "Success."})));
    let approved = status(&store, &duo, &config, &login_cookie, NOW + 4);
    assert_eq!(reason(approved), Reason::AccountChanged);
    assert_eq!(store.session_count(), 0);
}

/// Two logins in the same second are two logins: each has its own
/// passcodes (the ticket names its login by a random id).
#[test]
fn two_logins_in_one_second_count_their_passcodes_apart() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let key = SessionSecret::parse(SESSION_SECRET_B64).unwrap();
    let listed = vec![(IPHONE.to_owned(), "iPhone".to_owned())];
    let ticket = |seed: u8| {
        LoginTicket::new("alice", NOW)
            .with_devices(listed.clone())
            .identified_by(&[seed; 32])
            .seal(&key)
    };
    let (first, second) = (ticket(1), ticket(2));
    for _ in 0..PASSCODES_PER_LOGIN {
        let _ = wrong_passcode(&store, &duo, &config, &first, NOW + 1);
    }
    let over = wrong_passcode(&store, &duo, &config, &first, NOW + 2);
    assert_eq!(over.reason, Reason::PasscodeLimit);
    let other = wrong_passcode(&store, &duo, &config, &second, NOW + 2);
    assert_eq!(other.reason, Reason::DuoFactorDenied, "the other login's own five");
}

#[test]
fn a_push_says_what_who_which_app_and_from_where() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let cookie = chooser(&store, &duo, &config);
    duo.reply(ok(&json!({"txid": TXID})));
    let place = crate::flow::Ctx {
        country: Some(*b"CH"),
        city: crate::flow::City::parse(" Zürich "),
        ..ctx(NOW + 5, "192.0.2.30")
    };
    let request = InlineRequest { origin: Some(APP_ORIGIN), login_cookie: Some(&cookie) };
    block_on(inline::start(&store, &duo, &config, request, &push_on(IPHONE), &place, &random(4)))
        .expect("started");
    let sent = form(duo.requests.borrow().last().expect("auth"));
    let value = |name: &str| sent.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(value("type").as_deref(), Some(inline::PUSH_TYPE));
    assert_eq!(value("display_username").as_deref(), Some("alice"));
    let pushinfo: Vec<(String, String)> =
        form_urlencoded::parse(value("pushinfo").expect("pushinfo").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    assert_eq!(
        pushinfo,
        [
            ("app".to_owned(), APP_ORIGIN.to_owned()),
            ("address".to_owned(), "192.0.2.30".to_owned()),
            ("location".to_owned(), "Zürich, CH".to_owned()),
        ]
    );
    // Nothing Cloudflare did not say: no location at all.
    let bare = crate::flow::Ctx { country: None, city: None, ..place };
    assert_eq!(inline::push_context(&config, &bare).len(), 2);
    assert_eq!(crate::flow::City::parse("a\nb"), None, "no control characters");
    assert_eq!(crate::flow::City::parse(&"x".repeat(65)), None, "at most 64 bytes");
}

#[test]
fn a_verified_push_carries_preauths_txid_and_shows_the_code() {
    const OFFER: &str = "0f9a7f1c-5b7e-4a43-9a39-1f0e4ad0a6b1";
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let mut required = devices();
    required["txid"] = json!(OFFER);
    duo.reply(checked()).reply(ok(&required));
    let Ok(LoginOutcome::DuoInline { login_cookie: cookie, .. }) =
        sign_in(&store, &duo, &HealthMemo::new(), &config, "alice")
    else {
        panic!("expected the chooser")
    };
    let asked = form(&duo.requests.borrow()[1]);
    assert!(asked.contains(&("client_supports_verified_push".into(), "1".into())), "{asked:?}");

    // The first push carries the offer.
    duo.reply(ok(&json!({"txid": OFFER})));
    let started =
        start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 5).expect("started");
    let Progress::Started { message, login_cookie, .. } = started else { panic!("started") };
    assert!(message.contains("Verified Duo Push"), "{message}");
    let sent = form(duo.requests.borrow().last().expect("auth"));
    assert!(sent.contains(&("txid".into(), OFFER.into())), "{sent:?}");

    // The code arrives in Duo's message and goes to the page, and only there.
    duo.reply(ok(&json!({"result": "waiting", "status": "pushed",
        "status_msg": "Please enter verification code 376 into Duo Mobile..."})));
    let waiting = status(&store, &duo, &config, &login_cookie, NOW + 6).expect("waiting");
    let Progress::Waiting { verification_code, .. } = waiting else { panic!("waiting") };
    assert_eq!(verification_code.as_deref(), Some("376"));
    duo.reply(ok(&json!({"result": "allow", "status": "allow", "status_msg": "Success."})));
    let Ok(Progress::Done(session)) = status(&store, &duo, &config, &login_cookie, NOW + 9) else {
        panic!("a session")
    };
    let factor = session.info.duo.as_ref().and_then(|d| d.factor.clone());
    assert_eq!(factor.as_deref(), Some("Verified Duo Push"));

    // An offer is used once: the next push of the login (a retry after a
    // denial) asks preauth for another, which also sees Duo's verdict now.
    duo.reply(ok(&json!({"result": "auth", "txid": "second-offer", "devices": []})))
        .reply(ok(&json!({"txid": "second-offer"})));
    start(&store, &duo, &config, &login_cookie, &push_on(IPHONE), NOW + 10).expect("again");
    let paths = duo.paths();
    assert_eq!(paths[paths.len() - 2..], ["/auth/v2/preauth", "/auth/v2/auth"]);
    let sent = form(duo.requests.borrow().last().expect("auth"));
    assert!(sent.contains(&("txid".into(), "second-offer".into())), "{sent:?}");

    // A stale offer (past 45 s) is not sent: preauth again, and Duo's deny
    // since (locked out meanwhile) refuses with Duo's words.
    duo.reply(ok(&json!({"result": "deny", "status_msg": "Your account is locked out"})));
    let late = start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 50);
    let refusal = late.expect_err("denied");
    assert_eq!(refusal.reason, Reason::DuoPreauthDenied);
    assert_eq!(refusal.message.as_deref(), Some("Your account is locked out"));

    // Other methods never carry the offer.
    duo.reply(ok(&json!({"txid": TXID})));
    let call = InlineStartRequest { method: InlineMethod::Phone, ..push_on(DESK) };
    start(&store, &duo, &config, &cookie, &call, NOW + 7).expect("a call");
    let sent = form(duo.requests.borrow().last().expect("auth"));
    assert!(!sent.iter().any(|(name, _)| name == "txid"), "{sent:?}");
}

#[test]
fn a_plain_push_stays_plain_when_preauth_offers_no_verified_push() {
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    let cookie = chooser(&store, &duo, &config);
    duo.reply(ok(&json!({"txid": TXID})));
    let started =
        start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 60).expect("started");
    assert!(matches!(started, Progress::Started { verification_code: None, .. }));
    assert_eq!(duo.paths().last().map(String::as_str), Some("/auth/v2/auth"), "no second preauth");
    let sent = form(duo.requests.borrow().last().expect("auth"));
    assert!(!sent.iter().any(|(name, _)| name == "txid"), "{sent:?}");
}

#[test]
fn a_push_reported_as_fraud_puts_the_account_on_hold_until_an_admin_releases_it() {
    use crate::flow::testing::{console, session_cookie};
    use shared::admin::UserChange;
    let (store, duo, config) = (store(), ScriptedDuo::default(), inline_config("closed"));
    store.add_user(crate::flow::store::UserRecord {
        role: "admin".to_owned(),
        ..crate::flow::testing::user("root", "x", "required", false)
    });
    let earlier = session_cookie(&store, "alice", 40);
    let root = session_cookie(&store, "root", 41);
    let cookie = chooser(&store, &duo, &config);
    duo.reply(ok(&json!({"txid": TXID})));
    let Ok(Progress::Started { login_cookie, .. }) =
        start(&store, &duo, &config, &cookie, &push_on(IPHONE), NOW + 4)
    else {
        panic!("started")
    };
    duo.reply(ok(&json!({"result": "deny", "status": "fraud", "status_msg": "Login request reported as fraudulent."})));
    let fraud = status(&store, &duo, &config, &login_cookie, NOW + 5).expect_err("fraud");
    assert_eq!((fraud.reason, fraud.code()), (Reason::FraudReported, ErrorCode::AccountHeld));
    assert!(fraud.message.as_deref().is_some_and(|m| m.contains("on hold")), "{fraud:?}");
    assert_eq!(store.last_event().reason, "fraud_reported");
    assert_eq!(store.users.borrow()["alice"].held_at, Some(NOW + 5));
    let ended = block_on(crate::flow::session::check(&store, Some(&earlier), NOW + 6));
    assert_eq!(reason(ended), Reason::NoSession, "her sessions ended");

    // Her correct password now says why, and starts no Duo step.
    let asked = duo.requests.borrow().len();
    let held = sign_in(&store, &duo, &HealthMemo::new(), &config, "alice").expect_err("held");
    assert_eq!((held.reason, held.code()), (Reason::AccountHeld, ErrorCode::AccountHeld));
    assert_eq!(duo.requests.borrow().len(), asked, "Duo not asked");
    // A wrong one is still only a wrong password.
    let body = LoginRequest {
        username: "alice".into(),
        password: shared::api::Password::new("guess"),
        return_to: None,
        fresh: false,
    };
    let input = LoginInput { body: &body, known_browser: None, remembered: None };
    let link = DuoLink { transport: &duo, health: &HealthMemo::new() };
    let wrong = block_on(login(
        &store,
        &CountingVerifier::default(),
        link,
        &config,
        input,
        &ctx(NOW, "192.0.2.30"),
        &random(6),
    ));
    assert_eq!(reason(wrong), Reason::BadPassword);

    // The console counts it, an admin releases it (audited), and she signs in again.
    let listed = block_on(console::users(&store, Some(&root), "", 1, NOW + 7)).expect("users");
    assert_eq!(listed.held, 1);
    let alice = listed.users.iter().find(|u| u.username == "alice").expect("alice");
    assert_eq!(alice.held_at, Some(i64::try_from(NOW + 5).unwrap_or_default()));
    let release = UserChange::ReleaseHold;
    let request = console::ChangeRequest {
        origin: Some(APP_ORIGIN),
        session_cookie: Some(&root),
        username: "alice",
        change: &release,
    };
    block_on(console::change_user(&store, &config, request, &ctx(NOW + 8, "192.0.2.1")))
        .expect("released");
    assert_eq!(store.admin_events.borrow().last().map(|e| e.action), Some("release_hold"));
    duo.reply(checked()).reply(ok(&devices()));
    let again = sign_in(&store, &duo, &HealthMemo::new(), &config, "alice");
    assert!(matches!(again, Ok(LoginOutcome::DuoInline { .. })), "{again:?}");
}
