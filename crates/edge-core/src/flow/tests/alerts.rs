//! Alerts ([`crate::flow::alerts`], [`crate::flow::webhooks`]): which
//! records raise one, what a webhook is sent and how it is signed, the
//! queue consumer's fan-out, quiet windows, retries and give-ups, and the
//! console's webhooks.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use shared::alerts::{
    AlertKind, AlertPayload, DeliveryOutcome, ID_HEADER, KIND_HEADER, NewWebhook, SIGNATURE_HEADER,
    WebhookChange, WebhookFormat, WebhookRef,
};
use shared::duo::{HttpResponse, TransportError, TransportErrorKind};

use crate::flow::admin::Admin;
use crate::flow::alerts::{
    Alert, Consumer, Disposition, QueueMessage, gave_up, handle, of_admin_event, of_auth_event,
    request, retry_delay,
};
use crate::flow::audit::{Outcome, Step};
use crate::flow::store::{AdminEvent, AlertStore as _, AuditEvent, DeliveryQuery, UserRecord};
use crate::flow::testing::{
    MemoryStore, NOW, ScriptedDuo, block_on, config, ctx, session_cookie, store, user,
};
use crate::flow::webhooks::{self, Fresh, check_url, destination};
use crate::flow::{Reason, Refusal};

fn event(outcome: Outcome, reason: &'static str, repeats: u32) -> AuditEvent {
    AuditEvent {
        at: NOW,
        username: "alice".to_owned(),
        step: Step::Login,
        outcome,
        reason,
        duo_txid: None,
        client_ip: Some("203.0.113.9".to_owned()),
        repeats,
        policy: None,
        country: Some("NL".to_owned()),
        factor: None,
    }
}

fn admin_event(action: &'static str, detail: &serde_json::Value) -> AdminEvent {
    AdminEvent {
        target: Some("bob".to_owned()),
        ..AdminEvent::new("root".to_owned(), action, &ctx(NOW, "198.51.100.7")).with(detail)
    }
}

fn kind(alert: Option<Alert>) -> Option<AlertKind> {
    alert.map(|a| a.kind)
}

#[test]
fn the_records_an_operator_must_hear_about_raise_alerts() {
    let id = || "al_1".to_owned();
    let fraud = of_auth_event(&event(Outcome::Failure, "fraud_reported", 0), id()).expect("fraud");
    assert_eq!((fraud.kind, fraud.once_per.as_deref()), (AlertKind::FraudReported, None));
    assert!(fraud.summary.starts_with("alice reported a Duo push as fraud"), "{}", fraud.summary);
    assert_eq!(fraud.details["client_ip"], "203.0.113.9");
    assert_eq!(fraud.details["country"], "NL");
    let open = of_auth_event(&event(Outcome::Success, "fail_open", 0), id()).expect("fail-open");
    assert_eq!(
        (open.kind, open.once_per.as_deref()),
        (AlertKind::FailOpenSession, Some("fail_open_session"))
    );
    for reason in ["duo_health_rejected", "duo_auth_api_rejected"] {
        let keys = of_auth_event(&event(Outcome::Error, reason, 0), id()).expect(reason);
        assert_eq!(
            (keys.kind, keys.once_per.as_deref()),
            (AlertKind::DuoKeysRejected, Some("duo_keys_rejected"))
        );
    }
    // A limit's first refusal in its window; its repeats are summarized later.
    let burst = of_auth_event(&event(Outcome::RateLimited, "user_client_limit", 0), id());
    assert_eq!(burst.as_ref().map(|a| a.kind), Some(AlertKind::RefusalBurst));
    assert!(burst.is_some_and(|a| a.summary.contains("alice from 203.0.113.9")));
    assert_eq!(kind(of_auth_event(&event(Outcome::RateLimited, "user_limit", 3), id())), None);
    for quiet in ["bad_password", "unknown_user", "duo_unreachable", "duo_denied"] {
        assert_eq!(kind(of_auth_event(&event(Outcome::Failure, quiet, 0), id())), None, "{quiet}");
    }
    assert_eq!(kind(of_auth_event(&event(Outcome::Success, "duo_allow", 0), id())), None);

    let made = of_admin_event(
        &admin_event("set_role", &serde_json::json!({"role": "admin", "before": {"role": "user"}})),
        id(),
    )
    .expect("a role change");
    assert_eq!(
        (made.kind, made.summary.as_str()),
        (AlertKind::RoleChanged, "root made bob an admin.")
    );
    assert_eq!(made.details["client_ip"], "198.51.100.7");
    let taken = of_admin_event(
        &admin_event("set_role", &serde_json::json!({"role": "user", "before": {"role": "admin"}})),
        id(),
    );
    assert_eq!(taken.map(|a| a.summary), Some("root took the admin role from bob.".to_owned()));
    let added = |role: &str| {
        kind(of_admin_event(&admin_event("add_user", &serde_json::json!({"role": role})), id()))
    };
    assert_eq!((added("admin"), added("user")), (Some(AlertKind::RoleChanged), None));
    for (action, want) in [
        ("set_policies", Some(AlertKind::PolicyChanged)),
        ("enforce_duo_off", Some(AlertKind::PolicyChanged)),
        ("enforce_duo_on", Some(AlertKind::PolicyChanged)),
        ("add_webhook", Some(AlertKind::AlertsChanged)),
        ("change_webhook", Some(AlertKind::AlertsChanged)),
        ("remove_webhook", Some(AlertKind::AlertsChanged)),
        ("test_webhook", None),
        ("export_audit", None),
        ("disable", None),
        ("reset_password", None),
    ] {
        assert_eq!(
            kind(of_admin_event(&admin_event(action, &serde_json::json!({})), id())),
            want,
            "{action}"
        );
    }
}

fn hook(store: &MemoryStore, name: &str, url: &str, events: &[AlertKind]) -> String {
    let admin = root(store);
    let created = block_on(webhooks::add(
        store,
        &admin,
        &config("closed").app_origin,
        &NewWebhook {
            name: name.to_owned(),
            url: url.to_owned(),
            format: WebhookFormat::Json,
            events: events.to_vec(),
        },
        Fresh { id: &[u8::try_from(name.len()).unwrap_or(0); 16], secret: &[7; 32] },
        &ctx(NOW, "198.51.100.7"),
    ))
    .expect("added");
    created.webhook.id
}

fn root(store: &MemoryStore) -> Admin {
    if !store.users.borrow().contains_key("root") {
        store.add_user(UserRecord {
            role: "admin".to_owned(),
            ..user("root", "x", "required", false)
        });
    }
    let seed = u8::try_from(store.sessions.borrow().len() + 10).unwrap_or(u8::MAX);
    let cookie = session_cookie(store, "root", seed);
    block_on(Admin::reading(store, Some(&cookie), NOW)).expect("an admin")
}

fn alert(kind: AlertKind, once_per: Option<&str>) -> Alert {
    Alert {
        id: "al_00ff".to_owned(),
        kind,
        at: NOW,
        summary: "alice reported a Duo push as fraud.".to_owned(),
        details: [("username".to_owned(), "alice".to_owned())].into(),
        once_per: once_per.map(str::to_owned),
    }
}

const CONSUMER: Consumer<'static> =
    Consumer { service: "https://login.example.com", retry_seconds: 30, now: NOW };

#[test]
fn a_delivery_is_signed_names_its_alert_and_holds_no_secret() {
    let store = store();
    let id = hook(
        &store,
        "ops",
        "https://hooks.example.com/services/T0/B0/s3cr3t",
        &[AlertKind::FraudReported],
    );
    let webhook =
        block_on(store.webhooks()).expect("listed").into_iter().find(|w| w.id == id).expect("ours");
    let sent = request(&alert(AlertKind::FraudReported, None), &webhook, CONSUMER.service, NOW + 5);
    let header = |name: &str| sent.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    assert_eq!(header(KIND_HEADER).as_deref(), Some("fraud_reported"));
    assert_eq!(header(ID_HEADER).as_deref(), Some("al_00ff"));
    // The receiver's check: HMAC-SHA256 of "<t>.<body>" under the secret.
    let signature = header(SIGNATURE_HEADER).expect("signed");
    let (t, v1) = signature.split_once(",v1=").expect("t=…,v1=…");
    assert_eq!(t, format!("t={}", NOW + 5));
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(webhook.secret.expose().as_bytes()).expect("a key");
    mac.update(format!("{}.", NOW + 5).as_bytes());
    mac.update(&sent.body);
    let want = crate::keys::hex(&mac.finalize().into_bytes());
    assert_eq!(v1, want);
    let payload: AlertPayload = serde_json::from_slice(&sent.body).expect("the JSON payload");
    assert_eq!(
        (payload.kind, payload.service.as_str()),
        (AlertKind::FraudReported, CONSUMER.service)
    );
    let text = String::from_utf8_lossy(&sent.body);
    assert!(!text.contains(webhook.secret.expose()) && !text.contains("s3cr3t"), "{text}");
    // A Slack-compatible receiver gets `text`, escaped as Slack reads it.
    let slack = shared::alerts::WebhookFormat::Slack;
    let mut odd = alert(AlertKind::RoleChanged, None);
    odd.summary = "<@here> & co".to_owned();
    let body: serde_json::Value =
        serde_json::from_str(&crate::flow::alerts::body(&odd, slack, "https://x")).expect("JSON");
    let text = body["text"].as_str().expect("text");
    assert!(
        text.contains("&lt;@here&gt; &amp; co") && text.contains("Admin role given or taken"),
        "{text}"
    );
    assert!(format!("{:?}", webhook.secret).contains("redacted"));
}

#[test]
fn a_queue_message_reads_back_as_sent() {
    let raised =
        QueueMessage::Raised { alert: alert(AlertKind::RefusalBurst, Some("refusal_burst")) };
    let deliver = QueueMessage::Deliver {
        alert: alert(AlertKind::Test, None),
        webhook_id: "wh_1".to_owned(),
    };
    for message in [raised, deliver] {
        assert_eq!(QueueMessage::parse(&message.to_text()), Some(message));
    }
    assert_eq!(QueueMessage::parse(r#"{"webhook_id":"wh_1"}"#), None);
}

#[test]
fn retries_double_from_the_base_up_to_12_hours() {
    let delays: Vec<u32> = (1..=6).map(|attempt| retry_delay(attempt, 60)).collect();
    assert_eq!(delays, [60, 120, 240, 480, 960, 1920]);
    assert_eq!(retry_delay(40, 3600), 43_200);
    assert_eq!(retry_delay(1, 1), 1);
}

#[test]
fn a_raised_alert_goes_to_each_webhook_that_takes_it_and_repeats_stay_quiet() {
    let store = store();
    let fraud = hook(&store, "fraud-only", "https://a.example.com/h", &[AlertKind::FraudReported]);
    let all = hook(&store, "everything", "https://b.example.com/h", &AlertKind::SUBSCRIBABLE);
    let off = hook(&store, "off", "https://c.example.com/h", &AlertKind::SUBSCRIBABLE);
    let admin = root(&store);
    let change = WebhookChange { id: off, enabled: Some(false), events: None };
    block_on(webhooks::change(&store, &admin, &change, &ctx(NOW, "198.51.100.7"))).expect("off");
    let duo = ScriptedDuo::default();
    let raised = QueueMessage::Raised { alert: alert(AlertKind::FraudReported, None) };
    let Disposition::FanOut(out) = block_on(handle(&store, &duo, &raised, &CONSUMER)) else {
        panic!("fanned out")
    };
    let targets: Vec<&str> = out
        .iter()
        .map(|m| match m {
            QueueMessage::Deliver { webhook_id, .. } => webhook_id.as_str(),
            QueueMessage::Raised { .. } => "raised",
        })
        .collect();
    assert_eq!(targets, [all.as_str(), fraud.as_str()], "by name, the one turned off left out");
    let burst =
        QueueMessage::Raised { alert: alert(AlertKind::RefusalBurst, Some("refusal_burst")) };
    assert!(
        matches!(block_on(handle(&store, &duo, &burst, &CONSUMER)), Disposition::FanOut(v) if v.len() == 1)
    );
    // Another burst within 15 minutes is kept quiet; after them, it goes out.
    assert_eq!(block_on(handle(&store, &duo, &burst, &CONSUMER)), Disposition::Ack);
    let later = Consumer { now: NOW + 900, ..CONSUMER };
    assert!(matches!(block_on(handle(&store, &duo, &burst, &later)), Disposition::FanOut(_)));
    assert!(duo.requests.borrow().is_empty(), "a fan-out posts nothing");
}

#[test]
fn a_failed_delivery_is_recorded_and_retried_until_the_dead_letter_queue_takes_it() {
    let store = store();
    let id = hook(&store, "ops", "https://hooks.example.com/secret-path", &AlertKind::SUBSCRIBABLE);
    let deliver = QueueMessage::Deliver {
        alert: alert(AlertKind::FraudReported, None),
        webhook_id: id.clone(),
    };
    let duo = ScriptedDuo::default();
    duo.reply(Ok(HttpResponse::new(503, "busy")));
    duo.reply(Err(TransportError::new(
        TransportErrorKind::Connect,
        "https://hooks.example.com/secret-path refused",
    )));
    duo.reply(Ok(HttpResponse::new(204, "")));
    assert_eq!(block_on(handle(&store, &duo, &deliver, &CONSUMER)), Disposition::Retry(30));
    assert_eq!(block_on(handle(&store, &duo, &deliver, &CONSUMER)), Disposition::Retry(60));
    assert_eq!(block_on(handle(&store, &duo, &deliver, &CONSUMER)), Disposition::Ack);
    assert_eq!(duo.requests.borrow()[0].url, "https://hooks.example.com/secret-path");
    let (log, total) = block_on(store.deliveries(&DeliveryQuery::default(), 0, 20)).expect("log");
    let seen: Vec<(u32, DeliveryOutcome, Option<u16>, Option<u64>)> =
        log.iter().map(|d| (d.attempt, d.outcome, d.status, d.retry_at)).collect();
    assert_eq!(total, 3);
    assert_eq!(
        seen,
        [
            (3, DeliveryOutcome::Delivered, Some(204), None),
            (2, DeliveryOutcome::Failed, None, Some(NOW + 60)),
            (1, DeliveryOutcome::Failed, Some(503), Some(NOW + 30)),
        ]
    );
    assert_eq!(
        log[1].error.as_deref(),
        Some("could not connect to the receiver"),
        "never the address"
    );
    assert_eq!(block_on(store.failures_since(NOW)).expect("count"), 2);
    let failed = DeliveryQuery { failed_only: true, webhook: Some(id.clone()) };
    assert_eq!(block_on(store.deliveries(&failed, 0, 20)).expect("log").1, 2);
    // Given up on: recorded with the failures counted.
    assert!(block_on(gave_up(&store, &deliver, NOW + 99)));
    let (log, _) = block_on(store.deliveries(&DeliveryQuery::default(), 0, 1)).expect("log");
    assert_eq!(
        (log[0].outcome, log[0].attempt, log[0].webhook_name.as_str()),
        (DeliveryOutcome::GaveUp, 2, "ops")
    );
    assert!(!block_on(gave_up(
        &store,
        &QueueMessage::Raised { alert: alert(AlertKind::Test, None) },
        NOW
    )));
    // A webhook removed since is sent nothing.
    let admin = root(&store);
    block_on(webhooks::remove(&store, &admin, &WebhookRef { id }, &ctx(NOW, "198.51.100.7")))
        .expect("removed");
    assert_eq!(block_on(handle(&store, &duo, &deliver, &CONSUMER)), Disposition::Ack);
    assert_eq!(duo.requests.borrow().len(), 3);
}

fn refused<T: std::fmt::Debug>(result: Result<T, Refusal>) -> String {
    let refusal = result.expect_err("refused");
    assert_eq!(refusal.reason, Reason::AdminBadValue);
    refusal.message.unwrap_or_default()
}

#[test]
fn the_console_adds_lists_changes_tests_and_removes_webhooks_with_their_audit() {
    let store = store();
    let admin = root(&store);
    let origin = config("closed").app_origin;
    let at = ctx(NOW, "198.51.100.7");
    let new = |name: &str, url: &str, events: &[AlertKind]| NewWebhook {
        name: name.to_owned(),
        url: url.to_owned(),
        format: WebhookFormat::Slack,
        events: events.to_vec(),
    };
    let fresh = Fresh { id: &[1; 16], secret: &[2; 32] };
    let add = |n: &NewWebhook| block_on(webhooks::add(&store, &admin, &origin, n, fresh, &at));
    let slack = "https://hooks.slack.com/services/T000/B000/XXXX";
    let created =
        add(&new(" ops-slack ", slack, &[AlertKind::RoleChanged, AlertKind::FraudReported]))
            .expect("added");
    assert!(created.signing_secret.starts_with("whsec_") && created.signing_secret.len() == 70);
    assert_eq!(created.webhook.name, "ops-slack");
    assert_eq!(created.webhook.destination, "https://hooks.slack.com/…");
    assert_eq!(
        created.webhook.events,
        [AlertKind::FraudReported, AlertKind::RoleChanged],
        "in the console's order"
    );
    let listed = block_on(webhooks::view(&store, &admin, true, NOW)).expect("view");
    let shown = serde_json::to_string(&listed).expect("JSON");
    assert!(!shown.contains("XXXX") && !shown.contains("whsec_"), "{shown}");
    assert!(listed.queue_bound);
    // Refused: a name taken (in any case), addresses, no events.
    assert!(refused(add(&new("OPS-SLACK", slack, &[AlertKind::RoleChanged]))).contains("name"));
    for url in [
        "http://hooks.example.com/x",
        "ftp://x",
        "https://user:pw@example.com/x",
        "https://",
        "https://a.example.com/x y",
    ] {
        refused(add(&new("other", url, &[AlertKind::RoleChanged])));
    }
    assert!(refused(add(&new("other", slack, &[]))).contains("at least one"));
    refused(add(&new("other", slack, &[AlertKind::Test])));
    refused(add(&new("", slack, &[AlertKind::RoleChanged])));
    // Changed, with the values before in its record.
    let id = created.webhook.id.clone();
    let change = WebhookChange { id: id.clone(), enabled: Some(false), events: None };
    let changed = block_on(webhooks::change(&store, &admin, &change, &at)).expect("changed");
    assert!(!changed.enabled);
    let events = store.admin_events.borrow().clone();
    let last = events.last().expect("recorded");
    assert_eq!((last.action, last.target.as_deref()), ("change_webhook", Some("ops-slack")));
    let detail: serde_json::Value =
        serde_json::from_str(last.detail.as_deref().unwrap_or("{}")).expect("JSON");
    assert_eq!(detail["before"]["enabled"], true);
    assert_eq!(detail["enabled"], false);
    assert!(detail.get("events").is_none(), "only what changed: {detail}");
    // A webhook turned off takes no test alert; on again, it does.
    let which = WebhookRef { id: id.clone() };
    assert!(
        refused(block_on(webhooks::test(&store, &admin, &which, "al_t".to_owned(), &at)))
            .contains("turned off")
    );
    let on = WebhookChange {
        id: id.clone(),
        enabled: Some(true),
        events: Some(vec![AlertKind::PolicyChanged]),
    };
    block_on(webhooks::change(&store, &admin, &on, &at)).expect("on");
    let (queued, message) =
        block_on(webhooks::test(&store, &admin, &which, "al_t".to_owned(), &at)).expect("queued");
    assert_eq!(queued.alert_id, "al_t");
    assert!(
        matches!(&message, QueueMessage::Deliver { alert, webhook_id } if alert.kind == AlertKind::Test && *webhook_id == id)
    );
    assert_eq!(store.admin_events.borrow().last().map(|e| e.action), Some("test_webhook"));
    let actions: Vec<&str> = store.admin_events.borrow().iter().map(|e| e.action).collect();
    assert_eq!(actions, ["add_webhook", "change_webhook", "change_webhook", "test_webhook"]);
    // Removed: gone from the list; twice is refused.
    block_on(webhooks::remove(&store, &admin, &which, &at)).expect("removed");
    assert!(block_on(webhooks::view(&store, &admin, true, NOW)).expect("view").webhooks.is_empty());
    refused(block_on(webhooks::remove(&store, &admin, &which, &at)));
    let removed = store.admin_events.borrow().last().cloned().expect("recorded");
    assert_eq!(
        removed.detail.as_deref(),
        Some(r#"{"destination":"https://hooks.slack.com/…","name":"ops-slack"}"#)
    );
}

#[test]
fn webhook_addresses_are_https_or_local_and_shown_up_to_the_host() {
    let local = config("closed").app_origin;
    assert!(check_url("https://hooks.example.com/x", &local).is_ok());
    // The tests' APP_ORIGIN is https: no plain http anywhere.
    assert!(check_url("http://127.0.0.1:9000/hook", &local).is_err());
    let dev =
        crate::flow::testing::config_with("closed", &[("APP_ORIGIN", "http://localhost:8787")])
            .app_origin;
    assert!(check_url("http://127.0.0.1:9000/hook", &dev).is_ok());
    assert!(check_url("http://localhost:9000/hook", &dev).is_ok());
    assert!(check_url("http://example.com/hook", &dev).is_err());
    assert_eq!(destination("https://h.example.com"), "https://h.example.com");
    assert_eq!(destination("https://h.example.com:8443/a/b?c"), "https://h.example.com:8443/…");
}
