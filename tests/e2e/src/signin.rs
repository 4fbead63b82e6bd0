//! Many distinct users signing in at once through the whole flow: the
//! password, `POST /auth/duo/start`, the Duo emulator approving (a scripted
//! push), `GET /auth/duo/callback` and `GET /api/session`. Shared by the
//! end-to-end test (`tests/e2e/load.rs`: 50 users, no mix-ups) and the
//! benchmark (`examples/signin_load.rs`: throughput).

use std::time::Duration;

use tokio::time::Instant;

use credentials::sql::{DuoPolicy, Role, UserRow};
use credentials::{PasswordHash, Username};
use duo_emulator::Emulator;
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::json;
use shared::api::{SessionInfo, routes};

use crate::{Wrangler, cookie_value, default_vars, set_cookie};

/// The test Worker's `APP_ORIGIN` (requests send it as `Origin`).
pub const APP_ORIGIN: &str = "http://localhost:8787";
const LOGIN_COOKIE: &str = "__Host-login";
const SESSION_COOKIE: &str = "__Host-session";
/// Every load user's password.
const PASSWORD: &str = "load-user-pass";

/// The emulator and the Worker, with `count` users (`load001`, …) known to
/// both: in D1 with the same password, at Duo as active users with a phone.
pub struct Cast {
    /// The Duo emulator.
    pub emulator: Emulator,
    /// The Worker under `wrangler dev`.
    pub worker: Wrangler,
    /// The users' names.
    pub users: Vec<String>,
    http: reqwest::Client,
}

/// What one sign-in took and ended with.
#[derive(Debug)]
pub struct SignedIn {
    /// `GET /api/session` of the new session.
    pub session: SessionInfo,
    /// From the password to the session check.
    pub took: Duration,
}

impl Cast {
    /// Starts the emulator and the Worker with `count` users.
    pub async fn start(count: usize) -> Result<Self, String> {
        let users: Vec<String> = (1..=count).map(|n| format!("load{n:03}")).collect();
        let alice = duo_emulator::dev_users()
            .into_iter()
            .find(|u| u.username == "alice")
            .ok_or("the emulator has no alice to copy")?;
        let mut config = duo_emulator::Config {
            listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
            ..duo_emulator::Config::default()
        };
        for name in &users {
            let mut user = alice.clone();
            user.username.clone_from(name);
            user.aliases = Vec::new();
            user.email = format!("{name}@example.com");
            config.users.push(user);
        }
        let emulator = Emulator::start(config).await.map_err(|e| format!("emulator: {e}"))?;

        // One hash for all (the Worker tops a 1,000-iteration hash up to
        // the default cost, so each login costs what any other does).
        let hash = PasswordHash::derive(PASSWORD.as_bytes(), b"load-salt-16-byt", 1_000)
            .map_err(|e| e.to_string())?;
        let mut sql = String::new();
        for name in &users {
            let row = UserRow {
                username: Username::parse(name).map_err(|e| e.to_string())?,
                password: hash.clone(),
                policy: DuoPolicy::Required,
                duo_username: None,
                disabled: false,
                role: Role::User,
            };
            sql.push_str(&row.insert().map_err(|e| e.to_string())?);
            sql.push('\n');
        }
        let mut vars = default_vars(APP_ORIGIN);
        vars.retain(|(name, _)| name != "DUO_API_HOST");
        vars.push(("DUO_API_HOST".to_owned(), emulator.local_addr().to_string()));
        let worker = Wrangler::start_seeded(&vars, &[&sql]).await?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { emulator, worker, users, http })
    }

    /// Signs `username` in from client address `ip`, through every step;
    /// any answer but the contract's success is an error naming the step.
    pub async fn sign_in(&self, username: &str, ip: &str) -> Result<SignedIn, String> {
        let started = Instant::now();
        let fail = |step: &str, detail: String| format!("{username}: {step}: {detail}");

        let body = json!({ "username": username, "password": PASSWORD });
        let response = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("CF-Connecting-IP", ip)
            .json(&body)
            .send()
            .await
            .map_err(|e| fail("login", e.to_string()))?;
        expect(&response, 200).map_err(|e| fail("login", e))?;
        let login = cookie(response.headers(), LOGIN_COOKIE).map_err(|e| fail("login", e))?;

        let control = format!("{}/__emulator/script", self.emulator.base_url());
        let script = json!({ "user": username, "outcome": "approve" });
        let response = self.http.post(&control).json(&script).send().await;
        let response = response.map_err(|e| fail("script", e.to_string()))?;
        expect(&response, 200).map_err(|e| fail("script", e))?;

        let response = self
            .http
            .post(self.worker.url(routes::DUO_START))
            .header("Origin", APP_ORIGIN)
            .header("CF-Connecting-IP", ip)
            .header("Cookie", format!("{LOGIN_COOKIE}={login}"))
            .send()
            .await
            .map_err(|e| fail("start", e.to_string()))?;
        expect(&response, 303).map_err(|e| fail("start", e))?;
        let authorize = location(response.headers()).map_err(|e| fail("start", e))?;
        let login = cookie(response.headers(), LOGIN_COOKIE).map_err(|e| fail("start", e))?;

        let response = self.http.get(&authorize).send().await;
        let response = response.map_err(|e| fail("Duo", e.to_string()))?;
        expect(&response, 302).map_err(|e| fail("Duo", e))?;
        let back = location(response.headers()).map_err(|e| fail("Duo", e))?;
        let path = back
            .strip_prefix(APP_ORIGIN)
            .ok_or_else(|| fail("Duo", format!("redirected elsewhere: {back}")))?;

        let response = self
            .http
            .get(self.worker.app_url(path))
            .header("CF-Connecting-IP", ip)
            .header("Cookie", format!("{LOGIN_COOKIE}={login}"))
            .send()
            .await
            .map_err(|e| fail("callback", e.to_string()))?;
        expect(&response, 303).map_err(|e| fail("callback", e))?;
        let id = cookie(response.headers(), SESSION_COOKIE).map_err(|e| {
            fail("callback", format!("{e} (to {:?})", location(response.headers())))
        })?;

        let response = self
            .http
            .get(self.worker.url(routes::SESSION))
            .header("Cookie", format!("{SESSION_COOKIE}={id}"))
            .send()
            .await
            .map_err(|e| fail("session", e.to_string()))?;
        expect(&response, 200).map_err(|e| fail("session", e))?;
        let session: SessionInfo =
            response.json().await.map_err(|e| fail("session", e.to_string()))?;
        Ok(SignedIn { session, took: started.elapsed() })
    }
}

fn expect(response: &reqwest::Response, status: u16) -> Result<(), String> {
    if response.status().as_u16() == status {
        Ok(())
    } else {
        Err(format!(
            "expected {status}, got {} ({:?})",
            response.status(),
            location(response.headers())
        ))
    }
}

fn location(headers: &HeaderMap) -> Result<String, String> {
    let value = headers.get(LOCATION).ok_or("no Location")?;
    value.to_str().map(str::to_owned).map_err(|e| e.to_string())
}

fn cookie(headers: &HeaderMap, name: &str) -> Result<String, String> {
    let set = set_cookie(headers, name).ok_or_else(|| format!("no {name} cookie"))?;
    Ok(cookie_value(&set))
}
