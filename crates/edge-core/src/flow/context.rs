//! What every step of the flow shares: the request's context ([`Ctx`]),
//! its randomness ([`Random`]), the password seam ([`Passwords`]), the
//! origin check, the Duo client of each mode, and small conversions. It
//! depends on the audit vocabulary and the policies' [`policy::Place`]
//! only, so every step, sign-in or console, can use it.

use std::net::IpAddr;

use credentials::{PasswordError, PasswordHash};
use shared::duo::RandomBytes;

use super::audit::{Reason, Refusal};
use super::policy;
use crate::config::{AppOrigin, Config};

/// What every step knows about its request, besides its parsed input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    /// Now, in Unix seconds.
    pub now: u64,
    /// The client's address (`CF-Connecting-IP`), when it is one.
    pub client: Option<IpAddr>,
    /// Cloudflare's country of the client (`request.cf.country`).
    pub country: Option<[u8; 2]>,
    /// Cloudflare's autonomous system of the client (`request.cf.asn`).
    pub asn: Option<u32>,
    /// Cloudflare's city of the client (`request.cf.city`): shown in a Duo
    /// push.
    pub city: Option<City>,
    /// The browser, from `User-Agent`: a label for remembered browsers.
    pub agent: Option<crate::headers::UserAgent>,
}

impl Ctx {
    /// Where the request comes from, for the sign-in policies.
    pub const fn place(&self) -> policy::Place {
        policy::Place { ip: self.client, country: self.country, asn: self.asn }
    }

    /// Where the sign-in comes from, in words for a Duo push: "Austin, US",
    /// "US", or `None` when Cloudflare said nothing.
    pub fn location(&self) -> Option<String> {
        let country = country_text(self.country);
        match (self.city.as_ref().map(City::as_str), country) {
            (Some(city), Some(country)) => Some(format!("{city}, {country}")),
            (Some(city), None) => Some(city.to_owned()),
            (None, country) => country,
        }
    }
}

/// A country code as text ("CH"), as the store keeps it.
pub fn country_text(country: Option<[u8; 2]>) -> Option<String> {
    country.and_then(|c| std::str::from_utf8(&c).ok().map(str::to_owned))
}

/// A city's name as `request.cf` gives it (at most 64 bytes of UTF-8, no
/// control character), kept inline so that [`Ctx`] stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct City {
    bytes: [u8; 64],
    len: u8,
}

impl City {
    /// `raw`, trimmed, if it reads as a city's name.
    pub fn parse(raw: &str) -> Option<Self> {
        let city = raw.trim();
        if city.is_empty() || city.len() > 64 || city.chars().any(char::is_control) {
            return None;
        }
        let mut bytes = [0; 64];
        bytes[..city.len()].copy_from_slice(city.as_bytes());
        Some(Self { bytes, len: u8::try_from(city.len()).ok()? })
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// Random bytes for one request, drawn by the caller from a CSPRNG: one
/// value per use, so no step reuses another's.
#[derive(Clone, PartialEq, Eq)]
pub struct Random {
    /// For a Duo `state`.
    pub state: RandomBytes,
    /// For an OIDC `nonce`.
    pub nonce: RandomBytes,
    /// For the `jti` of a client assertion.
    pub jti: RandomBytes,
    /// For a session id.
    pub session: RandomBytes,
    /// For a new password: the salt (the first 16 bytes) and a generated
    /// password (the last 16).
    pub password: RandomBytes,
    /// For a remembered browser's token.
    pub remember: RandomBytes,
}

impl Random {
    /// Fills each value with `fill` (the Worker: `crypto.getRandomValues`).
    ///
    /// # Errors
    /// The first error of `fill`.
    pub fn fill<E>(mut fill: impl FnMut(&mut [u8]) -> Result<(), E>) -> Result<Self, E> {
        let mut random = Self {
            state: [0; 32],
            nonce: [0; 32],
            jti: [0; 32],
            session: [0; 32],
            password: [0; 32],
            remember: [0; 32],
        };
        let Self { state, nonce, jti, session, password, remember } = &mut random;
        for bytes in [state, nonce, jti, session, password, remember] {
            fill(bytes)?;
        }
        Ok(random)
    }
}

impl std::fmt::Debug for Random {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Random([redacted])")
    }
}

/// Checks passwords against stored hashes, and hashes new ones. The
/// Worker derives through `WebCrypto` (`edge::password`); native tests use
/// `credentials`' pure implementation. No `Send` bound (wasm).
#[allow(async_fn_in_trait)]
pub trait Passwords {
    /// Whether `password` matches `hash`, compared in constant time.
    async fn verify(&self, hash: &PasswordHash, password: &[u8]) -> bool;

    /// A new hash of `password` with `salt` and `iterations`.
    ///
    /// # Errors
    /// As [`PasswordHash::from_derived`] (a salt or count out of range).
    async fn hash(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<PasswordHash, PasswordError>;

    /// Pwned Passwords' answer at `url` (a range: `{base}/range/{prefix}`,
    /// asked with `Add-Padding: true`): its body, or why there is none
    /// (unreachable, a status other than 200), for the log.
    async fn pwned_range(&self, url: &str) -> Result<String, String>;
}

/// State-changing requests must come from the SPA's own origin: `Origin`
/// present and equal to `APP_ORIGIN`.
///
/// # Errors
/// [`Reason::ForbiddenOrigin`].
pub fn check_origin(app_origin: &AppOrigin, origin: Option<&str>) -> Result<(), Refusal> {
    match origin {
        Some(origin) if app_origin.matches(origin) => Ok(()),
        _ => Err(Refusal::new(Reason::ForbiddenOrigin)),
    }
}

/// The Universal Prompt's client, for the redirect mode's steps.
///
/// # Errors
/// [`Reason::WrongMode`] when `DUO_MODE=inline`.
pub fn prompt_client(config: &Config) -> Result<&shared::duo::DuoClient, Refusal> {
    match &config.duo {
        crate::config::DuoSetup::Prompt(client) => Ok(client),
        crate::config::DuoSetup::Inline(_) => {
            Err(Refusal::new(Reason::WrongMode)
                .detail("a Universal Prompt step while DUO_MODE=inline"))
        }
    }
}

/// The Auth API's client, for the inline mode's steps.
///
/// # Errors
/// [`Reason::WrongMode`] when `DUO_MODE=prompt`.
pub fn inline_client(config: &Config) -> Result<&shared::duo::auth_api::AuthApiClient, Refusal> {
    match &config.duo {
        crate::config::DuoSetup::Inline(client) => Ok(client),
        crate::config::DuoSetup::Prompt(_) => {
            Err(Refusal::new(Reason::WrongMode).detail("an inline step while DUO_MODE=prompt"))
        }
    }
}

/// Unix seconds as the DTOs carry them.
pub(crate) fn unix_i64(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// `text` with its first letter in upper case (a message built from a
/// lower-case phrase).
pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// What a step runs with besides its request: the store, Duo's transport,
/// the settings, the request's context and its randomness. One value, so
/// that no step passes them along one by one.
#[derive(Debug)]
pub struct Run<'a, S, T> {
    /// The store (its ports).
    pub store: &'a S,
    /// Duo's transport.
    pub duo: &'a T,
    /// The settings.
    pub config: &'a Config,
    /// The request's context.
    pub ctx: &'a Ctx,
    /// The request's randomness.
    pub random: &'a Random,
}

impl<S, T> Clone for Run<'_, S, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, T> Copy for Run<'_, S, T> {}
