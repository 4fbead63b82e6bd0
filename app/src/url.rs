//! The address bar: the `?error=<code>` the Worker's redirects carry, and
//! the `?return_to=<path>` the gateway sends a browser here with.

use shared::ErrorCode;
use shared::return_to::ReturnTo;
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
pub fn take_error_param() -> Option<ErrorCode> {
    let window = web_sys::window()?;
    let location = window.location();
    let params = params()?;
    let raw = params.get("error")?;
    params.delete("error");
    if let (Ok(history), Ok(path)) = (window.history(), location.pathname()) {
        let rest = String::from(params.to_string());
        let url = if rest.is_empty() { path } else { format!("{path}?{rest}") };
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
    ErrorCode::parse(&raw)
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
