//! The admin console (`/admin/`, its own wasm): for sessions whose account
//! has the `admin` role. The Worker checks the role on every request; this
//! page only decides what to show. The users page: search, paging, adding a
//! user, and each user's second factor, role, enabled state, password, Duo
//! username and sessions (the forms are in `accounts`); the sessions
//! page; the audit-log page (`audit`); the sign-in policies (`policies`);
//! the Duo provider page and the banners saying Duo is off (`provider`).

use gloo_net::http::{Request, Response};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::admin::{
    DuoPolicy, RememberedList, SessionList, SessionRevokeRequest, SessionSummary, UserChange,
    UserChangeRequest, UserList, UserSummary, routes,
};
use shared::api::{Role, SessionInfo};
use shared::{ErrorBody, ErrorCode};

use crate::components::{ProblemBox, local_time};

mod accounts;
mod audit;
mod policies;
mod provider;
use crate::messages::Problem;

/// Mounts the console on `<body>`. Called once by the `admin` binary.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(AdminApp);
}

/// Who may see the console.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    Checking,
    SignedOut,
    NotAdmin(String),
    Admin(SessionInfo),
}

/// The console's root: the session decides what shows.
#[component]
pub fn AdminApp() -> impl IntoView {
    let (access, set_access) = signal(Access::Checking);
    let (problem, set_problem) = signal(None::<Problem>);
    spawn_local(async move {
        match crate::api::session().await {
            Ok(Some(session)) if session.role == Role::Admin => {
                set_access.set(Access::Admin(session));
            }
            Ok(Some(session)) => set_access.set(Access::NotAdmin(session.username)),
            Ok(None) => set_access.set(Access::SignedOut),
            Err(p) => {
                set_problem.set(Some(p));
                set_access.set(Access::SignedOut);
            }
        }
    });
    view! {
        <main class="shell wide">
            {move || match access.get() {
                Access::Checking => view! {
                    <section class="card" aria-busy="true"><p class="muted">"Loading…"</p></section>
                }.into_any(),
                Access::SignedOut => view! {
                    <section class="card" id="admin-sign-in-first" aria-labelledby="admin-title">
                        <h1 id="admin-title">"Admin console"</h1>
                        <ProblemBox problem />
                        <p>"Sign in with an admin account first."</p>
                        <a class="button primary" href="/">"Go to sign-in"</a>
                    </section>
                }.into_any(),
                Access::NotAdmin(username) => view! {
                    <section class="card" id="admin-not-allowed" aria-labelledby="admin-title">
                        <h1 id="admin-title">"Admin console"</h1>
                        <p class="status error" role="alert">
                            "This page is for administrators, and " <strong>{username}</strong>
                            " is not one. Ask an administrator if you need access."
                        </p>
                        <a class="button secondary" href="/">"Back"</a>
                    </section>
                }.into_any(),
                Access::Admin(session) => view! { <Console admin=session problem set_problem /> }.into_any(),
            }}
        </main>
    }
}

/// The console's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Users,
    Sessions,
    Audit,
    Policies,
    Duo,
}

/// The tabs and the page under them.
#[component]
fn Console(
    admin: SessionInfo,
    problem: ReadSignal<Option<Problem>>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (tab, set_tab) = signal(Tab::Users);
    let (duo, set_duo) = signal(None::<shared::admin::DuoProvider>);
    let reload = Callback::new(move |()| {
        spawn_local(async move {
            match provider::fetch_provider().await {
                Ok(p) => set_duo.set(Some(p)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    reload.run(());
    let name = admin.username.clone();
    let switch = move |to: Tab| {
        set_problem.set(None);
        set_tab.set(to);
    };
    view! {
        <section class="card" aria-labelledby="admin-title">
            <h1 id="admin-title">"Admin console"</h1>
            <p class="who">"Signed in as " <strong class="username">{name}</strong>
                " · " <a href="/">"Back to your account"</a></p>
            <nav class="tabs" aria-label="Console pages">
                <button type="button" id="tab-users" aria-current=move || (tab.get() == Tab::Users).then_some("page")
                    on:click=move |_| switch(Tab::Users)>"Users"</button>
                <button type="button" id="tab-sessions" aria-current=move || (tab.get() == Tab::Sessions).then_some("page")
                    on:click=move |_| switch(Tab::Sessions)>"Sessions"</button>
                <button type="button" id="tab-audit" aria-current=move || (tab.get() == Tab::Audit).then_some("page")
                    on:click=move |_| switch(Tab::Audit)>"Audit log"</button>
                <button type="button" id="tab-policies" aria-current=move || (tab.get() == Tab::Policies).then_some("page")
                    on:click=move |_| switch(Tab::Policies)>"Policies"</button>
                <button type="button" id="tab-duo" aria-current=move || (tab.get() == Tab::Duo).then_some("page")
                    on:click=move |_| switch(Tab::Duo)>"Duo"</button>
            </nav>
            <provider::EnforceBanner provider=duo />
            <provider::PolicyBypassBanner provider=duo />
            <ProblemBox problem />
            {move || match tab.get() {
                Tab::Users => view! { <UsersPage admin=admin.clone() set_problem /> }.into_any(),
                Tab::Sessions => view! { <SessionsPage set_problem /> <TrustedBrowsers set_problem /> }.into_any(),
                Tab::Audit => view! { <audit::AuditPage set_problem /> }.into_any(),
                Tab::Policies => view! { <policies::PoliciesPage reload set_problem /> }.into_any(),
                Tab::Duo => view! { <provider::ProviderPage provider=duo reload set_problem /> }.into_any(),
            }}
        </section>
    }
}

/// An admin request's answer: its JSON body, or the Worker's refusal.
async fn reply<T: DeserializeOwned>(sent: Result<Response, gloo_net::Error>) -> Result<T, Problem> {
    let response = sent.map_err(|_| Problem::network())?;
    if response.ok() {
        return response.json().await.map_err(|_| Problem::unexpected());
    }
    Err(problem_of(response).await)
}

/// An admin request answered without a body (204), or the Worker's refusal.
async fn done(sent: Result<Response, gloo_net::Error>) -> Result<(), Problem> {
    let response = sent.map_err(|_| Problem::network())?;
    if response.ok() { Ok(()) } else { Err(problem_of(response).await) }
}

/// `POST path` with `body` as JSON.
async fn post_json<B: Serialize>(path: &str, body: &B) -> Result<Response, gloo_net::Error> {
    Request::post(path).json(body)?.send().await
}

/// `POST path` with `body` as JSON: its JSON answer, or the Worker's refusal.
async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, Problem> {
    reply(post_json(path, body).await).await
}

/// `GET /api/admin/sessions`.
async fn fetch_sessions(search: &str, page: u32) -> Result<SessionList, Problem> {
    let page = page.to_string();
    let request = Request::get(routes::SESSIONS).query([("q", search), ("page", page.as_str())]);
    reply(request.send().await).await
}

/// `POST /api/admin/sessions/revoke`.
async fn end_session(id: String) -> Result<(), Problem> {
    done(post_json(routes::SESSION_REVOKE, &SessionRevokeRequest { id }).await).await
}

/// The live sessions: whose, how, from where, until when; end one.
#[component]
fn SessionsPage(set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
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
    reply(Request::get(routes::REMEMBERED).send().await).await
}

/// `POST /api/admin/remembered/forget`.
async fn forget_browser(id: String) -> Result<(), Problem> {
    done(post_json(routes::REMEMBERED_FORGET, &SessionRevokeRequest { id }).await).await
}

/// The browsers users trusted after a Duo sign-in: whose, which, from
/// where, until when; forget one.
#[component]
fn TrustedBrowsers(set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
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

/// `GET /api/admin/users`.
async fn fetch_users(search: &str, page: u32) -> Result<UserList, Problem> {
    let page = page.to_string();
    let request = Request::get(routes::USERS).query([("q", search), ("page", page.as_str())]);
    reply(request.send().await).await
}

/// `POST /api/admin/users/change`.
async fn send_change(username: String, change: UserChange) -> Result<(), Problem> {
    done(post_json(routes::USER_CHANGE, &UserChangeRequest { username, change }).await).await
}

async fn problem_of(response: gloo_net::http::Response) -> Problem {
    match response.json::<ErrorBody>().await {
        Ok(body) => {
            // The console shows the Worker's reason for refusing an admin action.
            let said = matches!(body.code, ErrorCode::Forbidden | ErrorCode::BadRequest)
                .then_some(body.message);
            Problem::new(body.code).refused_with(said)
        }
        Err(_) => Problem::unexpected(),
    }
}

/// The users page.
#[component]
fn UsersPage(admin: SessionInfo, set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
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
    let (run1, run2, run3, run4) = (run.clone(), run.clone(), run.clone(), run);
    let (reset_whom, duo_of) = (user.username.clone(), user.clone());
    let (w1, w2, w3, w4) = (who.clone(), who.clone(), who.clone(), who.clone());
    view! {
        <tr data-user=user.username.clone()>
            <th scope="row" class="username">{user.username.clone()}<span class="muted">{duo_name}</span></th>
            <td class="role">{role}</td>
            <td class="factor">{factor}</td>
            <td class="state">{if user.disabled { "disabled" } else { "enabled" }}</td>
            <td class="last">{last}</td>
            <td><div class="row-actions">
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
