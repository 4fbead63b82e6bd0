//! Alerts: webhooks the Worker calls, through a Cloudflare Queue, when
//! something an operator must know about happens (a push reported as fraud,
//! a session let in without Duo, a role or policy change, Duo refusing our
//! keys, a burst of refused sign-ins). The console's API for them, and what
//! a receiver is sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The console's endpoints for alerts (under the login's prefix).
pub mod routes {
    /// `GET`: the webhooks and the newest deliveries ([`super::AlertsView`]).
    pub const ALERTS: &str = "/api/admin/alerts";
    /// `POST` [`super::NewWebhook`]: 201 with [`super::WebhookCreated`]
    /// (its signing secret, shown this once).
    pub const WEBHOOK_ADD: &str = "/api/admin/alerts/add";
    /// `POST` [`super::WebhookChange`]: turn a webhook on or off, or
    /// change what it is sent.
    pub const WEBHOOK_CHANGE: &str = "/api/admin/alerts/change";
    /// `POST` [`super::WebhookRef`]: remove a webhook.
    pub const WEBHOOK_REMOVE: &str = "/api/admin/alerts/remove";
    /// `POST` [`super::WebhookRef`]: 202 with [`super::TestQueued`]; a
    /// test alert is queued for that webhook alone.
    pub const WEBHOOK_TEST: &str = "/api/admin/alerts/test";
    /// `GET ?page=&failed=1&webhook=<id>`: deliveries, newest first
    /// ([`super::DeliveryList`]).
    pub const DELIVERIES: &str = "/api/admin/alerts/deliveries";
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A user reported a Duo push as fraud; the account is on hold.
    FraudReported,
    /// Duo could not be reached and `DUO_FAILMODE=open` let someone in
    /// without it (one alert per 15 minutes; the console lists them all).
    FailOpenSession,
    /// A user was made an admin, or an admin no longer is one.
    RoleChanged,
    /// The sign-in policies or Duo's enforcement changed.
    PolicyChanged,
    /// Duo refused our keys (the integration key, secret or host is
    /// wrong or was revoked); one alert per 15 minutes.
    DuoKeysRejected,
    /// A sign-in limit was reached (many refused passwords or Duo
    /// requests); one alert per 15 minutes.
    RefusalBurst,
    /// A webhook was added, changed or removed.
    AlertsChanged,
    /// Sent from the console to try a webhook.
    Test,
}

impl AlertKind {
    /// Every kind a webhook can be sent (all but [`AlertKind::Test`],
    /// which goes to the webhook tried).
    pub const SUBSCRIBABLE: [Self; 7] = [
        Self::FraudReported,
        Self::FailOpenSession,
        Self::RoleChanged,
        Self::PolicyChanged,
        Self::DuoKeysRejected,
        Self::RefusalBurst,
        Self::AlertsChanged,
    ];

    /// The wire name (`fraud_reported`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FraudReported => "fraud_reported",
            Self::FailOpenSession => "fail_open_session",
            Self::RoleChanged => "role_changed",
            Self::PolicyChanged => "policy_changed",
            Self::DuoKeysRejected => "duo_keys_rejected",
            Self::RefusalBurst => "refusal_burst",
            Self::AlertsChanged => "alerts_changed",
            Self::Test => "test",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::SUBSCRIBABLE.into_iter().chain([Self::Test]).find(|kind| kind.as_str() == name)
    }

    /// In words, for the console.
    pub const fn label(self) -> &'static str {
        match self {
            Self::FraudReported => "Push reported as fraud",
            Self::FailOpenSession => "Signed in without Duo (fail-open)",
            Self::RoleChanged => "Admin role given or taken",
            Self::PolicyChanged => "Sign-in policies changed",
            Self::DuoKeysRejected => "Duo refused our keys",
            Self::RefusalBurst => "Burst of refused sign-ins",
            Self::AlertsChanged => "Webhooks changed",
            Self::Test => "Test",
        }
    }
}

/// How a webhook's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// `{"text": ...}`, as Slack's incoming webhooks (and Mattermost,
    /// Rocket.Chat, Discord's `/slack` endpoint, Teams workflows) take.
    Slack,
    /// An [`AlertPayload`].
    Json,
}

impl WebhookFormat {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Json => "json",
        }
    }

    /// The format named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Slack, Self::Json].into_iter().find(|format| format.as_str() == name)
    }
}

/// A webhook as the console lists it: never its signing secret, and its
/// address only up to the host (a Slack webhook's path is its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Names it in the API.
    pub id: String,
    /// The admin's name for it (unique).
    pub name: String,
    /// `https://hooks.slack.com/…`: the scheme and host, the rest hidden.
    pub destination: String,
    /// How its body is written.
    pub format: WebhookFormat,
    /// What it is sent.
    pub events: Vec<AlertKind>,
    /// Off: nothing is sent to it.
    pub enabled: bool,
    /// When it was added (Unix seconds).
    pub created_at: u64,
    /// Who added it.
    pub created_by: String,
}

/// Body of `POST /api/admin/alerts/add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// A name for it, 1 to 64 characters.
    pub name: String,
    /// Where alerts are posted: `https://`, or `http://` on a loopback
    /// host when the login itself runs on one (development).
    pub url: String,
    /// How the body is written.
    pub format: WebhookFormat,
    /// What it is sent; at least one kind.
    pub events: Vec<AlertKind>,
}

/// Answer to `POST /api/admin/alerts/add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookCreated {
    /// The webhook as it is listed.
    pub webhook: Webhook,
    /// The key its bodies are signed with ([`SIGNATURE_HEADER`]), shown
    /// this once: the receiver checks the signature with it.
    pub signing_secret: String,
}

/// Body of `POST /api/admin/alerts/change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    /// [`Webhook::id`].
    pub id: String,
    /// On or off, if changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// What it is sent, if changed (at least one kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<AlertKind>>,
}

/// Body of `POST /api/admin/alerts/remove` and `…/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookRef {
    /// [`Webhook::id`].
    pub id: String,
}

/// Answer to `POST /api/admin/alerts/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestQueued {
    /// The test alert's [`AlertPayload::id`]; its deliveries carry it.
    pub alert_id: String,
}

/// What became of one attempt to deliver an alert to a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It did not; the queue tries again later.
    Failed,
    /// Every attempt failed; the alert went to the dead-letter queue.
    GaveUp,
}

impl DeliveryOutcome {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::GaveUp => "gave_up",
        }
    }

    /// The outcome named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Delivered, Self::Failed, Self::GaveUp].into_iter().find(|o| o.as_str() == name)
    }
}

/// One attempt to deliver an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// When (Unix seconds).
    pub at: u64,
    /// [`AlertPayload::id`].
    pub alert_id: String,
    /// What the alert was about.
    pub kind: AlertKind,
    /// [`Webhook::id`].
    pub webhook_id: String,
    /// Its name when this was tried.
    pub webhook_name: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// What became of it.
    pub outcome: DeliveryOutcome,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed, in words (never the address or a secret).
    pub error: Option<String>,
    /// When the queue tries again (Unix seconds), after a failure.
    pub retry_at: Option<u64>,
}

/// Answer to `GET /api/admin/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsView {
    /// Every webhook, by name.
    pub webhooks: Vec<Webhook>,
    /// Whether the Worker has its queue (`ALERTS` in `wrangler.toml`);
    /// without it nothing is sent.
    pub queue_bound: bool,
    /// Failed attempts and give-ups in the last 24 hours.
    pub failures_last_day: u32,
}

/// Answer to `GET /api/admin/alerts/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryList {
    /// This page, newest first.
    pub deliveries: Vec<Delivery>,
    /// How many match.
    pub total: u32,
    /// This page (1-based).
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
}

/// Deliveries per page.
pub const DELIVERIES_PAGE_SIZE: u32 = 20;

/// The header that carries an alert's signature:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256>` of `<t>.<body>` under the
/// webhook's signing secret. A receiver recomputes it, compares in
/// constant time, and refuses a `t` more than 5 minutes from its clock.
pub const SIGNATURE_HEADER: &str = "X-Duo-Edge-Signature";
/// The header naming the alert's kind (`fraud_reported`).
pub const KIND_HEADER: &str = "X-Duo-Edge-Alert";
/// The header carrying [`AlertPayload::id`]: the same on every attempt,
/// so a receiver can drop a repeat.
pub const ID_HEADER: &str = "X-Duo-Edge-Alert-Id";

/// The body a JSON webhook is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPayload {
    /// Unique per alert; the same on every attempt.
    pub id: String,
    /// What it is about.
    pub kind: AlertKind,
    /// When it happened (Unix seconds).
    pub at: u64,
    /// Which login raised it (`APP_ORIGIN`).
    pub service: String,
    /// What happened, in one sentence.
    pub summary: String,
    /// The facts: `username`, `client_ip`, `country`, `actor`, `reason`…
    /// (never a password, a token or a key).
    pub details: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_formats_read_back_their_names() {
        for kind in AlertKind::SUBSCRIBABLE.into_iter().chain([AlertKind::Test]) {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).expect("a kind");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(AlertKind::parse("fraud"), None);
        for format in [WebhookFormat::Slack, WebhookFormat::Json] {
            assert_eq!(WebhookFormat::parse(format.as_str()), Some(format));
        }
        for outcome in
            [DeliveryOutcome::Delivered, DeliveryOutcome::Failed, DeliveryOutcome::GaveUp]
        {
            assert_eq!(DeliveryOutcome::parse(outcome.as_str()), Some(outcome));
        }
    }

    #[test]
    fn a_new_webhook_refuses_fields_it_does_not_know() {
        let body = r#"{"name":"ops","url":"https://example.com/h","format":"json","events":["fraud_reported"],"secret":"x"}"#;
        assert!(serde_json::from_str::<NewWebhook>(body).is_err());
        let body = r#"{"name":"ops","url":"https://example.com/h","format":"slack","events":["role_changed"]}"#;
        let parsed: NewWebhook = serde_json::from_str(body).expect("a webhook");
        assert_eq!(parsed.format, WebhookFormat::Slack);
        assert_eq!(parsed.events, [AlertKind::RoleChanged]);
    }
}
