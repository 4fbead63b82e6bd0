//! The inline mode (`DUO_MODE=inline`) over HTTP: the real Worker under
//! `wrangler dev` against the Duo emulator's Auth API, the tester's part
//! played through the emulator's control API (what its phone page does).
//!
//! | test | contract clause |
//! |---|---|
//! | `a_push_approved_on_the_phone_signs_in_once` | login `next: duo_inline` with the devices and their methods, never a key; push started on a chosen device, bound to the re-sealed login cookie; status `waiting/pushed`, then `done` with a session (factor, device, txid); the same approval cannot make a second session (`state_mismatch`); Duo saw the push's kind (`type`), `display_username`, our `pushinfo` (app, address, location when known) and the client's `ipaddr`; `/api/health` reachable |
//! | `denials_timeouts_passcodes_and_sms` | a denied push `duo_denied` with Duo's message; a push nobody answers `duo_denied` "Login timed out."; wrong passcode `duo_denied` with Duo's message; SMS `sent`, then its passcode `done`; a device the login was not offered `bad_request`; a landline asked to push `bad_request`; status without a started factor `state_mismatch`; tampered cookie `login_expired`; no `Origin` `forbidden_origin`; five wrong passcodes, then `rate_limited`; three more in another login, then the account's cap (`rate_limited`, audited `passcode_account_limit`) before Duo's lockout: a push still signs in and clears the count |
//! | `a_push_reported_as_fraud_holds_the_account` | a push alice reports as fraud on the phone: `account_held` (403) with what happened, her earlier session ended, her password answered `account_held`, `users.held_at` set, audited `fraud_reported`, the security webhook sent a `fraud_reported` alert naming her; an admin's `release_hold` lets her sign in again and the console's count goes back to 0 |
//! | `a_phone_call_is_answered_then_confirmed` | a call to the landline: `calling`, `answered` once the tester answers, then a session naming the call and the landline |
//! | `preauth_decides_allow_deny_and_enroll` | locked-out carol `duo_denied` with Duo's message; unenrolled bob `next: duo_enroll` with Duo's link and no login cookie; a Duo bypass user signed in at once (factor "Duo bypass"); the prompt mode's start refused in inline mode |
//! | `duo_down_in_inline_mode_fails_closed_or_open` | nothing at `DUO_API_HOST`: `duo_unavailable` (closed), a `fail_open` session (open); wrong `DUO_SKEY`: `config_error` even with `open` |

use duo_emulator::Emulator;
use e2e::{Wrangler, cookie_value, default_vars, free_port, set_cookie};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
const LOGIN_COOKIE: &str = "__Host-login";
const SESSION_COOKIE: &str = "__Host-session";

struct Bed {
    worker: Wrangler,
    emulator: Option<Emulator>,
    http: reqwest::Client,
}

async fn emulator(timeout: i64) -> Emulator {
    let config =
        duo_emulator::Config { auth_timeout_seconds: timeout, ..duo_emulator::Config::default() };
    e2e::start_emulator(config).await
}

/// An answer: status, JSON body, and the login and session cookies it set.
struct Answer {
    status: StatusCode,
    body: Value,
    login: Option<String>,
    session: Option<String>,
}

impl Bed {
    async fn start(api_host: &str, emulator: Option<Emulator>, extra: &[(&str, &str)]) -> Self {
        let mut vars = default_vars(APP_ORIGIN);
        let inline = [
            ("DUO_MODE", "inline"),
            ("DUO_IKEY", duo_emulator::auth_api::DEV_IKEY),
            ("DUO_SKEY", duo_emulator::auth_api::DEV_SKEY),
            ("DUO_API_HOST", api_host),
        ];
        let settings: Vec<(&str, &str)> = inline.iter().chain(extra).copied().collect();
        vars.retain(|(name, _)| !settings.iter().any(|(n, _)| n == name));
        vars.extend(settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let worker = Wrangler::start(&vars).await.unwrap_or_else(|e| panic!("{e}"));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { worker, emulator, http }
    }

    async fn with_emulator(timeout: i64) -> Self {
        let emulator = emulator(timeout).await;
        let host = emulator.local_addr().to_string();
        Self::start(&host, Some(emulator), &[]).await
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let emulator = self.emulator.as_ref().expect("an emulator");
        let mut request =
            self.http.request(method, format!("{}/__emulator{path}", emulator.base_url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control API");
        assert!(response.status().is_success(), "{path}");
        response.json().await.expect("JSON")
    }

    async fn post(
        &self,
        path: &str,
        body: Option<Value>,
        login: Option<&str>,
        origin: Option<&str>,
    ) -> Answer {
        let mut request = self
            .http
            .post(self.worker.url(path))
            .header("Content-Type", "application/json")
            .header("CF-Connecting-IP", "192.0.2.44")
            .body(body.map(|b| b.to_string()).unwrap_or_default());
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(login) = login {
            request = request.header("Cookie", format!("{LOGIN_COOKIE}={login}"));
        }
        let response = request.send().await.expect("the Worker answers");
        let status = response.status();
        let login = set_cookie(response.headers(), LOGIN_COOKIE).map(|c| cookie_value(&c));
        let session = set_cookie(response.headers(), SESSION_COOKIE).map(|c| cookie_value(&c));
        let body = response.json().await.unwrap_or(Value::Null);
        Answer { status, body, login, session }
    }

    async fn login(&self, username: &str) -> Answer {
        let body = json!({"username": username, "password": format!("{username}-demo-pass")});
        self.post(routes::LOGIN, Some(body), None, Some(APP_ORIGIN)).await
    }

    async fn inline_start(&self, login: &str, body: Value) -> Answer {
        self.post(routes::DUO_INLINE_START, Some(body), Some(login), Some(APP_ORIGIN)).await
    }

    async fn inline_status(&self, login: &str) -> Answer {
        self.post(routes::DUO_INLINE_STATUS, None, Some(login), Some(APP_ORIGIN)).await
    }

    /// The login cookie and the devices of alice's inline login.
    async fn chooser(&self, username: &str) -> (String, Vec<Value>) {
        let answer = self.login(username).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["next"], json!("duo_inline"), "{}", answer.body);
        let devices = answer.body["devices"].as_array().cloned().expect("devices");
        (answer.login.expect("a login cookie"), devices)
    }

    async fn session(&self, cookie: &str) -> Value {
        let response = self
            .http
            .get(self.worker.url(routes::SESSION))
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .send()
            .await
            .expect("session");
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("JSON")
    }
}

fn device_id(devices: &[Value], name_start: &str) -> String {
    devices
        .iter()
        .find(|d| d["name"].as_str().is_some_and(|n| n.starts_with(name_start)))
        .and_then(|d| d["id"].as_str())
        .unwrap_or_else(|| panic!("no device {name_start} in {devices:?}"))
        .to_owned()
}

/// One Worker and one emulator for the flows that need no special timeout
/// (each `wrangler dev` start costs seconds of CPU); the preauth outcomes
/// last, since they make alice a Duo bypass user.
#[tokio::test(flavor = "multi_thread")]
async fn inline_flows_against_the_emulator() {
    let bed = Bed::with_emulator(60).await;
    a_push_approved_on_the_phone_signs_in_once(&bed).await;
    a_phone_call_is_answered_then_confirmed(&bed).await;
    a_push_reported_as_fraud_holds_the_account(&bed).await;
    preauth_decides_allow_deny_and_enroll(&bed).await;
}

/// alice reports a push as fraud on the phone: her account is held, her
/// sessions end, her password says why, and an admin's release lets her in.
async fn a_push_reported_as_fraud_holds_the_account(bed: &Bed) {
    // The security team's webhook, sent fraud reports.
    let receiver = e2e::receiver::Receiver::start().await.expect("a receiver");
    let admin = bed.login("admin").await.session.expect("the admin's session");
    let webhook = json!({"name": "security", "url": format!("{}/fraud", receiver.origin),
                         "format": "json", "events": ["fraud_reported"]});
    let added = bed
        .http
        .post(bed.worker.url(shared::alerts::routes::WEBHOOK_ADD))
        .header("Origin", APP_ORIGIN)
        .header("Cookie", format!("{SESSION_COOKIE}={admin}"))
        .json(&webhook)
        .send()
        .await
        .expect("add a webhook");
    assert_eq!(added.status().as_u16(), 201);
    let (login, _) = bed.chooser("alice").await;
    let passcode = json!({"method": "passcode", "passcode": "123456"});
    let earlier = bed.inline_start(&login, passcode).await.session.expect("a session");
    let (login, devices) = bed.chooser("alice").await;
    let push = json!({"method": "push", "device": device_id(&devices, "iPhone")});
    let login = bed.inline_start(&login, push).await.login.expect("re-sealed");
    let listed = bed.control(reqwest::Method::GET, "/transactions?user=alice", None).await;
    let txid = listed["transactions"]
        .as_array()
        .and_then(|all| all.iter().rev().find(|t| t["result"] == "waiting"))
        .and_then(|t| t["txid"].as_str())
        .expect("the push waits")
        .to_owned();
    let action = Some(json!({"action": "fraud"}));
    bed.control(reqwest::Method::POST, &format!("/transactions/{txid}"), action).await;
    let mut answer = bed.inline_status(&login).await;
    while answer.status == StatusCode::OK && answer.body["state"] == "waiting" {
        answer = bed.inline_status(&login).await;
    }
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert_eq!(answer.body["code"], json!("account_held"), "{}", answer.body);
    assert!(answer.body["message"].as_str().is_some_and(|m| m.contains("on hold")));
    let response = bed
        .http
        .get(bed.worker.url(routes::SESSION))
        .header("Cookie", format!("{SESSION_COOKIE}={earlier}"))
        .send()
        .await
        .expect("session");
    assert_eq!(response.status().as_u16(), 401, "her earlier session ended");
    let held = bed.login("alice").await;
    assert_eq!(
        (held.status, held.body["code"].clone()),
        (StatusCode::FORBIDDEN, json!("account_held"))
    );
    let rows = bed
        .worker
        .query("SELECT held_at IS NOT NULL AS held FROM users WHERE username_normalized = 'alice'")
        .await
        .expect("users");
    assert_eq!(rows, [json!({"held": 1})]);
    let audit = bed
        .worker
        .query("SELECT count(*) AS n FROM auth_events WHERE reason = 'fraud_reported'")
        .await
        .expect("audit");
    assert_eq!(audit, [json!({"n": 1})]);
    // The webhook is told, through the queue.
    let told = e2e::eventually(20, "a fraud alert", async || receiver.to("/fraud").pop()).await;
    let alert: shared::alerts::AlertPayload =
        serde_json::from_slice(&told.body).expect("its payload");
    assert_eq!(alert.kind, shared::alerts::AlertKind::FraudReported);
    assert_eq!(alert.details.get("username").map(String::as_str), Some("alice"));

    // An admin releases the hold; she signs in again.
    let release = bed
        .http
        .post(bed.worker.url(shared::admin::routes::USER_CHANGE))
        .header("Origin", APP_ORIGIN)
        .header("Cookie", format!("{SESSION_COOKIE}={admin}"))
        .json(&json!({"username": "alice", "change": "release_hold"}))
        .send()
        .await
        .expect("release");
    assert!(release.status().is_success(), "{}", release.status());
    let users = bed
        .http
        .get(bed.worker.url(shared::admin::routes::USERS))
        .header("Cookie", format!("{SESSION_COOKIE}={admin}"))
        .send()
        .await
        .expect("users");
    let users: Value = users.json().await.expect("JSON");
    assert_eq!(users["held"], json!(0), "{users}");
    assert_eq!(bed.login("alice").await.body["next"], json!("duo_inline"));
}

async fn a_push_approved_on_the_phone_signs_in_once(bed: &Bed) {
    let (login, devices) = bed.chooser("alice").await;
    assert_eq!(
        devices[0]["methods"],
        json!(["push", "phone", "sms", "passcode"]),
        "alice's iPhone: {devices:?}"
    );
    assert_eq!(devices[1]["methods"], json!(["phone"]), "the office phone only calls");
    assert!(!devices.iter().any(|d| d.to_string().contains("EmulatorAuthApiSecret")));
    let iphone = device_id(&devices, "iPhone");

    let started = bed.inline_start(&login, json!({"method": "push", "device": iphone})).await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(
        (started.body["state"].as_str(), started.body["status"].as_str()),
        (Some("waiting"), Some("pushed"))
    );
    let bound = started.login.expect("the login cookie, now following the push");
    let first = bed.inline_status(&bound).await;
    assert_eq!(first.body["status"], json!("pushed"), "{}", first.body);

    let listed = bed.control(reqwest::Method::GET, "/transactions?user=alice", None).await;
    let txn = listed["transactions"].as_array().and_then(|t| t.last()).cloned().expect("a push");
    // What the user judges the push by: the kind, who, which app, from
    // where (a location only when Cloudflare's data names one).
    assert_eq!(txn["type"], json!("Sign-in"));
    assert_eq!(txn["display_username"], json!("alice"));
    let shown = txn["pushinfo"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        shown.get(..2),
        Some(&[json!(["app", APP_ORIGIN]), json!(["address", "192.0.2.44"])][..]),
        "{shown:?}"
    );
    assert!(shown.len() == 2 || shown[2][0] == json!("location"), "{shown:?}");
    assert_eq!(txn["ipaddr"], json!("192.0.2.44"));
    let txid = txn["txid"].as_str().expect("a txid").to_owned();
    let follow = {
        let (http, url, bound) =
            (bed.http.clone(), bed.worker.url(routes::DUO_INLINE_STATUS), bound.clone());
        tokio::spawn(async move {
            http.post(url)
                .header("Origin", APP_ORIGIN)
                .header("Cookie", format!("{LOGIN_COOKIE}={bound}"))
                .send()
                .await
                .expect("status")
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!follow.is_finished(), "the status call holds while the push waits");
    bed.control(
        reqwest::Method::POST,
        &format!("/transactions/{txid}"),
        Some(json!({"action": "approve"})),
    )
    .await;
    let done = follow.await.expect("the follower");
    assert_eq!(done.status().as_u16(), 200);
    let session =
        set_cookie(done.headers(), SESSION_COOKIE).map(|c| cookie_value(&c)).expect("a session");
    let body: Value = done.json().await.expect("JSON");
    assert_eq!(body["state"], json!("done"));
    let info = bed.session(&session).await;
    assert_eq!(info["method"], json!("duo"));
    assert_eq!(info["duo"]["factor"], json!("Duo Push"));
    assert_eq!(info["duo"]["device"], json!("iPhone (XXX-XXX-0100)"));
    assert_eq!(info["duo"]["txid"], json!(txid));

    let replay = bed.inline_status(&bound).await;
    assert_eq!(
        (replay.status.as_u16(), replay.body["code"].as_str()),
        (409, Some("state_mismatch"))
    );
    assert!(replay.session.is_none());
    let health: Value = bed
        .http
        .get(bed.worker.url(routes::HEALTH))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("JSON");
    assert_eq!(health["duo"], json!("reachable"));
    bed.worker.assert_clean_log(&["EmulatorAuthApiSecretNotForProduction000"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn denials_timeouts_passcodes_and_sms() {
    let bed = Bed::with_emulator(2).await;
    let (login, devices) = bed.chooser("alice").await;
    let (iphone, desk) = (device_id(&devices, "iPhone"), device_id(&devices, "Office"));

    // Nothing started yet.
    let nothing = bed.inline_status(&login).await;
    assert_eq!(nothing.body["code"], json!("state_mismatch"));
    // A denied push: Duo's words.
    bed.control(
        reqwest::Method::POST,
        "/script",
        Some(json!({"user": "alice", "outcome": "deny"})),
    )
    .await;
    let pushed = bed.inline_start(&login, json!({"method": "push", "device": iphone})).await;
    let denied = bed.inline_status(&pushed.login.expect("bound")).await;
    assert_eq!((denied.status.as_u16(), denied.body["code"].as_str()), (403, Some("duo_denied")));
    assert_eq!(denied.body["message"], json!("Login request denied."));
    // A push nobody answers (the emulator's timeout is 2 s here).
    let pushed = bed.inline_start(&login, json!({"method": "push", "device": iphone})).await;
    let bound = pushed.login.expect("bound");
    let mut last = bed.inline_status(&bound).await;
    while last.body["state"] == json!("waiting") {
        last = bed.inline_status(&bound).await;
    }
    assert_eq!(
        (last.body["code"].as_str(), last.body["message"].as_str()),
        (Some("duo_denied"), Some("Login timed out."))
    );

    // Devices: one not offered, one that cannot push.
    let stranger =
        bed.inline_start(&login, json!({"method": "push", "device": "DPNOTOFFERED00000001"})).await;
    assert_eq!(
        (stranger.status.as_u16(), stranger.body["code"].as_str()),
        (400, Some("bad_request"))
    );
    let landline = bed.inline_start(&login, json!({"method": "push", "device": desk})).await;
    assert_eq!(landline.status.as_u16(), 400, "{}", landline.body);
    assert!(landline.body["message"].as_str().is_some_and(|m| m.contains("device")));

    // A wrong passcode, then SMS and its passcode.
    let wrong = bed.inline_start(&login, json!({"method": "passcode", "passcode": "000000"})).await;
    assert_eq!(wrong.body["message"], json!("Incorrect passcode. Please try again."));
    let sent = bed.inline_start(&login, json!({"method": "sms", "device": iphone})).await;
    assert_eq!(
        (sent.body["state"].as_str(), sent.body["message"].as_str()),
        (Some("sent"), Some("New SMS passcodes sent."))
    );
    let inbox = bed.control(reqwest::Method::GET, "/sms?user=alice", None).await;
    let code = inbox["sms"][0]["passcodes"][0].as_str().expect("a passcode").to_owned();
    let done = bed.inline_start(&login, json!({"method": "passcode", "passcode": code})).await;
    assert_eq!(done.body["state"], json!("done"), "{}", done.body);
    let info = bed.session(&done.session.expect("a session")).await;
    assert_eq!(info["duo"]["factor"], json!("Passcode"));

    // The cookie and the origin are checked.
    let mut forged = login.clone();
    forged.replace_range(0..1, if forged.starts_with('e') { "f" } else { "e" });
    assert_eq!(bed.inline_status(&forged).await.body["code"], json!("login_expired"));
    let cross = bed.post(routes::DUO_INLINE_STATUS, None, Some(&login), None).await;
    assert_eq!(cross.body["code"], json!("forbidden_origin"));

    // Five passcodes per login.
    let (login, _) = bed.chooser("alice").await;
    for _ in 0..5 {
        let wrong =
            bed.inline_start(&login, json!({"method": "passcode", "passcode": "111111"})).await;
        assert_eq!(wrong.body["code"], json!("duo_denied"));
    }
    let limited =
        bed.inline_start(&login, json!({"method": "passcode", "passcode": "123456"})).await;
    assert_eq!(
        (limited.status.as_u16(), limited.body["code"].as_str()),
        (429, Some("rate_limited"))
    );

    // Login after login, the account's wrong passcodes stop below Duo's
    // lockout (the emulator locks alice out at ten in a row, as Duo does):
    // five above, three more here, then refused before Duo is asked.
    let (login, _) = bed.chooser("alice").await;
    for _ in 0..3 {
        let wrong =
            bed.inline_start(&login, json!({"method": "passcode", "passcode": "222222"})).await;
        assert_eq!(wrong.body["code"], json!("duo_denied"), "{}", wrong.body);
    }
    let (login, devices) = bed.chooser("alice").await;
    let capped =
        bed.inline_start(&login, json!({"method": "passcode", "passcode": "333333"})).await;
    assert_eq!((capped.status.as_u16(), capped.body["code"].as_str()), (429, Some("rate_limited")));
    assert!(
        capped.body["message"].as_str().is_some_and(|m| m.contains("Duo Push")),
        "{}",
        capped.body
    );
    let recorded = bed
        .worker
        .query("SELECT count(*) AS n FROM auth_events WHERE reason = 'passcode_account_limit'")
        .await
        .expect("audit");
    assert_eq!(recorded, [json!({"n": 1})]);
    // Not locked out at Duo: a push still signs alice in, and clears the count.
    bed.control(
        reqwest::Method::POST,
        "/script",
        Some(json!({"user": "alice", "outcome": "approve"})),
    )
    .await;
    let iphone = device_id(&devices, "iPhone");
    let pushed = bed.inline_start(&login, json!({"method": "push", "device": iphone})).await;
    let done = bed.inline_status(&pushed.login.expect("bound")).await;
    assert_eq!(done.body["state"], json!("done"), "{}", done.body);
    let (login, _) = bed.chooser("alice").await;
    let again = bed.inline_start(&login, json!({"method": "passcode", "passcode": "444444"})).await;
    assert_eq!(again.body["code"], json!("duo_denied"), "passcodes are Duo's to judge again");
}

async fn a_phone_call_is_answered_then_confirmed(bed: &Bed) {
    let (login, devices) = bed.chooser("alice").await;
    let desk = device_id(&devices, "Office");
    // A phone call to the office phone: calling, answered, then '#'.
    let called = bed.inline_start(&login, json!({"method": "phone", "device": desk})).await;
    assert_eq!(called.body["status"], json!("calling"), "{}", called.body);
    let bound = called.login.expect("bound");
    assert_eq!(bed.inline_status(&bound).await.body["status"], json!("calling"));
    let listed = bed.control(reqwest::Method::GET, "/transactions?user=alice", None).await;
    let txid = listed["transactions"]
        .as_array()
        .and_then(|t| t.last())
        .and_then(|t| t["txid"].as_str())
        .expect("a call")
        .to_owned();
    bed.control(
        reqwest::Method::POST,
        &format!("/transactions/{txid}"),
        Some(json!({"action": "answer"})),
    )
    .await;
    assert_eq!(bed.inline_status(&bound).await.body["status"], json!("answered"));
    bed.control(
        reqwest::Method::POST,
        &format!("/transactions/{txid}"),
        Some(json!({"action": "approve"})),
    )
    .await;
    let answered = bed.inline_status(&bound).await;
    assert_eq!(answered.body["state"], json!("done"), "{}", answered.body);
    let info = bed.session(&answered.session.expect("a session")).await;
    assert_eq!(
        (info["duo"]["factor"].as_str(), info["duo"]["device"].as_str()),
        (Some("Phone Call"), Some("Office phone (XXX-XXX-0142)"))
    );
}

async fn preauth_decides_allow_deny_and_enroll(bed: &Bed) {
    let carol = bed.login("carol").await;
    assert_eq!((carol.status.as_u16(), carol.body["code"].as_str()), (403, Some("duo_denied")));
    assert_eq!(carol.body["message"], json!("Your account is locked out"));

    let bob = bed.login("bob").await;
    assert_eq!(bob.body["next"], json!("duo_enroll"), "{}", bob.body);
    let link = bob.body["enroll_url"].as_str().expect("a link").to_owned();
    assert!(link.starts_with(&bed.emulator.as_ref().expect("emulator").base_url()), "{link}");
    assert!(bob.login.is_none(), "no ticket: nothing to start");

    let bypass = json!({"username": "alice", "status": "bypass", "devices": [{"name": "iPhone"}]});
    bed.control(reqwest::Method::POST, "/users", Some(bypass)).await;
    let alice = bed.login("alice").await;
    assert_eq!(alice.body["next"], json!("done"), "{}", alice.body);
    assert_eq!(alice.body["session"]["duo"]["factor"], json!("Duo bypass"));
    assert!(alice.session.is_some());

    // The redirect mode's step is not this deployment's.
    let start = bed
        .http
        .post(bed.worker.url(routes::DUO_START))
        .header("Origin", APP_ORIGIN)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("start");
    assert_eq!(start.status().as_u16(), 303);
    let location =
        start.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let page = shared::api::routes::at(shared::api::routes::PAGE);
    assert!(location.starts_with(&format!("{page}?error=")), "{location}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duo_down_in_inline_mode_fails_closed_or_open() {
    let nowhere = format!("127.0.0.1:{}", free_port());
    let closed = Bed::start(&nowhere, None, &[("DUO_FAILMODE", "closed")]).await;
    let refused = closed.login("alice").await;
    assert_eq!(
        (refused.status.as_u16(), refused.body["code"].as_str()),
        (503, Some("duo_unavailable"))
    );
    drop(closed);

    let open = Bed::start(&nowhere, None, &[("DUO_FAILMODE", "open")]).await;
    let let_in = open.login("alice").await;
    assert_eq!(let_in.body["session"]["method"], json!("fail_open"), "{}", let_in.body);

    let emulator = emulator(60).await;
    let host = emulator.local_addr().to_string();
    let wrong = Bed::start(
        &host,
        Some(emulator),
        &[("DUO_FAILMODE", "open"), ("DUO_SKEY", &"W".repeat(40))],
    )
    .await;
    let misconfigured = wrong.login("alice").await;
    assert_eq!(
        (misconfigured.status.as_u16(), misconfigured.body["code"].as_str()),
        (503, Some("config_error"))
    );
}
