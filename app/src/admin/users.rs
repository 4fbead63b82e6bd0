//! The users page: search, filters (role, state), order, paging, adding a
//! user, and each user's second factor, role, enabled state, password, Duo
//! username and sessions (the forms are in `accounts`; one user's page in
//! `user`). Every change that takes something away is confirmed first and
//! said in words after.

use gloo_net::http::Request;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{DuoPolicy, UserChange, UserChangeRequest, UserList, UserSummary, routes};
use shared::api::{Role, SessionInfo};

use super::accounts;
use super::api::{done, post_json, reply};
use super::confirm::{Ask, confirm};
use super::pager::{Pager, page_count};
use super::route::{Page, PageLink};
use crate::components::local_time;
use crate::messages::Problem;

/// What the users list asks for (`GET /api/admin/users`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct UsersQuery {
    /// Names containing it.
    pub search: String,
    /// Exactly this user.
    pub user: Option<String>,
    /// `admin`, `user` or empty.
    pub role: String,
    /// `enabled`, `disabled`, `held` or empty.
    pub state: String,
    /// `last_sign_in`, or empty for by name.
    pub sort: String,
    pub page: u32,
}

/// `GET /api/admin/users`.
pub(super) async fn fetch_users(query: &UsersQuery) -> Result<UserList, Problem> {
    let page = query.page.max(1).to_string();
    let mut pairs = vec![
        ("q", query.search.as_str()),
        ("role", query.role.as_str()),
        ("state", query.state.as_str()),
        ("sort", query.sort.as_str()),
        ("page", page.as_str()),
    ];
    if let Some(user) = &query.user {
        pairs.push(("user", user.as_str()));
    }
    let request = Request::get(&shared::api::routes::at(routes::USERS)).query(pairs);
    reply(request.send().await).await
}

/// `POST /api/admin/users/change`.
async fn send_change(username: String, change: UserChange) -> Result<(), Problem> {
    done(
        post_json(
            &shared::api::routes::at(routes::USER_CHANGE),
            &UserChangeRequest { username, change },
        )
        .await,
    )
    .await
}

/// The question before a change that takes something away, or `None`.
fn question(username: &str, change: &UserChange) -> Option<Ask> {
    match change {
        UserChange::Disabled(true) => Some(Ask::new(
            format!("Disable {username}?"),
            format!(
                "{username} will be signed out everywhere, their trusted browsers forgotten, \
                 and they cannot sign in until an admin enables them again."
            ),
            "Disable",
        )),
        UserChange::RevokeSessions => Some(Ask::new(
            format!("Sign {username} out everywhere?"),
            format!(
                "Every session of {username} ends now, in every browser and app behind the \
                 login; they can sign in again."
            ),
            "Sign out everywhere",
        )),
        UserChange::Role(Role::User) => Some(Ask::new(
            format!("Remove {username}'s admin role?"),
            format!(
                "{username} will no longer open this console or change anything in it; their \
                 account stays, as a user."
            ),
            "Remove admin role",
        )),
        UserChange::DuoPolicy(DuoPolicy::Bypass) => Some(Ask::new(
            format!("Let {username} in without Duo?"),
            format!(
                "{username} will sign in with the password alone: no second factor. Keep this \
                 for a break-glass account."
            ),
            "Let in without Duo",
        )),
        _ => None,
    }
}

/// What a change did, in words.
fn said(username: &str, change: &UserChange) -> String {
    match change {
        UserChange::Disabled(true) => {
            format!("{username} is disabled and was signed out everywhere.")
        }
        UserChange::Disabled(false) => format!("{username} is enabled: they can sign in again."),
        UserChange::RevokeSessions => format!("{username} was signed out everywhere."),
        UserChange::Role(Role::User) => format!("{username} is no longer an admin."),
        UserChange::Role(Role::Admin) => format!("{username} is now an admin."),
        UserChange::DuoPolicy(DuoPolicy::Bypass) => {
            format!("{username} now signs in with the password only, without Duo.")
        }
        UserChange::DuoPolicy(DuoPolicy::Required) => {
            format!("{username} now needs Duo after the password.")
        }
        UserChange::DuoUsername(Some(name)) => format!("Duo now knows {username} as {name}."),
        UserChange::DuoUsername(None) => format!("Duo now knows {username} by their username."),
        UserChange::ReleaseHold => {
            format!("{username}'s hold is released: they can sign in again.")
        }
    }
}

/// A user change as the pages run it: confirmed first where it takes
/// something away, sent (one at a time), said in `notice`, then `after`.
pub(super) struct Acting {
    pub run: Callback<(String, UserChange)>,
    pub busy: ReadSignal<bool>,
}

pub(super) fn acting(
    set_problem: WriteSignal<Option<Problem>>,
    set_notice: WriteSignal<Option<String>>,
    after: Callback<()>,
) -> Acting {
    let (busy, set_busy) = signal(false);
    let run = Callback::new(move |(username, change): (String, UserChange)| {
        if busy.get_untracked() {
            return;
        }
        set_busy.set(true);
        set_problem.set(None);
        set_notice.set(None);
        spawn_local(async move {
            if let Some(ask) = question(&username, &change)
                && !confirm(ask).await
            {
                set_busy.set(false);
                return;
            }
            let words = said(&username, &change);
            let outcome = send_change(username, change).await;
            set_busy.set(false);
            match outcome {
                Ok(()) => {
                    set_notice.set(Some(words));
                    after.run(());
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    Acting { run, busy }
}

/// The users page.
#[allow(
    clippy::too_many_lines,
    clippy::needless_pass_by_value,
    reason = "a Leptos component: one view, and its props are taken by value"
)]
#[component]
pub(super) fn UsersPage(
    admin: SessionInfo,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let query = RwSignal::new(UsersQuery { page: 1, ..UsersQuery::default() });
    let (list, set_list) = signal(None::<UserList>);
    let (notice, set_notice) = signal(None::<String>);
    let search_input = NodeRef::<html::Input>::new();
    let (role, state, sort) = (
        NodeRef::<html::Select>::new(),
        NodeRef::<html::Select>::new(),
        NodeRef::<html::Select>::new(),
    );
    let panel = RwSignal::new(None::<accounts::Panel>);
    let issued = RwSignal::new(None::<accounts::Issued>);

    let load = move || {
        let asked = query.get_untracked();
        set_list.set(None);
        spawn_local(async move {
            match fetch_users(&asked).await {
                Ok(users) => set_list.set(Some(users)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    load();
    let reload = Callback::new(move |()| {
        panel.set(None);
        load();
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
        set_notice.set(None);
        issued.set(Some(answer));
        load();
    });

    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let pick =
            |node: NodeRef<html::Select>| node.get().map(|el| el.value()).unwrap_or_default();
        query.set(UsersQuery {
            search: search_input.get().map(|el| el.value()).unwrap_or_default(),
            user: None,
            role: pick(role),
            state: pick(state),
            sort: pick(sort),
            page: 1,
        });
        load();
    };
    let pages = Signal::derive(move || list.get().map_or(1, |l| page_count(l.total, l.page_size)));
    let turn = Callback::new(move |by: i32| {
        query.update(|q| q.page = q.page.saturating_add_signed(by).max(1));
        load();
    });
    let me = admin.username.clone();

    view! {
            <p class="notice" role="status" id="users-notice">{move || notice.get()}</p>
            {move || list.get().filter(|l| l.held > 0).map(|l| view! {
                <p class="alert held-alert" role="alert" id="held-alert">
                    <strong>{if l.held == 1 { "1 account is on hold".to_owned() } else { format!("{} accounts are on hold", l.held) }}</strong>
                    " after a sign-in was reported as fraud in Duo. Its sessions and trusted browsers were ended. \
                     Ask the user whether the sign-in was theirs, have them change their password, then release the hold."
                </p>
            })}
            <accounts::IssuedBox issued />
            <div class="users-top">
                <form id="user-search" class="search filters" role="search" on:submit=on_search>
                    <label>"Search users"
                        <input id="search" type="search" node_ref=search_input placeholder="name or Duo username" /></label>
                    <label>"Role"
                        <select id="user-role" node_ref=role>
                            <option value="">"any"</option>
                            <option value="admin">"admin"</option>
                            <option value="user">"user"</option>
                        </select></label>
                    <label>"State"
                        <select id="user-state" node_ref=state>
                            <option value="">"any"</option>
                            <option value="enabled">"enabled"</option>
                            <option value="disabled">"disabled"</option>
                            <option value="held">"on hold"</option>
                        </select></label>
                    <label>"Order"
                        <select id="user-sort" node_ref=sort>
                            <option value="">"by name"</option>
                            <option value="last_sign_in">"last sign-in first"</option>
                        </select></label>
                    <button type="submit" class="secondary">"Search"</button>
                </form>
                <button type="button" class="primary" id="add-user-open"
                    on:click=move |_| open.run(accounts::Panel::Add)>"Add user"</button>
            </div>
            {move || panel.get().map(|shown| match shown {
                accounts::Panel::Add => view! { <accounts::AddUser close added=done set_problem /> }.into_any(),
                accounts::Panel::Reset(username) => {
                    view! { <accounts::ResetPassword username close reset=done set_problem /> }.into_any()
                }
                accounts::Panel::Duo(user) => view! { <accounts::DuoName user close save=act set_problem /> }.into_any(),
            })}
            <div class="table-wrap" tabindex="0">
                <table class="users" aria-busy=move || list.get().is_none().to_string()>
                    <caption class="muted">{move || match list.get() {
                        None => "Loading users…".to_owned(),
                        Some(l) if l.total == 1 => "1 user".to_owned(),
                        Some(l) => format!("{} users", l.total),
                    }}</caption>
                    <thead><tr>
                        <th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Second factor"</th>
                        <th scope="col">"Status"</th><th scope="col">"Last sign-in"</th><th scope="col">"Actions"</th>
                    </tr></thead>
                    <tbody>
                        {move || list.get().map(|l| {
                            if l.users.is_empty() {
                                return view! { <tr class="empty"><td colspan="6">"No user matches this search."</td></tr> }.into_any();
                            }
                            l.users.into_iter().map(|user| {
                                let own = user.username.eq_ignore_ascii_case(&me);
                                view! { <UserRow user own busy act open /> }
                            }).collect_view().into_any()
                        })}
                    </tbody>
                </table>
            </div>
            <Pager page=Signal::derive(move || query.get().page) pages turn id="users-pager" label="Pages of users" />
    }
}

/// A user's second factor and role, in words.
pub(super) fn factor_of(user: &UserSummary) -> &'static str {
    match user.duo_policy {
        DuoPolicy::Required => "Duo required",
        DuoPolicy::Bypass => "Password only (bypass)",
    }
}

/// One user's row: the name opens the user's page.
#[component]
fn UserRow(
    user: UserSummary,
    own: bool,
    busy: ReadSignal<bool>,
    act: Callback<(String, UserChange)>,
    open: Callback<accounts::Panel>,
) -> impl IntoView {
    let role = match user.role {
        Role::Admin => "admin",
        Role::User => "user",
    };
    let last = user.last_login_at.map_or_else(
        || "never".to_owned(),
        |at| format!("{} ({})", local_time(at), user.last_login_method.clone().unwrap_or_default()),
    );
    let duo_name = user.duo_username.clone().map(|d| format!(" · Duo: {d}"));
    let name = user.username.clone();
    let (key, to) = (user.username.clone(), Page::User(user.username.clone()));
    let (factor, state) = (factor_of(&user), user.clone());
    view! {
        <tr data-user=key>
            <th scope="row" class="username">
                <PageLink to>{name}</PageLink>
                <span class="muted">{duo_name}</span>
            </th>
            <td class="role">{role}</td>
            <td class="factor">{factor}</td>
            <td class="state"><UserState user=state /></td>
            <td class="last">{last}</td>
            <td><UserActions user own busy act open /></td>
        </tr>
    }
}

/// Enabled or disabled, and on hold.
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
pub(super) fn UserState(user: UserSummary) -> impl IntoView {
    view! {
        {if user.disabled { "disabled" } else { "enabled" }}
        {user.held_at.map(|at| view! {
            <span class="badge held" title=format!("Reported as fraud {}", local_time(at))>
                "on hold: fraud reported"
            </span>
        })}
    }
}

/// What an admin can do to a user (none that would lock oneself out).
#[allow(clippy::needless_pass_by_value, reason = "a Leptos component's props are taken by value")]
#[component]
pub(super) fn UserActions(
    user: UserSummary,
    own: bool,
    busy: ReadSignal<bool>,
    act: Callback<(String, UserChange)>,
    open: Callback<accounts::Panel>,
) -> impl IntoView {
    let name = user.username.clone();
    let run = move |change: UserChange| act.run((name.clone(), change));
    let (other_policy, policy_label) = match user.duo_policy {
        DuoPolicy::Required => (DuoPolicy::Bypass, "Let in without Duo"),
        DuoPolicy::Bypass => (DuoPolicy::Required, "Require Duo"),
    };
    let (other_role, role_label) = match user.role {
        Role::Admin => (Role::User, "Make user"),
        Role::User => (Role::Admin, "Make admin"),
    };
    let (run1, run2, run3, run4, run5) = (run.clone(), run.clone(), run.clone(), run.clone(), run);
    let held = user.held_at.is_some();
    let disabled = user.disabled;
    let (reset_whom, duo_of) = (user.username.clone(), user.clone());
    view! {
        <div class="row-actions">
            {held.then(|| view! {
                <button type="button" class="primary small" data-action="release" disabled=move || busy.get()
                    on:click=move |_| run5(UserChange::ReleaseHold)>
                    "Release hold"
                </button>
            })}
            <button type="button" class="secondary small" data-action="policy" disabled=move || busy.get()
                on:click=move |_| run1(UserChange::DuoPolicy(other_policy))>
                {policy_label}
            </button>
            {(!own).then(|| view! {
                <button type="button" class="secondary small" data-action="role" disabled=move || busy.get()
                    on:click=move |_| run2(UserChange::Role(other_role))>
                    {role_label}
                </button>
                <button type="button" class="secondary small" data-action="disable" disabled=move || busy.get()
                    on:click=move |_| run3(UserChange::Disabled(!disabled))>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
            })}
            <button type="button" class="secondary small" data-action="revoke" disabled=move || busy.get()
                on:click=move |_| run4(UserChange::RevokeSessions)>
                "Sign out everywhere"
            </button>
            {(!own).then(|| view! {
                <button type="button" class="secondary small" data-action="reset"
                    on:click=move |_| open.run(accounts::Panel::Reset(reset_whom.clone()))>"Reset password"</button>
            })}
            <button type="button" class="secondary small" data-action="duo-name"
                on:click=move |_| open.run(accounts::Panel::Duo(duo_of.clone()))>"Duo username"</button>
        </div>
    }
}
