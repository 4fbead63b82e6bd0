//! The flood filter over Cloudflare's Rate Limiting bindings
//! ([`edge_core::flood`] says what is counted): asked before any password
//! hash, D1 read or Duo call; a client over its group's limit is refused
//! with `429 rate_limited` (or, for the prompt's form and Duo's redirect
//! back, sent to the sign-in page with the code and the wait), and nothing
//! is written. Without the binding (a deployment that left it out) the
//! filter lets everything through and says so once in the log.

use edge_core::flood::FloodGroup;
use shared::api::routes as paths;
use shared::{ErrorBody, ErrorCode};
use worker::{Env, Request, Response, Result};

use crate::{request, respond};

/// Whether the client may go on: counted by the group's binding.
pub async fn allowed(env: &Env, group: FloodGroup, req: &Request) -> bool {
    let Some(key) = group.key(request::client_ip(req)) else { return true };
    let Ok(limiter) = env.rate_limiter(group.binding()) else {
        missing_once(group);
        return true;
    };
    match limiter.limit(key).await {
        Ok(outcome) => outcome.success,
        // The limiter failing is no reason to refuse everyone: the exact
        // limits in D1 still hold.
        Err(error) => {
            worker::console_error!("flood: the {} binding failed: {error}", group.binding());
            true
        }
    }
}

/// The refusal of a client over its limit.
///
/// # Errors
/// When the response cannot be built.
pub fn refused(group: FloodGroup, path: &str, req: &Request) -> Result<Response> {
    let wait = group.period_seconds();
    let client = request::client_ip(req).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    worker::console_warn!("flood: refused {path} from {client} (over {})", group.binding());
    let mut response = if FloodGroup::redirects(path) {
        let page = paths::at(paths::PAGE);
        respond::redirect(&format!("{page}?error={}&wait={wait}", ErrorCode::RateLimited.as_str()))?
    } else {
        let body = ErrorBody {
            code: ErrorCode::RateLimited,
            message: format!(
                "Too many requests from this address. Wait {wait} seconds, then try again."
            ),
        };
        respond::json(&body, 429)?
    };
    response.headers_mut().set("Retry-After", &wait.to_string())?;
    Ok(response)
}

fn missing_once(group: FloodGroup) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static SAID: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
    let n = usize::from(group == FloodGroup::Console);
    if !SAID[n].swap(true, Ordering::Relaxed) {
        worker::console_warn!(
            "flood: no {} binding ([[ratelimits]] in wrangler.toml): requests are not filtered",
            group.binding()
        );
    }
}
