//! The inline mode (`DUO_MODE=inline`): Duo's Auth API, with the device
//! and the method chosen on our own page (as Secret Server and Cortex XSOAR
//! do), at the same bar as the redirect mode.
//!
//! - After the password ([`after_password`], part of `POST /api/login`):
//!   Duo's `check` (memoized like the prompt mode's health check; fail-open
//!   and fail-closed apply the same way), then `preauth` decides: `allow`
//!   is a session (audited `duo_bypass`), `deny` a refusal with Duo's
//!   message, `enroll` Duo's enrollment link, `auth` the devices for the
//!   page (never the keys) in a login ticket that also lists them.
//! - `POST /api/duo/inline/start` ([`start`]): a push or call on a listed
//!   device, counted against `DUO_START_LIMIT` (push fatigue), started
//!   asynchronously and bound to the re-sealed ticket; SMS passcodes
//!   (counted the same way); or a passcode, at most
//!   [`super::limits::PASSCODES_PER_LOGIN`] per login.
//! - `POST /api/duo/inline/status` ([`status`]): the ticket's own
//!   transaction only, one bounded long poll of `auth_status`; a session
//!   only on Duo's `allow`, and only once per transaction (its txid is
//!   spent like a redirect's state).

use shared::api::{AuthMethod, DuoDetails, InlineDevice, InlineMethod, InlineStartRequest};
use shared::duo::auth_api::{
    AuthApiClient, AuthApiError, AuthOptions, AuthOutcome, AuthResponse, AuthResult, Capability,
    DeviceKind, ErrorKind, Factor, PreauthResponse, PreauthResult, User, parse_auth,
    parse_auth_status, parse_preauth, parse_time,
};
use shared::duo::{HttpResponse, Transport, TransportError, TransportErrorKind, UnixTime};

use super::audit::excerpt;
use super::audit::{Reason, Refusal, Step, Success};
use super::context::{Ctx, Random, Run, check_origin, inline_client, unix_i64};
use super::duo_start::{duo_name_of, duo_user, open_ticket, ticket_user};
use super::health::{HealthFailure, HealthMemo};
use super::limits::{
    ACCOUNT_WINDOW, LimitKey, check_account_passcodes, check_duo_start, check_passcodes,
    window_start,
};
use super::login_outcome::{AfterPassword, LoginOutcome, SignIn};
use super::remember;
use super::session::IssuedSession;
use super::store::{NewSession, SessionStore, SignInStore, SingleUse, UserRecord};
use super::trail::{Audited, Trail};
use crate::config::Config;
use crate::config::FailMode;
use crate::cookie::{InlineTransaction, LOGIN_TTL_SECONDS, LoginTicket, VerifiedPushOffer};
use crate::keys::{Txid, UserKey};

/// The factor names sessions report, as the redirect mode's `id_token` does.
const PUSH: &str = "Duo Push";
const VERIFIED_PUSH: &str = "Verified Duo Push";
const PHONE: &str = "Phone Call";
const PASSCODE: &str = "Passcode";
const DUO_BYPASS: &str = "Duo bypass";
/// The push's kind, as Duo Mobile shows it ("Sign-in: <application>").
pub const PUSH_TYPE: &str = "Sign-in";

/// The longest device id or passcode accepted from the page.
const MAX_FIELD_LEN: usize = 64;

/// A Duo call that failed, as the flow treats it.
enum Failed {
    /// Duo cannot be reached (connection, timeout, 5xx): the fail mode decides.
    Unreachable(String),
    /// Duo answered and refused, or answered something else.
    Refused(Refusal),
}

/// What a transport error or a Duo error means here. A refused parameter
/// (40002) is the person's choice when they chose (`factor`), else ours.
fn classify(error: Result<AuthApiError, TransportError>, factor: bool) -> Failed {
    match error {
        Err(transport) => match transport.kind {
            TransportErrorKind::Connect | TransportErrorKind::Timeout => {
                Failed::Unreachable(format!("{:?}: {}", transport.kind, excerpt(&transport.detail)))
            }
            _ => Failed::Refused(
                Refusal::new(Reason::DuoAuthApiMalformed).detail(excerpt(&transport.detail)),
            ),
        },
        Ok(error) => {
            let detail = format!("{error} ({})", error.explanation());
            match error.kind() {
                ErrorKind::Unavailable => Failed::Unreachable(detail),
                // Duo is up and answering: no fail-open, but not our fault either.
                ErrorKind::RateLimited => {
                    Failed::Refused(Refusal::new(Reason::DuoUnreachable).detail(detail))
                }
                ErrorKind::Credentials | ErrorKind::WrongIntegration | ErrorKind::Other => {
                    Failed::Refused(Refusal::new(Reason::DuoAuthApiRejected).detail(detail))
                }
                ErrorKind::BadRequest if !factor => {
                    Failed::Refused(Refusal::new(Reason::DuoAuthApiRejected).detail(detail))
                }
                ErrorKind::BadRequest => Failed::Refused(
                    Refusal::new(Reason::DeviceRefused)
                        .detail(detail)
                        .message("Duo cannot use that device for this. Choose another."),
                ),
                ErrorKind::Malformed => {
                    Failed::Refused(Refusal::new(Reason::DuoAuthApiMalformed).detail(detail))
                }
            }
        }
    }
}

/// Sends `request` and parses the answer with `parse` (`factor`: as [`classify`]).
async fn call<T: Transport, R>(
    duo: &T,
    request: shared::duo::HttpRequest,
    parse: fn(&HttpResponse) -> Result<R, AuthApiError>,
    factor: bool,
) -> Result<R, Failed> {
    let response = duo.send(request).await.map_err(|e| classify(Err(e), factor))?;
    parse(&response).map_err(|e| classify(Ok(e), factor))
}

/// A refusal for an unreachable Duo in the middle of a factor (no fail-open:
/// the user already chose Duo's path).
/// The push's details (`pushinfo`): the app (the login's origin), the
/// client's address, and where Cloudflare places it, when it does.
pub fn push_context(config: &Config, ctx: &Ctx) -> Vec<(String, String)> {
    let mut shown = vec![("app".to_owned(), config.app_origin.as_str().to_owned())];
    if let Some(ip) = ctx.client {
        shown.push(("address".to_owned(), ip.to_string()));
    }
    if let Some(location) = ctx.location() {
        shown.push(("location".to_owned(), location));
    }
    shown
}

fn unreachable(failed: Failed) -> Refusal {
    match failed {
        Failed::Unreachable(detail) => Refusal::new(Reason::DuoUnreachable).detail(detail),
        Failed::Refused(refusal) => refusal,
    }
}

/// After a verified password, in inline mode (`POST /api/login`).
///
/// # Errors
/// `duo_denied` (preauth `deny`, with Duo's message), `duo_unavailable`
/// (fail-closed), `config_error`, `duo_error`, `internal`.
pub(super) async fn after_password<T: Transport>(
    duo: &T,
    config: &Config,
    health: &HealthMemo,
    user: UserRecord,
    after: AfterPassword,
    ctx: &Ctx,
    random: &Random,
) -> Result<LoginOutcome, Refusal> {
    let AfterPassword { known_browser, remember_days } = after;
    let client = inline_client(config)?;
    let (user, duo_name) = duo_user(Some(user))?;
    let now = UnixTime(unix_i64(ctx.now));
    let fail = |detail: String| match config.fail_mode {
        FailMode::Closed => Err(Refusal::new(Reason::DuoUnreachable).detail(detail)),
        FailMode::Open => {
            let sign_in = SignIn::new(AuthMethod::FailOpen, Success::FailOpen);
            LoginOutcome::signed_in(config, &user, sign_in, known_browser.clone(), ctx, random)
        }
    };
    let ip = ctx.client.map(|ip| ip.to_string());
    let request =
        client.preauth_for_verified_push(User::Username(duo_name.as_str()), ip.as_deref(), now);
    let preauth = match check_then_preauth(duo, client, health, request, ctx.now).await {
        Ok(preauth) => preauth,
        Err(Failed::Unreachable(detail)) => return fail(detail),
        Err(Failed::Refused(refusal)) => return Err(refusal),
    };
    let after = AfterPassword { known_browser, remember_days };
    decide(config, &user, preauth, after, ctx, random)
}

/// Duo's `check` ([`checked`]), then the preauth `request`; Duo found
/// unreachable by the preauth is remembered in the memo too.
async fn check_then_preauth<T: Transport>(
    duo: &T,
    client: &AuthApiClient,
    health: &HealthMemo,
    request: shared::duo::HttpRequest,
    now: u64,
) -> Result<PreauthResponse, Failed> {
    checked(duo, client, health, now).await?;
    let preauth = call(duo, request, parse_preauth, false).await;
    if let Err(Failed::Unreachable(_)) = &preauth {
        health.remember(now, Err(HealthFailure::Unreachable));
    }
    preauth
}

/// Duo's `check`, from the memo when its last result is fresh.
async fn checked<T: Transport>(
    duo: &T,
    client: &AuthApiClient,
    health: &HealthMemo,
    now: u64,
) -> Result<(), Failed> {
    let checked = health
        .checked(now, || async {
            let asked = call(duo, client.check(UnixTime(unix_i64(now))), parse_time, false).await;
            asked.map(drop).map_err(|failed| match failed {
                Failed::Unreachable(detail) => (HealthFailure::Unreachable, detail),
                Failed::Refused(refusal) => (
                    HealthFailure::Refused(refusal.reason),
                    refusal.detail.unwrap_or_else(|| "-".to_owned()),
                ),
            })
        })
        .await;
    checked.map_err(|(failure, detail)| match failure {
        HealthFailure::Unreachable => Failed::Unreachable(detail),
        HealthFailure::Refused(reason) => Failed::Refused(Refusal::new(reason).detail(detail)),
    })
}

/// What Duo says, asked silently, of a remembered sign-in.
pub(super) enum Vouched {
    /// Duo would authenticate the user (or Duo is down and the fail mode
    /// is open): the trusted browser stands in for the factor.
    Yes,
    /// Duo refuses the user (`deny`: locked out, disabled; or no longer
    /// knows them): the trust ends and the sign-in is refused.
    Revoked(Refusal),
    /// Refused for now (Duo down and failing closed, our keys refused):
    /// the trust stays.
    Refused(Refusal),
}

/// A trusted browser still asks Duo: `preauth`, silently (no push), with
/// the Auth API client there is ([`Config::auth_api`]). `auth` or `allow`
/// keeps the trust; `deny` or `enroll` (Duo no longer knows the user, or
/// they have no device) ends it; Duo unreachable follows `DUO_FAILMODE`;
/// Duo refusing our request never lets anyone in.
pub(super) async fn vouch_for_remembered<T: Transport>(
    duo: &T,
    client: &AuthApiClient,
    config: &Config,
    health: &HealthMemo,
    user: &UserRecord,
    ctx: &Ctx,
) -> Vouched {
    let unreachable = |detail: String| match config.fail_mode {
        FailMode::Open => Vouched::Yes,
        FailMode::Closed => Vouched::Refused(Refusal::new(Reason::DuoUnreachable).detail(detail)),
    };
    let duo_name = match duo_name_of(user) {
        Ok(name) => name,
        Err(refusal) => return Vouched::Refused(refusal),
    };
    let ip = ctx.client.map(|ip| ip.to_string());
    let now = UnixTime(unix_i64(ctx.now));
    let request = client.preauth(User::Username(duo_name.as_str()), ip.as_deref(), now);
    let preauth = match check_then_preauth(duo, client, health, request, ctx.now).await {
        Ok(preauth) => preauth,
        Err(Failed::Unreachable(detail)) => return unreachable(detail),
        Err(Failed::Refused(refusal)) => return Vouched::Refused(refusal),
    };
    let revoked = |what: &str| {
        Refusal::new(Reason::TrustRevokedByDuo)
            .detail(format!("remembered browser, preauth {what}: {}", excerpt(&preauth.status_msg)))
    };
    match preauth.result {
        PreauthResult::Auth | PreauthResult::Allow => Vouched::Yes,
        PreauthResult::Deny => Vouched::Revoked(revoked("deny").message(&preauth.status_msg)),
        PreauthResult::Enroll => Vouched::Revoked(revoked("enroll").message(
            "Duo no longer knows your account, so this browser is no longer trusted. Sign in again to set up Duo.",
        )),
        PreauthResult::Other(other) => Vouched::Refused(
            Refusal::new(Reason::DuoAuthApiMalformed)
                .detail(format!("preauth result {}", excerpt(&other))),
        ),
    }
}

/// What `preauth`'s answer means for this login.
fn decide(
    config: &Config,
    user: &UserRecord,
    preauth: PreauthResponse,
    after: AfterPassword,
    ctx: &Ctx,
    random: &Random,
) -> Result<LoginOutcome, Refusal> {
    let AfterPassword { known_browser, remember_days } = after;
    match preauth.result {
        PreauthResult::Allow => {
            let details = DuoDetails {
                factor: Some(DUO_BYPASS.to_owned()),
                device: None,
                txid: None,
                result: Some("allow".to_owned()),
            };
            let sign_in = SignIn {
                method: AuthMethod::Duo,
                details: Some(details),
                success: Success::DuoBypass,
            };
            LoginOutcome::signed_in(config, user, sign_in, known_browser, ctx, random)
        }
        PreauthResult::Deny => Err(Refusal::new(Reason::DuoPreauthDenied)
            .detail(format!("preauth deny: {}", excerpt(&preauth.status_msg)))
            .message(&preauth.status_msg)),
        PreauthResult::Enroll => {
            let url = preauth
                .enroll_portal_url
                .filter(|url| is_web_link(url, config))
                .ok_or(Refusal::new(Reason::DuoAuthApiMalformed).detail("enroll without a link"))?;
            Ok(LoginOutcome::DuoEnroll {
                username: user.username.clone(),
                enroll_url: url,
                message: excerpt(&preauth.status_msg),
                known_browser,
            })
        }
        PreauthResult::Auth => {
            let devices: Vec<InlineDevice> =
                preauth.devices.iter().filter_map(inline_device).collect();
            if devices.is_empty() {
                return Err(Refusal::new(Reason::DuoPreauthDenied)
                    .detail("preauth auth without a usable device")
                    .message(
                        "None of your Duo devices can be used here. Ask your administrator.",
                    ));
            }
            let listed = devices.iter().map(|d| (d.id.clone(), d.name.clone())).collect();
            let verified_push = preauth.verified_push.map(|offer| VerifiedPushOffer {
                txid: Txid::new(offer.txid),
                issued_at: ctx.now,
                code: offer.code,
            });
            // (`random.state` names this login: no Duo state in this mode.)
            let ticket = LoginTicket::new(&user.username, ctx.now)
                .at_version(user.account_version)
                .identified_by(&random.state)
                .with_devices(listed)
                .with_verified_push(verified_push)
                .offering_remember(remember_days);
            Ok(LoginOutcome::DuoInline {
                username: user.username.clone(),
                devices,
                remember_days,
                login_cookie: ticket.seal(&config.session_secret),
                max_age: LOGIN_TTL_SECONDS,
                known_browser,
            })
        }
        PreauthResult::Other(other) => Err(Refusal::new(Reason::DuoAuthApiMalformed)
            .detail(format!("preauth result {}", excerpt(&other)))),
    }
}

/// An `https://` link (or, against the local emulator, a loopback `http://` one):
/// never a `javascript:` or other scheme handed to the page.
fn is_web_link(url: &str, config: &Config) -> bool {
    let local = config.app_origin.is_loopback()
        && ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
            .iter()
            .any(|prefix| url.starts_with(prefix));
    (url.starts_with("https://") || local)
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A device as the page may use it: Duo's id and name, and the methods in
/// [`InlineMethod::ALL`] order; `None` when it can do none of them.
fn inline_device(device: &shared::duo::auth_api::Device) -> Option<InlineDevice> {
    let valid_id = !device.id.is_empty()
        && device.id.len() <= MAX_FIELD_LEN
        && device.id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !valid_id {
        return None;
    }
    let methods: Vec<InlineMethod> = InlineMethod::ALL
        .into_iter()
        .filter(|method| match method {
            InlineMethod::Push => device.can(&Capability::Push),
            InlineMethod::Phone => device.can(&Capability::Phone),
            InlineMethod::Sms => device.can(&Capability::Sms),
            InlineMethod::Passcode => {
                device.can(&Capability::MobileOtp)
                    || device.can(&Capability::Sms)
                    || device.kind == DeviceKind::Token
            }
        })
        .collect();
    (!methods.is_empty()).then(|| InlineDevice {
        id: device.id.clone(),
        name: excerpt(device.label()),
        methods,
    })
}

/// Why a start body was refused (400 `bad_request`; for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartBodyError {
    /// Not the JSON of an [`InlineStartRequest`].
    Malformed,
    /// A passcode method without a passcode, or a passcode with another method.
    Passcode,
    /// A device id or passcode that is empty, too long, or not letters and digits.
    Field,
}

impl StartBodyError {
    /// The defect, for the log (never the input).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed JSON",
            Self::Passcode => "passcode missing, or sent with another method",
            Self::Field => "device or passcode not 1 to 64 letters and digits",
        }
    }
}

/// Parses the body of `POST /api/duo/inline/start`.
///
/// # Errors
/// [`StartBodyError`].
pub fn parse_start_body(body: &[u8]) -> Result<InlineStartRequest, StartBodyError> {
    let request: InlineStartRequest =
        serde_json::from_slice(body).map_err(|_| StartBodyError::Malformed)?;
    let field = |text: &str| {
        !text.is_empty()
            && text.len() <= MAX_FIELD_LEN
            && text.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    let is_passcode = request.method == InlineMethod::Passcode;
    match &request.passcode {
        Some(code) if is_passcode && !field(code.expose().trim()) => {
            return Err(StartBodyError::Field);
        }
        Some(_) if is_passcode => {}
        None if !is_passcode => {}
        _ => return Err(StartBodyError::Passcode),
    }
    if request.device.as_deref().is_some_and(|device| !field(device)) {
        return Err(StartBodyError::Field);
    }
    Ok(request)
}

/// The parts of a request the inline steps read.
#[derive(Debug, Clone, Copy, Default)]
pub struct InlineRequest<'a> {
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `__Host-login` cookie's value.
    pub login_cookie: Option<&'a str>,
}

/// Where an inline factor stands after a step.
#[derive(Debug)]
pub enum Progress {
    /// A push or call waits for the user; the ticket now follows it.
    Started {
        /// Duo's status (`pushed`, `calling`).
        status: &'static str,
        /// For the page.
        message: String,
        /// Verified Duo Push: the code, when `preauth` named it already.
        verification_code: Option<String>,
        /// The re-sealed login cookie's value.
        login_cookie: String,
        /// Its `Max-Age`.
        max_age: u64,
    },
    /// Still waiting (a status poll): Duo's status and message.
    Waiting {
        /// Duo's status (`pushed`, `answered`, ...; `waiting` when Duo held
        /// the poll past our bound).
        status: String,
        /// For the page.
        message: String,
        /// Verified Duo Push: the code to type in Duo Mobile (from Duo's message).
        verification_code: Option<String>,
    },
    /// SMS passcodes were sent.
    Sent {
        /// Duo's message.
        message: String,
    },
    /// Duo allowed: signed in.
    Done(Box<IssuedSession>),
}

impl Audited for Progress {
    fn success(&self) -> Option<Success> {
        match self {
            Self::Started { .. } => Some(Success::DuoFactorStarted),
            Self::Sent { .. } => Some(Success::DuoSmsSent),
            Self::Done(_) => Some(Success::DuoAllow),
            // A poll that changed nothing is not an event.
            Self::Waiting { .. } => None,
        }
    }

    fn new_session(&self) -> Option<&NewSession> {
        match self {
            Self::Done(session) => Some(&session.row),
            _ => None,
        }
    }
}

/// `POST /api/duo/inline/start`.
///
/// # Errors
/// `forbidden_origin`, `login_expired`, `bad_request` (a device the
/// ticket does not list, or one Duo says cannot do the method),
/// `rate_limited` (`DUO_START_LIMIT`, or passcodes per login),
/// `duo_denied` (with Duo's message), `duo_unavailable`, `config_error`,
/// `duo_error`, `internal`.
pub async fn start<S: SessionStore + SignInStore, T: Transport>(
    store: &S,
    duo: &T,
    config: &Config,
    request: InlineRequest<'_>,
    body: &InlineStartRequest,
    ctx: &Ctx,
    random: &Random,
) -> Result<Progress, Refusal> {
    let mut trail = Trail::new(Step::DuoStart, ctx);
    let run = Run { store, duo, config, ctx, random };
    let result = start_factor(run, request, body, &mut trail).await;
    trail.finish(store, result).await
}

async fn start_factor<S: SessionStore + SignInStore, T: Transport>(
    run: Run<'_, S, T>,
    request: InlineRequest<'_>,
    body: &InlineStartRequest,
    trail: &mut Trail,
) -> Result<Progress, Refusal> {
    let Run { store, duo, config, ctx, .. } = run;
    check_origin(&config.app_origin, request.origin)?;
    let client = inline_client(config)?;
    let ticket = open_ticket(request.login_cookie, &config.session_secret, ctx.now)?;
    trail.username = UserKey::of(&ticket.username).unwrap_or_default();
    let device = match &body.device {
        Some(id) => Some(
            ticket.devices.iter().find(|(listed, _)| listed == id).cloned().ok_or(
                Refusal::new(Reason::DeviceRefused)
                    .detail("a device the login's preauth did not list")
                    .message("That device is not one of yours. Choose one from the list."),
            )?,
        ),
        None => None,
    };
    let (user, duo_name) =
        admit_factor(store, config, &ticket, &trail.username, body.method, ctx.now).await?;
    let now = UnixTime(unix_i64(ctx.now));
    let (factor, asynchronous) = match (body.method, &body.passcode) {
        (InlineMethod::Push, _) => (Factor::Push, true),
        (InlineMethod::Phone, _) => (Factor::Phone, true),
        (InlineMethod::Sms, _) => (Factor::Sms, false),
        (InlineMethod::Passcode, Some(code)) => {
            (Factor::Passcode(code.expose().trim().to_owned()), false)
        }
        (InlineMethod::Passcode, None) => {
            return Err(Refusal::new(Reason::WrongMode).detail("a passcode method without one"));
        }
    };
    let verified = match body.method {
        InlineMethod::Push => verified_push(run, client, &ticket, &duo_name).await?,
        _ => None,
    };
    let options = AuthOptions {
        device: device.as_ref().map(|(id, _)| id.clone()),
        asynchronous,
        // What the user needs to judge the push: the request's kind, who
        // is signing in, to which app, from where.
        push_type: Some(PUSH_TYPE.to_owned()),
        display_username: Some(user.username.clone()),
        pushinfo: push_context(config, ctx),
        ipaddr: ctx.client.map(|ip| ip.to_string()),
        txid: verified.as_ref().map(|offer| offer.txid.as_str().to_owned()),
    };
    let request = client.auth(User::Username(duo_name.as_str()), &factor, &options, now);
    let answer = call(duo, request, parse_auth, true).await.map_err(unreachable)?;
    let device_name = device.map(|(_, name)| name);
    match answer {
        AuthResponse::Started { txid } => {
            let (status, label) = match (body.method, &verified) {
                (InlineMethod::Phone, _) => ("calling", PHONE),
                (_, Some(_)) => ("pushed", VERIFIED_PUSH),
                _ => ("pushed", PUSH),
            };
            let name = device_name.unwrap_or_else(|| "your device".to_owned());
            let message = match (body.method, &verified) {
                (InlineMethod::Phone, _) => format!("Calling {name}..."),
                (_, Some(_)) => {
                    format!(
                        "Verified Duo Push sent to {name}. Enter the code shown here in Duo Mobile."
                    )
                }
                _ => format!("Duo Push sent to {name}. Approve it on your phone."),
            };
            trail.txid = Some(excerpt(&txid));
            let txid = Txid::new(txid);
            let transaction = InlineTransaction { txid, factor: label.to_owned(), device: name };
            let code = verified.as_ref().and_then(|offer| offer.code.clone());
            let ticket = ticket
                .remembering(body.remember)
                .with_verified_push(verified.map(VerifiedPushOffer::spent))
                .for_inline(transaction, ctx.now);
            Ok(Progress::Started {
                status,
                message,
                verification_code: code,
                login_cookie: ticket.seal(&config.session_secret),
                max_age: ticket.max_age(ctx.now),
            })
        }
        AuthResponse::Done(outcome) if outcome.status == "sent" => {
            Ok(Progress::Sent { message: excerpt(&outcome.status_msg) })
        }
        AuthResponse::Done(outcome) => {
            let factor = match body.method {
                InlineMethod::Passcode => PASSCODE,
                InlineMethod::Phone => PHONE,
                _ => PUSH,
            };
            let ticket = ticket.remembering(body.remember);
            finished(run, &user, &outcome, factor, device_name, None, &ticket).await
        }
    }
}

/// Verified Duo Push: the offer a push carries when the user's policy
/// requires one. The login's own offer while it is fresh and unused;
/// else Duo's `preauth` is asked again for a new one, which also sees a
/// user Duo has since locked out or disabled (refused with Duo's message)
/// and a policy that no longer requires it (a plain push).
async fn verified_push<S, T: Transport>(
    run: Run<'_, S, T>,
    client: &AuthApiClient,
    ticket: &LoginTicket,
    duo_name: &shared::duo::DuoUsername,
) -> Result<Option<VerifiedPushOffer>, Refusal> {
    let Run { duo, ctx, .. } = run;
    let Some(offer) = &ticket.verified_push else { return Ok(None) };
    if offer.usable(ctx.now).is_some() {
        return Ok(Some(offer.clone()));
    }
    let ip = ctx.client.map(|ip| ip.to_string());
    let now = UnixTime(unix_i64(ctx.now));
    let request =
        client.preauth_for_verified_push(User::Username(duo_name.as_str()), ip.as_deref(), now);
    let preauth = call(duo, request, parse_preauth, false).await.map_err(unreachable)?;
    match preauth.result {
        PreauthResult::Auth => Ok(preauth.verified_push.map(|fresh| VerifiedPushOffer {
            txid: Txid::new(fresh.txid),
            issued_at: ctx.now,
            code: fresh.code,
        })),
        // Bypass now: Duo's `auth` answers it.
        PreauthResult::Allow => Ok(None),
        PreauthResult::Deny | PreauthResult::Enroll => Err(Refusal::new(Reason::DuoPreauthDenied)
            .detail(format!("preauth before a push: {}", excerpt(&preauth.status_msg)))
            .message(&preauth.status_msg)),
        PreauthResult::Other(other) => Err(Refusal::new(Reason::DuoAuthApiMalformed)
            .detail(format!("preauth result {}", excerpt(&other)))),
    }
}

/// Counts a factor against its limits and reads the ticket's user, in one
/// round trip: a passcode per login (in the window its password passed in,
/// which the signed ticket fixes, so a login straddling two windows gets
/// no more) and per account across logins; a push, call or SMS against
/// `DUO_START_LIMIT`. The user must still be the ticket's
/// ([`ticket_user`]).
async fn admit_factor<S: SessionStore + SignInStore>(
    store: &S,
    config: &Config,
    ticket: &LoginTicket,
    username: &UserKey,
    method: InlineMethod,
    now: u64,
) -> Result<(UserRecord, shared::duo::DuoUsername), Refusal> {
    if method != InlineMethod::Passcode {
        let key = LimitKey::DuoStart(username.to_string());
        let (user, count) = store
            .user_and_hit(username, &key, window_start(now), now)
            .await
            .map_err(Refusal::internal)?;
        let user = ticket_user(user, ticket)?;
        check_duo_start(count, config.duo_start_limit, now)?;
        return Ok(user);
    }
    let login = LimitKey::Passcode(username.to_string(), ticket.login_key());
    let account = LimitKey::PasscodeAccount(username.to_string());
    let keys = [(login, window_start(ticket.issued_at)), (account.clone(), ACCOUNT_WINDOW)];
    let (user, counts) =
        store.user_and_hits(username, &keys, now).await.map_err(Refusal::internal)?;
    let user = ticket_user(user, ticket)?;
    let [per_login, per_account] = counts[..] else {
        return Err(Refusal::internal("two counts expected"));
    };
    if let Err(refusal) = check_passcodes(per_login, now) {
        // Refused before Duo is asked: not one of the account's.
        store.forgive(&account, ACCOUNT_WINDOW).await.map_err(Refusal::internal)?;
        return Err(refusal);
    }
    check_account_passcodes(per_account)?;
    Ok(user)
}

/// Duo's refusal of a factor, with its message for the person.
fn denied(outcome: &AuthOutcome) -> Refusal {
    Refusal::new(Reason::DuoFactorDenied)
        .detail(format!("Duo said {}: {}", excerpt(&outcome.status), excerpt(&outcome.status_msg)))
        .message(&outcome.status_msg)
}

/// A decided factor: a session on `allow` (and the browser remembered when
/// the ticket asked: the inline mode's one place for both), else Duo's
/// refusal.
async fn finished<S: SignInStore, T>(
    run: Run<'_, S, T>,
    user: &UserRecord,
    outcome: &AuthOutcome,
    factor: &str,
    device: Option<String>,
    txid: Option<String>,
    ticket: &LoginTicket,
) -> Result<Progress, Refusal> {
    let Run { store, config, ctx, random, .. } = run;
    if outcome.result != AuthResult::Allow {
        return Err(denied(outcome));
    }
    let factor = if outcome.status == "bypass" { DUO_BYPASS } else { factor };
    let details = DuoDetails {
        factor: Some(factor.to_owned()),
        device,
        txid,
        result: Some("allow".to_owned()),
    };
    let session = remember::after_duo(store, config, user, details, ticket, ctx, random).await?;
    Ok(Progress::Done(Box::new(session)))
}

/// `POST /api/duo/inline/status`: one bounded long poll of the ticket's
/// transaction. `duo` should give up a little before the caller would
/// (the Worker uses a longer deadline than its other Duo calls); its
/// timeout is "still waiting", not an error.
///
/// # Errors
/// `forbidden_origin`, `login_expired`, `state_mismatch` (no transaction
/// started, or its session already made), `duo_denied` (with Duo's
/// message: denied, fraud, timed out, locked out), `duo_unavailable`,
/// `config_error`, `duo_error`, `internal`.
pub async fn status<S: SessionStore + SignInStore, T: Transport>(
    store: &S,
    duo: &T,
    config: &Config,
    request: InlineRequest<'_>,
    ctx: &Ctx,
    random: &Random,
) -> Result<Progress, Refusal> {
    let mut trail = Trail::new(Step::DuoCallback, ctx);
    let run = Run { store, duo, config, ctx, random };
    let result = follow(run, request, &mut trail).await;
    trail.finish(store, result).await
}

async fn follow<S: SessionStore + SignInStore, T: Transport>(
    run: Run<'_, S, T>,
    request: InlineRequest<'_>,
    trail: &mut Trail,
) -> Result<Progress, Refusal> {
    let Run { store, duo, config, ctx, .. } = run;
    check_origin(&config.app_origin, request.origin)?;
    let client = inline_client(config)?;
    let ticket = open_ticket(request.login_cookie, &config.session_secret, ctx.now)?;
    trail.username = UserKey::of(&ticket.username).unwrap_or_default();
    let transaction = ticket.inline.clone().ok_or(Refusal::new(Reason::NoTransaction))?;
    trail.txid = Some(excerpt(transaction.txid.as_str()));
    let now = UnixTime(unix_i64(ctx.now));
    let response = match duo.send(client.auth_status(transaction.txid.as_str(), now)).await {
        Ok(response) => response,
        // Duo held the poll past our bound: nothing changed yet.
        Err(error) if error.kind == TransportErrorKind::Timeout => {
            return Ok(Progress::Waiting {
                status: "waiting".to_owned(),
                message: "Still waiting for your answer on the device...".to_owned(),
                verification_code: None,
            });
        }
        Err(error) => return Err(unreachable(classify(Err(error), true))),
    };
    let outcome = parse_auth_status(&response).map_err(|e| unreachable(classify(Ok(e), true)))?;
    if outcome.result == AuthResult::Waiting {
        return Ok(Progress::Waiting {
            status: excerpt(&outcome.status),
            message: excerpt(&outcome.status_msg),
            verification_code: outcome.verification_code(),
        });
    }
    if outcome.status == "fraud" {
        return Err(super::fraud::reported(store, &trail.username, ctx.now).await);
    }
    if outcome.result != AuthResult::Allow {
        return Err(denied(&outcome));
    }
    // One session per transaction: the txid is spent like a redirect's state.
    let spent = SingleUse::InlineTransaction(&transaction.txid);
    let (first_use, user) = store
        .spend_once_and_user(spent, &trail.username, ctx.now)
        .await
        .map_err(Refusal::internal)?;
    if !first_use {
        return Err(
            Refusal::new(Reason::StateReplayed).detail("this transaction already made its session")
        );
    }
    let (user, _) = ticket_user(user, &ticket)?;
    let txid = Some(transaction.txid.as_str().to_owned());
    let device = Some(transaction.device);
    finished(run, &user, &outcome, &transaction.factor, device, txid, &ticket).await
}
