//! Requests and responses as plain data; the caller's transport moves the bytes.

/// The User-Agent sent on every request: this library's name and version.
pub const USER_AGENT: &str = concat!("duo_universal_rust/", env!("CARGO_PKG_VERSION"), " (shared)");

/// The path of the authorization endpoint (front channel), on the API host.
pub(crate) const AUTHORIZE_PATH: &str = "/oauth/v1/authorize";
/// The path of the health-check endpoint, on the API host.
pub(crate) const HEALTH_CHECK_PATH: &str = "/oauth/v1/health_check";
/// The path of the token endpoint, on the API host; also the path of the ID token's `iss`.
pub(crate) const TOKEN_PATH: &str = "/oauth/v1/token";

/// Response bodies larger than this are rejected unread (Duo's answers are a few KiB).
pub const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// An HTTP method. Duo's back channel only uses `POST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `POST`.
    Post,
    /// `GET` (the Auth API's reads).
    Get,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Get => "GET",
        }
    }
}

/// A request to send to Duo, built by the client.
///
/// `Debug` omits the body: it holds a signed client assertion and, for the token call, the
/// authorization code.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL (`https://{host}/oauth/v1/...`).
    pub url: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(&'static str, String)>,
    /// The `application/x-www-form-urlencoded` body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub(crate) fn form_post(url: String, user_agent: &str, pairs: &[(&str, &str)]) -> Self {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            form.append_pair(name, value);
        }
        Self {
            method: Method::Post,
            url,
            headers: vec![
                ("content-type", "application/x-www-form-urlencoded".to_owned()),
                ("accept", "application/json".to_owned()),
                ("user-agent", user_agent.to_owned()),
            ],
            body: form.finish().into_bytes(),
        }
    }
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body", &format_args!("[{} bytes redacted]", self.body.len()))
            .finish()
    }
}

/// A response from Duo, as the transport received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body bytes (the transport should stop reading past [`MAX_RESPONSE_BODY`]).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with this status and body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, body: body.into() }
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The start of the body for logs: at most 512 bytes, lossy UTF-8.
    pub(crate) fn body_excerpt(&self) -> String {
        let end = self.body.len().min(512);
        String::from_utf8_lossy(&self.body[..end]).into_owned()
    }

    /// The body as a JSON object, if it is one and is not too large.
    pub(crate) fn json_object(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        if self.body.len() > MAX_RESPONSE_BODY {
            return None;
        }
        match serde_json::from_slice(&self.body) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        }
    }
}
