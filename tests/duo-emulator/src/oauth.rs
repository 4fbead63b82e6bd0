//! Duo's three OIDC endpoints: health check, authorize, token (duo-protocol.md §5–§8, §11).

use std::net::IpAddr;

use http::header;
use serde_json::{Value, json};

use crate::clock::UnixTime;
use crate::config::{AppConfig, Capability, NewUserPolicy, UserConfig, UserStatus};
use crate::html;
use crate::id_token;
use crate::jwt::{self, JwtError};
use crate::params::Params;
use crate::state::{
    AccessDevice, AuthRecord, CodeGrant, Decision, DeviceUsed, Endpoint, Fault, Inner, Outcome,
    Session, Shared, View, device_used, duo_key, random_hex, random_uuid,
};
use crate::web::{HandlerError, Req, Resp, html, json, redirect, refused, with_query};

/// `client_assertion_type` every SDK sends to the token endpoint.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Duo's catch-all `invalid_client` description.
pub const INVALID_ASSERTION: &str = "The provided client_assertion was invalid.";
/// Token endpoint: `client_id` parameter differs from the assertion's `iss`.
pub const ISS_MISMATCH: &str =
    "Invalid Client assertion: The `iss` claim must match the supplied client_id";
/// Token endpoint: reused, unknown, expired or foreign code.
pub const INVALID_GRANT: &str = "The provided authorization grant (e.g., authorization code) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.";
/// Token endpoint: app without Universal Prompt access.
pub const NO_FRAMELESS_CUSTOMER: &str = "Customer does not have frameless access enabled.";
/// Health check: app without Universal Prompt access.
pub const NO_FRAMELESS_INTEGRATION: &str = "Integration type does not support frameless access";
/// Assertions may not expire more than an hour ahead (Duo, 2026).
const MAX_EXP_AHEAD_SECONDS: f64 = 3600.0;

/// Why a client assertion was refused (all but `ClientIdMismatch` share Duo's catch-all text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AssertionError {
    Missing,
    Jwt(JwtError),
    ClientIdMismatch,
    UnknownClient,
    IssMismatch,
    SubMismatch,
    AudMismatch,
    ExpMissing,
    Expired,
    ExpTooFarAhead,
    NotYetValid,
    JtiMissing,
}

impl AssertionError {
    fn describe(&self) -> String {
        match self {
            Self::Missing => "no client_assertion".into(),
            Self::Jwt(e) => e.to_string(),
            Self::ClientIdMismatch => "client_id parameter differs from the assertion's iss".into(),
            Self::UnknownClient => "unknown client".into(),
            Self::IssMismatch => "iss is not the client id".into(),
            Self::SubMismatch => "sub is not the client id".into(),
            Self::AudMismatch => "aud is not this endpoint's URL".into(),
            Self::ExpMissing => "exp missing or not numeric".into(),
            Self::Expired => "exp is in the past".into(),
            Self::ExpTooFarAhead => "exp is more than one hour ahead".into(),
            Self::NotYetValid => "nbf is in the future (Duo allows no leeway)".into(),
            Self::JtiMissing => "jti missing".into(),
        }
    }
}

/// Checks a client assertion (§5.1, §11.2) and returns the app it authenticates.
pub(crate) fn check_assertion(
    inner: &Inner,
    params: &Params,
    expected_aud: &str,
    now: UnixTime,
    leeway: i64,
) -> Result<AppConfig, AssertionError> {
    let token = params.non_empty("client_assertion").ok_or(AssertionError::Missing)?;
    let unverified = jwt::decode_unverified(token).map_err(AssertionError::Jwt)?;
    let iss = unverified.claims.get("iss").and_then(Value::as_str);
    let client_id = match (params.non_empty("client_id"), iss) {
        (Some(param), Some(iss)) if param != iss => return Err(AssertionError::ClientIdMismatch),
        (Some(param), _) => param,
        (None, Some(iss)) => iss,
        (None, None) => return Err(AssertionError::UnknownClient),
    };
    let app = inner.app(client_id).ok_or(AssertionError::UnknownClient)?;
    let claims =
        jwt::verify_hs512(token, app.client_secret.as_bytes()).map_err(AssertionError::Jwt)?.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(app.client_id.as_str()) {
        return Err(AssertionError::IssMismatch);
    }
    if claims.get("sub").and_then(Value::as_str) != Some(app.client_id.as_str()) {
        return Err(AssertionError::SubMismatch);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected_aud,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected_aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(AssertionError::AudMismatch);
    }
    check_times(&claims, now, leeway)?;
    if claims.get("jti").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(AssertionError::JtiMissing);
    }
    Ok(app.clone())
}

/// `exp` required (int, float or numeric string), not past, at most an hour ahead; `nbf` with
/// zero leeway.
#[allow(clippy::cast_precision_loss)] // leeway is a handful of seconds
fn check_times(
    claims: &serde_json::Map<String, Value>,
    now: UnixTime,
    leeway: i64,
) -> Result<(), AssertionError> {
    let now = now.secs_f64();
    let exp = jwt::numeric_date(claims.get("exp")).ok_or(AssertionError::ExpMissing)?;
    if exp <= now - leeway as f64 {
        return Err(AssertionError::Expired);
    }
    if exp > now + MAX_EXP_AHEAD_SECONDS {
        return Err(AssertionError::ExpTooFarAhead);
    }
    if claims.contains_key("nbf") {
        match jwt::numeric_date(claims.get("nbf")) {
            Some(nbf) if nbf <= now => {}
            _ => return Err(AssertionError::NotYetValid),
        }
    }
    Ok(())
}

/// `POST /oauth/v1/health_check`.
pub(crate) fn health_check(shared: &Shared, req: &Req) -> Resp {
    let content_type = req.header(&header::CONTENT_TYPE);
    let now = shared.now();
    let mut inner = shared.lock();
    let fail_status = shared.config.health_fail_status;
    let forced =
        inner.take_first_fault(Endpoint::HealthCheck, |f| matches!(f, Fault::HealthFail { .. }));
    if let Some(Fault::HealthFail { status, code, message, message_detail }) = forced {
        let body = fail_body(
            code.unwrap_or(40002),
            message.as_deref().unwrap_or("invalid_client"),
            message_detail.as_deref().unwrap_or(INVALID_ASSERTION),
            now,
        );
        return refused(json(status.unwrap_or(fail_status), &body), "health_fail fault");
    }
    let Ok(params) = Params::from_request(req.query.as_deref(), content_type, &req.body) else {
        let body = fail_body(40002, "invalid_client", INVALID_ASSERTION, now);
        return refused(json(fail_status, &body), "malformed body");
    };
    let aud = format!("{}/oauth/v1/health_check", req.base_url());
    match check_assertion(&inner, &params, &aud, now, shared.config.exp_leeway_seconds) {
        Err(e) => {
            let body = fail_body(40002, "invalid_client", INVALID_ASSERTION, now);
            refused(json(fail_status, &body), e.describe())
        }
        Ok(app) if !app.frameless => {
            let body = fail_body(40002, "invalid_client", NO_FRAMELESS_INTEGRATION, now);
            refused(json(fail_status, &body), "app has frameless = false")
        }
        Ok(_) => json(200, &json!({"stat": "OK", "response": {"timestamp": now.secs()}})),
    }
}

fn fail_body(code: u32, message: &str, detail: &str, now: UnixTime) -> Value {
    json!({
        "stat": "FAIL",
        "code": code,
        "message": message,
        "message_detail": detail,
        "timestamp": now.secs(),
    })
}

fn oauth_error(status: u16, error: &str, description: &str, why: impl Into<String>) -> Resp {
    refused(json(status, &json!({"error": error, "error_description": description})), why)
}

/// `POST /oauth/v1/token`.
// Duo's checks in order, one early return each; splitting them would hide the order.
#[allow(clippy::too_many_lines)]
pub(crate) fn token(shared: &Shared, req: &Req) -> Result<Resp, HandlerError> {
    let content_type = req.header(&header::CONTENT_TYPE);
    let Ok(params) = Params::from_request(req.query.as_deref(), content_type, &req.body) else {
        return Ok(oauth_error(
            400,
            "invalid_request",
            "Malformed request body.",
            "malformed body",
        ));
    };
    let now = shared.now();
    let mut inner = shared.lock();
    if params.get("client_assertion_type") != Some(JWT_BEARER) {
        return Ok(oauth_error(
            400,
            "invalid_client",
            INVALID_ASSERTION,
            "wrong client_assertion_type",
        ));
    }
    let aud = format!("{}/oauth/v1/token", req.base_url());
    let app = match check_assertion(&inner, &params, &aud, now, shared.config.exp_leeway_seconds) {
        Ok(app) => app,
        Err(AssertionError::ClientIdMismatch) => {
            return Ok(oauth_error(
                400,
                "invalid_client",
                ISS_MISMATCH,
                "client_id differs from iss",
            ));
        }
        Err(e) => return Ok(oauth_error(400, "invalid_client", INVALID_ASSERTION, e.describe())),
    };
    if !app.frameless {
        return Ok(oauth_error(
            401,
            "invalid_client",
            NO_FRAMELESS_CUSTOMER,
            "app has frameless = false",
        ));
    }
    if params.get("grant_type") != Some("authorization_code") {
        return Ok(oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
            "grant_type is not authorization_code",
        ));
    }
    let Some(redirect_uri) = params.non_empty("redirect_uri") else {
        return Ok(oauth_error(400, "invalid_request", "Missing redirect_uri.", "no redirect_uri"));
    };
    let Some(code) = params.non_empty("code") else {
        return Ok(oauth_error(400, "invalid_grant", INVALID_GRANT, "no code"));
    };
    let ttl = i64::try_from(shared.config.code_ttl_seconds).unwrap_or(i64::MAX);
    let Some(grant) = inner.codes.get_mut(code) else {
        return Ok(oauth_error(400, "invalid_grant", INVALID_GRANT, "unknown code"));
    };
    if grant.client_id != app.client_id {
        return Ok(oauth_error(
            400,
            "invalid_grant",
            INVALID_GRANT,
            "code issued to another client",
        ));
    }
    if grant.used {
        return Ok(oauth_error(400, "invalid_grant", INVALID_GRANT, "code already used"));
    }
    if now > grant.issued.plus_secs(ttl) {
        grant.used = true;
        return Ok(oauth_error(400, "invalid_grant", INVALID_GRANT, "code expired"));
    }
    if grant.redirect_uri != redirect_uri {
        let description = format!("Invalid redirect URI {redirect_uri}");
        return Ok(oauth_error(
            400,
            "invalid_grant",
            &description,
            "redirect_uri differs from authorize",
        ));
    }
    grant.used = true;
    let record = grant.record.clone();
    let defect =
        match inner.take_first_fault(Endpoint::Token, |f| matches!(f, Fault::IdToken { .. })) {
            Some(Fault::IdToken { defect }) => Some(defect),
            _ => None,
        };
    drop(inner);
    let issuer = format!("{}/oauth/v1/token", req.base_url());
    let id_token = id_token::issue(&record, &issuer, &app.client_secret, now, defect);
    let access_token = random_hex::<20>()?;
    Ok(json(
        200,
        &json!({
            "id_token": id_token,
            "access_token": access_token,
            "expires_in": id_token::LIFETIME_SECONDS,
            "token_type": "Bearer",
        }),
    ))
}

/// Redirect URI policy (§2, §11.5): https with a DNS name, or `http://localhost[:port]`; IP
/// hosts refused (loopback IPs only with the emulator's leniency switch); no fragment, no
/// user info; at most `max_len` characters.
pub(crate) fn check_redirect_uri(
    uri: &str,
    max_len: usize,
    allow_loopback_ip: bool,
) -> Result<(), String> {
    if uri.is_empty() {
        return Err("The request has no redirect_uri.".into());
    }
    if uri.chars().count() > max_len {
        return Err(format!("redirect_uri: Length must be between 1 and {max_len}."));
    }
    if uri.contains('#') {
        return Err("The redirect_uri must not contain a fragment.".into());
    }
    let parsed: http::Uri =
        uri.parse().map_err(|_| "The redirect_uri is not a valid absolute URL.".to_owned())?;
    let (Some(scheme), Some(authority)) = (parsed.scheme_str(), parsed.authority()) else {
        return Err("The redirect_uri is not a valid absolute URL.".into());
    };
    if authority.as_str().contains('@') {
        return Err("The redirect_uri must not contain user information.".into());
    }
    let host = authority.host();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ip = bare.parse::<IpAddr>().ok();
    if let Some(ip) = ip
        && !(allow_loopback_ip && ip.is_loopback())
    {
        return Err("The redirect_uri must use a host name, not an IP address.".into());
    }
    let localhost = host.eq_ignore_ascii_case("localhost") || ip.is_some();
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if localhost => Ok(()),
        _ => Err("The redirect_uri must use https (http is allowed only for localhost).".into()),
    }
}

/// A validated authorization request.
struct AuthorizeRequest {
    app: AppConfig,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    duo_uname: String,
    use_duo_code: bool,
}

fn parse_authorize(
    inner: &Inner,
    shared: &Shared,
    req: &Req,
    now: UnixTime,
) -> Result<AuthorizeRequest, String> {
    let query = Params::from_query(req.query.as_deref());
    let client_id = query.non_empty("client_id").ok_or("The request has no client_id.")?;
    let app = inner.app(client_id).ok_or("The client_id is not a known Duo application.")?;
    if query.get("response_type") != Some("code") {
        return Err("response_type must be \"code\".".into());
    }
    let request = query.non_empty("request").ok_or("The request has no signed request JWT.")?;
    let claims = jwt::verify_hs512(request, app.client_secret.as_bytes())
        .map_err(|e| format!("The request JWT was rejected: {e}."))?
        .claims;
    check_times(&claims, now, shared.config.exp_leeway_seconds)
        .map_err(|e| format!("The request JWT was rejected: {}.", e.describe()))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if let Some(iss) = claims.get("iss")
        && iss.as_str() != Some(app.client_id.as_str())
    {
        return Err("The request JWT's iss is not the client id.".into());
    }
    if let Some(aud) = claims.get("aud") {
        let base = req.base_url();
        let accepted = [base.clone(), format!("{base}/oauth/v1/authorize")];
        let ok = match aud {
            Value::String(a) => accepted.contains(a),
            Value::Array(list) => {
                list.iter().any(|a| a.as_str().is_some_and(|a| accepted.iter().any(|x| x == a)))
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "The request JWT's aud must be {base} or {base}/oauth/v1/authorize."
            ));
        }
    }
    if text("client_id") != Some(app.client_id.as_str()) {
        return Err("The request JWT's client_id does not match the client_id parameter.".into());
    }
    if text("response_type") != Some("code") {
        return Err("The request JWT's response_type must be \"code\".".into());
    }
    if !text("scope").is_some_and(|s| s.split_whitespace().any(|w| w == "openid")) {
        return Err("The request JWT's scope must include openid.".into());
    }
    let redirect_uri = text("redirect_uri").ok_or("The request JWT has no redirect_uri.")?;
    if query.get("redirect_uri").is_some_and(|q| q != redirect_uri) {
        return Err("The redirect_uri parameter differs from the signed one.".into());
    }
    check_redirect_uri(
        redirect_uri,
        shared.config.redirect_uri_max_length,
        shared.config.allow_loopback_ip_redirect,
    )?;
    let state = text("state").ok_or("The request JWT has no state.")?;
    if query.get("state").is_some_and(|q| q != state) {
        return Err("The state parameter differs from the signed one.".into());
    }
    if !(16..=1024).contains(&state.chars().count()) {
        return Err("state must be between 16 and 1024 characters.".into());
    }
    let duo_uname = text("duo_uname")
        .filter(|u| !u.trim().is_empty())
        .ok_or("The request JWT has no duo_uname.")?;
    // A query value wins over the same value in the JWT (Duo's documented precedence rule).
    let nonce = query.get("nonce").or_else(|| text("nonce"));
    if let Some(n) = nonce
        && !(16..=1024).contains(&n.chars().count())
    {
        return Err("nonce must be between 16 and 1024 characters.".into());
    }
    let use_duo_code = match claims.get("use_duo_code_attribute") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err("use_duo_code_attribute must be true or false.".into()),
    };
    if !app.frameless {
        return Err("This application is not enabled for the Universal Prompt.".into());
    }
    Ok(AuthorizeRequest {
        app: app.clone(),
        redirect_uri: redirect_uri.into(),
        state: state.into(),
        nonce: nonce.map(str::to_owned),
        duo_uname: duo_uname.into(),
        use_duo_code,
    })
}

/// `GET /oauth/v1/authorize`: validate, then act on a scripted outcome, the user's status, the
/// new-user policy, or send the browser to the prompt page.
pub(crate) fn authorize(shared: &Shared, req: &Req) -> Result<Resp, HandlerError> {
    let now = shared.now();
    let mut inner = shared.lock();
    let request = match parse_authorize(&inner, shared, req, now) {
        Ok(r) => r,
        Err(msg) => return Ok(refused(html(400, html::error_page("Invalid request", &msg)), msg)),
    };
    let sid = random_hex::<24>()?;
    let mut session = Session {
        client_id: request.app.client_id.clone(),
        app_name: request.app.name.clone(),
        redirect_uri: request.redirect_uri,
        state: request.state,
        nonce: request.nonce,
        duo_uname: request.duo_uname,
        use_duo_code: request.use_duo_code,
        txid: random_uuid()?,
        access: access_device(req),
        view: View::Choose,
        notice: None,
    };
    let user = inner.user(&session.duo_uname).cloned();
    if let Some(script) = inner.take_script(&session.duo_uname) {
        let factor = script.factor.as_deref().map_or_else(|| "duo_push".to_owned(), factor_key);
        let device = user.as_ref().and_then(|u| pick_device(u, script.device.as_deref(), &factor));
        match script.outcome {
            Outcome::Approve => {
                let location = finish(
                    &mut inner,
                    &session,
                    Decision::allow(&factor, "user_approved", device),
                    now,
                )?;
                return Ok(redirect(302, &location));
            }
            Outcome::Deny => {
                let location = finish(
                    &mut inner,
                    &session,
                    Decision::deny(&factor, "user_mistake", device),
                    now,
                )?;
                return Ok(redirect(302, &location));
            }
            Outcome::Fraud => {
                let location = finish(&mut inner, &session, Decision::fraud(&factor, device), now)?;
                return Ok(redirect(302, &location));
            }
            Outcome::Error => {
                let error = script.error.as_deref().unwrap_or("access_denied");
                let description = script
                    .error_description
                    .as_deref()
                    .unwrap_or("The user's authentication could not be completed.");
                let location = with_query(
                    &session.redirect_uri,
                    &[
                        ("error", error),
                        ("error_description", description),
                        ("state", &session.state),
                    ],
                );
                return Ok(redirect(302, &location));
            }
            Outcome::Timeout => {
                session.notice =
                    Some("Your Duo Push request timed out. Choose a method to try again.".into());
            }
        }
    } else {
        let status = user.as_ref().map_or(UserStatus::Active, |u| u.status);
        let enrolled = user.as_ref().is_some_and(|u| !u.devices.is_empty());
        match status {
            UserStatus::Bypass => {
                let decision = Decision::allow("not_available", "bypass_user", None);
                return Ok(redirect(302, &finish(&mut inner, &session, decision, now)?));
            }
            UserStatus::LockedOut => session.view = View::LockedOut,
            UserStatus::Disabled => session.view = View::Disabled,
            UserStatus::Active if enrolled => {}
            UserStatus::Active => match request.app.new_user_policy {
                NewUserPolicy::Allow => {
                    let decision = Decision::allow("not_available", "allow_unenrolled_user", None);
                    return Ok(redirect(302, &finish(&mut inner, &session, decision, now)?));
                }
                NewUserPolicy::Deny => session.view = View::DeniedUnenrolled,
                NewUserPolicy::RequireEnrollment => session.view = View::Enroll,
            },
        }
    }
    inner.insert_session(sid.clone(), session);
    Ok(redirect(302, &format!("{}/frame/v4/prompt?sid={sid}", req.base_url())))
}

/// Duo's factor key for a display name or key (`"Duo Push"` → `duo_push`).
pub(crate) fn factor_key(name: &str) -> String {
    match name.trim().to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
        "duo_push" | "push" => "duo_push".into(),
        "phone_call" | "phone" | "call" => "phone_call".into(),
        "passcode" => "passcode".into(),
        "sms_passcode" | "sms" => "sms_passcode".into(),
        other => other.into(),
    }
}

fn pick_device(user: &UserConfig, wanted: Option<&str>, factor: &str) -> Option<DeviceUsed> {
    if let Some(name) = wanted {
        return user
            .devices
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .map(|d| device_used(user, d));
    }
    let needed = match factor {
        "duo_push" => Some(Capability::Push),
        "phone_call" => Some(Capability::Phone),
        "sms_passcode" => Some(Capability::Sms),
        _ => None,
    };
    user.devices
        .iter()
        .find(|d| needed.is_none_or(|c| d.capabilities.contains(&c)))
        .map(|d| device_used(user, d))
}

/// Ends a prompt session: issues a code bound to the client and redirect URI, and returns the
/// redirect back to the application.
pub(crate) fn finish(
    inner: &mut Inner,
    session: &Session,
    decision: Decision,
    now: UnixTime,
) -> Result<String, HandlerError> {
    let user = inner.user(&session.duo_uname);
    let sub = user.map_or_else(|| session.duo_uname.clone(), |u| u.username.clone());
    let alias = match user {
        Some(u) if !u.username.eq_ignore_ascii_case(&session.duo_uname) => {
            session.duo_uname.clone()
        }
        _ => String::new(),
    };
    let record = AuthRecord {
        txid: session.txid.clone(),
        auth_time: now,
        user_key: duo_key("DU", &sub.to_ascii_lowercase()),
        email: user.map(|u| u.email.clone()).unwrap_or_default(),
        groups: user.map(|u| u.groups.clone()).unwrap_or_default(),
        sub,
        preferred_username: session.duo_uname.clone(),
        alias,
        app_name: session.app_name.clone(),
        client_id: session.client_id.clone(),
        nonce: session.nonce.clone(),
        decision,
        access: session.access.clone(),
    };
    let code = random_hex::<20>()?;
    inner.insert_code(
        code.clone(),
        CodeGrant {
            client_id: session.client_id.clone(),
            redirect_uri: session.redirect_uri.clone(),
            issued: now,
            used: false,
            record,
        },
    );
    let name = if session.use_duo_code { "duo_code" } else { "code" };
    Ok(with_query(&session.redirect_uri, &[(name, &code), ("state", &session.state)]))
}

/// What Duo would record about the browser (`auth_context.access_device`).
fn access_device(req: &Req) -> AccessDevice {
    let ua = req.header(&header::USER_AGENT).unwrap_or("");
    let version_after = |token: &str| -> Option<String> {
        let start = ua.find(token)? + token.len();
        let v: String =
            ua.get(start..)?.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        (!v.is_empty()).then_some(v)
    };
    let (browser, browser_version) = if ua.contains("Edg/") {
        (Some("Edge Chromium"), version_after("Edg/"))
    } else if ua.contains("Firefox/") {
        (Some("Firefox"), version_after("Firefox/"))
    } else if ua.contains("Chrome/") {
        (Some("Chrome"), version_after("Chrome/"))
    } else if ua.contains("Safari/") {
        (Some("Safari"), version_after("Version/"))
    } else {
        (None, None)
    };
    let os = if ua.contains("Android") {
        Some("Android")
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        Some("iOS")
    } else if ua.contains("Windows") {
        Some("Windows")
    } else if ua.contains("Mac OS X") {
        Some("Mac OS X")
    } else if ua.contains("Linux") || ua.contains("X11") {
        Some("Linux")
    } else {
        None
    };
    AccessDevice {
        ip: req.peer.ip().to_string(),
        browser: browser.map(str::to_owned),
        browser_version,
        os: os.map(str::to_owned),
        os_version: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_policy() {
        let ok = |u: &str| check_redirect_uri(u, 1024, false).is_ok();
        assert!(ok("https://app.example.com/cb"));
        assert!(ok("https://app.example.com:8443/cb?x=1"));
        assert!(ok("http://localhost:8787/auth/duo/callback"));
        assert!(ok("http://LOCALHOST/cb"));
        assert!(!ok("http://app.example.com/cb"));
        assert!(!ok("https://203.0.113.7/cb"));
        assert!(!ok("http://127.0.0.1:8787/cb"));
        assert!(!ok("https://[::1]/cb"));
        assert!(!ok("ftp://app.example.com/cb"));
        assert!(!ok("/relative"));
        assert!(!ok("https://user@app.example.com/cb"));
        assert!(!ok("https://app.example.com/cb#frag"));
        assert!(!ok(""));
        let long = format!("https://app.example.com/{}", "a".repeat(1001));
        assert!(!ok(&long));
        assert!(check_redirect_uri("http://127.0.0.1:8787/cb", 1024, true).is_ok());
        assert!(check_redirect_uri("http://[::1]:8787/cb", 1024, true).is_ok());
        assert!(check_redirect_uri("http://10.0.0.1/cb", 1024, true).is_err());
    }

    #[test]
    fn factor_names_map_to_keys() {
        assert_eq!(factor_key("Duo Push"), "duo_push");
        assert_eq!(factor_key("Phone Call"), "phone_call");
        assert_eq!(factor_key("Passcode"), "passcode");
        assert_eq!(factor_key("webauthn_security_key"), "webauthn_security_key");
    }
}
