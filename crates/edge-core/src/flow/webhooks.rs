//! The alerts' webhooks in the console: listed (never their secrets, their
//! addresses only up to the host), added (the signing secret shown once),
//! turned on or off, their events changed, removed, tried with a test
//! alert; and the delivery log. Each change is an admin event
//! (`add_webhook`, `change_webhook`, `remove_webhook`, `test_webhook`),
//! written with it; the first three raise an `alerts_changed` alert to the
//! other webhooks. The queue's side is [`super::alerts`].

use shared::alerts::{
    AlertKind, AlertsView, DELIVERIES_PAGE_SIZE, DeliveryList, NewWebhook, TestQueued, Webhook,
    WebhookChange, WebhookCreated, WebhookRef,
};

use super::admin::Admin;
use super::alerts::{QueueMessage, test_alert};
use super::audit::{Reason, Refusal};
use super::context::Ctx;
use super::store::{AdminEvent, AlertStore, DeliveryQuery, StoredWebhook};
use crate::config::{AppOrigin, NotHttps, https_or_local};
use crate::keys::{SigningSecret, hex};

/// The longest webhook address taken.
const MAX_URL_LEN: usize = 2048;

/// `https://host/…`: the scheme and host of `url`, the rest hidden (a
/// Slack webhook's path is its secret).
pub fn destination(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hidden = if rest.len() > host.len() { "/…" } else { "" };
    format!("{scheme}://{host}{hidden}")
}

/// A webhook's address: `https://` with a host, or `http://` on a loopback
/// host while the login itself is on one; no credentials, spaces or
/// fragment; at most 2048 characters.
///
/// # Errors
/// The rule it breaks, in words.
pub fn check_url(url: &str, app_origin: &AppOrigin) -> Result<(), &'static str> {
    let rest = https_or_local(url, app_origin).map_err(|refused| match refused {
        NotHttps::PlainHttp => {
            "The address must start with https:// (http:// only for a receiver on this machine while the login runs on it)."
        }
        NotHttps::OtherScheme => "The address must start with https://.",
    })?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return Err("The address needs a host, and no user name or password in it.");
    }
    if url.len() > MAX_URL_LEN
        || url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        return Err("The address must be at most 2048 characters, without spaces or a #fragment.");
    }
    Ok(())
}

/// A webhook's name: 1 to 64 characters after trimming, none a control.
fn check_name(name: &str) -> Result<&str, Refusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(bad("Give the webhook a name of 1 to 64 characters."));
    }
    Ok(name)
}

/// The events, each once, in the console's order; at least one.
fn check_events(events: &[AlertKind]) -> Result<Vec<AlertKind>, Refusal> {
    let kept: Vec<AlertKind> =
        AlertKind::SUBSCRIBABLE.into_iter().filter(|kind| events.contains(kind)).collect();
    if kept.is_empty() || events.iter().any(|kind| !kept.contains(kind)) {
        return Err(bad(
            "Choose at least one kind of alert to send (a test alert is always allowed).",
        ));
    }
    Ok(kept)
}

fn bad(message: &str) -> Refusal {
    Refusal::new(Reason::AdminBadValue).detail("webhook refused").message(message)
}

fn gone() -> Refusal {
    Refusal::new(Reason::AdminBadValue)
        .detail("no such webhook")
        .message("That webhook no longer exists. Reload the page.")
}

fn listed(webhook: &StoredWebhook) -> Webhook {
    Webhook {
        id: webhook.id.clone(),
        name: webhook.name.clone(),
        destination: destination(&webhook.url),
        format: webhook.format,
        events: webhook.events.clone(),
        enabled: webhook.enabled,
        created_at: webhook.created_at,
        created_by: webhook.created_by.clone(),
    }
}

fn kinds(events: &[AlertKind]) -> Vec<&'static str> {
    events.iter().map(|kind| kind.as_str()).collect()
}

async fn find<S: AlertStore>(store: &S, id: &str) -> Result<StoredWebhook, Refusal> {
    let hooks = store.webhooks().await.map_err(Refusal::internal)?;
    hooks.into_iter().find(|w| w.id == id).ok_or_else(gone)
}

/// `GET /api/admin/alerts`: the webhooks, whether the queue is bound, and
/// the failures of the last 24 hours.
///
/// # Errors
/// `internal` for storage.
pub async fn view<S: AlertStore>(
    store: &S,
    _admin: &Admin,
    queue_bound: bool,
    now: u64,
) -> Result<AlertsView, Refusal> {
    let webhooks = store.webhooks().await.map_err(Refusal::internal)?;
    let failures_last_day =
        store.failures_since(now.saturating_sub(86_400)).await.map_err(Refusal::internal)?;
    Ok(AlertsView {
        webhooks: webhooks.iter().map(listed).collect(),
        queue_bound,
        failures_last_day,
    })
}

/// What a new webhook is made of besides the admin's request: its id and
/// its secret's random bytes.
#[derive(Clone, Copy)]
pub struct Fresh<'a> {
    /// Random bytes for the id.
    pub id: &'a [u8; 16],
    /// Random bytes for the signing secret.
    pub secret: &'a [u8; 32],
}

impl std::fmt::Debug for Fresh<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fresh([redacted])")
    }
}

/// `POST /api/admin/alerts/add`: a webhook, recorded as `add_webhook`;
/// its signing secret is in the answer, this once.
///
/// # Errors
/// `bad_request` for a name, address or event list it refuses, or a name
/// another webhook has; `internal`.
pub async fn add<S: AlertStore>(
    store: &S,
    admin: &Admin,
    app_origin: &AppOrigin,
    new: &NewWebhook,
    fresh: Fresh<'_>,
    ctx: &Ctx,
) -> Result<WebhookCreated, Refusal> {
    let name = check_name(&new.name)?;
    let url = new.url.trim();
    check_url(url, app_origin).map_err(bad)?;
    let events = check_events(&new.events)?;
    let webhook = StoredWebhook {
        id: format!("wh_{}", hex(fresh.id)),
        name: name.to_owned(),
        url: url.to_owned(),
        format: new.format,
        events,
        enabled: true,
        secret: SigningSecret::generate(fresh.secret),
        created_at: ctx.now,
        created_by: admin.username().to_owned(),
    };
    let shown = listed(&webhook);
    let event = AdminEvent::new(admin.username().to_owned(), "add_webhook", ctx)
        .about(&shown.name)
        .with(&serde_json::json!({
            "name": shown.name,
            "destination": shown.destination,
            "format": shown.format.as_str(),
            "events": kinds(&shown.events),
        }));
    if !store.add_webhook(&webhook, &event).await.map_err(Refusal::internal)? {
        return Err(bad("Another webhook has that name. Choose another."));
    }
    Ok(WebhookCreated { webhook: shown, signing_secret: webhook.secret.expose().to_owned() })
}

/// `POST /api/admin/alerts/change`: a webhook turned on or off, or its
/// events changed, recorded as `change_webhook` with the values before.
///
/// # Errors
/// `bad_request` for no such webhook or an empty event list; `internal`.
pub async fn change<S: AlertStore>(
    store: &S,
    admin: &Admin,
    change: &WebhookChange,
    ctx: &Ctx,
) -> Result<Webhook, Refusal> {
    let current = find(store, &change.id).await?;
    let events = match &change.events {
        Some(events) => check_events(events)?,
        None => current.events.clone(),
    };
    let enabled = change.enabled.unwrap_or(current.enabled);
    let mut detail = serde_json::json!({
        "name": current.name,
        "before": {"enabled": current.enabled, "events": kinds(&current.events)},
    });
    if change.enabled.is_some() {
        detail["enabled"] = enabled.into();
    }
    if change.events.is_some() {
        detail["events"] = kinds(&events).into();
    }
    let event = AdminEvent::new(admin.username().to_owned(), "change_webhook", ctx)
        .about(&current.name)
        .with(&detail);
    if !store
        .change_webhook(&current.id, enabled, &events, &event)
        .await
        .map_err(Refusal::internal)?
    {
        return Err(gone());
    }
    Ok(listed(&StoredWebhook { events, enabled, ..current }))
}

/// `POST /api/admin/alerts/remove`, recorded as `remove_webhook`.
///
/// # Errors
/// `bad_request` for no such webhook; `internal`.
pub async fn remove<S: AlertStore>(
    store: &S,
    admin: &Admin,
    which: &WebhookRef,
    ctx: &Ctx,
) -> Result<(), Refusal> {
    let current = find(store, &which.id).await?;
    let detail =
        serde_json::json!({"name": current.name, "destination": destination(&current.url)});
    let event = AdminEvent::new(admin.username().to_owned(), "remove_webhook", ctx)
        .about(&current.name)
        .with(&detail);
    if store.remove_webhook(&current.id, &event).await.map_err(Refusal::internal)? {
        Ok(())
    } else {
        Err(gone())
    }
}

/// `POST /api/admin/alerts/test`: the message that delivers a test alert
/// (named `alert_id`) to this webhook alone, which must be on (an off
/// webhook is sent nothing); recorded as `test_webhook`.
///
/// # Errors
/// `bad_request` for no such webhook or one turned off; `internal`.
pub async fn test<S: AlertStore + super::store::ConsoleStore>(
    store: &S,
    admin: &Admin,
    which: &WebhookRef,
    alert_id: String,
    ctx: &Ctx,
) -> Result<(TestQueued, QueueMessage), Refusal> {
    let current = find(store, &which.id).await?;
    if !current.enabled {
        return Err(bad("That webhook is turned off: turn it on to send it a test alert."));
    }
    let detail = serde_json::json!({"name": current.name, "alert_id": alert_id});
    let event = AdminEvent::new(admin.username().to_owned(), "test_webhook", ctx)
        .about(&current.name)
        .with(&detail);
    store.record_admin(&event).await.map_err(Refusal::internal)?;
    let alert = test_alert(admin.username(), &current.name, ctx.now, alert_id.clone());
    Ok((TestQueued { alert_id }, QueueMessage::Deliver { alert, webhook_id: current.id }))
}

/// `GET /api/admin/alerts/deliveries?page=&failed=1&webhook=`: a page of
/// deliveries, newest first.
///
/// # Errors
/// `internal` for storage.
pub async fn deliveries<S: AlertStore>(
    store: &S,
    _admin: &Admin,
    query: &DeliveryQuery,
    page: u32,
) -> Result<DeliveryList, Refusal> {
    let page = page.max(1);
    let offset = (page - 1).saturating_mul(DELIVERIES_PAGE_SIZE);
    let (deliveries, total) =
        store.deliveries(query, offset, DELIVERIES_PAGE_SIZE).await.map_err(Refusal::internal)?;
    Ok(DeliveryList { deliveries, total, page, page_size: DELIVERIES_PAGE_SIZE })
}
