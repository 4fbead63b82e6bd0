//! What the client takes from its caller instead of reading it: the time and random bytes.

/// A point in time, in whole seconds since the Unix epoch (UTC).
///
/// The client never reads a clock: the caller passes `now` (the Worker uses `Date.now()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

/// Random bytes supplied by the caller for one generated value (a `state`, `nonce` or `jti`).
///
/// 32 bytes from a cryptographically secure generator (`crypto.getRandomValues` on Workers).
pub type RandomBytes = [u8; 32];
