//! The emulator's in-memory state: apps and users (with enrollments made on the prompt), prompt
//! sessions, authorization codes, scripted outcomes, faults and the request log.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha512};

use crate::clock::{Clock, UnixTime};
use crate::config::{AppConfig, Config, DeviceConfig, UserConfig};

/// Most prompt sessions and codes kept; older ones are forgotten.
const MAX_SESSIONS: usize = 2000;
/// Most request-log entries kept.
const MAX_LOG: usize = 2000;

/// State shared by every connection.
pub(crate) struct Shared {
    /// The configuration the emulator started with (restored by reset).
    pub config: Config,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
    /// Woken whenever an Auth API transaction changes (long polls wait on it).
    pub changed: tokio::sync::Notify,
}

/// Mutable state, behind one lock (never held across an await).
pub(crate) struct Inner {
    pub apps: Vec<AppConfig>,
    pub auth_api_apps: Vec<crate::config::AuthApiApp>,
    pub users: Vec<UserConfig>,
    pub sessions: HashMap<String, Session>,
    session_order: VecDeque<String>,
    pub codes: HashMap<String, CodeGrant>,
    code_order: VecDeque<String>,
    pub scripts: Vec<ScriptEntry>,
    pub faults: Vec<FaultRule>,
    pub clock_offset: i64,
    pub log: VecDeque<LogEntry>,
    next_seq: u64,
    /// Auth API transactions, SMS passcodes, failures and enrollments.
    pub auth_api: crate::auth_api::ledger::Ledger,
    /// Breached passwords added by the control API (upper-case hex SHA-1,
    /// count), besides the Pwned Passwords stand-in's built-in ones.
    pub pwned: Vec<(String, u64)>,
}

impl Shared {
    pub fn new(config: Config, clock: Arc<dyn Clock>) -> Self {
        let inner = Inner::from_config(&config);
        Self { config, clock, inner: Mutex::new(inner), changed: tokio::sync::Notify::new() }
    }

    /// Locks the state (a panic elsewhere never wedges the emulator).
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The emulator's notion of now (wall clock plus the `clock_offset` fault).
    pub fn now(&self) -> UnixTime {
        let offset = self.lock().clock_offset;
        UnixTime::from_duration(self.clock.now(), offset)
    }

    /// Forgets everything that happened since startup.
    pub fn reset(&self) {
        *self.lock() = Inner::from_config(&self.config);
        self.changed.notify_waiters();
    }
}

impl Inner {
    fn from_config(config: &Config) -> Self {
        Self {
            apps: config.apps.clone(),
            auth_api_apps: config.auth_api_apps.clone(),
            users: config.users.clone(),
            sessions: HashMap::new(),
            session_order: VecDeque::new(),
            codes: HashMap::new(),
            code_order: VecDeque::new(),
            scripts: Vec::new(),
            faults: Vec::new(),
            clock_offset: 0,
            log: VecDeque::new(),
            next_seq: 1,
            auth_api: crate::auth_api::ledger::Ledger::default(),
            pwned: Vec::new(),
        }
    }

    pub fn app(&self, client_id: &str) -> Option<&AppConfig> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// The configured user answering to `name` (username or alias, case-insensitive).
    pub fn user(&self, name: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.answers_to(name))
    }

    pub fn user_mut(&mut self, name: &str) -> Option<&mut UserConfig> {
        self.users.iter_mut().find(|u| u.answers_to(name))
    }

    /// The key scripts are filed under: the primary username, or the name as given, lower-cased.
    pub fn script_key(&self, name: &str) -> String {
        self.user(name)
            .map_or_else(|| name.to_ascii_lowercase(), |u| u.username.to_ascii_lowercase())
    }

    /// Takes the next scripted outcome for `name`, if any.
    pub fn take_script(&mut self, name: &str) -> Option<Script> {
        let key = self.script_key(name);
        let index = self.scripts.iter().position(|s| s.key == key)?;
        let entry = self.scripts.get_mut(index)?;
        let script = entry.script.clone();
        entry.remaining = entry.remaining.saturating_sub(1);
        if entry.remaining == 0 {
            self.scripts.remove(index);
        }
        Some(script)
    }

    pub fn insert_session(&mut self, sid: String, session: Session) {
        self.session_order.push_back(sid.clone());
        self.sessions.insert(sid, session);
        while self.session_order.len() > MAX_SESSIONS {
            if let Some(old) = self.session_order.pop_front() {
                self.sessions.remove(&old);
            }
        }
    }

    pub fn insert_code(&mut self, code: String, grant: CodeGrant) {
        self.code_order.push_back(code.clone());
        self.codes.insert(code, grant);
        while self.code_order.len() > MAX_SESSIONS {
            if let Some(old) = self.code_order.pop_front() {
                self.codes.remove(&old);
            }
        }
    }

    /// Consumes faults for `endpoint` that `pick` selects, in order of registration.
    pub fn take_faults(&mut self, endpoint: Endpoint, pick: impl Fn(&Fault) -> bool) -> Vec<Fault> {
        let mut taken = Vec::new();
        for rule in &mut self.faults {
            if rule.applies_to(endpoint) && pick(&rule.fault) {
                taken.push(rule.fault.clone());
                if let Some(times) = rule.times.as_mut() {
                    *times = times.saturating_sub(1);
                }
            }
        }
        self.faults.retain(|r| r.times != Some(0));
        taken
    }

    /// Consumes the first fault for `endpoint` that `pick` selects.
    pub fn take_first_fault(
        &mut self,
        endpoint: Endpoint,
        pick: impl Fn(&Fault) -> bool,
    ) -> Option<Fault> {
        let rule = self.faults.iter_mut().find(|r| r.applies_to(endpoint) && pick(&r.fault))?;
        let fault = rule.fault.clone();
        if let Some(times) = rule.times.as_mut() {
            *times = times.saturating_sub(1);
        }
        self.faults.retain(|r| r.times != Some(0));
        Some(fault)
    }

    pub fn push_log(&mut self, mut entry: LogEntry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        self.log.push_back(entry);
        while self.log.len() > MAX_LOG {
            self.log.pop_front();
        }
    }
}

/// An outcome queued for a user's next authorization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Username or alias the outcome is for.
    pub user: String,
    /// What happens.
    pub outcome: Outcome,
    /// Factor to report, e.g. `"Duo Push"`, `"duo_push"`, `"Passcode"`, `"Phone Call"`.
    #[serde(default)]
    pub factor: Option<String>,
    /// Device name to report (default: the user's first device).
    #[serde(default)]
    pub device: Option<String>,
    /// For `error`: the `error` parameter (default `access_denied`).
    #[serde(default)]
    pub error: Option<String>,
    /// For `error`: the `error_description` parameter.
    #[serde(default)]
    pub error_description: Option<String>,
    /// How many authorizations this applies to (default 1).
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// Scripted outcome kinds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Redirect at once with a code whose `id_token` says allow.
    Approve,
    /// Redirect at once with a code whose `id_token` says deny.
    Deny,
    /// Redirect at once with a code whose `id_token` says fraud (the
    /// prompt's "Deny and report fraud"; an Auth API push: `fraud`).
    Fraud,
    /// Show the prompt with "timed out" (no redirect), as Duo does when a push expires.
    Timeout,
    /// Redirect with `error` and `error_description` instead of a code.
    #[serde(alias = "error_redirect")]
    Error,
}

pub(crate) struct ScriptEntry {
    pub key: String,
    pub remaining: u32,
    pub script: Script,
}

/// Endpoints faults can target.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /oauth/v1/health_check`.
    HealthCheck,
    /// `POST /oauth/v1/token`.
    Token,
    /// `GET /oauth/v1/authorize`.
    Authorize,
    /// `/auth/v2/check`.
    Check,
    /// `/auth/v2/preauth`.
    Preauth,
    /// `/auth/v2/auth`.
    Auth,
    /// `/auth/v2/auth_status`.
    AuthStatus,
    /// Every `/auth/v2/` path (the four above, `ping`, `enroll`, `enroll_status`).
    AuthApi,
    /// Every endpoint above.
    Any,
}

impl Endpoint {
    /// The endpoint a request path is, if faults can target it.
    pub(crate) fn of_path(path: &str) -> Option<Self> {
        Some(match path {
            "/oauth/v1/health_check" => Self::HealthCheck,
            "/oauth/v1/token" => Self::Token,
            "/oauth/v1/authorize" => Self::Authorize,
            "/auth/v2/check" => Self::Check,
            "/auth/v2/preauth" => Self::Preauth,
            "/auth/v2/auth" => Self::Auth,
            "/auth/v2/auth_status" => Self::AuthStatus,
            p if p.starts_with("/auth/v2/") => Self::AuthApi,
            _ => return None,
        })
    }

    /// Whether the endpoint answers JSON (a `malformed_json` fault applies).
    pub(crate) fn answers_json(self) -> bool {
        self != Self::Authorize
    }

    fn is_auth_api(self) -> bool {
        matches!(self, Self::Check | Self::Preauth | Self::Auth | Self::AuthStatus | Self::AuthApi)
    }
}

/// A fault to inject.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// The health check answers `stat: FAIL` (defaults: code 40002, `invalid_client`, "The
    /// provided `client_assertion` was invalid.", the configured FAIL status).
    HealthFail {
        #[serde(default)]
        status: Option<u16>,
        #[serde(default)]
        code: Option<u32>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        message_detail: Option<String>,
    },
    /// Answer with this status and a non-JSON body (like a proxy error page).
    HttpStatus {
        status: u16,
        #[serde(default)]
        body: Option<String>,
    },
    /// Delay the answer.
    Latency { ms: u64 },
    /// Close the connection without answering.
    DropConnection,
    /// Answer 200 with truncated JSON.
    MalformedJson,
    /// Answer Duo's JSON failure: `{"stat": "FAIL", "code", "message"[, "message_detail"]}`
    /// with this HTTP status (e.g. 429 and 42901 "Too Many Requests", or a 5xx).
    DuoError {
        status: u16,
        code: u32,
        message: String,
        #[serde(default)]
        message_detail: Option<String>,
    },
    /// The next `id_token` is defective.
    IdToken { defect: IdTokenDefect },
    /// Shift the emulator's clock (applied at once, not a rule).
    ClockOffset { seconds: i64 },
}

/// Ways to spoil an `id_token`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IdTokenDefect {
    /// `iss` of another host.
    WrongIss,
    /// `aud` another client id.
    WrongAud,
    /// `aud` an array of two values.
    AudArray,
    /// `nonce` different from the one sent (present even if none was sent).
    WrongNonce,
    /// No `nonce` claim.
    MissingNonce,
    /// `preferred_username` of someone else.
    WrongPreferredUsername,
    /// No `preferred_username` claim.
    MissingPreferredUsername,
    /// Signed with a different secret.
    BadSignature,
    /// Signed HS256 with the right secret.
    AlgHs256,
    /// `alg: none`, empty signature.
    AlgNone,
    /// `exp` an hour ago.
    Expired,
    /// No `exp` claim.
    MissingExp,
    /// No `iat` claim.
    MissingIat,
    /// `iat` 120 s in the future.
    IatInFuture,
    /// `nbf` 120 s in the future.
    NbfInFuture,
    /// Not a JWT at all.
    Malformed,
}

/// A fault rule as posted to the control API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultRule {
    /// The fault.
    #[serde(flatten)]
    pub fault: Fault,
    /// Endpoint it applies to (default: the health check for `health_fail`, the token endpoint
    /// for `id_token`, otherwise every endpoint).
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
    /// How many requests it applies to (default: until cleared; 1 for `id_token`).
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultRule {
    /// Fills in the defaults described on the fields.
    #[must_use]
    pub fn normalized(mut self) -> Self {
        if self.endpoint.is_none() {
            self.endpoint = Some(match self.fault {
                Fault::HealthFail { .. } => Endpoint::HealthCheck,
                Fault::IdToken { .. } => Endpoint::Token,
                _ => Endpoint::Any,
            });
        }
        if self.times.is_none() && matches!(self.fault, Fault::IdToken { .. }) {
            self.times = Some(1);
        }
        self
    }

    fn applies_to(&self, endpoint: Endpoint) -> bool {
        match self.endpoint {
            None | Some(Endpoint::Any) => true,
            Some(Endpoint::AuthApi) => endpoint.is_auth_api(),
            Some(target) => target == endpoint,
        }
    }
}

/// One logged request (the control API's own requests are not logged).
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Sequence number, from 1.
    pub seq: u64,
    /// Emulator time, Unix seconds.
    pub time: f64,
    /// Peer address.
    pub remote: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Headers (lower-case names; repeated headers joined with `, `).
    pub headers: std::collections::BTreeMap<String, String>,
    /// Body as text (lossy UTF-8, first 64 KiB).
    pub body: String,
    /// Parameters merged from query and body, for the OAuth endpoints.
    pub params: Option<std::collections::BTreeMap<String, String>>,
    /// Decoded (unverified) `client_assertion` or `request` JWT: `{"header": …, "claims": …}`.
    pub jwt: Option<Value>,
    /// Response status; 0 when the connection was dropped on purpose.
    pub status: u16,
    /// Why the emulator refused the request, when it did.
    pub error: Option<String>,
}

/// How the browser that reached the prompt looked (`auth_context.access_device`).
#[derive(Debug, Clone, Default)]
pub(crate) struct AccessDevice {
    pub ip: String,
    pub browser: Option<String>,
    pub browser_version: Option<String>,
    pub os: Option<String>,
    pub os_version: Option<String>,
}

/// Where a prompt session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Choose,
    Push(usize),
    Call(usize),
    Passcode,
    Enroll,
    LockedOut,
    Disabled,
    DeniedUnenrolled,
    Done,
}

/// One visit to the prompt (one authorize request).
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub client_id: String,
    pub app_name: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: Option<String>,
    pub duo_uname: String,
    pub use_duo_code: bool,
    pub txid: String,
    pub access: AccessDevice,
    pub view: View,
    pub notice: Option<String>,
}

/// The device a factor used (`auth_context.auth_device`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceUsed {
    pub name: String,
    pub key: String,
}

/// The result of a second-factor attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub allow: bool,
    /// `auth_result.status`: `allow`, `deny` or `fraud`.
    pub status: &'static str,
    pub status_msg: &'static str,
    /// `auth_context.factor`, e.g. `duo_push`.
    pub factor: String,
    /// `auth_context.result`: `success`, `denied`, `fraud`.
    pub result: &'static str,
    /// `auth_context.reason`, e.g. `user_approved`.
    pub reason: &'static str,
    pub device: Option<DeviceUsed>,
}

impl Decision {
    pub fn allow(factor: &str, reason: &'static str, device: Option<DeviceUsed>) -> Self {
        Self {
            allow: true,
            status: "allow",
            status_msg: "Login Successful",
            factor: factor.into(),
            result: "success",
            reason,
            device,
        }
    }

    pub fn deny(factor: &str, reason: &'static str, device: Option<DeviceUsed>) -> Self {
        Self {
            allow: false,
            status: "deny",
            status_msg: "Login denied",
            factor: factor.into(),
            result: "denied",
            reason,
            device,
        }
    }

    pub fn fraud(factor: &str, device: Option<DeviceUsed>) -> Self {
        Self {
            allow: false,
            status: "fraud",
            status_msg: "Login denied: reported as fraud",
            factor: factor.into(),
            result: "fraud",
            reason: "user_marked_fraud",
            device,
        }
    }
}

/// Everything the `id_token` will say, fixed when the prompt finishes.
#[derive(Debug, Clone)]
pub(crate) struct AuthRecord {
    pub txid: String,
    pub auth_time: UnixTime,
    pub sub: String,
    pub preferred_username: String,
    pub alias: String,
    pub email: String,
    pub groups: Vec<String>,
    pub user_key: String,
    pub app_name: String,
    pub client_id: String,
    pub nonce: Option<String>,
    pub decision: Decision,
    pub access: AccessDevice,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub issued: UnixTime,
    pub used: bool,
    pub record: AuthRecord,
}

/// Random bytes from the OS.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf)?;
    Ok(buf)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// `N` random bytes as lower-case hex.
pub(crate) fn random_hex<const N: usize>() -> Result<String, getrandom::Error> {
    Ok(hex(&random_bytes::<N>()?))
}

/// A random UUID v4 (`auth_context.txid`).
pub(crate) fn random_uuid() -> Result<String, getrandom::Error> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex(&b);
    Ok(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

/// A stable Duo-style key (`DU…`, `DP…`: prefix plus 18 upper-case alphanumerics) for `seed`.
pub(crate) fn duo_key(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let digest = Sha512::digest(seed.as_bytes());
    let tail: String = digest
        .iter()
        .take(18)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("{prefix}{tail}")
}

/// The key of a user's device.
pub(crate) fn device_used(user: &UserConfig, device: &DeviceConfig) -> DeviceUsed {
    DeviceUsed {
        name: device.number.clone().unwrap_or_else(|| device.name.clone()),
        key: duo_key("DP", &format!("{}\u{0}{}", user.username, device.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duo_keys_are_stable_and_shaped() {
        let a = duo_key("DU", "alice");
        assert_eq!(a, duo_key("DU", "alice"));
        assert_ne!(a, duo_key("DU", "bob"));
        assert_eq!(a.len(), 20);
        assert!(a.starts_with("DU"));
        assert!(a.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    }

    #[test]
    fn uuid_is_v4_shaped() {
        let id = random_uuid().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, random_uuid().unwrap());
    }

    #[test]
    fn fault_rules_get_defaults_and_are_consumed() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"kind": "id_token", "defect": "wrong_nonce"}"#).unwrap();
        let rule = rule.normalized();
        assert_eq!(rule.endpoint, Some(Endpoint::Token));
        assert_eq!(rule.times, Some(1));
        let mut inner = Inner::from_config(&Config::default());
        inner.faults.push(rule);
        inner.faults.push(
            serde_json::from_str::<FaultRule>(r#"{"kind": "latency", "ms": 5}"#)
                .unwrap()
                .normalized(),
        );
        assert!(
            inner
                .take_faults(Endpoint::HealthCheck, |f| matches!(f, Fault::IdToken { .. }))
                .is_empty()
        );
        assert_eq!(
            inner.take_faults(Endpoint::Token, |f| matches!(f, Fault::IdToken { .. })).len(),
            1
        );
        assert!(
            inner.take_faults(Endpoint::Token, |f| matches!(f, Fault::IdToken { .. })).is_empty()
        );
        assert_eq!(
            inner.take_faults(Endpoint::Token, |f| matches!(f, Fault::Latency { .. })).len(),
            1
        );
        assert_eq!(
            inner.take_faults(Endpoint::Authorize, |f| matches!(f, Fault::Latency { .. })).len(),
            1
        );
    }

    #[test]
    fn scripts_resolve_aliases_and_count_down() {
        let mut inner = Inner::from_config(&Config::default());
        let key = inner.script_key("ALICE@example.com");
        assert_eq!(key, "alice");
        inner.scripts.push(ScriptEntry {
            key,
            remaining: 2,
            script: Script {
                user: "alice@example.com".into(),
                outcome: Outcome::Approve,
                factor: None,
                device: None,
                error: None,
                error_description: None,
                times: 2,
            },
        });
        assert!(inner.take_script("alice").is_some());
        assert!(inner.take_script("Alice").is_some());
        assert!(inner.take_script("alice").is_none());
    }
}
