//! The Duo provider page's API under `wrangler dev`, against the emulator:
//! settings without secrets, "Test connection" with its diagnosis, and the
//! enforce-Duo switch with its effect on sign-ins.
//!
//! | test | contract clause |
//! |---|---|
//! | `the_provider_page_tests_duo_and_switches_enforcement` | a `user` 403 `forbidden` on each provider route; the settings name the mode, the host and the masked client id, and no secret; a test against a healthy emulator is `ok` with its latency; with the emulator's clock 10 minutes ahead, not `ok`, the cause the clock and the offset measured; each test an `admin_events` row; turning Duo off without the phrase `bad_request`, with it 204, then alice (Duo required) signs in with her password alone, audited `duo_not_enforced`; turned back on, alice is sent to Duo again |

use duo_emulator::Emulator;
use e2e::{Wrangler, cookie_value, default_vars, set_cookie};
use serde_json::{Value, json};
use shared::admin::{ENFORCE_OFF_PHRASE, routes as admin};
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
const SESSION_COOKIE: &str = "__Host-session";

struct Bed {
    worker: Wrangler,
    emulator: Emulator,
    http: reqwest::Client,
}

impl Bed {
    async fn login(&self, username: &str) -> (u16, Value, Option<String>) {
        let body = json!({"username": username, "password": format!("{username}-demo-pass")});
        let response = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .json(&body)
            .send()
            .await
            .expect("login");
        let status = response.status().as_u16();
        let cookie = set_cookie(response.headers(), SESSION_COOKIE).map(|c| cookie_value(&c));
        (status, response.json().await.unwrap_or(Value::Null), cookie)
    }

    async fn call(&self, cookie: &str, post: Option<Value>, path: &str) -> (u16, Value) {
        let url = self.worker.url(path);
        let request = match post {
            Some(body) => self.http.post(url).header("Origin", APP_ORIGIN).json(&body),
            None => self.http.get(url),
        };
        let response = request
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .send()
            .await
            .expect("admin request");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn test(&self, admin_cookie: &str) -> Value {
        let (status, body) = self.call(admin_cookie, Some(json!({})), admin::DUO_TEST).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provider_page_tests_duo_and_switches_enforcement() {
    let emulator = e2e::local_emulator().await;
    let mut vars = default_vars(APP_ORIGIN);
    vars.retain(|(name, _)| name != "DUO_API_HOST");
    vars.push(("DUO_API_HOST".to_owned(), emulator.local_addr().to_string()));
    let bob_password_only = "UPDATE users SET duo_policy = 'bypass' WHERE username = 'bob';";
    let worker =
        Wrangler::start_seeded(&vars, &[bob_password_only]).await.unwrap_or_else(|e| panic!("{e}"));
    let bed = Bed { worker, emulator, http: reqwest::Client::new() };
    let admin = bed.login("admin").await.2.expect("admin's session");
    let bob = bed.login("bob").await.2.expect("bob's session");

    for (post, path) in [
        (None, admin::DUO),
        (Some(json!({})), admin::DUO_TEST),
        (Some(json!({"enforce": true})), admin::DUO_ENFORCE),
    ] {
        let (status, body) = bed.call(&bob, post, path).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{path}");
    }

    let (status, shown) = bed.call(&admin, None, admin::DUO).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["mode"], json!("prompt"));
    assert_eq!(shown["key_masked"], json!("DIEM••••••••••••••T1"));
    assert_eq!(shown["api_host"], json!(bed.emulator.local_addr().to_string()));
    assert_eq!(shown["enforce_duo"], json!(true));
    assert!(!shown.to_string().contains("EmulatorDevSecret"), "{shown}");

    let healthy = bed.test(&admin).await;
    assert_eq!(
        (healthy["ok"].as_bool(), healthy["endpoint"].as_str()),
        (Some(true), Some("health_check")),
        "{healthy}"
    );
    assert!(healthy["latency_ms"].as_u64().is_some(), "{healthy}");

    let clock = format!("{}/__emulator/clock", bed.emulator.base_url());
    let moved =
        bed.http.post(&clock).json(&json!({"offset_seconds": 600})).send().await.expect("clock");
    assert_eq!(moved.status(), 200);
    let skewed = bed.test(&admin).await;
    assert_eq!(skewed["ok"], json!(false), "{skewed}");
    let offset = skewed["clock_offset_seconds"].as_i64().expect("an offset");
    assert!((595..=605).contains(&offset), "{skewed}");
    assert!(skewed["cause"].as_str().is_some_and(|c| c.contains("clock")), "{skewed}");
    bed.http.post(&clock).json(&json!({"offset_seconds": 0})).send().await.expect("clock back");

    // Enforcement.
    assert_eq!(bed.login("alice").await.1["next"], json!("duo"), "Duo required");
    let (status, body) =
        bed.call(&admin, Some(json!({"enforce": false})), admin::DUO_ENFORCE).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains(ENFORCE_OFF_PHRASE)), "{body}");
    let off = json!({"enforce": false, "confirm": ENFORCE_OFF_PHRASE});
    assert_eq!(bed.call(&admin, Some(off), admin::DUO_ENFORCE).await.0, 204);
    let (status, body, cookie) = bed.login("alice").await;
    assert_eq!((status, body["next"].as_str()), (200, Some("done")), "{body}");
    assert_eq!(body["session"]["method"], json!("bypass"));
    assert!(cookie.is_some(), "a session without Duo");
    let (_, shown) = bed.call(&admin, None, admin::DUO).await;
    assert_eq!(
        (shown["enforce_duo"].as_bool(), shown["enforce_changed_by"].as_str()),
        (Some(false), Some("admin"))
    );
    assert_eq!(bed.call(&admin, Some(json!({"enforce": true})), admin::DUO_ENFORCE).await.0, 204);
    assert_eq!(bed.login("alice").await.1["next"], json!("duo"), "Duo required again");

    let audited = bed
        .worker
        .query("SELECT reason FROM auth_events WHERE username = 'alice' AND step = 'login' ORDER BY id")
        .await
        .expect("alice's logins");
    let reasons: Vec<&str> = audited.iter().filter_map(|r| r["reason"].as_str()).collect();
    assert_eq!(reasons, ["duo_required", "duo_not_enforced", "duo_required"]);
    let actions = bed
        .worker
        .query("SELECT action FROM admin_events WHERE actor = 'admin' ORDER BY id")
        .await
        .expect("admin events");
    let actions: Vec<&str> = actions.iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["test_duo", "test_duo", "enforce_duo_off", "enforce_duo_on"]);
    bed.worker.assert_clean_log(&[]);
}
