//! The sessions page: the live sessions (whose, how, in which browser,
//! from where, started, last active, until when; end one) and, below them,
//! the trusted browsers (forget one). A user's page shows the same lists
//! for that user alone. Both are paged on the server; ending and
//! forgetting are confirmed first.

use gloo_net::http::Request;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{RememberedList, SessionList, SessionRevokeRequest, SessionSummary, routes};

use super::api::{done, post_json, reply};
use super::confirm::{Ask, confirm};
use super::pager::{Pager, page_count};
use super::route::{Page, PageLink};
use super::time::when;
use crate::messages::Problem;

/// `GET` a console list: `q` (names containing it) or `user` (exactly).
async fn fetch_list<T: serde::de::DeserializeOwned>(
    path: &str,
    search: &str,
    user: Option<&str>,
    page: u32,
    more: &[(&str, String)],
) -> Result<T, Problem> {
    let page = page.to_string();
    let mut pairs = vec![("q", search), ("page", page.as_str())];
    pairs.extend(more.iter().map(|(name, value)| (*name, value.as_str())));
    if let Some(user) = user {
        pairs.push(("user", user));
    }
    reply(Request::get(&shared::api::routes::at(path)).query(pairs).send().await).await
}

/// `POST` an id (`/sessions/revoke`, `/remembered/forget`).
async fn post_id(path: &str, id: String) -> Result<(), Problem> {
    done(post_json(&shared::api::routes::at(path), &SessionRevokeRequest { id }).await).await
}

/// The live sessions (of `user` alone, on a user's page).
#[allow(
    clippy::needless_pass_by_value,
    clippy::too_many_lines,
    reason = "a Leptos component: one view, and its props are taken by value"
)]
#[component]
pub(super) fn SessionsPage(
    user: Option<String>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (list, set_list) = signal(None::<SessionList>);
    let (search, set_search) = signal(String::new());
    let (filters, set_filters) = signal(Vec::<(&'static str, String)>::new());
    let page = RwSignal::new(1_u32);
    let (notice, set_notice) = signal(None::<String>);
    let input = NodeRef::<html::Input>::new();
    let (method, order) = (NodeRef::<html::Select>::new(), NodeRef::<html::Select>::new());
    let whose = user.clone();
    let load = Callback::new(move |()| {
        let (query, at, whose) = (search.get_untracked(), page.get_untracked(), whose.clone());
        let more = filters.get_untracked();
        set_list.set(None);
        spawn_local(async move {
            match fetch_list(routes::SESSIONS, &query, whose.as_deref(), at, &more).await {
                Ok(sessions) => set_list.set(Some(sessions)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    load.run(());
    let end = Callback::new(move |session: SessionSummary| {
        set_notice.set(None);
        spawn_local(async move {
            let who = session.username.clone();
            let ask = Ask::new(
                format!("End this session of {who}?"),
                format!(
                    "{who} is signed out in {} at once (and in the apps behind the login within \
                     a minute); they can sign in again.",
                    session.user_agent.as_deref().unwrap_or("that browser")
                ),
                "End session",
            );
            if !confirm(ask).await {
                return;
            }
            match post_id(routes::SESSION_REVOKE, session.id).await {
                Ok(()) => {
                    set_notice.set(Some(format!("The session of {who} was ended.")));
                    load.run(());
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(el) = input.get() {
            set_search.set(el.value());
        }
        let pick =
            |node: NodeRef<html::Select>| node.get().map(|el| el.value()).unwrap_or_default();
        set_filters.set(vec![("method", pick(method)), ("sort", pick(order))]);
        page.set(1);
        load.run(());
    };
    let pages = Signal::derive(move || list.get().map_or(1, |l| page_count(l.total, l.page_size)));
    let turn = Callback::new(move |by: i32| {
        page.update(|p| *p = p.saturating_add_signed(by).max(1));
        load.run(());
    });
    let all = user.is_none();
    view! {
        <h2 class:visually-hidden=all>"Sessions"</h2>
        <p class="notice" role="status" id="sessions-notice">{move || notice.get()}</p>
        {all.then(|| view! {
            <form id="session-search" class="search filters" role="search" on:submit=on_search>
                <label>"User" <input id="session-q" type="search" node_ref=input placeholder="name" /></label>
                <label>"How"
                    <select id="session-method" node_ref=method>
                        <option value="">"any"</option>
                        <option value="duo">"Duo"</option>
                        <option value="bypass">"password only (bypass)"</option>
                        <option value="fail_open">"fail-open (Duo unreachable)"</option>
                        <option value="remembered">"trusted browser"</option>
                    </select></label>
                <label>"Order"
                    <select id="session-sort" node_ref=order>
                        <option value="">"newest first"</option>
                        <option value="last_active">"last active first"</option>
                    </select></label>
                <button type="submit" class="secondary">"Search"</button>
            </form>
        })}
        <div class="table-wrap" tabindex="0">
            <table class="users sessions" aria-busy=move || list.get().is_none().to_string()>
                <caption class="muted">{move || match list.get() {
                    None => "Loading sessions…".to_owned(),
                    Some(l) if l.total == 1 => "1 live session".to_owned(),
                    Some(l) => format!("{} live sessions", l.total),
                }}</caption>
                <thead><tr>
                    <th scope="col">"User"</th><th scope="col">"How"</th><th scope="col">"Browser"</th>
                    <th scope="col">"From"</th><th scope="col">"Started"</th><th scope="col">"Last active"</th>
                    <th scope="col">"Ends"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {move || list.get().map(|l| {
                        if l.sessions.is_empty() {
                            return view! { <tr class="empty"><td colspan="8">"No live session."</td></tr> }.into_any();
                        }
                        l.sessions.into_iter().map(|s| view! { <SessionRow session=s end /> }).collect_view().into_any()
                    })}
                </tbody>
            </table>
        </div>
        <Pager page pages turn id="sessions-pager" label="Pages of sessions" />
    }
}

/// How a session was made, in words.
fn how(session: &SessionSummary) -> String {
    match (session.method.as_str(), session.factor.as_deref()) {
        ("duo", Some(factor)) => format!("Duo: {}", crate::messages::factor_label(factor)),
        (method, _) => super::words::method_of_session(method),
    }
}

/// An address and its country.
fn from(ip: Option<&str>, country: Option<&str>) -> String {
    match (ip, country) {
        (Some(ip), Some(country)) => format!("{ip} ({country})"),
        (Some(ip), None) => ip.to_owned(),
        (None, Some(country)) => country.to_owned(),
        (None, None) => "—".to_owned(),
    }
}

#[component]
fn SessionRow(session: SessionSummary, end: Callback<SessionSummary>) -> impl IntoView {
    let device = session.device.clone().map(|d| view! { <span class="muted">{d}</span> });
    let ended = session.clone();
    let name = session.username.clone();
    view! {
        <tr data-session-of=session.username.clone()>
            <th scope="row"><PageLink to=Page::User(session.username.clone())>{name}</PageLink></th>
            <td>{how(&session)}{device}</td>
            <td class="browser">{session.user_agent.clone().unwrap_or_else(|| "—".into())}</td>
            <td>{from(session.client_ip.as_deref(), session.country.as_deref())}</td>
            <td>{when(session.created_at)}</td>
            <td class="last-active">{when(session.last_seen_at)}</td>
            <td>{when(session.expires_at)}</td>
            <td><button type="button" class="secondary small" data-action="end"
                on:click=move |_| end.run(ended.clone())>"End"</button></td>
        </tr>
    }
}

/// The browsers users trusted after a Duo sign-in (of `user` alone, on a
/// user's page): whose, which, from where, until when; forget one.
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
pub(super) fn TrustedBrowsers(
    user: Option<String>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (list, set_list) = signal(None::<RememberedList>);
    let page = RwSignal::new(1_u32);
    let by_use = RwSignal::new(false);
    let (notice, set_notice) = signal(None::<String>);
    let whose = user.clone();
    let load = Callback::new(move |()| {
        let (at, whose) = (page.get_untracked(), whose.clone());
        let order =
            if by_use.get_untracked() { vec![("sort", "last_used".to_owned())] } else { vec![] };
        spawn_local(async move {
            match fetch_list(routes::REMEMBERED, "", whose.as_deref(), at, &order).await {
                Ok(found) => set_list.set(Some(found)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    load.run(());
    let forget = move |id: String, who: String, browser: String| {
        set_notice.set(None);
        spawn_local(async move {
            let ask = Ask::new(
                format!("Forget this browser of {who}?"),
                format!("{who}'s {browser} will ask for Duo again at the next sign-in."),
                "Forget browser",
            );
            if !confirm(ask).await {
                return;
            }
            match post_id(routes::REMEMBERED_FORGET, id).await {
                Ok(()) => {
                    set_notice.set(Some(format!("{who}'s {browser} is no longer trusted.")));
                    load.run(());
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    let pages = Signal::derive(move || list.get().map_or(1, |l| page_count(l.total, l.page_size)));
    let turn = Callback::new(move |by: i32| {
        page.update(|p| *p = p.saturating_add_signed(by).max(1));
        load.run(());
    });
    view! {
        <h2>"Trusted browsers"</h2>
        <p class="notice" role="status" id="browsers-notice">{move || notice.get()}</p>
        <label class="order">"Order "
            <select id="browsers-sort" on:change=move |ev| {
                by_use.set(event_target_value(&ev) == "last_used");
                page.set(1);
                load.run(());
            }>
                <option value="">"newest first"</option>
                <option value="last_used">"last used first"</option>
            </select></label>
        <div class="table-wrap" tabindex="0">
            <table class="users" id="trusted-browsers" aria-busy=move || list.get().is_none().to_string()>
                <caption class="muted">{move || match list.get() {
                    None => "Loading trusted browsers…".to_owned(),
                    Some(l) if l.total == 1 => "1 browser skips Duo until its date".to_owned(),
                    Some(l) => format!("{} browsers skip Duo until their date", l.total),
                }}</caption>
                <thead><tr>
                    <th scope="col">"User"</th><th scope="col">"Browser"</th><th scope="col">"From"</th>
                    <th scope="col">"Trusted"</th><th scope="col">"Until"</th><th scope="col">"Last used"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {move || list.get().map(|l| {
                        if l.browsers.is_empty() {
                            return view! { <tr class="empty"><td colspan="7">"No trusted browser."</td></tr> }.into_any();
                        }
                        l.browsers.into_iter().map(|b| {
                            let (id, who) = (b.id.clone(), b.username.clone());
                            let browser = b.user_agent.clone().unwrap_or_else(|| "browser".into());
                            let name = b.username.clone();
                            view! {
                                <tr data-browser-of=b.username.clone()>
                                    <th scope="row"><PageLink to=Page::User(b.username.clone())>{name}</PageLink></th>
                                    <td>{b.user_agent.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td>{b.client_ip.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td>{when(b.created_at)}</td>
                                    <td>{when(b.expires_at)}</td>
                                    <td>{b.last_used_at.map_or_else(|| "never".to_owned(), when)}</td>
                                    <td><button type="button" class="secondary small" data-action="forget"
                                        on:click=move |_| forget(id.clone(), who.clone(), browser.clone())>"Forget"</button></td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    })}
                </tbody>
            </table>
        </div>
        <Pager page pages turn id="browsers-pager" label="Pages of trusted browsers" />
    }
}
