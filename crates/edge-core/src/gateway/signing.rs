//! The gateway's signing keys: ES256 (ECDSA over P-256 with SHA-256), as
//! JSON Web Keys. The secret `GATEWAY_KEYS` holds up to three:
//!
//! - `current` signs every assertion;
//! - `next` is published before it signs anything, so that every verifier
//!   has it in its cached key set by the time it does;
//! - `previous` stays published after a rotation, until the assertions it
//!   signed (minutes) have expired.
//!
//! `scripts/gateway-keys.mjs` makes and rotates the set. Each key's id is
//! its RFC 7638 thumbprint, checked here. The private parts (`d`) never
//! leave this module except to the signer; the published set ([`SigningKeys::jwks`])
//! has none.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Why `GATEWAY_KEYS` is refused (never quoting a key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// Not the JSON the command writes.
    #[error("not a key set as scripts/gateway-keys.mjs writes it: {0}")]
    Shape(String),
    /// A key is not an ES256 key.
    #[error("the {0} key is not an EC P-256 key with 32-byte coordinates")]
    NotP256(&'static str),
    /// A key that must sign has no private part.
    #[error("the {0} key has no private part")]
    NoPrivatePart(&'static str),
    /// A key's `kid` is not its thumbprint.
    #[error("the {0} key's kid is not its RFC 7638 thumbprint")]
    WrongKid(&'static str),
    /// Two roles hold the same key.
    #[error("the {0} and {1} keys are the same key")]
    Repeated(&'static str, &'static str),
}

/// A JSON Web Key as stored: an EC P-256 key, with its private part for
/// the keys that sign.
#[derive(Clone, Deserialize)]
struct StoredJwk {
    kty: String,
    crv: String,
    x: String,
    y: String,
    #[serde(default, deserialize_with = "private_part")]
    d: Option<Zeroizing<String>>,
    kid: String,
}

/// A private part, held in memory that is wiped when dropped.
fn private_part<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Zeroizing<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(|d| d.map(Zeroizing::new))
}

/// The set as stored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredSet {
    current: StoredJwk,
    #[serde(default)]
    next: Option<StoredJwk>,
    #[serde(default)]
    previous: Option<StoredJwk>,
}

/// A public key as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The point's x coordinate (base64url).
    pub x: String,
    /// The point's y coordinate (base64url).
    pub y: String,
    /// The key's id: its RFC 7638 thumbprint.
    pub kid: String,
    /// `ES256`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub usage: String,
}

/// `{"keys": [...]}`: what the JWKS URL answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// Current, next, previous (those present).
    pub keys: Vec<PublicJwk>,
}

/// The key that signs: its id, and the JSON Web Key to import (with its
/// private part). `Debug` shows the id only.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    jwk: Zeroizing<String>,
}

impl SigningKey {
    /// The key's id, for the JWS header's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private JSON Web Key, for `crypto.subtle.importKey("jwk", ...)`.
    pub fn private_jwk(&self) -> &str {
        &self.jwk
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The parsed `GATEWAY_KEYS`.
#[derive(Clone)]
pub struct SigningKeys {
    current: SigningKey,
    published: Vec<PublicJwk>,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.published.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("SigningKeys").field("published", &kids).finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Reads the secret's JSON.
    ///
    /// # Errors
    /// A [`KeysError`] naming the key at fault, never its value.
    pub fn parse(secret: &str) -> Result<Self, KeysError> {
        let set: StoredSet =
            serde_json::from_str(secret).map_err(|e| KeysError::Shape(shape_only(&e)))?;
        let current = checked("current", &set.current)?;
        let Some(d) = set.current.d.as_ref().filter(|d| decoded_len(d) == Some(32)) else {
            return Err(KeysError::NoPrivatePart("current"));
        };
        let mut published = vec![current];
        for (role, key) in [("next", &set.next), ("previous", &set.previous)] {
            if let Some(key) = key {
                let public = checked(role, key)?;
                if let Some(earlier) = published.iter().position(|k| k.kid == public.kid) {
                    return Err(KeysError::Repeated(["current", "next"][earlier], role));
                }
                published.push(public);
            }
        }
        let first = &published[0];
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": first.x, "y": first.y, "d": d.as_str(),
            "ext": false, "key_ops": ["sign"],
        });
        let current = SigningKey { kid: first.kid.clone(), jwk: Zeroizing::new(jwk.to_string()) };
        Ok(Self { current, published })
    }

    /// The key that signs.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// The public keys to publish: current, next, previous.
    pub fn jwks(&self) -> Jwks {
        Jwks { keys: self.published.clone() }
    }
}

/// `key`'s public part, once it is shown to be a P-256 key whose `kid` is
/// its thumbprint.
fn checked(role: &'static str, key: &StoredJwk) -> Result<PublicJwk, KeysError> {
    let coordinate = |c: &str| decoded_len(c) == Some(32);
    if key.kty != "EC" || key.crv != "P-256" || !coordinate(&key.x) || !coordinate(&key.y) {
        return Err(KeysError::NotP256(role));
    }
    if key.kid != thumbprint(&key.x, &key.y) {
        return Err(KeysError::WrongKid(role));
    }
    Ok(PublicJwk {
        kty: "EC".to_owned(),
        crv: "P-256".to_owned(),
        x: key.x.clone(),
        y: key.y.clone(),
        kid: key.kid.clone(),
        alg: "ES256".to_owned(),
        usage: "sig".to_owned(),
    })
}

/// The RFC 7638 thumbprint of an EC P-256 public key: the SHA-256 of its
/// required members in lexicographic order, without spaces, in base64url.
pub fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn decoded_len(value: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(value).ok().map(|bytes| bytes.len())
}

/// A JSON error's kind and place, without the text it quotes.
fn shape_only(error: &serde_json::Error) -> String {
    let kind = match error.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "a member missing or of the wrong type",
        serde_json::error::Category::Eof => "cut short",
    };
    format!("{kind} at line {} column {}", error.line(), error.column())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 7515, appendix A.3: an ES256 key.
    pub const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    pub const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    pub const D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";

    /// Another P-256 key (RFC 7520, section 3.2's public part).
    pub const X2: &str = "Ze2loSV3wrroKUN_4zhwGhCqo3Xhu1td4QjeQ5wIVR0";
    pub const Y2: &str = "HlLtdXARY_f55A3fnzQbPcm6hgr34Mp8p-nuzQCE0Zw";

    pub fn set(next: bool, previous: bool) -> String {
        let key = |x: &str, y: &str, d: Option<&str>| {
            let mut jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": thumbprint(x, y)});
            if let Some(d) = d {
                jwk["d"] = d.into();
            }
            jwk
        };
        let mut set = serde_json::json!({"current": key(X, Y, Some(D))});
        if next {
            set["next"] = key(X2, Y2, None);
        }
        if previous {
            set["previous"] = key(X2, Y2, None);
        }
        set.to_string()
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // Computed independently: `printf '%s' '{"crv":"P-256","kty":"EC",
        // "x":"<X>","y":"<Y>"}' | openssl dgst -sha256 -binary`, in base64url.
        assert_eq!(thumbprint(X, Y), "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
        assert_ne!(thumbprint(X, Y), thumbprint(X2, Y2));
    }

    #[test]
    fn a_set_publishes_its_public_keys_and_signs_with_the_current_one() {
        let keys = SigningKeys::parse(&set(true, false)).expect("a set");
        assert_eq!(keys.current().kid(), thumbprint(X, Y));
        let jwks = keys.jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(jwks.keys[1].kid, thumbprint(X2, Y2));
        let published = serde_json::to_string(&jwks).expect("JSON");
        assert!(!published.contains(D) && !published.contains("\"d\""), "{published}");
        assert!(keys.current().private_jwk().contains(D));
        assert!(!format!("{keys:?} {:?}", keys.current()).contains(D), "Debug hides the key");
    }

    #[test]
    fn a_wrong_set_is_named_never_quoted() {
        let cases = [
            ("not json".to_owned(), "not JSON"),
            (r#"{"next": {}}"#.to_owned(), "missing"),
            (set(false, false).replace(X, "AAAA"), "not an EC P-256"),
            (set(false, false).replace(&format!(",\"d\":\"{D}\""), ""), "no private part"),
            (set(false, false).replace(&thumbprint(X, Y), "kid-1"), "kid"),
            (set(true, true), "same key"),
            (set(false, false).replace("P-256", "P-384"), "not an EC P-256"),
        ];
        for (secret, says) in cases {
            let error = SigningKeys::parse(&secret).expect_err(&secret).to_string();
            assert!(error.contains(says), "{error:?} for {secret}");
            assert!(!error.contains(D), "quotes the key: {error}");
        }
    }
}
