//! The audit vocabulary and its one derivation ([`crate::flow::audit`]).

use std::collections::HashSet;

use shared::ErrorCode;

use crate::flow::audit::{Outcome, Reason, Refusal, Step, Success};
use crate::flow::testing::{NOW, block_on, ctx, store, user_key};
use crate::flow::trail::{Audited, Trail};

/// The schema whose `CHECK` constraints accept the step and outcome names.
const SCHEMA: &str = include_str!("../../../../../migrations/0001_init.sql");
const SCHEMA_0011: &str = include_str!("../../../../../migrations/0011_account_version.sql");

const REASONS: [Reason; 42] = [
    Reason::UnknownUser,
    Reason::BadPassword,
    Reason::Disabled,
    Reason::UnusableHash,
    Reason::UserClientLimit,
    Reason::ClientLimit,
    Reason::UserLimit,
    Reason::DuoStartLimit,
    Reason::ForbiddenOrigin,
    Reason::ConfigError,
    Reason::LoginCookieMissing,
    Reason::LoginCookieExpired,
    Reason::LoginCookieInvalid,
    Reason::UserUnavailable,
    Reason::DuoUsernameInvalid,
    Reason::DuoUnreachable,
    Reason::DuoHealthRejected,
    Reason::DuoHealthMalformed,
    Reason::DuoHealthTransport,
    Reason::DuoNotStarted,
    Reason::StateMissing,
    Reason::StateMismatch,
    Reason::StateReplayed,
    Reason::DuoAccessDenied,
    Reason::DuoErrorRedirect,
    Reason::CodeMissing,
    Reason::CodeMalformed,
    Reason::DuoHttpStatus,
    Reason::DuoOAuthError,
    Reason::DuoMalformed,
    Reason::DuoError,
    Reason::IdTokenSignature,
    Reason::IdTokenIssuer,
    Reason::IdTokenAudience,
    Reason::IdTokenTime,
    Reason::IdTokenNonce,
    Reason::IdTokenUsername,
    Reason::IdTokenInvalid,
    Reason::DuoDenied,
    Reason::NoSession,
    Reason::SessionUserUnavailable,
    Reason::Internal,
];

#[test]
fn steps_and_outcomes_are_the_names_the_schema_accepts() {
    let steps =
        [Step::Login, Step::DuoStart, Step::DuoCallback, Step::Logout, Step::PasswordChange];
    let names: Vec<&str> = steps.iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["login", "duo_start", "duo_callback", "logout", "password_change"]);
    // The latest definition of the table (migration 0011 made it again).
    assert!(
        SCHEMA_0011.contains(
            "step IN ('login', 'duo_start', 'duo_callback', 'logout', 'password_change')"
        )
    );
    let outcomes = [Outcome::Success, Outcome::Failure, Outcome::RateLimited, Outcome::Error];
    let names: Vec<&str> = outcomes.iter().map(|o| o.as_str()).collect();
    assert_eq!(names, ["success", "failure", "rate_limited", "error"]);
    assert!(SCHEMA.contains("outcome IN ('success', 'failure', 'rate_limited', 'error')"));
    assert!(SCHEMA_0011.contains("outcome IN ('success', 'failure', 'rate_limited', 'error')"));
}

#[test]
fn reasons_keep_todays_strings_and_are_distinct() {
    let successes = [
        (Success::DuoRequired, "duo_required"),
        (Success::Bypass, "bypass"),
        (Success::RedirectToDuo, "redirect_to_duo"),
        (Success::FailOpen, "fail_open"),
        (Success::DuoAllow, "duo_allow"),
        (Success::Logout, "logout"),
        (Success::LogoutEverywhere, "logout_everywhere"),
    ];
    for (success, name) in successes {
        assert_eq!(success.as_str(), name);
    }
    // Names the end-to-end tests match in the Worker's log.
    for (reason, name) in [
        (Reason::StateReplayed, "state_replayed"),
        (Reason::LoginCookieExpired, "login_cookie_expired"),
        (Reason::LoginCookieMissing, "login_cookie_missing"),
        (Reason::DuoNotStarted, "duo_not_started"),
        (Reason::DuoHttpStatus, "duo_http_status"),
        (Reason::DuoUnreachable, "duo_unreachable"),
        (Reason::DuoMalformed, "duo_malformed"),
        (Reason::DuoDenied, "duo_denied"),
        (Reason::IdTokenNonce, "id_token_nonce"),
        (Reason::IdTokenSignature, "id_token_signature"),
        (Reason::IdTokenTime, "id_token_time"),
        (Reason::IdTokenUsername, "id_token_username"),
        (Reason::IdTokenIssuer, "id_token_issuer"),
        (Reason::IdTokenAudience, "id_token_audience"),
        (Reason::BadPassword, "bad_password"),
        (Reason::UnknownUser, "unknown_user"),
        (Reason::Disabled, "disabled"),
        (Reason::UserLimit, "user_limit"),
        (Reason::ClientLimit, "ip_limit"),
    ] {
        assert_eq!(reason.as_str(), name);
    }
    let names: HashSet<&str> = REASONS.iter().map(|r| r.as_str()).collect();
    assert_eq!(names.len(), REASONS.len());
}

#[test]
fn each_reason_has_its_code_and_outcome() {
    for reason in REASONS {
        let expected = match reason.code() {
            ErrorCode::RateLimited => Outcome::RateLimited,
            ErrorCode::DuoUnavailable
            | ErrorCode::DuoError
            | ErrorCode::ConfigError
            | ErrorCode::Internal => Outcome::Error,
            _ => Outcome::Failure,
        };
        assert_eq!(reason.outcome(), expected, "{reason:?}");
    }
    assert_eq!(Reason::DuoAccessDenied.code(), ErrorCode::DuoDenied);
    assert_eq!(Reason::StateReplayed.code(), ErrorCode::StateMismatch);
    assert_eq!(Reason::UserUnavailable.code(), ErrorCode::LoginExpired);
    assert_eq!(Reason::DuoHttpStatus.code(), ErrorCode::DuoUnavailable);
    assert_eq!(Reason::Disabled.code(), ErrorCode::InvalidCredentials);
    assert_eq!(Reason::DuoStartLimit.code(), ErrorCode::RateLimited);
    assert_eq!(Reason::DuoHealthRejected.code(), ErrorCode::ConfigError);
    assert_eq!(Reason::DuoHealthMalformed.code(), ErrorCode::ConfigError);
    assert_eq!(Reason::DuoHealthTransport.code(), ErrorCode::DuoUnavailable);
}

struct Done;

impl Audited for Done {
    fn success(&self) -> Option<Success> {
        Some(Success::DuoAllow)
    }
}

#[test]
fn the_trail_derives_the_record_from_the_result() {
    let store = store();
    let mut trail = Trail::new(Step::DuoCallback, &ctx(NOW, "2001:db8::1"));
    trail.username = user_key("alice");
    trail.txid = Some("tx".into());
    assert!(block_on(trail.finish(&store, Ok(Done))).is_ok());
    let refusal = Refusal::new(Reason::IdTokenNonce);
    assert_eq!(
        block_on(trail.finish::<_, Done>(&store, Err(refusal.clone()))).err(),
        Some(refusal)
    );
    let events = store.events.borrow();
    assert_eq!(events.len(), 2);
    assert_eq!((events[0].outcome, events[0].reason), (Outcome::Success, "duo_allow"));
    assert_eq!((events[1].outcome, events[1].reason), (Outcome::Error, "id_token_nonce"));
    for event in events.iter() {
        assert_eq!((event.at, event.step), (NOW, Step::DuoCallback));
        assert_eq!(event.username, "alice");
        assert_eq!(event.duo_txid.as_deref(), Some("tx"));
        assert_eq!(event.client_ip.as_deref(), Some("2001:db8::1"));
    }
}

#[test]
fn an_unrecorded_success_fails_and_an_unrecorded_refusal_says_so() {
    let store = store();
    store.broken.set(true);
    let trail = Trail::new(Step::Login, &ctx(NOW, "192.0.2.1"));
    let failed = block_on(trail.finish(&store, Ok(Done))).err().expect("not recorded");
    assert_eq!(failed.reason, Reason::Internal);
    let refused = block_on(trail.finish::<_, Done>(&store, Err(Refusal::new(Reason::BadPassword))))
        .err()
        .expect("a refusal");
    assert_eq!(refused.reason, Reason::BadPassword);
    assert!(refused.detail.is_some_and(|d| d.contains("audit event not written")));
}
