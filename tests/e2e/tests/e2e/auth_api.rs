//! The product's Auth API client (`shared::duo::auth_api`) against the Duo
//! emulator's `/auth/v2/*`, over HTTP: the signed requests our client
//! builds are the ones Duo (here, the emulator that Duo's own `duo_client`
//! also passes, `tests/duo-emulator/conformance/auth_api.py`) accepts, and
//! its answers and errors parse as typed.

use duo_emulator::Emulator;
use e2e::unix_now;
use shared::duo::auth_api::{
    AuthApiClient, AuthApiError, Capability, ErrorKind, PreauthResult, User, parse_preauth,
    parse_time,
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
    let config = duo_emulator::Config {
        listen: "127.0.0.1:0".parse().expect("literal address"),
        ..duo_emulator::Config::default()
    };
    let emulator = Emulator::start(config).await.unwrap_or_else(|e| panic!("emulator: {e}"));
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
