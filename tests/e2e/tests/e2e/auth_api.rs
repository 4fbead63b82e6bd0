//! The product's Auth API client (`shared::duo::auth_api`) against the Duo
//! emulator's `/auth/v2/*`, over HTTP: the signed requests our client
//! builds are the ones Duo (here, the emulator that Duo's own `duo_client`
//! also passes, `tests/duo-emulator/conformance/auth_api.py`) accepts, and
//! its answers and errors parse as typed.

use duo_emulator::Emulator;
use e2e::unix_now;
use serde_json::{Value, json};
use shared::duo::auth_api::{
    AuthApiClient, AuthApiError, AuthOptions, AuthResponse, AuthResult, Capability, EnrollStatus,
    ErrorKind, Factor, PreauthResult, User, parse_auth, parse_auth_status, parse_enroll,
    parse_enroll_status, parse_preauth, parse_time,
};
use shared::duo::{HttpRequest, HttpResponse, Method, UnixTime};

async fn send(http: &reqwest::Client, request: HttpRequest) -> HttpResponse {
    let method = match request.method {
        Method::Get => reqwest::Method::GET,
        _ => reqwest::Method::POST,
    };
    let mut builder = http.request(method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let response = builder.body(request.body).send().await.expect("the emulator answers");
    let status = response.status().as_u16();
    HttpResponse::new(status, response.bytes().await.expect("a body").to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn our_auth_api_client_against_the_emulator() {
    let emulator = e2e::local_emulator().await;
    let host = emulator.local_addr().to_string();
    let http = reqwest::Client::new();
    let now = UnixTime(i64::try_from(unix_now()).expect("a date"));
    let client = |skey: &str| {
        AuthApiClient::from_settings(duo_emulator::auth_api::DEV_IKEY, skey.to_owned(), &host)
            .expect("valid settings")
    };
    let ours = client(duo_emulator::auth_api::DEV_SKEY);

    let time = parse_time(&send(&http, ours.ping()).await).expect("ping");
    assert!((time - now.0).abs() < 60);
    parse_time(&send(&http, ours.check(now)).await).expect("check: keys and signature right");

    let alice = parse_preauth(&send(&http, ours.preauth(User::Username("alice"), None, now)).await)
        .expect("preauth alice");
    assert_eq!(alice.result, PreauthResult::Auth);
    let iphone =
        alice.devices.iter().find(|d| d.name.as_deref() == Some("iPhone")).expect("iPhone");
    assert!(iphone.can(&Capability::Push) && iphone.can(&Capability::Sms));
    assert_eq!(iphone.label(), "iPhone (XXX-XXX-0100)");
    let expected = [
        ("bob", PreauthResult::Enroll),
        ("carol", PreauthResult::Deny),
        ("dave", PreauthResult::Allow),
        ("alice@example.com", PreauthResult::Auth),
        ("name with spaces+and@symbols", PreauthResult::Enroll),
    ];
    for (name, result) in expected {
        let answer = send(&http, ours.preauth(User::Username(name), Some("192.0.2.7"), now)).await;
        assert_eq!(parse_preauth(&answer).expect(name).result, result, "{name}");
    }

    // Duo's refusals, typed.
    let wrong = client(&"X".repeat(40));
    let error = parse_time(&send(&http, wrong.check(now)).await).expect_err("a wrong secret key");
    assert_eq!(error.code(), Some(40_103));
    assert_eq!(error.kind(), ErrorKind::Credentials);
    assert!(error.explanation().contains("DUO_SKEY"));
    let stale = UnixTime(now.0 - 3600);
    let error = parse_time(&send(&http, ours.check(stale)).await).expect_err("an hour-old date");
    assert!(matches!(error, AuthApiError::Refused { status: 401, code: 40_105, .. }), "{error:?}");
}

/// The emulator's control API (the tester's side: approve, the SMS inbox, faults).
async fn control(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http.request(method, format!("{base}/__emulator{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the control API answers");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.expect("JSON")
}

/// An emulator, our client for its Auth API application, and the tester's side.
struct Bed {
    _emulator: Emulator,
    base: String,
    http: reqwest::Client,
    ours: AuthApiClient,
}

impl Bed {
    async fn start() -> Self {
        let emulator = e2e::local_emulator().await;
        let ours = AuthApiClient::from_settings(
            duo_emulator::auth_api::DEV_IKEY,
            duo_emulator::auth_api::DEV_SKEY.to_owned(),
            &emulator.local_addr().to_string(),
        )
        .expect("valid settings");
        Self { base: emulator.base_url(), _emulator: emulator, http: reqwest::Client::new(), ours }
    }

    async fn send(&self, request: HttpRequest) -> HttpResponse {
        send(&self.http, request).await
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        control(&self.http, &self.base, method, path, body).await
    }
}

fn now() -> UnixTime {
    UnixTime(i64::try_from(unix_now()).expect("a date"))
}

const ALICE: User<'static> = User::Username("alice");

#[tokio::test(flavor = "multi_thread")]
async fn an_asynchronous_push_is_followed_with_a_long_poll() {
    let bed = Bed::start().await;
    let options = AuthOptions {
        push_type: Some("Edge login".into()),
        display_username: Some("Alice A.".into()),
        pushinfo: vec![("from".into(), "edge & co".into())],
        ipaddr: Some("192.0.2.7".into()),
        ..AuthOptions::asynchronous()
    };
    let started = parse_auth(&bed.send(bed.ours.auth(ALICE, &Factor::Push, &options, now())).await);
    let Ok(AuthResponse::Started { txid }) = started else { panic!("a txid: {started:?}") };
    let first =
        parse_auth_status(&bed.send(bed.ours.auth_status(&txid, now())).await).expect("status");
    assert_eq!((first.result, first.status.as_str()), (AuthResult::Waiting, "pushed"));
    let listed = bed.control(reqwest::Method::GET, "/transactions?user=alice", None).await;
    let txn = &listed["transactions"][0];
    assert_eq!(txn["txid"], json!(txid));
    assert_eq!(txn["type"], json!("Edge login"));
    assert_eq!(txn["display_username"], json!("Alice A."));
    assert_eq!(txn["pushinfo"], json!([["from", "edge & co"]]), "pushinfo decoded as sent");
    assert_eq!(txn["ipaddr"], json!("192.0.2.7"));
    // The long poll holds until the tester acts.
    let poll = tokio::spawn({
        let (http, request) = (bed.http.clone(), bed.ours.auth_status(&txid, now()));
        async move { send(&http, request).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "auth_status holds while nothing changes");
    let act = format!("/transactions/{txid}");
    bed.control(reqwest::Method::POST, &act, Some(json!({"action": "fraud"}))).await;
    let done = parse_auth_status(&poll.await.expect("the poll")).expect("status");
    assert_eq!((done.result, done.status.as_str()), (AuthResult::Deny, "fraud"));
}

#[tokio::test(flavor = "multi_thread")]
async fn passcodes_and_sms_passcodes() {
    let bed = Bed::start().await;
    let sync = AuthOptions::default();
    let passcode = |code: &str| bed.ours.auth(ALICE, &Factor::Passcode(code.into()), &sync, now());
    let allowed = parse_auth(&bed.send(passcode("123456")).await).expect("passcode");
    assert!(matches!(&allowed, AuthResponse::Done(o) if o.is_allowed()), "{allowed:?}");
    let wrong = parse_auth(&bed.send(passcode("000000")).await).expect("passcode");
    assert!(
        matches!(&wrong, AuthResponse::Done(o) if !o.is_allowed() && o.status == "deny"),
        "{wrong:?}"
    );

    // SMS: deny/sent, the passcodes in the inbox, sms_nextcode, one use.
    let sent =
        parse_auth(&bed.send(bed.ours.auth(ALICE, &Factor::Sms, &sync, now())).await).expect("sms");
    assert!(
        matches!(&sent, AuthResponse::Done(o) if o.result == AuthResult::Deny && o.status == "sent"),
        "{sent:?}"
    );
    let inbox = bed.control(reqwest::Method::GET, "/sms?user=alice", None).await;
    let code = inbox["sms"][0]["passcodes"][3].as_str().expect("a passcode").to_owned();
    let preauth =
        parse_preauth(&bed.send(bed.ours.preauth(ALICE, None, now())).await).expect("preauth");
    let iphone =
        preauth.devices.iter().find(|d| d.name.as_deref() == Some("iPhone")).expect("iPhone");
    assert_eq!(iphone.sms_nextcode.as_deref(), Some("1"));
    let used = parse_auth(&bed.send(passcode(&code)).await).expect("SMS passcode");
    assert!(matches!(&used, AuthResponse::Done(o) if o.is_allowed()), "{used:?}");
    let again = parse_auth(&bed.send(passcode(&code)).await).expect("SMS passcode again");
    assert!(matches!(&again, AuthResponse::Done(o) if !o.is_allowed()), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chosen_device_a_script_an_enrollment_and_duo_failures() {
    let bed = Bed::start().await;
    // A chosen device that cannot do the factor, and a scripted approval.
    let preauth =
        parse_preauth(&bed.send(bed.ours.preauth(ALICE, None, now())).await).expect("preauth");
    let office =
        preauth.devices.iter().find(|d| !d.can(&Capability::Push)).expect("the office phone");
    let on_office = AuthOptions { device: Some(office.id.clone()), ..AuthOptions::default() };
    let refused =
        parse_auth(&bed.send(bed.ours.auth(ALICE, &Factor::Push, &on_office, now())).await)
            .expect_err("a landline cannot push");
    assert_eq!((refused.kind(), refused.code()), (ErrorKind::BadRequest, Some(40_002)));
    let script = json!({"user": "alice", "outcome": "approve"});
    bed.control(reqwest::Method::POST, "/script", Some(script)).await;
    let called =
        parse_auth(&bed.send(bed.ours.auth(ALICE, &Factor::Phone, &on_office, now())).await)
            .expect("call");
    assert!(matches!(&called, AuthResponse::Done(o) if o.is_allowed()), "{called:?}");

    // Enrollment: waiting until the activation link is used, then success.
    let enrolled = parse_enroll(&bed.send(bed.ours.enroll(Some("erin"), Some(600), now())).await)
        .expect("enroll");
    let bed = &bed;
    let status = |code: String| {
        let request = bed.ours.enroll_status(&enrolled.user_id, &code, now());
        async move { parse_enroll_status(&bed.send(request).await).expect("enroll_status") }
    };
    assert_eq!(status(enrolled.activation_code.clone()).await, EnrollStatus::Waiting);
    let link = enrolled.activation_url.clone().expect("an activation URL");
    assert!(bed.http.post(&link).send().await.expect("activation").status().is_success());
    assert_eq!(status(enrolled.activation_code.clone()).await, EnrollStatus::Success);
    assert_eq!(status("duo://another".into()).await, EnrollStatus::Invalid);

    // Duo's 429 and 5xx, typed.
    for (code, status, kind) in
        [(42_901, 429, ErrorKind::RateLimited), (50_001, 503, ErrorKind::Unavailable)]
    {
        let fault = json!({
            "kind": "duo_error", "status": status, "code": code, "message": "Injected",
            "endpoint": "auth_api", "times": 1
        });
        bed.control(reqwest::Method::POST, "/faults", Some(fault)).await;
        let error = parse_preauth(&bed.send(bed.ours.preauth(ALICE, None, now())).await)
            .expect_err("the fault");
        assert_eq!((error.kind(), error.code()), (kind, Some(code)));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_phone_page_shows_a_push_and_decides_it() {
    let bed = Bed::start().await;
    let page = |user: &'static str| {
        let (http, url) = (bed.http.clone(), format!("{}/phone/{user}", bed.base));
        async move {
            let response = http.get(url).send().await.expect("the phone page");
            (response.status().as_u16(), response.text().await.expect("HTML"))
        }
    };
    let (status, idle) = page("alice").await;
    assert_eq!(status, 200);
    assert!(idle.contains("Nothing is waiting") && idle.contains("http-equiv=\"refresh\""));

    let options = AuthOptions {
        display_username: Some("<b>Alice</b>".into()),
        pushinfo: vec![("app".into(), "Edge & Co".into())],
        ..AuthOptions::asynchronous()
    };
    let started = parse_auth(&bed.send(bed.ours.auth(ALICE, &Factor::Push, &options, now())).await);
    let Ok(AuthResponse::Started { txid }) = started else { panic!("a txid: {started:?}") };
    let (_, pending) = page("alice").await;
    assert!(pending.contains(&format!("data-txid=\"{txid}\"")), "{pending}");
    assert!(pending.contains("&lt;b&gt;Alice&lt;/b&gt;") && !pending.contains("<b>Alice</b>"));
    assert!(pending.contains("Edge &amp; Co"));
    assert!(!pending.contains("http-equiv=\"refresh\""), "still while a push waits");

    // Bob's phone cannot approve Alice's push.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let press = |user: &str, action: &str| {
        no_redirect
            .post(format!("{}/phone/{user}", bed.base))
            .form(&[("txid", txid.as_str()), ("action", action)])
            .send()
    };
    assert_eq!(press("bob", "approve").await.expect("bob's phone").status().as_u16(), 409);
    assert_eq!(press("alice", "answer").await.expect("answer a push").status().as_u16(), 409);
    assert_eq!(
        press("alice@example.com", "approve").await.expect("approve").status().as_u16(),
        303
    );
    let done =
        parse_auth_status(&bed.send(bed.ours.auth_status(&txid, now())).await).expect("status");
    assert!(done.is_allowed(), "{done:?}");
    let (_, after) = page("alice").await;
    assert!(after.contains("Success. Logging you in..."), "listed as recent");
    assert_eq!(page("nobody").await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_enrollment_link_enrolls_the_user_it_was_given_to() {
    let bed = Bed::start().await;
    for name in ["bob", "zoe"] {
        let user = User::Username(name);
        let preauth =
            parse_preauth(&bed.send(bed.ours.preauth(user, None, now())).await).expect(name);
        assert_eq!(preauth.result, PreauthResult::Enroll, "{name}");
        let link = preauth.enroll_portal_url.expect("an enrollment link");
        let page = bed.http.get(&link).send().await.expect("the portal");
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().await.expect("HTML").contains(&format!("<strong>{name}</strong>")));
        let enrolled = bed.http.post(&link).send().await.expect("enroll");
        assert_eq!(enrolled.status().as_u16(), 200, "{name}");
        let again = bed.http.post(&link).send().await.expect("enroll again");
        assert_eq!(again.status().as_u16(), 400, "a link works once");
        let after =
            parse_preauth(&bed.send(bed.ours.preauth(user, None, now())).await).expect(name);
        assert_eq!(after.result, PreauthResult::Auth, "{name}");
        assert!(after.devices.iter().any(|d| d.can(&Capability::Push)), "{name}: Duo Mobile");
    }
    let made_up = format!("{}/portal?code=0000000000000000", bed.base);
    assert_eq!(bed.http.get(&made_up).send().await.expect("portal").status().as_u16(), 400);
}
