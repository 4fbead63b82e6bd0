//! The address bar: the `?error=<code>` the Worker's redirects carry.

use shared::ErrorCode;
use wasm_bindgen::JsValue;

/// Reads `error` from the query string, then removes the query from the
/// address bar (`history.replaceState`), so the message shows once.
///
/// An unknown code is dropped rather than shown: only the contract's codes
/// have sentences.
pub fn take_error_param() -> Option<ErrorCode> {
    let window = web_sys::window()?;
    let location = window.location();
    let search = location.search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    let raw = params.get("error")?;
    if let (Ok(history), Ok(path)) = (window.history(), location.pathname()) {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&path));
    }
    ErrorCode::parse(&raw)
}
