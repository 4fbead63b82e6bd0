//! The request's log line ([`edge_core::request_log`]): started when the
//! request arrives, told by the routes what the flow core's reason was and
//! how long Duo took ([`crate::duo_transport::FetchTransport::traced`]),
//! logged once with the answer's status.

use std::cell::Cell;

use edge_core::request_log::{RequestLine, outcome_of, route_of};
use worker::{Request, Response};

/// `request.cf.colo`, read without worker's `Cf::colo`, which panics when
/// it is absent (`wrangler dev` with a test's `MF-CF-Blob` that names only
/// a country).
fn colo(req: &Request) -> Option<String> {
    let key = |name: &str| wasm_bindgen::JsValue::from_str(name);
    let cf = js_sys::Reflect::get(req.inner(), &key("cf")).ok()?;
    js_sys::Reflect::get(&cf, &key("colo")).ok()?.as_string()
}

/// What one request's line collects while it runs.
#[derive(Debug)]
pub struct Trace {
    started: f64,
    method: String,
    country: Option<String>,
    colo: Option<String>,
    duo_ms: Cell<f64>,
    duo_calls: Cell<u32>,
    reason: Cell<Option<&'static str>>,
    refused: Cell<bool>,
}

impl Trace {
    /// Starts the line of `req`.
    pub fn start(req: &Request) -> Self {
        let cf = req.cf();
        Self {
            started: js_sys::Date::now(),
            method: req.method().to_string(),
            country: cf.and_then(worker::Cf::country),
            colo: colo(req),
            duo_ms: Cell::new(0.0),
            duo_calls: Cell::new(0),
            reason: Cell::new(None),
            refused: Cell::new(false),
        }
    }

    /// One call to Duo that took `ms`.
    pub fn duo(&self, ms: f64) {
        self.duo_ms.set(self.duo_ms.get() + ms.max(0.0));
        self.duo_calls.set(self.duo_calls.get() + 1);
    }

    /// Why the request was refused (the last one said counts): its
    /// outcome is `refused` even when the answer is a redirect (the Duo
    /// steps send the browser back to the sign-in page with the code).
    pub fn because(&self, reason: &'static str) {
        self.reason.set(Some(reason));
        self.refused.set(true);
    }

    /// What a request that went through did of note (`fail_open`).
    pub fn noted(&self, reason: &'static str) {
        self.reason.set(Some(reason));
    }

    /// Logs the line of the request for `path`, answered `answer`.
    pub fn finish(&self, path: &str, answer: &worker::Result<Response>) {
        let (route, step) = route_of(path);
        let status = answer.as_ref().map_or(500, Response::status_code);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "milliseconds")]
        let ms = |value: f64| value.max(0.0).round() as u64;
        let calls = self.duo_calls.get();
        let line = RequestLine {
            event: "request",
            route,
            step,
            method: &self.method,
            status,
            outcome: if self.refused.get() && status < 400 {
                "refused"
            } else {
                outcome_of(status)
            },
            reason: self.reason.get(),
            duration_ms: ms(js_sys::Date::now() - self.started),
            duo_ms: (calls > 0).then(|| ms(self.duo_ms.get())),
            duo_calls: (calls > 0).then_some(calls),
            country: self.country.as_deref(),
            colo: self.colo.as_deref().filter(|c| !c.is_empty()),
        };
        worker::console_log!("{}", line.to_json());
    }
}
