//! Compact JWS with HMAC, written here on purpose: the emulator stands in for Duo and must not
//! share the client's JWT code (a shared bug would hide on both sides).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Sha256, Sha512};

use crate::pyjson;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three base64url segments, or a segment is not JSON.
    Malformed,
    /// The header's `alg` is not `HS512` (Duo signs and verifies only HS512).
    UnsupportedAlgorithm(String),
    /// The HMAC does not match: wrong secret or altered token.
    BadSignature,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed => f.write_str("the JWT is malformed"),
            Self::UnsupportedAlgorithm(alg) => write!(f, "expected alg `HS512` (found `{alg}`)"),
            Self::BadSignature => f.write_str("the JWT signature does not verify"),
        }
    }
}

/// Signing algorithms the emulator can emit (HS256 and `none` only to build defective tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA512, what Duo uses.
    Hs512,
    /// HMAC-SHA256 (a defect: clients must refuse it).
    Hs256,
    /// Unsigned (a defect: clients must refuse it).
    None,
}

/// A decoded token: header and claims, both JSON objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The payload.
    pub claims: Map<String, Value>,
}

/// Signs `claims` with header `{"alg": …, "typ": "JWT"}`.
pub fn sign(alg: Algorithm, claims: &Map<String, Value>, key: &[u8]) -> String {
    let alg_name = match alg {
        Algorithm::Hs512 => "HS512",
        Algorithm::Hs256 => "HS256",
        Algorithm::None => "none",
    };
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(alg_name));
    header.insert("typ".into(), Value::from("JWT"));
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(pyjson::to_string(&header)),
        URL_SAFE_NO_PAD.encode(pyjson::to_string(claims))
    );
    let signature = match alg {
        Algorithm::Hs512 => hmac_sha512(key, signing_input.as_bytes()),
        Algorithm::Hs256 => hmac_sha256(key, signing_input.as_bytes()),
        Algorithm::None => Vec::new(),
    };
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Signs with HS512, as Duo does.
#[cfg(test)]
pub fn sign_hs512(claims: &Map<String, Value>, key: &[u8]) -> String {
    sign(Algorithm::Hs512, claims, key)
}

/// Decodes header and claims without checking the signature (for logs and for finding the
/// client before its secret is known).
///
/// # Errors
/// [`JwtError::Malformed`] unless the token is three base64url segments of which the first two are
/// JSON objects.
pub fn decode_unverified(token: &str) -> Result<Decoded, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    Ok(Decoded { header: json_object(header)?, claims: json_object(payload)? })
}

/// Verifies an HS512 token with `key` and returns its contents. `typ` is not required (Node's
/// jose omits it and Duo accepts that).
///
/// # Errors
/// [`JwtError::Malformed`], [`JwtError::UnsupportedAlgorithm`] for any `alg` but `HS512` (also
/// `none`), [`JwtError::BadSignature`].
pub fn verify_hs512(token: &str, key: &[u8]) -> Result<Decoded, JwtError> {
    let decoded = decode_unverified(token)?;
    match decoded.header.get("alg").and_then(Value::as_str) {
        Some("HS512") => {}
        Some(other) => return Err(JwtError::UnsupportedAlgorithm(other.to_owned())),
        None => return Err(JwtError::UnsupportedAlgorithm(String::new())),
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| JwtError::Malformed)?;
    let mut mac = Hmac::<Sha512>::new_from_slice(key).map_err(|_| JwtError::BadSignature)?;
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature).map_err(|_| JwtError::BadSignature)?;
    Ok(decoded)
}

/// Reads a numeric date claim the way Duo does: an integer, a float (Python's SDK) or a numeric
/// string (C#'s SDK). `None` when absent or not numeric.
pub fn numeric_date(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        _ => None,
    }
}

fn json_object(segment: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| JwtError::Malformed)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::Malformed),
    }
}

pub(crate) fn hmac_sha512(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    match Hmac::<Sha512>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> Map<String, Value> {
        match json!({"iss": "DIXXXXXXXXXXXXXXXXXX", "exp": 302}) {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn signs_and_verifies_hs512() {
        let token = sign_hs512(&claims(), b"secret");
        let decoded = verify_hs512(&token, b"secret").unwrap();
        assert_eq!(decoded.claims, claims());
        assert_eq!(decoded.header.get("alg"), Some(&json!("HS512")));
    }

    #[test]
    fn rejects_wrong_key_hs256_none_and_garbage() {
        let token = sign_hs512(&claims(), b"secret");
        assert_eq!(verify_hs512(&token, b"other"), Err(JwtError::BadSignature));
        let hs256 = sign(Algorithm::Hs256, &claims(), b"secret");
        assert_eq!(
            verify_hs512(&hs256, b"secret"),
            Err(JwtError::UnsupportedAlgorithm("HS256".into()))
        );
        let none = sign(Algorithm::None, &claims(), b"secret");
        assert_eq!(
            verify_hs512(&none, b"secret"),
            Err(JwtError::UnsupportedAlgorithm("none".into()))
        );
        assert_eq!(verify_hs512("a.b", b"secret"), Err(JwtError::Malformed));
        assert_eq!(verify_hs512("a.b.c.d", b"secret"), Err(JwtError::Malformed));
        assert_eq!(verify_hs512("!!.??.x", b"secret"), Err(JwtError::Malformed));
    }

    #[test]
    fn rejects_altered_payload() {
        let token = sign_hs512(&claims(), b"secret");
        let mut parts: Vec<&str> = token.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(br#"{"iss":"DIXXXXXXXXXXXXXXXXXX","exp":9999999999}"#);
        parts[1] = &other;
        assert_eq!(verify_hs512(&parts.join("."), b"secret"), Err(JwtError::BadSignature));
    }

    #[test]
    fn numeric_dates_accept_int_float_and_numeric_string() {
        assert_eq!(numeric_date(Some(&json!(1_700_000_300))), Some(1_700_000_300.0));
        assert_eq!(numeric_date(Some(&json!(1_700_000_300.25))), Some(1_700_000_300.25));
        assert_eq!(numeric_date(Some(&json!("1700000300"))), Some(1_700_000_300.0));
        assert_eq!(numeric_date(Some(&json!("soon"))), None);
        assert_eq!(numeric_date(Some(&json!(true))), None);
        assert_eq!(numeric_date(None), None);
    }
}
