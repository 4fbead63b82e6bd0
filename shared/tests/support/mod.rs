//! Support code of the native tests: a blocking HTTP transport (ureq + rustls with webpki
//! roots). It lived in `shared` behind the `native-transport` feature; only these tests used
//! it, so the I/O-free crate no longer carries an HTTP client (issue #10). Native only.

use shared::duo::{
    HttpRequest, HttpResponse, MAX_RESPONSE_BODY, Transport, TransportError, TransportErrorKind,
};
use std::time::Duration;

/// Sends requests with `ureq`, blocking inside `send` (fine for tools and tests, not for
/// an async server). No redirects; 10 s total timeout by default.
#[derive(Debug, Clone)]
pub struct NativeTransport {
    agent: ureq::Agent,
}

impl NativeTransport {
    /// A transport with a 10 second timeout.
    pub fn new() -> Self {
        Self::with_timeout(Duration::from_secs(10))
    }

    /// A transport with this total timeout per request.
    pub fn with_timeout(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .build();
        Self { agent: config.into() }
    }
}

impl Default for NativeTransport {
    fn default() -> Self {
        Self::new()
    }
}

fn classify(error: &ureq::Error) -> TransportErrorKind {
    match error {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::Io(_) | ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            TransportErrorKind::Connect
        }
        ureq::Error::Rustls(_) => TransportErrorKind::Tls,
        ureq::Error::BodyExceedsLimit(_) => TransportErrorKind::BodyTooLarge,
        _ => TransportErrorKind::Other,
    }
}

fn error(e: &ureq::Error) -> TransportError {
    TransportError::new(classify(e), e.to_string())
}

impl Transport for NativeTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = self.agent.post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let response = builder.send(&request.body[..]).map_err(|e| error(&e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_RESPONSE_BODY as u64)
            .read_to_vec()
            .map_err(|e| error(&e))?;
        Ok(HttpResponse { status, body })
    }
}
