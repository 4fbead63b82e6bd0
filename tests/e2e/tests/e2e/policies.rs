//! Sign-in policies over HTTP under `wrangler dev`: the console's API, and
//! sign-ins decided by the client's network (`CF-Connecting-IP`), country
//! and ASN (`request.cf`, which `wrangler dev` takes from its `MF-CF-Blob`
//! header; on Cloudflare no client can set it).
//!
//! | test | contract clause |
//! |---|---|
//! | `policies_decide_sign_ins_by_network_country_and_asn` | a `user` 403 on read, save and dry run; no `Origin` 403; the migration's empty set (version 1); a save in canonical form (version 2) recorded as `set_policies`; a save from version 1 again 400 "meanwhile"; a rule with host bits 400 naming it; alice (Duo required) from the office network signs in on her password (`policy_bypass`, the rule in `auth_events.policy`), from Tor or a denied ASN 401 `invalid_credentials` in the words of a wrong password (audited `policy_denied` with the rule), from elsewhere goes to Duo; the dry run says the same for every user without saving; a set denying every admin 400 "No enabled admin could sign in"; 80 rules (over 4 KB) saved, a body over 513 KB 413 saying so; a catch-all `bypass_duo` 400 without the phrase, saved with it (recorded with the roles and the rule), shown on the Duo page, and alice signs in on her password |

use e2e::{Wrangler, cookie_value, default_vars, set_cookie};
use serde_json::{Value, json};
use shared::api::routes;
use shared::policy::routes as policy;

const APP_ORIGIN: &str = "http://localhost:8787";
const SESSION_COOKIE: &str = "__Host-session";

struct Bed {
    worker: Wrangler,
    http: reqwest::Client,
}

impl Bed {
    /// `POST /api/login` from `ip`, with Cloudflare's `cf` data `cf` (JSON).
    async fn login(
        &self,
        username: &str,
        ip: &str,
        cf: Option<Value>,
    ) -> (u16, Value, Option<String>) {
        let mut request = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("CF-Connecting-IP", ip)
            .json(&json!({"username": username, "password": format!("{username}-demo-pass")}));
        if let Some(mut cf) = cf {
            // (Without it, wrangler dev compresses the answer whatever was asked.)
            cf["clientAcceptEncoding"] = json!("");
            request = request.header("MF-CF-Blob", cf.to_string());
        }
        let response = request.send().await.expect("login");
        let status = response.status().as_u16();
        let cookie = set_cookie(response.headers(), SESSION_COOKIE).map(|c| cookie_value(&c));
        (status, response.json().await.unwrap_or(Value::Null), cookie)
    }

    async fn call(
        &self,
        cookie: &str,
        path: &str,
        body: Option<&Value>,
        origin: bool,
    ) -> (u16, Value) {
        let url = self.worker.url(path);
        let mut request = match body {
            Some(body) => self.http.post(url).json(body),
            None => self.http.get(url),
        };
        request = request.header("Cookie", format!("{SESSION_COOKIE}={cookie}"));
        if origin {
            request = request.header("Origin", APP_ORIGIN);
        }
        let response = request.send().await.expect("policies request");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn last_login(&self) -> Value {
        let rows = self
            .worker
            .query("SELECT reason, policy FROM auth_events WHERE step = 'login' ORDER BY id DESC LIMIT 1")
            .await
            .expect("the audit log");
        rows.into_iter().next().unwrap_or(Value::Null)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_decide_sign_ins_by_network_country_and_asn() {
    let bob_password_only = "UPDATE users SET duo_policy = 'bypass' WHERE username = 'bob';";
    let worker = Wrangler::start_seeded(&default_vars(APP_ORIGIN), &[bob_password_only])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bed = Bed { worker, http: reqwest::Client::new() };
    let admin = bed.login("admin", "192.0.2.10", None).await.2.expect("admin's session");
    let bob = bed.login("bob", "192.0.2.11", None).await.2.expect("bob's session");

    let rules = json!({"rules": [
        {"name": "Tor", "action": "deny", "countries": ["t1"]},
        {"name": "Office", "action": "bypass_duo", "networks": ["10.0.0.0/8", "2001:DB8:1::/48"]},
        {"name": "Hostile network", "action": "deny", "asns": [64500]},
    ]});
    let save = json!({"expected_version": 1, "set": rules});
    let dry = json!({"set": rules, "ip": "10.9.8.7", "country": "DE"});
    for (path, body) in
        [(policy::POLICIES, None), (policy::POLICIES, Some(&save)), (policy::DRY_RUN, Some(&dry))]
    {
        let (status, answer) = bed.call(&bob, path, body, true).await;
        assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{path}");
    }
    let (status, answer) = bed.call(&admin, policy::POLICIES, Some(&save), false).await;
    assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden_origin")));

    let (status, first) = bed.call(&admin, policy::POLICIES, None, false).await;
    assert_eq!((status, first["version"].as_u64()), (200, Some(1)), "{first}");
    assert_eq!(first["set"], json!({"rules": [], "remember_days": 0}));
    let (status, saved) = bed.call(&admin, policy::POLICIES, Some(&save), true).await;
    assert_eq!((status, saved["version"].as_u64()), (200, Some(2)), "{saved}");
    assert_eq!(saved["set"]["rules"][0]["countries"], json!(["T1"]), "canonical");
    assert_eq!(saved["set"]["rules"][1]["networks"], json!(["10.0.0.0/8", "2001:db8:1::/48"]));
    let (status, stale) = bed.call(&admin, policy::POLICIES, Some(&save), true).await;
    assert_eq!(status, 400, "{stale}");
    assert!(
        stale["message"].as_str().is_some_and(|m| m.contains("meanwhile (version 2)")),
        "{stale}"
    );
    let host_bits = json!({"expected_version": 2, "set": {"rules": [
        {"name": "Lan", "action": "deny", "networks": ["10.0.0.1/8"]}]}});
    let (status, refused) = bed.call(&admin, policy::POLICIES, Some(&host_bits), true).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(|m| m.starts_with("Rule 1: (Lan)")),
        "{refused}"
    );

    // Sign-ins: alice's account requires Duo.
    let (status, body, session) = bed.login("alice", "10.1.2.3", None).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("done")), "{body}");
    assert_eq!(body["session"]["method"], json!("bypass"));
    assert!(session.is_some());
    assert_eq!(bed.last_login().await, json!({"reason": "policy_bypass", "policy": "#2 Office"}));
    let (status, body, _) = bed.login("alice", "2001:db8:1:2::3", None).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("done")), "IPv6 office: {body}");
    let (status, body, session) =
        bed.login("alice", "10.1.2.3", Some(json!({"country": "T1", "asn": 1}))).await;
    // Answered exactly as a wrong password: the answer confirms nothing.
    assert_eq!(
        (status, body["code"].as_str(), session),
        (401, Some("invalid_credentials"), None),
        "{body}"
    );
    assert_eq!(body["message"], json!("The username or password is incorrect."));
    assert_eq!(bed.last_login().await, json!({"reason": "policy_denied", "policy": "#1 Tor"}));
    let (status, _, _) =
        bed.login("alice", "203.0.113.5", Some(json!({"country": "DE", "asn": 64500}))).await;
    assert_eq!(status, 401);
    assert_eq!(bed.last_login().await["policy"], json!("#3 Hostile network"));
    let (status, body, _) =
        bed.login("alice", "203.0.113.5", Some(json!({"country": "DE", "asn": 3320}))).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("duo")), "{body}");
    assert_eq!(bed.last_login().await, json!({"reason": "duo_required", "policy": null}));

    let (status, tried) = bed.call(&admin, policy::DRY_RUN, Some(&dry), true).await;
    assert_eq!(status, 200, "{tried}");
    let rows = tried["rows"].as_array().expect("rows");
    assert_eq!(rows.len() as u64, tried["total"].as_u64().unwrap_or(0));
    let alice = rows.iter().find(|r| r["username"] == json!("alice")).expect("alice");
    assert_eq!(
        alice["decision"],
        json!({"rule": {"number": 2, "name": "Office"}, "action": "bypass_duo"})
    );
    let (_, now) = bed.call(&admin, policy::POLICIES, None, false).await;
    assert_eq!(now["version"], json!(2), "the dry run saved nothing");
    let recorded = bed
        .worker
        .query("SELECT actor, action, detail FROM admin_events WHERE action = 'set_policies'")
        .await
        .expect("admin events");
    assert_eq!(
        recorded,
        [
            json!({"actor": "admin", "action": "set_policies", "detail": r#"{"rules":3,"version":2}"#})
        ]
    );
    no_set_locks_the_admins_out_or_turns_duo_off_unconfirmed(&bed, &admin).await;
    bed.worker.assert_clean_log(&[]);
}

/// The console refuses a set under which no admin could sign in from where
/// the saving admin is, asks for the enforcement phrase before a set that
/// lets everyone in on the password alone, and takes sets of many rules
/// (the policies' own body limit, not the sign-in's 4 KB).
async fn no_set_locks_the_admins_out_or_turns_duo_off_unconfirmed(bed: &Bed, admin: &str) {
    let locked = json!({"expected_version": 2, "set": {"rules": [
        {"name": "No admins", "action": "deny", "roles": ["admin"]}]}});
    let (status, refused) = bed.call(admin, policy::POLICIES, Some(&locked), true).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(|m| m.contains("No enabled admin could sign in")),
        "{refused}"
    );

    let many: Vec<Value> = (0..80)
        .map(|n| {
            json!({"name": format!("Blocked network number {n}"), "action": "deny",
                        "networks": [format!("198.18.{n}.0/24")]})
        })
        .collect();
    let big = json!({"expected_version": 2, "set": {"rules": many}});
    assert!(big.to_string().len() > 4096, "larger than a sign-in request");
    let (status, saved) = bed.call(admin, policy::POLICIES, Some(&big), true).await;
    assert_eq!((status, saved["version"].as_u64()), (200, Some(3)), "{saved}");
    let huge = json!({"expected_version": 3, "set": {"rules": [
        {"name": "x", "action": "deny", "users": vec!["u".repeat(60); 10_000]}]}});
    let (status, refused) = bed.call(admin, policy::POLICIES, Some(&huge), true).await;
    assert_eq!((status, refused["code"].as_str()), (413, Some("bad_request")), "{refused}");
    assert_eq!(
        refused["message"],
        json!("The request is too large: this one takes at most 513 KB.")
    );

    let everyone = json!({"rules": [{"name": "All", "action": "bypass_duo"}]});
    let unconfirmed = json!({"expected_version": 3, "set": everyone});
    let (status, refused) = bed.call(admin, policy::POLICIES, Some(&unconfirmed), true).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(|m| m.contains("type \"turn off Duo\"")),
        "{refused}"
    );
    let confirmed = json!({"expected_version": 3, "set": everyone, "confirm": "turn off Duo"});
    let (status, saved) = bed.call(admin, policy::POLICIES, Some(&confirmed), true).await;
    assert_eq!((status, saved["version"].as_u64()), (200, Some(4)), "{saved}");
    let (status, duo) = bed.call(admin, shared::admin::routes::DUO, None, false).await;
    assert_eq!(status, 200, "{duo}");
    assert_eq!(
        duo["policy_bypass"]["bypass"],
        json!({"roles": ["user", "admin"], "rule": {"number": 1, "name": "All"}})
    );
    let (status, body, _) = bed.login("alice", "203.0.113.9", None).await;
    assert_eq!((status, body["next"].as_str()), (200, Some("done")), "Duo is off: {body}");
    let recorded = bed
        .worker
        .query("SELECT detail FROM admin_events WHERE action = 'set_policies' ORDER BY id DESC LIMIT 1")
        .await
        .expect("admin events");
    assert_eq!(
        recorded,
        [
            json!({"detail": r##"{"by_rule":"#1 All","duo_off_for":["user","admin"],"rules":1,"version":4}"##})
        ]
    );
}
