//! Rows E1–E12 of duo-protocol.md §13: what Duo's endpoints accept and refuse, with exact bodies.

mod common;

use common::{
    CLIENT_ID, Harness, REDIRECT, SECRET, T0, WRONG_SECRET, callback_query, obj, peek, sign, verify,
};
use duo_emulator::{AppConfig, Config, INVALID_ASSERTION, INVALID_GRANT, ISS_MISMATCH, JWT_BEARER};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

const STATE: &str = "deadbeefdeadbeefdeadbeefdeadbeefdead";

async fn health(h: &Harness, assertion: &str) -> common::Resp {
    h.client
        .post_form(
            "/oauth/v1/health_check",
            &[("client_id", CLIENT_ID), ("client_assertion", assertion)],
        )
        .await
}

fn assert_health_fail(resp: &common::Resp, detail: &str) {
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(body["stat"], "FAIL");
    assert_eq!(body["code"], 40002);
    assert_eq!(body["message"], "invalid_client");
    assert_eq!(body["message_detail"], detail);
    assert_eq!(body["timestamp"], T0);
}

#[tokio::test]
async fn e1_health_check_accepts_every_sdk_style() {
    let h = Harness::start().await;
    let aud = format!("{}/oauth/v1/health_check", h.base());
    let styles: Vec<(&str, String)> = vec![
        ("go/java: int exp, no iat", h.assertion("health_check", SECRET, |_| {})),
        (
            "python: float exp",
            h.assertion("health_check", SECRET, |c| {
                c.insert("exp".into(), json!(common::T0_F64 + 299.731));
            }),
        ),
        (
            "c#: numeric string exp",
            h.assertion("health_check", SECRET, |c| {
                c.insert("exp".into(), json!((T0 + 300).to_string()));
            }),
        ),
        (
            "node/php: iat present",
            h.assertion("health_check", SECRET, |c| {
                c.insert("iat".into(), json!(T0));
            }),
        ),
        ("jose: header without typ", {
            let claims = obj(
                json!({"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": aud, "exp": T0 + 300, "jti": "x".repeat(36)}),
            );
            sign("HS512", false, &claims, SECRET.as_bytes())
        }),
    ];
    for (style, assertion) in styles {
        let resp = health(&h, &assertion).await;
        assert_eq!(resp.status, 200, "{style}");
        assert_eq!(resp.json(), json!({"stat": "OK", "response": {"timestamp": T0}}), "{style}");
        assert_eq!(resp.header("content-type").as_deref(), Some("application/json"));
    }
    // Python writes JSON with ", " and ": " separators; so does the emulator.
    let resp = health(&h, &h.assertion("health_check", SECRET, |_| {})).await;
    assert_eq!(resp.body, format!("{{\"response\": {{\"timestamp\": {T0}}}, \"stat\": \"OK\"}}"));
    // PHP sends multipart/form-data.
    let assertion = h.assertion("health_check", SECRET, |_| {});
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n{CLIENT_ID}\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"client_assertion\"\r\n\r\n{assertion}\r\n--XyZ--\r\n"
    );
    let resp = h
        .client
        .send(
            "POST",
            "/oauth/v1/health_check",
            &[("content-type", "multipart/form-data; boundary=XyZ")],
            body.into_bytes(),
        )
        .await;
    assert_eq!(resp.json()["stat"], "OK", "multipart");
}

#[tokio::test]
async fn e2_health_check_rejects_bad_assertions_with_fail_40002() {
    let h = Harness::start().await;
    let cases: Vec<(&str, String)> = vec![
        ("wrong secret", h.assertion("health_check", WRONG_SECRET, |_| {})),
        (
            "iss not the client id",
            h.assertion("health_check", SECRET, |c| {
                c.insert("iss".into(), json!("DIOTHERCLIENTID00000"));
            }),
        ),
        (
            "sub not the client id",
            h.assertion("health_check", SECRET, |c| {
                c.insert("sub".into(), json!("someone"));
            }),
        ),
        (
            "aud the token endpoint",
            h.assertion("health_check", SECRET, |c| {
                c.insert("aud".into(), json!(format!("{}/oauth/v1/token", h.base())));
            }),
        ),
        (
            "aud the bare host",
            h.assertion("health_check", SECRET, |c| {
                c.insert("aud".into(), json!(h.base()));
            }),
        ),
        (
            "expired",
            h.assertion("health_check", SECRET, |c| {
                c.insert("exp".into(), json!(T0 - 1));
            }),
        ),
        (
            "exp exactly now",
            h.assertion("health_check", SECRET, |c| {
                c.insert("exp".into(), json!(T0));
            }),
        ),
        (
            "exp more than 1 h ahead",
            h.assertion("health_check", SECRET, |c| {
                c.insert("exp".into(), json!(T0 + 3601));
            }),
        ),
        (
            "no exp",
            h.assertion("health_check", SECRET, |c| {
                c.remove("exp");
            }),
        ),
        (
            "nbf 1 s in the future",
            h.assertion("health_check", SECRET, |c| {
                c.insert("nbf".into(), json!(T0 + 1));
            }),
        ),
        (
            "no jti",
            h.assertion("health_check", SECRET, |c| {
                c.remove("jti");
            }),
        ),
        ("HS256", {
            let claims = peek(&h.assertion("health_check", SECRET, |_| {})).1;
            sign("HS256", true, &claims, SECRET.as_bytes())
        }),
        ("alg none", {
            let claims = peek(&h.assertion("health_check", SECRET, |_| {})).1;
            sign("none", true, &claims, b"")
        }),
        ("garbage", "not.a.jwt".into()),
    ];
    for (case, assertion) in cases {
        let resp = health(&h, &assertion).await;
        assert_health_fail(&resp, INVALID_ASSERTION);
        let _ = case;
    }
    // exp one hour ahead exactly and nbf == now are still fine (zero leeway, not negative).
    let ok = h.assertion("health_check", SECRET, |c| {
        c.insert("exp".into(), json!(T0 + 3600));
        c.insert("nbf".into(), json!(T0));
    });
    assert_eq!(health(&h, &ok).await.json()["stat"], "OK");
    // A missing client assertion fails too.
    let resp = h.client.post_form("/oauth/v1/health_check", &[("client_id", CLIENT_ID)]).await;
    assert_health_fail(&resp, INVALID_ASSERTION);
}

fn assert_error_page(resp: &common::Resp) {
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.location(), None, "an untrusted request must never redirect");
    assert!(resp.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(resp.header("x-frame-options").as_deref(), Some("DENY"));
}

#[tokio::test]
async fn e3_authorize_with_bad_request_shows_an_error_page_and_never_redirects() {
    let h = Harness::start().await;
    let good = h.request_jwt("alice", STATE, |_| {});
    let claims = peek(&good).1;
    let targets = vec![
        format!("/oauth/v1/authorize?response_type=code&client_id={CLIENT_ID}"),
        h.authorize_target(&sign("HS512", true, &claims, WRONG_SECRET.as_bytes()), &[]),
        h.authorize_target(&sign("none", true, &claims, b""), &[]),
        h.authorize_target(&sign("HS256", true, &claims, SECRET.as_bytes()), &[]),
        h.authorize_target("garbage", &[]),
        format!(
            "/oauth/v1/authorize?response_type=code&client_id=DIUNKNOWNCLIENT00000&request={good}"
        ),
        format!("/oauth/v1/authorize?response_type=code&request={good}"),
        h.authorize_target(
            &h.request_jwt("alice", STATE, |c| {
                c.insert("exp".into(), json!(T0 - 5));
            }),
            &[],
        ),
        h.authorize_target(&h.request_jwt("alice", "tooshort", |_| {}), &[]),
        h.authorize_target(&h.request_jwt("", STATE, |_| {}), &[]),
        h.authorize_target(
            &h.request_jwt("alice", STATE, |c| {
                c.insert("scope".into(), json!("profile"));
            }),
            &[],
        ),
        h.authorize_target(
            &h.request_jwt("alice", STATE, |c| {
                c.insert("aud".into(), json!("https://api-other.duosecurity.com"));
            }),
            &[],
        ),
    ];
    for target in targets {
        // A scripted approve must not turn a bad request into a redirect either.
        h.script(json!({"user": "alice", "outcome": "approve"})).await;
        let resp = h.client.get(&target).await;
        assert_error_page(&resp);
        h.client.delete("/__emulator/script").await;
    }
    let resp = h
        .client
        .get(&h.authorize_target(&sign("HS512", true, &claims, WRONG_SECRET.as_bytes()), &[]))
        .await;
    assert!(resp.body.contains("signature"), "the page says why: {}", resp.body);
}

#[tokio::test]
async fn e4_authorize_accepts_java_and_csharp_style_request_jwts() {
    let h = Harness::start().await;
    let java = h.request_jwt("alice", STATE, |c| {
        c.remove("iss");
        c.remove("aud");
        c.insert("exp".into(), json!(T0 + 3600));
    });
    let csharp = h.request_jwt("alice", STATE, |c| {
        c.insert("aud".into(), json!(format!("{}/oauth/v1/authorize", h.base())));
        c.insert("exp".into(), json!((T0 + 300).to_string()));
        c.insert("use_duo_code_attribute".into(), json!("true"));
        c.insert("jti".into(), json!("a".repeat(36)));
    });
    for jwt in [java, csharp] {
        h.script(json!({"user": "alice", "outcome": "approve"})).await;
        let resp = h.client.get(&h.authorize_target(&jwt, &[])).await;
        assert_eq!(resp.status, 302, "{}", resp.body);
        let query = callback_query(&resp.location().unwrap());
        assert!(query.contains_key("duo_code"), "{query:?}");
        assert_eq!(query["state"], STATE);
    }
    // Without a script, a valid request goes to the prompt page.
    let resp = h.client.get(&h.authorize_target(&h.request_jwt("alice", STATE, |_| {}), &[])).await;
    assert_eq!(resp.status, 302);
    assert!(resp.location().unwrap().starts_with(&format!("{}/frame/v4/prompt?sid=", h.base())));
}

#[tokio::test]
async fn e5_authorize_rejects_bad_redirect_uris() {
    let h = Harness::start().await;
    let long = format!("https://app.example.com/{}", "a".repeat(1001));
    for uri in [
        "http://app.example.com/cb",
        "https://203.0.113.9/cb",
        "http://127.0.0.1:8787/auth/duo/callback",
        "https://[2001:db8::1]/cb",
        "ftp://app.example.com/cb",
        "app.example.com/cb",
        "https://app.example.com/cb#fragment",
        long.as_str(),
    ] {
        let jwt = h.request_jwt("alice", STATE, |c| {
            c.insert("redirect_uri".into(), json!(uri));
        });
        h.script(json!({"user": "alice", "outcome": "approve"})).await;
        assert_error_page(&h.client.get(&h.authorize_target(&jwt, &[])).await);
        h.client.delete("/__emulator/script").await;
    }
    // https with a host name, and localhost over http, are fine (query strings kept).
    for uri in ["https://app.example.com/cb?tenant=7", "http://localhost:8787/auth/duo/callback"] {
        let jwt = h.request_jwt("alice", STATE, |c| {
            c.insert("redirect_uri".into(), json!(uri));
        });
        h.script(json!({"user": "alice", "outcome": "approve"})).await;
        let resp = h.client.get(&h.authorize_target(&jwt, &[])).await;
        assert_eq!(resp.status, 302, "{uri}: {}", resp.body);
        assert!(resp.location().unwrap().starts_with(uri));
    }
    // The loopback-IP leniency is opt-in.
    let h = Harness::with_config(Config { allow_loopback_ip_redirect: true, ..Config::default() })
        .await;
    let jwt = h.request_jwt("alice", STATE, |c| {
        c.insert("redirect_uri".into(), json!("http://127.0.0.1:8787/cb"));
    });
    h.script(json!({"user": "alice", "outcome": "approve"})).await;
    assert_eq!(h.client.get(&h.authorize_target(&jwt, &[])).await.status, 302);
}

#[tokio::test]
async fn e6_approve_redirects_with_duo_code_or_code_and_the_same_state() {
    let h = Harness::start().await;
    let unicode_state = "ªµºÀÖØöøÿ-état+/ =&?#-ünïcödé-0123456789";
    let cases: Vec<(Option<Value>, &str, &str)> = vec![
        (Some(json!(true)), "duo_code", STATE),
        (Some(json!(false)), "code", STATE),
        (None, "code", STATE),
        (Some(json!("true")), "duo_code", STATE),
        (Some(json!(true)), "duo_code", unicode_state),
    ];
    for (attr, param, state) in cases {
        let query = h
            .approved_code("alice", state, |c| match &attr {
                Some(v) => {
                    c.insert("use_duo_code_attribute".into(), v.clone());
                }
                None => {
                    c.remove("use_duo_code_attribute");
                }
            })
            .await;
        assert_eq!(query["state"], state, "{attr:?}");
        assert!(query.contains_key(param), "{attr:?}: {query:?}");
        let other = if param == "code" { "duo_code" } else { "code" };
        assert!(!query.contains_key(other));
        let code = query[param].as_str().unwrap();
        assert_eq!(h.exchange(code, REDIRECT).await.status, 200);
    }
}

#[tokio::test]
async fn e7_token_accepts_query_urlencoded_and_multipart_with_or_without_client_id() {
    let h = Harness::start().await;
    for (variant, with_client_id) in [
        ("query", true),
        ("query", false),
        ("urlencoded", true),
        ("urlencoded", false),
        ("multipart", true),
        ("multipart", false),
    ] {
        let query = h.approved_code("alice", STATE, |_| {}).await;
        let code = query["duo_code"].as_str().unwrap().to_owned();
        let assertion = h.assertion("token", SECRET, |_| {});
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ];
        if with_client_id {
            pairs.push(("client_id", CLIENT_ID));
        }
        let resp = match variant {
            "query" => {
                h.client
                    .send(
                        "POST",
                        &format!("/oauth/v1/token?{}", common::form(&pairs)),
                        &[],
                        Vec::new(),
                    )
                    .await
            }
            "urlencoded" => h.client.post_form("/oauth/v1/token", &pairs).await,
            _ => {
                let mut body = String::new();
                for (k, v) in &pairs {
                    let _ = write!(
                        body,
                        "--b0undary\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                    );
                }
                body.push_str("--b0undary--\r\n");
                h.client
                    .send(
                        "POST",
                        "/oauth/v1/token",
                        &[("content-type", "multipart/form-data; boundary=b0undary")],
                        body.into_bytes(),
                    )
                    .await
            }
        };
        assert_eq!(resp.status, 200, "{variant} client_id={with_client_id}: {}", resp.body);
        let body = resp.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert!(!body["access_token"].as_str().unwrap().is_empty());
        assert!(body["id_token"].as_str().unwrap().split('.').count() == 3);
    }
}

fn assert_oauth_error(resp: &common::Resp, status: u16, error: &str, description: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    assert_eq!(resp.json(), json!({"error": error, "error_description": description}));
}

#[tokio::test]
async fn e8_token_rejects_reused_foreign_mismatched_and_expired_codes() {
    let other = AppConfig {
        client_id: "DIOTHERCLIENT0000000".into(),
        client_secret: "OtherClientSecretOtherClientSecret000000".into(),
        ..AppConfig::dev()
    };
    let mut config = Config::default();
    config.apps.push(other.clone());
    let h = Harness::with_config(config).await;

    // Reused.
    let code =
        h.approved_code("alice", STATE, |_| {}).await["duo_code"].as_str().unwrap().to_owned();
    assert_eq!(h.exchange(&code, REDIRECT).await.status, 200);
    assert_oauth_error(&h.exchange(&code, REDIRECT).await, 400, "invalid_grant", INVALID_GRANT);

    // Unknown.
    assert_oauth_error(
        &h.exchange("no-such-code", REDIRECT).await,
        400,
        "invalid_grant",
        INVALID_GRANT,
    );

    // Issued to another client.
    let code =
        h.approved_code("alice", STATE, |_| {}).await["duo_code"].as_str().unwrap().to_owned();
    let mut claims = peek(&h.assertion("token", SECRET, |_| {})).1;
    claims.insert("iss".into(), json!(other.client_id));
    claims.insert("sub".into(), json!(other.client_id));
    let foreign = sign("HS512", true, &claims, other.client_secret.as_bytes());
    let resp = h
        .client
        .post_form(
            "/oauth/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &other.client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &foreign),
            ],
        )
        .await;
    assert_oauth_error(&resp, 400, "invalid_grant", INVALID_GRANT);
    // ... and that attempt did not burn it for its owner.
    assert_eq!(h.exchange(&code, REDIRECT).await.status, 200);

    // Redirect URI differs from the authorize request.
    let code =
        h.approved_code("alice", STATE, |_| {}).await["duo_code"].as_str().unwrap().to_owned();
    let wrong = "http://localhost:8787/elsewhere";
    assert_oauth_error(
        &h.exchange(&code, wrong).await,
        400,
        "invalid_grant",
        &format!("Invalid redirect URI {wrong}"),
    );

    // Expired: the default lifetime is 60 s.
    let code =
        h.approved_code("alice", STATE, |_| {}).await["duo_code"].as_str().unwrap().to_owned();
    h.clock.advance(Duration::from_secs(61));
    let assertion = h.assertion("token", SECRET, |c| {
        c.insert("exp".into(), json!(T0 + 361));
    });
    let resp = h
        .client
        .post_form(
            "/oauth/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_oauth_error(&resp, 400, "invalid_grant", INVALID_GRANT);
}

#[tokio::test]
async fn e9_token_client_id_must_match_the_assertion_iss() {
    let h = Harness::start().await;
    let code =
        h.approved_code("alice", STATE, |_| {}).await["duo_code"].as_str().unwrap().to_owned();
    let assertion = h.assertion("token", SECRET, |_| {});
    let resp = h
        .client
        .post_form(
            "/oauth/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", "DIOTHERCLIENTID00000"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_oauth_error(&resp, 400, "invalid_client", ISS_MISMATCH);
    // A bad assertion gets the catch-all text.
    let bad = h.assertion("token", WRONG_SECRET, |_| {});
    let resp = h
        .client
        .post_form(
            "/oauth/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &bad),
            ],
        )
        .await;
    assert_oauth_error(&resp, 400, "invalid_client", INVALID_ASSERTION);
}

#[tokio::test]
async fn e10_id_token_content_matches_what_duo_issues() {
    let h = Harness::start().await;
    let nonce = "nonce-0123456789abcdef";
    h.script(json!({"user": "alice@example.com", "outcome": "approve", "factor": "Duo Push"}))
        .await;
    let jwt = h.request_jwt("alice@example.com", STATE, |_| {});
    let target = h.authorize_target(&jwt, &[("nonce", nonce)]);
    let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let resp = h.client.send("GET", &target, &[("user-agent", ua)], Vec::new()).await;
    let query = callback_query(&resp.location().unwrap());
    h.clock.advance(Duration::from_secs(12));
    let resp = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await;
    let token = resp.json()["id_token"].as_str().unwrap().to_owned();
    let (header, c) = verify(&token, SECRET.as_bytes());
    assert_eq!(Value::Object(header), json!({"alg": "HS512", "typ": "JWT"}));
    assert_eq!(c["iss"], format!("{}/oauth/v1/token", h.base()));
    assert_eq!(c["aud"], CLIENT_ID);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["preferred_username"], "alice@example.com");
    assert_eq!(c["nonce"], nonce);
    assert_eq!(c["auth_time"], T0);
    assert_eq!(c["iat"], T0 + 12);
    assert_eq!(c["exp"], T0 + 3600);
    assert_eq!(
        c["auth_result"],
        json!({"result": "allow", "status": "allow", "status_msg": "Login Successful"})
    );
    let ctx = &c["auth_context"];
    assert_eq!(ctx["txid"].as_str().unwrap().len(), 36);
    assert_eq!(ctx["timestamp"], T0);
    assert_eq!(ctx["isotimestamp"], "2027-01-15T08:00:00.000000+00:00");
    assert_eq!(ctx["event_type"], "authentication");
    assert_eq!(ctx["factor"], "duo_push");
    assert_eq!(ctx["result"], "success");
    assert_eq!(ctx["reason"], "user_approved");
    assert_eq!(ctx["alias"], "alice@example.com");
    assert_eq!(ctx["email"], "alice@example.com");
    assert_eq!(ctx["ood_software"], Value::Null);
    assert_eq!(ctx["user"]["name"], "alice");
    assert!(ctx["user"]["key"].as_str().unwrap().starts_with("DU"));
    assert_eq!(ctx["user"]["key"].as_str().unwrap().len(), 20);
    assert_eq!(ctx["user"]["groups"], json!(["Staff"]));
    assert_eq!(ctx["application"], json!({"name": "Duo Emulator Dev App", "key": CLIENT_ID}));
    assert_eq!(ctx["auth_device"]["name"], "+1 555-0100");
    assert!(ctx["auth_device"]["key"].as_str().unwrap().starts_with("DP"));
    assert_eq!(ctx["auth_device"]["ip"], Value::Null);
    assert_eq!(
        ctx["auth_device"]["location"],
        json!({"city": null, "state": null, "country": null})
    );
    let access = &ctx["access_device"];
    assert_eq!(access["ip"], "127.0.0.1");
    assert_eq!(access["browser"], "Chrome");
    assert_eq!(access["browser_version"], "131.0.0.0");
    assert_eq!(access["os"], "Linux");
    assert_eq!(access["hostname"], Value::Null);
    assert_eq!(access["epkey"], Value::Null);
    for tri in ["is_encryption_enabled", "is_firewall_enabled", "is_password_set"] {
        assert_eq!(access[tri], "unknown");
    }
    assert_eq!(access["flash_version"], "uninstalled");
    // Without a nonce, no nonce claim.
    let query = h.approved_code("alice", STATE, |_| {}).await;
    let resp = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await;
    let (_, c) = verify(resp.json()["id_token"].as_str().unwrap(), SECRET.as_bytes());
    assert!(!c.contains_key("nonce"));
    assert_eq!(c["preferred_username"], "alice");
    assert_eq!(c["auth_context"]["alias"], "");
}

#[tokio::test]
async fn e11_app_without_frameless_access_fails_health_and_token() {
    let mut config = Config::default();
    config.apps[0].frameless = false;
    let h = Harness::with_config(config).await;
    let resp = health(&h, &h.assertion("health_check", SECRET, |_| {})).await;
    assert_health_fail(&resp, duo_emulator::NO_FRAMELESS_INTEGRATION);
    let assertion = h.assertion("token", SECRET, |_| {});
    let resp = h
        .client
        .post_form(
            "/oauth/v1/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", "whatever"),
                ("redirect_uri", REDIRECT),
                ("client_id", CLIENT_ID),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_oauth_error(&resp, 401, "invalid_client", duo_emulator::NO_FRAMELESS_CUSTOMER);
    // The prompt refuses it too (an error page, no redirect).
    assert_error_page(
        &h.client.get(&h.authorize_target(&h.request_jwt("alice", STATE, |_| {}), &[])).await,
    );
}

#[tokio::test]
async fn e12_query_nonce_wins_over_the_jwt_nonce() {
    let h = Harness::start().await;
    h.script(json!({"user": "alice", "outcome": "approve"})).await;
    let jwt = h.request_jwt("alice", STATE, |c| {
        c.insert("nonce".into(), json!("jwt-nonce-aaaaaaaaaaaaaaaa"));
    });
    let resp =
        h.client.get(&h.authorize_target(&jwt, &[("nonce", "query-nonce-bbbbbbbbbbbbbb")])).await;
    let query = callback_query(&resp.location().unwrap());
    let resp = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await;
    let (_, c) = verify(resp.json()["id_token"].as_str().unwrap(), SECRET.as_bytes());
    assert_eq!(c["nonce"], "query-nonce-bbbbbbbbbbbbbb");
    // A JWT-only nonce (Node PR #60 style) is used when the query has none.
    let query = h
        .approved_code("alice", STATE, |c| {
            c.insert("nonce".into(), json!("jwt-nonce-aaaaaaaaaaaaaaaa"));
        })
        .await;
    let resp = h.exchange(query["duo_code"].as_str().unwrap(), REDIRECT).await;
    let (_, c) = verify(resp.json()["id_token"].as_str().unwrap(), SECRET.as_bytes());
    assert_eq!(c["nonce"], "jwt-nonce-aaaaaaaaaaaaaaaa");
}
