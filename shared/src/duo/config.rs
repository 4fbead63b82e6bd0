//! The client's settings, parsed into types: once a [`DuoClient`] exists, every setting is valid.

use super::error::ConfigError;
use super::http::USER_AGENT;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use zeroize::Zeroize;

/// The Duo client id (a.k.a. integration key): exactly 20 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// Parses `DUO_CLIENT_ID`.
    ///
    /// # Errors
    /// [`ConfigError::ClientIdLength`] or [`ConfigError::ClientIdCharacters`].
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let found = value.chars().count();
        if found != 20 {
            return Err(ConfigError::ClientIdLength { found });
        }
        if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::ClientIdCharacters);
        }
        Ok(Self(value.to_owned()))
    }

    /// The client id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The Duo client secret (a.k.a. secret key): 40 printable ASCII characters, used as the
/// HMAC-SHA512 key as is.
///
/// No `Display`, `PartialEq` or `Serialize`; `Debug` prints `ClientSecret([redacted])`; the
/// bytes are zeroed on drop.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Parses `DUO_CLIENT_SECRET`. Takes ownership so the caller keeps no copy.
    ///
    /// # Errors
    /// [`ConfigError::ClientSecretLength`] or [`ConfigError::ClientSecretCharacters`]; the
    /// rejected value is zeroed.
    pub fn parse(mut value: String) -> Result<Self, ConfigError> {
        let result = if value.chars().count() != 40 {
            Err(ConfigError::ClientSecretLength)
        } else if !value.bytes().all(|b| b.is_ascii_graphic()) {
            Err(ConfigError::ClientSecretCharacters)
        } else {
            return Ok(Self(value));
        };
        value.zeroize();
        result
    }

    /// The secret's bytes, the HMAC key. Only the JWT code reads it.
    pub(crate) fn expose_secret(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

impl Drop for ClientSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The URL scheme the client uses to reach the API host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `https`: every real Duo host.
    Https,
    /// `http`: only a loopback `host:port`, the local emulator.
    Http,
}

/// Duo's API host (`api-XXXXXXXX.duosecurity.com`): a bare host name, reached over https.
///
/// A loopback host with a port (`127.0.0.1:8788`, `localhost:8788`, `[::1]:8788`) selects plain
/// http for the local emulator; nothing else does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiHost {
    host: String,
    scheme: Scheme,
}

impl ApiHost {
    /// Parses `DUO_API_HOST`.
    ///
    /// # Errors
    /// One of the `ConfigError::ApiHost*` variants.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        if value.is_empty() {
            return Err(ConfigError::ApiHostEmpty);
        }
        if value.contains("://") {
            return Err(ConfigError::ApiHostScheme);
        }
        if value.contains(['/', '?', '#']) {
            return Err(ConfigError::ApiHostPath);
        }
        let (host, port) = split_host_port(value).ok_or(ConfigError::ApiHostInvalid)?;
        let scheme = match port {
            None => Scheme::Https,
            Some(_) if is_loopback(host) => Scheme::Http,
            Some(_) => return Err(ConfigError::ApiHostPort),
        };
        Ok(Self { host: value.to_owned(), scheme })
    }

    /// The host as configured (with the port, if any).
    pub fn as_str(&self) -> &str {
        &self.host
    }

    /// `https`, or `http` for a loopback emulator.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `https://{host}` (or `http://` for a loopback emulator).
    pub fn base_url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        format!("{scheme}://{}", self.host)
    }

    /// The absolute URL of an endpoint path such as `/oauth/v1/token`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }
}

/// The redirect URI Duo sends the browser back to: absolute, https (http only for localhost or
/// a loopback address), a DNS host name (not an IP address, except loopback), no fragment, at
/// most 1024 characters. Kept byte for byte as given: it must be identical in the authorize
/// request and the token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Parses the redirect URI (`APP_ORIGIN` + `/auth/duo/callback`).
    ///
    /// # Errors
    /// One of the `ConfigError::RedirectUri*` variants.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        if value.is_empty() {
            return Err(ConfigError::RedirectUriEmpty);
        }
        if value.len() > 1024 {
            return Err(ConfigError::RedirectUriTooLong);
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::RedirectUriInvalid);
        }
        let Some((scheme, rest)) = value.split_once("://") else {
            return Err(ConfigError::RedirectUriNotAbsolute);
        };
        if scheme.is_empty()
            || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(ConfigError::RedirectUriNotAbsolute);
        }
        if value.contains('#') {
            return Err(ConfigError::RedirectUriFragment);
        }
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(ConfigError::RedirectUriInvalid);
        }
        let (host, _port) = split_host_port(authority).ok_or(ConfigError::RedirectUriInvalid)?;
        let loopback = is_loopback(host);
        let https = scheme.eq_ignore_ascii_case("https");
        let http = scheme.eq_ignore_ascii_case("http");
        if !(https || (http && loopback)) {
            return Err(ConfigError::RedirectUriScheme);
        }
        if is_ip_literal(host) && !loopback {
            return Err(ConfigError::RedirectUriIpHost);
        }
        Ok(Self(value.to_owned()))
    }

    /// The redirect URI, exactly as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long the JWTs this client signs are valid: 1 to 300 seconds (default 300, Duo's
/// recommendation; Duo rejects anything over an hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtLifetime(i64);

impl JwtLifetime {
    /// Five minutes.
    pub const DEFAULT: Self = Self(300);

    /// A lifetime of `seconds`.
    ///
    /// # Errors
    /// [`ConfigError::JwtLifetime`] outside 1..=300.
    pub fn new(seconds: i64) -> Result<Self, ConfigError> {
        if (1..=300).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(ConfigError::JwtLifetime { found: seconds })
        }
    }

    /// The lifetime in seconds.
    pub fn seconds(self) -> i64 {
        self.0
    }
}

impl Default for JwtLifetime {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A configured Duo Universal Prompt client. Cheap to clone; holds no connection.
#[derive(Debug, Clone)]
pub struct DuoClient {
    pub(crate) client_id: ClientId,
    pub(crate) client_secret: ClientSecret,
    pub(crate) api_host: ApiHost,
    pub(crate) redirect_uri: RedirectUri,
    pub(crate) jwt_lifetime: JwtLifetime,
    pub(crate) use_duo_code_attribute: bool,
    pub(crate) user_agent: String,
}

impl DuoClient {
    /// The client id (not a secret; the admin console shows it masked).
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// Duo's API host.
    pub fn api_host(&self) -> &ApiHost {
        &self.api_host
    }

    /// The redirect URI Duo sends the browser back to.
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.redirect_uri
    }

    /// A client from parsed settings, with the defaults: JWT lifetime 300 s,
    /// `use_duo_code_attribute = true`, the library's User-Agent.
    pub fn new(
        client_id: ClientId,
        client_secret: ClientSecret,
        api_host: ApiHost,
        redirect_uri: RedirectUri,
    ) -> Self {
        Self {
            client_id,
            client_secret,
            api_host,
            redirect_uri,
            jwt_lifetime: JwtLifetime::DEFAULT,
            use_duo_code_attribute: true,
            user_agent: USER_AGENT.to_owned(),
        }
    }

    /// Parses the four settings, in the order id, secret, host, redirect URI.
    ///
    /// # Errors
    /// The first setting that fails, as its precise [`ConfigError`].
    pub fn from_settings(
        client_id: &str,
        client_secret: String,
        api_host: &str,
        redirect_uri: &str,
    ) -> Result<Self, ConfigError> {
        Ok(Self::new(
            ClientId::parse(client_id)?,
            ClientSecret::parse(client_secret)?,
            ApiHost::parse(api_host)?,
            RedirectUri::parse(redirect_uri)?,
        ))
    }

    /// Sets the lifetime of the JWTs this client signs.
    #[must_use]
    pub fn with_jwt_lifetime(mut self, lifetime: JwtLifetime) -> Self {
        self.jwt_lifetime = lifetime;
        self
    }

    /// Whether Duo should name the callback's code `duo_code` (true, the default) or `code`.
    #[must_use]
    pub fn with_use_duo_code_attribute(mut self, value: bool) -> Self {
        self.use_duo_code_attribute = value;
        self
    }

    /// Appends ` {suffix}` to the User-Agent (e.g. `my-app/1.2`). Empty or blank suffixes are
    /// ignored.
    ///
    /// # Errors
    /// [`ConfigError::UserAgentSuffix`] for control characters or more than 256 bytes.
    pub fn with_user_agent_suffix(mut self, suffix: &str) -> Result<Self, ConfigError> {
        let suffix = suffix.trim();
        if suffix.len() > 256 || suffix.chars().any(char::is_control) {
            return Err(ConfigError::UserAgentSuffix);
        }
        if !suffix.is_empty() {
            self.user_agent = format!("{USER_AGENT} {suffix}");
        }
        Ok(self)
    }
}

/// Splits `host[:port]` or `[v6][:port]`; `None` when the host or port is malformed.
fn split_host_port(value: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        inner.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (&value[..inner.len() + 2], port)
    } else {
        match value.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|&n| n != 0)?)
        }
        Some(_) => return None,
    };
    if !host.starts_with('[') {
        let labels_ok = host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if host.is_empty() || host.len() > 253 || !labels_ok {
            return None;
        }
    }
    Some((host, port))
}

fn is_ip_literal(host: &str) -> bool {
    host.starts_with('[') || host.parse::<Ipv4Addr>().is_ok()
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}
