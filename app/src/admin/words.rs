//! The audit log's codes in words, for people (the CSV keeps the codes):
//! steps, reasons and admin actions. An unknown code is shown as it is
//! stored, so nothing new is ever hidden.

use shared::alerts::AlertKind;

/// A sign-in step, as both Duo modes record it (the prompt's redirect and
/// the inline mode's chooser share `duo_start`; Duo's answer, by redirect
/// or on the page, is `duo_callback`).
pub(super) fn step(code: &str) -> String {
    match code {
        "login" => "Password",
        "duo_start" => "Duo step started",
        "duo_callback" => "Duo's answer",
        "logout" => "Sign-out",
        "password_change" => "Own password change",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

/// An outcome.
pub(super) fn outcome(code: &str) -> String {
    match code {
        "success" => "succeeded",
        "failure" => "refused",
        "rate_limited" => "rate limited",
        "error" => "error",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

/// A sign-in method (how a session was made; the success reasons).
pub(super) fn method(code: &str) -> String {
    match code {
        "duo_allow" => "Duo approved",
        "bypass" => "Password only (user set to bypass)",
        "fail_open" => "Password only: Duo was unreachable (fail-open)",
        "duo_bypass" => "Duo let the user in without a factor (bypass in Duo)",
        "duo_not_enforced" => "Password only: Duo enforcement off",
        "policy_bypass" => "Password only: a sign-in policy",
        "remembered_browser" => "Trusted browser (Duo skipped)",
        other => return reason(other),
    }
    .to_owned()
}

/// A reason code: why a step succeeded or was refused.
#[allow(clippy::too_many_lines, reason = "one arm per stored code: a table")]
pub(super) fn reason(code: &str) -> String {
    match code {
        // Successes.
        "duo_required" => "Password correct; Duo next",
        "redirect_to_duo" => "Sent to Duo's prompt",
        "logout" => "Signed out",
        "logout_everywhere" => "Signed out everywhere",
        "duo_enroll_required" => "Not enrolled in Duo: given Duo's enrollment link",
        "duo_choose" => "Password correct; choosing a Duo device",
        "duo_factor_started" => "Duo push or call sent",
        "duo_sms_sent" => "Duo passcodes sent by SMS",
        "duo_allow" | "bypass" | "fail_open" | "duo_bypass" | "duo_not_enforced"
        | "policy_bypass" | "remembered_browser" => return method(code),
        // Refusals.
        "unknown_user" | "no_such_user" => "No such user",
        "bad_password" => "Wrong password",
        "disabled" => "Account disabled",
        "unusable_hash" => "Stored password unusable",
        "user_client_limit" => "Too many attempts for this user from this client",
        "ip_limit" | "client_limit" => "Too many attempts from this client",
        "user_limit" => "Too many attempts for this user",
        "duo_start_limit" => "Too many Duo prompts for this user (push fatigue)",
        "forbidden_origin" => "Request from another site",
        "config_error" => "A setting is missing or invalid",
        "login_cookie_missing" => "Sign-in not started in this browser",
        "login_cookie_expired" => "Sign-in took too long",
        "login_cookie_invalid" => "Sign-in cookie tampered with",
        "user_unavailable" => "User gone or disabled during the sign-in",
        "duo_username_invalid" => "Duo username Duo cannot accept",
        "duo_unreachable" => "Duo unreachable",
        "duo_health_rejected" => "Duo refused our keys (health check)",
        "duo_health_malformed" => "Duo's health check answer unreadable",
        "duo_health_transport" => "Duo's health check failed in transit",
        "duo_not_started" => "Duo step never started",
        "state_missing" => "Duo's answer without its state",
        "state_mismatch" => "Duo's answer for another browser",
        "state_replayed" => "Duo's answer replayed",
        "duo_access_denied" => "Denied in Duo's prompt",
        "duo_error_redirect" => "Duo's prompt returned an error",
        "code_missing" => "Duo's answer without a code",
        "code_malformed" => "Duo's code malformed",
        "duo_http_status" => "Duo's token endpoint failed",
        "duo_oauth_error" => "Duo refused the code exchange",
        "duo_malformed" => "Duo's token answer unreadable",
        "duo_error" => "Duo's code exchange failed",
        "id_token_signature" => "Duo's token signature wrong",
        "id_token_issuer" => "Duo's token issuer wrong",
        "id_token_audience" => "Duo's token for another application",
        "id_token_time" => "Duo's token expired",
        "id_token_nonce" => "Duo's token nonce wrong",
        "id_token_username" => "Duo's token names another user",
        "id_token_invalid" => "Duo's token invalid",
        "duo_denied" => "Denied by Duo",
        "duo_account_denied" => "Duo refused the account (locked out, disabled or not enrolled)",
        "duo_cancelled" => "Cancelled in Duo's prompt",
        "no_session" => "No session",
        "session_user_unavailable" => "Session of a user gone or disabled",
        "wrong_mode" => "A step of the other Duo mode",
        "duo_preauth_denied" => "Duo refused the user (locked out, disabled or by policy)",
        "trust_revoked_by_duo" => "Trusted browser refused by Duo: trust ended",
        "fraud_reported" => "Reported as fraud in Duo: account put on hold",
        "breached_password" => "Password found in known breaches",
        "reauth_required" => "Needed a recent confirmation",
        "account_held" => "Account on hold after a fraud report",
        "duo_auth_api_rejected" => "Duo refused our Auth API request",
        "duo_auth_api_malformed" => "Duo's Auth API answer unreadable",
        "duo_factor_denied" => "Push, call or passcode denied",
        "passcode_limit" => "Too many passcodes in this sign-in",
        "device_refused" => "Device or method refused",
        "not_admin" => "Not an admin",
        "admin_bad_value" => "Value refused",
        "last_admin" => "Would leave no admin",
        "self_lockout" => "An admin changing their own access",
        "password_change_required" => "Must first choose a new password",
        "fail_open_console" => "Fail-open session kept out of the console",
        "policy_denied" => "Refused by a sign-in policy",
        "account_changed" => "Account changed during the sign-in",
        "passcode_account_limit" => "Too many wrong passcodes for this account",
        "no_transaction" => "No push or call under way",
        "internal" => "Our side failed",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

/// An admin action.
pub(super) fn action(code: &str) -> String {
    match code {
        "add_user" => "Added a user",
        "reset_password" => "Set a user's password",
        "set_role" => "Changed a role",
        "disable" => "Disabled a user",
        "enable" => "Enabled a user",
        "set_duo_policy" => "Changed a second factor",
        "set_duo_username" => "Changed a Duo username",
        "release_hold" => "Released a hold",
        "revoke_sessions" => "Signed a user out everywhere",
        "revoke_session" => "Ended a session",
        "forget_browser" => "Forgot a trusted browser",
        "set_policies" => "Saved the sign-in policies",
        "enforce_duo_on" => "Turned Duo enforcement on",
        "enforce_duo_off" => "Turned Duo enforcement off",
        "export_audit" => "Downloaded the audit log",
        "test_duo" => "Tested the Duo connection",
        "check_duo_username" => "Checked a Duo username",
        "change_own_password" => "Changed their own password",
        "add_webhook" => "Added a webhook",
        "change_webhook" => "Changed a webhook",
        "remove_webhook" => "Removed a webhook",
        "test_webhook" => "Sent a test alert",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

/// Whether an admin action's target is a webhook (by its name), not a user.
pub(super) fn targets_webhook(code: &str) -> bool {
    matches!(code, "add_webhook" | "change_webhook" | "remove_webhook" | "test_webhook")
}

/// How a session was made (`sessions.method`), as the sessions list and an
/// ended session's admin event say it.
pub(super) fn method_of_session(code: &str) -> String {
    match code {
        "duo" => "Duo",
        "bypass" => "password only (bypass)",
        "fail_open" => "password only (Duo was unreachable)",
        "remembered" => "password, from a trusted browser",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// A value of an admin change's detail in words: a webhook's alert kinds
/// by their labels ("events"), its format, on or off ("enabled").
fn shown(name: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match (name, value) {
        ("events", Value::Array(kinds)) if kinds.is_empty() => "none".to_owned(),
        ("events", Value::Array(kinds)) => kinds
            .iter()
            .map(|kind| {
                let code = kind.as_str().unwrap_or_default();
                AlertKind::parse(code)
                    .map_or_else(|| code.replace('_', " "), |k| k.label().to_owned())
            })
            .collect::<Vec<_>>()
            .join(", "),
        ("format", Value::String(code)) if code == "slack" => "Slack-compatible".to_owned(),
        ("format", Value::String(code)) if code == "json" => "JSON".to_owned(),
        ("enabled", Value::Bool(on)) => if *on { "on" } else { "off" }.to_owned(),
        (_, Value::String(text)) => text.clone(),
        (_, Value::Null) => "none".to_owned(),
        (_, other) => other.to_string(),
    }
}

/// An admin change's detail (JSON) in words: each field, with its value
/// before where it was recorded ("role: user → admin").
pub(super) fn change(detail: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(detail) else {
        return if detail.is_empty() || detail == "{}" {
            Vec::new()
        } else {
            vec![("detail".to_owned(), detail.to_owned())]
        };
    };
    let before = fields.get("before").and_then(serde_json::Value::as_object);
    fields
        .iter()
        .filter(|(name, _)| name.as_str() != "before")
        .map(|(name, value)| {
            let label = name.replace('_', " ");
            let shown = |value| shown(name, value);
            match (name.as_str(), before.and_then(|b| b.get(name))) {
                (_, Some(old)) => (label, format!("{} → {}", shown(old), shown(value))),
                // A session is named by its hash: its last characters say
                // enough beside how, in which browser and when it started.
                ("session", None) => {
                    let id: Vec<char> = shown(value).chars().collect();
                    let tail: String = id[id.len().saturating_sub(8)..].iter().collect();
                    (label, format!("…{tail}"))
                }
                ("started", None) => (
                    label,
                    value.as_i64().map_or_else(|| shown(value), crate::components::zoned_time),
                ),
                ("method", None) => (label, method_of_session(&shown(value))),
                (_, None) => (label, shown(value)),
            }
        })
        .collect()
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::{action, change, targets_webhook};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn field<'a>(said: &'a [(String, String)], name: &str) -> Option<&'a str> {
        said.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str())
    }

    #[wasm_bindgen_test]
    fn a_webhook_added_says_its_format_and_alerts_in_words() {
        let detail = r#"{"name":"ops-slack","destination":"https://hooks.slack.com/…",
            "format":"slack","events":["fraud_reported","role_changed"]}"#;
        let said = change(detail);
        assert_eq!(field(&said, "name"), Some("ops-slack"));
        assert_eq!(field(&said, "destination"), Some("https://hooks.slack.com/…"));
        assert_eq!(field(&said, "format"), Some("Slack-compatible"));
        assert_eq!(
            field(&said, "events"),
            Some("Push reported as fraud, Admin role given or taken")
        );
        assert_eq!(action("add_webhook"), "Added a webhook");
        assert!(targets_webhook("add_webhook") && !targets_webhook("add_user"));
    }

    #[wasm_bindgen_test]
    fn a_webhook_change_says_what_changed_before_and_after() {
        let turned_off = r#"{"name":"ops","enabled":false,
            "before":{"enabled":true,"events":["fraud_reported"]}}"#;
        let said = change(turned_off);
        assert_eq!(field(&said, "enabled"), Some("on → off"));
        assert_eq!(field(&said, "events"), None, "the events did not change");
        let events = r#"{"name":"ops","events":["policy_changed","refusal_burst"],
            "before":{"enabled":true,"events":["policy_changed"]}}"#;
        let said = change(events);
        assert_eq!(
            field(&said, "events"),
            Some("Sign-in policies changed → Sign-in policies changed, Burst of refused sign-ins")
        );
        assert_eq!(field(&said, "enabled"), None);
        let unknown = change(r#"{"events":["new_kind"]}"#);
        assert_eq!(field(&unknown, "events"), Some("new kind"), "an unknown kind shows as stored");
    }

    #[wasm_bindgen_test]
    fn a_test_alert_names_its_webhook_and_alert() {
        let said = change(r#"{"name":"ops","alert_id":"al_1"}"#);
        assert_eq!(field(&said, "alert id"), Some("al_1"));
        assert_eq!(action("test_webhook"), "Sent a test alert");
        assert_eq!(action("remove_webhook"), "Removed a webhook");
        assert_eq!(action("change_webhook"), "Changed a webhook");
    }
}
