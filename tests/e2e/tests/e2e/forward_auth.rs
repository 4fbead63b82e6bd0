//! Forward-auth: nginx serves the app ([`e2e::upstream::EchoApp`]) and asks
//! the Worker (`UPSTREAM_URL=none`) about every request with `auth_request`,
//! configured by the recipe users copy, `tests/fixtures/nginx-forward-auth.conf`,
//! as it is. Through nginx: a page load without a session goes to the login
//! with its path to return to, anything else gets 401, and neither reaches
//! the app; the login's page and API work on nginx's origin; a signed-in
//! request reaches the app with an assertion `jsonwebtoken` verifies against
//! the keys published through nginx, never with an identity header the client
//! forged nor the login's cookies; signing out stops it. And the Traefik and
//! Caddy way of asking, `X-Forwarded-Uri`, straight at the Worker.
//!
//! nginx runs as whoever runs the tests, in the foreground, with its files
//! in a temporary directory; `scripts/setup.sh --test` installs it (Debian's,
//! `/usr/sbin/nginx`; `NGINX=/path/to/nginx` names another).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e::upstream::EchoApp;
use e2e::{ProcessGroup, STARTUP_TIMEOUT, TempDir, Wrangler, default_vars, free_port};
use edge_core::gateway::assertion::Claims;
use edge_core::gateway::signing::Jwks;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use shared::api::routes;

/// The recipe, with `@LISTEN@`, `@LOGIN@` and `@APP@` to fill in.
const RECIPE: &str = "tests/fixtures/nginx-forward-auth.conf";

#[tokio::test(flavor = "multi_thread")]
async fn nginx_lets_only_signed_in_requests_reach_the_app_with_a_verifiable_identity() {
    let nginx_bin = nginx_bin();
    let port = free_port();
    // The origin browsers use is nginx's: the login checks `Origin` against
    // it and names it as the assertion's issuer and audience.
    let origin = format!("http://localhost:{port}");
    let app = EchoApp::start().await.unwrap_or_else(|e| panic!("{e}"));
    let mut vars: Vec<(String, String)> =
        default_vars(&origin).into_iter().filter(|(name, _)| name != "UPSTREAM_URL").collect();
    vars.push(("UPSTREAM_URL".to_owned(), "none".to_owned()));
    let worker = Wrangler::start(&vars).await.unwrap_or_else(|e| panic!("{e}"));
    let nginx = Nginx::start(&nginx_bin, port, &worker, &app).await;
    let http = client();

    nothing_reaches_the_app_without_a_session(&nginx, &app, &http).await;
    the_login_is_served_on_nginx_origin(&nginx, &worker, &http).await;

    // Signed in through nginx: the request reaches the app with the
    // verified identity, and nothing the client forged.
    let session = signed_in(&nginx, &http).await;
    let response = http
        .get(nginx.url("/reports?q=1"))
        .header("Cookie", format!("theme=dark; {session}; __Host-known=k; cart=3"))
        .header("Duo-Login-User", "root")
        .header("Duo-Login-Role", "admin")
        .header("Duo-Login-Assertion", "forged.forged.forged")
        .header("X-Custom", "kept")
        .send()
        .await
        .expect("signed-in request");
    assert_eq!(response.status().as_u16(), 200, "{}", nginx.error_log());
    let seen = app.received().pop().expect("the app got the request");
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("GET", "/reports?q=1"));
    assert_eq!(seen.header("duo-login-user"), ["admin"], "the forged user is replaced");
    assert_eq!(seen.header("duo-login-role"), ["admin"]);
    assert_eq!(seen.header("x-custom"), ["kept"]);
    assert_eq!(seen.header("cookie"), ["theme=dark; cart=3"], "the login's cookies stay out");
    let assertions = seen.header("duo-login-assertion");
    assert_eq!(assertions.len(), 1, "only the login's assertion: {assertions:?}");
    assert_ne!(assertions[0], "forged.forged.forged");
    assertion_verifies_against_the_keys_published_through_nginx(
        &nginx,
        &http,
        assertions[0],
        &origin,
    )
    .await;

    // A body larger than nginx keeps in memory (written to the temporary
    // directory) reaches the app whole.
    let upload = http
        .post(nginx.url("/upload"))
        .header("Cookie", &session)
        .body(vec![7u8; 512 * 1024])
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status().as_u16(), 200, "{}", nginx.error_log());
    assert_eq!(app.received().pop().expect("the upload").body_len, 512 * 1024);

    the_worker_answers_traefik_and_caddy_itself(&worker, &app, &http, &session).await;

    // Signed out: the app is out of reach again.
    let logout = http
        .post(nginx.url(&routes::at(routes::LOGOUT)))
        .header("Origin", &origin)
        .header("Cookie", &session)
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status().as_u16(), 204, "{}", worker.log());
    let count = app.received().len();
    let navigation = navigate(&http, &nginx.url("/reports?q=1")).header("Cookie", &session);
    let navigation = navigation.send().await.expect("navigation after logout");
    assert_eq!(navigation.status().as_u16(), 302);
    let fetch = http
        .get(nginx.url("/reports?q=1"))
        .header("Cookie", &session)
        .header("Sec-Fetch-Mode", "cors")
        .header("Accept", "application/json")
        .send()
        .await
        .expect("fetch after logout");
    assert_eq!(fetch.status().as_u16(), 401);
    assert_eq!(app.received().len(), count, "nothing more reached the app");
    worker.assert_clean_log(&[]);
    nginx.assert_clean_log();
}

/// Without a session, through nginx: the login for a page load, 401 for
/// anything else, a forged identity gets nowhere, and the verify endpoint
/// itself is nginx's alone; the app sees none of it.
async fn nothing_reaches_the_app_without_a_session(
    nginx: &Nginx,
    app: &EchoApp,
    http: &reqwest::Client,
) {
    let login = format!("{}?return_to=%2Freports%3Fq%3D1", routes::at(routes::PAGE));
    let navigation = navigate(http, &nginx.url("/reports?q=1")).send().await.expect("navigation");
    assert_eq!(navigation.status().as_u16(), 302, "{}", nginx.error_log());
    assert_eq!(navigation.headers()["location"], login.as_str());
    assert_eq!(navigation.headers()["cache-control"], "no-store");
    // A browser that sends no Sec-Fetch-Mode is known by its Accept.
    let older = http
        .get(nginx.url("/reports?q=1"))
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("navigation without Sec-Fetch-Mode");
    assert_eq!(older.status().as_u16(), 302);
    assert_eq!(older.headers()["location"], login.as_str());

    // A script's fetch, or a form's POST: 401, nothing to follow.
    let fetch = http
        .get(nginx.url("/reports?q=1"))
        .header("Sec-Fetch-Mode", "cors")
        .header("Accept", "application/json")
        .send()
        .await
        .expect("fetch");
    assert_eq!(fetch.status().as_u16(), 401);
    assert!(fetch.headers().get("location").is_none());
    assert!(fetch.headers().contains_key("www-authenticate"), "the login's challenge");
    let body: serde_json::Value = fetch.json().await.expect("JSON");
    assert_eq!(body["code"], "unauthenticated");
    let post = http
        .post(nginx.url("/reports"))
        .header("Sec-Fetch-Mode", "navigate")
        .header("Accept", "text/html")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("x=1")
        .send()
        .await
        .expect("a form's POST");
    assert_eq!(post.status().as_u16(), 401);
    assert!(post.headers().get("location").is_none());

    // A forged identity, or a made-up session, gets nowhere either.
    let forged = http
        .get(nginx.url("/reports"))
        .header("Duo-Login-User", "admin")
        .header("Duo-Login-Role", "admin")
        .header("Duo-Login-Assertion", "forged.forged.forged")
        .header("Cookie", "__Host-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status().as_u16(), 401);

    // `internal`: only nginx's own subrequests reach the verify endpoint.
    let direct =
        http.get(nginx.url(&routes::at(routes::VERIFY_NGINX))).send().await.expect("verify");
    assert_eq!(direct.status().as_u16(), 404);
    assert!(app.received().is_empty(), "nothing reached the app: {:?}", app.received());
}

/// The login's page and its largest file (the SPA's wasm) come through
/// nginx as the Worker serves them.
async fn the_login_is_served_on_nginx_origin(
    nginx: &Nginx,
    worker: &Wrangler,
    http: &reqwest::Client,
) {
    let page =
        navigate(http, &nginx.url(&routes::at(routes::PAGE))).send().await.expect("the login page");
    assert_eq!(page.status().as_u16(), 200, "{}", nginx.error_log());
    let content_type = page.headers()["content-type"].to_str().expect("ASCII").to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = page.text().await.expect("HTML");
    let wasm = html
        .split('"')
        .find(|part| part.starts_with(&routes::at("/")) && part.ends_with("_bg.wasm"))
        .unwrap_or_else(|| panic!("the page preloads its wasm: {html}"));
    let through_nginx = http.get(nginx.url(wasm)).send().await.expect("wasm");
    assert_eq!(through_nginx.status().as_u16(), 200, "{}", nginx.error_log());
    let through_nginx = through_nginx.bytes().await.expect("wasm bytes");
    let direct = http.get(worker.app_url(wasm)).send().await.expect("wasm from the Worker");
    let direct = direct.bytes().await.expect("wasm bytes");
    assert!(direct.len() > 64 * 1024, "more than nginx's buffers hold: {}", direct.len());
    assert!(through_nginx == direct, "the wasm arrives whole through nginx");
}

/// Sign in through nginx as the break-glass `admin` (no Duo step), with
/// nginx's origin as `Origin`: its session cookie (`name=value`).
async fn signed_in(nginx: &Nginx, http: &reqwest::Client) -> String {
    e2e::demo_session(http, &nginx.url(&routes::at(routes::LOGIN)), &nginx.origin, "admin")
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", nginx.error_log()))
}

/// `jsonwebtoken` verifies `assertion` against the keys fetched through
/// nginx, issued by and for nginx's origin (`APP_ORIGIN`, the default
/// audience).
async fn assertion_verifies_against_the_keys_published_through_nginx(
    nginx: &Nginx,
    http: &reqwest::Client,
    assertion: &str,
    origin: &str,
) {
    let jwks = http.get(nginx.url(&routes::at(routes::JWKS))).send().await.expect("JWKS");
    let jwks: Jwks = jwks.json().await.expect("a key set");
    let kid = decode_header(assertion).expect("a header").kid.expect("a kid");
    let key = jwks.keys.iter().find(|k| k.kid == kid).expect("the signing key is published");
    let decoding = DecodingKey::from_ec_components(&key.x, &key.y).expect("the key");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[origin]);
    validation.set_issuer(&[origin]);
    let claims = decode::<Claims>(assertion, &decoding, &validation).expect("verified").claims;
    assert_eq!(
        (claims.sub.as_str(), claims.username.as_str(), claims.role.as_str()),
        ("admin", "admin", "admin")
    );
}

/// Traefik's `forwardAuth` and Caddy's `forward_auth` ask the Worker itself,
/// naming their request in `X-Forwarded-Uri` and `X-Forwarded-Method`: a
/// page load gets the redirect to pass on as it is, anything else 401, and
/// a session the identity headers. The Worker forwards nothing itself.
async fn the_worker_answers_traefik_and_caddy_itself(
    worker: &Wrangler,
    app: &EchoApp,
    http: &reqwest::Client,
    session: &str,
) {
    let verify = worker.url(routes::VERIFY);
    let asked = |method: &str| {
        navigate(http, &verify)
            .header("X-Forwarded-Uri", "/reports?q=1")
            .header("X-Forwarded-Method", method)
            .header("X-Forwarded-Host", "app.example.com")
            .header("X-Forwarded-Proto", "https")
    };
    let navigation = asked("GET").send().await.expect("verify");
    assert_eq!(navigation.status().as_u16(), 302, "{}", worker.log());
    assert_eq!(
        navigation.headers()["location"],
        format!("{}?return_to=%2Freports%3Fq%3D1", routes::at(routes::PAGE)).as_str()
    );
    assert_eq!(navigation.headers()["cache-control"], "no-store");
    let post = asked("POST").send().await.expect("verify a POST");
    assert_eq!(post.status().as_u16(), 401);
    assert!(post.headers().get("location").is_none());

    let yes = asked("GET").header("Cookie", session).send().await.expect("verify signed in");
    assert_eq!(yes.status().as_u16(), 200, "{}", worker.log());
    let headers = yes.headers().clone();
    assert_eq!(headers["duo-login-user"], "admin");
    assert_eq!(headers["duo-login-role"], "admin");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.contains_key("duo-login-assertion"));
    assert!(yes.bytes().await.expect("body").is_empty(), "an empty body");

    // Each endpoint reads only its kind of proxy's headers: nginx's named
    // to the Traefik endpoint (as a client could send them through
    // Traefik) decide nothing, and nothing named is a 400, never the root.
    for (endpoint, named) in [
        (routes::VERIFY, ("X-Original-URI", "X-Original-Method")),
        (routes::VERIFY_NGINX, ("X-Forwarded-Uri", "X-Forwarded-Method")),
    ] {
        let confused = http
            .get(worker.url(endpoint))
            .header(named.0, "/")
            .header(named.1, "GET")
            .header("Cookie", session)
            .send()
            .await
            .expect("verify");
        assert_eq!(confused.status().as_u16(), 400, "{endpoint}");
    }

    // `UPSTREAM_URL=none`: the app's paths are the proxy's, not the Worker's.
    let count = app.received().len();
    let own = http.get(worker.app_url("/reports")).header("Cookie", session);
    let own = own.send().await.expect("an app path at the Worker");
    assert_eq!(own.status().as_u16(), 404);
    assert_eq!(app.received().len(), count, "the Worker forwards nothing");
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// A GET as a browser's page load sends it.
fn navigate(http: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
    http.get(url)
        .header("Sec-Fetch-Mode", "navigate")
        .header("Sec-Fetch-Dest", "document")
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
}

/// nginx in the foreground with the recipe, on a loopback port, as
/// whoever runs the tests; stopped on drop.
struct Nginx {
    /// `http://localhost:PORT`.
    origin: String,
    dir: TempDir,
    _process: ProcessGroup,
}

impl Nginx {
    /// Starts nginx (`bin`) on `port` in front of `worker` and `app`, and
    /// waits until it accepts connections.
    ///
    /// # Panics
    /// When nginx does not start.
    async fn start(bin: &Path, port: u16, worker: &Wrangler, app: &EchoApp) -> Self {
        let dir = TempDir::new("nginx").unwrap_or_else(|e| panic!("{e}"));
        let root = e2e::workspace_root();
        let recipe = std::fs::read_to_string(root.join(RECIPE))
            .unwrap_or_else(|e| panic!("{RECIPE}: {e}"))
            .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
            // By address: nginx resolves a name once, and `localhost` may
            // be ::1 first, where the Worker does not listen.
            .replace("@LOGIN@", &worker.origin.replace("localhost", "127.0.0.1"))
            .replace("@APP@", &app.origin);
        write(&dir.path().join("forward-auth.conf"), &recipe);
        write(&dir.path().join("nginx.conf"), &main_config(dir.path()));

        let mut command = Command::new(bin);
        command
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-g")
            .arg(format!("daemon off; pid {};", dir.path().join("nginx.pid").display()));
        let mut process = ProcessGroup::spawn("nginx", command)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        let error_log =
            || std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        loop {
            if let Err(e) = process.ensure_running() {
                panic!("{e}; its error log:\n{}", error_log());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nginx not listening in time:\n{}",
                error_log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { origin: format!("http://localhost:{port}"), dir, _process: process }
    }

    /// An absolute URL of `path_and_query` on nginx's origin.
    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.origin)
    }

    /// Fails the test if nginx logged an error: an upstream it could not
    /// reach, a temporary file it could not write.
    ///
    /// # Panics
    /// When one is found.
    fn assert_clean_log(&self) {
        let log = self.error_log();
        for level in ["[emerg]", "[alert]", "[crit]", "[error]"] {
            assert!(!log.contains(level), "{log}");
        }
    }

    /// What nginx logged so far, for failure messages.
    fn error_log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
        format!("nginx's error log:\n{log}")
    }
}

/// Debian's nginx, or the one `NGINX` names.
///
/// # Panics
/// When there is none, saying how to install it.
fn nginx_bin() -> PathBuf {
    let bin =
        std::env::var_os("NGINX").map_or_else(|| PathBuf::from("/usr/sbin/nginx"), PathBuf::from);
    assert!(
        bin.exists(),
        "nginx is missing ({}): `scripts/setup.sh --test` installs it",
        bin.display()
    );
    bin
}

/// The test's own `nginx.conf` around the recipe: every file nginx writes
/// in `dir`, so that it needs no root. Run as root (CI), its workers stay
/// root too rather than becoming `nobody`, who may not reach `dir` (a
/// workspace under `/root`) to write a large body's temporary file.
fn main_config(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(dir).map_or(u32::MAX, |m| m.uid());
    let user = if owner == 0 { "user root;\n" } else { "" };
    let d = dir.display();
    format!(
        "{user}worker_processes 1;
error_log {d}/error.log notice;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/forward-auth.conf;
}}
"
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
