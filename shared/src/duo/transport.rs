//! The transport trait (no `Send` bound, so a Worker's `fetch` fits) and the flow helpers.

use super::config::DuoClient;
use super::error::DuoError;
use super::http::{HttpRequest, HttpResponse};
use super::id_token::{Expectations, VerifiedIdToken};
use super::token::{AuthCode, HealthCheck};
use super::{RandomBytes, UnixTime};
use thiserror::Error;

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Could not connect (DNS, refused, unreachable).
    Connect,
    /// The request timed out.
    Timeout,
    /// TLS failed (certificate, handshake).
    Tls,
    /// The response body was larger than [`MAX_RESPONSE_BODY`](super::MAX_RESPONSE_BODY).
    BodyTooLarge,
    /// Anything else.
    Other,
}

/// A request that did not produce an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("could not reach Duo ({kind:?})")]
pub struct TransportError {
    /// The kind of failure.
    pub kind: TransportErrorKind,
    /// The transport's own description, for logs.
    pub detail: String,
}

impl TransportError {
    /// A transport error of this kind.
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into() }
    }
}

/// Sends a request to Duo and returns its response. Must not follow redirects.
///
/// There is no `Send` bound, so single-threaded runtimes (a Worker's `fetch`, wasm32) can
/// implement it.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// Sends `request`; any HTTP status is a response, not an error.
    ///
    /// # Errors
    /// [`TransportError`] when no response was received.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

impl<T: Transport + ?Sized> Transport for &T {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request).await
    }
}

impl DuoClient {
    /// Runs Duo's health check: [`Self::health_check_request`], the transport,
    /// [`Self::parse_health_check_response`].
    ///
    /// # Errors
    /// [`DuoError::Transport`], or the errors of [`Self::parse_health_check_response`].
    pub async fn health_check<T: Transport + ?Sized>(
        &self,
        transport: &T,
        now: UnixTime,
        jti_random: &RandomBytes,
    ) -> Result<HealthCheck, DuoError> {
        let response = transport.send(self.health_check_request(now, jti_random)).await?;
        self.parse_health_check_response(&response)
    }

    /// Exchanges the callback's code for a verified ID token: [`Self::token_request`], the
    /// transport, [`Self::verify_token_response`].
    ///
    /// The caller must still call [`VerifiedIdToken::require_allow`].
    ///
    /// # Errors
    /// [`DuoError::Transport`], or the errors of [`Self::verify_token_response`].
    pub async fn exchange_code<T: Transport + ?Sized>(
        &self,
        transport: &T,
        code: &AuthCode,
        expected: &Expectations<'_>,
        now: UnixTime,
        jti_random: &RandomBytes,
    ) -> Result<VerifiedIdToken, DuoError> {
        let response = transport.send(self.token_request(code, now, jti_random)).await?;
        self.verify_token_response(&response, expected, now)
    }
}

/// A blocking native transport (ureq + rustls with webpki roots) for tools and tests.
#[cfg(all(feature = "native-transport", not(target_arch = "wasm32")))]
pub(crate) mod native {
    use super::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
    use crate::duo::http::MAX_RESPONSE_BODY;
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
}
