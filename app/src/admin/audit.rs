//! The audit-log page: the sign-in log (`auth_events`) or the admin log
//! (`admin_events`), filtered by user, outcome and dates, paged, and
//! downloadable as CSV (a form POST, so the Worker checks its `Origin`; it
//! records each download).

use gloo_net::http::Request;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{AuditList, AuditLog, AuditQuery, AuditRow, CSV_MAX_ROWS, OUTCOMES, routes};

use super::pager::{Pager, page_count};
use super::route::{Page, PageLink};
use super::time::when;
use super::words;
use crate::components::zoned_time;
use crate::messages::Problem;

/// `GET /api/admin/audit`.
pub(super) async fn fetch_audit(query: &AuditQuery) -> Result<AuditList, Problem> {
    let pairs = query.to_pairs(true);
    let request = Request::get(&shared::api::routes::at(routes::AUDIT))
        .query(pairs.iter().map(|(k, v)| (*k, v.as_str())));
    super::api::reply(request.send().await).await
}

/// Unix seconds of a local date (`YYYY-MM-DD`) at `time` (`HH:MM:SS`).
fn local_date(date: &str, time: &str) -> Option<i64> {
    if date.is_empty() {
        return None;
    }
    let millis = js_sys::Date::new(&format!("{date}T{time}").into()).get_time();
    #[allow(clippy::cast_possible_truncation, reason = "a date's seconds fit an i64")]
    (!millis.is_nan()).then(|| (millis / 1000.0).floor() as i64)
}

/// The search form: a query on submit.
#[component]
fn AuditFilters(
    search: Callback<AuditQuery>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (log, user, outcome, from, to) = (
        NodeRef::<html::Select>::new(),
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Select>::new(),
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
    );
    let order = NodeRef::<html::Select>::new();
    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_problem.set(None);
        let value =
            |input: NodeRef<html::Input>| input.get().map(|el| el.value()).unwrap_or_default();
        let chosen =
            |select: NodeRef<html::Select>| select.get().map(|el| el.value()).unwrap_or_default();
        let day = |input, time| {
            local_date(&value(input), time).map(|t| t.to_string()).unwrap_or_default()
        };
        let pairs = [
            ("log", chosen(log)),
            ("user", value(user)),
            ("outcome", chosen(outcome)),
            ("from", day(from, "00:00:00")),
            ("to", day(to, "23:59:59")),
            ("order", chosen(order)),
        ];
        match AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))) {
            Ok(asked) => search.run(asked),
            Err(_) => set_problem.set(Some(Problem::unexpected())),
        }
    };
    view! {
        <form id="audit-search" class="search filters" role="search" on:submit=on_search>
            <label>"Log"
                <select id="audit-log" node_ref=log>
                    <option value="sign_ins">"Sign-ins"</option>
                    <option value="admin">"Admin actions"</option>
                </select></label>
            <label>"User" <input id="audit-user" type="search" node_ref=user placeholder="username" /></label>
            <label>"Outcome"
                <select id="audit-outcome" node_ref=outcome>
                    <option value="">"any"</option>
                    {OUTCOMES.iter().map(|o| view! { <option value=*o>{words::outcome(o)}</option> }).collect_view()}
                </select></label>
            <label>"From" <input id="audit-from" type="date" node_ref=from /></label>
            <label>"To" <input id="audit-to" type="date" node_ref=to /></label>
            <label>"Order"
                <select id="audit-order" node_ref=order>
                    <option value="newest">"newest first"</option>
                    <option value="oldest">"oldest first"</option>
                </select></label>
            <button type="submit" class="secondary">"Search"</button>
        </form>
    }
}

/// "Download CSV": the current search (every page), posted as a form. The
/// answer is an attachment, so the browser stays on this page.
#[component]
fn CsvDownload(query: ReadSignal<AuditQuery>) -> impl IntoView {
    view! {
        <form id="audit-csv-form" class="csv" method="post" action=shared::api::routes::at(routes::AUDIT_CSV)>
            {move || query.get().to_pairs(false).into_iter().map(|(name, value)| view! {
                <input type="hidden" name=name value=value />
            }).collect_view()}
            <button type="submit" class="secondary small" id="audit-csv">"Download CSV"</button>
        </form>
    }
}

/// The page.
#[component]
pub(super) fn AuditPage(set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
    let (query, set_query) = signal(AuditQuery { page: 1, ..AuditQuery::default() });
    let (list, set_list) = signal(None::<AuditList>);
    let load = move || {
        let asked = query.get_untracked();
        spawn_local(async move {
            match fetch_audit(&asked).await {
                Ok(rows) => set_list.set(Some(rows)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    load();
    let search = Callback::new(move |asked: AuditQuery| {
        set_query.set(asked);
        load();
    });
    let turn = Callback::new(move |by: i32| {
        set_query.update(|q| q.page = q.page.saturating_add_signed(by).max(1));
        load();
    });
    let pages = Signal::derive(move || list.get().map_or(1, |l| page_count(l.total, l.page_size)));
    let admin_log = move || query.get().log == AuditLog::Admin;
    let caption = move || {
        list.get().map(|l| {
            if l.total > CSV_MAX_ROWS {
                format!("{} events (a download holds the newest {CSV_MAX_ROWS})", l.total)
            } else {
                format!("{} events", l.total)
            }
        })
    };
    view! {
        <AuditFilters search set_problem />
        <CsvDownload query />
        <div class="table-wrap" tabindex="0">
            <table class="users audit">
                <caption class="muted">{caption}</caption>
                <thead><tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">{move || if admin_log() { "Admin" } else { "User" }}</th>
                    <th scope="col">{move || if admin_log() { "Action" } else { "Step" }}</th>
                    <th scope="col">{move || if admin_log() { "User changed" } else { "Outcome" }}</th>
                    <th scope="col">{move || if admin_log() { "Change" } else { "Reason" }}</th>
                    {move || (!admin_log()).then(|| view! { <th scope="col">"Policy"</th> })}
                    <th scope="col">"Client"</th>
                </tr></thead>
                <tbody>
                    {move || list.get().map(|l| {
                        let admin = admin_log();
                        l.rows.into_iter().map(|row| view! { <AuditLine row admin /> }).collect_view()
                    })}
                </tbody>
            </table>
        </div>
        <Pager page=Signal::derive(move || query.get().page) pages turn id="audit-pager" label="Pages of events" />
    }
}

/// One event: in words, with its user linked and a detail view (every
/// field, codes included, and an admin change as before → after).
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
pub(super) fn AuditLine(row: AuditRow, admin: bool) -> impl IntoView {
    let open = RwSignal::new(false);
    let changes = if admin { words::change(&row.reason) } else { Vec::new() };
    let what = if admin { words::action(&row.event) } else { words::step(&row.event) };
    let third = if admin {
        row.target.clone().map_or_else(
            || view! { "—" }.into_any(),
            |target| {
                let to = if words::targets_webhook(&row.event) {
                    Page::Alerts
                } else {
                    Page::User(target.clone())
                };
                view! { <PageLink to>{target}</PageLink> }.into_any()
            },
        )
    } else {
        words::outcome(&row.outcome).into_any()
    };
    let mut fourth = if admin {
        changes
            .iter()
            .map(|(field, value)| format!("{field}: {value}"))
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        words::reason(&row.reason)
    };
    if fourth.is_empty() {
        "—".clone_into(&mut fourth);
    }
    if row.repeats > 0 {
        fourth = format!("{fourth} (and {} more refused)", row.repeats);
    }
    let user = if row.user.is_empty() {
        view! { <span class="muted">"(no name)"</span> }.into_any()
    } else {
        let name = row.user.clone();
        view! { <PageLink to=Page::User(row.user.clone())>{name}</PageLink> }.into_any()
    };
    let client = match (row.client_ip.clone(), row.country.clone()) {
        (Some(ip), Some(country)) => format!("{ip} ({country})"),
        (Some(ip), None) => ip,
        (None, Some(country)) => country,
        (None, None) => "—".to_owned(),
    };
    let columns = if admin { 6 } else { 7 };
    let detail = row.clone();
    view! {
        <tr data-outcome=row.outcome.clone() data-event=row.event.clone()>
            <td>{when(row.at)}</td>
            <th scope="row">{user}</th>
            <td class="step">{what}</td>
            <td class="outcome">{third}</td>
            <td class="reason">{fourth}</td>
            {(!admin).then(|| view! { <td class="policy">{row.policy.clone()}</td> })}
            <td>{client}<button type="button" class="link small details" data-action="details"
                aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "Hide" } else { "Details" }}
            </button></td>
        </tr>
        <Show when=move || open.get()>
            <tr class="event-detail"><td colspan=columns>
                <EventDetail row=detail.clone() admin />
            </td></tr>
        </Show>
    }
}

/// Every field of one event.
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
fn EventDetail(row: AuditRow, admin: bool) -> impl IntoView {
    let field = |name: &'static str, value: Option<String>| {
        value.map(|value| view! { <dt>{name}</dt><dd>{value}</dd> })
    };
    let code = |words: String, code: &str| format!("{words} ({code})");
    view! {
        <dl class="facts event-facts">
            {field("When", Some(format!("{} · Unix {}", zoned_time(row.at), row.at)))}
            {field(if admin { "Admin" } else { "User" }, Some(row.user.clone()).filter(|u| !u.is_empty()))}
            {if admin {
                field("Action", Some(code(words::action(&row.event), &row.event)))
            } else {
                field("Step", Some(code(words::step(&row.event), &row.event)))
            }}
            {(!admin).then(|| field("Outcome", Some(code(words::outcome(&row.outcome), &row.outcome))))}
            {if admin {
                let changed =
                    if words::targets_webhook(&row.event) { "Webhook" } else { "User changed" };
                field(changed, row.target.clone())
            } else {
                field("Reason", Some(code(words::reason(&row.reason), &row.reason)))
            }}
            {admin.then(|| words::change(&row.reason).into_iter().map(|(name, value)| view! {
                <dt>{name}</dt><dd class="change">{value}</dd>
            }).collect_view())}
            {field("Duo factor", row.factor.clone())}
            {field("Policy", row.policy.clone())}
            {field("Duo transaction", row.duo_txid.clone())}
            {field("Client address", row.client_ip.clone())}
            {field("Country", row.country.clone())}
            {(row.repeats > 0).then(|| field("Refused again", Some(format!("{} more times in the window", row.repeats))))}
        </dl>
    }
}
