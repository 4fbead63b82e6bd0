//! `cargo bench -p shared`: the Duo client's per-login work.
//!
//! - building the authorize URL (one HS512 JWT, URL encoding),
//! - building the token request (one client assertion),
//! - verifying a token response with a realistic ~2.8 KB `id_token` (full `auth_context`),
//! - and its floor: a bare HMAC-SHA512 over the same token's signing input with the same key
//!   (`cargo bench -p shared -- verify_token_response` runs both),
//! - verification followed by the first read of the typed view (`txid`, as the Worker does),
//!   which parses the full claims once (`VerifiedIdToken` parses them lazily).
//!
//! The bench profile inherits `release`: `opt-level = "z"` for everything but the crates the
//! root manifest raises to 3 (`sha2`, `hmac`, ...), so the floor runs speed-optimized code and
//! the JSON and base64 work runs size-optimized code, as in the Worker.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::Criterion;
    use hmac::{Hmac, Mac};
    use shared::duo::{
        AuthCode, AuthorizeOptions, DuoClient, DuoUsername, Expectations, HttpResponse, Nonce,
        State, UnixTime,
    };
    use std::hint::black_box;

    const SECRET: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

    const TOKEN_RESPONSE: &str =
        include_str!("../../tests/fixtures/duo-client/token_response_full.json");
    const AUTH_TIME: i64 = 1_700_000_000;

    fn client() -> DuoClient {
        DuoClient::from_settings(
            "DIXXXXXXXXXXXXXXXXXX",
            SECRET.to_owned(),
            "api-deadbeef.duosecurity.com",
            "https://login.example.com/auth/duo/callback",
        )
        .expect("valid fixture settings")
    }

    pub fn benches(c: &mut Criterion) {
        let client = client();
        let user = DuoUsername::parse("alice").expect("valid username");
        let nonce = Nonce::parse("abcdefghijklmnopqrstuvwxyzabcdef").expect("valid nonce");
        let state = State::generate(&[9; 32]);
        let options = AuthorizeOptions::default();
        c.bench_function("authorize_url", |b| {
            b.iter(|| {
                client.authorize_url(
                    black_box(&user),
                    black_box(&state),
                    Some(&nonce),
                    &options,
                    UnixTime(2),
                )
            });
        });

        let code = AuthCode::parse("0123456789abcdef0123456789abcdef").expect("valid code");
        c.bench_function("token_request", |b| {
            b.iter(|| client.token_request(black_box(&code), UnixTime(2), black_box(&[7; 32])));
        });

        let response = HttpResponse::new(200, TOKEN_RESPONSE.as_bytes());
        let expected = Expectations::new(&user, Some(&nonce));
        let now = UnixTime(AUTH_TIME + 20);
        assert!(client.verify_token_response(&response, &expected, now).is_ok());
        c.bench_function("verify_token_response_full_id_token", |b| {
            b.iter(|| {
                let verified = client
                    .verify_token_response(black_box(&response), &expected, now)
                    .expect("fixture verifies");
                verified.require_allow().expect("fixture allows");
                verified
            });
        });

        c.bench_function("verify_token_response_then_typed_view", |b| {
            b.iter(|| {
                let verified = client
                    .verify_token_response(black_box(&response), &expected, now)
                    .expect("fixture verifies");
                verified.require_allow().expect("fixture allows");
                verified.txid()
            });
        });

        // The floor: what the signature check alone costs on this token.
        let body: serde_json::Value =
            serde_json::from_str(TOKEN_RESPONSE).expect("fixture is JSON");
        let id_token = body["id_token"].as_str().expect("fixture has an id_token");
        let (signing_input, _signature) = id_token.rsplit_once('.').expect("compact JWS");
        c.bench_function("verify_token_response_floor_hmac_sha512", |b| {
            b.iter(|| {
                let mut mac = Hmac::<sha2::Sha512>::new_from_slice(SECRET.as_bytes())
                    .expect("HMAC takes any key length");
                mac.update(black_box(signing_input.as_bytes()));
                mac.finalize().into_bytes()
            });
        });
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(duo, native::benches);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(duo);

/// Benchmarks run natively only.
#[cfg(target_arch = "wasm32")]
fn main() {}
