//! Native tests of the flow core over [`super::testing`]'s in-memory store,
//! scripted Duo and counting verifier. The traceability table from the
//! contract to these tests is `crates/edge-core/TESTS.md`.

mod account_change;
mod accounts;
mod admin;
mod alerts;
mod audit;
mod audit_log;
mod duo_callback;
mod duo_start;
mod gateway;
mod inline;
mod login;
mod maintenance;
mod policy;
mod properties;
mod provider;
mod remember;
mod session;
mod store_conformance;
