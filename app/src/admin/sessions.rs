//! The sessions page: the live sessions (whose, how, from where, until
//! when; end one) and, below them, the trusted browsers (forget one).

use gloo_net::http::Request;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{RememberedList, SessionList, SessionRevokeRequest, SessionSummary, routes};

use super::api::{done, post_json, reply};
use crate::components::local_time;
use crate::messages::Problem;

/// `GET /api/admin/sessions`.
async fn fetch_sessions(search: &str, page: u32) -> Result<SessionList, Problem> {
    let page = page.to_string();
    let request = Request::get(&shared::api::routes::at(routes::SESSIONS))
        .query([("q", search), ("page", page.as_str())]);
    reply(request.send().await).await
}

/// `POST /api/admin/sessions/revoke`.
async fn end_session(id: String) -> Result<(), Problem> {
    done(
        post_json(&shared::api::routes::at(routes::SESSION_REVOKE), &SessionRevokeRequest { id })
            .await,
    )
    .await
}

/// The live sessions: whose, how, from where, until when; end one.
#[component]
pub(super) fn SessionsPage(set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
    let (list, set_list) = signal(None::<SessionList>);
    let (search, set_search) = signal(String::new());
    let (notice, set_notice) = signal(None::<String>);
    let input = NodeRef::<html::Input>::new();
    let load = move || {
        let query = search.get_untracked();
        spawn_local(async move {
            match fetch_sessions(&query, 1).await {
                Ok(sessions) => set_list.set(Some(sessions)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    load();
    let end = Callback::new(move |(id, who): (String, String)| {
        set_notice.set(None);
        spawn_local(async move {
            match end_session(id).await {
                Ok(()) => {
                    set_notice.set(Some(format!("A session of {who} was ended.")));
                    load();
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
        load();
    };
    view! {
        <p class="notice" role="status">{move || notice.get()}</p>
        <form id="session-search" class="search" role="search" on:submit=on_search>
            <label for="session-q">"Search sessions by user"</label>
            <input id="session-q" type="search" node_ref=input />
            <button type="submit" class="secondary">"Search"</button>
        </form>
        <div class="table-wrap">
            <table class="users sessions">
                <caption class="muted">{move || list.get().map(|l| format!("{} live sessions", l.total))}</caption>
                <thead><tr>
                    <th scope="col">"User"</th><th scope="col">"How"</th><th scope="col">"Device"</th>
                    <th scope="col">"Client"</th><th scope="col">"Started"</th><th scope="col">"Ends"</th><th scope="col"></th>
                </tr></thead>
                <tbody>
                    {move || list.get().map(|l| l.sessions.into_iter().map(|s| view! { <SessionRow session=s end /> }).collect_view())}
                </tbody>
            </table>
        </div>
    }
}

/// `GET /api/admin/remembered`.
async fn fetch_remembered() -> Result<RememberedList, Problem> {
    reply(Request::get(&shared::api::routes::at(routes::REMEMBERED)).send().await).await
}

/// `POST /api/admin/remembered/forget`.
async fn forget_browser(id: String) -> Result<(), Problem> {
    done(
        post_json(
            &shared::api::routes::at(routes::REMEMBERED_FORGET),
            &SessionRevokeRequest { id },
        )
        .await,
    )
    .await
}

/// The browsers users trusted after a Duo sign-in: whose, which, from
/// where, until when; forget one.
#[component]
pub(super) fn TrustedBrowsers(set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
    let (list, set_list) = signal(None::<RememberedList>);
    let load = move || {
        spawn_local(async move {
            match fetch_remembered().await {
                Ok(found) => set_list.set(Some(found)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    load();
    let forget = move |id: String| {
        spawn_local(async move {
            match forget_browser(id).await {
                Ok(()) => load(),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    view! {
        <h2>"Trusted browsers"</h2>
        <div class="table-wrap">
            <table class="users" id="trusted-browsers">
                <caption class="muted">{move || list.get().map(|l| format!("{} browsers skip Duo until their date", l.total))}</caption>
                <thead><tr>
                    <th scope="col">"User"</th><th scope="col">"Browser"</th><th scope="col">"From"</th>
                    <th scope="col">"Trusted"</th><th scope="col">"Until"</th><th scope="col">"Last used"</th><th scope="col"></th>
                </tr></thead>
                <tbody>
                    {move || list.get().map(|l| l.browsers.into_iter().map(|b| {
                        let id = b.id.clone();
                        view! {
                            <tr data-browser-of=b.username.clone()>
                                <th scope="row">{b.username.clone()}</th>
                                <td>{b.user_agent.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{b.client_ip.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{local_time(b.created_at)}</td>
                                <td>{local_time(b.expires_at)}</td>
                                <td>{b.last_used_at.map_or_else(|| "never".to_owned(), local_time)}</td>
                                <td><button type="button" class="secondary small" data-action="forget"
                                    on:click=move |_| forget(id.clone())>"Forget"</button></td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn SessionRow(session: SessionSummary, end: Callback<(String, String)>) -> impl IntoView {
    let how = match (session.method.as_str(), session.factor.clone()) {
        ("duo", Some(factor)) => format!("Duo: {factor}"),
        ("bypass", _) => "password only (bypass)".to_owned(),
        ("fail_open", _) => "password only (Duo was unreachable)".to_owned(),
        ("remembered", _) => "password, from a trusted browser".to_owned(),
        (other, _) => other.to_owned(),
    };
    let (id, who) = (session.id.clone(), session.username.clone());
    view! {
        <tr data-session-of=session.username.clone()>
            <th scope="row">{session.username.clone()}</th>
            <td>{how}</td>
            <td>{session.device.clone().unwrap_or_else(|| "—".into())}</td>
            <td>{session.client_ip.clone().unwrap_or_else(|| "—".into())}</td>
            <td>{local_time(session.created_at)}</td>
            <td>{local_time(session.expires_at)}</td>
            <td><button type="button" class="secondary small" data-action="end"
                on:click=move |_| end.run((id.clone(), who.clone()))>"End"</button></td>
        </tr>
    }
}
