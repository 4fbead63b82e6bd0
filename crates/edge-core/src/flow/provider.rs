//! The Duo provider page of the admin console: the settings as configured
//! (`GET /api/admin/duo`, never a secret), a connection test run now
//! (`POST /api/admin/duo/test`: Duo's health check in prompt mode, the Auth
//! API's signed `check` in inline mode, with the latency and the likely
//! cause of a failure in words), and the switch that turns Duo enforcement
//! off and on (`POST /api/admin/duo/enforce`, a typed confirmation to turn
//! it off). Each test and each switch is recorded in `admin_events`.

use shared::admin::{
    DuoProvider, DuoTest, ENFORCE_OFF_PHRASE, EnforceRequest, PolicyBypassNotice, mask,
};
use shared::duo::auth_api::{AuthApiError, parse_time, ping};
use shared::duo::{ApiHost, DuoError, Transport, TransportError, TransportErrorKind, UnixTime};
use shared::policy::PolicySet;

use super::admin::Admin;
use super::audit::{Reason, Refusal};
use super::context::{Ctx, Random, capitalized, unix_i64};
use super::store::{AdminEvent, ConsoleStore};
use crate::config::Config;
use crate::config::{DuoSetup, FailMode};

/// Clocks further apart than this are named as the likely cause: Duo
/// refuses assertions and signatures whose times are off.
pub const CLOCK_TOLERANCE_SECONDS: i64 = 30;

/// `GET /api/admin/duo`.
///
/// # Errors
/// `internal` for storage.
pub async fn settings<S: ConsoleStore>(
    store: &S,
    config: &Config,
    _admin: &Admin,
) -> Result<DuoProvider, Refusal> {
    let enforce = store.enforce_setting().await.map_err(Refusal::internal)?;
    let policies = store.policies().await.map_err(Refusal::internal)?;
    // A set that cannot be read lets nobody in (the sign-in fails closed):
    // it bypasses nothing.
    // (From bytes, as every other reading of a set: one serde instance.)
    let policy_bypass = serde_json::from_slice::<PolicySet>(policies.document.as_bytes())
        .ok()
        .and_then(|set| set.duo_bypass())
        .map(|bypass| PolicyBypassNotice {
            bypass,
            saved_by: policies.updated_by.clone(),
            saved_at: unix_i64(policies.updated_at),
        });
    let (api_host, key, key_setting, secret_setting, redirect_uri) = match &config.duo {
        DuoSetup::Prompt(client) => (
            client.api_host().as_str(),
            client.client_id().as_str(),
            "DUO_CLIENT_ID",
            "DUO_CLIENT_SECRET",
            Some(client.redirect_uri().as_str().to_owned()),
        ),
        DuoSetup::Inline(client) => (
            client.host().as_str(),
            client.integration_key().as_str(),
            "DUO_IKEY",
            "DUO_SKEY",
            None,
        ),
    };
    Ok(DuoProvider {
        mode: config.duo.mode().to_owned(),
        api_host: api_host.to_owned(),
        key_masked: mask(key),
        key_setting: key_setting.to_owned(),
        secret_setting: secret_setting.to_owned(),
        redirect_uri,
        fail_mode: match config.fail_mode {
            FailMode::Open => "open",
            FailMode::Closed => "closed",
        }
        .to_owned(),
        session_ttl_seconds: config.session_ttl_seconds,
        failopen_session_ttl_seconds: config.failopen_session_ttl_seconds,
        enforce_duo: enforce.as_ref().is_none_or(|s| s.value != "off"),
        enforce_changed_by: enforce.as_ref().and_then(|s| s.updated_by.clone()),
        enforce_changed_at: enforce
            .as_ref()
            .filter(|s| s.updated_by.is_some())
            .map(|s| unix_i64(s.updated_at)),
        policy_bypass,
    })
}

/// `POST /api/admin/duo/enforce`: on at once; off only with
/// [`ENFORCE_OFF_PHRASE`] typed, as Cortex XSOAR and Secret Server ask
/// before a change that lets passwords alone in.
///
/// # Errors
/// `bad_request` without the
/// confirmation; `internal`.
pub async fn set_enforce<S: ConsoleStore>(
    store: &S,
    admin: &Admin,
    request: &EnforceRequest,
    ctx: &Ctx,
) -> Result<(), Refusal> {
    let confirmed = request.confirm.as_deref().map(str::trim) == Some(ENFORCE_OFF_PHRASE);
    if !request.enforce && !confirmed {
        return Err(Refusal::new(Reason::AdminBadValue)
            .detail("enforce off without the confirmation")
            .message(&format!("To turn off Duo, type \"{ENFORCE_OFF_PHRASE}\" to confirm.")));
    }
    let action = if request.enforce { "enforce_duo_on" } else { "enforce_duo_off" };
    let event = AdminEvent::new(admin.username().to_owned(), action, ctx);
    store.set_enforce(request.enforce, &event).await.map_err(Refusal::internal)
}

/// Milliseconds on a monotonic-enough clock, for a latency.
pub type Clock<'a> = &'a dyn Fn() -> f64;

/// `POST /api/admin/duo/test`: asks Duo now (no memo), recorded as
/// `test_duo` with its outcome.
///
/// # Errors
/// `internal`. A failing Duo is
/// a result (`ok: false`), not an error.
pub async fn test_connection<S: ConsoleStore, T: Transport>(
    store: &S,
    duo: &T,
    config: &Config,
    admin: &Admin,
    clock: Clock<'_>,
    ctx: &Ctx,
    random: &Random,
) -> Result<DuoTest, Refusal> {
    let now = unix_i64(ctx.now);
    // The latency is Duo's answer alone (not the clock check after a failure).
    let started = clock();
    let (endpoint, result, latency_ms) = match &config.duo {
        DuoSetup::Prompt(client) => {
            let checked = client.health_check(duo, UnixTime(now), &random.jti).await;
            let latency = elapsed(started, clock());
            let result = match checked {
                Ok(health) => Ok(health.timestamp),
                Err(error) => Err(prompt_failure(&error, duo, client.api_host(), now).await),
            };
            ("health_check", result, latency)
        }
        DuoSetup::Inline(client) => {
            let answer = duo.send(client.check(UnixTime(now))).await;
            let latency = elapsed(started, clock());
            let result = match answer {
                Ok(response) => parse_time(&response).map(Some).map_err(|e| inline_failure(&e)),
                Err(error) => Err(transport_failure(&error)),
            };
            ("check", result, latency)
        }
    };
    let test = match result {
        Ok(duo_time) => {
            let offset = duo_time.map(|t| t - now);
            let skewed = offset.filter(|o| o.abs() > CLOCK_TOLERANCE_SECONDS);
            DuoTest {
                ok: true,
                endpoint: endpoint.to_owned(),
                latency_ms,
                summary: format!(
                    "Duo answered the {} and accepted the keys.",
                    endpoint.replace('_', " ")
                ),
                cause: skewed.map(|o| {
                    format!(
                        "Duo's clock and the Worker's differ by {o} s: more than \
                         {CLOCK_TOLERANCE_SECONDS} s may make Duo refuse sign-ins."
                    )
                }),
                clock_offset_seconds: offset,
            }
        }
        Err(Failure { summary, cause, offset }) => DuoTest {
            ok: false,
            endpoint: endpoint.to_owned(),
            latency_ms,
            summary,
            cause: Some(cause),
            clock_offset_seconds: offset,
        },
    };
    let detail = serde_json::json!({"endpoint": endpoint, "ok": test.ok, "latency_ms": latency_ms});
    let event = AdminEvent::new(admin.username().to_owned(), "test_duo", ctx).with(&detail);
    store.record_admin(&event).await.map_err(Refusal::internal)?;
    Ok(test)
}

/// Whole milliseconds between two clock readings (0 if the clock went back).
fn elapsed(from: f64, to: f64) -> u32 {
    let millis = (to - from).max(0.0).round();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "clamped")]
    if millis >= f64::from(u32::MAX) { u32::MAX } else { millis as u32 }
}

/// A failed test, in words.
struct Failure {
    summary: String,
    cause: String,
    offset: Option<i64>,
}

impl Failure {
    fn new(summary: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { summary: summary.into(), cause: cause.into(), offset: None }
    }
}

fn transport_failure(error: &TransportError) -> Failure {
    match error.kind {
        TransportErrorKind::Connect => Failure::new(
            "Duo could not be reached.",
            "The API host does not resolve or refuses connections: check DUO_API_HOST \
             (api-XXXXXXXX.duosecurity.com) and the Worker's outbound network.",
        ),
        TransportErrorKind::Timeout => Failure::new(
            "Duo did not answer in time.",
            "Duo or the network is slow or down; see status.duo.com, and try again.",
        ),
        TransportErrorKind::Tls => Failure::new(
            "The TLS connection to Duo failed.",
            "Something between the Worker and Duo presents another certificate: check \
             DUO_API_HOST.",
        ),
        _ => Failure::new(
            "The answer could not be read.",
            "The API host answered with something that is not Duo's: check DUO_API_HOST.",
        ),
    }
}

/// What a failed health check most likely means. Duo says `invalid_client`
/// for wrong keys and for a clock that is off alike: its unsigned
/// `/auth/v2/ping` tells its time, to tell the two apart.
async fn prompt_failure<T: Transport>(
    error: &DuoError,
    duo: &T,
    host: &ApiHost,
    now: i64,
) -> Failure {
    let detail_of = |detail: Option<&str>| detail.unwrap_or("").to_ascii_lowercase();
    match error {
        DuoError::Transport(transport) => transport_failure(transport),
        DuoError::HealthCheckFailed { status, code, message, detail } => {
            let detail = detail_of(detail.as_deref());
            if detail.contains("frameless") {
                return Failure::new(
                    format!("Duo refused this application: {detail}."),
                    "The keys are not a Web SDK (Universal Prompt) application's, or frameless \
                     access is not enabled for it: in the Duo Admin Panel, protect a \"Web SDK\" \
                     application and use its Client ID and secret.",
                );
            }
            let offset = ping_offset(duo, host, now).await;
            if let Some(o) = offset.filter(|o| o.abs() > CLOCK_TOLERANCE_SECONDS) {
                return Failure {
                    offset,
                    ..Failure::new(
                        format!("Duo refused the health check (code {}).", code.unwrap_or(0)),
                        format!(
                            "The Worker's clock is {o} s off Duo's, and Duo refuses assertions \
                             outside its window: the clock is the cause, not the keys."
                        ),
                    )
                };
            }
            let said = message.as_deref().unwrap_or("no message");
            if *status >= 500 {
                return Failure {
                    offset,
                    ..Failure::new(
                        format!("Duo is failing ({said})."),
                        "Duo's side: see status.duo.com, and try again.",
                    )
                };
            }
            Failure {
                offset,
                ..Failure::new(
                    format!("Duo refused the health check: {said}."),
                    "Duo does not accept this Client ID and secret (invalid_client): check \
                     DUO_CLIENT_ID, and set DUO_CLIENT_SECRET again with `wrangler secret put` \
                     (was it rotated in the Duo Admin Panel?).",
                )
            }
        }
        DuoError::Http { status, .. } if *status >= 500 => Failure::new(
            format!("Duo answered HTTP {status}."),
            "Duo's side is failing: see status.duo.com, and try again.",
        ),
        DuoError::OAuth { error, .. } if error == "invalid_client" => Failure::new(
            "Duo refused the Client ID and secret (invalid_client).",
            "Check DUO_CLIENT_ID and set DUO_CLIENT_SECRET again with `wrangler secret put`.",
        ),
        other => Failure::new(
            format!("The health check failed: {other}."),
            "The API host did not answer as Duo does: check DUO_API_HOST.",
        ),
    }
}

/// Duo's clock minus ours, from the unsigned `GET /auth/v2/ping`.
async fn ping_offset<T: Transport>(duo: &T, host: &ApiHost, now: i64) -> Option<i64> {
    let response = duo.send(ping(host)).await.ok()?;
    parse_time(&response).ok().map(|time| time - now)
}

fn inline_failure(error: &AuthApiError) -> Failure {
    let summary = match error {
        AuthApiError::Refused { code, message, .. } => {
            format!("Duo refused the check: {code} {message}.")
        }
        other => format!("The check failed: {other}."),
    };
    Failure::new(summary, format!("{}.", capitalized(error.explanation())))
}
