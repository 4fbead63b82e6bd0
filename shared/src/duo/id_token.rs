//! Verification of Duo's `id_token` and a lenient typed view of its claims.

use super::authorize::{DuoUsername, Nonce};
use super::config::{DuoClient, Scheme};
use super::error::IdTokenError;
use super::http::TOKEN_PATH;
use super::inputs::UnixTime;
use super::json::{self, Field, Nested, ObjectFields};
use super::jwt;
use serde::de::MapAccess;
use serde_json::{Map, Value};
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// Clock leeway for `exp`, `iat` and `nbf`, as in Duo's SDKs.
pub const CLOCK_LEEWAY_SECONDS: i64 = 60;

/// How `preferred_username` is compared with the expected username.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsernameMatch {
    /// Byte for byte (the default, as in most SDKs).
    #[default]
    Exact,
    /// After Unicode lower-casing of both (Duo may return aliases lower-cased).
    CaseInsensitive,
}

/// What the ID token must say, from the login this callback belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The username sent as `duo_uname`.
    pub username: &'a DuoUsername,
    /// The nonce sent, if any; when `None`, a nonce in the token is ignored.
    pub nonce: Option<&'a Nonce>,
    /// How to compare the username.
    pub username_match: UsernameMatch,
}

impl<'a> Expectations<'a> {
    /// Expect this user and (optionally) this nonce, compared exactly.
    pub fn new(username: &'a DuoUsername, nonce: Option<&'a Nonce>) -> Self {
        Self { username, nonce, username_match: UsernameMatch::Exact }
    }
}

/// Duo's `auth_result.status`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthStatus {
    /// `allow`: the user passed the second factor.
    Allow,
    /// `deny`.
    Deny,
    /// Any other value (`fraud`, ...), kept as sent.
    Other(String),
}

/// A device flag that Duo reports as `true`, `false` or `"unknown"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriState {
    /// `true`.
    True,
    /// `false`.
    False,
    /// `"unknown"` (or any other string).
    Unknown,
}

impl TriState {
    fn from_json(value: Option<&Value>) -> Option<Self> {
        match value? {
            Value::Bool(true) => Some(Self::True),
            Value::Bool(false) => Some(Self::False),
            Value::String(_) => Some(Self::Unknown),
            _ => None,
        }
    }
}

/// A location as Duo reports it (each part may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub state: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// The device that approved (`auth_context.auth_device`), e.g. the phone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthDevice {
    /// Device name (e.g. a phone number or "My iPhone").
    pub name: Option<String>,
    /// Duo's device key.
    pub key: Option<String>,
    /// IP address.
    pub ip: Option<String>,
    /// Location.
    pub location: Location,
}

/// The device the user logged in from (`auth_context.access_device`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessDevice {
    /// IP address.
    pub ip: Option<String>,
    /// Host name.
    pub hostname: Option<String>,
    /// Endpoint key (`EP...`).
    pub epkey: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Operating system version.
    pub os_version: Option<String>,
    /// Browser.
    pub browser: Option<String>,
    /// Browser version.
    pub browser_version: Option<String>,
    /// Disk encryption.
    pub is_encryption_enabled: Option<TriState>,
    /// Firewall.
    pub is_firewall_enabled: Option<TriState>,
    /// Password set.
    pub is_password_set: Option<TriState>,
    /// Location.
    pub location: Location,
}

/// A verified ID token: signature, issuer, audience, times, nonce and username checked.
///
/// `auth_result` is **not** yet checked: call [`Self::require_allow`] (it needs both
/// `status` and `result` to say `allow`). The typed view is
/// lenient (missing or odd fields become `None`); [`Self::claims`] has everything.
///
/// Verification reads only the claims it checks; the full claims are parsed into a
/// `serde_json::Map` on the first call of an accessor that needs them (everything but
/// [`Self::username`], [`Self::issued_at`], [`Self::expires_at`], [`Self::status`],
/// [`Self::result`] and [`Self::require_allow`]), once.
#[derive(Clone)]
pub struct VerifiedIdToken {
    /// The verified payload: a JSON object (checked by `verify_id_token`).
    payload: Vec<u8>,
    /// The payload parsed, on first use.
    claims: OnceLock<Map<String, Value>>,
    username: String,
    expires_at: i64,
    issued_at: i64,
    auth_result: AuthResult,
}

/// `auth_result.status` and `auth_result.result` when they are strings, as
/// `claims["auth_result"][name].as_str()` reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct AuthResult {
    status: Option<String>,
    result: Option<String>,
}

/// Shows the claims (parsing them if needed) and the checked values; the cached parts are
/// views of the claims.
#[allow(clippy::missing_fields_in_debug)]
impl std::fmt::Debug for VerifiedIdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedIdToken")
            .field("claims", self.claims())
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// Two verified tokens are equal when their claims are.
impl PartialEq for VerifiedIdToken {
    fn eq(&self, other: &Self) -> bool {
        self.claims() == other.claims()
    }
}

fn at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn string_at(value: &Value, path: &[&str]) -> Option<String> {
    at(value, path).and_then(Value::as_str).map(str::to_owned)
}

fn location_at(value: &Value, path: &[&str]) -> Location {
    let loc = at(value, path);
    let part = |k: &str| loc.and_then(|l| l.get(k)).and_then(Value::as_str).map(str::to_owned);
    Location { city: part("city"), state: part("state"), country: part("country") }
}

impl VerifiedIdToken {
    fn context(&self) -> Option<&Value> {
        self.claims().get("auth_context")
    }

    fn context_string(&self, path: &[&str]) -> Option<String> {
        self.context().and_then(|c| string_at(c, path))
    }

    /// `preferred_username`, equal to the expected username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `sub`: Duo's primary username (differs from [`Self::username`] for an alias).
    pub fn subject(&self) -> Option<&str> {
        self.claims().get("sub").and_then(Value::as_str)
    }

    /// `auth_time`: when the second factor happened.
    pub fn auth_time(&self) -> Option<i64> {
        self.claims().get("auth_time").and_then(Value::as_i64)
    }

    /// `iat`.
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// `exp`.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// `amr` (e.g. `["mfa", "otp"]`); empty when absent.
    pub fn amr(&self) -> Vec<String> {
        self.claims()
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// `auth_result.status`, if present.
    pub fn status(&self) -> Option<AuthStatus> {
        Some(match self.auth_result.status.as_deref()? {
            "allow" => AuthStatus::Allow,
            "deny" => AuthStatus::Deny,
            other => AuthStatus::Other(other.to_owned()),
        })
    }

    /// `auth_result.result` (`allow`/`deny`).
    pub fn result(&self) -> Option<String> {
        self.auth_result.result.clone()
    }

    /// `auth_result.status_msg` (e.g. `Login Successful`).
    pub fn status_message(&self) -> Option<String> {
        string_at(self.claims().get("auth_result")?, &["status_msg"])
    }

    /// The explicit last check: `auth_result.status` and `auth_result.result` must both be
    /// exactly `allow` (issue #11: a token saying `status: allow, result: deny` is refused).
    ///
    /// # Errors
    /// [`IdTokenError::AuthResultMissing`], [`IdTokenError::NotAllowed`] (checked first, for
    /// `status`) or [`IdTokenError::ResultNotAllowed`].
    pub fn require_allow(&self) -> Result<(), IdTokenError> {
        let cut = |value: &str| value.chars().take(64).collect();
        match self.auth_result.status.as_deref() {
            None => return Err(IdTokenError::AuthResultMissing),
            Some("allow") => {}
            Some(status) => return Err(IdTokenError::NotAllowed { status: cut(status) }),
        }
        match self.auth_result.result.as_deref() {
            None => Err(IdTokenError::AuthResultMissing),
            Some("allow") => Ok(()),
            Some(result) => Err(IdTokenError::ResultNotAllowed { result: cut(result) }),
        }
    }

    /// `auth_context.txid`: Duo's transaction id, for the audit log.
    pub fn txid(&self) -> Option<String> {
        self.context_string(&["txid"])
    }

    /// `auth_context.factor` (e.g. `duo_push`, `passcode`, `phone_call`).
    pub fn factor(&self) -> Option<String> {
        self.context_string(&["factor"])
    }

    /// `auth_context.reason` (e.g. `user_approved`).
    pub fn reason(&self) -> Option<String> {
        self.context_string(&["reason"])
    }

    /// `auth_context.result` (e.g. `success`).
    pub fn context_result(&self) -> Option<String> {
        self.context_string(&["result"])
    }

    /// `auth_context.user.key` (`DU...`).
    pub fn user_key(&self) -> Option<String> {
        self.context_string(&["user", "key"])
    }

    /// `auth_context.user.groups`; empty when absent.
    pub fn user_groups(&self) -> Vec<String> {
        self.context()
            .and_then(|c| at(c, &["user", "groups"]))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// `auth_context.application.name`.
    pub fn application_name(&self) -> Option<String> {
        self.context_string(&["application", "name"])
    }

    /// `auth_context.auth_device`: the device that approved.
    pub fn auth_device(&self) -> AuthDevice {
        let Some(c) = self.context() else { return AuthDevice::default() };
        AuthDevice {
            name: string_at(c, &["auth_device", "name"]),
            key: string_at(c, &["auth_device", "key"]),
            ip: string_at(c, &["auth_device", "ip"]),
            location: location_at(c, &["auth_device", "location"]),
        }
    }

    /// `auth_context.access_device`: the device the user logged in from.
    pub fn access_device(&self) -> AccessDevice {
        let Some(c) = self.context() else { return AccessDevice::default() };
        let s = |k: &str| string_at(c, &["access_device", k]);
        let flag = |k: &str| TriState::from_json(at(c, &["access_device", k]));
        AccessDevice {
            ip: s("ip"),
            hostname: s("hostname"),
            epkey: s("epkey"),
            os: s("os"),
            os_version: s("os_version"),
            browser: s("browser"),
            browser_version: s("browser_version"),
            is_encryption_enabled: flag("is_encryption_enabled"),
            is_firewall_enabled: flag("is_firewall_enabled"),
            is_password_set: flag("is_password_set"),
            location: location_at(c, &["access_device", "location"]),
        }
    }

    /// All claims, as received (parsed on the first call).
    pub fn claims(&self) -> &Map<String, Value> {
        self.claims.get_or_init(|| {
            // `verify_id_token` read this payload with `json::read_object`, which accepts
            // exactly what `from_slice::<Value>` accepts as an object, so this is always
            // `Ok(Object)`; the empty fallback only keeps it panic-free.
            match serde_json::from_slice(&self.payload) {
                Ok(Value::Object(claims)) => claims,
                _ => Map::new(),
            }
        })
    }
}

/// The claims verification checks; everything else in the payload is validated and skipped.
#[derive(Default)]
struct CheckedClaims<'a> {
    iss: Field<'a>,
    aud: Field<'a>,
    exp: Field<'a>,
    iat: Field<'a>,
    nbf: Field<'a>,
    nonce: Field<'a>,
    preferred_username: Field<'a>,
    auth_result: AuthResultFields<'a>,
}

impl<'de> ObjectFields<'de> for CheckedClaims<'de> {
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        let field = match key {
            "iss" => &mut self.iss,
            "aud" => &mut self.aud,
            "exp" => &mut self.exp,
            "iat" => &mut self.iat,
            "nbf" => &mut self.nbf,
            "nonce" => &mut self.nonce,
            "preferred_username" => &mut self.preferred_username,
            "auth_result" => {
                self.auth_result = map.next_value::<Nested<AuthResultFields<'de>>>()?.0;
                return Ok(true);
            }
            _ => return Ok(false),
        };
        *field = map.next_value()?;
        Ok(true)
    }
}

/// `auth_result`'s two checked fields (both `Null` when `auth_result` is not an object).
#[derive(Default)]
struct AuthResultFields<'a> {
    status: Field<'a>,
    result: Field<'a>,
}

impl<'de> ObjectFields<'de> for AuthResultFields<'de> {
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        match key {
            "status" => self.status = map.next_value()?,
            "result" => self.result = map.next_value()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn required<'f, 'a>(
    field: &'f Field<'a>,
    claim: &'static str,
) -> Result<&'f Field<'a>, IdTokenError> {
    if field.is_null() { Err(IdTokenError::MissingClaim { claim }) } else { Ok(field) }
}

fn required_str<'f>(field: &'f Field<'_>, claim: &'static str) -> Result<&'f str, IdTokenError> {
    required(field, claim)?.as_str().ok_or(IdTokenError::MissingClaim { claim })
}

fn required_int(field: &Field<'_>, claim: &'static str) -> Result<i64, IdTokenError> {
    required(field, claim)?.as_i64().ok_or(IdTokenError::MissingClaim { claim })
}

fn ct_str_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl DuoClient {
    /// The issuer Duo puts in ID tokens: `https://{host}/oauth/v1/token`.
    fn expected_issuer(&self) -> String {
        format!("https://{}{TOKEN_PATH}", self.api_host.as_str())
    }

    /// Whether `iss` is `https://{host}/oauth/v1/token`, or for a loopback emulator over
    /// http, `http://{host}/oauth/v1/token` (without building either string).
    fn is_expected_issuer(&self, iss: &str) -> bool {
        let scheme_ok = |scheme: &str| {
            iss.strip_prefix(scheme)
                .and_then(|rest| rest.strip_prefix("://"))
                .and_then(|rest| rest.strip_prefix(self.api_host.as_str()))
                == Some(TOKEN_PATH)
        };
        scheme_ok("https") || (self.api_host.scheme() == Scheme::Http && scheme_ok("http"))
    }

    /// Verifies an ID token (steps after `OpenID` Connect Core 3.1.3.7, numbered).
    ///
    /// # Errors
    /// One [`IdTokenError`] variant per failed check, in the order of the steps.
    pub fn verify_id_token(
        &self,
        id_token: &str,
        expected: &Expectations<'_>,
        now: UnixTime,
    ) -> Result<VerifiedIdToken, IdTokenError> {
        let now = now.0;
        // 1-3. (OIDC 6-8) Compact JWS, `alg` exactly HS512, HMAC-SHA512 with the client
        //      secret, compared in constant time; payload a JSON object. Only the claims
        //      checked below are kept; the rest is validated and skipped.
        let payload = jwt::verify_hs512(self.client_secret.expose_secret(), id_token)?;
        let claims =
            json::read_object::<CheckedClaims<'_>>(&payload).ok_or(IdTokenError::Malformed)?;

        // 4. (OIDC 2) `iss` is `https://{host}/oauth/v1/token`; for a loopback emulator over
        //    http, `http://{host}/oauth/v1/token` is accepted too.
        let iss = required_str(&claims.iss, "iss")?;
        if !self.is_expected_issuer(iss) {
            return Err(IdTokenError::Issuer {
                expected: self.expected_issuer(),
                found: iss.chars().take(256).collect(),
            });
        }

        // 5. (OIDC 3-5) `aud` is this client id, a single value (a one-element array is read as
        //    that value); no `azp` needed.
        let aud = match required(&claims.aud, "aud")? {
            Field::Str(aud) | Field::Array { len: 1, first: Some(aud) } => aud,
            Field::Array { len: 1, first: None } => {
                return Err(IdTokenError::MissingClaim { claim: "aud" });
            }
            Field::Array { len, .. } => return Err(IdTokenError::AudienceCount { found: *len }),
            _ => return Err(IdTokenError::MissingClaim { claim: "aud" }),
        };
        if aud != self.client_id.as_str() {
            return Err(IdTokenError::Audience);
        }

        // 6. (OIDC 9) `exp` is not more than the leeway in the past.
        let exp = required_int(&claims.exp, "exp")?;
        if exp <= now.saturating_sub(CLOCK_LEEWAY_SECONDS) {
            return Err(IdTokenError::Expired { exp, now });
        }

        // 7. (OIDC 10) `iat` is present and not more than the leeway in the future.
        let iat = required_int(&claims.iat, "iat")?;
        if iat > now.saturating_add(CLOCK_LEEWAY_SECONDS) {
            return Err(IdTokenError::IssuedInFuture { iat, now });
        }

        // 8. `nbf`, if present, is not more than the leeway in the future.
        if !claims.nbf.is_null() {
            let nbf = claims.nbf.as_i64().ok_or(IdTokenError::MissingClaim { claim: "nbf" })?;
            if nbf > now.saturating_add(CLOCK_LEEWAY_SECONDS) {
                return Err(IdTokenError::NotYetValid { nbf, now });
            }
        }

        // 9. (OIDC 11) If a nonce was sent, the token carries the same one (constant time).
        if let Some(nonce) = expected.nonce {
            match &claims.nonce {
                Field::Null => return Err(IdTokenError::NonceMissing),
                Field::Str(found) if ct_str_eq(found, nonce.as_str()) => {}
                _ => return Err(IdTokenError::NonceMismatch),
            }
        }

        // 10. `preferred_username` is the user this login started with (constant time).
        //     `sub` is not checked: it is the primary username, which differs for aliases.
        let username = required_str(&claims.preferred_username, "preferred_username")?;
        let matches = match expected.username_match {
            UsernameMatch::Exact => ct_str_eq(username, expected.username.as_str()),
            UsernameMatch::CaseInsensitive => {
                ct_str_eq(&username.to_lowercase(), &expected.username.as_str().to_lowercase())
            }
        };
        if !matches {
            return Err(IdTokenError::UsernameMismatch);
        }

        // 11. `auth_result.status == "allow"` and `auth_result.result == "allow"` are a
        //     separate, explicit step: `VerifiedIdToken::require_allow`.
        let username = username.to_owned();
        let auth_result = AuthResult {
            status: claims.auth_result.status.into_string(),
            result: claims.auth_result.result.into_string(),
        };
        Ok(VerifiedIdToken {
            payload,
            claims: OnceLock::new(),
            username,
            expires_at: exp,
            issued_at: iat,
            auth_result,
        })
    }
}
