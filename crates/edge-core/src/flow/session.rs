//! Sessions: the one function that issues them ([`issue`]), the check of
//! `GET /api/session` ([`check`]), `POST /api/logout` ([`logout`]) and
//! `POST /api/logout-everywhere` ([`logout_everywhere`]).

use shared::api::{AuthMethod, DuoDetails, Role, SessionInfo};

use super::audit::{Reason, Refusal, Step, Success};
use super::context::{Ctx, Random, unix_i64};
use super::store::{NewSession, SessionStore, UserRecord};
use super::trail::{Audited, Trail};
use crate::config::Config;
use crate::cookie::{self, LOGIN_COOKIE, REMEMBER_COOKIE, SESSION_COOKIE};
use crate::keys::UserKey;
use crate::session::SessionId;

/// A session just made: the id for the cookie (only its hash is stored),
/// its lifetime, what `/api/session` will report, and the row to store,
/// which [`Trail::finish`] writes with the step's audit record.
#[derive(Debug)]
pub struct IssuedSession {
    /// The cookie's value (`SessionId::to_cookie_value`).
    pub id: SessionId,
    /// The cookie's `Max-Age`.
    pub max_age: u64,
    /// The session as the SPA sees it.
    pub info: SessionInfo,
    /// The row of `sessions`.
    pub row: NewSession,
    /// The browser remembered with this sign-in ("trust this browser"),
    /// for its `__Host-remember` cookie.
    pub remember: Option<RememberCookie>,
}

/// The cookie a remembered browser gets (`__Host-remember`), issued with
/// the session of a Duo sign-in that asked for it (`super::remember`).
#[derive(Clone, PartialEq, Eq)]
pub struct RememberCookie {
    /// The token (base64url), for `__Host-remember`.
    pub value: String,
    /// Its `Max-Age`: the days remembered.
    pub max_age: u64,
}

impl std::fmt::Debug for RememberCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RememberCookie").field("max_age", &self.max_age).finish_non_exhaustive()
    }
}

impl IssuedSession {
    /// The `Set-Cookie` values that sign the browser in: the session's
    /// cookie, the login cookie cleared, and the remembered browser's
    /// cookie when this sign-in made one.
    pub fn set_cookies(&self) -> Vec<String> {
        let mut cookies = vec![
            cookie::set(SESSION_COOKIE, &self.id.to_cookie_value(), self.max_age),
            cookie::clear(LOGIN_COOKIE),
        ];
        if let Some(remember) = &self.remember {
            cookies.push(cookie::set(REMEMBER_COOKIE, &remember.value, remember.max_age));
        }
        cookies
    }
}

/// Makes a session for `username`: the only place sessions are made
/// (bypass login, Duo's allow, fail-open). A `fail_open` session lives
/// `DUO_FAILOPEN_SESSION_TTL_SECONDS`, the others `SESSION_TTL_SECONDS`.
/// It is stored by the step's [`Trail::finish`], atomically with the
/// step's audit record.
///
/// # Errors
/// `internal` if Duo's details cannot be serialized.
pub fn issue(
    config: &Config,
    user: &UserRecord,
    method: AuthMethod,
    duo: Option<DuoDetails>,
    ctx: &Ctx,
    random: &Random,
) -> Result<IssuedSession, Refusal> {
    let username = user.username.as_str();
    let id = SessionId::from_random(&random.session);
    let ttl = u64::from(match method {
        AuthMethod::FailOpen => config.failopen_session_ttl_seconds,
        _ => config.session_ttl_seconds,
    });
    let expires_at = ctx.now.saturating_add(ttl);
    let duo_context =
        duo.as_ref().map(serde_json::to_string).transpose().map_err(Refusal::internal)?;
    let row = NewSession {
        id_hash: id.storage_key(),
        username: username.to_owned(),
        method: method.as_str(),
        duo_context,
        created_at: ctx.now,
        expires_at,
        client_ip: ctx.client.map(|ip| ip.to_string()),
        account_version: user.account_version,
        idle_seconds: config.session_idle_seconds,
        user_agent: ctx.agent.map(|agent| agent.to_string()),
        country: super::context::country_text(ctx.country),
    };
    let info = SessionInfo {
        username: username.to_owned(),
        method,
        authenticated_at: unix_i64(ctx.now),
        expires_at: unix_i64(expires_at),
        duo,
        role: Role::parse(&user.role).unwrap_or_default(),
        password_change_required: user.must_change_password != 0,
        idle_expires_at: Some(unix_i64(
            ctx.now.saturating_add(u64::from(config.session_idle_seconds)).min(expires_at),
        )),
    };
    Ok(IssuedSession { id, max_age: ttl, info, row, remember: None })
}

/// `GET /api/session`: the live session named by the cookie's value,
/// while its user is still present and enabled (both read in one store
/// operation). A session whose user has
/// been disabled or deleted since is revoked here, so it stays ended even
/// if the user is enabled again.
///
/// # Errors
/// `unauthenticated` without a live session or without its user (reason
/// `session_user_unavailable`); storage failures as `internal`.
pub async fn check<S: SessionStore>(
    store: &S,
    session_cookie: Option<&str>,
    now: u64,
) -> Result<SessionInfo, Refusal> {
    let unauthenticated = || Refusal::new(Reason::NoSession);
    let id = session_cookie.and_then(SessionId::parse).ok_or_else(unauthenticated)?;
    let id_hash = id.storage_key();
    let record = store
        .live_session(&id_hash, now)
        .await
        .map_err(Refusal::internal)?
        .ok_or_else(unauthenticated)?;
    if record.user_active == 0 {
        store.revoke_session(&id_hash, now).await.map_err(Refusal::internal)?;
        return Err(Refusal::new(Reason::SessionUserUnavailable)
            .detail("the session's user is disabled or deleted: session revoked"));
    }
    let method = AuthMethod::parse(&record.method)
        .ok_or_else(|| Refusal::internal("unknown session method in storage"))?;
    // Used now: its idle window starts again (written at most every
    // [`touch_every`] seconds, not at every request).
    let last_seen = if record.idle_seconds > 0
        && now >= record.last_seen_at.saturating_add(touch_every(record.idle_seconds))
    {
        store.touch_session(&id_hash, now).await.map_err(Refusal::internal)?;
        now
    } else {
        record.last_seen_at
    };
    let idle_expires_at = (record.idle_seconds > 0).then(|| {
        unix_i64(last_seen.saturating_add(u64::from(record.idle_seconds)).min(record.expires_at))
    });
    // An unreadable Duo context hides the details, not the session.
    let duo = record.duo_context.as_deref().and_then(|json| serde_json::from_str(json).ok());
    Ok(SessionInfo {
        username: record.username,
        method,
        authenticated_at: unix_i64(record.created_at),
        expires_at: unix_i64(record.expires_at),
        duo,
        role: Role::parse(&record.role).unwrap_or_default(),
        password_change_required: record.must_change_password != 0,
        idle_expires_at,
    })
}

/// A sensitive action (a console change, one's own password) on this
/// session: its confirmation must be recent (`FRESH_AUTH_SECONDS`): Duo for
/// a Duo session, the password for one without Duo (break-glass); a
/// trusted browser's or a fail-open session never counts.
///
/// # Errors
/// [`Reason::ReauthRequired`] (`reauthentication_required`).
pub fn require_recent(info: &SessionInfo, config: &Config, now: u64) -> Result<(), Refusal> {
    let confirmed = matches!(info.method, AuthMethod::Duo | AuthMethod::Bypass);
    let age = now.saturating_sub(u64::try_from(info.authenticated_at).unwrap_or(0));
    if confirmed && age <= u64::from(config.fresh_auth_seconds) {
        return Ok(());
    }
    let how = if info.method == AuthMethod::Bypass { "password" } else { "Duo" };
    Err(Refusal::new(Reason::ReauthRequired)
        .detail(format!("{} confirmed {age} s ago ({:?}); {how} again", info.username, info.method))
        .message(&format!("Confirm it is you with {how} to do this.")))
}

/// How often a session's last use is written: once a minute, or four
/// times per idle window when that is shorter (so the window is off by a
/// quarter of itself at most).
pub const fn touch_every(idle_seconds: u32) -> u64 {
    let quarter = idle_seconds as u64 / 4;
    if quarter < 60 { quarter } else { 60 }
}

/// What `POST /api/logout` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// A live session of this user was revoked.
    Revoked {
        /// As registered.
        username: String,
    },
    /// The cookie's session was live: every live session of its user
    /// was revoked (`POST /api/logout-everywhere`).
    RevokedEverywhere {
        /// As registered.
        username: String,
    },
    /// There was no live session (logout is idempotent).
    NoSession,
}

impl Audited for LogoutOutcome {
    fn success(&self) -> Option<Success> {
        match self {
            Self::Revoked { .. } => Some(Success::Logout),
            Self::RevokedEverywhere { .. } => Some(Success::LogoutEverywhere),
            Self::NoSession => None,
        }
    }
}

/// `POST /api/logout` (after the origin check): revokes the cookie's
/// session server-side. Audited when a session was revoked.
///
/// # Errors
/// Storage failures, as `internal`.
pub async fn logout<S: SessionStore>(
    store: &S,
    session_cookie: Option<&str>,
    ctx: &Ctx,
) -> Result<LogoutOutcome, Refusal> {
    let mut trail = Trail::new(Step::Logout, ctx);
    let result = revoke(store, session_cookie, ctx.now, &mut trail).await;
    trail.finish(store, result).await
}

async fn revoke<S: SessionStore>(
    store: &S,
    session_cookie: Option<&str>,
    now: u64,
    trail: &mut Trail,
) -> Result<LogoutOutcome, Refusal> {
    let Some(id) = session_cookie.and_then(SessionId::parse) else {
        return Ok(LogoutOutcome::NoSession);
    };
    match store.revoke_session(&id.storage_key(), now).await.map_err(Refusal::internal)? {
        Some(username) => {
            trail.username = UserKey::of(&username).unwrap_or_default();
            Ok(LogoutOutcome::Revoked { username })
        }
        None => Ok(LogoutOutcome::NoSession),
    }
}

/// `POST /api/logout-everywhere` (after the origin check): when the
/// cookie's session is live, revokes every live session of its user (this
/// one included). Audited (`logout_everywhere`) when it did.
///
/// # Errors
/// Storage failures, as `internal`.
pub async fn logout_everywhere<S: SessionStore>(
    store: &S,
    session_cookie: Option<&str>,
    ctx: &Ctx,
) -> Result<LogoutOutcome, Refusal> {
    let mut trail = Trail::new(Step::Logout, ctx);
    let result = revoke_everywhere(store, session_cookie, ctx.now, &mut trail).await;
    trail.finish(store, result).await
}

async fn revoke_everywhere<S: SessionStore>(
    store: &S,
    session_cookie: Option<&str>,
    now: u64,
    trail: &mut Trail,
) -> Result<LogoutOutcome, Refusal> {
    let Some(id) = session_cookie.and_then(SessionId::parse) else {
        return Ok(LogoutOutcome::NoSession);
    };
    let live = store.live_session(&id.storage_key(), now).await.map_err(Refusal::internal)?;
    let Some(record) = live else {
        return Ok(LogoutOutcome::NoSession);
    };
    trail.username = UserKey::of(&record.username).unwrap_or_default();
    if trail.username.is_nobody() {
        return Err(Refusal::internal("a stored session names no possible user"));
    }
    store.revoke_user_sessions(&trail.username, now).await.map_err(Refusal::internal)?;
    Ok(LogoutOutcome::RevokedEverywhere { username: record.username })
}
