//! What the first factor ends with, in either Duo mode: the password step
//! ([`super::login`]) decides, and in inline mode Duo's preauth
//! ([`super::inline::after_password`]) finishes the answer. Both build
//! these, so neither imports the other's outcome.

use shared::api::{AuthMethod, DuoDetails, LoginResponse};

use super::audit::{Refusal, Success};
use super::context::{Ctx, Random};
use super::session::{self, IssuedSession};
use super::store::{NewSession, UserRecord};
use super::trail::Audited;
use crate::config::Config;
use crate::cookie::{self, KNOWN_BROWSER_COOKIE, KNOWN_BROWSER_TTL_SECONDS, LOGIN_COOKIE};

/// How a first factor that needs no Duo step signs the user in, and why.
#[derive(Debug)]
pub struct SignIn {
    /// The session's method.
    pub method: AuthMethod,
    /// Duo's report, when Duo decided (inline preauth `allow`).
    pub details: Option<DuoDetails>,
    /// Why, for the audit log.
    pub success: Success,
}

impl SignIn {
    /// A sign-in by `method`, for the reason `success`, without Duo's report.
    pub const fn new(method: AuthMethod, success: Success) -> Self {
        Self { method, details: None, success }
    }
}

/// A successful first factor. Both kinds renew the known-browser cookie
/// (`__Host-known`, `KNOWN_BROWSER_TTL_SECONDS`).
#[derive(Debug)]
pub enum LoginOutcome {
    /// Duo comes next: the sealed login ticket for `__Host-login`.
    Duo {
        /// The username as registered.
        username: String,
        /// The login cookie's value.
        login_cookie: String,
        /// Its `Max-Age`.
        max_age: u64,
        /// The known-browser cookie's value.
        known_browser: String,
        /// Days the browser may be remembered after Duo (0: not offered).
        remember_days: u32,
    },
    /// Signed in: a `bypass` user, or in inline mode Duo's preauth
    /// `allow` or a fail-open.
    Done {
        /// The new session.
        session: Box<IssuedSession>,
        /// The known-browser cookie's value.
        known_browser: String,
        /// Why, for the audit log.
        success: Success,
    },
    /// Inline mode: the devices for the page, and the login ticket listing them.
    DuoInline {
        /// The username as registered.
        username: String,
        /// The user's usable devices.
        devices: Vec<shared::api::InlineDevice>,
        /// Days the browser may be remembered after Duo (0: not offered).
        remember_days: u32,
        /// The login cookie's value.
        login_cookie: String,
        /// Its `Max-Age`.
        max_age: u64,
        /// The known-browser cookie's value.
        known_browser: String,
    },
    /// Inline mode: Duo requires enrollment first.
    DuoEnroll {
        /// The username as registered.
        username: String,
        /// Duo's enrollment link (checked to be a web link).
        enroll_url: String,
        /// Duo's message.
        message: String,
        /// The known-browser cookie's value.
        known_browser: String,
    },
}

impl LoginOutcome {
    /// Signed in at the first factor as `sign_in` decided: the one place
    /// the password step (and inline mode's preauth after it) issues a
    /// session.
    ///
    /// # Errors
    /// `internal` if Duo's details cannot be serialized.
    pub fn signed_in(
        config: &Config,
        user: &UserRecord,
        sign_in: SignIn,
        known_browser: String,
        ctx: &Ctx,
        random: &Random,
    ) -> Result<Self, Refusal> {
        let SignIn { method, details, success } = sign_in;
        let session = session::issue(config, user, method, details, ctx, random)?;
        Ok(Self::Done { session: Box::new(session), known_browser, success })
    }

    /// The answer to `POST /api/login`: its JSON body and its `Set-Cookie`
    /// values (the login or the session cookies, then the known browser's).
    pub fn into_answer(self) -> (LoginResponse, Vec<String>) {
        let known =
            cookie::set(KNOWN_BROWSER_COOKIE, self.known_browser(), KNOWN_BROWSER_TTL_SECONDS);
        let (body, mut cookies) = match self {
            Self::Duo { username, login_cookie, max_age, remember_days, .. } => (
                LoginResponse::Duo { username, remember_days },
                vec![cookie::set(LOGIN_COOKIE, &login_cookie, max_age)],
            ),
            Self::Done { session, .. } => {
                let cookies = session.set_cookies();
                (LoginResponse::Done { session: session.info }, cookies)
            }
            Self::DuoInline { username, devices, remember_days, login_cookie, max_age, .. } => (
                LoginResponse::DuoInline { username, devices, remember_days },
                vec![cookie::set(LOGIN_COOKIE, &login_cookie, max_age)],
            ),
            Self::DuoEnroll { username, enroll_url, message, .. } => {
                (LoginResponse::DuoEnroll { username, enroll_url, message }, vec![])
            }
        };
        cookies.push(known);
        (body, cookies)
    }

    /// The known-browser cookie's value.
    pub fn known_browser(&self) -> &str {
        match self {
            Self::Duo { known_browser, .. }
            | Self::Done { known_browser, .. }
            | Self::DuoInline { known_browser, .. }
            | Self::DuoEnroll { known_browser, .. } => known_browser,
        }
    }
}

impl Audited for LoginOutcome {
    fn success(&self) -> Option<Success> {
        Some(match self {
            Self::Duo { .. } => Success::DuoRequired,
            Self::Done { success, .. } => *success,
            Self::DuoInline { .. } => Success::DuoChoose,
            Self::DuoEnroll { .. } => Success::DuoEnrollRequired,
        })
    }

    fn new_session(&self) -> Option<&NewSession> {
        match self {
            Self::Done { session, .. } => Some(&session.row),
            _ => None,
        }
    }
}

/// What the first factor hands to the Duo step: the known-browser
/// cookie's value, and for how many days the browser may then be
/// remembered (0: not offered).
#[derive(Debug, Clone)]
pub struct AfterPassword {
    /// The known-browser cookie's value.
    pub known_browser: String,
    /// Days the browser may be remembered after Duo (0: not offered).
    pub remember_days: u32,
}
