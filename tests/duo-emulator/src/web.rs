//! Plain-data requests and responses, and the response helpers every handler uses.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::Value;

use crate::pyjson;

/// Response type of every handler.
pub(crate) type Resp = Response<Full<Bytes>>;

/// The scheme a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain http.
    Http,
    /// https (TLS mode).
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// A request with its body read.
#[derive(Debug)]
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
    pub scheme: Scheme,
    /// Host (and port) the emulator is known as: the configured public host, else `Host`.
    pub host: String,
}

impl Req {
    /// `{scheme}://{host}`: the base of every URL Duo would build (`aud`, `iss`).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.host)
    }

    /// A header as text.
    pub fn header(&self, name: &HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why a handler produced no ordinary response.
#[derive(Debug)]
pub(crate) enum HandlerError {
    /// Close the connection without answering (the `drop_connection` fault).
    Drop,
    /// Something inside the emulator failed (e.g. the OS RNG).
    Internal(&'static str),
}

impl From<getrandom::Error> for HandlerError {
    fn from(_: getrandom::Error) -> Self {
        Self::Internal("the OS random number generator failed")
    }
}

/// The reason a request was refused, attached to the response for the request log.
#[derive(Debug, Clone)]
pub(crate) struct Refusal(pub String);

/// Builds a response; an invalid header value yields a 500 instead of a panic.
pub(crate) fn response(
    status: u16,
    headers: &[(HeaderName, &str)],
    body: impl Into<Bytes>,
) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        match HeaderValue::from_str(value) {
            Ok(v) => {
                resp.headers_mut().append(name.clone(), v);
            }
            Err(_) => return internal_error("a response header was not valid"),
        }
    }
    resp
}

/// JSON written Python-style, `Cache-Control: no-store`.
pub(crate) fn json(status: u16, value: &Value) -> Resp {
    response(
        status,
        &[(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")],
        pyjson::to_string(value),
    )
}

/// An HTML page that refuses framing and caching.
pub(crate) fn html(status: u16, body: String) -> Resp {
    response(
        status,
        &[
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
            ),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

/// A redirect (302 after authorize, 303 after a prompt form).
pub(crate) fn redirect(status: u16, location: &str) -> Resp {
    response(
        status,
        &[
            (header::LOCATION, location),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Bytes::new(),
    )
}

/// A 500 with a short text body.
pub(crate) fn internal_error(what: &str) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(format!("Internal error: {what}\n"))));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

/// Attaches the refusal reason for the request log.
pub(crate) fn refused(mut resp: Resp, reason: impl Into<String>) -> Resp {
    resp.extensions_mut().insert(Refusal(reason.into()));
    resp
}

/// `uri` with `pairs` appended to its query (existing parameters kept), percent-encoded as UTF-8.
pub(crate) fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    let query = serializer.finish();
    if !uri.contains('?') {
        format!("{uri}?{query}")
    } else if uri.ends_with('?') || uri.ends_with('&') {
        format!("{uri}{query}")
    } else {
        format!("{uri}&{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_query_keeping_existing_parameters() {
        assert_eq!(
            with_query("https://a/cb", &[("state", "x y+é")]),
            "https://a/cb?state=x+y%2B%C3%A9"
        );
        assert_eq!(with_query("https://a/cb?k=1", &[("a", "b")]), "https://a/cb?k=1&a=b");
        assert_eq!(with_query("https://a/cb?", &[("a", "b")]), "https://a/cb?a=b");
    }

    #[test]
    fn invalid_header_values_become_500() {
        let resp = redirect(302, "bad\nvalue");
        assert_eq!(resp.status(), 500);
    }
}
