//! Session ids: 32 random bytes in the cookie, only their SHA-256 in D1.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::keys::IdHash;

/// Bytes of randomness in a session id.
pub const ID_LEN: usize = 32;
/// Length of the cookie value (unpadded base64url of [`ID_LEN`] bytes).
const COOKIE_LEN: usize = 43;

/// A session id. `Debug` does not show it; zeroized on drop.
pub struct SessionId(Zeroizing<[u8; ID_LEN]>);

impl SessionId {
    /// A new id made of `random`: [`ID_LEN`] bytes from a CSPRNG (the
    /// Worker's `crypto.getRandomValues`), passed in by the caller.
    pub fn from_random(random: &[u8; ID_LEN]) -> Self {
        Self(Zeroizing::new(*random))
    }

    /// Parses a cookie value; `None` unless it is exactly the encoding of
    /// [`ID_LEN`] bytes.
    pub fn parse(cookie_value: &str) -> Option<Self> {
        if cookie_value.len() != COOKIE_LEN {
            return None;
        }
        let decoded = Zeroizing::new(URL_SAFE_NO_PAD.decode(cookie_value).ok()?);
        let mut bytes = Zeroizing::new([0u8; ID_LEN]);
        if decoded.len() != ID_LEN {
            return None;
        }
        bytes.copy_from_slice(&decoded);
        Some(Self(bytes))
    }

    /// The cookie value.
    pub fn to_cookie_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_ref())
    }

    /// What D1 stores: lower-case hex SHA-256 of the id.
    pub fn storage_key(&self) -> IdHash {
        IdHash::of(self.0.as_ref())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_keys_are_64_hexadecimal_digits() {
        let id = SessionId::from_random(&[7; 32]);
        assert_eq!(IdHash::parse(id.storage_key().as_str()), Some(id.storage_key()));
        for other in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(65)] {
            assert!(IdHash::parse(other).is_none(), "{other:?}");
        }
    }

    #[test]
    fn cookie_value_round_trips() {
        let id = SessionId::from_random(&[7; ID_LEN]);
        let value = id.to_cookie_value();
        assert_eq!(value.len(), COOKIE_LEN);
        let parsed = SessionId::parse(&value).unwrap();
        assert_eq!(parsed.storage_key(), id.storage_key());
        assert_eq!(id.storage_key().as_str().len(), 64);
    }

    #[test]
    fn ids_differ() {
        let a = SessionId::from_random(&[1; ID_LEN]).storage_key();
        let b = SessionId::from_random(&[2; ID_LEN]).storage_key();
        assert_ne!(a, b);
    }

    #[test]
    fn parse_refuses_anything_else() {
        let value = SessionId::from_random(&[9; ID_LEN]).to_cookie_value();
        for bad in [
            "",
            "short",
            &value[..42],
            &format!("{value}A"),
            &format!("{}+", &value[..42]),
            &format!("{}=", &value[..42]),
            &"%".repeat(43),
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn storage_key_is_sha256_hex() {
        assert_eq!(
            crate::keys::hex_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_hides_the_id() {
        let id = SessionId::from_random(&[3; ID_LEN]);
        assert_eq!(format!("{id:?}"), "SessionId([redacted])");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(value in any::<String>()) {
                let _ = SessionId::parse(&value);
            }

            #[test]
            fn parse_never_panics_on_near_ids(value in "[A-Za-z0-9_=+/-]{43}") {
                let _ = SessionId::parse(&value);
            }
        }
    }
}
