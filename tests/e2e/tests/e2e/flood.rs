//! The flood filter (issue #27): Cloudflare's Rate Limiting binding, as
//! `wrangler dev` runs it, in front of the password step and the Duo steps.
//!
//! | step | what it checks |
//! |---|---|
//! | a flood of guesses from one address | past the binding's 100 in 10 seconds, answered `429 rate_limited` with `Retry-After: 10` before D1: the exact limit's counter in D1 holds only the requests that got through, so the refused ones cost neither a password hash nor a write |
//! | another address | signs in |
//! | the prompt's form from the flooded address | sent to the sign-in page with `?error=rate_limited&wait=10` |

use e2e::{Wrangler, default_vars};
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
const FLOODER: &str = "198.51.100.90";
/// Well over two windows' worth of the limit (100 in 10 s): a window that
/// turns during the flood (a few seconds) still leaves many refused.
const GUESSES: usize = 250;

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_is_refused_before_the_password_and_the_database() {
    let worker = Wrangler::start(&default_vars(APP_ORIGIN)).await.unwrap_or_else(|e| panic!("{e}"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let login = |username: String, password: &str, ip: &str| {
        http.post(worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("CF-Connecting-IP", ip)
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
    };
    let burst = || async {
        let mut burst = tokio::task::JoinSet::new();
        for n in 0..120 {
            burst.spawn(login(format!("burst-{n}"), "guess", FLOODER));
        }
        burst.join_all().await;
    };
    // All at once, as a flood comes: one window of the binding's.
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..GUESSES {
        let request = login(format!("flood-{n}"), "guess", FLOODER);
        guesses.spawn(async move {
            let response = request.await.expect("a guess");
            let status = response.status().as_u16();
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, wait, body)
        });
    }
    let mut flooded = 0;
    for (status, wait, body) in guesses.join_all().await {
        let by_filter = body["message"].as_str().is_some_and(|m| m.contains("from this address"));
        if by_filter {
            assert_eq!((status, wait.as_deref()), (429, Some("10")), "{body}");
            assert_eq!(body["code"], "rate_limited");
            flooded += 1;
        } else {
            assert!(status == 401 || status == 429, "{status} {body}");
        }
    }
    assert!(flooded >= 50, "{flooded} of {GUESSES} refused by the filter");
    // Only the requests that got through were counted in D1.
    let counted = worker
        .query(&format!("SELECT count FROM login_attempts WHERE limit_key = 'c:{FLOODER}'"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let counted: usize = counted
        .iter()
        .filter_map(|row| row["count"].as_u64())
        .sum::<u64>()
        .try_into()
        .expect("a count");
    assert_eq!(counted + flooded, GUESSES, "the refused ones never reached D1");

    // Another address is not affected.
    let response =
        login("admin".to_owned(), "admin-demo-pass", "198.51.100.91").await.expect("admin");
    assert_eq!(response.status().as_u16(), 200);

    // The prompt's form (a navigation) from the flooded address, right after
    // another burst (again if the window turned in between).
    let page = format!("{}?error=rate_limited&wait=10", routes::at(routes::PAGE));
    let mut sent_to = String::new();
    for _ in 0..3 {
        burst().await;
        let response = http
            .post(worker.url(routes::DUO_START))
            .header("Origin", APP_ORIGIN)
            .header("CF-Connecting-IP", FLOODER)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .expect("POST /auth/duo/start");
        assert_eq!(response.status().as_u16(), 303);
        sent_to = response.headers()["location"].to_str().unwrap_or_default().to_owned();
        if sent_to == page {
            break;
        }
    }
    assert_eq!(sent_to, page, "the form is sent back to the page with the wait");
    assert!(worker.log().contains("flood: refused"), "said in the log");
    worker.assert_clean_log(&[]);
}
