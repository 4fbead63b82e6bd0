//! The gateway: Duo's sign-in in front of an app. Every path outside the
//! login's own prefix is the app's; a request from a signed-in browser is
//! forwarded with a signed assertion of who is asking, any other gets the
//! login (a navigation) or a 401.
//!
//! Pure pieces, tested natively; the Worker forwards and signs.
//!
//! - [`shared::return_to`]: where a sign-in returns to, refused in every
//!   form that could leave the origin (shared with the login's page, which
//!   follows it after a sign-in that needs no redirect).
//! - [`access`]: who may reach which path (the policies' access rules).
//! - [`signing`]: the ES256 keys (current, next, previous) and the JWKS.
//! - [`assertion`]: the claims and the JWS around the Worker's signature.
//! - [`config`]: the upstream, the keys, the audience, the bounds.
//! - [`cache`]: checked sessions trusted for the revocation bound, so
//!   the steady state asks no storage.
//! - [`forward`]: who is asking, what a request without a session gets,
//!   and which headers and cookies cross the gateway.
//! - [`forward_auth`]: the same decisions for another proxy's check
//!   (`{prefix}/verify`), answered in the form that proxy passes on.

pub mod access;
pub mod assertion;
pub mod cache;
pub mod config;
pub mod forward;
pub mod forward_auth;
pub mod signing;
