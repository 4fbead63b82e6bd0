//! "Are you sure?" before every destructive console action: a dialog that
//! names what will happen, and waits. The action runs only once confirmed;
//! Cancel, Escape or a click beside the dialog leave everything as it was.

use leptos::html;
use leptos::prelude::*;

use crate::asking::Pending;

/// What the dialog asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ask {
    /// The question: "Disable alice?"
    pub title: String,
    /// What will happen, in words.
    pub says: String,
    /// The confirming button: "Disable".
    pub action: String,
}

impl Ask {
    pub(super) fn new(
        title: impl Into<String>,
        says: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        Self { title: title.into(), says: says.into(), action: action.into() }
    }
}

thread_local! {
    static ANSWER: &'static Pending = Box::leak(Box::default());
    static SHOWN: std::cell::Cell<Option<RwSignal<Option<Ask>>>> = const { std::cell::Cell::new(None) };
}

/// Shows `ask` and waits: `true` once confirmed.
pub(super) async fn confirm(ask: Ask) -> bool {
    let Some(shown) = SHOWN.with(std::cell::Cell::get) else { return false };
    shown.set(Some(ask));
    let answer = ANSWER.with(|pending| *pending).wait().await;
    shown.set(None);
    answer
}

fn settle(confirmed: bool) {
    ANSWER.with(|pending| pending.settle(confirmed));
}

/// The dialog, once on the console.
#[component]
pub(super) fn ConfirmDialog() -> impl IntoView {
    let shown = RwSignal::new(None::<Ask>);
    SHOWN.with(|s| s.set(Some(shown)));
    let cancel = NodeRef::<html::Button>::new();
    // Focus starts on Cancel: Enter alone never confirms a destructive step.
    Effect::new(move |_| {
        if shown.get().is_some()
            && let Some(button) = cancel.get()
        {
            let _ = button.focus();
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            settle(false);
        }
    };
    view! {
        <Show when=move || shown.get().is_some()>
            <div class="backdrop" on:click=move |_| settle(false)></div>
            <div class="reauth confirm-dialog" role="alertdialog" aria-modal="true" id="confirm"
                aria-labelledby="confirm-title" aria-describedby="confirm-says" on:keydown=on_key>
                <h2 id="confirm-title">{move || shown.get().map(|a| a.title)}</h2>
                <p id="confirm-says">{move || shown.get().map(|a| a.says)}</p>
                <div class="panel-actions">
                    <button type="button" class="danger" id="confirm-yes" on:click=move |_| settle(true)>
                        {move || shown.get().map(|a| a.action)}
                    </button>
                    <button type="button" class="secondary" id="confirm-no" node_ref=cancel
                        on:click=move |_| settle(false)>"Cancel"</button>
                </div>
            </div>
        </Show>
    }
}
