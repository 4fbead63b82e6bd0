//! `WebCrypto` (`crypto.subtle`) through `js_sys`: PBKDF2 for passwords
//! ([`crate::password`]) and ECDSA P-256 signatures for the gateway's
//! assertions ([`crate::gateway`]). Native code in workerd, cheaper in CPU
//! than the same work in wasm.

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
///
/// # Errors
/// When `WebCrypto` is missing or refuses (the caller then derives in wasm).
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

thread_local! {
    // The imported signing key of each key id this isolate has used.
    static SIGNING_KEYS: std::cell::RefCell<Vec<(String, JsValue)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// ES256: the ECDSA P-256 SHA-256 signature of `data` (`r || s`, 64 bytes,
/// the JWS form) with the private JSON Web Key `jwk` of id `kid`, imported
/// once per isolate.
///
/// # Errors
/// When `WebCrypto` refuses the key or the signature, in words.
pub async fn es256_sign(kid: &str, jwk: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let subtle = get(&get(&js_sys::global(), "crypto")?, "subtle")?;
    let cached = SIGNING_KEYS
        .with(|keys| keys.borrow().iter().find(|(id, _)| id == kid).map(|(_, key)| key.clone()));
    let key = if let Some(key) = cached {
        key
    } else {
        let jwk = js_sys::JSON::parse(jwk).map_err(|_| "the key is not JSON".to_owned())?;
        let algorithm = Object::new();
        set(&algorithm, "name", &JsValue::from_str("ECDSA"))?;
        set(&algorithm, "namedCurve", &JsValue::from_str("P-256"))?;
        let usages = Array::of1(&JsValue::from_str("sign"));
        let import =
            Array::of5(&JsValue::from_str("jwk"), &jwk, &algorithm, &JsValue::FALSE, &usages);
        let key = call(&subtle, "importKey", &import).await?;
        SIGNING_KEYS.with(|keys| {
            let mut keys = keys.borrow_mut();
            // A rotation adds one key; never more than the three published.
            if keys.len() >= 3 {
                keys.remove(0);
            }
            keys.push((kid.to_owned(), key.clone()));
        });
        key
    };
    let params = Object::new();
    set(&params, "name", &JsValue::from_str("ECDSA"))?;
    set(&params, "hash", &JsValue::from_str("SHA-256"))?;
    let sign = Array::of3(&params, &key, &Uint8Array::from(data));
    let buffer: ArrayBuffer = call(&subtle, "sign", &sign)
        .await?
        .dyn_into()
        .map_err(|_| "sign returned no ArrayBuffer".to_owned())?;
    Ok(Uint8Array::new(&buffer).to_vec())
}
