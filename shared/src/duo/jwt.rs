//! Compact HS512 JWTs, signed and checked by hand so the output is byte-exact and the
//! verification accepts nothing but HMAC-SHA512.

use super::error::IdTokenError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha512;

type HmacSha512 = Hmac<Sha512>;

/// The header of every JWT this client signs.
pub(crate) const HEADER: &str = r#"{"alg":"HS512","typ":"JWT"}"#;

/// Tokens larger than this are rejected before decoding (a full Duo ID token is about 2 KiB).
pub(crate) const MAX_TOKEN_LEN: usize = 32 * 1024;

pub(crate) fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn mac(key: &[u8]) -> HmacSha512 {
    // HMAC accepts keys of any length, so this never fails; the fallback keeps it panic-free.
    HmacSha512::new_from_slice(key)
        .unwrap_or_else(|_| HmacSha512::new(&hmac::digest::generic_array::GenericArray::default()))
}

/// Signs `header.claims` with HMAC-SHA512, both given as compact JSON.
pub(crate) fn sign_raw(key: &[u8], header_json: &[u8], claims_json: &[u8]) -> String {
    let mut token = base64url(header_json);
    token.push('.');
    token.push_str(&base64url(claims_json));
    let mut mac = mac(key);
    mac.update(token.as_bytes());
    let signature = mac.finalize().into_bytes();
    token.push('.');
    token.push_str(&base64url(&signature));
    token
}

/// Signs serializable claims under [`HEADER`]. Claims are serialized in field order.
pub(crate) fn sign<C: Serialize>(key: &[u8], claims: &C) -> String {
    // Serializing a struct of strings and integers to a Vec cannot fail; an empty object
    // would fail at Duo rather than panic here.
    let claims_json = serde_json::to_vec(claims).unwrap_or_else(|_| b"{}".to_vec());
    sign_raw(key, HEADER.as_bytes(), &claims_json)
}

/// Checks a compact HS512 JWS and returns its payload as a JSON object.
///
/// Steps: (1) size and shape, (2) header is JSON with `alg` exactly `HS512`, (3) the
/// HMAC-SHA512 signature over `header.payload` matches in constant time, (4) the payload is
/// a JSON object.
pub(crate) fn verify_hs512(
    key: &[u8],
    token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, IdTokenError> {
    // (1) Three non-empty base64url parts, bounded size.
    if token.len() > MAX_TOKEN_LEN {
        return Err(IdTokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| IdTokenError::Malformed)?;
    // (2) The algorithm is pinned: `none`, `HS256`, `RS256`, ... are refused before any
    // signature work.
    let header: serde_json::Value =
        serde_json::from_slice(&header_bytes).map_err(|_| IdTokenError::Malformed)?;
    let serde_json::Value::Object(header) = header else {
        return Err(IdTokenError::Malformed);
    };
    match header.get("alg") {
        Some(serde_json::Value::String(alg)) if alg == "HS512" => {}
        Some(serde_json::Value::String(alg)) => {
            return Err(IdTokenError::Algorithm { found: alg.chars().take(16).collect() });
        }
        _ => return Err(IdTokenError::Algorithm { found: String::new() }),
    }
    // (3) Signature, compared in constant time by `verify_slice`.
    let signature =
        URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| IdTokenError::InvalidSignature)?;
    let signed_len = header_b64.len() + 1 + payload_b64.len();
    let mut mac = mac(key);
    mac.update(&token.as_bytes()[..signed_len]);
    mac.verify_slice(&signature).map_err(|_| IdTokenError::InvalidSignature)?;
    // (4) Payload.
    let payload_bytes = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| IdTokenError::Malformed)?;
    match serde_json::from_slice(&payload_bytes) {
        Ok(serde_json::Value::Object(claims)) => Ok(claims),
        _ => Err(IdTokenError::Malformed),
    }
}
