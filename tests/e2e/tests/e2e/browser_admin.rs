//! The admin console in headless Chromium: its own page (`/admin/`, its own
//! wasm), for admins only.
//!
//! | step | what it checks |
//! |---|---|
//! | a visitor | `/admin/` without a session says to sign in with an admin account |
//! | an admin | `admin` signs in; the account page links to the console; the users table lists the demo users with their roles; the admin's own row offers no way to disable or demote themselves; the sessions tab lists the live sessions and "End" on bob's ends it; "Disable" on bob: the row says disabled and the notice says so; "Add user" with a generated password shows it once and it passes the first factor; "Reset password" with the username typed as the password shows the rule, then sets one; "Duo username" checked against a name carol has says so, then saved shows in the row; search finds carol; the audit tab's sign-in log has a "Policy" column (the admin log none); its admin log searched for bob shows his disabling and his ended session, newest first, and the "Download CSV" form posts the search (its hidden fields); the Duo tab shows the settings (masked client id, how to rotate the secret), "Test connection" against the emulator succeeds with its latency, turning Duo off is possible only once the phrase is typed and shows the banner on every tab, turning it on removes it; the policies tab: two rules added, one moved up, a dry run of the draft (everyone refused from Tor, alice let in by "#2 Office" from the office), saved as version 2; a third rule letting everyone in without Duo asks for the phrase on saving (the button disabled until it is typed), then the policy banner shows on every tab and the Duo tab says a policy skips Duo; the rule removed and saved without asking, the banner goes (versions 3 and 4, the same rules as 2); a network with host bits refused naming the rule and the range meant, the change discarded; two app path rules added (admins for `/admin/*`, a fresh Duo approval for `POST /pay`), the dry run says which decides `/Admin/%75sers` and `POST /pay`, saved as version 5 and read back; the alerts page: a webhook added from its form (the signing secret shown once, then gone from the page), listed with its address up to the host and the alerts it is sent, sent a test alert the receiver gets signed with that secret, the delivery listed; screenshots |
//! | a user | bob (password only here) opens `/admin/`: told it is for administrators |
//! | a new user | grace, added by the admin, signs in with the password the console showed: asked to choose her own first (two different new ones are caught), then her account page |

use std::time::Duration;

use duo_emulator::Emulator;
use e2e::{Browser, Wrangler, default_vars, output_dir, workspace_root};
use fantoccini::Locator;
use fantoccini::elements::Element;
use shared::admin::ENFORCE_OFF_PHRASE;
use shared::api::routes;

const WAIT: Duration = Duration::from_secs(30);

struct Bed {
    worker: Wrangler,
    browser: Browser,
    _emulator: Emulator,
}

impl Bed {
    async fn wait_for(&self, css: &str) -> Element {
        let found = self.browser.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await;
        match found {
            Ok(element) => element,
            Err(e) => {
                let shot = self.browser.screenshot("browser_admin-failure").await;
                let log = self.worker.log_path().display();
                panic!("waiting for {css}: {e} (screenshot {shot:?}; log: {log})")
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.unwrap_or_default()
    }

    /// Waits until `css`'s text contains `needle`; the text.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let text = self.text(css).await;
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

    async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn sign_in(&self, user: &str) {
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
        self.wait_for("#account-title").await;
    }

    /// Waits until nothing matches `css`.
    async fn wait_gone(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.browser.client.find(Locator::Css(css)).await.is_ok() {
            assert!(tokio::time::Instant::now() < deadline, "{css} stayed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css` matches `n` elements.
    async fn wait_count(&self, css: &str, n: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found =
                self.browser.client.find_all(Locator::Css(css)).await.map_or(0, |e| e.len());
            if found == n {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{css}: {found} found, not {n}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The address bar's path.
    async fn path(&self) -> String {
        self.browser.client.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default()
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
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_console_is_for_admins() {
    let bob_password_only = "UPDATE users SET duo_policy = 'bypass' WHERE username = 'bob';";
    let emulator = e2e::local_emulator().await;
    let mut vars = default_vars("http://localhost");
    vars.retain(|(name, _)| name != "APP_ORIGIN" && name != "DUO_API_HOST");
    vars.push(("DUO_API_HOST".to_owned(), emulator.local_addr().to_string()));
    let worker = Wrangler::start_seeded_at_own_origin(&vars, &[bob_password_only])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let browser = Browser::start().await.unwrap_or_else(|e| panic!("browser: {e}"));
    browser.client.set_window_size(1100, 900).await.expect("window size");
    let bed = Bed { worker, browser, _emulator: emulator };
    let c = &bed.browser.client;

    // A visitor.
    c.goto(&bed.worker.url(routes::HEALTH)).await.expect("open");
    c.delete_all_cookies().await.expect("cookies");
    c.goto(&bed.worker.url("/admin/")).await.expect("open /admin/");
    let said = bed.text("#admin-sign-in-first").await;
    assert!(said.contains("Sign in with an admin account first"), "{said}");

    // bob's session, to see it end.
    bed.sign_in("bob").await;
    let bob_cookie =
        c.get_named_cookie("__Host-session").await.expect("bob's session").value().to_owned();
    assert!(c.find(Locator::Css("#admin-console")).await.is_err(), "no console link for a user");
    c.goto(&bed.worker.url("/admin/")).await.expect("open /admin/");
    let refused = bed.text("#admin-not-allowed [role=alert]").await;
    assert!(refused.contains("for administrators") && refused.contains("bob"), "{refused}");

    // A wrong password (for the overview's refusals), then an admin.
    let refused = reqwest::Client::new()
        .post(bed.worker.url(routes::LOGIN))
        .header("Origin", bed.worker.origin.as_str())
        .json(&serde_json::json!({"username": "alice", "password": "not alice's password"}))
        .send()
        .await
        .expect("a wrong password");
    assert_eq!(refused.status().as_u16(), 401);
    bed.sign_in("admin").await;
    // A link styled as a button looks like one (not a plain blue link).
    bed.wait_for("#admin-console").await;
    let look = c
        .execute(
            "const s = getComputedStyle(document.querySelector('#admin-console'));\
             return [s.borderTopStyle, s.textDecorationLine, s.display];",
            vec![],
        )
        .await
        .expect("the link's style");
    assert_eq!(look, serde_json::json!(["solid", "none", "block"]), "a secondary button");
    bed.click("#admin-console").await;
    overview(&bed).await;
    bed.click("#tab-users").await;
    bed.wait_for("table.users tr[data-user=dana]").await;
    assert!(bed.path().await.ends_with("/admin/users"), "the users page's own address");
    assert_eq!(bed.text("tr[data-user=dana] .role").await, "admin");
    assert_eq!(bed.text("tr[data-user=alice] .role").await, "user");
    assert_eq!(bed.text("tr[data-user=erin] .state").await, "disabled");
    let own = bed.wait_for("tr[data-user=admin]").await;
    assert!(own.find(Locator::Css("[data-action=disable]")).await.is_err(), "no self-disable");
    assert!(own.find(Locator::Css("[data-action=role]")).await.is_err(), "no self-demotion");
    bed.keep_screen("admin-users").await;

    sessions(&bed, &bob_cookie).await;
    bed.click("#tab-users").await;

    bed.click("tr[data-user=bob] [data-action=disable]").await;
    let asked = bed.text("#confirm").await;
    assert!(asked.contains("Disable bob?") && asked.contains("signed out everywhere"), "{asked}");
    bed.click("#confirm-yes").await;
    bed.wait_for("tr[data-user=bob] [data-action=disable]").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while bed.text("tr[data-user=bob] .state").await != "disabled" {
        assert!(tokio::time::Instant::now() < deadline, "bob never shown disabled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bed.wait_text("#users-notice", "bob is disabled and was signed out everywhere.").await;
    let grace = accounts(&bed).await;

    bed.wait_for("#search").await.send_keys("car").await.expect("type");
    bed.click("#user-search button[type=submit]").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.find_all(Locator::Css("table.users tbody tr")).await.map_or(0, |rows| rows.len()) != 1 {
        assert!(tokio::time::Instant::now() < deadline, "the search never narrowed the list");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bed.wait_for("tr[data-user=carol]").await;
    audit_log(&bed).await;
    duo_provider(&bed).await;
    policies(&bed).await;
    path_rules(&bed).await;
    alerts(&bed).await;
    pages(&bed).await;
    grace_chooses_her_password(&bed, &grace).await;
    bed.worker.assert_clean_log(&[&grace]);
    bed.browser.close().await;
}

/// Alerts: a webhook added from the page (its signing secret shown once,
/// then gone from the page), listed with its address up to the host, sent
/// a test alert that the receiver gets signed with that secret, and the
/// delivery listed.
async fn alerts(bed: &Bed) {
    let receiver = e2e::receiver::Receiver::start().await.expect("a receiver");
    bed.click("#tab-alerts").await;
    bed.wait_for("#webhooks[aria-busy=false]").await;
    bed.wait_for("#webhooks tr.empty").await;
    assert!(bed.path().await.ends_with("/admin/alerts"));
    bed.wait_for("#webhook-name").await.send_keys("ops").await.expect("type");
    let url = format!("{}/ok/T000/hook", receiver.origin);
    bed.wait_for("#webhook-url").await.send_keys(&url).await.expect("type");
    bed.wait_for("#webhook-format option[value=json]").await.click().await.expect("JSON");
    bed.click("#new-event-alerts_changed").await;
    bed.click("#add-webhook-submit").await;
    let secret = bed.text("#webhook-secret-value").await;
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
    let into_view = "document.querySelector('#webhook-secret').scrollIntoView({block: 'center'});";
    bed.browser.client.execute(into_view, vec![]).await.expect("scroll");
    bed.keep_screen("admin-alerts-secret").await;
    bed.click("#webhook-secret-done").await;
    bed.wait_gone("#webhook-secret").await;
    let page = bed.browser.client.source().await.expect("the page");
    assert!(!page.contains(&secret), "the secret left the page");
    assert_eq!(
        bed.text("tr[data-webhook=ops] td.destination code").await,
        format!("{}/…", receiver.origin)
    );
    assert_eq!(bed.text("tr[data-webhook=ops] td.state").await, "on");
    let events = bed.text("tr[data-webhook=ops] td.events").await;
    assert!(
        events.contains("Push reported as fraud") && !events.contains("Webhooks changed"),
        "{events}"
    );

    bed.click("tr[data-webhook=ops] [data-action=test]").await;
    bed.wait_text("#alerts-notice", "Test alert queued").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while bed
        .browser
        .client
        .find(Locator::Css("#deliveries tbody tr[data-kind=test][data-outcome=delivered]"))
        .await
        .is_err()
    {
        assert!(tokio::time::Instant::now() < deadline, "the test alert's delivery never listed");
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Ok(refresh) = bed.browser.client.find(Locator::Css("#deliveries-refresh")).await {
            let _ = refresh.click().await;
        }
    }
    // (A policy change saved just before may reach it too: the queue fans
    // an alert out to the webhooks there are when it is consumed.)
    let got: Vec<_> = receiver
        .to("/ok/T000/hook")
        .into_iter()
        .filter(|d| d.header(shared::alerts::KIND_HEADER) == "test")
        .collect();
    assert_eq!(got.len(), 1, "one test delivery");
    assert!(got[0].signed_with(&secret), "signed with the secret shown: {:?}", got[0]);
    bed.browser.client.execute("window.scrollTo(0, 0);", vec![]).await.expect("scroll");
    bed.keep_screen("admin-alerts").await;
    let into_view = "document.querySelector('#deliveries').scrollIntoView({block: 'center'});";
    bed.browser.client.execute(into_view, vec![]).await.expect("scroll");
    bed.keep_screen("admin-alerts-deliveries").await;
}

/// Sessions: a page of its own (back and forward move between pages);
/// bob's, in which browser, ended from the console once confirmed.
async fn sessions(bed: &Bed, bob_cookie: &str) {
    let c = &bed.browser.client;
    bed.click("#tab-sessions").await;
    bed.wait_for("tr[data-session-of=admin]").await;
    assert!(bed.path().await.ends_with("/admin/sessions"), "the page's own address");
    assert_eq!(bed.text("#tab-sessions[aria-current=page]").await, "Sessions");
    c.back().await.expect("back");
    bed.wait_for("table.users tr[data-user=dana]").await;
    assert!(bed.path().await.ends_with("/admin/users"), "back on the users page");
    c.forward().await.expect("forward");
    bed.wait_for("tr[data-session-of=admin]").await;
    // Filtered on the server: nobody signed in with Duo yet; then everyone again.
    bed.wait_for("#session-method").await.select_by_value("duo").await.expect("Duo");
    bed.click("#session-search button[type=submit]").await;
    bed.wait_text("table.sessions tr.empty", "No live session.").await;
    bed.wait_for("#session-method").await.select_by_value("").await.expect("any");
    bed.wait_for("#session-sort").await.select_by_value("last_active").await.expect("order");
    bed.click("#session-search button[type=submit]").await;
    bed.wait_for("table.sessions tr[data-session-of=bob]").await;
    let bob_session = |status: u16, why: &'static str| {
        let bob_cookie = bob_cookie.to_owned();
        let url = bed.worker.url(routes::SESSION);
        async move {
            let bob_now = reqwest::Client::new()
                .get(url)
                .header("Cookie", format!("__Host-session={bob_cookie}"))
                .send()
                .await
                .expect("bob's session");
            assert_eq!(bob_now.status().as_u16(), status, "{why}");
        }
    };
    let browser_of_bob = bed.text("tr[data-session-of=bob] .browser").await;
    assert_eq!(browser_of_bob, "Chrome on Linux", "the browser it was made in");
    assert!(bed.text("tr[data-session-of=bob] .last-active").await.contains("now"));
    bed.click("tr[data-session-of=bob] [data-action=end]").await;
    let asked = bed.text("#confirm").await;
    assert!(
        asked.contains("End this session of bob?") && asked.contains("Chrome on Linux"),
        "{asked}"
    );
    bed.click("#confirm-no").await;
    bed.wait_gone("#confirm").await;
    bob_session(200, "cancelled: nothing ended").await;
    bed.click("tr[data-session-of=bob] [data-action=end]").await;
    bed.click("#confirm-yes").await;
    bed.wait_gone("tr[data-session-of=bob]").await;
    bed.wait_text("#sessions-notice", "The session of bob was ended.").await;
    bed.wait_text("#trusted-browsers caption", "0 browsers").await;
    bed.wait_text("#trusted-browsers tr.empty", "No trusted browser.").await;
    bed.wait_for("#browsers-sort").await.select_by_value("last_used").await.expect("by use");
    bed.wait_text("#trusted-browsers tr.empty", "No trusted browser.").await;
    bed.keep_screen("admin-sessions").await;
    bob_session(401, "the console ended bob's session").await;
}

/// Empties an input and types `text` into it, as a person would.
async fn retype(bed: &Bed, css: &str, text: &str) {
    let field = bed.wait_for(css).await;
    let script = "arguments[0].value = '';";
    let element = serde_json::to_value(&field).expect("an element reference");
    bed.browser.client.execute(script, vec![element]).await.expect("empty the field");
    field.send_keys(text).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

/// The users page's forms: grace added (password only) with a generated
/// password (which then passes the first factor; returned), alice's password reset (the policy's
/// refusal in the Worker's words first), and alice's Duo username checked (a name carol
/// has) and saved.
async fn accounts(bed: &Bed) -> String {
    bed.click("#add-user-open").await;
    retype(bed, "#new-username", "grace").await;
    bed.wait_for("#new-policy").await.select_by_value("bypass").await.expect("password only");
    bed.click("#add-user-submit").await;
    let password = bed.text("#issued-password").await;
    assert_eq!((password.len(), password.matches('-').count()), (24, 4), "{password}");
    assert!(bed.text("#issued").await.contains("grace was added."));
    bed.wait_for("tr[data-user=grace]").await;
    bed.keep_screen("admin-add-user").await;
    let login = reqwest::Client::new()
        .post(bed.worker.url(routes::LOGIN))
        .header("Origin", bed.worker.origin.as_str())
        .json(&serde_json::json!({"username": "grace", "password": password}))
        .send()
        .await
        .expect("grace's login");
    let body: serde_json::Value = login.json().await.expect("JSON");
    assert_eq!(body["next"], serde_json::json!("done"), "the password shown works: {body}");
    assert_eq!(body["session"]["password_change_required"], serde_json::json!(true));
    bed.click("#issued-done").await;

    bed.click("tr[data-user=alice] [data-action=reset]").await;
    bed.click("#reset-type").await;
    // (The browser itself refuses fewer than 8 characters: `minlength`.)
    retype(bed, "#reset-password", "  Alice  ").await;
    bed.click("#reset-submit").await;
    let refused = bed.text(".problem.shown").await;
    assert!(refused.contains("The password must not be the username."), "{refused}");
    retype(bed, "#reset-password", "alice's new password").await;
    bed.click("#reset-submit").await;
    let done = bed.text("#issued").await;
    assert!(done.contains("alice has a new password") && done.contains("you typed"), "{done}");
    bed.click("#issued-done").await;

    bed.click("tr[data-user=alice] [data-action=duo-name]").await;
    retype(bed, "#duo-name", "carol").await;
    bed.click("#duo-name-check").await;
    let found = bed.text("#duo-name-result [data-healthy=false]").await;
    assert!(found.contains("carol already has the Duo username carol"), "{found}");
    assert!(found.contains("The Universal Prompt cannot look a name up"), "{found}");
    bed.keep_screen("admin-duo-username").await;
    retype(bed, "#duo-name", "alice.smith@example.com").await;
    bed.click("#duo-name-save").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !bed.text("tr[data-user=alice] .username").await.contains("Duo: alice.smith@example.com")
    {
        assert!(tokio::time::Instant::now() < deadline, "alice's Duo username not shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bed.wait_text("#users-notice", "Duo now knows alice as alice.smith@example.com.").await;
    password
}

/// The policies tab: two rules added (the second moved first), a dry run
/// of the draft from Tor and from the office, saved; a rule letting everyone
/// in without Duo saved only with the phrase, its banner, then removed; a
/// network with host bits refused in words, then the change discarded.
async fn policies(bed: &Bed) {
    let c = &bed.browser.client;
    bed.click("#tab-policies").await;
    // The saved set first: a rule added before it arrives would be replaced
    // by it (the draft starts empty, as the saved set does).
    bed.wait_text("#policies-version", "Version 1").await;
    bed.wait_for("#no-rules").await;
    bed.click("#rule-add").await;
    retype(bed, "#rule-0-name", "Office").await;
    bed.wait_for("#rule-0-action").await.select_by_value("bypass_duo").await.expect("action");
    retype(bed, "#rule-0-networks", "10.0.0.0/8, 2001:db8:1::/48").await;
    bed.click("#rule-add").await;
    retype(bed, "#rule-1-name", "Tor").await;
    bed.wait_for("#rule-1-action").await.select_by_value("deny").await.expect("action");
    retype(bed, "#rule-1-countries", "t1").await;
    bed.click("fieldset[data-rule='2'] [data-action=up]").await;
    assert_eq!(
        bed.wait_for("#rule-0-name").await.prop("value").await.expect("value").as_deref(),
        Some("Tor")
    );
    // Trusted browsers skip Duo only on a rule asking for Duo: neither here.
    bed.wait_for("#rule-0-users").await;
    for rule in ["#rule-0-remembered", "#rule-1-remembered"] {
        assert!(c.find(Locator::Css(rule)).await.is_err(), "{rule} offered");
    }
    // Names are checked as they are typed: one rule per name.
    retype(bed, "#rule-0-name", "office").await;
    let said = bed.text("#policies-invalid").await;
    assert!(said.contains("Rule 2 is named \"Office\" like rule 1"), "{said}");
    let save = bed.wait_for("#policies-save").await;
    assert!(!save.is_enabled().await.expect("state"), "not saved with two rules of one name");
    retype(bed, "#rule-0-name", "Tor").await;
    bed.wait_gone("#policies-invalid").await;
    // Another page and back: the draft is still there, and said to be.
    bed.wait_for("#tab-policies .unsaved-mark").await;
    bed.click("#tab-users").await;
    bed.wait_for("table.users tbody tr").await;
    bed.wait_for("#tab-policies .unsaved-mark").await;
    bed.click("#tab-policies").await;
    bed.wait_text("#policies-notice", "Your unsaved changes are kept").await;
    bed.wait_for("#policies-unsaved").await;
    assert_eq!(
        bed.wait_for("#rule-1-name").await.prop("value").await.expect("value").as_deref(),
        Some("Office")
    );

    retype(bed, "#dry-ip", "10.1.2.3").await;
    retype(bed, "#dry-country", "T1").await;
    bed.click("#dry-run button[type=submit]").await;
    bed.wait_for("#dry-run-result tr[data-user=alice][data-action=deny]").await;
    retype(bed, "#dry-country", "DE").await;
    bed.click("#dry-run button[type=submit]").await;
    let alice = bed.text("#dry-run-result tr[data-user=alice][data-action=bypass_duo]").await;
    assert!(alice.contains("#2 Office"), "{alice}");
    retype(bed, "#remember-days", "30").await;
    bed.click("#policies-save").await;
    bed.wait_text("#policies-notice", "Saved as version 2").await;
    let days = bed.wait_for("#remember-days").await.prop("value").await.expect("value");
    assert_eq!(days.as_deref(), Some("30"), "the days are saved with the rules");
    bed.wait_gone("#tab-policies .unsaved-mark").await;
    bed.wait_gone("#policies-unsaved").await;
    bed.keep_screen("admin-policies").await;
    policy_turning_duo_off(bed).await;

    retype(bed, "#rule-1-networks", "10.0.0.1/8").await;
    bed.click("#policies-save").await;
    let refused = bed.text(".problem.shown").await;
    assert!(
        refused.contains("Rule 2: (Office) network") && refused.contains("10.0.0.0/8"),
        "{refused}"
    );
    bed.click("#policies-reload").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while bed.wait_for("#rule-1-networks").await.prop("value").await.ok().flatten().as_deref()
        != Some("10.0.0.0/8, 2001:db8:1::/48")
    {
        assert!(tokio::time::Instant::now() < deadline, "the saved rules never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The app's path rules on the policies tab: one for the admin role and one
/// needing a fresh Duo approval, added in the browser; the dry run says which
/// decides a path however it is spelled; saved with the sign-in rules and
/// read back as typed.
async fn path_rules(bed: &Bed) {
    bed.click("#path-rule-add").await;
    retype(bed, "#path-0-name", "Console").await;
    retype(bed, "#path-0-path", "/admin/*").await;
    bed.wait_for("#path-0-access").await.select_by_value("admin").await.expect("needs");
    bed.click("#path-rule-add").await;
    retype(bed, "#path-1-name", "Payments").await;
    retype(bed, "#path-1-path", "/pay").await;
    retype(bed, "#path-1-methods", "post").await;
    bed.wait_for("#path-1-access").await.select_by_value("fresh").await.expect("needs");
    retype(bed, "#path-1-minutes", "5").await;
    retype(bed, "#dry-path", "/Admin/%75sers").await;
    bed.click("#dry-run button[type=submit]").await;
    let decided = bed.wait_text("#dry-run-access", "Console").await;
    assert!(decided.contains("the admin role") && decided.contains("#1 Console"), "{decided}");
    retype(bed, "#dry-method", "POST").await;
    retype(bed, "#dry-path", "/pay").await;
    bed.click("#dry-run button[type=submit]").await;
    let decided = bed.wait_text("#dry-run-access", "Payments").await;
    assert!(decided.contains("a Duo approval in the last 5 min"), "{decided}");
    bed.click("#policies-save").await;
    bed.wait_text("#policies-notice", "Saved as version 5").await;
    bed.click("#policies-reload").await;
    bed.wait_text("#policies-version", "Version 5").await;
    let value = |css: &'static str| async move {
        bed.wait_for(css).await.prop("value").await.expect("value").unwrap_or_default()
    };
    assert_eq!(value("#path-0-path").await, "/admin/*");
    assert_eq!(value("#path-1-methods").await, "POST", "saved in canonical form");
    assert_eq!(value("#path-1-minutes").await, "5");
    assert_eq!(value("#path-1-access").await, "fresh");
}

/// A rule for everyone that skips Duo is as far-reaching as turning Duo
/// off: saving it takes the phrase, and every tab shows a banner until it
/// is removed. Leaves the rules as they were (saved as version 4).
async fn policy_turning_duo_off(bed: &Bed) {
    bed.click("#rule-add").await;
    retype(bed, "#rule-2-name", "all").await;
    bed.wait_for("#rule-2-action").await.select_by_value("bypass_duo").await.expect("action");
    bed.click("#policies-save").await;
    let asked = bed.text("#policies-confirm").await;
    assert!(asked.contains("rule #3 \"all\" lets every user and admin in"), "{asked}");
    let confirm = bed.wait_for("#policies-save-confirm").await;
    assert!(!confirm.is_enabled().await.expect("state"), "not before the phrase is typed");
    bed.wait_for("#policies-phrase").await.send_keys(ENFORCE_OFF_PHRASE).await.expect("type");
    assert!(confirm.is_enabled().await.expect("state"));
    confirm.click().await.expect("save");
    bed.wait_text("#policies-notice", "Saved as version 3").await;
    bed.wait_gone("#policies-confirm").await;
    let banner = bed.text("#duo-bypass-banner").await;
    assert!(
        banner.contains("Duo is skipped by a sign-in policy: rule #3 \"all\"")
            && banner.contains("saved by admin"),
        "{banner}"
    );
    bed.click("#tab-duo").await;
    bed.wait_for("#duo-bypass-banner").await;
    bed.wait_text("#enforce-state", "But a sign-in policy skips Duo: rule #3").await;

    bed.click("#tab-policies").await;
    bed.click("fieldset[data-rule='3'] [data-action=remove]").await;
    bed.click("#policies-save").await;
    bed.wait_text("#policies-notice", "Saved as version 4").await;
    assert!(
        bed.browser.client.find(Locator::Css("#policies-confirm")).await.is_err(),
        "nothing to confirm without the rule"
    );
    bed.wait_gone("#duo-bypass-banner").await;
}

/// grace signs in with the password the console showed: she is asked to
/// choose her own before anything else, and then sees her account.
async fn grace_chooses_her_password(bed: &Bed, generated: &str) {
    let c = &bed.browser.client;
    c.delete_all_cookies().await.expect("delete cookies");
    c.goto(&bed.worker.url("/")).await.expect("open /");
    bed.wait_for("#login-form button[type=submit]:not([disabled])").await;
    bed.wait_for("#username").await.send_keys("grace").await.expect("type");
    bed.wait_for("#password").await.send_keys(generated).await.expect("type");
    bed.click("#login-form button[type=submit]").await;
    assert_eq!(bed.text("#account-title").await, "Choose your password");
    let details = bed.wait_for("#account-details").await;
    assert!(!details.is_displayed().await.expect("shown?"), "nothing else first");
    retype(bed, "#current-password", generated).await;
    retype(bed, "#new-password", "grace's own password").await;
    retype(bed, "#new-password-again", "grace's own passwrod").await;
    bed.click("#change-password-submit").await;
    assert!(bed.text("#password-mismatch").await.contains("differ"));
    retype(bed, "#new-password-again", "grace's own password").await;
    assert!(c.find(Locator::Css("#password-mismatch")).await.is_err(), "gone once retyped");
    bed.keep_screen("choose-password").await;
    bed.click("#change-password-submit").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while bed.text("#account-title").await != "You are signed in" {
        assert!(tokio::time::Instant::now() < deadline, "still asked to choose a password");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let notice = bed.text(".notice").await;
    assert!(notice.contains("Your password was changed"), "{notice}");
    assert!(details.is_displayed().await.expect("shown?"), "the account page now");
}

/// The audit tab: the sign-in log shows which policy decided; the admin log
/// searched for bob shows what the console just did to him, newest first;
/// the CSV download is a form POST of the search.
async fn audit_log(bed: &Bed) {
    bed.click("#tab-audit").await;
    bed.wait_for("table.audit tbody tr").await;
    let caption = bed.text("table.audit caption").await;
    assert!(caption.ends_with(" events"), "{caption}");
    bed.wait_text("table.audit thead", "Policy").await;
    // In words: alice's wrong password, and its codes in the detail view.
    let wrong = "table.audit tr[data-outcome=failure][data-event=login]";
    let said = bed.text(wrong).await;
    assert!(said.contains("Password") && said.contains("Wrong password"), "{said}");
    bed.click(&format!("{wrong} [data-action=details]")).await;
    let detail = bed.text("tr.event-detail").await;
    assert!(detail.contains("(bad_password)") && detail.contains("(login)"), "{detail}");
    bed.wait_for("#audit-log").await.select_by_value("admin").await.expect("the admin log");
    bed.wait_for("#audit-user").await.send_keys("bob").await.expect("type");
    bed.click("#audit-search button[type=submit]").await;
    bed.wait_count("table.audit tbody tr", 2).await; // revoke_session, disable
    let first = bed.text("table.audit tbody tr:first-child").await;
    assert!(first.contains("Disabled a user") && first.contains("admin"), "{first}");
    let second = bed.text("table.audit tbody tr:nth-child(2)").await;
    assert!(second.contains("Ended a session"), "{second}");
    // The session in words (how, in which browser), not only its hash.
    assert!(
        second.contains("method: password only (bypass)")
            && second.contains("browser: Chrome on Linux"),
        "{second}"
    );
    let header = bed.text("table.audit thead").await;
    assert!(!header.contains("Policy"), "the admin log has no policy: {header}");
    // The oldest first, to read what happened in order.
    bed.wait_for("#audit-order").await.select_by_value("oldest").await.expect("oldest first");
    bed.click("#audit-search button[type=submit]").await;
    bed.wait_text("table.audit tbody tr:first-child", "Ended a session").await;
    bed.wait_text("table.audit tbody tr:nth-child(2)", "Disabled a user").await;
    let form = bed.wait_for("#audit-csv-form").await;
    let method = form.attr("method").await.expect("method");
    let action = form.attr("action").await.expect("action");
    assert_eq!(
        (method.as_deref(), action.as_deref()),
        (Some("post"), Some(shared::api::routes::at(shared::admin::routes::AUDIT_CSV).as_str()))
    );
    for (name, value) in [("log", "admin"), ("user", "bob")] {
        let field = bed.wait_for(&format!("#audit-csv-form input[type=hidden][name={name}]")).await;
        assert_eq!(field.prop("value").await.expect("value").as_deref(), Some(value), "{name}");
    }
    let fields = bed.browser.client.find_all(Locator::Css("#audit-csv-form input")).await;
    assert_eq!(fields.map_or(0, |f| f.len()), 2, "only the search's fields");
    bed.wait_for("#audit-csv-form button#audit-csv[type=submit]").await;
    // An admin change as before → after.
    retype(bed, "#audit-user", "alice").await;
    bed.click("#audit-search button[type=submit]").await;
    let named = bed.text("table.audit tr[data-event=set_duo_username]").await;
    assert!(named.contains("Changed a Duo username"), "{named}");
    assert!(named.contains("duo username: none → alice.smith@example.com"), "{named}");
    bed.click("table.audit tr[data-event=set_duo_username] [data-action=details]").await;
    bed.wait_text("tr.event-detail", "(set_duo_username)").await;
    bed.keep_screen("admin-audit").await;
}

/// The Duo tab: the settings, "Test connection" against the emulator, and
/// turning Duo off (the phrase typed; the banner on every tab) and on.
async fn duo_provider(bed: &Bed) {
    let c = &bed.browser.client;
    bed.click("#tab-duo").await;
    assert!(bed.text("#duo-mode").await.starts_with("prompt"));
    assert_eq!(bed.text("#duo-key").await, "DIEM••••••••••••••T1");
    assert!(bed.text("#duo-rotate").await.contains("wrangler secret put DUO_CLIENT_SECRET"));
    bed.click("#duo-test").await;
    let result = bed.wait_for("#duo-test-result [data-ok=true]").await;
    let said = result.text().await.expect("text");
    assert!(said.contains("Duo answered the health check") && said.contains(" ms."), "{said}");

    bed.click("#enforce-off").await;
    let confirm = bed.wait_for("#enforce-off-confirm").await;
    assert!(!confirm.is_enabled().await.expect("state"), "not before the phrase is typed");
    bed.wait_for("#enforce-phrase").await.send_keys(ENFORCE_OFF_PHRASE).await.expect("type");
    assert!(confirm.is_enabled().await.expect("state"));
    confirm.click().await.expect("turn off");
    let banner = bed.text("#duo-off-banner").await;
    assert!(banner.contains("Duo is not enforced") && banner.contains("admin"), "{banner}");
    bed.wait_for("#enforce-on").await;
    bed.click("#duo-test").await;
    bed.wait_for("#duo-test-result [data-ok=true]").await;
    bed.keep_screen("admin-duo").await;
    bed.click("#tab-users").await;
    bed.wait_for("#duo-off-banner").await;
    bed.click("#tab-duo").await;
    bed.click("#enforce-on").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while c.find(Locator::Css("#duo-off-banner")).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "the banner stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bed.wait_for("#enforce-off").await;
}

/// The console's pages by address: a user's page (who, what can be done,
/// their sessions, browsers and sign-ins, Duo asked for their devices),
/// the filters, an address that names no page; then every page at 360 px
/// wide with nothing wider than the screen.
async fn pages(bed: &Bed) {
    let c = &bed.browser.client;
    let console = routes::at(routes::ADMIN_PAGE);
    c.goto(&bed.worker.app_url(&format!("{console}users/alice"))).await.expect("alice's page");
    assert_eq!(bed.text("#user-title").await, "alice");
    assert_eq!(bed.text("#user-facts .role").await, "user");
    bed.wait_text("#user-facts", "alice.smith@example.com").await;
    bed.wait_for("#user-events tbody tr").await;
    let sessions = c.find_all(Locator::Css("table.sessions tbody tr[data-session-of]")).await;
    for row in sessions.expect("rows") {
        let whose = row.attr("data-session-of").await.expect("attr");
        assert_eq!(whose.as_deref(), Some("alice"), "only alice's sessions");
    }
    assert_eq!(bed.text("#tab-users[aria-current=page]").await, "Users", "under Users");
    bed.click("#duo-devices-ask").await;
    bed.wait_for("#duo-devices-result [data-healthy]").await;
    bed.keep_screen("admin-user").await;
    bed.click(".row-actions [data-action=revoke]").await;
    bed.click("#confirm-yes").await;
    bed.wait_text("#user-notice", "alice was signed out everywhere.").await;
    // A role given and taken back: what happened, in words (not the button's label).
    bed.click(".row-actions [data-action=role]").await;
    bed.wait_text("#user-notice", "alice is now an admin.").await;
    bed.wait_text("#user-facts .role", "admin").await;
    bed.click(".row-actions [data-action=role]").await;
    let asked = bed.text("#confirm").await;
    assert!(asked.contains("Remove alice's admin role?"), "{asked}");
    bed.click("#confirm-yes").await;
    bed.wait_text("#user-notice", "alice is no longer an admin.").await;
    bed.click(".crumbs a").await;
    bed.wait_for("#user-search").await;
    bed.wait_for("#user-role").await.select_by_value("admin").await.expect("admins");
    bed.click("#user-search button[type=submit]").await;
    bed.wait_gone("tr[data-user=alice]").await;
    bed.wait_for("table.users[aria-busy=false] tr[data-user=dana]").await;
    let roles = c.find_all(Locator::Css("table.users tbody td.role")).await.expect("rows");
    assert!(roles.len() >= 2, "the admins: {}", roles.len());
    for role in roles {
        assert_eq!(role.text().await.expect("text"), "admin");
    }
    bed.wait_for("#user-state").await.select_by_value("held").await.expect("on hold");
    bed.click("#user-search button[type=submit]").await;
    bed.wait_text("table.users tr.empty", "No user matches").await;
    c.goto(&bed.worker.app_url(&format!("{console}nothing-here"))).await.expect("no page");
    bed.wait_text("#no-such-page", "No such page").await;

    // Every page at a desktop's width and a phone's: nothing wider than the
    // screen, and nothing axe-core finds wrong.
    for (width, screen_name) in [(1100, "desktop"), (360, "360")] {
        c.set_window_size(width, 800).await.expect("a window size");
        every_page(bed, screen_name).await;
    }
    c.set_window_size(1100, 900).await.expect("back to a desktop");
}

/// The overview: its figures are those of the audit log (every sign-in
/// and refusal of this test so far is in the last 24 hours), the chart
/// says the same for 24 hours and 7 days, and its lists name what was
/// refused.
async fn overview(bed: &Bed) {
    let c = &bed.browser.client;
    bed.wait_for("#hours-chart").await;
    assert_eq!(bed.text("#tab-overview[aria-current=page]").await, "Overview");
    let cookie = c.get_named_cookie("__Host-session").await.expect("the admin's session");
    let mut rows = Vec::new();
    for page in 1.. {
        let url =
            format!("{}?log=sign_ins&page={page}", bed.worker.url(shared::admin::routes::AUDIT));
        let list: shared::admin::AuditList = reqwest::Client::new()
            .get(url)
            .header("Cookie", format!("__Host-session={}", cookie.value()))
            .send()
            .await
            .expect("the audit log")
            .json()
            .await
            .expect("a page of it");
        let done = list.rows.is_empty() || page * list.page_size >= list.total;
        rows.extend(list.rows);
        if done {
            break;
        }
    }
    let signed_in = rows
        .iter()
        .filter(|r| {
            r.outcome == "success" && edge_core::flow::store::SIGNED_IN.contains(&r.reason.as_str())
        })
        .count();
    let refused = rows.iter().filter(|r| r.outcome == "failure").count();
    assert!(signed_in >= 2 && refused >= 1, "this test signed in and was refused: {rows:?}");
    assert_eq!(bed.text("#stat-signed-in .stat-value").await, signed_in.to_string());
    assert_eq!(bed.text("#stat-refused .stat-value").await, refused.to_string());
    let chart = bed.wait_for("#hours-chart").await;
    let said = |name: &'static str| {
        let chart = chart.clone();
        async move { chart.attr(name).await.expect("attr").unwrap_or_default() }
    };
    assert_eq!(said("data-signed-in").await, signed_in.to_string());
    assert_eq!(said("data-hours").await, "24");
    bed.click("#span-week").await;
    bed.wait_for("#hours-chart[data-hours='168']").await;
    let week = bed.wait_for("#hours-chart").await;
    assert_eq!(week.attr("data-refused").await.expect("attr"), Some(refused.to_string()));
    let wrong = bed.text("#refusals li[data-key=bad_password]").await;
    assert!(wrong.contains("Wrong password"), "{wrong}");
    bed.wait_for("#methods li[data-key=bypass]").await;
    bed.keep_screen("admin-overview").await;
}

/// Each console page at the window's size: no wider than the screen, no
/// accessibility violation, a screenshot `admin-<size>-<page>`.
async fn every_page(bed: &Bed, size: &str) {
    let c = &bed.browser.client;
    let console = routes::at(routes::ADMIN_PAGE);
    for (page, shown) in [
        ("", "#hours-chart"),
        ("users", "table.users tbody tr"),
        ("users/alice", "#user-facts"),
        ("sessions", "tr[data-session-of=admin]"),
        ("audit", "table.audit tbody tr"),
        ("policies", "#rules[aria-busy=false] fieldset"),
        ("duo", "#duo-mode"),
        ("alerts", "#webhooks[aria-busy=false]"),
    ] {
        c.goto(&bed.worker.app_url(&format!("{console}{page}"))).await.expect("open the page");
        bed.wait_for(shown).await;
        let widths = c
            .execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![])
            .await
            .expect("widths");
        let (page_width, screen) = (widths[0].as_u64(), widths[1].as_u64());
        if page_width > screen {
            // What sticks out, to say where to look.
            let wider = c
                .execute(
                    "return [...document.querySelectorAll('body *')]\
                     .filter(e => e.getBoundingClientRect().right > window.innerWidth)\
                     .filter(e => e.parentElement.getBoundingClientRect().right <= window.innerWidth)\
                     .slice(0, 5).map(e => e.outerHTML.slice(0, 160));",
                    vec![],
                )
                .await
                .expect("what sticks out");
            panic!("/admin/{page} is {page_width:?} px wide on a {screen:?} px screen: {wider}");
        }
        let name = if page.is_empty() { "overview" } else { page }.replace('/', "-");
        let violations = bed.browser.accessibility_violations().await.expect("axe");
        assert!(violations.is_empty(), "/admin/{page} at {size}: {violations:#?}");
        if size == "360" {
            bed.keep_screen(&format!("admin-360-{name}")).await;
        }
    }
}
