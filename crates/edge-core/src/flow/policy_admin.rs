//! The policies in the admin console: read them
//! (`GET /api/admin/policies`), save an edited set
//! (`POST /api/admin/policies`: checked, stored in canonical form, refused
//! if another admin saved in between, recorded as `set_policies`), and try
//! a draft (`POST /api/admin/policies/dry-run`: what it would decide for
//! each user signing in from a given address, country and ASN).

use credentials::normalize;
use shared::admin::{ENFORCE_OFF_PHRASE, PAGE_SIZE};
use shared::api::Role;
use shared::policy::{
    AccessDecision, DryRunRequest, DryRunResult, DryRunRow, PoliciesSave, PoliciesView,
    PolicyAction, PolicyDecision, PolicySet,
};

use super::admin::{Admin, search_text};
use super::audit::{Reason, Refusal};
use super::context::{Ctx, unix_i64};
use super::policy::{Place, Policies, canonical};
use super::store::{AdminEvent, ConsoleStore, StoredPolicies, UserQuery};
use crate::gateway::access::AccessRules;

/// The users a dry run shows, at most.
pub const DRY_RUN_USERS: u32 = 4 * PAGE_SIZE;

fn view_of(stored: StoredPolicies) -> Result<PoliciesView, Refusal> {
    let set: PolicySet = serde_json::from_slice(stored.document.as_bytes())
        .map_err(|e| Refusal::internal(format!("stored policies unreadable: {e}")))?;
    Ok(PoliciesView {
        version: stored.version,
        set,
        updated_at: unix_i64(stored.updated_at),
        updated_by: stored.updated_by,
    })
}

fn bad(message: String) -> Refusal {
    let refusal = Refusal::new(Reason::AdminBadValue).message(&message);
    refusal.detail(message)
}

/// `GET /api/admin/policies`.
///
/// # Errors
/// `internal` for storage or an unreadable set.
pub async fn view<S: ConsoleStore>(store: &S, _admin: &Admin) -> Result<PoliciesView, Refusal> {
    view_of(store.policies().await.map_err(Refusal::internal)?)
}

/// `POST /api/admin/policies`: the saved set, as stored.
///
/// Two sets are refused on top of those that do not check: one under which
/// no enabled admin could sign in from the saving admin's own place (its
/// address, country and ASN), so that nobody can lock every admin out by
/// mistake; and one that turns Duo off for a whole role
/// ([`PolicySet::duo_bypass`]) unless the request carries
/// [`ENFORCE_OFF_PHRASE`], as turning enforcement off does. A set with
/// `remember_days` 0 forgets every remembered browser as it is saved.
///
/// # Errors
/// `bad_request` for a set that
/// does not check (naming the rule), locks the admins out, turns Duo off
/// unconfirmed, or when another admin saved first; `internal`.
pub async fn save<S: ConsoleStore>(
    store: &S,
    admin: &Admin,
    request: &PoliciesSave,
    ctx: &Ctx,
) -> Result<PoliciesView, Refusal> {
    let set = canonical(&request.set).map_err(|e| bad(format!("{e}.")))?;
    let compiled = Policies::compile(&set).map_err(|e| bad(format!("{e}.")))?;
    let admins = store.enabled_admins().await.map_err(Refusal::internal)?;
    keeps_an_admin(&compiled, &admins, &ctx.place())?;
    let bypass = set.duo_bypass();
    if let Some(bypass) = &bypass {
        let confirmed = request.confirm.as_deref().map(str::trim) == Some(ENFORCE_OFF_PHRASE);
        if !confirmed {
            return Err(bad(format!(
                "Rule {} lets every {} sign in with the password alone, as turning Duo off \
                 does: type \"{ENFORCE_OFF_PHRASE}\" to confirm.",
                bypass.rule,
                bypass.roles_in_words()
            )));
        }
    }
    let document = serde_json::to_string(&set).map_err(Refusal::internal)?;
    let version = request.expected_version.saturating_add(1);
    let detail = match &bypass {
        Some(bypass) => serde_json::json!({
            "version": version,
            "rules": set.rules.len(),
            "duo_off_for": bypass.roles.iter().map(|role| role.as_str()).collect::<Vec<_>>(),
            "by_rule": bypass.rule.to_string(),
        }),
        None => serde_json::json!({"version": version, "rules": set.rules.len()}),
    };
    let event = AdminEvent::new(admin.username().to_owned(), "set_policies", ctx).with(&detail);
    let forget_browsers = set.remember_days == 0;
    let saved = store
        .save_policies(request.expected_version, &document, forget_browsers, &event)
        .await
        .map_err(Refusal::internal)?;
    let stored = store.policies().await.map_err(Refusal::internal)?;
    if !saved {
        let by = stored.updated_by.as_deref().unwrap_or("another admin");
        return Err(bad(format!(
            "{by} saved the policies meanwhile (version {}): reload them, then make your \
             change again.",
            stored.version
        )));
    }
    view_of(stored)
}

/// Refuses a set under which none of `admins` (enabled, by name) could sign
/// in from `place`: every one of them matches a `deny` rule there.
fn keeps_an_admin(policies: &Policies, admins: &[String], place: &Place) -> Result<(), Refusal> {
    let mut denied_by = None;
    for admin in admins {
        let name = normalize(admin).unwrap_or_default();
        match policies.decide(&name, Role::Admin, place) {
            Some((rule, PolicyAction::Deny)) => {
                denied_by.get_or_insert_with(|| rule.clone());
            }
            _ => return Ok(()),
        }
    }
    match denied_by {
        Some(rule) => {
            let from = place.ip.map_or_else(|| "here".to_owned(), |ip| format!("from {ip}"));
            Err(bad(format!(
                "No enabled admin could sign in {from} under these rules (rule {rule} refuses \
                 them): keep at least one admin able to sign in from where you are."
            )))
        }
        // No enabled admin at all: nothing to keep.
        None => Ok(()),
    }
}

/// `POST /api/admin/policies/dry-run`: the draft's decision for the first
/// [`DRY_RUN_USERS`] users (by name) matching the search, signing in from
/// the given place.
///
/// # Errors
/// `bad_request` for a draft
/// that does not check, an address or a country that cannot be one;
/// `internal`.
pub async fn dry_run<S: ConsoleStore>(
    store: &S,
    _admin: &Admin,
    request: &DryRunRequest,
) -> Result<DryRunResult, Refusal> {
    let draft = canonical(&request.set).map_err(|e| bad(format!("{e}.")))?;
    let policies = Policies::compile(&draft).map_err(|e| bad(format!("{e}.")))?;
    let place =
        Place {
            ip: match request.ip.trim() {
                "" => None,
                text => Some(
                    text.parse().map_err(|_| bad(format!("\"{text}\" is not an IP address.")))?,
                ),
            },
            country: match request.country.trim() {
                "" => None,
                text => Some(Place::country_code(text).ok_or_else(|| {
                    bad(format!("\"{text}\" is not a country code (two letters)."))
                })?),
            },
            asn: request.asn,
        };
    let search = search_text(&request.q);
    let listed = store
        .list_users(&UserQuery::containing(&search), 0, DRY_RUN_USERS)
        .await
        .map_err(Refusal::internal)?;
    let total = listed.total;
    let rows = listed
        .rows
        .into_iter()
        .map(|user| {
            let role = Role::parse(&user.role).unwrap_or_default();
            let name = normalize(&user.username).unwrap_or_default();
            let decision = match policies.decide(&name, role, &place) {
                Some((matched, action)) => PolicyDecision { rule: Some(matched.clone()), action },
                None => PolicyDecision {
                    rule: None,
                    action: if user.duo_policy == "bypass" {
                        PolicyAction::BypassDuo
                    } else {
                        PolicyAction::RequireDuo
                    },
                },
            };
            DryRunRow { username: user.username, role, decision }
        })
        .collect();
    // Which access rule decides the app request asked about (the draft
    // compiled: canonical() checked it).
    let access_rules = AccessRules::compile(&draft.access).map_err(|e| bad(format!("{e}.")))?;
    let access = request.request.as_ref().map(|asked| {
        let (rule, access) = access_rules.decide(asked.method.trim(), asked.path.trim());
        AccessDecision { rule: rule.cloned(), access }
    });
    Ok(DryRunResult { rows, total, access })
}
