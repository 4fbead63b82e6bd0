//! Test helpers: start the emulator in-process on a free port with a manual clock, a small HTTP/1
//! client (plain or TLS) that never follows redirects, and JWT building written independently of
//! the emulator's own code.

#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use duo_emulator::{Config, Emulator, ManualClock};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use sha2::{Sha256, Sha512};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

pub const CLIENT_ID: &str = duo_emulator::DEV_CLIENT_ID;
pub const SECRET: &str = duo_emulator::DEV_CLIENT_SECRET;
pub const WRONG_SECRET: &str = "WrongSecretWrongSecretWrongSecretWrong00";
pub const REDIRECT: &str = "http://localhost:8787/auth/duo/callback";
/// The manual clock's start: a fixed Unix time.
pub const T0: i64 = 1_800_000_000;
/// [`T0`] as a float (Python's SDK sends float `exp`).
pub const T0_F64: f64 = 1_800_000_000.0;

/// A running in-process emulator plus its clock and a client for it.
pub struct Harness {
    pub emulator: Emulator,
    pub clock: Arc<ManualClock>,
    pub client: HttpClient,
}

impl Harness {
    /// Default (dev) configuration, plain http.
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(mut config: Config) -> Self {
        config.listen = "127.0.0.1:0".parse().unwrap();
        let clock = Arc::new(ManualClock::new(u64::try_from(T0).unwrap()));
        let emulator = Emulator::start_with_clock(config, clock.clone()).await.unwrap();
        let addr = emulator.local_addr();
        let tls = emulator.ca_certificate_pem().map(connector);
        let host =
            if tls.is_some() { format!("localhost:{}", addr.port()) } else { addr.to_string() };
        Self { emulator, clock, client: HttpClient { addr, host, tls } }
    }

    /// `{scheme}://{host}` as the emulator sees it.
    pub fn base(&self) -> String {
        let scheme = if self.client.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.client.host)
    }

    /// A client assertion for `endpoint` (`health_check` or `token`), Go/Java style (int exp, no
    /// iat), with `edit` applied to the claims.
    pub fn assertion(
        &self,
        endpoint: &str,
        secret: &str,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> String {
        let mut claims = obj(json!({
            "iss": CLIENT_ID,
            "sub": CLIENT_ID,
            "aud": format!("{}/oauth/v1/{endpoint}", self.base()),
            "exp": T0 + 300,
            "jti": "0123456789abcdefghijklmnopqrstuvwxyz",
        }));
        edit(&mut claims);
        sign("HS512", true, &claims, secret.as_bytes())
    }

    /// Python-SDK style request JWT for `user` with `edit` applied.
    pub fn request_jwt(
        &self,
        user: &str,
        state: &str,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> String {
        let mut claims = obj(json!({
            "scope": "openid",
            "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID,
            "iss": CLIENT_ID,
            "aud": self.base(),
            "exp": T0_F64 + 300.25,
            "state": state,
            "response_type": "code",
            "duo_uname": user,
            "use_duo_code_attribute": true,
        }));
        edit(&mut claims);
        sign("HS512", true, &claims, SECRET.as_bytes())
    }

    /// `/oauth/v1/authorize?response_type=code&client_id=…&request=…` plus `extra` pairs.
    #[allow(clippy::unused_self)] // reads better as h.authorize_target(..) next to h.request_jwt(..)
    pub fn authorize_target(&self, request_jwt: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs =
            vec![("response_type", "code"), ("client_id", CLIENT_ID), ("request", request_jwt)];
        pairs.extend_from_slice(extra);
        format!("/oauth/v1/authorize?{}", form(&pairs))
    }

    pub async fn script(&self, body: Value) {
        let resp = self.client.post_json("/__emulator/script", &body).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
    }

    pub async fn fault(&self, body: Value) {
        let resp = self.client.post_json("/__emulator/faults", &body).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
    }

    /// Scripted approve for `user`, then authorize; returns the callback query.
    pub async fn approved_code(
        &self,
        user: &str,
        state: &str,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Map<String, Value> {
        self.script(json!({"user": user, "outcome": "approve"})).await;
        let jwt = self.request_jwt(user, state, edit);
        let resp = self.client.get(&self.authorize_target(&jwt, &[])).await;
        assert_eq!(resp.status, 302, "{}", resp.body);
        callback_query(&resp.location().unwrap())
    }

    /// Token exchange with an urlencoded body.
    pub async fn exchange(&self, code: &str, redirect: &str) -> Resp {
        let assertion = self.assertion("token", SECRET, |_| {});
        self.client
            .post_form(
                "/oauth/v1/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", redirect),
                    ("client_id", CLIENT_ID),
                    ("client_assertion_type", duo_emulator::JWT_BEARER),
                    ("client_assertion", &assertion),
                ],
            )
            .await
    }
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// Compact JWS with HMAC (independent of the emulator's implementation).
pub fn sign(alg: &str, typ: bool, claims: &Map<String, Value>, key: &[u8]) -> String {
    let header = if typ { json!({"alg": alg, "typ": "JWT"}) } else { json!({"alg": alg}) };
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let sig = match alg {
        "HS512" => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        "HS256" => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        _ => Vec::new(),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Whether `token` carries a valid HS512 signature under `key` (header `alg` aside).
pub fn signature_ok(token: &str, key: &[u8]) -> bool {
    let Some((input, sig)) = token.rsplit_once('.') else { return false };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else { return false };
    let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

/// Verifies an HS512 token and returns (header, claims).
pub fn verify(token: &str, key: &[u8]) -> (Map<String, Value>, Map<String, Value>) {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).expect("HS512 signature verifies");
    let (h, c) = input.split_once('.').unwrap();
    let decode =
        |s: &str| obj(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap());
    (decode(h), decode(c))
}

/// Header and claims without verification.
pub fn peek(token: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut parts = token.split('.');
    let decode =
        |s: &str| obj(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap());
    (decode(parts.next().unwrap()), decode(parts.next().unwrap()))
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The query of a redirect `location` as a JSON object of strings.
pub fn callback_query(location: &str) -> Map<String, Value> {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect()
}

fn connector(ca_pem: &str) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A response with its body read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    pub fn location(&self) -> Option<String> {
        self.header("location")
    }
}

/// HTTP/1.1 client, one connection per request, no redirects followed.
pub struct HttpClient {
    pub addr: SocketAddr,
    pub host: String,
    pub tls: Option<TlsConnector>,
}

impl HttpClient {
    pub async fn try_send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Resp, String> {
        let mut builder =
            http::Request::builder().method(method).uri(target).header("host", &self.host);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
        let tcp = TcpStream::connect(self.addr).await.map_err(|e| e.to_string())?;
        match &self.tls {
            Some(connector) => {
                let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
                let stream = connector.connect(name, tcp).await.map_err(|e| e.to_string())?;
                exchange(stream, request).await
            }
            None => exchange(tcp, request).await,
        }
    }

    pub async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Resp {
        self.try_send(method, target, headers, body).await.unwrap()
    }

    pub async fn get(&self, target: &str) -> Resp {
        self.send("GET", target, &[], Vec::new()).await
    }

    pub async fn delete(&self, target: &str) -> Resp {
        self.send("DELETE", target, &[], Vec::new()).await
    }

    pub async fn post_form(&self, target: &str, pairs: &[(&str, &str)]) -> Resp {
        let body = form(pairs).into_bytes();
        self.send("POST", target, &[("content-type", "application/x-www-form-urlencoded")], body)
            .await
    }

    pub async fn post_json(&self, target: &str, value: &Value) -> Resp {
        let body = serde_json::to_vec(value).unwrap();
        self.send("POST", target, &[("content-type", "application/json")], body).await
    }
}

async fn exchange<S>(stream: S, request: http::Request<Full<Bytes>>) -> Result<Resp, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}
