//! "Confirm it is you" before a sensitive action (a console change, one's
//! own password), without losing the action: when the Worker answers
//! `403 reauthentication_required` (header `X-Reauthenticate`), the page
//! asks for Duo again in a small window (the login's step-up, prompt or
//! inline, which comes back to `?reauthenticated=1` and tells this page on
//! a same-origin `BroadcastChannel`: Duo's pages cut the window's opener), or
//! for the password of an account without Duo, then sends the same request
//! again. Nothing is kept anywhere but in memory.

use std::cell::RefCell;

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{LoginResponse, routes};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::asking::Pending;

/// What the login window says to the page that opened it.
const REAUTHENTICATED: &str = "reauthenticated";
/// The same-origin channel it says it on.
const CHANNEL: &str = "duo-login-reauthentication";

/// Who confirms, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// As signed in.
    pub username: String,
    /// An account without Duo (break-glass): its password.
    pub by_password: bool,
}

thread_local! {
    /// The confirmation under way.
    static ANSWER: &'static Pending = Box::leak(Box::default());
    /// The dialog's state, once it is on the page.
    static ASK: RefCell<Option<RwSignal<Option<Who>>>> = const { RefCell::new(None) };
    static WHO: RefCell<Option<Who>> = const { RefCell::new(None) };
    /// The channel the login window answers on, kept for the page's life.
    static HEARD_ON: RefCell<Option<web_sys::BroadcastChannel>> = const { RefCell::new(None) };
}

/// Whether the Worker asks for a confirmation first.
pub fn asked(response: &gloo_net::http::Response) -> bool {
    response.status() == 403 && response.headers().get("x-reauthenticate").is_some()
}

/// Shows the dialog and waits: `true` once confirmed, `false` when
/// cancelled (or when the page has no dialog).
pub async fn confirm() -> bool {
    let (Some(ask), Some(who)) = (ASK.with(|a| *a.borrow()), WHO.with(|w| w.borrow().clone()))
    else {
        return false;
    };
    ask.set(Some(who));
    let answer = ANSWER.with(|pending| *pending).wait().await;
    ask.set(None);
    answer
}

fn settle(confirmed: bool) {
    ANSWER.with(|pending| pending.settle(confirmed));
}

/// In the login window after Duo (`?reauthenticated=1`): tells the page
/// waiting for it, and closes when the browser lets it.
pub fn tell_opener() {
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let _ = channel.post_message(&JsValue::from_str(REAUTHENTICATED));
        channel.close();
    }
    if let Some(window) = web_sys::window() {
        let _ = window.close();
    }
}

/// The login's step-up in a small window, back to `?reauthenticated=1`.
fn open_duo_window() -> bool {
    let back = format!("{}?{REAUTHENTICATED}=1", routes::at(routes::PAGE));
    let url = format!(
        "{}?return_to={}&fresh=1",
        routes::at(routes::PAGE),
        String::from(js_sys::encode_uri_component(&back))
    );
    web_sys::window()
        .and_then(|w| {
            w.open_with_url_and_target_and_features(
                &url,
                "reauthenticate",
                "popup,width=520,height=760",
            )
            .ok()
        })
        .flatten()
        .is_some()
}

/// A password-only sign-in again (a new session, confirmed now), or what to say.
async fn sign_in_again(username: String, password: String) -> Result<(), &'static str> {
    let body = shared::api::LoginRequest {
        username,
        password: shared::api::Password::new(password),
        return_to: None,
        fresh: false,
    };
    let unreachable = "The sign-in service cannot be reached. Try again.";
    let request = gloo_net::http::Request::post(&routes::at(routes::LOGIN))
        .json(&body)
        .map_err(|_| unreachable)?;
    let response = request.send().await.map_err(|_| unreachable)?;
    match response.status() {
        200 => match response.json::<LoginResponse>().await {
            Ok(LoginResponse::Done { .. }) => Ok(()),
            _ => Err("This account signs in with Duo: use Duo instead."),
        },
        401 => Err("The password is incorrect."),
        429 => Err("Too many attempts: wait a few minutes and try again."),
        _ => Err("That did not work. Try again."),
    }
}

/// The dialog, once per page; `who` is the signed-in user.
#[component]
pub fn ReauthDialog(who: Who) -> impl IntoView {
    let ask = RwSignal::new(None::<Who>);
    ASK.with(|a| *a.borrow_mut() = Some(ask));
    WHO.with(|w| *w.borrow_mut() = Some(who));
    // The login window's word (a channel reaches same-origin pages only).
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let heard = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                if event.data().as_string().as_deref() == Some(REAUTHENTICATED) {
                    settle(true);
                }
            },
        );
        channel.set_onmessage(Some(heard.as_ref().unchecked_ref()));
        // One listener for the page's life.
        heard.forget();
        HEARD_ON.with(|h| *h.borrow_mut() = Some(channel));
    }
    let (problem, set_problem) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let password = NodeRef::<html::Input>::new();
    let with_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(who), Some(input)) = (ask.get_untracked(), password.get_untracked()) else {
            return;
        };
        let typed = input.value();
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let answer = sign_in_again(who.username, typed).await;
            set_busy.set(false);
            match answer {
                Ok(()) => {
                    input.set_value("");
                    settle(true);
                }
                Err(said) => set_problem.set(Some(said.to_owned())),
            }
        });
    };
    let with_duo = move |_| {
        set_problem.set(None);
        if !open_duo_window() {
            set_problem.set(Some(
                "The window did not open: allow pop-ups for this site, then try again.".to_owned(),
            ));
        }
    };
    view! {
        <Show when=move || ask.get().is_some()>
            <div class="reauth" role="dialog" aria-modal="true" aria-labelledby="reauth-title" id="reauth">
                <h2 id="reauth-title">"Confirm it is you"</h2>
                {move || problem.get().map(|p| view! { <p class="status error" role="alert" id="reauth-problem">{p}</p> })}
                {move || match ask.get() {
                    Some(who) if who.by_password => view! {
                        <form id="reauth-form" class="form" on:submit=with_password>
                            <p>"This needs your password again. What you were doing continues after."</p>
                            <label for="reauth-password">"Password"</label>
                            <input id="reauth-password" type="password" autocomplete="current-password" required node_ref=password />
                            <button type="submit" class="primary" disabled=move || busy.get()>"Confirm"</button>
                        </form>
                    }.into_any(),
                    _ => view! {
                        <p>"This needs a recent approval with Duo. Approve in the window that opens; what you were doing continues after."</p>
                        <button type="button" class="primary" id="reauth-duo" on:click=with_duo>"Continue with Duo"</button>
                    }.into_any(),
                }}
                <button type="button" class="link" id="reauth-cancel" on:click=move |_| settle(false)>"Cancel"</button>
            </div>
        </Show>
    }
}
