//! The second step: who is signing in, what happens next, and the button
//! that starts Duo. The button is a real form POST (a top-level navigation):
//! the Worker answers with a redirect to Duo's prompt, and Duo sends the
//! browser back to the Worker's callback, which lands on `/`.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{LoginResponse, SessionInfo, routes};

use crate::components::ProblemBox;
use crate::messages::Problem;
use crate::{api, url};

/// The "Log in with Duo" screen.
#[component]
pub fn DuoStep(
    username: String,
    /// Days this browser may be remembered after Duo (0: not offered).
    remember_days: u32,
    problem: ReadSignal<Option<Problem>>,
    /// "Use a different account".
    on_restart: Callback<()>,
) -> impl IntoView {
    let (leaving, set_leaving) = signal(false);
    let button = NodeRef::<html::Button>::new();
    // The next step is the button: take the keyboard there.
    Effect::new(move |_| {
        if let Some(el) = button.get() {
            let _ = el.focus();
        }
    });

    view! {
        <section class="card" aria-labelledby="duo-title">
            <h1 id="duo-title">"Two-factor sign-in"</h1>
            <ProblemBox problem />
            <p class="who">"Signing in as " <strong class="username">{username.clone()}</strong></p>
            <p class="muted">
                "Your password was accepted. Next, Duo asks you to confirm it is you: approve the push on your phone, "
                "enter a passcode, or take a call. You come back here when it is done."
            </p>
            <form id="duo-form" method="post" action=routes::at(routes::DUO_START)
                on:submit=move |_| {
                    // A refusal coming back (a rate limit, Duo's denial) finds the name typed.
                    crate::url::remember_username(&username);
                    set_leaving.set(true);
                }>
                {(remember_days > 0).then(|| view! { <TrustThisBrowser days=remember_days /> })}
                <button type="submit" class="primary duo" node_ref=button
                    disabled=move || leaving.get()>
                    {move || if leaving.get() { "Opening Duo…" } else { "Log in with Duo" }}
                </button>
            </form>
            <button type="button" class="link" on:click=move |_| on_restart.run(())
                disabled=move || leaving.get()>
                "Use a different account"
            </button>
        </section>
    }
}

/// "Trust this browser for N days": the form's `remember` (a real form
/// field, posted with the Duo step; the inline page reads its state).
#[component]
pub fn TrustThisBrowser(
    days: u32,
    /// Set when the box is ticked (the inline page's start request).
    #[prop(optional)]
    ticked: Option<RwSignal<bool>>,
) -> impl IntoView {
    let label = if days == 1 {
        "Trust this browser for 1 day".to_owned()
    } else {
        format!("Trust this browser for {days} days")
    };
    view! {
        <label class="trust">
            <input type="checkbox" id="remember" name="remember" value="1"
                on:change=move |ev| { if let Some(t) = ticked { t.set(event_target_checked(&ev)); } } />
            " " {label}
        </label>
        <p class="hint">"Duo is not asked again here until then, unless you forget this browser. Not on a shared computer."</p>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::tests_support::render;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn duo_step_is_a_real_form_post_to_the_worker() {
        let (problem, _) = signal(None::<Problem>);
        let on_restart = Callback::new(|()| {});
        let host = render(
            move || view! { <DuoStep username="alice".to_owned() remember_days=30 problem on_restart /> },
        );
        let form: web_sys::HtmlFormElement =
            host.query_selector("form#duo-form").unwrap().unwrap().unchecked_into();
        assert_eq!(form.method(), "post");
        assert!(form.action().ends_with(&routes::at(routes::DUO_START)), "{}", form.action());
        let who = host.query_selector(".username").unwrap().unwrap().text_content().unwrap();
        assert_eq!(who, "alice");
        let button = host.query_selector("form#duo-form button").unwrap().unwrap();
        assert_eq!(button.text_content().unwrap(), "Log in with Duo");
        // Offered: a real field of the form, unticked.
        let trust: web_sys::HtmlInputElement = host
            .query_selector("form#duo-form input[name=remember]")
            .unwrap()
            .unwrap()
            .unchecked_into();
        assert_eq!(
            (trust.type_(), trust.value(), trust.checked()),
            ("checkbox".into(), "1".into(), false)
        );
        let label = host.query_selector("label.trust").unwrap().unwrap().text_content().unwrap();
        assert!(label.contains("Trust this browser for 30 days"), "{label}");
    }

    #[wasm_bindgen_test]
    fn nothing_to_trust_when_not_offered() {
        let (problem, _) = signal(None::<Problem>);
        let on_restart = Callback::new(|()| {});
        let host = render(
            move || view! { <DuoStep username="bob".to_owned() remember_days=0 problem on_restart /> },
        );
        assert!(host.query_selector("input[name=remember]").unwrap().is_none());
    }

    #[wasm_bindgen_test]
    fn different_account_goes_back() {
        let (problem, _) = signal(None::<Problem>);
        let (restarted, set_restarted) = signal(false);
        let on_restart = Callback::new(move |()| set_restarted.set(true));
        let host = render(
            move || view! { <DuoStep username="bob".to_owned() remember_days=0 problem on_restart /> },
        );
        let link: web_sys::HtmlElement =
            host.query_selector("button.link").unwrap().unwrap().unchecked_into();
        link.click();
        assert!(restarted.get_untracked());
    }
}

/// The app's page needs a fresh Duo approval (`?fresh=1`) and someone is
/// signed in: "Continue with Duo" asks the Worker for the Duo step with the
/// session standing in for the password, then goes to Duo's prompt (a form
/// POST, as the Duo step's) or to the inline chooser; back on the page after.
#[component]
pub fn StepUp(
    session: SessionInfo,
    problem: ReadSignal<Option<Problem>>,
    set_problem: WriteSignal<Option<Problem>>,
    /// The Worker's answer when it is not the prompt (inline, or no Duo).
    on_login: Callback<LoginResponse>,
    /// "Sign in as someone else".
    on_restart: Callback<()>,
) -> impl IntoView {
    let (busy, set_busy) = signal(false);
    let prompt = NodeRef::<html::Form>::new();
    let go = move |_| {
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let target = url::return_to().map(|t| t.as_str().to_owned());
            match api::step_up(target).await {
                Ok(LoginResponse::Duo { .. }) => {
                    if let Some(form) = prompt.get() {
                        let _ = form.submit();
                    }
                }
                Ok(other) => on_login.run(other),
                Err(p) => {
                    set_busy.set(false);
                    set_problem.set(Some(p));
                }
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="step-up-title">
            <h1 id="step-up-title">"Confirm it is you"</h1>
            <ProblemBox problem />
            <p class="who">"Signed in as " <strong class="username">{session.username}</strong></p>
            <p class="muted">
                "The page you opened needs a fresh Duo approval: approve the push on your phone, "
                "enter a passcode, or take a call, and you go on to the page."
            </p>
            <form id="step-up-prompt" method="post" action=routes::at(routes::DUO_START) node_ref=prompt></form>
            <button type="button" id="step-up" class="primary duo" on:click=go disabled=move || busy.get()>
                {move || if busy.get() { "Opening Duo…" } else { "Continue with Duo" }}
            </button>
            <button type="button" class="link" on:click=move |_| on_restart.run(()) disabled=move || busy.get()>
                "Sign in as someone else"
            </button>
        </section>
    }
}
