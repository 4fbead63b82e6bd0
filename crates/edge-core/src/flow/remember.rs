//! "Trust this browser": after a sign-in completed with Duo, a browser the
//! user asked to remember (and the policies offered: `remember_days`, and
//! the deciding rule's `allow_remembered`) gets a `__Host-remember` cookie
//! holding a random token; only the token's SHA-256 is stored, with the
//! user, the times, a label of the browser and the client's address. A
//! later sign-in from it, password verified, skips Duo while the row is
//! live (audited `remembered_browser`, session method `remembered`).
//!
//! The console's side (the list, an admin forgetting one) is
//! [`super::remembered`].
//!
//! What ends it: a password reset or change, disabling the user, "sign out
//! everywhere" (the user's or an admin's), an admin forgetting it from the
//! console, the user's own "forget this browser", its expiry, and turning
//! "trust this browser" off (saving policies with `remember_days` 0 forgets
//! every remembered browser; a sign-in under way then remembers none).

use shared::api::{AuthMethod, DuoDetails};

use super::audit::Refusal;
use super::context::{Ctx, Random, check_origin};
use super::session::{self, IssuedSession, RememberCookie};
use super::store::{RememberedBrowser, SignInStore, UserRecord};
use crate::config::Config;
use crate::cookie::LoginTicket;
use crate::keys::UserKey;
use crate::session::SessionId;

/// Seconds in a day.
const DAY: u64 = 86_400;

/// Duo allowed the login of `ticket` (either mode): its session, and the
/// browser remembered when the ticket asked to (and the policies still
/// offer it). The one place a Duo sign-in ends.
///
/// # Errors
/// `internal` when the details cannot be serialized or the browser cannot
/// be stored.
pub async fn after_duo<S: SignInStore>(
    store: &S,
    config: &Config,
    user: &UserRecord,
    details: DuoDetails,
    ticket: &LoginTicket,
    ctx: &Ctx,
    random: &Random,
) -> Result<IssuedSession, Refusal> {
    let mut session = session::issue(config, user, AuthMethod::Duo, Some(details), ctx, random)?;
    session.remember = grant(store, ticket, ctx, random).await?;
    Ok(session)
}

/// After a Duo sign-in: remembers the browser when the login's ticket
/// asked to (and the policies offered), storing the token's hash.
///
/// # Errors
/// `internal` when it cannot be stored.
pub async fn grant<S: SignInStore>(
    store: &S,
    ticket: &LoginTicket,
    ctx: &Ctx,
    random: &Random,
) -> Result<Option<RememberCookie>, Refusal> {
    if !ticket.remember || ticket.remember_days == 0 {
        return Ok(None);
    }
    let username = UserKey::of(&ticket.username)
        .map(|key| key.as_str().to_owned())
        .ok_or_else(|| Refusal::internal("a ticket names no possible user"))?;
    let token = SessionId::from_random(&random.remember);
    let max_age = u64::from(ticket.remember_days) * DAY;
    let browser = RememberedBrowser {
        id_hash: token.storage_key(),
        username,
        created_at: ctx.now,
        expires_at: ctx.now.saturating_add(max_age),
        last_used_at: None,
        user_agent: ctx.agent.map(|agent| agent.to_string()),
        client_ip: ctx.client.map(|ip| ip.to_string()),
    };
    // Not when "trust this browser" was turned off since the password:
    // the store checks the policies in force in the same statement.
    let stored = store.remember_browser(&browser).await.map_err(Refusal::internal)?;
    Ok(stored.then(|| RememberCookie { value: token.to_cookie_value(), max_age }))
}

/// At sign-in: whether the `__Host-remember` cookie names a live
/// remembered browser of `normalized`, remembered within the `days` the
/// policies allow now (touched as used if so).
///
/// # Errors
/// `internal` for storage.
pub async fn vouches<S: SignInStore>(
    store: &S,
    cookie: Option<&str>,
    normalized: &UserKey,
    days: u32,
    now: u64,
) -> Result<bool, Refusal> {
    let Some(token) = cookie.and_then(SessionId::parse) else { return Ok(false) };
    let max_age = u64::from(days) * DAY;
    store
        .use_remembered(&token.storage_key(), normalized, now, max_age)
        .await
        .map_err(Refusal::internal)
}

/// Ends the trust of the browser whose `__Host-remember` cookie is
/// `cookie` (Duo refused its user).
///
/// # Errors
/// `internal` for storage.
pub async fn end_trust<S: SignInStore>(
    store: &S,
    cookie: Option<&str>,
    now: u64,
) -> Result<(), Refusal> {
    if let Some(token) = cookie.and_then(SessionId::parse) {
        store.forget_browser(&token.storage_key(), now).await.map_err(Refusal::internal)?;
    }
    Ok(())
}

/// `POST /api/remembered/forget`: this browser is no longer remembered
/// (idempotent; the route clears the cookie either way).
///
/// # Errors
/// `forbidden_origin`; `internal` for storage.
pub async fn forget<S: SignInStore>(
    store: &S,
    config: &Config,
    origin: Option<&str>,
    cookie: Option<&str>,
    now: u64,
) -> Result<(), Refusal> {
    check_origin(&config.app_origin, origin)?;
    end_trust(store, cookie, now).await
}
