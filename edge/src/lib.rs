//! The Worker.
//!
//! Thin entry point and router. The decisions live in [`flow`], the
//! sans-I/O flow core (no Workers types; tested natively over an in-memory
//! store and a scripted Duo). Around it, the adapters: [`routes`] (parse,
//! call the core, render), [`request`] (headers, cookies, client address,
//! clock, randomness), [`d1`] (the core's `Store` over D1),
//! [`duo_transport`] (Duo over `fetch`), [`password`] (PBKDF2 through
//! `WebCrypto`), [`config`], [`respond`], [`error`]; and the pure pieces
//! both use: [`cookie`], [`session`]. Static assets (the SPA) are served by
//! the Workers assets binding; only `/api/*` and `/auth/*` reach this code
//! (`run_worker_first` in `wrangler.toml`), and anything else that does is
//! handed to the assets binding.
//!
//! Natively only the core and the pure pieces compile (for their tests and
//! the end-to-end test bed): the adapters need the Workers runtime.

pub mod config;
pub mod cookie;
#[cfg(target_arch = "wasm32")]
pub mod d1;
#[cfg(target_arch = "wasm32")]
pub mod duo_transport;
pub mod error;
pub mod flow;
pub mod headers;
pub mod password;
#[cfg(target_arch = "wasm32")]
pub mod request;
#[cfg(target_arch = "wasm32")]
pub mod respond;
#[cfg(target_arch = "wasm32")]
pub mod routes;
pub mod session;
#[cfg(target_arch = "wasm32")]
mod worker_entry;
