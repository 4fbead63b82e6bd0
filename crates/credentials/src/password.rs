//! Password hashes: PBKDF2-HMAC-SHA256 in the PHC string format.
//!
//! ```text
//! $pbkdf2-sha256$i=<iterations>,l=<hash length>$<salt>$<hash>
//! ```
//! `<salt>` and `<hash>` are the PHC "B64" encoding (standard base64 alphabet,
//! no padding). This is the form the `pbkdf2` crate (`RustCrypto`, feature
//! `simple`) and Python's `passlib`-compatible PHC tools read and write. Each
//! hash carries its own iteration count, so [`DEFAULT_ITERATIONS`] can be
//! raised later without invalidating stored hashes (a hash with fewer
//! iterations keeps verifying; re-hash it at the next password change).
//!
//! Verification compares in constant time ([`subtle`]); the derived key is
//! zeroized after use.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The PHC algorithm identifier.
pub const ALGORITHM: &str = "pbkdf2-sha256";

/// Iterations for new hashes.
///
/// Measured in workerd (`wrangler dev`, the release Worker): see the README,
/// "Password hashes". 100 000 is also the most Cloudflare's `WebCrypto`
/// `deriveBits` accepts for PBKDF2, so these hashes could be verified by
/// `WebCrypto` too. OWASP's 600 000 for PBKDF2-HMAC-SHA256 would cost six times
/// the CPU of every login on the Worker; raise it here when that is affordable.
pub const DEFAULT_ITERATIONS: u32 = 100_000;

/// Salt length of new hashes, in bytes (128 bits).
pub const SALT_LEN: usize = 16;

/// Derived key length of new hashes, in bytes (SHA-256's output).
pub const HASH_LEN: usize = 32;

/// Iterations a stored hash may carry: enough to refuse a hash that was
/// never meant to protect anything, bounded so a corrupt row cannot make one
/// verification take minutes.
pub const ITERATIONS_RANGE: std::ops::RangeInclusive<u32> = 1_000..=10_000_000;

const SALT_RANGE: std::ops::RangeInclusive<usize> = 8..=64;
const HASH_RANGE: std::ops::RangeInclusive<usize> = 16..=64;

/// Why a string is not a password hash this crate can verify, or why a hash
/// cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Not `$<id>$<params>$<salt>$<hash>`.
    #[error("not a PHC string with parameters, salt and hash")]
    NotPhc,
    /// The PHC identifier is not `pbkdf2-sha256`.
    #[error("unsupported algorithm (expected `pbkdf2-sha256`)")]
    UnsupportedAlgorithm,
    /// The parameters are not `i=<digits>[,l=<digits>]`.
    #[error("invalid parameters (expected `i=<iterations>,l=<length>`)")]
    InvalidParams,
    /// The iteration count is outside [`ITERATIONS_RANGE`].
    #[error("iteration count out of range")]
    IterationsOutOfRange,
    /// The salt is not B64 or not 8 to 64 bytes long.
    #[error("invalid salt")]
    InvalidSalt,
    /// The hash is not B64 or not 16 to 64 bytes long.
    #[error("invalid hash")]
    InvalidHash,
    /// `l=` disagrees with the hash's length.
    #[error("the `l` parameter does not match the hash length")]
    LengthMismatch,
}

/// A parsed password hash. `Debug` does not show the salt or the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl PasswordHash {
    /// Hashes `password` with `salt` (at least 8 bytes; use [`SALT_LEN`]
    /// random bytes) and `iterations`.
    ///
    /// # Errors
    /// [`PasswordError::InvalidSalt`] or [`PasswordError::IterationsOutOfRange`].
    pub fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Result<Self, PasswordError> {
        if !SALT_RANGE.contains(&salt.len()) {
            return Err(PasswordError::InvalidSalt);
        }
        if !ITERATIONS_RANGE.contains(&iterations) {
            return Err(PasswordError::IterationsOutOfRange);
        }
        let mut hash = vec![0u8; HASH_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut hash);
        Ok(Self { iterations, salt: salt.to_vec(), hash })
    }

    /// A hash whose PBKDF2 ran elsewhere (the Worker derives through
    /// `WebCrypto`): `hash` is PBKDF2-HMAC-SHA256 of the password with
    /// `salt` and `iterations`. Checked as [`Self::parse`] checks a stored
    /// one, so what is made here can always be read back.
    ///
    /// # Errors
    /// [`PasswordError::InvalidSalt`], [`PasswordError::InvalidHash`] or
    /// [`PasswordError::IterationsOutOfRange`].
    pub fn from_derived(iterations: u32, salt: &[u8], hash: &[u8]) -> Result<Self, PasswordError> {
        if !SALT_RANGE.contains(&salt.len()) {
            return Err(PasswordError::InvalidSalt);
        }
        if !HASH_RANGE.contains(&hash.len()) {
            return Err(PasswordError::InvalidHash);
        }
        if !ITERATIONS_RANGE.contains(&iterations) {
            return Err(PasswordError::IterationsOutOfRange);
        }
        Ok(Self { iterations, salt: salt.to_vec(), hash: hash.to_vec() })
    }

    /// Parses a stored PHC string (see the module documentation).
    ///
    /// # Errors
    /// The first [`PasswordError`] found.
    pub fn parse(phc: &str) -> Result<Self, PasswordError> {
        let mut fields = phc.strip_prefix('$').ok_or(PasswordError::NotPhc)?.split('$');
        let (Some(id), Some(params), Some(salt), Some(hash), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(PasswordError::NotPhc);
        };
        if id != ALGORITHM {
            return Err(PasswordError::UnsupportedAlgorithm);
        }
        let (iterations, length) = parse_params(params)?;
        if !ITERATIONS_RANGE.contains(&iterations) {
            return Err(PasswordError::IterationsOutOfRange);
        }
        let salt = STANDARD_NO_PAD.decode(salt).map_err(|_| PasswordError::InvalidSalt)?;
        if !SALT_RANGE.contains(&salt.len()) {
            return Err(PasswordError::InvalidSalt);
        }
        let hash = STANDARD_NO_PAD.decode(hash).map_err(|_| PasswordError::InvalidHash)?;
        if !HASH_RANGE.contains(&hash.len()) {
            return Err(PasswordError::InvalidHash);
        }
        if length.is_some_and(|l| l != hash.len()) {
            return Err(PasswordError::LengthMismatch);
        }
        Ok(Self { iterations, salt, hash })
    }

    /// A hash no password is known to match, with [`DEFAULT_ITERATIONS`]:
    /// verify against it when the user does not exist, so an unknown
    /// username costs the same time as a wrong password.
    pub fn dummy() -> Self {
        Self {
            iterations: DEFAULT_ITERATIONS,
            salt: DUMMY_SALT.to_vec(),
            hash: DUMMY_HASH.to_vec(),
        }
    }

    /// The dummy hash with `iterations` instead: the extra work that brings
    /// the check of a hash with fewer iterations than [`DEFAULT_ITERATIONS`]
    /// up to the cost of every other check (see [`Self::padding_for`]).
    pub fn dummy_with_iterations(iterations: u32) -> Self {
        Self { iterations, ..Self::dummy() }
    }

    /// The padding a check of this hash needs so that it costs what a check
    /// at [`DEFAULT_ITERATIONS`] costs: `None` at or above the default.
    /// Verifying an unknown user's password against [`Self::dummy`], a known
    /// user's against this hash and then its padding: every login spends the
    /// same number of PBKDF2 iterations, so the time does not tell who exists.
    pub fn padding_for(&self) -> Option<Self> {
        DEFAULT_ITERATIONS
            .checked_sub(self.iterations)
            .filter(|&missing| missing > 0)
            .map(Self::dummy_with_iterations)
    }

    /// Whether this is the dummy hash (of any iteration count).
    pub fn is_dummy(&self) -> bool {
        self.salt == DUMMY_SALT && self.hash == DUMMY_HASH
    }

    /// Whether `password` matches, compared in constant time.
    pub fn verify(&self, password: &[u8]) -> bool {
        let mut derived = Zeroizing::new(vec![0u8; self.hash.len()]);
        pbkdf2::pbkdf2_hmac::<Sha256>(password, &self.salt, self.iterations, &mut derived);
        derived.as_slice().ct_eq(&self.hash).into()
    }

    /// Whether `derived` (PBKDF2-HMAC-SHA256 of a password with this hash's
    /// salt and iterations, computed elsewhere, e.g. by `WebCrypto`) is this
    /// hash, compared in constant time.
    pub fn matches_derived(&self, derived: &[u8]) -> bool {
        derived.ct_eq(&self.hash).into()
    }

    /// The salt, for deriving with another PBKDF2 implementation.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The hash's length in bytes.
    pub fn hash_len(&self) -> usize {
        self.hash.len()
    }

    /// The iteration count this hash was made with.
    pub const fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The PHC string, as stored.
    pub fn to_phc(&self) -> String {
        format!(
            "${ALGORITHM}$i={},l={}${}${}",
            self.iterations,
            self.hash.len(),
            STANDARD_NO_PAD.encode(&self.salt),
            STANDARD_NO_PAD.encode(&self.hash)
        )
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHash")
            .field("iterations", &self.iterations)
            .field("salt", &"[redacted]")
            .field("hash", &"[redacted]")
            .finish()
    }
}

/// `i=<digits>` and an optional `l=<digits>`, each at most once, nothing else.
fn parse_params(params: &str) -> Result<(u32, Option<usize>), PasswordError> {
    let mut iterations = None;
    let mut length = None;
    for pair in params.split(',') {
        let (key, value) = pair.split_once('=').ok_or(PasswordError::InvalidParams)?;
        let slot = match key {
            "i" => &mut iterations,
            "l" => &mut length,
            _ => return Err(PasswordError::InvalidParams),
        };
        if slot.is_some() {
            return Err(PasswordError::InvalidParams);
        }
        *slot = Some(decimal(value).ok_or(PasswordError::InvalidParams)?);
    }
    let iterations = iterations.ok_or(PasswordError::InvalidParams)?;
    let iterations = u32::try_from(iterations).map_err(|_| PasswordError::IterationsOutOfRange)?;
    let length = length.map(|l| usize::try_from(l).map_err(|_| PasswordError::LengthMismatch));
    Ok((iterations, length.transpose()?))
}

/// Plain decimal digits only (`u64::from_str` would also take a leading `+`).
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

// Random bytes, fixed at build time; no password is known to derive this.
const DUMMY_SALT: [u8; SALT_LEN] = [
    0x6b, 0x1f, 0xd2, 0x90, 0x3c, 0x47, 0xa8, 0x05, 0xe9, 0x71, 0x2e, 0xb4, 0x58, 0xc3, 0x0d, 0x96,
];
const DUMMY_HASH: [u8; HASH_LEN] = [
    0x2a, 0x9e, 0x41, 0xf7, 0x03, 0xbc, 0x6d, 0x58, 0xe2, 0x17, 0x95, 0xc0, 0x4b, 0x8f, 0x36, 0xda,
    0x71, 0x0c, 0xa5, 0x5e, 0xf9, 0x28, 0x83, 0x4d, 0xb6, 0x1a, 0xe7, 0x62, 0x39, 0xd4, 0x0f, 0xc8,
];

#[cfg(test)]
mod tests {
    use super::*;

    // Few iterations keep debug-build tests fast; the format does not depend on them.
    const FAST: u32 = 1_000;

    #[test]
    fn cheaper_hashes_are_topped_up_to_the_default_cost() {
        let cheap = PasswordHash::derive(b"pw", b"salt-salt-salt-1", FAST).unwrap();
        let padding = cheap.padding_for().expect("a top-up");
        assert_eq!(cheap.iterations() + padding.iterations(), DEFAULT_ITERATIONS);
        assert!(padding.is_dummy() && !cheap.is_dummy() && PasswordHash::dummy().is_dummy());
        assert!(PasswordHash::dummy().padding_for().is_none(), "the default needs none");
        let dear = PasswordHash { iterations: DEFAULT_ITERATIONS + 1, ..cheap };
        assert!(dear.padding_for().is_none());
    }

    #[test]
    fn derive_then_verify_accepts_the_password_only() {
        let hash = PasswordHash::derive(b"correct horse", b"0123456789abcdef", FAST).unwrap();
        assert!(hash.verify(b"correct horse"));
        assert!(!hash.verify(b"correct horsE"));
        assert!(!hash.verify(b""));
    }

    #[test]
    fn matches_derived_is_verify_with_the_pbkdf2_done_elsewhere() {
        let hash = PasswordHash::derive(b"correct horse", b"0123456789abcdef", FAST).unwrap();
        let derive = |password: &[u8]| {
            let mut out = vec![0u8; hash.hash_len()];
            pbkdf2::pbkdf2_hmac::<Sha256>(password, hash.salt(), hash.iterations(), &mut out);
            out
        };
        assert!(hash.matches_derived(&derive(b"correct horse")));
        assert!(!hash.matches_derived(&derive(b"correct horsE")));
        assert!(!hash.matches_derived(&derive(b"correct horse")[..16]));
        assert!(!hash.matches_derived(&[]));
    }

    #[test]
    fn from_derived_is_derive_with_the_pbkdf2_done_elsewhere() {
        let salt = b"0123456789abcdef";
        let made = PasswordHash::derive(b"correct horse", salt, FAST).unwrap();
        let mut out = vec![0u8; HASH_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"correct horse", salt, FAST, &mut out);
        let assembled = PasswordHash::from_derived(FAST, salt, &out).unwrap();
        assert_eq!(assembled, made);
        assert!(assembled.verify(b"correct horse"));
        assert_eq!(PasswordHash::parse(&assembled.to_phc()), Ok(assembled));
        assert_eq!(
            PasswordHash::from_derived(FAST, b"short", &out),
            Err(PasswordError::InvalidSalt)
        );
        assert_eq!(
            PasswordHash::from_derived(FAST, salt, &out[..8]),
            Err(PasswordError::InvalidHash)
        );
        assert_eq!(
            PasswordHash::from_derived(999, salt, &out),
            Err(PasswordError::IterationsOutOfRange)
        );
    }

    #[test]
    fn phc_string_round_trips() {
        let hash = PasswordHash::derive(b"pw", b"saltsaltsaltsalt", FAST).unwrap();
        let phc = hash.to_phc();
        assert!(phc.starts_with("$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0c2FsdA$"), "{phc}");
        assert_eq!(PasswordHash::parse(&phc), Ok(hash));
    }

    #[test]
    fn matches_a_known_pbkdf2_sha256_vector() {
        // RFC 7914 section 11 (PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64),
        // truncated to 32 bytes; built with c=1 below the stored range, so compute directly.
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            out[..8],
            [0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f],
            "PBKDF2-HMAC-SHA256 test vector"
        );
    }

    #[test]
    fn verifies_a_hash_from_another_implementation() {
        // Python: hashlib.pbkdf2_hmac("sha256", b"password", b"saltysaltysalty!", 1000).
        let phc = "$pbkdf2-sha256$i=1000,l=32$c2FsdHlzYWx0eXNhbHR5IQ$\
                   gfUzj7Q3rP8nCMccOcKKvpRSo2ncaVfvyQdTc7xU7OA";
        let hash = PasswordHash::parse(phc).unwrap();
        assert!(hash.verify(b"password"));
        assert!(!hash.verify(b"Password"));
    }

    #[test]
    fn parse_accepts_the_length_parameter_as_optional() {
        let hash = PasswordHash::derive(b"pw", b"saltsaltsaltsalt", FAST).unwrap();
        let without_l = hash.to_phc().replace(",l=32", "");
        assert_eq!(PasswordHash::parse(&without_l), Ok(hash));
    }

    #[test]
    fn parse_names_each_defect() {
        let good = PasswordHash::derive(b"pw", b"saltsaltsaltsalt", FAST).unwrap().to_phc();
        let (salt, hash) = {
            let parts: Vec<&str> = good.split('$').collect();
            (parts[3].to_owned(), parts[4].to_owned())
        };
        let cases = [
            ("", PasswordError::NotPhc),
            ("pbkdf2-sha256$i=1000$a$b", PasswordError::NotPhc),
            (&format!("$pbkdf2-sha256$i=1000${salt}"), PasswordError::NotPhc),
            (&format!("$pbkdf2-sha256$i=1000${salt}${hash}$"), PasswordError::NotPhc),
            (&format!("$pbkdf2-sha512$i=1000${salt}${hash}"), PasswordError::UnsupportedAlgorithm),
            (&format!("$argon2id$i=1000${salt}${hash}"), PasswordError::UnsupportedAlgorithm),
            (&format!("$pbkdf2-sha256$i=+1000${salt}${hash}"), PasswordError::InvalidParams),
            (&format!("$pbkdf2-sha256$i=1000,i=1000${salt}${hash}"), PasswordError::InvalidParams),
            (&format!("$pbkdf2-sha256$l=32${salt}${hash}"), PasswordError::InvalidParams),
            (&format!("$pbkdf2-sha256$i=1000,x=1${salt}${hash}"), PasswordError::InvalidParams),
            (&format!("$pbkdf2-sha256$i=${salt}${hash}"), PasswordError::InvalidParams),
            (&format!("$pbkdf2-sha256$i=999${salt}${hash}"), PasswordError::IterationsOutOfRange),
            (
                &format!("$pbkdf2-sha256$i=4294967296${salt}${hash}"),
                PasswordError::IterationsOutOfRange,
            ),
            (&format!("$pbkdf2-sha256$i=1000$!!${hash}"), PasswordError::InvalidSalt),
            (&format!("$pbkdf2-sha256$i=1000$c2FsdA${hash}"), PasswordError::InvalidSalt),
            (&format!("$pbkdf2-sha256$i=1000${salt}$aGFzaA"), PasswordError::InvalidHash),
            (&format!("$pbkdf2-sha256$i=1000${salt}${hash}="), PasswordError::InvalidHash),
            (&format!("$pbkdf2-sha256$i=1000,l=31${salt}${hash}"), PasswordError::LengthMismatch),
        ];
        for (phc, expected) in cases {
            assert_eq!(PasswordHash::parse(phc), Err(expected), "{phc:?}");
        }
    }

    #[test]
    fn derive_refuses_short_salts_and_weak_counts() {
        assert_eq!(PasswordHash::derive(b"pw", b"short", FAST), Err(PasswordError::InvalidSalt));
        assert_eq!(
            PasswordHash::derive(b"pw", b"saltsaltsaltsalt", 999),
            Err(PasswordError::IterationsOutOfRange)
        );
    }

    #[test]
    fn dummy_costs_what_a_new_hash_costs() {
        let dummy = PasswordHash::dummy();
        assert_eq!(dummy.iterations(), DEFAULT_ITERATIONS);
        assert_eq!(PasswordHash::parse(&dummy.to_phc()), Ok(dummy));
    }

    #[test]
    fn debug_hides_salt_and_hash() {
        let hash = PasswordHash::derive(b"pw", b"saltsaltsaltsalt", FAST).unwrap();
        let shown = format!("{hash:?}");
        assert_eq!(
            shown,
            r#"PasswordHash { iterations: 1000, salt: "[redacted]", hash: "[redacted]" }"#
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(text in ".{0,200}") {
                let _ = PasswordHash::parse(&text);
            }

            #[test]
            fn parse_never_panics_on_near_phc(
                params in "[il=,0-9]{0,20}",
                salt in "[A-Za-z0-9+/=]{0,40}",
                hash in "[A-Za-z0-9+/=]{0,90}",
            ) {
                let _ = PasswordHash::parse(&format!("$pbkdf2-sha256${params}${salt}${hash}"));
            }
        }
    }
}
