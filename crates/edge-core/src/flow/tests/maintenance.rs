//! Scheduled maintenance ([`crate::flow::maintenance`]) and the audit rule
//! for clients already over a rate limit.

use shared::api::{LoginRequest, Password};

use crate::flow::health::HealthMemo;
use crate::flow::limits::{PER_USER_CLIENT, WINDOW_SECONDS, window_start};
use crate::flow::login::DuoLink;
use crate::flow::login::{LoginInput, login};
use crate::flow::maintenance::{
    MIN_AUDIT_RETENTION_DAYS, PrunePlan, Pruned, SESSION_GRACE_SECONDS, STATE_KEEP_SECONDS,
};
use crate::flow::store::{MaintenanceStore, NewSession, SessionStore, SignInStore, SingleUse};
use crate::flow::testing::{
    CountingVerifier, NOW, ScriptedDuo, block_on, config, ctx, random, store, user_key,
};
use crate::keys::{IdHash, Txid};

fn wrong_password(store: &crate::flow::testing::MemoryStore, ip: &str, now: u64) {
    let body = LoginRequest {
        username: "alice".to_owned(),
        password: Password::new("no"),
        return_to: None,
        fresh: false,
    };
    let input = LoginInput { body: &body, known_browser: None, remembered: None };
    let verifier = CountingVerifier::default();
    let (duo, health) = (ScriptedDuo::default(), HealthMemo::new());
    let duo = DuoLink { transport: &duo, health: &health };
    let _ =
        block_on(login(store, &verifier, duo, &config("closed"), input, &ctx(now, ip), &random(1)));
}

/// A client hammering on after its limit writes one audit row, not one per
/// request; when the window is pruned, one summary row counts the rest.
#[test]
fn a_flood_is_recorded_once_then_summarized_when_its_window_is_pruned() {
    let store = store();
    let start = window_start(NOW);
    let max = PER_USER_CLIENT.max;
    for _ in 0..max + 40 {
        wrong_password(&store, "198.51.100.9", start + 10);
    }
    let audit = store.audit();
    assert_eq!(audit.len(), usize::try_from(max + 1).unwrap(), "{audit:?}");
    assert_eq!(audit.last(), Some(&("login", "rate_limited", "user_client_limit")));

    // Not yet: the window has not ended a minute ago.
    let early = PrunePlan::at(start + WINDOW_SECONDS + 30, 365, 5);
    assert_eq!(block_on(store.prune(&early)).unwrap().counters, 0);

    let plan = PrunePlan::at(start + WINDOW_SECONDS + 61, 365, 5);
    let pruned = block_on(store.prune(&plan)).unwrap();
    assert_eq!(pruned.summaries, 1);
    assert_eq!(pruned.counters, 3, "user and client, client, user");
    assert!(store.counters.borrow().is_empty());
    let summary = store.last_event();
    assert_eq!(
        (summary.step.as_str(), summary.outcome.as_str(), summary.reason),
        ("login", "rate_limited", "user_client_limit")
    );
    assert_eq!(summary.username, "alice");
    assert_eq!(summary.client_ip.as_deref(), Some("198.51.100.9"));
    assert_eq!(summary.repeats, 39, "40 refused, the first recorded on its own");
    assert_eq!(summary.at, plan.now);
}

#[test]
fn sessions_states_and_old_audit_events_are_deleted_past_their_time() {
    let store = store();
    let plan = PrunePlan::at(NOW, 365, 5);
    let session = |id: char, expires_at: u64, revoked_at: Option<u64>| {
        let row = NewSession {
            id_hash: IdHash::parse(&id.to_string().repeat(64)).expect("64 hex digits"),
            username: "alice".to_owned(),
            method: "duo",
            duo_context: None,
            created_at: expires_at.saturating_sub(3600),
            expires_at,
            client_ip: None,
            account_version: 0,
            idle_seconds: 0,
            user_agent: None,
            country: None,
        };
        let event = crate::flow::store::AuditEvent {
            at: row.created_at,
            username: "alice".to_owned(),
            step: crate::flow::Step::DuoCallback,
            outcome: crate::flow::Outcome::Success,
            reason: "duo_allow",
            duo_txid: None,
            client_ip: None,
            repeats: 0,
            policy: None,
            country: None,
            factor: None,
        };
        block_on(store.create_session(&row, &event)).unwrap();
        store.events.borrow_mut().pop();
        if let Some(at) = revoked_at {
            block_on(store.revoke_session(&row.id_hash, at)).unwrap();
        }
    };
    session('a', NOW + 3600, None); // live
    session('b', NOW - 60, None); // expired a minute ago: kept a day
    session('c', NOW - SESSION_GRACE_SECONDS - 1, None); // expired over a day ago
    session('d', NOW + 3600, Some(NOW - SESSION_GRACE_SECONDS - 1)); // revoked over a day ago
    session('e', NOW + 3600, Some(NOW - 60)); // revoked a minute ago
    let (old, new) = (Txid::new("old".to_owned()), Txid::new("new".to_owned()));
    let (old, new) = (SingleUse::InlineTransaction(&old), SingleUse::InlineTransaction(&new));
    block_on(store.spend_once_and_user(old, &user_key("alice"), NOW - STATE_KEEP_SECONDS - 1))
        .unwrap();
    block_on(store.spend_once_and_user(new, &user_key("alice"), NOW - 60)).unwrap();
    let year = 365 * 86_400;
    // Three attempts: two a year ago (one window: its three counters go),
    // one now (its counters stay).
    for at in [NOW - year - 1, NOW - year + 1, NOW] {
        wrong_password(&store, "192.0.2.1", at);
    }

    // Remembered browsers: expired and forgotten over a day ago go.
    for (id, expires_at, forgotten) in [
        ('f', NOW + 86_400, None),
        ('g', NOW - SESSION_GRACE_SECONDS - 1, None),
        ('h', NOW + 86_400, Some(NOW - SESSION_GRACE_SECONDS - 1)),
        ('i', NOW + 86_400, Some(NOW - 60)),
    ] {
        let browser = crate::flow::store::RememberedBrowser {
            id_hash: IdHash::of(id.to_string().as_bytes()),
            username: "alice".to_owned(),
            created_at: NOW - 2 * 86_400,
            expires_at,
            last_used_at: None,
            user_agent: None,
            client_ip: None,
        };
        store.browsers.borrow_mut().push((browser, forgotten));
    }

    for (at, target) in [(NOW - year - 1, "old"), (NOW - year + 1, "recent")] {
        store.admin_events.borrow_mut().push(crate::flow::store::AdminEvent {
            at,
            actor: "admin".to_owned(),
            action: "disable",
            target: Some(target.to_owned()),
            detail: None,
            client_ip: None,
        });
    }

    let pruned = block_on(store.prune(&plan)).unwrap();
    let expected = Pruned {
        sessions: 2,
        states: 1,
        counters: 3,
        summaries: 0,
        audit_events: 1,
        admin_events: 1,
        browsers: 2,
    };
    assert_eq!(pruned, expected);
    let admin_kept: Vec<_> =
        store.admin_events.borrow().iter().filter_map(|e| e.target.clone()).collect();
    assert_eq!(admin_kept, ["recent"]);
    let mut kept: Vec<char> =
        store.sessions.borrow().keys().filter_map(|id| id.as_str().chars().next()).collect();
    kept.sort_unstable();
    assert_eq!(kept, ['a', 'b', 'e']);
    assert!(store.spent.borrow().contains_key(&new.storage_key()));
    assert_eq!(store.spent.borrow().len(), 1);
    assert_eq!(store.events.borrow().len(), 2);
    // A spent state replayed later is refused anyway: it outlives its ticket.
    const { assert!(STATE_KEEP_SECONDS > crate::cookie::LOGIN_MAX_SECONDS) };
}

#[test]
fn audit_retention_never_goes_below_the_database_floor() {
    let plan = PrunePlan::at(NOW, 1, 5);
    assert_eq!(plan.audit_before, NOW - u64::from(MIN_AUDIT_RETENTION_DAYS) * 86_400);
    let plan = PrunePlan::at(NOW, 400, 5);
    assert_eq!(plan.audit_before, NOW - 400 * 86_400);
    assert_eq!(plan.limits.duo_start, 5);
}

/// Passcode counters: an account's (`pa:`) stays while the account exists
/// (Duo's own count has no window), a login's (`pc:`) while the login can
/// still be accepted, which may be past its window's end.
#[test]
fn passcode_counters_are_kept_as_long_as_they_count() {
    use crate::cookie::LOGIN_MAX_SECONDS;
    use crate::flow::limits::{ACCOUNT_WINDOW, LimitKey};

    let store = store();
    let start = window_start(NOW);
    let login_at = start + WINDOW_SECONDS - 10; // in the last seconds of a window
    let keys = [
        (LimitKey::PasscodeAccount("alice".into()), ACCOUNT_WINDOW),
        (LimitKey::PasscodeAccount("ghost".into()), ACCOUNT_WINDOW),
        (LimitKey::Passcode("alice".into(), login_at.to_string()), start),
    ];
    for (key, window) in &keys {
        block_on(store.hit(key, *window, NOW)).unwrap();
    }
    // The window has ended, the login (at most LOGIN_MAX_SECONDS) has not.
    let during = PrunePlan::at(login_at + LOGIN_MAX_SECONDS - 1, 365, 5);
    assert!(during.windows_before > start, "an ordinary counter of that window would go");
    let pruned = block_on(store.prune(&during)).unwrap();
    assert_eq!((pruned.counters, pruned.summaries), (1, 0), "only the deleted account's");
    let left: Vec<LimitKey> = store.counters.borrow().keys().map(|(k, _)| k.clone()).collect();
    assert!(left.contains(&keys[0].0) && left.contains(&keys[2].0), "{left:?}");
    assert!(!left.contains(&keys[1].0), "ghost is no account");

    let after = PrunePlan::at(login_at + LOGIN_MAX_SECONDS + WINDOW_SECONDS + 61, 365, 5);
    block_on(store.prune(&after)).unwrap();
    let left: Vec<LimitKey> = store.counters.borrow().keys().map(|(k, _)| k.clone()).collect();
    assert_eq!(left, [keys[0].0.clone()], "the account's count stays");
}
