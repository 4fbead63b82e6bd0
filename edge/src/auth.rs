//! The first factor and sessions: `POST /api/login`, `GET /api/session`,
//! `POST /api/logout` (`DESIGN.md`, "HTTP contract").
//!
//! Adapter code: reads the request, calls the pure pieces ([`crate::cookie`],
//! [`crate::session`], [`crate::ratelimit`], `credentials`), talks to D1
//! ([`crate::store`]), and writes the audit log for every outcome.

use std::net::IpAddr;

use credentials::sql::DuoPolicy;
use credentials::{PasswordHash, normalize};
use shared::api::{AuthMethod, DuoDetails, LoginRequest, LoginResponse, SessionInfo};
use worker::{D1Database, Env, Request, Response};
use zeroize::Zeroizing;

use crate::config::Config;
use crate::cookie::{self, LOGIN_COOKIE, LOGIN_TTL_SECONDS, LoginTicket, SESSION_COOKIE};
use crate::error::{EdgeError, MAX_BODY_LEN};
use crate::password;
use crate::ratelimit::{self, Limit};
use crate::respond;
use crate::session::SessionId;
use crate::store::{self, AuthEvent, FailureKey, NewSession, UserRecord};

/// Now, in Unix seconds (the Workers clock).
pub(crate) fn now() -> u64 {
    worker::Date::now().as_millis() / 1000
}

/// The configuration, or 503 naming the broken setting.
fn load_config(env: &Env) -> Result<Config, EdgeError> {
    Config::from_env(env).map_err(EdgeError::Config)
}

/// State-changing requests must come from the SPA's own origin.
pub(crate) fn check_origin(req: &Request, config: &Config) -> Result<(), EdgeError> {
    match req.headers().get("Origin")? {
        Some(origin) if config.app_origin.matches(&origin) => Ok(()),
        _ => Err(EdgeError::ForbiddenOrigin),
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn require_json(req: &Request) -> Result<(), EdgeError> {
    let content_type = req.headers().get("Content-Type")?.unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(EdgeError::UnsupportedMediaType)
    }
}

/// The body, at most [`MAX_BODY_LEN`] bytes: refused up front by
/// `Content-Length`, and again after reading (chunked bodies have none).
async fn read_body(req: &mut Request) -> Result<Zeroizing<Vec<u8>>, EdgeError> {
    if let Some(length) = req.headers().get("Content-Length")? {
        let too_long = length.trim().parse::<u64>().map_or(true, |n| n > MAX_BODY_LEN as u64);
        if too_long {
            return Err(EdgeError::PayloadTooLarge);
        }
    }
    let body =
        Zeroizing::new(req.bytes().await.map_err(|_| EdgeError::BadRequest("unreadable body"))?);
    if body.len() > MAX_BODY_LEN {
        return Err(EdgeError::PayloadTooLarge);
    }
    Ok(body)
}

/// `CF-Connecting-IP`, when it is an IP address (canonical form).
pub(crate) fn client_ip(req: &Request) -> Option<String> {
    let header = req.headers().get("CF-Connecting-IP").ok()??;
    header.trim().parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// The session id in the request's cookie, if there is a well-formed one.
fn session_cookie(req: &Request) -> Result<Option<SessionId>, EdgeError> {
    let header = req.headers().get("Cookie")?.unwrap_or_default();
    Ok(cookie::find(&header, SESSION_COOKIE).and_then(SessionId::parse))
}

/// What the password check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    UnknownUser,
    BadPassword,
    Disabled,
    UnusableHash,
    Pass(DuoPolicy),
}

impl Verdict {
    const fn reason(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::BadPassword => "bad_password",
            Self::Disabled => "disabled",
            Self::UnusableHash => "unusable_hash",
            Self::Pass(DuoPolicy::Required) => "duo_required",
            Self::Pass(DuoPolicy::Bypass) => "bypass",
        }
    }
}

/// Verifies `password`, spending one PBKDF2 verification whatever the case:
/// an unknown user (or an unusable stored hash) is checked against a dummy
/// hash of the default cost, and a disabled user's password is verified
/// before the flag is looked at.
async fn check_password(user: Option<&UserRecord>, password: &[u8]) -> Verdict {
    let Some(user) = user else {
        std::hint::black_box(password::verify(&PasswordHash::dummy(), password).await);
        return Verdict::UnknownUser;
    };
    let hash = match PasswordHash::parse(&user.password_hash) {
        Ok(hash) => hash,
        Err(error) => {
            worker::console_error!("login: stored password hash unusable: {error}");
            std::hint::black_box(password::verify(&PasswordHash::dummy(), password).await);
            return Verdict::UnusableHash;
        }
    };
    if !std::hint::black_box(password::verify(&hash, password).await) {
        return Verdict::BadPassword;
    }
    if user.disabled != 0 {
        return Verdict::Disabled;
    }
    if let Some(policy) = DuoPolicy::parse(&user.duo_policy) {
        Verdict::Pass(policy)
    } else {
        worker::console_error!("login: unknown duo_policy in users");
        Verdict::UnusableHash
    }
}

/// Seconds to wait if `username` or `ip` is over its failure limit, and
/// which limit it was.
async fn rate_limit(
    db: &D1Database,
    username: &str,
    ip: Option<&str>,
    now: u64,
) -> Result<Option<(u64, &'static str)>, EdgeError> {
    let check = async |key, limit: Limit, reason| -> Result<_, EdgeError> {
        let recent = store::recent_failures(db, key, limit, now).await?;
        Ok(limit.retry_after(&recent, now).map(|seconds| (seconds, reason)))
    };
    if let Some(hit) =
        check(FailureKey::Username(username), ratelimit::PER_USERNAME, "user_limit").await?
    {
        return Ok(Some(hit));
    }
    match ip {
        Some(ip) => check(FailureKey::ClientIp(ip), ratelimit::PER_IP, "ip_limit").await,
        None => Ok(None),
    }
}

/// `POST /api/login`.
///
/// # Errors
/// Every refusal of the contract, as an [`EdgeError`].
pub async fn login(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let config = load_config(env)?;
    check_origin(&req, &config)?;
    require_json(&req)?;
    let body = read_body(&mut req).await?;
    let LoginRequest { username: typed, password } =
        serde_json::from_slice(&body).map_err(|_| EdgeError::BadRequest("malformed JSON"))?;
    if typed.trim().is_empty() || password.expose().is_empty() {
        return Err(EdgeError::BadRequest("empty username or password"));
    }

    let now = now();
    let ip = client_ip(&req);
    let db = store::database(env)?;
    // Names no user can have share the empty key: still limited, still audited.
    let normalized = normalize(&typed);
    let key = normalized.as_deref().unwrap_or_default();
    let event = |outcome, reason| AuthEvent {
        at: now,
        username: key,
        step: "login",
        outcome,
        reason,
        duo_txid: None,
        client_ip: ip.as_deref(),
    };

    if let Some((retry_after, reason)) = rate_limit(&db, key, ip.as_deref(), now).await? {
        store::record(&db, &event("rate_limited", reason)).await?;
        return Err(EdgeError::RateLimited { retry_after });
    }

    let user = match normalized.as_deref() {
        Some(name) => store::user(&db, name).await?,
        None => None,
    };
    let verdict = check_password(user.as_ref(), password.expose().as_bytes()).await;
    drop(password);
    let (Some(user), Verdict::Pass(policy)) = (user, verdict) else {
        store::record(&db, &event("failure", verdict.reason())).await?;
        return Err(EdgeError::InvalidCredentials);
    };

    match policy {
        DuoPolicy::Required => {
            let ticket = LoginTicket::new(&user.username, now);
            store::record(&db, &event("success", verdict.reason())).await?;
            let body = LoginResponse::Duo { username: user.username };
            let mut response = respond::json(&body, 200)?;
            let value = ticket.seal(&config.session_secret);
            response
                .headers_mut()
                .append("Set-Cookie", &cookie::set(LOGIN_COOKIE, &value, LOGIN_TTL_SECONDS))?;
            Ok(response)
        }
        DuoPolicy::Bypass => {
            let id = SessionId::generate()
                .map_err(|e| EdgeError::Internal(format!("no randomness for a session id: {e}")))?;
            let ttl = u64::from(config.session_ttl_seconds);
            let expires_at = now.saturating_add(ttl);
            store::create_session(
                &db,
                &NewSession {
                    id_hash: &id.storage_key(),
                    username: &user.username,
                    method: "bypass",
                    duo_context: None,
                    created_at: now,
                    expires_at,
                },
            )
            .await?;
            store::record(&db, &event("success", verdict.reason())).await?;
            let session = SessionInfo {
                username: user.username,
                method: AuthMethod::Bypass,
                authenticated_at: unix_i64(now),
                expires_at: unix_i64(expires_at),
                duo: None,
            };
            let mut response = respond::json(&LoginResponse::Done { session }, 200)?;
            let headers = response.headers_mut();
            headers
                .append("Set-Cookie", &cookie::set(SESSION_COOKIE, &id.to_cookie_value(), ttl))?;
            headers.append("Set-Cookie", &cookie::clear(LOGIN_COOKIE))?;
            Ok(response)
        }
    }
}

/// Unix seconds as the DTOs carry them.
pub(crate) fn unix_i64(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

fn auth_method(stored: &str) -> Option<AuthMethod> {
    match stored {
        "duo" => Some(AuthMethod::Duo),
        "bypass" => Some(AuthMethod::Bypass),
        "fail_open" => Some(AuthMethod::FailOpen),
        _ => None,
    }
}

/// `GET /api/session`.
///
/// # Errors
/// [`EdgeError::Unauthenticated`] without a live session.
pub async fn session(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let id = session_cookie(&req)?.ok_or(EdgeError::Unauthenticated)?;
    let db = store::database(env)?;
    let record = store::live_session(&db, &id.storage_key(), now())
        .await?
        .ok_or(EdgeError::Unauthenticated)?;
    let method = auth_method(&record.method)
        .ok_or_else(|| EdgeError::Internal("unknown session method in D1".to_owned()))?;
    let duo = record.duo_context.as_deref().and_then(|json| {
        serde_json::from_str::<DuoDetails>(json)
            .inspect_err(|_| worker::console_error!("session: unreadable duo_context in D1"))
            .ok()
    });
    let info = SessionInfo {
        username: record.username,
        method,
        authenticated_at: unix_i64(record.created_at),
        expires_at: unix_i64(record.expires_at),
        duo,
    };
    Ok(respond::json(&info, 200)?)
}

/// `POST /api/logout`: revokes the session server-side and clears the
/// cookies; 204 whether or not there was a session.
///
/// # Errors
/// [`EdgeError::ForbiddenOrigin`], or D1 failures.
pub async fn logout(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let config = load_config(env)?;
    check_origin(&req, &config)?;
    if let Some(id) = session_cookie(&req)? {
        let db = store::database(env)?;
        let now = now();
        if let Some(username) = store::revoke_session(&db, &id.storage_key(), now).await? {
            let key = normalize(&username).unwrap_or_default();
            let ip = client_ip(&req);
            let event = AuthEvent {
                at: now,
                username: &key,
                step: "logout",
                outcome: "success",
                reason: "logout",
                duo_txid: None,
                client_ip: ip.as_deref(),
            };
            store::record(&db, &event).await?;
        }
    }
    let mut response = respond::empty(204)?;
    let headers = response.headers_mut();
    headers.append("Set-Cookie", &cookie::clear(SESSION_COOKIE))?;
    headers.append("Set-Cookie", &cookie::clear(LOGIN_COOKIE))?;
    Ok(response)
}
