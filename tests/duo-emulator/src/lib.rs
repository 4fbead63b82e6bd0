//! `duo-emulator`: a local stand-in for Duo's OIDC Auth API and Universal Prompt
//! (`POST /oauth/v1/health_check`, `GET /oauth/v1/authorize`, `POST /oauth/v1/token`), built from
//! `duo-protocol.md` and deliberately independent of the product's Duo client.
//!
//! In-process use (tests):
//! ```no_run
//! # async fn demo() -> Result<(), duo_emulator::StartError> {
//! let mut config = duo_emulator::Config::default();
//! config.listen = "127.0.0.1:0".parse().expect("literal address");
//! let emulator = duo_emulator::Emulator::start(config).await?;
//! println!("Duo API host: {}", emulator.local_addr());
//! # Ok(()) }
//! ```
//! The binary (`duo-emulator --help`) serves the same thing; see the crate's README for the
//! configuration file, the control API under `/__emulator/` and TLS mode.

pub mod auth_api;
mod clock;
mod config;
mod control;
mod html;
mod id_token;
mod jwt;
mod oauth;
mod params;
mod phone;
mod prompt;
mod pwned;
mod pyjson;
#[cfg(test)]
mod robustness;
mod server;
mod state;
mod tls;
mod web;

pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use config::{
    AppConfig, Capability, Config, ConfigError, DEFAULT_LISTEN, DEV_CLIENT_ID, DEV_CLIENT_SECRET,
    DeviceConfig, NewUserPolicy, UserConfig, UserStatus, dev_users,
};
pub use oauth::{
    INVALID_ASSERTION, INVALID_GRANT, ISS_MISMATCH, JWT_BEARER, NO_FRAMELESS_CUSTOMER,
    NO_FRAMELESS_INTEGRATION,
};
pub use server::{Emulator, StartError};
pub use state::{Endpoint, Fault, FaultRule, IdTokenDefect, Outcome, Script};
pub use tls::{TlsError, TlsMaterial};
pub use web::Scheme;
