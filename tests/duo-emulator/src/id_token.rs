//! The `id_token` Duo returns from the token endpoint (HS512 with the client secret), and the
//! defects tests can ask for.

use serde_json::{Map, Value, json};

use crate::clock::UnixTime;
use crate::jwt::{self, Algorithm};
use crate::state::{AuthRecord, IdTokenDefect};

/// Seconds an `id_token` lives after the authentication (a captured real token: 3600).
pub(crate) const LIFETIME_SECONDS: i64 = 3600;

/// Builds and signs the `id_token` for `record`, spoiled by `defect` if given.
pub(crate) fn issue(
    record: &AuthRecord,
    issuer: &str,
    secret: &str,
    now: UnixTime,
    defect: Option<IdTokenDefect>,
) -> String {
    let mut claims = claims(record, issuer, now);
    let mut alg = Algorithm::Hs512;
    let mut key = secret.as_bytes().to_vec();
    if let Some(defect) = defect {
        spoil(&mut claims, &mut alg, &mut key, defect, now);
        if defect == IdTokenDefect::Malformed {
            return "this-is-not-a-jwt".into();
        }
    }
    jwt::sign(alg, &claims, &key)
}

fn claims(record: &AuthRecord, issuer: &str, now: UnixTime) -> Map<String, Value> {
    let auth_time = record.auth_time.secs();
    let decision = &record.decision;
    let amr: Vec<&str> = match (decision.allow, decision.factor.as_str()) {
        (false, _) | (true, "not_available") => Vec::new(),
        (true, f) if f.contains("passcode") => vec!["mfa", "otp"],
        (true, _) => vec!["mfa"],
    };
    let null_location = json!({"city": null, "state": null, "country": null});
    let auth_device = match &decision.device {
        Some(d) => json!({"ip": null, "location": null_location, "name": d.name, "key": d.key}),
        None => json!({"ip": null, "location": null_location, "name": null, "key": null}),
    };
    let access = &record.access;
    let mut out = Map::new();
    out.insert("iss".into(), json!(issuer));
    out.insert("sub".into(), json!(record.sub));
    out.insert("aud".into(), json!(record.client_id));
    out.insert("exp".into(), json!(auth_time + LIFETIME_SECONDS));
    out.insert("iat".into(), json!(now.secs()));
    out.insert("auth_time".into(), json!(auth_time));
    out.insert("preferred_username".into(), json!(record.preferred_username));
    if let Some(nonce) = &record.nonce {
        out.insert("nonce".into(), json!(nonce));
    }
    out.insert("amr".into(), json!(amr));
    out.insert(
        "auth_result".into(),
        json!({
            "result": if decision.allow { "allow" } else { "deny" },
            "status": decision.status,
            "status_msg": decision.status_msg,
        }),
    );
    out.insert(
        "auth_context".into(),
        json!({
            "txid": record.txid,
            "timestamp": auth_time,
            "isotimestamp": record.auth_time.iso8601(),
            "event_type": "authentication",
            "factor": decision.factor,
            "result": decision.result,
            "reason": decision.reason,
            "alias": record.alias,
            "email": record.email,
            "ood_software": null,
            "trusted_endpoint_status": "not trusted",
            "user": {"name": record.sub, "key": record.user_key, "groups": record.groups},
            "application": {"name": record.app_name, "key": record.client_id},
            "auth_device": auth_device,
            "access_device": {
                "ip": access.ip,
                "location": null_location,
                "hostname": null,
                "epkey": null,
                "os": access.os,
                "os_version": access.os_version,
                "browser": access.browser,
                "browser_version": access.browser_version,
                "flash_version": "uninstalled",
                "java_version": "uninstalled",
                "is_encryption_enabled": "unknown",
                "is_firewall_enabled": "unknown",
                "is_password_set": "unknown",
            },
            "adaptive_trust_assessments": {
                "more_secure_auth": {
                    "features_version": "3.0",
                    "model_version": "2022.07.19.001",
                    "policy_enabled": false,
                    "reason": "Normal level of trust; no detection of known attack pattern",
                    "trust_level": "NORMAL",
                },
                "remember_me": {
                    "features_version": "3.0",
                    "model_version": "2022.12.14.001",
                    "policy_enabled": false,
                    "reason": "Remember me is not enabled",
                    "trust_level": "UNKNOWN",
                },
            },
        }),
    );
    out
}

fn spoil(
    claims: &mut Map<String, Value>,
    alg: &mut Algorithm,
    key: &mut Vec<u8>,
    defect: IdTokenDefect,
    now: UnixTime,
) {
    match defect {
        IdTokenDefect::WrongIss => {
            claims.insert(
                "iss".into(),
                json!("https://api-wrong.duosecurity.invalid/oauth/v1/token"),
            );
        }
        IdTokenDefect::WrongAud => {
            claims.insert("aud".into(), json!("DIWRONGCLIENTID00000"));
        }
        IdTokenDefect::AudArray => {
            let aud = claims.get("aud").cloned().unwrap_or(Value::Null);
            claims.insert("aud".into(), json!([aud, "DIWRONGCLIENTID00000"]));
        }
        IdTokenDefect::WrongNonce => {
            claims.insert("nonce".into(), json!("not-the-nonce-you-sent-0123456789"));
        }
        IdTokenDefect::MissingNonce => {
            claims.remove("nonce");
        }
        IdTokenDefect::WrongPreferredUsername => {
            claims.insert("preferred_username".into(), json!("mallory"));
        }
        IdTokenDefect::MissingPreferredUsername => {
            claims.remove("preferred_username");
        }
        IdTokenDefect::BadSignature => {
            *key = b"WrongSecretWrongSecretWrongSecretWrong00".to_vec();
        }
        IdTokenDefect::AlgHs256 => *alg = Algorithm::Hs256,
        IdTokenDefect::AlgNone => *alg = Algorithm::None,
        IdTokenDefect::Expired => {
            claims.insert("exp".into(), json!(now.secs() - LIFETIME_SECONDS));
            claims.insert("iat".into(), json!(now.secs() - 2 * LIFETIME_SECONDS));
            claims.insert("auth_time".into(), json!(now.secs() - 2 * LIFETIME_SECONDS));
        }
        IdTokenDefect::MissingExp => {
            claims.remove("exp");
        }
        IdTokenDefect::MissingIat => {
            claims.remove("iat");
        }
        IdTokenDefect::IatInFuture => {
            claims.insert("iat".into(), json!(now.secs() + 120));
        }
        IdTokenDefect::NbfInFuture => {
            claims.insert("nbf".into(), json!(now.secs() + 120));
        }
        IdTokenDefect::Malformed => {}
    }
}
