//! The transport trait (no `Send` bound, so a Worker's `fetch` fits) and the flow helpers.

use super::config::DuoClient;
use super::error::{DuoError, TransportError};
use super::http::{HttpRequest, HttpResponse};
use super::id_token::{Expectations, VerifiedIdToken};
use super::inputs::{RandomBytes, UnixTime};
use super::token::{AuthCode, HealthCheck};

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
