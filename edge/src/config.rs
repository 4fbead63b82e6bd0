//! The Worker's settings from its environment: each var or secret read into
//! a zeroized string without formatting it (the runtime's `Var`/`Secret`
//! bindings print their plaintext when formatted), then parsed by the core
//! ([`edge_core::config`]), which names a problem by its setting only.

use edge_core::config::{AlertSettings, AppOrigin, Config, ConfigProblem, Maintenance};
use edge_core::gateway::config::{GatewayConfig, UPSTREAM_BINDING};
use worker::Env;
use zeroize::Zeroizing;

pub use edge_core::config::FailMode;

/// Every setting, from the Worker's environment.
///
/// # Errors
/// The first setting that is missing or invalid.
pub fn from_env(env: &Env) -> Result<Config, ConfigProblem> {
    Config::parse(|name| env_value(env, name))
}

/// The maintenance settings alone, from the Worker's environment: pruning
/// goes on while a Duo setting is broken.
///
/// # Errors
/// The first setting that is invalid.
pub fn maintenance_from_env(env: &Env) -> Result<Maintenance, ConfigProblem> {
    Maintenance::parse(&|name: &str| env_value(env, name))
}

/// The alerts' consumer's settings alone, from the Worker's environment:
/// alerts go out while a Duo setting is broken.
///
/// # Errors
/// When `ALERT_RETRY_SECONDS` is invalid.
pub fn alerts_from_env(env: &Env) -> Result<AlertSettings, ConfigProblem> {
    AlertSettings::parse(&|name: &str| env_value(env, name))
}

/// The gateway's settings, from the Worker's environment (the service
/// binding `UPSTREAM` counts as one).
///
/// # Errors
/// The first setting that is missing or invalid.
pub fn gateway_from_env(env: &Env, origin: &AppOrigin) -> Result<GatewayConfig, ConfigProblem> {
    let has_binding = env.service(UPSTREAM_BINDING).is_ok();
    GatewayConfig::parse(&|name: &str| env_value(env, name), has_binding, origin)
}

fn env_value(env: &Env, name: &str) -> Option<Zeroizing<String>> {
    let binding = env.var(name).ok()?;
    wasm_bindgen::JsValue::from(binding).as_string().map(Zeroizing::new)
}

/// Logs a configuration problem once per isolate, by name.
pub fn log_once(problem: &ConfigProblem) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Ordering::Relaxed) {
        worker::console_error!("configuration error: {problem}");
    }
}
