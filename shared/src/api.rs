//! Routes and JSON bodies of the HTTP contract (`DESIGN.md`, "HTTP contract").

use serde::{Deserialize, Serialize};

/// Paths the Worker answers, under the login's prefix ([`routes::PREFIX`]):
/// `routes::LOGIN` is served at `{PREFIX}/api/login`. The SPA builds every
/// request from these, with [`routes::at`].
pub mod routes {
    /// The login's own path prefix: its pages, API, Duo callback, console
    /// and keys live under it, and every other path is the app's. One path
    /// segment; `LOGIN_PREFIX` chooses another when building (the Worker
    /// and the SPA are built with the same one).
    pub const PREFIX: &str = match option_env!("LOGIN_PREFIX") {
        Some(prefix) => prefix,
        None => "/_login",
    };
    const _: () = assert!(
        is_prefix(PREFIX),
        "LOGIN_PREFIX must be one path segment: `/` then letters, digits, `.`, `_`, `-` or `~`"
    );

    /// Whether `value` is a prefix: `/` and one segment of unreserved
    /// characters (RFC 3986), not `.` or `..`.
    pub const fn is_prefix(value: &str) -> bool {
        let bytes = value.as_bytes();
        if bytes.len() < 2 || bytes[0] != b'/' {
            return false;
        }
        if (bytes.len() == 2 && bytes[1] == b'.')
            || (bytes.len() == 3 && bytes[1] == b'.' && bytes[2] == b'.')
        {
            return false;
        }
        let mut i = 1;
        while i < bytes.len() {
            let b = bytes[i];
            if !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~')) {
                return false;
            }
            i += 1;
        }
        true
    }

    /// `path` (one of these routes, or a page) under the prefix.
    pub fn at(path: &str) -> String {
        format!("{PREFIX}{path}")
    }

    /// The login's own path for a request path: the part after the prefix
    /// (`/` for the prefix itself), or `None` when the path is the app's.
    pub fn own(path: &str) -> Option<&str> {
        let rest = path.strip_prefix(PREFIX)?;
        if rest.is_empty() {
            Some("/")
        } else if rest.starts_with('/') {
            Some(rest)
        } else {
            None
        }
    }

    /// The sign-in page (the SPA).
    pub const PAGE: &str = "/";
    /// The admin console's page.
    pub const ADMIN_PAGE: &str = "/admin/";

    /// Whether `path` (the login's own) is one of the console's pages
    /// below [`ADMIN_PAGE`] (`/admin/users/alice`): the console routes
    /// them itself, so the Worker answers each with the console. A file
    /// (a last segment with a dot) is not a page.
    pub fn is_console_page(path: &str) -> bool {
        path.strip_prefix(ADMIN_PAGE).is_some_and(|rest| {
            !rest.is_empty() && !rest.rsplit('/').next().unwrap_or_default().contains('.')
        })
    }
    /// `GET`: the gateway's public signing keys, a JSON Web Key Set.
    pub const JWKS: &str = "/jwks.json";
    /// Any method: forward-auth for another proxy (nginx `auth_request`,
    /// Traefik `forwardAuth`, Caddy `forward_auth`): 200 with the identity
    /// headers, or 401 (302 to the login for a Traefik or Caddy navigation).
    pub const VERIFY: &str = "/verify";
    /// Any method: forward-auth for nginx `auth_request` (the request
    /// named by `X-Original-URI` and `X-Original-Method`): 200 with the
    /// identity headers, 401 (with the login in `Location` for a
    /// navigation) or 403.
    pub const VERIFY_NGINX: &str = "/verify/nginx";
    /// `GET`: readiness of the service and of its Duo configuration.
    pub const HEALTH: &str = "/api/health";
    /// `POST`: first factor (username and password).
    pub const LOGIN: &str = "/api/login";
    /// `POST` ([`super::StepUpRequest`]): a signed-in user goes through Duo
    /// again (an app's path needs a fresh approval); answered as
    /// [`LOGIN`].
    pub const STEP_UP: &str = "/api/step-up";
    /// `GET`: the current session.
    pub const SESSION: &str = "/api/session";
    /// `POST`: end the current session.
    pub const LOGOUT: &str = "/api/logout";
    /// `POST`: end every session of the current session's user.
    pub const LOGOUT_EVERYWHERE: &str = "/api/logout-everywhere";
    /// `POST`: the signed-in user changes their own password
    /// ([`super::PasswordChangeRequest`]); 204, their other sessions end.
    pub const PASSWORD: &str = "/api/password";
    /// `POST`: this browser is no longer remembered; 204.
    pub const FORGET_BROWSER: &str = "/api/remembered/forget";
    /// `GET`: the signed-in user's live sessions and trusted browsers
    /// ([`super::OwnSessions`]).
    pub const OWN_SESSIONS: &str = "/api/sessions";
    /// `POST` ([`super::EndOwnRequest`]): ends one of them; 204.
    pub const OWN_SESSIONS_END: &str = "/api/sessions/end";
    /// `POST` (form, top-level navigation): start the Duo step.
    pub const DUO_START: &str = "/auth/duo/start";
    /// `GET`: where Duo sends the browser back.
    pub const DUO_CALLBACK: &str = "/auth/duo/callback";
    /// `POST` (inline mode): start a factor on a chosen device.
    pub const DUO_INLINE_START: &str = "/api/duo/inline/start";
    /// `POST` (inline mode): the started factor's next state (a bounded long poll).
    pub const DUO_INLINE_STATUS: &str = "/api/duo/inline/status";
}

/// Why Duo denied a sign-in, where the person needs more than "denied"
/// (the sign-in page's `?duo=` next to `?error=duo_denied`, and implied by a
/// `duo_denied` answer to the password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuoDenial {
    /// Duo refused the account itself (locked out, disabled, unknown):
    /// signing in again cannot help.
    Account,
    /// The person cancelled in Duo's prompt.
    Cancelled,
}

impl DuoDenial {
    /// The query string's form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the query string's form; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Account, Self::Cancelled].into_iter().find(|d| d.as_str() == text)
    }
}

/// A device name as pages show it: a phone number (digits with `+`, spaces,
/// dashes, dots, brackets; at least seven digits) with all but its last four
/// digits hidden, as Duo's own device lists show them ("XXX-XXX-0199");
/// any other name as it is.
pub fn masked_phone(name: &str) -> String {
    let digits = name.chars().filter(char::is_ascii_digit).count();
    let phone_like =
        name.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) && digits >= 7;
    if !phone_like {
        return name.to_owned();
    }
    let mut left = digits;
    name.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                left -= 1;
                if left >= 4 { 'X' } else { c }
            } else {
                c
            }
        })
        .collect()
}

/// Overall state reported by `GET /api/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    /// Configuration is complete and valid.
    Ok,
    /// A setting is missing or invalid; `setting` names it.
    ConfigError,
}

/// What the Worker last learned about Duo's reachability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuoReachability {
    /// The last health check succeeded.
    Reachable,
    /// The last health check failed.
    Unreachable,
    /// No health check has run in this isolate yet.
    Unknown,
}

/// Body of `GET /api/health`.
///
/// `200 {"status":"ok","duo":...}` or `503 {"status":"config_error","setting":"NAME"}`.
/// A setting is named, its value never appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// Overall state.
    pub status: ServiceStatus,
    /// Duo's reachability; absent when the configuration is broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duo: Option<DuoReachability>,
    /// The first setting found missing or invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
}

impl HealthResponse {
    /// A healthy service.
    pub fn ok(duo: DuoReachability) -> Self {
        Self { status: ServiceStatus::Ok, duo: Some(duo), setting: None }
    }

    /// A service whose setting `name` is missing or invalid.
    pub fn config_error(name: &str) -> Self {
        Self { status: ServiceStatus::ConfigError, duo: None, setting: Some(name.to_owned()) }
    }

    /// Whether the service can take logins.
    pub fn is_ready(&self) -> bool {
        self.status == ServiceStatus::Ok
    }
}

// ---------------------------------------------------------------------------
// Login and session (`POST /api/login`, `GET /api/session`).
// ---------------------------------------------------------------------------

/// A password on its way from the login form to the Worker.
///
/// Serialized as a plain JSON string (it must reach the Worker), but its
/// `Debug` never shows it, so it cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a password typed by a person.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password itself, for the one place that verifies it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Body of `POST /api/step-up`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    /// Where to return after Duo: a same-origin path, else the login's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
}

/// Body of `POST /api/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// As typed; the Worker normalizes it for lookup.
    pub username: String,
    /// Checked against the stored PBKDF2 hash, never stored or logged.
    pub password: Password,
    /// Where the sign-in returns to when it goes through Duo's prompt: the
    /// app's path and query the gateway sent the browser here from
    /// (`?return_to=` on the login's page). Kept only when it is a
    /// same-origin path ([`crate::return_to::ReturnTo`]); anything else
    /// returns to the login's page, as without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// A step-up: the app asked for a fresh Duo approval, so a trusted
    /// browser does not skip Duo this time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
}

/// Answer to a successful `POST /api/login`: what the browser does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "next", rename_all = "snake_case", try_from = "LoginWire")]
pub enum LoginResponse {
    /// The first factor passed; the second is Duo (`POST /auth/duo/start`).
    Duo {
        /// The username being signed in, for the "Log in with Duo" step.
        username: String,
        /// Days this browser may be remembered after Duo ("trust this
        /// browser", the form's `remember`); 0: not offered.
        #[serde(default, skip_serializing_if = "is_zero")]
        remember_days: u32,
    },
    /// Signed in without Duo (a `bypass` user, or Duo down with fail-open).
    Done {
        /// The new session.
        session: SessionInfo,
    },
    /// Inline mode: the second factor is chosen on this page, from these
    /// devices (`POST /api/duo/inline/start`).
    DuoInline {
        /// The username being signed in.
        username: String,
        /// The user's devices, as Duo names them, with what each can do.
        devices: Vec<InlineDevice>,
        /// As in `Duo` (the start request's `remember`).
        #[serde(default, skip_serializing_if = "is_zero")]
        remember_days: u32,
    },
    /// Inline mode: Duo requires the user to enroll a device first.
    DuoEnroll {
        /// The username being signed in.
        username: String,
        /// Duo's self-enrollment link (valid for a few minutes).
        enroll_url: String,
        /// Duo's message.
        message: String,
    },
}

/// A second-factor method of the inline mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InlineMethod {
    /// Duo Push to Duo Mobile.
    Push,
    /// A phone call.
    Phone,
    /// Text a new batch of passcodes.
    Sms,
    /// Type a passcode (Duo Mobile, SMS, token).
    Passcode,
}

impl InlineMethod {
    /// Every method, in the order a chooser lists them.
    pub const ALL: [Self; 4] = [Self::Push, Self::Phone, Self::Sms, Self::Passcode];
}

/// One of the user's devices, for the inline chooser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineDevice {
    /// Duo's device id (`DP...`), sent back to start a factor.
    pub id: String,
    /// Duo's name for it, e.g. "iPhone (XXX-XXX-0100)".
    pub name: String,
    /// What it can do, in [`InlineMethod::ALL`] order.
    pub methods: Vec<InlineMethod>,
}

/// A passcode on its way from the page to the Worker (redacted `Debug`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Passcode(String);

impl Passcode {
    /// Wraps a passcode typed by a person.
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    /// The passcode itself, for the one place that sends it to Duo.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passcode([redacted])")
    }
}

/// Body of `POST /api/duo/inline/start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineStartRequest {
    /// The method.
    pub method: InlineMethod,
    /// The device's id (from [`InlineDevice::id`]); `None` lets Duo pick
    /// (for a passcode, Duo checks it against every device).
    #[serde(default)]
    pub device: Option<String>,
    /// The passcode, for [`InlineMethod::Passcode`].
    #[serde(default)]
    pub passcode: Option<Passcode>,
    /// Remember this browser once Duo allows (when the login offered it).
    #[serde(default)]
    pub remember: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if")]
const fn is_zero(days: &u32) -> bool {
    *days == 0
}

// The tagged answers are read through a flat struct: serde's derive for an
// internally tagged enum buffers every field into a generic tree first,
// which cost the SPA's wasm 11.7 KB of its 158 KB gzip (`scripts/size-report.sh`);
// one flat struct is read in one pass. Written as tagged, as before.

/// [`LoginResponse`] as read.
#[derive(Deserialize)]
struct LoginWire {
    next: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    session: Option<SessionInfo>,
    #[serde(default)]
    devices: Option<Vec<InlineDevice>>,
    #[serde(default)]
    enroll_url: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    remember_days: u32,
}

impl TryFrom<LoginWire> for LoginResponse {
    type Error = &'static str;

    fn try_from(wire: LoginWire) -> Result<Self, Self::Error> {
        let username = wire.username.ok_or("missing field `username`");
        Ok(match wire.next.as_str() {
            "duo" => Self::Duo { username: username?, remember_days: wire.remember_days },
            "done" => Self::Done { session: wire.session.ok_or("missing field `session`")? },
            "duo_inline" => Self::DuoInline {
                username: username?,
                devices: wire.devices.ok_or("missing field `devices`")?,
                remember_days: wire.remember_days,
            },
            "duo_enroll" => Self::DuoEnroll {
                username: username?,
                enroll_url: wire.enroll_url.ok_or("missing field `enroll_url`")?,
                message: wire.message.ok_or("missing field `message`")?,
            },
            _ => return Err("unknown `next`"),
        })
    }
}

/// [`InlineProgress`] as read.
#[derive(Deserialize)]
struct InlineWire {
    state: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    verification_code: Option<String>,
    #[serde(default)]
    session: Option<SessionInfo>,
}

impl TryFrom<InlineWire> for InlineProgress {
    type Error = &'static str;

    fn try_from(wire: InlineWire) -> Result<Self, Self::Error> {
        let message = wire.message.ok_or("missing field `message`");
        Ok(match wire.state.as_str() {
            "waiting" => Self::Waiting {
                status: wire.status.ok_or("missing field `status`")?,
                message: message?,
                verification_code: wire.verification_code,
            },
            "sent" => Self::Sent { message: message? },
            "done" => Self::Done { session: wire.session.ok_or("missing field `session`")? },
            _ => return Err("unknown `state`"),
        })
    }
}

/// Answer of `POST /api/duo/inline/start` and `/status`: where the factor stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "InlineWire")]
pub enum InlineProgress {
    /// A push or call is waiting for the user (`status`: Duo's, e.g.
    /// `pushed`, `calling`, `answered`); follow with `/status`.
    Waiting {
        /// Duo's status.
        status: String,
        /// Duo's message, for display.
        message: String,
        /// Verified Duo Push: the code the user types in Duo Mobile (3 to 6
        /// digits), shown large while the push waits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verification_code: Option<String>,
    },
    /// SMS passcodes were sent: the user types one next.
    Sent {
        /// Duo's message.
        message: String,
    },
    /// Duo allowed: signed in.
    Done {
        /// The new session.
        session: SessionInfo,
    },
}

/// How a session's second factor was satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Duo approved the authentication.
    Duo,
    /// The user's policy skips Duo (break-glass account).
    Bypass,
    /// Duo was unreachable and `DUO_FAILMODE=open` let the user in.
    FailOpen,
    /// The password, from a browser the user had remembered after a Duo
    /// sign-in ("trust this browser").
    Remembered,
}

impl AuthMethod {
    /// Every method, in contract order.
    pub const ALL: [Self; 4] = [Self::Duo, Self::Bypass, Self::FailOpen, Self::Remembered];

    /// The one name of each method: on the wire (serde agrees, see the
    /// test) and in storage (`sessions.method`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Duo => "duo",
            Self::Bypass => "bypass",
            Self::FailOpen => "fail_open",
            Self::Remembered => "remembered",
        }
    }

    /// Parses [`Self::as_str`]'s form; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|method| method.as_str() == name)
    }
}

/// An account's role: admins also reach the admin console (`/api/admin/*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Signs in; nothing more.
    #[default]
    User,
    /// Administers users, sessions, the audit log and the Duo settings.
    Admin,
}

impl Role {
    /// The stored and wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// Parses [`Self::as_str`]'s form; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::User, Self::Admin].into_iter().find(|role| role.as_str() == text)
    }
}

/// What Duo reported about the second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuoDetails {
    /// e.g. `Duo Push`, `Passcode`, `Phone Call`.
    pub factor: Option<String>,
    /// The device's name or number as Duo reports it.
    pub device: Option<String>,
    /// Duo's transaction id, for matching with Duo's logs.
    pub txid: Option<String>,
    /// Duo's `auth_result.status` (`allow` for every session).
    pub result: Option<String>,
}

/// Body of `GET /api/session` (times are Unix seconds).
///
/// In inline mode, `duo.factor` is the method used (`Duo Push`, `Phone
/// Call`, `Passcode`, `Duo bypass` when Duo's preauth let the user in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Who is signed in.
    pub username: String,
    /// How the second factor was satisfied.
    pub method: AuthMethod,
    /// When the session was created.
    pub authenticated_at: i64,
    /// When it ends, unless logged out first.
    pub expires_at: i64,
    /// Duo's details; `null` for `bypass` and `fail_open`.
    pub duo: Option<DuoDetails>,
    /// The account's role, as stored now (read with the session).
    #[serde(default)]
    pub role: Role,
    /// An admin set this account's password: the user must choose their
    /// own (`POST /api/password`) before anything else.
    #[serde(default)]
    pub password_change_required: bool,
    /// When it ends unless used before (`SESSION_IDLE_SECONDS` after its
    /// last use); `None` for a session without an idle limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_expires_at: Option<i64>,
}

/// Body of `POST /api/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    /// The password the user signs in with now.
    pub current: Password,
    /// Theirs from now on (the password policy applies).
    pub new: Password,
}

/// One of the user's own live sessions (`GET /api/sessions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnSession {
    /// Names it (a hash of its id; opens nothing).
    pub id: String,
    /// How its second factor was satisfied.
    pub method: AuthMethod,
    /// The address it was made from.
    pub client_ip: Option<String>,
    /// When it started.
    pub created_at: i64,
    /// When it was last used (to within a minute).
    pub last_seen_at: i64,
    /// When it ends at the latest.
    pub expires_at: i64,
    /// The session of this request.
    pub current: bool,
}

/// One of the user's own trusted browsers (`GET /api/sessions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnBrowser {
    /// Names it (a hash of its token; opens nothing).
    pub id: String,
    /// "Firefox on Linux".
    pub user_agent: Option<String>,
    /// The address it was trusted from.
    pub client_ip: Option<String>,
    /// When it was trusted.
    pub created_at: i64,
    /// When it last stood in for Duo.
    pub last_used_at: Option<i64>,
    /// When the trust ends.
    pub expires_at: i64,
    /// The browser of this request.
    pub current: bool,
}

/// Body of `GET /api/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnSessions {
    /// Newest first.
    pub sessions: Vec<OwnSession>,
    /// Newest first.
    pub browsers: Vec<OwnBrowser>,
}

/// What `POST /api/sessions/end` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnKind {
    /// A session (signed out there).
    Session,
    /// A trusted browser (Duo is asked there again).
    Browser,
}

/// Body of `POST /api/sessions/end`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndOwnRequest {
    /// A session or a trusted browser.
    pub kind: OwnKind,
    /// Its `id` from the list.
    pub id: String,
}

/// The answer to `POST /api/password` when there is something to say
/// (200; otherwise 204): the new password was found in known data breaches
/// and accepted (`PWNED_PASSWORDS=warn`), or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChanged {
    /// What to tell the user.
    pub warning: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_show_their_last_four_digits_only() {
        assert_eq!(masked_phone("+1 555-0199"), "+X XXX-0199");
        assert_eq!(masked_phone("555-123-0199"), "XXX-XXX-0199");
        assert_eq!(masked_phone("iPhone 15"), "iPhone 15", "a name stays");
        assert_eq!(masked_phone("123"), "123", "too short for a number");
        assert_eq!(DuoDenial::parse("account"), Some(DuoDenial::Account));
        assert_eq!(DuoDenial::parse("other"), None);
    }

    #[test]
    fn the_consoles_pages_are_the_paths_below_it_that_name_no_file() {
        for page in ["/admin/users", "/admin/users/alice", "/admin/audit/", "/admin/users/a%40b"] {
            assert!(routes::is_console_page(page), "{page:?}");
        }
        for other in
            ["/admin/", "/admin", "/admin/index.html", "/administrator", "/api/admin/users", "/"]
        {
            assert!(!routes::is_console_page(other), "{other:?}");
        }
    }

    #[test]
    fn the_prefix_is_one_segment_and_owns_only_its_paths() {
        assert!(routes::is_prefix(routes::PREFIX));
        for bad in ["", "/", "_login", "/_login/", "/a/b", "/.", "/..", "/a b", "/%2F", "/é"] {
            assert!(!routes::is_prefix(bad), "{bad:?}");
        }
        for good in ["/_login", "/sso", "/.login", "/auth~1", "/a..b"] {
            assert!(routes::is_prefix(good), "{good:?}");
        }
        let p = routes::PREFIX;
        assert_eq!(routes::own(p), Some("/"));
        assert_eq!(routes::own(&format!("{p}/")), Some("/"));
        assert_eq!(routes::own(&format!("{p}/api/login")), Some("/api/login"));
        assert_eq!(routes::own(&format!("{p}x/api/login")), None, "another segment");
        assert_eq!(routes::own("/api/login"), None, "the app's");
        assert_eq!(routes::own("/"), None);
        assert_eq!(routes::at(routes::LOGIN), format!("{p}/api/login"));
    }
    use wasm_bindgen_test::wasm_bindgen_test;

    #[test]
    #[wasm_bindgen_test]
    fn health_ok_matches_the_contract() {
        let body = serde_json::to_string(&HealthResponse::ok(DuoReachability::Unknown)).unwrap();
        assert_eq!(body, r#"{"status":"ok","duo":"unknown"}"#);
    }

    #[test]
    #[wasm_bindgen_test]
    fn health_config_error_names_the_setting_only() {
        let body = serde_json::to_string(&HealthResponse::config_error("DUO_CLIENT_ID")).unwrap();
        assert_eq!(body, r#"{"status":"config_error","setting":"DUO_CLIENT_ID"}"#);
        let parsed: HealthResponse = serde_json::from_str(&body).unwrap();
        assert!(!parsed.is_ready());
    }

    #[test]
    #[wasm_bindgen_test]
    fn health_rejects_unknown_status() {
        assert!(serde_json::from_str::<HealthResponse>(r#"{"status":"fine"}"#).is_err());
    }

    #[test]
    #[wasm_bindgen_test]
    fn login_responses_match_the_contract() {
        let duo = LoginResponse::Duo { username: "alice".into(), remember_days: 0 };
        assert_eq!(serde_json::to_string(&duo).unwrap(), r#"{"next":"duo","username":"alice"}"#);
        let done = LoginResponse::Done {
            session: SessionInfo {
                username: "admin".into(),
                method: AuthMethod::Bypass,
                authenticated_at: 10,
                expires_at: 20,
                duo: None,
                role: Role::Admin,
                password_change_required: false,
                idle_expires_at: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&done).unwrap(),
            r#"{"next":"done","session":{"username":"admin","method":"bypass","authenticated_at":10,"expires_at":20,"duo":null,"role":"admin","password_change_required":false}}"#
        );
    }

    #[test]
    #[wasm_bindgen_test]
    fn tagged_answers_read_back_and_refuse_what_is_missing() {
        let session = SessionInfo {
            username: "alice".into(),
            method: AuthMethod::Duo,
            authenticated_at: 1,
            expires_at: 2,
            duo: None,
            role: Role::User,
            password_change_required: true,
            idle_expires_at: None,
        };
        let device = InlineDevice { id: "DP1".into(), name: "iPhone".into(), methods: vec![] };
        let logins = [
            LoginResponse::Duo { username: "alice".into(), remember_days: 0 },
            LoginResponse::Duo { username: "alice".into(), remember_days: 30 },
            LoginResponse::Done { session: session.clone() },
            LoginResponse::DuoInline {
                username: "alice".into(),
                devices: vec![device],
                remember_days: 7,
            },
            LoginResponse::DuoEnroll {
                username: "alice".into(),
                enroll_url: "https://api-x.duosecurity.com/portal?code=1".into(),
                message: "Enroll".into(),
            },
        ];
        for login in logins {
            let wire = serde_json::to_string(&login).unwrap();
            assert_eq!(serde_json::from_str::<LoginResponse>(&wire).unwrap(), login, "{wire}");
        }
        let progress = [
            InlineProgress::Waiting {
                status: "pushed".into(),
                message: "Pushed".into(),
                verification_code: None,
            },
            InlineProgress::Waiting {
                status: "pushed".into(),
                message: "Please enter verification code 708 into Duo Mobile...".into(),
                verification_code: Some("708".into()),
            },
            InlineProgress::Sent { message: "Sent".into() },
            InlineProgress::Done { session },
        ];
        for step in progress {
            let wire = serde_json::to_string(&step).unwrap();
            assert_eq!(serde_json::from_str::<InlineProgress>(&wire).unwrap(), step, "{wire}");
        }
        for bad in [r#"{"next":"maybe","username":"a"}"#, r#"{"next":"duo"}"#, r#"{"next":"done"}"#]
        {
            assert!(serde_json::from_str::<LoginResponse>(bad).is_err(), "{bad}");
        }
        for bad in [r#"{"state":"waiting","message":"m"}"#, r#"{"state":"gone","message":"m"}"#] {
            assert!(serde_json::from_str::<InlineProgress>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    #[wasm_bindgen_test]
    fn auth_method_names_match_serde() {
        for method in AuthMethod::ALL {
            let json = serde_json::to_string(&method).unwrap();
            assert_eq!(json, format!("\"{}\"", method.as_str()));
            assert_eq!(AuthMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(AuthMethod::parse("Duo"), None);
        assert_eq!(AuthMethod::parse(""), None);
    }

    #[test]
    #[wasm_bindgen_test]
    fn password_never_shows_in_debug() {
        let request: LoginRequest =
            serde_json::from_str(r#"{"username":"alice","password":"hunter2"}"#).unwrap();
        assert_eq!(request.password.expose(), "hunter2");
        let debug = format!("{request:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("Password([redacted])"), "{debug}");
    }

    #[test]
    #[wasm_bindgen_test]
    fn login_request_rejects_unknown_fields() {
        let extra = r#"{"username":"a","password":"b","admin":true}"#;
        assert!(serde_json::from_str::<LoginRequest>(extra).is_err());
    }
}
