//! Sign-in policies as the console edits them and the Worker stores them
//! (`/api/admin/policies`): when Duo is required, skipped or the sign-in
//! refused, by role, user, client network, country and ASN. First match
//! wins; with no match, each account's own setting applies (Duo required,
//! unless the account is a break-glass bypass). The Worker checks and
//! evaluates them (`edge_core::flow::policy`); these are the wire forms.

use serde::{Deserialize, Serialize};

use crate::api::Role;

/// Paths of the policies API (admins only).
pub mod routes {
    /// `GET`: the policies ([`super::PoliciesView`]); `POST`: save them
    /// ([`super::PoliciesSave`]).
    pub const POLICIES: &str = "/api/admin/policies";
    /// `POST`: who a draft would match from a place ([`super::DryRunRequest`]).
    pub const DRY_RUN: &str = "/api/admin/policies/dry-run";
}

/// The most rules a policy set holds.
pub const MAX_RULES: usize = 200;

/// The most entries in one of a rule's lists (users, networks, ...).
pub const MAX_LIST: usize = 1000;

/// The largest policy set, as the JSON a save or a dry run sends (and as it
/// is stored), in bytes: every sign-in reads and compiles the stored set, so
/// it stays far below D1's 2 MB per row.
pub const MAX_POLICY_BYTES: usize = 512 * 1024;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyAction {
    /// The password, then Duo.
    #[default]
    RequireDuo,
    /// The password alone signs in (audited as a policy bypass).
    BypassDuo,
    /// The sign-in is refused, even with the right password.
    Deny,
}

impl PolicyAction {
    /// The wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RequireDuo => "require_duo",
            Self::BypassDuo => "bypass_duo",
            Self::Deny => "deny",
        }
    }
}

fn yes() -> bool {
    true
}

/// One rule: it matches a sign-in when every condition it sets holds
/// (an empty list sets none). The default is the JSON's: unnamed, in
/// force, requiring Duo, no condition, remembered browsers allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// What the rule is for, shown in the audit log (1 to 64 characters).
    pub name: String,
    /// A disabled rule is skipped.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// What a match does.
    pub action: PolicyAction,
    /// The account's role is one of these.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The username is one of these (compared normalized).
    #[serde(default)]
    pub users: Vec<String>,
    /// The client's address is in one of these (`192.0.2.0/24`,
    /// `2001:db8::/32`, or one address).
    #[serde(default)]
    pub networks: Vec<String>,
    /// Cloudflare's country of the client is one of these (ISO 3166-1
    /// alpha-2; Cloudflare also says `XX` for unknown and `T1` for Tor).
    /// A sign-in without a country matches no list.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Cloudflare's autonomous system of the client is one of these.
    #[serde(default)]
    pub asns: Vec<u32>,
    /// Whether a browser the user had remembered may skip Duo when this
    /// rule decides (e.g. not for admins).
    #[serde(default = "yes")]
    pub allow_remembered: bool,
}

impl Default for PolicyRule {
    fn default() -> Self {
        Self {
            name: String::new(),
            enabled: true,
            action: PolicyAction::RequireDuo,
            roles: Vec::new(),
            users: Vec::new(),
            networks: Vec::new(),
            countries: Vec::new(),
            asns: Vec::new(),
            allow_remembered: true,
        }
    }
}

/// The whole set, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySet {
    /// First match wins.
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    /// How long a browser may be remembered after a Duo sign-in ("trust
    /// this browser"), in days; 0 (the default) offers no such choice.
    #[serde(default)]
    pub remember_days: u32,
    /// Who may reach which of the app's paths (the gateway): first match
    /// wins; a path no rule matches needs a signed-in user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<AccessRule>,
}

/// What an app's path needs. On the wire a flat object,
/// `{"kind": "public" | "signed_in" | "role" | "fresh_duo", "role": ...,
/// "minutes": ...}` (read without serde's buffering of tagged enums, which
/// would cost the Worker kilobytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AccessWire", into = "AccessWire")]
pub enum Access {
    /// Anyone; a signed-in user's identity is still forwarded.
    Public,
    /// A signed-in user (what an unmatched path needs).
    SignedIn,
    /// A signed-in user of this role (`user`: any signed-in user).
    Role {
        /// The role.
        role: Role,
    },
    /// A Duo approval at most `minutes` old: an older sign-in (or one
    /// from a trusted browser) goes back through Duo, then on.
    FreshDuo {
        /// 1 to [`MAX_FRESH_MINUTES`].
        minutes: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AccessKind {
    Public,
    SignedIn,
    Role,
    FreshDuo,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessWire {
    kind: AccessKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    minutes: Option<u32>,
}

impl TryFrom<AccessWire> for Access {
    type Error = &'static str;

    fn try_from(wire: AccessWire) -> Result<Self, Self::Error> {
        match (wire.kind, wire.role, wire.minutes) {
            (AccessKind::Public, None, None) => Ok(Self::Public),
            (AccessKind::SignedIn, None, None) => Ok(Self::SignedIn),
            (AccessKind::Role, Some(role), None) => Ok(Self::Role { role }),
            (AccessKind::FreshDuo, None, Some(minutes)) => Ok(Self::FreshDuo { minutes }),
            _ => Err("role goes with kind role, minutes with kind fresh_duo, and nothing else"),
        }
    }
}

impl From<Access> for AccessWire {
    fn from(access: Access) -> Self {
        let (kind, role, minutes) = match access {
            Access::Public => (AccessKind::Public, None, None),
            Access::SignedIn => (AccessKind::SignedIn, None, None),
            Access::Role { role } => (AccessKind::Role, Some(role), None),
            Access::FreshDuo { minutes } => (AccessKind::FreshDuo, None, Some(minutes)),
        };
        Self { kind, role, minutes }
    }
}

/// The most minutes a fresh-Duo rule allows.
pub const MAX_FRESH_MINUTES: u32 = 1_440;

/// One rule for the app's paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// What the rule is for (1 to 64 characters).
    pub name: String,
    /// A disabled rule is skipped.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The methods it holds for (`GET`, `POST`, ...); empty: every method.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The path: `/reports` (that path), `/reports/*` (it and everything
    /// under it) or `*` (every path).
    pub path: String,
    /// What a request matching it needs.
    pub access: Access,
}

/// The most days a browser may be remembered.
pub const MAX_REMEMBER_DAYS: u32 = 365;

/// A set that lets the password alone in for every account of a role,
/// wherever it signs in from: as far-reaching as turning Duo off, so saving
/// it takes the same typed confirmation ([`crate::admin::ENFORCE_OFF_PHRASE`])
/// and the console shows the same banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuoBypass {
    /// The roles whose sign-ins skip Duo (earlier rules with conditions
    /// may still require it from some places).
    pub roles: Vec<Role>,
    /// The first rule that does it.
    pub rule: MatchedRule,
}

impl DuoBypass {
    /// The roles in words: "user", "admin", or "user and admin".
    pub fn roles_in_words(&self) -> &'static str {
        match self.roles[..] {
            [Role::User] => "user",
            [Role::Admin] => "admin",
            _ => "user and admin",
        }
    }
}

impl PolicyRule {
    /// Whether the rule's networks hold for every address: none set, or
    /// both `0.0.0.0/0` and `::/0` among them.
    fn holds_on_every_network(&self) -> bool {
        let listed = |all: &str| self.networks.iter().any(|n| n.trim() == all);
        self.networks.is_empty() || (listed("0.0.0.0/0") && listed("::/0"))
    }
}

impl PolicySet {
    /// Where this set turns Duo off for a whole role. For each role, the
    /// first enabled rule that holds for every account of that role from
    /// everywhere (no user, network, country or ASN condition) decides
    /// every sign-in no earlier rule took (networks `0.0.0.0/0` and `::/0`
    /// together are no condition); when that rule bypasses Duo,
    /// Duo is off for the role. `None` when no role is affected.
    pub fn duo_bypass(&self) -> Option<DuoBypass> {
        let mut bypass: Option<DuoBypass> = None;
        for role in [Role::User, Role::Admin] {
            let catch_all = self.rules.iter().zip(1_u32..).find(|(rule, _)| {
                rule.enabled
                    && rule.users.is_empty()
                    && rule.holds_on_every_network()
                    && rule.countries.is_empty()
                    && rule.asns.is_empty()
                    && (rule.roles.is_empty() || rule.roles.contains(&role))
            });
            let Some((rule, number)) = catch_all else { continue };
            if rule.action != PolicyAction::BypassDuo {
                continue;
            }
            match &mut bypass {
                Some(found) => found.roles.push(role),
                None => {
                    bypass = Some(DuoBypass {
                        roles: vec![role],
                        rule: MatchedRule { number, name: rule.name.clone() },
                    });
                }
            }
        }
        bypass
    }
}

/// Body of `GET /api/admin/policies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoliciesView {
    /// Saved as this version; send it back to save.
    pub version: u32,
    /// The rules.
    pub set: PolicySet,
    /// When they were last saved (Unix seconds).
    pub updated_at: i64,
    /// By whom (`None`: the migration's empty set).
    pub updated_by: Option<String>,
}

/// Body of `POST /api/admin/policies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliciesSave {
    /// The version the edit started from: another admin's save in between
    /// refuses this one.
    pub expected_version: u32,
    /// The new set.
    pub set: PolicySet,
    /// [`crate::admin::ENFORCE_OFF_PHRASE`], typed by the admin: required
    /// when the set turns Duo off for a whole role ([`PolicySet::duo_bypass`]).
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Body of `POST /api/admin/policies/dry-run`: a set (saved or not), a
/// place, and which users to try.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// The rules to try (the editor's draft).
    pub set: PolicySet,
    /// The client's address (empty: none known).
    #[serde(default)]
    pub ip: String,
    /// The country (empty: none known).
    #[serde(default)]
    pub country: String,
    /// The ASN.
    #[serde(default)]
    pub asn: Option<u32>,
    /// Users whose name contains this (empty: all).
    #[serde(default)]
    pub q: String,
    /// An app request to decide with the draft's access rules.
    #[serde(default)]
    pub request: Option<AppRequest>,
}

/// A request of the app's, for the dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path (a query is ignored).
    pub path: String,
}

/// Which access rule decided an app request, and what it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDecision {
    /// The rule; `None`: no rule matched (a signed-in user is needed).
    pub rule: Option<MatchedRule>,
    /// What the request needs.
    pub access: Access,
}

/// The rule a sign-in matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedRule {
    /// Its place in the set, from 1.
    pub number: u32,
    /// Its name.
    pub name: String,
}

impl std::fmt::Display for MatchedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {}", self.number, self.name)
    }
}

/// What the policies decide for one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// The rule that matched; `None`: no rule matched and the account's
    /// own setting applies.
    pub rule: Option<MatchedRule>,
    /// What happens.
    pub action: PolicyAction,
}

/// One user's outcome in a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunRow {
    /// As registered.
    pub username: String,
    /// `user` or `admin`.
    pub role: Role,
    /// The decision.
    pub decision: PolicyDecision,
}

/// Body of `POST /api/admin/policies/dry-run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunResult {
    /// The first users (by name) and what would happen to each.
    pub rows: Vec<DryRunRow>,
    /// Users matching the search, in all.
    pub total: u32,
    /// What the access rules decide for the request asked about.
    #[serde(default)]
    pub access: Option<AccessDecision>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[test]
    #[wasm_bindgen_test]
    fn what_a_path_needs_is_a_flat_object_and_nothing_else_reads() {
        for (json, access) in [
            (r#"{"kind":"public"}"#, Access::Public),
            (r#"{"kind":"signed_in"}"#, Access::SignedIn),
            (r#"{"kind":"role","role":"admin"}"#, Access::Role { role: Role::Admin }),
            (r#"{"kind":"fresh_duo","minutes":5}"#, Access::FreshDuo { minutes: 5 }),
        ] {
            assert_eq!(serde_json::from_str::<Access>(json).unwrap(), access, "{json}");
            assert_eq!(serde_json::to_string(&access).unwrap(), json);
        }
        for wrong in [
            r#"{"kind":"role"}"#,
            r#"{"kind":"public","minutes":5}"#,
            r#"{"kind":"fresh_duo","role":"user","minutes":5}"#,
            r#"{"kind":"everyone"}"#,
            r#"{"kind":"public","extra":1}"#,
        ] {
            assert!(serde_json::from_str::<Access>(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    #[wasm_bindgen_test]
    fn a_rule_needs_only_a_name_and_an_action() {
        let rule: PolicyRule =
            serde_json::from_str(r#"{"name":"Tor","action":"deny","countries":["T1"]}"#).unwrap();
        assert!(rule.enabled, "enabled unless said otherwise");
        assert!(rule.allow_remembered);
        let default = PolicyRule {
            name: "Tor".into(),
            action: PolicyAction::Deny,
            countries: vec!["T1".into()],
            ..PolicyRule::default()
        };
        assert_eq!(rule, default, "the JSON's defaults are Default's");
        assert_eq!((rule.action, rule.countries), (PolicyAction::Deny, vec!["T1".to_owned()]));
        assert!(serde_json::from_str::<PolicyRule>(r#"{"name":"x","action":"allow"}"#).is_err());
        assert!(
            serde_json::from_str::<PolicyRule>(r#"{"name":"x","action":"deny","cidr":[]}"#)
                .is_err(),
            "a misspelled condition is refused, not ignored"
        );
    }

    fn rule(json: &str) -> PolicyRule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    #[wasm_bindgen_test]
    fn a_catch_all_bypass_turns_duo_off_for_its_roles() {
        let everyone = rule(r#"{"name":"all","action":"bypass_duo"}"#);
        let set = PolicySet { rules: vec![everyone.clone()], remember_days: 0, access: Vec::new() };
        let found = set.duo_bypass().expect("a bypass for everyone");
        assert_eq!(found.roles, vec![Role::User, Role::Admin]);
        assert_eq!(found.rule, MatchedRule { number: 1, name: "all".into() });
        assert_eq!(found.roles_in_words(), "user and admin");

        // Only admins, behind a rule with a condition (an exception).
        let office =
            rule(r#"{"name":"office","action":"require_duo","networks":["192.0.2.0/24"]}"#);
        let admins = rule(r#"{"name":"admins","action":"bypass_duo","roles":["admin"]}"#);
        let set = PolicySet { rules: vec![office, admins], remember_days: 0, access: Vec::new() };
        let found = set.duo_bypass().expect("a bypass for every admin");
        assert_eq!(found.roles_in_words(), "admin");
        assert_eq!((found.roles, found.rule.number), (vec![Role::Admin], 2));
    }

    #[test]
    #[wasm_bindgen_test]
    fn a_bypass_behind_a_catch_all_or_with_a_condition_turns_nothing_off() {
        let require = rule(r#"{"name":"duo","action":"require_duo"}"#);
        let everyone = rule(r#"{"name":"all","action":"bypass_duo"}"#);
        let set = PolicySet {
            rules: vec![require, everyone.clone()],
            remember_days: 0,
            access: Vec::new(),
        };
        assert_eq!(set.duo_bypass(), None, "the first catch-all requires Duo");
        let anywhere =
            rule(r#"{"name":"any","action":"bypass_duo","networks":["0.0.0.0/0","::/0"]}"#);
        let found =
            PolicySet { rules: vec![anywhere], remember_days: 0, access: Vec::new() }.duo_bypass();
        assert_eq!(found.map(|b| b.roles), Some(vec![Role::User, Role::Admin]), "every address");
        let v4_only = rule(r#"{"name":"v4","action":"bypass_duo","networks":["0.0.0.0/0"]}"#);
        assert_eq!(
            PolicySet { rules: vec![v4_only], remember_days: 0, access: Vec::new() }.duo_bypass(),
            None
        );
        let office = rule(r#"{"name":"o","action":"bypass_duo","networks":["192.0.2.0/24"]}"#);
        assert_eq!(
            PolicySet { rules: vec![office], remember_days: 0, access: Vec::new() }.duo_bypass(),
            None
        );
        let disabled = PolicyRule { enabled: false, ..everyone };
        assert_eq!(
            PolicySet { rules: vec![disabled], remember_days: 0, access: Vec::new() }.duo_bypass(),
            None
        );
        let deny_users = rule(r#"{"name":"d","action":"deny","roles":["user"]}"#);
        let bypass_all = rule(r#"{"name":"b","action":"bypass_duo"}"#);
        let found =
            PolicySet { rules: vec![deny_users, bypass_all], remember_days: 0, access: Vec::new() }
                .duo_bypass()
                .expect("admins reach the bypass");
        assert_eq!((found.roles, found.rule.number), (vec![Role::Admin], 2));
    }
}
