//! The policies in the admin console: read them
//! (`GET /api/admin/policies`), save an edited set
//! (`POST /api/admin/policies`: checked, stored in canonical form, refused
//! if another admin saved in between, recorded as `set_policies`), and try
//! a draft (`POST /api/admin/policies/dry-run`: what it would decide for
//! each user signing in from a given address, country and ASN).

use credentials::normalize;
use shared::admin::PAGE_SIZE;
use shared::api::Role;
use shared::policy::{
    DryRunRequest, DryRunResult, DryRunRow, PoliciesSave, PoliciesView, PolicyAction,
    PolicyDecision, PolicySet,
};

use super::accounts::Caller;
use super::admin::require_admin;
use super::audit::{Reason, Refusal};
use super::policy::{Place, Policies, canonical};
use super::store::{AdminEvent, Store, StoredPolicies};
use super::{Config, Ctx, check_origin, unix_i64};

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
/// As [`require_admin`]; `internal` for storage or an unreadable set.
pub async fn view<S: Store>(
    store: &S,
    session_cookie: Option<&str>,
    now: u64,
) -> Result<PoliciesView, Refusal> {
    require_admin(store, session_cookie, now).await?;
    view_of(store.policies().await.map_err(Refusal::internal)?)
}

/// `POST /api/admin/policies`: the saved set, as stored.
///
/// # Errors
/// `forbidden_origin`; as [`require_admin`]; `bad_request` for a set that
/// does not check (naming the rule) or when another admin saved first;
/// `internal`.
pub async fn save<S: Store>(
    store: &S,
    config: &Config,
    caller: Caller<'_>,
    request: &PoliciesSave,
    ctx: &Ctx,
) -> Result<PoliciesView, Refusal> {
    check_origin(&config.app_origin, caller.origin)?;
    let admin = require_admin(store, caller.session_cookie, ctx.now).await?;
    let set = canonical(&request.set).map_err(|e| bad(format!("{e}.")))?;
    let document = serde_json::to_string(&set).map_err(Refusal::internal)?;
    let detail = serde_json::json!({
        "version": request.expected_version.saturating_add(1),
        "rules": set.rules.len(),
    });
    let event = AdminEvent::new(admin.username, "set_policies", ctx).with(&detail);
    let saved = store
        .save_policies(request.expected_version, &document, &event)
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

/// `POST /api/admin/policies/dry-run`: the draft's decision for the first
/// [`DRY_RUN_USERS`] users (by name) matching the search, signing in from
/// the given place.
///
/// # Errors
/// `forbidden_origin`; as [`require_admin`]; `bad_request` for a draft
/// that does not check, an address or a country that cannot be one;
/// `internal`.
pub async fn dry_run<S: Store>(
    store: &S,
    config: &Config,
    caller: Caller<'_>,
    request: &DryRunRequest,
    now: u64,
) -> Result<DryRunResult, Refusal> {
    check_origin(&config.app_origin, caller.origin)?;
    require_admin(store, caller.session_cookie, now).await?;
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
    let search: String = request.q.trim().to_ascii_lowercase().chars().take(64).collect();
    let (users, total) =
        store.list_users(&search, 0, DRY_RUN_USERS).await.map_err(Refusal::internal)?;
    let rows = users
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
    Ok(DryRunResult { rows, total })
}
