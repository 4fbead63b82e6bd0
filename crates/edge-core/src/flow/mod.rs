//! The flow core: every decision of the login flow, free of I/O
//! (`DESIGN.md`, "The flow" and "HTTP contract").
//!
//! Sans-I/O in the rustls sense: nothing here names the Workers runtime.
//! Each step is an async function of plain inputs (a parsed request, the
//! request's [`Ctx`] with `now` and the client's address, [`Random`] bytes,
//! the [`Config`]) over three small seams without `Send` bounds:
//! a [`Store`] (users, sessions, rate-limit counters, spent states, the
//! audit log), the Duo client's [`shared::duo::Transport`], and a
//! [`Passwords`]. Each returns a typed outcome or a [`Refusal`]
//! carrying the contract's error code and a typed audit [`Reason`]; the
//! audit record is derived from that result in one place,
//! [`trail::Trail::finish`].
//!
//! | step | function | audit step |
//! |---|---|---|
//! | `POST /api/login` | [`login::login`] | `login` |
//! | `POST /auth/duo/start` | [`duo_start::duo_start`] | `duo_start` |
//! | `GET /auth/duo/callback` | [`duo_callback::duo_callback`] | `duo_callback` |
//! | `POST /api/duo/inline/start` | [`inline::start`] | `duo_start` |
//! | `POST /api/duo/inline/status` | [`inline::status`] | `duo_callback` |
//! | `GET /api/session` | [`session::check`] | (none) |
//! | `POST /api/logout` | [`session::logout`] | `logout` |
//! | `POST /api/logout-everywhere` | [`session::logout_everywhere`] | `logout` (reason `logout_everywhere`) |
//!
//! The Worker's adapters (`edge::routes`) parse the request, call one of
//! these and render the result; native tests drive them over an in-memory
//! store and a scripted Duo (`flow/tests/`).
//!
//! Layers, none importing a layer above it (`tests/modules.rs`):
//! - common: [`context`] (the request's context, randomness, the password
//!   seam, the origin check), [`audit`] (the log's vocabulary), [`trail`]
//!   (a step's record), [`store`], [`limits`] and [`admission`],
//!   [`session`], [`policy`], [`maintenance`];
//! - the sign-in: [`login`] and [`login_outcome`], [`duo_start`],
//!   [`duo_callback`], [`inline`], [`health`], [`remember`];
//! - the console: [`admin`] (its guard, users, sessions), [`accounts`],
//!   [`remembered`], [`audit_log`], [`policy_admin`], [`provider`], and the
//!   user's own [`own_password`].
//!
//! The sign-in and the console never import each other.

pub mod accounts;
pub mod admin;
pub mod admission;
pub mod alerts;
pub mod audit;
pub mod audit_log;
pub mod breach;
pub mod context;
pub mod duo_callback;
pub mod duo_start;
pub mod fraud;
pub mod health;
pub mod inline;
pub mod limits;
pub mod login;
pub mod login_outcome;
pub mod maintenance;
pub mod overview;
pub mod own_password;
pub mod own_sessions;
pub mod policy;
pub mod policy_admin;
pub mod provider;
pub mod remember;
pub mod remembered;
pub mod session;
pub mod store;
pub mod trail;
pub mod webhooks;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use crate::config::Config;
pub use audit::{Outcome, Reason, Refusal, Step, Success};
pub use context::{City, Ctx, Passwords, Random, check_origin, inline_client, prompt_client};
pub use store::{Store, StoreError};
