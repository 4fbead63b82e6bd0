//! `cargo bench -p shared`: the Duo client's per-login work.
//!
//! - building the authorize URL (one HS512 JWT, URL encoding),
//! - building the token request (one client assertion),
//! - verifying a token response with a realistic ~2.8 KB `id_token` (full `auth_context`).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::Criterion;
    use shared::duo::{
        AuthCode, AuthorizeOptions, DuoClient, DuoUsername, Expectations, HttpResponse, Nonce,
        State, UnixTime,
    };
    use std::hint::black_box;

    const TOKEN_RESPONSE: &str =
        include_str!("../../tests/fixtures/duo-client/token_response_full.json");
    const AUTH_TIME: i64 = 1_700_000_000;

    fn client() -> DuoClient {
        DuoClient::from_settings(
            "DIXXXXXXXXXXXXXXXXXX",
            "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef".to_owned(),
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
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(duo, native::benches);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(duo);

/// Benchmarks run natively only.
#[cfg(target_arch = "wasm32")]
fn main() {}
