//! Reading a request: headers, cookies, the client's address, the body, the
//! clock and the randomness the flow core takes as plain inputs.

use std::net::IpAddr;

use worker::Request;
use zeroize::Zeroizing;

use crate::cookie;
use crate::error::{EdgeError, MAX_BODY_LEN};
use crate::flow::{Ctx, Random};

/// Now, in Unix seconds (the Workers clock).
pub fn now() -> u64 {
    worker::Date::now().as_millis() / 1000
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
    parse_ip(&header(req, "CF-Connecting-IP")?)
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

/// The flow's view of this request: now and the client.
pub fn ctx(req: &Request) -> Ctx {
    Ctx { now: now(), client: client_ip(req) }
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
    if is_json(header(req, "Content-Type").as_deref()) {
        Ok(())
    } else {
        Err(EdgeError::UnsupportedMediaType)
    }
}

fn is_json(content_type: Option<&str>) -> bool {
    let media_type = content_type.unwrap_or_default().split(';').next().unwrap_or_default();
    media_type.trim().eq_ignore_ascii_case("application/json")
}

/// The body, at most [`MAX_BODY_LEN`] bytes: refused up front by
/// `Content-Length`, and again after reading (chunked bodies have none).
///
/// # Errors
/// [`EdgeError::PayloadTooLarge`], or [`EdgeError::BadRequest`] when unreadable.
pub async fn body(req: &mut Request) -> Result<Zeroizing<Vec<u8>>, EdgeError> {
    if header(req, "Content-Length").is_some_and(|length| declared_too_long(&length)) {
        return Err(EdgeError::PayloadTooLarge);
    }
    let body =
        Zeroizing::new(req.bytes().await.map_err(|_| EdgeError::BadRequest("unreadable body"))?);
    if body.len() > MAX_BODY_LEN {
        return Err(EdgeError::PayloadTooLarge);
    }
    Ok(body)
}

fn declared_too_long(length: &str) -> bool {
    length.trim().parse::<u64>().map_or(true, |n| n > MAX_BODY_LEN as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_type_allows_parameters_only() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        for other in [None, Some(""), Some("text/plain"), Some("application/jsonx")] {
            assert!(!is_json(other), "{other:?}");
        }
    }

    #[test]
    fn content_length_is_checked_before_reading() {
        assert!(!declared_too_long("4096"));
        assert!(declared_too_long("4097"));
        assert!(declared_too_long("lots"));
    }

    #[test]
    fn client_ip_must_be_an_address() {
        assert_eq!(parse_ip(" 192.0.2.1 "), Some(IpAddr::from([192, 0, 2, 1])));
        assert!(parse_ip("2001:db8::1").is_some());
        assert_eq!(parse_ip("192.0.2.1, 10.0.0.1"), None);
        assert_eq!(parse_ip("unknown"), None);
    }
}
