//! `GET /api/session` and `POST /api/logout` ([`crate::flow::session`]).

use shared::ErrorCode;
use shared::api::{AuthMethod, DuoDetails};

use crate::flow::Reason;
use crate::flow::session::{LogoutOutcome, check, logout, logout_everywhere};
use crate::flow::testing::{MemoryStore, NOW, block_on, ctx, issue_stored, random, store, user};

/// A session issued at `NOW` (lifetime 3600 s), and its cookie value.
fn issued(store: &MemoryStore, method: AuthMethod, duo: Option<DuoDetails>) -> String {
    let session = issue_stored(store, "alice", method, duo, &ctx(NOW, "192.0.2.40"), &random(3));
    session.id.to_cookie_value()
}

#[test]
fn a_live_session_is_reported_as_issued() {
    let store = store();
    let duo = DuoDetails {
        factor: Some("duo_push".into()),
        device: Some("iPhone".into()),
        txid: Some("t".into()),
        result: Some("allow".into()),
    };
    let cookie = issued(&store, AuthMethod::Duo, Some(duo.clone()));
    let info = block_on(check(&store, Some(&cookie), NOW + 10)).unwrap();
    assert_eq!(info.username, "alice");
    assert_eq!(info.method, AuthMethod::Duo);
    assert_eq!((info.authenticated_at, info.expires_at), (1_800_000_010, 1_800_003_610));
    assert_eq!(info.duo, Some(duo));
}

#[test]
fn no_bad_expired_or_revoked_session_is_unauthenticated() {
    let store = store();
    let cookie = issued(&store, AuthMethod::Bypass, None);
    let other = crate::session::SessionId::from_random(&[77; 32]).to_cookie_value();
    for (value, now) in [
        (None, NOW),
        (Some("garbage"), NOW),
        (Some(other.as_str()), NOW),
        (Some(cookie.as_str()), NOW + 3600),
    ] {
        let refusal = block_on(check(&store, value, now)).unwrap_err();
        assert_eq!(
            (refusal.reason, refusal.code()),
            (Reason::NoSession, ErrorCode::Unauthenticated)
        );
    }
    assert!(block_on(check(&store, Some(&cookie), NOW + 3599)).is_ok());
    let out = block_on(logout(&store, Some(&cookie), &ctx(NOW + 5, "192.0.2.40"))).unwrap();
    assert_eq!(out, LogoutOutcome::Revoked { username: "alice".into() });
    let refusal = block_on(check(&store, Some(&cookie), NOW + 6)).unwrap_err();
    assert_eq!(refusal.code(), ErrorCode::Unauthenticated);
}

#[test]
fn a_session_whose_user_is_disabled_or_deleted_is_refused_and_revoked() {
    for deleted in [false, true] {
        let store = store();
        let cookie = issued(&store, AuthMethod::Duo, None);
        assert!(block_on(check(&store, Some(&cookie), NOW + 5)).is_ok());
        if deleted {
            store.users.borrow_mut().remove("alice");
        } else if let Some(alice) = store.users.borrow_mut().get_mut("alice") {
            alice.disabled = 1;
        }
        let refusal = block_on(check(&store, Some(&cookie), NOW + 10)).unwrap_err();
        assert_eq!(
            (refusal.reason, refusal.code()),
            (Reason::SessionUserUnavailable, ErrorCode::Unauthenticated),
            "deleted: {deleted}"
        );
        // Revoked server-side: enabling (or re-creating) the user does not
        // bring the session back.
        store.add_user(user("alice", "alice-pass", "required", false));
        let refusal = block_on(check(&store, Some(&cookie), NOW + 11)).unwrap_err();
        assert_eq!(refusal.reason, Reason::NoSession, "deleted: {deleted}");
        let sessions = store.sessions.borrow();
        assert!(sessions.values().all(|row| row.revoked_at == Some(NOW + 10)));
    }
}

#[test]
fn logout_everywhere_revokes_every_session_of_the_callers_user_only() {
    let store = store();
    let mut cookies = Vec::new();
    for (seed, name) in [(10, "alice"), (20, "Alice"), (30, "alice"), (40, "admin")] {
        let ctx = ctx(NOW, "192.0.2.40");
        let method = AuthMethod::Bypass;
        let issued = issue_stored(&store, name, method, None, &ctx, &random(seed));
        cookies.push(issued.id.to_cookie_value());
    }
    let c = ctx(NOW + 5, "192.0.2.41");
    // Without a live session nothing is revoked.
    assert_eq!(block_on(logout_everywhere(&store, None, &c)).unwrap(), LogoutOutcome::NoSession);
    let garbage = block_on(logout_everywhere(&store, Some("garbage"), &c)).unwrap();
    assert_eq!(garbage, LogoutOutcome::NoSession);
    assert!(store.audit().is_empty());
    let out = block_on(logout_everywhere(&store, Some(&cookies[1]), &c)).unwrap();
    assert_eq!(out, LogoutOutcome::RevokedEverywhere { username: "Alice".into() });
    for cookie in &cookies[..3] {
        let refusal = block_on(check(&store, Some(cookie), NOW + 6)).unwrap_err();
        assert_eq!(refusal.reason, Reason::NoSession);
    }
    assert!(block_on(check(&store, Some(&cookies[3]), NOW + 6)).is_ok(), "admin is untouched");
    assert_eq!(store.audit(), [("logout", "success", "logout_everywhere")]);
    assert_eq!(store.last_event().username, "alice");
    // Its own session is revoked now: a second call revokes nothing.
    let again = block_on(logout_everywhere(&store, Some(&cookies[1]), &c)).unwrap();
    assert_eq!(again, LogoutOutcome::NoSession);
}

#[test]
fn logout_revokes_once_and_is_audited_once() {
    let store = store();
    let cookie = issued(&store, AuthMethod::Bypass, None);
    let c = ctx(NOW + 5, "192.0.2.40");
    assert_eq!(
        block_on(logout(&store, Some(&cookie), &c)).unwrap(),
        LogoutOutcome::Revoked { username: "alice".into() }
    );
    assert_eq!(block_on(logout(&store, Some(&cookie), &c)).unwrap(), LogoutOutcome::NoSession);
    assert_eq!(block_on(logout(&store, None, &c)).unwrap(), LogoutOutcome::NoSession);
    assert_eq!(block_on(logout(&store, Some("garbage"), &c)).unwrap(), LogoutOutcome::NoSession);
    assert_eq!(store.audit(), [("logout", "success", "logout")]);
    assert_eq!(store.last_event().username, "alice");
    let sessions = store.sessions.borrow();
    assert!(sessions.values().all(|row| row.revoked_at == Some(NOW + 5)));
}

#[test]
fn an_unknown_stored_method_is_internal() {
    let store = store();
    let cookie = issued(&store, AuthMethod::Bypass, None);
    for row in store.sessions.borrow_mut().values_mut() {
        row.session.method = "password";
    }
    let refusal = block_on(check(&store, Some(&cookie), NOW)).unwrap_err();
    assert_eq!(refusal.code(), ErrorCode::Internal);
}

#[test]
fn sessions_are_stored_by_hash_with_their_method_name() {
    let store = store();
    for (n, method) in AuthMethod::ALL.into_iter().enumerate() {
        let random = random(u8::try_from(n).unwrap() * 10);
        let session = issue_stored(&store, "alice", method, None, &ctx(NOW, "192.0.2.1"), &random);
        let sessions = store.sessions.borrow();
        let row = &sessions[&session.id.storage_key()];
        assert_eq!(row.session.method, method.as_str());
        let cookie = session.id.to_cookie_value();
        assert!(!sessions.keys().any(|key| key.as_str() == cookie), "never the id itself");
    }
}

#[test]
fn a_session_unused_for_its_idle_window_ends_and_each_use_moves_the_window() {
    let store = store();
    let cookie = issued(&store, AuthMethod::Duo, None);
    // The test sessions' window is 600 s: a quarter of it is written at most
    // every 60 s, at a check that comes that much after the last write.
    store.sessions.borrow_mut().values_mut().for_each(|row| row.session.idle_seconds = 600);
    let first = block_on(check(&store, Some(&cookie), NOW + 30)).expect("live");
    assert_eq!(
        first.idle_expires_at,
        Some(i64::try_from(NOW + 600).unwrap_or_default()),
        "not written yet"
    );
    let used = block_on(check(&store, Some(&cookie), NOW + 500)).expect("live");
    assert_eq!(
        used.idle_expires_at,
        Some(i64::try_from(NOW + 1100).unwrap_or_default()),
        "used now"
    );
    let kept = block_on(check(&store, Some(&cookie), NOW + 1000)).expect("within the moved window");
    assert_eq!(
        kept.expires_at,
        i64::try_from(NOW + 3600).unwrap_or_default(),
        "the lifetime stays"
    );
    let idle = block_on(check(&store, Some(&cookie), NOW + 1601));
    assert_eq!(idle.expect_err("idle").reason, Reason::NoSession, "600 s unused since NOW + 1000");
    assert_eq!(crate::flow::session::touch_every(600), 60);
    assert_eq!(crate::flow::session::touch_every(8), 2);
}

#[test]
fn a_user_lists_and_ends_their_own_sessions_only() {
    use crate::flow::admin::Caller;
    use crate::flow::own_sessions::{end, list};
    use shared::api::{EndOwnRequest, OwnKind};
    let store = store();
    let mine = issued(&store, AuthMethod::Duo, None);
    let other = issue_stored(
        &store,
        "alice",
        AuthMethod::Bypass,
        None,
        &ctx(NOW + 5, "192.0.2.41"),
        &random(4),
    );
    let bob =
        issue_stored(&store, "admin", AuthMethod::Duo, None, &ctx(NOW, "192.0.2.42"), &random(5));
    let listed = block_on(list(&store, Some(&mine), None, NOW + 10)).expect("listed");
    let sessions: Vec<(bool, AuthMethod)> =
        listed.sessions.iter().map(|s| (s.current, s.method)).collect();
    assert_eq!(
        sessions,
        [(false, AuthMethod::Bypass), (true, AuthMethod::Duo)],
        "newest first, this one marked"
    );
    assert!(!serde_json::to_string(&listed).unwrap_or_default().contains(&mine), "never a token");
    assert_eq!(
        block_on(list(&store, None, None, NOW)).expect_err("no session").reason,
        Reason::NoSession
    );

    let config = crate::flow::testing::config("closed");
    let caller =
        Caller { origin: Some(crate::flow::testing::APP_ORIGIN), session_cookie: Some(&mine) };
    let at = ctx(NOW + 20, "192.0.2.40");
    let ask = |id: String| EndOwnRequest { kind: OwnKind::Session, id };
    let bobs = ask(bob.row.id_hash.as_str().to_owned());
    let refused = block_on(end(&store, &config, caller, None, &bobs, &at)).expect_err("not hers");
    assert_eq!(refused.code(), ErrorCode::BadRequest);
    let lives = block_on(check(&store, Some(&bob.id.to_cookie_value()), NOW + 21));
    assert!(lives.is_ok(), "the admin's lives: {lives:?}");
    let ended = block_on(end(
        &store,
        &config,
        caller,
        None,
        &ask(other.row.id_hash.as_str().to_owned()),
        &at,
    ))
    .expect("ended");
    assert!(!ended.current);
    assert_eq!(store.last_event().reason, "logout", "recorded as a logout");
    assert!(block_on(check(&store, Some(&other.id.to_cookie_value()), NOW + 21)).is_err());
    let foreign = Caller { origin: Some("https://evil.example"), session_cookie: Some(&mine) };
    let own = ask(crate::keys::IdHash::of(mine.as_bytes()).as_str().to_owned());
    assert_eq!(
        block_on(end(&store, &config, foreign, None, &own, &at)).expect_err("origin").reason,
        Reason::ForbiddenOrigin
    );
    let this = crate::session::SessionId::parse(&mine).expect("an id").storage_key();
    let this_one = ask(this.as_str().to_owned());
    assert!(block_on(end(&store, &config, caller, None, &this_one, &at)).expect("ended").current);
}
