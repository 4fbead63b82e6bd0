//! The admin console (`/admin/`, its own wasm): for sessions whose account
//! has the `admin` role. The Worker checks the role on every request; this
//! page only decides what to show. Here the root and the navigation (each
//! page at its own address, `route`); each page in its own file: users
//! (`users`, one user's page in `user`, the forms in `accounts`), sessions and
//! trusted browsers (`sessions`), the audit log (`audit`), the sign-in
//! policies (`policies`), the Duo provider and the banners saying Duo is off
//! (`provider`), the alerts' webhooks and deliveries (`alerts`); every request
//! through `api`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{Role, SessionInfo};

use crate::components::ProblemBox;
use crate::messages::Problem;
use route::{Page, PageLink};
use sessions::{SessionsPage, TrustedBrowsers};
use users::UsersPage;

mod accounts;
mod alerts;
mod api;
mod audit;
mod confirm;
mod overview;
mod pager;
mod policies;
mod provider;
mod route;
mod sessions;
mod time;
mod user;
mod users;
mod words;

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
                        <a class="button primary" href=shared::api::routes::at(shared::api::routes::PAGE)>"Go to sign-in"</a>
                    </section>
                }.into_any(),
                Access::NotAdmin(username) => view! {
                    <section class="card" id="admin-not-allowed" aria-labelledby="admin-title">
                        <h1 id="admin-title">"Admin console"</h1>
                        <p class="status error" role="alert">
                            "This page is for administrators, and " <strong>{username}</strong>
                            " is not one. Ask an administrator if you need access."
                        </p>
                        <a class="button secondary" href=shared::api::routes::at(shared::api::routes::PAGE)>"Back"</a>
                    </section>
                }.into_any(),
                Access::Admin(session) => {
                    let who = crate::reauth::Who {
                        username: session.username.clone(),
                        by_password: session.method == shared::api::AuthMethod::Bypass,
                    };
                    view! {
                        <crate::reauth::ReauthDialog who />
                        <Console admin=session problem set_problem />
                    }.into_any()
                }
            }}
        </main>
    }
}

/// The navigation, the banners and the page the address names.
#[component]
fn Console(
    admin: SessionInfo,
    problem: ReadSignal<Option<Problem>>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let router = route::Router::new();
    provide_context(router);
    // Kept across the pages: leaving the policies unsaved loses nothing.
    let policy = policies::PolicyDraft::new();
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
    // A new page starts without the last page's problem.
    Effect::new(move |_| {
        router.page();
        set_problem.set(None);
    });
    let name = admin.username.clone();
    view! {
        <confirm::ConfirmDialog />
        <section class="card" aria-labelledby="admin-title">
            <h1 id="admin-title">"Admin console"</h1>
            <p class="who">"Signed in as " <strong class="username">{name}</strong>
                " · " <a href=shared::api::routes::at(shared::api::routes::PAGE)>"Back to your account"</a></p>
            <nav class="tabs" aria-label="Console pages">
                <PageLink to=Page::Overview id="tab-overview">"Overview"</PageLink>
                <PageLink to=Page::Users id="tab-users">"Users"</PageLink>
                <PageLink to=Page::Sessions id="tab-sessions">"Sessions"</PageLink>
                <PageLink to=Page::Audit id="tab-audit">"Audit log"</PageLink>
                <PageLink to=Page::Policies id="tab-policies">"Policies"
                    {move || policy.unsaved().then(|| view! {
                        <span class="unsaved-mark" aria-hidden="true">" •"</span>
                        <span class="visually-hidden">" (unsaved changes)"</span>
                    })}
                </PageLink>
                <PageLink to=Page::Duo id="tab-duo">"Duo"</PageLink>
                <PageLink to=Page::Alerts id="tab-alerts">"Alerts"</PageLink>
            </nav>
            <provider::EnforceBanner provider=duo />
            <provider::PolicyBypassBanner provider=duo />
            <ProblemBox problem />
            {move || match router.page() {
                Page::Overview => view! { <overview::OverviewPage set_problem /> }.into_any(),
                Page::Users => view! { <UsersPage admin=admin.clone() set_problem /> }.into_any(),
                Page::User(username) => {
                    view! { <user::UserPage username admin=admin.clone() set_problem /> }.into_any()
                }
                Page::Sessions => view! {
                    <SessionsPage user=None set_problem />
                    <TrustedBrowsers user=None set_problem />
                }.into_any(),
                Page::Audit => view! { <audit::AuditPage set_problem /> }.into_any(),
                Page::Policies => view! { <policies::PoliciesPage policy reload set_problem /> }.into_any(),
                Page::Duo => view! { <provider::ProviderPage provider=duo reload set_problem /> }.into_any(),
                Page::Alerts => view! { <alerts::AlertsPage set_problem /> }.into_any(),
                Page::Unknown => view! {
                    <div id="no-such-page">
                        <h2>"No such page"</h2>
                        <p>"The console has no page at this address."</p>
                        <PageLink to=Page::Users class="button secondary">"Go to the users"</PageLink>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}
