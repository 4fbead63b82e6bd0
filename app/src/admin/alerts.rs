//! The alerts page: the webhooks the Worker calls, through its `ALERTS`
//! queue, when something an operator must know about happens. Each with
//! where it posts (up to the host), how, what it is sent, and whether it is
//! on; trying one, turning it off or on, changing what it is sent, removing
//! it (confirmed first); adding one, its signing secret shown once. Below,
//! every delivery attempt, paged, newest first: all, the failures alone, or
//! one webhook's. Banners say when nothing can be sent (no queue binding)
//! and when deliveries failed in the last day.

use std::time::Duration;

use gloo_net::http::Request;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::alerts::{
    AlertKind, AlertsView, Delivery, DeliveryList, DeliveryOutcome, ID_HEADER, NewWebhook,
    SIGNATURE_HEADER, Webhook, WebhookChange, WebhookCreated, WebhookFormat, WebhookRef, routes,
};

use super::api::{done, post, post_json, reply};
use super::confirm::{Ask, confirm};
use super::pager::{Pager, page_count};
use super::time::when;
use crate::messages::Problem;

/// What the page says once a test alert is queued.
const TEST_QUEUED: &str = "Test alert queued; it shows below when the receiver answers.";

/// `GET /api/admin/alerts`.
async fn fetch_alerts() -> Result<AlertsView, Problem> {
    reply(Request::get(&shared::api::routes::at(routes::ALERTS)).send().await).await
}

/// Which deliveries the table shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeliveryQuery {
    /// Failed attempts and give-ups alone.
    failed: bool,
    /// One webhook's ([`Webhook::id`]), or empty for every webhook's.
    webhook: String,
    /// 1-based.
    page: u32,
}

/// `GET /api/admin/alerts/deliveries`.
async fn fetch_deliveries(query: DeliveryQuery) -> Result<DeliveryList, Problem> {
    let page = query.page.max(1).to_string();
    let mut pairs = vec![("page", page.as_str())];
    if query.failed {
        pairs.push(("failed", "1"));
    }
    if !query.webhook.is_empty() {
        pairs.push(("webhook", query.webhook.as_str()));
    }
    let request = Request::get(&shared::api::routes::at(routes::DELIVERIES)).query(pairs);
    reply(request.send().await).await
}

/// [`when`], for the Unix seconds alerts carry.
fn when_at(unix_seconds: u64) -> String {
    when(i64::try_from(unix_seconds).unwrap_or(i64::MAX))
}

/// How a webhook's body is written, in words.
fn format_label(format: WebhookFormat) -> &'static str {
    match format {
        WebhookFormat::Slack => "Slack-compatible",
        WebhookFormat::Json => "JSON",
    }
}

/// What an admin does to a webhook.
#[derive(Debug, Clone)]
enum Act {
    /// Queue a test alert for it alone.
    Test,
    /// Turn it on (`true`) or off.
    Enable(bool),
    /// Open the form that changes what it is sent.
    EditEvents,
    /// Send it these kinds from now on.
    Events(Vec<AlertKind>),
    /// Remove it (confirmed first).
    Remove,
}

/// Sends `act` for `hook`: what happened, in words; `None` when nothing
/// was sent (a removal not confirmed); or the Worker's refusal.
async fn perform(hook: Webhook, act: Act) -> Result<Option<String>, Problem> {
    let Webhook { id, name, .. } = hook;
    let at = shared::api::routes::at;
    let said = match act {
        Act::Test => {
            // Its answer names the test alert; the deliveries show it anyway.
            done(post_json(&at(routes::WEBHOOK_TEST), &WebhookRef { id }).await).await?;
            TEST_QUEUED.to_owned()
        }
        Act::Enable(on) => {
            let change = WebhookChange { id, enabled: Some(on), events: None };
            done(post_json(&at(routes::WEBHOOK_CHANGE), &change).await).await?;
            if on {
                format!("{name} is on: it is sent its alerts again.")
            } else {
                format!("{name} is off: it is sent no alert until it is turned on.")
            }
        }
        Act::Events(events) => {
            let change = WebhookChange { id, enabled: None, events: Some(events) };
            done(post_json(&at(routes::WEBHOOK_CHANGE), &change).await).await?;
            format!("{name} is sent the alerts checked from now on.")
        }
        Act::Remove => {
            let ask = Ask::new(
                format!("Remove {name}?"),
                format!("{name} will no longer be sent alerts. Its deliveries stay listed."),
                "Remove webhook",
            );
            if !confirm(ask).await {
                return Ok(None);
            }
            done(post_json(&at(routes::WEBHOOK_REMOVE), &WebhookRef { id }).await).await?;
            format!("{name} was removed. Its deliveries stay listed.")
        }
        Act::EditEvents => return Ok(None),
    };
    Ok(Some(said))
}

/// The deliveries table's state: what it asks for, what came back, and
/// the refreshes after a test alert (stopped when the page goes).
#[derive(Clone, Copy)]
struct Deliveries {
    query: RwSignal<DeliveryQuery>,
    list: RwSignal<Option<DeliveryList>>,
    /// Asks again for the page shown.
    load: Callback<()>,
    /// The refreshes under way, and how many are left.
    watching: StoredValue<Option<(IntervalHandle, u8)>>,
}

impl Deliveries {
    fn new(set_problem: WriteSignal<Option<Problem>>) -> Self {
        let query = RwSignal::new(DeliveryQuery { failed: false, webhook: String::new(), page: 1 });
        let list = RwSignal::new(None::<DeliveryList>);
        let load = Callback::new(move |()| {
            let asked = query.get_untracked();
            spawn_local(async move {
                match fetch_deliveries(asked).await {
                    Ok(found) => list.set(Some(found)),
                    Err(p) => set_problem.set(Some(p)),
                }
            });
        });
        load.run(());
        let deliveries = Self { query, list, load, watching: StoredValue::new(None) };
        on_cleanup(move || deliveries.stop());
        deliveries
    }

    /// Changes what the table shows, and loads it.
    fn show(self, change: impl FnOnce(&mut DeliveryQuery)) {
        self.query.update(change);
        self.list.set(None);
        self.load.run(());
    }

    /// Asks again every 2.5 s, four times: a test alert's delivery shows
    /// once the receiver answers.
    fn watch(self) {
        self.stop();
        let tick = move || {
            self.load.run(());
            let left = self.watching.try_update_value(|watching| {
                watching.as_mut().map(|(_, left)| {
                    *left = left.saturating_sub(1);
                    *left
                })
            });
            if left.flatten() == Some(0) {
                self.stop();
            }
        };
        if let Ok(handle) = set_interval_with_handle(tick, Duration::from_millis(2500)) {
            self.watching.set_value(Some((handle, 4)));
        }
    }

    /// Stops the refreshes under way.
    fn stop(self) {
        if let Some(Some((handle, _))) = self.watching.try_update_value(Option::take) {
            handle.clear();
        }
    }
}

/// The page.
#[component]
pub(super) fn AlertsPage(set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
    let (alerts, set_alerts) = signal(None::<AlertsView>);
    let (notice, set_notice) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let created = RwSignal::new(None::<WebhookCreated>);
    let editing = RwSignal::new(None::<Webhook>);
    let deliveries = Deliveries::new(set_problem);
    let load = Callback::new(move |()| {
        spawn_local(async move {
            match fetch_alerts().await {
                Ok(found) => set_alerts.set(Some(found)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    load.run(());
    let act = Callback::new(move |(hook, act): (Webhook, Act)| {
        set_notice.set(None);
        if matches!(act, Act::EditEvents) {
            editing.set(Some(hook));
            return;
        }
        if busy.get_untracked() {
            return;
        }
        let test = matches!(act, Act::Test);
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let outcome = perform(hook, act).await;
            set_busy.set(false);
            match outcome {
                Ok(Some(said)) => {
                    set_notice.set(Some(said));
                    editing.set(None);
                    load.run(());
                    if test {
                        deliveries.watch();
                    }
                }
                Ok(None) => {}
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    let added = Callback::new(move |answer: WebhookCreated| {
        set_notice.set(None);
        created.set(Some(answer));
        load.run(());
    });
    let table = NodeRef::<html::Div>::new();
    let show_failures = Callback::new(move |()| {
        deliveries.show(|q| {
            q.failed = true;
            q.webhook.clear();
            q.page = 1;
        });
        if let Some(wrap) = table.get() {
            let _ = wrap.focus();
        }
    });
    view! {
        <p class="notice" role="status" id="alerts-notice">{move || notice.get()}</p>
        <Banners alerts show_failures />
        <h2 id="webhooks-title">"Webhooks"</h2>
        <WebhookTable alerts busy act />
        {move || editing.get().map(|hook| view! { <EditEvents hook editing act /> })}
        <AddWebhook added set_problem />
        <SecretBox created />
        <DeliveriesTable deliveries alerts wrap=table />
    }
}

/// Nothing is sent without the queue; deliveries failed in the last day.
#[component]
fn Banners(alerts: ReadSignal<Option<AlertsView>>, show_failures: Callback<()>) -> impl IntoView {
    let no_queue = move || {
        alerts.with(|a| a.as_ref().is_some_and(|a| !a.queue_bound)).then(|| view! {
            <div class="status error banner" id="alerts-no-queue" role="alert">
                <p><strong>"No alert is sent: "</strong>"the Worker has no " <code>"ALERTS"</code>
                    " queue binding, so alerts are neither queued nor delivered."</p>
                <p>"To fix it, add the " <code>"[[queues.producers]]"</code> " (binding " <code>"ALERTS"</code>
                    ", queue " <code>"duo-edge-alerts"</code> ") and " <code>"[[queues.consumers]]"</code>
                    " entries of the project's " <code>"wrangler.toml"</code> " to yours and deploy again ("
                    <code>"scripts/deploy.sh"</code> " creates the queues). Webhooks added meanwhile are kept."</p>
            </div>
        })
    };
    let failures = move || {
        let count = alerts.with(|a| a.as_ref().map_or(0, |a| a.failures_last_day));
        (count > 0).then(|| {
            let said = if count == 1 {
                "1 delivery attempt failed in the last 24 hours.".to_owned()
            } else {
                format!("{count} delivery attempts failed in the last 24 hours.")
            };
            view! {
                <p class="status warn banner" id="alerts-failures">{said} " "
                    <button type="button" class="link inline" id="alerts-failures-show"
                        on:click=move |_| show_failures.run(())>"Show the failed deliveries"</button>
                </p>
            }
        })
    };
    view! { {no_queue} {failures} }
}

/// The webhooks, each with what can be done to it.
#[component]
fn WebhookTable(
    alerts: ReadSignal<Option<AlertsView>>,
    busy: ReadSignal<bool>,
    act: Callback<(Webhook, Act)>,
) -> impl IntoView {
    view! {
        <div class="table-wrap" tabindex="0">
            <table class="users" id="webhooks" aria-busy=move || alerts.with(Option::is_none).to_string()>
                <caption class="muted">{move || alerts.with(|a| match a {
                    None => "Loading webhooks…".to_owned(),
                    Some(a) if a.webhooks.len() == 1 => "1 webhook".to_owned(),
                    Some(a) => format!("{} webhooks", a.webhooks.len()),
                })}</caption>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Destination"</th><th scope="col">"Format"</th>
                    <th scope="col">"Sent"</th><th scope="col">"State"</th><th scope="col">"Added"</th>
                    <th scope="col">"Actions"</th>
                </tr></thead>
                <tbody>
                    {move || alerts.get().map(|a| {
                        let none = a.webhooks.is_empty().then(|| view! {
                            <tr class="empty"><td colspan="7">"No webhook yet: add one below."</td></tr>
                        });
                        (none, a.webhooks.into_iter().map(|hook| view! { <WebhookRow hook busy act /> }).collect_view())
                    })}
                </tbody>
            </table>
        </div>
    }
}

/// One webhook.
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
fn WebhookRow(
    hook: Webhook,
    busy: ReadSignal<bool>,
    act: Callback<(Webhook, Act)>,
) -> impl IntoView {
    let sent = hook.events.iter().map(|kind| kind.label()).collect::<Vec<_>>().join(", ");
    let added = format!("{} by {}", when_at(hook.created_at), hook.created_by);
    let on = hook.enabled;
    let button = |label: &'static str, action: &'static str, what: Act| {
        let hook = hook.clone();
        view! {
            <button type="button" class="secondary small" data-action=action disabled=move || busy.get()
                on:click=move |_| act.run((hook.clone(), what.clone()))>{label}</button>
        }
    };
    view! {
        <tr data-webhook=hook.name.clone() data-enabled=on.to_string()>
            <th scope="row" class="name">{hook.name.clone()}</th>
            <td class="destination"><code>{hook.destination.clone()}</code></td>
            <td class="format">{format_label(hook.format)}</td>
            <td class="events">{sent}</td>
            <td class="state">{if on { "on" } else { "off" }}</td>
            <td class="added">{added}</td>
            <td><div class="row-actions">
                // The Worker sends nothing to a webhook turned off, tests included.
                {on.then(|| button("Send a test alert", "test", Act::Test))}
                {button(if on { "Turn off" } else { "Turn on" }, "toggle", Act::Enable(!on))}
                {button("Edit events", "events", Act::EditEvents)}
                {button("Remove", "remove", Act::Remove)}
            </div></td>
        </tr>
    }
}

/// A checkbox for each kind a webhook can be sent; the last one checked
/// cannot be unchecked.
#[component]
fn EventsField(id: &'static str, events: RwSignal<Vec<AlertKind>>) -> impl IntoView {
    view! {
        <fieldset class="choice" id=format!("{id}-events")>
            <legend>"Alerts it is sent " <span class="muted">"(at least one must stay checked)"</span></legend>
            {AlertKind::SUBSCRIBABLE.map(|kind| view! {
                <label><input type="checkbox" value=kind.as_str() id=format!("{id}-event-{}", kind.as_str())
                    prop:checked=move || events.with(|e| e.contains(&kind))
                    prop:disabled=move || events.with(|e| e.len() == 1 && e.contains(&kind))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        // In the order listed, which is the Worker's.
                        events.update(|e| {
                            *e = AlertKind::SUBSCRIBABLE
                                .into_iter()
                                .filter(|k| if *k == kind { on } else { e.contains(k) })
                                .collect();
                        });
                    } />
                    " " {kind.label()}</label>
            })}
        </fieldset>
    }
}

/// The form that changes what one webhook is sent.
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
fn EditEvents(
    hook: Webhook,
    editing: RwSignal<Option<Webhook>>,
    act: Callback<(Webhook, Act)>,
) -> impl IntoView {
    let events = RwSignal::new(hook.events.clone());
    let title = format!("Alerts sent to {}", hook.name);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        act.run((hook.clone(), Act::Events(events.get_untracked())));
    };
    view! {
        <form class="panel form" id="webhook-events-form" aria-labelledby="webhook-events-title" on:submit=submit>
            <h2 id="webhook-events-title">{title}</h2>
            <EventsField id="edit" events />
            <div class="panel-actions">
                <button type="submit" class="primary" id="webhook-events-save">"Save"</button>
                <button type="button" class="secondary" on:click=move |_| editing.set(None)>"Cancel"</button>
            </div>
        </form>
    }
}

/// The "Add a webhook" form.
#[component]
fn AddWebhook(
    added: Callback<WebhookCreated>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (name, url, format) = (
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Select>::new(),
    );
    let events = RwSignal::new(AlertKind::SUBSCRIBABLE.to_vec());
    let (busy, set_busy) = signal(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value =
            |node: NodeRef<html::Input>| node.get().map(|el| el.value()).unwrap_or_default();
        let request = NewWebhook {
            name: value(name).trim().to_owned(),
            url: value(url).trim().to_owned(),
            format: format
                .get()
                .and_then(|el| WebhookFormat::parse(&el.value()))
                .unwrap_or(WebhookFormat::Slack),
            events: events.get_untracked(),
        };
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let at = shared::api::routes::at(routes::WEBHOOK_ADD);
            let outcome = post::<_, WebhookCreated>(&at, &request).await;
            set_busy.set(false);
            match outcome {
                Ok(answer) => {
                    for input in [name, url] {
                        if let Some(el) = input.get() {
                            el.set_value("");
                        }
                    }
                    events.set(AlertKind::SUBSCRIBABLE.to_vec());
                    added.run(answer);
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    view! {
        <form class="panel form" id="add-webhook" aria-labelledby="add-webhook-title" on:submit=submit>
            <h2 id="add-webhook-title">"Add a webhook"</h2>
            <label for="webhook-name">"Name"</label>
            <input id="webhook-name" required autocomplete="off" maxlength="64" node_ref=name placeholder="ops-slack" />
            <label for="webhook-url">"URL (where alerts are posted)"</label>
            <input id="webhook-url" type="url" required autocomplete="off" node_ref=url
                placeholder="https://hooks.slack.com/services/…" />
            <label for="webhook-format">"Format"</label>
            <select id="webhook-format" node_ref=format aria-describedby="webhook-format-hint">
                <option value="slack" selected>{format_label(WebhookFormat::Slack)}</option>
                <option value="json">{format_label(WebhookFormat::Json)}</option>
            </select>
            <p class="hint" id="webhook-format-hint">"Slack-compatible: a text message, as Slack, Mattermost, Rocket.Chat, \
                Discord's /slack endpoint and Teams workflows take. JSON: the alert's fields, for a receiver of your own. \
                Both are signed."</p>
            <EventsField id="new" events />
            <div class="panel-actions">
                <button type="submit" class="primary" id="add-webhook-submit" disabled=move || busy.get()>"Add webhook"</button>
            </div>
        </form>
    }
}

/// A new webhook's signing secret, shown this once; Done forgets it.
#[component]
fn SecretBox(created: RwSignal<Option<WebhookCreated>>) -> impl IntoView {
    move || {
        created.get().map(|answer| {
            let header = format!("{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">");
            view! {
                <div class="status ok issued" id="webhook-secret" role="status">
                    <p><strong>{format!("{} was added.", answer.webhook.name)}</strong></p>
                    <p>"Its signing secret, shown this once: "
                        <code id="webhook-secret-value" class="secret">{answer.signing_secret}</code></p>
                    <p>"Copy it into the receiver now: the console does not show it again."</p>
                    <p class="muted">"Every request carries " <code>{header}</code> ". The receiver computes the "
                        "HMAC-SHA256 of t, a dot and the raw body under this secret, compares it with v1 in constant "
                        "time, and refuses a t more than 5 minutes from its clock. " <code>{ID_HEADER}</code>
                        " is the same on every attempt of an alert, so a repeat can be dropped."</p>
                    <button type="button" class="secondary small" id="webhook-secret-done"
                        on:click=move |_| created.set(None)>"Done"</button>
                </div>
            }
        })
    }
}

/// An attempt's outcome, in words.
fn outcome_in_words(delivery: &Delivery) -> String {
    match delivery.outcome {
        DeliveryOutcome::Delivered => "Delivered".to_owned(),
        DeliveryOutcome::Failed => delivery.retry_at.map_or_else(
            || "Failed, will retry".to_owned(),
            |at| format!("Failed, will retry at {}", when_at(at)),
        ),
        DeliveryOutcome::GaveUp if delivery.attempt == 1 => {
            "Gave up after 1 attempt — dead-lettered".to_owned()
        }
        DeliveryOutcome::GaveUp => {
            format!("Gave up after {} attempts — dead-lettered", delivery.attempt)
        }
    }
}

/// One delivery attempt.
#[component]
fn DeliveryRow(delivery: Delivery) -> impl IntoView {
    let outcome = outcome_in_words(&delivery);
    let dash = || "—".to_owned();
    view! {
        <tr data-outcome=delivery.outcome.as_str() data-kind=delivery.kind.as_str() data-alert-id=delivery.alert_id>
            <td>{when_at(delivery.at)}</td>
            <th scope="row">{delivery.webhook_name}</th>
            <td>{delivery.kind.label()}</td>
            <td class="attempt">{delivery.attempt}</td>
            <td class="outcome">{outcome}</td>
            <td class="status-code">{delivery.status.map_or_else(dash, |s| s.to_string())}</td>
            <td class="error">{delivery.error.unwrap_or_else(dash)}</td>
        </tr>
    }
}

/// The deliveries: filters, the table, its pager.
#[component]
fn DeliveriesTable(
    deliveries: Deliveries,
    alerts: ReadSignal<Option<AlertsView>>,
    wrap: NodeRef<html::Div>,
) -> impl IntoView {
    let Deliveries { query, list, load, .. } = deliveries;
    let pages = Signal::derive(move || {
        list.with(|l| l.as_ref().map_or(1, |l| page_count(l.total, l.page_size)))
    });
    let turn = Callback::new(move |by: i32| {
        deliveries.show(|q| q.page = q.page.saturating_add_signed(by).max(1));
    });
    // Drawn again when the webhooks are: the one filtered on stays chosen
    // (the select's value follows the filter once its options are there).
    let options = move || {
        let chosen = query.with_untracked(|q| q.webhook.clone());
        alerts.get().map(|a| {
            a.webhooks
                .into_iter()
                .map(|hook| {
                    let selected = hook.id == chosen;
                    view! { <option value=hook.id selected=selected>{hook.name}</option> }
                })
                .collect_view()
        })
    };
    view! {
        <h2 id="deliveries-title">"Deliveries"</h2>
        <div class="delivery-filters">
            <label class="order"><input type="checkbox" id="deliveries-failed" prop:checked=move || query.with(|q| q.failed)
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    deliveries.show(|q| { q.failed = on; q.page = 1; });
                } />"Failures only"</label>
            <label class="order">"Webhook"
                <select id="deliveries-webhook" prop:value=move || query.with(|q| q.webhook.clone()) on:change=move |ev| {
                    let id = event_target_value(&ev);
                    deliveries.show(|q| { q.webhook = id; q.page = 1; });
                }>
                    <option value="">"any"</option>
                    {options}
                </select></label>
            <button type="button" class="secondary small" id="deliveries-refresh" on:click=move |_| load.run(())>"Refresh"</button>
        </div>
        <div class="table-wrap" tabindex="0" node_ref=wrap>
            <table class="users" id="deliveries" aria-busy=move || list.with(Option::is_none).to_string()>
                <caption class="muted">{move || list.with(|l| match l {
                    None => "Loading deliveries…".to_owned(),
                    Some(l) if l.total == 1 => "1 delivery attempt, newest first".to_owned(),
                    Some(l) => format!("{} delivery attempts, newest first", l.total),
                })}</caption>
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Webhook"</th><th scope="col">"Alert"</th>
                    <th scope="col">"Attempt"</th><th scope="col">"Outcome"</th><th scope="col">"HTTP status"</th>
                    <th scope="col">"Error"</th>
                </tr></thead>
                <tbody>
                    {move || list.get().map(|l| {
                        let none = l.deliveries.is_empty().then(|| {
                            let said = if query.with_untracked(|q| q.failed) { "No failed delivery." } else { "No delivery yet." };
                            view! { <tr class="empty"><td colspan="7">{said}</td></tr> }
                        });
                        (none, l.deliveries.into_iter().map(|delivery| view! { <DeliveryRow delivery /> }).collect_view())
                    })}
                </tbody>
            </table>
        </div>
        <Pager page=Signal::derive(move || query.with(|q| q.page)) pages turn id="deliveries-pager" label="Pages of deliveries" />
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn attempt(outcome: DeliveryOutcome, attempt: u32, retry_at: Option<u64>) -> Delivery {
        Delivery {
            at: 1_800_000_000,
            alert_id: "al_1".into(),
            kind: AlertKind::Test,
            webhook_id: "wh_1".into(),
            webhook_name: "ops".into(),
            attempt,
            outcome,
            status: Some(500),
            error: None,
            retry_at,
        }
    }

    #[wasm_bindgen_test]
    fn an_outcome_says_what_comes_next() {
        assert_eq!(outcome_in_words(&attempt(DeliveryOutcome::Delivered, 1, None)), "Delivered");
        let retry = outcome_in_words(&attempt(DeliveryOutcome::Failed, 1, Some(1_800_000_060)));
        assert!(retry.starts_with("Failed, will retry at "), "{retry}");
        assert_eq!(
            outcome_in_words(&attempt(DeliveryOutcome::GaveUp, 5, None)),
            "Gave up after 5 attempts — dead-lettered"
        );
        assert_eq!(
            outcome_in_words(&attempt(DeliveryOutcome::GaveUp, 1, None)),
            "Gave up after 1 attempt — dead-lettered"
        );
    }

    #[wasm_bindgen_test]
    fn the_alerts_page_has_its_address() {
        use super::super::route::Page;
        let page = Page::of_path(&Page::Alerts.href());
        assert_eq!(page, Page::Alerts);
        assert_eq!(page.title(), "Alerts · Admin console");
    }
}
