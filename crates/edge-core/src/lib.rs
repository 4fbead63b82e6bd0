//! The sign-in's rules, free of I/O: everything the Worker decides, as
//! plain functions of plain inputs, built and tested natively like
//! `shared`. No Workers, JavaScript or browser type appears here, and
//! nothing depends on the target.
//!
//! - [`flow`]: every step of the sign-in and the console (the sans-I/O flow
//!   core; its seams are a store, Duo's transport and the password hasher,
//!   passed in; time and randomness are inputs).
//! - [`gateway`]: the sign-in in front of an app (return targets, signing
//!   keys, the signed assertion).
//! - [`config`]: the Worker's settings, parsed once from a lookup.
//! - [`cookie`]: the `Cookie` header, `Set-Cookie`, and the sealed login and
//!   known-browser cookies.
//! - [`keys`]: the store's keys, typed (id hashes, usernames, txids).
//! - [`session`]: session ids (only their SHA-256 is stored).
//! - `conformance` (feature `conformance`): the store ports' conformance
//!   suites, which the in-memory store and the Worker's D1 store both pass.
//! - [`headers`]: the request's headers and URL as the Worker reads them,
//!   and how large a body each route reads.
//!
//! The Worker (`edge`) adapts these to workerd: the router and the route
//! adapters, D1, `WebCrypto`, `fetch`, the Cron Trigger.

pub mod config;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod cookie;
pub mod flood;
pub mod flow;
pub mod gateway;
pub mod headers;
pub mod keys;
pub mod request_log;
pub mod session;
