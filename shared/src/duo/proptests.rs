//! Property tests: no parser of untrusted input panics, whatever it is fed (native only).

#![allow(clippy::unwrap_used)]

use super::jwt;
use super::*;
use proptest::prelude::*;
use serde_json::{Value, json};

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
                    ".{0,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
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
}
