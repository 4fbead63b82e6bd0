//! Compact HS512 JWTs, signed and checked by hand so the output is byte-exact and the
//! verification accepts nothing but HMAC-SHA512.

use super::error::IdTokenError;
use super::json::{self, Field, ObjectFields};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::MapAccess;
use sha2::Sha512;

type HmacSha512 = Hmac<Sha512>;

/// The header of every JWT this client signs.
pub(crate) const HEADER: &str = r#"{"alg":"HS512","typ":"JWT"}"#;

/// Tokens larger than this are rejected before decoding (a full Duo ID token is about 2 KiB).
pub(crate) const MAX_TOKEN_LEN: usize = 32 * 1024;

pub(crate) fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url digit values; `0xFF` for a byte outside the URL-safe alphabet.
const BASE64URL_DIGITS: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut digits = [0xFF; 256];
    let mut i = 0;
    while i < alphabet.len() {
        // `i < 64`: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        {
            digits[alphabet[i] as usize] = i as u8;
        }
        i += 1;
    }
    digits
};

/// Decodes unpadded base64url; `None` for what `URL_SAFE_NO_PAD.decode` rejects (a byte
/// outside the alphabet, `=`, a length of 4n+1, non-zero trailing bits).
///
/// The `base64` crate's decoder costs about a quarter of a token's verification at the
/// workspace's size-optimized `opt-level`, mostly in a `memcpy` call per 8 input bytes: this
/// loop writes the bytes in place. The property tests compare it with the crate's.
pub(crate) fn decode_base64url(input: &str) -> Option<Vec<u8>> {
    let input = input.as_bytes();
    let tail = match input.len() % 4 {
        0 => 0,
        2 => 1,
        3 => 2,
        _ => return None,
    };
    let full = input.len() / 4;
    let mut out = vec![0u8; full * 3 + tail];
    let (body, rest) = out.split_at_mut(full * 3);
    // Every digit is < 64, so a bit 0x80 anywhere means a byte outside the alphabet.
    let mut invalid = 0u8;
    for (digits, bytes) in input.chunks_exact(4).zip(body.chunks_exact_mut(3)) {
        // Slice patterns instead of indexing: no bounds checks or `memcpy` calls, which the
        // size-optimized build keeps otherwise.
        let (&[d0, d1, d2, d3], [b0, b1, b2]) = (digits, bytes) else { continue };
        let digit = |byte: u8| BASE64URL_DIGITS[usize::from(byte)];
        let (d0, d1, d2, d3) = (digit(d0), digit(d1), digit(d2), digit(d3));
        invalid |= d0 | d1 | d2 | d3;
        let n =
            (u32::from(d0) << 18) | (u32::from(d1) << 12) | (u32::from(d2) << 6) | u32::from(d3);
        [_, *b0, *b1, *b2] = n.to_be_bytes();
    }
    let mut n = 0u32;
    for (i, &digit) in input[full * 4..].iter().enumerate() {
        let value = BASE64URL_DIGITS[usize::from(digit)];
        invalid |= value;
        n |= u32::from(value) << (18 - 6 * i);
    }
    let [_, x, y, _] = n.to_be_bytes();
    // The bits below the last whole byte must be zero (canonical encoding).
    let trailing_zero = match rest {
        [first] => {
            *first = x;
            n.trailing_zeros() >= 16
        }
        [first, second] => {
            (*first, *second) = (x, y);
            n.trailing_zeros() >= 8
        }
        _ => true,
    };
    (invalid & 0x80 == 0 && trailing_zero).then_some(out)
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

/// The JOSE header fields the verifier reads.
#[derive(Default)]
struct Header<'a> {
    alg: Field<'a>,
}

impl<'de> ObjectFields<'de> for Header<'de> {
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "alg" => self.alg = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Checks a compact HS512 JWS and returns its decoded payload (not yet parsed).
///
/// Steps: (1) size and shape, (2) header is a JSON object with `alg` exactly `HS512`, (3) the
/// HMAC-SHA512 signature over `header.payload` matches in constant time, (4) the payload is
/// base64url. The caller parses the payload (a JSON object, else [`IdTokenError::Malformed`]).
pub(crate) fn verify_hs512(key: &[u8], token: &str) -> Result<Vec<u8>, IdTokenError> {
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
    let header_bytes = decode_base64url(header_b64).ok_or(IdTokenError::Malformed)?;
    // (2) The algorithm is pinned: `none`, `HS256`, `RS256`, ... are refused before any
    // signature work.
    let header = json::read_object::<Header<'_>>(&header_bytes).ok_or(IdTokenError::Malformed)?;
    match header.alg.as_str() {
        Some("HS512") => {}
        Some(alg) => return Err(IdTokenError::Algorithm { found: alg.chars().take(16).collect() }),
        None => return Err(IdTokenError::Algorithm { found: String::new() }),
    }
    // (3) Signature, compared in constant time by `verify_slice`.
    let signature = decode_base64url(signature_b64).ok_or(IdTokenError::InvalidSignature)?;
    let signed_len = header_b64.len() + 1 + payload_b64.len();
    let mut mac = mac(key);
    mac.update(&token.as_bytes()[..signed_len]);
    mac.verify_slice(&signature).map_err(|_| IdTokenError::InvalidSignature)?;
    // (4) Payload.
    decode_base64url(payload_b64).ok_or(IdTokenError::Malformed)
}
