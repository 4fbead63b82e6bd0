//! The audit log in the console ([`crate::flow::audit_log`]): searches of
//! both logs, their paging, the CSV export and its own record.

use shared::ErrorCode;
use shared::admin::{AuditLog, AuditQuery, AuditRow};

use crate::flow::admin::Caller;
use crate::flow::audit_log::{iso8601, to_csv};
use crate::flow::store::{AdminEvent, AuditEvent};
use crate::flow::testing::console::{export, page};
use crate::flow::testing::{
    APP_ORIGIN, NOW, block_on, config, ctx, session_cookie, store_with_admin,
};
use crate::flow::{Outcome, Reason, Step};

fn event(at: u64, username: &str, outcome: Outcome, reason: &'static str) -> AuditEvent {
    AuditEvent {
        at,
        username: username.to_owned(),
        step: Step::Login,
        outcome,
        reason,
        duo_txid: None,
        client_ip: Some("203.0.113.5".to_owned()),
        repeats: 0,
        policy: None,
        country: None,
        factor: None,
    }
}

fn search(
    log: AuditLog,
    user: &str,
    outcome: &str,
    from: Option<i64>,
    to: Option<i64>,
) -> AuditQuery {
    AuditQuery {
        log,
        user: user.into(),
        outcome: outcome.into(),
        from,
        to,
        page: 1,
        oldest_first: false,
    }
}

#[test]
fn the_sign_in_log_is_filtered_by_user_outcome_and_time_newest_first() {
    let (store, root) = store_with_admin();
    for i in 0..40_u64 {
        let (who, outcome, why) = if i % 4 == 0 {
            ("bob", Outcome::Failure, "bad_password")
        } else {
            ("alice", Outcome::Success, "duo_required")
        };
        store.events.borrow_mut().push(event(NOW - 4000 + i * 100, who, outcome, why));
    }
    let all =
        block_on(page(&store, Some(&root), &search(AuditLog::SignIns, "", "", None, None), NOW))
            .expect("a page");
    assert_eq!((all.total, all.rows.len(), all.page), (40, 25, 1));
    assert!(all.rows.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    let mut second = search(AuditLog::SignIns, "", "", None, None);
    second.page = 2;
    let rest = block_on(page(&store, Some(&root), &second, NOW)).expect("page 2");
    assert_eq!(rest.rows.len(), 15);
    assert!(rest.rows[0].at < all.rows[24].at, "page 2 goes on where page 1 ended");

    let bob =
        block_on(page(&store, Some(&root), &search(AuditLog::SignIns, "bob", "", None, None), NOW))
            .expect("bob's");
    assert_eq!(bob.total, 10);
    assert!(bob.rows.iter().all(|r| r.user == "bob" && r.reason == "bad_password"));
    let failures = search(AuditLog::SignIns, "alice", "failure", None, None);
    assert_eq!(block_on(page(&store, Some(&root), &failures, NOW)).expect("none").total, 0);
    // Both bounds are included.
    let from = i64::try_from(NOW - 4000 + 1000).unwrap();
    let window = search(AuditLog::SignIns, "", "", Some(from), Some(from + 500));
    let found = block_on(page(&store, Some(&root), &window, NOW)).expect("a window");
    assert_eq!(found.total, 6);
    assert!(found.rows.iter().all(|r| (from..=from + 500).contains(&r.at)));
}

#[test]
fn the_admin_log_finds_an_admin_and_whom_they_changed() {
    let (store, root) = store_with_admin();
    let action = |at: u64, actor: &str, target: Option<&str>| AdminEvent {
        at,
        actor: actor.to_owned(),
        action: "disable",
        target: target.map(str::to_owned),
        detail: Some("{}".to_owned()),
        client_ip: None,
    };
    store.admin_events.borrow_mut().extend([
        action(NOW - 30, "Root", Some("bob")),
        action(NOW - 20, "dana", Some("root")),
        action(NOW - 10, "dana", Some("carol")),
    ]);
    let about_root = search(AuditLog::Admin, "root", "", None, None);
    let rows = block_on(page(&store, Some(&root), &about_root, NOW)).expect("a page").rows;
    let seen: Vec<_> = rows.iter().map(|r| (r.user.as_str(), r.target.as_deref())).collect();
    assert_eq!(seen, [("dana", Some("root")), ("Root", Some("bob"))]);
    let failed = search(AuditLog::Admin, "", "failure", None, None);
    assert_eq!(block_on(page(&store, Some(&root), &failed, NOW)).expect("none").total, 0);
}

#[test]
fn only_admins_read_or_export_the_log() {
    let (store, _) = store_with_admin();
    let alice = session_cookie(&store, "alice", 3);
    let query = search(AuditLog::SignIns, "", "", None, None);
    let refused = block_on(page(&store, Some(&alice), &query, NOW)).expect_err("not an admin");
    assert_eq!((refused.reason, refused.code()), (Reason::NotAdmin, ErrorCode::Forbidden));
    let nobody = Caller { origin: Some(APP_ORIGIN), session_cookie: None };
    let refused =
        block_on(export(&store, &config("closed"), nobody, &query, &ctx(NOW, "192.0.2.1")))
            .expect_err("nobody");
    assert_eq!(refused.reason, Reason::NoSession);
    assert!(store.admin_events.borrow().is_empty(), "a refused export records no export");
}

/// A link or a form on another site, opened by a signed-in admin, exports
/// nothing and records nothing in their name.
#[test]
fn an_export_from_another_origin_is_refused_and_not_recorded() {
    let (store, root) = store_with_admin();
    let query = search(AuditLog::SignIns, "", "", None, None);
    for origin in [None, Some("https://evil.example"), Some("null")] {
        let caller = Caller { origin, session_cookie: Some(&root) };
        let refused =
            block_on(export(&store, &config("closed"), caller, &query, &ctx(NOW, "192.0.2.1")))
                .expect_err("another origin");
        assert_eq!(refused.reason, Reason::ForbiddenOrigin, "{origin:?}");
    }
    assert!(store.admin_events.borrow().is_empty(), "no export_audit in the admin's name");
}

#[test]
fn an_export_is_csv_of_the_search_and_is_itself_recorded() {
    let (store, root) = store_with_admin();
    store.events.borrow_mut().extend([
        event(NOW - 100, "=cmd|'/c calc'!a0", Outcome::Failure, "unknown_user"),
        event(NOW - 50, "alice", Outcome::Success, "duo_allow"),
    ]);
    let query = search(AuditLog::SignIns, "", "", None, None);
    let caller = Caller { origin: Some(APP_ORIGIN), session_cookie: Some(&root) };
    let out =
        block_on(export(&store, &config("closed"), caller, &query, &ctx(NOW, "198.51.100.4")))
            .expect("a CSV");
    assert_eq!((out.rows, out.total, out.file_name.as_str()), (2, 2, "audit-sign_ins.csv"));
    let lines: Vec<&str> = out.csv.split("\r\n").collect();
    assert_eq!(lines[0], "time_utc,username,step,outcome,reason,duo_txid,client_ip,repeats,policy");
    assert!(lines[1].starts_with(&iso8601(i64::try_from(NOW - 50).unwrap())), "{}", lines[1]);
    assert!(lines[1].ends_with(",alice,login,success,duo_allow,,203.0.113.5,0,"), "{}", lines[1]);
    // A name typed to be a spreadsheet formula stays text.
    assert!(lines[2].contains(",\"'=cmd|'/c calc'!a0\","), "{}", lines[2]);
    assert_eq!(lines[3], "", "the file ends with a line break");
    let recorded = store.admin_events.borrow();
    assert_eq!(recorded.len(), 1);
    assert_eq!((recorded[0].actor.as_str(), recorded[0].action), ("root", "export_audit"));
    assert_eq!(recorded[0].detail.as_deref(), Some(r#"{"log":"sign_ins"}"#));
    assert_eq!(recorded[0].client_ip.as_deref(), Some("198.51.100.4"));
}

#[test]
fn csv_fields_are_quoted_only_when_they_must_be() {
    let row = AuditRow {
        at: 0,
        user: "dana".into(),
        event: "set_duo_username".into(),
        outcome: "success".into(),
        reason: r#"{"duo_username":"d, \"x\""}"#.into(),
        target: Some("bob".into()),
        duo_txid: None,
        client_ip: Some("2001:db8::1".into()),
        repeats: 0,
        policy: None,
        country: None,
        factor: None,
    };
    let csv = to_csv(AuditLog::Admin, &[row]);
    assert_eq!(
        csv,
        "time_utc,admin,action,target,detail,client_ip\r\n\
         1970-01-01T00:00:00Z,dana,set_duo_username,bob,\"{\"\"duo_username\"\":\"\"d, \\\"\"x\\\"\"\"\"}\",2001:db8::1\r\n"
    );
}

#[test]
fn times_are_iso_8601_utc() {
    // Reference values from Python's datetime.fromtimestamp(t, timezone.utc).
    for (at, text) in [
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (1_796_125_676, "2026-12-01T11:47:56Z"),
        (4_102_444_800, "2100-01-01T00:00:00Z"),
    ] {
        assert_eq!(iso8601(at), text);
    }
}
