//! One user's page (`/admin/users/<name>`): who they are (role, second
//! factor, state, Duo username, since when, last sign-in), what an admin can
//! do to them, the devices Duo reports for them (asked on demand), their
//! live sessions, their trusted browsers and their recent sign-ins.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{
    AuditList, AuditLog, AuditQuery, DuoUserCheck, DuoUserCheckRequest, UserSummary,
};
use shared::api::{Role, SessionInfo};

use super::accounts;
use super::audit::{AuditLine, fetch_audit};
use super::route::{Page, PageLink};
use super::sessions::{SessionsPage, TrustedBrowsers};
use super::time::when;
use super::users::{Acting, UserActions, UserState, UsersQuery, acting, factor_of, fetch_users};
use crate::messages::Problem;

/// What the page knows of the user.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Loading,
    Missing,
    User(Box<UserSummary>),
}

/// The page.
#[allow(
    clippy::too_many_lines,
    clippy::needless_pass_by_value,
    reason = "a Leptos component: one view, and its props are taken by value"
)]
#[component]
pub(super) fn UserPage(
    username: String,
    admin: SessionInfo,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (found, set_found) = signal(Found::Loading);
    let (notice, set_notice) = signal(None::<String>);
    let panel = RwSignal::new(None::<accounts::Panel>);
    let issued = RwSignal::new(None::<accounts::Issued>);
    let whom = username.clone();
    let load = Callback::new(move |()| {
        let query = UsersQuery { user: Some(whom.clone()), page: 1, ..UsersQuery::default() };
        spawn_local(async move {
            match fetch_users(&query).await {
                Ok(list) => set_found.set(
                    list.users
                        .into_iter()
                        .next()
                        .map_or(Found::Missing, |u| Found::User(Box::new(u))),
                ),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    load.run(());
    let reload = Callback::new(move |()| {
        panel.set(None);
        load.run(());
    });
    let Acting { run: act, busy } = acting(set_problem, set_notice, reload);
    let close = Callback::new(move |()| panel.set(None));
    let open = Callback::new(move |to: accounts::Panel| {
        set_problem.set(None);
        set_notice.set(None);
        issued.set(None);
        panel.set(Some(to));
    });
    let done = Callback::new(move |answer: accounts::Issued| {
        panel.set(None);
        issued.set(Some(answer));
        load.run(());
    });
    let own = username.eq_ignore_ascii_case(&admin.username);
    let title = username.clone();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <PageLink to=Page::Users>"Users"</PageLink> " / " <span aria-current="page">{username.clone()}</span>
        </nav>
        <h2 id="user-title">{title}</h2>
        <p class="notice" role="status" id="user-notice">{move || notice.get()}</p>
        <accounts::IssuedBox issued />
        {move || match found.get() {
            Found::Loading => view! { <p class="muted" aria-busy="true">"Loading…"</p> }.into_any(),
            Found::Missing => view! {
                <p class="status error" id="no-such-user">"There is no user by this name. They may have been removed."</p>
            }.into_any(),
            Found::User(user) => {
                let user = *user;
                let role = match user.role { Role::Admin => "admin", Role::User => "user" };
                let last = user.last_login_at.map_or_else(|| "never".to_owned(), |at| {
                    format!("{} · {}", when(at), user.last_login_method.clone().unwrap_or_default())
                });
                view! {
                    <dl class="facts" id="user-facts">
                        <dt>"Role"</dt><dd class="role">{role}</dd>
                        <dt>"Second factor"</dt><dd class="factor">{factor_of(&user)}</dd>
                        <dt>"Status"</dt><dd class="state"><UserState user=user.clone() /></dd>
                        <dt>"Duo username"</dt>
                        <dd>{user.duo_username.clone().unwrap_or_else(|| format!("{} (the username)", user.username))}</dd>
                        <dt>"Added"</dt><dd>{if user.created_at > 0 { when(user.created_at) } else { "before the console".to_owned() }}</dd>
                        <dt>"Last sign-in"</dt><dd class="last">{last}</dd>
                    </dl>
                    <UserActions user=user.clone() own busy act open />
                    <DuoDevices username=user.username.clone() set_problem />
                }.into_any()
            }
        }}
        {move || panel.get().map(|shown| match shown {
            accounts::Panel::Add => ().into_any(),
            accounts::Panel::Reset(username) => {
                view! { <accounts::ResetPassword username close reset=done set_problem /> }.into_any()
            }
            accounts::Panel::Duo(user) => view! { <accounts::DuoName user close save=act set_problem /> }.into_any(),
        })}
        <SessionsPage user=Some(username.clone()) set_problem />
        <TrustedBrowsers user=Some(username.clone()) set_problem />
        <RecentSignIns username set_problem />
    }
}

/// The devices and state Duo reports for the user, asked on demand (a
/// `preauth` through the Auth API where it is configured).
#[component]
fn DuoDevices(username: String, set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
    let (result, set_result) = signal(None::<DuoUserCheck>);
    let (busy, set_busy) = signal(false);
    let ask = move |_| {
        let request = DuoUserCheckRequest { username: username.clone(), duo_username: None };
        accounts::check_with_duo(request, set_busy, set_result, set_problem);
    };
    view! {
        <section class="duo-devices" aria-labelledby="duo-devices-title">
            <h3 id="duo-devices-title">"In Duo"</h3>
            <button type="button" class="secondary small" id="duo-devices-ask" disabled=move || busy.get() on:click=ask>
                {move || if busy.get() { "Asking Duo…" } else { "Ask Duo for their devices" }}
            </button>
            <div id="duo-devices-result" role="status" aria-live="polite">
                {move || result.get().map(|check| view! { <accounts::CheckResult check /> })}
            </div>
        </section>
    }
}

/// The user's newest sign-in events.
#[component]
fn RecentSignIns(username: String, set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
    let (list, set_list) = signal(None::<AuditList>);
    let query = AuditQuery {
        log: AuditLog::SignIns,
        user: username.trim().to_ascii_lowercase(),
        page: 1,
        ..AuditQuery::default()
    };
    spawn_local(async move {
        match fetch_audit(&query).await {
            Ok(rows) => set_list.set(Some(rows)),
            Err(p) => set_problem.set(Some(p)),
        }
    });
    view! {
        <h2>"Recent sign-ins"</h2>
        <div class="table-wrap" tabindex="0">
            <table class="users audit" id="user-events" aria-busy=move || list.get().is_none().to_string()>
                <caption class="muted">{move || match list.get() {
                    None => "Loading events…".to_owned(),
                    Some(l) => format!("The newest {} of {} events", l.rows.len(), l.total),
                }}</caption>
                <thead><tr>
                    <th scope="col">"Time"</th><th scope="col">"User"</th><th scope="col">"Step"</th>
                    <th scope="col">"Outcome"</th><th scope="col">"Reason"</th><th scope="col">"Policy"</th>
                    <th scope="col">"Client"</th>
                </tr></thead>
                <tbody>
                    {move || list.get().map(|l| {
                        if l.rows.is_empty() {
                            return view! { <tr class="empty"><td colspan="7">"No sign-in yet."</td></tr> }.into_any();
                        }
                        l.rows.into_iter().map(|row| view! { <AuditLine row admin=false /> }).collect_view().into_any()
                    })}
                </tbody>
            </table>
        </div>
    }
}
