//! The signed-in screen: who, how the second factor was done, until when,
//! the way out, and changing one's password; or, when an admin set the
//! password, choosing one's own first.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{AuthMethod, SessionInfo, routes};

use crate::api;
use crate::components::{ProblemBox, local_time};
use crate::messages::{Problem, factor_label};
use crate::pages::sessions::{IdleWatch, OwnSessionsCard};

/// The signed-in screen.
#[component]
pub fn AccountPage(
    session: SessionInfo,
    problem: ReadSignal<Option<Problem>>,
    /// Called with the outcome of "Log out".
    on_signed_out: Callback<Result<(), Problem>>,
    /// Called when the session ended unused (the idle timeout).
    on_idle_out: Callback<()>,
) -> impl IntoView {
    // Which way out is under way, if one is.
    let (busy, set_busy) = signal(None::<Scope>);
    let sign_out = move |scope: Scope| {
        if busy.get_untracked().is_some() {
            return;
        }
        set_busy.set(Some(scope));
        spawn_local(async move {
            let outcome = match scope {
                Scope::ThisBrowser => api::logout().await,
                Scope::Everywhere => api::logout_everywhere().await,
            };
            set_busy.set(None);
            on_signed_out.run(outcome);
        });
    };

    let method = match session.method {
        AuthMethod::Duo => "Duo two-factor authentication",
        AuthMethod::Bypass => "Password only: this account is exempt from Duo (break-glass)",
        AuthMethod::FailOpen => {
            "Password only: Duo was unreachable and the service lets sign-ins through"
        }
        AuthMethod::Remembered => "Password, from a browser you trusted after a Duo sign-in",
    };
    let admin = session.role == shared::api::Role::Admin;
    let remembered = session.method == AuthMethod::Remembered;
    let required = RwSignal::new(session.password_change_required);
    let (own_problem, set_own_problem) = signal(None::<Problem>);
    let shown_problem = Signal::derive(move || own_problem.get().or_else(|| problem.get()));
    let (notice, set_notice) = signal(None::<String>);
    let changing = RwSignal::new(false);
    let changed = Callback::new(move |warning: Option<String>| {
        // A password the user had to replace kept them from the app: with
        // it replaced, on to the page they asked for.
        if required.get_untracked() && crate::url::go_back_to_app() {
            return;
        }
        required.set(false);
        changing.set(false);
        let done = "Your password was changed. Your other sessions were ended.";
        set_notice.set(Some(warning.map_or_else(|| done.to_owned(), |w| format!("{done} {w}"))));
    });
    let who = crate::reauth::Who {
        username: session.username.clone(),
        by_password: session.method == AuthMethod::Bypass,
    };
    let SessionInfo { username, authenticated_at, expires_at, duo, idle_expires_at, .. } = session;
    // One card: while an admin-set password must be replaced, only the form
    // and the way out show.
    view! {
        <section class="card" aria-labelledby="account-title">
            <h1 id="account-title">
                {move || if required.get() { "Choose your password" } else { "You are signed in" }}
            </h1>
            <ProblemBox problem=shown_problem />
            <crate::reauth::ReauthDialog who />
            <IdleWatch idle_expires_at on_idle=on_idle_out />
            <p class="notice" role="status">{move || notice.get()}</p>
            <p id="choose-password" class:hidden=move || !required.get()>
                "An administrator set the password you signed in with. Choose your own to continue."
            </p>
            <div id="account-details" class:hidden=move || required.get()>
                <dl class="facts">
                    <dt>"User"</dt><dd class="username">{username}</dd>
                    <dt>"Second factor"</dt><dd class="method">{method}</dd>
                    {duo.map(|d| view! {
                        <dt>"Duo factor"</dt><dd class="factor">{d.factor.map_or_else(|| "—".into(), |f| factor_label(&f))}</dd>
                        <dt>"Device"</dt><dd class="device">{d.device.unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Duo transaction"</dt><dd class="txid"><code>{d.txid.unwrap_or_else(|| "—".into())}</code></dd>
                    })}
                    <dt>"Signed in at"</dt><dd>{local_time(authenticated_at)}</dd>
                    <dt>"Session ends"</dt><dd>{local_time(expires_at)}</dd>
                </dl>
                {admin.then(|| view! {
                    <a class="button secondary" id="admin-console" href=routes::at(routes::ADMIN_PAGE)>"Admin console"</a>
                })}
                {remembered.then(|| view! { <ForgetBrowser set_notice set_problem=set_own_problem /> })}
                <button type="button" class="link" id="change-password-open" class:hidden=move || changing.get()
                    on:click=move |_| { set_notice.set(None); changing.set(true); }>"Change password"</button>
                <OwnSessionsCard set_problem=set_own_problem on_signed_out />
            </div>
            {move || (changing.get() || required.get()).then(|| view! {
                <ChangePassword set_problem=set_own_problem changed />
            })}
            <div class="actions">
                <button type="button" class="primary" id="logout"
                    on:click=move |_| sign_out(Scope::ThisBrowser) disabled=move || busy.get().is_some()>
                    {move || if busy.get() == Some(Scope::ThisBrowser) { "Signing out…" } else { "Log out" }}
                </button>
                <button type="button" class="secondary" id="logout-everywhere"
                    aria-describedby="logout-everywhere-hint"
                    on:click=move |_| sign_out(Scope::Everywhere) disabled=move || busy.get().is_some()>
                    {move || if busy.get() == Some(Scope::Everywhere) { "Signing out everywhere…" } else { "Log out everywhere" }}
                </button>
                <p class="hint" id="logout-everywhere-hint">
                    "Ends your sessions in every browser and on every device, this one included."
                </p>
            </div>
        </section>
    }
}

/// "Forget this browser": Duo is asked at the next sign-in here.
#[component]
fn ForgetBrowser(
    set_notice: WriteSignal<Option<String>>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (forgotten, set_forgotten) = signal(false);
    let forget = move |_| {
        spawn_local(async move {
            match api::forget_browser().await {
                Ok(()) => {
                    set_forgotten.set(true);
                    set_notice.set(Some(
                        "This browser is forgotten: Duo is asked at your next sign-in here."
                            .to_owned(),
                    ));
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    view! {
        <button type="button" class="link" id="forget-browser" disabled=move || forgotten.get()
            on:click=forget>"Forget this browser"</button>
    }
}

/// Current password, new password twice; `POST /api/password`.
#[component]
fn ChangePassword(
    set_problem: WriteSignal<Option<Problem>>,
    changed: Callback<Option<String>>,
) -> impl IntoView {
    let (current, new, again) = (
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
    );
    let (busy, set_busy) = signal(false);
    let (mismatch, set_mismatch) = signal(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value =
            |node: NodeRef<html::Input>| node.get().map(|el| el.value()).unwrap_or_default();
        let (now, next) = (value(current), value(new));
        if next != value(again) {
            set_mismatch.set(true);
            return;
        }
        set_mismatch.set(false);
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let outcome = api::change_password(now, next).await;
            set_busy.set(false);
            match outcome {
                Ok(warning) => changed.run(warning),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    view! {
        <form class="form" id="change-password" on:submit=submit>
            <label for="current-password">"Current password"</label>
            <input id="current-password" type="password" autocomplete="current-password" required node_ref=current />
            <label for="new-password">"New password"</label>
            <input id="new-password" type="password" autocomplete="new-password" required minlength="8"
                aria-describedby="new-password-hint" node_ref=new />
            <p class="hint" id="new-password-hint">"At least 8 characters, not your username. Your other sessions end."</p>
            <label for="new-password-again">"New password again"</label>
            <input id="new-password-again" type="password" autocomplete="new-password" required node_ref=again
                on:input=move |_| set_mismatch.set(false) />
            <Show when=move || mismatch.get()>
                <p class="status error" role="alert" id="password-mismatch">"The two new passwords differ."</p>
            </Show>
            <button type="submit" class="primary" id="change-password-submit" disabled=move || busy.get()>
                {move || if busy.get() { "Changing…" } else { "Change password" }}
            </button>
        </form>
    }
}

/// How far "Log out" reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// This session.
    ThisBrowser,
    /// Every session of this user.
    Everywhere,
}

#[cfg(all(test, target_arch = "wasm32"))]
mod label_tests {
    use super::factor_label;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn duo_factor_identifiers_read_as_words_and_text_stays_as_sent() {
        assert_eq!(factor_label("duo_push"), "Duo Push");
        assert_eq!(factor_label("passcode"), "Passcode");
        assert_eq!(factor_label("phone_call"), "Phone call");
        assert_eq!(factor_label("WebAuthn Chrome Touch ID"), "WebAuthn Chrome Touch ID");
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::tests_support::render;
    use shared::api::DuoDetails;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn session(method: AuthMethod, duo: Option<DuoDetails>) -> SessionInfo {
        SessionInfo {
            username: "alice".into(),
            method,
            authenticated_at: 1_700_000_000,
            expires_at: 1_700_028_800,
            duo,
            role: shared::api::Role::User,
            password_change_required: false,
            idle_expires_at: None,
        }
    }

    fn text_of(host: &web_sys::HtmlElement, selector: &str) -> Option<String> {
        host.query_selector(selector).unwrap().map(|e| e.text_content().unwrap())
    }

    #[wasm_bindgen_test]
    fn duo_session_shows_factor_device_and_transaction() {
        let duo = DuoDetails {
            factor: Some("Duo Push".into()),
            device: Some("iPhone (XXX-XXX-1234)".into()),
            txid: Some("7c3b2f0e-txid".into()),
            result: Some("allow".into()),
        };
        let (problem, _) = signal(None::<Problem>);
        let on_signed_out = Callback::new(|_: Result<(), Problem>| {});
        let on_idle_out = Callback::new(|()| {});
        let s = session(AuthMethod::Duo, Some(duo));
        let host =
            render(move || view! { <AccountPage session=s problem on_signed_out on_idle_out /> });
        assert_eq!(text_of(&host, ".username").as_deref(), Some("alice"));
        assert_eq!(text_of(&host, ".factor").as_deref(), Some("Duo Push"));
        assert_eq!(text_of(&host, ".device").as_deref(), Some("iPhone (XXX-XXX-1234)"));
        assert_eq!(text_of(&host, ".txid").as_deref(), Some("7c3b2f0e-txid"));
        assert_eq!(text_of(&host, "#logout").as_deref(), Some("Log out"));
        assert_eq!(text_of(&host, "#logout-everywhere").as_deref(), Some("Log out everywhere"));
        let hint = host.query_selector("#logout-everywhere").unwrap().unwrap();
        assert_eq!(
            hint.get_attribute("aria-describedby").as_deref(),
            Some("logout-everywhere-hint")
        );
        assert!(text_of(&host, "#logout-everywhere-hint").unwrap().contains("every browser"));
    }

    #[wasm_bindgen_test]
    fn a_password_an_admin_set_is_replaced_before_anything_else() {
        let (problem, _) = signal(None::<Problem>);
        let on_signed_out = Callback::new(|_: Result<(), Problem>| {});
        let on_idle_out = Callback::new(|()| {});
        let s = SessionInfo { password_change_required: true, ..session(AuthMethod::Duo, None) };
        let host =
            render(move || view! { <AccountPage session=s problem on_signed_out on_idle_out /> });
        assert_eq!(text_of(&host, "#account-title").as_deref(), Some("Choose your password"));
        let hidden =
            |css: &str| host.query_selector(css).unwrap().unwrap().class_list().contains("hidden");
        assert!(hidden("#account-details") && !hidden("#choose-password"), "nothing else yet");
        assert!(host.query_selector("#current-password").unwrap().is_some());
        assert!(host.query_selector("#logout").unwrap().is_some(), "signing out stays possible");

        let (problem, _) = signal(None::<Problem>);
        let on_signed_out = Callback::new(|_: Result<(), Problem>| {});
        let on_idle_out = Callback::new(|()| {});
        let s = session(AuthMethod::Duo, None);
        let host =
            render(move || view! { <AccountPage session=s problem on_signed_out on_idle_out /> });
        assert_eq!(text_of(&host, "#account-title").as_deref(), Some("You are signed in"));
        let hidden =
            |css: &str| host.query_selector(css).unwrap().unwrap().class_list().contains("hidden");
        assert!(!hidden("#account-details") && hidden("#choose-password"));
        assert!(host.query_selector("#change-password-open").unwrap().is_some());
        assert!(
            host.query_selector("#current-password").unwrap().is_none(),
            "the form opens on demand"
        );
    }

    #[wasm_bindgen_test]
    fn bypass_session_says_so_and_has_no_duo_rows() {
        let (problem, _) = signal(None::<Problem>);
        let on_signed_out = Callback::new(|_: Result<(), Problem>| {});
        let on_idle_out = Callback::new(|()| {});
        let s = session(AuthMethod::Bypass, None);
        let host =
            render(move || view! { <AccountPage session=s problem on_signed_out on_idle_out /> });
        assert!(text_of(&host, ".method").unwrap().contains("exempt from Duo"));
        assert_eq!(text_of(&host, ".factor"), None);
        assert_eq!(text_of(&host, ".txid"), None);
    }
}
