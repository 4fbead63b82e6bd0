//! `GET /auth/duo/callback`: from Duo's redirect back to a session.
//!
//! Order of decisions: the login ticket (missing, expired, tampered); the
//! ticket's bound `state` and `nonce` (else the Duo step never started);
//! the callback's `state`, compared in constant time; the state spent
//! (single use, before anything else is acted on, so a replay, even one
//! racing this request, ends here); only then Duo's `error` parameter
//! (so a forged `?error=...` without this browser's state cannot cancel
//! its login); the code; the user; the code exchange and the `id_token`
//! checks; `auth_result` `allow`; the session.

use shared::api::DuoDetails;
use shared::duo::{
    AuthCode, AuthStatus, DuoError, Expectations, IdTokenError, Nonce, State, Transport, UnixTime,
    VerifiedIdToken,
};
use shared::return_to::ReturnTo;

use super::audit::excerpt;
use super::audit::{Reason, Refusal, Step, Success};
use super::context::{Ctx, Random, Run, prompt_client, unix_i64};
use super::duo_start::{log_detail, open_ticket, ticket_user};
use super::remember;
use super::session::IssuedSession;
use super::store::{NewSession, SessionStore, SignInStore, SingleUse};
use super::trail::{Audited, Trail};
use crate::config::Config;
use crate::cookie::LoginTicket;
use crate::keys::UserKey;

/// The callback's query parameters (the first of each name; `duo_code`
/// wins over `code`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackQuery {
    /// `state`.
    pub state: Option<String>,
    /// `duo_code`, else `code`.
    pub code: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

impl CallbackQuery {
    /// Parses a URL's query string (without the `?`).
    pub fn parse(query: &str) -> Self {
        let mut parsed = Self::default();
        let mut duo_code = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "state" => &mut parsed.state,
                "duo_code" => &mut duo_code,
                "code" => &mut parsed.code,
                "error" => &mut parsed.error,
                "error_description" => &mut parsed.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        if duo_code.is_some() {
            parsed.code = duo_code;
        }
        parsed
    }
}

/// A successful callback: Duo allowed, signed in; the browser goes on to
/// the login ticket's return target (the login's page without one).
#[derive(Debug)]
pub struct SignedIn(pub IssuedSession, pub Option<ReturnTo>);

impl Audited for SignedIn {
    fn success(&self) -> Option<Success> {
        Some(Success::DuoAllow)
    }

    fn new_session(&self) -> Option<&NewSession> {
        Some(&self.0.row)
    }
}

/// `GET /auth/duo/callback`.
///
/// # Errors
/// `login_expired`, `state_mismatch` (also a replayed state, and Duo's
/// `error` without this browser's state), `duo_denied`, `duo_error`,
/// `duo_unavailable`, `internal`.
pub async fn duo_callback<S: SessionStore + SignInStore, T: Transport>(
    store: &S,
    duo: &T,
    config: &Config,
    query: &CallbackQuery,
    login_cookie: Option<&str>,
    ctx: &Ctx,
    random: &Random,
) -> Result<SignedIn, Refusal> {
    let mut trail = Trail::new(Step::DuoCallback, ctx);
    let run = Run { store, duo, config, ctx, random };
    let result = finish(run, query, login_cookie, &mut trail).await;
    trail.finish(store, result).await
}

async fn finish<S: SessionStore + SignInStore, T: Transport>(
    run: Run<'_, S, T>,
    query: &CallbackQuery,
    login_cookie: Option<&str>,
    trail: &mut Trail,
) -> Result<SignedIn, Refusal> {
    let Run { store, duo, config, ctx, random } = run;
    let ticket = open_ticket(login_cookie, &config.session_secret, ctx.now)?;
    trail.username = UserKey::of(&ticket.username).unwrap_or_default();
    let (state, nonce) = bound_state(&ticket, query)?;
    let (first_use, user) = store
        .spend_once_and_user(SingleUse::DuoState(state), &trail.username, ctx.now)
        .await
        .map_err(Refusal::internal)?;
    if !first_use {
        return Err(Refusal::new(Reason::StateReplayed));
    }
    if let Some(error) = &query.error {
        return Err(error_redirect(error, query.error_description.as_deref()));
    }
    let code = match query.code.as_deref() {
        None => return Err(Refusal::new(Reason::CodeMissing)),
        Some(code) => AuthCode::parse(code).map_err(|_| Refusal::new(Reason::CodeMalformed))?,
    };
    let (user, duo_name) = ticket_user(user, &ticket)?;
    let now = UnixTime(unix_i64(ctx.now));
    let token = prompt_client(config)?
        .exchange_code(duo, &code, &Expectations::new(&duo_name, Some(nonce)), now, &random.jti)
        .await
        .map_err(|error| exchange_refusal(&error))?;
    trail.txid = token.txid();
    if let Err(error) = token.require_allow() {
        // "Deny and report fraud" in the prompt: Duo's verified answer says so.
        if matches!(&error, IdTokenError::NotAllowed { status } if status == "fraud") {
            return Err(super::fraud::reported(store, &trail.username, ctx.now).await);
        }
        return Err(denied(id_token_refusal(&error), token.reason().as_deref()));
    }
    let details = duo_details(&token);
    let session = remember::after_duo(store, config, &user, details, &ticket, ctx, random).await?;
    Ok(SignedIn(session, ticket.return_target()))
}

/// The state and nonce the ticket was bound to at the start, once the
/// callback's `state` is shown to be that state (in constant time).
fn bound_state<'t>(
    ticket: &'t LoginTicket,
    query: &CallbackQuery,
) -> Result<(&'t State, &'t Nonce), Refusal> {
    let (Some(expected), Some(nonce)) = (&ticket.state, &ticket.nonce) else {
        return Err(Refusal::new(Reason::DuoNotStarted));
    };
    let received = query
        .state
        .as_deref()
        .and_then(|s| State::parse(s).ok())
        .ok_or(Refusal::new(Reason::StateMissing))?;
    if !expected.ct_eq(&received) {
        return Err(Refusal::new(Reason::StateMismatch));
    }
    Ok((expected, nonce))
}

/// Duo sent the browser back (with this browser's state) without a code.
fn error_redirect(error: &str, description: Option<&str>) -> Refusal {
    let reason =
        if error == "access_denied" { Reason::DuoAccessDenied } else { Reason::DuoErrorRedirect };
    Refusal::new(reason).detail(format!(
        "Duo error `{}`: {}",
        excerpt(error),
        excerpt(description.unwrap_or("-"))
    ))
}

/// What `/api/session` reports about Duo.
fn duo_details(token: &VerifiedIdToken) -> DuoDetails {
    DuoDetails {
        factor: token.factor(),
        device: token.auth_device().name.map(|name| shared::api::masked_phone(&name)),
        txid: token.txid(),
        // `auth_result.status` as Duo spelled it (`allow` for every session).
        result: token.status().map(|status| match status {
            AuthStatus::Allow => "allow".to_owned(),
            AuthStatus::Deny => "deny".to_owned(),
            AuthStatus::Other(other) => other,
            // `AuthStatus` is non-exhaustive; a future variant is reported as such.
            _ => "unknown".to_owned(),
        }),
    }
}

/// The refusal for a failed code exchange.
pub(super) fn exchange_refusal(error: &DuoError) -> Refusal {
    let reason = match error {
        DuoError::Transport(_) => Reason::DuoUnreachable,
        DuoError::Http { status, .. } if *status >= 500 => Reason::DuoHttpStatus,
        DuoError::IdToken(id_token) => return id_token_refusal(id_token),
        DuoError::OAuth { .. } => Reason::DuoOAuthError,
        DuoError::MalformedResponse(_) => Reason::DuoMalformed,
        _ => Reason::DuoError,
    };
    Refusal::new(reason).detail(log_detail(error))
}

/// One reason per kind of failed `id_token` check; a verified token that
/// does not say `allow` is Duo's denial.
/// A denial in Duo's verified answer, named by its `auth_context.reason`
/// where that says the account itself was refused (locked out, disabled,
/// not enrolled where Duo enrolls no one; the reasons of Duo's
/// authentication log) or that the person cancelled.
fn denied(refusal: Refusal, reason: Option<&str>) -> Refusal {
    if refusal.reason != Reason::DuoDenied {
        return refusal;
    }
    let reason = match reason {
        Some("locked_out" | "user_disabled" | "deny_unenrolled_user" | "user_not_active") => {
            Reason::DuoAccountDenied
        }
        Some("user_cancelled") => Reason::DuoCancelled,
        _ => return refusal,
    };
    Refusal { reason, ..refusal }
}

pub(super) fn id_token_refusal(error: &IdTokenError) -> Refusal {
    let reason = match error {
        IdTokenError::NotAllowed { .. } | IdTokenError::ResultNotAllowed { .. } => {
            Reason::DuoDenied
        }
        IdTokenError::InvalidSignature | IdTokenError::Algorithm { .. } => Reason::IdTokenSignature,
        IdTokenError::Issuer { .. } => Reason::IdTokenIssuer,
        IdTokenError::Audience | IdTokenError::AudienceCount { .. } => Reason::IdTokenAudience,
        IdTokenError::Expired { .. }
        | IdTokenError::IssuedInFuture { .. }
        | IdTokenError::NotYetValid { .. } => Reason::IdTokenTime,
        IdTokenError::NonceMissing | IdTokenError::NonceMismatch => Reason::IdTokenNonce,
        IdTokenError::UsernameMismatch => Reason::IdTokenUsername,
        _ => Reason::IdTokenInvalid,
    };
    Refusal::new(reason).detail(error.to_string())
}
