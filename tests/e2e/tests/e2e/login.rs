//! The first factor and sessions, over HTTP against the real Worker under
//! `wrangler dev` with its own migrated and seeded D1 database
//! (`DESIGN.md`, "HTTP contract": `POST /api/login`, `GET /api/session`,
//! `POST /api/logout`, `POST /api/logout-everywhere`).
//!
//! Cookies are handled by hand: they are `Secure`, and an HTTP client's
//! cookie jar does not send `Secure` cookies over `http://`. Redirects are
//! never followed. Each section uses its own `CF-Connecting-IP` (wrangler
//! dev passes the header through) so per-IP limits do not couple sections.
//!
//! | test | contract clause |
//! |---|---|
//! | `first_factor_sessions_and_logout` | login 200 duo/done + cookies; 400, 401 (same body), 403, 413, 415; session 200/401; logout 204 and revocation; logout-everywhere 403 without Origin, 204 ending every session of the user |
//! | `failed_logins_are_rate_limited_per_username_and_client_per_client_and_per_username` | 429 `rate_limited` + `Retry-After`: per username and client (IPv4 address or IPv6 /64), per client, per username (softer) |
//! | `a_disabled_users_session_ends_and_stays_ended` | session 401 once its user is disabled, revoked (not only refused) |
//! | `concurrent_guesses_are_counted_before_they_are_verified` | the limit holds under concurrency: 60 concurrent guesses, 5 verified |
//! | `pbkdf2_cost_in_workerd` (ignored: a measurement) | the iteration count's cost, README "Password hashes" |

use std::time::Duration;

use tokio::time::Instant;

use e2e::{Wrangler, cookie_value, default_vars, set_cookie, unix_now};
use reqwest::header::HeaderMap;
use shared::api::{AuthMethod, HealthResponse, LoginResponse, SessionInfo, routes};
use shared::{ErrorBody, ErrorCode};

/// `APP_ORIGIN` of the test Worker; requests send it as `Origin` by hand.
const APP_ORIGIN: &str = "http://localhost:8787";

struct Api {
    worker: Wrangler,
    http: reqwest::Client,
}

/// One login attempt's request.
struct Attempt<'a> {
    body: String,
    origin: Option<&'a str>,
    content_type: Option<&'a str>,
    ip: &'a str,
    known_browser: Option<&'a str>,
}

impl<'a> Attempt<'a> {
    fn json(username: &str, password: &str, ip: &'a str) -> Self {
        let body = serde_json::json!({ "username": username, "password": password }).to_string();
        let (origin, content_type) = (Some(APP_ORIGIN), Some("application/json"));
        Self { body, origin, content_type, ip, known_browser: None }
    }

    /// From a browser holding this known-browser cookie value.
    fn with_known_browser(self, known_browser: &'a str) -> Self {
        Self { known_browser: Some(known_browser), ..self }
    }

    fn raw(body: &str, ip: &'a str) -> Self {
        Self {
            body: body.to_owned(),
            origin: Some(APP_ORIGIN),
            content_type: Some("application/json"),
            ip,
            known_browser: None,
        }
    }
}

impl Api {
    async fn start() -> Self {
        Self::with_worker(
            Wrangler::start(&default_vars(APP_ORIGIN)).await.unwrap_or_else(|e| panic!("{e}")),
        )
    }

    fn with_worker(worker: Wrangler) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { worker, http }
    }

    async fn login(&self, attempt: Attempt<'_>) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("CF-Connecting-IP", attempt.ip)
            .body(attempt.body);
        if let Some(origin) = attempt.origin {
            request = request.header("Origin", origin);
        }
        if let Some(content_type) = attempt.content_type {
            request = request.header("Content-Type", content_type);
        }
        if let Some(known) = attempt.known_browser {
            request = request.header("Cookie", format!("__Host-known={known}"));
        }
        request.send().await.expect("POST /api/login")
    }

    async fn session(&self, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.worker.url(routes::SESSION));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", format!("__Host-session={cookie}"));
        }
        request.send().await.expect("GET /api/session")
    }

    async fn logout(&self, cookie: Option<&str>, origin: Option<&str>) -> reqwest::Response {
        self.end_sessions(routes::LOGOUT, cookie, origin).await
    }

    async fn end_sessions(
        &self,
        route: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.http.post(self.worker.url(route));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", format!("__Host-session={cookie}"));
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.unwrap_or_else(|e| panic!("POST {route}: {e}"))
    }

    /// No request may have panicked the Worker, and passwords were checked
    /// with `WebCrypto`'s PBKDF2, not the wasm fallback (edge/src/password.rs).
    fn assert_no_panic(&self) {
        self.worker.assert_clean_log(&["unreachable", "WebCrypto PBKDF2 failed"]);
    }
}

/// The attributes of a `Set-Cookie` header, lower-cased.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect()
}

fn assert_auth_headers(headers: &HeaderMap) {
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}

async fn error_body(response: reqwest::Response, status: u16, code: ErrorCode) -> String {
    assert_eq!(response.status().as_u16(), status);
    assert_auth_headers(response.headers());
    let text = response.text().await.expect("body");
    let body: ErrorBody = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(body.code, code, "{text}");
    assert!(!body.message.is_empty());
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn first_factor_sessions_and_logout() {
    let api = Api::start().await;

    // Health still answers 200 with the test settings.
    let response = api.http.get(api.worker.url(routes::HEALTH)).send().await.expect("health");
    assert_eq!(response.status().as_u16(), 200);
    let health: HealthResponse = response.json().await.expect("health JSON");
    assert!(health.is_ready());

    let login_cookie = duo_user_gets_a_login_cookie(&api).await;
    let session_id = bypass_user_gets_a_session(&api).await;
    failures_look_alike(&api).await;
    requests_are_checked_before_credentials(&api).await;
    sessions_end_at_logout(&api, &session_id, &login_cookie).await;
    api.assert_no_panic();
}

/// A Duo user: next "duo" and the signed login cookie; no session yet.
/// Returns the login cookie's value.
async fn duo_user_gets_a_login_cookie(api: &Api) -> String {
    let response = api.login(Attempt::json("  Alice ", "alice-demo-pass", "192.0.2.1")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_auth_headers(response.headers());
    let login = set_cookie(response.headers(), "__Host-login").expect("login cookie");
    let attrs = attributes(&login);
    for expected in ["httponly", "secure", "samesite=lax", "path=/", "max-age=300"] {
        assert!(attrs.contains(&expected.to_owned()), "{expected} missing: {login}");
    }
    assert!(!attrs.iter().any(|a| a.starts_with("domain")), "__Host- forbids Domain: {login}");
    assert!(cookie_value(&login).contains('.'), "payload.signature expected: {login}");
    assert!(set_cookie(response.headers(), "__Host-session").is_none());
    let body: LoginResponse = response.json().await.expect("login JSON");
    assert_eq!(body, LoginResponse::Duo { username: "alice".to_owned(), remember_days: 0 });

    // Content-Type parameters are fine.
    let mut attempt = Attempt::json("alice", "alice-demo-pass", "192.0.2.1");
    attempt.content_type = Some("application/json; charset=utf-8");
    assert_eq!(api.login(attempt).await.status().as_u16(), 200);

    cookie_value(&login)
}

/// The break-glass user: a session at once, method "bypass", no Duo.
/// Returns the session cookie's value.
async fn bypass_user_gets_a_session(api: &Api) -> String {
    let response = api.login(Attempt::json("admin", "admin-demo-pass", "192.0.2.2")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_auth_headers(response.headers());
    let session_cookie = set_cookie(response.headers(), "__Host-session").expect("session cookie");
    let attrs = attributes(&session_cookie);
    for expected in ["httponly", "secure", "samesite=lax", "path=/", "max-age=28800"] {
        assert!(attrs.contains(&expected.to_owned()), "{expected} missing: {session_cookie}");
    }
    let session_id = cookie_value(&session_cookie);
    let LoginResponse::Done { session } = response.json().await.expect("login JSON") else {
        panic!("bypass login must finish at once");
    };
    assert_eq!(session.username, "admin");
    assert_eq!(session.method, AuthMethod::Bypass);
    assert_eq!(session.duo, None);
    assert_eq!(session.expires_at - session.authenticated_at, 28_800);

    let response = api.session(Some(&session_id)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_auth_headers(response.headers());
    let text = response.text().await.expect("session body");
    assert!(text.contains(r#""duo":null"#), "duo must be null for bypass: {text}");
    let info: SessionInfo = serde_json::from_str(&text).expect("session JSON");
    assert_eq!(info, session);

    session_id
}

/// Wrong password, unknown user, disabled user: one answer, byte for byte.
async fn failures_look_alike(api: &Api) {
    let wrong = error_body(
        api.login(Attempt::json("bob", "not-bobs-password", "192.0.2.3")).await,
        401,
        ErrorCode::InvalidCredentials,
    )
    .await;
    let unknown = error_body(
        api.login(Attempt::json("nobody", "whatever-password", "192.0.2.3")).await,
        401,
        ErrorCode::InvalidCredentials,
    )
    .await;
    let disabled = error_body(
        api.login(Attempt::json("erin", "erin-demo-pass", "192.0.2.3")).await,
        401,
        ErrorCode::InvalidCredentials,
    )
    .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, disabled);

    // An unknown user costs a password verification too (the dummy hash):
    // far more than a request refused before any verification.
    let timed = async |attempt: Attempt<'_>| {
        let started = Instant::now();
        let status = api.login(attempt).await.status().as_u16();
        (status, started.elapsed())
    };
    let mut unknown_times = Vec::new();
    let mut wrong_times = Vec::new();
    let mut cheap_times = Vec::new();
    for n in 0..3 {
        let (status, t) =
            timed(Attempt::json(&format!("ghost{n}"), "whatever-password", "192.0.2.4")).await;
        assert_eq!(status, 401);
        unknown_times.push(t);
        let (status, t) = timed(Attempt::json("carol", "not-carols-password", "192.0.2.4")).await;
        assert_eq!(status, 401);
        wrong_times.push(t);
        let (status, t) = timed(Attempt::raw("{", "192.0.2.4")).await;
        assert_eq!(status, 400);
        cheap_times.push(t);
    }
    let min = |times: &[Duration]| times.iter().copied().min().expect("samples");
    let (unknown_min, wrong_min, cheap_min) =
        (min(&unknown_times), min(&wrong_times), min(&cheap_times));
    eprintln!(
        "login timing (min of 3): unknown user {unknown_min:?}, wrong password {wrong_min:?}, \
         malformed JSON {cheap_min:?}"
    );
    assert!(
        unknown_min * 2 > wrong_min,
        "an unknown user must cost about a verification: {unknown_min:?} vs {wrong_min:?}"
    );
}

/// Origin, media type, body: refused before any credential is looked at.
async fn requests_are_checked_before_credentials(api: &Api) {
    // Origin: missing or foreign is 403, before anything else.
    let mut attempt = Attempt::json("alice", "alice-demo-pass", "192.0.2.5");
    attempt.origin = None;
    error_body(api.login(attempt).await, 403, ErrorCode::ForbiddenOrigin).await;
    for origin in ["http://evil.example", "http://localhost:8788", "null", "http://localhost:8787/"]
    {
        let mut attempt = Attempt::json("alice", "alice-demo-pass", "192.0.2.5");
        attempt.origin = Some(origin);
        error_body(api.login(attempt).await, 403, ErrorCode::ForbiddenOrigin).await;
    }

    // Only JSON: 415 for anything else.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut attempt = Attempt::json("alice", "alice-demo-pass", "192.0.2.6");
        attempt.content_type = content_type;
        error_body(api.login(attempt).await, 415, ErrorCode::BadRequest).await;
    }

    // Malformed bodies: 400.
    for body in [
        "{",
        "",
        "null",
        "[]",
        r#"{"username":"alice"}"#,
        r#"{"username":"alice","password":7}"#,
        r#"{"username":"alice","password":"alice-demo-pass","admin":true}"#,
        r#"{"username":"","password":"x"}"#,
        r#"{"username":"alice","password":""}"#,
        "\u{0}\u{1}garbage",
    ] {
        error_body(api.login(Attempt::raw(body, "192.0.2.7")).await, 400, ErrorCode::BadRequest)
            .await;
    }

    // Bodies over 4 KiB: 413.
    let big = Attempt::json("alice", &"x".repeat(5000), "192.0.2.8");
    error_body(api.login(big).await, 413, ErrorCode::BadRequest).await;
}

/// Sessions: bad cookies are 401; logout revokes for good.
async fn sessions_end_at_logout(api: &Api, session_id: &str, login_cookie: &str) {
    // Sessions: missing, tampered, garbage cookies are 401.
    error_body(api.session(None).await, 401, ErrorCode::Unauthenticated).await;
    let mut tampered = session_id.to_owned().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII");
    for cookie in [tampered.as_str(), "garbage", "", &session_id[..20], &format!("{session_id}A")] {
        error_body(api.session(Some(cookie)).await, 401, ErrorCode::Unauthenticated).await;
    }
    // A login cookie is not a session.
    error_body(api.session(Some(login_cookie)).await, 401, ErrorCode::Unauthenticated).await;

    // Logout: Origin checked, then the session is revoked and the cookie cleared.
    error_body(api.logout(Some(session_id), None).await, 403, ErrorCode::ForbiddenOrigin).await;
    error_body(
        api.logout(Some(session_id), Some("http://evil.example")).await,
        403,
        ErrorCode::ForbiddenOrigin,
    )
    .await;
    assert_eq!(api.session(Some(session_id)).await.status().as_u16(), 200, "still live");
    let response = api.logout(Some(session_id), Some(APP_ORIGIN)).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_auth_headers(response.headers());
    let cleared = set_cookie(response.headers(), "__Host-session").expect("cleared cookie");
    assert!(cleared.starts_with("__Host-session=;"), "{cleared}");
    assert!(attributes(&cleared).contains(&"max-age=0".to_owned()), "{cleared}");
    // The old cookie stays dead, and a second logout is harmless.
    error_body(api.session(Some(session_id)).await, 401, ErrorCode::Unauthenticated).await;
    assert_eq!(api.logout(Some(session_id), Some(APP_ORIGIN)).await.status().as_u16(), 204);
    assert_eq!(api.logout(None, Some(APP_ORIGIN)).await.status().as_u16(), 204);
    error_body(api.session(Some(session_id)).await, 401, ErrorCode::Unauthenticated).await;

    // A new login gets a new session; the old one stays revoked.
    let response = api.login(Attempt::json("ADMIN", "admin-demo-pass", "192.0.2.9")).await;
    let again = cookie_value(&set_cookie(response.headers(), "__Host-session").expect("cookie"));
    assert_ne!(again, session_id);
    assert_eq!(api.session(Some(&again)).await.status().as_u16(), 200);
    error_body(api.session(Some(session_id)).await, 401, ErrorCode::Unauthenticated).await;

    // Logout everywhere: Origin checked, then every session of the user ends.
    let response = api.login(Attempt::json("admin", "admin-demo-pass", "192.0.2.10")).await;
    let other = cookie_value(&set_cookie(response.headers(), "__Host-session").expect("cookie"));
    let everywhere = |origin| api.end_sessions(routes::LOGOUT_EVERYWHERE, Some(&again), origin);
    error_body(everywhere(None).await, 403, ErrorCode::ForbiddenOrigin).await;
    assert_eq!(api.session(Some(&other)).await.status().as_u16(), 200, "still live");
    let response = everywhere(Some(APP_ORIGIN)).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_auth_headers(response.headers());
    let cleared = set_cookie(response.headers(), "__Host-session").expect("cleared cookie");
    assert!(cleared.starts_with("__Host-session=;"), "{cleared}");
    for cookie in [&again, &other] {
        error_body(api.session(Some(cookie)).await, 401, ErrorCode::Unauthenticated).await;
    }
    assert_eq!(everywhere(Some(APP_ORIGIN)).await.status().as_u16(), 204, "idempotent");
}

/// A session whose user is disabled ends, and stays ended: the session and
/// its user's state are read in one D1 statement. (The database is seeded
/// before the Worker starts: a write from outside while `wrangler dev`
/// holds the local database waits for it.)
#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_users_session_ends_and_stays_ended() {
    use edge_core::session::SessionId;
    let (erin, alice) = (SessionId::from_random(&[41; 32]), SessionId::from_random(&[42; 32]));
    let now = unix_now();
    let seed = format!(
        "INSERT INTO sessions (id_hash, username, method, created_at, expires_at) VALUES \
           ('{}', 'erin', 'bypass', {now}, {later}), ('{}', 'Alice', 'bypass', {now}, {later});",
        erin.storage_key(),
        alice.storage_key(),
        later = now + 3600,
    );
    let worker = Wrangler::start_seeded(&default_vars(APP_ORIGIN), &[&seed])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let api = Api::with_worker(worker);
    // erin is disabled in the demo data; alice is not.
    let status = api.session(Some(&alice.to_cookie_value())).await.status().as_u16();
    assert_eq!(status, 200, "an enabled user's session (stored as typed: Alice)");
    let erins = erin.to_cookie_value();
    error_body(api.session(Some(&erins)).await, 401, ErrorCode::Unauthenticated).await;
    error_body(api.session(Some(&erins)).await, 401, ErrorCode::Unauthenticated).await;
    let revoked = "SELECT count(*) AS n FROM sessions WHERE revoked_at IS NOT NULL";
    let rows = api.worker.query(revoked).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows[0]["n"].as_u64(), Some(1), "revoked, not only refused");
    api.assert_no_panic();
}

/// Waits out the last seconds of a rate-limit window (900 s, fixed; the
/// Worker and this process share the host's clock), so that a section's
/// attempts are all counted in one window. A section sends at most 40
/// requests, which take a second or two: ten seconds to spare.
async fn fresh_window() {
    let into = unix_now() % 900;
    if into >= 890 {
        tokio::time::sleep(Duration::from_secs(900 - into + 1)).await;
    }
}

async fn assert_rate_limited(response: reqwest::Response) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=900).contains(&retry_after), "Retry-After: {retry_after}");
    error_body(response, 429, ErrorCode::RateLimited).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_are_rate_limited_per_username_and_client_per_client_and_per_username() {
    let api = Api::start().await;
    let wrong = async |user: &str, ip: &str| {
        let response = api.login(Attempt::json(user, "wrong-password", ip)).await;
        error_body(response, 401, ErrorCode::InvalidCredentials).await;
    };

    // Per username and client: five failures from one address, then even
    // the right password is refused there, with Retry-After; another
    // address is not locked out by it.
    fresh_window().await;
    for _ in 1..=5 {
        wrong("carol", "198.51.100.1").await;
    }
    assert_rate_limited(api.login(Attempt::json("Carol", "carol-demo-pass", "198.51.100.1")).await)
        .await;
    let response = api.login(Attempt::json("carol", "carol-demo-pass", "198.51.100.2")).await;
    assert_eq!(response.status().as_u16(), 200, "one address cannot lock carol out");
    let known = set_cookie(response.headers(), "__Host-known").expect("known-browser cookie");
    assert!(known.contains("; Max-Age=2592000; Path=/; Secure; HttpOnly"), "{known}");
    let known = cookie_value(&known);

    // Per username, softer: thirty failures from any addresses (five from
    // each of six), then carol is refused everywhere; other users are not,
    // and neither is the browser where carol's password passed before.
    for n in 11..=15 {
        for _ in 1..=5 {
            wrong("carol", &format!("198.51.100.{n}")).await;
        }
    }
    assert_rate_limited(
        api.login(Attempt::json("carol", "carol-demo-pass", "198.51.100.16")).await,
    )
    .await;
    let response = api.login(Attempt::json("alice", "alice-demo-pass", "198.51.100.16")).await;
    assert_eq!(response.status().as_u16(), 200);
    let home = Attempt::json("carol", "carol-demo-pass", "198.51.100.17");
    let response = api.login(home.with_known_browser(&known)).await;
    assert_eq!(response.status().as_u16(), 200, "carol's own browser is not locked out");
    let forged = Attempt::json("carol", "carol-demo-pass", "198.51.100.18");
    let response = api.login(forged.with_known_browser("forged.value")).await;
    assert_rate_limited(response).await;

    // An IPv6 client is its /64.
    fresh_window().await;
    for n in 1..=5 {
        wrong("bob", &format!("2001:db8:7:7::{n}")).await;
    }
    assert_rate_limited(api.login(Attempt::json("bob", "bob-demo-pass", "2001:db8:7:7::99")).await)
        .await;
    let response = api.login(Attempt::json("bob", "bob-demo-pass", "2001:db8:7:8::1")).await;
    assert_eq!(response.status().as_u16(), 200);

    // Per client IP: twenty failures (twenty names) from one address, then
    // that address is refused; other addresses are not.
    fresh_window().await;
    for n in 1..=20 {
        wrong(&format!("stranger{n}"), "203.0.113.7").await;
    }
    assert_rate_limited(api.login(Attempt::json("alice", "alice-demo-pass", "203.0.113.7")).await)
        .await;
    let response = api.login(Attempt::json("alice", "alice-demo-pass", "203.0.113.8")).await;
    assert_eq!(response.status().as_u16(), 200);

    api.assert_no_panic();
}

/// Sixty concurrent wrong guesses for one user from one address: at most
/// five are verified (the rest are refused before any password work), so
/// no more than five answer 401 and the right password is refused after.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_guesses_are_counted_before_they_are_verified() {
    let api = Api::start().await;
    fresh_window().await;
    let url = api.worker.url(routes::LOGIN);
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..60 {
        let (http, url) = (api.http.clone(), url.clone());
        let body = serde_json::json!({ "username": "carol", "password": format!("guess-{n}") });
        guesses.spawn(async move {
            let response = http
                .post(url)
                .header("CF-Connecting-IP", "198.51.100.77")
                .header("Origin", APP_ORIGIN)
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .expect("POST /api/login");
            response.status().as_u16()
        });
    }
    let statuses = guesses.join_all().await;
    let verified = statuses.iter().filter(|&&s| s == 401).count();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((verified, limited), (5, 55), "{statuses:?}");
    let response = api.login(Attempt::json("carol", "carol-demo-pass", "198.51.100.77")).await;
    assert_eq!(response.status().as_u16(), 429);
    api.assert_no_panic();
}

/// Measures one PBKDF2 verification in workerd: logins of users whose
/// hashes have 1 000, 100 000 and 600 000 iterations (everything else
/// equal), median of `ROUNDS` each. Run with
/// `cargo test -p e2e --test e2e -- --ignored --nocapture pbkdf2_cost_in_workerd`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check: run it by hand"]
async fn pbkdf2_cost_in_workerd() {
    use credentials::sql::{DuoPolicy, Role, UserRow};
    use credentials::{PasswordHash, Username};
    const ROUNDS: usize = 15;
    let counts = [1_000u32, 100_000, 600_000];
    let sql: Vec<String> = counts
        .iter()
        .map(|&iterations| {
            UserRow {
                username: Username::parse(&format!("bench{iterations}")).expect("name"),
                password: PasswordHash::derive(b"bench-password", b"bench-salt-16-by", iterations)
                    .expect("hash"),
                policy: DuoPolicy::Required,
                duo_username: None,
                disabled: false,
                role: Role::User,
            }
            .insert()
            .expect("SQL")
        })
        .collect();
    let sql: Vec<&str> = sql.iter().map(String::as_str).collect();
    let worker = Wrangler::start_seeded(&default_vars(APP_ORIGIN), &sql)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let api = Api::with_worker(worker);
    let mut samples = vec![Vec::new(); counts.len()];
    for _ in 0..ROUNDS {
        for (i, iterations) in counts.iter().enumerate() {
            let started = Instant::now();
            let response = api
                .login(Attempt::json(&format!("bench{iterations}"), "bench-password", "192.0.2.99"))
                .await;
            assert_eq!(response.status().as_u16(), 200);
            samples[i].push(started.elapsed());
        }
    }
    let medians: Vec<Duration> = samples
        .iter_mut()
        .map(|s| {
            s.sort();
            s[s.len() / 2]
        })
        .collect();
    for (iterations, median) in counts.iter().zip(&medians) {
        eprintln!("login with i={iterations:>7}: median {median:?} over {ROUNDS}");
    }
    let per_100k = |i: usize| {
        let extra = medians[i].saturating_sub(medians[0]).as_secs_f64();
        extra * 100_000.0 / f64::from(counts[i] - counts[0]) * 1000.0
    };
    eprintln!(
        "PBKDF2-HMAC-SHA256 in workerd: {:.1} ms per 100 000 iterations with WebCrypto \
         (from i=100000), {:.1} ms with the wasm fallback above 100 000 (from i=600000)",
        per_100k(1),
        per_100k(2)
    );
    api.assert_no_panic();
}
