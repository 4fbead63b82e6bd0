//! An I/O-free client for Duo's Auth API v2 (`/auth/v2/*`), beside the
//! Universal Prompt client and in its style: no clock, no randomness, no
//! HTTP inside. Each operation builds a signed request as data
//! ([`HttpRequest`]) from the time the caller passes in, and each answer is
//! parsed from data ([`HttpResponse`]) into a typed response or a typed
//! [`AuthApiError`] naming Duo's code.
//!
//! Requests are signed with signature version 2 and HMAC-SHA512 (what
//! Duo's Go, Node and C clients send, and Cortex XSOAR's integration):
//! parameters in the query for `GET`, in a form body for `POST`, a `Date`
//! header in English RFC 2822, and `Authorization: Basic
//! base64(ikey:hex(hmac))` ([`sign`]; the reference's test vectors are in
//! this module's tests, including version 5's canonical request).
//!
//! ```
//! use shared::duo::auth_api::{AuthApiClient, Factor, User, AuthOptions};
//! use shared::duo::{HttpResponse, UnixTime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = AuthApiClient::from_settings(
//!     "DIXXXXXXXXXXXXXXXXXX",                      // DUO_IKEY
//!     "deadbeef".repeat(5),                        // DUO_SKEY (moved in)
//!     "api-deadbeef.duosecurity.com",              // DUO_API_HOST
//! )?;
//! let now = UnixTime(1_700_000_000);
//! let request = client.preauth(User::Username("alice"), None, now);
//! assert_eq!(request.url, "https://api-deadbeef.duosecurity.com/auth/v2/preauth");
//! let request = client.auth(User::Username("alice"), &Factor::Push, &AuthOptions::asynchronous(), now);
//! let started = shared::duo::auth_api::parse_auth(&HttpResponse::new(
//!     200,
//!     r#"{"stat": "OK", "response": {"txid": "45f7c92b-f45f-4862-8545-e0f58e78075a"}}"#,
//! ))?;
//! assert!(matches!(started, shared::duo::auth_api::AuthResponse::Started { .. }));
//! # Ok(())
//! # }
//! ```
//!
//! Reference: `duo-auth-api.md` (the team's notes on Duo's Auth API).

pub mod sign;

mod response;
#[cfg(test)]
mod tests;

use std::fmt;

use zeroize::Zeroize;

use super::config::ApiHost;
use super::error::ConfigError;
use super::http::{HttpRequest, Method, USER_AGENT};
use super::inputs::UnixTime;
pub use response::{
    AuthApiError, AuthOutcome, AuthResponse, AuthResult, Capability, Device, DeviceKind,
    EnrollResponse, EnrollStatus, ErrorKind, PreauthResponse, PreauthResult, VerifiedPush,
    parse_auth, parse_auth_status, parse_enroll, parse_enroll_status, parse_preauth, parse_time,
};

/// An Auth API integration key (`DUO_IKEY`): 20 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntegrationKey(String);

impl IntegrationKey {
    /// Parses `DUO_IKEY`.
    ///
    /// # Errors
    /// [`ConfigError::IntegrationKeyLength`] or [`ConfigError::IntegrationKeyCharacters`].
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let found = value.chars().count();
        if found != 20 {
            return Err(ConfigError::IntegrationKeyLength { found });
        }
        if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::IntegrationKeyCharacters);
        }
        Ok(Self(value.to_owned()))
    }

    /// The key (not a secret: it names the integration).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An Auth API secret key (`DUO_SKEY`): 40 printable ASCII characters,
/// never shown (`Debug` is redacted) and zeroed when dropped.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    /// Parses `DUO_SKEY`. Takes ownership so the caller keeps no copy.
    ///
    /// # Errors
    /// [`ConfigError::SecretKeyLength`] or [`ConfigError::SecretKeyCharacters`]; the
    /// rejected value is zeroed.
    pub fn parse(mut value: String) -> Result<Self, ConfigError> {
        let result = if value.chars().count() != 40 {
            Err(ConfigError::SecretKeyLength)
        } else if !value.bytes().all(|b| b.is_ascii_graphic()) {
            Err(ConfigError::SecretKeyCharacters)
        } else {
            return Ok(Self(value));
        };
        value.zeroize();
        result
    }

    fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// Whom a request is about: Duo's `username` (or alias), or its `user_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User<'a> {
    /// `username`.
    Username(&'a str),
    /// `user_id` (e.g. `DUYHV6TJBC3O4RITS1WC`).
    UserId(&'a str),
}

impl User<'_> {
    fn param(self) -> (&'static str, String) {
        match self {
            Self::Username(name) => ("username", name.to_owned()),
            Self::UserId(id) => ("user_id", id.to_owned()),
        }
    }
}

/// The second factor `auth` uses.
#[derive(Clone, PartialEq, Eq)]
pub enum Factor {
    /// Duo picks push or phone for the device.
    Auto,
    /// A Duo Push.
    Push,
    /// A phone call.
    Phone,
    /// Sends a new batch of SMS passcodes (Duo answers `deny`, status `sent`).
    Sms,
    /// A passcode the user typed (Duo Mobile, SMS, hardware token or bypass code).
    Passcode(String),
}

impl Factor {
    /// Duo's name for it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Push => "push",
            Self::Phone => "phone",
            Self::Sms => "sms",
            Self::Passcode(_) => "passcode",
        }
    }
}

impl fmt::Debug for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Passcode(_) => f.write_str("Passcode([redacted])"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl Drop for Factor {
    fn drop(&mut self) {
        if let Self::Passcode(code) = self {
            code.zeroize();
        }
    }
}

/// `auth`'s options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthOptions {
    /// The device id, or `None` for `auto` (the first device able to do the factor).
    pub device: Option<String>,
    /// Answer at once with a `txid` to follow with `auth_status`.
    pub asynchronous: bool,
    /// The push's title ("Login" by default at Duo).
    pub push_type: Option<String>,
    /// The name shown in the push instead of the username.
    pub display_username: Option<String>,
    /// `pushinfo`: extra `key=value` lines shown in the push.
    pub pushinfo: Vec<(String, String)>,
    /// The client's IP address (Duo's policies by network).
    pub ipaddr: Option<String>,
    /// Verified Duo Push: the `txid` `preauth` answered (push only).
    pub txid: Option<String>,
}

impl AuthOptions {
    /// Asynchronous, on the automatic device.
    pub fn asynchronous() -> Self {
        Self { asynchronous: true, ..Self::default() }
    }
}

/// The Auth API's paths.
pub mod paths {
    /// `GET`, unsigned.
    pub const PING: &str = "/auth/v2/ping";
    /// `GET`.
    pub const CHECK: &str = "/auth/v2/check";
    /// `POST`.
    pub const PREAUTH: &str = "/auth/v2/preauth";
    /// `POST`.
    pub const AUTH: &str = "/auth/v2/auth";
    /// `GET`.
    pub const AUTH_STATUS: &str = "/auth/v2/auth_status";
    /// `POST`.
    pub const ENROLL: &str = "/auth/v2/enroll";
    /// `POST`.
    pub const ENROLL_STATUS: &str = "/auth/v2/enroll_status";
}

/// The client: keys and host, parsed once.
#[derive(Debug, Clone)]
pub struct AuthApiClient {
    integration_key: IntegrationKey,
    secret_key: SecretKey,
    host: ApiHost,
}

/// `GET /auth/v2/ping` on `host`: is Duo there, and its time. Unsigned, so
/// it needs no Auth API keys (the admin console asks it in prompt mode to
/// tell a clock that is off from wrong keys). Parse with [`parse_time`].
pub fn ping(host: &ApiHost) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        url: format!("{}{}", host.base_url(), paths::PING),
        headers: vec![
            ("accept", "application/json".to_owned()),
            ("user-agent", USER_AGENT.to_owned()),
        ],
        body: Vec::new(),
    }
}

impl AuthApiClient {
    /// A client from parsed settings.
    pub fn new(integration_key: IntegrationKey, secret_key: SecretKey, host: ApiHost) -> Self {
        Self { integration_key, secret_key, host }
    }

    /// Parses the three settings, in the order ikey, skey, host.
    ///
    /// # Errors
    /// The first setting that fails, as its [`ConfigError`] (`setting()` names it).
    pub fn from_settings(ikey: &str, skey: String, host: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(IntegrationKey::parse(ikey)?, SecretKey::parse(skey)?, ApiHost::parse(host)?))
    }

    /// The integration key (for logs and the admin console: not a secret).
    pub fn integration_key(&self) -> &IntegrationKey {
        &self.integration_key
    }

    /// Duo's API host.
    pub fn host(&self) -> &ApiHost {
        &self.host
    }

    /// A request to `path`, signed (signature version 2, HMAC-SHA512) at `now`.
    pub fn signed(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        now: UnixTime,
    ) -> HttpRequest {
        let date = sign::rfc2822(now);
        let params = sign::canonical_params(params);
        let canonical =
            sign::canonical_v2(&date, method.as_str(), self.host.as_str(), path, &params);
        let signature = sign::hmac_sha512_hex(self.secret_key.expose(), &canonical);
        let mut headers = vec![
            ("date", date),
            ("authorization", sign::authorization(self.integration_key.as_str(), &signature)),
            ("accept", "application/json".to_owned()),
            ("user-agent", USER_AGENT.to_owned()),
        ];
        // The canonical parameters are also a valid query and form body
        // (`%20` decodes to a space in both).
        let (url, body) = match method {
            Method::Post => {
                headers.push(("content-type", "application/x-www-form-urlencoded".to_owned()));
                (format!("{}{path}", self.host.base_url()), params.into_bytes())
            }
            _ if params.is_empty() => (format!("{}{path}", self.host.base_url()), Vec::new()),
            _ => (format!("{}{path}?{params}", self.host.base_url()), Vec::new()),
        };
        HttpRequest { method, url, headers, body }
    }

    /// `GET /auth/v2/ping`: is Duo there (unsigned). Parse with [`parse_time`].
    pub fn ping(&self) -> HttpRequest {
        ping(&self.host)
    }

    /// `GET /auth/v2/check`: are the keys and the signature right. Parse with [`parse_time`].
    pub fn check(&self, now: UnixTime) -> HttpRequest {
        self.signed(Method::Get, paths::CHECK, &[], now)
    }

    /// `POST /auth/v2/preauth`: may `user` log in, and with which devices.
    /// Parse with [`parse_preauth`].
    pub fn preauth(&self, user: User<'_>, ipaddr: Option<&str>, now: UnixTime) -> HttpRequest {
        self.preauth_with(user, ipaddr, false, now)
    }

    /// `preauth` saying this client supports Verified Duo Push
    /// (`client_supports_verified_push=1`): when the user's policy requires
    /// it, Duo answers a `txid` ([`PreauthResponse::verified_push`]) that the
    /// push's `auth` must carry ([`AuthOptions::txid`]); the code to type in
    /// Duo Mobile then arrives in `auth_status`'s message
    /// ([`AuthOutcome::verification_code`]).
    pub fn preauth_for_verified_push(
        &self,
        user: User<'_>,
        ipaddr: Option<&str>,
        now: UnixTime,
    ) -> HttpRequest {
        self.preauth_with(user, ipaddr, true, now)
    }

    fn preauth_with(
        &self,
        user: User<'_>,
        ipaddr: Option<&str>,
        verified_push: bool,
        now: UnixTime,
    ) -> HttpRequest {
        let (name, value) = user.param();
        let mut params = vec![(name, value.as_str())];
        if let Some(ip) = ipaddr {
            params.push(("ipaddr", ip));
        }
        if verified_push {
            params.push(("client_supports_verified_push", "1"));
        }
        self.signed(Method::Post, paths::PREAUTH, &params, now)
    }

    /// `POST /auth/v2/auth`: authenticate `user` with `factor`. Parse with [`parse_auth`].
    pub fn auth(
        &self,
        user: User<'_>,
        factor: &Factor,
        options: &AuthOptions,
        now: UnixTime,
    ) -> HttpRequest {
        let (name, value) = user.param();
        let pushinfo = options.pushinfo.iter().fold(String::new(), |mut out, (k, v)| {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&sign::percent_encode(k));
            out.push('=');
            out.push_str(&sign::percent_encode(v));
            out
        });
        let mut params: Vec<(&str, &str)> = vec![
            (name, value.as_str()),
            ("factor", factor.as_str()),
            ("async", if options.asynchronous { "1" } else { "0" }),
        ];
        match factor {
            Factor::Passcode(code) => params.push(("passcode", code)),
            _ => params.push(("device", options.device.as_deref().unwrap_or("auto"))),
        }
        let optional = [
            ("type", options.push_type.as_deref()),
            ("display_username", options.display_username.as_deref()),
            ("pushinfo", (!pushinfo.is_empty()).then_some(pushinfo.as_str())),
            ("ipaddr", options.ipaddr.as_deref()),
            ("txid", options.txid.as_deref()),
        ];
        params.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        self.signed(Method::Post, paths::AUTH, &params, now)
    }

    /// `GET /auth/v2/auth_status`: the next state of an asynchronous
    /// transaction (Duo holds the answer until something changes). Parse
    /// with [`parse_auth_status`].
    pub fn auth_status(&self, txid: &str, now: UnixTime) -> HttpRequest {
        self.signed(Method::Get, paths::AUTH_STATUS, &[("txid", txid)], now)
    }

    /// `POST /auth/v2/enroll`: a new user and an activation code for Duo
    /// Mobile. Parse with [`parse_enroll`].
    pub fn enroll(
        &self,
        username: Option<&str>,
        valid_secs: Option<u32>,
        now: UnixTime,
    ) -> HttpRequest {
        let valid = valid_secs.map(|s| s.to_string());
        let params: Vec<(&str, &str)> = [("username", username), ("valid_secs", valid.as_deref())]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        self.signed(Method::Post, paths::ENROLL, &params, now)
    }

    /// `POST /auth/v2/enroll_status`: was the activation code used. Parse
    /// with [`parse_enroll_status`].
    pub fn enroll_status(
        &self,
        user_id: &str,
        activation_code: &str,
        now: UnixTime,
    ) -> HttpRequest {
        let params = [("user_id", user_id), ("activation_code", activation_code)];
        self.signed(Method::Post, paths::ENROLL_STATUS, &params, now)
    }
}
