//! Cookies: reading the `Cookie` header, writing `Set-Cookie`, and the
//! signed login cookie. Pure code: time is a parameter, so every rule is
//! tested natively.
//!
//! Both cookies are `__Host-` prefixed (`Secure`, `Path=/`, no `Domain`: the
//! browser keeps them to this exact origin), `HttpOnly` and `SameSite=Lax`
//! (Duo's redirect back is a cross-site top-level GET).
//!
//! The login cookie (`__Host-login`) carries a [`LoginTicket`]:
//! `base64url(JSON) "." base64url(HMAC-SHA256(SESSION_SECRET, context || 0 || base64url(JSON)))`,
//! where `context` names the cookie and its version, so a signature made for
//! another purpose with the same key never verifies here.
//!
//! The known-browser cookie (`__Host-known`) is sealed the same way, with its
//! own context: a [`KnownBrowser`] says this browser passed the password of
//! one user before, which exempts it from that user's softer rate limit
//! (`flow::limits`), so strangers guessing cannot lock the user out of the
//! browser they use. It grants nothing else.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use shared::duo::{Nonce, State};
use shared::return_to::ReturnTo;

use crate::config::SessionSecret;
use crate::keys::Txid;

/// The first-factor cookie: who passed the password, until the Duo step.
pub const LOGIN_COOKIE: &str = "__Host-login";
/// The session cookie: a random session id.
pub const SESSION_COOKIE: &str = "__Host-session";
/// Lifetime of the login cookie (and of its ticket), in seconds.
pub const LOGIN_TTL_SECONDS: u64 = 300;
/// The longest a login may take from the password to Duo's callback, in
/// seconds: starting the Duo step renews the ticket, but never past this.
pub const LOGIN_MAX_SECONDS: u64 = 2 * LOGIN_TTL_SECONDS;
/// The longest cookie value read; anything longer is refused unparsed.
pub const MAX_VALUE_LEN: usize = 2048;

/// The known-browser cookie: this browser passed a user's password before.
pub const KNOWN_BROWSER_COOKIE: &str = "__Host-known";
/// A browser the user remembered after a Duo sign-in ("trust this
/// browser"): a random token, of which only the SHA-256 is stored.
pub const REMEMBER_COOKIE: &str = "__Host-remember";
/// Lifetime of the known-browser cookie, in seconds (30 days, renewed by
/// every password that passes).
pub const KNOWN_BROWSER_TTL_SECONDS: u64 = 30 * 24 * 3600;

/// Domain separation for the login cookie's signature.
const LOGIN_CONTEXT: &[u8] = b"duo-edge-login/__Host-login/v1";
/// Domain separation for the known-browser cookie's signature.
const KNOWN_CONTEXT: &[u8] = b"duo-edge-known/__Host-known/v1";

/// The value of cookie `name` in a `Cookie` request header, if present
/// (the first one, when a browser sends several).
pub fn find<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim())
    })
}

/// A `Set-Cookie` value for a `__Host-` cookie living `max_age` seconds.
pub fn set(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax")
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn clear(name: &str) -> String {
    set(name, "", 0)
}

/// What the login cookie holds. Serialized with short names; fields added
/// later must be optional, so older cookies still parse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginTicket {
    /// The username as registered, after the password was verified.
    #[serde(rename = "u")]
    pub username: String,
    /// When the password was verified (Unix seconds).
    #[serde(rename = "iat")]
    pub issued_at: u64,
    /// When the ticket stops being accepted (Unix seconds).
    #[serde(rename = "exp")]
    pub expires_at: u64,
    /// Duo `state`, set by the Duo start step.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "typed::state")]
    pub state: Option<State>,
    /// OIDC `nonce`, set by the Duo start step.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "typed::nonce")]
    pub nonce: Option<Nonce>,
    /// Inline mode: the devices Duo's preauth offered (id and name), the
    /// only ones a factor may be started on.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "dv")]
    pub devices: Vec<(String, String)>,
    /// Inline mode: the push or call this login follows (Duo's txid), its
    /// factor and device, bound here so nobody can follow or finish
    /// another login's transaction.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "tx")]
    pub inline: Option<InlineTransaction>,
    /// For how many days the policies let this login remember the browser
    /// (0: not offered), decided with the password.
    #[serde(default, skip_serializing_if = "is_zero", rename = "rd")]
    pub remember_days: u32,
    /// The user asked to remember this browser (only when offered).
    #[serde(default, skip_serializing_if = "is_false", rename = "rm")]
    pub remember: bool,
    /// Inline mode: this login's own id (random, hex), which names its
    /// passcode count (two logins in one second are still two).
    #[serde(default, skip_serializing_if = "String::is_empty", rename = "id")]
    pub login_id: String,
    /// The account's version when the password passed (`users.account_version`):
    /// every later step refuses the ticket once the account has changed.
    #[serde(default, skip_serializing_if = "is_zero_u64", rename = "v")]
    pub account_version: u64,
    /// Prompt mode: where the callback sends the browser once signed in
    /// (the app's path and query it asked for), checked when set and again
    /// when read.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "rt")]
    pub return_to: Option<String>,
    /// Inline mode: the user's policy requires Verified Duo Push, and the
    /// `txid` Duo's preauth answered for it (a push must carry one).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "vp")]
    pub verified_push: Option<VerifiedPushOffer>,
}

/// A Verified Duo Push offer from `preauth`: one push may use it, within
/// [`VerifiedPushOffer::USABLE_SECONDS`] (Duo's lives 60 s); later pushes
/// of the login ask `preauth` for another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedPushOffer {
    /// Duo's `txid` for the push.
    #[serde(rename = "id")]
    pub txid: Txid,
    /// When `preauth` answered it (Unix seconds); 0 once a push used it.
    #[serde(rename = "at")]
    pub issued_at: u64,
    /// The code, when `preauth` named it already.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "c")]
    pub code: Option<String>,
}

impl VerifiedPushOffer {
    /// How long after `preauth` a push still uses its offer (Duo's 60 s,
    /// less the time a start takes and the clocks' difference).
    pub const USABLE_SECONDS: u64 = 45;

    /// The offer's txid and code while a push may still use them.
    pub fn usable(&self, now: u64) -> Option<(&Txid, Option<&str>)> {
        (self.issued_at > 0 && now < self.issued_at.saturating_add(Self::USABLE_SECONDS))
            .then_some((&self.txid, self.code.as_deref()))
    }

    /// The offer once a push used it: still saying Verified Push is required.
    #[must_use]
    pub fn spent(self) -> Self {
        Self { issued_at: 0, code: None, ..self }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if")]
const fn is_zero_u64(version: &u64) -> bool {
    *version == 0
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if")]
const fn is_zero(days: &u32) -> bool {
    *days == 0
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if")]
const fn is_false(asked: &bool) -> bool {
    !*asked
}

/// A started inline push or call, as the login ticket binds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineTransaction {
    /// Duo's transaction id.
    #[serde(rename = "id")]
    pub txid: Txid,
    /// `Duo Push` or `Phone Call`.
    #[serde(rename = "f")]
    pub factor: String,
    /// The device's name.
    #[serde(rename = "d")]
    pub device: String,
}

/// Equal when every field is; `state` and `nonce` compared in constant time.
impl PartialEq for LoginTicket {
    fn eq(&self, other: &Self) -> bool {
        fn same<T>(a: Option<&T>, b: Option<&T>, eq: fn(&T, &T) -> bool) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => eq(a, b),
                (None, None) => true,
                _ => false,
            }
        }
        self.username == other.username
            && self.issued_at == other.issued_at
            && self.expires_at == other.expires_at
            && same(self.state.as_ref(), other.state.as_ref(), State::ct_eq)
            && same(self.nonce.as_ref(), other.nonce.as_ref(), Nonce::ct_eq)
            && self.devices == other.devices
            && self.inline == other.inline
            && self.remember_days == other.remember_days
            && self.remember == other.remember
            && self.login_id == other.login_id
            && self.account_version == other.account_version
            && self.return_to == other.return_to
            && self.verified_push == other.verified_push
    }
}

impl Eq for LoginTicket {}

/// `serde` for the Duo client's `State` and `Nonce` (which have none): the
/// string form, parsed back with the client's own parsers.
mod typed {
    macro_rules! token_serde {
        ($module:ident, $type:ty) => {
            pub mod $module {
                use serde::{Deserialize, Deserializer, Serializer};

                #[allow(clippy::ref_option, reason = "the signature serde's `with` expects")]
                pub fn serialize<S: Serializer>(
                    value: &Option<$type>,
                    serializer: S,
                ) -> Result<S::Ok, S::Error> {
                    match value {
                        Some(token) => serializer.serialize_some(token.as_str()),
                        None => serializer.serialize_none(),
                    }
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(
                    deserializer: D,
                ) -> Result<Option<$type>, D::Error> {
                    Option::<String>::deserialize(deserializer)?
                        .map(|text| <$type>::parse(&text).map_err(serde::de::Error::custom))
                        .transpose()
                }
            }
        };
    }
    token_serde!(state, shared::duo::State);
    token_serde!(nonce, shared::duo::Nonce);
}

/// Why a login cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// Not `payload.signature`, not base64url, too long, or not the JSON of a ticket.
    #[error("malformed login cookie")]
    Malformed,
    /// The signature does not match (tampered, or signed with another key).
    #[error("login cookie signature mismatch")]
    BadSignature,
    /// Past its expiry.
    #[error("login cookie expired")]
    Expired,
    /// Issued later than now (clock skew beyond tolerance, or forged).
    #[error("login cookie issued in the future")]
    IssuedInFuture,
}

/// Tolerated clock difference between isolates, in seconds.
const CLOCK_SKEW_SECONDS: u64 = 60;

impl LoginTicket {
    /// A fresh ticket for `username`, valid [`LOGIN_TTL_SECONDS`] from `now`.
    pub fn new(username: &str, now: u64) -> Self {
        Self {
            username: username.to_owned(),
            issued_at: now,
            expires_at: now.saturating_add(LOGIN_TTL_SECONDS),
            state: None,
            nonce: None,
            devices: Vec::new(),
            inline: None,
            remember_days: 0,
            remember: false,
            login_id: String::new(),
            account_version: 0,
            return_to: None,
            verified_push: None,
        }
    }

    /// Inline mode: this ticket naming its login by `random` (hex of its
    /// first 8 bytes).
    #[must_use]
    pub fn identified_by(self, random: &[u8]) -> Self {
        let login_id = crate::keys::hex(&random[..random.len().min(8)]);
        Self { login_id, ..self }
    }

    /// This ticket for the account at `version` (`users.account_version`).
    #[must_use]
    pub fn at_version(self, account_version: u64) -> Self {
        Self { account_version, ..self }
    }

    /// This ticket returning to `target` after the sign-in.
    #[must_use]
    pub fn returning_to(self, target: Option<&ReturnTo>) -> Self {
        Self { return_to: target.map(|t| t.as_str().to_owned()), ..self }
    }

    /// Where the sign-in returns to: the ticket's target if it is still a
    /// same-origin path, else the login's own page.
    pub fn return_target(&self) -> Option<ReturnTo> {
        self.return_to.as_deref().and_then(ReturnTo::parse)
    }

    /// This ticket offering to remember the browser for `days` (0: not).
    #[must_use]
    pub fn offering_remember(self, days: u32) -> Self {
        Self { remember_days: days, ..self }
    }

    /// This ticket with the user's answer to the offer (ignored when
    /// nothing was offered).
    #[must_use]
    pub fn remembering(self, asked: bool) -> Self {
        let remember = asked && self.remember_days > 0;
        Self { remember, ..self }
    }

    /// Inline mode: this ticket with a Verified Duo Push offer (or none).
    #[must_use]
    pub fn with_verified_push(self, verified_push: Option<VerifiedPushOffer>) -> Self {
        Self { verified_push, ..self }
    }

    /// Inline mode: this ticket with the devices a factor may use.
    #[must_use]
    pub fn with_devices(self, devices: Vec<(String, String)>) -> Self {
        Self { devices, ..self }
    }

    /// Inline mode: this ticket following `transaction`, renewed like
    /// [`LoginTicket::for_duo`] (never past [`LOGIN_MAX_SECONDS`]).
    #[must_use]
    pub fn for_inline(self, transaction: InlineTransaction, now: u64) -> Self {
        let limit = self.issued_at.saturating_add(LOGIN_MAX_SECONDS);
        Self {
            expires_at: now.saturating_add(LOGIN_TTL_SECONDS).min(limit),
            inline: Some(transaction),
            ..self
        }
    }

    /// This ticket bound to a Duo step: `state` and `nonce` recorded, valid
    /// [`LOGIN_TTL_SECONDS`] from `now` for the prompt, but never later than
    /// [`LOGIN_MAX_SECONDS`] after the password (restarting cannot keep a
    /// ticket alive).
    #[must_use]
    pub fn for_duo(self, state: State, nonce: Nonce, now: u64) -> Self {
        let limit = self.issued_at.saturating_add(LOGIN_MAX_SECONDS);
        Self {
            expires_at: now.saturating_add(LOGIN_TTL_SECONDS).min(limit),
            state: Some(state),
            nonce: Some(nonce),
            ..self
        }
    }

    /// What names this login's passcode count: its id, or (a ticket from
    /// before ids) when its password passed.
    pub fn login_key(&self) -> String {
        if self.login_id.is_empty() {
            self.issued_at.to_string()
        } else {
            format!("{}.{}", self.issued_at, self.login_id)
        }
    }

    /// Seconds until the ticket expires (the cookie's `Max-Age`).
    pub fn max_age(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// The signed cookie value.
    pub fn seal(&self, key: &SessionSecret) -> String {
        seal(LOGIN_CONTEXT, self, key)
    }

    /// Verifies and decodes a cookie value made by [`LoginTicket::seal`].
    /// The signature is checked (in constant time) before the payload is
    /// parsed.
    ///
    /// # Errors
    /// The [`TicketError`] of the first failed check.
    pub fn open(value: &str, key: &SessionSecret, now: u64) -> Result<Self, TicketError> {
        let ticket: Self = open(LOGIN_CONTEXT, value, key)?;
        check_times(ticket.issued_at, ticket.expires_at, now)?;
        Ok(ticket)
    }
}

/// What the known-browser cookie holds: the normalized username whose
/// password this browser passed, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownBrowser {
    /// The normalized username.
    #[serde(rename = "u")]
    pub username: String,
    /// When the password passed (Unix seconds).
    #[serde(rename = "iat")]
    pub issued_at: u64,
    /// When the cookie stops vouching (Unix seconds).
    #[serde(rename = "exp")]
    pub expires_at: u64,
}

impl KnownBrowser {
    /// Vouches for `normalized` for [`KNOWN_BROWSER_TTL_SECONDS`] from `now`.
    pub fn new(normalized: &str, now: u64) -> Self {
        Self {
            username: normalized.to_owned(),
            issued_at: now,
            expires_at: now.saturating_add(KNOWN_BROWSER_TTL_SECONDS),
        }
    }

    /// The signed cookie value.
    pub fn seal(&self, key: &SessionSecret) -> String {
        seal(KNOWN_CONTEXT, self, key)
    }

    /// Whether cookie `value` is a genuine, current known-browser cookie for
    /// `normalized`. Anything else (absent, tampered, expired, another
    /// user's) vouches for nobody.
    pub fn vouches_for(
        value: Option<&str>,
        key: &SessionSecret,
        normalized: &str,
        now: u64,
    ) -> bool {
        let Some(value) = value else { return false };
        open::<Self>(KNOWN_CONTEXT, value, key)
            .and_then(|known| check_times(known.issued_at, known.expires_at, now).map(|()| known))
            .is_ok_and(|known| known.username == normalized)
    }
}

/// `base64url(JSON) "." base64url(HMAC(key, context || 0 || payload))`.
fn seal<T: Serialize>(context: &[u8], value: &T, key: &SessionSecret) -> String {
    // Serializing a struct of strings and integers cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag =
        URL_SAFE_NO_PAD.encode(mac(key.expose_secret(), context, &payload).finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// The value [`seal`]ed under `context`: the length and the signature (in
/// constant time) are checked before the payload is decoded.
fn open<T: for<'de> Deserialize<'de>>(
    context: &[u8],
    value: &str,
    key: &SessionSecret,
) -> Result<T, TicketError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(TicketError::Malformed);
    }
    let (payload, tag) = value.split_once('.').ok_or(TicketError::Malformed)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TicketError::Malformed)?;
    // Any of the keys (two during a rotation), each checked in constant time.
    if !key.verifying_keys().any(|k| mac(k, context, payload).verify_slice(&tag).is_ok()) {
        return Err(TicketError::BadSignature);
    }
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TicketError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TicketError::Malformed)
}

/// A sealed value's lifetime against `now` (with [`CLOCK_SKEW_SECONDS`] of
/// tolerance for its start).
fn check_times(issued_at: u64, expires_at: u64, now: u64) -> Result<(), TicketError> {
    if issued_at > now.saturating_add(CLOCK_SKEW_SECONDS) {
        return Err(TicketError::IssuedInFuture);
    }
    if now >= expires_at {
        return Err(TicketError::Expired);
    }
    Ok(())
}

fn mac(key: &[u8], context: &[u8], payload: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(context);
    mac.update(&[0]);
    mac.update(payload.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn key() -> SessionSecret {
        SessionSecret::parse("ZTJlLXRlc3Qtc2Vzc2lvbi1zZWNyZXQtMzItYnl0ZXMhIQ==").unwrap()
    }

    fn other_key() -> SessionSecret {
        SessionSecret::parse("b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktISE=").unwrap()
    }

    #[test]
    fn a_rotation_keeps_the_cookies_signed_before_it_and_after_it_only_the_new_ones_hold() {
        let now = 1_800_000_000;
        let ticket = LoginTicket::new("alice", now);
        let before = ticket.seal(&key());
        // Rotating: the next secret signs, both verify.
        let rotating = key().rotating_to(other_key());
        let during = ticket.seal(&rotating);
        assert_eq!(during, ticket.seal(&other_key()), "signed with the next secret");
        assert_eq!(LoginTicket::open(&before, &rotating, now), Ok(ticket.clone()));
        assert_eq!(LoginTicket::open(&during, &rotating, now), Ok(ticket.clone()));
        let known = KnownBrowser::new("alice", now).seal(&key());
        assert!(KnownBrowser::vouches_for(Some(&known), &rotating, "alice", now));
        // Finished: only the new secret.
        assert_eq!(LoginTicket::open(&during, &other_key(), now), Ok(ticket));
        assert_eq!(LoginTicket::open(&before, &other_key(), now), Err(TicketError::BadSignature));
        assert!(!KnownBrowser::vouches_for(Some(&known), &other_key(), "alice", now));
    }

    #[test]
    fn find_reads_one_cookie_among_several() {
        let header = "theme=dark; __Host-login=abc.def ;__Host-session=xyz";
        assert_eq!(find(header, LOGIN_COOKIE), Some("abc.def"));
        assert_eq!(find(header, SESSION_COOKIE), Some("xyz"));
        assert_eq!(find(header, "missing"), None);
        assert_eq!(find("", SESSION_COOKIE), None);
        assert_eq!(find("__Host-session", SESSION_COOKIE), None);
        assert_eq!(find("x__Host-session=1", SESSION_COOKIE), None);
        assert_eq!(find("__Host-session=a=b", SESSION_COOKIE), Some("a=b"));
    }

    #[test]
    fn set_cookie_has_every_attribute() {
        assert_eq!(
            set(SESSION_COOKIE, "v", 28_800),
            "__Host-session=v; Max-Age=28800; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
        assert!(clear(LOGIN_COOKIE).starts_with("__Host-login=; Max-Age=0; Path=/; Secure"));
    }

    #[test]
    fn ticket_round_trips() {
        let ticket = LoginTicket::new("alice", NOW);
        let value = ticket.seal(&key());
        assert_eq!(LoginTicket::open(&value, &key(), NOW + 10), Ok(ticket));
    }

    #[test]
    fn ticket_keeps_later_fields() {
        let ticket = LoginTicket {
            state: Some(State::parse(&"s".repeat(36)).unwrap()),
            nonce: Some(Nonce::parse(&"n".repeat(36)).unwrap()),
            ..LoginTicket::new("alice", NOW)
        };
        let value = ticket.seal(&key());
        let opened = LoginTicket::open(&value, &key(), NOW).unwrap();
        assert_eq!(opened, ticket);
        assert_eq!(opened.state.as_ref().map(State::as_str), Some("s".repeat(36).as_str()));
        // Another state is another ticket.
        let other = LoginTicket { state: Some(State::parse(&"t".repeat(36)).unwrap()), ..opened };
        assert_ne!(other, ticket);
    }

    #[test]
    fn signed_ticket_with_an_invalid_state_is_malformed() {
        // Only we sign tickets, but a state the Duo client would refuse is
        // refused on the way in too.
        let json = br#"{"u":"alice","iat":1800000000,"exp":1800000300,"state":"short"}"#;
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD
            .encode(mac(key().expose_secret(), LOGIN_CONTEXT, &payload).finalize().into_bytes());
        assert_eq!(
            LoginTicket::open(&format!("{payload}.{tag}"), &key(), NOW),
            Err(TicketError::Malformed)
        );
    }

    #[test]
    fn duo_step_renews_the_ticket_but_not_forever() {
        let ticket = LoginTicket::new("alice", NOW);
        let started =
            ticket.for_duo(State::generate(&[1; 32]), Nonce::generate(&[2; 32]), NOW + 100);
        assert_eq!(started.expires_at, NOW + 100 + LOGIN_TTL_SECONDS);
        assert!(started.state.as_ref().is_some_and(|s| s.ct_eq(&State::generate(&[1; 32]))));
        assert!(started.nonce.as_ref().is_some_and(|n| n.ct_eq(&Nonce::generate(&[2; 32]))));
        assert_eq!(started.max_age(NOW + 100), LOGIN_TTL_SECONDS);
        // Restarting late cannot push the ticket past the overall limit.
        let late = started.for_duo(
            State::generate(&[3; 32]),
            Nonce::generate(&[4; 32]),
            NOW + LOGIN_MAX_SECONDS - 10,
        );
        assert_eq!(late.expires_at, NOW + LOGIN_MAX_SECONDS);
        assert_eq!(late.max_age(NOW + LOGIN_MAX_SECONDS + 5), 0);
        assert_eq!(
            LoginTicket::open(&late.seal(&key()), &key(), NOW + LOGIN_MAX_SECONDS),
            Err(TicketError::Expired)
        );
    }

    #[test]
    fn ticket_expires_after_five_minutes() {
        let value = LoginTicket::new("alice", NOW).seal(&key());
        assert!(LoginTicket::open(&value, &key(), NOW + LOGIN_TTL_SECONDS - 1).is_ok());
        assert_eq!(
            LoginTicket::open(&value, &key(), NOW + LOGIN_TTL_SECONDS),
            Err(TicketError::Expired)
        );
    }

    #[test]
    fn ticket_from_the_future_is_refused() {
        let value = LoginTicket::new("alice", NOW + 3600).seal(&key());
        assert_eq!(LoginTicket::open(&value, &key(), NOW), Err(TicketError::IssuedInFuture));
    }

    #[test]
    fn tampered_ticket_is_refused() {
        let value = LoginTicket::new("alice", NOW).seal(&key());
        let (payload, tag) = value.split_once('.').unwrap();
        // Another user's payload under alice's signature.
        let forged = URL_SAFE_NO_PAD.encode(br#"{"u":"admin","iat":1800000000,"exp":1800000300}"#);
        assert_eq!(
            LoginTicket::open(&format!("{forged}.{tag}"), &key(), NOW),
            Err(TicketError::BadSignature)
        );
        // One flipped character in the signature.
        let mut bad_tag = tag.to_owned();
        let last = if bad_tag.ends_with('A') { "B" } else { "A" };
        bad_tag.replace_range(bad_tag.len() - 1.., last);
        assert!(LoginTicket::open(&format!("{payload}.{bad_tag}"), &key(), NOW).is_err());
        // Signed with another key.
        assert_eq!(LoginTicket::open(&value, &other_key(), NOW), Err(TicketError::BadSignature));
    }

    #[test]
    fn truncated_or_garbage_ticket_is_refused() {
        let value = LoginTicket::new("alice", NOW).seal(&key());
        for bad in [
            "",
            ".",
            "garbage",
            "a.b",
            &value[..value.len() - 5],
            &value[..value.find('.').unwrap()],
            &value[value.find('.').unwrap()..],
            &format!("{value}.extra"),
            &"A".repeat(MAX_VALUE_LEN + 1),
        ] {
            assert!(LoginTicket::open(bad, &key(), NOW).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn validly_signed_non_ticket_is_malformed() {
        let payload = URL_SAFE_NO_PAD.encode(b"[1,2,3]");
        let tag = URL_SAFE_NO_PAD
            .encode(mac(key().expose_secret(), LOGIN_CONTEXT, &payload).finalize().into_bytes());
        assert_eq!(
            LoginTicket::open(&format!("{payload}.{tag}"), &key(), NOW),
            Err(TicketError::Malformed)
        );
    }

    #[test]
    fn known_browser_vouches_for_its_user_only_while_current() {
        let value = KnownBrowser::new("carol", NOW).seal(&key());
        let vouches = |value: Option<&str>, user: &str, now: u64| {
            KnownBrowser::vouches_for(value, &key(), user, now)
        };
        assert!(vouches(Some(&value), "carol", NOW));
        assert!(vouches(Some(&value), "carol", NOW + KNOWN_BROWSER_TTL_SECONDS - 1));
        assert!(!vouches(Some(&value), "carol", NOW + KNOWN_BROWSER_TTL_SECONDS), "expired");
        assert!(!vouches(Some(&value), "alice", NOW), "another user's");
        assert!(!vouches(None, "carol", NOW));
        assert!(!KnownBrowser::vouches_for(Some(&value), &other_key(), "carol", NOW));
        let mut tampered = value.clone();
        tampered.insert(3, 'x');
        assert!(!vouches(Some(&tampered), "carol", NOW));
        let early = KnownBrowser::new("carol", NOW + 3600).seal(&key());
        assert!(!vouches(Some(&early), "carol", NOW), "issued in the future");
    }

    #[test]
    fn a_login_ticket_is_no_known_browser_cookie_and_back() {
        // Same key, same JSON shape: only the signature's context differs.
        let ticket = LoginTicket::new("carol", NOW).seal(&key());
        assert!(!KnownBrowser::vouches_for(Some(&ticket), &key(), "carol", NOW));
        let known = KnownBrowser::new("carol", NOW).seal(&key());
        assert_eq!(LoginTicket::open(&known, &key(), NOW), Err(TicketError::BadSignature));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn find_never_panics(header in any::<String>(), name in "[_A-Za-z-]{0,16}") {
                let _ = find(&header, &name);
            }

            #[test]
            fn open_never_panics(value in any::<String>(), now in any::<u64>()) {
                let _ = LoginTicket::open(&value, &key(), now);
            }

            #[test]
            fn open_never_panics_on_near_tickets(
                payload in "[A-Za-z0-9_-]{0,120}",
                tag in "[A-Za-z0-9_=-]{0,60}",
                now in any::<u64>(),
            ) {
                let _ = LoginTicket::open(&format!("{payload}.{tag}"), &key(), now);
            }

            #[test]
            fn only_the_sealed_value_opens(username in "[a-z]{1,20}", now in 0u64..4_000_000_000) {
                let value = LoginTicket::new(&username, now).seal(&key());
                prop_assert!(LoginTicket::open(&value, &key(), now).is_ok());
                prop_assert!(LoginTicket::open(&value, &other_key(), now).is_err());
            }
        }
    }
}
