//! Reading a request: headers, cookies, the client's address, the body, the
//! clock and the randomness the flow core takes as plain inputs.

use std::net::IpAddr;

use worker::Request;
use zeroize::Zeroizing;

use crate::error::EdgeError;
use edge_core::flow::policy::Place;
use edge_core::flow::{City, Ctx, Random};
use edge_core::headers::UserAgent;
use edge_core::{cookie, headers};

/// Now, in Unix seconds (the Workers clock).
pub fn now() -> u64 {
    worker::Date::now().as_millis() / 1000
}

/// The request's URL as the runtime gives it (absolute), split into path
/// and query by [`headers::path_and_query`].
pub fn url(req: &Request) -> String {
    req.inner().url()
}

/// The value of header `name`, if present and readable.
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The value of cookie `name` in the request's `Cookie` header.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    cookie::find(&header(req, "Cookie")?, name).map(str::to_owned)
}

/// `CF-Connecting-IP`, when it is an IP address.
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    headers::client_ip(&header(req, "CF-Connecting-IP")?)
}

/// The flow's view of this request: now, the client's address, and the
/// country and ASN Cloudflare saw it from (`request.cf`, which clients
/// cannot set; `wrangler dev` fills it with a placeholder, which its
/// `MF-CF-Blob` header replaces in tests).
pub fn ctx(req: &Request) -> Ctx {
    let cf = req.cf();
    Ctx {
        now: now(),
        client: client_ip(req),
        country: cf.and_then(worker::Cf::country).as_deref().and_then(Place::country_code),
        asn: cf.and_then(worker::Cf::asn),
        city: cf.and_then(worker::Cf::city).as_deref().and_then(City::parse),
        agent: header(req, "User-Agent").map(|value| UserAgent::parse(&value)),
    }
}

/// Fresh random bytes from the platform's CSPRNG (`crypto.getRandomValues`).
///
/// # Errors
/// When the platform has none to give.
pub fn random() -> Result<Random, EdgeError> {
    Random::fill(getrandom::getrandom)
        .map_err(|e| EdgeError::Internal(format!("no randomness: {e}")))
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
///
/// # Errors
/// [`EdgeError::UnsupportedMediaType`].
pub fn require_json(req: &Request) -> Result<(), EdgeError> {
    if headers::is_json(header(req, "Content-Type").as_deref()) {
        Ok(())
    } else {
        Err(EdgeError::UnsupportedMediaType)
    }
}

/// The body, at most `limit` bytes (`edge_core::headers::MAX_BODY_LEN` for most
/// routes): refused up front by `Content-Length`, and again after reading
/// (chunked bodies have none).
///
/// # Errors
/// [`EdgeError::PayloadTooLarge`], or [`EdgeError::BadRequest`] when unreadable.
pub async fn body(req: &mut Request, limit: usize) -> Result<Zeroizing<Vec<u8>>, EdgeError> {
    let too_large = EdgeError::PayloadTooLarge { limit };
    if header(req, "Content-Length")
        .is_some_and(|length| headers::declared_too_long(&length, limit))
    {
        return Err(too_large);
    }
    let body =
        Zeroizing::new(req.bytes().await.map_err(|_| EdgeError::BadRequest("unreadable body"))?);
    if body.len() > limit {
        return Err(too_large);
    }
    Ok(body)
}
