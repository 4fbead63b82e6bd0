//! Errors of the API handlers and the responses they become: a stable code
//! and a kind sentence for people; the detail goes to the log only, and never
//! holds a secret.

use shared::ErrorCode;

use edge_core::config::ConfigProblem;
use edge_core::flow::Refusal;

pub use edge_core::headers::{MAX_BODY_LEN, MAX_POLICY_BODY_LEN};

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// A setting is missing or invalid: 503 `config_error`.
    #[error("configuration: {0}")]
    Config(ConfigProblem),
    /// `Origin` is missing or is not `APP_ORIGIN`: 403 `forbidden_origin`.
    #[error("Origin is missing or not APP_ORIGIN")]
    ForbiddenOrigin,
    /// `Content-Type` is not `application/json`: 415 `bad_request`.
    #[error("Content-Type is not application/json")]
    UnsupportedMediaType,
    /// The body is larger than the route reads (`limit` bytes): 413
    /// `bad_request`.
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge {
        /// What the route reads at most.
        limit: usize,
    },
    /// Malformed request (the detail names the defect, never the input): 400 `bad_request`.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// Unknown user, wrong password or disabled user: 401 `invalid_credentials`.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed logins: 429 `rate_limited` with `Retry-After`.
    #[error("rate limited; retry after {retry_after} s")]
    RateLimited {
        /// Seconds until the next attempt is allowed.
        retry_after: u64,
        /// What to do instead, when the step says (the passcode limits).
        message: Option<String>,
    },
    /// No live session: 401 `unauthenticated`.
    #[error("no valid session")]
    Unauthenticated,
    /// D1 or the runtime failed: 500 `internal`.
    #[error("internal: {0}")]
    Internal(String),
    /// A step refused on a JSON route (the inline mode, the login's
    /// preauth, the admin API): `bad_request` 400, `login_expired` 401,
    /// `forbidden` and `duo_denied` 403, `state_mismatch` 409, `duo_error`
    /// 502, `duo_unavailable` and `config_error` 503; with Duo's own message
    /// (or the step's) when there is one.
    #[error("{code}: {detail}")]
    Refused {
        /// The contract's code.
        code: ErrorCode,
        /// Duo's message for the person, if any.
        message: Option<String>,
        /// For the log.
        detail: String,
    },
    /// A refusal of the flow core, as the error it became, with the core's
    /// reason (for the request's log line, never for the answer: a wrong
    /// password and an unknown user answer the same).
    #[error("{error} (reason {})", reason.as_str())]
    Because {
        /// The error it became.
        error: Box<EdgeError>,
        /// Why, in the audit log's words.
        reason: edge_core::flow::Reason,
    },
}

impl From<Refusal> for EdgeError {
    /// The API's answer to a refusal of the flow core, with its reason.
    fn from(refusal: Refusal) -> Self {
        let reason = refusal.reason;
        Self::Because { error: Box::new(Self::answering(refusal)), reason }
    }
}

impl EdgeError {
    /// The error a refusal of the flow core becomes.
    fn answering(refusal: Refusal) -> Self {
        match refusal.code() {
            // The login's refusals carry no message: a wrong password, an
            // unknown user and a disabled one read the same.
            ErrorCode::InvalidCredentials if refusal.message.is_none() => Self::InvalidCredentials,
            ErrorCode::RateLimited => {
                let retry_after = refusal.retry_after.unwrap_or(1).max(1);
                Self::RateLimited { retry_after, message: refusal.message }
            }
            ErrorCode::Unauthenticated => Self::Unauthenticated,
            ErrorCode::ForbiddenOrigin => Self::ForbiddenOrigin,
            ErrorCode::BadRequest if refusal.message.is_none() => {
                Self::BadRequest("refused as malformed")
            }
            code @ (ErrorCode::BadRequest
            | ErrorCode::InvalidCredentials
            | ErrorCode::Forbidden
            | ErrorCode::LoginExpired
            | ErrorCode::StateMismatch
            | ErrorCode::DuoUnavailable
            | ErrorCode::DuoDenied
            | ErrorCode::DuoError
            | ErrorCode::AccountHeld
            | ErrorCode::ReauthenticationRequired
            | ErrorCode::ConfigError) => Self::Refused {
                code,
                message: refusal.message.clone(),
                detail: format!(
                    "{}: {}",
                    refusal.reason.as_str(),
                    refusal.detail.as_deref().unwrap_or("-")
                ),
            },
            _ => Self::Internal(format!(
                "{}: {}",
                refusal.reason.as_str(),
                refusal.detail.as_deref().unwrap_or("-")
            )),
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl From<worker::Error> for EdgeError {
    fn from(error: worker::Error) -> Self {
        Self::Internal(error.to_string())
    }
}

impl EdgeError {
    /// The error itself, without the reason a refusal carries.
    pub fn unwrapped(&self) -> &Self {
        match self {
            Self::Because { error, .. } => error.unwrapped(),
            other => other,
        }
    }

    /// The flow core's reason, for a refusal of the core.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Because { reason, .. } => Some(reason.as_str()),
            _ => None,
        }
    }

    /// The code of the contract.
    pub fn code(&self) -> ErrorCode {
        match self.unwrapped() {
            Self::Config(_) => ErrorCode::ConfigError,
            Self::ForbiddenOrigin => ErrorCode::ForbiddenOrigin,
            Self::UnsupportedMediaType | Self::PayloadTooLarge { .. } | Self::BadRequest(_) => {
                ErrorCode::BadRequest
            }
            Self::InvalidCredentials => ErrorCode::InvalidCredentials,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            // (`unwrapped` is never a `Because`.)
            Self::Internal(_) | Self::Because { .. } => ErrorCode::Internal,
            Self::Refused { code, .. } => *code,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self.unwrapped() {
            Self::Config(_) => 503,
            Self::ForbiddenOrigin => 403,
            Self::UnsupportedMediaType => 415,
            Self::PayloadTooLarge { .. } => 413,
            Self::BadRequest(_) => 400,
            Self::InvalidCredentials | Self::Unauthenticated => 401,
            Self::RateLimited { .. } => 429,
            Self::Internal(_) | Self::Because { .. } => 500,
            Self::Refused { code, .. } => match code {
                ErrorCode::BadRequest => 400,
                ErrorCode::LoginExpired | ErrorCode::InvalidCredentials => 401,
                ErrorCode::StateMismatch => 409,
                ErrorCode::DuoDenied
                | ErrorCode::Forbidden
                | ErrorCode::AccountHeld
                | ErrorCode::ReauthenticationRequired => 403,
                ErrorCode::DuoError => 502,
                _ => 503,
            },
        }
    }

    /// The sentence people see.
    pub fn message(&self) -> &'static str {
        match self.unwrapped() {
            Self::Config(_) => {
                "The sign-in service is not configured correctly. Please tell your administrator."
            }
            Self::ForbiddenOrigin => {
                "This request did not come from the sign-in page. Reload the page and try again."
            }
            Self::UnsupportedMediaType => "The sign-in request must be sent as JSON.",
            Self::PayloadTooLarge { .. } => "The request is too large.",
            Self::BadRequest(_) => {
                "The sign-in request was not understood. Enter your username and password and try again."
            }
            Self::InvalidCredentials => "The username or password is incorrect.",
            Self::RateLimited { .. } => {
                "Too many failed sign-in attempts. Please wait a while and try again."
            }
            Self::Unauthenticated => "You are not signed in.",
            Self::Internal(_) | Self::Because { .. } => {
                "Something went wrong on our side. Please try again."
            }
            Self::Refused { code, .. } => match code {
                ErrorCode::LoginExpired => {
                    "Your sign-in took too long and expired. Enter your password again."
                }
                ErrorCode::StateMismatch => {
                    "This Duo request is no longer valid. Start the second step again."
                }
                ErrorCode::DuoDenied => "Duo did not approve this sign-in.",
                ErrorCode::Forbidden => "You are not allowed to do this.",
                ErrorCode::ReauthenticationRequired => {
                    "Confirm it is you first: approve with Duo again (or enter your password, for an account without Duo)."
                }
                ErrorCode::AccountHeld => {
                    "This account is on hold: a sign-in to it was reported as fraud. Ask your administrator to release it."
                }
                ErrorCode::DuoError => "Duo's answer could not be used. Please try again.",
                ErrorCode::ConfigError => {
                    "The sign-in service is not configured correctly. Please tell your administrator."
                }
                _ => "Duo cannot be reached right now. Please try again in a few minutes.",
            },
        }
    }

    /// The sentence people see: Duo's own message when it gave one.
    pub fn text(&self) -> String {
        match self.unwrapped() {
            Self::Refused { message: Some(message), .. }
            | Self::RateLimited { message: Some(message), .. } => message.clone(),
            Self::PayloadTooLarge { limit } => {
                format!("The request is too large: this one takes at most {} KB.", limit / 1024)
            }
            other => other.message().to_owned(),
        }
    }

    /// The error response; server-side failures are logged with their detail.
    ///
    /// # Errors
    /// Only if the runtime cannot build a response.
    #[cfg(target_arch = "wasm32")]
    pub fn into_response(self) -> worker::Result<worker::Response> {
        use crate::{config, respond};
        use shared::ErrorBody;

        match self.unwrapped() {
            Self::Config(problem) => config::log_once(problem),
            Self::Internal(detail) => worker::console_error!("internal error: {detail}"),
            Self::Refused { detail, .. } => worker::console_warn!("refused: {detail}"),
            _ => {}
        }
        let body = ErrorBody { code: self.code(), message: self.text() };
        let mut response = respond::json(&body, self.status())?;
        if let Self::RateLimited { retry_after, .. } = self.unwrapped() {
            response.headers_mut().set("Retry-After", &retry_after.to_string())?;
        }
        if self.code() == shared::ErrorCode::ReauthenticationRequired {
            // The pages confirm and send the same request again on this.
            response.headers_mut().set("X-Reauthenticate", "required")?;
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_follow_the_contract() {
        let cases = [
            (EdgeError::ForbiddenOrigin, 403, "forbidden_origin"),
            (EdgeError::UnsupportedMediaType, 415, "bad_request"),
            (EdgeError::PayloadTooLarge { limit: MAX_BODY_LEN }, 413, "bad_request"),
            (EdgeError::BadRequest("x"), 400, "bad_request"),
            (EdgeError::InvalidCredentials, 401, "invalid_credentials"),
            (EdgeError::RateLimited { retry_after: 5, message: None }, 429, "rate_limited"),
            (EdgeError::Unauthenticated, 401, "unauthenticated"),
            (EdgeError::Internal("d1 down".to_owned()), 500, "internal"),
            (EdgeError::Config(ConfigProblem::Missing("APP_ORIGIN")), 503, "config_error"),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status(), status, "{error}");
            assert_eq!(error.code().as_str(), code, "{error}");
        }
    }

    #[test]
    fn refusals_become_the_contract_errors() {
        use edge_core::flow::Reason;
        for (reason, status) in [
            (Reason::BadPassword, 401),
            (Reason::UnknownUser, 401),
            (Reason::Disabled, 401),
            (Reason::NoSession, 401),
            (Reason::ForbiddenOrigin, 403),
            (Reason::Internal, 500),
        ] {
            let error = EdgeError::from(Refusal::new(reason));
            assert_eq!(error.status(), status, "{reason:?}");
            assert_eq!(error.code(), reason.code(), "{reason:?}");
        }
        // The same words for every failed login; a password change says which.
        let login = EdgeError::from(Refusal::new(Reason::BadPassword).detail("wrong"));
        assert_eq!(login.text(), EdgeError::InvalidCredentials.text());
        let change =
            Refusal::new(Reason::BadPassword).message("Your current password is not right.");
        let change = EdgeError::from(change);
        assert_eq!((change.status(), change.code()), (401, ErrorCode::InvalidCredentials));
        assert_eq!(change.text(), "Your current password is not right.");
        let limited = EdgeError::from(Refusal::rate_limited(Reason::UserClientLimit, 42, 6, 5));
        assert!(matches!(
            limited.unwrapped(),
            EdgeError::RateLimited { retry_after: 42, message: None }
        ));
        assert_eq!(limited.reason(), Some("user_client_limit"), "the reason, for the log line");
        assert_eq!(
            limited.text(),
            "Too many failed sign-in attempts. Please wait a while and try again."
        );
        let passcodes = EdgeError::from(
            Refusal::rate_limited(Reason::PasscodeLimit, 60, 6, 5)
                .message("Enter your password again."),
        );
        assert_eq!(
            (passcodes.status(), passcodes.text().as_str()),
            (429, "Enter your password again.")
        );
        assert_eq!(limited.status(), 429);
    }

    #[test]
    fn a_body_too_large_says_how_large_the_route_takes() {
        let small = EdgeError::PayloadTooLarge { limit: MAX_BODY_LEN };
        assert_eq!(small.text(), "The request is too large: this one takes at most 4 KB.");
        let policies = EdgeError::PayloadTooLarge { limit: MAX_POLICY_BODY_LEN };
        assert_eq!(policies.text(), "The request is too large: this one takes at most 513 KB.");
        assert!(!small.text().contains("sign-in"), "not only sign-ins are refused so");
    }

    #[test]
    fn messages_never_carry_the_detail() {
        let error = EdgeError::Internal("D1_ERROR: no such table: users".to_owned());
        assert!(!error.message().contains("D1"));
    }
}
