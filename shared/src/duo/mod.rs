//! An I/O-free client for Duo's Universal Prompt (Web SDK v4, "Duo OIDC Auth API").
//!
//! The client never touches the network, a clock or a random number generator: every
//! operation takes the time ([`UnixTime`]) and random bytes from the caller, requests are built
//! as data ([`HttpRequest`]) and responses are parsed from data ([`HttpResponse`]). The
//! [`Transport`] trait and the flow helpers [`DuoClient::health_check`] and
//! [`DuoClient::exchange_code`] tie these together for a runtime (the Worker's `fetch`; a
//! blocking test transport lives in `shared/tests/support/`).
//!
//! The flow, as the Worker runs it:
//! 1. [`DuoClient::new`] from the settings (each bad setting is a precise [`ConfigError`]).
//! 2. [`DuoClient::health_check`] (cache the answer; fail open or closed on error).
//! 3. [`State::generate`], [`Nonce::generate`], then [`DuoClient::authorize_url`]; redirect.
//! 4. On the callback, compare `state` (see [`State::ct_eq`]), parse the code with
//!    [`AuthCode::parse`] and call [`DuoClient::exchange_code`].
//! 5. Call [`VerifiedIdToken::require_allow`] before logging the user in.
//!
//! ```
//! use shared::duo::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = DuoClient::from_settings(
//!     "DIXXXXXXXXXXXXXXXXXX",                       // DUO_CLIENT_ID
//!     "deadbeef".repeat(5),                         // DUO_CLIENT_SECRET (moved in)
//!     "api-deadbeef.duosecurity.com",               // DUO_API_HOST
//!     "https://login.example.com/auth/duo/callback", // APP_ORIGIN + callback path
//! )?;
//! let now = UnixTime(1_700_000_000);
//! let (state, nonce) = (State::generate(&[1; 32]), Nonce::generate(&[2; 32]));
//! let user = DuoUsername::parse("alice")?;
//! let url = client.authorize_url(&user, &state, Some(&nonce), &AuthorizeOptions::default(), now);
//! assert!(url.starts_with("https://api-deadbeef.duosecurity.com/oauth/v1/authorize?"));
//!
//! // The back channel as data: send `request` with any HTTP client, parse what comes back.
//! let code = AuthCode::parse("duo-code-from-the-callback")?;
//! let request = client.token_request(&code, now, &[3; 32]);
//! assert_eq!(request.url, "https://api-deadbeef.duosecurity.com/oauth/v1/token");
//! let response = HttpResponse::new(400, r#"{"error": "invalid_grant"}"#);
//! let result = client.verify_token_response(&response, &Expectations::new(&user, Some(&nonce)), now);
//! assert!(matches!(result, Err(DuoError::OAuth { status: 400, .. })));
//! # Ok(())
//! # }
//! ```
//!
//! Protocol reference: `duo-protocol.md`, sections 2-10.

pub mod auth_api;
mod authorize;
mod config;
mod error;
mod http;
mod id_token;
mod inputs;
mod json;
mod jwt;
mod token;
mod transport;

#[cfg(test)]
mod tests;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod reference;

pub use authorize::{AuthorizeOptions, DuoUsername, Nonce, State};
pub use config::{ApiHost, ClientId, ClientSecret, DuoClient, JwtLifetime, RedirectUri, Scheme};
pub use error::{
    ConfigError, DuoError, IdTokenError, InputError, MalformedResponse, TransportError,
    TransportErrorKind,
};
pub use http::{HttpRequest, HttpResponse, MAX_RESPONSE_BODY, Method, USER_AGENT};
pub use id_token::{
    AccessDevice, AuthDevice, AuthStatus, CLOCK_LEEWAY_SECONDS, Expectations, Location, TriState,
    UsernameMatch, VerifiedIdToken,
};
pub use inputs::{RandomBytes, UnixTime};
pub use token::{AuthCode, HealthCheck};
pub use transport::Transport;
