//! The admin API ([`crate::flow::admin`]): the role checked on every
//! request, the user list, and changes with their audit, without locking
//! the admins out.

use shared::ErrorCode;
use shared::admin::{DuoPolicy, UserChange};
use shared::api::{AuthMethod, Role};

use crate::flow::testing::console::{ChangeRequest, change_user, revoke_session, sessions, users};
use crate::flow::testing::{
    APP_ORIGIN, MemoryStore, NOW, Task, block_on, config, ctx, issue_stored, join_all, random,
    session_cookie, store, user,
};
use crate::flow::{Reason, Refusal};

/// The test cast (alice, admin, erin) plus two admins, `root` and `dana`.
fn admins() -> MemoryStore {
    let store = store();
    for name in ["root", "dana"] {
        store.add_user(crate::flow::store::UserRecord {
            role: "admin".to_owned(),
            ..user(name, "x", "required", false)
        });
    }
    store
}

fn change(
    store: &MemoryStore,
    cookie: &str,
    username: &str,
    change: &UserChange,
) -> Result<(), Refusal> {
    let request =
        ChangeRequest { origin: Some(APP_ORIGIN), session_cookie: Some(cookie), username, change };
    block_on(change_user(store, &config("closed"), request, &ctx(NOW, "198.51.100.7")))
}

fn reason<T: std::fmt::Debug>(result: Result<T, Refusal>) -> Reason {
    match result {
        Ok(outcome) => panic!("expected a refusal, got {outcome:?}"),
        Err(refusal) => refusal.reason,
    }
}

#[test]
fn only_a_live_admin_session_reaches_the_admin_api() {
    let store = admins();
    assert_eq!(reason(block_on(users(&store, None, "", 1, NOW))), Reason::NoSession);
    let alice = session_cookie(&store, "alice", 1);
    let refused = block_on(users(&store, Some(&alice), "", 1, NOW)).expect_err("not an admin");
    assert_eq!((refused.reason, refused.code()), (Reason::NotAdmin, ErrorCode::Forbidden));
    let root = session_cookie(&store, "root", 2);
    assert!(block_on(users(&store, Some(&root), "", 1, NOW)).is_ok());
    // Demoted by another admin: refused at the next request.
    let dana = session_cookie(&store, "dana", 3);
    assert!(change(&store, &dana, "root", &UserChange::Role(Role::User)).is_ok());
    assert_eq!(reason(block_on(users(&store, Some(&root), "", 1, NOW))), Reason::NotAdmin);
}

#[test]
fn users_are_searched_and_paged_with_their_last_login() {
    let store = admins();
    for n in 0..30 {
        store.add_user(user(&format!("user{n:02}"), "x", "required", false));
    }
    let root = session_cookie(&store, "root", 1);
    let page1 = block_on(users(&store, Some(&root), "", 1, NOW)).expect("a page");
    assert_eq!((page1.total, page1.users.len(), page1.page_size), (35, 25, 25));
    let page2 = block_on(users(&store, Some(&root), "", 2, NOW)).expect("a page");
    assert_eq!(page2.users.len(), 10);
    assert!(page1.users.iter().all(|u| !page2.users.iter().any(|v| v.username == u.username)));
    let found = block_on(users(&store, Some(&root), "  ROO ", 1, NOW)).expect("a search");
    let names: Vec<&str> = found.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["root"]);
    let me = &found.users[0];
    assert_eq!((me.role, me.last_login_method.as_deref()), (Role::Admin, Some("duo")));
    assert_eq!(me.last_login_at, Some(i64::try_from(NOW - 60).unwrap()));
}

#[test]
fn changes_are_applied_and_audited_with_who_did_them() {
    let store = admins();
    let root = session_cookie(&store, "root", 1);
    let alice = session_cookie(&store, "alice", 2);
    assert!(change(&store, &root, "ALICE", &UserChange::Disabled(true)).is_ok());
    assert_eq!(store.users.borrow()["alice"].disabled, 1);
    assert_eq!(
        reason(block_on(crate::flow::session::check(&store, Some(&alice), NOW))),
        Reason::NoSession,
        "disabling ends the sessions"
    );
    assert!(change(&store, &root, "alice", &UserChange::DuoPolicy(DuoPolicy::Bypass)).is_ok());
    assert_eq!(store.users.borrow()["alice"].duo_policy, "bypass");
    assert!(
        change(&store, &root, "alice", &UserChange::DuoUsername(Some("alice@example.com".into())))
            .is_ok()
    );
    let events = store.admin_events.borrow().clone();
    let seen: Vec<(&str, &str, Option<&str>)> =
        events.iter().map(|e| (e.actor.as_str(), e.action, e.target.as_deref())).collect();
    assert_eq!(
        seen,
        [
            ("root", "disable", Some("alice")),
            ("root", "set_duo_policy", Some("alice")),
            ("root", "set_duo_username", Some("alice"))
        ]
    );
    assert_eq!(events[0].client_ip.as_deref(), Some("198.51.100.7"));
    // Each change says what it was before (the console shows "required → bypass").
    let detail = |n: usize| -> serde_json::Value {
        serde_json::from_str(events[n].detail.as_deref().unwrap_or("null")).expect("JSON")
    };
    assert_eq!(
        detail(1),
        serde_json::json!({"duo_policy": "bypass", "before": {"duo_policy": "required"}})
    );
    assert_eq!(
        detail(2),
        serde_json::json!({"duo_username": "alice@example.com", "before": {"duo_username": null}})
    );
    assert_eq!(detail(0), serde_json::json!({}), "disabling says nothing more");
}

#[test]
fn admins_cannot_lock_themselves_or_everyone_out() {
    let store = admins();
    let (root, dana) = (session_cookie(&store, "root", 1), session_cookie(&store, "dana", 2));
    assert_eq!(
        reason(change(&store, &root, "root", &UserChange::Disabled(true))),
        Reason::SelfLockout
    );
    assert_eq!(
        reason(change(&store, &root, "Root", &UserChange::Role(Role::User))),
        Reason::SelfLockout
    );
    // Two admins disabling each other at once: exactly one wins.
    let (config, ctx) = (config("closed"), ctx(NOW, "198.51.100.7"));
    let disable = UserChange::Disabled(true);
    let requests =
        [(root.as_str(), "dana"), (dana.as_str(), "root")].map(|(cookie, target)| ChangeRequest {
            origin: Some(APP_ORIGIN),
            session_cookie: Some(cookie),
            username: target,
            change: &disable,
        });
    let tasks: Vec<Task<'_, _>> = requests
        .iter()
        .map(|r| Box::pin(change_user(&store, &config, *r, &ctx)) as Task<'_, _>)
        .collect();
    let results: Vec<Result<(), Refusal>> = join_all(tasks);
    let reasons: Vec<Option<Reason>> =
        results.iter().map(|r| r.as_ref().err().map(|e| e.reason)).collect();
    assert_eq!(reasons.iter().filter(|r| r.is_none()).count(), 1, "{reasons:?}");
    assert!(reasons.contains(&Some(Reason::LastAdmin)), "{reasons:?}");
    let enabled_admins =
        store.users.borrow().values().filter(|u| u.role == "admin" && u.disabled == 0).count();
    assert_eq!(enabled_admins, 1);
}

#[test]
fn bad_requests_are_refused_and_nothing_is_written() {
    let store = admins();
    let root = session_cookie(&store, "root", 1);
    assert_eq!(
        reason(change(&store, &root, "nobody", &UserChange::RevokeSessions)),
        Reason::NoSuchUser
    );
    assert_eq!(
        reason(change(&store, &root, "alice", &UserChange::DuoUsername(Some("ERIN".into())))),
        Reason::AdminBadValue,
        "erin's Duo identity"
    );
    assert_eq!(
        reason(change(&store, &root, "alice", &UserChange::DuoUsername(Some("bad\nname".into())))),
        Reason::AdminBadValue
    );
    let request = ChangeRequest {
        origin: None,
        session_cookie: Some(&root),
        username: "alice",
        change: &UserChange::RevokeSessions,
    };
    let no_origin =
        block_on(change_user(&store, &config("closed"), request, &ctx(NOW, "198.51.100.7")));
    assert_eq!(reason(no_origin), Reason::ForbiddenOrigin);
    assert!(store.admin_events.borrow().is_empty());
}

#[test]
fn live_sessions_are_listed_and_one_can_be_ended() {
    let store = admins();
    let root = session_cookie(&store, "root", 1);
    let duo = shared::api::DuoDetails {
        factor: Some("Duo Push".into()),
        device: Some("iPhone (XXX-XXX-0100)".into()),
        txid: Some("tx".into()),
        result: Some("allow".into()),
    };
    let alice = issue_stored(
        &store,
        "alice",
        AuthMethod::Duo,
        Some(duo),
        &ctx(NOW - 30, "192.0.2.9"),
        &random(7),
    );
    let list = block_on(sessions(&store, Some(&root), "ALI", 1, NOW)).expect("sessions");
    assert_eq!(list.total, 1);
    let row = &list.sessions[0];
    assert_eq!(
        (row.username.as_str(), row.factor.as_deref(), row.device.as_deref()),
        ("alice", Some("Duo Push"), Some("iPhone (XXX-XXX-0100)"))
    );
    assert_eq!(row.client_ip.as_deref(), Some("192.0.2.9"));
    assert_eq!(row.id, alice.id.storage_key().into_string(), "named by its hash, never its id");
    let all = block_on(sessions(&store, Some(&root), "", 1, NOW)).expect("sessions");
    assert_eq!(all.sessions[0].username, "alice", "newest first");

    let config = config("closed");
    let ctx = ctx(NOW, "198.51.100.7");
    let end = |id: &str| {
        block_on(revoke_session(&store, &config, Some(APP_ORIGIN), Some(&root), id, &ctx))
    };
    assert!(end(&row.id).is_ok());
    assert_eq!(reason(end(&row.id)), Reason::NoSuchUser, "already ended");
    assert_eq!(reason(end("not-a-hash")), Reason::NoSuchUser);
    let cookie = alice.id.to_cookie_value();
    assert_eq!(
        reason(block_on(crate::flow::session::check(&store, Some(&cookie), NOW))),
        Reason::NoSession
    );
    let event = store.admin_events.borrow().last().cloned().expect("audited");
    assert_eq!((event.actor.as_str(), event.action), ("root", "revoke_session"));
    assert_eq!(event.target.as_deref(), Some("alice"), "whose session it was");
    let alice_only = session_cookie(&store, "alice", 9);
    assert_eq!(reason(block_on(sessions(&store, Some(&alice_only), "", 1, NOW))), Reason::NotAdmin);
}

/// `DUO_FAILMODE=open` lets people sign in during a Duo outage, never
/// administer: a fail-open session of an admin gets 403.
#[test]
fn a_fail_open_session_never_reaches_the_console() {
    let store = admins();
    let at = ctx(NOW - 60, "192.0.2.1");
    let open = issue_stored(&store, "root", AuthMethod::FailOpen, None, &at, &random(40));
    let cookie = open.id.to_cookie_value();
    assert!(block_on(crate::flow::session::check(&store, Some(&cookie), NOW)).is_ok(), "signed in");
    let refused = block_on(users(&store, Some(&cookie), "", 1, NOW)).expect_err("no console");
    assert_eq!((refused.reason, refused.code()), (Reason::FailOpenConsole, ErrorCode::Forbidden));
    assert!(refused.message.is_some_and(|m| m.contains("Duo")));
    let duo = issue_stored(&store, "root", AuthMethod::Duo, None, &at, &random(41));
    assert!(block_on(users(&store, Some(&duo.id.to_cookie_value()), "", 1, NOW)).is_ok());
}

#[test]
fn a_console_search_is_trimmed_lower_case_and_short() {
    use crate::flow::admin::search_text;
    assert_eq!(search_text("  CaRoL "), "carol");
    assert_eq!(search_text(&"x".repeat(100)).len(), 64);
    assert_eq!(search_text(""), "");
}

#[test]
fn a_console_change_needs_a_recent_confirmation_and_names_how() {
    use crate::flow::testing::{config_with, issue_stored};
    use shared::api::AuthMethod;
    let store = admins();
    // Sessions made 30 min ago, against a 15-minute freshness.
    let old = ctx(NOW - 1800, "198.51.100.7");
    let cookie = |method, seed| {
        issue_stored(&store, "root", method, None, &old, &random(seed)).id.to_cookie_value()
    };
    let config = config_with("closed", &[("FRESH_AUTH_SECONDS", "900")]);
    let change = |cookie: &str| {
        let request = ChangeRequest {
            origin: Some(APP_ORIGIN),
            session_cookie: Some(cookie),
            username: "alice",
            change: &UserChange::RevokeSessions,
        };
        block_on(change_user(&store, &config, request, &ctx(NOW, "198.51.100.7")))
    };
    for (method, how) in [
        (AuthMethod::Duo, "Duo"),
        (AuthMethod::Remembered, "Duo"),
        (AuthMethod::Bypass, "password"),
    ] {
        let refused = change(&cookie(method, 70 + method as u8)).expect_err("stale");
        assert_eq!(
            (refused.reason, refused.code()),
            (Reason::ReauthRequired, ErrorCode::ReauthenticationRequired),
            "{method:?}"
        );
        assert!(
            refused.message.as_deref().is_some_and(|m| m.contains(how)),
            "{method:?}: {refused:?}"
        );
    }
    // Reading is not a change: the console still opens.
    let reader = cookie(AuthMethod::Duo, 80);
    assert!(block_on(users(&store, Some(&reader), "", 1, NOW)).is_ok());
    // Just confirmed: allowed; a trusted browser's fresh session never is.
    let fresh = |method, seed| {
        issue_stored(&store, "root", method, None, &ctx(NOW - 60, "198.51.100.7"), &random(seed))
            .id
            .to_cookie_value()
    };
    assert!(change(&fresh(AuthMethod::Duo, 81)).is_ok());
    assert!(change(&fresh(AuthMethod::Bypass, 82)).is_ok());
    assert_eq!(reason(change(&fresh(AuthMethod::Remembered, 83))), Reason::ReauthRequired);
}
