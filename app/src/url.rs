//! The address bar: the `?error=<code>` the Worker's redirects carry, and
//! the `?return_to=<path>` the gateway sends a browser here with.

use shared::ErrorCode;
use shared::api::DuoDenial;
use shared::return_to::ReturnTo;

use crate::messages::Problem;
use wasm_bindgen::JsValue;

/// The query string's parameters.
fn params() -> Option<web_sys::UrlSearchParams> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()
}

/// Reads `error` from the query string, then removes it from the address
/// bar (`history.replaceState`), so the message shows once; the rest of
/// the query (where to return to) stays.
///
/// An unknown code is dropped rather than shown: only the contract's codes
/// have sentences.
/// With it, `wait` (the seconds a rate limit lasts, at most a day) and
/// `duo` (why Duo denied: [`DuoDenial`]), both read as a fixed vocabulary:
/// the address bar is anyone's to write, so nothing from it is shown as text.
pub fn take_error() -> Option<Problem> {
    // The name a Duo step started with is typed in again only when that
    // step comes back refused; any other visit forgets it.
    let started_as = take_username();
    let window = web_sys::window()?;
    let location = window.location();
    let params = params()?;
    let raw = params.get("error")?;
    let wait = params.get("wait").and_then(|w| w.parse::<u64>().ok()).filter(|w| *w <= 86_400);
    let denial = params.get("duo").as_deref().and_then(DuoDenial::parse);
    for name in ["error", "wait", "duo"] {
        params.delete(name);
    }
    if let (Ok(history), Ok(path)) = (window.history(), location.pathname()) {
        let rest = String::from(params.to_string());
        let url = if rest.is_empty() { path } else { format!("{path}?{rest}") };
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
    let code = ErrorCode::parse(&raw)?;
    PREFILL.with(|p| *p.borrow_mut() = started_as);
    Some(Problem::new(code).with_retry_after(wait).with_denial(denial))
}

thread_local! {
    /// The name to type in again, from [`take_error`].
    static PREFILL: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The username to show in the sign-in form after a refused Duo step, once.
pub fn prefill() -> Option<String> {
    PREFILL.with(|p| p.borrow_mut().take())
}

/// The per-tab storage key of the username a Duo step started with.
const STARTED_AS: &str = "duo-login-started-as";

/// Keeps the username a Duo step starts with (this tab only), so that a
/// refusal coming back from the Worker (a rate limit, Duo's denial) finds it
/// typed in again. Never the password.
pub fn remember_username(username: &str) {
    if let Some(storage) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = storage.set_item(STARTED_AS, username);
    }
}

/// The username [`remember_username`] kept, once.
fn take_username() -> Option<String> {
    let storage = web_sys::window()?.session_storage().ok()??;
    let name = storage.get_item(STARTED_AS).ok()??;
    let _ = storage.remove_item(STARTED_AS);
    Some(name)
}

/// Where the app wants the browser back after the sign-in: `return_to`
/// from the query string, when it is a path on this origin
/// ([`ReturnTo::parse`], the Worker's own check).
pub fn return_to() -> Option<ReturnTo> {
    ReturnTo::parse(&params()?.get("return_to")?)
}

/// Whether the app asked for a fresh Duo approval (a step-up,
/// `?fresh=1`): the page signs in again even with a session, and a
/// trusted browser does not skip Duo.
pub fn fresh() -> bool {
    params().and_then(|p| p.get("fresh")).is_some_and(|v| v == "1")
}

/// Whether this is the login window a page opened to confirm with Duo,
/// back from the step-up (`?reauthenticated=1`).
pub fn reauthenticated() -> bool {
    params().and_then(|p| p.get("reauthenticated")).is_some_and(|v| v == "1")
}

/// Signed in: back to the app's page the browser came from, if there is
/// one (`location.replace`, so Back does not return to the login).
/// `false` when there is none and the login's own page stays.
pub fn go_back_to_app() -> bool {
    let (Some(target), Some(window)) = (return_to(), web_sys::window()) else { return false };
    window.location().replace(target.as_str()).is_ok()
}
