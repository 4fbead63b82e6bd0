//! The inline mode's second step (`DUO_MODE=inline`): the person picks a
//! device and a method on this page, as Secret Server and Cortex XSOAR
//! show it, and watches Duo's status until Duo says allow. Also the
//! enrollment screen, when Duo wants a device enrolled first.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ErrorCode;
use shared::api::{
    InlineDevice, InlineMethod, InlineProgress, InlineStartRequest, Passcode, SessionInfo,
};

use crate::api;
use crate::components::ProblemBox;
use crate::messages::Problem;

/// What the person sees besides the chooser.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Choosing a device and a method.
    Choose,
    /// A request to the Worker is under way.
    Busy,
    /// A push or call waits: Duo's status and message, and for a Verified
    /// Duo Push the code to type in Duo Mobile.
    Waiting { status: String, message: String, code: Option<String> },
    /// Typing a passcode (after "Enter a passcode", or after SMS: Duo's message).
    Passcode { sent: Option<String> },
    /// The person stopped waiting for a push or call, which Duo cannot take
    /// back: it stays on the device until it expires.
    Stopped,
}

/// Each method's name on the wire (and the buttons' `data-method`).
fn method_key(method: InlineMethod) -> &'static str {
    match method {
        InlineMethod::Push => "push",
        InlineMethod::Phone => "phone",
        InlineMethod::Sms => "sms",
        InlineMethod::Passcode => "passcode",
    }
}

/// The button text of each method.
pub fn method_label(method: InlineMethod) -> &'static str {
    match method {
        InlineMethod::Push => "Send me a Duo Push",
        InlineMethod::Phone => "Call me",
        InlineMethod::Sms => "Text me passcodes",
        InlineMethod::Passcode => "Enter a passcode",
    }
}

/// The device and method chooser, the live status and the passcode field.
#[component]
pub fn InlineStep(
    username: String,
    devices: Vec<InlineDevice>,
    /// Days this browser may be remembered after Duo (0: not offered).
    remember_days: u32,
    problem: ReadSignal<Option<Problem>>,
    set_problem: WriteSignal<Option<Problem>>,
    /// Duo said allow.
    on_signed_in: Callback<SessionInfo>,
    /// "Use a different account", or the login expired.
    on_restart: Callback<Option<Problem>>,
) -> impl IntoView {
    let devices = StoredValue::new(devices);
    let (chosen, set_chosen) = signal(0_usize);
    let (phase, set_phase) = signal(Phase::Choose);
    // Bumped by "Cancel" and by every new start: an older poll's answer is dropped.
    let (round, set_round) = signal(0_u32);
    let passcode_input = NodeRef::<html::Input>::new();
    let first_method = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if let Some(el) = first_method.get() {
            let _ = el.focus();
        }
    });
    Effect::new(move |_| {
        if matches!(phase.get(), Phase::Passcode { .. })
            && let Some(el) = passcode_input.get()
        {
            let _ = el.focus();
        }
    });

    let device_id =
        move || devices.with_value(|d| d.get(chosen.get_untracked()).map(|d| d.id.clone()));

    let factor = Factor {
        phase,
        set_phase,
        round,
        set_round,
        set_problem,
        on_signed_in,
        on_restart,
        passcode_input,
    };
    let trust = RwSignal::new(false);
    let start = move |request: InlineStartRequest| {
        factor.start(InlineStartRequest { remember: trust.get_untracked(), ..request });
    };

    let choose = move |method: InlineMethod| match method {
        InlineMethod::Passcode => {
            set_problem.set(None);
            set_phase.set(Phase::Passcode { sent: None });
        }
        _ => start(InlineStartRequest {
            method,
            device: device_id(),
            passcode: None,
            remember: false,
        }),
    };

    let submit_passcode = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(el) = passcode_input.get() else { return };
        let code: String = el.value().chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if code.is_empty() {
            let _ = el.focus();
            return;
        }
        start(InlineStartRequest {
            method: InlineMethod::Passcode,
            device: None,
            passcode: Some(Passcode::new(code)),
            remember: false,
        });
    };

    let cancel = move |()| {
        set_round.update(|r| *r += 1);
        set_phase.set(Phase::Stopped);
    };

    let busy = move || phase.get() == Phase::Busy;
    let waiting = move || matches!(phase.get(), Phase::Waiting { .. });

    view! {
        <section class="card inline" aria-labelledby="inline-title">
            <h1 id="inline-title">"Two-factor sign-in"</h1>
            <ProblemBox problem />
            <p class="who">"Signing in as " <strong class="username">{username}</strong></p>
            <DeviceChooser devices chosen set_chosen first_method
                locked=Signal::derive(move || busy() || waiting())
                on_choose=Callback::new(choose) />
            {(remember_days > 0).then(|| view! {
                <crate::pages::duo::TrustThisBrowser days=remember_days ticked=trust />
            })}
            <LiveStatus phase on_cancel=Callback::new(cancel) />
            <PasscodeForm phase input=passcode_input on_submit=Callback::new(submit_passcode) />
            <button type="button" class="link" on:click=move |_| on_restart.run(None) disabled=busy>
                "Use a different account"
            </button>
        </section>
    }
}

/// The factor under way: its phase, the round that owns it, and where its
/// outcome goes.
#[derive(Clone, Copy)]
struct Factor {
    phase: ReadSignal<Phase>,
    set_phase: WriteSignal<Phase>,
    /// Bumped by "Cancel" and by every new start: an older poll's answer is dropped.
    round: ReadSignal<u32>,
    set_round: WriteSignal<u32>,
    set_problem: WriteSignal<Option<Problem>>,
    on_signed_in: Callback<SessionInfo>,
    on_restart: Callback<Option<Problem>>,
    passcode_input: NodeRef<html::Input>,
}

impl Factor {
    /// A refusal: expired logins go back to the password, the rest to the chooser.
    fn refused(self, p: Problem) {
        if p.code == Some(ErrorCode::LoginExpired) {
            self.on_restart.run(Some(p));
        } else {
            self.set_problem.set(Some(p));
            self.set_phase.set(Phase::Choose);
        }
    }

    /// Follows a started push or call until Duo decides (or "Cancel").
    fn follow(self, mine: u32) {
        spawn_local(async move {
            loop {
                let answer = api::inline_status().await;
                if self.round.get_untracked() != mine {
                    return;
                }
                match answer {
                    Ok(InlineProgress::Waiting { status, message, verification_code }) => {
                        // A poll Duo held without news names no code: keep the one shown.
                        let shown = match self.phase.get_untracked() {
                            Phase::Waiting { code, .. } => code,
                            _ => None,
                        };
                        let code = verification_code.or(shown);
                        self.set_phase.set(Phase::Waiting { status, message, code });
                    }
                    Ok(InlineProgress::Done { session }) => return self.on_signed_in.run(session),
                    Ok(InlineProgress::Sent { .. }) => return self.set_phase.set(Phase::Choose),
                    Err(p) => return self.refused(p),
                }
            }
        });
    }

    /// Starts a method (or checks a passcode).
    fn start(self, request: InlineStartRequest) {
        if self.phase.get_untracked() == Phase::Busy {
            return;
        }
        self.set_round.update(|r| *r += 1);
        let mine = self.round.get_untracked();
        self.set_problem.set(None);
        self.set_phase.set(Phase::Busy);
        spawn_local(async move {
            let answer = api::inline_start(&request).await;
            if self.round.get_untracked() != mine {
                return;
            }
            match answer {
                Ok(InlineProgress::Waiting { status, message, verification_code }) => {
                    self.set_phase.set(Phase::Waiting { status, message, code: verification_code });
                    self.follow(mine);
                }
                Ok(InlineProgress::Sent { message }) => {
                    self.set_phase.set(Phase::Passcode { sent: Some(message) });
                }
                Ok(InlineProgress::Done { session }) => self.on_signed_in.run(session),
                // A wrong passcode: say so, and let the person type another.
                Err(p)
                    if request.method == InlineMethod::Passcode
                        && p.code == Some(ErrorCode::DuoDenied) =>
                {
                    self.set_problem.set(Some(p.of_passcode()));
                    self.set_phase.set(Phase::Passcode { sent: None });
                    if let Some(el) = self.passcode_input.get_untracked() {
                        el.set_value("");
                    }
                }
                Err(p) => self.refused(p),
            }
        });
    }
}

/// Where the factor stands, announced politely; "Cancel" while Duo waits.
#[component]
fn LiveStatus(phase: ReadSignal<Phase>, on_cancel: Callback<()>) -> impl IntoView {
    view! {
        <div class="live" role="status" aria-live="polite">
            {move || match phase.get() {
                Phase::Busy => view! { <p class="progress">"Contacting Duo…"</p> }.into_any(),
                Phase::Waiting { message, code, .. } => view! {
                    <p class="progress waiting">{message}</p>
                    {code.map(|code| view! {
                        <div class="verification">
                            <p id="verification-label">"Enter this code in Duo Mobile"</p>
                            <p class="verification-code" id="verification-code"
                                aria-describedby="verification-label">{code}</p>
                        </div>
                    })}
                    <p class="muted">"Waiting for your answer on the device."</p>
                    <button type="button" class="link" id="cancel" on:click=move |_| on_cancel.run(())>
                        "Stop waiting"
                    </button>
                }.into_any(),
                Phase::Passcode { sent } => view! {
                    {sent.map(|m| view! { <p class="progress sent">{m}</p> })}
                }.into_any(),
                Phase::Stopped => view! {
                    <p class="progress stopped" id="stopped">
                        "Stopped waiting here. The request is still on your device until it expires (about a minute): \
                         deny it there or ignore it; approving it now does not sign this page in. \
                         To sign in, choose a method again."
                    </p>
                }.into_any(),
                Phase::Choose => ().into_any(),
            }}
        </div>
    }
}

/// The passcode field, shown for "Enter a passcode" and after SMS.
#[component]
fn PasscodeForm(
    phase: ReadSignal<Phase>,
    input: NodeRef<html::Input>,
    on_submit: Callback<leptos::ev::SubmitEvent>,
) -> impl IntoView {
    let busy = move || phase.get() == Phase::Busy;
    view! {
        <form id="passcode-form" class="form" on:submit=move |ev| on_submit.run(ev)
            class:hidden=move || !matches!(phase.get(), Phase::Passcode { .. } | Phase::Busy)>
            <label for="passcode">"Passcode"</label>
            <input id="passcode" name="passcode" type="text" inputmode="numeric"
                autocomplete="one-time-code" spellcheck="false" node_ref=input
                disabled=busy />
            <button type="submit" class="primary" disabled=busy>"Verify"</button>
        </form>
    }
}

/// The devices (radio buttons) and the chosen device's methods (buttons).
#[component]
fn DeviceChooser(
    devices: StoredValue<Vec<InlineDevice>>,
    chosen: ReadSignal<usize>,
    set_chosen: WriteSignal<usize>,
    first_method: NodeRef<html::Button>,
    locked: Signal<bool>,
    on_choose: Callback<InlineMethod>,
) -> impl IntoView {
    let count = devices.with_value(Vec::len);
    let device_name = move || {
        devices.with_value(|d| d.get(chosen.get()).map(|d| d.name.clone()).unwrap_or_default())
    };
    view! {
        <fieldset class="devices" disabled=move || locked.get()>
            <legend>{if count > 1 { "Choose a device" } else { "Your device" }}</legend>
            {devices.with_value(|list| list.iter().enumerate().map(|(i, device)| {
                let name = device.name.clone();
                view! {
                    <label class="device">
                        <input type="radio" name="device" value=device.id.clone()
                            prop:checked=move || chosen.get() == i
                            on:change=move |_| set_chosen.set(i) />
                        <span>{name}</span>
                    </label>
                }
            }).collect_view())}
        </fieldset>
        <div class="methods" role="group" aria-label=move || format!("Ways to confirm on {}", device_name())>
            {move || {
                let methods = devices.with_value(|d| d.get(chosen.get()).map(|d| d.methods.clone()).unwrap_or_default());
                methods.into_iter().enumerate().map(|(i, method)| {
                    let node = if i == 0 { first_method } else { NodeRef::new() };
                    view! {
                        <button type="button" class="secondary method" data-method=method_key(method)
                            node_ref=node disabled=move || locked.get()
                            on:click=move |_| on_choose.run(method)>
                            {method_label(method)}
                        </button>
                    }
                }).collect_view()
            }}
        </div>
    }
}

/// Duo wants a device enrolled before this user can sign in.
#[component]
pub fn EnrollStep(
    username: String,
    enroll_url: String,
    message: String,
    on_restart: Callback<Option<Problem>>,
) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="enroll-title">
            <h1 id="enroll-title">"Set up Duo first"</h1>
            <p class="who">"Signing in as " <strong class="username">{username}</strong></p>
            <p class="duo-message">"Duo: " {message}</p>
            <p class="muted">
                "Your account needs a Duo device before you can sign in. Open Duo's enrollment page, "
                "add your phone, then sign in again here. The link works for a few minutes."
            </p>
            <a class="button primary" id="enroll-link" href=enroll_url target="_blank" rel="noopener noreferrer">
                "Enroll a device with Duo"
            </a>
            <button type="button" class="link" on:click=move |_| on_restart.run(None)>
                "Sign in again"
            </button>
        </section>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::tests_support::render;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn devices() -> Vec<InlineDevice> {
        vec![
            InlineDevice {
                id: "DPIPHONE".into(),
                name: "iPhone (XXX-XXX-0100)".into(),
                methods: InlineMethod::ALL.to_vec(),
            },
            InlineDevice {
                id: "DPDESK".into(),
                name: "Office phone".into(),
                methods: vec![InlineMethod::Phone],
            },
        ]
    }

    #[wasm_bindgen_test]
    async fn only_the_chosen_devices_methods_are_offered() {
        let (problem, set_problem) = signal(None::<Problem>);
        let on_signed_in = Callback::new(|_: SessionInfo| {});
        let on_restart = Callback::new(|_: Option<Problem>| {});
        let host = render(move || {
            view! {
                <InlineStep username="alice".to_owned() devices=devices() remember_days=0 problem set_problem on_signed_in on_restart />
            }
        });
        let labels = |host: &web_sys::HtmlElement| {
            let list = host.query_selector_all("button.method").unwrap();
            (0..list.length())
                .map(|i| list.get(i).unwrap().text_content().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            labels(&host),
            ["Send me a Duo Push", "Call me", "Text me passcodes", "Enter a passcode"]
        );
        let radios = host.query_selector_all("input[type=radio]").unwrap();
        assert_eq!(radios.length(), 2);
        let desk: web_sys::HtmlInputElement = radios.get(1).unwrap().unchecked_into();
        desk.click();
        leptos::task::tick().await;
        assert_eq!(labels(&host), ["Call me"]);
        let group = host.query_selector("[role=group]").unwrap().unwrap();
        assert!(group.get_attribute("aria-label").unwrap().contains("Office phone"));
    }

    #[wasm_bindgen_test]
    async fn enter_a_passcode_shows_the_labelled_field() {
        let (problem, set_problem) = signal(None::<Problem>);
        let on_signed_in = Callback::new(|_: SessionInfo| {});
        let on_restart = Callback::new(|_: Option<Problem>| {});
        let host = render(move || {
            view! {
                <InlineStep username="alice".to_owned() devices=devices() remember_days=0 problem set_problem on_signed_in on_restart />
            }
        });
        let form = host.query_selector("#passcode-form").unwrap().unwrap();
        assert!(form.class_list().contains("hidden"));
        let passcode: web_sys::HtmlElement =
            host.query_selector("button[data-method=passcode]").unwrap().unwrap().unchecked_into();
        passcode.click();
        leptos::task::tick().await;
        assert!(!form.class_list().contains("hidden"));
        assert!(host.query_selector("label[for=passcode]").unwrap().is_some());
    }

    #[wasm_bindgen_test]
    fn enrollment_offers_duos_link() {
        let on_restart = Callback::new(|_: Option<Problem>| {});
        let host = render(move || {
            view! {
                <EnrollStep username="bob".to_owned() enroll_url="https://api-x.duosecurity.com/portal?code=1".to_owned()
                    message="Enroll an authentication device to proceed".to_owned() on_restart />
            }
        });
        let link = host.query_selector("#enroll-link").unwrap().unwrap();
        assert_eq!(
            link.get_attribute("href").as_deref(),
            Some("https://api-x.duosecurity.com/portal?code=1")
        );
        assert!(host.text_content().unwrap().contains("Enroll an authentication device"));
    }
}
