//! The signed-in screen: who, how the second factor was done, until when,
//! and the way out.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{AuthMethod, SessionInfo};

use crate::api;
use crate::components::{ProblemBox, local_time};
use crate::messages::Problem;

/// The signed-in screen.
#[component]
pub fn AccountPage(
    session: SessionInfo,
    problem: ReadSignal<Option<Problem>>,
    /// Called with the outcome of "Log out".
    on_signed_out: Callback<Result<(), Problem>>,
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
    };
    let admin = session.role == shared::api::Role::Admin;
    let SessionInfo { username, authenticated_at, expires_at, duo, .. } = session;

    view! {
        <section class="card" aria-labelledby="account-title">
            <h1 id="account-title">"You are signed in"</h1>
            <ProblemBox problem />
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
                <a class="button secondary" id="admin-console" href="/admin/">"Admin console"</a>
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

/// How far "Log out" reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// This session.
    ThisBrowser,
    /// Every session of this user.
    Everywhere,
}

/// Duo's `auth_context.factor` as people say it: Duo sends some factors as
/// identifiers (`duo_push`) and others as text (`WebAuthn Chrome Touch ID`),
/// which is shown as sent.
fn factor_label(factor: &str) -> String {
    match factor {
        "duo_push" => "Duo Push",
        "verified_duo_push" => "Verified Duo Push",
        "phone_call" => "Phone call",
        "passcode" => "Passcode",
        "sms_passcode" => "SMS passcode",
        "hardware_token" => "Hardware token",
        "bypass_code" => "Bypass code",
        other => other,
    }
    .to_owned()
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
        let s = session(AuthMethod::Duo, Some(duo));
        let host = render(move || view! { <AccountPage session=s problem on_signed_out /> });
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
    fn bypass_session_says_so_and_has_no_duo_rows() {
        let (problem, _) = signal(None::<Problem>);
        let on_signed_out = Callback::new(|_: Result<(), Problem>| {});
        let s = session(AuthMethod::Bypass, None);
        let host = render(move || view! { <AccountPage session=s problem on_signed_out /> });
        assert!(text_of(&host, ".method").unwrap().contains("exempt from Duo"));
        assert_eq!(text_of(&host, ".factor"), None);
        assert_eq!(text_of(&host, ".txid"), None);
    }
}
