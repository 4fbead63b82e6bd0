//! Credentials: password hashes, the password policy and usernames.
//!
//! One implementation, used by the Worker (`edge`, on wasm32) to verify a
//! password and by the user admin command (`user-admin`, native) to hash one,
//! so the two can never disagree about the format. Pure Rust, no I/O, no
//! clock, no randomness: salts are passed in by the caller.
//!
//! The SPA never links this crate: only `edge` and native tools depend on it.

pub mod breach;
pub mod demo;
pub mod password;
pub mod policy;
pub mod sql;
pub mod username;

pub use password::{DEFAULT_ITERATIONS, PasswordError, PasswordHash};
pub use policy::PolicyError;
pub use username::{Username, UsernameError, normalize};
