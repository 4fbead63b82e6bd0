//! `POST /auth/duo/start`: from a verified password to Duo's prompt.
//!
//! Order of decisions: the origin; the login ticket (missing, expired,
//! tampered); its user (still present and enabled); the user's Duo steps
//! in this window (`DUO_START_LIMIT`, against push fatigue); Duo's health (a
//! success is trusted for [`super::health::HEALTH_MEMO_SECONDS`], a
//! failure applied again for [`super::health::FAILURE_MEMO_SECONDS`]; a
//! Duo that refuses us or is not Duo is always refused, `config_error`;
//! only when Duo is unreachable does `DUO_FAILMODE` decide: `closed`
//! refuses, `open` issues a `fail_open` session); then a fresh `state`
//! and `nonce`, bound to the re-sealed login ticket, and the authorize
//! URL.

use shared::api::AuthMethod;
use shared::duo::{AuthorizeOptions, DuoError, DuoUsername, Nonce, State, Transport, UnixTime};

use super::audit::excerpt;
use super::audit::{Reason, Refusal, Step, Success};
use super::context::{Ctx, Random, Run, check_origin, prompt_client, unix_i64};
use super::health::{HealthFailure, HealthMemo};
use super::limits::{LimitKey, check_duo_start, window_start};
use super::session::{self, IssuedSession};
use super::store::{NewSession, SessionStore, SignInStore, UserRecord};
use super::trail::{Audited, Trail};
use crate::config::Config;
use crate::config::{FailMode, SessionSecret};
use crate::cookie::{LoginTicket, TicketError};
use crate::keys::UserKey;

/// The parts of the request the start step reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartRequest<'a> {
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `__Host-login` cookie's value.
    pub login_cookie: Option<&'a str>,
    /// The form's `remember`: remember this browser once Duo allows (when
    /// the login offered it).
    pub remember: bool,
}

/// Where the start step sends the browser.
#[derive(Debug)]
pub enum StartOutcome {
    /// To Duo's prompt, with the login cookie now carrying state and nonce.
    Duo {
        /// Duo's authorize URL.
        url: String,
        /// The re-sealed login cookie's value.
        login_cookie: String,
        /// Its `Max-Age`.
        max_age: u64,
    },
    /// Duo is unreachable and `DUO_FAILMODE=open`: signed in without Duo.
    FailOpen {
        /// The `fail_open` session.
        session: Box<IssuedSession>,
        /// Why Duo was unreachable, for the log.
        duo_error: String,
    },
}

impl Audited for StartOutcome {
    fn success(&self) -> Option<Success> {
        Some(match self {
            Self::Duo { .. } => Success::RedirectToDuo,
            Self::FailOpen { .. } => Success::FailOpen,
        })
    }

    fn new_session(&self) -> Option<&NewSession> {
        match self {
            Self::Duo { .. } => None,
            Self::FailOpen { session, .. } => Some(&session.row),
        }
    }
}

/// `POST /auth/duo/start`.
///
/// # Errors
/// `forbidden_origin`, `login_expired`, `rate_limited`, `duo_unavailable`
/// (fail-closed), `config_error`, `internal`.
pub async fn duo_start<S: SessionStore + SignInStore, T: Transport>(
    store: &S,
    duo: &T,
    config: &Config,
    health: &HealthMemo,
    request: StartRequest<'_>,
    ctx: &Ctx,
    random: &Random,
) -> Result<StartOutcome, Refusal> {
    let mut trail = Trail::new(Step::DuoStart, ctx);
    let run = Run { store, duo, config, ctx, random };
    let result = start(run, health, request, &mut trail).await;
    trail.finish(store, result).await
}

async fn start<S: SessionStore + SignInStore, T: Transport>(
    run: Run<'_, S, T>,
    health: &HealthMemo,
    request: StartRequest<'_>,
    trail: &mut Trail,
) -> Result<StartOutcome, Refusal> {
    let Run { store, duo, config, ctx, random } = run;
    check_origin(&config.app_origin, request.origin)?;
    prompt_client(config)?;
    let ticket = open_ticket(request.login_cookie, &config.session_secret, ctx.now)?;
    trail.username = UserKey::of(&ticket.username).unwrap_or_default();
    // The user, and this Duo step counted (push fatigue), in one round trip.
    let key = LimitKey::DuoStart(trail.username.to_string());
    let (user, count) = store
        .user_and_hit(&trail.username, &key, window_start(ctx.now), ctx.now)
        .await
        .map_err(Refusal::internal)?;
    let (user, duo_name) = ticket_user(user, &ticket)?;
    check_duo_start(count, config.duo_start_limit, ctx.now)?;
    let now = UnixTime(unix_i64(ctx.now));

    if let Err((failure, detail)) = check_health(duo, config, health, ctx.now, random).await {
        return match (failure, config.fail_mode) {
            (HealthFailure::Refused(reason), _) => Err(Refusal::new(reason).detail(detail)),
            (HealthFailure::Unreachable, FailMode::Closed) => {
                Err(Refusal::new(Reason::DuoUnreachable).detail(detail))
            }
            (HealthFailure::Unreachable, FailMode::Open) => {
                let method = AuthMethod::FailOpen;
                let session = session::issue(config, &user, method, None, ctx, random)?;
                Ok(StartOutcome::FailOpen { session: Box::new(session), duo_error: detail })
            }
        };
    }
    let state = State::generate(&random.state);
    let nonce = Nonce::generate(&random.nonce);
    let url = prompt_client(config)?.authorize_url(
        &duo_name,
        &state,
        Some(&nonce),
        &AuthorizeOptions::default(),
        now,
    );
    let ticket = ticket.remembering(request.remember).for_duo(state, nonce, ctx.now);
    Ok(StartOutcome::Duo {
        url,
        login_cookie: ticket.seal(&config.session_secret),
        max_age: ticket.max_age(ctx.now),
    })
}

/// Duo's health, from the memo when its last result is fresh, else asked
/// (and remembered); a failure's meaning and its detail for the log.
async fn check_health<T: Transport>(
    duo: &T,
    config: &Config,
    health: &HealthMemo,
    now: u64,
    random: &Random,
) -> Result<(), (HealthFailure, String)> {
    let client = prompt_client(config).map_err(|refusal| {
        (HealthFailure::Refused(refusal.reason), "DUO_MODE is not prompt".to_owned())
    })?;
    health
        .checked(now, || async {
            let checked = client.health_check(duo, UnixTime(unix_i64(now)), &random.jti).await;
            checked.map(drop).map_err(|error| (HealthFailure::of(&error), log_detail(&error)))
        })
        .await
}

/// The verified login ticket of the `__Host-login` cookie's value.
pub(super) fn open_ticket(
    cookie: Option<&str>,
    key: &SessionSecret,
    now: u64,
) -> Result<LoginTicket, Refusal> {
    let value = cookie.ok_or(Refusal::new(Reason::LoginCookieMissing))?;
    LoginTicket::open(value, key, now).map_err(|error| {
        let reason = match error {
            TicketError::Expired => Reason::LoginCookieExpired,
            _ => Reason::LoginCookieInvalid,
        };
        Refusal::new(reason).detail(error.to_string())
    })
}

/// The ticket's user (as read from the store now): still present and
/// enabled, still at the account version the ticket's password was checked
/// at (no password change or reset, no disabling, no role or Duo change,
/// no "sign out everywhere" since), and the name Duo knows.
pub(super) fn ticket_user(
    user: Option<UserRecord>,
    ticket: &LoginTicket,
) -> Result<(UserRecord, DuoUsername), Refusal> {
    let (user, duo_name) = duo_user(user)?;
    if user.account_version != ticket.account_version {
        return Err(Refusal::new(Reason::AccountChanged).detail(format!(
            "the account is at version {}, the login ticket at {}",
            user.account_version, ticket.account_version
        )));
    }
    Ok((user, duo_name))
}

/// The user (as read from the store), still present and enabled, and the
/// name Duo knows.
pub(super) fn duo_user(user: Option<UserRecord>) -> Result<(UserRecord, DuoUsername), Refusal> {
    let user =
        user.filter(|user| user.disabled == 0).ok_or(Refusal::new(Reason::UserUnavailable))?;
    let duo_name = duo_name_of(&user)?;
    Ok((user, duo_name))
}

/// The name Duo knows `user` by: its Duo username, else its username.
pub(super) fn duo_name_of(user: &UserRecord) -> Result<DuoUsername, Refusal> {
    let name = user.duo_username.as_deref().filter(|n| !n.is_empty()).unwrap_or(&user.username);
    DuoUsername::parse(name)
        .map_err(|error| Refusal::new(Reason::DuoUsernameInvalid).detail(error.to_string()))
}

/// A Duo error as one line for the log: no secret, code or token is in
/// any of these (`shared::duo` keeps them out of `Display`).
pub(super) fn log_detail(error: &DuoError) -> String {
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
