//! Sessions as NIST SP 800-63B-4 asks at AAL2, under `wrangler dev` with a
//! short idle window (`SESSION_IDLE_SECONDS=8`, the gateway re-checking every
//! second): a session unused for its window ends, in the API and at the
//! gateway, while one in use lives on past it; users list their own sessions
//! and end another one; in the browser the account page warns before the
//! idle end, "Stay signed in" moves it, and at the end the page signs out
//! cleanly with a notice.
//!
//! | step | what it checks |
//! |---|---|
//! | in use through the gateway | requests every 2 s reach the app for 12 s, past the 8 s window: each re-check moves it |
//! | unused | a session left alone for 10 s is 401 at `/api/session` and not let through by the gateway |
//! | own sessions | `GET /api/sessions` lists both of the user's sessions, this one `current`, never a token; `POST /api/sessions/end` ends the other (401 after), refuses an id that is not the user's (400), and ending this one clears its cookie |
//! | the page | "Your sessions" lists this browser; the idle warning appears, "Stay signed in" removes it, and at the end the sign-in page says why |

use std::time::Duration;

use e2e::upstream::EchoApp;
use e2e::{Browser, Wrangler, cookie_value, default_vars, set_cookie};
use fantoccini::Locator;
use serde_json::{Value, json};
use shared::api::routes;

const SESSION_COOKIE: &str = "__Host-session";
const WAIT: Duration = Duration::from_secs(30);

struct Bed {
    worker: Wrangler,
    http: reqwest::Client,
    origin: String,
}

impl Bed {
    /// A password-only (bypass) sign-in of `admin`: its session cookie.
    async fn session(&self) -> String {
        let response = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", &self.origin)
            .json(&json!({"username": "admin", "password": "admin-demo-pass"}))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status().as_u16(), 200);
        cookie_value(&set_cookie(response.headers(), SESSION_COOKIE).expect("a session"))
    }

    async fn get(&self, url: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(url)
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .header("Accept", "application/json")
            .send()
            .await
            .expect("GET")
    }

    async fn end(&self, cookie: &str, kind: &str, id: &str) -> reqwest::Response {
        self.http
            .post(self.worker.url(routes::OWN_SESSIONS_END))
            .header("Origin", &self.origin)
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .json(&json!({"kind": kind, "id": id}))
            .send()
            .await
            .expect("end")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_end_when_unused_and_users_end_their_own() {
    let app = EchoApp::start().await.unwrap_or_else(|e| panic!("{e}"));
    let mut vars = default_vars("http://localhost");
    vars.retain(|(name, _)| name != "UPSTREAM_URL");
    vars.extend(
        [
            ("SESSION_IDLE_SECONDS", "8"),
            ("SESSION_RECHECK_SECONDS", "1"),
            ("UPSTREAM_URL", app.origin.as_str()),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let worker = Wrangler::start_at_own_origin(&vars).await.unwrap_or_else(|e| panic!("{e}"));
    let origin = worker.app_url("").trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let bed = Bed { worker, http, origin };

    let unused = bed.session().await;
    let (mine, other) = (bed.session().await, bed.session().await);
    let info: Value =
        bed.get(&bed.worker.url(routes::SESSION), &mine).await.json().await.expect("JSON");
    let (signed_in, idle_end) =
        (info["authenticated_at"].as_i64(), info["idle_expires_at"].as_i64());
    assert!(
        signed_in.zip(idle_end).is_some_and(|(at, end)| (7..=9).contains(&(end - at))),
        "{info}"
    );

    own_sessions(&bed, &mine, &other).await;
    the_page_warns_then_ends(&bed).await;

    // In use through the gateway every 2 s for 12 s: past the 8 s window.
    let used = bed.session().await;
    for _ in 0..6 {
        let through = bed.get(&bed.worker.app_url("/api/ping"), &used).await;
        assert_eq!(through.status().as_u16(), 200, "a session in use lives on");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // Left alone since the start (well over 8 s): ended everywhere.
    assert_eq!(bed.get(&bed.worker.url(routes::SESSION), &unused).await.status().as_u16(), 401);
    let refused = bed.get(&bed.worker.app_url("/api/ping"), &unused).await;
    assert_eq!(refused.status().as_u16(), 401, "the gateway lets an idle session through");
    assert!(app.received().iter().all(|r| r.header("duo-login-user").len() == 1));
    bed.worker.assert_clean_log(&[]);
}

async fn own_sessions(bed: &Bed, mine: &str, other: &str) {
    let listed: Value =
        bed.get(&bed.worker.url(routes::OWN_SESSIONS), mine).await.json().await.expect("JSON");
    let sessions = listed["sessions"].as_array().expect("sessions");
    assert!(sessions.len() >= 3, "{listed}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == json!(true)).count(), 1, "{listed}");
    let text = listed.to_string();
    assert!(!text.contains(mine) && !text.contains(other), "never a token");
    let other_id = edge_core::session::SessionId::parse(other).expect("an id").storage_key();
    assert_eq!(bed.end(mine, "session", other_id.as_str()).await.status().as_u16(), 204);
    assert_eq!(bed.get(&bed.worker.url(routes::SESSION), other).await.status().as_u16(), 401);
    let unknown = "0".repeat(64);
    let refused = bed.end(mine, "session", &unknown).await;
    assert_eq!(refused.status().as_u16(), 400);
    let this_id = edge_core::session::SessionId::parse(mine).expect("an id").storage_key();
    let ended = bed.end(mine, "session", this_id.as_str()).await;
    assert_eq!(ended.status().as_u16(), 204);
    let cleared = set_cookie(ended.headers(), SESSION_COOKIE).expect("cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

async fn the_page_warns_then_ends(bed: &Bed) {
    let browser = Browser::start().await.unwrap_or_else(|e| panic!("browser: {e}"));
    let c = &browser.client;
    let find = |css: &'static str| async move {
        c.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| {
            panic!("waiting for {css}: {e} (log: {})", bed.worker.log_path().display())
        })
    };
    c.goto(&bed.worker.url("/")).await.expect("the sign-in page");
    find("#login-form button[type=submit]:not([disabled])").await;
    find("#username").await.send_keys("admin").await.expect("type");
    find("#password").await.send_keys("admin-demo-pass").await.expect("type");
    find("#login-form button[type=submit]").await.click().await.expect("sign in");
    find("#account-title").await;
    assert_eq!(c.title().await.unwrap_or_default(), "Signed in", "the tab says so");
    let listed = find("#own-sessions li.current").await.text().await.unwrap_or_default();
    assert!(listed.starts_with("This browser"), "{listed}");
    find("#idle-warning").await;
    find("#stay-signed-in").await.click().await.expect("stay");
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.find(Locator::Css("#idle-warning")).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "the warning stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Left alone now: warned again, then signed out with the reason.
    find("#idle-warning").await;
    let form = find("#login-form").await;
    drop(form);
    let page = c.source().await.unwrap_or_default();
    assert!(page.contains("not used for a while"), "the sign-in page says why");
    assert_eq!(c.title().await.unwrap_or_default(), "Sign in");
    browser.close().await;
}
