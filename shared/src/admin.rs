//! The admin console's part of the contract (`/api/admin/*`): only for
//! sessions whose account has the `admin` role, checked on every request.

use serde::{Deserialize, Serialize};

use crate::api::{Password, Role};

/// Paths of the admin API.
pub mod routes {
    /// `GET ?q=&page=`: users, searched and paged.
    pub const USERS: &str = "/api/admin/users";
    /// `POST`: change one user ([`super::UserChangeRequest`]).
    pub const USER_CHANGE: &str = "/api/admin/users/change";
    /// `POST`: add a user ([`super::NewUserRequest`]); 201 with
    /// [`super::PasswordIssued`].
    pub const USER_ADD: &str = "/api/admin/users/add";
    /// `POST`: set a user's password and end their sessions
    /// ([`super::PasswordResetRequest`]); 200 with [`super::PasswordIssued`].
    pub const USER_PASSWORD: &str = "/api/admin/users/password";
    /// `POST`: what Duo and the audit log say about a user's Duo username
    /// ([`super::DuoUserCheckRequest`]); 200 with [`super::DuoUserCheck`].
    pub const USER_DUO_CHECK: &str = "/api/admin/users/duo-check";
    /// `GET ?q=&page=`: live sessions, newest first.
    pub const SESSIONS: &str = "/api/admin/sessions";
    /// `POST`: end one session ([`super::SessionRevokeRequest`]).
    pub const SESSION_REVOKE: &str = "/api/admin/sessions/revoke";
    /// `GET ?q=&page=`: remembered browsers ([`super::RememberedList`]).
    pub const REMEMBERED: &str = "/api/admin/remembered";
    /// `POST`: forget one ([`super::SessionRevokeRequest`], its id).
    pub const REMEMBERED_FORGET: &str = "/api/admin/remembered/forget";
    /// `GET ?`[`super::AuditQuery`]: a page of an audit log.
    pub const AUDIT: &str = "/api/admin/audit";
    /// `POST` of a form (`application/x-www-form-urlencoded`) with the
    /// fields of an [`super::AuditQuery`] (no `page`): every matching event,
    /// up to [`super::CSV_MAX_ROWS`], as a CSV download. A POST, so that
    /// it checks `Origin` like every action the audit log records.
    pub const AUDIT_CSV: &str = "/api/admin/audit.csv";
    /// `GET`: sign-ins and refusals at a glance ([`super::Overview`]).
    pub const OVERVIEW: &str = "/api/admin/overview";
    /// `GET`: the Duo provider's settings ([`super::DuoProvider`]).
    pub const DUO: &str = "/api/admin/duo";
    /// `POST` (no body): run Duo's health check now ([`super::DuoTest`]).
    pub const DUO_TEST: &str = "/api/admin/duo/test";
    /// `POST`: turn Duo enforcement on or off ([`super::EnforceRequest`]).
    pub const DUO_ENFORCE: &str = "/api/admin/duo/enforce";
}

/// What an admin types to turn Duo enforcement off.
pub const ENFORCE_OFF_PHRASE: &str = "turn off Duo";

/// The most rows one CSV export holds (newest first).
pub const CSV_MAX_ROWS: u32 = 10_000;

/// Users per page of [`UserList`].
pub const PAGE_SIZE: u32 = 25;

/// A user's second-factor policy, as the console shows and sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuoPolicy {
    /// Duo after the password.
    Required,
    /// Password only (break-glass).
    Bypass,
}

impl DuoPolicy {
    /// The stored form (`users.duo_policy`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Bypass => "bypass",
        }
    }

    /// Parses the stored form; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Required, Self::Bypass].into_iter().find(|policy| policy.as_str() == text)
    }
}

/// One user, as the console lists them (never a password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// As registered.
    pub username: String,
    /// `user` or `admin`.
    pub role: Role,
    /// Duo required, or bypassed.
    pub duo_policy: DuoPolicy,
    /// The name Duo knows, when it differs.
    pub duo_username: Option<String>,
    /// Refused at login.
    pub disabled: bool,
    /// When the account was made (Unix seconds).
    pub created_at: i64,
    /// The last session made for the user, and how.
    pub last_login_at: Option<i64>,
    /// `duo`, `bypass` or `fail_open`.
    pub last_login_method: Option<String>,
    /// On hold since (Unix seconds): a sign-in of theirs was reported as
    /// fraud in Duo; refused until an admin releases it.
    #[serde(default)]
    pub held_at: Option<i64>,
}

/// Body of `GET /api/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    /// This page's users, by normalized username.
    pub users: Vec<UserSummary>,
    /// Users matching the search, in all.
    pub total: u32,
    /// This page, from 1.
    pub page: u32,
    /// Users per page.
    pub page_size: u32,
    /// Accounts on hold after a fraud report, of all users.
    #[serde(default)]
    pub held: u32,
}

/// A change to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UserChange {
    /// Duo required, or bypassed.
    DuoPolicy(DuoPolicy),
    /// `user` or `admin` (the last enabled admin stays one).
    Role(Role),
    /// Disable (also ends the user's sessions) or enable.
    Disabled(bool),
    /// The name Duo knows (`null`: the username).
    DuoUsername(Option<String>),
    /// End every session of the user.
    RevokeSessions,
    /// Release the hold a fraud report put on the account (after looking
    /// into it).
    ReleaseHold,
}

/// Body of `POST /api/admin/users/change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChangeRequest {
    /// Whom.
    pub username: String,
    /// What.
    pub change: UserChange,
}

/// Where a new password comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NewPassword {
    /// The Worker makes one and answers it once ([`PasswordIssued`]).
    Generate,
    /// The admin typed it (the password policy applies).
    Typed(Password),
}

/// Body of `POST /api/admin/users/add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// A-Z a-z 0-9 . _ @ + -, at most 64.
    pub username: String,
    /// `user` or `admin`.
    pub role: Role,
    /// Duo required, or bypassed.
    pub duo_policy: DuoPolicy,
    /// The name Duo knows, when it differs (`null` or empty: the username).
    #[serde(default)]
    pub duo_username: Option<String>,
    /// The first password.
    pub password: NewPassword,
}

/// Body of `POST /api/admin/users/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// Whom.
    pub username: String,
    /// The new password.
    pub password: NewPassword,
}

/// The answer to adding a user or setting a password: the generated
/// password, this once (it is stored only as a hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordIssued {
    /// As registered.
    pub username: String,
    /// The password made by the Worker; `None` when the admin typed one.
    pub generated: Option<Password>,
    /// About a typed password: found in known data breaches and accepted
    /// (`PWNED_PASSWORDS=warn`), or not checked (the service did not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// Body of `POST /api/admin/users/duo-check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuoUserCheckRequest {
    /// Whose mapping.
    pub username: String,
    /// A Duo username to try before saving it; `None`: the one stored
    /// (else the username).
    #[serde(default)]
    pub duo_username: Option<String>,
}

/// What Duo's `preauth` says about a Duo username (inline mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum DuoPreauth {
    /// Known to Duo, with these devices: the user can approve.
    Enrolled {
        /// The devices' labels.
        devices: Vec<String>,
    },
    /// Duo lets this name in without a second factor (a bypass user).
    Allowed,
    /// Not enrolled: Duo offers enrollment at sign-in.
    NotEnrolled,
    /// Duo refuses this name (locked out, disabled, or the new-user policy).
    Denied {
        /// Duo's message.
        message: String,
    },
    /// Duo could not be asked, or refused the request.
    Failed {
        /// What happened, in words.
        message: String,
    },
}

/// Body of `POST /api/admin/users/duo-check`: the health of a user's
/// mapping to Duo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuoUserCheck {
    /// The name Duo is told for this user.
    pub duo_username: String,
    /// Another account that has this Duo identity (it cannot be saved).
    pub taken_by: Option<String>,
    /// Duo's `preauth` for the name (inline mode; the Universal Prompt
    /// has no such lookup).
    pub preauth: Option<DuoPreauth>,
    /// The user's last sign-in completed with Duo (Unix seconds).
    pub last_duo_success: Option<i64>,
    /// The user's last Duo step that failed, after the last success.
    pub last_duo_failure: Option<DuoFailure>,
    /// The verdict, in words.
    pub summary: String,
}

/// A failed Duo step from the sign-in log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuoFailure {
    /// When (Unix seconds).
    pub at: i64,
    /// The audit reason code, e.g. `id_token_username`.
    pub reason: String,
}

/// One live session, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Names the session for [`SessionRevokeRequest`]: the SHA-256 of its
    /// id, which opens nothing.
    pub id: String,
    /// Whose.
    pub username: String,
    /// `duo`, `bypass` or `fail_open`.
    pub method: String,
    /// Duo's factor and device, for `duo` sessions.
    pub factor: Option<String>,
    /// The device's name or number.
    pub device: Option<String>,
    /// The client it was made for (Cloudflare's address).
    pub client_ip: Option<String>,
    /// The browser and system it was made in ("Firefox on Linux"), for
    /// sessions made since migration 0014.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Cloudflare's country of its client (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub country: Option<String>,
    /// Started (Unix seconds).
    pub created_at: i64,
    /// Ends.
    pub expires_at: i64,
    /// Last used (at most about a minute behind).
    #[serde(default)]
    pub last_seen_at: i64,
}

/// Body of `GET /api/admin/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    /// This page's sessions.
    pub sessions: Vec<SessionSummary>,
    /// Live sessions matching, in all.
    pub total: u32,
    /// This page, from 1.
    pub page: u32,
    /// Sessions per page.
    pub page_size: u32,
}

/// Body of `POST /api/admin/sessions/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRevokeRequest {
    /// [`SessionSummary::id`].
    pub id: String,
}

/// A browser a user remembered after a Duo sign-in, as the console lists
/// it (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedSummary {
    /// Names it for forgetting: the SHA-256 of its token, which opens
    /// nothing.
    pub id: String,
    /// Whose (normalized).
    pub username: String,
    /// "Firefox on Linux".
    pub user_agent: Option<String>,
    /// Where it was remembered from.
    pub client_ip: Option<String>,
    /// When (Unix seconds).
    pub created_at: i64,
    /// Until.
    pub expires_at: i64,
    /// When it last skipped Duo.
    pub last_used_at: Option<i64>,
}

/// Body of `GET /api/admin/remembered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedList {
    /// This page's browsers, newest first.
    pub browsers: Vec<RememberedSummary>,
    /// In all.
    pub total: u32,
    /// This page, from 1.
    pub page: u32,
    /// Per page.
    pub page_size: u32,
}

/// Which audit log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditLog {
    /// `auth_events`: every sign-in step (login, Duo, logout).
    #[default]
    SignIns,
    /// `admin_events`: what admins changed.
    Admin,
}

impl AuditLog {
    /// The query string's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignIns => "sign_ins",
            Self::Admin => "admin",
        }
    }
}

/// A search of an audit log, as a query string: `log`, `user` (a username,
/// exactly; for the admin log the admin or the user acted on), `outcome`
/// (`success`, `failure`, `rate_limited`, `error`), `from` and `to` (Unix
/// seconds, both included), `order` (`oldest` for the oldest first, to read
/// an incident in order; newest first otherwise) and `page` (from 1). Empty
/// means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Which log.
    pub log: AuditLog,
    /// Whose events (normalized username), or `""`.
    pub user: String,
    /// Which outcome, or `""`.
    pub outcome: String,
    /// From (Unix seconds).
    pub from: Option<i64>,
    /// To (Unix seconds).
    pub to: Option<i64>,
    /// The page, from 1.
    pub page: u32,
    /// The oldest first (a page's order; a CSV export is always newest first).
    pub oldest_first: bool,
}

/// The outcomes an audit search may ask for.
pub const OUTCOMES: [&str; 4] = ["success", "failure", "rate_limited", "error"];

impl AuditQuery {
    /// Reads a query string's pairs (already percent-decoded). Unknown
    /// names are ignored; an unreadable value is refused in words.
    ///
    /// # Errors
    /// Which parameter is wrong.
    pub fn from_pairs<'a, I>(pairs: I) -> Result<Self, &'static str>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut query = Self { page: 1, ..Self::default() };
        for (name, value) in pairs {
            let value = value.trim();
            match name {
                "log" => {
                    query.log = match value {
                        "" | "sign_ins" => AuditLog::SignIns,
                        "admin" => AuditLog::Admin,
                        _ => return Err("log must be sign_ins or admin"),
                    };
                }
                "user" => query.user = value.to_ascii_lowercase().chars().take(64).collect(),
                "outcome" if value.is_empty() || OUTCOMES.contains(&value) => {
                    value.clone_into(&mut query.outcome);
                }
                "outcome" => return Err("outcome must be success, failure, rate_limited or error"),
                "from" | "to" if value.is_empty() => {}
                "from" | "to" => {
                    let at = value.parse().map_err(|_| "from and to are Unix seconds")?;
                    if name == "from" { query.from = Some(at) } else { query.to = Some(at) }
                }
                "page" => query.page = value.parse().map_err(|_| "page is a number")?,
                "order" => {
                    query.oldest_first = match value {
                        "" | "newest" => false,
                        "oldest" => true,
                        _ => return Err("order must be newest or oldest"),
                    };
                }
                _ => {}
            }
        }
        query.page = query.page.max(1);
        Ok(query)
    }

    /// The pairs of the query string (without `page` when `with_page` is
    /// false), for the console's requests and its CSV link.
    pub fn to_pairs(&self, with_page: bool) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("log", self.log.as_str().to_owned())];
        if !self.user.is_empty() {
            pairs.push(("user", self.user.clone()));
        }
        if !self.outcome.is_empty() {
            pairs.push(("outcome", self.outcome.clone()));
        }
        if let Some(from) = self.from {
            pairs.push(("from", from.to_string()));
        }
        if let Some(to) = self.to {
            pairs.push(("to", to.to_string()));
        }
        if with_page {
            pairs.push(("page", self.page.to_string()));
            if self.oldest_first {
                pairs.push(("order", "oldest".to_owned()));
            }
        }
        pairs
    }
}

/// One audit event. For the sign-in log, the columns of `auth_events`;
/// for the admin log, `user` is the admin, `event` the action, `target`
/// whom it changed, `reason` the change as JSON, and the outcome always
/// `success` (refused actions change nothing and are only logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    /// When (Unix seconds).
    pub at: i64,
    /// The username as submitted (it may name no user), or the admin.
    pub user: String,
    /// The step (`login`, `duo_start`, `duo_callback`, `logout`) or action.
    pub event: String,
    /// `success`, `failure`, `rate_limited` or `error`.
    pub outcome: String,
    /// A stable reason code, or the admin change as JSON.
    pub reason: String,
    /// Whom an admin action changed.
    pub target: Option<String>,
    /// Duo's transaction id.
    pub duo_txid: Option<String>,
    /// The client's address.
    pub client_ip: Option<String>,
    /// How many more refusals this row stands for (a rate-limit summary).
    pub repeats: u32,
    /// The sign-in policy that decided ("#2 Office"), if one did.
    #[serde(default)]
    pub policy: Option<String>,
    /// Cloudflare's country of the client, when known (sign-ins).
    #[serde(default)]
    pub country: Option<String>,
    /// The Duo factor of the session a step made (sign-ins).
    #[serde(default)]
    pub factor: Option<String>,
}

/// Body of `GET /api/admin/audit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    /// This page's events, newest first.
    pub rows: Vec<AuditRow>,
    /// Events matching, in all.
    pub total: u32,
    /// This page, from 1.
    pub page: u32,
    /// Events per page.
    pub page_size: u32,
}

/// The Duo provider as configured (secrets never included: they stay in
/// `wrangler secret`), and whether Duo is enforced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuoProvider {
    /// `prompt` (Universal Prompt) or `inline` (Auth API).
    pub mode: String,
    /// `DUO_API_HOST`.
    pub api_host: String,
    /// The client id (prompt) or integration key (inline), partly masked.
    pub key_masked: String,
    /// Which setting holds the key: `DUO_CLIENT_ID` or `DUO_IKEY`.
    pub key_setting: String,
    /// Which secret goes with it: `DUO_CLIENT_SECRET` or `DUO_SKEY`.
    pub secret_setting: String,
    /// The redirect URI (prompt mode).
    pub redirect_uri: Option<String>,
    /// `open` or `closed`.
    pub fail_mode: String,
    /// A session's lifetime (seconds).
    pub session_ttl_seconds: u32,
    /// A fail-open session's lifetime (seconds).
    pub failopen_session_ttl_seconds: u32,
    /// Whether a password alone is refused for `required` users.
    pub enforce_duo: bool,
    /// Who last turned enforcement on or off, and when.
    pub enforce_changed_by: Option<String>,
    /// When (Unix seconds).
    pub enforce_changed_at: Option<i64>,
    /// The sign-in policies turn Duo off for a whole role (a catch-all
    /// `bypass_duo` rule), as far-reaching as enforcement off.
    #[serde(default)]
    pub policy_bypass: Option<PolicyBypassNotice>,
}

/// A policy set in force that turns Duo off for a whole role, and who
/// saved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyBypassNotice {
    /// The roles and the rule.
    pub bypass: crate::policy::DuoBypass,
    /// Who saved the set.
    pub saved_by: Option<String>,
    /// When (Unix seconds).
    pub saved_at: i64,
}

/// Body of `POST /api/admin/duo/test`: the check run now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuoTest {
    /// Duo answered and accepted our keys.
    pub ok: bool,
    /// What was asked: `health_check` (prompt) or `check` (inline).
    pub endpoint: String,
    /// How long Duo took to answer (milliseconds).
    pub latency_ms: u32,
    /// What happened, in words.
    pub summary: String,
    /// The likely cause and what to do, when something is wrong.
    pub cause: Option<String>,
    /// Duo's clock minus ours (seconds), when Duo told its time.
    pub clock_offset_seconds: Option<i64>,
}

/// Body of `POST /api/admin/duo/enforce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnforceRequest {
    /// On or off.
    pub enforce: bool,
    /// To turn it off: exactly [`ENFORCE_OFF_PHRASE`].
    #[serde(default)]
    pub confirm: Option<String>,
}

/// `abcd••••••••••••••yz`: enough of a key to tell which one it is.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "•".repeat(chars.len());
    }
    let (head, tail) = (&chars[..4], &chars[chars.len() - 2..]);
    let hidden = "•".repeat(chars.len() - 6);
    format!("{}{hidden}{}", head.iter().collect::<String>(), tail.iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[test]
    #[wasm_bindgen_test]
    fn changes_have_one_wire_form_each() {
        let cases = [
            (UserChange::DuoPolicy(DuoPolicy::Bypass), r#"{"duo_policy":"bypass"}"#),
            (UserChange::Role(Role::Admin), r#"{"role":"admin"}"#),
            (UserChange::Disabled(true), r#"{"disabled":true}"#),
            (UserChange::DuoUsername(None), r#"{"duo_username":null}"#),
            (UserChange::RevokeSessions, r#""revoke_sessions""#),
        ];
        for (change, wire) in cases {
            assert_eq!(serde_json::to_string(&change).unwrap(), wire);
            assert_eq!(serde_json::from_str::<UserChange>(wire).unwrap(), change);
        }
        let extra = r#"{"username":"a","change":"revoke_sessions","admin":true}"#;
        assert!(serde_json::from_str::<UserChangeRequest>(extra).is_err());
    }

    #[test]
    #[wasm_bindgen_test]
    fn new_passwords_have_one_wire_form_each_and_hide_in_debug() {
        let typed = NewPassword::Typed(Password::new("hunter2hunter2"));
        let cases =
            [(NewPassword::Generate, r#""generate""#), (typed, r#"{"typed":"hunter2hunter2"}"#)];
        for (password, wire) in cases {
            assert_eq!(serde_json::to_string(&password).unwrap(), wire);
            assert_eq!(serde_json::from_str::<NewPassword>(wire).unwrap(), password);
            assert!(!format!("{password:?}").contains("hunter2"));
        }
        let issued = PasswordIssued {
            username: "alice".into(),
            generated: Some(Password::new("abcd-efgh-jkmn-pqrs-tuvw")),
            warning: None,
        };
        assert!(!format!("{issued:?}").contains("abcd"), "{issued:?}");
        let request =
            r#"{"username":"a","role":"user","duo_policy":"required","password":"generate"}"#;
        let parsed: NewUserRequest = serde_json::from_str(request).unwrap();
        assert_eq!(parsed.duo_username, None);
        let extra = r#"{"username":"a","password":"generate","admin":true}"#;
        assert!(serde_json::from_str::<PasswordResetRequest>(extra).is_err());
    }

    #[test]
    #[wasm_bindgen_test]
    fn preauth_verdicts_are_tagged_by_result() {
        let enrolled = DuoPreauth::Enrolled { devices: vec!["iPhone (XXX-XXX-1234)".into()] };
        assert_eq!(
            serde_json::to_string(&enrolled).unwrap(),
            r#"{"result":"enrolled","devices":["iPhone (XXX-XXX-1234)"]}"#
        );
        assert_eq!(
            serde_json::to_string(&DuoPreauth::NotEnrolled).unwrap(),
            r#"{"result":"not_enrolled"}"#
        );
    }

    #[test]
    #[wasm_bindgen_test]
    fn an_audit_query_reads_back_what_it_writes() {
        let query = AuditQuery {
            log: AuditLog::Admin,
            user: "bob".into(),
            outcome: "failure".into(),
            from: Some(1_700_000_000),
            to: Some(1_700_086_399),
            page: 3,
            oldest_first: true,
        };
        let pairs = query.to_pairs(true);
        let read = AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(read, Ok(query.clone()));
        let without_page = query.to_pairs(false);
        assert!(without_page.iter().all(|(k, _)| *k != "page" && *k != "order"), "not in a CSV");
        assert!(AuditQuery::from_pairs([("order", "sideways")]).is_err());
        let defaults = AuditQuery::from_pairs([("page", "0"), ("user", "  Bob ")]).unwrap();
        assert_eq!(
            (defaults.log, defaults.page, defaults.user.as_str()),
            (AuditLog::SignIns, 1, "bob")
        );
    }

    #[test]
    #[wasm_bindgen_test]
    fn keys_are_masked_but_recognizable() {
        assert_eq!(mask("DIXXXXXXXXXXXXXXXXXY"), "DIXX••••••••••••••XY");
        assert_eq!(mask("DIXXXXXXXXXXXXXXXXXY").chars().count(), 20);
        assert_eq!(mask("short"), "•••••");
        assert_eq!(mask(""), "");
    }

    #[test]
    #[wasm_bindgen_test]
    fn an_audit_query_refuses_what_it_cannot_read() {
        for pairs in [
            [("log", "everything")],
            [("outcome", "maybe")],
            [("from", "yesterday")],
            [("to", "1e9")],
            [("page", "-1")],
        ] {
            assert!(AuditQuery::from_pairs(pairs).is_err(), "{pairs:?}");
        }
    }
}

/// Hours of sign-ins [`Overview`] covers: the last 7 days, hour by hour
/// (the current hour last).
pub const OVERVIEW_HOURS: usize = 7 * 24;

/// How many addresses and countries [`Overview`] names.
pub const OVERVIEW_TOP: u32 = 5;

/// One hour of the sign-in log, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCounts {
    /// Sign-ins that made a session (with Duo, or without it: bypass,
    /// fail-open, trusted browser, policy).
    pub signed_in: u32,
    /// Steps refused (a wrong password, Duo denied, a policy, ...).
    pub refused: u32,
    /// Requests refused by a rate limit (each summarized one counted).
    pub rate_limited: u32,
    /// Steps that failed on our side or Duo's.
    pub errors: u32,
}

/// A count under a name (a method, a factor, a reason, an address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// The stored code or value (`duo_allow`, `bad_password`, `192.0.2.1`).
    pub key: String,
    /// How many.
    pub count: u32,
}

/// Body of `GET /api/admin/overview`: the console's home, from the audit
/// log and the sessions (aggregated in the database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    /// When these figures were read (Unix seconds).
    pub at: i64,
    /// The start of the first hour of [`Self::hours`] (Unix seconds, a
    /// whole hour).
    pub hours_from: i64,
    /// [`OVERVIEW_HOURS`] hours, oldest first; the last is the hour now.
    pub hours: Vec<HourCounts>,
    /// How the sessions of the 7 days were made (`duo_allow`, `bypass`,
    /// `fail_open`, `remembered_browser`, ...), most first.
    pub methods: Vec<Tally>,
    /// The Duo factors of those made with Duo, most first.
    pub factors: Vec<Tally>,
    /// Refusals of the 7 days by reason, most first.
    pub refusals: Vec<Tally>,
    /// The addresses refused most in the 7 days.
    pub refused_addresses: Vec<Tally>,
    /// The countries refused most in the 7 days.
    pub refused_countries: Vec<Tally>,
    /// Live sessions now.
    pub live_sessions: u32,
    /// Of which made without Duo because Duo was unreachable.
    pub live_fail_open: u32,
}
