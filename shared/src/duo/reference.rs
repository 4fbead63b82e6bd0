//! The `serde_json::Value`-based verification as it was before issue #10, kept as an oracle:
//! the property tests check that the allocation-light verifier gives the same answer, error
//! for error, on arbitrary signed tokens and token responses (native only).

#![allow(clippy::unwrap_used)]

use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};

/// What a verification yields: the checked values and the answers of the `auth_result` view.
pub(crate) type Outcome = Result<(String, i64, i64, Option<AuthStatus>, Option<String>), DuoError>;

/// The answers of the new verifier, in the reference's shape.
pub(crate) fn outcome(verified: Result<VerifiedIdToken, DuoError>) -> Outcome {
    verified
        .map(|v| (v.username().to_owned(), v.expires_at(), v.issued_at(), v.status(), v.result()))
}

/// `require_allow`, computed from the claims map as before.
pub(crate) fn require_allow(claims: &Map<String, Value>) -> Result<(), IdTokenError> {
    let auth_result = claims.get("auth_result");
    let field = |name: &str| auth_result.and_then(|r| r.get(name)).and_then(Value::as_str);
    let cut = |value: &str| value.chars().take(64).collect();
    match field("status") {
        None => return Err(IdTokenError::AuthResultMissing),
        Some("allow") => {}
        Some(status) => return Err(IdTokenError::NotAllowed { status: cut(status) }),
    }
    match field("result") {
        None => Err(IdTokenError::AuthResultMissing),
        Some("allow") => Ok(()),
        Some(result) => Err(IdTokenError::ResultNotAllowed { result: cut(result) }),
    }
}

fn verify_hs512(key: &[u8], token: &str) -> Result<Map<String, Value>, IdTokenError> {
    if token.len() > 32 * 1024 {
        return Err(IdTokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| IdTokenError::Malformed)?;
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&header_bytes) else {
        return Err(IdTokenError::Malformed);
    };
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS512" => {}
        Some(Value::String(alg)) => {
            return Err(IdTokenError::Algorithm { found: alg.chars().take(16).collect() });
        }
        _ => return Err(IdTokenError::Algorithm { found: String::new() }),
    }
    let signature =
        URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| IdTokenError::InvalidSignature)?;
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
    mac.update(&token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()]);
    mac.verify_slice(&signature).map_err(|_| IdTokenError::InvalidSignature)?;
    let payload_bytes = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| IdTokenError::Malformed)?;
    match serde_json::from_slice(&payload_bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(IdTokenError::Malformed),
    }
}

fn required<'c>(
    claims: &'c Map<String, Value>,
    claim: &'static str,
) -> Result<&'c Value, IdTokenError> {
    match claims.get(claim) {
        None | Some(Value::Null) => Err(IdTokenError::MissingClaim { claim }),
        Some(v) => Ok(v),
    }
}

fn required_str<'c>(
    claims: &'c Map<String, Value>,
    claim: &'static str,
) -> Result<&'c str, IdTokenError> {
    required(claims, claim)?.as_str().ok_or(IdTokenError::MissingClaim { claim })
}

fn required_int(claims: &Map<String, Value>, claim: &'static str) -> Result<i64, IdTokenError> {
    required(claims, claim)?.as_i64().ok_or(IdTokenError::MissingClaim { claim })
}

/// The old `verify_id_token`, returning the claims map too.
pub(crate) fn verify_id_token(
    client_id: &str,
    secret: &str,
    host: &str,
    id_token: &str,
    expected: &Expectations<'_>,
    now: i64,
) -> Result<(Outcome, Map<String, Value>), IdTokenError> {
    let claims = verify_hs512(secret.as_bytes(), id_token)?;
    let iss = required_str(&claims, "iss")?;
    let expected_iss = format!("https://{host}/oauth/v1/token");
    if iss != expected_iss {
        return Err(IdTokenError::Issuer {
            expected: expected_iss,
            found: iss.chars().take(256).collect(),
        });
    }
    let aud = match required(&claims, "aud")? {
        Value::String(aud) => aud.as_str(),
        Value::Array(list) => match list.as_slice() {
            [Value::String(aud)] => aud.as_str(),
            [_] => return Err(IdTokenError::MissingClaim { claim: "aud" }),
            other => return Err(IdTokenError::AudienceCount { found: other.len() }),
        },
        _ => return Err(IdTokenError::MissingClaim { claim: "aud" }),
    };
    if aud != client_id {
        return Err(IdTokenError::Audience);
    }
    let exp = required_int(&claims, "exp")?;
    if exp <= now.saturating_sub(CLOCK_LEEWAY_SECONDS) {
        return Err(IdTokenError::Expired { exp, now });
    }
    let iat = required_int(&claims, "iat")?;
    if iat > now.saturating_add(CLOCK_LEEWAY_SECONDS) {
        return Err(IdTokenError::IssuedInFuture { iat, now });
    }
    match claims.get("nbf") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let nbf = v.as_i64().ok_or(IdTokenError::MissingClaim { claim: "nbf" })?;
            if nbf > now.saturating_add(CLOCK_LEEWAY_SECONDS) {
                return Err(IdTokenError::NotYetValid { nbf, now });
            }
        }
    }
    if let Some(nonce) = expected.nonce {
        match claims.get("nonce") {
            None | Some(Value::Null) => return Err(IdTokenError::NonceMissing),
            Some(Value::String(found)) if found == nonce.as_str() => {}
            Some(_) => return Err(IdTokenError::NonceMismatch),
        }
    }
    let username = required_str(&claims, "preferred_username")?;
    let matches = match expected.username_match {
        UsernameMatch::Exact => username == expected.username.as_str(),
        _ => username.to_lowercase() == expected.username.as_str().to_lowercase(),
    };
    if !matches {
        return Err(IdTokenError::UsernameMismatch);
    }
    let auth_result = claims.get("auth_result");
    let field = |name: &str| auth_result.and_then(|r| r.get(name)).and_then(Value::as_str);
    let status = field("status").map(|s| match s {
        "allow" => AuthStatus::Allow,
        "deny" => AuthStatus::Deny,
        other => AuthStatus::Other(other.to_owned()),
    });
    let outcome = Ok((username.to_owned(), exp, iat, status, field("result").map(str::to_owned)));
    Ok((outcome, claims))
}

/// The old envelope checks of `verify_token_response` for a 2xx response, then the old
/// `verify_id_token`.
pub(crate) fn verify_token_response(
    client_id: &str,
    secret: &str,
    host: &str,
    body: &[u8],
    expected: &Expectations<'_>,
    now: i64,
) -> Outcome {
    let non_empty_str = |body: &Map<String, Value>, name: &'static str| match body.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(DuoError::from(MalformedResponse::MissingField(name))),
    };
    if body.len() > MAX_RESPONSE_BODY {
        return Err(MalformedResponse::TooLarge.into());
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
        return Err(MalformedResponse::NotJson.into());
    };
    let id_token = non_empty_str(&body, "id_token")?;
    non_empty_str(&body, "access_token")?;
    match body.get("expires_in") {
        None | Some(Value::Null) => {
            return Err(MalformedResponse::MissingField("expires_in").into());
        }
        Some(v) if v.as_u64().is_some_and(|n| n > 0) => {}
        Some(_) => return Err(MalformedResponse::ExpiresIn.into()),
    }
    if !non_empty_str(&body, "token_type")?.eq_ignore_ascii_case("Bearer") {
        return Err(MalformedResponse::TokenType.into());
    }
    verify_id_token(client_id, secret, host, &id_token, expected, now)?.0
}
