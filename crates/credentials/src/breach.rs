//! Breached passwords: Have I Been Pwned's Pwned Passwords, asked by
//! k-anonymity. The password's SHA-1 is split into a five-hex-digit prefix,
//! the only part that leaves (`GET {url}/range/{prefix}`), and the 35-digit
//! suffix, looked up in the answer (`SUFFIX:COUNT` lines, with
//! `Add-Padding: true` padded by suffixes of count 0 so the answer's size
//! tells nothing either). Pure: the caller does the request.

use std::fmt;

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

/// Pwned Passwords' range API.
pub const DEFAULT_URL: &str = "https://api.pwnedpasswords.com";

/// The setting `PWNED_PASSWORDS`: what a breached password gets where a
/// password is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BreachMode {
    /// Refused (the default).
    #[default]
    Block,
    /// Accepted, with a warning to whoever chose it.
    Warn,
    /// Not checked.
    Off,
}

impl BreachMode {
    /// `block`, `warn` or `off` (surrounding spaces ignored).
    ///
    /// # Errors
    /// The rule, for a value that is none of them.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        match text.trim() {
            "block" => Ok(Self::Block),
            "warn" => Ok(Self::Warn),
            "off" => Ok(Self::Off),
            _ => Err("expected block (refuse breached passwords), warn or off"),
        }
    }

    /// The setting's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Warn => "warn",
            Self::Off => "off",
        }
    }
}

/// One password's range question: the prefix that is sent, and the suffix
/// that is not.
pub struct RangeQuery {
    prefix: String,
    suffix: Zeroizing<String>,
}

impl fmt::Debug for RangeQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeQuery")
            .field("prefix", &self.prefix)
            .field("suffix", &"[redacted]")
            .finish()
    }
}

/// Why a range answer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not one `SUFFIX:COUNT` line in it.
    #[error("the answer is not a Pwned Passwords range")]
    Malformed,
}

impl RangeQuery {
    /// The question for `password`.
    pub fn of(password: &str) -> Self {
        let digest = Sha1::digest(password.as_bytes());
        let mut hex = Zeroizing::new(String::with_capacity(40));
        for byte in digest {
            for nibble in [byte >> 4, byte & 0x0f] {
                hex.push(char::from(b"0123456789ABCDEF"[usize::from(nibble)]));
            }
        }
        let (prefix, suffix) = hex.split_at(5);
        Self { prefix: prefix.to_owned(), suffix: Zeroizing::new(suffix.to_owned()) }
    }

    /// The five upper-case hex digits that are sent.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// How many breaches the range answer `body` counts for this password
    /// (0: not in it; padding lines count 0).
    ///
    /// # Errors
    /// [`RangeError::Malformed`] when no line has the range's shape.
    pub fn count_in(&self, body: &str) -> Result<u64, RangeError> {
        let mut lines = 0_usize;
        let mut found = 0_u64;
        for line in body.lines() {
            let Some((suffix, count)) = line.trim().split_once(':') else { continue };
            let (suffix, count) = (suffix.trim(), count.trim());
            let shaped = suffix.len() == 35 && suffix.bytes().all(|b| b.is_ascii_hexdigit());
            let Ok(count) = count.parse::<u64>() else { continue };
            if !shaped {
                continue;
            }
            lines += 1;
            if suffix.eq_ignore_ascii_case(&self.suffix) {
                found = found.max(count);
            }
        }
        if lines == 0 {
            return Err(RangeError::Malformed);
        }
        Ok(found)
    }
}

/// The request path for `query` under the API at `url` (no trailing `/`).
pub fn range_url(url: &str, query: &RangeQuery) -> String {
    format!("{}/range/{}", url.trim_end_matches('/'), query.prefix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_prefix_of_the_sha1_is_sent_and_the_suffix_is_looked_up() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
        let query = RangeQuery::of("password");
        assert_eq!(query.prefix(), "5BAA6");
        assert!(!format!("{query:?}").contains("1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
        let body = "003D68EB55068C33ACE09247EE4C639306B:3\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD8:10437277\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD9:0\r\n";
        assert_eq!(query.count_in(body), Ok(10_437_277));
        let lower = body.to_ascii_lowercase();
        assert_eq!(query.count_in(&lower), Ok(10_437_277), "hex in any case");
        assert_eq!(RangeQuery::of("not in it").count_in(body), Ok(0));
        assert_eq!(
            range_url("https://api.pwnedpasswords.com/", &query),
            "https://api.pwnedpasswords.com/range/5BAA6"
        );
    }

    #[test]
    fn padding_counts_nothing_and_a_page_that_is_no_range_is_malformed() {
        let query = RangeQuery::of("password");
        let padded = "1E4C9B93F3F0682250B6CF8331B7EE68FD8:0\n";
        assert_eq!(query.count_in(padded), Ok(0), "a padding line is count 0");
        for odd in
            ["", "<html>blocked</html>", "1E4C9B:12", "1E4C9B93F3F0682250B6CF8331B7EE68FD8:x"]
        {
            assert_eq!(query.count_in(odd), Err(RangeError::Malformed), "{odd:?}");
        }
    }

    #[test]
    fn the_setting_is_block_warn_or_off() {
        assert_eq!(BreachMode::parse(" warn "), Ok(BreachMode::Warn));
        assert_eq!(BreachMode::parse("off"), Ok(BreachMode::Off));
        assert_eq!(BreachMode::default(), BreachMode::Block);
        assert!(BreachMode::parse("Block").is_err());
    }
}
