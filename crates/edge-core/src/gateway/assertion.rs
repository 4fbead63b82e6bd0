//! The signed identity the gateway adds to every request it forwards: a
//! JWT (JWS compact form, ES256) the app verifies against the published
//! keys, the way Cloudflare Access's `Cf-Access-Jwt-Assertion` is verified.
//!
//! The core builds the header and the claims and assembles the token; the
//! signature itself (ECDSA P-256 over the signing input, 64 bytes `r || s`,
//! which is what both `WebCrypto` and JWS use) comes from the Worker.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use shared::api::AuthMethod;

use super::signing::SigningKey;
use crate::keys::{IdHash, UserKey};

/// The header the assertion travels in.
pub const ASSERTION_HEADER: &str = "Duo-Login-Assertion";
/// The plain user header (for apps that trust the hop).
pub const USER_HEADER: &str = "Duo-Login-User";
/// The plain role header.
pub const ROLE_HEADER: &str = "Duo-Login-Role";
/// Every identity header: any a client sends is dropped before forwarding.
pub const IDENTITY_HEADERS: [&str; 3] = [ASSERTION_HEADER, USER_HEADER, ROLE_HEADER];

/// The longest an assertion lives (`GATEWAY_ASSERTION_TTL_SECONDS`'s most).
pub const MAX_TTL_SECONDS: u64 = 300;

/// Who is signed in, as the gateway forwards them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user's key (the assertion's `sub`).
    pub user: UserKey,
    /// The username as registered.
    pub username: String,
    /// `user` or `admin`.
    pub role: String,
    /// How the session was made.
    pub method: AuthMethod,
    /// When the user signed in (the session's start).
    pub auth_time: u64,
    /// The session (its id's hash: it names the session, opens nothing).
    pub session: IdHash,
    /// When the session ends (unix seconds): nothing trusts it past this.
    pub expires_at: u64,
}

/// The assertion's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The login's origin.
    pub iss: String,
    /// The app's audience (`GATEWAY_AUDIENCE`).
    pub aud: String,
    /// The user's key: the normalized username, stable across sign-ins.
    pub sub: String,
    /// The username as registered.
    pub username: String,
    /// `user` or `admin`.
    pub role: String,
    /// RFC 8176 methods: `pwd`, and `mfa` when Duo approved this sign-in.
    pub amr: Vec<String>,
    /// The session's method: `duo`, `bypass`, `fail_open` or `remembered`.
    pub method: String,
    /// When the user signed in.
    pub auth_time: u64,
    /// The session, by its id's hash.
    pub sid: String,
    /// Issued at.
    pub iat: u64,
    /// Expires at (at most [`MAX_TTL_SECONDS`] after `iat`).
    pub exp: u64,
    /// A unique id (random).
    pub jti: String,
}

impl Claims {
    /// The claims for `identity` at `now`, living `ttl` seconds, with the
    /// random `jti`.
    pub fn new(
        identity: &Identity,
        issuer: &str,
        audience: &str,
        now: u64,
        ttl: u64,
        jti: &[u8; 16],
    ) -> Self {
        let amr = match identity.method {
            AuthMethod::Duo => vec!["pwd".to_owned(), "mfa".to_owned()],
            AuthMethod::Bypass | AuthMethod::FailOpen | AuthMethod::Remembered => {
                vec!["pwd".to_owned()]
            }
        };
        Self {
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            sub: identity.user.as_str().to_owned(),
            username: identity.username.clone(),
            role: identity.role.clone(),
            amr,
            method: identity.method.as_str().to_owned(),
            auth_time: identity.auth_time,
            sid: identity.session.as_str().to_owned(),
            iat: now,
            // Never past the session's own end.
            exp: now.saturating_add(ttl.min(MAX_TTL_SECONDS)).min(identity.expires_at.max(now)),
            jti: URL_SAFE_NO_PAD.encode(jti),
        }
    }
}

/// The part of a JWS that is signed: `base64url(header) . base64url(claims)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningInput(String);

impl SigningInput {
    /// The signing input of `claims` under `key` (`alg` ES256, its `kid`).
    pub fn new(key: &SigningKey, claims: &Claims) -> Self {
        let header = serde_json::json!({"alg": "ES256", "kid": key.kid(), "typ": "JWT"});
        let claims = serde_json::to_vec(claims).unwrap_or_default();
        Self(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims)
        ))
    }

    /// The bytes to sign.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The compact JWS: this input and the ECDSA signature (`r || s`, 64
    /// bytes); `None` for a signature of another length.
    pub fn signed(self, signature: &[u8]) -> Option<String> {
        (signature.len() == 64).then(|| format!("{}.{}", self.0, URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

    use super::super::signing::SigningKeys;
    use super::super::signing::tests::{D, X, Y, set};
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn identity(method: AuthMethod) -> Identity {
        Identity {
            user: UserKey::of("Alice").expect("a name"),
            username: "Alice".to_owned(),
            role: "admin".to_owned(),
            method,
            auth_time: NOW - 600,
            session: IdHash::of(b"a session id"),
            expires_at: NOW + 3_600,
        }
    }

    /// Signs as the Worker does (ECDSA P-256, SHA-256, `r || s`), with
    /// `ring` standing in for `WebCrypto`.
    fn sign(input: &SigningInput) -> Vec<u8> {
        let b64 = |v: &str| URL_SAFE_NO_PAD.decode(v).expect("base64url");
        let public = [vec![4], b64(X), b64(Y)].concat();
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &b64(D),
            &public,
            &rng,
        )
        .expect("the RFC 7515 key");
        pair.sign(&rng, input.as_bytes()).expect("signed").as_ref().to_vec()
    }

    fn token(claims: &Claims) -> String {
        let keys = SigningKeys::parse(&set(false, false)).expect("keys");
        let input = SigningInput::new(keys.current(), claims);
        let signature = sign(&input);
        input.signed(&signature).expect("64 bytes")
    }

    fn validation(audience: &str) -> Validation {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&["https://login.example"]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation
    }

    fn decoding_key() -> DecodingKey {
        DecodingKey::from_ec_components(X, Y).expect("the public key")
    }

    #[test]
    fn jsonwebtoken_verifies_the_assertion_and_reads_every_claim() {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims::new(
            &identity(AuthMethod::Duo),
            "https://login.example",
            "app",
            now,
            120,
            &[7; 16],
        );
        let jwt = token(&claims);
        let header = jsonwebtoken::decode_header(&jwt).expect("a header");
        assert_eq!(header.kid.as_deref(), Some(super::super::signing::thumbprint(X, Y).as_str()));
        let read = decode::<Claims>(&jwt, &decoding_key(), &validation("app")).expect("verified");
        assert_eq!(read.claims, claims);
        assert_eq!(read.claims.sub, "alice");
        assert_eq!(read.claims.amr, ["pwd", "mfa"]);
        assert_eq!(read.claims.exp - read.claims.iat, 120);
        assert_eq!(read.claims.sid, IdHash::of(b"a session id").as_str());
    }

    #[test]
    fn a_forged_expired_or_foreign_assertion_is_refused_by_the_verifier() {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims::new(
            &identity(AuthMethod::Duo),
            "https://login.example",
            "app",
            now,
            120,
            &[7; 16],
        );
        let jwt = token(&claims);
        // Another audience.
        assert!(decode::<Claims>(&jwt, &decoding_key(), &validation("other-app")).is_err());
        // A claim changed after signing.
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        let forged =
            Claims { role: "admin".to_owned(), username: "mallory".to_owned(), ..claims.clone() };
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("JSON"));
        assert!(decode::<Claims>(&parts.join("."), &decoding_key(), &validation("app")).is_err());
        // Another key.
        let other = DecodingKey::from_ec_components(
            super::super::signing::tests::X2,
            super::super::signing::tests::Y2,
        )
        .expect("a key");
        assert!(decode::<Claims>(&jwt, &other, &validation("app")).is_err());
        // Expired.
        let old = Claims::new(
            &identity(AuthMethod::Duo),
            "https://login.example",
            "app",
            now - 1000,
            120,
            &[7; 16],
        );
        assert!(decode::<Claims>(&token(&old), &decoding_key(), &validation("app")).is_err());
    }

    #[test]
    fn only_a_duo_approval_says_mfa_and_no_assertion_lives_long() {
        for (method, amr) in [
            (AuthMethod::Duo, vec!["pwd", "mfa"]),
            (AuthMethod::Bypass, vec!["pwd"]),
            (AuthMethod::FailOpen, vec!["pwd"]),
            (AuthMethod::Remembered, vec!["pwd"]),
        ] {
            let claims = Claims::new(&identity(method), "i", "a", NOW, 3600, &[1; 16]);
            assert_eq!(claims.amr, amr, "{method:?}");
            assert_eq!(claims.method, method.as_str());
            assert_eq!(claims.exp, NOW + MAX_TTL_SECONDS, "capped");
        }
        let ending = Identity { expires_at: NOW + 30, ..identity(AuthMethod::Duo) };
        let claims = Claims::new(&ending, "i", "a", NOW, 120, &[1; 16]);
        assert_eq!(claims.exp, NOW + 30, "never past the session's end");
    }

    #[test]
    fn a_signature_is_64_bytes() {
        let keys = SigningKeys::parse(&set(false, false)).expect("keys");
        let claims = Claims::new(&identity(AuthMethod::Duo), "i", "a", NOW, 60, &[1; 16]);
        assert_eq!(
            SigningInput::new(keys.current(), &claims).signed(&[0; 70]),
            None,
            "DER, not JWS"
        );
        assert_eq!(SigningInput::new(keys.current(), &claims).signed(&[0; 63]), None);
    }
}
