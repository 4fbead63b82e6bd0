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

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_forwards_only_signed_in_requests_with_a_verifiable_identity() {
    let (worker, app) = bed().await;
    let http = client();

    nothing_reaches_the_app_without_a_session(&worker, &app, &http).await;

    // Signed in: forwarded, with the identity and nothing forged.
    let session = signed_in_as(&worker, "admin").await;
    let response = http
        .get(worker.app_url("/reports/2026?quarter=4"))
        .header("Cookie", format!("theme=dark; {session}; __Host-known=k; cart=3"))
        .header("Duo-Login-User", "mallory")
        .header("Duo-Login-Assertion", "forged.forged.forged")
        .header("Duo_Login_Role", "root")
        .header("X-HTTP-Method-Override", "DELETE")
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
    assert!(seen.header("duo_login_role").is_empty(), "an identity header with _ is dropped");
    assert!(seen.header("x-http-method-override").is_empty(), "no method from a header");
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

/// A password-only sign-in of `user` (the break-glass admin; some beds let
/// alice, bob and carol skip Duo too): the session cookie, as
/// `__Host-session=...`.
async fn signed_in_as(worker: &Wrangler, user: &str) -> String {
    e2e::demo_session(&client(), &worker.url(routes::LOGIN), ORIGIN, user)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", worker.log()))
}

/// The status the app's `/inbox` answers `cookie` with (200: forwarded).
async fn app_status(worker: &Wrangler, cookie: &str) -> u16 {
    let response = client()
        .get(worker.app_url("/inbox"))
        .header("Cookie", cookie)
        .send()
        .await
        .expect("app request");
    response.status().as_u16()
}

/// An admin's console call: `path` with `body`.
async fn console(worker: &Wrangler, admin: &str, path: &str, body: serde_json::Value) -> u16 {
    let response = client()
        .post(worker.url(path))
        .header("Origin", ORIGIN)
        .header("Cookie", admin)
        .json(&body)
        .send()
        .await
        .expect("console call");
    response.status().as_u16()
}

/// Every way a session ends stops it reaching the app at its next request
/// (in this isolate at once; across isolates within
/// `SESSION_RECHECK_SECONDS`, which the native cache tests hold against a
/// store changed underneath): sign out everywhere from another device, an
/// admin's revoke, disabling and a password reset, while the sessions
/// not concerned go on.
#[tokio::test(flavor = "multi_thread")]
async fn every_revocation_stops_the_app_at_the_next_request() {
    use shared::admin::routes as admin;
    let app = EchoApp::start().await.unwrap_or_else(|e| panic!("{e}"));
    let mut vars: Vec<(String, String)> =
        default_vars(ORIGIN).into_iter().filter(|(name, _)| name != "UPSTREAM_URL").collect();
    vars.push(("UPSTREAM_URL".to_owned(), app.origin.clone()));
    vars.push(("SESSION_RECHECK_SECONDS".to_owned(), "2".to_owned()));
    let bypass =
        "UPDATE users SET duo_policy = 'bypass' WHERE username IN ('alice', 'bob', 'carol');";
    let worker = Wrangler::start_seeded(&vars, &[bypass]).await.unwrap_or_else(|e| panic!("{e}"));

    let admin = signed_in_as(&worker, "admin").await;
    let (alice, alice_phone) =
        (signed_in_as(&worker, "alice").await, signed_in_as(&worker, "alice").await);
    let (bob, carol) = (signed_in_as(&worker, "bob").await, signed_in_as(&worker, "carol").await);
    for cookie in [&admin, &alice, &alice_phone, &bob, &carol] {
        assert_eq!(app_status(&worker, cookie).await, 200, "forwarded (and now cached)");
    }

    // Signed out everywhere from alice's phone: her other browser too.
    let everywhere = client()
        .post(worker.url(routes::LOGOUT_EVERYWHERE))
        .header("Origin", ORIGIN)
        .header("Cookie", &alice_phone)
        .send()
        .await
        .expect("logout everywhere");
    assert_eq!(everywhere.status().as_u16(), 204);
    assert_eq!(app_status(&worker, &alice).await, 401, "alice's other browser");

    // An admin revokes bob's session (found in the console's list).
    let list: serde_json::Value = client()
        .get(format!("{}?user=bob", worker.url(admin::SESSIONS)))
        .header("Cookie", &admin)
        .send()
        .await
        .expect("sessions")
        .json()
        .await
        .expect("JSON");
    let id = list["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["username"] == "bob"))
        .map(|s| s["id"].clone())
        .expect("bob's session");
    assert_eq!(
        console(&worker, &admin, admin::SESSION_REVOKE, serde_json::json!({"id": id})).await,
        204
    );
    assert_eq!(app_status(&worker, &bob).await, 401, "revoked by an admin");

    // Disabled: carol's new session ends with her account.
    let carol_again = signed_in_as(&worker, "carol").await;
    assert_eq!(app_status(&worker, &carol_again).await, 200);
    let disable = serde_json::json!({"username": "carol", "change": {"disabled": true}});
    assert_eq!(console(&worker, &admin, admin::USER_CHANGE, disable).await, 204);
    for cookie in [&carol, &carol_again] {
        assert_eq!(app_status(&worker, cookie).await, 401, "carol is disabled");
    }

    // A password reset: bob signs in again, an admin sets a new password.
    let bob_again = signed_in_as(&worker, "bob").await;
    assert_eq!(app_status(&worker, &bob_again).await, 200);
    let reset = serde_json::json!({"username": "bob", "password": "generate"});
    assert_eq!(console(&worker, &admin, admin::USER_PASSWORD, reset).await, 200);
    assert_eq!(app_status(&worker, &bob_again).await, 401, "bob's password was reset");

    // The sessions nobody ended still reach the app.
    assert_eq!(app_status(&worker, &admin).await, 200);
    worker.assert_clean_log(&[]);
}

/// The policies' access rules, through the gateway and the forward-auth
/// check alike: a public path reaches the app without a session (and with
/// the identity when there is one), an admin-only path refuses a user with
/// 403, a path that needs a fresh Duo approval refuses a sign-in that had
/// none, and a path no rule matches needs a session; a saved change holds
/// at once.
#[tokio::test(flavor = "multi_thread")]
async fn the_access_rules_decide_who_reaches_which_path() {
    use shared::policy::routes as policy;
    let app = EchoApp::start().await.unwrap_or_else(|e| panic!("{e}"));
    let mut vars: Vec<(String, String)> =
        default_vars(ORIGIN).into_iter().filter(|(name, _)| name != "UPSTREAM_URL").collect();
    vars.push(("UPSTREAM_URL".to_owned(), app.origin.clone()));
    let rules = r#"[{"name":"Public pages","path":"/public/*","access":{"kind":"public"}},{"name":"Console","path":"/admin/*","access":{"kind":"role","role":"admin"}},{"name":"Payments","methods":["POST"],"path":"/pay","access":{"kind":"fresh_duo","minutes":5}}]"#;
    let seed = [
        "UPDATE users SET duo_policy = 'bypass' WHERE username = 'alice';".to_owned(),
        format!(
            "UPDATE policies SET version = 2, document = '{{\"rules\":[],\"remember_days\":0,\"access\":{rules}}}' WHERE id = 1;"
        ),
    ];
    let seed: Vec<&str> = seed.iter().map(String::as_str).collect();
    let worker = Wrangler::start_seeded(&vars, &seed).await.unwrap_or_else(|e| panic!("{e}"));
    let (admin, alice) =
        (signed_in_as(&worker, "admin").await, signed_in_as(&worker, "alice").await);
    let status = |method: reqwest::Method, path: &str, cookie: Option<&str>| {
        let mut request = client().request(method, worker.app_url(path));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        async move { request.send().await.expect("app request").status().as_u16() }
    };
    let get = reqwest::Method::GET;

    // Public: no session needed, nothing forged gets through, and a
    // signed-in user's identity still comes along.
    let before = app.received().len();
    assert_eq!(status(get.clone(), "/public/about", None).await, 200);
    let anonymous = app.received().pop().expect("forwarded");
    assert!(
        anonymous.header("duo-login-user").is_empty()
            && anonymous.header("duo-login-assertion").is_empty()
    );
    assert_eq!(status(get.clone(), "/public/about", Some(&alice)).await, 200);
    assert_eq!(app.received().pop().expect("forwarded").header("duo-login-user"), ["alice"]);
    assert_eq!(status(get.clone(), "/PUBLIC/about", None).await, 401, "public matches exactly");
    assert_eq!(status(get.clone(), "/reports", None).await, 401, "the default: signed in");

    // Admins only, however the path is spelled.
    assert_eq!(status(get.clone(), "/admin/users", Some(&admin)).await, 200);
    for sneaky in
        ["/admin/users", "/%61dmin/users", "/Admin/users", "/public/..;/admin/users", "//admin"]
    {
        assert_eq!(status(get.clone(), sneaky, Some(&alice)).await, 403, "{sneaky}");
    }
    // A fresh Duo approval: a password-only session never has one.
    assert_eq!(status(reqwest::Method::POST, "/pay", Some(&admin)).await, 403);
    assert_eq!(status(get.clone(), "/pay", Some(&alice)).await, 200, "GET is not covered");
    let forwarded = app.received().len() - before;
    assert_eq!(forwarded, 4, "only the allowed requests reached the app");

    // The forward-auth check decides the same way.
    let verify = |uri: &str, cookie: Option<&str>| {
        let mut request = client()
            .get(worker.url(routes::VERIFY))
            .header("X-Forwarded-Uri", uri)
            .header("X-Forwarded-Method", "GET");
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        async move { request.send().await.expect("verify").status().as_u16() }
    };
    assert_eq!(verify("/public/x", None).await, 200);
    assert_eq!(verify("/admin/x", Some(&alice)).await, 403);
    assert_eq!(verify("/admin/x", Some(&admin)).await, 200);
    assert_eq!(verify("/reports", None).await, 401);

    // An admin opens the console's path rules: saved, they hold at once.
    let view: serde_json::Value = client()
        .get(worker.url(policy::POLICIES))
        .header("Cookie", &admin)
        .send()
        .await
        .expect("policies")
        .json()
        .await
        .expect("JSON");
    let mut set = view["set"].clone();
    set["access"][1]["access"] = serde_json::json!({"kind": "role", "role": "user"});
    let save = serde_json::json!({"expected_version": view["version"], "set": set});
    assert_eq!(console(&worker, &admin, policy::POLICIES, save).await, 200);
    assert_eq!(status(get, "/admin/users", Some(&alice)).await, 200, "now for every role");
    worker.assert_clean_log(&[]);
}

/// A WebSocket passes through the gateway for a signed-in browser (the
/// app's end sees the upgrade with the assertion and without the login's
/// cookies), and is refused without a session.
#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_passes_through_for_a_signed_in_browser() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let (worker, app) = bed().await;
    let session = signed_in_as(&worker, "admin").await;
    let url = worker.app_url("/ws").replacen("http://", "ws://", 1);
    let mut request = url.as_str().into_client_request().expect("a request");
    let cookie = format!("{session}; theme=dark").parse().expect("a header value");
    request.headers_mut().insert("Cookie", cookie);
    let (mut socket, answer) = tokio_tungstenite::connect_async(request)
        .await
        .unwrap_or_else(|e| panic!("{e}: {}", worker.log()));
    assert_eq!(answer.status().as_u16(), 101);
    for text in ["hello", "through the gateway"] {
        socket.send(Message::text(text)).await.expect("send");
        let reply = socket.next().await.expect("a reply").expect("a message");
        assert_eq!(reply.into_text().expect("text").as_str(), format!("echo: {text}"));
    }
    socket.close(None).await.expect("close");
    let upgrade = app.received().into_iter().find(|r| r.target == "/ws").expect("the upgrade");
    assert_eq!(upgrade.header("duo-login-user"), ["admin"]);
    assert_eq!(upgrade.header("duo-login-assertion").len(), 1);
    assert_eq!(upgrade.header("cookie"), ["theme=dark"], "the login's cookie stays out");

    // Without a session the upgrade never reaches the app.
    let count = app.received().len();
    let refused = tokio_tungstenite::connect_async(url.as_str()).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401);
        }
        other => panic!("expected a 401, got {other:?}"),
    }
    assert_eq!(app.received().len(), count);
}

/// The app as another Worker bound as the service `UPSTREAM` (no
/// `UPSTREAM_URL`): the example app, found by name through wrangler's local
/// dev registry as a deployed Worker is, receives the signed-in request
/// through the binding and verifies its assertion with `jose`.
#[tokio::test(flavor = "multi_thread")]
async fn the_app_can_be_a_worker_bound_as_a_service() {
    use e2e::example_app::ExampleApp;
    let vars: Vec<(String, String)> =
        default_vars(ORIGIN).into_iter().filter(|(name, _)| name != "UPSTREAM_URL").collect();
    // The fixture, with a name for the app no other test's example app has
    // (the registry is shared), and its paths made absolute.
    let root = e2e::workspace_root();
    let name = format!("duo-edge-login-example-app-bound-{}", std::process::id());
    let fixture =
        std::fs::read_to_string(root.join("tests/fixtures/wrangler-service-binding.toml"))
            .expect("the fixture");
    let fixtures = root.join("tests/fixtures");
    let config = fixture
        .replace("\"../../", &format!("\"{}/../../", fixtures.display()))
        .replace("\"duo-edge-login-example-app\"", &format!("\"{name}\""));
    let path = root.join(format!("target/e2e-state/service-binding-{}.toml", std::process::id()));
    std::fs::create_dir_all(root.join("target/e2e-state")).expect("a directory");
    std::fs::write(&path, config).expect("the configuration");
    let worker = Wrangler::start_config(&path, &vars).await.unwrap_or_else(|e| panic!("{e}"));
    let jwks = worker.url(routes::JWKS);
    let app = ExampleApp::start_named(
        Some(&name),
        &[("LOGIN_ORIGIN", ORIGIN), ("AUDIENCE", ORIGIN), ("JWKS_URL", &jwks)],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let session = signed_in_as(&worker, "admin").await;
    // The binding resolves once the app has registered: a moment at most.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_mins(1);
    let whoami = loop {
        let response = client()
            .get(worker.app_url("/api/whoami"))
            .header("Cookie", &session)
            .header("Accept-Encoding", "identity")
            .send()
            .await
            .expect("whoami");
        if response.status().as_u16() == 200 {
            break response.json::<serde_json::Value>().await.expect("JSON");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}: {}\n{}",
            response.status(),
            worker.log(),
            app.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(whoami["username"], "admin", "{whoami}");
    assert_eq!(whoami["iss"], ORIGIN);
    // Without a session nothing reaches the bound app.
    let anonymous = client()
        .get(worker.app_url("/api/whoami"))
        .header("Sec-Fetch-Mode", "cors")
        .send()
        .await
        .expect("anonymous");
    assert_eq!(anonymous.status().as_u16(), 401);
}
