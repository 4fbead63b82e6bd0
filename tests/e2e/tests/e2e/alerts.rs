//! Alerts through `wrangler dev`'s local Queues to a webhook receiver on
//! this machine (`e2e::receiver`): webhooks added in the console's API,
//! alerts raised by what happens (a role change, a burst of refused
//! passwords), fanned out by the queue's consumer, signed, retried with a
//! doubling delay while a receiver is down and delivered when it is back,
//! moved to the dead-letter queue after the last retry and recorded as
//! given up; the console's list of deliveries says each of these.
//!
//! | test | contract clause |
//! |---|---|
//! | `alerts_reach_webhooks_through_the_queue_and_retries` | add (201, the signing secret once, the address shown up to its host); a role change reaches the JSON webhook after it failed twice (503, 503, 204: three attempts of one alert id, each signed with HMAC-SHA256 of `t.body` under the secret), and the Slack webhook that always fails 6 times, then `gave_up` from the dead-letter queue; seven wrong passwords raise one `refusal_burst`; a test alert (202) reaches the webhook named; deliveries listed newest first with attempts, statuses and retry times, filtered by failure; no secret or webhook path in the Worker's log or the console's lists |

use e2e::receiver::Receiver;
use e2e::{Wrangler, cookie_value, default_vars, eventually, set_cookie};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::admin::routes as admin;
use shared::alerts::{AlertKind, AlertPayload, ID_HEADER, KIND_HEADER, routes as alerts};
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
const SESSION_COOKIE: &str = "__Host-session";
/// The Slack-compatible webhook's path: its secret, in Slack's scheme.
const SLACK_PATH: &str = "/down/services/T0001/B0001/SlackPathIsASecret";
/// The JSON webhook's path: down for two requests, then back.
const JSON_PATH: &str = "/fails-2/alerts";

struct Bed {
    worker: Wrangler,
    http: reqwest::Client,
    cookie: String,
}

impl Bed {
    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.worker.url(path))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/json")
            .header("Cookie", format!("{SESSION_COOKIE}={}", self.cookie))
            .body(body.to_string())
            .send()
            .await
            .expect("POST");
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.worker.url(path))
            .header("Cookie", format!("{SESSION_COOKIE}={}", self.cookie))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("JSON")
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/json")
            .header("CF-Connecting-IP", "203.0.113.77")
            .body(json!({"username": username, "password": password}).to_string())
            .send()
            .await
            .expect("login")
    }
}

#[tokio::test]
async fn alerts_reach_webhooks_through_the_queue_and_retries() {
    let receiver = Receiver::start().await.expect("a receiver");
    let mut vars = default_vars(APP_ORIGIN);
    // Retries after 1, 2, 4, 8 and 16 s (60 s doubling when deployed).
    vars.push(("ALERT_RETRY_SECONDS".to_owned(), "1".to_owned()));
    let worker = Wrangler::start_seeded(&vars, &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let http = reqwest::Client::new();
    let mut bed = Bed { worker, http, cookie: String::new() };
    // The demo admin signs in with a password alone: a fresh confirmation.
    let response = bed.login("admin", "admin-demo-pass").await;
    assert_eq!(response.status(), 200);
    bed.cookie = cookie_value(&set_cookie(response.headers(), SESSION_COOKIE).expect("a session"));

    let (secret, json_id, slack_id) = add_webhooks(&bed, &receiver).await;

    // A role change: both webhooks take it.
    let (status, _) = bed
        .post(admin::USER_CHANGE, &json!({"username": "bob", "change": {"role": "admin"}}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let json_deliveries = eventually(30, "the JSON webhook's third attempt", async || {
        let seen = receiver.to(JSON_PATH);
        (seen.len() >= 3).then_some(seen)
    })
    .await;
    let statuses: Vec<u16> = json_deliveries.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [503, 503, 204], "down twice, then back");
    for delivered in &json_deliveries {
        assert!(delivered.signed_with(&secret), "signed with the webhook's secret: {delivered:?}");
        assert_eq!(delivered.header(KIND_HEADER), "role_changed");
        assert_eq!(delivered.header(ID_HEADER), json_deliveries[0].header(ID_HEADER), "one alert");
    }
    assert!(!json_deliveries[0].signed_with("whsec_not-the-secret"));
    let payload: AlertPayload =
        serde_json::from_slice(&json_deliveries[2].body).expect("the payload");
    assert_eq!(
        (payload.kind, payload.summary.as_str()),
        (AlertKind::RoleChanged, "admin made bob an admin.")
    );
    assert_eq!(payload.service, APP_ORIGIN);

    // Seven wrong passwords from one address: one burst alert.
    for _ in 0..7 {
        let response = bed.login("alice", "not-her-password").await;
        assert!(matches!(response.status().as_u16(), 401 | 429));
    }
    let burst = eventually(20, "the refusal burst", async || {
        receiver.to(JSON_PATH).into_iter().find(|d| d.header(KIND_HEADER) == "refusal_burst")
    })
    .await;
    let burst: AlertPayload = serde_json::from_slice(&burst.body).expect("the payload");
    assert!(burst.summary.contains("alice from 203.0.113.77"), "{}", burst.summary);

    // A test alert, to the webhook named only.
    let (status, queued) = bed.post(alerts::WEBHOOK_TEST, &json!({"id": json_id})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let test_id = queued["alert_id"].as_str().expect("its id").to_owned();
    eventually(20, "the test alert", async || {
        receiver
            .to(JSON_PATH)
            .into_iter()
            .find(|d| d.header(ID_HEADER) == test_id && d.status == 204)
    })
    .await;

    dead_letters(&bed, &receiver, &slack_id).await;

    // The JSON webhook's log: each attempt of the role change, newest first.
    let list = bed.get(&format!("{}?webhook={json_id}", alerts::DELIVERIES)).await;
    let role: Vec<(u64, &str)> = list["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["kind"] == "role_changed")
        .map(|d| (d["attempt"].as_u64().unwrap_or(0), d["outcome"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(role, [(3, "delivered"), (2, "failed"), (1, "failed")]);
    let failed = bed.get(&format!("{}?failed=1", alerts::DELIVERIES)).await;
    assert!(
        failed["deliveries"]
            .as_array()
            .is_some_and(|rows| rows.iter().all(|d| d["outcome"] != "delivered"))
    );
    assert_eq!(failed["total"], 2 + 7, "two of the JSON webhook, seven of the Slack one");
    let view = bed.get(alerts::ALERTS).await;
    assert_eq!(view["failures_last_day"], 9);
    let shown = format!("{view}{failed}");
    assert!(!shown.contains("SlackPathIsASecret") && !shown.contains("whsec_"), "{shown}");

    // Removed: listed no more; the change is in the admin log.
    let (status, _) = bed.post(alerts::WEBHOOK_REMOVE, &json!({"id": slack_id})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let view = bed.get(alerts::ALERTS).await;
    assert_eq!(view["webhooks"].as_array().map(Vec::len), Some(1));
    let rows = bed
        .worker
        .query("SELECT action, target FROM admin_events WHERE action LIKE '%webhook' ORDER BY id")
        .await
        .expect("admin events");
    let actions: Vec<&str> = rows.iter().filter_map(|r| r["action"].as_str()).collect();
    assert_eq!(actions, ["add_webhook", "add_webhook", "test_webhook", "remove_webhook"]);
    bed.worker.assert_clean_log(&["SlackPathIsASecret", &secret, "whsec_"]);
}

/// The Slack webhook never answers well: 6 attempts, then the dead-letter
/// queue, each recorded.
async fn dead_letters(bed: &Bed, receiver: &Receiver, slack_id: &str) {
    let gave_up = eventually(90, "the give-up", async || {
        let list = bed.get(&format!("{}?webhook={slack_id}", alerts::DELIVERIES)).await;
        let rows = list["deliveries"].as_array().cloned().unwrap_or_default();
        rows.first().filter(|d| d["outcome"] == "gave_up").cloned().map(|_| rows)
    })
    .await;
    let slack_seen = receiver.to(SLACK_PATH);
    assert_eq!(slack_seen.len(), 6, "the first attempt and max_retries = 5");
    let text: Value = serde_json::from_slice(&slack_seen[0].body).expect("Slack's JSON");
    assert!(
        text["text"].as_str().is_some_and(|t| t.contains("admin made bob an admin.")),
        "{text}"
    );
    let attempts: Vec<(u64, &str, Option<u64>)> = gave_up
        .iter()
        .map(|d| {
            (
                d["attempt"].as_u64().unwrap_or(0),
                d["outcome"].as_str().unwrap_or(""),
                d["status"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (6, "gave_up", None),
            (6, "failed", Some(500)),
            (5, "failed", Some(500)),
            (4, "failed", Some(500)),
            (3, "failed", Some(500)),
            (2, "failed", Some(500)),
            (1, "failed", Some(500))
        ],
    );
    assert!(
        gave_up[1]["retry_at"].as_u64().is_some()
            && gave_up[1]["error"] == "the receiver answered HTTP 500"
    );
}

/// Adds the JSON webhook and the Slack one (and is refused a plain-http
/// address and a twin name): the JSON one's secret and both ids.
async fn add_webhooks(bed: &Bed, receiver: &Receiver) -> (String, String, String) {
    let view = bed.get(alerts::ALERTS).await;
    assert_eq!(
        (view["queue_bound"].as_bool(), view["webhooks"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
    let (status, json_hook) = bed
        .post(
            alerts::WEBHOOK_ADD,
            &json!({"name": "ops-json", "url": format!("{}{JSON_PATH}", receiver.origin),
                    "format": "json", "events": ["role_changed", "refusal_burst"]}),
        )
        .await;
    assert_eq!(status, 201, "{json_hook}");
    let secret = json_hook["signing_secret"].as_str().expect("the secret, once").to_owned();
    let json_id = json_hook["webhook"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(json_hook["webhook"]["destination"], format!("{}/…", receiver.origin));
    let (status, slack_hook) = bed
        .post(
            alerts::WEBHOOK_ADD,
            &json!({"name": "ops-slack", "url": format!("{}{SLACK_PATH}", receiver.origin),
                    "format": "slack", "events": ["role_changed"]}),
        )
        .await;
    assert_eq!(status, 201, "{slack_hook}");
    let slack_id = slack_hook["webhook"]["id"].as_str().expect("an id").to_owned();
    // Refused: an address a deployed login may not post to, a twin name.
    let (status, refused) = bed
        .post(alerts::WEBHOOK_ADD, &json!({"name": "x", "url": "http://example.com/h", "format": "json", "events": ["role_changed"]}))
        .await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (status, _) = bed
        .post(alerts::WEBHOOK_ADD, &json!({"name": "OPS-JSON", "url": format!("{}/x", receiver.origin), "format": "json", "events": ["role_changed"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    (secret, json_id, slack_id)
}
