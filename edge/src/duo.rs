//! The Duo step: `POST /auth/duo/start` and `GET /auth/duo/callback`
//! (`DESIGN.md`, "The flow" steps 2-4 and "HTTP contract").
//!
//! Adapter code: the protocol lives in [`shared::duo`]. This module reads the
//! request and the login cookie, keeps the isolate's health-check memo,
//! spends `state` values in D1, creates the session and writes an audit
//! event for every outcome. Both routes are top-level navigations, so every
//! answer is a `303`: to Duo, to `/` with a session, or to `/?error=<code>`
//! with the login cookie cleared. Logs and errors never hold the client
//! secret, the authorization code, the ID token or a cookie.

use std::cell::Cell;

use credentials::normalize;
use shared::ErrorCode;
use shared::api::{AuthMethod, DuoDetails, DuoReachability};
use shared::duo::{
    AuthCode, AuthorizeOptions, DuoClient, DuoError, DuoUsername, Expectations, IdTokenError,
    Nonce, RandomBytes, State, UnixTime, VerifiedIdToken,
};
use worker::{D1Database, Env, Request, Response, Url};

use crate::auth::{check_origin, client_ip, now, unix_i64};
use crate::config::{self, Config, FailMode};
use crate::cookie::{self, LOGIN_COOKIE, LoginTicket, SESSION_COOKIE, TicketError};
use crate::duo_transport::FetchTransport;
use crate::respond;
use crate::session::{SessionId, hex_sha256};
use crate::store::{self, AuthEvent, NewSession, UserRecord};

/// How long a successful health check is trusted by this isolate, in seconds.
pub const HEALTH_MEMO_SECONDS: u64 = 60;

/// The last health check this isolate ran.
#[derive(Debug, Clone, Copy)]
struct HealthMemo {
    at: u64,
    reachable: bool,
}

thread_local! {
    // A Worker isolate is single-threaded: this is one memo per isolate.
    static HEALTH: Cell<Option<HealthMemo>> = const { Cell::new(None) };
}

/// What this isolate last learned about Duo, for `GET /api/health`.
pub fn reachability() -> DuoReachability {
    match HEALTH.with(Cell::get) {
        None => DuoReachability::Unknown,
        Some(memo) if memo.reachable => DuoReachability::Reachable,
        Some(_) => DuoReachability::Unreachable,
    }
}

/// Whether a successful health check from the last [`HEALTH_MEMO_SECONDS`]
/// can stand in for a new one. Failures are never reused.
fn health_is_fresh(now: u64) -> bool {
    HEALTH.with(Cell::get).is_some_and(|memo| {
        memo.reachable && memo.at <= now && now < memo.at.saturating_add(HEALTH_MEMO_SECONDS)
    })
}

fn remember_health(now: u64, reachable: bool) {
    HEALTH.with(|memo| memo.set(Some(HealthMemo { at: now, reachable })));
}

/// Why the Duo step stopped: the code for `/?error=<code>`, a stable reason
/// for the audit log, and the detail for the Worker's log.
#[derive(Debug)]
struct Refusal {
    code: ErrorCode,
    reason: &'static str,
    detail: Option<String>,
}

impl Refusal {
    fn new(code: ErrorCode, reason: &'static str) -> Self {
        Self { code, reason, detail: None }
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::Internal, "internal").detail(detail.to_string())
    }

    /// Our side or Duo's side failed (`error`), or the login was refused (`failure`).
    fn outcome(&self) -> &'static str {
        match self.code {
            ErrorCode::DuoUnavailable
            | ErrorCode::DuoError
            | ErrorCode::ConfigError
            | ErrorCode::Internal => "error",
            _ => "failure",
        }
    }
}

/// Who and what the audit events of one request are about.
struct Audit {
    step: &'static str,
    at: u64,
    username: String,
    txid: Option<String>,
    client_ip: Option<String>,
}

impl Audit {
    fn new(step: &'static str, req: &Request) -> Self {
        Self { step, at: now(), username: String::new(), txid: None, client_ip: client_ip(req) }
    }

    async fn record(
        &self,
        db: &D1Database,
        outcome: &'static str,
        reason: &'static str,
    ) -> worker::Result<()> {
        let event = AuthEvent {
            at: self.at,
            username: &self.username,
            step: self.step,
            outcome,
            reason,
            duo_txid: self.txid.as_deref(),
            client_ip: self.client_ip.as_deref(),
        };
        store::record(db, &event).await
    }

    fn unix_time(&self) -> UnixTime {
        UnixTime(unix_i64(self.at))
    }
}

/// `POST /auth/duo/start`: 303 to Duo's authorize URL with the login cookie
/// re-sealed to carry `state` and `nonce`; or, when Duo is down and
/// `DUO_FAILMODE=open`, 303 to `/` with a `fail_open` session.
///
/// # Errors
/// Only if the runtime cannot build a response.
pub async fn start(req: Request, env: &Env) -> worker::Result<Response> {
    let mut audit = Audit::new("duo_start", &req);
    match begin(&req, env, &mut audit).await {
        Ok(response) => Ok(response),
        Err(refusal) => refuse(env, &audit, refusal).await,
    }
}

/// `GET /auth/duo/callback`: checks `state`, exchanges the code, verifies the
/// ID token, and 303s to `/` with a new session.
///
/// # Errors
/// Only if the runtime cannot build a response.
pub async fn callback(req: Request, env: &Env) -> worker::Result<Response> {
    let mut audit = Audit::new("duo_callback", &req);
    match finish(&req, env, &mut audit).await {
        Ok(response) => Ok(response),
        Err(refusal) => refuse(env, &audit, refusal).await,
    }
}

/// Logs and audits a refusal, then sends the browser home with the code.
async fn refuse(env: &Env, audit: &Audit, refusal: Refusal) -> worker::Result<Response> {
    let detail = refusal.detail.as_deref().unwrap_or("-");
    worker::console_warn!(
        "{}: refused with {} (reason {}): {detail}",
        audit.step,
        refusal.code,
        refusal.reason
    );
    match store::database(env) {
        Ok(db) => {
            if let Err(error) = audit.record(&db, refusal.outcome(), refusal.reason).await {
                worker::console_error!("{}: audit event not written: {error}", audit.step);
            }
        }
        Err(error) => worker::console_error!("{}: no database for the audit: {error}", audit.step),
    }
    let mut response = respond::redirect(&format!("/?error={}", refusal.code.as_str()))?;
    response.headers_mut().append("Set-Cookie", &cookie::clear(LOGIN_COOKIE))?;
    Ok(response)
}

fn load_config(env: &Env) -> Result<Config, Refusal> {
    Config::from_env(env).map_err(|problem| {
        config::log_once(&problem);
        Refusal::new(ErrorCode::ConfigError, "config_error")
    })
}

/// The Duo client for this configuration (its settings were checked when
/// the configuration was read).
fn duo_client(config: &Config) -> Result<DuoClient, Refusal> {
    config.duo_client().map_err(|problem| {
        config::log_once(&problem);
        Refusal::new(ErrorCode::ConfigError, "config_error").detail(problem.to_string())
    })
}

/// The verified login ticket of the request's `__Host-login` cookie.
fn login_ticket(req: &Request, config: &Config, now: u64) -> Result<LoginTicket, Refusal> {
    let header = req.headers().get("Cookie").map_err(Refusal::internal)?.unwrap_or_default();
    let value = cookie::find(&header, LOGIN_COOKIE)
        .ok_or_else(|| Refusal::new(ErrorCode::LoginExpired, "login_cookie_missing"))?;
    LoginTicket::open(value, &config.session_secret, now).map_err(|error| {
        let reason = match error {
            TicketError::Expired => "login_cookie_expired",
            _ => "login_cookie_invalid",
        };
        Refusal::new(ErrorCode::LoginExpired, reason).detail(error.to_string())
    })
}

/// The ticket's user, still present and enabled, and the name Duo knows.
async fn duo_user(db: &D1Database, username: &str) -> Result<(UserRecord, DuoUsername), Refusal> {
    let key = normalize(username).unwrap_or_default();
    let user = store::user(db, &key)
        .await
        .map_err(Refusal::internal)?
        .filter(|user| user.disabled == 0)
        .ok_or_else(|| Refusal::new(ErrorCode::LoginExpired, "user_unavailable"))?;
    let name = user.duo_username.as_deref().filter(|n| !n.is_empty()).unwrap_or(&user.username);
    let duo_name = DuoUsername::parse(name).map_err(|error| {
        Refusal::new(ErrorCode::Internal, "duo_username_invalid").detail(error.to_string())
    })?;
    Ok((user, duo_name))
}

/// 32 bytes from the platform's CSPRNG (`crypto.getRandomValues`).
fn random() -> Result<RandomBytes, Refusal> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Refusal::internal(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// A short, printable excerpt of a value Duo sent, for the log.
fn excerpt(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(200).collect()
}

async fn begin(req: &Request, env: &Env, audit: &mut Audit) -> Result<Response, Refusal> {
    let config = load_config(env)?;
    check_origin(req, &config)
        .map_err(|_| Refusal::new(ErrorCode::ForbiddenOrigin, "forbidden_origin"))?;
    let ticket = login_ticket(req, &config, audit.at)?;
    audit.username = normalize(&ticket.username).unwrap_or_default();
    let db = store::database(env).map_err(Refusal::internal)?;
    let (user, duo_name) = duo_user(&db, &ticket.username).await?;
    let client = duo_client(&config)?;

    if !health_is_fresh(audit.at) {
        let checked =
            client.health_check(&FetchTransport::default(), audit.unix_time(), &random()?).await;
        remember_health(audit.at, checked.is_ok());
        if let Err(error) = checked {
            let refusal = Refusal::new(ErrorCode::DuoUnavailable, "duo_unreachable")
                .detail(log_detail(&error));
            return match config.fail_mode {
                FailMode::Closed => Err(refusal),
                FailMode::Open => {
                    worker::console_warn!(
                        "duo_start: Duo unreachable, DUO_FAILMODE=open lets {} in: {}",
                        audit.username,
                        log_detail(&error)
                    );
                    let session = NewSessionPlan {
                        username: &user.username,
                        method: AuthMethod::FailOpen,
                        duo: None,
                    };
                    issue_session(&db, &config, audit, &session, "fail_open").await
                }
            };
        }
    }

    let state = State::generate(&random()?);
    let nonce = Nonce::generate(&random()?);
    let url = client.authorize_url(
        &duo_name,
        &state,
        Some(&nonce),
        &AuthorizeOptions::default(),
        audit.unix_time(),
    );
    let ticket = ticket.for_duo(state.as_str(), nonce.as_str(), audit.at);
    audit.record(&db, "success", "redirect_to_duo").await.map_err(Refusal::internal)?;
    let mut response = respond::redirect(&url).map_err(Refusal::internal)?;
    let value = ticket.seal(&config.session_secret);
    response
        .headers_mut()
        .append("Set-Cookie", &cookie::set(LOGIN_COOKIE, &value, ticket.max_age(audit.at)))
        .map_err(Refusal::internal)?;
    Ok(response)
}

/// The callback's query parameters (the first of each name).
#[derive(Default)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl CallbackQuery {
    fn parse(url: &Url) -> Self {
        let mut query = Self::default();
        for (name, value) in url.query_pairs() {
            let slot = match name.as_ref() {
                "state" => &mut query.state,
                // `duo_code` (we ask for it) wins over `code`.
                "duo_code" => {
                    query.code = Some(value.into_owned());
                    continue;
                }
                "code" => &mut query.code,
                "error" => &mut query.error,
                "error_description" => &mut query.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        query
    }
}

async fn finish(req: &Request, env: &Env, audit: &mut Audit) -> Result<Response, Refusal> {
    let config = load_config(env)?;
    let url = req.url().map_err(Refusal::internal)?;
    let query = CallbackQuery::parse(&url);
    let ticket = login_ticket(req, &config, audit.at);
    if let Ok(ticket) = &ticket {
        audit.username = normalize(&ticket.username).unwrap_or_default();
    }

    // Duo sent the browser back without a code.
    if let Some(error) = &query.error {
        let detail = format!(
            "Duo error `{}`: {}",
            excerpt(error),
            excerpt(query.error_description.as_deref().unwrap_or("-"))
        );
        let refusal = if error == "access_denied" {
            Refusal::new(ErrorCode::DuoDenied, "duo_access_denied")
        } else {
            Refusal::new(ErrorCode::DuoError, "duo_error_redirect")
        };
        return Err(refusal.detail(detail));
    }

    let ticket = ticket?;
    let mismatch = |reason| Refusal::new(ErrorCode::StateMismatch, reason);
    let expected = ticket
        .state
        .as_deref()
        .and_then(|s| State::parse(s).ok())
        .ok_or_else(|| mismatch("duo_not_started"))?;
    let nonce = ticket
        .nonce
        .as_deref()
        .and_then(|n| Nonce::parse(n).ok())
        .ok_or_else(|| mismatch("duo_not_started"))?;
    let received = query
        .state
        .as_deref()
        .and_then(|s| State::parse(s).ok())
        .ok_or_else(|| mismatch("state_missing"))?;
    if !expected.ct_eq(&received) {
        return Err(mismatch("state_mismatch"));
    }
    let code = query
        .code
        .as_deref()
        .ok_or_else(|| Refusal::new(ErrorCode::DuoError, "code_missing"))
        .and_then(|code| {
            AuthCode::parse(code).map_err(|_| Refusal::new(ErrorCode::DuoError, "code_malformed"))
        })?;

    let db = store::database(env).map_err(Refusal::internal)?;
    // Single use: spent before the exchange, so a replay (even one racing
    // this request) never reaches Duo.
    let first_use = store::spend_state(&db, &hex_sha256(expected.as_str().as_bytes()), audit.at)
        .await
        .map_err(Refusal::internal)?;
    if !first_use {
        return Err(mismatch("state_replayed"));
    }
    let (user, duo_name) = duo_user(&db, &ticket.username).await?;
    let client = duo_client(&config)?;
    let token = client
        .exchange_code(
            &FetchTransport::default(),
            &code,
            &Expectations::new(&duo_name, Some(&nonce)),
            audit.unix_time(),
            &random()?,
        )
        .await
        .map_err(|error| exchange_refusal(&error))?;
    audit.txid = token.txid();
    token.require_allow().map_err(|error| id_token_refusal(&error))?;

    let session = NewSessionPlan {
        username: &user.username,
        method: AuthMethod::Duo,
        duo: Some(duo_details(&token)),
    };
    issue_session(&db, &config, audit, &session, "duo_allow").await
}

/// What `/api/session` reports about Duo.
fn duo_details(token: &VerifiedIdToken) -> DuoDetails {
    DuoDetails {
        factor: token.factor(),
        device: token.auth_device().name,
        txid: token.txid(),
        // `auth_result.status` as Duo spelled it (`allow` for every session).
        result: token
            .claims()
            .get("auth_result")
            .and_then(|result| result.get("status"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
    }
}

/// A Duo error as one line for the log: no secret, code or token is in
/// any of these (`shared::duo` keeps them out of `Display`).
fn log_detail(error: &DuoError) -> String {
    match error {
        DuoError::Transport(transport) => format!("{error}: {}", excerpt(&transport.detail)),
        DuoError::OAuth { error: code, description, .. } => format!(
            "{error}: `{}` {}",
            excerpt(code),
            excerpt(description.as_deref().unwrap_or_default())
        ),
        _ => error.to_string(),
    }
}

fn exchange_refusal(error: &DuoError) -> Refusal {
    let refusal = match error {
        DuoError::Transport(_) => Refusal::new(ErrorCode::DuoUnavailable, "duo_unreachable"),
        DuoError::Http { status, .. } if *status >= 500 => {
            Refusal::new(ErrorCode::DuoUnavailable, "duo_http_status")
        }
        DuoError::IdToken(id_token) => return id_token_refusal(id_token),
        DuoError::OAuth { .. } => Refusal::new(ErrorCode::DuoError, "duo_oauth_error"),
        DuoError::MalformedResponse(_) => Refusal::new(ErrorCode::DuoError, "duo_malformed"),
        _ => Refusal::new(ErrorCode::DuoError, "duo_error"),
    };
    refusal.detail(log_detail(error))
}

/// One audit reason per kind of failed ID-token check; a verified token
/// that does not say `allow` is Duo's denial.
fn id_token_refusal(error: &IdTokenError) -> Refusal {
    let reason = match error {
        IdTokenError::NotAllowed { .. } => {
            return Refusal::new(ErrorCode::DuoDenied, "duo_denied").detail(error.to_string());
        }
        IdTokenError::InvalidSignature | IdTokenError::Algorithm { .. } => "id_token_signature",
        IdTokenError::Issuer { .. } => "id_token_issuer",
        IdTokenError::Audience | IdTokenError::AudienceCount { .. } => "id_token_audience",
        IdTokenError::Expired { .. }
        | IdTokenError::IssuedInFuture { .. }
        | IdTokenError::NotYetValid { .. } => "id_token_time",
        IdTokenError::NonceMissing | IdTokenError::NonceMismatch => "id_token_nonce",
        IdTokenError::UsernameMismatch => "id_token_username",
        _ => "id_token_invalid",
    };
    Refusal::new(ErrorCode::DuoError, reason).detail(error.to_string())
}

/// The session a successful Duo step (or fail-open) creates.
struct NewSessionPlan<'a> {
    username: &'a str,
    method: AuthMethod,
    duo: Option<DuoDetails>,
}

/// Stores a new session (only its id's hash), audits it, and answers 303 to
/// `/` with the session cookie set and the login cookie cleared.
async fn issue_session(
    db: &D1Database,
    config: &Config,
    audit: &Audit,
    plan: &NewSessionPlan<'_>,
    reason: &'static str,
) -> Result<Response, Refusal> {
    let id = SessionId::generate()
        .map_err(|e| Refusal::internal(format!("no randomness for a session id: {e}")))?;
    let ttl = u64::from(config.session_ttl_seconds);
    let duo_context =
        plan.duo.as_ref().map(serde_json::to_string).transpose().map_err(Refusal::internal)?;
    let method = match plan.method {
        AuthMethod::Duo => "duo",
        AuthMethod::Bypass => "bypass",
        AuthMethod::FailOpen => "fail_open",
    };
    store::create_session(
        db,
        &NewSession {
            id_hash: &id.storage_key(),
            username: plan.username,
            method,
            duo_context: duo_context.as_deref(),
            created_at: audit.at,
            expires_at: audit.at.saturating_add(ttl),
        },
    )
    .await
    .map_err(Refusal::internal)?;
    audit.record(db, "success", reason).await.map_err(Refusal::internal)?;
    let mut response = respond::redirect("/").map_err(Refusal::internal)?;
    let headers = response.headers_mut();
    headers
        .append("Set-Cookie", &cookie::set(SESSION_COOKIE, &id.to_cookie_value(), ttl))
        .map_err(Refusal::internal)?;
    headers.append("Set-Cookie", &cookie::clear(LOGIN_COOKIE)).map_err(Refusal::internal)?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_memo_trusts_only_recent_successes() {
        assert_eq!(reachability(), DuoReachability::Unknown);
        assert!(!health_is_fresh(1_000));
        remember_health(1_000, true);
        assert_eq!(reachability(), DuoReachability::Reachable);
        assert!(health_is_fresh(1_000));
        assert!(health_is_fresh(1_000 + HEALTH_MEMO_SECONDS - 1));
        assert!(!health_is_fresh(1_000 + HEALTH_MEMO_SECONDS));
        assert!(!health_is_fresh(999), "a memo from the future is not trusted");
        remember_health(1_010, false);
        assert_eq!(reachability(), DuoReachability::Unreachable);
        assert!(!health_is_fresh(1_010), "failures are never reused");
    }

    #[test]
    fn callback_query_takes_duo_code_over_code_and_the_first_state() {
        let url = Url::parse(
            "http://localhost/auth/duo/callback?code=plain&state=first&duo_code=duo&state=second",
        )
        .unwrap();
        let query = CallbackQuery::parse(&url);
        assert_eq!(query.code.as_deref(), Some("duo"));
        assert_eq!(query.state.as_deref(), Some("first"));
        assert!(query.error.is_none());
    }

    #[test]
    fn id_token_failures_map_to_the_contract_codes() {
        let denied = id_token_refusal(&IdTokenError::NotAllowed { status: "deny".into() });
        assert_eq!((denied.code, denied.reason), (ErrorCode::DuoDenied, "duo_denied"));
        let nonce = id_token_refusal(&IdTokenError::NonceMismatch);
        assert_eq!((nonce.code, nonce.reason), (ErrorCode::DuoError, "id_token_nonce"));
        let signature = id_token_refusal(&IdTokenError::InvalidSignature);
        assert_eq!(signature.reason, "id_token_signature");
        assert_eq!(signature.outcome(), "error");
        let unreachable = exchange_refusal(&DuoError::Http { status: 502, body: String::new() });
        assert_eq!(unreachable.code, ErrorCode::DuoUnavailable);
        let client_error = exchange_refusal(&DuoError::Http { status: 400, body: String::new() });
        assert_eq!(client_error.code, ErrorCode::DuoError);
    }
}
