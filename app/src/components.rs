//! Pieces shared by the screens.

use leptos::html;
use leptos::prelude::*;

use crate::messages::Problem;

/// The error region: always present (so screen readers announce changes and
/// the layout does not jump), filled with what happened and what to do next.
/// Focus moves to it when a problem appears.
#[component]
pub fn ProblemBox(#[prop(into)] problem: Signal<Option<Problem>>) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        if problem.get().is_some()
            && let Some(el) = node.get()
        {
            let _ = el.focus();
        }
    });
    view! {
        <div node_ref=node class="problem" class:shown=move || problem.get().is_some()
            role="alert" aria-live="assertive" tabindex="-1">
            {move || problem.get().map(|p| match (p.console, p.said.clone()) {
                // The admin console: the Worker's reason says what to do.
                (true, Some(reason)) => view! {
                    <p class="problem-title"><strong>{p.title()}</strong></p>
                    <p class="problem-reason">{reason}</p>
                }.into_any(),
                (_, said) => view! {
                    <p class="problem-title"><strong>{p.title()}</strong></p>
                    {said.map(|said| view! { <p class="problem-duo">"Duo: " {said}</p> })}
                    <p class="problem-next">{p.next_step()}</p>
                }.into_any(),
            })}
        </div>
    }
}

/// Unix seconds as a JavaScript `Date`.
pub fn js_date(unix_seconds: i64) -> js_sys::Date {
    #[allow(
        clippy::cast_precision_loss,
        reason = "Unix milliseconds fit an f64 exactly until year 285616"
    )]
    let millis = (unix_seconds as f64) * 1000.0;
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis))
}

/// Formats Unix seconds in the browser's locale and time zone.
pub fn local_time(unix_seconds: i64) -> String {
    String::from(
        js_date(unix_seconds).to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED),
    )
}

/// [`local_time`] with the time zone's short name ("12/7/2026, 1:05:09 AM UTC").
pub fn zoned_time(unix_seconds: i64) -> String {
    let date = js_date(unix_seconds);
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"long".into());
    String::from(date.to_locale_string("default", &options))
}
