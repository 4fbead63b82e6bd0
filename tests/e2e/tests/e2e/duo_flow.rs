//! The Duo step over HTTP: the real Worker under `wrangler dev` (own
//! migrated and seeded D1) against the Duo emulator, started in-process on a
//! free port (`DESIGN.md`, "The flow" steps 2-5 and "HTTP contract":
//! `POST /auth/duo/start`, `GET /auth/duo/callback`).
//!
//! The browser's part is played by hand: cookies are carried explicitly
//! (they are `Secure`, which an HTTP client's jar does not send over
//! `http://`) and no redirect is followed. The Worker's `APP_ORIGIN` is
//! `http://localhost:8787` whatever port wrangler got, so Duo's redirect back
//! to `APP_ORIGIN/auth/duo/callback` is replayed on the Worker's real port.
//!
//! | test | contract clause |
//! |---|---|
//! | `duo_flow_against_a_healthy_duo` | start 303 to Duo + login cookie with state; callback 303 `/` + `__Host-session`, login cookie cleared; `/api/session` shows `duo` details; replayed callback `state_mismatch` (single use, even with a valid cookie); state altered `state_mismatch`; callback before start `state_mismatch`; deny `duo_denied`; Duo `error` redirect `duo_denied`/`duo_error`; login cookie absent/tampered/expired `login_expired` (start and callback); wrong/missing `Origin` `forbidden_origin`; id_token defects (nonce, signature, expiry, username, issuer, audience) `duo_error` with no session; a login from before an account change (disabled and enabled, a role written) `login_expired` at the start and after Duo's approval, no session; `/api/health` reports Duo reachable |
//! | (same test) | prompt page without a script: alice push approve and passcode (session with the factor), bob (unenrolled) enrolls then approves, carol locked out and a cancelled prompt `duo_denied`; token endpoint 503 / dropped connection `duo_unavailable`, malformed JSON `duo_error` |
//! | `duo_down_fail_closed_refuses_the_second_step` | health check `invalid_client` (`stat: FAIL` 40002): `config_error`; health check 503 `stat: FAIL` 50301, `DUO_FAILMODE=closed`: `duo_unavailable`, no session; `/api/health` reports Duo unreachable; a failure applied again for 10 s, then checked again; token endpoint slower than 10 s `duo_unavailable` |
//! | `invalid_duo_setting_is_named_and_the_duo_step_refuses` | a `DUO_CLIENT_ID` the Duo client refuses: `/api/health` 503 naming it (not its value); start 303 `/?error=config_error` |
//! | `duo_down_fail_open_issues_a_fail_open_session` | Duo unreachable (nothing listening), `DUO_FAILMODE=open`: 303 `/` + session with method `fail_open`, `duo: null`, 3600 s long; `/api/health` says `duo: unknown`; an admin's fail-open session 403 at the console |
//! | `a_body_slower_than_the_limit_is_given_up_on` | a server at `DUO_API_HOST` that sends headers at once and the body a byte a second: given up on after 10 s (the limit covers the body), Duo unreachable, `DUO_FAILMODE=open`: `fail_open` session |
//! | `a_body_over_the_cap_is_refused_without_reading_it_all` | a chunked answer that never ends: reading stops at 64 KB, `config_error` (`duo_health_malformed`) even with `DUO_FAILMODE=open` |
//! | `duo_starts_are_limited_per_user` | `DUO_START_LIMIT=2`: alice's third Duo step (another client) 303 `/?error=rate_limited&wait=<seconds>`, audited `duo_start_limit`; bob unaffected |
//! | `a_loopback_duo_api_host_needs_a_loopback_app_origin` | `DUO_API_HOST` loopback with an https `APP_ORIGIN`: `/api/health` 503 naming `DUO_API_HOST` |

use std::time::Duration;

use duo_emulator::Emulator;
use e2e::{Wrangler, cookie_value, default_vars, free_port, set_cookie, unix_now};
use edge_core::cookie::LoginTicket;

use crate::session_secret;
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::json;
use shared::api::{
    AuthMethod, DuoReachability, HealthResponse, ServiceStatus, SessionInfo, routes,
};

/// `APP_ORIGIN` of the test Worker; requests send it as `Origin` by hand.
const APP_ORIGIN: &str = "http://localhost:8787";
const LOGIN_COOKIE: &str = "__Host-login";
const SESSION_COOKIE: &str = "__Host-session";

/// The Worker, the emulator it talks to (if any), and a client that never
/// follows redirects.
struct Bed {
    worker: Wrangler,
    emulator: Option<Emulator>,
    http: reqwest::Client,
}

/// The emulator with its development app and users, on a free port.
async fn emulator() -> Emulator {
    e2e::local_emulator().await
}

impl Bed {
    /// A Worker whose `DUO_API_HOST` is `api_host`, with `extra` settings.
    async fn start(api_host: &str, emulator: Option<Emulator>, extra: &[(&str, &str)]) -> Self {
        let mut vars = default_vars(APP_ORIGIN);
        vars.retain(|(name, _)| name != "DUO_API_HOST" && !extra.iter().any(|(n, _)| n == name));
        vars.push(("DUO_API_HOST".to_owned(), api_host.to_owned()));
        for (name, value) in extra {
            vars.push(((*name).to_owned(), (*value).to_owned()));
        }
        let worker = Wrangler::start(&vars).await.unwrap_or_else(|e| panic!("{e}"));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { worker, emulator, http }
    }

    async fn with_emulator(extra: &[(&str, &str)]) -> Self {
        let emulator = emulator().await;
        let host = emulator.local_addr().to_string();
        Self::start(&host, Some(emulator), extra).await
    }

    /// `http://127.0.0.1:PORT/__emulator{path}`.
    fn control(&self, path: &str) -> String {
        let emulator = self.emulator.as_ref().expect("this bed has an emulator");
        format!("{}/__emulator{path}", emulator.base_url())
    }

    /// Posts JSON to the emulator's control API.
    async fn script(&self, path: &str, body: serde_json::Value) {
        let response =
            self.http.post(self.control(path)).json(&body).send().await.expect("control API");
        assert_eq!(response.status().as_u16(), 200, "{path}: {}", response.text().await.unwrap());
    }

    /// Password step: the login cookie's value.
    async fn login(&self, username: &str, ip: &str) -> String {
        let body = json!({ "username": username, "password": format!("{username}-demo-pass") });
        let response = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/json")
            .header("CF-Connecting-IP", ip)
            .body(body.to_string())
            .send()
            .await
            .expect("POST /api/login");
        assert_eq!(response.status().as_u16(), 200, "login of {username}");
        cookie_value(&set_cookie(response.headers(), LOGIN_COOKIE).expect("login cookie"))
    }

    /// `POST /auth/duo/start` as the SPA's form does it.
    async fn start_duo(&self, login: Option<&str>, origin: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.worker.url(routes::DUO_START))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("");
        if let Some(login) = login {
            request = request.header("Cookie", format!("{LOGIN_COOKIE}={login}"));
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.expect("POST /auth/duo/start")
    }

    /// A started Duo step: the authorize URL and the re-sealed login cookie.
    async fn started(&self, username: &str, ip: &str) -> (String, String) {
        let login = self.login(username, ip).await;
        let response = self.start_duo(Some(&login), Some(APP_ORIGIN)).await;
        assert_eq!(response.status().as_u16(), 303);
        assert_auth_headers(response.headers());
        let authorize = location(response.headers());
        let emulator = self.emulator.as_ref().expect("this bed has an emulator");
        assert!(
            authorize.starts_with(&format!("{}/oauth/v1/authorize?", emulator.base_url())),
            "{authorize}"
        );
        let sealed = set_cookie(response.headers(), LOGIN_COOKIE).expect("re-sealed login cookie");
        let sealed = cookie_value(&sealed);
        assert_ne!(sealed, login, "the login cookie must now carry state and nonce");
        (authorize, sealed)
    }

    /// The browser at Duo: follows the authorize URL (the emulator answers
    /// at once for a scripted outcome) and returns the callback path and
    /// query on this Worker.
    async fn at_duo(&self, authorize: &str) -> String {
        let response = self.http.get(authorize).send().await.expect("GET authorize");
        assert_eq!(response.status().as_u16(), 302, "the emulator redirects back at once");
        let back = location(response.headers());
        let path = back
            .strip_prefix(APP_ORIGIN)
            .and_then(|path| path.strip_prefix(routes::PREFIX))
            .unwrap_or_else(|| panic!("Duo must redirect to APP_ORIGIN and the prefix: {back}"));
        assert!(path.starts_with(&format!("{}?", routes::DUO_CALLBACK)), "{back}");
        path.to_owned()
    }

    /// The browser at Duo's prompt page, with no script queued: opens the
    /// prompt and submits each form in turn (`sid` added); returns the
    /// callback path and query on this Worker.
    async fn at_prompt(&self, authorize: &str, forms: &[&[(&str, &str)]]) -> String {
        let response = self.http.get(authorize).send().await.expect("GET authorize");
        assert_eq!(response.status().as_u16(), 302, "authorize opens the prompt");
        let page = location(response.headers());
        let (prompt, sid) = page.split_once("?sid=").unwrap_or_else(|| panic!("prompt: {page}"));
        let mut next = page.clone();
        for fields in forms {
            let mut pairs = vec![("sid", sid)];
            pairs.extend_from_slice(fields);
            let response = self.http.post(prompt).form(&pairs).send().await.expect("prompt form");
            assert_eq!(response.status().as_u16(), 303, "{fields:?}");
            next = location(response.headers());
        }
        let path = next
            .strip_prefix(APP_ORIGIN)
            .and_then(|path| path.strip_prefix(routes::PREFIX))
            .unwrap_or_else(|| panic!("the prompt must end at APP_ORIGIN and the prefix: {next}"));
        assert!(path.starts_with(&format!("{}?", routes::DUO_CALLBACK)), "{next}");
        path.to_owned()
    }

    /// `GET /auth/duo/callback...` with the login cookie.
    async fn callback(&self, path_and_query: &str, login: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.worker.url(path_and_query));
        if let Some(login) = login {
            request = request.header("Cookie", format!("{LOGIN_COOKIE}={login}"));
        }
        request.send().await.expect("GET /auth/duo/callback")
    }

    async fn session(&self, id: &str) -> reqwest::Response {
        self.http
            .get(self.worker.url(routes::SESSION))
            .header("Cookie", format!("{SESSION_COOKIE}={id}"))
            .send()
            .await
            .expect("GET /api/session")
    }

    async fn health(&self) -> HealthResponse {
        let response =
            self.http.get(self.worker.url(routes::HEALTH)).send().await.expect("GET /api/health");
        response.json().await.expect("health JSON")
    }

    /// How often `needle` is in the Worker's log so far.
    fn log_count(&self, needle: &str) -> usize {
        self.worker.log().matches(needle).count()
    }

    /// Waits (briefly) for `needle` to appear in the Worker's log more often
    /// than the `before` times it already did.
    async fn assert_logged_after(&self, needle: &str, before: usize) {
        for _ in 0..50 {
            if self.log_count(needle) > before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{needle:?} not (again) in the Worker log; see {}",
            self.worker.log_path().display()
        );
    }

    /// Waits (briefly) for `needle` in the Worker's log.
    async fn assert_logged(&self, needle: &str) {
        self.assert_logged_after(needle, 0).await;
    }

    /// No request may have panicked the Worker, or leaked a secret to the log.
    fn assert_clean_log(&self) {
        self.worker.assert_clean_log(&[]);
    }
}

fn location(headers: &HeaderMap) -> String {
    headers.get(LOCATION).expect("Location").to_str().expect("ASCII Location").to_owned()
}

fn assert_auth_headers(headers: &HeaderMap) {
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}

/// A refusal of the contract: 303 to the sign-in page with `?error=<code>`, the login cookie
/// cleared, no session.
fn assert_refused(response: &reqwest::Response, code: &str) {
    assert_eq!(response.status().as_u16(), 303, "expected a refusal with {code}");
    assert_auth_headers(response.headers());
    let target = location(response.headers());
    let page = format!("{}?error={code}", routes::at(routes::PAGE));
    // Only the fixed hints may follow the code: how long to wait, why Duo denied.
    let hints = target.strip_prefix(&page).unwrap_or_else(|| panic!("refused at {target}"));
    for hint in hints.split('&').filter(|h| !h.is_empty()) {
        let (name, value) = hint.split_once('=').unwrap_or((hint, ""));
        let known = match name {
            "wait" => value.parse::<u64>().is_ok(),
            "duo" => ["account", "cancelled"].contains(&value),
            _ => false,
        };
        assert!(known, "an unknown hint {hint:?} in {target}");
    }
    let cleared = set_cookie(response.headers(), LOGIN_COOKIE).expect("login cookie cleared");
    assert!(cleared.starts_with(&format!("{LOGIN_COOKIE}=;")), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(set_cookie(response.headers(), SESSION_COOKIE).is_none(), "no session on a refusal");
}

/// A success: 303 to the sign-in page, the session cookie set, the login cookie cleared.
/// Returns the session id.
fn assert_signed_in(response: &reqwest::Response) -> String {
    assert_eq!(response.status().as_u16(), 303);
    assert_auth_headers(response.headers());
    assert_eq!(location(response.headers()), routes::at(routes::PAGE));
    let session = set_cookie(response.headers(), SESSION_COOKIE).expect("session cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} missing: {session}");
    }
    let cleared = set_cookie(response.headers(), LOGIN_COOKIE).expect("login cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    cookie_value(&session)
}

#[tokio::test(flavor = "multi_thread")]
async fn duo_flow_against_a_healthy_duo() {
    let bed = Bed::with_emulator(&[]).await;

    approved_login_creates_a_duo_session_once(&bed).await;
    prompt_page_decides_for_each_user(&bed).await;
    token_endpoint_failures_are_refused(&bed).await;
    denials_are_duo_denied(&bed).await;
    login_cookie_is_required(&bed).await;
    expired_login_cookie_is_refused(&bed).await;
    start_checks_the_origin(&bed).await;
    state_must_match_the_cookie(&bed).await;
    defective_id_tokens_are_refused(&bed).await;
    a_login_from_before_an_account_change_goes_no_further(&bed).await;
    a_fraud_report_in_the_prompt_holds_the_account(&bed).await;

    assert_eq!(bed.health().await.duo, Some(DuoReachability::Reachable));
    each_request_is_one_json_line(&bed).await;
    bed.assert_clean_log();
}

/// The Worker's request lines (`{"event":"request",…}`), parsed.
fn request_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter(|line| line.starts_with(r#"{"event":"request""#))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// One JSON line per request wrangler served (its own `[wrangler:info]
/// METHOD path status` lines), with the route, step, outcome and reason,
/// Duo's latency where Duo was asked, and never a user, an address, a
/// cookie or a token.
async fn each_request_is_one_json_line(bed: &Bed) {
    let served = |log: &str| {
        log.lines()
            .filter(|l| {
                l.starts_with("[wrangler:info] ") && l.contains(" /") && !l.contains("QUEUE")
            })
            .count()
    };
    let mut log = bed.worker.log();
    for _ in 0..50 {
        if request_lines(&log).len() == served(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = bed.worker.log();
    }
    let lines = request_lines(&log);
    assert_eq!(
        lines.len(),
        served(&log),
        "one line per request; see {}",
        bed.worker.log_path().display()
    );
    let find = |route: &str, check: &dyn Fn(&serde_json::Value) -> bool| {
        lines.iter().any(|l| l["route"] == route && check(l))
    };
    // Duo's part of a step that asked it: the start's health check, the
    // callback's code exchange.
    let asked_duo = |l: &serde_json::Value| {
        l["duo_calls"].as_u64().is_some_and(|n| n >= 1) && l["duo_ms"].as_u64().is_some()
    };
    assert!(find("/auth/duo/start", &|l| l["step"] == "duo_start"
        && l["status"] == 303
        && asked_duo(l)));
    assert!(find("/auth/duo/callback", &|l| l["outcome"] == "ok" && asked_duo(l)));
    // A replayed callback: a redirect, refused, with the audit log's reason.
    assert!(find("/auth/duo/callback", &|l| l["status"] == 303
        && l["outcome"] == "refused"
        && l["reason"] == "state_replayed"));
    assert!(find("/api/login", &|l| l["step"] == "login"
        && l["method"] == "POST"
        && l["outcome"] == "ok"));
    assert!(find("/api/health", &|l| l["outcome"] == "ok" && l["duration_ms"].is_u64()));
    for line in &lines {
        let text = line.to_string();
        for secret in ["alice", "192.0.2.", "__Host", "code=", "state=", "EmulatorDevSecret"] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    }
}

/// alice approves: session with Duo's details; the same callback replayed
/// with the (still valid) login cookie is refused.
async fn approved_login_creates_a_duo_session_once(bed: &Bed) {
    let (authorize, login) = bed.started("alice", "192.0.2.10").await;
    bed.script("/script", json!({"user": "alice", "outcome": "approve", "factor": "Duo Push"}))
        .await;
    let back = bed.at_duo(&authorize).await;
    let response = bed.callback(&back, Some(&login)).await;
    let id = assert_signed_in(&response);

    let response = bed.session(&id).await;
    assert_eq!(response.status().as_u16(), 200);
    let session: SessionInfo = response.json().await.expect("session JSON");
    assert_eq!(session.username, "alice");
    assert_eq!(session.method, AuthMethod::Duo);
    let duo = session.duo.expect("Duo details");
    assert_eq!(duo.result.as_deref(), Some("allow"));
    assert!(duo.txid.as_deref().is_some_and(|t| !t.is_empty()), "{duo:?}");
    assert!(duo.factor.as_deref().is_some_and(|f| !f.is_empty()), "{duo:?}");
    assert!(duo.device.is_some(), "{duo:?}");

    // Replay: the state is spent, even though the login cookie is valid.
    let replay = bed.callback(&back, Some(&login)).await;
    assert_refused(&replay, "state_mismatch");
    bed.assert_logged("reason state_replayed").await;
}

/// alice's `users.account_version`.
async fn account_version(bed: &Bed) -> u64 {
    let rows = bed
        .worker
        .query("SELECT account_version AS v FROM users WHERE username = 'alice'")
        .await
        .expect("the version");
    rows.first().and_then(|row| row["v"].as_u64()).expect("a version")
}

/// A sign-in started before an account change goes no further: migration
/// 0011's trigger bumps the account's version on any change of its
/// password, enabled state, role or Duo settings (here statements from
/// outside, as `user-admin` sends them), and the Duo steps refuse a login
/// ticket of another version, before and after Duo's prompt.
async fn a_login_from_before_an_account_change_goes_no_further(bed: &Bed) {
    let before = account_version(bed).await;
    let login = bed.login("alice", "192.0.2.70").await;
    for sql in [
        "UPDATE users SET disabled = 1 WHERE username = 'alice'",
        "UPDATE users SET disabled = 0 WHERE username = 'alice'",
    ] {
        bed.worker.query(sql).await.expect("a change from outside");
    }
    assert_eq!(account_version(bed).await, before + 2);
    let stale = bed.start_duo(Some(&login), Some(APP_ORIGIN)).await;
    assert_refused(&stale, "login_expired");
    bed.assert_logged("reason account_changed").await;

    // At Duo's prompt when the role changes: Duo's approval makes no session.
    let (authorize, login) = bed.started("alice", "192.0.2.71").await;
    bed.script("/script", json!({"user": "alice", "outcome": "approve", "factor": "Duo Push"}))
        .await;
    let back = bed.at_duo(&authorize).await;
    let count = "SELECT count(*) AS n FROM sessions WHERE username = 'alice'";
    let sessions = bed.worker.query(count).await.expect("sessions");
    bed.worker
        .query("UPDATE users SET role = 'user' WHERE username = 'alice'")
        .await
        .expect("a role written");
    let approved = bed.callback(&back, Some(&login)).await;
    assert_refused(&approved, "login_expired");
    assert_eq!(bed.worker.query(count).await.expect("sessions"), sessions, "no session made");
    // A new sign-in goes through.
    let (authorize, login) = bed.started("alice", "192.0.2.72").await;
    bed.script("/script", json!({"user": "alice", "outcome": "approve", "factor": "Duo Push"}))
        .await;
    let back = bed.at_duo(&authorize).await;
    assert_signed_in(&bed.callback(&back, Some(&login)).await);
}

async fn duo_session(bed: &Bed, response: &reqwest::Response) -> SessionInfo {
    let id = assert_signed_in(response);
    let response = bed.session(&id).await;
    assert_eq!(response.status().as_u16(), 200);
    let session: SessionInfo = response.json().await.expect("session JSON");
    assert_eq!(session.method, AuthMethod::Duo);
    session
}

/// No script: the prompt page's forms decide, as a person would. alice
/// approves a push or enters a passcode; bob enrolls first; carol is locked
/// out and returns with a denial; a cancelled prompt is a denial too.
async fn prompt_page_decides_for_each_user(bed: &Bed) {
    let (authorize, login) = bed.started("alice", "192.0.2.16").await;
    let back = bed
        .at_prompt(&authorize, &[&[("action", "push"), ("device", "0")], &[("action", "approve")]])
        .await;
    let session = duo_session(bed, &bed.callback(&back, Some(&login)).await).await;
    let duo = session.duo.expect("Duo details");
    assert_eq!(duo.result.as_deref(), Some("allow"));
    assert!(
        duo.factor.as_deref().is_some_and(|f| f.to_ascii_lowercase().contains("push")),
        "{duo:?}"
    );

    let (authorize, login) = bed.started("alice", "192.0.2.16").await;
    let back = bed
        .at_prompt(
            &authorize,
            &[&[("action", "passcode")], &[("action", "verify"), ("passcode", "123456")]],
        )
        .await;
    let session = duo_session(bed, &bed.callback(&back, Some(&login)).await).await;
    let duo = session.duo.expect("Duo details");
    assert!(
        duo.factor.as_deref().is_some_and(|f| f.to_ascii_lowercase().contains("passcode")),
        "{duo:?}"
    );

    // bob is not enrolled: he enrolls a phone on the prompt, then approves.
    let (authorize, login) = bed.started("bob", "192.0.2.16").await;
    let back = bed
        .at_prompt(
            &authorize,
            &[
                &[("action", "enroll"), ("platform", "Android"), ("number", "+1 555-0177")],
                &[("action", "push"), ("device", "0")],
                &[("action", "approve")],
            ],
        )
        .await;
    let session = duo_session(bed, &bed.callback(&back, Some(&login)).await).await;
    assert_eq!(session.username, "bob");
    assert_eq!(
        session.duo.and_then(|d| d.device).as_deref(),
        Some("+X XXX-0177"),
        "Duo reports the enrolled phone"
    );

    // carol is locked out; alice cancels.
    let (authorize, login) = bed.started("carol", "192.0.2.16").await;
    let back = bed.at_prompt(&authorize, &[&[("action", "return")]]).await;
    assert_refused(&bed.callback(&back, Some(&login)).await, "duo_denied");
    let (authorize, login) = bed.started("alice", "192.0.2.16").await;
    let back = bed.at_prompt(&authorize, &[&[("action", "cancel")]]).await;
    assert_refused(&bed.callback(&back, Some(&login)).await, "duo_denied");
}

/// The code exchange fails on Duo's side: 5xx or a dropped connection is
/// `duo_unavailable`, a malformed answer `duo_error`; never a session.
async fn token_endpoint_failures_are_refused(bed: &Bed) {
    let faults = [
        (
            json!({"kind": "http_status", "status": 503}),
            "duo_unavailable",
            "reason duo_http_status",
        ),
        (json!({"kind": "drop_connection"}), "duo_unavailable", "reason duo_unreachable"),
        (json!({"kind": "malformed_json"}), "duo_error", "reason duo_malformed"),
    ];
    for (mut fault, code, needle) in faults {
        fault["endpoint"] = json!("token");
        fault["times"] = json!(1);
        let before = bed.log_count(needle);
        let (authorize, login) = bed.started("alice", "192.0.2.17").await;
        bed.script("/script", json!({"user": "alice", "outcome": "approve"})).await;
        bed.script("/faults", fault).await;
        let back = bed.at_duo(&authorize).await;
        assert_refused(&bed.callback(&back, Some(&login)).await, code);
        bed.assert_logged_after(needle, before).await;
    }
}

/// A denied push and Duo's `error` redirects end without a session.
async fn denials_are_duo_denied(bed: &Bed) {
    let (authorize, login) = bed.started("alice", "192.0.2.11").await;
    bed.script("/script", json!({"user": "alice", "outcome": "deny"})).await;
    let back = bed.at_duo(&authorize).await;
    assert_refused(&bed.callback(&back, Some(&login)).await, "duo_denied");
    bed.assert_logged("reason duo_denied").await;

    let (authorize, login) = bed.started("bob", "192.0.2.11").await;
    bed.script("/script", json!({"user": "bob", "outcome": "error"})).await;
    let back = bed.at_duo(&authorize).await;
    assert!(back.contains("error=access_denied"), "{back}");
    assert_refused(&bed.callback(&back, Some(&login)).await, "duo_denied");

    let (authorize, login) = bed.started("bob", "192.0.2.11").await;
    bed.script(
        "/script",
        json!({"user": "bob", "outcome": "error", "error": "server_error",
               "error_description": "Something broke"}),
    )
    .await;
    let back = bed.at_duo(&authorize).await;
    assert_refused(&bed.callback(&back, Some(&login)).await, "duo_error");
}

/// "Deny and report fraud" in the prompt (Duo's verified `id_token` says
/// `fraud`): `account_held`, and bob's correct password says so after.
async fn a_fraud_report_in_the_prompt_holds_the_account(bed: &Bed) {
    let (authorize, login) = bed.started("bob", "192.0.2.12").await;
    bed.script("/script", json!({"user": "bob", "outcome": "fraud"})).await;
    let back = bed.at_duo(&authorize).await;
    assert_refused(&bed.callback(&back, Some(&login)).await, "account_held");
    bed.assert_logged("reason fraud_reported").await;
    let answer = bed
        .http
        .post(bed.worker.url(routes::LOGIN))
        .header("Origin", APP_ORIGIN)
        .json(&json!({"username": "bob", "password": "bob-demo-pass"}))
        .send()
        .await
        .expect("login");
    assert_eq!(answer.status().as_u16(), 403);
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(body["code"], json!("account_held"), "{body}");
}

/// Without a valid login cookie neither step goes anywhere.
async fn login_cookie_is_required(bed: &Bed) {
    // Start: absent, tampered, garbage.
    assert_refused(&bed.start_duo(None, Some(APP_ORIGIN)).await, "login_expired");
    let login = bed.login("alice", "192.0.2.12").await;
    let (payload, tag) = login.split_once('.').expect("payload.tag");
    let forged = format!("{}.{tag}", payload.replacen('e', "f", 1));
    let forged = if forged == login { format!("A{payload}.{tag}") } else { forged };
    assert_refused(&bed.start_duo(Some(&forged), Some(APP_ORIGIN)).await, "login_expired");
    assert_refused(&bed.start_duo(Some("garbage"), Some(APP_ORIGIN)).await, "login_expired");

    // Callback: a genuine Duo answer, but no (or a forged) login cookie.
    let (authorize, sealed) = bed.started("alice", "192.0.2.12").await;
    bed.script("/script", json!({"user": "alice", "outcome": "approve"})).await;
    let back = bed.at_duo(&authorize).await;
    assert_refused(&bed.callback(&back, None).await, "login_expired");
    let (payload, tag) = sealed.split_once('.').expect("payload.tag");
    let mut tag = tag.to_owned();
    let last = if tag.ends_with('A') { "B" } else { "A" };
    tag.replace_range(tag.len() - 1.., last);
    assert_refused(&bed.callback(&back, Some(&format!("{payload}.{tag}"))).await, "login_expired");
    // Refused before the state was spent: the genuine cookie still works.
    assert_signed_in(&bed.callback(&back, Some(&sealed)).await);
}

/// A genuinely signed login cookie past its expiry is refused at both
/// steps; refusing it at the callback does not spend the state.
async fn expired_login_cookie_is_refused(bed: &Bed) {
    let key = session_secret();
    let now = unix_now();
    let expired = LoginTicket::new("alice", now - 400).seal(&key);
    let before = bed.log_count("reason login_cookie_expired");
    assert_refused(&bed.start_duo(Some(&expired), Some(APP_ORIGIN)).await, "login_expired");
    bed.assert_logged_after("reason login_cookie_expired", before).await;

    let (authorize, sealed) = bed.started("alice", "192.0.2.18").await;
    let mut ticket = LoginTicket::open(&sealed, &key, unix_now()).expect("the Worker's ticket");
    assert!(ticket.state.is_some() && ticket.nonce.is_some(), "{ticket:?}");
    ticket.issued_at = now - 700;
    ticket.expires_at = now - 1;
    let expired = ticket.seal(&key);
    bed.script("/script", json!({"user": "alice", "outcome": "approve"})).await;
    let back = bed.at_duo(&authorize).await;
    let before = bed.log_count("reason login_cookie_expired");
    assert_refused(&bed.callback(&back, Some(&expired)).await, "login_expired");
    bed.assert_logged_after("reason login_cookie_expired", before).await;
    assert_signed_in(&bed.callback(&back, Some(&sealed)).await);
}

/// Start is a state-changing POST: the Origin must be `APP_ORIGIN`.
async fn start_checks_the_origin(bed: &Bed) {
    let login = bed.login("alice", "192.0.2.13").await;
    for origin in [Some("http://evil.example"), Some("null"), None] {
        assert_refused(&bed.start_duo(Some(&login), origin).await, "forbidden_origin");
    }
}

/// The callback's state must be the one in this browser's login cookie.
async fn state_must_match_the_cookie(bed: &Bed) {
    // Another login's (genuine) callback with this browser's cookie.
    let (authorize_a, _login_a) = bed.started("alice", "192.0.2.14").await;
    let (_authorize_b, login_b) = bed.started("alice", "192.0.2.14").await;
    bed.script("/script", json!({"user": "alice", "outcome": "approve"})).await;
    let back_a = bed.at_duo(&authorize_a).await;
    assert_refused(&bed.callback(&back_a, Some(&login_b)).await, "state_mismatch");

    // No state at all, and a cookie from before the Duo step.
    let no_state = format!("{}?duo_code=abc", routes::DUO_CALLBACK);
    assert_refused(&bed.callback(&no_state, Some(&login_b)).await, "state_mismatch");
    let fresh = bed.login("alice", "192.0.2.14").await;
    assert_refused(&bed.callback(&back_a, Some(&fresh)).await, "state_mismatch");
    bed.assert_logged("reason duo_not_started").await;
}

/// Each `id_token` defect the emulator injects fails verification: `duo_error`
/// and no session, for the right reason.
async fn defective_id_tokens_are_refused(bed: &Bed) {
    let defects = [
        ("wrong_nonce", "id_token_nonce"),
        ("missing_nonce", "id_token_nonce"),
        ("bad_signature", "id_token_signature"),
        ("alg_hs256", "id_token_signature"),
        ("alg_none", "id_token_signature"),
        ("expired", "id_token_time"),
        ("wrong_preferred_username", "id_token_username"),
        ("wrong_iss", "id_token_issuer"),
        ("wrong_aud", "id_token_audience"),
    ];
    for (defect, reason) in defects {
        let needle = format!("reason {reason}");
        let before = bed.log_count(&needle);
        let (authorize, login) = bed.started("alice", "192.0.2.15").await;
        bed.script("/script", json!({"user": "alice", "outcome": "approve"})).await;
        bed.script("/faults", json!({"kind": "id_token", "defect": defect})).await;
        let back = bed.at_duo(&authorize).await;
        let response = bed.callback(&back, Some(&login)).await;
        assert_refused(&response, "duo_error");
        bed.assert_logged_after(&needle, before).await;
    }
}

/// Duo refusing our client (`stat: FAIL`, 40002 `invalid_client`, at HTTP
/// 200 as Duo answers it) is misconfiguration, not Duo down: `config_error`
/// (and never fail-open, `flow::tests::duo_start`).
#[tokio::test(flavor = "multi_thread")]
async fn duo_refusing_our_client_is_a_config_error() {
    let bed = Bed::with_emulator(&[("DUO_FAILMODE", "closed")]).await;
    bed.script("/faults", json!({"kind": "health_fail"})).await;
    let login = bed.login("alice", "192.0.2.20").await;
    let response = bed.start_duo(Some(&login), Some(APP_ORIGIN)).await;
    assert_refused(&response, "config_error");
    bed.assert_logged("reason duo_health_rejected").await;
    bed.assert_clean_log();
}

#[tokio::test(flavor = "multi_thread")]
async fn duo_down_fail_closed_refuses_the_second_step() {
    let bed = Bed::with_emulator(&[("DUO_FAILMODE", "closed")]).await;
    // Duo down (HTTP 503, `stat: FAIL` 50301): `duo_unavailable`.
    let down =
        json!({"kind": "health_fail", "status": 503, "code": 50301, "message": "unavailable"});
    bed.script("/faults", down).await;
    let login = bed.login("alice", "192.0.2.20").await;
    let response = bed.start_duo(Some(&login), Some(APP_ORIGIN)).await;
    assert_refused(&response, "duo_unavailable");
    bed.assert_logged("reason duo_unreachable").await;
    assert_eq!(bed.health().await.duo, Some(DuoReachability::Unreachable));

    // The failure is applied again for 10 s (edge `FAILURE_MEMO_SECONDS`),
    // even once Duo is back; then Duo is checked again and the next start
    // goes to Duo.
    let response = bed.http.delete(bed.control("/faults")).send().await.expect("clear faults");
    assert_eq!(response.status().as_u16(), 200);
    let response = bed.start_duo(Some(&login), Some(APP_ORIGIN)).await;
    assert_refused(&response, "duo_unavailable");
    tokio::time::sleep(Duration::from_secs(11)).await;
    let (authorize, _login) = bed.started("alice", "192.0.2.20").await;
    assert!(authorize.contains("/oauth/v1/authorize?"));
    bed.assert_clean_log();
}

/// A token endpoint slower than the Worker's 10 s limit: given up on,
/// `duo_unavailable`, no session.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_endpoint_slower_than_the_limit_is_given_up_on() {
    let bed = Bed::with_emulator(&[("DUO_FAILMODE", "closed")]).await;
    let (authorize, login) = bed.started("alice", "192.0.2.21").await;
    bed.script("/script", json!({"user": "alice", "outcome": "approve"})).await;
    bed.script(
        "/faults",
        json!({"kind": "latency", "ms": 15_000, "endpoint": "token", "times": 1}),
    )
    .await;
    let back = bed.at_duo(&authorize).await;
    let started = tokio::time::Instant::now();
    let response = bed.callback(&back, Some(&login)).await;
    let waited = started.elapsed();
    assert_refused(&response, "duo_unavailable");
    assert!(waited >= Duration::from_secs(9), "gave up too early: {waited:?}");
    assert!(waited < Duration::from_secs(14), "did not time out: {waited:?}");
    bed.assert_logged("could not reach Duo (Timeout)").await;
    bed.assert_clean_log();
}

#[tokio::test(flavor = "multi_thread")]
async fn duo_down_fail_open_issues_a_fail_open_session() {
    // Nothing listens on this port: every call to Duo fails to connect.
    let dead = format!("127.0.0.1:{}", free_port());
    let bed = Bed::start(&dead, None, &[("DUO_FAILMODE", "open")]).await;

    let login = bed.login("alice", "192.0.2.30").await;
    let response = bed.start_duo(Some(&login), Some(APP_ORIGIN)).await;
    let id = assert_signed_in(&response);
    let response = bed.session(&id).await;
    assert_eq!(response.status().as_u16(), 200);
    let session: SessionInfo = response.json().await.expect("session JSON");
    assert_eq!(session.username, "alice");
    assert_eq!(session.method, AuthMethod::FailOpen);
    assert_eq!(session.duo, None);
    // A fail-open session is short (DUO_FAILOPEN_SESSION_TTL_SECONDS, 3600).
    assert_eq!(session.expires_at - session.authenticated_at, 3_600);
    bed.assert_logged("DUO_FAILMODE=open").await;
    bed.assert_logged(r#""route":"/auth/duo/start","step":"duo_start","method":"POST","status":303,"outcome":"ok","reason":"fail_open""#).await;
    // With fail-open, health does not tell whether Duo is reachable.
    assert_eq!(bed.health().await.duo, Some(DuoReachability::Unknown));

    // An admin signed in fail-open does not reach the console.
    let login = bed.login("dana", "192.0.2.31").await;
    let dana = assert_signed_in(&bed.start_duo(Some(&login), Some(APP_ORIGIN)).await);
    let console = bed
        .http
        .get(bed.worker.url(shared::admin::routes::USERS))
        .header("Cookie", format!("{SESSION_COOKIE}={dana}"))
        .send()
        .await
        .expect("GET /api/admin/users");
    assert_eq!(console.status().as_u16(), 403);
    let body: serde_json::Value = console.json().await.expect("JSON");
    assert_eq!(body["code"], json!("forbidden"));
    assert!(body["message"].as_str().is_some_and(|m| m.contains("Duo")), "{body}");

    // Origin and login cookie are still required when failing open.
    assert_refused(&bed.start_duo(None, Some(APP_ORIGIN)).await, "login_expired");
    assert_refused(
        &bed.start_duo(Some(&login), Some("http://evil.example")).await,
        "forbidden_origin",
    );
    bed.assert_clean_log();
}

/// Something at `DUO_API_HOST` that answers every request with `status`
/// and headers at once, then sends the body as `body` dictates (chunked,
/// no `Content-Length`): not Duo, a server misbehaving on purpose. Returns
/// its `host:port`, and whether some answer's body was cut short (the
/// client went away before its end).
async fn misbehaving_server(
    body: fn() -> Vec<(Duration, Vec<u8>)>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let cut_short = std::sync::Arc::new(AtomicBool::new(false));
    let cut = std::sync::Arc::clone(&cut_short);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let cut = std::sync::Arc::clone(&cut);
            tokio::spawn(async move {
                let mut request = [0u8; 16 * 1024];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                            Transfer-Encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for (pause, chunk) in body() {
                    tokio::time::sleep(pause).await;
                    let framed =
                        [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk, b"\r\n".to_vec()];
                    if socket.write_all(&framed.concat()).await.is_err() {
                        cut.store(true, Ordering::SeqCst);
                        return;
                    }
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    (address, cut_short)
}

/// A Duo that sends its answer's headers at once but its body a byte a
/// second: the Worker's 10 s covers the body too, so it gives up (Duo
/// unreachable: with `DUO_FAILMODE=open`, a fail-open session).
#[tokio::test(flavor = "multi_thread")]
async fn a_body_slower_than_the_limit_is_given_up_on() {
    let (host, _) = misbehaving_server(|| {
        let mut body = vec![(Duration::ZERO, b"{".to_vec())];
        body.extend((0..60).map(|_| (Duration::from_secs(1), b" ".to_vec())));
        body
    })
    .await;
    let bed = Bed::start(&host, None, &[("DUO_FAILMODE", "open")]).await;
    let login = bed.login("alice", "192.0.2.31").await;
    let started = tokio::time::Instant::now();
    let response = bed.start_duo(Some(&login), Some(APP_ORIGIN)).await;
    let waited = started.elapsed();
    let id = assert_signed_in(&response);
    let session: SessionInfo = bed.session(&id).await.json().await.expect("session JSON");
    assert_eq!(session.method, AuthMethod::FailOpen);
    assert!(waited >= Duration::from_secs(9), "gave up too early: {waited:?}");
    assert!(waited < Duration::from_secs(14), "did not give up: {waited:?}");
    bed.assert_logged("no complete answer within 10 s").await;
    bed.assert_clean_log();
}

/// A Duo whose answer never ends (chunked, no `Content-Length`): the Worker
/// stops reading at 64 KB. Not Duo's format: misconfiguration, refused
/// `config_error` even with `DUO_FAILMODE=open`.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_cap_is_refused_without_reading_it_all() {
    // 64 MB: far more than the socket buffers between the two hold.
    let (host, cut_short) = misbehaving_server(|| {
        let mut body = vec![(Duration::ZERO, b"{\"stat\": \"OK\", \"pad\": \"".to_vec())];
        body.extend((0..1024).map(|_| (Duration::ZERO, vec![b'x'; 64 * 1024])));
        body
    })
    .await;
    let bed = Bed::start(&host, None, &[("DUO_FAILMODE", "open")]).await;
    let login = bed.login("alice", "192.0.2.32").await;
    let response = bed.start_duo(Some(&login), Some(APP_ORIGIN)).await;
    assert_refused(&response, "config_error");
    bed.assert_logged("reason duo_health_malformed").await;
    // The Worker hung up on the rest (the server notices when it writes next).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cut_short.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(tokio::time::Instant::now() < deadline, "the Worker read the whole 64 MB");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bed.assert_clean_log();
}

#[tokio::test(flavor = "multi_thread")]
async fn duo_starts_are_limited_per_user() {
    let bed = Bed::with_emulator(&[("DUO_START_LIMIT", "2")]).await;
    bed.started("alice", "192.0.2.50").await;
    bed.started("alice", "192.0.2.51").await;
    // The third Duo step for alice, from yet another client: refused.
    let login = bed.login("alice", "192.0.2.52").await;
    let response = bed.start_duo(Some(&login), Some(APP_ORIGIN)).await;
    assert_refused(&response, "rate_limited");
    // The page is told how long to wait (within the 15-minute window).
    let target = location(response.headers());
    let wait: u64 = target
        .split_once("&wait=")
        .and_then(|(_, w)| w.split('&').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {target}"));
    assert!((1..=900).contains(&wait), "{target}");
    bed.assert_logged("reason duo_start_limit").await;
    // Another user is not limited.
    bed.started("bob", "192.0.2.52").await;
    bed.assert_clean_log();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loopback_duo_api_host_needs_a_loopback_app_origin() {
    let bed = Bed::start("127.0.0.1:9", None, &[("APP_ORIGIN", "https://login.example.com")]).await;
    let response = bed.http.get(bed.worker.url(routes::HEALTH)).send().await.expect("health");
    assert_eq!(response.status().as_u16(), 503);
    let health: HealthResponse = response.json().await.expect("health JSON");
    assert_eq!(health.status, ServiceStatus::ConfigError);
    assert_eq!(health.setting.as_deref(), Some("DUO_API_HOST"));
    bed.assert_clean_log();
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_duo_setting_is_named_and_the_duo_step_refuses() {
    // Present but not a Duo client ID (20 characters): caught when the
    // configuration is read, not at Duo.
    let bed = Bed::start("127.0.0.1:9", None, &[("DUO_CLIENT_ID", "DIBADCLIENTIDVALUE")]).await;

    let response = bed.http.get(bed.worker.url(routes::HEALTH)).send().await.expect("health");
    assert_eq!(response.status().as_u16(), 503);
    let text = response.text().await.expect("health body");
    assert!(!text.contains("DIBADCLIENTIDVALUE"), "the value must not be echoed: {text}");
    let health: HealthResponse = serde_json::from_str(&text).expect("health JSON");
    assert_eq!(health.status, ServiceStatus::ConfigError);
    assert_eq!(health.setting.as_deref(), Some("DUO_CLIENT_ID"));

    let response = bed.start_duo(Some("anything.at-all"), Some(APP_ORIGIN)).await;
    assert_refused(&response, "config_error");
    bed.assert_clean_log();
}
