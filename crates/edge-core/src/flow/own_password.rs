//! `POST /api/password`: the signed-in user changes their own password.
//!
//! The current password is asked again (a session left open is not the
//! password), checked against the login's rate limits (a wrong one counts
//! as a failed login from this client; a right one is taken back), then
//! the new one must keep to the password policy and differ from it. The
//! new hash replaces the old only if the old is still stored, so two
//! changes at once cannot both win; the user's other sessions end, this
//! one stays, and a password an admin set (`must_change_password`) is
//! replaced. Recorded in `admin_events` as `change_own_password`, with the
//! user as actor and target: the log of account changes. A refusal of a
//! signed-in user's change (a wrong current password above all) is recorded
//! in `auth_events` as step `password_change`, like a failed sign-in.

use credentials::{DEFAULT_ITERATIONS, PasswordHash, password::SALT_LEN, policy};
use shared::api::PasswordChangeRequest;

use super::admin::Caller;
use super::admission;
use super::audit::{Reason, Refusal, Step};
use super::breach::{self, Screened};
use super::context::{Ctx, Passwords, Random, capitalized, check_origin};
use super::limits::Client;
use super::session;
use super::store::{AdminEvent, ConsoleStore, SessionStore, SignInStore};
use super::trail::Trail;
use crate::config::Config;
use crate::keys::{IdHash, UserKey};
use crate::session::SessionId;

/// `POST /api/password`.
///
/// # Errors
/// `forbidden_origin`; `unauthenticated` without a live session;
/// `rate_limited`; `invalid_credentials` for a wrong current password (or
/// one changed meanwhile); `bad_request` for a new password the policy
/// refuses or the same as the current one; `internal`.
pub async fn change_password<S: SessionStore + SignInStore + ConsoleStore, P: Passwords>(
    store: &S,
    passwords: &P,
    config: &Config,
    caller: Caller<'_>,
    request: &PasswordChangeRequest,
    ctx: &Ctx,
    random: &Random,
) -> Result<Option<String>, Refusal> {
    let Caller { origin, session_cookie } = caller;
    check_origin(&config.app_origin, origin)?;
    let signed_in = session::check(store, session_cookie, ctx.now).await?;
    // A recent Duo approval (the current password below is the
    // confirmation of an account without Duo).
    if signed_in.method != shared::api::AuthMethod::Bypass {
        session::require_recent(&signed_in, config, ctx.now)?;
    }
    let keep = session_cookie
        .and_then(SessionId::parse)
        .map(|id| id.storage_key())
        .ok_or_else(|| Refusal::new(Reason::NoSession))?;
    let normalized = UserKey::of(&signed_in.username)
        .ok_or_else(|| Refusal::internal("a session names no possible user"))?;
    // From here on a refusal is audited like a sign-in's (a wrong current
    // password is a failed sign-in): only for a signed-in user, so requests
    // without a session cannot grow the log.
    let mut trail = Trail::new(Step::PasswordChange, ctx);
    trail.username.clone_from(&normalized);
    let request = Change { normalized, keep, request };
    match change(store, passwords, config, &request, ctx, random).await {
        Ok(screened) => Ok(screened.warning()),
        Err(refusal) => Err(trail.refuse(store, refusal).await),
    }
}

/// A signed-in user's change, once the session is known.
struct Change<'a> {
    /// The user (normalized).
    normalized: UserKey,
    /// The session to keep (its id's hash).
    keep: IdHash,
    /// The passwords.
    request: &'a PasswordChangeRequest,
}

async fn change<S: SessionStore + SignInStore + ConsoleStore, P: Passwords>(
    store: &S,
    passwords: &P,
    config: &Config,
    change: &Change<'_>,
    ctx: &Ctx,
    random: &Random,
) -> Result<Screened, Refusal> {
    let Change { normalized, keep, request } = change;
    // Every limit of the login, the account-wide one included: a stolen
    // session must not become a way to guess the password from many places.
    let admission =
        admission::admit(store, normalized, Client::of(ctx.client), false, ctx.now).await?;
    let user = store
        .user(normalized)
        .await
        .map_err(Refusal::internal)?
        .ok_or_else(|| Refusal::new(Reason::SessionUserUnavailable))?;
    let stored = PasswordHash::parse(&user.password_hash).map_err(Refusal::internal)?;
    let (current, new) = (request.current.expose(), request.new.expose());
    if !passwords.verify(&stored, current.as_bytes()).await {
        return Err(Refusal::new(Reason::BadPassword)
            .detail("wrong current password")
            .message("Your current password is not right."));
    }
    admission.release(store).await?;
    let refused =
        |said: String| Refusal::new(Reason::AdminBadValue).detail(said.clone()).message(&said);
    policy::check(new, &user.username)
        .map_err(|e| refused(format!("{}.", capitalized(&e.to_string()))))?;
    if new == current {
        return Err(refused("Choose a password other than your current one.".to_owned()));
    }
    let screened = breach::screen(passwords, config, new).await?;
    let (salt, _) = random.password.split_at(SALT_LEN);
    let hash = passwords
        .hash(new.as_bytes(), salt, DEFAULT_ITERATIONS)
        .await
        .map_err(Refusal::internal)?;
    let event = AdminEvent::new(user.username.clone(), "change_own_password", ctx)
        .on(normalized)
        .with(&serde_json::json!({"breach_check": screened.as_str()}));
    let changed = store
        .change_own_password(normalized, &user.password_hash, &hash.to_phc(), keep, &event)
        .await
        .map_err(Refusal::internal)?;
    if changed {
        Ok(screened)
    } else {
        Err(Refusal::new(Reason::BadPassword)
            .detail("the password changed meanwhile")
            .message("Your password was changed elsewhere just now. Sign in again."))
    }
}
