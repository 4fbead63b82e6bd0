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

    async fn pwned_range(&self, url: &str) -> Result<String, String> {
        use shared::duo::{HttpRequest, Method, Transport as _};
        let request = HttpRequest {
            method: Method::Get,
            url: url.to_owned(),
            headers: vec![
                ("add-padding", "true".to_owned()),
                ("user-agent", concat!("duo-edge-login/", env!("CARGO_PKG_VERSION")).to_owned()),
            ],
            body: Vec::new(),
        };
        let transport = crate::duo_transport::FetchTransport::with_timeout(PWNED_TIMEOUT);
        match transport.send(request).await {
            Ok(response) if response.status == 200 => String::from_utf8(response.body)
                .map_err(|_| "an answer that is not text".to_owned()),
            Ok(response) => Err(format!("status {}", response.status)),
            Err(error) => Err(format!("{:?}: {}", error.kind, error.detail)),
        }
    }
}

/// How long Pwned Passwords may take before a password is accepted
/// unchecked (its answers usually take tens of milliseconds, from a cache).
const PWNED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

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
