//! The prompt page a person (or a browser test) clicks through: plain forms, no JavaScript.

mod common;

use common::{Harness, REDIRECT, SECRET, callback_query, verify};
use duo_emulator::{AppConfig, Config, NewUserPolicy};
use serde_json::{Map, Value, json};

const STATE: &str = "0123456789abcdef0123456789abcdef";

/// Authorize `user` with no script and return the prompt's `sid`.
async fn open_prompt(h: &Harness, user: &str) -> String {
    let resp = h.client.get(&h.authorize_target(&h.request_jwt(user, STATE, |_| {}), &[])).await;
    assert_eq!(resp.status, 302, "{}", resp.body);
    let location = resp.location().unwrap();
    assert!(location.contains("/frame/v4/prompt?sid="), "{location}");
    location.rsplit_once("sid=").unwrap().1.to_owned()
}

async fn page(h: &Harness, sid: &str) -> common::Resp {
    let resp = h.client.get(&format!("/frame/v4/prompt?sid={sid}")).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp
}

/// Posts a form action; returns the 303's Location.
async fn act(h: &Harness, sid: &str, fields: &[(&str, &str)]) -> String {
    let mut pairs = vec![("sid", sid)];
    pairs.extend_from_slice(fields);
    let resp = h.client.post_form("/frame/v4/prompt", &pairs).await;
    assert_eq!(resp.status, 303, "{}", resp.body);
    resp.location().unwrap()
}

async fn claims_for(h: &Harness, location: &str) -> Map<String, Value> {
    assert!(location.starts_with(REDIRECT), "{location}");
    let query = callback_query(location);
    assert_eq!(query["state"], STATE);
    let resp = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    verify(resp.json()["id_token"].as_str().unwrap(), SECRET.as_bytes()).1
}

#[tokio::test]
async fn prompt_lists_devices_refuses_framing_and_approves_a_push() {
    let h = Harness::start().await;
    let sid = open_prompt(&h, "alice").await;
    let resp = page(&h, &sid).await;
    assert_eq!(resp.header("x-frame-options").as_deref(), Some("DENY"));
    assert!(resp.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
    assert!(!resp.body.contains("<script"), "works without JavaScript");
    assert!(resp.body.contains("iPhone") && resp.body.contains("Office phone"));
    assert!(resp.body.contains("XXX-XXX-0100"));
    assert!(
        resp.body.contains("Send Me a Push")
            && resp.body.contains("Call Me")
            && resp.body.contains("Enter a Passcode")
    );

    let back = act(&h, &sid, &[("action", "push"), ("device", "0")]).await;
    assert!(back.ends_with(&format!("sid={sid}")));
    let resp = page(&h, &sid).await;
    assert!(resp.body.contains("Approve") && resp.body.contains("Deny"));
    let location = act(&h, &sid, &[("action", "approve")]).await;
    let c = claims_for(&h, &location).await;
    assert_eq!(c["auth_result"]["status"], "allow");
    assert_eq!(c["auth_context"]["factor"], "duo_push");
    assert_eq!(c["auth_context"]["auth_device"]["name"], "+1 555-0100");
    // The session is over: its page says so, and posting again does not issue another code.
    assert!(page(&h, &sid).await.body.contains("complete"));
    assert!(act(&h, &sid, &[("action", "approve")]).await.contains("/frame/v4/prompt"));
}

#[tokio::test]
async fn push_deny_and_fraud_redirect_with_deny_results() {
    let h = Harness::start().await;
    for (action, status, result) in [("deny", "deny", "denied"), ("fraud", "fraud", "fraud")] {
        let sid = open_prompt(&h, "alice").await;
        act(&h, &sid, &[("action", "push"), ("device", "0")]).await;
        let c = claims_for(&h, &act(&h, &sid, &[("action", action)]).await).await;
        assert_eq!(c["auth_result"]["result"], "deny");
        assert_eq!(c["auth_result"]["status"], status);
        assert_eq!(c["auth_context"]["result"], result);
    }
}

#[tokio::test]
async fn phone_call_on_the_landline_approves() {
    let h = Harness::start().await;
    let sid = open_prompt(&h, "alice").await;
    act(&h, &sid, &[("action", "call"), ("device", "1")]).await;
    assert!(page(&h, &sid).await.body.contains("XXX-XXX-0142"));
    let c = claims_for(&h, &act(&h, &sid, &[("action", "approve")]).await).await;
    assert_eq!(c["auth_context"]["factor"], "phone_call");
    assert_eq!(c["auth_context"]["auth_device"]["name"], "+1 555-0142");
    // The landline cannot receive a push.
    let sid = open_prompt(&h, "alice").await;
    act(&h, &sid, &[("action", "push"), ("device", "1")]).await;
    assert!(page(&h, &sid).await.body.contains("cannot receive Duo Push"));
}

#[tokio::test]
async fn passcode_wrong_then_right() {
    let h = Harness::start().await;
    let sid = open_prompt(&h, "alice").await;
    act(&h, &sid, &[("action", "passcode")]).await;
    assert!(page(&h, &sid).await.body.contains("<code>123456</code>"));
    act(&h, &sid, &[("action", "verify"), ("passcode", "000000")]).await;
    assert!(page(&h, &sid).await.body.contains("Incorrect passcode"));
    let c =
        claims_for(&h, &act(&h, &sid, &[("action", "verify"), ("passcode", "654321")]).await).await;
    assert_eq!(c["auth_context"]["factor"], "passcode");
    assert_eq!(c["auth_context"]["reason"], "valid_passcode");
    assert_eq!(c["amr"], json!(["mfa", "otp"]));
}

#[tokio::test]
async fn unenrolled_user_enrolls_then_approves_and_stays_enrolled() {
    let h = Harness::start().await;
    let sid = open_prompt(&h, "bob").await;
    let resp = page(&h, &sid).await;
    assert!(resp.body.contains("not enrolled"), "{}", resp.body);
    act(&h, &sid, &[("action", "enroll"), ("platform", "Android"), ("number", "+1 555-0177")])
        .await;
    let resp = page(&h, &sid).await;
    assert!(resp.body.contains("Android phone") && resp.body.contains("Send Me a Push"));
    act(&h, &sid, &[("action", "push"), ("device", "0")]).await;
    let c = claims_for(&h, &act(&h, &sid, &[("action", "approve")]).await).await;
    assert_eq!(c["sub"], "bob");
    assert_eq!(c["auth_context"]["auth_device"]["name"], "+1 555-0177");
    // Next time bob goes straight to the device list.
    let sid = open_prompt(&h, "bob").await;
    assert!(page(&h, &sid).await.body.contains("Choose an authentication method"));
    // A user Duo has never heard of also gets the enrollment page.
    let sid = open_prompt(&h, "zoe").await;
    assert!(page(&h, &sid).await.body.contains("set up Duo"));
}

#[tokio::test]
async fn new_user_policy_allow_and_deny() {
    let mut config = Config::default();
    config.apps[0].new_user_policy = NewUserPolicy::Allow;
    let h = Harness::with_config(config).await;
    let resp = h.client.get(&h.authorize_target(&h.request_jwt("bob", STATE, |_| {}), &[])).await;
    let c = claims_for(&h, &resp.location().unwrap()).await;
    assert_eq!(c["auth_result"]["status"], "allow");
    assert_eq!(c["auth_context"]["reason"], "allow_unenrolled_user");

    let config = Config {
        apps: vec![AppConfig { new_user_policy: NewUserPolicy::Deny, ..AppConfig::dev() }],
        ..Config::default()
    };
    let h = Harness::with_config(config).await;
    let sid = open_prompt(&h, "bob").await;
    assert!(page(&h, &sid).await.body.contains("does not allow"));
    let c = claims_for(&h, &act(&h, &sid, &[("action", "return")]).await).await;
    assert_eq!(c["auth_result"]["status"], "deny");
    assert_eq!(c["auth_context"]["reason"], "deny_unenrolled_user");
}

#[tokio::test]
async fn locked_out_user_is_denied_and_bypass_user_passes_without_a_prompt() {
    let h = Harness::start().await;
    let sid = open_prompt(&h, "carol").await;
    let resp = page(&h, &sid).await;
    assert!(resp.body.contains("locked"));
    assert!(!resp.body.contains("Send Me a Push"));
    let c = claims_for(&h, &act(&h, &sid, &[("action", "return")]).await).await;
    assert_eq!(c["auth_result"]["status"], "deny");
    assert_eq!(c["auth_context"]["reason"], "locked_out");

    let resp = h.client.get(&h.authorize_target(&h.request_jwt("dave", STATE, |_| {}), &[])).await;
    let c = claims_for(&h, &resp.location().unwrap()).await;
    assert_eq!(c["auth_result"]["status"], "allow");
    assert_eq!(c["auth_context"]["reason"], "bypass_user");
    assert_eq!(c["auth_context"]["auth_device"]["name"], Value::Null);
}

#[tokio::test]
async fn cancel_returns_with_a_deny_and_unknown_sessions_get_an_error_page() {
    let h = Harness::start().await;
    let sid = open_prompt(&h, "alice").await;
    let c = claims_for(&h, &act(&h, &sid, &[("action", "cancel")]).await).await;
    assert_eq!(c["auth_context"]["reason"], "user_cancelled");
    let resp = h.client.get("/frame/v4/prompt?sid=nope").await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.location(), None);
}

#[tokio::test]
async fn user_controlled_text_is_escaped() {
    let h = Harness::start().await;
    let sid = open_prompt(&h, "<img src=x onerror=alert(1)>").await;
    let body = page(&h, &sid).await.body;
    assert!(!body.contains("<img"));
    assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;"));
}
