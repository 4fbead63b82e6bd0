//! The contract between the SPA (`app`) and the Worker (`edge`).
//!
//! Everything here is plain data: no runtime, no clock, no randomness, no I/O.
//! It compiles natively and for `wasm32-unknown-unknown`.
//!
//! With the `duo` feature (used by the Worker, never by the SPA), the `duo` module is an I/O-free
//! Duo Universal Prompt client.

pub mod admin;
pub mod alerts;
pub mod api;
pub mod error;
pub mod policy;
pub mod return_to;

pub use error::{ErrorBody, ErrorCode};

#[cfg(feature = "duo")]
pub mod duo;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
