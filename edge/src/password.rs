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
        match webcrypto::pbkdf2_sha256(password, hash.salt(), hash.iterations(), hash.hash_len())
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
        match webcrypto::pbkdf2_sha256(password, salt, iterations, HASH_LEN).await {
            Ok(derived) => return PasswordHash::from_derived(iterations, salt, &derived),
            Err(error) => {
                worker::console_warn!("admin: WebCrypto PBKDF2 failed ({error}); using wasm");
            }
        }
    }
    PasswordHash::derive(password, salt, iterations)
}

#[cfg(target_arch = "wasm32")]
mod webcrypto {
    use js_sys::{Array, ArrayBuffer, Function, Object, Promise, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use zeroize::Zeroizing;

    fn get(target: &JsValue, key: &str) -> Result<JsValue, String> {
        Reflect::get(target, &JsValue::from_str(key)).map_err(|_| format!("no `{key}`"))
    }

    fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), String> {
        Reflect::set(target, &JsValue::from_str(key), value)
            .map(drop)
            .map_err(|_| format!("cannot set `{key}`"))
    }

    /// `target[method](...args)`, awaited.
    async fn call(target: &JsValue, method: &str, args: &Array) -> Result<JsValue, String> {
        let function: Function =
            get(target, method)?.dyn_into().map_err(|_| format!("`{method}` is no function"))?;
        let promise: Promise = function
            .apply(target, args)
            .map_err(|_| format!("`{method}` threw"))?
            .dyn_into()
            .map_err(|_| format!("`{method}` returned no promise"))?;
        JsFuture::from(promise).await.map_err(|_| format!("`{method}` was rejected"))
    }

    /// PBKDF2-HMAC-SHA256 of `password` with `salt`, `len` bytes.
    pub async fn pbkdf2_sha256(
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        let bits = u32::try_from(len * 8).map_err(|_| "length out of range".to_owned())?;
        let subtle = get(&get(&js_sys::global(), "crypto")?, "subtle")?;

        let key_data = Uint8Array::from(password);
        let usages = Array::of1(&JsValue::from_str("deriveBits"));
        let import = Array::of5(
            &JsValue::from_str("raw"),
            &key_data,
            &JsValue::from_str("PBKDF2"),
            &JsValue::FALSE,
            &usages,
        );
        let key = call(&subtle, "importKey", &import).await;
        key_data.fill(0, 0, key_data.length());
        let key = key?;

        let params = Object::new();
        set(&params, "name", &JsValue::from_str("PBKDF2"))?;
        set(&params, "hash", &JsValue::from_str("SHA-256"))?;
        set(&params, "salt", &Uint8Array::from(salt))?;
        set(&params, "iterations", &JsValue::from(iterations))?;
        let derive = Array::of3(&params, &key, &JsValue::from(bits));
        let buffer: ArrayBuffer = call(&subtle, "deriveBits", &derive)
            .await?
            .dyn_into()
            .map_err(|_| "deriveBits returned no ArrayBuffer".to_owned())?;
        let view = Uint8Array::new(&buffer);
        let mut derived = Zeroizing::new(vec![0u8; view.length() as usize]);
        view.copy_to(&mut derived);
        view.fill(0, 0, view.length());
        if derived.len() != len {
            return Err("deriveBits returned the wrong length".to_owned());
        }
        Ok(derived)
    }
}
