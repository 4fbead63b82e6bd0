//! "Trust this browser" over HTTP under `wrangler dev`, with the emulator's
//! prompt: offered by the policies, asked on the Duo step's form, granted
//! by Duo's allow, honoured at the next password, ended by the user, an
//! admin's password reset, the command line and the user's own new password.
//!
//! | test | contract clause |
//! |---|---|
//! | `a_trusted_browser_skips_duo_until_it_is_forgotten` | (prompt mode with Auth API keys too) alice locked out in Duo after her browser was trusted: refused `duo_denied` with Duo's words, audited `trust_revoked_by_duo`, the trust ended, nothing pushed; then with no days set, nothing offered; with 30, the login offers `remember_days: 30`; the form's `remember=1` and Duo's allow set `__Host-remember` (`HttpOnly`, `Secure`, 30 days); the next password from that browser is a `remembered` session (`remembered_browser`) without Duo, and another user's password with that cookie still goes to Duo; the admin list names the browser ("Firefox on Linux") and never the token; `POST /api/remembered/forget` clears it and Duo is asked again; a browser remembered again is forgotten by an admin's password reset, by `user-admin`'s disable and enable SQL run on the database, and by the user's own `POST /api/password`; Duo's allow without the box ticked sets no cookie; trust turned off (0 days) and on again: the browser asks for Duo |

use duo_emulator::Emulator;
use e2e::{Wrangler, cookie_value, default_vars, set_cookie};
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use shared::admin::routes as admin;
use shared::api::routes;
use shared::policy::routes as policy;

const APP_ORIGIN: &str = "http://localhost:8787";
const SESSION_COOKIE: &str = "__Host-session";
const LOGIN_COOKIE: &str = "__Host-login";
const REMEMBER_COOKIE: &str = "__Host-remember";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

struct Bed {
    worker: Wrangler,
    emulator: Emulator,
    http: reqwest::Client,
}

impl Bed {
    /// `POST /api/login` with the browser's remember cookie, if any: the
    /// status, the body and the cookies set.
    async fn login(
        &self,
        username: &str,
        password: &str,
        remember: Option<&str>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut request = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("User-Agent", FIREFOX)
            .json(&json!({"username": username, "password": password}));
        if let Some(token) = remember {
            request = request.header("Cookie", format!("{REMEMBER_COOKIE}={token}"));
        }
        let response = request.send().await.expect("login");
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        (status, response.json().await.unwrap_or(Value::Null), headers)
    }

    async fn admin_call(&self, cookie: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = self.worker.url(path);
        let request = match body {
            Some(body) => self.http.post(url).header("Origin", APP_ORIGIN).json(body),
            None => self.http.get(url),
        };
        let response = request
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .send()
            .await
            .expect("admin request");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// alice through Duo's prompt, ticking "trust this browser" or not:
    /// the callback's answer.
    async fn through_duo(&self, login_cookie: &str, trust: bool) -> reqwest::Response {
        let form = if trust { "remember=1" } else { "" };
        let started = self
            .http
            .post(self.worker.url(routes::DUO_START))
            .header("Origin", APP_ORIGIN)
            .header("User-Agent", FIREFOX)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", format!("{LOGIN_COOKIE}={login_cookie}"))
            .body(form)
            .send()
            .await
            .expect("POST /auth/duo/start");
        assert_eq!(started.status().as_u16(), 303);
        let authorize = header(&started, LOCATION.as_str());
        let sealed = cookie_value(&set_cookie(started.headers(), LOGIN_COOKIE).expect("re-sealed"));
        let script = format!("{}/__emulator/script", self.emulator.base_url());
        let scripted = json!({"user": "alice", "outcome": "approve", "factor": "Duo Push"});
        assert_eq!(
            self.http.post(&script).json(&scripted).send().await.expect("script").status(),
            200
        );
        let at_duo = self.http.get(&authorize).send().await.expect("GET authorize");
        let back = header(&at_duo, LOCATION.as_str());
        let path = back.strip_prefix(APP_ORIGIN).expect("back to the app").to_owned();
        self.http
            .get(self.worker.app_url(&path))
            .header("User-Agent", FIREFOX)
            .header("Cookie", format!("{LOGIN_COOKIE}={sealed}"))
            .send()
            .await
            .expect("GET /auth/duo/callback")
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn cookie_of(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    set_cookie(headers, name)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trusted_browser_skips_duo_until_it_is_forgotten() {
    let emulator = e2e::local_emulator().await;
    let mut vars = default_vars(APP_ORIGIN);
    vars.retain(|(name, _)| !["DUO_API_HOST", "DUO_IKEY", "DUO_SKEY"].contains(&name.as_str()));
    vars.push(("DUO_API_HOST".to_owned(), emulator.local_addr().to_string()));
    // The prompt mode with an Auth API application's keys too: trusted
    // browsers still ask Duo's preauth.
    vars.push(("DUO_IKEY".to_owned(), duo_emulator::auth_api::DEV_IKEY.to_owned()));
    vars.push(("DUO_SKEY".to_owned(), duo_emulator::auth_api::DEV_SKEY.to_owned()));
    let worker = Wrangler::start_seeded(&vars, &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let bed = Bed {
        worker,
        emulator,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    };
    let (_, _, headers) = bed.login("admin", "admin-demo-pass", None).await;
    let admin = cookie_value(&cookie_of(&headers, SESSION_COOKIE).expect("admin's session"));

    let (_, body, _) = bed.login("alice", "alice-demo-pass", None).await;
    assert_eq!(
        (body["next"].as_str(), body.get("remember_days")),
        (Some("duo"), None),
        "nothing offered: {body}"
    );
    let save = json!({"expected_version": 1, "set": {"rules": [], "remember_days": 30}});
    assert_eq!(bed.admin_call(&admin, policy::POLICIES, Some(&save)).await.0, 200);

    let (status, body, headers) = bed.login("alice", "alice-demo-pass", None).await;
    assert_eq!((status, body["remember_days"].as_u64()), (200, Some(30)), "{body}");
    let login = cookie_value(&cookie_of(&headers, LOGIN_COOKIE).expect("login cookie"));
    let back = bed.through_duo(&login, true).await;
    assert_eq!(back.status().as_u16(), 303, "{}", header(&back, "location"));
    let trusted = cookie_of(back.headers(), REMEMBER_COOKIE).expect("the browser is remembered");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(trusted.contains(attribute), "{attribute}: {trusted}");
    }
    let token = cookie_value(&trusted);

    let (status, body, _) = bed.login("alice", "alice-demo-pass", Some(&token)).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("done")), "{body}");
    assert_eq!(body["session"]["method"], json!("remembered"));
    let reason = bed
        .worker
        .query("SELECT reason FROM auth_events WHERE step = 'login' ORDER BY id DESC LIMIT 1")
        .await
        .expect("audit");
    assert_eq!(reason, [json!({"reason": "remembered_browser"})]);
    let (_, body, _) = bed.login("carol", "carol-demo-pass", Some(&token)).await;
    assert_eq!(body["next"], json!("duo"), "alice's browser is not carol's");

    let (status, listed) = bed.admin_call(&admin, admin::REMEMBERED, None).await;
    assert_eq!((status, listed["total"].as_u64()), (200, Some(1)), "{listed}");
    assert_eq!(listed["browsers"][0]["username"], json!("alice"));
    assert_eq!(listed["browsers"][0]["user_agent"], json!("Firefox on Linux"));
    assert!(!listed.to_string().contains(&token), "never the token");

    let forgot = bed
        .http
        .post(bed.worker.url(routes::FORGET_BROWSER))
        .header("Origin", APP_ORIGIN)
        .header("Cookie", format!("{REMEMBER_COOKIE}={token}"))
        .send()
        .await
        .expect("forget");
    assert_eq!(forgot.status().as_u16(), 204);
    assert!(cookie_of(forgot.headers(), REMEMBER_COOKIE).is_some_and(|c| c.contains("Max-Age=0")));
    let (_, body, _) = bed.login("alice", "alice-demo-pass", Some(&token)).await;
    assert_eq!(body["next"], json!("duo"), "forgotten");

    locked_out_in_duo(&bed).await;
    what_ends_it(&bed, &admin).await;
}

/// alice locked out in Duo since her browser was trusted: the silent
/// preauth refuses her with Duo's words and the trust ends.
async fn locked_out_in_duo(bed: &Bed) {
    let (_, _, headers) = bed.login("alice", "alice-demo-pass", None).await;
    let login = cookie_value(&cookie_of(&headers, LOGIN_COOKIE).expect("login cookie"));
    let back = bed.through_duo(&login, true).await;
    let token = cookie_value(&cookie_of(back.headers(), REMEMBER_COOKIE).expect("remembered"));
    let users = format!("{}/__emulator/users", bed.emulator.base_url());
    let alice = duo_emulator::dev_users().remove(0);
    let locked =
        duo_emulator::UserConfig { status: duo_emulator::UserStatus::LockedOut, ..alice.clone() };
    assert_eq!(bed.http.post(&users).json(&locked).send().await.expect("lock").status(), 200);
    let since = bed.worker.query("SELECT count(*) AS n FROM auth_events").await.expect("audit");
    let (status, body, _) = bed.login("alice", "alice-demo-pass", Some(&token)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("duo_denied")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("locked out")), "{body}");
    let reason = bed
        .worker
        .query("SELECT reason FROM auth_events WHERE step = 'login' ORDER BY id DESC LIMIT 1")
        .await
        .expect("audit");
    assert_eq!(reason, [json!({"reason": "trust_revoked_by_duo"})], "after {since:?}");
    let ended = bed
        .worker
        .query("SELECT count(*) AS n FROM remembered_browsers WHERE revoked_at IS NOT NULL")
        .await
        .expect("browsers");
    assert!(ended[0]["n"].as_u64().is_some_and(|n| n >= 1), "{ended:?}");
    let requests = format!("{}/__emulator/requests?path=/auth/v2/preauth", bed.emulator.base_url());
    let asked: Value =
        bed.http.get(&requests).send().await.expect("log").json().await.expect("JSON");
    assert!(!asked["requests"].as_array().is_none_or(Vec::is_empty), "Duo's preauth was asked");
    let transactions = format!("{}/__emulator/transactions?user=alice", bed.emulator.base_url());
    let pushed: Value =
        bed.http.get(&transactions).send().await.expect("txns").json().await.expect("JSON");
    assert_eq!(pushed["transactions"], json!([]), "silent: nothing reached the phone");
    assert_eq!(bed.http.post(&users).json(&alice).send().await.expect("unlock").status(), 200);
    let (_, body, _) = bed.login("alice", "alice-demo-pass", Some(&token)).await;
    assert_eq!(body["next"], json!("duo"), "the trust is over: Duo again");
}

/// A browser remembered again each time: an admin's password reset, the
/// operator's command line (disable, enable) and alice's own new password
/// each forget it; Duo's allow without the box ticked remembers nothing.
async fn what_ends_it(bed: &Bed, admin: &str) {
    // Remembered again, then an admin resets alice's password.
    let (_, _, headers) = bed.login("alice", "alice-demo-pass", None).await;
    let login = cookie_value(&cookie_of(&headers, LOGIN_COOKIE).expect("login cookie"));
    let back = bed.through_duo(&login, true).await;
    let token =
        cookie_value(&cookie_of(back.headers(), REMEMBER_COOKIE).expect("remembered again"));
    let reset = json!({"username": "alice", "password": {"typed": "a new password for alice"}});
    assert_eq!(bed.admin_call(admin, admin::USER_PASSWORD, Some(&reset)).await.0, 200);
    let (status, body, _) = bed.login("alice", "a new password for alice", Some(&token)).await;
    assert_eq!(
        (status, body["next"].as_str()),
        (200, Some("duo")),
        "forgotten by the reset: {body}"
    );
    // The operator's command line (`scripts/user.sh disable` then `enable`)
    // forgets it too.
    let (_, _, headers) = bed.login("alice", "a new password for alice", None).await;
    let login = cookie_value(&cookie_of(&headers, LOGIN_COOKIE).expect("login cookie"));
    let token = cookie_value(
        &cookie_of(bed.through_duo(&login, true).await.headers(), REMEMBER_COOKIE).expect("again"),
    );
    let alice = credentials::Username::parse("alice").expect("a username");
    for disabled in [true, false] {
        let sql = credentials::sql::set_disabled(&alice, disabled).expect("SQL");
        bed.worker.query(&sql).await.expect("the command line's SQL runs");
    }
    let (_, body, _) = bed.login("alice", "a new password for alice", Some(&token)).await;
    assert_eq!(body["next"], json!("duo"), "forgotten by the command line: {body}");

    // And her own new password forgets it (the session she changes it from stays).
    let (_, _, headers) = bed.login("alice", "a new password for alice", None).await;
    let login = cookie_value(&cookie_of(&headers, LOGIN_COOKIE).expect("login cookie"));
    let back = bed.through_duo(&login, true).await;
    let token = cookie_value(&cookie_of(back.headers(), REMEMBER_COOKIE).expect("again"));
    let with_duo = cookie_value(&cookie_of(back.headers(), SESSION_COOKIE).expect("a session"));
    let (_, body, headers) = bed.login("alice", "a new password for alice", Some(&token)).await;
    assert_eq!(body["session"]["method"], json!("remembered"), "{body}");
    let remembered = cookie_value(&cookie_of(&headers, SESSION_COOKIE).expect("a session"));
    let change = |session: String| {
        bed.http
            .post(bed.worker.url(routes::PASSWORD))
            .header("Origin", APP_ORIGIN)
            .header("Cookie", format!("{SESSION_COOKIE}={session}"))
            .json(&json!({"current": "a new password for alice", "new": "alice chose this one"}))
            .send()
    };
    // A trusted browser's session is no recent Duo approval: confirm first.
    let refused = change(remembered).await.expect("POST /api/password");
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(refused.headers()["x-reauthenticate"], "required");
    let changed = change(with_duo).await.expect("POST /api/password");
    assert_eq!(changed.status().as_u16(), 204);
    let (_, body, _) = bed.login("alice", "alice chose this one", Some(&token)).await;
    assert_eq!(body["next"], json!("duo"), "forgotten by her own new password: {body}");

    // Without ticking the box, Duo's allow remembers nothing.
    let (_, _, headers) = bed.login("alice", "alice chose this one", None).await;
    let login = cookie_value(&cookie_of(&headers, LOGIN_COOKIE).expect("login cookie"));
    let back = bed.through_duo(&login, false).await;
    assert_eq!(back.status().as_u16(), 303);
    assert!(cookie_of(back.headers(), REMEMBER_COOKIE).is_none());

    // Turning "trust this browser" off ends the trust given: turned on
    // again, the old browser asks for Duo.
    let (_, _, headers) = bed.login("alice", "alice chose this one", None).await;
    let login = cookie_value(&cookie_of(&headers, LOGIN_COOKIE).expect("login cookie"));
    let token = cookie_value(
        &cookie_of(bed.through_duo(&login, true).await.headers(), REMEMBER_COOKIE).expect("again"),
    );
    for (version, days) in [(2, 0), (3, 30)] {
        let save =
            json!({"expected_version": version, "set": {"rules": [], "remember_days": days}});
        assert_eq!(bed.admin_call(admin, policy::POLICIES, Some(&save)).await.0, 200, "{days}");
    }
    let (_, body, _) = bed.login("alice", "alice chose this one", Some(&token)).await;
    assert_eq!(body["next"], json!("duo"), "forgotten when trust was turned off: {body}");
    bed.worker.assert_clean_log(&[&token]);
}
