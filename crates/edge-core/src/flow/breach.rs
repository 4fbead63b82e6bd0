//! Breached and common passwords, refused where a password is chosen (an
//! admin's typed password for a new user or a reset, the user's own
//! change): the password's SHA-1 prefix goes to Pwned Passwords
//! (k-anonymity, [`credentials::breach`]), never the password or its hash.
//!
//! `PWNED_PASSWORDS=block` (the default) refuses one found there; `warn`
//! accepts it and says so; `off` does not ask. When the service cannot be
//! reached or answers something else, the password is accepted (an outage
//! of a third party must not stop a reset) and the answer and the admin
//! event say it was not checked.

use credentials::breach::{BreachMode, RangeQuery, range_url};

use super::audit::{Reason, Refusal};
use super::context::Passwords;
use crate::config::Config;

/// What the check found, for a password it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screened {
    /// Not in Pwned Passwords.
    Clean,
    /// In it this many times, accepted (`warn`).
    Breached(u64),
    /// Not asked (`off`).
    Off,
    /// Could not be asked (why, for the log).
    Unchecked(String),
}

impl Screened {
    /// For the admin event (`breach_check`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Clean => "clean",
            Self::Breached(_) => "breached",
            Self::Off => "off",
            Self::Unchecked(_) => "unchecked",
        }
    }

    /// What whoever chose the password is told, when there is something to tell.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Breached(count) => Some(format!(
                "This password has appeared in {} known data breaches (Have I Been Pwned); attackers try such passwords first. Consider another.",
                grouped(*count)
            )),
            Self::Unchecked(_) => Some(
                "The password could not be checked against known data breaches just now (Have I Been Pwned did not answer)."
                    .to_owned(),
            ),
            Self::Clean | Self::Off => None,
        }
    }
}

/// Checks `password` as the settings say.
///
/// # Errors
/// [`Reason::BreachedPassword`] (`bad_request`, with what to do) for a
/// breached password under `block`.
pub async fn screen<P: Passwords>(
    passwords: &P,
    config: &Config,
    password: &str,
) -> Result<Screened, Refusal> {
    if config.breach.mode == BreachMode::Off {
        return Ok(Screened::Off);
    }
    let query = RangeQuery::of(password);
    let body = match passwords.pwned_range(&range_url(&config.breach.url, &query)).await {
        Ok(body) => body,
        Err(why) => return Ok(Screened::Unchecked(why)),
    };
    match query.count_in(&body) {
        Err(error) => Ok(Screened::Unchecked(error.to_string())),
        Ok(0) => Ok(Screened::Clean),
        Ok(count) if config.breach.mode == BreachMode::Block => {
            Err(Refusal::new(Reason::BreachedPassword)
                .detail(format!("in Pwned Passwords {count} times"))
                .message(&format!(
                    "This password has appeared in {} known data breaches (Have I Been Pwned), so attackers try it first. Choose another.",
                    grouped(count)
                )))
        }
        Ok(count) => Ok(Screened::Breached(count)),
    }
}

/// `1234567` as "1,234,567".
fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_with_thousands_separators() {
        assert_eq!(super::grouped(7), "7");
        assert_eq!(super::grouped(1234), "1,234");
        assert_eq!(super::grouped(10_434_004), "10,434,004");
    }
}
