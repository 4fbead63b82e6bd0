//! Native tests of the flow core over [`super::testing`]'s in-memory store,
//! scripted Duo and counting verifier. The traceability table from the
//! contract to these tests is `edge/TESTS.md`.

mod account_change;
mod accounts;
mod admin;
mod audit;
mod audit_log;
mod duo_callback;
mod duo_start;
mod inline;
mod login;
mod maintenance;
mod policy;
mod provider;
mod remember;
// proptest is a native dev-dependency.
#[cfg(not(target_arch = "wasm32"))]
mod properties;
mod session;
