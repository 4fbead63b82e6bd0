//! On the account page: the user's own sessions and trusted browsers, each
//! ended with one click (OWASP ASVS 7.5.2), and the idle timeout: a warning
//! before it with "Stay signed in", and a clean end at it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{OwnKind, OwnSessions};

use crate::api;
use crate::components::local_time;
use crate::messages::Problem;

/// Unix seconds now, by the browser's clock.
fn now() -> i64 {
    #[allow(clippy::cast_possible_truncation, reason = "Unix seconds fit an i64")]
    let seconds = (js_sys::Date::now() / 1000.0) as i64;
    seconds
}

/// "Your sessions": this browser's and the others, the trusted browsers.
#[component]
pub fn OwnSessionsCard(
    set_problem: WriteSignal<Option<Problem>>,
    /// Ending this browser's own session signs it out.
    on_signed_out: Callback<Result<(), Problem>>,
) -> impl IntoView {
    let (listed, set_listed) = signal(None::<OwnSessions>);
    let (notice, set_notice) = signal(None::<String>);
    let load = move || {
        spawn_local(async move {
            match api::own_sessions().await {
                Ok(own) => set_listed.set(Some(own)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    load();
    let end = Callback::new(move |(kind, id, current): (OwnKind, String, bool)| {
        set_problem.set(None);
        spawn_local(async move {
            match api::end_own(kind, id).await {
                Ok(()) if current && kind == OwnKind::Session => on_signed_out.run(Ok(())),
                Ok(()) => {
                    set_notice.set(Some(match kind {
                        OwnKind::Session => "That session was signed out.".to_owned(),
                        OwnKind::Browser => {
                            "That browser is no longer trusted: Duo is asked there again."
                                .to_owned()
                        }
                    }));
                    load();
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    view! {
        <section class="own-sessions" aria-labelledby="own-sessions-title">
            <h2 id="own-sessions-title">"Your sessions"</h2>
            <p class="notice" role="status">{move || notice.get()}</p>
            {move || listed.get().map(|own| view! {
                <ul class="sessions" id="own-sessions">
                    {own.sessions.into_iter().map(|s| {
                        let (id, current) = (s.id.clone(), s.current);
                        let from = s.client_ip.unwrap_or_else(|| "an unknown address".to_owned());
                        view! {
                            <li data-session=s.id.clone() class:current=current>
                                <span>
                                    {if current { "This browser" } else { "Another browser" }}
                                    " · from " {from}
                                    " · signed in " {local_time(s.created_at)}
                                    " · last used " {local_time(s.last_seen_at)}
                                </span>
                                <button type="button" class="secondary small" data-action="end-session"
                                    on:click=move |_| end.run((OwnKind::Session, id.clone(), current))>
                                    {if current { "Sign out here" } else { "Sign out" }}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {(!own.browsers.is_empty()).then(|| view! {
                    <h3>"Trusted browsers"</h3>
                    <ul class="sessions" id="own-browsers">
                        {own.browsers.into_iter().map(|b| {
                            let (id, current) = (b.id.clone(), b.current);
                            let what = b.user_agent.unwrap_or_else(|| "A browser".to_owned());
                            view! {
                                <li data-browser=b.id.clone() class:current=current>
                                    <span>
                                        {what} {current.then_some(" (this one)")}
                                        " · trusted " {local_time(b.created_at)}
                                        " · until " {local_time(b.expires_at)}
                                    </span>
                                    <button type="button" class="secondary small" data-action="forget-browser"
                                        on:click=move |_| end.run((OwnKind::Browser, id.clone(), current))>
                                        "Stop trusting"
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })}
            })}
        </section>
    }
}

/// The idle timeout: a warning `window` seconds before the session ends
/// unused, "Stay signed in", and at the end `on_idle` (after asking the
/// Worker, which may know of use elsewhere: the app behind the gateway).
#[component]
pub fn IdleWatch(idle_expires_at: Option<i64>, on_idle: Callback<()>) -> impl IntoView {
    let (ends, set_ends) = signal(idle_expires_at);
    let (warned, set_warned) = signal(false);
    let window = idle_expires_at.map_or(120, |at| ((at - now()) / 2).clamp(1, 120));
    let (asking, set_asking) = signal(false);
    let (clock, set_clock) = signal(now());
    // Asks the Worker: a use moves the end (and this request is one).
    let ask = move || {
        if asking.get_untracked() {
            return;
        }
        set_asking.set(true);
        spawn_local(async move {
            let answer = api::session().await;
            set_asking.set(false);
            match answer {
                Ok(Some(info)) => {
                    set_ends.set(info.idle_expires_at);
                    set_warned.set(false);
                }
                Ok(None) => on_idle.run(()),
                // A network hiccup: look again at the next tick.
                Err(_) => {}
            }
        });
    };
    let tick = move || {
        set_clock.set(now());
        let Some(at) = ends.get_untracked() else { return };
        if now() >= at {
            ask();
        } else if now() >= at - window {
            set_warned.set(true);
        }
    };
    if idle_expires_at.is_some() {
        let handle = set_interval_with_handle(tick, std::time::Duration::from_secs(1));
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    view! {
        <Show when=move || warned.get()>
            <div class="alert idle-warning" role="alert" id="idle-warning">
                <p>{move || {
                    let left = ends.get().map_or(0, |at| (at - clock.get()).max(0));
                    format!("You will be signed out in about {} for inactivity.", if left > 90 {
                        format!("{} minutes", (left + 30) / 60)
                    } else {
                        format!("{left} seconds")
                    })
                }}</p>
                <button type="button" class="primary small" id="stay-signed-in" on:click=move |_| ask()>
                    "Stay signed in"
                </button>
            </div>
        </Show>
    }
}
