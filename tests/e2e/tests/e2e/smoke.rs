//! Walking-skeleton smoke tests: the real Worker under `wrangler dev` serves
//! the SPA, the SPA renders in headless Chromium, and `/api/health` follows
//! the contract.

use std::time::Duration;

use e2e::{Browser, SessionPost, Wrangler, default_vars};
use fantoccini::Locator;
use shared::api::{DuoReachability, HealthResponse, ServiceStatus};

/// How long the SPA gets to download, compile and render.
const RENDER_TIMEOUT: Duration = Duration::from_secs(30);

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        let holds: bool = $cond;
        if !holds {
            return Err(format!($($msg)+));
        }
    };
}

/// Runs `steps` with a browser; on failure saves a screenshot named after the
/// test into `target/test-output/` before failing.
async fn with_browser<F>(name: &str, steps: F)
where
    F: AsyncFnOnce(&Browser) -> Result<(), String>,
{
    let browser = Browser::start().await.unwrap_or_else(|e| panic!("browser: {e}"));
    let outcome = steps(&browser).await;
    if let Err(message) = outcome {
        let shot = browser.screenshot(&format!("{name}-failure")).await;
        browser.close().await;
        panic!("{message} (screenshot: {shot:?})");
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn login_page_renders_and_service_is_ready() {
    let vars = default_vars("http://localhost");
    let worker = Wrangler::start(&vars).await.unwrap_or_else(|e| panic!("{e}"));

    // The contract: 200 {"status":"ok","duo":"unknown"} before any Duo call.
    let response = reqwest::get(worker.url("/api/health")).await.expect("GET /api/health");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: HealthResponse = response.json().await.expect("health JSON");
    assert_eq!(body, HealthResponse::ok(DuoReachability::Unknown));

    // The login's page, under its prefix, with hardened headers.
    let response = reqwest::get(worker.url("/")).await.expect("GET the sign-in page");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    // Not no-referrer: that would send the "Log in with Duo" form POST with
    // `Origin: null`, which the Worker refuses (browser_flow.rs).
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    // A strict CSP (scripts from the origin only, no inline script at all,
    // wasm allowed): the browser check below proves it lets the app start.
    let csp = response.headers()["content-security-policy"].to_str().unwrap_or_default();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval';")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-inline")
            && !csp.contains("sha256-"),
        "unexpected CSP: {csp}"
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("<title>Sign in</title>"), "index.html expected, got: {html}");
    // Every script is an external file (under Subresource Integrity).
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "no script in index.html: {html}");
    for script in scripts {
        let (tag, rest) = script.split_once('>').unwrap_or((script, ""));
        assert!(
            tag.contains(&format!(" src=\"{}/", shared::api::routes::PREFIX))
                && tag.contains(" integrity=\"sha384-")
                && rest.starts_with("</script>"),
            "inline or unpinned script in index.html: <script{script}"
        );
    }
    assert!(!html.contains("login-form"), "the form must come from wasm, not the HTML");

    // Unknown API paths are JSON errors, not the SPA.
    let response = reqwest::get(worker.url("/api/nope")).await.expect("GET /api/nope");
    assert_eq!(response.status().as_u16(), 404);

    with_browser("login_page_renders", async |browser| {
        let c = &browser.client;
        c.goto(&worker.url("/")).await.map_err(|e| e.to_string())?;
        let form = c
            .wait()
            .at_most(RENDER_TIMEOUT)
            .for_element(Locator::Css("form#login-form"))
            .await
            .map_err(|e| format!("login form not rendered: {e}"))?;
        for id in ["#username", "#password"] {
            form.find(Locator::Css(id)).await.map_err(|e| format!("{id}: {e}"))?;
        }
        // The button waits for /api/health; it becomes usable once the
        // answer is in, and a ready service shows no health alert.
        let button =
            form.find(Locator::Css("button[type=submit]")).await.map_err(|e| e.to_string())?;
        let mut enabled = false;
        for _ in 0..100 {
            enabled = button.is_enabled().await.map_err(|e| e.to_string())?;
            if enabled {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        check!(enabled, "submit still disabled while the service is ready");
        let alerts = c.find_all(Locator::Css(".status.error")).await.map_err(|e| e.to_string())?;
        check!(alerts.is_empty(), "health alert shown while the service is ready");
        browser.screenshot("login").await?;

        // A phone: 360 CSS px wide, nothing wider than the screen.
        c.set_window_size(360, 740).await.map_err(|e| e.to_string())?;
        let widths = c
            .execute(
                "const f = document.querySelector('form#login-form').getBoundingClientRect();\
                 return [window.innerWidth, document.documentElement.scrollWidth, f.left, f.right];",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        let px = |i: usize| widths[i].as_f64().unwrap_or(f64::NAN);
        check!(px(0) <= 360.0, "window not narrow: {widths}");
        check!(px(1) <= px(0), "the page scrolls sideways at {} px: {widths}", px(0));
        check!(px(2) >= 0.0 && px(3) <= px(0), "the form overflows at {} px: {widths}", px(0));
        browser.screenshot("login-360px").await?;

        // Dark theme: the page follows the system's colour scheme.
        let light = background_luminance(c).await?;
        c.issue_cmd(SessionPost {
            path: "goog/cdp/execute",
            body: serde_json::json!({
                "cmd": "Emulation.setEmulatedMedia",
                "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
            }),
        })
        .await
        .map_err(|e| format!("emulating a dark colour scheme: {e}"))?;
        let dark = background_luminance(c).await?;
        check!(light > 0.5 && dark < 0.2, "backgrounds: light theme {light}, dark theme {dark}");
        browser.screenshot("login-dark").await?;
        Ok(())
    })
    .await;
}

/// The page background's relative brightness, 0 (black) to 1 (white).
async fn background_luminance(c: &fantoccini::Client) -> Result<f64, String> {
    let value = c
        .execute(
            "const m = getComputedStyle(document.documentElement).backgroundColor\
               .match(/\\d+(\\.\\d+)?/g).map(Number);\
             return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255;",
            vec![],
        )
        .await
        .map_err(|e| format!("background colour: {e}"))?;
    value.as_f64().ok_or_else(|| format!("background colour: {value}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn misconfigured_worker_names_the_setting_and_page_explains() {
    let mut vars = default_vars("http://localhost");
    for (name, value) in &mut vars {
        if name == "DUO_CLIENT_ID" {
            value.clear();
        }
    }
    let worker = Wrangler::start(&vars).await.unwrap_or_else(|e| panic!("{e}"));

    let response = reqwest::get(worker.url("/api/health")).await.expect("GET /api/health");
    assert_eq!(response.status().as_u16(), 503);
    let body: HealthResponse = response.json().await.expect("health JSON");
    assert_eq!(body.status, ServiceStatus::ConfigError);
    assert_eq!(body.setting.as_deref(), Some("DUO_CLIENT_ID"));

    with_browser("misconfigured", async |browser| {
        let c = &browser.client;
        c.goto(&worker.url("/")).await.map_err(|e| e.to_string())?;
        let alert = c
            .wait()
            .at_most(RENDER_TIMEOUT)
            .for_element(Locator::Css(".status.error.health"))
            .await
            .map_err(|e| format!("no alert rendered: {e}"))?;
        let text = alert.text().await.map_err(|e| e.to_string())?;
        check!(text.contains("DUO_CLIENT_ID"), "alert does not name the setting: {text:?}");
        let button = c
            .find(Locator::Css("#login-form button[type=submit]"))
            .await
            .map_err(|e| e.to_string())?;
        check!(
            !button.is_enabled().await.map_err(|e| e.to_string())?,
            "submit enabled while broken"
        );
        Ok(())
    })
    .await;
}
