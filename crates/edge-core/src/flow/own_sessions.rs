//! A user's own sessions and trusted browsers (OWASP ASVS 7.5.2): listed on
//! their account page (`GET /api/sessions`, never a token: items are named
//! by their hashes) and ended one by one (`POST /api/sessions/end`), only
//! their own. Ending a session is recorded as a `logout`.

use shared::api::{AuthMethod, EndOwnRequest, OwnBrowser, OwnKind, OwnSession, OwnSessions};

use super::admin::Caller;
use super::audit::{Reason, Refusal, Step, Success};
use super::context::{Ctx, check_origin, unix_i64};
use super::session;
use super::store::{OwnItem, SessionStore};
use super::trail::{Audited, Trail};
use crate::config::Config;
use crate::keys::{IdHash, UserKey};
use crate::session::SessionId;

/// `GET /api/sessions`: the live sessions and trusted browsers of the
/// session's user, this request's own marked `current`.
///
/// # Errors
/// `unauthenticated` without a live session; `internal` for storage.
pub async fn list<S: SessionStore>(
    store: &S,
    session_cookie: Option<&str>,
    remember_cookie: Option<&str>,
    now: u64,
) -> Result<OwnSessions, Refusal> {
    let info = session::check(store, session_cookie, now).await?;
    let user = UserKey::of(&info.username).ok_or_else(|| Refusal::new(Reason::NoSession))?;
    let this_session = session_cookie.and_then(SessionId::parse).map(|id| id.storage_key());
    let this_browser = remember_cookie.and_then(SessionId::parse).map(|id| id.storage_key());
    let (sessions, browsers) = store.list_own(&user, now).await.map_err(Refusal::internal)?;
    Ok(OwnSessions {
        sessions: sessions
            .into_iter()
            .map(|s| OwnSession {
                current: this_session.as_ref() == Some(&s.id_hash),
                id: s.id_hash.into_string(),
                method: AuthMethod::parse(&s.method).unwrap_or(AuthMethod::Duo),
                client_ip: s.client_ip,
                created_at: unix_i64(s.created_at),
                last_seen_at: unix_i64(s.last_seen_at),
                expires_at: unix_i64(s.expires_at),
            })
            .collect(),
        browsers: browsers
            .into_iter()
            .map(|b| OwnBrowser {
                current: this_browser.as_ref() == Some(&b.id_hash),
                id: b.id_hash.into_string(),
                user_agent: b.user_agent,
                client_ip: b.client_ip,
                created_at: unix_i64(b.created_at),
                last_used_at: b.last_used_at.map(unix_i64),
                expires_at: unix_i64(b.expires_at),
            })
            .collect(),
    })
}

/// What `POST /api/sessions/end` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// It was this request's own session or browser (the route clears its
    /// cookie).
    pub current: bool,
    /// A session (audited as a `logout`) or a browser.
    pub kind: OwnKind,
}

impl Audited for Ended {
    fn success(&self) -> Option<Success> {
        (self.kind == OwnKind::Session).then_some(Success::Logout)
    }
}

/// `POST /api/sessions/end`: ends one of the user's own sessions or
/// trusted browsers.
///
/// # Errors
/// `forbidden_origin`; `unauthenticated` without a live session;
/// `bad_request` for an id that names none of theirs; `internal`.
pub async fn end<S: SessionStore>(
    store: &S,
    config: &Config,
    caller: Caller<'_>,
    remember_cookie: Option<&str>,
    request: &EndOwnRequest,
    ctx: &Ctx,
) -> Result<Ended, Refusal> {
    check_origin(&config.app_origin, caller.origin)?;
    let info = session::check(store, caller.session_cookie, ctx.now).await?;
    let user = UserKey::of(&info.username).ok_or_else(|| Refusal::new(Reason::NoSession))?;
    let mut trail = Trail::new(Step::Logout, ctx);
    trail.username.clone_from(&user);
    let gone = || {
        Refusal::new(Reason::AdminBadValue)
            .detail("no such session or browser of the user")
            .message("That is no longer one of your sessions or trusted browsers.")
    };
    let result = async {
        let id = IdHash::parse(&request.id).ok_or_else(gone)?;
        let item = match request.kind {
            OwnKind::Session => OwnItem::Session,
            OwnKind::Browser => OwnItem::Browser,
        };
        if !store.end_own(&user, item, &id, ctx.now).await.map_err(Refusal::internal)? {
            return Err(gone());
        }
        let current = match request.kind {
            OwnKind::Session => caller.session_cookie,
            OwnKind::Browser => remember_cookie,
        }
        .and_then(SessionId::parse)
        .is_some_and(|token| token.storage_key() == id);
        Ok(Ended { current, kind: request.kind })
    }
    .await;
    match result {
        Ok(ended) if ended.kind == OwnKind::Session => trail.finish(store, Ok(ended)).await,
        other => other,
    }
}
