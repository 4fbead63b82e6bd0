//! [`shared::duo::Transport`] over the Workers runtime's `fetch`.
//!
//! Never follows redirects (Duo's API answers JSON; a redirect would be a
//! misconfiguration or an attack, and is handed to the client as a status).
//! One deadline, [`DUO_TIMEOUT`], covers the whole call: connecting, the
//! headers and reading the body, so a Duo (or anything pretending to be it)
//! that answers at once but sends its body slowly is given up on too. The
//! body is read as a stream and the call stops as soon as it passes
//! [`MAX_RESPONSE_BODY`], whatever `Content-Length` said, so nothing larger
//! is ever held in memory.

use std::time::Duration;

use crate::trace::Trace;
use futures_util::future::{Either, select};
use js_sys::{Reflect, Uint8Array};
use shared::duo::{
    HttpRequest, HttpResponse, MAX_RESPONSE_BODY, Transport, TransportError, TransportErrorKind,
};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::web_sys::ReadableStreamDefaultReader;
use worker::{
    AbortController, AbortSignal, Delay, Fetch, Headers, Request, RequestInit, RequestRedirect,
    ResponseBody,
};

/// How long one call to Duo may take, from connecting to the body's last
/// byte.
pub const DUO_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends Duo's requests with `fetch` (and, when traced, adds each call's
/// time to the request's log line).
#[derive(Debug, Clone, Copy)]
pub struct FetchTransport<'a> {
    timeout: Duration,
    trace: Option<&'a Trace>,
}

impl Default for FetchTransport<'_> {
    fn default() -> Self {
        Self { timeout: DUO_TIMEOUT, trace: None }
    }
}

/// How long the inline mode's status call lets Duo hold its long poll
/// before answering the page "still waiting" (the page asks again).
pub const LONG_POLL_TIMEOUT: Duration = Duration::from_secs(25);

impl<'a> FetchTransport<'a> {
    /// A transport whose calls may take `timeout` (the inline status's
    /// long poll: [`LONG_POLL_TIMEOUT`]).
    pub const fn with_timeout(timeout: Duration) -> Self {
        Self { timeout, trace: None }
    }

    /// This transport, its calls timed into `trace` (Duo's latency in the
    /// request's log line).
    #[must_use]
    pub const fn traced(self, trace: &'a Trace) -> Self {
        Self { trace: Some(trace), ..self }
    }
}

#[allow(clippy::needless_pass_by_value, reason = "used as `map_err(other)`")]
fn other(e: worker::Error) -> TransportError {
    TransportError::new(TransportErrorKind::Other, e.to_string())
}

impl Transport for FetchTransport<'_> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let started = js_sys::Date::now();
        let answer = self.call(request).await;
        if let Some(trace) = self.trace {
            trace.duo(js_sys::Date::now() - started);
        }
        answer
    }
}

impl FetchTransport<'_> {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(other)?;
        }
        let mut init = RequestInit::new();
        init.with_method(worker::Method::from(request.method.as_str().to_owned()))
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        // `fetch` refuses a body on a GET (the Auth API's reads).
        if request.method != shared::duo::Method::Get {
            init.with_body(Some(js_sys::Uint8Array::from(request.body.as_slice()).into()));
        }
        let fetch_request = Request::new_with_init(&request.url, &init).map_err(other)?;

        let controller = AbortController::default();
        let exchange = Box::pin(exchange(fetch_request, controller.signal()));
        let timer = Box::pin(Delay::from(self.timeout));
        match select(exchange, timer).await {
            Either::Left((Ok(response), _)) => Ok(response),
            Either::Left((Err(error), _)) => {
                // Stop whatever is still arriving (a body past the cap).
                controller.abort();
                Err(error)
            }
            Either::Right(((), _)) => {
                controller.abort();
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no complete answer within {} s", self.timeout.as_secs()),
                ))
            }
        }
    }
}

/// Sends `request` and reads the answer, its body at most
/// [`MAX_RESPONSE_BODY`] bytes.
async fn exchange(request: Request, signal: AbortSignal) -> Result<HttpResponse, TransportError> {
    let too_large = |what: &str| TransportError::new(TransportErrorKind::BodyTooLarge, what);
    let response = Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(|e| TransportError::new(TransportErrorKind::Connect, e.to_string()))?;
    let status = response.status_code();
    let declared = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_RESPONSE_BODY) {
        return Err(too_large("content-length"));
    }
    // An answer without a body (204, 304) has no stream to read.
    let ResponseBody::Stream(stream) = response.body() else {
        return Ok(HttpResponse::new(status, Vec::new()));
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        // The connection failed halfway: Duo did not answer.
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| {
            TransportError::new(TransportErrorKind::Connect, format!("reading the body: {e:?}"))
        })?;
        let done = Reflect::get(&chunk, &JsValue::from_str("done")).ok();
        if done.is_some_and(|d| d.is_truthy()) {
            break;
        }
        let value = Reflect::get(&chunk, &JsValue::from_str("value"))
            .ok()
            .and_then(|v| v.dyn_into::<Uint8Array>().ok())
            .ok_or_else(|| {
                TransportError::new(TransportErrorKind::Other, "a body chunk that is not bytes")
            })?;
        let len = value.length() as usize;
        if body.len() + len > MAX_RESPONSE_BODY {
            // Cancelling the reader stops the rest of the body.
            let _ = reader.cancel();
            return Err(too_large("body"));
        }
        let start = body.len();
        body.resize(start + len, 0);
        value.copy_to(&mut body[start..]);
    }
    Ok(HttpResponse::new(status, body))
}
