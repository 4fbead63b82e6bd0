//! Responses with the headers every answer of the Worker carries.

use serde::Serialize;
use worker::{Response, Result};

/// A JSON response with `status`, marked uncacheable and hardened.
///
/// # Errors
/// Only if the runtime cannot build the response.
pub fn json<T: Serialize>(body: &T, status: u16) -> Result<Response> {
    let response = Response::from_json(body)?.with_status(status);
    harden(response)
}

/// Adds the headers of the contract: auth answers are never cached, never
/// leak the URL through `Referer`, and are never sniffed or framed.
///
/// # Errors
/// Only if the runtime refuses a header.
pub fn harden(mut response: Response) -> Result<Response> {
    let headers = response.headers_mut();
    headers.set("Cache-Control", "no-store")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("X-Frame-Options", "DENY")?;
    headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")?;
    // Browsers ignore it over plain http (local development), so it is always sent.
    headers.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")?;
    Ok(response)
}

/// An empty response with `status` (e.g. 204), hardened.
///
/// # Errors
/// Only if the runtime cannot build the response.
pub fn empty(status: u16) -> Result<Response> {
    harden(Response::empty()?.with_status(status))
}

/// A `303 See Other` to `location` (an absolute URL, or a path on this
/// origin), hardened.
///
/// # Errors
/// Only if the runtime cannot build the response.
pub fn redirect(location: &str) -> Result<Response> {
    let mut response = Response::empty()?.with_status(303);
    response.headers_mut().set("Location", location)?;
    harden(response)
}
