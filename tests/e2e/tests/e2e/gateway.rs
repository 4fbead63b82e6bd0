//! The gateway under `wrangler dev`, in front of a small app
//! ([`e2e::upstream::EchoApp`]) that reports what it received: a request
//! without a session never reaches the app (a navigation goes to the login
//! with its path to return to, anything else gets 401); a signed-in one
//! arrives with a signed assertion that `jsonwebtoken` verifies against the
//! keys the Worker publishes, without the login's cookies or any identity
//! header the client forged, its body streamed; the app cannot set a login
//! cookie; and signing out stops it.

use e2e::upstream::EchoApp;
use e2e::{Wrangler, default_vars};
use edge_core::gateway::assertion::Claims;
use edge_core::gateway::signing::Jwks;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use shared::api::routes;

const ORIGIN: &str = "http://localhost:8787";

async fn bed() -> (Wrangler, EchoApp) {
    let app = EchoApp::start().await.unwrap_or_else(|e| panic!("{e}"));
    let mut vars: Vec<(String, String)> =
        default_vars(ORIGIN).into_iter().filter(|(name, _)| name != "UPSTREAM_URL").collect();
    vars.push(("UPSTREAM_URL".to_owned(), app.origin.clone()));
    let worker = Wrangler::start(&vars).await.unwrap_or_else(|e| panic!("{e}"));
    (worker, app)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// The break-glass admin's session cookie (a bypass user: no Duo step).
async fn signed_in(worker: &Wrangler) -> String {
    let response = client()
        .post(worker.url(routes::LOGIN))
        .header("Origin", ORIGIN)
        .json(&serde_json::json!({"username": "admin", "password": "admin-demo-pass"}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status().as_u16(), 200);
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_forwards_only_signed_in_requests_with_a_verifiable_identity() {
    let (worker, app) = bed().await;
    let http = client();

    nothing_reaches_the_app_without_a_session(&worker, &app, &http).await;

    // Signed in: forwarded, with the identity and nothing forged.
    let session = signed_in(&worker).await;
    let response = http
        .get(worker.app_url("/reports/2026?quarter=4"))
        .header("Cookie", format!("theme=dark; {session}; __Host-known=k; cart=3"))
        .header("Duo-Login-User", "mallory")
        .header("Duo-Login-Assertion", "forged.forged.forged")
        .header("X-Custom", "kept")
        .send()
        .await
        .expect("signed-in request");
    assert_eq!(response.status().as_u16(), 200, "{}", worker.log());
    let seen = app.received().pop().expect("the app got the request");
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("GET", "/reports/2026?quarter=4"));
    assert_eq!(seen.header("cookie"), ["theme=dark; cart=3"], "the login's cookies stay out");
    assert_eq!(seen.header("duo-login-user"), ["admin"], "the forged user is dropped");
    assert_eq!(seen.header("duo-login-role"), ["admin"]);
    assert_eq!(seen.header("x-custom"), ["kept"]);
    let assertions = seen.header("duo-login-assertion");
    assert_eq!(assertions.len(), 1, "only the gateway's assertion: {assertions:?}");

    assertion_verifies_against_the_published_keys(&worker, &http, assertions[0], &session).await;

    // A large upload is streamed through.
    let upload = vec![7u8; 5 * 1024 * 1024];
    let response = http
        .post(worker.app_url("/upload"))
        .header("Cookie", &session)
        .body(upload)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.received().pop().expect("the upload").body_len, 5 * 1024 * 1024);

    // The app cannot set one of the login's cookies.
    let response = http
        .get(worker.app_url("/set-cookies"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("cookies");
    let set: Vec<&str> =
        response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert_eq!(set, ["theme=light; Path=/"], "the login's cookie is dropped");

    // Signed out: the app is out of reach again.
    let logout = http
        .post(worker.url(routes::LOGOUT))
        .header("Origin", ORIGIN)
        .header("Cookie", &session)
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status().as_u16(), 204, "{}", worker.log());
    let count = app.received().len();
    let after = http
        .get(worker.app_url("/reports"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("after");
    assert_eq!(after.status().as_u16(), 401);
    assert_eq!(app.received().len(), count, "nothing more reached the app");
}

/// Without a session: the login for a navigation, 401 for anything else,
/// and a forged identity gets nowhere; the app sees none of it.
async fn nothing_reaches_the_app_without_a_session(
    worker: &Wrangler,
    app: &EchoApp,
    http: &reqwest::Client,
) {
    // Not signed in: a navigation goes to the login, returning here after.
    let navigation = http
        .get(worker.app_url("/reports/2026?quarter=4&x=%2F"))
        .header("Sec-Fetch-Mode", "navigate")
        .send()
        .await
        .expect("navigation");
    assert_eq!(navigation.status().as_u16(), 302);
    assert_eq!(
        navigation.headers()["location"],
        format!(
            "{}?return_to=%2Freports%2F2026%3Fquarter%3D4%26x%3D%252F",
            routes::at(routes::PAGE)
        )
        .as_str()
    );
    // Anything else: 401 JSON with a challenge.
    let fetch = http
        .get(worker.app_url("/api/data"))
        .header("Sec-Fetch-Mode", "cors")
        .send()
        .await
        .expect("fetch");
    assert_eq!(fetch.status().as_u16(), 401);
    assert!(fetch.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = fetch.json().await.expect("JSON");
    assert_eq!(body["code"], "unauthenticated");
    // A forged identity without a session gets nowhere either.
    let forged = http
        .get(worker.app_url("/api/data"))
        .header("Duo-Login-User", "admin")
        .header("Duo-Login-Role", "admin")
        .header("Cookie", "__Host-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .expect("forged");
    assert_eq!(forged.status().as_u16(), 401);
    assert!(app.received().is_empty(), "nothing reached the app: {:?}", app.received());
}

/// `jsonwebtoken` verifies `assertion` against the keys the Worker
/// publishes, and refuses it under another key or for another audience.
async fn assertion_verifies_against_the_published_keys(
    worker: &Wrangler,
    http: &reqwest::Client,
    assertion: &str,
    session: &str,
) {
    // The assertion verifies against the published keys (jsonwebtoken).
    let jwks: Jwks =
        http.get(worker.url(routes::JWKS)).send().await.expect("JWKS").json().await.expect("JSON");
    assert_eq!(jwks.keys.len(), 2, "current and next are published");
    assert!(!serde_json::to_string(&jwks).expect("JSON").contains("\"d\""), "no private part");
    let kid = decode_header(assertion).expect("a header").kid.expect("a kid");
    let key = jwks.keys.iter().find(|k| k.kid == kid).expect("the signing key is published");
    let decoding = DecodingKey::from_ec_components(&key.x, &key.y).expect("the key");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[ORIGIN]);
    validation.set_issuer(&[ORIGIN]);
    let claims = decode::<Claims>(assertion, &decoding, &validation).expect("verified").claims;
    assert_eq!(
        (claims.sub.as_str(), claims.username.as_str(), claims.role.as_str()),
        ("admin", "admin", "admin")
    );
    assert_eq!((claims.amr, claims.method.as_str()), (vec!["pwd".to_owned()], "bypass"));
    assert!(claims.exp > claims.iat && claims.exp - claims.iat <= 300, "short-lived");
    assert!(!session.contains(&claims.sid), "the session is named by its hash, never its id");
    let other = &jwks.keys.iter().find(|k| k.kid != kid).expect("the next key");
    let wrong = DecodingKey::from_ec_components(&other.x, &other.y).expect("a key");
    assert!(decode::<Claims>(assertion, &wrong, &validation).is_err(), "another key fails");
    let mut elsewhere = Validation::new(Algorithm::ES256);
    elsewhere.set_audience(&["https://another-app.example"]);
    assert!(decode::<Claims>(assertion, &decoding, &elsewhere).is_err(), "another audience fails");
}
