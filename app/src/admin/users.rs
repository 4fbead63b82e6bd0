//! The users page: search, paging, adding a user, and each user's second
//! factor, role, enabled state, password, Duo username and sessions (the
//! forms are in `accounts`).

use gloo_net::http::Request;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{DuoPolicy, UserChange, UserChangeRequest, UserList, UserSummary, routes};
use shared::api::{Role, SessionInfo};

use super::accounts;
use super::api::{done, post_json, reply};
use crate::components::local_time;
use crate::messages::Problem;

/// `GET /api/admin/users`.
async fn fetch_users(search: &str, page: u32) -> Result<UserList, Problem> {
    let page = page.to_string();
    let request = Request::get(&shared::api::routes::at(routes::USERS))
        .query([("q", search), ("page", page.as_str())]);
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
    let (search, set_search) = signal(String::new());
    let (page, set_page) = signal(1_u32);
    let (list, set_list) = signal(None::<UserList>);
    let (busy, set_busy) = signal(false);
    let (notice, set_notice) = signal(None::<String>);
    let search_input = NodeRef::<html::Input>::new();
    let panel = RwSignal::new(None::<accounts::Panel>);
    let issued = RwSignal::new(None::<accounts::Issued>);

    let load = move || {
        let (query, at) = (search.get_untracked(), page.get_untracked());
        spawn_local(async move {
            match fetch_users(&query, at).await {
                Ok(users) => set_list.set(Some(users)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    load();

    let act = Callback::new(move |(username, change, done): (String, UserChange, String)| {
        if busy.get_untracked() {
            return;
        }
        set_busy.set(true);
        set_problem.set(None);
        set_notice.set(None);
        spawn_local(async move {
            let outcome = send_change(username, change).await;
            set_busy.set(false);
            match outcome {
                Ok(()) => {
                    set_notice.set(Some(done));
                    panel.set(None);
                    load();
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
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
        if let Some(el) = search_input.get() {
            set_search.set(el.value());
        }
        set_page.set(1);
        load();
    };
    let pages = move || list.get().map_or(1, |l| l.total.div_ceil(l.page_size).max(1));
    // (Comparisons stay out of `view!`, whose parser reads `<` and `>` as tags.)
    let first_page = move || page.get() <= 1;
    let last_page = move || page.get() >= pages();
    let me = admin.username.clone();

    view! {
            <p class="notice" role="status">{move || notice.get()}</p>
            {move || list.get().filter(|l| l.held > 0).map(|l| view! {
                <p class="alert held-alert" role="alert" id="held-alert">
                    <strong>{if l.held == 1 { "1 account is on hold".to_owned() } else { format!("{} accounts are on hold", l.held) }}</strong>
                    " after a sign-in was reported as fraud in Duo. Its sessions and trusted browsers were ended. \
                     Ask the user whether the sign-in was theirs, have them change their password, then release the hold."
                </p>
            })}
            <accounts::IssuedBox issued />
            <div class="users-top">
                <form id="user-search" class="search" role="search" on:submit=on_search>
                    <label for="search">"Search users"</label>
                    <input id="search" type="search" node_ref=search_input placeholder="name or Duo username" />
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
            <div class="table-wrap">
                <table class="users">
                    <caption class="muted">{move || list.get().map(|l| format!("{} users", l.total))}</caption>
                    <thead><tr>
                        <th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Second factor"</th>
                        <th scope="col">"Status"</th><th scope="col">"Last sign-in"</th><th scope="col">"Actions"</th>
                    </tr></thead>
                    <tbody>
                        {move || list.get().map(|l| l.users.into_iter().map(|user| {
                            let own = user.username.eq_ignore_ascii_case(&me);
                            view! { <UserRow user own busy act open /> }
                        }).collect_view())}
                    </tbody>
                </table>
            </div>
            <nav class="pager" aria-label="Pages">
                <button type="button" class="secondary" id="previous"
                    disabled=first_page
                    on:click=move |_| { set_page.update(|p| *p = p.saturating_sub(1).max(1)); load(); }>
                    "Previous"
                </button>
                <span>{move || format!("Page {} of {}", page.get(), pages())}</span>
                <button type="button" class="secondary" id="next"
                    disabled=last_page
                    on:click=move |_| { set_page.update(|p| *p += 1); load(); }>
                    "Next"
                </button>
            </nav>
    }
}

/// One user's row and its actions (none that would lock oneself out).
#[component]
fn UserRow(
    user: UserSummary,
    own: bool,
    busy: ReadSignal<bool>,
    act: Callback<(String, UserChange, String)>,
    open: Callback<accounts::Panel>,
) -> impl IntoView {
    let name = user.username.clone();
    let run = move |change: UserChange, done: String| act.run((name.clone(), change, done));
    let who = user.username.clone();
    let (factor, other_policy, policy_label) = match user.duo_policy {
        DuoPolicy::Required => ("Duo required", DuoPolicy::Bypass, "Let in without Duo"),
        DuoPolicy::Bypass => ("Password only (bypass)", DuoPolicy::Required, "Require Duo"),
    };
    let (role, other_role, role_label) = match user.role {
        Role::Admin => ("admin", Role::User, "Make user"),
        Role::User => ("user", Role::Admin, "Make admin"),
    };
    let last = user.last_login_at.map_or_else(
        || "never".to_owned(),
        |at| format!("{} ({})", local_time(at), user.last_login_method.clone().unwrap_or_default()),
    );
    let duo_name = user.duo_username.clone().map(|d| format!(" · Duo: {d}"));
    let (run1, run2, run3, run5) = (run.clone(), run.clone(), run.clone(), run.clone());
    let run4 = run;
    let held = user.held_at.is_some();
    let (reset_whom, duo_of) = (user.username.clone(), user.clone());
    let (w1, w2, w3, w4, w5) = (who.clone(), who.clone(), who.clone(), who.clone(), who.clone());
    view! {
        <tr data-user=user.username.clone()>
            <th scope="row" class="username">{user.username.clone()}<span class="muted">{duo_name}</span></th>
            <td class="role">{role}</td>
            <td class="factor">{factor}</td>
            <td class="state">
                {if user.disabled { "disabled" } else { "enabled" }}
                {user.held_at.map(|at| view! {
                    <span class="badge held" title=format!("Reported as fraud {}", local_time(at))>
                        "on hold: fraud reported"
                    </span>
                })}
            </td>
            <td class="last">{last}</td>
            <td><div class="row-actions">
                {held.then(|| view! {
                    <button type="button" class="primary small" data-action="release" disabled=move || busy.get()
                        on:click=move |_| run5(UserChange::ReleaseHold,
                            format!("{w5}'s hold is released: they can sign in again."))>
                        "Release hold"
                    </button>
                })}
                <button type="button" class="secondary small" data-action="policy" disabled=move || busy.get()
                    on:click=move |_| run1(UserChange::DuoPolicy(other_policy), format!("{w1}: {policy_label}."))>
                    {policy_label}
                </button>
                {(!own).then(|| view! {
                    <button type="button" class="secondary small" data-action="role" disabled=move || busy.get()
                        on:click=move |_| run2(UserChange::Role(other_role), format!("{w2}: {role_label}."))>
                        {role_label}
                    </button>
                    <button type="button" class="secondary small" data-action="disable" disabled=move || busy.get()
                        on:click=move |_| run3(UserChange::Disabled(!user.disabled),
                            format!("{w3} {}.", if user.disabled { "enabled" } else { "disabled, signed out everywhere" }))>
                        {if user.disabled { "Enable" } else { "Disable" }}
                    </button>
                })}
                <button type="button" class="secondary small" data-action="revoke" disabled=move || busy.get()
                    on:click=move |_| run4(UserChange::RevokeSessions, format!("{w4} signed out everywhere."))>
                    "Sign out everywhere"
                </button>
                {(!own).then(|| view! {
                    <button type="button" class="secondary small" data-action="reset"
                        on:click=move |_| open.run(accounts::Panel::Reset(reset_whom.clone()))>"Reset password"</button>
                })}
                <button type="button" class="secondary small" data-action="duo-name"
                    on:click=move |_| open.run(accounts::Panel::Duo(duo_of.clone()))>"Duo username"</button>
            </div></td>
        </tr>
    }
}
