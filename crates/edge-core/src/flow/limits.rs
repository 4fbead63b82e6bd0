//! Login rate limits: every attempt is counted first, atomically, and only
//! an attempt within every limit goes on to the password check; a login
//! that succeeds is taken back (`super::admission::Admission::release`),
//! so only failures (and attempts still in flight) use up a limit. This
//! module is the limits' vocabulary (keys, clients, windows, the checks);
//! counting against the store is [`super::admission`].
//!
//! Counted in fixed windows of [`WINDOW_SECONDS`], in this order, stopping
//! at the first limit exceeded (so an attempt refused for one key is not
//! counted against the next):
//! 1. per username and client ([`PER_USER_CLIENT`]): the strict one;
//! 2. per client, any usernames ([`PER_CLIENT`]);
//! 3. per username, any clients ([`PER_USER`]): softer, so one client
//!    cannot lock a user out, but many clients cannot guess freely; and
//!    not for a browser that proves it passed this user's password before
//!    (a known-browser cookie, `crate::cookie::KnownBrowser`), so strangers
//!    spending this limit cannot lock the user out of their own browser.
//!
//! A client is an IPv4 address or an IPv6 /64 (one subscriber's prefix);
//! requests without a usable address share one "unknown" client.
//!
//! Duo steps are limited too ([`check_duo_start`]): each `POST
//! /auth/duo/start` may send the user a prompt, so someone who has the
//! password could send prompts until one is approved (push fatigue). They
//! are counted per username, before the health check and the redirect,
//! `DUO_START_LIMIT` per window, and never taken back.

use std::fmt;
use std::net::IpAddr;

use super::audit::{Reason, Refusal};

/// The window of every limit, in seconds.
pub const WINDOW_SECONDS: u64 = 900;

/// At most `max` attempts per window; the next is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Attempts allowed in a window.
    pub max: u32,
    /// The audit reason of a refusal.
    pub reason: Reason,
}

/// Per username and client: 5 per window.
pub const PER_USER_CLIENT: Limit = Limit { max: 5, reason: Reason::UserClientLimit };
/// Per client: 20 per window.
pub const PER_CLIENT: Limit = Limit { max: 20, reason: Reason::ClientLimit };
/// Per username: 30 per window.
pub const PER_USER: Limit = Limit { max: 30, reason: Reason::UserLimit };

/// Where a client's attempts are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    /// An IPv4 address.
    V4([u8; 4]),
    /// The /64 prefix of an IPv6 address.
    V6Prefix([u8; 8]),
    /// No usable address.
    Unknown,
}

impl Client {
    /// The counting unit of `ip` (an IPv4-mapped IPv6 address is IPv4).
    pub fn of(ip: Option<IpAddr>) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Self::V4(v4.octets()),
            Some(IpAddr::V6(v6)) => {
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                Self::V6Prefix(prefix)
            }
            None => Self::Unknown,
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(octets) => std::net::Ipv4Addr::from(*octets).fmt(f),
            Self::V6Prefix(prefix) => {
                for pair in prefix.chunks(2) {
                    write!(f, "{:x}:", u16::from_be_bytes([pair[0], pair[1]]))?;
                }
                f.write_str(":/64")
            }
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// What one counter counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitKey {
    /// A normalized username (empty for names no user can have) from a client.
    UserClient(String, Client),
    /// A client.
    Client(Client),
    /// A normalized username.
    User(String),
    /// Duo steps of a normalized username.
    DuoStart(String),
    /// Inline mode: passcodes tried in one login (the normalized username
    /// and the login, as the signed ticket names it:
    /// [`crate::cookie::LoginTicket::login_key`]), counted in the window
    /// its password passed in.
    Passcode(String, String),
    /// Inline mode: passcodes tried for a normalized username across
    /// logins, in the one window [`ACCOUNT_WINDOW`]; cleared by a Duo
    /// approval and by a new password.
    PasscodeAccount(String),
}

impl LimitKey {
    /// The stored key: `uc:<user>|<client>`, `c:<client>`, `u:<user>`,
    /// `ds:<user>`, `pc:<user>|<login>`, `pa:<user>` (normalized usernames
    /// never contain `|`).
    pub fn storage_key(&self) -> String {
        match self {
            Self::UserClient(user, client) => format!("uc:{user}|{client}"),
            Self::Client(client) => format!("c:{client}"),
            Self::User(user) => format!("u:{user}"),
            Self::DuoStart(user) => format!("ds:{user}"),
            Self::Passcode(user, login) => format!("pc:{user}|{login}"),
            Self::PasscodeAccount(user) => format!("pa:{user}"),
        }
    }

    /// The login limit of this key (a Duo-start key's is configured:
    /// [`check_duo_start`]).
    pub(super) const fn limit(&self) -> Limit {
        match self {
            Self::UserClient(..) => PER_USER_CLIENT,
            Self::Client(_) => PER_CLIENT,
            Self::User(_) | Self::DuoStart(_) | Self::Passcode(..) | Self::PasscodeAccount(_) => {
                PER_USER
            }
        }
    }
}

/// Passcodes one login may try (inline mode); Duo locks the user out
/// after ten wrong ones in a row, across logins.
pub const PASSCODES_PER_LOGIN: u32 = 5;

/// Passcodes an account may try across logins without a Duo approval or a
/// new password in between (inline mode): below Duo's own lockout (ten
/// wrong ones in a row by default), so someone who has the password cannot
/// get the user locked out of Duo by sending wrong passcodes.
pub const PASSCODES_PER_ACCOUNT: u32 = 8;

/// The window of [`LimitKey::PasscodeAccount`]: one, which never ends
/// (Duo's count of wrong passcodes has no window either).
pub const ACCOUNT_WINDOW: u64 = 0;

const _: () = assert!(PASSCODES_PER_LOGIN < PASSCODES_PER_ACCOUNT && PASSCODES_PER_ACCOUNT < 10);

/// Refuses a passcode attempt `count` of an account past
/// [`PASSCODES_PER_ACCOUNT`]. Every refusal is audited.
///
/// # Errors
/// [`Reason::PasscodeAccountLimit`].
pub fn check_account_passcodes(count: u32) -> Result<(), Refusal> {
    if count > PASSCODES_PER_ACCOUNT {
        let mut refusal = Refusal::new(Reason::PasscodeAccountLimit)
            .detail(format!("{count} passcodes for this account since its last Duo approval"))
            .message(
                "Too many wrong passcodes for this account. Approve a Duo Push or a call \
                 instead, or ask your administrator.",
            );
        // No window ends this: a hint for clients that read the header.
        refusal.retry_after = Some(WINDOW_SECONDS);
        return Err(refusal);
    }
    Ok(())
}

/// Refuses the passcode attempt `count` of one login past [`PASSCODES_PER_LOGIN`].
/// Every refusal is audited (each needs the password first).
///
/// # Errors
/// [`Reason::PasscodeLimit`], retry when the ticket's window ends.
pub fn check_passcodes(count: u32, now: u64) -> Result<(), Refusal> {
    if count > PASSCODES_PER_LOGIN {
        let mut refusal = Refusal::new(Reason::PasscodeLimit)
            .detail(format!("{count} passcodes in this login"))
            .message("Too many passcodes tried. Enter your password again to start over.");
        refusal.retry_after = Some(retry_after(now));
        return Err(refusal);
    }
    Ok(())
}

/// The start of the window holding `now`.
pub const fn window_start(now: u64) -> u64 {
    now - now % WINDOW_SECONDS
}

/// Seconds from `now` to the end of its window (at least 1).
pub const fn retry_after(now: u64) -> u64 {
    let left = window_start(now) + WINDOW_SECONDS - now;
    if left == 0 { 1 } else { left }
}

/// Decides on a Duo step already counted (`count` in this window, by
/// [`super::store::SignInStore::user_and_hit`] on [`LimitKey::DuoStart`]): within `max`, or
/// refused.
///
/// # Errors
/// A `rate_limited` refusal (`duo_start_limit`) with `Retry-After`.
pub fn check_duo_start(count: u32, max: u32, now: u64) -> Result<(), Refusal> {
    if count > max {
        return Err(Refusal::rate_limited(Reason::DuoStartLimit, retry_after(now), count, max)
            .detail(format!("{count} Duo steps in the window")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_addresses_or_v6_prefixes() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(Client::of(Some(v4)).to_string(), "192.0.2.7");
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Client::of(Some(a)), Client::of(Some(b)));
        assert_ne!(Client::of(Some(a)), Client::of(Some(other)));
        assert_eq!(Client::of(Some(a)).to_string(), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(Client::of(Some(mapped)), Client::of(Some(v4)));
        assert_eq!(Client::of(None).to_string(), "unknown");
    }

    #[test]
    fn storage_keys_are_distinct_per_kind() {
        let client = Client::V4([192, 0, 2, 1]);
        assert_eq!(
            LimitKey::UserClient("carol".into(), client).storage_key(),
            "uc:carol|192.0.2.1"
        );
        assert_eq!(LimitKey::Client(client).storage_key(), "c:192.0.2.1");
        assert_eq!(LimitKey::User("carol".into()).storage_key(), "u:carol");
        assert_eq!(LimitKey::DuoStart("carol".into()).storage_key(), "ds:carol");
    }

    #[test]
    fn windows_are_fixed_and_retry_after_reaches_their_end() {
        let start = window_start(1_800_000_123);
        assert_eq!(start % WINDOW_SECONDS, 0);
        assert!(start <= 1_800_000_123 && 1_800_000_123 < start + WINDOW_SECONDS);
        assert_eq!(retry_after(start), WINDOW_SECONDS);
        assert_eq!(retry_after(start + 899), 1);
        assert_eq!(window_start(start + 900), start + 900);
    }

    // The per-username limit is softer than the per-username-and-client one.
    const _: () =
        assert!(PER_USER_CLIENT.max < PER_USER.max && PER_USER_CLIENT.max < PER_CLIENT.max);
}
