//! A small app for the gateway to stand in front of: it answers every
//! request with what it received (method, path and query, headers, the
//! body's length, counted as it streams in), and keeps a copy for the test
//! to read. `/set-cookies` answers with a `Set-Cookie` for one of the
//! login's cookies and one of its own; `/ws` is a WebSocket that echoes.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// One request as the app saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query.
    pub target: String,
    /// Each header (lower-case name) with its value, in order.
    pub headers: Vec<(String, String)>,
    /// The body's length, counted chunk by chunk.
    pub body_len: u64,
}

impl Received {
    /// The values of header `name`.
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// The app, listening on a loopback port until dropped.
pub struct EchoApp {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl EchoApp {
    /// Starts the app on a free loopback port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(Arc::clone(&log), req));
                    let connection =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let _ = connection.with_upgrades().await;
                });
            }
        });
        Ok(Self { origin: format!("http://127.0.0.1:{port}"), received, task })
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for EchoApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    log: Arc<Mutex<Vec<Received>>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_owned();
    let target =
        req.uri().path_and_query().map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let key = req.headers().get("sec-websocket-key").map(|k| derive_accept_key(k.as_bytes()));
    if let (Some(accept), "/ws") = (key, target.as_str()) {
        if let Ok(mut log) = log.lock() {
            log.push(Received { method, target, headers, body_len: 0 });
        }
        tokio::spawn(echo_socket(req));
        let switching = Response::builder()
            .status(101)
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Accept", accept)
            .body(Full::new(Bytes::new()))
            .unwrap_or_default();
        return Ok(switching);
    }
    let mut body = req.into_body();
    let mut body_len = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => body_len += frame.data_ref().map_or(0, |d| d.len() as u64),
            Err(_) => break,
        }
    }
    let seen = Received { method, target: target.clone(), headers, body_len };
    let echo: Value = json!({
        "method": seen.method,
        "target": seen.target,
        "headers": seen.headers,
        "body_len": seen.body_len,
    });
    if let Ok(mut log) = log.lock() {
        log.push(seen);
    }
    let mut response = Response::builder().header("Content-Type", "application/json");
    if target == "/set-cookies" {
        response = response
            .header("Set-Cookie", "__Host-session=forged; Path=/; Secure; HttpOnly")
            .header("Set-Cookie", "theme=light; Path=/");
    }
    Ok(response.body(Full::new(Bytes::from(echo.to_string()))).unwrap_or_default())
}

/// `/ws`: a WebSocket that answers each text message with `echo: ` and it.
async fn echo_socket(req: Request<Incoming>) {
    let Ok(upgraded) = hyper::upgrade::on(req).await else { return };
    let mut socket =
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
    while let Some(Ok(message)) = socket.next().await {
        let reply = match message {
            Message::Text(text) => Message::text(format!("echo: {text}")),
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}
