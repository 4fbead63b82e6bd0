//! Listening, connections (http or https), routing, fault application and the request log.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header;
use http::{Method, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::html::{self, escape};
use crate::params::Params;
use crate::state::{Endpoint, Fault, LogEntry, Shared};
use crate::web::{
    HandlerError, Refusal, Req, Resp, Scheme, html, internal_error, json, refused, response,
};
use crate::{control, jwt, oauth, phone, prompt, tls};

/// Largest request body read.
const MAX_BODY: usize = 1 << 20;
/// Longest body text kept in the request log.
const MAX_LOGGED_BODY: usize = 64 * 1024;

/// The emulator could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// Binding the socket or writing the CA failed.
    Io(std::io::Error),
    /// TLS setup failed.
    Tls(tls::TlsError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(e) => write!(f, "configuration: {e}"),
            Self::Io(e) => write!(f, "I/O: {e}"),
            Self::Tls(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StartError {}

/// A running emulator. Dropping it (or [`Emulator::shutdown`]) stops it.
pub struct Emulator {
    addr: SocketAddr,
    scheme: Scheme,
    ca_pem: Option<String>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// Starts the emulator on `config.listen` (port 0 picks a free port) with the system clock.
    ///
    /// # Errors
    /// [`StartError`] if the configuration is invalid, the address cannot be bound, TLS setup
    /// fails, or the CA certificate cannot be written.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Like [`Emulator::start`] with a clock of your choice (e.g. [`crate::ManualClock`]).
    ///
    /// # Errors
    /// As [`Emulator::start`].
    pub async fn start_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Config)?;
        let listener = TcpListener::bind(config.listen).await.map_err(StartError::Io)?;
        let addr = listener.local_addr().map_err(StartError::Io)?;
        let (scheme, acceptor, ca_pem) = if config.tls {
            let material = tls::generate().map_err(StartError::Tls)?;
            if let Some(path) = &config.ca_cert_path {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(StartError::Io)?;
                }
                std::fs::write(path, &material.ca_pem).map_err(StartError::Io)?;
            }
            (Scheme::Https, Some(TlsAcceptor::from(material.server_config)), Some(material.ca_pem))
        } else {
            (Scheme::Http, None, None)
        };
        let shared = Arc::new(Shared::new(config, clock));
        let task = tokio::spawn(accept_loop(listener, acceptor, shared, scheme, addr));
        Ok(Self { addr, scheme, ca_pem, task })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://…` (use `localhost` as the host for TLS clients that
    /// check names; the certificate covers both).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.addr)
    }

    /// The scheme served.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The generated CA certificate (PEM), in TLS mode.
    pub fn ca_certificate_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    scheme: Scheme,
    local: SocketAddr,
) {
    // Dropping the set (when this task is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
                    if let Ok(Ok(tls)) = handshake.await {
                        serve(TokioIo::new(tls), shared, scheme, peer, local).await;
                    }
                }
                None => serve(TokioIo::new(stream), shared, scheme, peer, local).await,
            }
        });
    }
}

/// Returned to hyper to close a connection without a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the drop_connection fault")
    }
}

impl std::error::Error for Dropped {}

async fn serve<I>(io: I, shared: Arc<Shared>, scheme: Scheme, peer: SocketAddr, local: SocketAddr)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(Arc::clone(&shared), scheme, peer, local, req));
    let _ = http1::Builder::new().serve_connection(io, service).await;
}

async fn handle(
    shared: Arc<Shared>,
    scheme: Scheme,
    peer: SocketAddr,
    local: SocketAddr,
    request: Request<Incoming>,
) -> Result<Resp, Dropped> {
    let (parts, body) = request.into_parts();
    let Ok(collected) = Limited::new(body, MAX_BODY).collect().await else {
        return Ok(response(
            413,
            &[(header::CONTENT_TYPE, "text/plain")],
            "Request body too large\n",
        ));
    };
    let host = shared
        .config
        .public_host
        .clone()
        .or_else(|| {
            parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned)
        })
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_else(|| local.to_string());
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        body: collected.to_bytes(),
        peer,
        scheme,
        host,
    };
    if req.path == control::PREFIX || req.path.starts_with("/__emulator/") {
        return Ok(control::handle(&shared, &req));
    }
    let endpoint = Endpoint::of_path(&req.path);
    let result = dispatch(&shared, &req, endpoint).await;
    let (status, refusal) = match &result {
        Ok(resp) => {
            (resp.status().as_u16(), resp.extensions().get::<Refusal>().map(|r| r.0.clone()))
        }
        Err(HandlerError::Drop) => (0, Some("drop_connection fault".to_owned())),
        Err(HandlerError::Internal(what)) => (500, Some((*what).to_owned())),
    };
    log(&shared, &req, endpoint, status, refusal);
    match result {
        Ok(resp) => Ok(resp),
        Err(HandlerError::Drop) => Err(Dropped),
        Err(HandlerError::Internal(what)) => Ok(internal_error(what)),
    }
}

async fn dispatch(
    shared: &Shared,
    req: &Req,
    endpoint: Option<Endpoint>,
) -> Result<Resp, HandlerError> {
    if let Some(endpoint) = endpoint {
        let (latency_ms, drop, status) = {
            let mut inner = shared.lock();
            let latency: u64 = inner
                .take_faults(endpoint, |f| matches!(f, Fault::Latency { .. }))
                .iter()
                .map(|f| if let Fault::Latency { ms } = f { *ms } else { 0 })
                .sum();
            let drop =
                inner.take_first_fault(endpoint, |f| matches!(f, Fault::DropConnection)).is_some();
            let status = if drop {
                None
            } else {
                inner.take_first_fault(endpoint, |f| {
                    matches!(f, Fault::HttpStatus { .. } | Fault::DuoError { .. })
                })
            };
            (latency, drop, status)
        };
        if latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(latency_ms)).await;
        }
        if drop {
            return Err(HandlerError::Drop);
        }
        match status {
            Some(Fault::HttpStatus { status, body }) => {
                let body = body.unwrap_or_else(|| {
                    format!("<html><head><title>{status}</title></head><body><h1>{status}</h1>Injected by duo-emulator.</body></html>\n")
                });
                return Ok(refused(
                    response(status, &[(header::CONTENT_TYPE, "text/html")], body),
                    "http_status fault",
                ));
            }
            Some(Fault::DuoError { status, code, message, message_detail }) => {
                let mut body = json!({"stat": "FAIL", "code": code, "message": message});
                if let Some(detail) = message_detail {
                    body["message_detail"] = json!(detail);
                }
                return Ok(refused(json(status, &body), "duo_error fault"));
            }
            _ => {}
        }
    }
    if let Some(result) = crate::auth_api::handle(shared, req).await {
        return Ok(malformed(shared, endpoint, result?));
    }
    if let Some(resp) = phone::handle(shared, req) {
        return Ok(resp);
    }
    if let Some(result) = crate::pwned::handle(shared, req) {
        return result;
    }
    let path = req.path.as_str();
    let resp = match (&req.method, path) {
        (&Method::POST, "/oauth/v1/health_check") => oauth::health_check(shared, req),
        (&Method::POST, "/oauth/v1/token") => oauth::token(shared, req)?,
        (&Method::GET, "/oauth/v1/authorize") => oauth::authorize(shared, req)?,
        (&Method::GET, prompt::PATH) => prompt::show(shared, req),
        (&Method::POST, prompt::PATH) => prompt::act(shared, req)?,
        (&Method::GET, "/") => html(200, index_page(shared)),
        (
            _,
            "/oauth/v1/health_check"
            | "/oauth/v1/token"
            | "/oauth/v1/authorize"
            | prompt::PATH
            | "/",
        ) => json(405, &json!({"stat": "FAIL", "code": 40501, "message": "Method not allowed"})),
        _ => json(404, &json!({"stat": "FAIL", "code": 40401, "message": "Resource not found"})),
    };
    Ok(malformed(shared, endpoint, resp))
}

/// The answer, or truncated JSON in its place when a `malformed_json` fault applies.
fn malformed(shared: &Shared, endpoint: Option<Endpoint>, resp: Resp) -> Resp {
    let Some(endpoint) = endpoint.filter(|e| e.answers_json()) else { return resp };
    let fault = shared.lock().take_first_fault(endpoint, |f| matches!(f, Fault::MalformedJson));
    if fault.is_none() {
        return resp;
    }
    let body = "{\"stat\": \"OK\", \"response\": {\"timestamp\": ";
    refused(
        response(200, &[(header::CONTENT_TYPE, "application/json")], body),
        "malformed_json fault",
    )
}

fn log(shared: &Shared, req: &Req, endpoint: Option<Endpoint>, status: u16, error: Option<String>) {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &req.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let body_bytes = req.body.get(..req.body.len().min(MAX_LOGGED_BODY)).unwrap_or_default();
    let (params, jwt) = if endpoint.is_some() {
        let params = Params::from_request(
            req.query.as_deref(),
            req.header(&header::CONTENT_TYPE),
            &req.body,
        )
        .unwrap_or_default();
        let token = params.get("client_assertion").or_else(|| params.get("request"));
        let jwt = token
            .and_then(|t| jwt::decode_unverified(t).ok())
            .map(|d| json!({"header": Value::Object(d.header), "claims": Value::Object(d.claims)}));
        let map: BTreeMap<String, String> = params.pairs().iter().cloned().collect();
        (Some(map), jwt)
    } else {
        (None, None)
    };
    let now = shared.now();
    let entry = LogEntry {
        seq: 0,
        time: now.secs_f64(),
        remote: req.peer.to_string(),
        scheme: req.scheme.as_str().to_owned(),
        method: req.method.as_str().to_owned(),
        path: req.path.clone(),
        query: req.query.clone(),
        headers,
        body: String::from_utf8_lossy(body_bytes).into_owned(),
        params,
        jwt,
        status,
        error,
    };
    shared.lock().push_log(entry);
}

fn index_page(shared: &Shared) -> String {
    let inner = shared.lock();
    let mut apps = String::new();
    for a in &inner.apps {
        let _ = write!(apps, "<li><code>{}</code> {}</li>", escape(&a.client_id), escape(&a.name));
    }
    let mut users = String::new();
    for u in &inner.users {
        let _ = write!(
            users,
            "<li><code>{}</code> ({:?}, {} device(s))</li>",
            escape(&u.username),
            u.status,
            u.devices.len()
        );
    }
    html::page(
        "Duo emulator",
        &format!(
            "<h1>Duo emulator</h1><p>Endpoints: <code>POST /oauth/v1/health_check</code>, \
<code>GET /oauth/v1/authorize</code>, <code>POST /oauth/v1/token</code>; the Auth API under \
<code>/auth/v2/</code>, with each user's <a href=\"/phone\">phone</a>; control API under \
<code>/__emulator/</code>.</p><h2>Applications</h2><ul>{apps}</ul><h2>Users</h2><ul>{users}</ul>"
        ),
    )
}
