//! Scheduled maintenance (the Cron Trigger, `wrangler dev --test-scheduled`)
//! over the real D1 database, and the rules the database keeps itself
//! (`migrations/0003_pruning_and_duo_identity.sql`).
//!
//! | test | rule |
//! |---|---|
//! | `the_cron_trigger_prunes_and_summarizes` | expired sessions, old spent states, finished windows, audit events past retention and expired remembered browsers are deleted; a counter over its limit becomes one summary row; a flooding client writes one audit row, not one per request; an account's wrong-passcode count kept while the account exists (a deleted one's pruned), a login's passcode count kept while the login can be |
//! | `the_database_keeps_its_own_rules` | audit events younger than 30 days cannot be deleted; two accounts cannot share a Duo username |

use std::time::Duration;

use e2e::{Wrangler, default_vars, unix_now};
use serde_json::Value;
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";

fn hex(c: char) -> String {
    c.to_string().repeat(64)
}

async fn worker(extra_sql: &[&str]) -> Wrangler {
    Wrangler::start_seeded(&default_vars(APP_ORIGIN), extra_sql)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn rows(worker: &Wrangler, sql: &str) -> Vec<Value> {
    worker.query(sql).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn count(worker: &Wrangler, sql: &str) -> u64 {
    rows(worker, sql).await[0]["n"].as_u64().expect("a count named n")
}

async fn wrong_password(http: &reqwest::Client, worker: &Wrangler, ip: &str) -> u16 {
    let body = serde_json::json!({ "username": "carol", "password": "wrong" });
    http.post(worker.url(routes::LOGIN))
        .header("Origin", APP_ORIGIN)
        .header("CF-Connecting-IP", ip)
        .json(&body)
        .send()
        .await
        .expect("POST /api/login")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cron_trigger_prunes_and_summarizes() {
    let now = unix_now();
    let old_window = now - now % 900 - 1800;
    let setup = format!(
        "INSERT INTO sessions (id_hash, username, method, created_at, expires_at) VALUES \
           ('{a}', 'alice', 'bypass', {old}, {expired}), \
           ('{b}', 'alice', 'bypass', {now}, {live}); \
         INSERT INTO spent_states (state_hash, spent_at) VALUES ('{c}', {hour_ago}), ('{d}', {now}); \
         INSERT INTO auth_events (at, username, step, outcome, reason) VALUES \
           ({year_ago}, 'old-event', 'login', 'failure', 'bad_password'), \
           ({month_ago}, 'recent-event', 'login', 'failure', 'bad_password'); \
         INSERT INTO admin_events (at, actor, action, target) VALUES \
           ({year_ago}, 'admin', 'disable', 'old-target'), \
           ({month_ago}, 'admin', 'disable', 'recent-target'); \
         INSERT INTO login_attempts (limit_key, window_start, count, updated_at) VALUES \
           ('uc:mallory|203.0.113.66', {old_window}, 47, {old_window}), \
           ('c:203.0.113.67', {old_window}, 3, {old_window}), \
           ('pa:alice', 0, 20, {old_window}), ('pa:ghost', 0, 3, {old_window}), \
           ('pc:alice|{old_window}', {old_window}, 9, {old_window}), \
           ('pc:alice|{now}', {this_window}, 9, {now}); \
         INSERT INTO remembered_browsers (id_hash, username, created_at, expires_at) VALUES \
           ('{e}', 'alice', {old}, {expired}), ('{f}', 'alice', {now}, {live});",
        a = hex('a'),
        b = hex('b'),
        c = hex('c'),
        d = hex('d'),
        e = hex('e'),
        f = hex('f'),
        old = now - 200_000,
        this_window = now - now % 900,
        expired = now - 100_000,
        live = now + 3600,
        hour_ago = now - 3601,
        year_ago = now - 400 * 86_400,
        month_ago = now - 29 * 86_400,
    );
    let worker = worker(&[&setup]).await;
    let http = reqwest::Client::new();

    // A client over its limit: five failures, then refusals; one audit row
    // for the first refusal only.
    let ip = "198.51.100.99";
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(wrong_password(&http, &worker, ip).await);
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 10, "{statuses:?}");
    let by_ip = format!("SELECT count(*) AS n FROM auth_events WHERE client_ip = '{ip}'");
    assert_eq!(count(&worker, &by_ip).await, 6);

    worker.run_scheduled().await.unwrap_or_else(|e| panic!("{e}"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !worker.log().contains("maintenance: deleted") {
        assert!(tokio::time::Instant::now() < deadline, "no maintenance line in the log");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        worker.log().contains(
            "maintenance: deleted 1 sessions, 1 spent states, 4 rate-limit counters \
             (1 summarized in the audit log), 1 audit events, 1 admin events and 1 remembered \
             browsers"
        ),
        "{}",
        worker.log_path().display()
    );

    let sessions = rows(&worker, "SELECT id_hash FROM sessions ORDER BY id_hash").await;
    assert_eq!(sessions, [serde_json::json!({ "id_hash": hex('b') })]);
    let states = rows(&worker, "SELECT state_hash FROM spent_states").await;
    assert_eq!(states, [serde_json::json!({ "state_hash": hex('d') })]);
    let kept =
        "SELECT count(*) AS n FROM auth_events WHERE username IN ('old-event', 'recent-event')";
    assert_eq!(count(&worker, kept).await, 1, "the month-old event stays");
    let admin_kept = rows(&worker, "SELECT target FROM admin_events ORDER BY at").await;
    assert_eq!(admin_kept, [serde_json::json!({ "target": "recent-target" })]);
    let summary = rows(
        &worker,
        "SELECT username, step, outcome, reason, client_ip, repeats FROM auth_events \
         WHERE repeats > 0",
    )
    .await;
    assert_eq!(
        summary,
        [serde_json::json!({
            "username": "mallory", "step": "login", "outcome": "rate_limited",
            "reason": "user_client_limit", "client_ip": "203.0.113.66", "repeats": 41,
        })]
    );
    // An account's wrong passcodes stay while it exists (not summarized:
    // each refusal was audited); a login's stay while the login can.
    let passcodes = rows(
        &worker,
        "SELECT limit_key FROM login_attempts WHERE limit_key LIKE 'p%' ORDER BY limit_key",
    )
    .await;
    assert_eq!(
        passcodes,
        [
            serde_json::json!({ "limit_key": "pa:alice" }),
            serde_json::json!({ "limit_key": format!("pc:alice|{now}") }),
        ]
    );
    // This window's counters stay.
    let current = format!("SELECT count(*) AS n FROM login_attempts WHERE limit_key LIKE '%{ip}'");
    assert_eq!(count(&worker, &current).await, 2);
    worker.assert_clean_log(&[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_keeps_its_own_rules() {
    let event = "INSERT INTO auth_events (at, username, step, outcome, reason) \
                 VALUES (unixepoch() - 29 * 86400, 'alice', 'login', 'failure', 'bad_password')";
    let worker = worker(&[event]).await;
    let recent = worker.query("DELETE FROM auth_events WHERE at > 0").await;
    let error = recent.expect_err("recent audit events cannot be deleted");
    assert!(error.contains("append-only for 30 days"), "{error}");

    let shared = "UPDATE users SET duo_username = ' ALICE ' WHERE username_normalized = 'bob'";
    let error = worker.query(shared).await.expect_err("bob cannot be alice at Duo");
    assert!(error.contains("another user already has this Duo username"), "{error}");
    let fine =
        "UPDATE users SET duo_username = 'bob@example.com' WHERE username_normalized = 'bob'";
    worker.query(fine).await.unwrap_or_else(|e| panic!("{e}"));
}
