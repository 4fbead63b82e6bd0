//! The front channel: `state`, `nonce`, the username, and the authorize URL.

use super::config::DuoClient;
use super::error::InputError;
use super::http::AUTHORIZE_PATH;
use super::inputs::{RandomBytes, UnixTime};
use super::jwt;
use serde::Serialize;
use subtle::ConstantTimeEq;

/// Shortest `state`/`nonce` accepted (Duo's documented minimum; the official SDKs use 22).
const MIN_LEN: usize = 16;
/// Longest `state`/`nonce` accepted.
const MAX_LEN: usize = 1024;

fn is_url_safe(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~')
}

/// Checks length (in characters) and alphabet; `Err(Some(n))` for a bad length `n`,
/// `Err(None)` for a bad character.
fn check_token(value: &str) -> Result<(), Option<usize>> {
    let found = value.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&found) {
        return Err(Some(found));
    }
    if !value.bytes().all(is_url_safe) {
        return Err(None);
    }
    Ok(())
}

/// Base64url of caller-supplied random bytes, cut to `len` characters.
fn generate_token(len: usize, fill: &mut dyn FnMut(&mut [u8])) -> String {
    let mut bytes = vec![0u8; len.div_ceil(4) * 3];
    fill(&mut bytes);
    let mut token = jwt::base64url(&bytes);
    token.truncate(len);
    token
}

macro_rules! random_token {
    ($(#[$doc:meta])* $name:ident, $length:ident, $chars:ident) => {
        $(#[$doc])*
        ///
        /// No `PartialEq`: compare with [`Self::ct_eq`]. `Debug` hides the value.
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// A fresh value from 32 random bytes: 43 URL-safe characters (base64url).
            pub fn generate(random: &RandomBytes) -> Self {
                Self(jwt::base64url(random))
            }

            /// A fresh value of `len` URL-safe characters; `fill` supplies random bytes.
            ///
            /// # Errors
            #[doc = concat!("[`InputError::", stringify!($length), "`] unless 16 <= `len` <= 1024.")]
            pub fn generate_with_length(
                len: usize,
                fill: &mut dyn FnMut(&mut [u8]),
            ) -> Result<Self, InputError> {
                if !(MIN_LEN..=MAX_LEN).contains(&len) {
                    return Err(InputError::$length { found: len });
                }
                Ok(Self(generate_token(len, fill)))
            }

            /// Parses a value received back (e.g. from a cookie or the callback's query).
            ///
            /// # Errors
            #[doc = concat!("[`InputError::", stringify!($length), "`] or [`InputError::", stringify!($chars), "`].")]
            pub fn parse(value: &str) -> Result<Self, InputError> {
                match check_token(value) {
                    Ok(()) => Ok(Self(value.to_owned())),
                    Err(Some(found)) => Err(InputError::$length { found }),
                    Err(None) => Err(InputError::$chars),
                }
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Constant-time comparison (the time depends only on the lengths).
            pub fn ct_eq(&self, other: &Self) -> bool {
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted; {} chars])"), self.0.len())
            }
        }
    };
}

random_token!(
    /// The OAuth `state`: 16 to 1024 URL-safe characters, bound to the browser's login cookie
    /// and echoed back by Duo on the callback.
    State,
    StateLength,
    StateCharacters
);

random_token!(
    /// The OIDC `nonce`: 16 to 1024 URL-safe characters, sent in the authorize request and
    /// expected back in the ID token.
    Nonce,
    NonceLength,
    NonceCharacters
);

/// The username Duo authenticates (`duo_uname`): non-empty, at most 1024 bytes, no control
/// characters. Compared with the ID token's `preferred_username` in constant time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuoUsername(String);

impl DuoUsername {
    /// Parses a username.
    ///
    /// # Errors
    /// [`InputError::UsernameEmpty`], [`InputError::UsernameTooLong`] or
    /// [`InputError::UsernameCharacters`].
    pub fn parse(value: &str) -> Result<Self, InputError> {
        if value.is_empty() {
            return Err(InputError::UsernameEmpty);
        }
        if value.len() > 1024 {
            return Err(InputError::UsernameTooLong);
        }
        if value.chars().any(char::is_control) {
            return Err(InputError::UsernameCharacters);
        }
        Ok(Self(value.to_owned()))
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Optional claims of the authorize request. Unset values are omitted (Duo distinguishes an
/// absent claim from an empty one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeOptions {
    dest_app_name: Option<String>,
    display_username: Option<String>,
}

fn check_optional(name: &'static str, value: &str) -> Result<String, InputError> {
    if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Err(InputError::OptionalParameter { name });
    }
    Ok(value.to_owned())
}

impl AuthorizeOptions {
    /// Sets `dest_app_name`, the application name Duo shows and logs.
    ///
    /// # Errors
    /// [`InputError::OptionalParameter`] for an empty, over-long or control-character value.
    pub fn with_dest_app_name(mut self, value: &str) -> Result<Self, InputError> {
        self.dest_app_name = Some(check_optional("dest_app_name", value)?);
        Ok(self)
    }

    /// Sets `display_username`, the name shown in the push (does not change who is
    /// authenticated).
    ///
    /// # Errors
    /// [`InputError::OptionalParameter`] for an empty, over-long or control-character value.
    pub fn with_display_username(mut self, value: &str) -> Result<Self, InputError> {
        self.display_username = Some(check_optional("display_username", value)?);
        Ok(self)
    }
}

/// The request JWT's claims, in the order they are emitted.
#[derive(Serialize)]
struct AuthorizeClaims<'a> {
    response_type: &'a str,
    scope: &'a str,
    redirect_uri: &'a str,
    client_id: &'a str,
    iss: &'a str,
    aud: &'a str,
    exp: i64,
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    duo_uname: &'a str,
    use_duo_code_attribute: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_app_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_username: Option<&'a str>,
}

impl DuoClient {
    /// The URL to redirect the browser to:
    /// `https://{host}/oauth/v1/authorize?response_type=code&client_id=...&request=<JWT>`
    /// (plus `&nonce=...` when a nonce is given; Duo lets the query value win).
    ///
    /// The request JWT (HS512, client secret) carries `response_type`, `scope=openid`,
    /// `redirect_uri`, `client_id`, `iss`, `aud=https://{host}`, `exp=now+lifetime`, `state`,
    /// `nonce`, `duo_uname`, `use_duo_code_attribute` and the set options.
    pub fn authorize_url(
        &self,
        username: &DuoUsername,
        state: &State,
        nonce: Option<&Nonce>,
        options: &AuthorizeOptions,
        now: UnixTime,
    ) -> String {
        let aud = self.api_host.base_url();
        let claims = AuthorizeClaims {
            response_type: "code",
            scope: "openid",
            redirect_uri: self.redirect_uri.as_str(),
            client_id: self.client_id.as_str(),
            iss: self.client_id.as_str(),
            aud: &aud,
            exp: now.0.saturating_add(self.jwt_lifetime.seconds()),
            state: state.as_str(),
            nonce: nonce.map(Nonce::as_str),
            duo_uname: username.as_str(),
            use_duo_code_attribute: self.use_duo_code_attribute,
            dest_app_name: options.dest_app_name.as_deref(),
            display_username: options.display_username.as_deref(),
        };
        let request = jwt::sign(self.client_secret.expose_secret(), &claims);
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("response_type", "code");
        query.append_pair("client_id", self.client_id.as_str());
        query.append_pair("request", &request);
        if let Some(nonce) = nonce {
            query.append_pair("nonce", nonce.as_str());
        }
        format!("{}?{}", self.api_host.url(AUTHORIZE_PATH), query.finish())
    }
}
