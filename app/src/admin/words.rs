//! The audit log's codes in words, for people (the CSV keeps the codes):
//! steps, reasons and admin actions. An unknown code is shown as it is
//! stored, so nothing new is ever hidden.

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
        other => return other.replace('_', " "),
    }
    .to_owned()
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
    let shown = |value: &serde_json::Value| match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => "none".to_owned(),
        other => other.to_string(),
    };
    let before = fields.get("before").and_then(serde_json::Value::as_object);
    fields
        .iter()
        .filter(|(name, _)| name.as_str() != "before")
        .map(|(name, value)| {
            let label = name.replace('_', " ");
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
