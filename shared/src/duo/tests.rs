//! Tests of the Duo client, named for the behaviour they pin; the plan row (C1..C27 of
//! `duo-protocol.md` section 13) is in each test's doc comment and in `shared/TESTS.md`.
//! Every test runs natively and in wasm32 (headless Chromium).

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use super::jwt;
use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::cell::RefCell;
use std::future::Future;
use std::task::{Context, Poll, Waker};
use wasm_bindgen_test::wasm_bindgen_test;

const CLIENT_ID: &str = "DIXXXXXXXXXXXXXXXXXX";
const SECRET: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
const HOST: &str = "api-deadbeef.duosecurity.com";
const REDIRECT: &str = "https://login.example.com/auth/duo/callback";
const ISS: &str = "https://api-deadbeef.duosecurity.com/oauth/v1/token";
const STATE: &str = "deadbeefdeadbeefdeadbeefdeadbeefdead";
const NONCE: &str = "abcdefghijklmnopqrstuvwxyzabcdef";
const CODE: &str = "0123456789abcdef0123456789abcdef";
const JTI_RANDOM: RandomBytes = [7; 32];
const NOW: i64 = 1_700_000_000;

const GOLDEN_AUTHORIZE_URL: &str =
    include_str!("../../../tests/fixtures/duo-client/authorize_url.txt");
const GOLDEN_AUTHORIZE_URL_NONCE_OPTIONS: &str =
    include_str!("../../../tests/fixtures/duo-client/authorize_url_nonce_options.txt");
const GOLDEN_HEALTH_BODY: &str =
    include_str!("../../../tests/fixtures/duo-client/health_check_body.txt");
const GOLDEN_TOKEN_BODY: &str = include_str!("../../../tests/fixtures/duo-client/token_body.txt");
const FULL_ID_TOKEN: &str = include_str!("../../../tests/fixtures/duo-client/id_token_full.jwt");
const FULL_TOKEN_RESPONSE: &str =
    include_str!("../../../tests/fixtures/duo-client/token_response_full.json");
/// `auth_time` of the full fixture token (exp = +3600, iat = +12).
const FULL_AUTH_TIME: i64 = 1_700_000_000;

// ---- helpers ----------------------------------------------------------------------------

fn client() -> DuoClient {
    DuoClient::from_settings(CLIENT_ID, SECRET.to_owned(), HOST, REDIRECT).unwrap()
}

fn alice() -> DuoUsername {
    DuoUsername::parse("alice").unwrap()
}

fn nonce() -> Nonce {
    Nonce::parse(NONCE).unwrap()
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Header and claims of a compact JWT, as JSON.
fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    (decode_part(parts[0]), decode_part(parts[1]))
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').unwrap().1;
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn query_value(url: &str, name: &str) -> Option<String> {
    query_pairs(url).into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The value of the first header with this (lower-case) name.
fn header<'r>(request: &'r HttpRequest, name: &str) -> Option<&'r str> {
    request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

fn form_value(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body).into_owned().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Valid `id_token` claims at `NOW`.
fn claims() -> Value {
    json!({
        "iss": ISS,
        "sub": "alice",
        "aud": CLIENT_ID,
        "exp": NOW + 300,
        "iat": NOW,
        "auth_time": NOW,
        "preferred_username": "alice",
        "nonce": NONCE,
        "auth_result": {"result": "allow", "status": "allow", "status_msg": "Login Successful"},
        "auth_context": {"txid": "tx-1", "factor": "duo_push"}
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims.as_object_mut().unwrap().insert(name.to_owned(), value);
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn mint_with(key: &str, header: &str, claims: &Value) -> String {
    jwt::sign_raw(key.as_bytes(), header.as_bytes(), &serde_json::to_vec(claims).unwrap())
}

fn mint(claims: &Value) -> String {
    mint_with(SECRET, jwt::HEADER, claims)
}

fn verify(token: &str) -> Result<VerifiedIdToken, IdTokenError> {
    let user = alice();
    let nonce = nonce();
    client().verify_id_token(token, &Expectations::new(&user, Some(&nonce)), UnixTime(NOW))
}

fn verify_at(token: &str, now: i64) -> Result<VerifiedIdToken, IdTokenError> {
    let user = alice();
    let nonce = nonce();
    client().verify_id_token(token, &Expectations::new(&user, Some(&nonce)), UnixTime(now))
}

fn token_body(id_token: &str) -> Value {
    json!({"id_token": id_token, "access_token": "at", "expires_in": 3600, "token_type": "Bearer"})
}

fn verify_response(status: u16, body: &[u8]) -> Result<VerifiedIdToken, DuoError> {
    let user = alice();
    let nonce = nonce();
    client().verify_token_response(
        &HttpResponse::new(status, body),
        &Expectations::new(&user, Some(&nonce)),
        UnixTime(NOW),
    )
}

/// Polls a future that is ready without waiting (the fake transport never pends).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the fake transport never pends"),
    }
}

/// Records every request and answers with a canned response (or a transport error).
struct FakeTransport {
    answer: Result<HttpResponse, TransportError>,
    sent: RefCell<Vec<HttpRequest>>,
}

impl FakeTransport {
    fn new(answer: Result<HttpResponse, TransportError>) -> Self {
        Self { answer, sent: RefCell::new(Vec::new()) }
    }
}

impl Transport for FakeTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.borrow_mut().push(request);
        self.answer.clone()
    }
}

// ---- C1-C5: configuration ----------------------------------------------------------------

/// C1
#[test]
#[wasm_bindgen_test]
fn client_id_rejects_wrong_length() {
    for (value, found) in [("DIXXXXXXXXXXXXXXXXX", 19), ("DIXXXXXXXXXXXXXXXXXXX", 21), ("", 0)] {
        assert_eq!(ClientId::parse(value), Err(ConfigError::ClientIdLength { found }));
    }
    assert_eq!(ClientId::parse(CLIENT_ID).unwrap().as_str(), CLIENT_ID);
}

/// C1
#[test]
#[wasm_bindgen_test]
fn client_id_rejects_non_alphanumeric() {
    assert_eq!(ClientId::parse("DIXXXXXXXXXXXXXXXXX "), Err(ConfigError::ClientIdCharacters));
    assert_eq!(ClientId::parse("DIXXXXXXXXXXXXXXXXX\u{e9}"), Err(ConfigError::ClientIdCharacters));
    assert_eq!(ClientId::parse("DI[XXXXXXXXXXXXXXXXX"), Err(ConfigError::ClientIdCharacters));
}

/// C2
#[test]
#[wasm_bindgen_test]
fn client_secret_rejects_wrong_length() {
    for value in [&SECRET[..39], &format!("{SECRET}a"), ""] {
        assert_eq!(
            ClientSecret::parse(value.to_owned()).unwrap_err(),
            ConfigError::ClientSecretLength
        );
    }
    assert!(ClientSecret::parse(SECRET.to_owned()).is_ok());
}

/// C2
#[test]
#[wasm_bindgen_test]
fn client_secret_rejects_whitespace_and_non_ascii() {
    let with_space = format!("{} ", &SECRET[..39]);
    let with_newline = format!("{}\n", &SECRET[..39]);
    let non_ascii = format!("{}\u{e9}", &SECRET[..39]);
    for value in [with_space, with_newline, non_ascii] {
        assert_eq!(ClientSecret::parse(value).unwrap_err(), ConfigError::ClientSecretCharacters);
    }
}

/// C2 (redaction pinned)
#[test]
#[wasm_bindgen_test]
fn client_secret_debug_is_redacted() {
    let secret = ClientSecret::parse(SECRET.to_owned()).unwrap();
    assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
    let client_debug = format!("{:?}", client());
    assert!(client_debug.contains("ClientSecret([redacted])"));
    assert!(!client_debug.contains(SECRET));
    assert!(
        !format!(
            "{:?}",
            client().token_request(&AuthCode::parse(CODE).unwrap(), UnixTime(2), &JTI_RANDOM)
        )
        .contains(CODE)
    );
}

/// C2: the error names the setting, never the value.
#[test]
#[wasm_bindgen_test]
fn config_errors_name_the_setting_not_the_value() {
    let err = DuoClient::from_settings(CLIENT_ID, "x".repeat(41), HOST, REDIRECT).unwrap_err();
    assert_eq!(err.setting(), "DUO_CLIENT_SECRET");
    assert!(!err.to_string().contains("xxxx"));
    let err = DuoClient::from_settings("short", SECRET.to_owned(), HOST, REDIRECT).unwrap_err();
    assert_eq!(err.setting(), "DUO_CLIENT_ID");
    let err = DuoClient::from_settings(CLIENT_ID, SECRET.to_owned(), "", REDIRECT).unwrap_err();
    assert_eq!((err.setting(), err), ("DUO_API_HOST", ConfigError::ApiHostEmpty));
    let err = DuoClient::from_settings(CLIENT_ID, SECRET.to_owned(), HOST, "").unwrap_err();
    assert_eq!(err, ConfigError::RedirectUriEmpty);
}

/// C3
#[test]
#[wasm_bindgen_test]
fn api_host_rejects_empty_scheme_and_path() {
    let cases = [
        ("", ConfigError::ApiHostEmpty),
        ("https://api-deadbeef.duosecurity.com", ConfigError::ApiHostScheme),
        ("http://127.0.0.1:8788", ConfigError::ApiHostScheme),
        ("api-deadbeef.duosecurity.com/", ConfigError::ApiHostPath),
        ("api-deadbeef.duosecurity.com/oauth/v1", ConfigError::ApiHostPath),
        ("api-deadbeef.duosecurity.com?x=1", ConfigError::ApiHostPath),
        ("api-deadbeef.duosecurity.com:443", ConfigError::ApiHostPort),
        ("10.0.0.1:8788", ConfigError::ApiHostPort),
        ("example.com:8788", ConfigError::ApiHostPort),
        ("user@api-deadbeef.duosecurity.com", ConfigError::ApiHostInvalid),
        (" api-deadbeef.duosecurity.com", ConfigError::ApiHostInvalid),
        ("api-deadbeef..duosecurity.com", ConfigError::ApiHostInvalid),
        ("api-d\u{e9}adbeef.duosecurity.com", ConfigError::ApiHostInvalid),
        ("127.0.0.1:", ConfigError::ApiHostInvalid),
        ("127.0.0.1:0", ConfigError::ApiHostInvalid),
        ("127.0.0.1:65536", ConfigError::ApiHostInvalid),
        ("localhost:88:88", ConfigError::ApiHostInvalid),
        ("[::1", ConfigError::ApiHostInvalid),
    ];
    for (value, error) in cases {
        assert_eq!(ApiHost::parse(value), Err(error), "{value:?}");
    }
}

/// C3: only a loopback host with a port selects http.
#[test]
#[wasm_bindgen_test]
fn api_host_loopback_port_selects_http_and_nothing_else_does() {
    let host = ApiHost::parse(HOST).unwrap();
    assert_eq!((host.scheme(), host.base_url()), (Scheme::Https, format!("https://{HOST}")));
    for loopback in ["127.0.0.1:8788", "localhost:8788", "[::1]:8788", "127.3.4.5:1"] {
        let host = ApiHost::parse(loopback).unwrap();
        assert_eq!(host.scheme(), Scheme::Http, "{loopback}");
        assert_eq!(host.base_url(), format!("http://{loopback}"));
    }
    for https in ["localhost", "127.0.0.1", "[::1]"] {
        assert_eq!(ApiHost::parse(https).unwrap().scheme(), Scheme::Https, "{https}");
    }
}

/// C4
#[test]
#[wasm_bindgen_test]
fn redirect_uri_rejects_relative_plain_http_ip_and_fragment() {
    let long = format!("https://login.example.com/{}", "a".repeat(1000));
    let cases = [
        ("", ConfigError::RedirectUriEmpty),
        ("/auth/duo/callback", ConfigError::RedirectUriNotAbsolute),
        ("login.example.com/auth/duo/callback", ConfigError::RedirectUriNotAbsolute),
        ("://login.example.com/", ConfigError::RedirectUriNotAbsolute),
        ("http://login.example.com/auth/duo/callback", ConfigError::RedirectUriScheme),
        ("ftp://login.example.com/auth/duo/callback", ConfigError::RedirectUriScheme),
        ("http://10.0.0.1/auth/duo/callback", ConfigError::RedirectUriScheme),
        ("https://192.0.2.10/auth/duo/callback", ConfigError::RedirectUriIpHost),
        ("https://[2001:db8::1]/auth/duo/callback", ConfigError::RedirectUriIpHost),
        ("https://login.example.com/cb#frag", ConfigError::RedirectUriFragment),
        ("https://user@login.example.com/cb", ConfigError::RedirectUriInvalid),
        ("https:///cb", ConfigError::RedirectUriInvalid),
        ("https://login.example.com:99999/cb", ConfigError::RedirectUriInvalid),
        ("https://login.example.com/c b", ConfigError::RedirectUriInvalid),
        ("https://l\u{f6}gin.example.com/cb", ConfigError::RedirectUriInvalid),
        (long.as_str(), ConfigError::RedirectUriTooLong),
    ];
    for (value, error) in cases {
        assert_eq!(RedirectUri::parse(value), Err(error), "{value:?}");
    }
}

/// C4
#[test]
#[wasm_bindgen_test]
fn redirect_uri_accepts_https_and_loopback_http_verbatim() {
    for ok in [
        REDIRECT,
        "https://login.example.com:8443/auth/duo/callback?tenant=a&x=%20",
        "https://login.example.com",
        "http://localhost:8787/auth/duo/callback",
        "http://127.0.0.1:8787/auth/duo/callback",
        "http://[::1]:8787/auth/duo/callback",
        "https://localhost/auth/duo/callback",
    ] {
        assert_eq!(RedirectUri::parse(ok).unwrap().as_str(), ok);
    }
}

/// C5
#[test]
#[wasm_bindgen_test]
fn jwt_lifetime_accepts_1_to_300_seconds_only() {
    for bad in [0, -1, 301, 3600, i64::MAX, i64::MIN] {
        assert_eq!(JwtLifetime::new(bad), Err(ConfigError::JwtLifetime { found: bad }));
    }
    assert_eq!(JwtLifetime::new(1).unwrap().seconds(), 1);
    assert_eq!(JwtLifetime::new(300).unwrap(), JwtLifetime::default());
    let client = client().with_jwt_lifetime(JwtLifetime::new(60).unwrap());
    let url = client.authorize_url(
        &alice(),
        &State::parse(STATE).unwrap(),
        None,
        &AuthorizeOptions::default(),
        UnixTime(2),
    );
    let (_, claims) = decode_jwt(&query_value(&url, "request").unwrap());
    assert_eq!(claims["exp"], 62);
}

// ---- C6-C8: state, nonce, username -------------------------------------------------------

/// C6
#[test]
#[wasm_bindgen_test]
fn state_generate_is_url_safe_and_differs_per_random_input() {
    let a = State::generate(&[1; 32]);
    let b = State::generate(&[2; 32]);
    assert_eq!(a.as_str().len(), 43);
    assert!(a.as_str().len() >= 36);
    assert!(a.as_str().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    assert!(!a.ct_eq(&b));
    assert!(a.ct_eq(&State::parse(a.as_str()).unwrap()));
    assert!(State::parse(State::generate(&[0xff; 32]).as_str()).is_ok());
    let n = Nonce::generate(&[3; 32]);
    assert!(Nonce::parse(n.as_str()).unwrap().ct_eq(&n));
}

/// C7
#[test]
#[wasm_bindgen_test]
fn state_generate_with_length_accepts_16_to_1024() {
    let mut counter = 0u8;
    let mut fill = |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(37);
            *b = counter;
        }
    };
    for bad in [0, 15, 1025] {
        assert_eq!(
            State::generate_with_length(bad, &mut fill).unwrap_err(),
            InputError::StateLength { found: bad }
        );
        assert_eq!(
            Nonce::generate_with_length(bad, &mut fill).unwrap_err(),
            InputError::NonceLength { found: bad }
        );
    }
    for ok in [16, 17, 36, 1023, 1024] {
        let state = State::generate_with_length(ok, &mut fill).unwrap();
        assert_eq!(state.as_str().len(), ok);
        assert!(State::parse(state.as_str()).is_ok());
    }
}

/// C8
#[test]
#[wasm_bindgen_test]
fn state_nonce_and_username_inputs_are_bounded() {
    assert_eq!(State::parse(&"a".repeat(15)).unwrap_err(), InputError::StateLength { found: 15 });
    assert_eq!(
        State::parse(&"a".repeat(1025)).unwrap_err(),
        InputError::StateLength { found: 1025 }
    );
    assert!(State::parse(&"a".repeat(16)).is_ok());
    assert!(State::parse(&"a".repeat(1024)).is_ok());
    assert_eq!(Nonce::parse(&"a".repeat(15)).unwrap_err(), InputError::NonceLength { found: 15 });
    assert_eq!(
        Nonce::parse(&"a".repeat(1025)).unwrap_err(),
        InputError::NonceLength { found: 1025 }
    );
    assert_eq!(DuoUsername::parse("").unwrap_err(), InputError::UsernameEmpty);
    assert_eq!(DuoUsername::parse("a\u{0}b").unwrap_err(), InputError::UsernameCharacters);
    assert_eq!(DuoUsername::parse(&"a".repeat(1025)).unwrap_err(), InputError::UsernameTooLong);
    assert!(DuoUsername::parse("Alice Example@example.com").is_ok());
    assert!(DuoUsername::parse("\u{7528}\u{6237}").is_ok());
}

/// C8: odd Unicode in a state is a typed error.
#[test]
#[wasm_bindgen_test]
fn state_rejects_odd_unicode_and_reserved_characters() {
    for odd in [
        "deadbeefdeadbeef\u{0}",
        "deadbeefdeadbeef\u{202e}",
        "deadbeefdeadbeef\u{1f600}",
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        "deadbeefdeadbeef+/",
        "deadbeef deadbeef",
    ] {
        assert_eq!(State::parse(odd).unwrap_err(), InputError::StateCharacters, "{odd:?}");
        assert_eq!(Nonce::parse(odd).unwrap_err(), InputError::NonceCharacters);
    }
    // Length counts characters: 16 two-byte characters are a length error only below 16.
    assert_eq!(State::parse("\u{e9}").unwrap_err(), InputError::StateLength { found: 1 });
}

/// C8: state and nonce debug output hides the value.
#[test]
#[wasm_bindgen_test]
fn state_and_code_debug_hide_the_value() {
    assert!(!format!("{:?}", State::parse(STATE).unwrap()).contains(STATE));
    assert!(!format!("{:?}", nonce()).contains(NONCE));
    assert_eq!(format!("{:?}", AuthCode::parse(CODE).unwrap()), "AuthCode([redacted])");
}

// ---- C9-C12: the authorize URL -----------------------------------------------------------

fn golden_client_url(nonce: Option<&Nonce>, options: &AuthorizeOptions) -> String {
    client().authorize_url(&alice(), &State::parse(STATE).unwrap(), nonce, options, UnixTime(2))
}

/// C9: byte-exact URL at t=2 (golden file made by an independent Python implementation).
#[test]
#[wasm_bindgen_test]
fn authorize_url_matches_golden_file() {
    assert_eq!(golden_client_url(None, &AuthorizeOptions::default()), GOLDEN_AUTHORIZE_URL);
}

/// C9: the URL's parts and the request JWT's header and claims.
#[test]
#[wasm_bindgen_test]
fn authorize_url_carries_signed_request_jwt() {
    let url = golden_client_url(None, &AuthorizeOptions::default());
    assert!(url.starts_with(&format!("https://{HOST}/oauth/v1/authorize?")));
    let names: Vec<String> = query_pairs(&url).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["response_type", "client_id", "request"]);
    assert_eq!(query_value(&url, "response_type").unwrap(), "code");
    assert_eq!(query_value(&url, "client_id").unwrap(), CLIENT_ID);
    let request = query_value(&url, "request").unwrap();
    let (header, claims) = decode_jwt(&request);
    assert_eq!(header, json!({"alg": "HS512", "typ": "JWT"}));
    assert_eq!(
        claims,
        json!({
            "response_type": "code", "scope": "openid", "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID, "iss": CLIENT_ID, "aud": format!("https://{HOST}"),
            "exp": 302, "state": STATE, "duo_uname": "alice", "use_duo_code_attribute": true
        })
    );
    // The signature verifies with the secret (the verifier pins HS512 too).
    assert!(jwt::verify_hs512(SECRET.as_bytes(), &request).is_ok());
    assert_eq!(jwt::verify_hs512(b"wrong", &request).unwrap_err(), IdTokenError::InvalidSignature);
}

/// C10
#[test]
#[wasm_bindgen_test]
fn authorize_url_sends_use_duo_code_attribute_false_when_disabled() {
    let url = client().with_use_duo_code_attribute(false).authorize_url(
        &alice(),
        &State::parse(STATE).unwrap(),
        None,
        &AuthorizeOptions::default(),
        UnixTime(2),
    );
    let (_, claims) = decode_jwt(&query_value(&url, "request").unwrap());
    assert_eq!(claims["use_duo_code_attribute"], json!(false));
}

/// C11, C12: nonce in the JWT and the query; optional claims present when set (golden file).
#[test]
#[wasm_bindgen_test]
fn authorize_url_with_nonce_and_options_matches_golden_file() {
    let options = AuthorizeOptions::default()
        .with_dest_app_name("Example Login")
        .unwrap()
        .with_display_username("Alice Example")
        .unwrap();
    let url = golden_client_url(Some(&nonce()), &options);
    assert_eq!(url, GOLDEN_AUTHORIZE_URL_NONCE_OPTIONS);
    assert_eq!(query_value(&url, "nonce").unwrap(), NONCE);
    let (_, claims) = decode_jwt(&query_value(&url, "request").unwrap());
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["dest_app_name"], "Example Login");
    assert_eq!(claims["display_username"], "Alice Example");
}

/// C12: unset options are omitted, not empty.
#[test]
#[wasm_bindgen_test]
fn authorize_url_omits_unset_options_and_nonce() {
    let url = golden_client_url(None, &AuthorizeOptions::default());
    assert_eq!(query_value(&url, "nonce"), None);
    let (_, claims) = decode_jwt(&query_value(&url, "request").unwrap());
    for absent in ["nonce", "dest_app_name", "display_username", "jti", "nbf", "iat"] {
        assert!(claims.get(absent).is_none(), "{absent}");
    }
    for bad in ["", "a\nb", &"x".repeat(257)] {
        assert_eq!(
            AuthorizeOptions::default().with_dest_app_name(bad).unwrap_err(),
            InputError::OptionalParameter { name: "dest_app_name" }
        );
        assert_eq!(
            AuthorizeOptions::default().with_display_username(bad).unwrap_err(),
            InputError::OptionalParameter { name: "display_username" }
        );
    }
}

/// C9: a loopback emulator gets an http URL and `aud`.
#[test]
#[wasm_bindgen_test]
fn authorize_url_uses_http_for_loopback_emulator() {
    let client = DuoClient::from_settings(
        CLIENT_ID,
        SECRET.to_owned(),
        "127.0.0.1:8788",
        "http://localhost:8787/auth/duo/callback",
    )
    .unwrap();
    let url = client.authorize_url(
        &alice(),
        &State::parse(STATE).unwrap(),
        None,
        &AuthorizeOptions::default(),
        UnixTime(2),
    );
    assert!(url.starts_with("http://127.0.0.1:8788/oauth/v1/authorize?"));
    let (_, claims) = decode_jwt(&query_value(&url, "request").unwrap());
    assert_eq!(claims["aud"], "http://127.0.0.1:8788");
}

// ---- C13, C26: client assertions and requests as data ------------------------------------

/// C13: health-check request, byte-exact body (golden file), claims, no `nbf`.
#[test]
#[wasm_bindgen_test]
fn health_check_request_matches_golden_file() {
    let request = client().health_check_request(UnixTime(2), &JTI_RANDOM);
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url, format!("https://{HOST}/oauth/v1/health_check"));
    assert_eq!(String::from_utf8(request.body.clone()).unwrap(), GOLDEN_HEALTH_BODY);
    assert_eq!(header(&request, "content-type"), Some("application/x-www-form-urlencoded"));
    let assertion = form_value(&request.body, "client_assertion").unwrap();
    let (header, claims) = decode_jwt(&assertion);
    assert_eq!(header, json!({"alg": "HS512", "typ": "JWT"}));
    assert_eq!(
        claims,
        json!({
            "iss": CLIENT_ID, "sub": CLIENT_ID,
            "aud": format!("https://{HOST}/oauth/v1/health_check"),
            "exp": 302, "iat": 2, "jti": URL_SAFE_NO_PAD.encode(JTI_RANDOM)
        })
    );
    assert!(claims.get("nbf").is_none());
    assert_eq!(form_value(&request.body, "client_id").unwrap(), CLIENT_ID);
    assert_eq!(form_value(&request.body, "client_assertion_type"), None);
}

/// C13: token request, byte-exact body (golden file), `aud` the token URL, random `jti`.
#[test]
#[wasm_bindgen_test]
fn token_request_matches_golden_file() {
    let code = AuthCode::parse(CODE).unwrap();
    let request = client().token_request(&code, UnixTime(2), &JTI_RANDOM);
    assert_eq!(request.url, format!("https://{HOST}/oauth/v1/token"));
    assert_eq!(String::from_utf8(request.body.clone()).unwrap(), GOLDEN_TOKEN_BODY);
    assert_eq!(form_value(&request.body, "grant_type").unwrap(), "authorization_code");
    assert_eq!(form_value(&request.body, "code").unwrap(), CODE);
    assert_eq!(form_value(&request.body, "redirect_uri").unwrap(), REDIRECT);
    let (_, claims) = decode_jwt(&form_value(&request.body, "client_assertion").unwrap());
    assert_eq!(claims["aud"], format!("https://{HOST}/oauth/v1/token"));
    assert_eq!(
        (claims["iss"].clone(), claims["sub"].clone()),
        (json!(CLIENT_ID), json!(CLIENT_ID))
    );
    let other = client().token_request(&code, UnixTime(2), &[8; 32]);
    let (_, other_claims) = decode_jwt(&form_value(&other.body, "client_assertion").unwrap());
    assert_ne!(claims["jti"], other_claims["jti"]);
}

/// C26
#[test]
#[wasm_bindgen_test]
fn every_request_names_this_library_in_user_agent() {
    let code = AuthCode::parse(CODE).unwrap();
    let expected = format!("duo_universal_rust/{} (shared)", env!("CARGO_PKG_VERSION"));
    assert_eq!(USER_AGENT, expected);
    for request in [
        client().health_check_request(UnixTime(2), &JTI_RANDOM),
        client().token_request(&code, UnixTime(2), &JTI_RANDOM),
    ] {
        assert_eq!(header(&request, "user-agent"), Some(expected.as_str()));
        assert_eq!(header(&request, "accept"), Some("application/json"));
    }
    let suffixed = client().with_user_agent_suffix("login-worker/1.0").unwrap();
    let request = suffixed.health_check_request(UnixTime(2), &JTI_RANDOM);
    assert_eq!(header(&request, "user-agent").unwrap(), format!("{expected} login-worker/1.0"));
    let blank = client().with_user_agent_suffix("   ").unwrap();
    let request = blank.health_check_request(UnixTime(2), &JTI_RANDOM);
    assert_eq!(header(&request, "user-agent").unwrap(), expected);
    assert_eq!(
        client().with_user_agent_suffix("a\r\nX-Injected: 1").unwrap_err(),
        ConfigError::UserAgentSuffix
    );
}

// ---- C14-C22: token response and id_token ------------------------------------------------

/// C14
#[test]
#[wasm_bindgen_test]
fn token_response_requires_all_four_fields() {
    let token = mint(&claims());
    for field in ["id_token", "access_token", "expires_in", "token_type"] {
        let body = without(token_body(&token), field);
        assert_eq!(
            verify_response(200, body.to_string().as_bytes()).unwrap_err(),
            DuoError::MalformedResponse(MalformedResponse::MissingField(field)),
            "{field}"
        );
        let null = with(token_body(&token), field, Value::Null);
        assert_eq!(
            verify_response(200, null.to_string().as_bytes()).unwrap_err(),
            DuoError::MalformedResponse(MalformedResponse::MissingField(field))
        );
    }
    assert!(verify_response(200, token_body(&token).to_string().as_bytes()).is_ok());
}

/// C14
#[test]
#[wasm_bindgen_test]
fn token_response_requires_bearer_and_positive_expires_in() {
    let token = mint(&claims());
    for bad in ["MAC", "Bearer ", " bearer", "Bearer2", "Bearér"] {
        let body = with(token_body(&token), "token_type", json!(bad));
        assert_eq!(
            verify_response(200, body.to_string().as_bytes()).unwrap_err(),
            DuoError::MalformedResponse(MalformedResponse::TokenType)
        );
    }
    for bad in [json!(0), json!(-5), json!("3600"), json!(1.5)] {
        let body = with(token_body(&token), "expires_in", bad);
        assert_eq!(
            verify_response(200, body.to_string().as_bytes()).unwrap_err(),
            DuoError::MalformedResponse(MalformedResponse::ExpiresIn)
        );
    }
    for body in [&b"not json"[..], b"", b"[1,2]", b"\"str\"", b"{\"id_token\": "] {
        assert_eq!(
            verify_response(200, body).unwrap_err(),
            DuoError::MalformedResponse(MalformedResponse::NotJson)
        );
    }
    let huge = vec![b' '; MAX_RESPONSE_BODY + 1];
    assert_eq!(
        verify_response(200, &huge).unwrap_err(),
        DuoError::MalformedResponse(MalformedResponse::TooLarge)
    );
}

/// C14 (issue #11): `token_type` is case-insensitive (RFC 6749, section 5.1).
#[test]
#[wasm_bindgen_test]
fn token_response_accepts_token_type_bearer_in_any_case() {
    let token = mint(&claims());
    for spelling in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let body = with(token_body(&token), "token_type", json!(spelling));
        assert!(verify_response(200, body.to_string().as_bytes()).is_ok(), "{spelling}");
    }
}

/// C15
#[test]
#[wasm_bindgen_test]
fn id_token_rejects_hs256() {
    use hmac::{Hmac, Mac};
    let header = br#"{"alg":"HS256","typ":"JWT"}"#;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
    assert_eq!(verify(&token).unwrap_err(), IdTokenError::Algorithm { found: "HS256".into() });
    // An HS256 signature under an HS512 header is just a bad signature.
    let relabelled = mint_with(SECRET, r#"{"alg":"HS512"}"#, &claims());
    let forged =
        format!("{}.{}", relabelled.rsplit_once('.').unwrap().0, token.rsplit_once('.').unwrap().1);
    assert_eq!(verify(&forged).unwrap_err(), IdTokenError::InvalidSignature);
}

/// C15
#[test]
#[wasm_bindgen_test]
fn id_token_rejects_alg_none_and_rs256() {
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    for (header, found) in [
        (r#"{"alg":"none"}"#, "none"),
        (r#"{"alg":"None","typ":"JWT"}"#, "None"),
        (r#"{"alg":"RS256"}"#, "RS256"),
        (r#"{"alg":"hs512"}"#, "hs512"),
        (r#"{"typ":"JWT"}"#, ""),
        (r#"{"alg":512}"#, ""),
    ] {
        let token = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
        assert_eq!(verify(&token).unwrap_err(), IdTokenError::Algorithm { found: found.into() });
    }
}

/// C15
#[test]
#[wasm_bindgen_test]
fn id_token_rejects_wrong_key_and_tampered_payload() {
    let wrong_key = mint_with(&"x".repeat(40), jwt::HEADER, &claims());
    assert_eq!(verify(&wrong_key).unwrap_err(), IdTokenError::InvalidSignature);
    let good = mint(&claims());
    let (head, _) = good.split_once('.').unwrap();
    let signature = good.rsplit_once('.').unwrap().1;
    let tampered_payload =
        URL_SAFE_NO_PAD.encode(with(claims(), "preferred_username", json!("mallory")).to_string());
    let tampered = format!("{head}.{tampered_payload}.{signature}");
    assert_eq!(verify(&tampered).unwrap_err(), IdTokenError::InvalidSignature);
    let no_signature = format!("{}.", good.rsplit_once('.').unwrap().0);
    assert_eq!(verify(&no_signature).unwrap_err(), IdTokenError::InvalidSignature);
    assert!(verify(&good).is_ok());
}

/// C15: structurally broken tokens are `Malformed`.
#[test]
#[wasm_bindgen_test]
fn id_token_rejects_malformed_compact_serialization() {
    let good = mint(&claims());
    let not_object = mint_with(SECRET, jwt::HEADER, &json!([1, 2]));
    for bad in [
        String::new(),
        "a.b".to_owned(),
        format!("{good}.extra"),
        "!!!.e30.sig".to_owned(),
        format!("{}.e30.", URL_SAFE_NO_PAD.encode("not json")),
        format!("{}.e30.", URL_SAFE_NO_PAD.encode("[]")),
        "x".repeat(40_000),
        not_object,
    ] {
        assert_eq!(verify(&bad).unwrap_err(), IdTokenError::Malformed, "{bad:.40}");
    }
}

/// C16
#[test]
#[wasm_bindgen_test]
fn id_token_rejects_wrong_issuer() {
    for iss in [
        format!("https://{HOST}"),
        format!("http://{HOST}/oauth/v1/token"),
        "https://api-other.duosecurity.com/oauth/v1/token".to_owned(),
    ] {
        assert_eq!(
            verify(&mint(&with(claims(), "iss", json!(iss)))).unwrap_err(),
            IdTokenError::Issuer { expected: ISS.to_owned(), found: iss.clone() }
        );
    }
}

/// C16
#[test]
#[wasm_bindgen_test]
fn id_token_rejects_wrong_or_multiple_audiences() {
    assert_eq!(
        verify(&mint(&with(claims(), "aud", json!("DIYYYYYYYYYYYYYYYYYY")))).unwrap_err(),
        IdTokenError::Audience
    );
    assert_eq!(
        verify(&mint(&with(claims(), "aud", json!([CLIENT_ID, "DIYYYYYYYYYYYYYYYYYY"]))))
            .unwrap_err(),
        IdTokenError::AudienceCount { found: 2 }
    );
    assert_eq!(
        verify(&mint(&with(claims(), "aud", json!([])))).unwrap_err(),
        IdTokenError::AudienceCount { found: 0 }
    );
    assert_eq!(
        verify(&mint(&with(claims(), "aud", json!(42)))).unwrap_err(),
        IdTokenError::MissingClaim { claim: "aud" }
    );
    assert!(verify(&mint(&with(claims(), "aud", json!([CLIENT_ID])))).is_ok());
}

/// C17: leeway of 60 s on `exp`, `iat`, `nbf`.
#[test]
#[wasm_bindgen_test]
fn id_token_time_claims_allow_60_seconds_of_leeway() {
    let at = |name: &str, offset: i64| verify(&mint(&with(claims(), name, json!(NOW + offset))));
    assert!(at("exp", -30).is_ok());
    assert_eq!(at("exp", -90).unwrap_err(), IdTokenError::Expired { exp: NOW - 90, now: NOW });
    assert_eq!(at("exp", -60).unwrap_err(), IdTokenError::Expired { exp: NOW - 60, now: NOW });
    assert!(at("exp", -59).is_ok());
    assert!(at("iat", 30).is_ok());
    assert!(at("iat", 60).is_ok());
    assert_eq!(
        at("iat", 90).unwrap_err(),
        IdTokenError::IssuedInFuture { iat: NOW + 90, now: NOW }
    );
    assert!(at("nbf", 30).is_ok());
    assert_eq!(at("nbf", 90).unwrap_err(), IdTokenError::NotYetValid { nbf: NOW + 90, now: NOW });
    assert_eq!(
        verify(&mint(&with(claims(), "nbf", json!("soon")))).unwrap_err(),
        IdTokenError::MissingClaim { claim: "nbf" }
    );
    // Extreme times saturate instead of overflowing.
    assert!(verify_at(&mint(&with(claims(), "exp", json!(i64::MAX))), i64::MAX - 10).is_ok());
    assert_eq!(
        verify_at(&mint(&with(claims(), "exp", json!(i64::MIN))), i64::MAX).unwrap_err(),
        IdTokenError::Expired { exp: i64::MIN, now: i64::MAX }
    );
}

/// C18
#[test]
#[wasm_bindgen_test]
fn id_token_rejects_missing_required_claims() {
    for claim in ["iss", "aud", "exp", "iat", "preferred_username"] {
        assert_eq!(
            verify(&mint(&without(claims(), claim))).unwrap_err(),
            IdTokenError::MissingClaim { claim },
            "{claim}"
        );
        assert_eq!(
            verify(&mint(&with(claims(), claim, Value::Null))).unwrap_err(),
            IdTokenError::MissingClaim { claim }
        );
    }
    for (claim, value) in [
        ("exp", json!("1700000300")),
        ("iat", json!(1.5)),
        ("preferred_username", json!(7)),
        ("iss", json!([ISS])),
    ] {
        assert_eq!(
            verify(&mint(&with(claims(), claim, value))).unwrap_err(),
            IdTokenError::MissingClaim { claim }
        );
    }
}

/// C19
#[test]
#[wasm_bindgen_test]
fn id_token_rejects_other_username_and_case_unless_configured() {
    for other in ["bob", "Alice", "alice ", "alic"] {
        assert_eq!(
            verify(&mint(&with(claims(), "preferred_username", json!(other)))).unwrap_err(),
            IdTokenError::UsernameMismatch,
            "{other}"
        );
    }
    let upper = DuoUsername::parse("ALICE").unwrap();
    let expectations = Expectations {
        username_match: UsernameMatch::CaseInsensitive,
        ..Expectations::new(&upper, None)
    };
    let token = mint(&claims());
    assert!(client().verify_id_token(&token, &expectations, UnixTime(NOW)).is_ok());
    assert_eq!(
        client()
            .verify_id_token(&token, &Expectations::new(&upper, None), UnixTime(NOW))
            .unwrap_err(),
        IdTokenError::UsernameMismatch
    );
}

/// C20
#[test]
#[wasm_bindgen_test]
fn id_token_nonce_checked_only_when_one_was_sent() {
    assert_eq!(verify(&mint(&without(claims(), "nonce"))).unwrap_err(), IdTokenError::NonceMissing);
    assert_eq!(
        verify(&mint(&with(claims(), "nonce", json!("zyxwvutsrqponmlkjihgfedcba")))).unwrap_err(),
        IdTokenError::NonceMismatch
    );
    assert_eq!(
        verify(&mint(&with(claims(), "nonce", json!(12)))).unwrap_err(),
        IdTokenError::NonceMismatch
    );
    assert!(verify(&mint(&claims())).is_ok());
    let user = alice();
    let unexpected =
        client().verify_id_token(&mint(&claims()), &Expectations::new(&user, None), UnixTime(NOW));
    assert!(unexpected.is_ok());
}

/// C21
#[test]
#[wasm_bindgen_test]
fn id_token_deny_is_exposed_and_require_allow_fails() {
    let deny = json!({"result": "deny", "status": "deny", "status_msg": "Login denied"});
    let verified = verify(&mint(&with(claims(), "auth_result", deny))).unwrap();
    assert_eq!(verified.status(), Some(AuthStatus::Deny));
    assert_eq!(verified.result().as_deref(), Some("deny"));
    assert_eq!(verified.require_allow(), Err(IdTokenError::NotAllowed { status: "deny".into() }));
    let fraud = json!({"status": "fraud"});
    let verified = verify(&mint(&with(claims(), "auth_result", fraud))).unwrap();
    assert_eq!(verified.status(), Some(AuthStatus::Other("fraud".into())));
    assert!(verified.require_allow().is_err());
    let verified = verify(&mint(&without(claims(), "auth_result"))).unwrap();
    assert_eq!(verified.require_allow(), Err(IdTokenError::AuthResultMissing));
    let verified = verify(&mint(&with(claims(), "auth_result", json!({"status": true})))).unwrap();
    assert_eq!(verified.require_allow(), Err(IdTokenError::AuthResultMissing));
    assert_eq!(verify(&mint(&claims())).unwrap().require_allow(), Ok(()));
}

/// C21 (issue #11): `status: allow` is not enough, `result` must say `allow` too.
#[test]
#[wasm_bindgen_test]
fn require_allow_rejects_result_deny_even_when_status_allows() {
    let mixed = json!({"result": "deny", "status": "allow", "status_msg": "Login Successful"});
    let verified = verify(&mint(&with(claims(), "auth_result", mixed))).unwrap();
    assert_eq!(verified.status(), Some(AuthStatus::Allow));
    assert_eq!(
        verified.require_allow(),
        Err(IdTokenError::ResultNotAllowed { result: "deny".into() })
    );
    for result in [json!("Allow"), json!("fraud"), json!(""), json!("allow ")] {
        let auth_result = json!({"result": result, "status": "allow"});
        let verified = verify(&mint(&with(claims(), "auth_result", auth_result))).unwrap();
        assert!(
            matches!(verified.require_allow(), Err(IdTokenError::ResultNotAllowed { .. })),
            "{result}"
        );
    }
    // A missing or non-string `result` is as bad as a missing `status`.
    for auth_result in [json!({"status": "allow"}), json!({"status": "allow", "result": true})] {
        let verified = verify(&mint(&with(claims(), "auth_result", auth_result))).unwrap();
        assert_eq!(verified.require_allow(), Err(IdTokenError::AuthResultMissing));
    }
    // `status` is checked first: a denial keeps its status in the error.
    let denied = json!({"result": "allow", "status": "deny"});
    let verified = verify(&mint(&with(claims(), "auth_result", denied))).unwrap();
    assert_eq!(verified.require_allow(), Err(IdTokenError::NotAllowed { status: "deny".into() }));
    // A long value is cut to 64 characters.
    let long = json!({"result": "x".repeat(500), "status": "allow"});
    let verified = verify(&mint(&with(claims(), "auth_result", long))).unwrap();
    assert_eq!(
        verified.require_allow(),
        Err(IdTokenError::ResultNotAllowed { result: "x".repeat(64) })
    );
}

/// C22: the realistic fixture (Python-style JSON, nulls, tri-states, unknown fields).
#[test]
#[wasm_bindgen_test]
fn id_token_full_fixture_parses_into_typed_view() {
    let now = FULL_AUTH_TIME + 20;
    let verified = verify_response_at(FULL_TOKEN_RESPONSE.as_bytes(), now).unwrap();
    assert_eq!(verified.require_allow(), Ok(()));
    assert_eq!(verified.username(), "alice");
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(verified.auth_time(), Some(FULL_AUTH_TIME));
    assert_eq!(verified.issued_at(), FULL_AUTH_TIME + 12);
    assert_eq!(verified.expires_at(), FULL_AUTH_TIME + 3600);
    assert_eq!(verified.amr(), ["mfa", "pwd"]);
    assert_eq!(verified.status_message().as_deref(), Some("Login Successful"));
    assert_eq!(verified.txid().as_deref(), Some("4f3b2a19-8c7d-4e6f-9a0b-1c2d3e4f5a6b"));
    assert_eq!(verified.factor().as_deref(), Some("duo_push"));
    assert_eq!(verified.reason().as_deref(), Some("user_approved"));
    assert_eq!(verified.context_result().as_deref(), Some("success"));
    assert_eq!(verified.user_key().as_deref(), Some("DUABCDEFGHIJKLMNOPQR"));
    assert_eq!(verified.user_groups(), ["staff", "admins"]);
    assert_eq!(verified.application_name().as_deref(), Some("Example Login"));
    let auth_device = verified.auth_device();
    assert_eq!(auth_device.name.as_deref(), Some("+1 555 0100"));
    assert_eq!(auth_device.location.city.as_deref(), Some("Ann Arbor"));
    let access = verified.access_device();
    assert_eq!(access.hostname, None);
    assert_eq!(access.browser.as_deref(), Some("Chrome"));
    assert_eq!(access.is_encryption_enabled, Some(TriState::True));
    assert_eq!(access.is_firewall_enabled, Some(TriState::False));
    assert_eq!(access.is_password_set, Some(TriState::Unknown));
    assert_eq!(verified.claims()["unknown_top_level"], "tolerated");
    assert_eq!(verified.claims()["auth_context"]["ood_software"], Value::Null);
    // The bare token verifies the same way as the one inside the response.
    let (user, nonce) = (alice(), nonce());
    let direct = client()
        .verify_id_token(FULL_ID_TOKEN, &Expectations::new(&user, Some(&nonce)), UnixTime(now))
        .unwrap();
    assert_eq!(direct, verified);
    assert!((2000..4096).contains(&FULL_ID_TOKEN.len()));
    // One second past exp + leeway it is expired.
    assert_eq!(
        verify_response_at(FULL_TOKEN_RESPONSE.as_bytes(), FULL_AUTH_TIME + 3660).unwrap_err(),
        DuoError::IdToken(IdTokenError::Expired {
            exp: FULL_AUTH_TIME + 3600,
            now: FULL_AUTH_TIME + 3660
        })
    );
}

fn verify_response_at(body: &[u8], now: i64) -> Result<VerifiedIdToken, DuoError> {
    let user = alice();
    let nonce = nonce();
    client().verify_token_response(
        &HttpResponse::new(200, body),
        &Expectations::new(&user, Some(&nonce)),
        UnixTime(now),
    )
}

/// C22: odd shapes in the context become `None`, never an error.
#[test]
#[wasm_bindgen_test]
fn id_token_typed_view_tolerates_nulls_and_odd_types() {
    let context = json!({
        "txid": null, "factor": 5, "user": "not an object",
        "access_device": {"is_encryption_enabled": null, "is_firewall_enabled": "unknown",
                          "is_password_set": 1, "hostname": null, "location": null},
        "auth_device": null
    });
    let verified = verify(&mint(&with(claims(), "auth_context", context))).unwrap();
    assert_eq!(verified.txid(), None);
    assert_eq!(verified.factor(), None);
    assert_eq!(verified.user_groups(), Vec::<String>::new());
    let access = verified.access_device();
    assert_eq!(access.is_encryption_enabled, None);
    assert_eq!(access.is_firewall_enabled, Some(TriState::Unknown));
    assert_eq!(access.is_password_set, None);
    assert_eq!(access.location, Location::default());
    assert_eq!(verified.auth_device(), AuthDevice::default());
    let bare = verify(&mint(&without(without(claims(), "auth_context"), "amr"))).unwrap();
    assert_eq!(bare.access_device(), AccessDevice::default());
    assert!(bare.amr().is_empty());
}

// ---- C23-C25: health check, OAuth errors, flow helpers ----------------------------------

fn health(status: u16, body: &str) -> Result<HealthCheck, DuoError> {
    client().parse_health_check_response(&HttpResponse::new(status, body))
}

const FAIL_BODY: &str = r#"{"stat": "FAIL", "code": 40002, "message": "invalid_client", "message_detail": "The provided client_assertion was invalid.", "timestamp": 1573068322}"#;

/// C23
#[test]
#[wasm_bindgen_test]
fn health_check_ok_body_is_ok() {
    assert_eq!(
        health(200, r#"{"response": {"timestamp": 1573068322}, "stat": "OK"}"#),
        Ok(HealthCheck { timestamp: Some(1_573_068_322) })
    );
    assert_eq!(health(200, r#"{"stat": "OK"}"#), Ok(HealthCheck { timestamp: None }));
}

/// C23
#[test]
#[wasm_bindgen_test]
fn health_check_fail_body_is_typed_at_200_and_400() {
    for status in [200, 400] {
        assert_eq!(
            health(status, FAIL_BODY),
            Err(DuoError::HealthCheckFailed {
                status,
                code: Some(40002),
                message: Some("invalid_client".into()),
                detail: Some("The provided client_assertion was invalid.".into()),
            })
        );
    }
    let err = health(200, FAIL_BODY).unwrap_err();
    assert!(!err.to_string().contains("client_assertion"), "no upstream text in Display");
    assert_eq!(
        health(200, r#"{"stat": "FAIL"}"#),
        Err(DuoError::HealthCheckFailed { status: 200, code: None, message: None, detail: None })
    );
}

/// C23
#[test]
#[wasm_bindgen_test]
fn health_check_non_json_and_odd_bodies_are_typed() {
    assert_eq!(
        health(502, "<html>Bad Gateway</html>"),
        Err(DuoError::Http { status: 502, body: "<html>Bad Gateway</html>".into() })
    );
    assert_eq!(health(200, "<html>"), Err(MalformedResponse::NotJson.into()));
    assert_eq!(health(200, "{}"), Err(MalformedResponse::MissingField("stat").into()));
    assert_eq!(health(200, r#"{"stat": "MAYBE"}"#), Err(MalformedResponse::UnexpectedStat.into()));
    assert_eq!(health(200, r#"{"stat": 1}"#), Err(MalformedResponse::UnexpectedStat.into()));
    assert_eq!(
        health(503, r#"{"stat": "OK"}"#),
        Err(DuoError::Http { status: 503, body: r#"{"stat": "OK"}"#.into() })
    );
    assert_eq!(
        health(401, r#"{"error": "invalid_client", "error_description": "nope"}"#),
        Err(DuoError::OAuth {
            status: 401,
            error: "invalid_client".into(),
            description: Some("nope".into())
        })
    );
    let huge = format!("{{\"stat\": \"OK\", \"pad\": \"{}\"}}", "x".repeat(MAX_RESPONSE_BODY));
    assert_eq!(health(200, &huge), Err(MalformedResponse::TooLarge.into()));
    let Err(DuoError::Http { body, .. }) = health(500, &"y".repeat(10_000)) else { panic!() };
    assert_eq!(body.len(), 512);
}

/// C23: the flow helper sends exactly the built request and maps a transport error.
#[test]
#[wasm_bindgen_test]
fn health_check_flow_sends_request_and_maps_transport_error() {
    let ok = FakeTransport::new(Ok(HttpResponse::new(
        200,
        r#"{"stat": "OK", "response": {"timestamp": 5}}"#,
    )));
    let result = block_on(client().health_check(&ok, UnixTime(2), &JTI_RANDOM));
    assert_eq!(result, Ok(HealthCheck { timestamp: Some(5) }));
    assert_eq!(*ok.sent.borrow(), [client().health_check_request(UnixTime(2), &JTI_RANDOM)]);
    let down = TransportError::new(TransportErrorKind::Timeout, "timed out");
    let failing = FakeTransport::new(Err(down.clone()));
    assert_eq!(
        block_on(client().health_check(&failing, UnixTime(2), &JTI_RANDOM)),
        Err(DuoError::Transport(down))
    );
}

/// C24
#[test]
#[wasm_bindgen_test]
fn token_oauth_error_bodies_are_typed() {
    let grant = r#"{"error": "invalid_grant", "error_description": "The provided authorization grant is invalid."}"#;
    assert_eq!(
        verify_response(400, grant.as_bytes()).unwrap_err(),
        DuoError::OAuth {
            status: 400,
            error: "invalid_grant".into(),
            description: Some("The provided authorization grant is invalid.".into())
        }
    );
    let client_err = r#"{"error": "invalid_client", "error_description": "Customer does not have frameless access enabled."}"#;
    let err = verify_response(401, client_err.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        DuoError::OAuth {
            status: 401,
            error: "invalid_client".into(),
            description: Some("Customer does not have frameless access enabled.".into())
        }
    );
    assert!(!err.to_string().contains("frameless"));
    assert_eq!(
        verify_response(500, b"Internal Server Error").unwrap_err(),
        DuoError::Http { status: 500, body: "Internal Server Error".into() }
    );
    assert_eq!(
        verify_response(400, b"{\"message\": \"no error field\"}").unwrap_err(),
        DuoError::Http { status: 400, body: "{\"message\": \"no error field\"}".into() }
    );
    // An OAuth error body at 200 is not a token.
    assert_eq!(
        verify_response(200, grant.as_bytes()).unwrap_err(),
        DuoError::MalformedResponse(MalformedResponse::MissingField("id_token"))
    );
}

/// C24: the flow helper sends the token request and returns the verified token.
#[test]
#[wasm_bindgen_test]
fn exchange_code_flow_sends_request_and_verifies() {
    let transport = FakeTransport::new(Ok(HttpResponse::new(200, FULL_TOKEN_RESPONSE.as_bytes())));
    let code = AuthCode::parse(CODE).unwrap();
    let user = alice();
    let nonce = nonce();
    let now = UnixTime(FULL_AUTH_TIME + 20);
    let verified = block_on(client().exchange_code(
        &transport,
        &code,
        &Expectations::new(&user, Some(&nonce)),
        now,
        &JTI_RANDOM,
    ))
    .unwrap();
    assert_eq!(verified.require_allow(), Ok(()));
    assert_eq!(*transport.sent.borrow(), [client().token_request(&code, now, &JTI_RANDOM)]);
    let bob = DuoUsername::parse("bob").unwrap();
    assert_eq!(
        block_on(client().exchange_code(
            &transport,
            &code,
            &Expectations::new(&bob, None),
            now,
            &JTI_RANDOM
        )),
        Err(DuoError::IdToken(IdTokenError::UsernameMismatch))
    );
}

/// C25
#[test]
#[wasm_bindgen_test]
fn empty_code_is_rejected_before_any_request() {
    assert_eq!(AuthCode::parse("").unwrap_err(), InputError::CodeEmpty);
    assert_eq!(AuthCode::parse("a b").unwrap_err(), InputError::CodeMalformed);
    assert_eq!(AuthCode::parse("\u{e9}").unwrap_err(), InputError::CodeMalformed);
    assert_eq!(AuthCode::parse(&"a".repeat(1025)).unwrap_err(), InputError::CodeMalformed);
    let err: DuoError = InputError::CodeEmpty.into();
    assert_eq!(err.to_string(), "the Duo authorization code is empty");
}

// ---- C27: runs in wasm32 with a single-threaded transport --------------------------------

/// A transport holding an `Rc` (neither `Send` nor `Sync`), like a Worker's `fetch` binding.
struct RcTransport(std::rc::Rc<RefCell<u32>>);

impl Transport for RcTransport {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
        *self.0.borrow_mut() += 1;
        Ok(HttpResponse::new(200, r#"{"stat": "OK"}"#))
    }
}

/// C27: the trait has no `Send` bound, so a `!Send` transport drives the flow helpers (this
/// whole suite also runs in wasm32 in a browser).
#[test]
#[wasm_bindgen_test]
fn flow_helpers_accept_a_non_send_transport() {
    let calls = std::rc::Rc::new(RefCell::new(0));
    let transport = RcTransport(calls.clone());
    let result = block_on(client().health_check(&transport, UnixTime(2), &JTI_RANDOM));
    assert_eq!(result, Ok(HealthCheck { timestamp: None }));
    // A `&dyn`-free, reference-forwarding impl: `&T` is a transport too.
    let by_ref = &transport;
    assert!(block_on(client().health_check(&by_ref, UnixTime(2), &JTI_RANDOM)).is_ok());
    assert_eq!(*calls.borrow(), 2);
}
