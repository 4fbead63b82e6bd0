//! Usernames: what may be registered, and how a typed name is looked up.
//!
//! A username is stored as typed (trimmed) and looked up by its normalized
//! form: surrounding whitespace removed, ASCII letters lower-cased. Only
//! ASCII is allowed at registration (`A-Z a-z 0-9 . _ @ + -`, 1 to 64
//! characters), so normalization is exactly `SQLite`'s `lower(trim(x))` (the
//! `users` table checks it) and no Unicode case folding can make two
//! different names collide (the Kelvin sign `K` lower-cases to `k`). Tell Duo
//! to use "simple" username normalization or none: both agree with this on
//! such names, apart from Duo stripping a `DOMAIN\` prefix or `@domain` suffix
//! under "simple", which matters only when `duo_username` is not set.

use std::fmt;

/// The longest username accepted, in bytes (all ASCII).
pub const MAX_LEN: usize = 64;

/// Why a name cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsernameError {
    /// Empty after trimming.
    #[error("the username is empty")]
    Empty,
    /// Longer than [`MAX_LEN`].
    #[error("the username is longer than {MAX_LEN} characters")]
    TooLong,
    /// A character outside `A-Z a-z 0-9 . _ @ + -`.
    #[error("the username may only contain A-Z a-z 0-9 . _ @ + -")]
    InvalidCharacter,
}

/// A username valid for registration: trimmed, ASCII, 1 to 64 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Validates a name for registration.
    ///
    /// # Errors
    /// [`UsernameError`] naming the rule it breaks.
    pub fn parse(typed: &str) -> Result<Self, UsernameError> {
        let name = typed.trim();
        if name.is_empty() {
            return Err(UsernameError::Empty);
        }
        if name.len() > MAX_LEN {
            return Err(UsernameError::TooLong);
        }
        if !name.bytes().all(is_allowed) {
            return Err(UsernameError::InvalidCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    /// As typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lookup key.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Username").field(&self.0).finish()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const fn is_allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'-')
}

/// The lookup key for a name typed at login, or `None` when no registered
/// user can have it (so the caller skips the lookup but still spends the
/// time of a password verification).
pub fn normalize(typed: &str) -> Option<String> {
    Username::parse(typed).ok().map(|name| name.normalized())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_trims_and_lowercases_ascii() {
        assert_eq!(normalize("  Alice ").as_deref(), Some("alice"));
        assert_eq!(normalize("ALICE@Example.com").as_deref(), Some("alice@example.com"));
    }

    #[test]
    fn normalize_refuses_names_no_user_can_have() {
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("   "), None);
        // The Kelvin sign would lower-case to `k` under Unicode rules.
        assert_eq!(normalize("\u{212A}im"), None);
        assert_eq!(normalize("al ice"), None);
        assert_eq!(normalize("alice'--"), None);
        assert_eq!(normalize(&"a".repeat(MAX_LEN + 1)), None);
        assert!(normalize(&"a".repeat(MAX_LEN)).is_some());
    }

    #[test]
    fn parse_names_the_rule() {
        assert_eq!(Username::parse(" "), Err(UsernameError::Empty));
        assert_eq!(Username::parse(&"b".repeat(65)), Err(UsernameError::TooLong));
        assert_eq!(Username::parse("bob\n"), Ok(Username("bob".to_owned())));
        assert_eq!(Username::parse("bo\u{0}b"), Err(UsernameError::InvalidCharacter));
        assert_eq!(Username::parse("Bob").map(|u| u.normalized()), Ok("bob".to_owned()));
    }
}
