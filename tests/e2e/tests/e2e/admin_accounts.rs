//! Accounts from the admin console over HTTP under `wrangler dev`: adding a
//! user, resetting a password, checking a Duo username (prompt mode, and
//! inline mode against the emulator's `preauth`).
//!
//! | test | contract clause |
//! |---|---|
//! | `admins_add_users_and_reset_passwords` | a `user` 403 `forbidden` on add, password and duo-check; no `Origin` `forbidden_origin`; add with a generated password 201, answered once, the stored hash (made with `WebCrypto`) verified by `credentials`' own PBKDF2, and the user signs in with it, told to choose their own password; `POST /api/password` with a wrong current password 401 `invalid_credentials` in words, without `Origin` 403, then 204: the flag cleared, the session kept, the old password refused; a typed password under 8 characters 400 with the rule in words; an existing name 400; another account's Duo identity 400; a reset ends the user's sessions, the old password fails and the new one signs in; one's own reset 403; the `admin_events` rows (`add_user`, `reset_password`) say "generated" or "typed", never the password, nor does the log; the wrong current password audited as a failed `password_change`; a password-only admin added with a typed password must pass Duo |
//! | `the_duo_username_check_reads_the_history_in_prompt_mode` | prompt mode: no Duo lookup; a name another account has is named; after a Duo sign-in, "succeeded" |
//! | `the_duo_username_check_asks_preauth_in_inline_mode` | inline mode: an enrolled name lists its devices, an unknown one is "not enrolled" (the emulator's new-user policy), each check an `admin_events` row |

use credentials::PasswordHash;
use e2e::{Wrangler, cookie_value, default_vars, inline_vars, set_cookie};
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
    async fn start(vars: &[(String, String)]) -> Self {
        let bypass = "UPDATE users SET duo_policy = 'bypass' WHERE username = 'bob';";
        let worker =
            Wrangler::start_seeded(vars, &[bypass]).await.unwrap_or_else(|e| panic!("{e}"));
        Self { worker, http: reqwest::Client::new() }
    }

    /// `POST /api/login`: the status, the body and the session cookie.
    async fn login(&self, username: &str, password: &str) -> (u16, Value, Option<String>) {
        let response = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login");
        let status = response.status().as_u16();
        let cookie = set_cookie(response.headers(), SESSION_COOKIE).map(|c| cookie_value(&c));
        (status, response.json().await.unwrap_or(Value::Null), cookie)
    }

    async fn session(&self, username: &str) -> String {
        let (status, body, cookie) = self.login(username, &format!("{username}-demo-pass")).await;
        cookie.unwrap_or_else(|| panic!("a session for {username}: {status} {body}"))
    }

    /// An admin `POST` with the app's `Origin` (or none).
    async fn post(&self, cookie: &str, path: &str, body: &Value, origin: bool) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.worker.url(path))
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .header("CF-Connecting-IP", "203.0.113.9")
            .json(body);
        if origin {
            request = request.header("Origin", APP_ORIGIN);
        }
        let response = request.send().await.expect("admin request");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn stored_hash(&self, username: &str) -> PasswordHash {
        let sql = format!("SELECT password_hash FROM users WHERE username = '{username}'");
        let rows = self.worker.query(&sql).await.expect("the user's row");
        let phc = rows.first().and_then(|r| r["password_hash"].as_str()).expect("a hash");
        PasswordHash::parse(phc).expect("a PHC string credentials can read")
    }

    /// `GET /api/session` with `cookie`: the status and the body.
    async fn session_of(&self, cookie: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.worker.url(routes::SESSION))
            .header("Cookie", format!("{SESSION_COOKIE}={cookie}"))
            .send()
            .await
            .expect("session");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_add_users_and_reset_passwords() {
    let bed = Bed::start(&default_vars(APP_ORIGIN)).await;
    let (admin, bob) = (bed.session("admin").await, bed.session("bob").await);
    let new_frank = json!({"username": "Frank", "role": "user", "duo_policy": "bypass",
                           "duo_username": null, "password": "generate"});
    let check_alice = json!({"username": "alice"});
    let reset_carol = json!({"username": "carol", "password": "generate"});
    for (path, body) in [
        (admin::USER_ADD, &new_frank),
        (admin::USER_PASSWORD, &reset_carol),
        (admin::USER_DUO_CHECK, &check_alice),
    ] {
        let (status, answer) = bed.post(&bob, path, body, true).await;
        assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{path}");
        let (status, answer) = bed.post(&admin, path, body, false).await;
        assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden_origin")), "{path}");
    }

    // A generated password: answered once, hashed in WebCrypto, read by credentials.
    let (status, issued) = bed.post(&admin, admin::USER_ADD, &new_frank, true).await;
    assert_eq!(status, 201, "{issued}");
    let generated = issued["generated"].as_str().expect("the password, this once").to_owned();
    assert_eq!(issued["username"], json!("Frank"));
    let hash = bed.stored_hash("Frank").await;
    assert_eq!(hash.iterations(), credentials::DEFAULT_ITERATIONS);
    assert!(hash.verify(generated.as_bytes()), "WebCrypto's PBKDF2 is credentials' PBKDF2");
    let (status, body, frank) = bed.login("frank", &generated).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("done")), "{body}");
    let frank = frank.expect("frank's session");
    assert_eq!(body["session"]["password_change_required"], json!(true), "{body}");
    assert_eq!(bed.login("frank", "not-his-password").await.0, 401);

    // frank replaces the password the admin handed over.
    let wrong = json!({"current": "not-his-password", "new": "frank's own password"});
    let (status, body) = bed.post(&frank, routes::PASSWORD, &wrong, true).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_credentials")), "{body}");
    assert_eq!(body["message"], json!("Your current password is not right."));
    let failed = bed
        .worker
        .query("SELECT step, outcome, reason, username FROM auth_events WHERE step = 'password_change'")
        .await
        .expect("the audit (migration 0011 lets the step in)");
    assert_eq!(
        failed,
        [json!({"step": "password_change", "outcome": "failure", "reason": "bad_password",
                "username": "frank"})],
        "audited like a failed sign-in"
    );
    let own = json!({"current": generated, "new": "frank's own password"});
    assert_eq!(bed.post(&frank, routes::PASSWORD, &own, false).await.0, 403, "Origin checked");
    let (status, body) = bed.post(&frank, routes::PASSWORD, &own, true).await;
    assert_eq!(status, 204, "{body}");
    let (status, session) = bed.session_of(&frank).await;
    assert_eq!(
        (status, session["password_change_required"].as_bool()),
        (200, Some(false)),
        "this session goes on, done"
    );
    assert_eq!(bed.login("frank", &generated).await.0, 401);
    let (status, _, frank) = bed.login("frank", "frank's own password").await;
    assert_eq!(status, 200);
    let frank = frank.expect("frank's session");

    // The policy, and names already taken.
    let short = json!({"username": "gina", "role": "user", "duo_policy": "required",
                       "password": {"typed": "short"}});
    let (status, body) = bed.post(&admin, admin::USER_ADD, &short, true).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")), "{body}");
    assert_eq!(body["message"], json!("The password must be at least 8 characters."));
    let (status, body) = bed.post(&admin, admin::USER_ADD, &new_frank, true).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("already a user")), "{body}");

    let twin = json!({"username": "mallory", "role": "user", "duo_policy": "required",
                      "duo_username": "Alice", "password": "generate"});
    let (status, body) = bed.post(&admin, admin::USER_ADD, &twin, true).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("Duo username")), "{body}");

    // A reset: frank's sessions end, the old password no longer works.
    let typed = "a new password, typed by the admin";
    let reset = json!({"username": "frank", "password": {"typed": typed}});
    let (status, issued) = bed.post(&admin, admin::USER_PASSWORD, &reset, true).await;
    assert_eq!((status, issued["generated"].clone()), (200, Value::Null), "{issued}");
    assert_eq!(bed.session_of(&frank).await.0, 401, "signed out everywhere");
    assert_eq!(bed.login("frank", "frank's own password").await.0, 401);
    let (status, body, _) = bed.login("frank", typed).await;
    assert_eq!(status, 200);
    assert_eq!(body["session"]["password_change_required"], json!(true), "an admin set it");
    let own = json!({"username": "admin", "password": "generate"});
    let (status, body) = bed.post(&admin, admin::USER_PASSWORD, &own, true).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");

    let events = bed
        .worker
        .query("SELECT actor, action, target, detail FROM admin_events ORDER BY id")
        .await
        .expect("admin events");
    let expected = [
        json!({"actor": "admin", "action": "add_user", "target": "frank",
               "detail": r#"{"duo_policy":"bypass","duo_username":null,"password":"generated","role":"user"}"#}),
        json!({"actor": "Frank", "action": "change_own_password", "target": "frank",
               "detail": r#"{"breach_check":"off"}"#}),
        json!({"actor": "admin", "action": "reset_password", "target": "frank",
               "detail": r#"{"breach_check":"off","password":"typed"}"#}),
    ];
    assert_eq!(events, expected);
    an_admin_password_another_admin_set_needs_duo(&bed, &admin, typed).await;
    bed.worker.assert_clean_log(&[&generated, typed, "frank's own password"]);
}

/// An admin whose password another admin set signs in with Duo, even a
/// password-only (bypass) account: whoever set it knows it.
async fn an_admin_password_another_admin_set_needs_duo(bed: &Bed, admin: &str, typed: &str) {
    let new_hal = json!({"username": "hal", "role": "admin", "duo_policy": "bypass",
                         "duo_username": null, "password": {"typed": typed}});
    let (status, body) = bed.post(admin, admin::USER_ADD, &new_hal, true).await;
    assert_eq!(status, 201, "{body}");
    let (status, body, session) = bed.login("hal", typed).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("duo")), "{body}");
    assert!(session.is_none(), "no session on the password alone");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_duo_username_check_reads_the_history_in_prompt_mode() {
    let bed = Bed::start(&default_vars(APP_ORIGIN)).await;
    let admin = bed.session("admin").await;
    let (status, check) =
        bed.post(&admin, admin::USER_DUO_CHECK, &json!({"username": "alice"}), true).await;
    assert_eq!(status, 200, "{check}");
    assert_eq!((check["duo_username"].as_str(), &check["preauth"]), (Some("alice"), &Value::Null));
    assert!(check["summary"].as_str().is_some_and(|s| s.ends_with("No sign-in with Duo yet.")));

    let candidate = json!({"username": "alice", "duo_username": "Carol"});
    let (_, check) = bed.post(&admin, admin::USER_DUO_CHECK, &candidate, true).await;
    assert_eq!(check["taken_by"], json!("carol"), "{check}");

    // A Duo sign-in recorded as the flow records it.
    bed.worker
        .query(
            "INSERT INTO auth_events (at, username, step, outcome, reason) \
             VALUES (unixepoch() - 60, 'alice', 'duo_callback', 'success', 'duo_allow')",
        )
        .await
        .expect("an audit row");
    let (_, check) =
        bed.post(&admin, admin::USER_DUO_CHECK, &json!({"username": "alice"}), true).await;
    assert!(check["last_duo_success"].as_i64().is_some(), "{check}");
    assert!(
        check["summary"]
            .as_str()
            .is_some_and(|s| s.ends_with("The last sign-in with Duo succeeded.")),
        "{check}"
    );
    let (status, body) =
        bed.post(&admin, admin::USER_DUO_CHECK, &json!({"username": "nobody"}), true).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
    bed.worker.assert_clean_log(&[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_duo_username_check_asks_preauth_in_inline_mode() {
    let emulator = e2e::local_emulator().await;
    let host = emulator.local_addr().to_string();
    // The emulator also stands in for Pwned Passwords here.
    let mut vars = inline_vars(&default_vars(APP_ORIGIN), &host);
    vars.retain(|(name, _)| !name.starts_with("PWNED_PASSWORDS"));
    vars.push(("PWNED_PASSWORDS".to_owned(), "block".to_owned()));
    vars.push(("PWNED_PASSWORDS_URL".to_owned(), format!("http://{host}")));
    let bed = Bed::start(&vars).await;
    let admin = bed.session("admin").await;
    breached_passwords_are_refused_and_only_a_prefix_leaves(&bed, &admin, &emulator.base_url())
        .await;

    let (status, check) =
        bed.post(&admin, admin::USER_DUO_CHECK, &json!({"username": "alice"}), true).await;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["preauth"]["result"], json!("enrolled"), "{check}");
    let devices = check["preauth"]["devices"].as_array().expect("devices");
    assert!(!devices.is_empty(), "{check}");
    assert!(check["summary"].as_str().is_some_and(|s| s.starts_with("Duo knows alice, with ")));

    let unknown = json!({"username": "alice", "duo_username": "nobody-in-duo@example.com"});
    let (_, check) = bed.post(&admin, admin::USER_DUO_CHECK, &unknown, true).await;
    assert_eq!(check["preauth"], json!({"result": "not_enrolled"}), "{check}");

    let recorded = bed
        .worker
        .query("SELECT detail FROM admin_events WHERE action = 'check_duo_username' ORDER BY id")
        .await
        .expect("the checks' rows");
    assert_eq!(
        recorded,
        [
            json!({"detail": r#"{"duo_username":"alice","preauth":"enrolled"}"#}),
            json!({"detail": r#"{"duo_username":"nobody-in-duo@example.com","preauth":"not_enrolled"}"#}),
        ]
    );
    drop(emulator);
    bed.worker.assert_clean_log(&["Password1234", "welcome123"]);
}

/// `PWNED_PASSWORDS=block` against the emulator's Pwned Passwords stand-in:
/// an admin's typed password and a user's own new one are refused when
/// breached, in words; a rare one is set; only `/range/<5 hex>` was asked.
async fn breached_passwords_are_refused_and_only_a_prefix_leaves(
    bed: &Bed,
    admin: &str,
    emulator: &str,
) {
    let breached = json!({"username": "gail", "role": "user", "duo_policy": "bypass",
                          "duo_username": null, "password": {"typed": "Password1234"}});
    let (status, answer) = bed.post(admin, admin::USER_ADD, &breached, true).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("bad_request")), "{answer}");
    assert!(answer["message"].as_str().is_some_and(|m| m.contains("known data breaches")));
    let rare = json!({"username": "gail", "role": "user", "duo_policy": "bypass",
                      "duo_username": null, "password": {"typed": "a rare and long phrase"}});
    let (status, answer) = bed.post(admin, admin::USER_ADD, &rare, true).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer.get("warning"), None, "{answer}");

    let bob = bed.session("bob").await;
    let own = json!({"current": "bob-demo-pass", "new": "welcome123"});
    let (status, answer) = bed.post(&bob, routes::PASSWORD, &own, true).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("bad_request")), "{answer}");
    assert!(bed.stored_hash("bob").await.verify(b"bob-demo-pass"), "unchanged");

    let log: Value = bed
        .http
        .get(format!("{emulator}/__emulator/requests"))
        .send()
        .await
        .expect("the request log")
        .json()
        .await
        .expect("JSON");
    let ranges: Vec<&str> = log["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|r| r["path"].as_str())
        .filter(|p| p.starts_with("/range/"))
        .collect();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert!(
        ranges.iter().all(|p| p.len() == 12 && p[7..].bytes().all(|b| b.is_ascii_hexdigit())),
        "{ranges:?}"
    );
    let events = bed
        .worker
        .query("SELECT detail FROM admin_events WHERE action = 'add_user' AND target = 'gail'")
        .await
        .expect("events");
    assert!(events[0]["detail"].as_str().is_some_and(|d| d.contains(r#""breach_check":"clean""#)));
}
