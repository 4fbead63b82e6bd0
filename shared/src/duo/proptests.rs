//! Property tests: no parser of untrusted input panics, whatever it is fed, and the verifier
//! agrees with the `serde_json::Value`-based one it replaced (`reference.rs`) (native only).

#![allow(clippy::unwrap_used)]

use super::jwt;
use super::reference;
use super::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::fmt::Write as _;

const CLIENT_ID: &str = "DIXXXXXXXXXXXXXXXXXX";
const SECRET: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
const HOST: &str = "api-deadbeef.duosecurity.com";
const NOW: i64 = 1_700_000_000;

fn client() -> DuoClient {
    DuoClient::from_settings(CLIENT_ID, SECRET.to_owned(), HOST, "https://login.example.com/cb")
        .unwrap()
}

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("iss".to_owned()),
                    Just("aud".to_owned()),
                    Just("exp".to_owned()),
                    Just("iat".to_owned()),
                    Just("nbf".to_owned()),
                    Just("nonce".to_owned()),
                    Just("preferred_username".to_owned()),
                    Just("auth_result".to_owned()),
                    Just("auth_context".to_owned()),
                    Just("status".to_owned()),
                    Just("result".to_owned()),
                    ".{0,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The claim names the verifier reads, and two it does not.
const NAMES: [&str; 10] =
    ["auth_result", "iss", "aud", "exp", "iat", "nbf", "nonce", "preferred_username", "sub", "x"];
const NONCE: &str = "abcdefghijklmnopqrstuvwxyzabcdef";

/// JSON text of a value that passes the check of `name`, or of a near miss (`pick` chooses);
/// `auth_result` variants repeat and escape keys.
fn valid_value(name: &str, pick: u8) -> String {
    let pick = usize::from(pick);
    let one = |values: &[Value]| values[pick % values.len()].to_string();
    match name {
        "iss" => one(&[
            json!(format!("https://{HOST}/oauth/v1/token")),
            json!(format!("http://{HOST}/oauth/v1/token")),
        ]),
        "aud" => {
            one(&[json!(CLIENT_ID), json!([CLIENT_ID]), json!([CLIENT_ID, CLIENT_ID]), json!([])])
        }
        "exp" => one(&[json!(NOW + 100), json!(NOW - 61), json!(u64::MAX), json!(-1), json!(1.0)]),
        "iat" | "nbf" => one(&[json!(NOW), json!(NOW + 61), json!(i64::MIN)]),
        "nonce" => one(&[json!(NONCE), json!("other-nonce-value-xxxx")]),
        "preferred_username" => one(&[json!("alice"), json!("Alice"), json!("bob")]),
        "auth_result" => [
            r#"{"status": "allow", "result": "allow"}"#,
            r#"{"status": "allow", "result": "deny"}"#,
            r#"{"status": "deny", "result": "allow"}"#,
            r#"{"status": "allow", "status": "deny", "result": "allow"}"#,
            r#"{"status": "deny", "status": "allow", "result": "allow"}"#,
            r#"{"result": "deny", "status": "allow", "result": "allow"}"#,
            r#"{"status": "allow", "result": "allow", "status": null}"#,
            r#"{"st\u0061tus": "allow", "result": "\u0061llow"}"#,
            r#"{"result": "allow"}"#,
            r#"["allow"]"#,
        ][pick % 10]
            .to_owned(),
        _ => json!("alice").to_string(),
    }
}

/// A key as JSON text, optionally with every character escaped (`"\u0069\u0073\u0073"`).
fn key_text(name: &str, escaped: bool) -> String {
    if escaped {
        let mut text = String::from("\"");
        for unit in name.encode_utf16() {
            write!(text, "\\u{unit:04x}").unwrap();
        }
        text + "\""
    } else {
        Value::from(name).to_string()
    }
}

/// The text of a claims object: valid claims, then changes inserted anywhere, so keys repeat
/// (the last one counts), values are near misses or arbitrary, and keys may be escaped.
fn claims_text() -> impl Strategy<Value = String> {
    let change = (
        0..NAMES.len(),
        any::<u8>(),
        prop::option::weighted(0.2, json_value()),
        any::<bool>(),
        any::<prop::sample::Index>(),
    );
    prop::collection::vec(change, 0..5).prop_map(|changes| {
        let mut entries: Vec<String> = NAMES[..8]
            .iter()
            .map(|name| format!("{}: {}", key_text(name, false), valid_value(name, 0)))
            .collect();
        for (name, pick, arbitrary, escaped, at) in changes {
            let name = NAMES[name];
            let value = arbitrary.map_or_else(|| valid_value(name, pick), |v| v.to_string());
            let entry = format!("{}: {value}", key_text(name, escaped));
            entries.insert(at.index(entries.len() + 1), entry);
        }
        format!("{{{}}}", entries.join(", "))
    })
}

/// Damages JSON text: cuts it, or puts one character in.
fn damage(text: &str, at: prop::sample::Index, insert: Option<char>) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let at = at.index(bytes.len() + 1);
    match insert {
        None => bytes.truncate(at),
        Some(c) => {
            let mut buf = [0; 4];
            bytes.splice(at..at, c.encode_utf8(&mut buf).bytes());
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Verifies a signed token with both verifiers and checks they agree.
fn assert_agrees_with_reference(
    token: &str,
    nonce_sent: bool,
    case_insensitive: bool,
) -> Result<(), TestCaseError> {
    let user = DuoUsername::parse("alice").unwrap();
    let nonce = Nonce::parse(NONCE).unwrap();
    let mut expected = Expectations::new(&user, nonce_sent.then_some(&nonce));
    if case_insensitive {
        expected.username_match = UsernameMatch::CaseInsensitive;
    }
    let new = client().verify_id_token(token, &expected, UnixTime(NOW));
    let old = reference::verify_id_token(CLIENT_ID, SECRET, HOST, token, &expected, NOW);
    match (new, old) {
        (Ok(new), Ok((outcome, claims))) => {
            prop_assert_eq!(new.claims(), &claims);
            prop_assert_eq!(new.require_allow(), reference::require_allow(&claims));
            prop_assert_eq!(reference::outcome(Ok(new)), outcome);
        }
        (Err(new), Err(old)) => prop_assert_eq!(new, old),
        (new, old) => {
            prop_assert!(false, "new {:?}, reference {:?}", new.map(|_| ()), old.map(|_| ()));
        }
    }
    Ok(())
}

/// Exercises every accessor of the typed view.
fn read_everything(token: &VerifiedIdToken) {
    let _ = (token.username(), token.subject(), token.auth_time(), token.amr());
    let _ = (token.status(), token.result(), token.status_message(), token.require_allow());
    let _ = (token.txid(), token.factor(), token.reason(), token.context_result());
    let _ = (token.user_key(), token.user_groups(), token.application_name());
    let _ = (token.auth_device(), token.access_device(), token.claims());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn settings_parsers_never_panic(value in "\\PC{0,80}|.{0,80}") {
        let _ = ClientId::parse(&value);
        let _ = ClientSecret::parse(value.clone());
        let _ = ApiHost::parse(&value);
        let _ = RedirectUri::parse(&value);
        let _ = client().with_user_agent_suffix(&value);
    }

    #[test]
    fn host_and_uri_parsers_never_panic_on_url_like_input(
        scheme in "(https?|ftp|)(://)?",
        host in "[a-z0-9.:\\[\\]@-]{0,30}",
        rest in "[/?#a-z%~ ]{0,20}",
    ) {
        let value = format!("{scheme}{host}{rest}");
        let _ = ApiHost::parse(&host);
        if let Ok(uri) = RedirectUri::parse(&value) {
            prop_assert_eq!(uri.as_str(), value.as_str());
        }
    }

    #[test]
    fn login_input_parsers_never_panic(value in "\\PC{0,1100}|.{0,40}") {
        let _ = State::parse(&value);
        let _ = Nonce::parse(&value);
        let _ = DuoUsername::parse(&value);
        let _ = AuthCode::parse(&value);
        let _ = AuthorizeOptions::default().with_dest_app_name(&value);
    }

    #[test]
    fn generated_state_always_parses(random in any::<[u8; 32]>(), len in 16usize..=1024) {
        prop_assert!(State::parse(State::generate(&random).as_str()).is_ok());
        let mut fill = |b: &mut [u8]| b.iter_mut().for_each(|x| *x = random[0]);
        let state = State::generate_with_length(len, &mut fill).unwrap();
        prop_assert_eq!(state.as_str().len(), len);
        prop_assert!(State::parse(state.as_str()).is_ok());
    }

    #[test]
    fn health_parser_never_panics(status in any::<u16>(), body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = client().parse_health_check_response(&HttpResponse::new(status, body));
    }

    #[test]
    fn health_parser_never_panics_on_json(status in any::<u16>(), body in json_value()) {
        let _ = client().parse_health_check_response(&HttpResponse::new(status, body.to_string()));
    }

    #[test]
    fn token_response_parser_never_panics(status in any::<u16>(), body in prop::collection::vec(any::<u8>(), 0..300), now in any::<i64>()) {
        let user = DuoUsername::parse("alice").unwrap();
        let _ = client().verify_token_response(&HttpResponse::new(status, body), &Expectations::new(&user, None), UnixTime(now));
    }

    #[test]
    fn token_response_parser_never_panics_on_json(status in any::<u16>(), body in json_value()) {
        let user = DuoUsername::parse("alice").unwrap();
        let _ = client().verify_token_response(&HttpResponse::new(status, body.to_string()), &Expectations::new(&user, None), UnixTime(NOW));
    }

    #[test]
    fn id_token_verifier_never_panics_on_text(token in "[A-Za-z0-9_.=+/-]{0,200}|\\PC{0,100}") {
        let user = DuoUsername::parse("alice").unwrap();
        let _ = client().verify_id_token(&token, &Expectations::new(&user, None), UnixTime(NOW));
    }

    #[test]
    fn id_token_verifier_never_panics_on_signed_claims(claims in json_value(), now in any::<i64>(), header in json_value()) {
        let user = DuoUsername::parse("alice").unwrap();
        let nonce = Nonce::parse("abcdefghijklmnopqrstuvwxyzabcdef").unwrap();
        let expectations = Expectations::new(&user, Some(&nonce));
        // Validly signed tokens with arbitrary claims reach every claim check.
        let token = jwt::sign_raw(SECRET.as_bytes(), jwt::HEADER.as_bytes(), claims.to_string().as_bytes());
        if let Ok(verified) = client().verify_id_token(&token, &expectations, UnixTime(now)) {
            read_everything(&verified);
        }
        // And arbitrary headers reach the algorithm check.
        let token = jwt::sign_raw(SECRET.as_bytes(), header.to_string().as_bytes(), claims.to_string().as_bytes());
        let _ = client().verify_id_token(&token, &expectations, UnixTime(now));
    }

    #[test]
    fn id_token_typed_view_never_panics(context in json_value(), auth_result in json_value(), amr in json_value()) {
        let claims = json!({
            "iss": format!("https://{HOST}/oauth/v1/token"), "aud": CLIENT_ID, "exp": NOW + 100,
            "iat": NOW, "preferred_username": "alice", "auth_context": context,
            "auth_result": auth_result, "amr": amr,
        });
        let token = jwt::sign_raw(SECRET.as_bytes(), jwt::HEADER.as_bytes(), claims.to_string().as_bytes());
        let user = DuoUsername::parse("alice").unwrap();
        let verified = client().verify_id_token(&token, &Expectations::new(&user, None), UnixTime(NOW)).unwrap();
        read_everything(&verified);
    }

    #[test]
    fn id_token_verifier_agrees_with_the_value_reference(
        claims in claims_text(),
        nonce_sent in any::<bool>(),
        case_insensitive in any::<bool>(),
    ) {
        let token = jwt::sign_raw(SECRET.as_bytes(), jwt::HEADER.as_bytes(), claims.as_bytes());
        assert_agrees_with_reference(&token, nonce_sent, case_insensitive)?;
    }

    #[test]
    fn id_token_verifier_agrees_with_the_value_reference_on_damaged_json(
        claims in claims_text(),
        at in any::<prop::sample::Index>(),
        insert in prop::option::of(prop_oneof![Just('"'), Just('\\'), Just(','), Just(']'), Just('}'), Just('{'), any::<char>()]),
        header in prop_oneof![
            Just(jwt::HEADER.to_owned()),
            Just(r#"{"alg":"HS256","alg":"HS512"}"#.to_owned()),
            Just(r#"{"alg":"HS512","alg":"none"}"#.to_owned()),
            Just(r#"{"\u0061lg":"HS512"}"#.to_owned()),
            Just(r#"{"alg":"HS\u0035\u00312"}"#.to_owned()),
            Just(r#"{"alg":"HS512","x":[[[[]]]],"typ":null}"#.to_owned()),
            json_value().prop_map(|h| h.to_string()),
        ],
    ) {
        let claims = damage(&claims, at, insert);
        let header = damage(&header, at, if insert == Some('"') { None } else { Some(' ') });
        let token = jwt::sign_raw(SECRET.as_bytes(), header.as_bytes(), claims.as_bytes());
        assert_agrees_with_reference(&token, true, false)?;
    }

    #[test]
    fn token_response_agrees_with_the_value_reference(
        claims in claims_text(),
        changes in prop::collection::vec((0usize..6, prop::option::of(json_value()), any::<prop::sample::Index>()), 0..4),
        token_type in prop_oneof![Just("Bearer"), Just("bearer"), Just("BEARER"), Just("MAC"), Just("")],
    ) {
        let token = jwt::sign_raw(SECRET.as_bytes(), jwt::HEADER.as_bytes(), claims.as_bytes());
        let valid = [json!(token), json!("at"), json!(3600), json!(token_type), json!(0), json!("rt")];
        let names =
            ["id_token", "access_token", "expires_in", "token_type", "expires_in", "refresh_token"];
        let mut entries: Vec<String> =
            (0..4).map(|i| format!("{}: {}", json!(names[i]), valid[i])).collect();
        for (field, arbitrary, at) in changes {
            let value = arbitrary.unwrap_or_else(|| valid[field].clone());
            entries.insert(at.index(entries.len() + 1), format!("{}: {value}", json!(names[field])));
        }
        let body = format!("{{{}}}", entries.join(", "));
        let user = DuoUsername::parse("alice").unwrap();
        let nonce = Nonce::parse(NONCE).unwrap();
        let expected = Expectations::new(&user, Some(&nonce));
        let new = client().verify_token_response(&HttpResponse::new(200, body.as_bytes()), &expected, UnixTime(NOW));
        let old = reference::verify_token_response(CLIENT_ID, SECRET, HOST, body.as_bytes(), &expected, NOW);
        prop_assert_eq!(reference::outcome(new), old);
    }

    #[test]
    fn base64url_decoder_agrees_with_the_base64_crate(text in "[A-Za-z0-9_=+/.-]{0,40}|\\PC{0,12}", bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let encoded = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assert_eq!(jwt::decode_base64url(&encoded), Some(bytes));
        prop_assert_eq!(jwt::decode_base64url(&text), URL_SAFE_NO_PAD.decode(&text).ok());
        // Every last digit of 2- and 3-digit tails (non-zero trailing bits are refused).
        for last in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".chars() {
            for tail in [format!("A{last}"), format!("AA{last}"), format!("{encoded}A{last}")] {
                prop_assert_eq!(jwt::decode_base64url(&tail), URL_SAFE_NO_PAD.decode(&tail).ok());
            }
        }
    }
}
