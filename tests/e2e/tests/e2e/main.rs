//! The end-to-end tests: the real Worker under `wrangler dev` (each test with
//! its own migrated, seeded D1), the Duo emulator in-process, and headless
//! Chromium for what a person does.
//!
//! One test binary, so its tests overlap in time: each one mostly waits on
//! wrangler, the emulator, the browser or a deliberate timeout, and as
//! separate binaries they ran one after another (111 s; together about half).
//!
//! - [`auth_api`]: the product's Auth API client against the emulator's `/auth/v2/*`.
//! - [`smoke`]: the SPA is served and renders; `/api/health`.
//! - [`login`]: the first factor, rate limits and sessions over HTTP.
//! - [`duo_flow`]: the Duo step over HTTP, every refusal of the contract.
//! - [`browser_flow`]: the whole sign-in as a person clicks through it.
//! - [`maintenance`]: the Cron Trigger's pruning and the database's own rules.
//! - [`load`]: fifty users signing in at once, each ending with their own session.

mod admin;
mod admin_accounts;
mod admin_duo;
mod alerts;
mod auth_api;
mod browser_admin;
mod browser_flow;
mod browser_inline;
mod browser_reauth;
mod deploy;
mod duo_flow;
mod example_app;
mod flood;
mod forward_auth;
mod gateway;
mod gateway_keys;
mod inline;
mod load;
mod login;
mod maintenance;
mod policies;
mod remember;
mod rotation;
mod sessions;
mod smoke;
mod store_conformance;

use e2e::default_vars;
use edge_core::config::SessionSecret;

/// The `SESSION_SECRET` the test Workers run with, to seal login tickets
/// (expired ones, for instance) as the Worker would.
fn session_secret() -> SessionSecret {
    let vars = default_vars("http://localhost");
    let (_, value) = vars.iter().find(|(name, _)| name == "SESSION_SECRET").expect("set");
    SessionSecret::parse(value).expect("valid test secret")
}
