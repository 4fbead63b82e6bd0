//! Alerts: which records of the audit log an operator must hear about at
//! once, the queue's messages, what a webhook is sent and how it is signed,
//! and what the queue's consumer does with each message.
//!
//! The Worker raises an alert where the record is written (`edge::d1`:
//! after the write succeeded), sends it to its queue (`ALERTS`), and the
//! queue's consumer ([`handle`]) fans it out to the webhooks that take its
//! kind, one message per webhook, so that each is retried on its own with
//! a doubling delay; after the queue's last retry a delivery lands in the
//! dead-letter queue, whose consumer records that it gave up
//! ([`gave_up`]). Nothing here does I/O: the store, the HTTP transport and
//! the clock are passed in.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shared::alerts::{
    AlertKind, AlertPayload, Delivery, DeliveryOutcome, ID_HEADER, KIND_HEADER, SIGNATURE_HEADER,
    WebhookFormat,
};
use shared::duo::{HttpRequest, Method, Transport, TransportErrorKind};

use super::audit::{Outcome, Reason, Success};
use super::store::{AdminEvent, AlertStore, AuditEvent, DeliveryQuery, StoredWebhook};
use crate::keys::{SigningSecret, hex};

/// How long an alert that repeats (fail-open sign-ins, Duo refusing our
/// keys, refusal bursts) stays quiet after one went out: 15 minutes.
pub const QUIET_SECONDS: u64 = 900;

/// The longest delay the queue takes for a retry (12 hours).
const MAX_RETRY_DELAY: u32 = 43_200;

/// One alert, as queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique; the same on every attempt to deliver it.
    pub id: String,
    /// What it is about.
    pub kind: AlertKind,
    /// When it happened (Unix seconds).
    pub at: u64,
    /// What happened, in one sentence.
    pub summary: String,
    /// The facts (never a password, a token or a key).
    pub details: BTreeMap<String, String>,
    /// Alerts with the same key go out once per [`QUIET_SECONDS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub once_per: Option<String>,
}

/// A message of the alerts' queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueMessage {
    /// Raised: to be sent to every webhook that takes its kind.
    Raised {
        /// The alert.
        alert: Alert,
    },
    /// To be delivered to one webhook (retried on its own).
    Deliver {
        /// The alert.
        alert: Alert,
        /// [`StoredWebhook::id`].
        webhook_id: String,
    },
}

/// A message as the queue carries it: `{"alert": …}` raised,
/// `{"alert": …, "webhook_id": …}` to deliver. (A plain struct: serde's
/// tagged enums cost the Worker kilobytes.)
#[derive(Serialize, Deserialize)]
struct Wire {
    alert: Alert,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_id: Option<String>,
}

impl QueueMessage {
    /// The message as the queue carries it (JSON text).
    pub fn to_text(&self) -> String {
        let wire = match self {
            Self::Raised { alert } => Wire { alert: alert.clone(), webhook_id: None },
            Self::Deliver { alert, webhook_id } => {
                Wire { alert: alert.clone(), webhook_id: Some(webhook_id.clone()) }
            }
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// A message the queue carried; `None` when it is not one of ours.
    pub fn parse(text: &str) -> Option<Self> {
        let Wire { alert, webhook_id } = serde_json::from_str(text).ok()?;
        Some(match webhook_id {
            Some(webhook_id) => Self::Deliver { alert, webhook_id },
            None => Self::Raised { alert },
        })
    }
}

/// The alert `event` of the sign-in log raises, if any, named `id`.
pub fn of_auth_event(event: &AuditEvent, id: String) -> Option<Alert> {
    let who = if event.username.is_empty() { None } else { Some(event.username.as_str()) };
    let (kind, summary, once_per) = match (event.outcome, event.reason) {
        (_, reason) if reason == Reason::FraudReported.as_str() => (
            AlertKind::FraudReported,
            format!(
                "{} reported a Duo push as fraud: the account is on hold, its sessions and \
                 trusted browsers ended, until an admin releases it.",
                who.unwrap_or("A user")
            ),
            None,
        ),
        (Outcome::Success, reason) if reason == Success::FailOpen.as_str() => (
            AlertKind::FailOpenSession,
            format!(
                "Duo could not be reached and DUO_FAILMODE=open let {} in without Duo \
                 (fail-open sign-ins in the next 15 minutes are listed in the console, not alerted).",
                who.unwrap_or("a user")
            ),
            Some("fail_open_session"),
        ),
        (_, reason)
            if reason == Reason::DuoHealthRejected.as_str()
                || reason == Reason::DuoAuthApiRejected.as_str() =>
        {
            (
                AlertKind::DuoKeysRejected,
                "Duo refused our keys: sign-ins that need Duo fail until the DUO_* settings \
                 are corrected (the console's Duo page tests them)."
                    .to_owned(),
                Some("duo_keys_rejected"),
            )
        }
        (Outcome::RateLimited, reason) if event.repeats == 0 => (
            AlertKind::RefusalBurst,
            format!(
                "A sign-in limit was reached ({reason}) for {}: further attempts are refused \
                 until its window ends.",
                match (who, event.client_ip.as_deref()) {
                    (Some(user), Some(ip)) => format!("{user} from {ip}"),
                    (Some(user), None) => user.to_owned(),
                    (None, Some(ip)) => ip.to_owned(),
                    (None, None) => "an unknown client".to_owned(),
                }
            ),
            Some("refusal_burst"),
        ),
        _ => return None,
    };
    let mut details = BTreeMap::new();
    let facts = [
        ("username", who),
        ("step", Some(event.step.as_str())),
        ("reason", Some(event.reason)),
        ("client_ip", event.client_ip.as_deref()),
        ("country", event.country.as_deref()),
    ];
    for (name, value) in facts {
        if let Some(value) = value {
            details.insert(name.to_owned(), value.to_owned());
        }
    }
    Some(Alert { id, kind, at: event.at, summary, details, once_per: once_per.map(str::to_owned) })
}

/// The alert an admin's `event` raises, if any, named `id`.
pub fn of_admin_event(event: &AdminEvent, id: String) -> Option<Alert> {
    let detail: serde_json::Value = event
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(serde_json::Value::Null);
    let field = |path: &[&str]| {
        path.iter().try_fold(&detail, |value, key| value.get(key)).and_then(|v| v.as_str())
    };
    let (actor, target) = (event.actor.as_str(), event.target.as_deref().unwrap_or("?"));
    let (kind, summary) = match event.action {
        "set_role" => {
            let role = field(&["role"]).unwrap_or("?");
            let before = field(&["before", "role"]);
            let summary = match (before, role) {
                (_, "admin") => format!("{actor} made {target} an admin."),
                (Some("admin"), _) => format!("{actor} took the admin role from {target}."),
                (_, role) => format!("{actor} set {target}'s role to {role}."),
            };
            (AlertKind::RoleChanged, summary)
        }
        "add_user" if field(&["role"]) == Some("admin") => {
            (AlertKind::RoleChanged, format!("{actor} added {target} as an admin."))
        }
        "set_policies" => {
            (AlertKind::PolicyChanged, format!("{actor} changed the sign-in policies."))
        }
        "enforce_duo_off" => (
            AlertKind::PolicyChanged,
            format!("{actor} turned Duo off: every user now signs in with a password alone."),
        ),
        "enforce_duo_on" => {
            (AlertKind::PolicyChanged, format!("{actor} turned Duo enforcement back on."))
        }
        "add_webhook" => (AlertKind::AlertsChanged, format!("{actor} added the webhook {target}.")),
        "change_webhook" => {
            (AlertKind::AlertsChanged, format!("{actor} changed the webhook {target}."))
        }
        "remove_webhook" => {
            (AlertKind::AlertsChanged, format!("{actor} removed the webhook {target}."))
        }
        _ => return None,
    };
    let mut details = BTreeMap::from([
        ("actor".to_owned(), actor.to_owned()),
        ("action".to_owned(), event.action.to_owned()),
    ]);
    if let Some(target) = &event.target {
        details.insert("target".to_owned(), target.clone());
    }
    if let Some(ip) = &event.client_ip {
        details.insert("client_ip".to_owned(), ip.clone());
    }
    Some(Alert { id, kind, at: event.at, summary, details, once_per: None })
}

/// The alert the console's "Send a test alert" queues, named `id`.
pub fn test_alert(actor: &str, webhook: &str, now: u64, id: String) -> Alert {
    Alert {
        id,
        kind: AlertKind::Test,
        at: now,
        summary: format!(
            "A test alert for the webhook {webhook}, sent by {actor} from the console."
        ),
        details: BTreeMap::from([("actor".to_owned(), actor.to_owned())]),
        once_per: None,
    }
}

/// The body `format` posts for `alert` raised by `service`.
pub fn body(alert: &Alert, format: WebhookFormat, service: &str) -> String {
    match format {
        WebhookFormat::Json => serde_json::to_string(&AlertPayload {
            id: alert.id.clone(),
            kind: alert.kind,
            at: alert.at,
            service: service.to_owned(),
            summary: alert.summary.clone(),
            details: alert.details.clone(),
        })
        .unwrap_or_default(),
        WebhookFormat::Slack => {
            // Slack's mrkdwn: `&`, `<` and `>` are its only escapes.
            let escape =
                |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            let mut text = format!(
                "*{}* ({})\n{}",
                alert.kind.label(),
                escape(service),
                escape(&alert.summary)
            );
            for (name, value) in &alert.details {
                let _ = write!(text, "\n• {name}: `{}`", escape(value).replace('`', "'"));
            }
            serde_json::json!({ "text": text }).to_string()
        }
    }
}

/// The [`SIGNATURE_HEADER`] value of `body` sent at `timestamp`:
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub fn signature(secret: &SigningSecret, timestamp: u64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex(&mac.finalize().into_bytes()))
}

/// The request that delivers `alert` to `webhook` at `now`.
pub fn request(alert: &Alert, webhook: &StoredWebhook, service: &str, now: u64) -> HttpRequest {
    let body = body(alert, webhook.format, service);
    HttpRequest {
        method: Method::Post,
        url: webhook.url.clone(),
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("user-agent", "duo-edge-login-alerts".to_owned()),
            (KIND_HEADER, alert.kind.as_str().to_owned()),
            (ID_HEADER, alert.id.clone()),
            (SIGNATURE_HEADER, signature(&webhook.secret, now, body.as_bytes())),
        ],
        body: body.into_bytes(),
    }
}

/// The delay before retry number `attempt` (1 after the first failure):
/// `base`, doubled each time, at most 12 hours.
pub fn retry_delay(attempt: u32, base: u32) -> u32 {
    let doublings = attempt.saturating_sub(1).min(16);
    base.saturating_mul(1 << doublings).min(MAX_RETRY_DELAY)
}

/// What the consumer does with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Done (delivered, dropped or kept quiet): acknowledge it.
    Ack,
    /// Send these, then acknowledge it.
    FanOut(Vec<QueueMessage>),
    /// Try it again after this many seconds.
    Retry(u32),
}

/// What the consumer needs besides the message.
#[derive(Debug, Clone, Copy)]
pub struct Consumer<'a> {
    /// Which login raises the alerts (`APP_ORIGIN`).
    pub service: &'a str,
    /// `ALERT_RETRY_SECONDS`.
    pub retry_seconds: u32,
    /// Now (Unix seconds).
    pub now: u64,
}

/// How many attempts to deliver `alert_id` to `webhook_id` failed, as
/// recorded (the queue's own count is not exposed to a Rust Worker).
async fn failures<S: AlertStore>(store: &S, alert_id: &str, webhook_id: &str) -> u32 {
    let query = DeliveryQuery { failed_only: true, webhook: Some(webhook_id.to_owned()) };
    let failed = store.deliveries(&query, 0, 100).await.map_or(0, |(rows, _)| {
        rows.iter()
            .filter(|d| d.alert_id == alert_id && d.outcome == DeliveryOutcome::Failed)
            .count()
    });
    u32::try_from(failed).unwrap_or(u32::MAX)
}

/// Handles one message of the alerts' queue: a raised alert is claimed
/// (when it repeats) and fanned out to the enabled webhooks that take its
/// kind; a delivery is posted, its outcome recorded with its attempt's
/// number (one more than the failures recorded), and retried on failure
/// after [`retry_delay`].
pub async fn handle<S: AlertStore, T: Transport>(
    store: &S,
    transport: &T,
    message: &QueueMessage,
    consumer: &Consumer<'_>,
) -> Disposition {
    match message {
        QueueMessage::Raised { alert } => {
            let retry = Disposition::Retry(retry_delay(1, consumer.retry_seconds));
            if let Some(key) = &alert.once_per {
                let until = consumer.now + QUIET_SECONDS;
                match store.claim_alert(key, consumer.now, until).await {
                    Ok(true) => {}
                    Ok(false) => return Disposition::Ack,
                    Err(_) => return retry,
                }
            }
            let Ok(webhooks) = store.webhooks().await else { return retry };
            let deliveries: Vec<QueueMessage> = webhooks
                .into_iter()
                .filter(|w| w.enabled && w.events.contains(&alert.kind))
                .map(|w| QueueMessage::Deliver { alert: alert.clone(), webhook_id: w.id })
                .collect();
            if deliveries.is_empty() { Disposition::Ack } else { Disposition::FanOut(deliveries) }
        }
        QueueMessage::Deliver { alert, webhook_id } => {
            let attempt = failures(store, &alert.id, webhook_id).await + 1;
            let delay = retry_delay(attempt, consumer.retry_seconds);
            let Ok(webhooks) = store.webhooks().await else { return Disposition::Retry(delay) };
            // Removed or turned off since: nothing to send.
            let Some(webhook) = webhooks.into_iter().find(|w| w.id == *webhook_id && w.enabled)
            else {
                return Disposition::Ack;
            };
            let sent =
                transport.send(request(alert, &webhook, consumer.service, consumer.now)).await;
            let (outcome, status, error) = match sent {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    (DeliveryOutcome::Delivered, Some(answer.status), None)
                }
                Ok(answer) => (
                    DeliveryOutcome::Failed,
                    Some(answer.status),
                    Some(format!("the receiver answered HTTP {}", answer.status)),
                ),
                Err(error) => {
                    (DeliveryOutcome::Failed, None, Some(unreached(error.kind).to_owned()))
                }
            };
            let delivery = Delivery {
                at: consumer.now,
                alert_id: alert.id.clone(),
                kind: alert.kind,
                webhook_id: webhook.id.clone(),
                webhook_name: webhook.name.clone(),
                attempt,
                outcome,
                status,
                error,
                retry_at: (outcome == DeliveryOutcome::Failed)
                    .then(|| consumer.now + u64::from(delay)),
            };
            // A record that fails to be written does not resend an alert
            // that arrived.
            let _ = store.record_delivery(&delivery).await;
            if outcome == DeliveryOutcome::Delivered {
                Disposition::Ack
            } else {
                Disposition::Retry(delay)
            }
        }
    }
}

/// Why a receiver was not reached, in words (never its address: a Slack
/// webhook's path is its secret).
const fn unreached(kind: TransportErrorKind) -> &'static str {
    match kind {
        TransportErrorKind::Connect => "could not connect to the receiver",
        TransportErrorKind::Timeout => "the receiver did not answer within 10 seconds",
        TransportErrorKind::Tls => "TLS with the receiver failed",
        TransportErrorKind::BodyTooLarge => "the receiver's answer was too large",
        _ => "the receiver could not be reached",
    }
}

/// Records that `message` (from the dead-letter queue) was given up on,
/// with the number of attempts its failures recorded. A raised alert that
/// could not be fanned out names no webhook: `false`, for the log.
pub async fn gave_up<S: AlertStore>(store: &S, message: &QueueMessage, now: u64) -> bool {
    let QueueMessage::Deliver { alert, webhook_id } = message else { return false };
    let name = store
        .webhooks()
        .await
        .ok()
        .and_then(|hooks| hooks.into_iter().find(|w| w.id == *webhook_id).map(|w| w.name));
    let attempts = failures(store, &alert.id, webhook_id).await;
    let delivery = Delivery {
        at: now,
        alert_id: alert.id.clone(),
        kind: alert.kind,
        webhook_id: webhook_id.clone(),
        webhook_name: name.unwrap_or_else(|| webhook_id.clone()),
        attempt: attempts,
        outcome: DeliveryOutcome::GaveUp,
        status: None,
        error: Some(format!(
            "gave up after {attempts} failed attempts: the alert is in the dead-letter queue"
        )),
        retry_at: None,
    };
    store.record_delivery(&delivery).await.is_ok()
}
