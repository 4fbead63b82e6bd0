//! Password verification on the edge.
//!
//! The hash format and the reference implementation are `credentials`'
//! (the same code `user-admin` hashes with). In the Worker the PBKDF2 itself
//! runs through `WebCrypto` (`crypto.subtle.deriveBits`): native code in
//! workerd, several times cheaper in CPU than the same loop in wasm, which
//! matters under the Workers CPU limits. workerd refuses more than 100,000
//! iterations; such hashes, and any `WebCrypto` failure, use the wasm code.
//! Either way the comparison is constant time.

#[cfg(target_arch = "wasm32")]
use credentials::password::HASH_LEN;
use credentials::{PasswordError, PasswordHash};

use edge_core::flow::Passwords;

/// The Worker's [`Passwords`]: [`verify`] and [`hash`].
#[derive(Debug, Clone, Copy, Default)]
pub struct WebCryptoPasswords;

impl Passwords for WebCryptoPasswords {
    async fn verify(&self, hash: &PasswordHash, password: &[u8]) -> bool {
        verify(hash, password).await
    }

    async fn hash(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<PasswordHash, PasswordError> {
        hash(password, salt, iterations).await
    }
}

/// The most PBKDF2 iterations workerd's `WebCrypto` accepts.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const WEBCRYPTO_MAX_ITERATIONS: u32 = 100_000;

/// Whether `password` matches `hash`.
#[cfg_attr(not(target_arch = "wasm32"), allow(clippy::unused_async))]
pub async fn verify(hash: &PasswordHash, password: &[u8]) -> bool {
    #[cfg(target_arch = "wasm32")]
    if hash.iterations() <= WEBCRYPTO_MAX_ITERATIONS {
        match crate::webcrypto::pbkdf2_sha256(
            password,
            hash.salt(),
            hash.iterations(),
            hash.hash_len(),
        )
        .await
        {
            Ok(derived) => return hash.matches_derived(&derived),
            Err(error) => {
                worker::console_warn!("login: WebCrypto PBKDF2 failed ({error}); using wasm");
            }
        }
    }
    hash.verify(password)
}

/// A new hash of `password`: the same PBKDF2 as [`verify`]'s, so what is
/// made here verifies there (and in `user-admin`'s native code).
///
/// # Errors
/// As [`PasswordHash::from_derived`].
#[cfg_attr(not(target_arch = "wasm32"), allow(clippy::unused_async))]
pub async fn hash(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Result<PasswordHash, PasswordError> {
    #[cfg(target_arch = "wasm32")]
    if iterations <= WEBCRYPTO_MAX_ITERATIONS {
        match crate::webcrypto::pbkdf2_sha256(password, salt, iterations, HASH_LEN).await {
            Ok(derived) => return PasswordHash::from_derived(iterations, salt, &derived),
            Err(error) => {
                worker::console_warn!("admin: WebCrypto PBKDF2 failed ({error}); using wasm");
            }
        }
    }
    PasswordHash::derive(password, salt, iterations)
}
