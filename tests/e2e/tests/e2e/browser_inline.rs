//! The inline mode as a person does it: headless Chromium on the SPA, the
//! real Worker under `wrangler dev` with `DUO_MODE=inline`, and the Duo
//! emulator's Auth API, whose phone page (in a second tab) is where the
//! tester approves.
//!
//! | step | what it checks |
//! |---|---|
//! | push approved on the phone page | the chooser lists alice's devices by Duo's names and only each device's methods; "Send me a Duo Push" shows the live status with Cancel; the tester presses Approve on `/phone/alice` in another tab; the signed-in page shows the Duo Push, the device and the transaction |
//! | stop waiting, 360 px | "Stop waiting" while a push waits returns to the chooser and says the push is still on the device; at 360 px nothing is wider than the screen |
//! | passcode, from a deep link, then a step-up | (gateway) a deep link into the app with a query, no session: the login; "Enter a passcode", 123456, Verify: back at exactly that path and query, which the app received with alice's identity; then the login asked for a fresh approval: "Continue with Duo", the chooser, a passcode, back at the page |
//! | SMS then passcode | "Text me passcodes": Duo's "New SMS passcodes sent." and the passcode field; a mistyped passcode is said as such (no "if you did not start this sign-in"); a passcode from the phone's inbox signs in |
//! | locked out | carol, locked out in Duo: "Duo refused your account." with Duo's words, and that signing in again will not help |
//! | push denied | a push the tester denies: "Duo denied the sign-in." with Duo's words, back at the chooser |
//! | Verified Duo Push | with alice's policy requiring it: the code shown large while the push waits; a wrong code typed on the phone fails the push with Duo's words; the right one signs in as "Verified Duo Push" |
//! | enrollment | unenrolled bob gets Duo's enrollment link |
//!
//! With `UPDATE_SCREENSHOTS=1`, the screens go to `docs/screenshots/` for the README.

use std::time::Duration;

use duo_emulator::Emulator;
use e2e::upstream::EchoApp;
use e2e::{Browser, Wrangler, default_vars, output_dir, workspace_root};
use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::{Value, json};
use shared::api::routes;

const WAIT: Duration = Duration::from_secs(30);

struct Bed {
    worker: Wrangler,
    emulator: Emulator,
    browser: Browser,
    http: reqwest::Client,
}

impl Bed {
    async fn wait_for(&self, css: &str) -> Element {
        self.browser
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| self.fail(&format!("waiting for {css}: {e}")))
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what} (Worker log: {})", self.worker.log_path().display())
    }

    async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        element.click().await.unwrap_or_else(|e| self.fail(&format!("click {css}: {e}")));
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap_or_default()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.send_keys(text).await.unwrap_or_else(|e| self.fail(&format!("type into {css}: {e}")));
    }

    async fn keep_screen(&self, name: &str) {
        let png = self.browser.client.screenshot().await.expect("screenshot");
        let dir = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            workspace_root().join("docs/screenshots")
        } else {
            output_dir().join("screens")
        };
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request =
            self.http.request(method, format!("{}/__emulator{path}", self.emulator.base_url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("control API").json().await.expect("JSON")
    }

    /// A new visitor types `user`'s password.
    async fn password(&self, user: &str) {
        self.password_at(&self.worker.url("/"), user).await;
    }

    /// A new visitor opens `start` (the login, or an app's page the gateway
    /// sends to the login) and types `user`'s password.
    async fn password_at(&self, start: &str, user: &str) {
        let c = &self.browser.client;
        c.goto(&self.worker.url(routes::HEALTH)).await.expect("open the Worker");
        c.delete_all_cookies().await.expect("delete cookies");
        c.goto(start).await.expect("open the start page");
        self.wait_for("#login-form button[type=submit]:not([disabled])").await;
        self.type_into("#username", user).await;
        self.type_into("#password", &format!("{user}-demo-pass")).await;
        self.click("#login-form button[type=submit]").await;
    }

    /// At 360 CSS px (a phone), nothing of the chooser is wider than the screen.
    async fn fits_360_px(&self) {
        let c = &self.browser.client;
        c.set_window_size(360, 740).await.expect("window size");
        let widths = c
            .execute(
                "const s = document.querySelector('section.inline').getBoundingClientRect();\
                 return [window.innerWidth, document.documentElement.scrollWidth, s.left, s.right];",
                vec![],
            )
            .await
            .expect("layout");
        let px = |i: usize| widths[i].as_f64().unwrap_or(f64::NAN);
        assert!(px(0) <= 360.0 && px(1) <= px(0), "the chooser scrolls sideways: {widths}");
        assert!(px(2) >= 0.0 && px(3) <= px(0), "the chooser overflows: {widths}");
        self.keep_screen("inline-chooser-360px").await;
        c.set_window_size(1000, 900).await.expect("window size");
    }

    /// Signed in: the factor the page shows.
    async fn signed_in_factor(&self) -> String {
        self.wait_for("#account-title").await;
        self.text("dd.factor").await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn inline_sign_in_in_the_browser() {
    let emulator = e2e::local_emulator().await;
    let mut vars = default_vars("http://localhost");
    let inline = [
        ("DUO_MODE", "inline"),
        ("DUO_IKEY", duo_emulator::auth_api::DEV_IKEY),
        ("DUO_SKEY", duo_emulator::auth_api::DEV_SKEY),
        ("DUO_API_HOST", &emulator.local_addr().to_string()),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let app = EchoApp::start().await.unwrap_or_else(|e| panic!("{e}"));
    vars.retain(|(name, _)| name != "UPSTREAM_URL" && !inline.iter().any(|(n, _)| n == name));
    vars.extend(inline);
    vars.push(("UPSTREAM_URL".to_owned(), app.origin.clone()));
    let worker = Wrangler::start_at_own_origin(&vars).await.unwrap_or_else(|e| panic!("{e}"));
    let browser = Browser::start().await.unwrap_or_else(|e| panic!("browser: {e}"));
    browser.client.set_window_size(1000, 900).await.expect("window size");
    let http = reqwest::Client::new();
    let bed = Bed { worker, emulator, browser, http };
    let c = &bed.browser.client;

    // Push, approved on the phone page in another tab.
    bed.password("alice").await;
    bed.wait_for("section.inline").await;
    let devices = bed.text("fieldset.devices").await;
    assert!(
        devices.contains("iPhone (XXX-XXX-0100)")
            && devices.contains("Office phone (XXX-XXX-0142)"),
        "{devices}"
    );
    let methods = bed.text(".methods").await;
    for label in ["Send me a Duo Push", "Call me", "Text me passcodes", "Enter a passcode"] {
        assert!(methods.contains(label), "{label} in {methods}");
    }
    bed.keep_screen("inline-chooser").await;
    bed.click("button[data-method=push]").await;
    // Our "Duo Push sent to iPhone…", then Duo's own "Pushed a login request…".
    let waiting = bed.text(".live .progress.waiting").await;
    assert!(waiting.contains("ush"), "{waiting}");
    bed.wait_for("#cancel").await;
    bed.keep_screen("inline-waiting").await;
    let spa = c.window().await.expect("this tab");
    let phone = c.new_window(true).await.expect("a tab");
    c.switch_to_window(phone.handle).await.expect("to the phone");
    c.goto(&format!("{}/phone/alice", bed.emulator.base_url())).await.expect("the phone page");
    bed.click("button[name=action][value=approve]").await;
    // The click submits a form: closing the tab before the phone page comes
    // back (listing nothing waiting) could drop the approval unsent.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !c.source().await.is_ok_and(|page| page.contains("Nothing is waiting")) {
        assert!(tokio::time::Instant::now() < deadline, "the phone never took the approval");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.close_window().await.expect("close the phone");
    c.switch_to_window(spa).await.expect("back to the page");
    assert_eq!(bed.signed_in_factor().await, "Duo Push");
    assert_eq!(bed.text("dd.device").await, "iPhone (XXX-XXX-0100)");
    bed.keep_screen("inline-signed-in").await;

    // Stop waiting: back to the chooser, the methods usable again, and the
    // page says the push is still on the phone.
    bed.password("alice").await;
    bed.click("button[data-method=push]").await;
    assert_eq!(bed.text("#cancel").await, "Stop waiting");
    bed.click("#cancel").await;
    bed.wait_for("button[data-method=push]:not([disabled])").await;
    let stopped = bed.text("#stopped").await;
    assert!(stopped.contains("still on your device"), "{stopped}");

    bed.fits_360_px().await;

    passcode_from_a_deep_link(&bed, &app).await;

    sms_then_passcode_and_a_denied_push(&bed).await;
    verified_push(&bed).await;

    locked_out(&bed).await;

    // Enrollment.
    bed.password("bob").await;
    let link = bed.wait_for("#enroll-link").await;
    let href = link.attr("href").await.expect("href").unwrap_or_default();
    assert!(href.starts_with(&format!("{}/portal?", bed.emulator.base_url())), "{href}");
    bed.keep_screen("inline-enroll").await;

    bed.worker.assert_clean_log(&[duo_emulator::auth_api::DEV_SKEY]);
    bed.browser.close().await;
}

/// SMS passcodes (a mistyped one said as such, then one from the phone's
/// inbox), then a push the tester denies.
async fn sms_then_passcode_and_a_denied_push(bed: &Bed) {
    // SMS, then a passcode from the phone's inbox.
    bed.password("alice").await;
    bed.click("button[data-method=sms]").await;
    assert_eq!(bed.text(".live .progress.sent").await, "New SMS passcodes sent.");
    let inbox = bed.control(reqwest::Method::GET, "/sms?user=alice", None).await;
    let code = inbox["sms"][0]["passcodes"][0].as_str().expect("a passcode").to_owned();
    // A mistyped one first: said as such, and the field is there again.
    bed.type_into("#passcode", "000000").await;
    bed.click("#passcode-form button[type=submit]").await;
    let mistyped = bed.text(".problem.shown").await;
    assert!(
        mistyped.contains("Duo did not accept that passcode.")
            && mistyped.contains("Check the passcode")
            && !mistyped.contains("did not start this sign-in"),
        "{mistyped}"
    );
    bed.type_into("#passcode", &code).await;
    bed.click("#passcode-form button[type=submit]").await;
    assert_eq!(bed.signed_in_factor().await, "Passcode");

    // A push the tester denies.
    bed.control(
        reqwest::Method::POST,
        "/script",
        Some(json!({"user": "alice", "outcome": "deny"})),
    )
    .await;
    bed.password("alice").await;
    bed.click("button[data-method=push]").await;
    bed.wait_for(".problem.shown").await;
    let problem = bed.text(".problem").await;
    assert!(
        problem.contains("Duo denied the sign-in.") && problem.contains("Login request denied."),
        "{problem}"
    );
    bed.wait_for("button[data-method=push]:not([disabled])").await;
    bed.keep_screen("inline-denied").await;
}

/// carol, locked out in Duo.
async fn locked_out(bed: &Bed) {
    // Locked out in Duo: Duo's refusal of the account, in its words and ours.
    bed.password("carol").await;
    let refused = bed.text(".problem.shown").await;
    assert!(
        refused.contains("Duo refused your account.")
            && refused.to_lowercase().contains("locked out")
            && refused.contains("will not help")
            && !refused.contains("by mistake"),
        "{refused}"
    );
}

/// Verified Duo Push (alice's policy now requires it): the page shows the
/// code large while the push waits; on the phone a wrong code fails the
/// push, and the code read from the page approves the next one.
async fn verified_push(bed: &Bed) {
    let mut alice = duo_emulator::dev_users().remove(0);
    alice.verified_push = Some(3);
    bed.control(reqwest::Method::POST, "/users", Some(serde_json::to_value(&alice).expect("JSON")))
        .await;
    let c = &bed.browser.client;
    for right in [false, true] {
        bed.password("alice").await;
        bed.click("button[data-method=push]").await;
        let code = bed.text("#verification-code").await;
        assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");
        assert_eq!(bed.text(".verification p").await, "Enter this code in Duo Mobile");
        if right {
            bed.keep_screen("inline-verified-push").await;
        }
        let spa = c.window().await.expect("this tab");
        let phone = c.new_window(true).await.expect("a tab");
        c.switch_to_window(phone.handle).await.expect("to the phone");
        c.goto(&format!("{}/phone/alice", bed.emulator.base_url())).await.expect("the phone");
        let typed = if right {
            code.clone()
        } else {
            format!("{:03}", (code.parse::<u32>().unwrap_or(0) + 1) % 1000)
        };
        bed.type_into("#code", &typed).await;
        bed.click("button[name=action][value=approve]").await;
        // (The push cancelled earlier still waits on the phone: follow this one.)
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let listed = bed.control(reqwest::Method::GET, "/transactions?user=alice", None).await;
            let newest = listed["transactions"].as_array().and_then(|all| all.last().cloned());
            if newest.is_some_and(|txn| txn["result"] != "waiting") {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "the phone never took the code");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c.close_window().await.expect("close the phone");
        c.switch_to_window(spa).await.expect("back to the page");
        if right {
            assert_eq!(bed.signed_in_factor().await, "Verified Duo Push");
        } else {
            bed.wait_for(".problem.shown").await;
            let problem = bed.text(".problem").await;
            assert!(problem.contains("Incorrect verification code"), "{problem}");
        }
    }
}

/// A passcode, from a deep link into the app: back there after Duo.
async fn passcode_from_a_deep_link(bed: &Bed, app: &EchoApp) {
    let c = &bed.browser.client;
    let target = "/projects/42/board?view=week&owner=a%26b";
    bed.password_at(&bed.worker.app_url(target), "alice").await;
    let login = c.current_url().await.expect("URL");
    assert!(login.as_str().starts_with(&format!("{}?return_to=", bed.worker.url("/"))), "{login}");
    bed.click("button[data-method=passcode]").await;
    bed.type_into("#passcode", "123456").await;
    bed.click("#passcode-form button[type=submit]").await;
    let expected = bed.worker.app_url(target);
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.current_url().await.map(|u| u.to_string()).ok().as_deref() != Some(expected.as_str()) {
        assert!(tokio::time::Instant::now() < deadline, "never back at {expected}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arrived =
        app.received().into_iter().rev().find(|r| r.target == target).expect("the app got it");
    assert_eq!(arrived.header("duo-login-user"), ["alice"]);

    // A step-up from there (the login's page asked for a fresh approval):
    // no password, the inline chooser, a passcode, and back at the page.
    let page = "/projects/42/board";
    c.goto(&format!("{}?return_to=%2Fprojects%2F42%2Fboard&fresh=1", bed.worker.url("/")))
        .await
        .expect("the step-up");
    bed.click("#step-up").await;
    bed.click("button[data-method=passcode]").await;
    bed.type_into("#passcode", "123456").await;
    bed.click("#passcode-form button[type=submit]").await;
    let expected = bed.worker.app_url(page);
    while c.current_url().await.map(|u| u.to_string()).ok().as_deref() != Some(expected.as_str()) {
        assert!(tokio::time::Instant::now() < deadline + WAIT, "never back at {expected}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
