//! Fuzz targets: each function feeds arbitrary bytes to one parser of
//! untrusted input, the way the Worker would meet them, and must return
//! (whatever it returns) without panicking. A panic in the Worker is a bug.
//!
//! | target | parser | untrusted source |
//! |---|---|---|
//! | [`login_body`] | `edge_core::flow::login::parse_body` | `POST /api/login` body |
//! | [`cookies`] | `edge_core::cookie::find`, `LoginTicket::open`, `KnownBrowser::vouches_for`, `SessionId::parse` | `Cookie` header |
//! | [`callback_query`] | `edge_core::flow::duo_callback::CallbackQuery::parse` | `/auth/duo/callback` query |
//! | [`headers`] | `edge_core::headers` (client IP, media type, length, URL split) | request headers and URL |
//! | [`token_response`] | `DuoClient::verify_token_response` and Duo's error bodies | Duo's token endpoint |
//! | [`id_token_claims`] | the `id_token`'s claims, correctly signed, so checks run past the signature | Duo's token endpoint |
//! | [`config`] | `edge_core::config::Config::parse`, `Maintenance::parse` | the Worker's settings |
//!
//! `fuzz/` runs them coverage-guided (cargo-fuzz, nightly: `scripts/fuzz.sh`);
//! `tests/replay.rs` replays the committed corpus and a few thousand
//! pseudo-random inputs per target on stable, in the test command.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use edge_core::config::{Config, Maintenance, SessionSecret};
use edge_core::cookie::{KnownBrowser, LoginTicket};
use edge_core::flow::duo_callback::CallbackQuery;
use hmac::{Hmac, Mac};
use shared::duo::{DuoClient, DuoUsername, Expectations, HttpResponse, Nonce, UnixTime};
use zeroize::Zeroizing;

/// A target: the name of its corpus directory, and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: [Target; 7] = [
    ("login_body", login_body),
    ("cookies", cookies),
    ("callback_query", callback_query),
    ("headers", headers),
    ("token_response", token_response),
    ("id_token_claims", id_token_claims),
    ("config", config),
];

/// The test bed's `SESSION_SECRET` (e2e `default_vars`).
const SESSION_SECRET_B64: &str = "ZTJlLXRlc3Qtc2Vzc2lvbi1zZWNyZXQtMzItYnl0ZXMhIQ==";
/// The Duo client secret of the fixtures (`tests/fixtures/duo-client`).
const CLIENT_SECRET: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
/// Around the fixtures' `iat`.
const NOW: i64 = 1_700_000_100;

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `POST /api/login` bodies.
pub fn login_body(data: &[u8]) {
    let _ = edge_core::flow::login::parse_body(data);
}

/// A `Cookie` header, and each cookie the Worker reads from it.
pub fn cookies(data: &[u8]) {
    let header = text(data);
    let Ok(key) = SessionSecret::parse(SESSION_SECRET_B64) else { return };
    let now = 1_800_000_000;
    for name in ["__Host-login", "__Host-session", "__Host-known"] {
        let Some(value) = edge_core::cookie::find(&header, name) else { continue };
        let _ = LoginTicket::open(value, &key, now);
        let _ = KnownBrowser::vouches_for(Some(value), &key, "alice", now);
        let _ = edge_core::session::SessionId::parse(value);
    }
    // The whole input as a value too (after `find`, any text can be one).
    let _ = LoginTicket::open(&header, &key, now);
    let _ = KnownBrowser::vouches_for(Some(&header), &key, "alice", now);
}

/// `/auth/duo/callback` queries.
pub fn callback_query(data: &[u8]) {
    let _ = CallbackQuery::parse(&text(data));
}

/// Header values and the request URL.
pub fn headers(data: &[u8]) {
    let value = text(data);
    let _ = edge_core::headers::client_ip(&value);
    let _ = edge_core::headers::is_json(Some(&value));
    let _ = edge_core::headers::declared_too_long(&value, edge_core::headers::MAX_BODY_LEN);
    let _ = edge_core::headers::path_and_query(&value);
}

fn client() -> Option<DuoClient> {
    DuoClient::from_settings(
        "DIXXXXXXXXXXXXXXXXXX",
        CLIENT_SECRET.to_owned(),
        "api-deadbeef.duosecurity.com",
        "https://login.example.com/auth/duo/callback",
    )
    .ok()
}

/// What the Duo client is asked to expect of the token (the fixtures').
fn verify(body: Vec<u8>, status: u16) {
    let (Some(client), Ok(username), Ok(nonce)) =
        (client(), DuoUsername::parse("alice"), Nonce::parse("abcdefghijklmnopqrstuvwxyzabcdef"))
    else {
        return;
    };
    let expected = Expectations::new(&username, Some(&nonce));
    let response = HttpResponse::new(status, body);
    if let Ok(verified) = client.verify_token_response(&response, &expected, UnixTime(NOW)) {
        // What the Worker reads of a verified token.
        let _ = verified.require_allow();
        let _ = verified.txid();
        let _ = verified.claims().len();
    }
}

/// Token endpoint answers, as bytes: the first byte picks the status
/// (success or one of Duo's errors), the rest is the body.
pub fn token_response(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else { return };
    let status = [200, 200, 400, 401, 500, 503][usize::from(first) % 6];
    verify(body.to_vec(), status);
}

/// `id_token` claims (the bytes are the payload), signed with the client
/// secret, in a well-formed token response.
pub fn id_token_claims(data: &[u8]) {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(data));
    let Ok(mut mac) = Hmac::<sha2::Sha512>::new_from_slice(CLIENT_SECRET.as_bytes()) else {
        return;
    };
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let body = serde_json::json!({
        "id_token": format!("{signing_input}.{signature}"),
        "access_token": "fuzz",
        "expires_in": 3600,
        "token_type": "Bearer",
    });
    verify(body.to_string().into_bytes(), 200);
}

/// The Worker's settings: `NAME=value` lines.
pub fn config(data: &[u8]) {
    let text = text(data);
    let settings: HashMap<&str, &str> =
        text.lines().filter_map(|line| line.split_once('=')).collect();
    let lookup = |name: &str| settings.get(name).map(|v| Zeroizing::new((*v).to_owned()));
    let _ = Config::parse(lookup);
    let _ = Maintenance::parse(&lookup);
}
