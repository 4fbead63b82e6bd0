//! The first screen: username and password, and the service's readiness.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::LoginResponse;

use crate::api::{self, Health};
use crate::components::ProblemBox;
use crate::messages::Problem;
use crate::url;

/// The sign-in screen.
#[component]
pub fn LoginPage(
    /// The problem to show (from this form, or handed over by another screen).
    problem: ReadSignal<Option<Problem>>,
    set_problem: WriteSignal<Option<Problem>>,
    /// A neutral message (e.g. "signed out").
    notice: ReadSignal<Option<&'static str>>,
    /// Called with the Worker's answer when the first factor passes.
    on_login: Callback<LoginResponse>,
) -> impl IntoView {
    let health = LocalResource::new(api::health);
    let ready = Signal::derive(move || matches!(health.get(), Some(Health::Ready(_))));

    view! {
        <section class="card" aria-labelledby="login-title">
            <h1 id="login-title">"Sign in"</h1>
            {move || health.get().and_then(|h| match h {
                Health::Ready(_) => None,
                other => Some(view! { <HealthBanner health=other /> }),
            })}
            <ProblemBox problem />
            <p class="notice" role="status">{move || notice.get()}</p>
            <LoginForm ready set_problem on_login />
        </section>
    }
}

/// Says why the service cannot take logins. Shown only when it cannot.
#[component]
pub fn HealthBanner(health: Health) -> impl IntoView {
    match health {
        Health::Ready(_) => view! {
            <p class="status ok" role="status">"The sign-in service is ready."</p>
        }
        .into_any(),
        Health::Misconfigured { setting } => {
            let what = setting.map_or_else(
                || "A setting is missing or invalid.".to_owned(),
                |name| format!("The setting {name} is missing or invalid."),
            );
            view! {
                <div class="status error health" role="alert">
                    <p><strong>"Sign-in is not available: the service is not configured."</strong></p>
                    <p>{what} " An administrator needs to fix the Worker's configuration."</p>
                </div>
            }
            .into_any()
        }
        Health::Unreachable => view! {
            <div class="status error health" role="alert">
                <p><strong>"The sign-in service cannot be reached."</strong></p>
                <p>"Check your connection and reload the page."</p>
            </div>
        }
        .into_any(),
    }
}

/// Username and password, posted as JSON to `/api/login`.
#[component]
pub fn LoginForm(
    #[prop(into)] ready: Signal<bool>,
    set_problem: WriteSignal<Option<Problem>>,
    on_login: Callback<LoginResponse>,
) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    let username = NodeRef::<html::Input>::new();
    let password = NodeRef::<html::Input>::new();

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (Some(user_el), Some(pass_el)) = (username.get(), password.get()) else { return };
        let user = user_el.value();
        let pass = pass_el.value();
        if user.trim().is_empty() || pass.is_empty() {
            let empty = if user.trim().is_empty() { &user_el } else { &pass_el };
            let _ = empty.focus();
            return;
        }
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let outcome = api::login(
                user,
                pass,
                url::return_to().map(|t| t.as_str().to_owned()),
                url::fresh(),
            )
            .await;
            // The password leaves the page's memory as soon as it is sent.
            pass_el.set_value("");
            set_busy.set(false);
            match outcome {
                Ok(response) => on_login.run(response),
                Err(problem) => set_problem.set(Some(problem)),
            }
        });
    };

    view! {
        <form id="login-form" class="form" on:submit=on_submit aria-busy=move || busy.get().to_string()>
            <label for="username">"Username"</label>
            <input id="username" name="username" type="text" autocomplete="username"
                autocapitalize="none" spellcheck="false" required node_ref=username
                prop:value=url::prefill().unwrap_or_default()
                disabled=move || busy.get() />
            <label for="password">"Password"</label>
            <input id="password" name="password" type="password"
                autocomplete="current-password" required node_ref=password
                disabled=move || busy.get() />
            <button type="submit" class="primary" disabled=move || !ready.get() || busy.get()>
                {move || if busy.get() { "Checking…" } else { "Continue" }}
            </button>
        </form>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::tests_support::render;
    use shared::ErrorCode;
    use shared::api::DuoReachability;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn banner_names_the_missing_setting() {
        let host = render(|| {
            view! { <HealthBanner health=Health::Misconfigured { setting: Some("DUO_CLIENT_ID".into()) } /> }
        });
        let text = host.text_content().unwrap();
        assert!(text.contains("The setting DUO_CLIENT_ID is missing or invalid."), "{text}");
        assert!(host.query_selector("[role=alert]").unwrap().is_some());
    }

    #[wasm_bindgen_test]
    fn banner_reports_ready_without_alarm() {
        let host =
            render(|| view! { <HealthBanner health=Health::Ready(DuoReachability::Unknown) /> });
        assert!(host.query_selector("[role=alert]").unwrap().is_none());
        assert!(host.text_content().unwrap().contains("ready"));
    }

    #[wasm_bindgen_test]
    async fn form_has_labelled_fields_and_waits_for_readiness() {
        let (ready, set_ready) = signal(false);
        let (_, set_problem) = signal(None::<Problem>);
        let on_login = Callback::new(|_: LoginResponse| {});
        let host = render(move || view! { <LoginForm ready set_problem on_login /> });
        for id in ["username", "password"] {
            let label = host.query_selector(&format!("label[for={id}]")).unwrap();
            assert!(label.is_some(), "label for {id}");
        }
        let button: web_sys::HtmlButtonElement =
            host.query_selector("button[type=submit]").unwrap().unwrap().unchecked_into();
        assert!(button.disabled());
        set_ready.set(true);
        leptos::task::tick().await;
        assert!(!button.disabled());
    }

    #[wasm_bindgen_test]
    async fn problem_box_shows_title_and_next_step() {
        let (problem, set_problem) = signal(None::<Problem>);
        let host = render(move || view! { <ProblemBox problem /> });
        assert_eq!(host.text_content().unwrap(), "");
        set_problem.set(Some(Problem::new(ErrorCode::InvalidCredentials)));
        leptos::task::tick().await;
        let text = host.text_content().unwrap();
        assert!(text.contains("The username or password is incorrect."), "{text}");
        assert!(text.contains("try again"), "{text}");
    }
}
