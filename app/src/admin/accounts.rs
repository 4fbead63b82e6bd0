//! The users page's forms: add a user, reset a password, and a user's Duo
//! username with its check. A generated password is shown once, in a box
//! the admin closes; it is held nowhere else (the Worker keeps only its
//! hash) and the box forgets it when closed.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::admin::{
    DuoPolicy, DuoPreauth, DuoUserCheck, DuoUserCheckRequest, NewPassword, NewUserRequest,
    PasswordIssued, PasswordResetRequest, UserChange, UserSummary, routes,
};
use shared::api::{Password, Role};

use super::api::post;
use crate::components::local_time;
use crate::messages::Problem;

/// Which form is open above the users table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Panel {
    /// Add a user.
    Add,
    /// A new password for this user.
    Reset(String),
    /// This user's Duo username.
    Duo(UserSummary),
}

/// A generated password to show once: for whom, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Issued {
    /// "bob was added." or "bob has a new password."
    pub done: String,
    /// The answer.
    pub issued: PasswordIssued,
}

/// "Generate a password" or "Type a password", and the typed one.
#[component]
fn PasswordChoice(
    id: &'static str,
    typed: RwSignal<bool>,
    input: NodeRef<html::Input>,
) -> impl IntoView {
    let (generate_id, type_id, field_id) =
        (format!("{id}-generate"), format!("{id}-type"), format!("{id}-password"));
    view! {
        <fieldset class="choice">
            <legend>"Password"</legend>
            <label><input type="radio" name=id id=generate_id checked=move || !typed.get()
                on:change=move |_| typed.set(false) />
                " Generate a password (shown once, for you to hand over)"</label>
            <label><input type="radio" name=id id=type_id checked=move || typed.get()
                on:change=move |_| typed.set(true) />
                " Type a password"</label>
            <Show when=move || typed.get()>
                <label for=field_id.clone()>"The password (at least 8 characters, not the username)"</label>
                <input id=field_id.clone() type="password" autocomplete="new-password" minlength="8" node_ref=input />
            </Show>
        </fieldset>
    }
}

/// The password the form asks for.
fn chosen(typed: bool, input: NodeRef<html::Input>) -> NewPassword {
    let text = input.get_untracked().map(|el| el.value()).unwrap_or_default();
    if typed { NewPassword::Typed(Password::new(text)) } else { NewPassword::Generate }
}

/// The "Add user" form.
#[component]
pub(super) fn AddUser(
    close: Callback<()>,
    added: Callback<Issued>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (name, duo_name, role, policy, password) = (
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Select>::new(),
        NodeRef::<html::Select>::new(),
        NodeRef::<html::Input>::new(),
    );
    let typed = RwSignal::new(false);
    let (busy, set_busy) = signal(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value =
            |node: NodeRef<html::Input>| node.get().map(|el| el.value()).unwrap_or_default();
        let pick =
            |node: NodeRef<html::Select>| node.get().map(|el| el.value()).unwrap_or_default();
        let duo_username = Some(value(duo_name)).filter(|d| !d.trim().is_empty());
        let request = NewUserRequest {
            username: value(name),
            role: if pick(role) == "admin" { Role::Admin } else { Role::User },
            duo_policy: if pick(policy) == "bypass" {
                DuoPolicy::Bypass
            } else {
                DuoPolicy::Required
            },
            duo_username,
            password: chosen(typed.get_untracked(), password),
        };
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let outcome =
                post::<_, PasswordIssued>(&shared::api::routes::at(routes::USER_ADD), &request)
                    .await;
            set_busy.set(false);
            match outcome {
                Ok(issued) => {
                    let done = format!("{} was added.", issued.username);
                    added.run(Issued { done, issued });
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    view! {
        <form class="panel form" id="add-user" aria-labelledby="add-user-title" on:submit=submit>
            <h2 id="add-user-title">"Add a user"</h2>
            <label for="new-username">"Username"</label>
            <input id="new-username" required autocomplete="off" maxlength="64" node_ref=name
                placeholder="letters, digits and . _ @ + -" />
            <label for="new-role">"Role"</label>
            <select id="new-role" node_ref=role>
                <option value="user" selected>"user"</option>
                <option value="admin">"admin (this console)"</option>
            </select>
            <label for="new-policy">"Second factor"</label>
            <select id="new-policy" node_ref=policy>
                <option value="required" selected>"Duo required"</option>
                <option value="bypass">"Password only (bypass)"</option>
            </select>
            <label for="new-duo-username">"Duo username (if Duo knows them by another name)"</label>
            <input id="new-duo-username" autocomplete="off" node_ref=duo_name placeholder="the username" />
            <PasswordChoice id="new" typed input=password />
            <div class="panel-actions">
                <button type="submit" class="primary" id="add-user-submit" disabled=move || busy.get()>"Add user"</button>
                <button type="button" class="secondary" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

/// The "Reset password" form for one user.
#[component]
pub(super) fn ResetPassword(
    username: String,
    close: Callback<()>,
    reset: Callback<Issued>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let typed = RwSignal::new(false);
    let password = NodeRef::<html::Input>::new();
    let (busy, set_busy) = signal(false);
    let who = username.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = PasswordResetRequest {
            username: who.clone(),
            password: chosen(typed.get_untracked(), password),
        };
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let outcome = post::<_, PasswordIssued>(
                &shared::api::routes::at(routes::USER_PASSWORD),
                &request,
            )
            .await;
            set_busy.set(false);
            match outcome {
                Ok(issued) => {
                    let done = format!(
                        "{} has a new password and was signed out everywhere.",
                        issued.username
                    );
                    reset.run(Issued { done, issued });
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    view! {
        <form class="panel form" id="reset-form" aria-labelledby="reset-title" on:submit=submit>
            <h2 id="reset-title">"New password for " {username.clone()}</h2>
            <p class="muted">"This ends every session of " {username} ": they sign in again with the new password."</p>
            <PasswordChoice id="reset" typed input=password />
            <div class="panel-actions">
                <button type="submit" class="primary" id="reset-submit" disabled=move || busy.get()>"Set password"</button>
                <button type="button" class="secondary" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

/// A generated password, shown once.
#[component]
pub(super) fn IssuedBox(issued: RwSignal<Option<Issued>>) -> impl IntoView {
    move || {
        issued.get().map(|Issued { done, issued: answer }| {
            let password = answer.generated.map(|p| p.expose().to_owned());
            let warning = answer.warning;
            view! {
                <div class="status ok issued" id="issued" role="status">
                    <p><strong>{done}</strong></p>
                    {match password {
                        Some(password) => view! {
                            <p>"Their password, shown this once: "
                                <code id="issued-password" class="secret">{password}</code></p>
                            <p class="muted">"Hand it over by a channel you trust. It is not stored anywhere you can read it again."</p>
                        }.into_any(),
                        None => view! { <p>"The password you typed is set."</p> }.into_any(),
                    }}
                    {warning.map(|w| view! { <p class="warning" id="issued-warning">{w}</p> })}
                    <button type="button" class="secondary small" id="issued-done" on:click=move |_| issued.set(None)>"Done"</button>
                </div>
            }
        })
    }
}

/// `POST /api/admin/users/duo-check`: what Duo and the audit log say, into
/// `set_result` (busy meanwhile), or the Worker's refusal.
pub(super) fn check_with_duo(
    request: DuoUserCheckRequest,
    set_busy: WriteSignal<bool>,
    set_result: WriteSignal<Option<DuoUserCheck>>,
    set_problem: WriteSignal<Option<Problem>>,
) {
    set_busy.set(true);
    spawn_local(async move {
        let outcome =
            post::<_, DuoUserCheck>(&shared::api::routes::at(routes::USER_DUO_CHECK), &request)
                .await;
        set_busy.set(false);
        match outcome {
            Ok(check) => set_result.set(Some(check)),
            Err(p) => set_problem.set(Some(p)),
        }
    });
}

/// A user's Duo username: edit, check with Duo, save.
#[component]
pub(super) fn DuoName(
    user: UserSummary,
    close: Callback<()>,
    save: Callback<(String, UserChange)>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let (result, set_result) = signal(None::<DuoUserCheck>);
    let (busy, set_busy) = signal(false);
    let UserSummary { username, duo_username, .. } = user;
    let current = duo_username.unwrap_or_default();
    let typed = move || input.get_untracked().map(|el| el.value()).unwrap_or_default();
    let who = username.clone();
    let check = move |_| {
        let request = DuoUserCheckRequest {
            username: who.clone(),
            duo_username: Some(typed()).filter(|d| !d.trim().is_empty()),
        };
        set_problem.set(None);
        check_with_duo(request, set_busy, set_result, set_problem);
    };
    let who = username.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = Some(typed()).filter(|d| !d.trim().is_empty());
        save.run((who.clone(), UserChange::DuoUsername(name)));
    };
    view! {
        <form class="panel form" id="duo-username" aria-labelledby="duo-name-title" on:submit=submit>
            <h2 id="duo-name-title">"Duo username for " {username.clone()}</h2>
            <label for="duo-name">"The name Duo knows " {username.clone()} " by (empty: the username)"</label>
            <input id="duo-name" autocomplete="off" node_ref=input value=current placeholder=username.clone() />
            <div class="panel-actions">
                <button type="button" class="secondary" id="duo-name-check" disabled=move || busy.get() on:click=check>
                    {move || if busy.get() { "Checking…" } else { "Check with Duo" }}
                </button>
                <button type="submit" class="primary" id="duo-name-save">"Save"</button>
                <button type="button" class="secondary" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
            <div id="duo-name-result" role="status" aria-live="polite">
                {move || result.get().map(|check| view! { <CheckResult check /> })}
            </div>
        </form>
    }
}

/// What the check found.
#[component]
pub(super) fn CheckResult(check: DuoUserCheck) -> impl IntoView {
    let healthy = check.taken_by.is_none()
        && check.last_duo_failure.is_none()
        && matches!(check.preauth, None | Some(DuoPreauth::Enrolled { .. } | DuoPreauth::Allowed));
    let class = if healthy { "status ok" } else { "status warn" };
    let devices = match &check.preauth {
        Some(DuoPreauth::Enrolled { devices }) => devices.clone(),
        _ => Vec::new(),
    };
    let success = check.last_duo_success.map(|at| format!("Last Duo sign-in: {}.", local_time(at)));
    let failure = check.last_duo_failure.map(|f| {
        format!("Last failed Duo step: {} ({}).", local_time(f.at), f.reason.replace('_', " "))
    });
    view! {
        <div class=class data-healthy=healthy.to_string()>
            <p><strong>{check.summary}</strong></p>
            {(!devices.is_empty()).then(|| view! {
                <ul class="check-devices">{devices.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
            })}
            {success.map(|s| view! { <p class="muted">{s}</p> })}
            {failure.map(|f| view! { <p class="muted">{f}</p> })}
        </div>
    }
}
