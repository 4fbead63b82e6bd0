//! The client's flow helpers over a real (blocking, test-only) transport against a one-shot
//! loopback HTTP server (the emulator's mode: a loopback `host:port` means plain http).
//! Native only.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use shared::duo::{DuoClient, DuoError, HealthCheck, TransportErrorKind, USER_AGENT, UnixTime};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::task::{Context, Poll, Waker};
use support::NativeTransport;

const SECRET: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

/// The native transport blocks inside `send`, so one poll completes it.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the native transport is blocking"),
    }
}

/// Serves one canned response; returns the port and a handle yielding the raw request.
fn serve_once(response: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        stream.write_all(response.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    (port, handle)
}

fn client(port: u16) -> DuoClient {
    DuoClient::from_settings(
        "DIXXXXXXXXXXXXXXXXXX",
        SECRET.to_owned(),
        &format!("127.0.0.1:{port}"),
        "http://localhost:8787/auth/duo/callback",
    )
    .unwrap()
}

#[test]
fn native_transport_runs_health_check_against_loopback_http() {
    let body = r#"{"response": {"timestamp": 1700000000}, "stat": "OK"}"#;
    let response: &'static str = Box::leak(
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
            .into_boxed_str(),
    );
    let (port, server) = serve_once(response);
    let result =
        block_on(client(port).health_check(&NativeTransport::new(), UnixTime(2), &[7; 32]));
    assert_eq!(result, Ok(HealthCheck { timestamp: Some(1_700_000_000) }));
    let request = server.join().unwrap();
    assert!(request.starts_with("POST /oauth/v1/health_check HTTP/1.1\r\n"), "{request}");
    let lower = request.to_ascii_lowercase();
    assert!(lower.contains(&format!("user-agent: {}", USER_AGENT.to_ascii_lowercase())));
    assert!(lower.contains("content-type: application/x-www-form-urlencoded"));
    assert!(request.contains("client_id=DIXXXXXXXXXXXXXXXXXX&client_assertion=ey"));
}

#[test]
fn native_transport_returns_error_statuses_as_responses_without_redirects() {
    let (port, server) = serve_once(
        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    let result =
        block_on(client(port).health_check(&NativeTransport::new(), UnixTime(2), &[7; 32]));
    assert_eq!(result, Err(DuoError::Http { status: 302, body: String::new() }));
    server.join().unwrap();
}

#[test]
fn native_transport_maps_refused_connection_to_transport_error() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let result =
        block_on(client(port).health_check(&NativeTransport::new(), UnixTime(2), &[7; 32]));
    match result {
        Err(DuoError::Transport(e)) => assert_eq!(e.kind, TransportErrorKind::Connect, "{e:?}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
}
