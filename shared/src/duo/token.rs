//! The back channel as data: client assertions, the health-check and token requests, and the
//! parsing of their responses.

use super::config::DuoClient;
use super::error::{DuoError, InputError, MalformedResponse};
use super::http::{HEALTH_CHECK_PATH, HttpRequest, HttpResponse, MAX_RESPONSE_BODY, TOKEN_PATH};
use super::id_token::{Expectations, VerifiedIdToken};
use super::inputs::{RandomBytes, UnixTime};
use super::json::{self, Field, ObjectFields};
use super::jwt;
use serde::Serialize;
use serde::de::MapAccess;
use serde_json::{Map, Value};

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The one-time authorization code from the callback (`duo_code`, or `code`): non-empty,
/// printable ASCII, at most 1024 bytes. `Debug` hides it.
#[derive(Clone)]
pub struct AuthCode(String);

impl AuthCode {
    /// Parses the code from the callback's query.
    ///
    /// # Errors
    /// [`InputError::CodeEmpty`] or [`InputError::CodeMalformed`].
    pub fn parse(value: &str) -> Result<Self, InputError> {
        if value.is_empty() {
            return Err(InputError::CodeEmpty);
        }
        if value.len() > 1024 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InputError::CodeMalformed);
        }
        Ok(Self(value.to_owned()))
    }
}

impl std::fmt::Debug for AuthCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthCode([redacted])")
    }
}

/// A successful health check (`{"stat": "OK", "response": {"timestamp": ...}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Duo's clock (`response.timestamp`), if it sent one: compare with yours to spot skew.
    pub timestamp: Option<i64>,
}

/// Client assertion claims (RFC 7523), in emitted order. No `nbf`: Duo applies no leeway to it.
#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: &'a str,
}

impl DuoClient {
    /// A client assertion for `endpoint` (its full URL is the `aud`).
    fn client_assertion(&self, aud: &str, now: UnixTime, jti_random: &RandomBytes) -> String {
        let jti = jwt::base64url(jti_random);
        let claims = AssertionClaims {
            iss: self.client_id.as_str(),
            sub: self.client_id.as_str(),
            aud,
            exp: now.0.saturating_add(self.jwt_lifetime.seconds()),
            iat: now.0,
            jti: &jti,
        };
        jwt::sign(self.client_secret.expose_secret(), &claims)
    }

    /// `POST https://{host}/oauth/v1/health_check` with `client_id` and `client_assertion`.
    pub fn health_check_request(&self, now: UnixTime, jti_random: &RandomBytes) -> HttpRequest {
        let url = self.api_host.url(HEALTH_CHECK_PATH);
        let assertion = self.client_assertion(&url, now, jti_random);
        HttpRequest::form_post(
            url,
            &self.user_agent,
            &[("client_id", self.client_id.as_str()), ("client_assertion", &assertion)],
        )
    }

    /// Interprets the health check's response.
    ///
    /// # Errors
    /// [`DuoError::HealthCheckFailed`] for a `stat: FAIL` body at any status,
    /// [`DuoError::OAuth`] for an OAuth error body, [`DuoError::Http`] for another non-2xx
    /// answer, [`DuoError::MalformedResponse`] for a 2xx answer of the wrong shape.
    pub fn parse_health_check_response(
        &self,
        response: &HttpResponse,
    ) -> Result<HealthCheck, DuoError> {
        let Some(body) = response.json_object() else {
            return Err(unparsable(response));
        };
        match body.get("stat").and_then(Value::as_str) {
            Some("OK") if response.is_success() => Ok(HealthCheck {
                timestamp: body
                    .get("response")
                    .and_then(|r| r.get("timestamp"))
                    .and_then(Value::as_i64),
            }),
            Some("FAIL") => Err(DuoError::HealthCheckFailed {
                status: response.status,
                code: body.get("code").and_then(Value::as_i64),
                message: string_field(&body, "message"),
                detail: string_field(&body, "message_detail"),
            }),
            _ => Err(error_body(response, &body).unwrap_or_else(|| {
                if response.is_success() {
                    match body.get("stat") {
                        None | Some(Value::Null) => MalformedResponse::MissingField("stat").into(),
                        Some(_) => MalformedResponse::UnexpectedStat.into(),
                    }
                } else {
                    http_error(response)
                }
            })),
        }
    }

    /// `POST https://{host}/oauth/v1/token` with `grant_type=authorization_code`, the code, the
    /// same `redirect_uri`, `client_assertion_type`, `client_assertion` and `client_id`.
    pub fn token_request(
        &self,
        code: &AuthCode,
        now: UnixTime,
        jti_random: &RandomBytes,
    ) -> HttpRequest {
        let url = self.api_host.url(TOKEN_PATH);
        let assertion = self.client_assertion(&url, now, jti_random);
        HttpRequest::form_post(
            url,
            &self.user_agent,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code.0),
                ("redirect_uri", self.redirect_uri.as_str()),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", &assertion),
                ("client_id", self.client_id.as_str()),
            ],
        )
    }

    /// Checks the token response's envelope (`id_token`, `access_token`, `expires_in > 0`,
    /// `token_type` `Bearer` in any ASCII case) and verifies its `id_token`.
    ///
    /// Does **not** check `auth_result`: call [`VerifiedIdToken::require_allow`].
    ///
    /// # Errors
    /// [`DuoError::OAuth`] for an OAuth error body, [`DuoError::Http`] for another non-2xx
    /// answer, [`DuoError::MalformedResponse`] for a bad envelope, [`DuoError::IdToken`] for
    /// a token that fails a check.
    pub fn verify_token_response(
        &self,
        response: &HttpResponse,
        expected: &Expectations<'_>,
        now: UnixTime,
    ) -> Result<VerifiedIdToken, DuoError> {
        if !response.is_success() {
            let Some(body) = response.json_object() else {
                return Err(unparsable(response));
            };
            return Err(error_body(response, &body).unwrap_or_else(|| http_error(response)));
        }
        // Only the four envelope fields are read; the `id_token` string is borrowed from the
        // body, not copied.
        let body = (response.body.len() <= MAX_RESPONSE_BODY)
            .then(|| json::read_object::<TokenEnvelope<'_>>(&response.body))
            .flatten()
            .ok_or_else(|| unparsable(response))?;
        let id_token = non_empty_str(&body.id_token, "id_token")?;
        non_empty_str(&body.access_token, "access_token")?;
        match &body.expires_in {
            Field::Null => return Err(MalformedResponse::MissingField("expires_in").into()),
            v if v.as_u64().is_some_and(|n| n > 0) => {}
            _ => return Err(MalformedResponse::ExpiresIn.into()),
        }
        // RFC 6749, section 5.1: the value is case insensitive.
        if !non_empty_str(&body.token_type, "token_type")?.eq_ignore_ascii_case("Bearer") {
            return Err(MalformedResponse::TokenType.into());
        }
        Ok(self.verify_id_token(id_token, expected, now)?)
    }
}

/// The fields of a successful token response that are checked.
#[derive(Default)]
struct TokenEnvelope<'a> {
    id_token: Field<'a>,
    access_token: Field<'a>,
    expires_in: Field<'a>,
    token_type: Field<'a>,
}

impl<'de> ObjectFields<'de> for TokenEnvelope<'de> {
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error> {
        let field = match key {
            "id_token" => &mut self.id_token,
            "access_token" => &mut self.access_token,
            "expires_in" => &mut self.expires_in,
            "token_type" => &mut self.token_type,
            _ => return Ok(false),
        };
        *field = map.next_value()?;
        Ok(true)
    }
}

fn non_empty_str<'f>(field: &'f Field<'_>, name: &'static str) -> Result<&'f str, DuoError> {
    match field.as_str() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(MalformedResponse::MissingField(name).into()),
    }
}

fn string_field(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name).and_then(Value::as_str).map(|s| s.chars().take(1024).collect())
}

/// An OAuth error body (`{"error": ..., "error_description": ...}`) at any status.
fn error_body(response: &HttpResponse, body: &Map<String, Value>) -> Option<DuoError> {
    let error = body.get("error")?.as_str()?;
    Some(DuoError::OAuth {
        status: response.status,
        error: error.chars().take(128).collect(),
        description: string_field(body, "error_description"),
    })
}

fn http_error(response: &HttpResponse) -> DuoError {
    DuoError::Http { status: response.status, body: response.body_excerpt() }
}

/// A body that is not a JSON object (or too large): an HTTP error, or malformed when 2xx.
fn unparsable(response: &HttpResponse) -> DuoError {
    if !response.is_success() {
        http_error(response)
    } else if response.body.len() > MAX_RESPONSE_BODY {
        MalformedResponse::TooLarge.into()
    } else {
        MalformedResponse::NotJson.into()
    }
}
