//! The Worker.
//!
//! Thin entry point and router over the core ([`edge_core`]: the sign-in's
//! rules, free of I/O, tested natively over an in-memory store and a
//! scripted Duo). Here, only what needs workerd: [`routes`] (parse, call
//! the core, render), [`request`] (headers, cookies, client address,
//! clock, randomness), [`d1`] (the core's `Store` over D1),
//! [`duo_transport`] (Duo over `fetch`), [`password`] (PBKDF2 through
//! `WebCrypto`), [`config`] (settings from the environment), [`respond`],
//! [`error`]. Static assets (the SPA) are served by the Workers assets
//! binding; only `/api/*` and `/auth/*` reach this code (`run_worker_first`
//! in `wrangler.toml`), and anything else that does is handed to the assets
//! binding.
//!
//! Natively only [`error`] compiles (its mapping of the core's refusals to
//! HTTP is tested there): the rest needs the Workers runtime.

#[cfg(target_arch = "wasm32")]
pub mod alerts;
#[cfg(target_arch = "wasm32")]
pub mod config;
#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(target_arch = "wasm32")]
pub mod duo_transport;
pub mod error;
#[cfg(target_arch = "wasm32")]
pub mod flood;
#[cfg(target_arch = "wasm32")]
pub mod gateway;
#[cfg(target_arch = "wasm32")]
pub mod password;
#[cfg(target_arch = "wasm32")]
pub mod request;
#[cfg(target_arch = "wasm32")]
pub mod respond;
#[cfg(target_arch = "wasm32")]
pub mod routes;
#[cfg(target_arch = "wasm32")]
pub mod trace;
#[cfg(target_arch = "wasm32")]
pub mod webcrypto;
#[cfg(all(target_arch = "wasm32", feature = "entry"))]
mod worker_entry;
