//! The first factor: `POST /api/login` (after the adapter checked the
//! origin, the media type and the body's size).
//!
//! Order of decisions: the body is parsed ([`parse_body`]); the attempt is
//! counted against the rate limits and refused when over one, before any
//! password work ([`super::admission::admit`]); the password is verified
//! whatever the case (an unknown user against a dummy hash, a disabled
//! user before the flag is looked at), so unknown, wrong and disabled
//! answer alike; a success is taken back from the limits and renews the
//! browser's known-browser cookie, then either a login ticket for the Duo
//! step or, for `bypass` users, a session.

use credentials::PasswordHash;
use credentials::sql::DuoPolicy;
use shared::api::{AuthMethod, LoginRequest, Role};
use shared::policy::PolicyAction;
use shared::return_to::ReturnTo;

use shared::duo::Transport;

use super::admission;
use super::audit::{Reason, Refusal, Step, Success};
use super::context::{Ctx, Passwords, Random, Run};
use super::health::HealthMemo;
use super::inline;
use super::limits::Client;
pub use super::login_outcome::LoginOutcome;
use super::login_outcome::{AfterPassword, SignIn};
use super::policy::Policies;
use super::remember;
use super::store::{SessionStore, SignInStore, UserRecord};
use super::trail::Trail;
use crate::config::Config;
use crate::config::DuoSetup;
use crate::cookie::{KnownBrowser, LOGIN_TTL_SECONDS, LoginTicket};
use crate::keys::UserKey;

/// Why a login body was refused (400 `bad_request`; the variant is for
/// the log, never the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not the JSON of a [`LoginRequest`].
    #[error("malformed JSON")]
    Malformed,
    /// An empty (or blank) username, or an empty password.
    #[error("empty username or password")]
    Empty,
}

impl BodyError {
    /// The defect, for the log (never the input).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed JSON",
            Self::Empty => "empty username or password",
        }
    }
}

/// Parses the body of `POST /api/login`.
///
/// # Errors
/// [`BodyError`].
pub fn parse_body(body: &[u8]) -> Result<LoginRequest, BodyError> {
    let request: LoginRequest = serde_json::from_slice(body).map_err(|_| BodyError::Malformed)?;
    if request.username.trim().is_empty() || request.password.expose().is_empty() {
        return Err(BodyError::Empty);
    }
    Ok(request)
}

/// A login request: the body, and the known-browser cookie if the browser
/// sent one.
#[derive(Debug, Clone, Copy)]
pub struct LoginInput<'a> {
    /// The parsed body ([`parse_body`]).
    pub body: &'a LoginRequest,
    /// The `__Host-known` cookie's value.
    pub known_browser: Option<&'a str>,
    /// The `__Host-remember` cookie's value.
    pub remembered: Option<&'a str>,
}

/// Duo, as the login step reaches it: the transport, and the isolate's
/// health memo (inline mode asks Duo's preauth right after the password).
#[derive(Debug)]
pub struct DuoLink<'a, T> {
    /// Sends Duo's requests.
    pub transport: &'a T,
    /// What was last learned of Duo's health.
    pub health: &'a HealthMemo,
}

impl<T> Clone for DuoLink<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for DuoLink<'_, T> {}

/// `POST /api/login`.
///
/// # Errors
/// `invalid_credentials` (unknown user, wrong password, disabled user,
/// unusable stored record), `rate_limited`, `internal`; in inline mode
/// also the refusals of [`super::inline::after_password`].
pub async fn login<S: SessionStore + SignInStore, V: Passwords, T: Transport>(
    store: &S,
    verifier: &V,
    duo: DuoLink<'_, T>,
    config: &Config,
    input: LoginInput<'_>,
    ctx: &Ctx,
    random: &Random,
) -> Result<LoginOutcome, Refusal> {
    let mut trail = Trail::new(Step::Login, ctx);
    let run = Run { store, duo: duo.transport, config, ctx, random };
    let result = first_factor(run, duo.health, verifier, input, &mut trail).await;
    trail.finish(store, result).await
}

/// `POST /api/step-up`: a signed-in user whom the app asked for a fresh
/// Duo approval (a path rule's `fresh_duo`) goes through Duo again, the
/// live session standing in for the password: the same policies and the
/// same Duo step as after a password, a trusted browser never standing in
/// for Duo, and back to `return_to` after. (The session the approval makes
/// replaces this one in the browser.)
///
/// # Errors
/// `unauthenticated` without a live session, or while an admin-set
/// password must first be replaced; the refusals of the step after a
/// password otherwise (a policy's denial, Duo's health, `internal`).
pub async fn step_up<S: SessionStore + SignInStore, T: Transport>(
    store: &S,
    duo: DuoLink<'_, T>,
    config: &Config,
    session_cookie: Option<&str>,
    return_to: Option<&str>,
    ctx: &Ctx,
    random: &Random,
) -> Result<LoginOutcome, Refusal> {
    let mut trail = Trail::new(Step::Login, ctx);
    let run = Run { store, duo: duo.transport, config, ctx, random };
    let result = async {
        let info = super::session::check(store, session_cookie, ctx.now).await?;
        if info.password_change_required {
            return Err(Refusal::new(Reason::NoSession)
                .detail("a step-up while the password must be replaced"));
        }
        let name = UserKey::of(&info.username).ok_or_else(|| Refusal::new(Reason::NoSession))?;
        trail.username = name.clone();
        let user = store.user(&name).await.map_err(Refusal::internal)?;
        let user = user.ok_or_else(|| Refusal::new(Reason::SessionUserUnavailable))?;
        let own = DuoPolicy::parse(&user.duo_policy)
            .ok_or_else(|| Refusal::internal("unknown Duo policy in storage"))?;
        let next = NextStep { return_to, fresh: true, remembered: None };
        after_first_factor(run, duo.health, next, (user, own), None, &mut trail).await
    }
    .await;
    trail.finish(store, result).await
}

async fn first_factor<S: SessionStore + SignInStore, V: Passwords, T: Transport>(
    run: Run<'_, S, T>,
    health: &HealthMemo,
    verifier: &V,
    input: LoginInput<'_>,
    trail: &mut Trail,
) -> Result<LoginOutcome, Refusal> {
    let Run { store, duo: transport, config, ctx, random } = run;
    let request = input.body;
    // Names no user can have share the empty key: still limited, still audited.
    let normalized = UserKey::of(&request.username);
    trail.username = normalized.clone().unwrap_or_default();
    let known = normalized.as_ref().is_some_and(|name| {
        KnownBrowser::vouches_for(
            input.known_browser,
            &config.session_secret,
            name.as_str(),
            ctx.now,
        )
    });
    let client = Client::of(ctx.client);
    let admission = admission::admit(store, &trail.username, client, known, ctx.now).await?;
    let user = match normalized.as_ref() {
        Some(name) => store.user(name).await.map_err(Refusal::internal)?,
        None => None,
    };
    let (user, own) = check_password(verifier, user, request.password.expose().as_bytes())
        .await
        .map_err(|(reason, detail)| Refusal {
            detail: detail.map(str::to_owned),
            ..Refusal::new(reason)
        })?;
    let next = NextStep {
        return_to: request.return_to.as_deref(),
        fresh: request.fresh,
        remembered: input.remembered,
    };
    after_first_factor(
        Run { store, duo: transport, config, ctx, random },
        health,
        next,
        (user, own),
        Some(admission),
        trail,
    )
    .await
}

/// What the step after the first factor needs of the request.
#[derive(Debug, Clone, Copy)]
struct NextStep<'a> {
    /// Where the sign-in returns to (checked here).
    return_to: Option<&'a str>,
    /// A step-up: no trusted browser stands in for Duo.
    fresh: bool,
    /// The `__Host-remember` cookie's value.
    remembered: Option<&'a str>,
}

/// The policies, then the sign-in without Duo, or which Duo step: the
/// same after a password ([`login`]) as after a session ([`step_up`]).
async fn after_first_factor<S: SessionStore + SignInStore, T: Transport>(
    run: Run<'_, S, T>,
    health: &HealthMemo,
    next: NextStep<'_>,
    (user, own): (UserRecord, DuoPolicy),
    admission: Option<admission::Admission>,
    trail: &mut Trail,
) -> Result<LoginOutcome, Refusal> {
    let Run { store, duo: transport, config, ctx, random } = run;
    // On hold after a fraud report: the password was right, so say why.
    super::fraud::not_held(&user)?;
    // The sign-in policies, after the password (they tell nothing to
    // someone guessing it): the first rule that matches decides; none,
    // the account's own setting. A refusal keeps its place in the limits.
    let decided = decide(&user, trail.username.as_str(), ctx)?;
    let (policy, success) = match decided.rule {
        Some((PolicyAction::Deny, rule)) => {
            // Answered as a wrong password: anything else would confirm the
            // password to whoever tries it from a denied place. The audit
            // record says why.
            trail.policy = Some(rule);
            return Err(Refusal::new(Reason::PolicyDenied));
        }
        Some((PolicyAction::BypassDuo, rule)) => {
            trail.policy = Some(rule);
            (DuoPolicy::Bypass, Success::PolicyBypass)
        }
        Some((PolicyAction::RequireDuo, rule)) => {
            trail.policy = Some(rule);
            (DuoPolicy::Required, Success::Bypass)
        }
        None => (own, Success::Bypass),
    };
    // A password another admin set (a new admin, a reset) is never enough
    // on its own to sign in as an admin: whoever set it knows it. That
    // sign-in needs Duo, whatever the account's bypass, a policy or the
    // enforcement switch say, and no trusted browser stands in for it.
    let set_by_admin = user.role == Role::Admin.as_str() && user.must_change_password != 0;
    let policy = if set_by_admin { DuoPolicy::Required } else { policy };
    if let Some(admission) = admission {
        admission.release(store).await?;
    }
    let known_browser =
        KnownBrowser::new(trail.username.as_str(), ctx.now).seal(&config.session_secret);
    let duo_due = policy == DuoPolicy::Required && (user.duo_off == 0 || set_by_admin);
    let remember_days = if set_by_admin { 0 } else { decided.remember_days };
    // A step-up asks Duo itself: a trusted browser does not stand in.
    let remembered = duo_due
        && remember_days > 0
        && !next.fresh
        && remember::vouches(store, next.remembered, &trail.username, remember_days, ctx.now)
            .await?;
    // A trusted browser still asks Duo, silently, where there are Auth API
    // keys: someone Duo has locked out, disabled or forgotten since is
    // refused, and the browser is trusted no longer.
    if remembered && let Some(client) = config.auth_api() {
        match inline::vouch_for_remembered(transport, client, config, health, &user, ctx).await {
            inline::Vouched::Yes => {}
            inline::Vouched::Revoked(refusal) => {
                remember::end_trust(store, next.remembered, ctx.now).await?;
                return Err(refusal);
            }
            inline::Vouched::Refused(refusal) => return Err(refusal),
        }
    }
    // Decided first: a sign-in without a Duo step, or which Duo step.
    let sign_in = match (policy, &config.duo) {
        // A browser the user trusted after a Duo sign-in, still remembered.
        _ if remembered => SignIn::new(AuthMethod::Remembered, Success::RememberedBrowser),
        // An admin turned enforcement off (console, audited there).
        (DuoPolicy::Required, _) if !duo_due => {
            SignIn::new(AuthMethod::Bypass, Success::DuoNotEnforced)
        }
        (DuoPolicy::Required, DuoSetup::Prompt(_)) => {
            let return_to = next.return_to.and_then(ReturnTo::parse);
            let after = AfterPassword { known_browser, remember_days };
            return Ok(duo_next(config, &user, after, return_to.as_ref(), ctx.now));
        }
        (DuoPolicy::Required, DuoSetup::Inline(_)) => {
            let after = AfterPassword { known_browser, remember_days };
            return inline::after_password(transport, config, health, user, after, ctx, random)
                .await;
        }
        (DuoPolicy::Bypass, _) => SignIn::new(AuthMethod::Bypass, success),
    };
    LoginOutcome::signed_in(config, &user, sign_in, known_browser, ctx, random)
}

/// What the stored sign-in policies decide for a sign-in.
struct Decided {
    /// The action and the rule ("#2 Office"); `None` when no rule matches.
    rule: Option<(PolicyAction, String)>,
    /// Days a browser may be remembered after Duo, as the deciding rule
    /// allows (0: not).
    remember_days: u32,
}

/// What the stored sign-in policies decide for `user` (normalized name
/// `username`) from where `ctx` comes.
///
/// # Errors
/// `internal` when the stored set cannot be read: nobody signs in on
/// policies nobody can read.
fn decide(user: &UserRecord, username: &str, ctx: &Ctx) -> Result<Decided, Refusal> {
    let Some(stored) = user.policies.as_deref() else {
        return Ok(Decided { rule: None, remember_days: 0 });
    };
    let policies = Policies::from_stored(stored).map_err(Refusal::internal)?;
    let role = Role::parse(&user.role).unwrap_or_default();
    let matched = policies.decide_all(username, role, &ctx.place());
    let allowed = matched.as_ref().is_none_or(|(_, _, allow)| *allow);
    Ok(Decided {
        rule: matched.map(|(rule, action, _)| (action, rule.to_string())),
        remember_days: if allowed { policies.remember_days() } else { 0 },
    })
}

/// The login ticket that lets `username` start the Duo step (and the
/// callback return to `return_to`).
fn duo_next(
    config: &Config,
    user: &UserRecord,
    after: AfterPassword,
    return_to: Option<&ReturnTo>,
    now: u64,
) -> LoginOutcome {
    let AfterPassword { known_browser, remember_days } = after;
    let ticket = LoginTicket::new(&user.username, now)
        .at_version(user.account_version)
        .offering_remember(remember_days)
        .returning_to(return_to);
    let login_cookie = ticket.seal(&config.session_secret);
    LoginOutcome::Duo {
        username: user.username.clone(),
        login_cookie,
        max_age: LOGIN_TTL_SECONDS,
        known_browser,
        remember_days,
    }
}

/// Verifies `password`, spending the default cost whatever the case: an
/// unknown user (or an unusable stored hash) is checked against a dummy
/// hash of the default cost, a hash with fewer iterations is topped up
/// with a dummy of the difference, and a disabled user's password is
/// verified before the flag is looked at. The refusal's detail is for the
/// log.
async fn check_password<V: Passwords>(
    verifier: &V,
    user: Option<UserRecord>,
    password: &[u8],
) -> Result<(UserRecord, DuoPolicy), (Reason, Option<&'static str>)> {
    let Some(user) = user else {
        std::hint::black_box(verifier.verify(&PasswordHash::dummy(), password).await);
        return Err((Reason::UnknownUser, None));
    };
    let Ok(hash) = PasswordHash::parse(&user.password_hash) else {
        std::hint::black_box(verifier.verify(&PasswordHash::dummy(), password).await);
        return Err((Reason::UnusableHash, Some("stored password hash unusable")));
    };
    let matches = std::hint::black_box(verifier.verify(&hash, password).await);
    // A hash with fewer iterations than the default (an older or imported
    // one) is topped up, so that it costs what an unknown user's check does.
    if let Some(padding) = hash.padding_for() {
        std::hint::black_box(verifier.verify(&padding, password).await);
    }
    if !matches {
        return Err((Reason::BadPassword, None));
    }
    if user.disabled != 0 {
        return Err((Reason::Disabled, None));
    }
    match DuoPolicy::parse(&user.duo_policy) {
        Some(policy) => Ok((user, policy)),
        None => Err((Reason::UnusableHash, Some("unknown duo_policy in users"))),
    }
}
