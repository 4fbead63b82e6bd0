//! The Duo provider page: the settings as the Worker has them (secrets stay
//! in `wrangler secret` and never reach this page), "Test connection", and
//! the enforce-Duo switch (turning it off takes a typed phrase); and the
//! banners every console page shows while Duo is not enforced, or while the
//! sign-in policies skip it for a whole role.

use gloo_net::http::Request;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{DuoProvider, DuoTest, ENFORCE_OFF_PHRASE, EnforceRequest, routes};
use shared::policy::DuoBypass;

use super::api::{done, post_json, reply};
use crate::components::local_time;
use crate::messages::Problem;

/// `GET /api/admin/duo`.
pub(super) async fn fetch_provider() -> Result<DuoProvider, Problem> {
    reply(Request::get(&shared::api::routes::at(routes::DUO)).send().await).await
}

async fn run_test() -> Result<DuoTest, Problem> {
    reply(Request::post(&shared::api::routes::at(routes::DUO_TEST)).send().await).await
}

async fn send_enforce(enforce: bool, confirm: Option<String>) -> Result<(), Problem> {
    done(
        post_json(
            &shared::api::routes::at(routes::DUO_ENFORCE),
            &EnforceRequest { enforce, confirm },
        )
        .await,
    )
    .await
}

/// Shown on every console page while Duo is not enforced.
#[component]
pub(super) fn EnforceBanner(provider: ReadSignal<Option<DuoProvider>>) -> impl IntoView {
    move || {
        provider.get().filter(|p| !p.enforce_duo).map(|p| {
            let by = match (p.enforce_changed_by, p.enforce_changed_at) {
                (Some(who), Some(at)) => format!(" Turned off by {who} on {}.", local_time(at)),
                _ => String::new(),
            };
            view! {
                <p class="status error banner" id="duo-off-banner" role="alert">
                    <strong>"Duo is not enforced: "</strong>
                    "users sign in with their password alone." {by}
                </p>
            }
        })
    }
}

/// Shown on every console page while the saved sign-in policies skip Duo
/// for a whole role.
#[component]
pub(super) fn PolicyBypassBanner(provider: ReadSignal<Option<DuoProvider>>) -> impl IntoView {
    move || {
        provider.get().and_then(|p| p.policy_bypass).map(|notice| {
            let by = notice.saved_by.map(|who| format!("by {who} ")).unwrap_or_default();
            let saved = format!(" (saved {by}on {}).", local_time(notice.saved_at));
            view! {
                <p class="status error banner" id="duo-bypass-banner" role="alert">
                    <strong>"Duo is skipped by a sign-in policy: "</strong>
                    {bypass_in_words(&notice.bypass)} {saved}
                </p>
            }
        })
    }
}

/// `rule #1 "all" lets every user and admin in with the password alone`.
pub(super) fn bypass_in_words(bypass: &DuoBypass) -> String {
    format!(
        "rule #{} \"{}\" lets every {} in with the password alone",
        bypass.rule.number,
        bypass.rule.name,
        bypass.roles_in_words()
    )
}

fn duration(seconds: u32) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// The settings, as a definition list.
#[component]
fn Settings(p: DuoProvider) -> impl IntoView {
    let mode = if p.mode == "inline" {
        "inline (Auth API: factor chosen on this site's page)"
    } else {
        "prompt (Duo's Universal Prompt)"
    };
    let fail = if p.fail_mode == "open" {
        "open: if Duo is unreachable, a password alone signs in"
    } else {
        "closed: if Duo is unreachable, nobody with Duo required signs in"
    };
    let rotate = format!(
        "Secrets are never shown here. To rotate {secret}: create a new secret in the Duo Admin \
         Panel, run `wrangler secret put {secret}`, then test the connection.",
        secret = p.secret_setting
    );
    view! {
        <dl class="settings">
            <dt>"Mode"</dt><dd id="duo-mode">{mode}</dd>
            <dt>"API host"</dt><dd id="duo-host"><code>{p.api_host}</code></dd>
            <dt>{p.key_setting}</dt><dd id="duo-key"><code>{p.key_masked}</code></dd>
            {p.redirect_uri.map(|uri| view! { <dt>"Redirect URI"</dt><dd id="duo-redirect"><code>{uri}</code></dd> })}
            <dt>"Fail mode"</dt><dd id="duo-failmode">{fail}</dd>
            <dt>"Session lifetime"</dt>
            <dd>{duration(p.session_ttl_seconds)} " (fail-open sessions: " {duration(p.failopen_session_ttl_seconds)} ")"</dd>
        </dl>
        <p class="muted" id="duo-rotate">{rotate}</p>
    }
}

/// "Test connection" and its result.
#[component]
fn TestConnection(set_problem: WriteSignal<Option<Problem>>) -> impl IntoView {
    let (result, set_result) = signal(None::<DuoTest>);
    let (busy, set_busy) = signal(false);
    let test = move |_| {
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let outcome = run_test().await;
            set_busy.set(false);
            match outcome {
                Ok(test) => set_result.set(Some(test)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    view! {
        <button type="button" class="secondary" id="duo-test" disabled=move || busy.get() on:click=test>
            {move || if busy.get() { "Testing…" } else { "Test connection" }}
        </button>
        <div id="duo-test-result" role="status" aria-live="polite">
            {move || result.get().map(|t| {
                let class = if t.ok && t.cause.is_none() { "status ok" } else if t.ok { "status warn" } else { "status error" };
                let clock = t.clock_offset_seconds.map(|o| format!(" Duo's clock is {o:+} s from the Worker's."));
                view! {
                    <div class=class data-ok=t.ok.to_string()>
                        <p><strong>{t.summary}</strong>
                            {format!(" ({} in {} ms.)", t.endpoint.replace('_', " "), t.latency_ms)} {clock}</p>
                        {t.cause.map(|c| view! { <p class="cause">"Likely cause: " {c}</p> })}
                    </div>
                }
            })}
        </div>
    }
}

/// The enforce-Duo switch.
#[component]
fn Enforce(
    on: bool,
    bypass: Option<DuoBypass>,
    reload: Callback<()>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (asking, set_asking) = signal(false);
    let (typed, set_typed) = signal(String::new());
    let phrase_input = NodeRef::<html::Input>::new();
    let send = move |enforce: bool, confirm: Option<String>| {
        set_problem.set(None);
        spawn_local(async move {
            match send_enforce(enforce, confirm).await {
                Ok(()) => {
                    set_asking.set(false);
                    reload.run(());
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    let matches = move || typed.get().trim() == ENFORCE_OFF_PHRASE;
    view! {
        <h2>"Enforce Duo"</h2>
        {if on {
            view! {
                <p id="enforce-state">"On: every user whose second factor is \"Duo required\" must pass Duo."
                    {bypass.map(|b| format!(" But a sign-in policy skips Duo: {}.", bypass_in_words(&b)))}</p>
                <button type="button" class="secondary" id="enforce-off" on:click=move |_| set_asking.set(true)>
                    "Turn off Duo…"
                </button>
                <Show when=move || asking.get()>
                    <div class="confirm" id="enforce-confirm">
                        <p>"Everyone will sign in with a password alone until Duo is turned on again. "
                           "This is recorded in the audit log."</p>
                        <label for="enforce-phrase">"Type " <strong>{ENFORCE_OFF_PHRASE}</strong> " to confirm"</label>
                        <input id="enforce-phrase" autocomplete="off" node_ref=phrase_input
                            on:input=move |_| set_typed.set(phrase_input.get().map(|el| el.value()).unwrap_or_default()) />
                        <button type="button" class="danger" id="enforce-off-confirm" disabled=move || !matches()
                            on:click=move |_| send(false, Some(typed.get_untracked()))>"Turn off Duo"</button>
                        <button type="button" class="secondary" on:click=move |_| set_asking.set(false)>"Cancel"</button>
                    </div>
                </Show>
            }.into_any()
        } else {
            view! {
                <p id="enforce-state">"Off: passwords alone sign in."</p>
                <button type="button" class="primary" id="enforce-on" on:click=move |_| send(true, None)>"Turn Duo back on"</button>
            }.into_any()
        }}
    }
}

/// The page.
#[component]
pub(super) fn ProviderPage(
    provider: ReadSignal<Option<DuoProvider>>,
    reload: Callback<()>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    view! {
        {move || provider.get().map(|p| {
            let (on, bypass) = (p.enforce_duo, p.policy_bypass.clone().map(|n| n.bypass));
            view! {
                <Settings p />
                <TestConnection set_problem />
                <Enforce on bypass reload set_problem />
            }
        })}
    }
}
