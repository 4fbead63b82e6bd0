//! Settings the Worker needs, read from vars and secrets and parsed into
//! types at once (`DESIGN.md`, "Configuration").
//!
//! A problem is reported by the setting's name only: never its value. The
//! runtime's `Var`/`Secret` bindings print their plaintext when formatted, so
//! the Worker (`edge::config`) turns each into a zeroized string without
//! formatting it, and [`Config::parse`] moves secrets into redacting newtypes.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use credentials::breach::{self, BreachMode};
use shared::api::routes;
use shared::duo::auth_api::{AuthApiClient, IntegrationKey, SecretKey};
use shared::duo::{ApiHost, ClientId, ClientSecret, ConfigError, DuoClient, RedirectUri};
use zeroize::Zeroizing;

/// Settings in the order they are checked; the first problem is reported.
pub const SETTINGS: [&str; 18] = [
    "DUO_MODE",
    "DUO_CLIENT_ID",
    "DUO_CLIENT_SECRET",
    "DUO_IKEY",
    "DUO_SKEY",
    "DUO_API_HOST",
    "APP_ORIGIN",
    "SESSION_SECRET",
    "SESSION_SECRET_NEXT",
    "SESSION_TTL_SECONDS",
    "SESSION_IDLE_SECONDS",
    "FRESH_AUTH_SECONDS",
    "DUO_FAILMODE",
    "DUO_FAILOPEN_SESSION_TTL_SECONDS",
    "DUO_START_LIMIT",
    "AUDIT_RETENTION_DAYS",
    "PWNED_PASSWORDS",
    "PWNED_PASSWORDS_URL",
];

/// `SESSION_TTL_SECONDS` when unset.
pub const DEFAULT_SESSION_TTL_SECONDS: u32 = 28_800;
/// `DUO_FAILOPEN_SESSION_TTL_SECONDS` when unset (or `SESSION_TTL_SECONDS`
/// when that is shorter).
pub const DEFAULT_FAILOPEN_SESSION_TTL_SECONDS: u32 = 3_600;
/// The longest session accepted (30 days): a larger value is taken for a typo.
pub const MAX_SESSION_TTL_SECONDS: u32 = 86_400;
/// `FRESH_AUTH_SECONDS` when unset: console changes and one's own password
/// need a confirmation (Duo, or the password without Duo) this recent.
pub const DEFAULT_FRESH_AUTH_SECONDS: u32 = 900;
/// `SESSION_IDLE_SECONDS` when unset (or `SESSION_TTL_SECONDS` when that
/// is shorter): NIST SP 800-63B-4's inactivity timeout at AAL2.
pub const DEFAULT_SESSION_IDLE_SECONDS: u32 = 3_600;
/// `DUO_START_LIMIT` when unset: Duo prompts per user per 15 minutes.
pub const DEFAULT_DUO_START_LIMIT: u32 = 5;
/// The largest `DUO_START_LIMIT` accepted.
pub const MAX_DUO_START_LIMIT: u32 = 1_000_000;
/// `AUDIT_RETENTION_DAYS` when unset: audit events are kept a year.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;
/// The shortest `AUDIT_RETENTION_DAYS` accepted (the database refuses to
/// delete younger events: `migrations/0003_pruning_and_duo_identity.sql`).
pub const MIN_AUDIT_RETENTION_DAYS: u32 = 30;
/// The longest `AUDIT_RETENTION_DAYS` accepted (ten years).
pub const MAX_AUDIT_RETENTION_DAYS: u32 = 3_650;
/// The shortest `SESSION_SECRET`, in decoded bytes.
pub const MIN_SESSION_SECRET_LEN: usize = 32;

/// A setting that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// Not set, or set to an empty string.
    Missing(&'static str),
    /// Set, but not a valid value; `rule` says what is expected (never what was found).
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// The rule it breaks, safe to log.
        rule: &'static str,
    },
}

impl ConfigProblem {
    /// The setting's name, safe to log and to return.
    pub const fn setting(self) -> &'static str {
        match self {
            Self::Missing(name) | Self::Invalid { setting: name, .. } => name,
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(name) => write!(f, "{name} is missing or empty"),
            Self::Invalid { setting, rule } => write!(f, "{setting} is invalid: {rule}"),
        }
    }
}

/// The parsed configuration: read once per request, every value already in
/// the type that uses it (the Duo settings in the Duo client's own types).
#[derive(Debug)]
pub struct Config {
    /// Where the SPA is served; `Origin` of every state-changing request.
    pub app_origin: AppOrigin,
    /// Key of the cookie signatures.
    pub session_secret: SessionSecret,
    /// Lifetime of a session, in seconds (at most a day).
    pub session_ttl_seconds: u32,
    /// How long a session may go unused before it ends, in seconds (at
    /// most `session_ttl_seconds`).
    pub session_idle_seconds: u32,
    /// How recent the session's confirmation must be for a console change
    /// or one's own password change, in seconds.
    pub fresh_auth_seconds: u32,
    /// What the Duo step does when Duo is unreachable.
    pub fail_mode: FailMode,
    /// Lifetime of a `fail_open` session (signed in without Duo), in
    /// seconds: never longer than `session_ttl_seconds`.
    pub failopen_session_ttl_seconds: u32,
    /// Duo steps (`POST /auth/duo/start`, each one a prompt) allowed per
    /// user per rate-limit window: against push fatigue.
    pub duo_start_limit: u32,
    /// How long audit events are kept (scheduled maintenance).
    pub audit_retention_days: u32,
    /// The Duo mode (`DUO_MODE`) and its client, built by the Duo
    /// clients' own parsers.
    pub duo: DuoSetup,
    /// Where a password is chosen: what a breached one gets, and where
    /// Pwned Passwords is asked.
    pub breach: BreachCheck,
    /// Prompt mode with Auth API keys (`DUO_IKEY` and `DUO_SKEY` set too):
    /// the client remembered sign-ins ask Duo's `preauth` with. (Inline
    /// mode uses its own; see [`Config::auth_api`].)
    pub prompt_auth_api: Option<AuthApiClient>,
}

/// The breached-password check (`PWNED_PASSWORDS`, `PWNED_PASSWORDS_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachCheck {
    /// `block` (default), `warn` or `off`.
    pub mode: BreachMode,
    /// The range API's base URL (no trailing `/`), `https://`, or
    /// `http://` on a loopback host when `APP_ORIGIN` is loopback too.
    pub url: String,
}

impl BreachCheck {
    fn parse<F>(lookup: &F, app_origin: &AppOrigin) -> Result<Self, ConfigProblem>
    where
        F: Fn(&str) -> Option<Zeroizing<String>>,
    {
        let present = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let mode = present("PWNED_PASSWORDS")
            .map_or(Ok(BreachMode::default()), |v| BreachMode::parse(&v))
            .map_err(|rule| ConfigProblem::Invalid { setting: "PWNED_PASSWORDS", rule })?;
        let url = present("PWNED_PASSWORDS_URL")
            .map_or_else(|| breach::DEFAULT_URL.to_owned(), |v| v.trim().to_owned());
        let invalid = |rule| ConfigProblem::Invalid { setting: "PWNED_PASSWORDS_URL", rule };
        let authority = https_or_local(&url, app_origin).map_err(|refused| match refused {
            NotHttps::PlainHttp => invalid(
                "expected an https:// URL (http:// only for a loopback stand-in while APP_ORIGIN is loopback too)",
            ),
            NotHttps::OtherScheme => {
                invalid("expected an https:// URL like https://api.pwnedpasswords.com")
            }
        })?;
        let clean = !authority.is_empty()
            && !authority.starts_with('/')
            && url.len() <= 200
            && !url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#');
        if !clean {
            return Err(invalid(
                "expected a URL with a host and no query, like https://api.pwnedpasswords.com",
            ));
        }
        Ok(Self { mode, url: url.trim_end_matches('/').to_owned() })
    }
}

/// How the second factor runs (`DUO_MODE`), with the client it needs.
#[derive(Debug)]
pub enum DuoSetup {
    /// `prompt` (default): Duo's Universal Prompt, a redirect, from
    /// `DUO_CLIENT_ID`, `DUO_CLIENT_SECRET`, `DUO_API_HOST` and the redirect
    /// URI.
    Prompt(DuoClient),
    /// `inline`: Duo's Auth API, the factor chosen on our own page, from
    /// `DUO_IKEY`, `DUO_SKEY` and `DUO_API_HOST`.
    Inline(AuthApiClient),
}

/// The keys of the configured mode, before the host is parsed.
enum Keys {
    Prompt(ClientId, ClientSecret, Option<(IntegrationKey, SecretKey)>),
    Inline(IntegrationKey, SecretKey),
}

impl DuoSetup {
    /// `prompt` or `inline`.
    pub const fn mode(&self) -> &'static str {
        match self {
            Self::Prompt(_) => "prompt",
            Self::Inline(_) => "inline",
        }
    }
}

impl Config {
    /// The Auth API client, when there is one: inline mode's, or prompt
    /// mode's optional one (with which remembered sign-ins still ask Duo).
    pub fn auth_api(&self) -> Option<&AuthApiClient> {
        match &self.duo {
            DuoSetup::Inline(client) => Some(client),
            DuoSetup::Prompt(_) => self.prompt_auth_api.as_ref(),
        }
    }

    /// Parses settings given by `lookup` (the environment, or a test's map).
    ///
    /// # Errors
    /// The first setting (in [`SETTINGS`] order) that is missing or invalid.
    pub fn parse<F>(lookup: F) -> Result<Self, ConfigProblem>
    where
        F: Fn(&str) -> Option<Zeroizing<String>>,
    {
        let present = |name: &'static str| -> Option<Zeroizing<String>> {
            lookup(name).filter(|v| !v.trim().is_empty())
        };
        let required = |name: &'static str| present(name).ok_or(ConfigProblem::Missing(name));

        // The Duo settings are parsed once, by the Duo clients' own parsers,
        // so a value they would refuse is reported here, by name.
        let inline = match present("DUO_MODE").as_deref().map(|m| m.trim()) {
            None | Some("prompt") => false,
            Some("inline") => true,
            Some(_) => {
                return Err(ConfigProblem::Invalid {
                    setting: "DUO_MODE",
                    rule: "expected prompt (Duo's Universal Prompt, the default) or inline (Duo's Auth API)",
                });
            }
        };
        let keys = if inline {
            let ikey =
                IntegrationKey::parse(required("DUO_IKEY")?.trim()).map_err(|e| duo_problem(&e))?;
            let skey = SecretKey::parse(required("DUO_SKEY")?.trim().to_owned())
                .map_err(|e| duo_problem(&e))?;
            Keys::Inline(ikey, skey)
        } else {
            let client_id =
                ClientId::parse(required("DUO_CLIENT_ID")?.trim()).map_err(|e| duo_problem(&e))?;
            let client_secret =
                ClientSecret::parse(required("DUO_CLIENT_SECRET")?.trim().to_owned())
                    .map_err(|e| duo_problem(&e))?;
            // Optional Auth API keys, used when both are set (the template's
            // `wrangler.toml` sets DUO_IKEY for `user-admin`; a secret key
            // without it, or it without one, leaves trusted browsers as before).
            let auth_api = match (present("DUO_IKEY"), present("DUO_SKEY")) {
                (Some(ikey), Some(skey)) => Some((
                    IntegrationKey::parse(ikey.trim()).map_err(|e| duo_problem(&e))?,
                    SecretKey::parse(skey.trim().to_owned()).map_err(|e| duo_problem(&e))?,
                )),
                _ => None,
            };
            Keys::Prompt(client_id, client_secret, auth_api)
        };
        let api_host =
            ApiHost::parse(required("DUO_API_HOST")?.trim()).map_err(|e| duo_problem(&e))?;
        let app_origin = AppOrigin::parse(&required("APP_ORIGIN")?)
            .map_err(|rule| ConfigProblem::Invalid { setting: "APP_ORIGIN", rule })?;
        // The emulator's form (a loopback host) is for local development:
        // a deployed Worker pointed at it would send the second factor to
        // whatever listens on its own loopback.
        if is_loopback_authority(api_host.as_str()) && !app_origin.is_loopback() {
            return Err(ConfigProblem::Invalid {
                setting: "DUO_API_HOST",
                rule: "a loopback host (the local emulator) is allowed only when APP_ORIGIN is loopback too",
            });
        }
        let redirect_uri = app_origin.duo_redirect_uri().clone();
        let session_secret = SessionSecret::from_settings(
            &required("SESSION_SECRET")?,
            present("SESSION_SECRET_NEXT"),
        )?;
        let session_ttl_seconds = present("SESSION_TTL_SECONDS")
            .map_or(Ok(DEFAULT_SESSION_TTL_SECONDS), |v| parse_ttl(&v))
            .map_err(|rule| ConfigProblem::Invalid { setting: "SESSION_TTL_SECONDS", rule })?;
        let within = |name, default: u32| {
            within_lifetime(
                present(name).as_deref().map(String::as_str),
                default,
                session_ttl_seconds,
            )
            .map_err(|rule| ConfigProblem::Invalid { setting: name, rule })
        };
        let session_idle_seconds = within("SESSION_IDLE_SECONDS", DEFAULT_SESSION_IDLE_SECONDS)?;
        let fresh_auth_seconds = present("FRESH_AUTH_SECONDS")
            .map_or(Ok(DEFAULT_FRESH_AUTH_SECONDS), |v| parse_ttl(&v))
            .map_err(|rule| ConfigProblem::Invalid { setting: "FRESH_AUTH_SECONDS", rule })?;
        let fail_mode = present("DUO_FAILMODE")
            .map_or(Ok(FailMode::Closed), |v| FailMode::parse(&v))
            .map_err(|rule| ConfigProblem::Invalid { setting: "DUO_FAILMODE", rule })?;
        let failopen_session_ttl_seconds =
            within("DUO_FAILOPEN_SESSION_TTL_SECONDS", DEFAULT_FAILOPEN_SESSION_TTL_SECONDS)?;
        let Maintenance { duo_start_limit, audit_retention_days } = Maintenance::parse(&lookup)?;
        let breach = BreachCheck::parse(&lookup, &app_origin)?;
        // Checked here so that `/api/health` names it; the queue's consumer
        // reads it alone ([`AlertSettings`]).
        AlertSettings::parse(&lookup)?;
        Ok(Self {
            app_origin,
            session_secret,
            session_ttl_seconds,
            session_idle_seconds,
            fresh_auth_seconds,
            fail_mode,
            failopen_session_ttl_seconds,
            duo_start_limit,
            audit_retention_days,
            breach,
            prompt_auth_api: match &keys {
                Keys::Prompt(_, _, Some((ikey, skey))) => {
                    Some(AuthApiClient::new(ikey.clone(), skey.clone(), api_host.clone()))
                }
                _ => None,
            },
            duo: match keys {
                Keys::Inline(ikey, skey) => {
                    DuoSetup::Inline(AuthApiClient::new(ikey, skey, api_host))
                }
                Keys::Prompt(id, secret, _) => {
                    DuoSetup::Prompt(DuoClient::new(id, secret, api_host, redirect_uri))
                }
            },
        })
    }
}

/// Setting `name` of the Worker's environment. `Var`/`Secret` print their
/// value when formatted: the JS string is taken out of the binding without
/// formatting it.
/// The settings scheduled maintenance needs, parsed alone: pruning goes on
/// while a Duo setting is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maintenance {
    /// `DUO_START_LIMIT` (the Duo-step counters' limit, for their summaries).
    pub duo_start_limit: u32,
    /// `AUDIT_RETENTION_DAYS`.
    pub audit_retention_days: u32,
}

impl Maintenance {
    /// Parses them from `lookup`.
    ///
    /// # Errors
    /// The first setting that is invalid.
    pub fn parse<F>(lookup: &F) -> Result<Self, ConfigProblem>
    where
        F: Fn(&str) -> Option<Zeroizing<String>>,
    {
        let present = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let duo_start_limit = present("DUO_START_LIMIT")
            .map_or(Ok(DEFAULT_DUO_START_LIMIT), |v| parse_start_limit(&v))
            .map_err(|rule| ConfigProblem::Invalid { setting: "DUO_START_LIMIT", rule })?;
        let audit_retention_days = present("AUDIT_RETENTION_DAYS")
            .map_or(Ok(DEFAULT_AUDIT_RETENTION_DAYS), |v| parse_retention_days(&v))
            .map_err(|rule| ConfigProblem::Invalid { setting: "AUDIT_RETENTION_DAYS", rule })?;
        Ok(Self { duo_start_limit, audit_retention_days })
    }
}

/// What the alerts' queue consumer needs, parsed alone: alerts go out
/// while a Duo setting is broken (Duo refusing our keys is one of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    /// Which login raised an alert: `APP_ORIGIN` as set (the Worker's
    /// name when it is not).
    pub service: String,
    /// `ALERT_RETRY_SECONDS`: the first retry's delay after a failed
    /// delivery, doubled on each retry (1 to 3600; default 60).
    pub retry_seconds: u32,
}

/// [`AlertSettings::retry_seconds`] when `ALERT_RETRY_SECONDS` is not set.
pub const DEFAULT_ALERT_RETRY_SECONDS: u32 = 60;

impl AlertSettings {
    /// Parses them from `lookup`.
    ///
    /// # Errors
    /// `ALERT_RETRY_SECONDS` when it is not a whole number from 1 to 3600.
    pub fn parse<F>(lookup: &F) -> Result<Self, ConfigProblem>
    where
        F: Fn(&str) -> Option<Zeroizing<String>>,
    {
        let present = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let service = present("APP_ORIGIN")
            .map_or_else(|| "duo-edge-login".to_owned(), |v| v.trim().to_owned());
        let retry_seconds = present("ALERT_RETRY_SECONDS")
            .map_or(Ok(DEFAULT_ALERT_RETRY_SECONDS), |v| {
                let v = v.trim();
                match v.parse::<u32>() {
                    Ok(n) if v.len() <= 4 && (1..=3600).contains(&n) => Ok(n),
                    _ => Err("expected a whole number of seconds from 1 to 3600"),
                }
            })
            .map_err(|rule| ConfigProblem::Invalid { setting: "ALERT_RETRY_SECONDS", rule })?;
        Ok(Self { service, retry_seconds })
    }
}

fn parse_retention_days(text: &str) -> Result<u32, &'static str> {
    const RULE: &str = "expected a whole number of days from 30 to 3650";
    let text = text.trim();
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RULE);
    }
    match text.parse::<u32>() {
        Ok(days) if (MIN_AUDIT_RETENTION_DAYS..=MAX_AUDIT_RETENTION_DAYS).contains(&days) => {
            Ok(days)
        }
        _ => Err(RULE),
    }
}

/// A setting the Duo client refuses, named with a rule (never its value).
fn duo_problem(error: &ConfigError) -> ConfigProblem {
    let setting = error.setting();
    let rule = match setting {
        "DUO_CLIENT_ID" => "expected the 20-character client ID (ASCII letters and digits)",
        "DUO_CLIENT_SECRET" => "expected the 40-character client secret",
        "DUO_IKEY" => {
            "expected the 20-character integration key of an Auth API application (ASCII letters and digits)"
        }
        "DUO_SKEY" => "expected the 40-character secret key of the Auth API application",
        "DUO_API_HOST" => {
            "expected a bare host name like api-XXXXXXXX.duosecurity.com (a port only for a loopback emulator)"
        }
        "APP_ORIGIN" => "cannot form Duo's redirect URI (https, or http for localhost)",
        _ => "refused by the Duo client",
    };
    ConfigProblem::Invalid { setting, rule }
}

/// `APP_ORIGIN`: `scheme://host[:port]`, lower-case, default port omitted:
/// the serialization browsers send in `Origin`; with Duo's redirect URI
/// made from it, parsed (host and port too) by the Duo client's own parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOrigin {
    origin: String,
    redirect_uri: RedirectUri,
}

impl AppOrigin {
    /// Parses an origin: `https://` anywhere, `http://` only for a loopback
    /// host (`localhost`, `127.0.0.0/8`); a DNS name (or a loopback IPv4
    /// address; no IPv6 literal); no user, path (not even `/`), query or fragment. The host
    /// and port rules are those of Duo's redirect URI
    /// ([`RedirectUri::parse`]), which this origin forms.
    ///
    /// # Errors
    /// The rule the value breaks.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        const RULE: &str = "expected an origin like https://login.example.com (no path)";
        const SCHEME: &str = "the scheme must be https (or http for localhost)";
        let (scheme, rest) = text.trim().split_once("://").ok_or(RULE)?;
        let (scheme, rest) = (scheme.to_ascii_lowercase(), rest.to_ascii_lowercase());
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err(SCHEME),
        };
        if rest.contains(['/', '?', '#', '@', '\\', '[', ']']) {
            return Err(RULE);
        }
        let callback = routes::at(routes::DUO_CALLBACK);
        // Host and port: the Duo client's parser, on the URI it will be given.
        RedirectUri::parse(&format!("{scheme}://{rest}{callback}")).map_err(
            |error| match error {
                ConfigError::RedirectUriScheme => SCHEME,
                _ => RULE,
            },
        )?;
        let origin = match rest.rsplit_once(':') {
            Some((host, port)) => match port.parse::<u16>().map_err(|_| RULE)? {
                port if port == default_port => format!("{scheme}://{host}"),
                port => format!("{scheme}://{host}:{port}"),
            },
            None => format!("{scheme}://{rest}"),
        };
        let redirect_uri = RedirectUri::parse(&format!("{origin}{callback}")).map_err(|_| RULE)?;
        Ok(Self { origin, redirect_uri })
    }

    /// The origin as browsers serialize it.
    pub fn as_str(&self) -> &str {
        &self.origin
    }

    /// Duo's redirect URI: this origin, the login's prefix and
    /// `/auth/duo/callback`.
    pub fn duo_redirect_uri(&self) -> &RedirectUri {
        &self.redirect_uri
    }

    /// Whether this origin's host is loopback (`localhost`, `127.0.0.0/8`):
    /// local development.
    pub fn is_loopback(&self) -> bool {
        self.origin.split_once("://").is_some_and(|(_, authority)| is_loopback_authority(authority))
    }

    /// Whether a request's `Origin` header is this origin.
    pub fn matches(&self, origin_header: &str) -> bool {
        self.origin == origin_header
    }
}

/// Why [`https_or_local`] refused a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotHttps {
    /// `http://` to a host that is not loopback, or while `APP_ORIGIN` is
    /// not loopback.
    PlainHttp,
    /// Neither `https://` nor `http://`.
    OtherScheme,
}

/// The part of `url` after its scheme, when the login may call it:
/// `https://`, or `http://` to a loopback host while `APP_ORIGIN` is
/// loopback too (a local stand-in: Pwned Passwords', a webhook receiver).
///
/// # Errors
/// Which rule the scheme breaks.
pub fn https_or_local<'u>(url: &'u str, app_origin: &AppOrigin) -> Result<&'u str, NotHttps> {
    if let Some(rest) = url.strip_prefix("https://") {
        return Ok(rest);
    }
    let rest = url.strip_prefix("http://").ok_or(NotHttps::OtherScheme)?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    if is_loopback_authority(host) && app_origin.is_loopback() {
        Ok(rest)
    } else {
        Err(NotHttps::PlainHttp)
    }
}

/// Whether `authority` (`host` or `host:port`, an IPv6 literal in
/// brackets) names a loopback host: `localhost`, `127.0.0.0/8`, `[::1]`.
fn is_loopback_authority(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inner, _)) => {
                return inner.parse::<std::net::Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
            }
            None => return false,
        }
    } else {
        authority.rsplit_once(':').map_or(authority, |(host, _)| host)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// A duration within the session's lifetime `ttl`: `value` when set, else
/// `default` capped at `ttl`.
fn within_lifetime(value: Option<&str>, default: u32, ttl: u32) -> Result<u32, &'static str> {
    let Some(value) = value else { return Ok(default.min(ttl)) };
    let seconds = parse_ttl(value)?;
    if seconds <= ttl { Ok(seconds) } else { Err("must not be longer than SESSION_TTL_SECONDS") }
}

fn parse_ttl(text: &str) -> Result<u32, &'static str> {
    const RULE: &str = "expected a whole number of seconds from 1 to 86400 (24 hours, the most NIST SP 800-63B-4 allows at AAL2)";
    let text = text.trim();
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RULE);
    }
    let seconds: u32 = text.parse().map_err(|_| RULE)?;
    if seconds == 0 || seconds > MAX_SESSION_TTL_SECONDS {
        return Err(RULE);
    }
    Ok(seconds)
}

fn parse_start_limit(text: &str) -> Result<u32, &'static str> {
    const RULE: &str = "expected a whole number from 1 to 1000000";
    let text = text.trim();
    if text.is_empty() || text.len() > 7 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RULE);
    }
    match text.parse::<u32>() {
        Ok(limit) if (1..=MAX_DUO_START_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(RULE),
    }
}

/// `DUO_FAILMODE`: what happens when Duo cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Refuse the second step (the default).
    Closed,
    /// Let the user in, recording that Duo was skipped (`fail_open`).
    Open,
}

impl FailMode {
    fn parse(text: &str) -> Result<Self, &'static str> {
        match text.trim() {
            "closed" => Ok(Self::Closed),
            "open" => Ok(Self::Open),
            _ => Err("expected `closed` or `open`"),
        }
    }
}

/// `SESSION_SECRET`, decoded: the HMAC key of the cookie signatures.
/// During a rotation (`SESSION_SECRET_NEXT` set) it holds both: the next
/// one signs every new cookie, and a cookie signed with either is accepted,
/// so nobody's sign-in under way or known browser is lost. Zeroized on
/// drop; `Debug` prints `SessionSecret([redacted])`.
pub struct SessionSecret(Vec<Zeroizing<Vec<u8>>>);

impl SessionSecret {
    /// Decodes standard base64 (padding optional) of at least
    /// [`MIN_SESSION_SECRET_LEN`] bytes.
    ///
    /// # Errors
    /// The rule the value breaks.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        const BASE64: GeneralPurpose = GeneralPurpose::new(
            &alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        let bytes = Zeroizing::new(
            BASE64
                .decode(text.trim())
                .map_err(|_| "expected base64 of at least 32 random bytes")?,
        );
        if bytes.len() < MIN_SESSION_SECRET_LEN {
            return Err("expected at least 32 bytes (base64-encoded)");
        }
        Ok(Self(vec![bytes]))
    }

    /// `SESSION_SECRET`, and during a rotation `SESSION_SECRET_NEXT` (which
    /// then signs; both verify).
    ///
    /// # Errors
    /// The setting that is not a secret, and why.
    pub fn from_settings(
        current: &str,
        next: Option<impl AsRef<str>>,
    ) -> Result<Self, ConfigProblem> {
        let current = Self::parse(current)
            .map_err(|rule| ConfigProblem::Invalid { setting: "SESSION_SECRET", rule })?;
        let Some(next) = next else { return Ok(current) };
        let next = Self::parse(next.as_ref())
            .map_err(|rule| ConfigProblem::Invalid { setting: "SESSION_SECRET_NEXT", rule })?;
        Ok(current.rotating_to(next))
    }

    /// This secret during its rotation to `next`: `next` signs from now on,
    /// this one still verifies.
    #[must_use]
    pub fn rotating_to(self, next: Self) -> Self {
        let mut keys = next.0;
        keys.extend(self.0);
        Self(keys)
    }

    /// The signing key's bytes, for HMAC only.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.first().map_or(&[], |key| key.as_slice())
    }

    /// Every key a signature may verify with, the signing one first.
    pub fn verifying_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|key| key.as_slice())
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET_B64: &str = "ZTJlLXRlc3Qtc2Vzc2lvbi1zZWNyZXQtMzItYnl0ZXMhIQ==";

    fn settings() -> HashMap<&'static str, String> {
        [
            ("DUO_CLIENT_ID", "DIEMULATORDEVCLIENT1"),
            ("DUO_CLIENT_SECRET", "EmulatorDevSecretNotForProduction0000000"),
            ("DUO_API_HOST", "127.0.0.1:8788"),
            ("APP_ORIGIN", "http://localhost:8787"),
            ("SESSION_SECRET", SECRET_B64),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect()
    }

    fn parse(map: &HashMap<&'static str, String>) -> Result<Config, ConfigProblem> {
        Config::parse(|name| map.get(name).cloned().map(Zeroizing::new))
    }

    fn with(name: &'static str, value: &str) -> Result<Config, ConfigProblem> {
        let mut map = settings();
        map.insert(name, value.to_owned());
        parse(&map)
    }

    #[test]
    fn defaults_apply_when_optional_settings_are_unset() {
        let config = parse(&settings()).unwrap();
        assert_eq!(config.session_ttl_seconds, DEFAULT_SESSION_TTL_SECONDS);
        assert_eq!(config.fail_mode, FailMode::Closed);
        assert_eq!(config.app_origin.as_str(), "http://localhost:8787");
        assert_eq!(config.session_secret.expose_secret(), b"e2e-test-session-secret-32-bytes!!");
    }

    #[test]
    fn a_rotation_signs_with_the_next_secret_and_verifies_both() {
        let next = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE=";
        let config = with("SESSION_SECRET_NEXT", next).unwrap();
        assert_eq!(config.session_secret.expose_secret(), b"other-key-other-key-other-key-!!");
        let keys: Vec<&[u8]> = config.session_secret.verifying_keys().collect();
        assert_eq!(
            keys,
            [&b"other-key-other-key-other-key-!!"[..], b"e2e-test-session-secret-32-bytes!!"]
        );
        assert_eq!(
            with("SESSION_SECRET_NEXT", "c2hvcnQ=").unwrap_err(),
            ConfigProblem::Invalid {
                setting: "SESSION_SECRET_NEXT",
                rule: "expected at least 32 bytes (base64-encoded)"
            }
        );
        let plain = parse(&settings()).unwrap();
        assert_eq!(plain.session_secret.verifying_keys().count(), 1, "no rotation, one key");
    }

    #[test]
    fn each_missing_setting_is_named() {
        for name in ["DUO_CLIENT_ID", "DUO_CLIENT_SECRET", "DUO_API_HOST", "APP_ORIGIN"] {
            let mut map = settings();
            map.remove(name);
            assert_eq!(parse(&map).unwrap_err(), ConfigProblem::Missing(name));
            map.insert(name, "  ".to_owned());
            assert_eq!(parse(&map).unwrap_err(), ConfigProblem::Missing(name));
        }
    }

    #[test]
    fn sessions_end_after_a_day_at_most_and_after_an_hour_unused_by_default() {
        let config = parse(&settings()).unwrap();
        assert_eq!((config.session_ttl_seconds, config.session_idle_seconds), (28_800, 3_600));
        assert_eq!(
            with("SESSION_TTL_SECONDS", "86401").unwrap_err().setting(),
            "SESSION_TTL_SECONDS"
        );
        assert_eq!(with("SESSION_IDLE_SECONDS", "900").unwrap().session_idle_seconds, 900);
        for bad in ["0", "-1", "1h", "28801"] {
            assert_eq!(
                with("SESSION_IDLE_SECONDS", bad).unwrap_err().setting(),
                "SESSION_IDLE_SECONDS",
                "{bad}"
            );
        }
        let short = with("SESSION_TTL_SECONDS", "600").unwrap();
        assert_eq!(short.session_idle_seconds, 600, "the default is capped at the lifetime");
    }

    #[test]
    fn the_breach_check_is_named_and_its_url_checked() {
        let config = parse(&settings()).unwrap();
        assert_eq!(config.breach.mode, BreachMode::Block, "on by default");
        assert_eq!(config.breach.url, "https://api.pwnedpasswords.com");
        assert_eq!(with("PWNED_PASSWORDS", "warn").unwrap().breach.mode, BreachMode::Warn);
        assert_eq!(with("PWNED_PASSWORDS", "yes").unwrap_err().setting(), "PWNED_PASSWORDS");
        let local = with("PWNED_PASSWORDS_URL", "http://127.0.0.1:8788/").unwrap();
        assert_eq!(local.breach.url, "http://127.0.0.1:8788", "a loopback stand-in, no trailing /");
        for bad in ["ftp://x", "http://example.com", "https://", "https://x/?q=1", "https://a b"] {
            assert_eq!(
                with("PWNED_PASSWORDS_URL", bad).unwrap_err().setting(),
                "PWNED_PASSWORDS_URL",
                "{bad}"
            );
        }
        let mut deployed = settings();
        deployed.insert("APP_ORIGIN", "https://login.example.com".to_owned());
        deployed.insert("DUO_API_HOST", "api-12345678.duosecurity.com".to_owned());
        deployed.insert("PWNED_PASSWORDS_URL", "http://127.0.0.1:8788".to_owned());
        assert_eq!(
            parse(&deployed).unwrap_err().setting(),
            "PWNED_PASSWORDS_URL",
            "no loopback when deployed"
        );
    }

    #[test]
    fn prompt_mode_takes_auth_api_keys_for_trusted_browsers_when_both_are_set() {
        let plain = parse(&settings()).unwrap();
        assert!(plain.auth_api().is_none(), "no Auth API keys: none");
        let mut map = settings();
        map.insert("DUO_IKEY", "DIEMULATORAUTHAPI001".to_owned());
        assert!(parse(&map).unwrap().auth_api().is_none(), "the integration key alone: none");
        map.insert("DUO_SKEY", "short".to_owned());
        assert_eq!(parse(&map).unwrap_err().setting(), "DUO_SKEY");
        map.insert("DUO_SKEY", "EmulatorAuthApiSecretNotForProduction000".to_owned());
        let config = parse(&map).unwrap();
        assert_eq!(config.duo.mode(), "prompt");
        let client = config.auth_api().expect("an Auth API client");
        assert_eq!(client.integration_key().as_str(), "DIEMULATORAUTHAPI001");
        assert!(!format!("{config:?}").contains("EmulatorAuthApiSecret"), "Debug redacts DUO_SKEY");
        map.remove("DUO_IKEY");
        assert!(parse(&map).unwrap().auth_api().is_none(), "the secret key alone: none");
    }

    #[test]
    fn duo_mode_picks_the_keys_it_needs_and_names_them() {
        assert_eq!(with("DUO_MODE", "redirect").unwrap_err().setting(), "DUO_MODE");
        let mut inline = settings();
        inline.insert("DUO_MODE", "inline".to_owned());
        // The prompt's keys are not needed; the Auth API's are, by name.
        inline.remove("DUO_CLIENT_ID");
        inline.remove("DUO_CLIENT_SECRET");
        assert_eq!(parse(&inline).unwrap_err(), ConfigProblem::Missing("DUO_IKEY"));
        inline.insert("DUO_IKEY", "DIEMULATORAUTHAPI001".to_owned());
        assert_eq!(parse(&inline).unwrap_err(), ConfigProblem::Missing("DUO_SKEY"));
        inline.insert("DUO_SKEY", "too-short".to_owned());
        let problem = parse(&inline).unwrap_err();
        assert_eq!(problem.setting(), "DUO_SKEY");
        assert!(!problem.to_string().contains("too-short"), "the value must not be echoed");
        inline.insert("DUO_SKEY", "EmulatorAuthApiSecretNotForProduction000".to_owned());
        let config = parse(&inline).unwrap();
        assert_eq!(config.duo.mode(), "inline");
        assert!(!format!("{config:?}").contains("EmulatorAuthApiSecret"), "Debug redacts DUO_SKEY");
        assert_eq!(parse(&settings()).unwrap().duo.mode(), "prompt");
    }

    #[test]
    fn session_secret_must_be_base64_of_32_bytes() {
        for bad in ["not base64!", "c2hvcnQ=", "ZTJlLXRlc3Qtc2Vzc2lvbi1zZWNyZXQtMzFieXRlcw=="] {
            let problem = with("SESSION_SECRET", bad).unwrap_err();
            assert_eq!(problem.setting(), "SESSION_SECRET", "{bad}");
        }
        // Unpadded is fine.
        assert!(with("SESSION_SECRET", SECRET_B64.trim_end_matches('=')).is_ok());
    }

    #[test]
    fn duo_settings_are_checked_by_name() {
        let cases = [
            ("DUO_CLIENT_ID", "DISHORT"),
            ("DUO_CLIENT_ID", "DIEMULATORDEVCLIENT!"),
            ("DUO_CLIENT_SECRET", "too-short"),
            ("DUO_API_HOST", "https://api-deadbeef.duosecurity.com"),
            ("DUO_API_HOST", "api-deadbeef.duosecurity.com/path"),
            ("DUO_API_HOST", "api-deadbeef.duosecurity.com:8443"),
        ];
        for (name, value) in cases {
            let problem = with(name, value).unwrap_err();
            assert_eq!(problem.setting(), name, "{value}");
            assert!(!problem.to_string().contains(value), "the value must not be echoed");
        }
        let config = with("DUO_API_HOST", "api-deadbeef.duosecurity.com").unwrap();
        // The client was built from these settings: its requests go to that
        // host and name the redirect URI made from APP_ORIGIN.
        let code = shared::duo::AuthCode::parse("code-1").unwrap();
        let DuoSetup::Prompt(duo) = &config.duo else { panic!("prompt is the default mode") };
        let token = duo.token_request(&code, shared::duo::UnixTime(1), &[7; 32]);
        assert_eq!(token.url, "https://api-deadbeef.duosecurity.com/oauth/v1/token");
        let body = String::from_utf8(token.body).unwrap();
        let callback = format!("http://localhost:8787{}", routes::at(routes::DUO_CALLBACK));
        let encoded: String = form_urlencoded::byte_serialize(callback.as_bytes()).collect();
        assert!(body.contains(&format!("redirect_uri={encoded}")), "{body}");
        assert_eq!(config.app_origin.duo_redirect_uri().as_str(), callback);
    }

    #[test]
    fn a_loopback_duo_api_host_needs_a_loopback_app_origin() {
        let loopback_hosts =
            ["127.0.0.1:8788", "localhost:8788", "LocalHost:8788", "[::1]:8788", "127.9.9.9:1"];
        for host in loopback_hosts.into_iter().chain(["127.0.0.1", "localhost"]) {
            let mut map = settings();
            map.insert("DUO_API_HOST", host.to_owned());
            map.insert("APP_ORIGIN", "https://login.example.com".to_owned());
            let problem = parse(&map).map(drop).unwrap_err();
            assert_eq!(problem.setting(), "DUO_API_HOST", "{host}");
            assert!(!problem.to_string().contains(host), "the value must not be echoed");
        }
        for origin in ["http://localhost:8787", "http://127.0.0.1:8787", "https://localhost"] {
            for host in loopback_hosts {
                let mut map = settings();
                map.insert("DUO_API_HOST", host.to_owned());
                map.insert("APP_ORIGIN", origin.to_owned());
                assert!(parse(&map).is_ok(), "{origin} {host}");
            }
        }
        let mut map = settings();
        map.insert("DUO_API_HOST", "api-deadbeef.duosecurity.com".to_owned());
        map.insert("APP_ORIGIN", "https://login.example.com".to_owned());
        assert!(parse(&map).is_ok());
    }

    #[test]
    fn app_origin_is_normalized_and_checked() {
        let ok = [
            ("https://login.example.com", "https://login.example.com"),
            ("HTTPS://Login.Example.com:443", "https://login.example.com"),
            ("https://login.example.com:8443", "https://login.example.com:8443"),
            ("http://localhost", "http://localhost"),
            ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ];
        for (text, origin) in ok {
            assert_eq!(
                AppOrigin::parse(text).map(|o| o.as_str().to_owned()),
                Ok(origin.to_owned()),
                "{text}"
            );
        }
        for bad in [
            "login.example.com",
            "http://login.example.com",
            "http://192.168.1.2",
            "ftp://login.example.com",
            "https://login.example.com/",
            "https://login.example.com/app",
            "https://login.example.com?x",
            "https://user@login.example.com",
            "https://login.example.com:0",
            "https://login.example.com:99999",
            "https://[::1]",
            "https://",
            "https://-bad-.example.com",
        ] {
            assert!(AppOrigin::parse(bad).is_err(), "{bad}");
            assert_eq!(with("APP_ORIGIN", bad).unwrap_err().setting(), "APP_ORIGIN");
        }
    }

    #[test]
    fn session_ttl_must_be_a_positive_integer() {
        assert_eq!(with("SESSION_TTL_SECONDS", "60").unwrap().session_ttl_seconds, 60);
        for bad in ["0", "-5", "1.5", "+60", "ten", "2592001", "99999999999"] {
            let problem = with("SESSION_TTL_SECONDS", bad).unwrap_err();
            assert_eq!(problem.setting(), "SESSION_TTL_SECONDS", "{bad}");
        }
    }

    #[test]
    fn failopen_session_ttl_is_a_ttl_no_longer_than_the_session_ttl() {
        let config = parse(&settings()).unwrap();
        assert_eq!(config.failopen_session_ttl_seconds, DEFAULT_FAILOPEN_SESSION_TTL_SECONDS);
        let name = "DUO_FAILOPEN_SESSION_TTL_SECONDS";
        assert_eq!(with(name, "600").unwrap().failopen_session_ttl_seconds, 600);
        assert_eq!(with(name, "28800").unwrap().failopen_session_ttl_seconds, 28_800);
        for bad in ["0", "-5", "1.5", "+60", "ten", "28801", "2592001", "99999999999"] {
            assert_eq!(with(name, bad).unwrap_err().setting(), name, "{bad}");
        }
        // The default never exceeds a shorter session TTL.
        let mut map = settings();
        map.insert("SESSION_TTL_SECONDS", "900".to_owned());
        assert_eq!(parse(&map).unwrap().failopen_session_ttl_seconds, 900);
        map.insert(name, "901".to_owned());
        let problem = parse(&map).unwrap_err();
        assert_eq!(problem.setting(), name);
        assert!(problem.to_string().contains("SESSION_TTL_SECONDS"), "{problem}");
    }

    #[test]
    fn audit_retention_is_30_days_to_10_years() {
        assert_eq!(parse(&settings()).unwrap().audit_retention_days, 365);
        assert_eq!(with("AUDIT_RETENTION_DAYS", "30").unwrap().audit_retention_days, 30);
        assert_eq!(with("AUDIT_RETENTION_DAYS", " 3650 ").unwrap().audit_retention_days, 3650);
        for bad in ["29", "0", "3651", "-1", "1e3", "90d", "99999999999"] {
            let problem = with("AUDIT_RETENTION_DAYS", bad).unwrap_err();
            assert_eq!(problem.setting(), "AUDIT_RETENTION_DAYS", "{bad}");
        }
        // Maintenance reads it (and the Duo-step limit) without the rest.
        let map: HashMap<&str, String> = [("AUDIT_RETENTION_DAYS", "45".to_owned())].into();
        let lookup = |name: &str| map.get(name).cloned().map(Zeroizing::new);
        let maintenance = Maintenance::parse(&lookup).unwrap();
        assert_eq!(maintenance.audit_retention_days, 45);
        assert_eq!(maintenance.duo_start_limit, DEFAULT_DUO_START_LIMIT);
    }

    #[test]
    fn alert_retries_start_after_1_to_3600_seconds_and_are_read_alone() {
        parse(&settings()).unwrap();
        with("ALERT_RETRY_SECONDS", "1").unwrap();
        for bad in ["0", "3601", "-1", "1.5", "soon", "99999999999"] {
            let problem = with("ALERT_RETRY_SECONDS", bad).unwrap_err();
            assert_eq!(problem.setting(), "ALERT_RETRY_SECONDS", "{bad}");
            let said = problem.to_string();
            assert!(!said.contains("soon") && !said.contains("99999"), "no value repeated: {said}");
        }
        // The consumer reads it without the rest, and names the service.
        let map: HashMap<&str, String> = [("ALERT_RETRY_SECONDS", " 5 ".to_owned())].into();
        let lookup = |name: &str| map.get(name).cloned().map(Zeroizing::new);
        let alone = AlertSettings::parse(&lookup).unwrap();
        assert_eq!(alone, AlertSettings { service: "duo-edge-login".to_owned(), retry_seconds: 5 });
        let full: HashMap<&str, String> = settings();
        let lookup = |name: &str| full.get(name).cloned().map(Zeroizing::new);
        let settings = AlertSettings::parse(&lookup).unwrap();
        assert_eq!(settings.retry_seconds, DEFAULT_ALERT_RETRY_SECONDS);
        assert!(settings.service.starts_with("http"), "{settings:?}");
    }

    #[test]
    fn duo_start_limit_is_a_small_positive_integer() {
        assert_eq!(parse(&settings()).unwrap().duo_start_limit, DEFAULT_DUO_START_LIMIT);
        assert_eq!(with("DUO_START_LIMIT", "1").unwrap().duo_start_limit, 1);
        assert_eq!(with("DUO_START_LIMIT", " 1000000 ").unwrap().duo_start_limit, 1_000_000);
        for bad in ["0", "-1", "1000001", "5.0", "+5", "five", "99999999999"] {
            let problem = with("DUO_START_LIMIT", bad).unwrap_err();
            assert_eq!(problem.setting(), "DUO_START_LIMIT", "{bad}");
        }
    }

    #[test]
    fn fail_mode_is_closed_or_open() {
        assert_eq!(with("DUO_FAILMODE", "open").unwrap().fail_mode, FailMode::Open);
        assert_eq!(with("DUO_FAILMODE", "closed").unwrap().fail_mode, FailMode::Closed);
        assert_eq!(with("DUO_FAILMODE", "Open").unwrap_err().setting(), "DUO_FAILMODE");
    }

    #[test]
    fn problems_never_show_the_value() {
        let value = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw";
        let problem = with("SESSION_SECRET", value).unwrap_err();
        assert!(!problem.to_string().contains(value));
        assert!(!format!("{problem:?}").contains(value));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let config = parse(&settings()).unwrap();
        let shown = format!("{config:?}");
        assert!(shown.contains("SessionSecret([redacted])"), "{shown}");
        assert!(shown.contains("ClientSecret([redacted])"), "{shown}");
        assert!(!shown.contains("EmulatorDevSecret"), "{shown}");
        assert!(!shown.contains("e2e-test"), "{shown}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(
                origin in ".{0,80}",
                secret in ".{0,80}",
                ttl in ".{0,20}",
                mode in ".{0,10}",
            ) {
                let mut map = settings();
                map.insert("APP_ORIGIN", origin);
                map.insert("SESSION_SECRET", secret);
                map.insert("SESSION_TTL_SECONDS", ttl);
                map.insert("DUO_FAILMODE", mode);
                let _ = parse(&map);
            }

            #[test]
            fn origin_parse_never_panics(text in "(https?://)?[a-zA-Z0-9.:/@?#\\[\\]-]{0,40}") {
                if let Ok(origin) = AppOrigin::parse(&text) {
                    // A parsed origin parses to itself.
                    prop_assert_eq!(AppOrigin::parse(origin.as_str()), Ok(origin.clone()));
                }
            }
        }
    }
}
