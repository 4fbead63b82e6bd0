//! The store's keys, typed: each port method says which key it takes, and
//! only the constructors here make one, so a session's hash cannot be
//! passed where a username goes, nor a username that skipped
//! normalization.

use std::fmt::{self, Write as _};

use sha2::{Digest, Sha256};

/// What a session or a trusted browser is stored under: the lower-case hex
/// SHA-256 of its secret (64 digits). It names the row and opens nothing.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct IdHash(String);

impl IdHash {
    /// The hash of `secret` (a session id's or a browser token's bytes).
    pub fn of(secret: &[u8]) -> Self {
        Self(hex_sha256(secret))
    }

    /// A hash the console names a session or a trusted browser by: 64
    /// hexadecimal digits, nothing else (`None`: it names none).
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(text.to_owned()))
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored text, owned (for an answer that names the row).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for IdHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A normalized username (trimmed, ASCII lower case): the users table's
/// key, and how the sign-in log, the limits and the trusted browsers name
/// a user.
///
/// The default, the empty key, is nobody's: names no user can have share
/// it, so that they are still counted and audited.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct UserKey(String);

impl UserKey {
    /// The key of a name as typed; `None` when no user can have it
    /// (`credentials::normalize`).
    pub fn of(typed: &str) -> Option<Self> {
        credentials::normalize(typed).map(Self)
    }

    /// The key of a valid username.
    pub fn of_username(username: &credentials::Username) -> Self {
        Self(username.normalized())
    }

    /// A key this Worker normalized before and kept: in a login ticket it
    /// sealed, or in a row it stored.
    pub fn normalized(kept: String) -> Self {
        Self(kept)
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is nobody's key (the default).
    pub fn is_nobody(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsRef<str> for UserKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Duo Auth API transaction id (an inline push or call), as Duo's `auth`
/// answered it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Txid(String);

impl Txid {
    /// Duo's `txid`.
    pub fn new(txid: String) -> Self {
        Self(txid)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key a webhook's bodies are signed with (HMAC-SHA256): `whsec_`
/// and 64 hex digits. Kept in D1 (`alert_webhooks.secret`), shown to the
/// admin once when the webhook is added, never listed or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(zeroize::Zeroizing<String>);

impl SigningSecret {
    /// The secret of 32 random bytes.
    pub fn generate(bytes: &[u8; 32]) -> Self {
        Self(zeroize::Zeroizing::new(format!("whsec_{}", hex(bytes))))
    }

    /// A stored secret, as it was generated.
    pub fn stored(text: String) -> Self {
        Self(zeroize::Zeroizing::new(text))
    }

    /// The text (to store it, show it once, or sign with it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

/// Lower-case hex SHA-256.
pub fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` in lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_hash_is_64_hexadecimal_digits() {
        let hash = IdHash::of(b"a session id");
        assert_eq!(IdHash::parse(hash.as_str()), Some(hash));
        assert_eq!(IdHash::parse(&"é".repeat(32)), None, "64 bytes, not digits");
    }

    #[test]
    fn a_user_key_is_the_normalized_name() {
        assert_eq!(UserKey::of("  Alice ").map(|k| k.as_str().to_owned()), Some("alice".into()));
        assert_eq!(UserKey::of(""), None);
    }
}
