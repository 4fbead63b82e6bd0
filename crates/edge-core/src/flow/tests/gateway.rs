//! The gateway's session cache ([`crate::gateway::cache`]): the steady
//! state asks no storage, and revocation holds within the bound.

use std::cell::RefCell;

use crate::flow::session::logout;
use crate::flow::testing::{MemoryStore, NOW, block_on, ctx, session_cookie, store};
use crate::gateway::assertion::Identity;
use crate::gateway::cache::{SessionCache, identify};
use crate::keys::{IdHash, UserKey};
use shared::api::AuthMethod;

const RECHECK: u64 = 60;

fn ask(
    cache: &RefCell<SessionCache>,
    store: &MemoryStore,
    cookie: &str,
    now: u64,
) -> Option<Identity> {
    block_on(identify(cache, store, Some(cookie), now, RECHECK)).expect("the store answers")
}

#[test]
fn a_checked_session_is_answered_without_the_store_until_the_bound() {
    let store = store();
    let cookie = session_cookie(&store, "alice", 1);
    let cache = RefCell::new(SessionCache::default());
    let first = ask(&cache, &store, &cookie, NOW).expect("signed in");
    assert_eq!(first.username, "alice");
    store.broken.set(true);
    for later in [NOW, NOW + 1, NOW + RECHECK - 1] {
        assert_eq!(ask(&cache, &store, &cookie, later).as_ref(), Some(&first), "at {later}");
    }
    let past = block_on(identify(&cache, &store, Some(&cookie), NOW + RECHECK, RECHECK));
    assert!(past.is_err(), "at the bound the store is asked again");
}

#[test]
fn a_revoked_session_stops_within_the_bound_and_a_local_sign_out_at_once() {
    let store = store();
    let cookie = session_cookie(&store, "alice", 1);
    let cache = RefCell::new(SessionCache::default());
    assert!(ask(&cache, &store, &cookie, NOW).is_some());
    block_on(logout(&store, Some(&cookie), &ctx(NOW + 1, "192.0.2.40"))).expect("signed out");
    assert!(ask(&cache, &store, &cookie, NOW + 2).is_some(), "trusted within the bound");
    assert_eq!(ask(&cache, &store, &cookie, NOW + RECHECK), None, "not at the bound");
    assert!(cache.borrow().is_empty(), "a refusal is not kept");

    let other = session_cookie(&store, "admin", 2);
    let identity = ask(&cache, &store, &other, NOW).expect("admin");
    let user = cache.borrow().user_of(&identity.session).cloned().expect("kept");
    cache.borrow_mut().forget_user(&user);
    if let Some(user) = store.users.borrow_mut().get_mut("admin") {
        user.disabled = 1;
    }
    assert_eq!(ask(&cache, &store, &other, NOW + 1), None, "forgotten: asked again at once");
}

/// alice, signed in with Duo at `NOW` for an hour, in session `session`.
fn alice(session: &[u8]) -> Identity {
    Identity {
        user: UserKey::of("alice").expect("a name"),
        username: "alice".to_owned(),
        role: "user".to_owned(),
        method: AuthMethod::Duo,
        auth_time: NOW,
        session: IdHash::of(session),
        expires_at: NOW + 3_600,
    }
}

#[test]
fn nothing_is_trusted_past_the_session_expiry_or_from_before_its_check() {
    let mut cache = SessionCache::default();
    let identity = Identity { auth_time: NOW - 100, expires_at: NOW + 10, ..alice(b"s") };
    cache.remember(identity.clone(), NOW);
    assert!(cache.fresh(&identity.session, NOW + 9, RECHECK).is_some());
    assert!(cache.fresh(&identity.session, NOW + 10, RECHECK).is_none(), "expired");
    assert!(cache.fresh(&identity.session, NOW - 1, RECHECK).is_none(), "a clock that went back");
    assert!(cache.fresh(&identity.session, NOW, 0).is_none(), "a bound of zero trusts nothing");
}

#[test]
fn a_full_cache_drops_the_longest_unchecked_session() {
    let mut cache = SessionCache::with_capacity(3);
    let identity = |n: u8| alice(&[n]);
    for n in 0..3 {
        cache.remember(identity(n), NOW + u64::from(n));
    }
    cache.remember(identity(0), NOW + 5);
    cache.remember(identity(9), NOW + 6);
    assert_eq!(cache.len(), 3);
    assert!(cache.fresh(&identity(1).session, NOW + 7, RECHECK).is_none(), "the oldest went");
    for n in [0, 2, 9] {
        assert!(cache.fresh(&identity(n).session, NOW + 7, RECHECK).is_some(), "{n}");
    }
}

#[test]
fn an_assertion_is_forwarded_again_while_half_its_life_is_left_and_the_identity_holds() {
    const TTL: u64 = 120;
    let mut cache = SessionCache::default();
    let identity = alice(b"s");
    cache.keep_assertion(&identity, "unkept".to_owned(), NOW + TTL);
    assert_eq!(cache.assertion(&identity, NOW, TTL), None, "only for a kept session");
    cache.remember(identity.clone(), NOW);
    cache.keep_assertion(&identity, "signed".to_owned(), NOW + TTL);
    assert_eq!(cache.assertion(&identity, NOW + TTL / 2, TTL), Some("signed"));
    assert_eq!(cache.assertion(&identity, NOW + TTL / 2 + 1, TTL), None, "past half its life");
    // A recheck finding the same identity keeps it; a changed one does not.
    cache.remember(identity.clone(), NOW + 30);
    assert_eq!(cache.assertion(&identity, NOW + 30, TTL), Some("signed"));
    let promoted = Identity { role: "admin".to_owned(), ..identity.clone() };
    assert_eq!(cache.assertion(&promoted, NOW + 30, TTL), None, "it states the old role");
    cache.remember(promoted.clone(), NOW + 40);
    assert_eq!(cache.assertion(&promoted, NOW + 40, TTL), None);
    assert_eq!(cache.assertion(&identity, NOW + 40, TTL), None);
}
