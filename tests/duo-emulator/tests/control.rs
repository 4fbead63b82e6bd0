//! The control API: scripted outcomes, faults, the clock, the request log, reset; and TLS mode.

mod common;

use std::time::Duration;

use common::{CLIENT_ID, Harness, REDIRECT, SECRET, T0, callback_query, peek, verify};
use duo_emulator::{Config, JWT_BEARER};
use serde_json::json;

const STATE: &str = "0123456789abcdef0123456789abcdef";

async fn health(h: &Harness) -> Result<common::Resp, String> {
    let assertion = h.assertion("health_check", SECRET, |_| {});
    let body =
        common::form(&[("client_id", CLIENT_ID), ("client_assertion", &assertion)]).into_bytes();
    h.client
        .try_send(
            "POST",
            "/oauth/v1/health_check",
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await
}

#[tokio::test]
async fn scripted_deny_timeout_and_error_redirect() {
    let h = Harness::start().await;
    // deny: a code whose id_token says deny.
    h.script(json!({"user": "alice", "outcome": "deny"})).await;
    let resp = h.client.get(&h.authorize_target(&h.request_jwt("alice", STATE, |_| {}), &[])).await;
    let query = callback_query(&resp.location().unwrap());
    let token = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await.json();
    let (_, c) = verify(token["id_token"].as_str().unwrap(), SECRET.as_bytes());
    assert_eq!(c["auth_result"]["status"], "deny");

    // timeout: the prompt says so, nothing goes back to the app.
    h.script(json!({"user": "alice", "outcome": "timeout"})).await;
    let resp = h.client.get(&h.authorize_target(&h.request_jwt("alice", STATE, |_| {}), &[])).await;
    let location = resp.location().unwrap();
    assert!(location.contains("/frame/v4/prompt"));
    let target = location.split_once("://").unwrap().1.split_once('/').unwrap().1;
    assert!(h.client.get(&format!("/{target}")).await.body.contains("timed out"));

    // error: error + error_description + state.
    h.script(json!({"user": "alice", "outcome": "error_redirect", "error": "server_error", "error_description": "Duo is down"}))
        .await;
    let resp = h.client.get(&h.authorize_target(&h.request_jwt("alice", STATE, |_| {}), &[])).await;
    let query = callback_query(&resp.location().unwrap());
    assert_eq!(query["error"], "server_error");
    assert_eq!(query["error_description"], "Duo is down");
    assert_eq!(query["state"], STATE);
    assert!(!query.contains_key("duo_code"));
}

#[tokio::test]
async fn scripts_queue_per_user_count_down_and_can_be_listed_and_cleared() {
    let h = Harness::start().await;
    h.script(json!([{"user": "ALICE@example.com", "outcome": "approve", "times": 2}, {"user": "bob", "outcome": "deny"}])).await;
    let listed = h.client.get("/__emulator/script").await.json();
    assert_eq!(listed["scripts"].as_array().unwrap().len(), 2);
    for _ in 0..2 {
        let resp =
            h.client.get(&h.authorize_target(&h.request_jwt("alice", STATE, |_| {}), &[])).await;
        assert!(resp.location().unwrap().starts_with(REDIRECT));
    }
    let resp = h.client.get(&h.authorize_target(&h.request_jwt("alice", STATE, |_| {}), &[])).await;
    assert!(resp.location().unwrap().contains("/frame/v4/prompt"), "script used up");
    assert_eq!(h.client.delete("/__emulator/script").await.json(), json!({"scripts": []}));
    let resp = h
        .client
        .post_json("/__emulator/script", &json!({"user": "alice", "outcome": "explode"}))
        .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"], "bad_request");
}

#[tokio::test]
async fn health_fail_http_status_malformed_json_and_drop_faults() {
    let h = Harness::start().await;
    h.fault(json!({"kind": "health_fail", "message_detail": "Maintenance", "times": 1})).await;
    let body = health(&h).await.unwrap().json();
    assert_eq!(body["stat"], "FAIL");
    assert_eq!(body["message_detail"], "Maintenance");
    assert_eq!(health(&h).await.unwrap().json()["stat"], "OK", "times: 1 is used up");

    h.fault(json!({"kind": "http_status", "status": 502, "endpoint": "health_check", "times": 1}))
        .await;
    let resp = health(&h).await.unwrap();
    assert_eq!(resp.status, 502);
    assert!(serde_json::from_str::<serde_json::Value>(&resp.body).is_err(), "non-JSON body");

    h.fault(json!({"kind": "malformed_json", "endpoint": "health_check", "times": 1})).await;
    let resp = health(&h).await.unwrap();
    assert_eq!(resp.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&resp.body).is_err());

    h.fault(json!({"kind": "drop_connection", "times": 1})).await;
    assert!(health(&h).await.is_err(), "connection closed without a response");
    assert!(health(&h).await.is_ok());

    // Faults for another endpoint do not apply; "until cleared" lasts until DELETE.
    h.fault(json!({"kind": "http_status", "status": 503, "endpoint": "token"})).await;
    assert_eq!(health(&h).await.unwrap().status, 200);
    let listed = h.client.get("/__emulator/faults").await.json();
    assert_eq!(listed["faults"].as_array().unwrap().len(), 1);
    h.client.delete("/__emulator/faults").await;
    assert_eq!(h.client.get("/__emulator/faults").await.json()["faults"], json!([]));
}

#[tokio::test]
async fn latency_fault_delays_the_answer() {
    let h = Harness::start().await;
    h.fault(json!({"kind": "latency", "ms": 300, "endpoint": "health_check", "times": 1})).await;
    let start = tokio::time::Instant::now();
    assert_eq!(health(&h).await.unwrap().status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    let start = tokio::time::Instant::now();
    health(&h).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(300), "no latency unless injected");
}

#[tokio::test]
async fn id_token_defects_apply_to_the_next_token_only() {
    let h = Harness::start().await;
    let cases = [
        ("wrong_iss", "iss"),
        ("wrong_aud", "aud"),
        ("wrong_nonce", "nonce"),
        ("wrong_preferred_username", "preferred_username"),
        ("expired", "exp"),
    ];
    for (defect, claim) in cases {
        let query = h.approved_code("alice", STATE, |_| {}).await;
        h.fault(json!({"kind": "id_token", "defect": defect})).await;
        let token = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await.json();
        let (_, c) = verify(token["id_token"].as_str().unwrap(), SECRET.as_bytes());
        let good = match claim {
            "iss" => json!(format!("{}/oauth/v1/token", h.base())),
            "aud" => json!(CLIENT_ID),
            "nonce" => serde_json::Value::Null,
            "preferred_username" => json!("alice"),
            _ => json!(T0 + 3600),
        };
        assert_ne!(c.get(claim).cloned().unwrap_or_default(), good, "{defect}");
    }
    // Signature defects.
    for (defect, alg) in [("bad_signature", "HS512"), ("alg_hs256", "HS256"), ("alg_none", "none")]
    {
        let query = h.approved_code("alice", STATE, |_| {}).await;
        h.fault(json!({"kind": "id_token", "defect": defect})).await;
        let token = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await.json();
        let id_token = token["id_token"].as_str().unwrap();
        let (header, _) = peek(id_token);
        assert_eq!(header["alg"], alg);
        assert!(
            !common::signature_ok(id_token, SECRET.as_bytes()),
            "{defect} must not verify as HS512"
        );
    }
    // The one after is fine again.
    let query = h.approved_code("alice", STATE, |_| {}).await;
    let token = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await.json();
    verify(token["id_token"].as_str().unwrap(), SECRET.as_bytes());
}

#[tokio::test]
async fn clock_offset_moves_time_for_assertions_and_timestamps() {
    let h = Harness::start().await;
    h.fault(json!({"kind": "clock_offset", "seconds": 120})).await;
    assert_eq!(h.client.get("/__emulator/clock").await.json()["offset_seconds"], 120);
    let body = health(&h).await.unwrap().json();
    assert_eq!(body["response"]["timestamp"], T0 + 120);
    h.client.post_json("/__emulator/clock", &json!({"offset_seconds": 301})).await;
    assert_eq!(
        health(&h).await.unwrap().json()["stat"],
        "FAIL",
        "the assertion (exp T0+300) is now expired"
    );
    h.client.delete("/__emulator/faults").await;
    assert_eq!(health(&h).await.unwrap().json()["stat"], "OK");
}

#[tokio::test]
async fn request_log_records_params_jwt_and_refusals_and_reset_clears_everything() {
    let h = Harness::start().await;
    health(&h).await.unwrap();
    let assertion = h.assertion("token", "WrongSecretWrongSecretWrongSecretWrong00", |_| {});
    h.client
        .send(
            "POST",
            &format!(
                "/oauth/v1/token?{}",
                common::form(&[
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &assertion)
                ])
            ),
            &[("user-agent", "duo_universal_test/1.0")],
            Vec::new(),
        )
        .await;
    let log = h.client.get("/__emulator/requests").await.json();
    let entries = log["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "control calls are not logged");
    assert_eq!(entries[0]["path"], "/oauth/v1/health_check");
    assert_eq!(entries[0]["params"]["client_id"], CLIENT_ID);
    assert_eq!(entries[0]["jwt"]["claims"]["iss"], CLIENT_ID);
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[1]["headers"]["user-agent"], "duo_universal_test/1.0");
    assert_eq!(entries[1]["status"], 400);
    assert!(entries[1]["error"].as_str().unwrap().contains("signature"));
    let only_token = h.client.get("/__emulator/requests?path=/oauth/v1/token").await.json();
    assert_eq!(only_token["requests"].as_array().unwrap().len(), 1);
    let since = h.client.get("/__emulator/requests?since=1").await.json();
    assert_eq!(since["requests"].as_array().unwrap().len(), 1);

    h.fault(json!({"kind": "latency", "ms": 5})).await;
    h.script(json!({"user": "alice", "outcome": "approve"})).await;
    assert_eq!(h.client.post_json("/__emulator/reset", &json!({})).await.status, 200);
    assert_eq!(h.client.get("/__emulator/requests").await.json()["requests"], json!([]));
    assert_eq!(h.client.get("/__emulator/faults").await.json()["faults"], json!([]));
    assert_eq!(h.client.get("/__emulator/script").await.json()["scripts"], json!([]));
}

#[tokio::test]
async fn apps_and_users_can_be_added_at_runtime() {
    let h = Harness::start().await;
    let app = json!({"client_id": "DIRUNTIMECLIENT00001", "client_secret": "RuntimeSecretRuntimeSecretRuntimeSecret0", "new_user_policy": "allow"});
    assert_eq!(h.client.post_json("/__emulator/apps", &app).await.status, 200);
    let bad = json!({"client_id": "short", "client_secret": "x"});
    assert_eq!(h.client.post_json("/__emulator/apps", &bad).await.status, 400);
    let user = json!({"username": "erin", "status": "bypass"});
    let config = h.client.post_json("/__emulator/users", &user).await.json();
    assert!(config["users"].as_array().unwrap().iter().any(|u| u["username"] == "erin"));
    assert!(
        config["apps"].as_array().unwrap().iter().all(|a| a.get("client_secret").is_none()),
        "secrets not echoed"
    );
    let resp = h.client.get(&h.authorize_target(&h.request_jwt("erin", STATE, |_| {}), &[])).await;
    assert!(resp.location().unwrap().starts_with(REDIRECT), "bypass user goes straight back");
}

#[tokio::test]
async fn tls_mode_serves_https_builds_https_urls_and_writes_the_ca() {
    let dir = std::env::temp_dir().join(format!("duo-emulator-test-{}", std::process::id()));
    let ca_path = dir.join("ca.pem");
    let config = Config { tls: true, ca_cert_path: Some(ca_path.clone()), ..Config::default() };
    let h = Harness::with_config(config).await;
    assert!(h.emulator.base_url().starts_with("https://"));
    let written = std::fs::read_to_string(&ca_path).unwrap();
    assert_eq!(Some(written.as_str()), h.emulator.ca_certificate_pem());
    let body = health(&h).await.unwrap().json();
    assert_eq!(body["stat"], "OK", "aud https://localhost:PORT/oauth/v1/health_check accepted");
    let query = h.approved_code("alice", STATE, |_| {}).await;
    let token = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await.json();
    let (_, c) = verify(token["id_token"].as_str().unwrap(), SECRET.as_bytes());
    assert_eq!(
        c["iss"],
        format!("https://localhost:{}/oauth/v1/token", h.emulator.local_addr().port())
    );
    // An http-style aud is wrong over https.
    let http_aud = h.assertion("health_check", SECRET, |c| {
        c.insert(
            "aud".into(),
            json!(format!(
                "http://localhost:{}/oauth/v1/health_check",
                h.emulator.local_addr().port()
            )),
        );
    });
    let resp = h
        .client
        .post_form(
            "/oauth/v1/health_check",
            &[("client_id", CLIENT_ID), ("client_assertion", &http_aud)],
        )
        .await;
    assert_eq!(resp.json()["stat"], "FAIL");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_duo_style_json() {
    let h = Harness::start().await;
    let resp = h.client.get("/nope").await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.json()["stat"], "FAIL");
    let resp = h.client.get("/oauth/v1/token").await;
    assert_eq!(resp.status, 405);
    assert_eq!(h.client.get("/__emulator/nope").await.status, 404);
    assert_eq!(h.client.get("/").await.status, 200);
}

#[tokio::test]
async fn the_pwned_passwords_stand_in_answers_ranges_as_the_real_api_does() {
    use sha1::Digest as _;
    let h = Harness::start().await;
    let hex = |text: &str| {
        sha1::Sha1::digest(text.as_bytes()).iter().fold(String::new(), |mut out, b| {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{b:02X}"));
            out
        })
    };
    // A built-in one: its suffix and count in its prefix's range.
    let password = hex("password");
    let range = h.client.get(&format!("/range/{}", &password[..5])).await;
    assert_eq!(range.status, 200);
    assert!(range.header("content-type").unwrap().starts_with("text/plain"));
    let line = range.body.lines().find(|l| l.starts_with(&password[5..])).expect("listed");
    assert!(line.split_once(':').unwrap().1.parse::<u64>().unwrap() > 0, "{line}");
    assert!(range.body.ends_with("\r\n"));

    // Padding: 800 to 1000 lines, the extra ones count 0; a lower-case prefix is the same.
    let padded = h
        .client
        .send(
            "GET",
            &format!("/range/{}", password[..5].to_ascii_lowercase()),
            &[("add-padding", "true")],
            Vec::new(),
        )
        .await;
    let lines: Vec<&str> = padded.body.lines().collect();
    assert!((800..=1000).contains(&lines.len()), "{}", lines.len());
    assert!(lines.iter().all(|l| l.len() >= 37 && l.as_bytes()[35] == b':'), "SUFFIX:COUNT");
    assert_eq!(lines.iter().filter(|l| !l.ends_with(":0")).count(), range.body.lines().count());

    // One added through the control API.
    let added = hex("a phrase added by a test");
    let before = h.client.get(&format!("/range/{}", &added[..5])).await;
    assert!(!before.body.contains(&added[5..]));
    let post = h
        .client
        .post_json(
            "/__emulator/pwned",
            &json!({"password": "a phrase added by a test", "count": 3}),
        )
        .await;
    assert_eq!(post.status, 200);
    let after = h.client.get(&format!("/range/{}", &added[..5])).await;
    assert!(after.body.contains(&format!("{}:3", &added[5..])), "{}", after.body);

    for bad in ["/range/12", "/range/GGGGG", "/range/123456"] {
        let refused = h.client.get(bad).await;
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (400, "The hash prefix was not in a valid format"),
            "{bad}"
        );
    }
    assert_eq!(
        h.client.post_json("/__emulator/pwned", &json!({"password": "", "count": 1})).await.status,
        400
    );
}
