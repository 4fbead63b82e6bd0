//! Error types of the Duo client: one enum per concern, one variant per failed check.
//!
//! No `Display` text contains a secret, a token, a code or an upstream body: values that came
//! from Duo are kept in fields for logs, and shown only when they are short protocol tokens
//! (an algorithm name, an issuer).

use thiserror::Error;

/// A Duo setting that cannot be used. Each variant names the setting, never its value.
///
/// The Worker's settings are `DUO_CLIENT_ID`, `DUO_CLIENT_SECRET`, `DUO_API_HOST` and
/// `APP_ORIGIN` (the redirect URI is `APP_ORIGIN` + `/auth/duo/callback`); the JWT lifetime
/// and the User-Agent suffix are builder parameters ([`JwtLifetime::new`],
/// [`DuoClient::with_user_agent_suffix`]).
///
/// [`JwtLifetime::new`]: super::JwtLifetime::new
/// [`DuoClient::with_user_agent_suffix`]: super::DuoClient::with_user_agent_suffix
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `DUO_CLIENT_ID` is not exactly 20 characters long.
    #[error("DUO_CLIENT_ID must be exactly 20 characters (found {found})")]
    ClientIdLength {
        /// The number of characters found.
        found: usize,
    },
    /// `DUO_CLIENT_ID` contains a character other than an ASCII letter or digit.
    #[error("DUO_CLIENT_ID may contain only ASCII letters and digits")]
    ClientIdCharacters,
    /// `DUO_CLIENT_SECRET` is not exactly 40 characters long.
    #[error("DUO_CLIENT_SECRET must be exactly 40 characters")]
    ClientSecretLength,
    /// `DUO_CLIENT_SECRET` contains whitespace, a control or a non-ASCII character.
    #[error("DUO_CLIENT_SECRET may contain only printable ASCII characters")]
    ClientSecretCharacters,
    /// `DUO_API_HOST` is empty.
    #[error("DUO_API_HOST is empty")]
    ApiHostEmpty,
    /// `DUO_API_HOST` starts with a scheme such as `https://`; it must be a bare host name.
    #[error("DUO_API_HOST must be a bare host name, without a scheme such as https://")]
    ApiHostScheme,
    /// `DUO_API_HOST` contains a path, query or fragment.
    #[error("DUO_API_HOST must be a bare host name, without a path, query or fragment")]
    ApiHostPath,
    /// `DUO_API_HOST` has a port but is not a loopback host (only a local emulator has a port).
    #[error(
        "DUO_API_HOST may have a port only for a loopback emulator (127.0.0.1:PORT or localhost:PORT)"
    )]
    ApiHostPort,
    /// `DUO_API_HOST` is not a valid host name (bad characters, user info, empty labels, bad port).
    #[error("DUO_API_HOST is not a valid host name")]
    ApiHostInvalid,
    /// The redirect URI (`APP_ORIGIN` + the callback path) is empty.
    #[error("the Duo redirect URI is empty")]
    RedirectUriEmpty,
    /// The redirect URI (from `APP_ORIGIN`) is not an absolute `scheme://host...` URI.
    #[error("the Duo redirect URI must be absolute (https://host/path)")]
    RedirectUriNotAbsolute,
    /// The redirect URI (from `APP_ORIGIN`) uses `http` for a host that is not loopback, or another scheme.
    #[error("the Duo redirect URI must use https (http only for localhost or loopback)")]
    RedirectUriScheme,
    /// The redirect URI (from `APP_ORIGIN`) names a non-loopback IP address; Duo requires a DNS host name.
    #[error("the Duo redirect URI must use a DNS host name, not an IP address")]
    RedirectUriIpHost,
    /// The redirect URI (from `APP_ORIGIN`) is malformed (user info, whitespace, control characters, empty host, bad port).
    #[error("the Duo redirect URI is malformed")]
    RedirectUriInvalid,
    /// The redirect URI (from `APP_ORIGIN`) has a fragment (`#...`), which a redirect target may not have.
    #[error("the Duo redirect URI may not have a fragment")]
    RedirectUriFragment,
    /// The redirect URI (from `APP_ORIGIN`) is longer than 1024 characters.
    #[error("the Duo redirect URI is longer than 1024 characters")]
    RedirectUriTooLong,
    /// The JWT lifetime ([`JwtLifetime::new`](super::JwtLifetime::new)) is outside 1..=300
    /// seconds (Duo rejects long-lived JWTs).
    #[error("the Duo JWT lifetime must be 1 to 300 seconds (found {found})")]
    JwtLifetime {
        /// The rejected number of seconds.
        found: i64,
    },
    /// `DUO_IKEY` (the Auth API integration key) is not exactly 20 characters long.
    #[error("DUO_IKEY must be exactly 20 characters (found {found})")]
    IntegrationKeyLength {
        /// The number of characters found.
        found: usize,
    },
    /// `DUO_IKEY` contains a character other than an ASCII letter or digit.
    #[error("DUO_IKEY may contain only ASCII letters and digits")]
    IntegrationKeyCharacters,
    /// `DUO_SKEY` (the Auth API secret key) is not exactly 40 characters long.
    #[error("DUO_SKEY must be exactly 40 characters")]
    SecretKeyLength,
    /// `DUO_SKEY` contains whitespace, a control or a non-ASCII character.
    #[error("DUO_SKEY may contain only printable ASCII characters")]
    SecretKeyCharacters,
    /// The User-Agent suffix
    /// ([`DuoClient::with_user_agent_suffix`](super::DuoClient::with_user_agent_suffix))
    /// contains a control character or is longer than 256 bytes.
    #[error("the Duo User-Agent suffix contains control characters or is too long")]
    UserAgentSuffix,
}

impl ConfigError {
    /// The name of the setting at fault (for `/api/health`'s `setting`), never its value:
    /// `APP_ORIGIN` for the redirect URI, which the Worker derives from it.
    pub fn setting(&self) -> &'static str {
        match self {
            Self::ClientIdLength { .. } | Self::ClientIdCharacters => "DUO_CLIENT_ID",
            Self::ClientSecretLength | Self::ClientSecretCharacters => "DUO_CLIENT_SECRET",
            Self::ApiHostEmpty
            | Self::ApiHostScheme
            | Self::ApiHostPath
            | Self::ApiHostPort
            | Self::ApiHostInvalid => "DUO_API_HOST",
            Self::RedirectUriEmpty
            | Self::RedirectUriNotAbsolute
            | Self::RedirectUriScheme
            | Self::RedirectUriIpHost
            | Self::RedirectUriInvalid
            | Self::RedirectUriFragment
            | Self::RedirectUriTooLong => "APP_ORIGIN",
            Self::IntegrationKeyLength { .. } | Self::IntegrationKeyCharacters => "DUO_IKEY",
            Self::SecretKeyLength | Self::SecretKeyCharacters => "DUO_SKEY",
            Self::JwtLifetime { .. } => "DUO_JWT_LIFETIME",
            Self::UserAgentSuffix => "DUO_USER_AGENT_SUFFIX",
        }
    }
}

/// A per-login input (state, nonce, username, code) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InputError {
    /// The `state` is not 16 to 1024 characters long.
    #[error("state must be 16 to 1024 characters (found {found})")]
    StateLength {
        /// The number of characters found.
        found: usize,
    },
    /// The `state` contains a character outside `A-Z a-z 0-9 - _ . ~`.
    #[error("state may contain only URL-safe characters (A-Z a-z 0-9 - _ . ~)")]
    StateCharacters,
    /// The `nonce` is not 16 to 1024 characters long.
    #[error("nonce must be 16 to 1024 characters (found {found})")]
    NonceLength {
        /// The number of characters found.
        found: usize,
    },
    /// The `nonce` contains a character outside `A-Z a-z 0-9 - _ . ~`.
    #[error("nonce may contain only URL-safe characters (A-Z a-z 0-9 - _ . ~)")]
    NonceCharacters,
    /// The Duo username is empty.
    #[error("the Duo username is empty")]
    UsernameEmpty,
    /// The Duo username is longer than 1024 bytes.
    #[error("the Duo username is longer than 1024 bytes")]
    UsernameTooLong,
    /// The Duo username contains a control character.
    #[error("the Duo username contains a control character")]
    UsernameCharacters,
    /// The authorization code from the callback is empty.
    #[error("the Duo authorization code is empty")]
    CodeEmpty,
    /// The authorization code is longer than 1024 bytes or has non-printable/non-ASCII characters.
    #[error("the Duo authorization code is malformed")]
    CodeMalformed,
    /// An optional authorize parameter (`dest_app_name`, `display_username`) is empty, too long
    /// (over 256 bytes) or contains a control character.
    #[error(
        "the optional authorize parameter `{name}` is empty, too long or has control characters"
    )]
    OptionalParameter {
        /// The parameter's name.
        name: &'static str,
    },
}

/// Why a response from Duo could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MalformedResponse {
    /// The body is larger than [`MAX_RESPONSE_BODY`](super::MAX_RESPONSE_BODY).
    #[error("the body is larger than the limit")]
    TooLarge,
    /// The body is not a JSON object.
    #[error("the body is not a JSON object")]
    NotJson,
    /// A required field is missing, null or of the wrong type.
    #[error("field `{0}` is missing or has the wrong type")]
    MissingField(&'static str),
    /// The health-check body has a `stat` other than `OK` or `FAIL`.
    #[error("unexpected `stat` value")]
    UnexpectedStat,
    /// The token response's `token_type` is not `Bearer` (compared case-insensitively).
    #[error("`token_type` is not `Bearer`")]
    TokenType,
    /// The token response's `expires_in` is not a positive integer.
    #[error("`expires_in` is not a positive integer")]
    ExpiresIn,
}

/// A failed check of the `id_token` (one variant per check).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The token is too large, not three dot-separated base64url parts, or its header or
    /// payload is not a JSON object.
    #[error("the id_token is not a well-formed compact JWS")]
    Malformed,
    /// The header's `alg` is not `HS512` (e.g. `none`, `HS256`, `RS256`), or is missing.
    #[error("id_token algorithm: expected `HS512` (found `{found}`)")]
    Algorithm {
        /// The `alg` found (truncated to 16 characters), or empty when missing.
        found: String,
    },
    /// The HMAC-SHA512 signature does not match (wrong key or altered token).
    #[error("the id_token signature is invalid")]
    InvalidSignature,
    /// A required claim is missing or has the wrong JSON type.
    #[error("id_token claim `{claim}` is missing or has the wrong type")]
    MissingClaim {
        /// The claim's name.
        claim: &'static str,
    },
    /// `iss` is not `https://{api host}/oauth/v1/token`.
    #[error("id_token issuer: expected `{expected}`")]
    Issuer {
        /// The issuer this client expects.
        expected: String,
        /// The issuer found (truncated to 256 characters).
        found: String,
    },
    /// `aud` is a single value other than this client id.
    #[error("id_token audience is not this client id")]
    Audience,
    /// `aud` is an array that is not exactly one element long.
    #[error("id_token must have exactly one audience (found {found})")]
    AudienceCount {
        /// The number of audiences found.
        found: usize,
    },
    /// `exp` is in the past by more than the leeway.
    #[error("id_token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The time of the check.
        now: i64,
    },
    /// `iat` is in the future by more than the leeway.
    #[error("id_token issued in the future at {iat} (now {now})")]
    IssuedInFuture {
        /// The token's `iat`.
        iat: i64,
        /// The time of the check.
        now: i64,
    },
    /// `nbf` is in the future by more than the leeway.
    #[error("id_token not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// The time of the check.
        now: i64,
    },
    /// A nonce was sent but the token has none.
    #[error("id_token has no nonce but one was sent")]
    NonceMissing,
    /// The token's nonce differs from the one sent.
    #[error("id_token nonce does not match")]
    NonceMismatch,
    /// `preferred_username` differs from the username the login started with.
    #[error("id_token preferred_username does not match the user")]
    UsernameMismatch,
    /// `auth_result` is missing, or lacks a string `status` or a string `result`
    /// ([`VerifiedIdToken::require_allow`](super::VerifiedIdToken::require_allow)).
    #[error("id_token has no auth_result.status or auth_result.result")]
    AuthResultMissing,
    /// `auth_result.status` is not `allow`: Duo did not approve the login.
    #[error("Duo did not allow the authentication (status `{status}`)")]
    NotAllowed {
        /// The status found (`deny`, `fraud`, ..., truncated to 64 characters).
        status: String,
    },
    /// `auth_result.status` is `allow` but `auth_result.result` is not: Duo's answer
    /// contradicts itself, and only an answer that says `allow` twice logs the user in.
    #[error("Duo did not allow the authentication (result `{result}`)")]
    ResultNotAllowed {
        /// The result found (`deny`, ..., truncated to 64 characters).
        result: String,
    },
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Could not connect (DNS, refused, unreachable).
    Connect,
    /// The request timed out.
    Timeout,
    /// TLS failed (certificate, handshake).
    Tls,
    /// The response body was larger than [`MAX_RESPONSE_BODY`](super::MAX_RESPONSE_BODY).
    BodyTooLarge,
    /// Anything else.
    Other,
}

/// A request that did not produce an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("could not reach Duo ({kind:?})")]
pub struct TransportError {
    /// The kind of failure.
    pub kind: TransportErrorKind,
    /// The transport's own description, for logs.
    pub detail: String,
}

impl TransportError {
    /// A transport error of this kind.
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into() }
    }
}

/// Anything that can go wrong talking to Duo.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DuoError {
    /// A per-login input was invalid; nothing was sent.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The transport could not complete the request.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The health check answered `stat: FAIL` (at any HTTP status).
    #[error("Duo health check failed (HTTP {status}, code {code:?})")]
    HealthCheckFailed {
        /// The HTTP status.
        status: u16,
        /// Duo's numeric `code` (e.g. 40002), if present.
        code: Option<i64>,
        /// Duo's `message` (e.g. `invalid_client`), for logs.
        message: Option<String>,
        /// Duo's `message_detail`, for logs.
        detail: Option<String>,
    },
    /// Duo answered with an OAuth error body (`error`, `error_description`).
    #[error("Duo returned an OAuth error (HTTP {status})")]
    OAuth {
        /// The HTTP status.
        status: u16,
        /// The `error` code, e.g. `invalid_grant` or `invalid_client`.
        error: String,
        /// The `error_description`, for logs.
        description: Option<String>,
    },
    /// Duo answered with an unexpected HTTP status and a body that is no Duo error.
    #[error("Duo answered HTTP {status}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The start of the body (at most 512 bytes, lossy UTF-8), for logs.
        body: String,
    },
    /// A 2xx response that does not have the expected shape.
    #[error("Duo's response is malformed: {0}")]
    MalformedResponse(#[from] MalformedResponse),
    /// The ID token failed verification.
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
}
