//! The admin API over HTTP under `wrangler dev` (its own migrated and seeded
//! D1): roles read on every request, the user list, changes audited in
//! `admin_events`, and the database keeping an enabled admin.
//!
//! | test | contract clause |
//! |---|---|
//! | `only_admins_list_and_change_users` | no session 401; a `user` session 403 `forbidden` on every admin route (users, change, sessions, audit, the CSV POST); the demo admins (`admin`, `dana`) listed with their roles; search and paging; disable (the user's sessions end), set policy, demote, each with an `admin_events` row naming the admin, the action, the user and the client; one's own role or enabled state `forbidden`; no `Origin` `forbidden_origin`; an unknown user `bad_request`; the session JSON carries the role |
//! | `the_audit_log_shows_and_exports_it` (part of the first) | the admin log by user, the sign-in log by user and outcome, an unreadable search `bad_request`, the CSV export a form POST (headers, columns, rows) recorded as `export_audit`; a GET, a POST from another origin or none export and record nothing |
//! | `the_database_keeps_an_enabled_admin` | a statement from outside that would disable the last enabled admin is refused by migration 0004's trigger |

use e2e::{Wrangler, cookie_value, default_vars, set_cookie};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::admin::routes as admin;
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
const SESSION_COOKIE: &str = "__Host-session";

struct Bed {
    worker: Wrangler,
    http: reqwest::Client,
}

impl Bed {
    async fn start(extra_sql: &[&str]) -> Self {
        let worker = Wrangler::start_seeded(&default_vars(APP_ORIGIN), extra_sql)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Self { worker, http: reqwest::Client::new() }
    }

    /// A session of a password-only user.
    async fn session(&self, username: &str) -> String {
        let body = json!({"username": username, "password": format!("{username}-demo-pass")});
        let response = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 200, "login of {username}");
        cookie_value(&set_cookie(response.headers(), SESSION_COOKIE).expect("a session"))
    }

    async fn list(&self, cookie: Option<&str>, query: &str) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{query}", self.worker.url(admin::USERS)));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", format!("{SESSION_COOKIE}={cookie}"));
        }
        let response = request.send().await.expect("list");
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` with a session: the status and the body's text.
    async fn get(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(self.worker.url(path))
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .header("CF-Connecting-IP", "203.0.113.9")
            .send()
            .await
            .expect("GET");
        (response.status(), response.text().await.unwrap_or_default())
    }

    /// The console's "Download CSV": a form POST of the search `form`.
    async fn csv(&self, cookie: &str, form: &str, origin: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.worker.url(admin::AUDIT_CSV))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .header("CF-Connecting-IP", "203.0.113.9")
            .body(form.to_owned());
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.expect("CSV")
    }

    async fn change(&self, cookie: &str, body: Value, origin: Option<&str>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.worker.url(admin::USER_CHANGE))
            .header("Content-Type", "application/json")
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .header("CF-Connecting-IP", "203.0.113.9")
            .body(body.to_string());
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let response = request.send().await.expect("change");
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }
}

/// The admin lists the live sessions and ends bob's.
async fn end_bobs_session(bed: &Bed, admin: &str, bob: &str) {
    let sessions: Value = bed
        .http
        .get(bed.worker.url(admin::SESSIONS))
        .header("Cookie", format!("{SESSION_COOKIE}={admin}"))
        .send()
        .await
        .expect("sessions")
        .json()
        .await
        .expect("JSON");
    let bobs = sessions["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["username"] == json!("bob")))
        .cloned()
        .expect("bob's session");
    assert_eq!(bobs["method"], json!("bypass"));
    let ended = bed
        .http
        .post(bed.worker.url(admin::SESSION_REVOKE))
        .header("Origin", APP_ORIGIN)
        .header("Content-Type", "application/json")
        .header("Cookie", format!("{SESSION_COOKIE}={admin}"))
        .header("CF-Connecting-IP", "203.0.113.9")
        .body(json!({"id": bobs["id"]}).to_string())
        .send()
        .await
        .expect("revoke");
    assert_eq!(ended.status(), 204);
    assert_eq!(bed.list(Some(bob), "").await.0, 401, "bob's session ended");
}

fn user<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["username"] == json!(name)))
        .unwrap_or_else(|| panic!("{name} not in {list}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn only_admins_list_and_change_users() {
    // bob signs in with the password alone here: a plain `user` session.
    let bed = Bed::start(&["UPDATE users SET duo_policy = 'bypass' WHERE username = 'bob';"]).await;
    let (admin, bob) = (bed.session("admin").await, bed.session("bob").await);

    assert_eq!(bed.list(None, "").await.0, 401);
    let (status, body) = bed.list(Some(&bob), "").await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("forbidden")));
    let (status, body) = bed
        .change(&bob, json!({"username": "carol", "change": {"disabled": true}}), Some(APP_ORIGIN))
        .await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("forbidden")));
    for path in [admin::SESSIONS, admin::AUDIT] {
        let (status, body) = bed.get(&bob, path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains(r#""code":"forbidden""#), "{path}: {body}");
    }
    let refused = bed.csv(&bob, "log=sign_ins", Some(APP_ORIGIN)).await;
    assert_eq!(refused.status(), 403, "a user exports nothing");

    let (status, list) = bed.list(Some(&admin), "").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], json!(6));
    assert_eq!(user(&list, "admin")["role"], json!("admin"));
    assert_eq!(user(&list, "dana")["role"], json!("admin"));
    assert_eq!(user(&list, "admin")["last_login_method"], json!("bypass"));
    assert_eq!(user(&list, "erin")["disabled"], json!(true));
    let (_, found) = bed.list(Some(&admin), "?q=CAR&page=1").await;
    assert_eq!(
        (found["total"].as_u64(), found["users"][0]["username"].as_str()),
        (Some(1), Some("carol"))
    );
    let (_, beyond) = bed.list(Some(&admin), "?page=9").await;
    assert_eq!(beyond["users"], json!([]));

    let session: Value = bed
        .http
        .get(bed.worker.url(routes::SESSION))
        .header("Cookie", format!("{SESSION_COOKIE}={admin}"))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("JSON");
    assert_eq!(session["role"], json!("admin"));

    end_bobs_session(&bed, &admin, &bob).await;
    let bob = bed.session("bob").await;

    // Changes, each audited.
    for change in [json!({"disabled": true}), json!({"duo_policy": "bypass"})] {
        let (status, body) = bed
            .change(&admin, json!({"username": "bob", "change": change}), Some(APP_ORIGIN))
            .await;
        assert_eq!(status, 204, "{body}");
    }
    let (_, list) = bed.list(Some(&admin), "?q=bob").await;
    assert_eq!(user(&list, "bob")["disabled"], json!(true));
    assert_eq!(bed.list(Some(&bob), "").await.0, 401, "disabling bob ended his session");
    let (status, _) = bed
        .change(&admin, json!({"username": "dana", "change": {"role": "user"}}), Some(APP_ORIGIN))
        .await;
    assert_eq!(status, 204);
    let events = bed
        .worker
        .query("SELECT actor, action, target, client_ip FROM admin_events ORDER BY id")
        .await
        .expect("admin events");
    let seen: Vec<(String, String, String, String)> = events
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("actor"), text("action"), text("target"), text("client_ip"))
        })
        .collect();
    let expected = [
        ("revoke_session", "bob"),
        ("disable", "bob"),
        ("set_duo_policy", "bob"),
        ("set_role", "dana"),
    ]
    .map(|(a, t)| ("admin".to_owned(), a.to_owned(), t.to_owned(), "203.0.113.9".to_owned()));
    assert_eq!(seen, expected);
    the_audit_log_shows_and_exports_it(&bed, &admin).await;

    // Refusals.
    let (status, body) = bed
        .change(
            &admin,
            json!({"username": "admin", "change": {"disabled": true}}),
            Some(APP_ORIGIN),
        )
        .await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("forbidden")));
    assert!(body["message"].as_str().is_some_and(|m| m.contains("yourself")), "{body}");
    let (status, body) =
        bed.change(&admin, json!({"username": "carol", "change": "revoke_sessions"}), None).await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (403, Some("forbidden_origin")));
    let (status, body) = bed
        .change(
            &admin,
            json!({"username": "nobody", "change": "revoke_sessions"}),
            Some(APP_ORIGIN),
        )
        .await;
    assert_eq!((status.as_u16(), body["code"].as_str()), (400, Some("bad_request")));
    bed.worker.assert_clean_log(&[]);
}

/// The console's audit log: the admin log as recorded above, the sign-in
/// log filtered, an unreadable search refused, and a CSV export that is
/// itself recorded.
async fn the_audit_log_shows_and_exports_it(bed: &Bed, admin: &str) {
    let (status, body) = bed.get(admin, &format!("{}?log=admin&user=bob", admin::AUDIT)).await;
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).expect("JSON");
    let actions: Vec<&str> =
        list["rows"].as_array().expect("rows").iter().filter_map(|r| r["event"].as_str()).collect();
    assert_eq!(
        actions,
        ["set_duo_policy", "disable", "revoke_session"],
        "what was done to bob, newest first"
    );
    assert_eq!(list["rows"][0]["user"], json!("admin"));

    let (_, body) = bed.get(admin, &format!("{}?user=bob&outcome=success", admin::AUDIT)).await;
    let list: Value = serde_json::from_str(&body).expect("JSON");
    let rows = list["rows"].as_array().expect("rows");
    assert!(!rows.is_empty(), "bob signed in: {body}");
    assert!(rows.iter().all(|r| r["user"] == json!("bob") && r["outcome"] == json!("success")));
    let (status, body) = bed.get(admin, &format!("{}?outcome=maybe", admin::AUDIT)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("outcome must be"), "{body}");

    // A GET (a link on another site) exports nothing, and so does a POST
    // from another origin or none: nothing recorded in the admin's name.
    let (status, _) = bed.get(admin, &format!("{}?log=sign_ins&user=bob", admin::AUDIT_CSV)).await;
    assert_eq!(status, 404, "no GET export");
    for origin in [Some("https://evil.example"), None] {
        let refused = bed.csv(admin, "log=sign_ins&user=bob", origin).await;
        assert_eq!(refused.status(), 403, "{origin:?}");
    }
    let none = bed
        .worker
        .query("SELECT count(*) AS n FROM admin_events WHERE action = 'export_audit'")
        .await
        .expect("count");
    assert_eq!(none, [json!({"n": 0})], "a refused export records nothing");

    let response = bed.csv(admin, "log=sign_ins&user=bob", Some(APP_ORIGIN)).await;
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(header("content-disposition"), r#"attachment; filename="audit-sign_ins.csv""#);
    assert_eq!(header("cache-control"), "no-store");
    let csv = response.text().await.expect("text");
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("time_utc,username,step,outcome,reason,duo_txid,client_ip,repeats,policy")
    );
    let data: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let (_, body) = bed.get(admin, &format!("{}?user=bob", admin::AUDIT)).await;
    let all_of_bob: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(Some(data.len() as u64), all_of_bob["total"].as_u64(), "every row of the search");
    assert!(data.iter().all(|l| l.split(',').nth(1) == Some("bob")), "{csv}");
    assert!(data.iter().any(|l| l.contains(",login,success,")), "{csv}");
    let export = bed
        .worker
        .query("SELECT actor, detail FROM admin_events WHERE action = 'export_audit'")
        .await
        .expect("the export's record");
    assert_eq!(export, [json!({"actor": "admin", "detail": r#"{"log":"sign_ins","user":"bob"}"#})]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_keeps_an_enabled_admin() {
    // Statements from outside, before the Worker has written anything.
    let bed = Bed::start(&[]).await;
    bed.worker
        .query("UPDATE users SET role = 'user' WHERE username = 'dana'")
        .await
        .expect("one admin left");
    let refused = bed.worker.query("UPDATE users SET disabled = 1 WHERE username = 'admin'").await;
    let message = refused.expect_err("the last enabled admin stays");
    assert!(message.contains("last enabled admin"), "{message}");
    let refused = bed.worker.query("DELETE FROM users WHERE username = 'admin'").await;
    assert!(refused.expect_err("not deleted either").contains("last enabled admin"));
    let admins = bed
        .worker
        .query("SELECT username FROM users WHERE role = 'admin' AND disabled = 0")
        .await
        .expect("admins");
    assert_eq!(admins, [json!({"username": "admin"})]);
}
