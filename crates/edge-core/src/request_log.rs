//! One structured line per request, for Workers Logs and `wrangler tail`:
//! which route and step, what came of it and why, how long it took and how
//! much of that was Duo, and the client's country. Never a username, an
//! address, a cookie, a token, a password or a secret: the route is the
//! router's name for the path (`/api/admin/users` for every user's page),
//! never the path itself, and the reason is the audit log's word.
//!
//! The Worker (`edge::trace`) fills it in and logs [`RequestLine::to_json`]
//! as one line: Workers Logs indexes each field of a JSON line, and
//! `wrangler tail --format json` carries it as the log's message.

use serde::Serialize;
use shared::admin::routes as admin;
use shared::alerts::routes as alerts;
use shared::api::routes as api;
use shared::policy::routes as policy;

/// The line of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestLine<'a> {
    /// Always `request`: what to filter the lines by.
    pub event: &'static str,
    /// The router's name for the path ([`route_of`]).
    pub route: &'static str,
    /// Which part of the product: `login`, `step_up`, `duo_start`,
    /// `duo_inline`, `duo_callback`, `session`, `logout`, `password`,
    /// `admin`, `gateway`, `verify`, `health`, `keys`, `page`.
    pub step: &'static str,
    /// The HTTP method.
    pub method: &'a str,
    /// The status answered.
    pub status: u16,
    /// `ok` (2xx, 3xx), `refused` (4xx), `limited` (429), `error` (5xx).
    pub outcome: &'static str,
    /// Why, in the audit log's words (`bad_password`, `flood`,
    /// `fail_open`…), when there is more to say than the status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// From the request to the answer, in milliseconds (workerd's clock,
    /// which moves with I/O).
    pub duration_ms: u64,
    /// Time spent waiting on Duo, in milliseconds, when Duo was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duo_ms: Option<u64>,
    /// How many calls to Duo, when Duo was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duo_calls: Option<u32>,
    /// Cloudflare's country of the client (`request.cf.country`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<&'a str>,
    /// The Cloudflare data center that answered (`request.cf.colo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colo: Option<&'a str>,
}

impl RequestLine<'_> {
    /// The line, as JSON on one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The outcome word of `status`.
pub const fn outcome_of(status: u16) -> &'static str {
    match status {
        429 => "limited",
        400..=499 => "refused",
        500..=599 => "error",
        _ => "ok",
    }
}

/// The routes of the login's own API, each with its step.
const ROUTES: &[(&str, &str)] = &[
    (api::LOGIN, "login"),
    (api::STEP_UP, "step_up"),
    (api::DUO_START, "duo_start"),
    (api::DUO_CALLBACK, "duo_callback"),
    (api::DUO_INLINE_START, "duo_inline"),
    (api::DUO_INLINE_STATUS, "duo_inline"),
    (api::SESSION, "session"),
    (api::OWN_SESSIONS, "session"),
    (api::OWN_SESSIONS_END, "session"),
    (api::FORGET_BROWSER, "session"),
    (api::LOGOUT, "logout"),
    (api::LOGOUT_EVERYWHERE, "logout"),
    (api::PASSWORD, "password"),
    (api::HEALTH, "health"),
    (api::JWKS, "keys"),
    (api::VERIFY, "verify"),
    (api::VERIFY_NGINX, "verify"),
    (admin::USERS, "admin"),
    (admin::USER_CHANGE, "admin"),
    (admin::USER_ADD, "admin"),
    (admin::USER_PASSWORD, "admin"),
    (admin::USER_DUO_CHECK, "admin"),
    (admin::SESSIONS, "admin"),
    (admin::SESSION_REVOKE, "admin"),
    (admin::REMEMBERED, "admin"),
    (admin::REMEMBERED_FORGET, "admin"),
    (admin::AUDIT, "admin"),
    (admin::AUDIT_CSV, "admin"),
    (admin::OVERVIEW, "admin"),
    (admin::DUO, "admin"),
    (admin::DUO_TEST, "admin"),
    (admin::DUO_ENFORCE, "admin"),
    (policy::POLICIES, "admin"),
    (policy::DRY_RUN, "admin"),
    (alerts::ALERTS, "admin"),
    (alerts::WEBHOOK_ADD, "admin"),
    (alerts::WEBHOOK_CHANGE, "admin"),
    (alerts::WEBHOOK_REMOVE, "admin"),
    (alerts::WEBHOOK_TEST, "admin"),
    (alerts::DELIVERIES, "admin"),
];

/// The route and step of a request for `path` (the URL's path, the
/// login's prefix included): an API route by its name, the console's pages
/// as `/admin/*`, any other API path as `/api/*`, the login's other files
/// as `/*`, and everything outside the prefix as the app's (`app`).
pub fn route_of(path: &str) -> (&'static str, &'static str) {
    let Some(own) = api::own(path) else { return ("app", "gateway") };
    if let Some((route, step)) = ROUTES.iter().find(|(route, _)| *route == own) {
        return (route, step);
    }
    if own.starts_with("/api/") || own.starts_with("/auth/") {
        ("/api/*", "unknown")
    } else if own == api::ADMIN_PAGE || api::is_console_page(own) {
        ("/admin/*", "page")
    } else {
        ("/*", "page")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_is_named_by_its_route_never_by_what_it_holds() {
        let at = api::at;
        assert_eq!(route_of(&at(api::LOGIN)), ("/api/login", "login"));
        assert_eq!(route_of(&at(api::DUO_CALLBACK)), ("/auth/duo/callback", "duo_callback"));
        assert_eq!(route_of(&at(alerts::WEBHOOK_TEST)), ("/api/admin/alerts/test", "admin"));
        // A user's page and an unknown API path name no user or path.
        assert_eq!(route_of(&at("/admin/users/alice")), ("/admin/*", "page"));
        assert_eq!(route_of(&at("/api/nope/alice")), ("/api/*", "unknown"));
        assert_eq!(route_of(&at("/assets/app.js")), ("/*", "page"));
        assert_eq!(route_of("/billing/alice?token=x"), ("app", "gateway"));
        // Every route of the router is named.
        for (route, _) in ROUTES {
            assert_eq!(route_of(&at(route)).0, *route);
        }
    }

    #[test]
    fn a_line_is_one_json_object_with_only_what_is_known() {
        let line = RequestLine {
            event: "request",
            route: "/api/login",
            step: "login",
            method: "POST",
            status: 401,
            outcome: outcome_of(401),
            reason: Some("bad_password"),
            duration_ms: 14,
            duo_ms: None,
            duo_calls: None,
            country: Some("NL"),
            colo: None,
        };
        let json = line.to_json();
        assert!(!json.contains('\n'));
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(parsed["outcome"], "refused");
        assert_eq!(parsed["reason"], "bad_password");
        assert!(parsed.get("duo_ms").is_none() && parsed.get("colo").is_none(), "{json}");
        assert_eq!(
            [200, 303, 401, 403, 429, 500, 503].map(outcome_of),
            ["ok", "ok", "refused", "refused", "limited", "error", "error"]
        );
    }
}
