//! [`shared::duo::Transport`] over the Workers runtime's `fetch`.
//!
//! Never follows redirects (Duo's API answers JSON; a redirect would be a
//! misconfiguration or an attack, and is handed to the client as a status),
//! gives up after [`DUO_TIMEOUT`], and stops reading bodies past
//! [`MAX_RESPONSE_BODY`].

use std::time::Duration;

use futures_util::future::{Either, select};
use shared::duo::{
    HttpRequest, HttpResponse, MAX_RESPONSE_BODY, Transport, TransportError, TransportErrorKind,
};
use worker::{AbortController, Delay, Fetch, Headers, Request, RequestInit, RequestRedirect};

/// How long one call to Duo may take, connection included.
pub const DUO_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends Duo's requests with `fetch`.
#[derive(Debug, Clone, Copy)]
pub struct FetchTransport {
    timeout: Duration,
}

impl Default for FetchTransport {
    fn default() -> Self {
        Self { timeout: DUO_TIMEOUT }
    }
}

impl Transport for FetchTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let other =
            |e: worker::Error| TransportError::new(TransportErrorKind::Other, e.to_string());
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(other)?;
        }
        let mut init = RequestInit::new();
        init.with_method(worker::Method::from(request.method.as_str().to_owned()))
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual)
            .with_body(Some(js_sys::Uint8Array::from(request.body.as_slice()).into()));
        let fetch_request = Request::new_with_init(&request.url, &init).map_err(other)?;

        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = Fetch::Request(fetch_request);
        let sending = Box::pin(fetch.send_with_signal(&signal));
        let timer = Box::pin(Delay::from(self.timeout));
        let mut response = match select(sending, timer).await {
            Either::Left((Ok(response), _)) => response,
            Either::Left((Err(e), _)) => {
                return Err(TransportError::new(TransportErrorKind::Connect, e.to_string()));
            }
            Either::Right(((), _)) => {
                controller.abort();
                return Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no answer within {} s", self.timeout.as_secs()),
                ));
            }
        };

        let status = response.status_code();
        let declared = response
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > MAX_RESPONSE_BODY) {
            return Err(TransportError::new(TransportErrorKind::BodyTooLarge, "content-length"));
        }
        let body = response.bytes().await.map_err(other)?;
        if body.len() > MAX_RESPONSE_BODY {
            return Err(TransportError::new(TransportErrorKind::BodyTooLarge, "body"));
        }
        Ok(HttpResponse::new(status, body))
    }
}
