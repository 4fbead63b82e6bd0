//! The whole sign-in as a person does it: headless Chromium clicks through
//! the SPA, the real Worker under `wrangler dev` (own migrated and seeded D1)
//! and the Duo emulator's prompt page (started in-process on a free port).
//! The Worker's `APP_ORIGIN` is its own origin, so the SPA's requests and
//! Duo's redirect back are exactly what a browser sends.
//!
//! One Worker, one emulator and one browser serve every step (each `wrangler
//! dev` start costs seconds); each step starts with no cookies. A failing step
//! saves `target/test-output/browser_flow-<step>-failure.png`. Each refusal
//! is also matched with the reason the Worker logged for it, so the right
//! check refused (e.g. an expired, not a missing, login cookie).
//!
//! | step | what it checks (issue 6, `DESIGN.md` "The flow") |
//! |---|---|
//! | `duo_down_fail_closed` | emulator health check 503 `FAIL` 50301, `DUO_FAILMODE=closed`: "Log in with Duo" lands back on the login page with the Duo-unavailable message (role=alert, focused) and no `?error=` left in the address bar |
//! | `alice_push_then_logout` | password, the Duo step names alice (its button focused), the prompt, Duo Push approved: the signed-in page shows username, method, factor, device, Duo transaction id (the one `/api/session` has) and session end; log out: login form, "signed out", and a second tab on the account page goes to the login saying it was signed out in another tab; `/api/session` 401 in the page and for the old session cookie |
//! | `alice_trusts_this_browser` | (`remember_days` 30) the Duo step offers "Trust this browser for 30 days"; ticked, Duo Push approved: a Duo session; logged out, a deep link into the app, the password alone signs alice in and returns there; the account page says `remembered`; "Forget this browser", logged out: the Duo step again |
//! | `step_up_asks_duo_again` | (gateway, a path rule needing a Duo approval at most 5 minutes old) alice signs in from a browser she trusts (no Duo this time), opens the app's `/pay/42?amount=10`: the login asks her, by name, for a fresh approval, "Continue with Duo" goes to Duo's prompt without a password (the trusted browser not standing in), Duo Push approved, and she is back at exactly that page, which the app received |
//! | `alice_passcode` | passcode 123456 on the prompt: signed in with the passcode factor |
//! | `alice_push_denied` | push denied on the prompt: the login page says Duo denied it (role=alert), `?error=` gone from the address bar |
//! | `carol_locked_out` | carol's Duo account is locked out: returning from the prompt says Duo refused the account and that signing in again will not help (not "if you denied by mistake"), with her name typed in again |
//! | `bob_enrolls_then_approves` | unenrolled bob enrolls a phone on the prompt, approves a push: signed in, the device is the enrolled phone |
//! | `admin_bypass` | the break-glass admin: password only, straight to the signed-in page saying Duo was bypassed, no Duo rows |
//! | `deep_link_returns_after_duo` | (gateway) a deep link into the app with a query, no session: the login, then password and Duo Push; the browser is back at exactly that path and query, which the app received with alice's identity |
//! | `deep_link_returns_after_a_bypass` | the same for the break-glass admin (password only); signed in, a login page asked to return to another host (`//evil.example`, `/%2F%2Fevil.example`, `https://evil.example/`) stays on the account page |
//! | `login_step_expired` | the `__Host-login` cookie deleted, then replaced by a genuinely signed but expired one, before "Log in with Duo": the login-expired message each time |
//!
//! With `UPDATE_SCREENSHOTS=1`, a passing run also writes the screens to
//! `docs/screenshots/` (1000x800) for the README; otherwise they go to
//! `target/test-output/screens/`.

use std::sync::Mutex;
use std::time::Duration;

use duo_emulator::Emulator;
use e2e::upstream::EchoApp;
use e2e::{Browser, SessionPost, Wrangler, default_vars, output_dir, unix_now, workspace_root};
use edge_core::cookie::LoginTicket;

use crate::session_secret;
use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::json;
use shared::api::{AuthMethod, SessionInfo, routes};

/// How long any one screen gets to appear (download, redirects, render).
const WAIT: Duration = Duration::from_secs(30);
const LOGIN_COOKIE: &str = "__Host-login";
const SESSION_COOKIE: &str = "__Host-session";

type Step = Result<(), String>;

/// Adds what was being done to an error.
trait Context<T> {
    fn context(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// The Worker, the emulator it talks to, the browser, and the screens
/// captured for the README.
struct Bed {
    worker: Wrangler,
    /// The app behind the gateway: it answers with what it received.
    app: EchoApp,
    emulator: Emulator,
    browser: Browser,
    http: reqwest::Client,
    screens: Mutex<Vec<(&'static str, Vec<u8>)>>,
}

impl Bed {
    async fn start() -> Self {
        let emulator = e2e::local_emulator().await;
        let mut vars = default_vars("http://localhost");
        let app = EchoApp::start().await.unwrap_or_else(|e| panic!("{e}"));
        vars.retain(|(name, _)| {
            !["DUO_API_HOST", "DUO_FAILMODE", "UPSTREAM_URL"].contains(&name.as_str())
        });
        vars.push(("UPSTREAM_URL".to_owned(), app.origin.clone()));
        vars.push(("DUO_API_HOST".to_owned(), emulator.local_addr().to_string()));
        vars.push(("DUO_FAILMODE".to_owned(), "closed".to_owned()));
        // Browsers may be remembered for 30 days ("trust this browser");
        // the app's /pay/ needs a Duo approval at most 5 minutes old.
        let remember = r#"UPDATE policies SET version = 2, document = '{"rules":[],"remember_days":30,"access":[{"name":"Payments","path":"/pay/*","access":{"kind":"fresh_duo","minutes":5}}]}' WHERE id = 1;"#;
        let worker = Wrangler::start_seeded_at_own_origin(&vars, &[remember])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let browser = Browser::start().await.unwrap_or_else(|e| panic!("browser: {e}"));
        viewport(&browser, 1000, 800).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { worker, app, emulator, browser, http, screens: Mutex::new(Vec::new()) }
    }

    /// Runs one step; on failure saves a screenshot named after it and fails.
    async fn run(&self, name: &str, step: impl Future<Output = Step>) {
        if let Err(message) = step.await {
            let shot = self.browser.screenshot(&format!("browser_flow-{name}-failure")).await;
            panic!(
                "{name}: {message} (screenshot: {shot:?}; Worker log: {})",
                self.worker.log_path().display()
            );
        }
    }

    /// Keeps what the browser shows now as `docs/screenshots/<name>.png`.
    async fn keep_screen(&self, name: &'static str) -> Step {
        let png = self.browser.client.screenshot().await.context("screenshot")?;
        self.screens.lock().expect("not poisoned").push((name, png));
        Ok(())
    }

    /// Writes the kept screens (after every step passed).
    fn write_screens(&self) {
        let dir = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            workspace_root().join("docs/screenshots")
        } else {
            output_dir().join("screens")
        };
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        for (name, png) in self.screens.lock().expect("not poisoned").iter() {
            let path = dir.join(format!("{name}.png"));
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }

    /// Waits (bounded) until the Worker has logged `reason <reason>` more
    /// often than `before` times: why the step was refused.
    async fn logged_after(&self, reason: &str, before: usize) -> Step {
        let needle = format!("reason {reason}");
        for _ in 0..50 {
            if self.worker.log().matches(&needle).count() > before {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("{needle:?} not (again) in {}", self.worker.log_path().display()))
    }

    fn log_count(&self, reason: &str) -> usize {
        self.worker.log().matches(&format!("reason {reason}")).count()
    }

    /// Posts JSON to the emulator's control API.
    async fn script(&self, path: &str, body: serde_json::Value) -> Step {
        let url = format!("{}/__emulator{path}", self.emulator.base_url());
        let response = self.http.post(&url).json(&body).send().await.context(path)?;
        check!(response.status().as_u16() == 200, "{path}: {}", response.status());
        Ok(())
    }

    async fn clear_faults(&self) -> Step {
        let url = format!("{}/__emulator/faults", self.emulator.base_url());
        let response = self.http.delete(&url).send().await.context("clear faults")?;
        check!(response.status().as_u16() == 200, "clear faults: {}", response.status());
        Ok(())
    }

    /// The Worker's page with no cookies: a new visitor.
    async fn fresh_visit(&self) -> Step {
        let c = &self.browser.client;
        c.goto(&self.worker.url(routes::HEALTH)).await.context("open the Worker")?;
        c.delete_all_cookies().await.context("delete cookies")?;
        c.goto(&self.worker.url("/")).await.context("open /")
    }

    /// A new visitor opens `target`, a page of the app: the gateway sends
    /// the browser to the login, asking to come back there.
    async fn deep_link(&self, target: &str) -> Step {
        self.fresh_visit().await?;
        self.browser
            .client
            .goto(&self.worker.app_url(target))
            .await
            .context("open the deep link")?;
        self.login_form().await?;
        let url = self.browser.client.current_url().await.context("URL")?;
        let login = self.worker.url("/");
        check!(url.as_str().starts_with(&format!("{login}?return_to=")), "the login is at {url}");
        Ok(())
    }

    /// Back in the app at exactly `target` (path and query), which received
    /// the request with `user`'s identity.
    async fn back_at(&self, target: &str, user: &str) -> Step {
        let expected = self.worker.app_url(target);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let url = self.browser.client.current_url().await.context("URL")?;
            if url.as_str() == expected {
                break;
            }
            check!(tokio::time::Instant::now() < deadline, "at {url}, expected {expected}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let arrived = self.app.received().into_iter().rev().find(|r| r.target == target);
        let arrived = arrived.ok_or_else(|| format!("the app never received {target}"))?;
        check!(arrived.header("duo-login-user") == [user], "the app saw {:?}", arrived.headers);
        check!(
            arrived.header("duo-login-assertion").len() == 1,
            "no assertion: {:?}",
            arrived.headers
        );
        Ok(())
    }

    /// Waits (bounded) for an element.
    async fn wait_for(&self, css: &str) -> Result<Element, String> {
        self.browser
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .context(&format!("waiting for {css}"))
    }

    async fn text(&self, css: &str) -> Result<String, String> {
        let element = self.browser.client.find(Locator::Css(css)).await.context(css)?;
        element.text().await.context(css)
    }

    async fn click(&self, css: &str) -> Step {
        self.wait_for(css).await?.click().await.context(&format!("click {css}"))
    }

    /// The login form, ready to take a password (the service answered).
    async fn login_form(&self) -> Step {
        self.wait_for("#login-form button[type=submit]:not([disabled])").await.map(drop)
    }

    /// Types the demo password of `user` and submits.
    async fn enter_password(&self, user: &str) -> Step {
        self.login_form().await?;
        let c = &self.browser.client;
        let field = c.find(Locator::Css("#username")).await.context("username field")?;
        // (After a refused Duo step the page types the name in again.)
        field.clear().await.context("clear username")?;
        field.send_keys(user).await.context("type username")?;
        let field = c.find(Locator::Css("#password")).await.context("password field")?;
        field.send_keys(&format!("{user}-demo-pass")).await.context("type password")?;
        self.click("#login-form button[type=submit]").await
    }

    /// Password accepted: the Duo step, naming `user`.
    async fn duo_step(&self, user: &str) -> Step {
        self.enter_password(user).await?;
        self.wait_for("form#duo-form button[type=submit]").await?;
        let who = self.text("#duo-title ~ .who .username").await?;
        check!(who == user, "the Duo step shows {who:?}, expected {user:?}");
        // The keyboard is taken to the next step.
        self.wait_for("form#duo-form button[type=submit]:focus").await.map(drop)
    }

    /// Clicks "Log in with Duo".
    async fn log_in_with_duo(&self) -> Step {
        let label = self.text("form#duo-form button[type=submit]").await?;
        check!(label == "Log in with Duo", "button says {label:?}");
        self.click("form#duo-form button[type=submit]").await
    }

    /// From the password to Duo's prompt, where `ready` (a selector of the
    /// prompt's first view) appears.
    async fn at_prompt(&self, user: &str, ready: &str) -> Step {
        self.duo_step(user).await?;
        self.log_in_with_duo().await?;
        self.wait_for(ready).await?;
        let url = self.browser.client.current_url().await.context("URL")?;
        check!(
            url.as_str().starts_with(&self.emulator.base_url()),
            "expected Duo's prompt, at {url}"
        );
        Ok(())
    }

    /// Chooses Duo Push for the first device; the "phone" is on screen.
    async fn choose_push(&self) -> Step {
        self.click("button[name=action][value=push]").await?;
        self.wait_for("button[name=action][value=approve]").await.map(drop)
    }

    /// Back on the Worker, signed in: checks the page against
    /// `/api/session` and returns it.
    async fn signed_in_as(&self, user: &str) -> Result<SessionInfo, String> {
        self.wait_for("#account-title").await?;
        let url = self.browser.client.current_url().await.context("URL")?;
        check!(url.as_str() == self.worker.url("/"), "signed in at {url}");
        let shown = self.text("dd.username").await?;
        check!(shown == user, "signed-in page shows {shown:?}, expected {user:?}");
        let session = self.session_in_page().await?;
        let session: SessionInfo = match session {
            (200, body) => serde_json::from_str(&body).context("session JSON")?,
            (status, body) => return Err(format!("/api/session {status}: {body}")),
        };
        check!(session.username == user, "session of {:?}", session.username);
        let ends = self.text("dl.facts dt:nth-last-of-type(1) + dd").await?;
        check!(!ends.trim().is_empty(), "no session end shown");
        let labels = self.text("dl.facts").await?;
        check!(labels.contains("Session ends"), "no session end label: {labels:?}");
        Ok(session)
    }

    /// Checks the Duo rows of the signed-in page: the factor as the page
    /// words it, a device, and the transaction id `/api/session` has.
    async fn shows_duo_details(
        &self,
        session: &SessionInfo,
        factor: &str,
    ) -> Result<String, String> {
        let method = self.text("dd.method").await?;
        check!(method.contains("Duo two-factor"), "method {method:?}");
        let shown = self.text("dd.factor").await?;
        check!(shown == factor, "factor {shown:?}, expected {factor:?}");
        let device = self.text("dd.device").await?;
        check!(!device.is_empty() && device != "—", "device {device:?}");
        let txid = self.text("dd.txid").await?;
        let duo = session.duo.as_ref().ok_or("a Duo session without Duo details")?;
        check!(
            !txid.is_empty() && Some(txid.as_str()) == duo.txid.as_deref(),
            "transaction id {txid:?}, session has {:?}",
            duo.txid
        );
        Ok(device)
    }

    /// `GET /api/session` from the page (its cookies): status and body.
    async fn session_in_page(&self) -> Result<(u64, String), String> {
        let script = format!(
            "const done = arguments[arguments.length - 1];\
            fetch('{}', {{credentials: 'same-origin'}})\
              .then(r => r.text().then(t => done([r.status, t])), e => done([0, String(e)]));",
            shared::api::routes::at(shared::api::routes::SESSION)
        );
        let value =
            self.browser.client.execute_async(&script, vec![]).await.context("fetch session")?;
        let status = value[0].as_u64().ok_or_else(|| format!("fetch: {value}"))?;
        Ok((status, value[1].as_str().unwrap_or_default().to_owned()))
    }

    /// Back on the login page with `message` in the alert region, and no
    /// `?error=` left in the address bar.
    async fn refused_with(&self, message: &str) -> Step {
        // Focus moves to the message, so a screen reader reads it.
        let alert = self.wait_for(".problem.shown[role=alert]:focus").await?;
        let text = alert.text().await.context("alert text")?;
        check!(text.contains(message), "alert says {text:?}, expected {message:?}");
        self.login_form().await?;
        let url = self.browser.client.current_url().await.context("URL")?;
        check!(url.query().is_none(), "the query is still in the address bar: {url}");
        let page = shared::api::routes::at(shared::api::routes::PAGE);
        check!(url.path() == page, "refused at {url}");
        Ok(())
    }
}

/// Sizes the window so that the page itself (what a screenshot shows) is
/// `width` x `height`: the window's own frame is added on top.
async fn viewport(browser: &Browser, width: u32, height: u32) {
    let c = &browser.client;
    c.set_window_size(width, height).await.expect("window size");
    let frame = c
        .execute(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            vec![],
        )
        .await
        .expect("window frame");
    let extra = |i: usize| frame[i].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    c.set_window_size(width + extra(0), height + extra(1)).await.expect("window size");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_signs_in_through_the_browser() {
    let bed = Bed::start().await;
    // First: no successful health check may be remembered yet.
    bed.run("duo_down_fail_closed", duo_down_fail_closed(&bed)).await;
    // Duo is back, but the Worker applies the remembered failure for 10 s
    // more (edge `FAILURE_MEMO_SECONDS`): meanwhile, the steps that never
    // reach the health check.
    let duo_back = tokio::time::Instant::now() + Duration::from_secs(11);
    bed.run("admin_bypass", admin_bypass(&bed)).await;
    bed.run("deep_link_returns_after_a_bypass", deep_link_returns_after_a_bypass(&bed)).await;
    bed.run("login_step_expired", login_step_expired(&bed)).await;
    tokio::time::sleep_until(duo_back).await;
    bed.run("alice_push_then_logout", alice_push_then_logout(&bed)).await;
    bed.run("deep_link_returns_after_duo", deep_link_returns_after_duo(&bed)).await;
    bed.run("alice_trusts_this_browser", alice_trusts_this_browser(&bed)).await;
    bed.run("step_up_asks_duo_again", step_up_asks_duo_again(&bed)).await;
    bed.run("alice_passcode", alice_passcode(&bed)).await;
    bed.run("alice_push_denied", alice_push_denied(&bed)).await;
    bed.run("carol_locked_out", carol_locked_out(&bed)).await;
    bed.run("bob_enrolls_then_approves", bob_enrolls_then_approves(&bed)).await;
    bed.write_screens();
    let log = bed.worker.log();
    for needle in ["panicked", "RuntimeError", "EmulatorDevSecret"] {
        assert!(!log.contains(needle), "{needle:?} in {}", bed.worker.log_path().display());
    }
    bed.browser.close().await;
}

async fn duo_down_fail_closed(bed: &Bed) -> Step {
    // Duo down: a 503 `stat: FAIL` 50301 (the default `health_fail`,
    // `invalid_client`, is misconfiguration and refused `config_error`).
    let down =
        json!({"kind": "health_fail", "status": 503, "code": 50301, "message": "unavailable"});
    bed.script("/faults", down).await?;
    bed.fresh_visit().await?;
    bed.duo_step("alice").await?;
    bed.log_in_with_duo().await?;
    let outcome = async {
        bed.refused_with("Duo cannot be reached, so two-factor sign-in is not possible right now.")
            .await?;
        bed.logged_after("duo_unreachable", 0).await
    }
    .await;
    // Duo is back for the steps after this one, pass or fail.
    bed.clear_faults().await?;
    outcome
}

async fn alice_push_then_logout(bed: &Bed) -> Step {
    bed.fresh_visit().await?;
    bed.login_form().await?;
    bed.keep_screen("login").await?;
    bed.duo_step("alice").await?;
    bed.keep_screen("duo-step").await?;
    bed.log_in_with_duo().await?;
    bed.wait_for("button[name=action][value=push]").await?;
    bed.keep_screen("duo-prompt").await?;
    bed.choose_push().await?;
    bed.click("button[name=action][value=approve]").await?;
    let session = bed.signed_in_as("alice").await?;
    bed.shows_duo_details(&session, "Duo Push").await?;
    bed.keep_screen("signed-in").await?;

    let c = &bed.browser.client;
    let cookie = c.get_named_cookie(SESSION_COOKIE).await.context("session cookie")?;
    let old_session = cookie.value().to_owned();
    // A second tab on the account page, to see it follow the sign-out.
    let first = c.window().await.context("this tab")?;
    let second = c.new_window(true).await.context("a second tab")?;
    c.switch_to_window(second.handle.clone()).await.context("to the second tab")?;
    c.goto(&bed.worker.url("/")).await.context("open the account page")?;
    bed.wait_for("#account-title").await?;
    c.switch_to_window(first.clone()).await.context("back to the first tab")?;
    bed.click("#logout").await?;
    bed.login_form().await?;
    let notice = bed.text("#login-title ~ .notice").await?;
    check!(notice == "You have been signed out.", "notice {notice:?}");
    c.switch_to_window(second.handle).await.context("to the second tab")?;
    bed.login_form().await?;
    let notice = bed.text("#login-title ~ .notice").await?;
    check!(notice == "You were signed out in another tab.", "the other tab: {notice:?}");
    c.close_window().await.context("close the second tab")?;
    c.switch_to_window(first).await.context("back to the first tab")?;
    let (status, body) = bed.session_in_page().await?;
    check!(status == 401, "/api/session after logout: {status} {body}");
    // Revoked on the server, not only forgotten by the browser.
    let response = bed
        .http
        .get(bed.worker.url(routes::SESSION))
        .header("Cookie", format!("{SESSION_COOKIE}={old_session}"))
        .send()
        .await
        .context("GET /api/session with the old cookie")?;
    check!(response.status().as_u16() == 401, "old session still valid: {}", response.status());
    Ok(())
}

async fn alice_trusts_this_browser(bed: &Bed) -> Step {
    bed.fresh_visit().await?;
    bed.duo_step("alice").await?;
    let label = bed.text("label.trust").await?;
    check!(label.contains("Trust this browser for 30 days"), "label {label:?}");
    bed.click("#remember").await?;
    bed.log_in_with_duo().await?;
    bed.wait_for("button[name=action][value=push]").await?;
    bed.choose_push().await?;
    bed.click("button[name=action][value=approve]").await?;
    let session = bed.signed_in_as("alice").await?;
    check!(session.method == AuthMethod::Duo, "the first sign-in is Duo's: {:?}", session.method);
    bed.click("#logout").await?;
    bed.login_form().await?;
    // The password alone now, from this browser, and back into the app.
    let target = "/inbox?folder=trusted";
    bed.browser.client.goto(&bed.worker.app_url(target)).await.context("open the deep link")?;
    bed.enter_password("alice").await?;
    bed.back_at(target, "alice").await?;
    bed.browser.client.goto(&bed.worker.url("/")).await.context("open the login")?;
    let session = bed.signed_in_as("alice").await?;
    check!(session.method == AuthMethod::Remembered, "method {:?}", session.method);
    let method = bed.text("dd.method").await?;
    check!(method.contains("a browser you trusted"), "method shown {method:?}");
    bed.click("#forget-browser").await?;
    let notice = bed.wait_for("#account-title ~ .notice").await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !notice.text().await.unwrap_or_default().contains("This browser is forgotten") {
        check!(tokio::time::Instant::now() < deadline, "no notice that the browser is forgotten");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bed.click("#logout").await?;
    bed.duo_step("alice").await
}

async fn step_up_asks_duo_again(bed: &Bed) -> Step {
    // A trusted browser: Duo once, then the password alone.
    bed.fresh_visit().await?;
    bed.duo_step("alice").await?;
    bed.click("#remember").await?;
    bed.log_in_with_duo().await?;
    bed.choose_push().await?;
    bed.click("button[name=action][value=approve]").await?;
    bed.signed_in_as("alice").await?;
    bed.click("#logout").await?;
    bed.enter_password("alice").await?;
    let session = bed.signed_in_as("alice").await?;
    check!(session.method == AuthMethod::Remembered, "method {:?}", session.method);
    // The payment page wants a Duo approval this session never had.
    let target = "/pay/42?amount=10";
    bed.browser.client.goto(&bed.worker.app_url(target)).await.context("open /pay")?;
    bed.wait_for("#step-up:not([disabled])").await?;
    let url = bed.browser.client.current_url().await.context("URL")?;
    check!(url.as_str().contains("fresh=1"), "the login does not ask for a fresh approval: {url}");
    let who = bed.text("#step-up-title ~ .who .username").await?;
    check!(who == "alice", "the step-up names {who:?}");
    // (The browser's own requests, like /favicon.ico, may reach the app.)
    let paid = bed.app.received().iter().any(|r| r.target.starts_with("/pay"));
    check!(!paid, "the payment page was reached without Duo");
    // No password this time, and the trusted browser does not stand in:
    // Duo, then back at the page.
    bed.click("#step-up").await?;
    bed.wait_for("button[name=action][value=push]").await?;
    bed.choose_push().await?;
    bed.click("button[name=action][value=approve]").await?;
    bed.back_at(target, "alice").await
}

async fn deep_link_returns_after_duo(bed: &Bed) -> Step {
    let target = "/reports/7?tab=audit&q=a%20b&n=%2F%2Fx";
    bed.deep_link(target).await?;
    bed.duo_step("alice").await?;
    bed.log_in_with_duo().await?;
    bed.wait_for("button[name=action][value=push]").await?;
    bed.choose_push().await?;
    bed.click("button[name=action][value=approve]").await?;
    bed.back_at(target, "alice").await
}

async fn deep_link_returns_after_a_bypass(bed: &Bed) -> Step {
    let target = "/admin/settings?section=keys";
    bed.deep_link(target).await?;
    bed.enter_password("admin").await?;
    bed.back_at(target, "admin").await?;
    // Signed in, the login asked to send the browser elsewhere stays home.
    for hostile in
        ["%2F%2Fevil.example", "%2F%252F%252Fevil.example", "https%3A%2F%2Fevil.example%2F"]
    {
        let url = format!("{}?return_to={hostile}", bed.worker.url("/"));
        bed.browser.client.goto(&url).await.context("open the login")?;
        bed.wait_for("#account-title").await?;
        let at = bed.browser.client.current_url().await.context("URL")?;
        check!(at.as_str() == url, "{hostile}: left for {at}");
    }
    Ok(())
}

async fn alice_passcode(bed: &Bed) -> Step {
    bed.fresh_visit().await?;
    bed.at_prompt("alice", "button[name=action][value=passcode]").await?;
    bed.click("button[name=action][value=passcode]").await?;
    let field = bed.wait_for("input#passcode").await?;
    field.send_keys("123456").await.context("type passcode")?;
    bed.click("button[name=action][value=verify]").await?;
    let session = bed.signed_in_as("alice").await?;
    bed.shows_duo_details(&session, "Passcode").await.map(drop)
}

async fn alice_push_denied(bed: &Bed) -> Step {
    bed.fresh_visit().await?;
    bed.at_prompt("alice", "button[name=action][value=push]").await?;
    bed.choose_push().await?;
    let before = bed.log_count("duo_denied");
    bed.click("button[name=action][value=deny]").await?;
    bed.refused_with("Duo denied the sign-in.").await?;
    bed.logged_after("duo_denied", before).await?;
    bed.keep_screen("error-denied").await
}

async fn carol_locked_out(bed: &Bed) -> Step {
    bed.fresh_visit().await?;
    bed.at_prompt("carol", "button[name=action][value=return]").await?;
    let before = bed.log_count("duo_account_denied");
    bed.click("button[name=action][value=return]").await?;
    // Not "if you denied the request by mistake": Duo refused the account.
    bed.refused_with("Duo refused your account.").await?;
    let said = bed.text(".problem").await?;
    check!(said.contains("will not help") && !said.contains("by mistake"), "{said}");
    // The name is typed in again for the next try.
    let typed = bed.wait_for("#username").await?.prop("value").await.context("value")?;
    check!(typed.as_deref() == Some("carol"), "username field: {typed:?}");
    bed.logged_after("duo_account_denied", before).await
}

async fn bob_enrolls_then_approves(bed: &Bed) -> Step {
    bed.fresh_visit().await?;
    bed.at_prompt("bob", "select#platform").await?;
    bed.click("select#platform option[value=Android]").await?;
    let number = bed.wait_for("input#number").await?;
    number.clear().await.context("clear number")?;
    number.send_keys("+1 555-0142").await.context("type number")?;
    bed.click("button[name=action][value=enroll]").await?;
    bed.wait_for(".notice.ok").await?;
    bed.choose_push().await?;
    bed.click("button[name=action][value=approve]").await?;
    let session = bed.signed_in_as("bob").await?;
    let device = bed.shows_duo_details(&session, "Duo Push").await?;
    check!(
        device.contains("XXX-0142") && !device.contains("555"),
        "device {device:?} is not the enrolled phone, masked"
    );
    Ok(())
}

async fn admin_bypass(bed: &Bed) -> Step {
    bed.fresh_visit().await?;
    bed.enter_password("admin").await?;
    bed.signed_in_as("admin").await?;
    let method = bed.text("dd.method").await?;
    check!(method.contains("exempt from Duo"), "method {method:?}");
    let duo_rows = bed.browser.client.find_all(Locator::Css("dd.factor, dd.txid")).await;
    check!(duo_rows.context("Duo rows")?.is_empty(), "Duo rows on a bypass session");

    // Another device of admin's (a session made over HTTP), then "Log out
    // everywhere" in this browser: both end.
    let body = json!({ "username": "admin", "password": "admin-demo-pass" });
    let response = bed
        .http
        .post(bed.worker.url(routes::LOGIN))
        .header("Origin", bed.worker.origin.as_str())
        .json(&body)
        .send()
        .await
        .context("POST /api/login from another device")?;
    let other = e2e::set_cookie(response.headers(), SESSION_COOKIE)
        .map(|c| e2e::cookie_value(&c))
        .ok_or("no session for the other device")?;
    let other_session = |cookie: String| {
        bed.http
            .get(bed.worker.url(routes::SESSION))
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .send()
    };
    let status = other_session(other.clone()).await.context("the other device")?.status();
    check!(status.as_u16() == 200, "the other device's session: {status}");
    bed.click("#logout-everywhere").await?;
    bed.login_form().await?;
    let (status, body) = bed.session_in_page().await?;
    check!(status == 401, "/api/session after logging out everywhere: {status} {body}");
    let status = other_session(other).await.context("the other device")?.status();
    check!(status.as_u16() == 401, "the other device is still signed in: {status}");
    Ok(())
}

async fn login_step_expired(bed: &Bed) -> Step {
    // The login cookie is gone (the browser dropped it).
    bed.fresh_visit().await?;
    bed.duo_step("alice").await?;
    let c = &bed.browser.client;
    c.get_named_cookie(LOGIN_COOKIE).await.context("the login cookie before deleting it")?;
    c.delete_cookie(LOGIN_COOKIE).await.context("delete the login cookie")?;
    let before = bed.log_count("login_cookie_missing");
    bed.log_in_with_duo().await?;
    bed.refused_with("This sign-in took too long and has expired.").await?;
    bed.logged_after("login_cookie_missing", before).await?;
    let typed = bed.wait_for("#username").await?.prop("value").await.context("value")?;
    check!(typed.as_deref() == Some("alice"), "the name is typed in again: {typed:?}");

    // The login cookie is genuine but past its expiry (the person waited
    // too long on the Duo step).
    bed.duo_step("alice").await?;
    c.get_named_cookie(LOGIN_COOKIE).await.context("the login cookie before replacing it")?;
    let expired = LoginTicket::new("alice", unix_now() - 400).seal(&session_secret());
    // WebDriver "Add Cookie" without a `domain`, so the cookie is host-only
    // as a `__Host-` cookie must be (fantoccini's `add_cookie` sends
    // `"domain": null`, which ChromeDriver refuses).
    c.issue_cmd(SessionPost {
        path: "cookie",
        body: json!({"cookie": {
            "name": LOGIN_COOKIE, "value": expired, "path": "/",
            "secure": true, "httpOnly": true, "sameSite": "Lax",
        }}),
    })
    .await
    .context("replace the login cookie")?;
    let before = bed.log_count("login_cookie_expired");
    bed.log_in_with_duo().await?;
    bed.refused_with("This sign-in took too long and has expired.").await?;
    bed.logged_after("login_cookie_expired", before).await
}
