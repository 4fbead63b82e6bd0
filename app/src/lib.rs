//! The login SPA.
//!
//! `app` talks to the Worker only through `shared`'s routes and DTOs. It holds
//! no secret, token or code: the session lives in an `HttpOnly` cookie the SPA
//! cannot read, and the Duo step is a plain form POST (a top-level navigation).

pub mod admin;
pub mod api;
mod asking;
pub mod components;
pub mod messages;
pub mod pages;
pub mod reauth;
mod signed_out;
mod url;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{InlineDevice, LoginResponse, SessionInfo};

use crate::messages::Problem;

/// Mounts the SPA on `<body>`. Called once by `main`.
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// Which screen is showing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Asking the Worker whether a session exists.
    Loading,
    /// Username and password.
    SignIn,
    /// First factor passed; "Log in with Duo" next (and "trust this
    /// browser" when the policies offer it: the days, else 0).
    Duo { username: String, remember_days: u32 },
    /// Inline mode: choose a device and a method on this page.
    Inline { username: String, devices: Vec<InlineDevice>, remember_days: u32 },
    /// Inline mode: Duo wants a device enrolled first.
    Enroll { username: String, enroll_url: String, message: String },
    /// Signed in, and the app asked for a fresh Duo approval (`?fresh=1`):
    /// "Continue with Duo", or sign in as someone else.
    StepUp(SessionInfo),
    /// Signed in.
    SignedIn(SessionInfo),
}

/// The tab's title for a screen: what the page is now.
pub fn screen_title(screen: &Screen) -> &'static str {
    match screen {
        Screen::Loading | Screen::SignIn => "Sign in",
        Screen::Duo { .. } | Screen::Inline { .. } | Screen::Enroll { .. } => "Two-factor sign-in",
        Screen::StepUp(_) => "Confirm it is you",
        Screen::SignedIn(_) => "Signed in",
    }
}

/// The tab says where the person is (it said "Sign in" when signed in).
fn keep_title(screen: ReadSignal<Screen>) {
    Effect::new(move |_| {
        let title = screen.with(screen_title);
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(title);
        }
    });
}

/// The root component: picks the screen, carries a problem between screens
/// (e.g. `/?error=duo_denied` after Duo's redirect back).
#[component]
pub fn App() -> impl IntoView {
    let (screen, set_screen) = signal(Screen::Loading);
    // An error handed over by the Worker's redirect, read once and removed
    // from the address bar so a reload or a bookmark does not repeat it.
    let (problem, set_problem) = signal(url::take_error());
    let (notice, set_notice) = signal(None::<&'static str>);
    // Signed in: back to the app's page the browser came from, unless a
    // password an admin set must be replaced first; else the account page.
    let signed_in = move |session: SessionInfo| {
        if session.password_change_required || !url::go_back_to_app() {
            set_screen.set(Screen::SignedIn(session));
        }
    };

    spawn_local(async move {
        match api::session().await {
            // A step-up: Duo again for this user (or another sign-in).
            Ok(Some(session)) if url::fresh() && !session.password_change_required => {
                set_screen.set(Screen::StepUp(session));
            }
            // The window a page opened to confirm with Duo: tell it, close.
            Ok(Some(session)) if url::reauthenticated() => {
                reauth::tell_opener();
                set_screen.set(Screen::SignedIn(session));
            }
            // Already signed in (say, the app sent a browser whose session
            // it had not seen yet).
            Ok(Some(session)) => signed_in(session),
            Ok(None) => set_screen.set(Screen::SignIn),
            Err(p) => {
                set_problem.set(Some(p));
                set_screen.set(Screen::SignIn);
            }
        }
    });

    let on_login = Callback::new(move |response: LoginResponse| {
        set_problem.set(None);
        set_notice.set(None);
        match response {
            LoginResponse::Duo { username, remember_days } => {
                set_screen.set(Screen::Duo { username, remember_days });
            }
            LoginResponse::Done { session } => signed_in(session),
            LoginResponse::DuoInline { username, devices, remember_days } => {
                set_screen.set(Screen::Inline { username, devices, remember_days });
            }
            LoginResponse::DuoEnroll { username, enroll_url, message } => {
                set_screen.set(Screen::Enroll { username, enroll_url, message });
            }
        }
    });
    let on_signed_in = Callback::new(move |session: SessionInfo| {
        set_problem.set(None);
        signed_in(session);
    });
    let on_inline_restart = Callback::new(move |problem: Option<Problem>| {
        set_problem.set(problem);
        set_screen.set(Screen::SignIn);
    });
    let on_signed_out = Callback::new(move |outcome: Result<(), Problem>| match outcome {
        Ok(()) => {
            signed_out::tell_other_tabs();
            set_problem.set(None);
            set_notice.set(Some("You have been signed out."));
            set_screen.set(Screen::SignIn);
        }
        Err(p) => set_problem.set(Some(p)),
    });
    // Signed out in another tab (this browser) or elsewhere (another
    // browser, an administrator): the account page does not stay up.
    let ended = Callback::new(move |why: &'static str| {
        set_problem.set(None);
        set_notice.set(Some(why));
        set_screen.set(Screen::SignIn);
    });
    signed_out::watch(move || matches!(screen.get_untracked(), Screen::SignedIn(_)), ended);
    let on_idle_out = Callback::new(move |()| {
        ended.run("You were signed out because this session was not used for a while. Sign in again to continue.");
    });
    let on_restart = Callback::new(move |()| on_inline_restart.run(None));

    keep_title(screen);

    view! {
        <main class="shell">
            {move || match screen.get() {
                Screen::Loading => view! {
                    <section class="card" aria-busy="true">
                        <p class="muted">"Loading…"</p>
                    </section>
                }.into_any(),
                Screen::SignIn => view! {
                    <pages::login::LoginPage problem set_problem notice on_login />
                }.into_any(),
                Screen::Duo { username, remember_days } => view! {
                    <pages::duo::DuoStep username remember_days problem on_restart />
                }.into_any(),
                Screen::Inline { username, devices, remember_days } => view! {
                    <pages::inline::InlineStep username devices remember_days problem set_problem on_signed_in
                        on_restart=on_inline_restart />
                }.into_any(),
                Screen::Enroll { username, enroll_url, message } => view! {
                    <pages::inline::EnrollStep username enroll_url message on_restart=on_inline_restart />
                }.into_any(),
                Screen::StepUp(session) => view! {
                    <pages::duo::StepUp session problem set_problem on_login on_restart />
                }.into_any(),
                Screen::SignedIn(session) => view! {
                    <pages::account::AccountPage session problem on_signed_out on_idle_out />
                }.into_any(),
            }}
        </main>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests_support {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    /// Mounts `view` into a fresh container on the page and returns the container.
    pub fn render<V: IntoView + 'static>(
        view: impl FnOnce() -> V + 'static,
    ) -> web_sys::HtmlElement {
        let document = web_sys::window().unwrap().document().unwrap();
        let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&host).unwrap();
        let handle = leptos::mount::mount_to(host.clone(), view);
        std::mem::forget(handle);
        host
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod title_tests {
    use super::{Screen, screen_title};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_tab_says_signed_in_once_signed_in() {
        assert_eq!(screen_title(&Screen::SignIn), "Sign in");
        let duo = Screen::Duo { username: "alice".into(), remember_days: 0 };
        assert_eq!(screen_title(&duo), "Two-factor sign-in");
        let session = shared::api::SessionInfo {
            username: "alice".into(),
            method: shared::api::AuthMethod::Duo,
            authenticated_at: 1,
            expires_at: 2,
            duo: None,
            role: shared::api::Role::User,
            password_change_required: false,
            idle_expires_at: None,
        };
        assert_eq!(screen_title(&Screen::SignedIn(session.clone())), "Signed in");
        assert_eq!(screen_title(&Screen::StepUp(session)), "Confirm it is you");
    }
}
