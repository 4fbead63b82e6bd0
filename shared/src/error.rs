//! The closed set of error codes the Worker returns, and the JSON error body.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every error code of the contract, `snake_case` on the wire.
///
/// Closed on purpose: the SPA maps each one to a sentence and a next step, so
/// a new code is a contract change on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed (bad JSON, missing field, wrong content).
    BadRequest,
    /// Unknown user or wrong password (deliberately indistinguishable).
    InvalidCredentials,
    /// Too many attempts; the response carries `Retry-After`.
    RateLimited,
    /// The login step expired or its cookie is missing.
    LoginExpired,
    /// Duo's `state` did not match the one this browser started with.
    StateMismatch,
    /// Duo could not be reached or reported itself unhealthy.
    DuoUnavailable,
    /// Duo denied the authentication (denied push, locked out, ...).
    DuoDenied,
    /// Duo answered with an error, or its answer failed verification.
    DuoError,
    /// No valid session.
    Unauthenticated,
    /// A state-changing request came from another origin.
    ForbiddenOrigin,
    /// Signed in, but not allowed to do this (an admin page without the
    /// admin role, or an admin locking themselves out).
    Forbidden,
    /// The service is misconfigured.
    ConfigError,
    /// A sensitive action (a console change, one's own password) needs a
    /// recent confirmation: Duo again, or the password for an account
    /// without Duo. The answer carries `X-Reauthenticate: required`.
    ReauthenticationRequired,
    /// The account is on hold: a sign-in to it was reported as fraud in Duo
    /// (its sessions and trusted browsers were ended); an admin must
    /// release it.
    AccountHeld,
    /// Anything else; the detail is in the Worker's log only.
    Internal,
}

impl ErrorCode {
    /// All codes, in contract order.
    pub const ALL: [Self; 15] = [
        Self::BadRequest,
        Self::InvalidCredentials,
        Self::RateLimited,
        Self::LoginExpired,
        Self::StateMismatch,
        Self::DuoUnavailable,
        Self::DuoDenied,
        Self::DuoError,
        Self::Unauthenticated,
        Self::ForbiddenOrigin,
        Self::Forbidden,
        Self::ConfigError,
        Self::ReauthenticationRequired,
        Self::AccountHeld,
        Self::Internal,
    ];

    /// The wire form, as used in JSON bodies and in `/?error=<code>`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidCredentials => "invalid_credentials",
            Self::RateLimited => "rate_limited",
            Self::LoginExpired => "login_expired",
            Self::StateMismatch => "state_mismatch",
            Self::DuoUnavailable => "duo_unavailable",
            Self::DuoDenied => "duo_denied",
            Self::DuoError => "duo_error",
            Self::Unauthenticated => "unauthenticated",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::Forbidden => "forbidden",
            Self::ConfigError => "config_error",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::AccountHeld => "account_held",
            Self::Internal => "internal",
        }
    }

    /// Parses the wire form; `None` for anything not in the contract.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"code": "...", "message": "..."}`: every error response of the Worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable.
    pub code: ErrorCode,
    /// A sentence for people; never holds a secret or an upstream body.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[test]
    #[wasm_bindgen_test]
    fn wire_form_matches_serde_for_every_code() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    #[wasm_bindgen_test]
    fn parse_rejects_codes_outside_the_contract() {
        for bad in ["", "BadRequest", "bad-request", "duo_denied ", "unknown"] {
            assert_eq!(ErrorCode::parse(bad), None, "{bad:?}");
        }
    }
}
