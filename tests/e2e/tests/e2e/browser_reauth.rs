//! "Confirm it is you" in headless Chromium (`FRESH_AUTH_SECONDS=4`, the
//! prompt mode against the emulator): a console change on a session whose
//! confirmation is older asks again, and the change goes through after,
//! without doing it again.
//!
//! | step | what it checks |
//! |---|---|
//! | a Duo admin | dana signs in with Duo; after 5 s "Sign out everywhere" on alice opens the dialog; "Continue with Duo" opens the login's step-up in a small window, Duo approves there, the window closes itself, and the console says alice was signed out (her session is gone) |
//! | a break-glass admin | `admin` (no Duo): after 5 s the dialog asks for the password; a wrong one is refused in words, the right one lets the change through |
//! | cancelled | the change is not made and the page says a confirmation is needed |

use std::time::Duration;

use duo_emulator::Emulator;
use e2e::{Browser, Wrangler, cookie_value, default_vars, set_cookie};
use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::json;
use shared::api::routes;

const WAIT: Duration = Duration::from_secs(30);

struct Bed {
    worker: Wrangler,
    browser: Browser,
    emulator: Emulator,
}

impl Bed {
    async fn wait_for(&self, css: &str) -> Element {
        let found = self.browser.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await;
        found.unwrap_or_else(|e| {
            panic!("waiting for {css}: {e} (log: {})", self.worker.log_path().display())
        })
    }

    async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let text = self.wait_for(css).await.text().await.unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} never said {needle:?}: {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn approve_next(&self, user: &str) {
        let script = format!("{}/__emulator/script", self.emulator.base_url());
        let body = json!({"user": user, "outcome": "approve", "factor": "Duo Push"});
        let sent = reqwest::Client::new().post(&script).json(&body).send().await.expect("script");
        assert_eq!(sent.status().as_u16(), 200);
    }

    /// A new visitor signs in as `user` (through Duo when `duo`), then opens the console.
    async fn console_as(&self, user: &str, duo: bool) {
        let c = &self.browser.client;
        c.goto(&self.worker.url(routes::HEALTH)).await.expect("open the Worker");
        c.delete_all_cookies().await.expect("delete cookies");
        c.goto(&self.worker.url("/")).await.expect("open /");
        self.wait_for("#login-form button[type=submit]:not([disabled])").await;
        self.wait_for("#username").await.send_keys(user).await.expect("type");
        self.wait_for("#password")
            .await
            .send_keys(&format!("{user}-demo-pass"))
            .await
            .expect("type");
        self.click("#login-form button[type=submit]").await;
        if duo {
            self.approve_next(user).await;
            self.click("#duo-form button[type=submit]").await;
        }
        self.wait_for("#account-title").await;
        c.goto(&self.worker.url(&format!("{}users", routes::ADMIN_PAGE)))
            .await
            .expect("the console");
        self.wait_for("tr[data-user=alice] button[data-action=revoke]").await;
    }

    /// A session of alice's (password only here), for the change to end.
    async fn alice_session(&self) -> String {
        let response = reqwest::Client::new()
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", self.worker.app_url("").trim_end_matches('/'))
            .json(&json!({"username": "alice", "password": "alice-demo-pass"}))
            .send()
            .await
            .expect("login");
        cookie_value(&set_cookie(response.headers(), "__Host-session").expect("alice's session"))
    }

    async fn alive(&self, cookie: &str) -> bool {
        let response = reqwest::Client::new()
            .get(self.worker.url(routes::SESSION))
            .header("Cookie", format!("__Host-session={cookie}"))
            .send()
            .await
            .expect("session");
        response.status().as_u16() == 200
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_console_change_is_confirmed_and_then_made() {
    let emulator = e2e::local_emulator().await;
    let mut vars = default_vars("http://localhost");
    vars.retain(|(name, _)| name != "DUO_API_HOST");
    vars.push(("DUO_API_HOST".to_owned(), emulator.local_addr().to_string()));
    vars.push(("FRESH_AUTH_SECONDS".to_owned(), "4".to_owned()));
    // alice signs in with her password only here (the change ends her session).
    let bypass = "UPDATE users SET duo_policy = 'bypass' WHERE username = 'alice';";
    let worker = Wrangler::start_seeded_at_own_origin(&vars, &[bypass])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let browser = Browser::start().await.unwrap_or_else(|e| panic!("browser: {e}"));
    browser.client.set_window_size(1100, 900).await.expect("window size");
    let bed = Bed { worker, browser, emulator };
    let c = &bed.browser.client;

    // A Duo admin: the login's step-up in a small window.
    bed.console_as("dana", true).await;
    let alice = bed.alice_session().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let console = c.window().await.expect("this window");
    bed.click("tr[data-user=alice] button[data-action=revoke]").await;
    bed.click("#confirm-yes").await;
    bed.wait_for("#reauth #reauth-duo").await;
    assert!(bed.alive(&alice).await, "nothing done before the confirmation");
    bed.approve_next("dana").await;
    bed.click("#reauth-duo").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let popup = loop {
        let windows = c.windows().await.expect("windows");
        if let Some(other) = windows.into_iter().find(|w| *w != console) {
            break other;
        }
        assert!(tokio::time::Instant::now() < deadline, "no window opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    c.switch_to_window(popup).await.expect("to the login window");
    bed.click("#step-up").await;
    // Duo approves (scripted); back at `?reauthenticated=1` the window tells
    // the console (and closes itself where the browser lets it).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let windows = c.windows().await.map_or(2, |w| w.len());
        let url = c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        if windows == 1 || url.ends_with("?reauthenticated=1") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the login window never came back: {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // It closes itself (a browser may refuse: then the test closes it).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while c.windows().await.map_or(1, |w| w.len()) > 1 {
        if tokio::time::Instant::now() >= deadline {
            let _ = c.close_window().await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.switch_to_window(console).await.expect("back to the console");
    bed.wait_text(".notice", "alice was signed out everywhere").await;
    assert!(!bed.alive(&alice).await, "the change was made");
    let shown = c.find(Locator::Css("#reauth")).await;
    assert!(shown.is_err(), "the dialog is gone");

    // A break-glass admin: the password again.
    bed.console_as("admin", false).await;
    let alice = bed.alice_session().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    bed.click("tr[data-user=alice] button[data-action=revoke]").await;
    bed.click("#confirm-yes").await;
    bed.wait_for("#reauth-password").await.send_keys("not it").await.expect("type");
    bed.click("#reauth-form button[type=submit]").await;
    bed.wait_text("#reauth-problem", "incorrect").await;
    assert!(bed.alive(&alice).await, "not made on a wrong password");
    let field = bed.wait_for("#reauth-password").await;
    field.clear().await.expect("clear");
    field.send_keys("admin-demo-pass").await.expect("type");
    bed.click("#reauth-form button[type=submit]").await;
    bed.wait_text(".notice", "alice was signed out everywhere").await;
    assert!(!bed.alive(&alice).await, "the change was made");

    // Cancelled: not made, and the page says why.
    let alice = bed.alice_session().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    bed.click("tr[data-user=alice] button[data-action=revoke]").await;
    bed.click("#confirm-yes").await;
    bed.click("#reauth-cancel").await;
    bed.wait_text(".problem", "Confirm it is you").await;
    assert!(bed.alive(&alice).await, "not made when cancelled");
    bed.worker.assert_clean_log(&["admin-demo-pass"]);
    bed.browser.close().await;
}
