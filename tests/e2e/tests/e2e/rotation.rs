//! Rotating `SESSION_SECRET` signs nobody out (issue #27): the Worker is
//! deployed again (restarted over the same database) with
//! `SESSION_SECRET_NEXT`, then with the new secret alone.
//!
//! | step | what it checks |
//! |---|---|
//! | before | a session (admin, password only) and a sign-in under way (alice's password passed, her login cookie signed with the old secret) |
//! | during (`SESSION_SECRET_NEXT` set) | the session lives; the old login cookie still starts the Duo step; a new one is signed with the next secret |
//! | after (the new secret alone) | the session lives; the cookie signed during the rotation starts the Duo step; the one from before is refused as an expired sign-in, named `login_cookie_invalid` in the log |

use e2e::{Wrangler, cookie_value, default_vars, local_emulator, set_cookie};
use edge_core::cookie::{LOGIN_COOKIE, SESSION_COOKIE};
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
/// The new secret (32 bytes, base64).
const NEXT: &str = "bmV4dC1zZXNzaW9uLXNlY3JldC1yb3RhdGVkLWluISE=";

struct Bed {
    http: reqwest::Client,
}

impl Bed {
    /// The password step; the login cookie.
    async fn password(&self, worker: &Wrangler, username: &str) -> String {
        let body = serde_json::json!({ "username": username, "password": format!("{username}-demo-pass") });
        let response = self
            .http
            .post(worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .json(&body)
            .send()
            .await
            .expect("POST /api/login");
        assert_eq!(response.status().as_u16(), 200, "the password of {username}");
        cookie_value(&set_cookie(response.headers(), LOGIN_COOKIE).expect("a login cookie"))
    }

    /// `POST /auth/duo/start` with `login`: where it sends the browser.
    async fn start_duo(&self, worker: &Wrangler, login: &str) -> String {
        let response = self
            .http
            .post(worker.url(routes::DUO_START))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", format!("{LOGIN_COOKIE}={login}"))
            .body("")
            .send()
            .await
            .expect("POST /auth/duo/start");
        assert_eq!(response.status().as_u16(), 303);
        response.headers()["location"].to_str().unwrap_or_default().to_owned()
    }

    /// The session's status now.
    async fn session(&self, worker: &Wrangler, session: &str) -> u16 {
        self.http
            .get(worker.url(routes::SESSION))
            .header("Cookie", format!("{SESSION_COOKIE}={session}"))
            .send()
            .await
            .expect("GET /api/session")
            .status()
            .as_u16()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_secret_rotation_signs_nobody_out() {
    let emulator = local_emulator().await;
    let duo = emulator.base_url();
    let mut vars = default_vars(APP_ORIGIN);
    vars.retain(|(name, _)| name != "DUO_API_HOST");
    vars.push(("DUO_API_HOST".to_owned(), emulator.local_addr().to_string()));
    let worker = Wrangler::start(&vars).await.unwrap_or_else(|e| panic!("{e}"));
    let bed = Bed {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
    };
    let response = bed
        .http
        .post(worker.url(routes::LOGIN))
        .header("Origin", APP_ORIGIN)
        .json(&serde_json::json!({"username": "admin", "password": "admin-demo-pass"}))
        .send()
        .await
        .expect("admin's sign-in");
    let session = cookie_value(&set_cookie(response.headers(), SESSION_COOKIE).expect("a session"));
    let before = bed.password(&worker, "alice").await;

    // During the rotation.
    let mut rotating = vars.clone();
    rotating.push(("SESSION_SECRET_NEXT".to_owned(), NEXT.to_owned()));
    let worker = worker.restart_with(&rotating).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bed.session(&worker, &session).await, 200, "the session lives on");
    let to = bed.start_duo(&worker, &before).await;
    assert!(to.starts_with(&duo), "a sign-in from before the rotation goes on to Duo: {to}");
    let during = bed.password(&worker, "alice").await;

    // After: the new secret alone.
    let mut after = vars.clone();
    after.retain(|(name, _)| name != "SESSION_SECRET");
    after.push(("SESSION_SECRET".to_owned(), NEXT.to_owned()));
    let worker = worker.restart_with(&after).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bed.session(&worker, &session).await, 200, "the session still lives");
    let to = bed.start_duo(&worker, &during).await;
    assert!(to.starts_with(&duo), "a sign-in signed during the rotation goes on: {to}");
    let to = bed.start_duo(&worker, &before).await;
    assert!(to.ends_with("?error=login_expired"), "the old secret no longer signs: {to}");
    // (wrangler writes the Worker's log a moment after the answer.)
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !worker.log().contains("reason login_cookie_invalid") {
        assert!(tokio::time::Instant::now() < deadline, "not named in the log");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    worker.assert_clean_log(&[NEXT]);
}
