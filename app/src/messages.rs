//! What the SPA tells a person when something goes wrong: a sentence saying
//! what happened and one saying what to do next, for every error code of the
//! contract. Never the wire's `message`, never a debug print.

use shared::ErrorCode;
use shared::api::DuoDenial;

/// A failure the SPA reports to the person signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The contract's code; `None` when there was no usable answer at all.
    pub code: Option<ErrorCode>,
    /// Seconds to wait, from `Retry-After` (rate limiting).
    pub retry_after: Option<u64>,
    /// The answer was outside the contract (not a network failure).
    unexpected: bool,
    /// Inline mode: what Duo said ("Login request denied."), shown as
    /// Duo's words under ours. Only the inline calls fill it.
    pub said: Option<String>,
    /// `said` is the Worker's reason for refusing an account change ("There
    /// is already a user named bob.", "Your current password is not
    /// right."), shown as is.
    pub console: bool,
    /// Why Duo denied, where it says more than "denied".
    pub denial: Option<DuoDenial>,
    /// The denial was of a passcode the person typed.
    pub passcode: bool,
}

impl Problem {
    /// A failure with `code` (none: no usable answer), and nothing more said.
    const fn plain(code: Option<ErrorCode>, unexpected: bool) -> Self {
        Self {
            code,
            retry_after: None,
            unexpected,
            said: None,
            console: false,
            denial: None,
            passcode: false,
        }
    }

    /// A failure the Worker reported with `code`.
    pub const fn new(code: ErrorCode) -> Self {
        Self::plain(Some(code), false)
    }

    /// The Worker could not be reached.
    pub const fn network() -> Self {
        Self::plain(None, false)
    }

    /// The Worker answered something the contract does not allow.
    pub const fn unexpected() -> Self {
        Self::plain(None, true)
    }

    /// Adds the wait time of a `429`.
    #[must_use]
    pub const fn with_retry_after(mut self, seconds: Option<u64>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// Says why Duo denied.
    #[must_use]
    pub const fn with_denial(mut self, denial: Option<DuoDenial>) -> Self {
        self.denial = denial;
        self
    }

    /// Marks a denial of a typed passcode.
    #[must_use]
    pub const fn of_passcode(mut self) -> Self {
        self.passcode = true;
        self
    }

    /// Adds Duo's own words.
    #[must_use]
    pub fn with_said(mut self, said: Option<String>) -> Self {
        self.said = said.filter(|s| !s.trim().is_empty());
        self
    }

    /// The Worker's reason for refusing an account change (the console's,
    /// or one's own password), shown in its words.
    #[must_use]
    pub fn refused_with(mut self, reason: Option<String>) -> Self {
        self.console = true;
        self.with_said(reason)
    }

    /// What happened, in one sentence.
    pub fn title(&self) -> &'static str {
        if self.console && self.said.is_some() {
            return "That was not done.";
        }
        match self.code {
            None if self.unexpected => {
                "The sign-in service gave an answer this page does not understand."
            }
            None => "The sign-in service cannot be reached.",
            Some(code) => match code {
                ErrorCode::BadRequest => "The sign-in request was not accepted.",
                ErrorCode::InvalidCredentials => "The username or password is incorrect.",
                ErrorCode::RateLimited => "Too many sign-in attempts.",
                ErrorCode::LoginExpired => "This sign-in took too long and has expired.",
                ErrorCode::StateMismatch => "Duo's answer did not match this sign-in.",
                ErrorCode::DuoUnavailable => {
                    "Duo cannot be reached, so two-factor sign-in is not possible right now."
                }
                ErrorCode::DuoDenied => match self.denial {
                    Some(DuoDenial::Account) => "Duo refused your account.",
                    Some(DuoDenial::Cancelled) => "The Duo sign-in was cancelled.",
                    None if self.passcode => "Duo did not accept that passcode.",
                    None => "Duo denied the sign-in.",
                },
                ErrorCode::DuoError => "Duo could not complete the sign-in.",
                ErrorCode::Unauthenticated => "You are not signed in, or your session has ended.",
                ErrorCode::ForbiddenOrigin => {
                    "This request came from a page that is not allowed to sign you in."
                }
                ErrorCode::Forbidden => "Your account is not allowed to do this.",
                ErrorCode::ConfigError => {
                    "Sign-in is not available: the service is not configured."
                }
                ErrorCode::AccountHeld => {
                    "Your account is on hold because a sign-in was reported as fraud."
                }
                ErrorCode::ReauthenticationRequired => "Confirm it is you to do this.",
                ErrorCode::Internal => "Something went wrong on our side.",
            },
        }
    }

    /// What to do next, in one or two sentences.
    pub fn next_step(&self) -> String {
        let Some(code) = self.code else {
            return if self.unexpected {
                "Reload the page and try again. If it keeps happening, contact your administrator."
            } else {
                "Check your connection, then try again."
            }
            .to_owned();
        };
        match code {
            ErrorCode::BadRequest => "Check your username and password, then try again.".to_owned(),
            ErrorCode::InvalidCredentials => {
                "Check both, mind Caps Lock, and try again.".to_owned()
            }
            ErrorCode::RateLimited => match self.retry_after {
                Some(seconds) => format!("Wait {} and try again.", wait_phrase(seconds)),
                None => "Wait a few minutes and try again.".to_owned(),
            },
            ErrorCode::LoginExpired => "Enter your username and password again.".to_owned(),
            ErrorCode::StateMismatch => {
                "Sign in again from this page. If it keeps happening, close other sign-in tabs first."
                    .to_owned()
            }
            ErrorCode::DuoUnavailable => {
                "Try again in a few minutes. If it persists, contact your administrator.".to_owned()
            }
            ErrorCode::DuoDenied if self.denial == Some(DuoDenial::Account) => {
                "It may be locked out or disabled in Duo, so signing in again will not help. Ask your administrator to check your account in Duo."
                    .to_owned()
            }
            ErrorCode::DuoDenied if self.denial == Some(DuoDenial::Cancelled) => {
                "Sign in again when you are ready.".to_owned()
            }
            ErrorCode::DuoDenied if self.passcode => {
                "Check the passcode and type it again (each passcode works once), or choose another method."
                    .to_owned()
            }
            ErrorCode::DuoDenied if self.said.is_some() => {
                "Choose a method to try again, or sign in again. If you did not start this sign-in, tell your administrator."
                    .to_owned()
            }
            ErrorCode::DuoDenied => {
                "If you denied the request by mistake, sign in again. If you did not start this sign-in, tell your administrator."
                    .to_owned()
            }
            ErrorCode::DuoError => {
                "Sign in again. If it keeps happening, contact your administrator.".to_owned()
            }
            ErrorCode::Unauthenticated => "Sign in to continue.".to_owned(),
            ErrorCode::ForbiddenOrigin => {
                "Open the sign-in page directly (not through a link or another site) and try again."
                    .to_owned()
            }
            ErrorCode::Forbidden => {
                "Sign in with an admin account, or ask an administrator.".to_owned()
            }
            ErrorCode::ConfigError => {
                "An administrator needs to fix the service's configuration.".to_owned()
            }
            ErrorCode::ReauthenticationRequired => {
                "Approve with Duo again (or enter your password, for an account without Duo), then try again."
                    .to_owned()
            }
            ErrorCode::AccountHeld => {
                "To protect it, its sessions and trusted browsers were ended. Tell your administrator whether the sign-in was yours: they must release the account before you can sign in. If it was not yours, someone may know your password: change it once you are back in."
                    .to_owned()
            }
            ErrorCode::Internal => {
                "Try again. If it keeps happening, contact your administrator.".to_owned()
            }
        }
    }
}

/// "45 seconds", "1 minute", "3 minutes" (rounded up).
fn wait_phrase(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".to_owned(),
        2..=59 => format!("{seconds} seconds"),
        _ => {
            let minutes = seconds.div_ceil(60);
            if minutes == 1 { "1 minute".to_owned() } else { format!("{minutes} minutes") }
        }
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn every_code_has_its_own_title_and_a_next_step() {
        let mut titles = HashSet::new();
        for code in ErrorCode::ALL {
            let problem = Problem::new(code);
            assert!(titles.insert(problem.title()), "{code}: title shared with another code");
            assert!(!problem.next_step().is_empty(), "{code}: no next step");
        }
        assert!(!titles.contains(Problem::network().title()));
        assert!(!titles.contains(Problem::unexpected().title()));
    }

    #[wasm_bindgen_test]
    fn a_denial_says_why_and_what_helps() {
        let denied = Problem::new(ErrorCode::DuoDenied);
        let account = denied.clone().with_denial(Some(DuoDenial::Account));
        assert_eq!(account.title(), "Duo refused your account.");
        assert!(account.next_step().contains("signing in again will not help"));
        assert!(!account.next_step().contains("denied the request by mistake"));
        let typed = denied.clone().with_said(Some("Incorrect passcode.".into())).of_passcode();
        assert!(typed.next_step().starts_with("Check the passcode"));
        assert!(!typed.next_step().contains("did not start this sign-in"));
        let cancelled = denied.clone().with_denial(Some(DuoDenial::Cancelled));
        assert_eq!(cancelled.title(), "The Duo sign-in was cancelled.");
        assert!(denied.next_step().contains("denied the request by mistake"));
    }

    #[wasm_bindgen_test]
    fn rate_limit_says_how_long_to_wait() {
        let at = |s| Problem::new(ErrorCode::RateLimited).with_retry_after(Some(s)).next_step();
        assert_eq!(at(30), "Wait 30 seconds and try again.");
        assert_eq!(at(60), "Wait 1 minute and try again.");
        assert_eq!(at(61), "Wait 2 minutes and try again.");
        assert_eq!(at(900), "Wait 15 minutes and try again.");
        let unknown = Problem::new(ErrorCode::RateLimited).next_step();
        assert_eq!(unknown, "Wait a few minutes and try again.");
    }
}

/// Duo's `auth_context.factor` as people say it: Duo sends some factors as
/// identifiers (`duo_push`) and others as text (`WebAuthn Chrome Touch ID`),
/// which is shown as sent.
pub fn factor_label(factor: &str) -> String {
    match factor {
        "duo_push" => "Duo Push",
        "verified_duo_push" => "Verified Duo Push",
        "phone_call" => "Phone call",
        "passcode" => "Passcode",
        "sms_passcode" => "SMS passcode",
        "hardware_token" => "Hardware token",
        "bypass_code" => "Bypass code",
        other => other,
    }
    .to_owned()
}
