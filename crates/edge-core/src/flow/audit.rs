//! The audit log's vocabulary (`auth_events` in `migrations/0001_init.sql`):
//! steps, outcomes, the reasons of successes and refusals, and the refusal
//! itself. The one place an audit record is derived from a step's result
//! is [`super::trail::Trail::finish`].
//!
//! Every string here is pinned: the migration's `CHECK` constraints accept
//! exactly the [`Step`] and [`Outcome`] names, and the end-to-end tests
//! match the Worker's log on `reason <reason>`.

use shared::ErrorCode;

/// Which step of the flow an audit record is about (`auth_events.step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `POST /api/login`.
    Login,
    /// `POST /auth/duo/start`.
    DuoStart,
    /// `GET /auth/duo/callback`.
    DuoCallback,
    /// `POST /api/logout`.
    Logout,
    /// `POST /api/password`: the user's own password change (its refusals:
    /// a wrong current password is a failed sign-in).
    PasswordChange,
}

impl Step {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::DuoStart => "duo_start",
            Self::DuoCallback => "duo_callback",
            Self::Logout => "logout",
            Self::PasswordChange => "password_change",
        }
    }
}

/// How a step ended (`auth_events.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The step did what was asked.
    Success,
    /// The user or the request was refused.
    Failure,
    /// Refused by a rate limit, before any password was verified.
    RateLimited,
    /// Our side or Duo's side failed.
    Error,
}

impl Outcome {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::RateLimited => "rate_limited",
            Self::Error => "error",
        }
    }
}

/// Why a step succeeded (`auth_events.reason` of a success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Success {
    /// Password verified; Duo comes next.
    DuoRequired,
    /// Password verified; the user's policy skips Duo.
    Bypass,
    /// Sent to Duo's prompt.
    RedirectToDuo,
    /// Duo unreachable and `DUO_FAILMODE=open`: signed in without Duo.
    FailOpen,
    /// Duo allowed the authentication.
    DuoAllow,
    /// A live session was revoked.
    Logout,
    /// Every live session of the caller's user was revoked.
    LogoutEverywhere,
    /// Inline: Duo's preauth let the user in without a factor (Duo bypass).
    DuoBypass,
    /// Inline: Duo requires enrollment; the user got Duo's link.
    DuoEnrollRequired,
    /// Inline: the devices went to the page; the user chooses.
    DuoChoose,
    /// Inline: a push or call was started.
    DuoFactorStarted,
    /// Inline: SMS passcodes were sent.
    DuoSmsSent,
    /// Password verified; an admin turned Duo enforcement off.
    DuoNotEnforced,
    /// A sign-in policy let the password alone in (`bypass_duo`).
    PolicyBypass,
    /// The password, from a browser the user remembered after Duo.
    RememberedBrowser,
}

impl Success {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DuoRequired => "duo_required",
            Self::Bypass => "bypass",
            Self::RedirectToDuo => "redirect_to_duo",
            Self::FailOpen => "fail_open",
            Self::DuoAllow => "duo_allow",
            Self::Logout => "logout",
            Self::LogoutEverywhere => "logout_everywhere",
            Self::DuoBypass => "duo_bypass",
            Self::DuoEnrollRequired => "duo_enroll_required",
            Self::DuoChoose => "duo_choose",
            Self::DuoFactorStarted => "duo_factor_started",
            Self::DuoSmsSent => "duo_sms_sent",
            Self::DuoNotEnforced => "duo_not_enforced",
            Self::PolicyBypass => "policy_bypass",
            Self::RememberedBrowser => "remembered_browser",
        }
    }
}

/// Why a step was refused: the audit reason, from which the contract's
/// [`ErrorCode`] and the [`Outcome`] follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// No user has this name (a password verification was still spent).
    UnknownUser,
    /// The password does not match.
    BadPassword,
    /// The user is disabled (checked after the password).
    Disabled,
    /// The stored hash or policy cannot be used.
    UnusableHash,
    /// Too many attempts for this username from this client.
    UserClientLimit,
    /// Too many attempts from this client (any usernames).
    ClientLimit,
    /// Too many attempts for this username (any clients).
    UserLimit,
    /// Too many Duo steps (prompts) for this username in the window:
    /// push fatigue.
    DuoStartLimit,
    /// `Origin` is missing or not `APP_ORIGIN`.
    ForbiddenOrigin,
    /// A setting is missing or invalid.
    ConfigError,
    /// No login cookie.
    LoginCookieMissing,
    /// The login cookie is past its expiry.
    LoginCookieExpired,
    /// The login cookie is malformed, tampered with, or from the future.
    LoginCookieInvalid,
    /// The login cookie's user is gone or disabled.
    UserUnavailable,
    /// The name Duo would be told is not one Duo accepts.
    DuoUsernameInvalid,
    /// Duo could not be reached: a connection failure, a timeout, or a
    /// 5xx answer to the health check (only this may fail open).
    DuoUnreachable,
    /// Duo's health check refused us: an OAuth error (`invalid_client`),
    /// a 4xx status, or `stat: FAIL` with a 4xxxx code: misconfiguration.
    DuoHealthRejected,
    /// Duo's health check answered something that is not Duo's format.
    DuoHealthMalformed,
    /// The health check failed in transit other than by a connection
    /// failure or a timeout (TLS, an unreadable body): never fails open.
    DuoHealthTransport,
    /// The login cookie was never bound to a Duo step.
    DuoNotStarted,
    /// The callback has no (well-formed) `state`.
    StateMissing,
    /// The callback's `state` is not this browser's.
    StateMismatch,
    /// The callback's `state` was already spent (a replay).
    StateReplayed,
    /// Duo sent the browser back with `error=access_denied`.
    DuoAccessDenied,
    /// Duo sent the browser back with another `error`.
    DuoErrorRedirect,
    /// The callback has no code.
    CodeMissing,
    /// The callback's code is malformed.
    CodeMalformed,
    /// The token endpoint answered with a 5xx status.
    DuoHttpStatus,
    /// The token endpoint answered with an OAuth error.
    DuoOAuthError,
    /// The token endpoint's answer is malformed.
    DuoMalformed,
    /// Any other failure of the code exchange.
    DuoError,
    /// The `id_token`'s signature or algorithm is wrong.
    IdTokenSignature,
    /// The `id_token`'s issuer is wrong.
    IdTokenIssuer,
    /// The `id_token`'s audience is wrong.
    IdTokenAudience,
    /// The `id_token` is expired, or from the future.
    IdTokenTime,
    /// The `id_token`'s nonce is missing or wrong.
    IdTokenNonce,
    /// The `id_token` names another user.
    IdTokenUsername,
    /// The `id_token` fails another check.
    IdTokenInvalid,
    /// Duo's verified answer is not `allow`.
    DuoDenied,
    /// Duo's prompt refused the account itself (locked out, disabled, or
    /// not enrolled where Duo enrolls no one): signing in again cannot help.
    DuoAccountDenied,
    /// The user cancelled in Duo's prompt.
    DuoCancelled,
    /// No live session.
    NoSession,
    /// The session's user is now disabled or deleted (the session is
    /// revoked).
    SessionUserUnavailable,
    /// A step of the other Duo mode (`DUO_MODE`).
    WrongMode,
    /// Inline: Duo's preauth refused the user (locked out, disabled, policy).
    DuoPreauthDenied,
    /// A sensitive action on a session whose last confirmation (Duo, or
    /// the password without Duo) is older than `FRESH_AUTH_SECONDS`.
    ReauthRequired,
    /// A password being chosen is in Pwned Passwords (`PWNED_PASSWORDS=block`).
    BreachedPassword,
    /// The user reported this sign-in as fraud in Duo: the account is now
    /// on hold, its sessions and trusted browsers ended.
    FraudReported,
    /// A correct password for an account on hold (after a fraud report).
    AccountHeld,
    /// A remembered browser's sign-in that Duo's silent `preauth` refused
    /// (the user locked out, disabled or unknown in Duo): the trust ended.
    TrustRevokedByDuo,
    /// Inline: Duo refused our request (keys, signature, clock, a parameter).
    DuoAuthApiRejected,
    /// Inline: Duo's answer is not the Auth API's.
    DuoAuthApiMalformed,
    /// Inline: Duo answered deny to a factor (denied, fraud, timeout, wrong passcode).
    DuoFactorDenied,
    /// Inline: a device the login's preauth did not list, one Duo says
    /// cannot do the method, or a parameter Duo refused.
    DeviceRefused,
    /// Inline: too many passcodes tried in this login.
    PasscodeLimit,
    /// Inline: a status request without a started push or call.
    NoTransaction,
    /// Admin API: the session's account is not an admin.
    NotAdmin,
    /// Admin API: no user has that name.
    NoSuchUser,
    /// Admin API: a value the users table refuses (a Duo username).
    AdminBadValue,
    /// Admin API: the change would leave no enabled admin.
    LastAdmin,
    /// Admin API: an admin changing their own role or enabled state.
    SelfLockout,
    /// A session whose user must first replace a password an admin set.
    PasswordChangeRequired,
    /// Admin API: a session made fail-open (Duo unreachable) never reaches
    /// the console.
    FailOpenConsole,
    /// A sign-in policy refuses this sign-in (`deny`); answered as a wrong
    /// password, so the answer never confirms the password.
    PolicyDenied,
    /// The account changed (password, enabled, role, Duo settings, signed
    /// out everywhere) since this sign-in's password was checked: the
    /// sign-in must start again.
    AccountChanged,
    /// Inline: too many wrong passcodes for this account across logins
    /// (below Duo's own lockout), until Duo approves a sign-in or the
    /// password changes.
    PasscodeAccountLimit,
    /// Our side failed (storage, randomness).
    Internal,
}

impl Reason {
    /// What a `duo_denied` refusal tells the person beyond its code: that
    /// Duo refused the account itself, or that they cancelled.
    pub const fn denial(self) -> Option<shared::api::DuoDenial> {
        match self {
            Self::DuoAccountDenied | Self::DuoPreauthDenied | Self::TrustRevokedByDuo => {
                Some(shared::api::DuoDenial::Account)
            }
            Self::DuoCancelled => Some(shared::api::DuoDenial::Cancelled),
            _ => None,
        }
    }

    /// The stored name (and the log's `reason <name>`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::BadPassword => "bad_password",
            Self::Disabled => "disabled",
            Self::UnusableHash => "unusable_hash",
            Self::UserClientLimit => "user_client_limit",
            Self::ClientLimit => "ip_limit",
            Self::UserLimit => "user_limit",
            Self::DuoStartLimit => "duo_start_limit",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::ConfigError => "config_error",
            Self::LoginCookieMissing => "login_cookie_missing",
            Self::LoginCookieExpired => "login_cookie_expired",
            Self::LoginCookieInvalid => "login_cookie_invalid",
            Self::UserUnavailable => "user_unavailable",
            Self::DuoUsernameInvalid => "duo_username_invalid",
            Self::DuoUnreachable => "duo_unreachable",
            Self::DuoHealthRejected => "duo_health_rejected",
            Self::DuoHealthMalformed => "duo_health_malformed",
            Self::DuoHealthTransport => "duo_health_transport",
            Self::DuoNotStarted => "duo_not_started",
            Self::StateMissing => "state_missing",
            Self::StateMismatch => "state_mismatch",
            Self::StateReplayed => "state_replayed",
            Self::DuoAccessDenied => "duo_access_denied",
            Self::DuoErrorRedirect => "duo_error_redirect",
            Self::CodeMissing => "code_missing",
            Self::CodeMalformed => "code_malformed",
            Self::DuoHttpStatus => "duo_http_status",
            Self::DuoOAuthError => "duo_oauth_error",
            Self::DuoMalformed => "duo_malformed",
            Self::DuoError => "duo_error",
            Self::IdTokenSignature => "id_token_signature",
            Self::IdTokenIssuer => "id_token_issuer",
            Self::IdTokenAudience => "id_token_audience",
            Self::IdTokenTime => "id_token_time",
            Self::IdTokenNonce => "id_token_nonce",
            Self::IdTokenUsername => "id_token_username",
            Self::IdTokenInvalid => "id_token_invalid",
            Self::DuoDenied => "duo_denied",
            Self::DuoAccountDenied => "duo_account_denied",
            Self::DuoCancelled => "duo_cancelled",
            Self::NoSession => "no_session",
            Self::SessionUserUnavailable => "session_user_unavailable",
            Self::WrongMode => "wrong_mode",
            Self::DuoPreauthDenied => "duo_preauth_denied",
            Self::TrustRevokedByDuo => "trust_revoked_by_duo",
            Self::FraudReported => "fraud_reported",
            Self::BreachedPassword => "breached_password",
            Self::ReauthRequired => "reauth_required",
            Self::AccountHeld => "account_held",
            Self::DuoAuthApiRejected => "duo_auth_api_rejected",
            Self::DuoAuthApiMalformed => "duo_auth_api_malformed",
            Self::DuoFactorDenied => "duo_factor_denied",
            Self::PasscodeLimit => "passcode_limit",
            Self::DeviceRefused => "device_refused",
            Self::NotAdmin => "not_admin",
            Self::NoSuchUser => "no_such_user",
            Self::AdminBadValue => "admin_bad_value",
            Self::LastAdmin => "last_admin",
            Self::SelfLockout => "self_lockout",
            Self::PasswordChangeRequired => "password_change_required",
            Self::FailOpenConsole => "fail_open_console",
            Self::PolicyDenied => "policy_denied",
            Self::AccountChanged => "account_changed",
            Self::PasscodeAccountLimit => "passcode_account_limit",
            Self::NoTransaction => "no_transaction",
            Self::Internal => "internal",
        }
    }

    /// The contract's error code for this reason.
    pub const fn code(self) -> ErrorCode {
        match self {
            Self::UnknownUser
            | Self::BadPassword
            | Self::Disabled
            | Self::UnusableHash
            | Self::PolicyDenied => ErrorCode::InvalidCredentials,
            Self::UserClientLimit
            | Self::ClientLimit
            | Self::UserLimit
            | Self::DuoStartLimit
            | Self::PasscodeLimit
            | Self::PasscodeAccountLimit => ErrorCode::RateLimited,
            Self::WrongMode
            | Self::DeviceRefused
            | Self::NoSuchUser
            | Self::AdminBadValue
            | Self::BreachedPassword => ErrorCode::BadRequest,
            Self::NotAdmin
            | Self::LastAdmin
            | Self::SelfLockout
            | Self::PasswordChangeRequired
            | Self::FailOpenConsole => ErrorCode::Forbidden,
            Self::ForbiddenOrigin => ErrorCode::ForbiddenOrigin,
            Self::FraudReported | Self::AccountHeld => ErrorCode::AccountHeld,
            Self::ReauthRequired => ErrorCode::ReauthenticationRequired,
            Self::ConfigError | Self::DuoHealthRejected | Self::DuoHealthMalformed => {
                ErrorCode::ConfigError
            }
            Self::LoginCookieMissing
            | Self::LoginCookieExpired
            | Self::LoginCookieInvalid
            | Self::UserUnavailable
            | Self::AccountChanged => ErrorCode::LoginExpired,
            Self::DuoNotStarted
            | Self::StateMissing
            | Self::StateMismatch
            | Self::StateReplayed
            | Self::NoTransaction => ErrorCode::StateMismatch,
            Self::DuoUnreachable | Self::DuoHttpStatus | Self::DuoHealthTransport => {
                ErrorCode::DuoUnavailable
            }
            Self::DuoAccessDenied
            | Self::DuoDenied
            | Self::DuoAccountDenied
            | Self::DuoCancelled
            | Self::DuoPreauthDenied
            | Self::TrustRevokedByDuo
            | Self::DuoFactorDenied => ErrorCode::DuoDenied,
            Self::DuoErrorRedirect
            | Self::CodeMissing
            | Self::CodeMalformed
            | Self::DuoOAuthError
            | Self::DuoMalformed
            | Self::DuoError
            | Self::IdTokenSignature
            | Self::IdTokenIssuer
            | Self::IdTokenAudience
            | Self::IdTokenTime
            | Self::IdTokenNonce
            | Self::IdTokenUsername
            | Self::IdTokenInvalid
            | Self::DuoAuthApiMalformed => ErrorCode::DuoError,
            Self::DuoAuthApiRejected => ErrorCode::ConfigError,
            Self::NoSession | Self::SessionUserUnavailable => ErrorCode::Unauthenticated,
            Self::DuoUsernameInvalid | Self::Internal => ErrorCode::Internal,
        }
    }

    /// How the audit log records a refusal for this reason: rate limits
    /// are `rate_limited`; failures of our side or Duo's are `error`; the
    /// rest `failure`.
    pub const fn outcome(self) -> Outcome {
        match self.code() {
            ErrorCode::RateLimited => Outcome::RateLimited,
            ErrorCode::DuoUnavailable
            | ErrorCode::DuoError
            | ErrorCode::ConfigError
            | ErrorCode::Internal => Outcome::Error,
            _ => Outcome::Failure,
        }
    }
}

/// A refused step: the [`Reason`] (hence the code and the audit outcome),
/// `Retry-After` for rate limits, and the detail for the Worker's log only
/// (never a secret, code, token or cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// Seconds until another attempt may succeed (rate limits only).
    pub retry_after: Option<u64>,
    /// For the log.
    pub detail: Option<String>,
    /// A repeat of a rate-limit refusal already recorded in this window:
    /// counted by the limit's counter (and summarized when the window is
    /// pruned, `flow::maintenance`), not recorded one by one.
    pub counted_only: bool,
    /// Duo's own message for the person (inline mode: "Login request
    /// denied.", "Your account is locked out."), shown instead of the
    /// code's sentence. Never a secret: Duo writes it for display.
    pub message: Option<String>,
}

impl Refusal {
    /// A refusal for `reason`, without detail.
    pub const fn new(reason: Reason) -> Self {
        Self { reason, retry_after: None, detail: None, counted_only: false, message: None }
    }

    /// A rate-limit refusal; `attempt` is the count that went over `max`
    /// (only the first over it is recorded).
    pub const fn rate_limited(reason: Reason, retry_after: u64, attempt: u32, max: u32) -> Self {
        let counted_only = attempt > max.saturating_add(1);
        Self { reason, retry_after: Some(retry_after), detail: None, counted_only, message: None }
    }

    /// Our side failed; `detail` goes to the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(Reason::Internal).detail(detail.to_string())
    }

    /// Adds the detail for the log.
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds Duo's message for the person (a short excerpt of it).
    #[must_use]
    pub fn message(mut self, message: &str) -> Self {
        let message = excerpt(message);
        self.message = (!message.trim().is_empty()).then_some(message);
        self
    }

    /// The contract's error code.
    pub const fn code(&self) -> ErrorCode {
        self.reason.code()
    }
}

/// A short, printable excerpt of a value from outside, for the log.
pub fn excerpt(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(200).collect()
}
