//! The policies page: the rules in order (first match wins), edited in
//! place and saved as a whole (refused if another admin saved in between),
//! and a dry run of the draft: who it would let in, send to Duo or refuse
//! from a given address, country and ASN. Saving a set that skips Duo for a
//! whole role takes the phrase that turns Duo off. Below the sign-in rules,
//! the app's paths: who may reach which (public, signed in, a role, a
//! fresh Duo approval), also tried in the dry run.
//!
//! The draft never gets lost: it lives with the console (leaving the page
//! and coming back finds it as it was; the tab says it is unsaved; closing
//! or reloading the page asks first), nothing can be edited before the
//! saved rules are there, and names are checked as they are typed (one
//! rule per name, as the Worker requires).

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ErrorCode;
use shared::admin::ENFORCE_OFF_PHRASE;
use shared::api::Role;
use shared::policy::{
    Access, AccessRule, AppRequest, DryRunRequest, DryRunResult, DuoBypass, PoliciesSave,
    PoliciesView, PolicyAction, PolicyRule, PolicySet, routes,
};

use super::api::post;
use crate::components::local_time;
use crate::messages::Problem;

/// The policies being edited, kept by the console across its pages.
#[derive(Debug, Clone, Copy)]
pub(super) struct PolicyDraft {
    rules: RwSignal<Vec<PolicyRule>>,
    paths: RwSignal<Vec<AccessRule>>,
    remember_days: RwSignal<u32>,
    /// The saved set, once read.
    saved: RwSignal<Option<PoliciesView>>,
    /// Bumped by every edit made in place (the fields write the draft
    /// without redrawing it).
    touched: RwSignal<u32>,
}

impl PolicyDraft {
    pub(super) fn new() -> Self {
        let draft = Self {
            rules: RwSignal::new(Vec::new()),
            paths: RwSignal::new(Vec::new()),
            remember_days: RwSignal::new(0),
            saved: RwSignal::new(None),
            touched: RwSignal::new(0),
        };
        // Closing or reloading the page with unsaved rules asks first.
        Effect::new(move |_| UNSAVED.with(|u| u.set(draft.unsaved())));
        if let Some(window) = web_sys::window() {
            let leaving = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::Event)>::new(
                |event: web_sys::Event| {
                    if UNSAVED.with(std::cell::Cell::get) {
                        event.prevent_default();
                        let _ = js_sys::Reflect::set(&event, &"returnValue".into(), &"".into());
                    }
                },
            );
            let _ = window.add_event_listener_with_callback(
                "beforeunload",
                wasm_bindgen::JsCast::unchecked_ref(leaving.as_ref()),
            );
            // One listener for the page's life.
            leaving.forget();
        }
        draft
    }

    /// The draft as a set.
    fn set(self) -> PolicySet {
        self.touched.track();
        PolicySet {
            rules: self.rules.get(),
            remember_days: self.remember_days.get(),
            access: self.paths.get(),
        }
    }

    /// Whether the draft differs from the saved set.
    pub(super) fn unsaved(self) -> bool {
        let draft = self.set();
        self.saved.with(|saved| saved.as_ref().is_some_and(|v| v.set != draft))
    }

    /// The saved set becomes the draft.
    fn reset(self, view: &PoliciesView) {
        self.rules.set(view.set.rules.clone());
        self.paths.set(view.set.access.clone());
        self.remember_days.set(view.set.remember_days);
        self.saved.set(Some(view.clone()));
    }

    /// What the Worker would refuse in the draft's names, in words.
    fn name_problems(self) -> Vec<String> {
        let set = self.set();
        let mut problems = Vec::new();
        let mut check = |kind: &str, names: Vec<String>| {
            for (i, name) in names.iter().enumerate() {
                let name = name.trim();
                if name.is_empty() {
                    problems.push(format!("{kind} {} needs a name.", i + 1));
                } else if let Some(first) =
                    names[..i].iter().position(|n| n.trim().to_lowercase() == name.to_lowercase())
                {
                    problems.push(format!(
                        "{kind} {} is named \"{name}\" like {} {}: give each its own name.",
                        i + 1,
                        kind.to_lowercase(),
                        first + 1
                    ));
                }
            }
        };
        check("Rule", set.rules.iter().map(|r| r.name.clone()).collect());
        check("Path rule", set.access.iter().map(|r| r.name.clone()).collect());
        problems
    }
}

thread_local! {
    /// Whether the console holds unsaved rules (read when the page closes).
    static UNSAVED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

async fn fetch_policies() -> Result<PoliciesView, Problem> {
    super::api::reply(
        gloo_net::http::Request::get(&shared::api::routes::at(routes::POLICIES)).send().await,
    )
    .await
}

/// A list typed as text: entries separated by commas, spaces or lines.
fn entries(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// "`prefix` N" for the first N from the count of `taken` up that no name
/// in `taken` has (any case): a new rule's name of its own.
fn free_name(prefix: &str, taken: &[&str]) -> String {
    let mut n = taken.len() + 1;
    while taken.iter().any(|name| name.eq_ignore_ascii_case(&format!("{prefix} {n}"))) {
        n += 1;
    }
    format!("{prefix} {n}")
}

/// ASNs typed as `3320` or `AS3320`.
fn asns(text: &str) -> Result<Vec<u32>, String> {
    entries(text)
        .iter()
        .map(|e| {
            let digits = e.trim_start_matches(['A', 'S', 'a', 's']);
            digits.parse().map_err(|_| format!("\"{e}\" is not an ASN (a number, e.g. 3320)."))
        })
        .collect()
}

fn action_label(action: PolicyAction) -> &'static str {
    match action {
        PolicyAction::RequireDuo => "require Duo",
        PolicyAction::BypassDuo => "password only",
        PolicyAction::Deny => "refuse",
    }
}

/// "Move up", "Move down" and "Remove" for the entry `index` of `draft`
/// (of `count`): a sign-in rule's or a path rule's.
#[component]
fn OrderButtons<T: Send + Sync + 'static>(
    index: usize,
    count: usize,
    draft: RwSignal<Vec<T>>,
) -> impl IntoView {
    view! {
        <button type="button" class="secondary small" data-action="up" disabled=index == 0
            on:click=move |_| draft.update(|r| r.swap(index, index.saturating_sub(1)))>"Move up"</button>
        <button type="button" class="secondary small" data-action="down" disabled=index + 1 == count
            on:click=move |_| draft.update(|r| if index + 1 < r.len() { r.swap(index, index + 1) })>"Move down"</button>
        <button type="button" class="secondary small" data-action="remove"
            on:click=move |_| draft.update(|r| if index < r.len() { r.remove(index); })>"Remove"</button>
    }
}

/// What an app path needs, in words.
fn access_label(access: Access) -> String {
    match access {
        Access::Public => "anyone".to_owned(),
        Access::SignedIn => "a signed-in user".to_owned(),
        Access::Role { role } => format!("the {} role", role.as_str()),
        Access::FreshDuo { minutes } => format!("a Duo approval in the last {minutes} min"),
    }
}

/// One app path rule's fields (edits as [`RuleCard`]'s).
#[component]
fn PathCard(
    index: usize,
    rule: AccessRule,
    draft: RwSignal<Vec<AccessRule>>,
    touched: RwSignal<u32>,
) -> impl IntoView {
    let edit = move |change: &dyn Fn(&mut AccessRule)| {
        draft.update_untracked(|rules| {
            if let Some(rule) = rules.get_mut(index) {
                change(rule);
            }
        });
        touched.update(|n| *n += 1);
    };
    let field = move |ev: &leptos::ev::Event| event_target_value(ev);
    let count = draft.with_untracked(Vec::len);
    let id = |what: &str| format!("path-{index}-{what}");
    let (kind, minutes) = match rule.access {
        Access::Public => ("public", 15),
        Access::SignedIn => ("signed_in", 15),
        Access::Role { role: Role::User } => ("user", 15),
        Access::Role { role: Role::Admin } => ("admin", 15),
        Access::FreshDuo { minutes } => ("fresh", minutes),
    };
    let minutes = RwSignal::new(minutes);
    let kind = RwSignal::new(kind);
    let apply = move || {
        let access = match kind.get_untracked() {
            "public" => Access::Public,
            "user" => Access::Role { role: Role::User },
            "admin" => Access::Role { role: Role::Admin },
            "fresh" => Access::FreshDuo { minutes: minutes.get_untracked() },
            _ => Access::SignedIn,
        };
        edit(&|r| r.access = access);
    };
    let kinds = [
        ("public", "anyone (public)"),
        ("signed_in", "a signed-in user"),
        ("user", "the user role"),
        ("admin", "the admin role"),
        ("fresh", "a fresh Duo approval"),
    ];
    view! {
        <fieldset class="rule" data-path-rule=index + 1>
            <legend>{format!("Path rule {}", index + 1)}</legend>
            <div class="rule-grid">
                <label for=id("name")>"Name"</label>
                <input id=id("name") prop:value=rule.name.clone() maxlength="64"
                    on:input=move |ev| { let v = field(&ev); edit(&|r| r.name.clone_from(&v)); } />
                <label for=id("path")>"Path"</label>
                <input id=id("path") prop:value=rule.path.clone() placeholder="/reports, /reports/* or *"
                    on:change=move |ev| { let v = field(&ev); edit(&|r| r.path.clone_from(&v)); } />
                <label for=id("methods")>"Methods"</label>
                <input id=id("methods") prop:value=rule.methods.join(", ") placeholder="any, e.g. GET, POST"
                    on:change=move |ev| { let v = entries(&field(&ev)); edit(&|r| r.methods.clone_from(&v)); } />
                <label for=id("access")>"Needs"</label>
                <span>
                    <select id=id("access") on:change=move |ev| {
                        let chosen = field(&ev);
                        kind.set(kinds.iter().find(|(k, _)| *k == chosen).map_or("signed_in", |(k, _)| k));
                        apply();
                    }>
                        {kinds.map(|(k, label)| view! {
                            <option value=k selected=k == kind.get_untracked()>{label}</option>
                        })}
                    </select>
                    <label class:hidden=move || kind.get() != "fresh">" within "
                        <input id=id("minutes") type="number" min="1" max="1440" prop:value=minutes.get_untracked().to_string()
                            on:change=move |ev| { minutes.set(field(&ev).trim().parse().unwrap_or(0)); apply(); } />
                        " minutes"</label>
                </span>
            </div>
            <div class="row-actions">
                <label><input type="checkbox" id=id("enabled") prop:checked=rule.enabled
                    on:change=move |ev| { let on = event_target_checked(&ev); edit(&|r| r.enabled = on); } />" in force"</label>
                <OrderButtons index count draft />
            </div>
        </fieldset>
    }
}

/// One rule's fields; edits go into `draft` without redrawing the list.
/// (Values are set as properties: when the list is redrawn after a move,
/// the existing fields are patched, and an edited field shows its
/// property, not its attribute.)
#[component]
fn RuleCard(
    index: usize,
    rule: PolicyRule,
    draft: RwSignal<Vec<PolicyRule>>,
    touched: RwSignal<u32>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let edit = move |change: &dyn Fn(&mut PolicyRule)| {
        draft.update_untracked(|rules| {
            if let Some(rule) = rules.get_mut(index) {
                change(rule);
            }
        });
        touched.update(|n| *n += 1);
    };
    // Trusted browsers skip Duo only on a rule that asks for Duo.
    let asks_duo = RwSignal::new(rule.action == PolicyAction::RequireDuo);
    let field = move |ev: &leptos::ev::Event| event_target_value(ev);
    let checked = move |ev: &leptos::ev::Event| event_target_checked(ev);
    let count = draft.with_untracked(Vec::len);
    let id = move |what: &str| format!("rule-{index}-{what}");
    let has_role = |role: Role| rule.roles.contains(&role);
    let (user_role, admin_role) = (has_role(Role::User), has_role(Role::Admin));
    let action = rule.action.as_str();
    let asn_text = rule.asns.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    view! {
        <fieldset class="rule" data-rule=index + 1>
            <legend>{format!("Rule {}", index + 1)}</legend>
            <div class="rule-grid">
                <label for=id("name")>"Name"</label>
                <input id=id("name") prop:value=rule.name.clone() maxlength="64"
                    on:input=move |ev| { let v = field(&ev); edit(&|r| r.name.clone_from(&v)); } />
                <label for=id("action")>"Then"</label>
                <select id=id("action") prop:value=action on:change=move |ev| {
                    let chosen = match field(&ev).as_str() {
                        "bypass_duo" => PolicyAction::BypassDuo,
                        "deny" => PolicyAction::Deny,
                        _ => PolicyAction::RequireDuo,
                    };
                    let asks = chosen == PolicyAction::RequireDuo;
                    asks_duo.set(asks);
                    edit(&|r| {
                        r.action = chosen;
                        r.allow_remembered &= asks;
                    });
                }>
                    {[PolicyAction::RequireDuo, PolicyAction::BypassDuo, PolicyAction::Deny].map(|a| view! {
                        <option value=a.as_str() selected=a.as_str() == action>{action_label(a)}</option>
                    })}
                </select>
                <span class="label">"Roles"</span>
                <span>
                    <label><input type="checkbox" id=id("role-user") prop:checked=user_role on:change=move |ev| {
                        let on = checked(&ev);
                        edit(&|r| { r.roles.retain(|x| *x != Role::User); if on { r.roles.push(Role::User); } });
                    } />" user "</label>
                    <label><input type="checkbox" id=id("role-admin") prop:checked=admin_role on:change=move |ev| {
                        let on = checked(&ev);
                        edit(&|r| { r.roles.retain(|x| *x != Role::Admin); if on { r.roles.push(Role::Admin); } });
                    } />" admin"</label>
                </span>
                <label for=id("users")>"Users"</label>
                <input id=id("users") prop:value=rule.users.join(", ") placeholder="any"
                    on:change=move |ev| { let v = entries(&field(&ev)); edit(&|r| r.users.clone_from(&v)); } />
                <label for=id("networks")>"Networks"</label>
                <input id=id("networks") prop:value=rule.networks.join(", ") placeholder="any, e.g. 10.0.0.0/8, 2001:db8::/32"
                    on:change=move |ev| { let v = entries(&field(&ev)); edit(&|r| r.networks.clone_from(&v)); } />
                <label for=id("countries")>"Countries"</label>
                <input id=id("countries") prop:value=rule.countries.join(", ") placeholder="any, e.g. DE, FR (T1: Tor)"
                    on:change=move |ev| { let v = entries(&field(&ev)); edit(&|r| r.countries.clone_from(&v)); } />
                <label for=id("asns")>"ASNs"</label>
                <input id=id("asns") prop:value=asn_text placeholder="any, e.g. 3320"
                    on:change=move |ev| match asns(&field(&ev)) {
                        Ok(v) => edit(&|r| r.asns.clone_from(&v)),
                        Err(said) => set_problem.set(Some(Problem::new(ErrorCode::BadRequest).refused_with(Some(said)))),
                    } />
            </div>
            <div class="row-actions">
                <Show when=move || asks_duo.get()>
                    <label><input type="checkbox" id=id("remembered") prop:checked=move || {
                        draft.with_untracked(|r| r.get(index).is_some_and(|r| r.allow_remembered))
                    } on:change=move |ev| { let on = checked(&ev); edit(&|r| r.allow_remembered = on); } />" trusted browsers skip Duo"</label>
                </Show>
                <label><input type="checkbox" id=id("enabled") prop:checked=rule.enabled
                    on:change=move |ev| { let on = checked(&ev); edit(&|r| r.enabled = on); } />" in force"</label>
                <OrderButtons index count draft />
            </div>
        </fieldset>
    }
}

/// The dry run: a place, and what the draft decides for each user there.
#[component]
fn DryRun(
    draft_set: Callback<(), PolicySet>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let (ip, country, asn, method, path) = (
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
        NodeRef::<html::Input>::new(),
    );
    let (result, set_result) = signal(None::<DryRunResult>);
    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value =
            |node: NodeRef<html::Input>| node.get().map(|el| el.value()).unwrap_or_default();
        let asn = match asns(&value(asn)) {
            Ok(list) => list.first().copied(),
            Err(said) => {
                set_problem.set(Some(Problem::new(ErrorCode::BadRequest).refused_with(Some(said))));
                return;
            }
        };
        let asked = value(path);
        let request = DryRunRequest {
            set: draft_set.run(()),
            ip: value(ip),
            country: value(country),
            asn,
            q: String::new(),
            request: (!asked.trim().is_empty()).then(|| AppRequest {
                method: Some(value(method))
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| "GET".to_owned()),
                path: asked,
            }),
        };
        set_problem.set(None);
        spawn_local(async move {
            match post::<_, DryRunResult>(&shared::api::routes::at(routes::DRY_RUN), &request).await
            {
                Ok(found) => set_result.set(Some(found)),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    view! {
        <h2>"Try the rules"</h2>
        <form id="dry-run" class="search filters" on:submit=run>
            <label>"IP address"<input id="dry-ip" node_ref=ip placeholder="e.g. 10.1.2.3" /></label>
            <label>"Country"<input id="dry-country" node_ref=country maxlength="2" placeholder="e.g. DE" /></label>
            <label>"ASN"<input id="dry-asn" node_ref=asn placeholder="e.g. 3320" /></label>
            <label>"App method"<input id="dry-method" node_ref=method placeholder="GET" /></label>
            <label>"App path"<input id="dry-path" node_ref=path placeholder="e.g. /reports/7" /></label>
            <button type="submit" class="secondary">"Who would match?"</button>
        </form>
        {move || result.get().and_then(|found| found.access).map(|decided| view! {
            <p id="dry-run-access" class="notice">
                {format!("The app path needs {}: ", access_label(decided.access))}
                {decided.rule.map_or_else(|| "no path rule matches (the default).".to_owned(), |r| format!("path rule {r}."))}
            </p>
        })}
        {move || result.get().map(|found| view! {
            <div class="table-wrap" tabindex="0">
                <table class="users" id="dry-run-result">
                    <caption class="muted">{format!("{} users from there, with the rules above", found.total)}</caption>
                    <thead><tr><th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Rule"</th><th scope="col">"Then"</th></tr></thead>
                    <tbody>
                        {found.rows.into_iter().map(|row| { let who = row.username.clone(); view! {
                            <tr data-user=who data-action=row.decision.action.as_str()>
                                <th scope="row">{row.username}</th>
                                <td>{row.role.as_str()}</td>
                                <td>{row.decision.rule.map_or_else(|| "none: the account's own setting".to_owned(), |r| r.to_string())}</td>
                                <td>{action_label(row.decision.action)}</td>
                            </tr>
                        }}).collect_view()}
                    </tbody>
                </table>
            </div>
        })}
    }
}

/// "Version 3, saved by admin on …".
fn version_in_words(v: &PoliciesView) -> String {
    match &v.updated_by {
        Some(by) => {
            format!("Version {}, saved by {by} on {}.", v.version, local_time(v.updated_at))
        }
        None => format!("Version {}: no rule saved yet.", v.version),
    }
}

/// Saving rules that skip Duo for a whole role: what they do, and the
/// phrase that turns Duo off, sent with them.
#[component]
fn ConfirmBypass(
    bypass: DuoBypass,
    send: Callback<Option<String>>,
    set_asking: WriteSignal<Option<DuoBypass>>,
) -> impl IntoView {
    let (typed, set_typed) = signal(String::new());
    let matches = move || typed.get().trim() == ENFORCE_OFF_PHRASE;
    view! {
        <div class="confirm" id="policies-confirm">
            <p>"These rules turn Duo off: " {super::provider::bypass_in_words(&bypass)}
               ", wherever they sign in from. This is recorded in the audit log."</p>
            <label for="policies-phrase">"Type " <strong>{ENFORCE_OFF_PHRASE}</strong> " to confirm"</label>
            <input id="policies-phrase" autocomplete="off" on:input=move |ev| set_typed.set(event_target_value(&ev)) />
            <button type="button" class="danger" id="policies-save-confirm" disabled=move || !matches()
                on:click=move |_| send.run(Some(typed.get_untracked()))>"Save and turn off Duo"</button>
            <button type="button" class="secondary" on:click=move |_| set_asking.set(None)>"Cancel"</button>
        </div>
    }
}

/// The page. `reload` refreshes the provider, whose banners say when the
/// saved rules skip Duo; `policy` is the console's draft.
#[allow(clippy::too_many_lines, reason = "a Leptos component: one view")]
#[component]
pub(super) fn PoliciesPage(
    policy: PolicyDraft,
    reload: Callback<()>,
    set_problem: WriteSignal<Option<Problem>>,
) -> impl IntoView {
    let PolicyDraft { rules: draft, paths, remember_days, saved, touched } = policy;
    let (notice, set_notice) = signal(None::<String>);
    // The draft skips Duo for a whole role: saving waits for the phrase.
    let (asking, set_asking) = signal(None::<DuoBypass>);
    let draft_set = move || PolicySet {
        rules: draft.get_untracked(),
        remember_days: remember_days.get_untracked(),
        access: paths.get_untracked(),
    };
    // Read the saved set; the draft follows it unless it holds unsaved
    // changes (made before leaving this page), which are kept.
    let load = move |keep: bool| {
        set_asking.set(None);
        spawn_local(async move {
            match fetch_policies().await {
                Ok(view) if keep && policy.unsaved() => {
                    let newer = saved.get_untracked().is_some_and(|s| s.version != view.version);
                    set_notice.set(Some(if newer {
                        format!("Your unsaved changes are kept, but another admin saved version {} since: \
                                 discard yours to see it, or save to try over it.", view.version)
                    } else {
                        "Your unsaved changes are kept: save them or discard them.".to_owned()
                    }));
                    if !newer {
                        saved.set(Some(view));
                    }
                }
                Ok(view) => policy.reset(&view),
                Err(p) => set_problem.set(Some(p)),
            }
        });
    };
    load(true);
    let loaded = move || saved.get().is_some();
    let add = move |_| {
        set_notice.set(None);
        draft.update(|rules| {
            let name =
                free_name("Rule", &rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>());
            rules.push(PolicyRule { name, enabled: true, ..PolicyRule::default() });
        });
    };
    let add_path = move |_| {
        set_notice.set(None);
        paths.update(|rules| {
            let name =
                free_name("Path rule", &rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>());
            rules.push(AccessRule {
                name,
                enabled: true,
                methods: Vec::new(),
                path: "/".to_owned(),
                access: Access::SignedIn,
            });
        });
    };
    let send = Callback::new(move |confirm: Option<String>| {
        let Some(version) = saved.get_untracked().map(|v| v.version) else { return };
        let request = PoliciesSave { expected_version: version, set: draft_set(), confirm };
        set_problem.set(None);
        set_notice.set(None);
        spawn_local(async move {
            match post::<_, PoliciesView>(&shared::api::routes::at(routes::POLICIES), &request)
                .await
            {
                Ok(view) => {
                    set_notice.set(Some(format!(
                        "Saved as version {}: sign-in rules hold from the next sign-in, path rules within the session recheck bound (a minute by default).",
                        view.version
                    )));
                    set_asking.set(None);
                    policy.reset(&view);
                    reload.run(());
                }
                Err(p) => set_problem.set(Some(p)),
            }
        });
    });
    let problems = move || policy.name_problems();
    let save = move |_| {
        if !problems().is_empty() {
            return;
        }
        match draft_set().duo_bypass() {
            Some(bypass) => set_asking.set(Some(bypass)),
            None => send.run(None),
        }
    };
    let discard = move |_| {
        set_notice.set(None);
        if let Some(view) = saved.get_untracked() {
            policy.reset(&view);
        }
        load(false);
    };
    let about = move || saved.get().map(|v| version_in_words(&v));
    let unsaved = move || policy.unsaved();
    view! {
        <p class="muted">"Each sign-in, after the password is checked, is matched against the rules in order; the first match decides. A rule matches when all of its conditions hold (an empty condition holds always). With no match, the account's own setting applies: Duo, unless the account is a break-glass bypass. Addresses, countries and ASNs are Cloudflare's."</p>
        <p class="muted" id="policies-version">{move || about().unwrap_or_else(|| "Loading the saved rules…".to_owned())}</p>
        <p class="notice" role="status" id="policies-notice">{move || notice.get()}</p>
        {move || unsaved().then(|| view! {
            <p class="status warn" id="policies-unsaved">"Unsaved changes: they stay here while you use the other pages, until you save or discard them."</p>
        })}
        <div id="rules" aria-busy=move || (!loaded()).to_string()>
            {move || {
                let rules = draft.get();
                if !loaded() {
                    ().into_any()
                } else if rules.is_empty() {
                    view! { <p class="muted" id="no-rules">"No rules: every account's own setting applies."</p> }.into_any()
                } else {
                    rules.into_iter().enumerate().map(|(index, rule)| view! {
                        <RuleCard index rule draft touched set_problem />
                    }).collect_view().into_any()
                }
            }}
        </div>
        <div class="panel-actions">
            <button type="button" class="secondary" id="rule-add" disabled=move || !loaded() on:click=add>"Add rule"</button>
        </div>
        <p class="trust-days">
            <label for="remember-days">"Trust this browser: days a browser may skip Duo after a Duo sign-in (0: not offered)"</label>
            <input id="remember-days" type="number" min="0" max="365" prop:value=move || remember_days.get().to_string()
                disabled=move || !loaded()
                on:change=move |ev| {
                    match event_target_value(&ev).trim().parse::<u32>() {
                        Ok(days) => remember_days.set(days),
                        Err(_) => set_problem.set(Some(Problem::new(ErrorCode::BadRequest)
                            .refused_with(Some("Days are a whole number from 0 to 365.".to_owned())))),
                    }
                } />
        </p>
        <h2>"The app's paths"</h2>
        <p class="muted">"Who may reach which of the app's paths, by method and path, first match wins; a path no rule matches needs a signed-in user. A path like /reports/* holds for /reports and everything under it; * for every path. A fresh Duo approval sends an older sign-in back through Duo."</p>
        <div id="path-rules">
            {move || loaded().then(|| paths.get().into_iter().enumerate().map(|(index, rule)| view! {
                <PathCard index rule draft=paths touched />
            }).collect_view())}
        </div>
        <div class="panel-actions">
            <button type="button" class="secondary" id="path-rule-add" disabled=move || !loaded() on:click=add_path>"Add path rule"</button>
        </div>
        {move || {
            let found = problems();
            (!found.is_empty()).then(|| view! {
                <div class="status error" id="policies-invalid" role="alert">
                    <p><strong>"Fix these before saving:"</strong></p>
                    <ul>{found.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                </div>
            })
        }}
        <div class="panel-actions">
            <button type="button" class="primary" id="policies-save" on:click=save
                disabled=move || !loaded() || !problems().is_empty()>"Save rules"</button>
            <button type="button" class="secondary" id="policies-reload" disabled=move || !loaded() on:click=discard>"Discard changes"</button>
        </div>
        {move || asking.get().map(|bypass| view! { <ConfirmBypass bypass send set_asking /> })}
        <DryRun draft_set=Callback::new(move |()| draft_set()) set_problem />
    }
}
