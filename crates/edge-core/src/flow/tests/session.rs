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
