//! A question the page waits on: a dialog shows, the code that asked
//! awaits the answer (a `Promise` the dialog settles). Used by the "confirm
//! it is you" dialog and the console's confirmations.

use std::cell::RefCell;

use wasm_bindgen::JsValue;

/// The answer of the question under way, once asked.
#[derive(Default)]
pub struct Pending(RefCell<Option<js_sys::Function>>);

impl Pending {
    /// Waits for [`Self::settle`]: `true` when confirmed. A question
    /// asked while another waits answers the older one "no".
    pub async fn wait(&'static self) -> bool {
        let mut slot = None;
        let promise = js_sys::Promise::new(&mut |resolve, _reject| slot = Some(resolve));
        let Some(resolve) = slot else { return false };
        if let Some(older) = self.0.borrow_mut().replace(resolve) {
            let _ = older.call1(&JsValue::NULL, &JsValue::FALSE);
        }
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok_and(|value| value.is_truthy())
    }

    /// Answers the question under way, if any.
    pub fn settle(&self, confirmed: bool) {
        if let Some(resolve) = self.0.borrow_mut().take() {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from_bool(confirmed));
        }
    }
}
