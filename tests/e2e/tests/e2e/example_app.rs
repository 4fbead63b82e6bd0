//! The example app (`examples/app`: plain JavaScript, `jose`) under
//! `wrangler dev`, behind the login's Worker and on its own: the app knows
//! who is signed in only from the assertion, which `jose` verifies against
//! the keys the Worker publishes, and it refuses every forged one.
//!
//! | test | what it pins |
//! |---|---|
//! | `the_example_app_behind_the_login_knows_who_is_signed_in` | not signed in: `/me` goes to the login with `return_to=%2Fme`; the break-glass `admin` (password only) and `alice` (a `user`, through the Duo emulator) reach `/me` and `/api/whoami` with claims `jose` verified (issuer and audience the login's origin, method, `amr`); `/admin` 200 for the admin, 403 for alice; `/payments` 200 for alice's fresh Duo sign-in, a 302 to the login with `fresh=1` for the admin's password-only one; `/debug/received` through the login: no login cookie, the forged `Duo-Login-User`, `Duo-Login-Role` and `Duo-Login-Assertion` (even one signed with the login's key) replaced by the gateway's |
//! | (same test, straight to the app) | a well-formed assertion signed with the login's current key is accepted; refused by `jose` with its reason: none (`missing`), expired, another audience, another issuer, a key the login does not publish (`unknown_key`), another key under the login's `kid` and a tampered payload (`signature`), HS256 (`algorithm`); the plain identity headers alone get nothing; no token is ever echoed or logged |
//! | `the_example_app_says_so_when_the_keys_cannot_be_fetched` | `JWKS_URL` unreachable: 503 page and `{"error": "keys_unavailable"}` for an assertion; no assertion is still 401 `missing` |

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use duo_emulator::Emulator;
use e2e::example_app::{Behind, ExampleApp, behind_login};
use e2e::{TEST_GATEWAY_KEYS, Wrangler, cookie_value, default_vars, set_cookie, unix_now};
use edge_core::cookie::{LOGIN_COOKIE, SESSION_COOKIE};
use edge_core::gateway::assertion::Claims;
use edge_core::gateway::forward::LOGIN_COOKIES;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use shared::api::routes;

/// A P-256 key the login does not publish (`scripts/gateway-keys.mjs new`;
/// test-only).
const OUTSIDER_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"iyo2ib6BnO02IFInpEg3lpdojITd7w3H_3_RTg7d3_s","y":"3QExbxl6uBzdsZSqdI_x4Mj0xJCI7BwWHEd1MQUD0fY","d":"f1Wk3BJNuhFJ3WIslQhdpaKjGl36d_02I8iQxElZ_vg","kid":"xviu1rvUka9cp5D48PWXfv1N33frsZaLjv7lOY92fhM"}"#;

/// A client that follows no redirect and asks for bodies as they are: a
/// request without `Accept-Encoding` accepts any coding (RFC 9110), and
/// the app, asked by the gateway's runtime with `br, gzip`, answers with
/// brotli, which this client does not decode.
fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_ENCODING,
        reqwest::header::HeaderValue::from_static("identity"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// Signs assertions as the login does (ES256, `kid`, `typ: JWT`), with a
/// private JWK.
struct Signer {
    kid: String,
    key: EncodingKey,
}

impl Signer {
    /// The current key of the tests' `GATEWAY_KEYS`: what the login signs with.
    fn login() -> Self {
        let keys: Value = serde_json::from_str(TEST_GATEWAY_KEYS).expect("the test keys");
        Self::of(&keys["current"])
    }

    fn outsider() -> Self {
        Self::of(&serde_json::from_str(OUTSIDER_KEY).expect("the outsider key"))
    }

    /// The key of `jwk`, in the PKCS#8 DER form `jsonwebtoken` takes:
    /// `PrivateKeyInfo` (RFC 5208) holding an `ECPrivateKey` (RFC 5915)
    /// with the private scalar `d` and the public point `04 || x || y`.
    fn of(jwk: &Value) -> Self {
        let part = |name: &str| {
            let bytes = URL_SAFE_NO_PAD.decode(jwk[name].as_str().expect(name)).expect("base64url");
            assert_eq!(bytes.len(), 32, "{name} of a P-256 key");
            bytes
        };
        let der = [
            &[
                // PrivateKeyInfo: SEQUENCE, version 0
                0x30, 0x81, 0x87, 0x02, 0x01, 0x00,
                // AlgorithmIdentifier: id-ecPublicKey, prime256v1
                0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
                0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
                // OCTET STRING holding ECPrivateKey: SEQUENCE, version 1, privateKey
                0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
            ][..],
            &part("d"),
            // [1] publicKey: BIT STRING, an uncompressed point
            &[0xa1, 0x44, 0x03, 0x42, 0x00, 0x04],
            &part("x"),
            &part("y"),
        ]
        .concat();
        let kid = jwk["kid"].as_str().expect("a kid").to_owned();
        Self { kid, key: EncodingKey::from_ec_der(&der) }
    }

    /// `claims` signed under `kid` (this key's own unless given).
    fn sign(&self, claims: &Claims, kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.unwrap_or(&self.kid).to_owned());
        encode(&header, claims, &self.key).expect("signed")
    }
}

/// An assertion's claims as the login at `login` would make them for
/// alice at `now`.
fn claims(login: &str, now: u64) -> Claims {
    Claims {
        iss: login.to_owned(),
        aud: login.to_owned(),
        sub: "alice".to_owned(),
        username: "alice".to_owned(),
        role: "user".to_owned(),
        amr: vec!["pwd".to_owned(), "mfa".to_owned()],
        method: "duo".to_owned(),
        auth_time: now - 60,
        sid: "c2Vzc2lvbi1oYXNoLW9mLWEtdGVzdA".to_owned(),
        iat: now,
        exp: now + 120,
        jti: "dGVzdC1qdGk".to_owned(),
    }
}

/// The session cookie (`__Host-session=…`) of a password-only sign-in.
async fn signed_in_with_password(worker: &Wrangler, http: &reqwest::Client, user: &str) -> String {
    e2e::demo_session(http, &worker.url(routes::LOGIN), &worker.origin, user)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", worker.log()))
}

/// The session cookie of a sign-in through Duo (the emulator approves a
/// push), as the browser makes it: the password, the Duo step, Duo, and
/// back to the login's callback.
async fn signed_in_with_duo(
    worker: &Wrangler,
    emulator: &Emulator,
    http: &reqwest::Client,
    user: &str,
) -> String {
    let response = http
        .post(worker.url(routes::LOGIN))
        .header("Origin", &worker.origin)
        .json(&json!({"username": user, "password": format!("{user}-demo-pass")}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status().as_u16(), 200, "{}", worker.log());
    let login = cookie_value(&set_cookie(response.headers(), LOGIN_COOKIE).expect("login cookie"));

    let script = format!("{}/__emulator/script", emulator.base_url());
    let approve = json!({"user": user, "outcome": "approve", "factor": "Duo Push"});
    let scripted = http.post(&script).json(&approve).send().await.expect("script");
    assert_eq!(scripted.status().as_u16(), 200);

    let started = http
        .post(worker.url(routes::DUO_START))
        .header("Origin", &worker.origin)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Cookie", format!("{LOGIN_COOKIE}={login}"))
        .send()
        .await
        .expect("POST /auth/duo/start");
    assert_eq!(started.status().as_u16(), 303, "{}", worker.log());
    let authorize = started.headers()[LOCATION].to_str().expect("ASCII").to_owned();
    let login = cookie_value(&set_cookie(started.headers(), LOGIN_COOKIE).expect("re-sealed"));
    let at_duo = http.get(&authorize).send().await.expect("GET authorize");
    assert_eq!(at_duo.status().as_u16(), 302, "the scripted push is approved at once");
    let back = at_duo.headers()[LOCATION].to_str().expect("ASCII").to_owned();
    assert!(back.starts_with(&worker.url(routes::DUO_CALLBACK)), "{back}");

    let callback = http
        .get(&back)
        .header("Cookie", format!("{LOGIN_COOKIE}={login}"))
        .send()
        .await
        .expect("GET /auth/duo/callback");
    assert_eq!(callback.status().as_u16(), 303, "{}", worker.log());
    let session = set_cookie(callback.headers(), SESSION_COOKIE).expect("a Duo session");
    format!("{SESSION_COOKIE}={}", cookie_value(&session))
}

/// `GET url` with `headers`: the status and the body.
async fn get(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = http.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// `GET url` with `headers`, answered with JSON.
async fn get_json(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let (status, body) = get(http, url, headers).await;
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"));
    (status, value)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_app_behind_the_login_knows_who_is_signed_in() {
    let emulator = e2e::local_emulator().await;
    let mut vars = default_vars("http://localhost:8787");
    vars.retain(|(name, _)| name != "DUO_API_HOST");
    vars.push(("DUO_API_HOST".to_owned(), emulator.local_addr().to_string()));
    let Behind { worker, app } = behind_login(&vars).await.unwrap_or_else(|e| panic!("{e}"));
    let http = client();

    // Not signed in: the login, which returns to the page after.
    let navigation = http
        .get(worker.app_url("/me"))
        .header("Sec-Fetch-Mode", "navigate")
        .send()
        .await
        .expect("navigation");
    assert_eq!(navigation.status().as_u16(), 302);
    assert_eq!(navigation.headers()[LOCATION], "/_login/?return_to=%2Fme");

    let admin = signed_in_with_password(&worker, &http, "admin").await;
    let alice = signed_in_with_duo(&worker, &emulator, &http, "alice").await;

    // Who is signed in, as jose verified it.
    let whoami = worker.app_url("/api/whoami");
    let (status, body) = get_json(&http, &whoami, &[("Cookie", &admin)]).await;
    assert_eq!(status, 200, "{body}\n{}", app.log());
    let claims: Claims = serde_json::from_value(body).expect("the assertion's claims");
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        (worker.origin.as_str(), worker.origin.as_str())
    );
    assert_eq!(
        (claims.username.as_str(), claims.role.as_str(), claims.method.as_str()),
        ("admin", "admin", "bypass")
    );
    assert_eq!(claims.amr, ["pwd"]);
    let (status, body) = get_json(&http, &whoami, &[("Cookie", &alice)]).await;
    assert_eq!(status, 200, "{body}");
    let claims: Claims = serde_json::from_value(body).expect("the assertion's claims");
    assert_eq!(
        (claims.sub.as_str(), claims.role.as_str(), claims.method.as_str()),
        ("alice", "user", "duo")
    );
    assert_eq!(claims.amr, ["pwd", "mfa"]);
    assert!(claims.exp > claims.iat && claims.exp - claims.iat <= 300, "short-lived");

    let (status, page) = get(&http, &worker.app_url("/me"), &[("Cookie", &alice)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<dt>Username</dt><dd>alice</dd>"), "{page}");
    assert!(page.contains("<dd>duo (amr: pwd, mfa)</dd>"), "{page}");
    assert!(page.contains(&format!("<code>{}</code>", claims.sid)), "the session: {page}");
    let (status, page) = get(&http, &worker.app_url("/me"), &[("Cookie", &admin)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<dd>bypass (amr: pwd)</dd>"), "{page}");

    // The admin page: by the verified role.
    let (status, page) = get(&http, &worker.app_url("/admin"), &[("Cookie", &admin)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Welcome, <strong>admin</strong>"), "{page}");
    let (status, page) = get(&http, &worker.app_url("/admin"), &[("Cookie", &alice)]).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("<strong>alice</strong>"), "{page}");

    // Payments, by the verified amr and auth_time: alice's Duo sign-in just
    // now opens them; the admin's password-only session is sent back to
    // the login for a fresh approval, returning to the page.
    let (status, page) = get(&http, &worker.app_url("/payments"), &[("Cookie", &alice)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Duo approved this sign-in"), "{page}");
    let step_up = http
        .get(worker.app_url("/payments?amount=10"))
        .header("Cookie", &admin)
        .send()
        .await
        .expect("payments");
    assert_eq!(step_up.status().as_u16(), 302);
    assert_eq!(step_up.headers()[LOCATION], "/_login/?return_to=%2Fpayments%3Famount%3D10&fresh=1");

    what_reaches_the_app_through_the_login(&worker, &http, &alice).await;
    forged_assertions_sent_to_the_app_are_refused(&worker, &app, &http).await;
}

/// The app's own report of a request through the login: the login's
/// cookies and every identity header the client forged (even an assertion
/// signed with the login's key, for admin) are gone; the gateway's arrived.
async fn what_reaches_the_app_through_the_login(
    worker: &Wrangler,
    http: &reqwest::Client,
    alice: &str,
) {
    let forged = Signer::login().sign(
        &Claims {
            sub: "admin".to_owned(),
            username: "admin".to_owned(),
            role: "admin".to_owned(),
            ..claims(&worker.origin, unix_now())
        },
        None,
    );
    let mut cookies = vec!["theme=dark".to_owned(), alice.to_owned()];
    cookies
        .extend(LOGIN_COOKIES.iter().filter(|n| **n != SESSION_COOKIE).map(|n| format!("{n}=x")));
    cookies.push("cart=3".to_owned());
    let (status, report) = get_json(
        http,
        &worker.app_url("/debug/received?probe=1&x=%2F"),
        &[
            ("Cookie", &cookies.join("; ")),
            ("Duo-Login-User", "admin"),
            ("Duo-Login-Role", "admin"),
            ("Duo-Login-Assertion", &forged),
            ("X-Custom", "kept"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (&report["method"], &report["path"], &report["query"]),
        (&json!("GET"), &json!("/debug/received"), &json!("probe=1&x=%2F"))
    );
    assert_eq!(report["cookies"], json!(["theme", "cart"]), "no login cookie: {report}");
    let headers = &report["headers"];
    assert_eq!(headers["duo-login-user"], "alice", "{report}");
    assert_eq!(headers["duo-login-role"], "user", "{report}");
    assert_eq!(headers["x-custom"], "kept", "{report}");
    assert_eq!(headers["duo-login-assertion"], "(present; value not shown)", "{report}");
    assert_eq!(
        report["assertion"],
        json!({"present": true, "verified": true, "username": "alice", "role": "user"}),
        "only the gateway's assertion arrived, and it verifies"
    );
    let text = report.to_string();
    let session = alice.split_once('=').expect("name=value").1;
    assert!(!text.contains(session), "no session id: {text}");
    assert!(!text.contains(&forged), "no assertion: {text}");
}

/// Straight to the app, bypassing the login: only a well-formed assertion
/// signed with the login's current key gets through; `jose` refuses the
/// rest and the app says why, never repeating (or logging) the token.
async fn forged_assertions_sent_to_the_app_are_refused(
    worker: &Wrangler,
    app: &ExampleApp,
    http: &reqwest::Client,
) {
    let login = worker.origin.as_str();
    let now = unix_now();
    let signer = Signer::login();
    let whoami = app.url("/api/whoami");

    let valid = signer.sign(&claims(login, now), None);
    let (status, body) = get_json(http, &whoami, &[("Duo-Login-Assertion", &valid)]).await;
    assert_eq!(status, 200, "{body}\n{}", app.log());
    assert_eq!((&body["username"], &body["role"]), (&json!("alice"), &json!("user")));

    let other_key = signer.kid.clone();
    let mut tampered: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let payload = serde_json::to_vec(&Claims { role: "admin".to_owned(), ..claims(login, now) })
        .expect("JSON");
    tampered[1] = URL_SAFE_NO_PAD.encode(payload);
    let hs256 = encode(
        &Header { kid: Some(signer.kid.clone()), ..Header::new(Algorithm::HS256) },
        &claims(login, now),
        &EncodingKey::from_secret(b"a shared secret the app never has"),
    )
    .expect("signed");
    let refused: [(&str, String, &str); 8] = [
        (
            "expired",
            signer.sign(&Claims { iat: now - 250, exp: now - 130, ..claims(login, now) }, None),
            "\"exp\" claim timestamp check failed",
        ),
        (
            "audience",
            signer.sign(
                &Claims { aud: "https://another-app.example".to_owned(), ..claims(login, now) },
                None,
            ),
            "unexpected \"aud\" claim value",
        ),
        (
            "issuer",
            signer.sign(
                &Claims { iss: "https://another-login.example".to_owned(), ..claims(login, now) },
                None,
            ),
            "unexpected \"iss\" claim value",
        ),
        (
            "unknown_key",
            Signer::outsider().sign(&claims(login, now), None),
            "no applicable key found in the JSON Web Key Set",
        ),
        (
            "signature",
            Signer::outsider().sign(&claims(login, now), Some(&other_key)),
            "signature verification failed",
        ),
        ("signature", tampered.join("."), "signature verification failed"),
        ("algorithm", hs256, "\"alg\" (Algorithm) Header Parameter value not allowed"),
        ("malformed", "not-a-jwt".to_owned(), "Invalid Compact JWS"),
    ];
    for (reason, token, detail) in &refused {
        let (status, body) = get_json(http, &whoami, &[("Duo-Login-Assertion", token)]).await;
        assert_eq!(status, 401, "{reason}: {body}");
        assert_eq!(
            body,
            json!({"error": "unauthenticated", "reason": reason, "detail": detail}),
            "{reason}"
        );
        let (status, page) = get(http, &app.url("/me"), &[("Duo-Login-Assertion", token)]).await;
        assert_eq!(status, 401, "{reason}: {page}");
        assert!(page.contains(&format!("reason <code>{reason}</code>")), "{reason}: {page}");
        assert!(!page.contains(token.as_str()), "the token is never echoed: {page}");
    }

    // No assertion: the plain identity headers alone are worth nothing.
    let plain = [("Duo-Login-User", "admin"), ("Duo-Login-Role", "admin")];
    let (status, body) = get_json(http, &whoami, &plain).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["reason"], "missing");
    let (status, page) = get(http, &app.url("/admin"), &plain).await;
    assert_eq!(status, 401, "{page}");
    let (status, page) = get(http, &app.url("/"), &plain).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Not signed in. <a href=\"/_login/?return_to=%2Fme\">"), "{page}");

    let log = app.log();
    for token in std::iter::once(&valid).chain(refused.iter().map(|(_, token, _)| token)) {
        assert!(!log.contains(token.as_str()), "the app never logs a token");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_app_says_so_when_the_keys_cannot_be_fetched() {
    let login = "http://localhost:8787";
    // Nothing listens on the discard port.
    let jwks = "http://127.0.0.1:9/_login/jwks.json";
    let app =
        ExampleApp::start(&[("LOGIN_ORIGIN", login), ("AUDIENCE", login), ("JWKS_URL", jwks)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let http = client();
    let token = Signer::login().sign(&claims(login, unix_now()), None);
    let with_token = [("Duo-Login-Assertion", token.as_str())];

    let (status, body) = get_json(&http, &app.url("/api/whoami"), &with_token).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        (&body["error"], &body["reason"]),
        (&json!("keys_unavailable"), &json!("keys_unavailable"))
    );
    let (status, page) = get(&http, &app.url("/me"), &with_token).await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("<h1>Keys unavailable</h1>"), "{page}");
    assert!(page.contains(jwks), "names where the keys were looked for: {page}");

    // Without an assertion there is nothing to fetch keys for.
    let (status, body) = get_json(&http, &app.url("/api/whoami"), &[]).await;
    assert_eq!((status, &body["reason"]), (401, &json!("missing")), "{body}");
}
