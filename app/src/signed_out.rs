//! A session ended elsewhere: another tab of this browser signed out (it
//! says so on a same-origin `BroadcastChannel`), or another browser or an
//! administrator ended it (seen when this tab is looked at again). Either
//! way the page asks the Worker and leaves the account page if the session
//! is gone, instead of saying "You are signed in" until reloaded.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// The channel the sign-in pages of this origin share.
const CHANNEL: &str = "duo-login-session";
/// What a tab says when it signed out.
const SIGNED_OUT: &str = "signed_out";

/// Tells this browser's other tabs that this one signed out.
pub fn tell_other_tabs() {
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let _ = channel.post_message(&JsValue::from_str(SIGNED_OUT));
        channel.close();
    }
}

/// While `signed_in()`, asks the Worker whether the session still lives
/// when another tab signed out and when this tab is looked at again, and
/// calls `ended` with what to tell the person when it is gone.
pub fn watch(signed_in: impl Fn() -> bool + Copy + 'static, ended: Callback<&'static str>) {
    let check = move |why: &'static str| {
        if signed_in() {
            spawn_local(async move {
                if let Ok(None) = crate::api::session().await {
                    ended.run(why);
                }
            });
        }
    };
    let other_tab = check;
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let heard = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if event.data().as_string().as_deref() == Some(SIGNED_OUT) {
                    other_tab("You were signed out in another tab.");
                }
            },
        );
        channel.set_onmessage(Some(heard.as_ref().unchecked_ref()));
        // One listener, and its channel, for the page's life.
        heard.forget();
        std::mem::forget(channel);
    }
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let seen = document.clone();
    let shown = Closure::<dyn FnMut()>::new(move || {
        if !seen.hidden() {
            check(
                "Your session has ended: you signed out elsewhere, or it was ended for you. Sign in again to continue.",
            );
        }
    });
    let _ = document
        .add_event_listener_with_callback("visibilitychange", shown.as_ref().unchecked_ref());
    shown.forget();
}
