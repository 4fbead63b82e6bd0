//! A webhook receiver for the alerts' tests: it keeps every request it is
//! sent (path, headers, body) and answers each path as scripted: `/fails-N/…`
//! answers 503 to its first N requests and 204 afterwards (a receiver that
//! is down, then back), `/down/…` always 500, anything else 204.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sha2::Sha256;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The path.
    pub path: String,
    /// Each header (lower-case name) with its value.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
    /// What it was answered.
    pub status: u16,
}

impl Delivered {
    /// The value of header `name` (any case), or "" without it.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(&name.to_ascii_lowercase()).map_or("", String::as_str)
    }

    /// Whether its signature holds for `secret`, checked as a receiver
    /// checks it (`shared::alerts::SIGNATURE_HEADER`): the hex HMAC-SHA256
    /// of `"<t>.<body>"`, and `t` within 5 minutes of this machine's clock.
    pub fn signed_with(&self, secret: &str) -> bool {
        let signature = self.header(shared::alerts::SIGNATURE_HEADER);
        let Some((t, v1)) = signature.strip_prefix("t=").and_then(|s| s.split_once(",v1=")) else {
            return false;
        };
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(format!("{t}.").as_bytes());
        mac.update(&self.body);
        let hex = mac.finalize().into_bytes().iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        hex == v1 && t.parse::<u64>().is_ok_and(|t| t.abs_diff(crate::unix_now()) < 300)
    }
}

#[derive(Default)]
struct State {
    seen: Vec<Delivered>,
    per_path: HashMap<String, usize>,
}

/// The receiver, on a loopback port until dropped.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts it on a free loopback port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(Arc::clone(&state), req));
                    let _ =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Self { origin: format!("http://127.0.0.1:{port}"), state, task })
    }

    /// Every request to `path` so far, oldest first.
    pub fn to(&self, path: &str) -> Vec<Delivered> {
        self.state
            .lock()
            .map(|s| s.seen.iter().filter(|d| d.path == path).cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The status scripted for the `nth` request (1-based) to `path`.
fn scripted(path: &str, nth: usize) -> u16 {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    if first == "down" {
        return 500;
    }
    match first.strip_prefix("fails-").and_then(|n| n.parse::<usize>().ok()) {
        Some(failures) if nth <= failures => 503,
        _ => 204,
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let status = match state.lock() {
        Ok(mut state) => {
            let nth = state.per_path.entry(path.clone()).or_default();
            *nth += 1;
            let status = scripted(&path, *nth);
            state.seen.push(Delivered { path, headers, body, status });
            status
        }
        Err(_) => 500,
    };
    Ok(Response::builder().status(status).body(Full::new(Bytes::new())).unwrap_or_default())
}
