//! The admin console's part of the contract (`/api/admin/*`): only for
//! sessions whose account has the `admin` role, checked on every request.

use serde::{Deserialize, Serialize};

use crate::api::Role;

/// Paths of the admin API.
pub mod routes {
    /// `GET ?q=&page=`: users, searched and paged.
    pub const USERS: &str = "/api/admin/users";
    /// `POST`: change one user ([`super::UserChangeRequest`]).
    pub const USER_CHANGE: &str = "/api/admin/users/change";
    /// `GET ?q=&page=`: live sessions, newest first.
    pub const SESSIONS: &str = "/api/admin/sessions";
    /// `POST`: end one session ([`super::SessionRevokeRequest`]).
    pub const SESSION_REVOKE: &str = "/api/admin/sessions/revoke";
}

/// Users per page of [`UserList`].
pub const PAGE_SIZE: u32 = 25;

/// A user's second-factor policy, as the console shows and sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuoPolicy {
    /// Duo after the password.
    Required,
    /// Password only (break-glass).
    Bypass,
}

/// One user, as the console lists them (never a password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// As registered.
    pub username: String,
    /// `user` or `admin`.
    pub role: Role,
    /// Duo required, or bypassed.
    pub duo_policy: DuoPolicy,
    /// The name Duo knows, when it differs.
    pub duo_username: Option<String>,
    /// Refused at login.
    pub disabled: bool,
    /// When the account was made (Unix seconds).
    pub created_at: i64,
    /// The last session made for the user, and how.
    pub last_login_at: Option<i64>,
    /// `duo`, `bypass` or `fail_open`.
    pub last_login_method: Option<String>,
}

/// Body of `GET /api/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    /// This page's users, by normalized username.
    pub users: Vec<UserSummary>,
    /// Users matching the search, in all.
    pub total: u32,
    /// This page, from 1.
    pub page: u32,
    /// Users per page.
    pub page_size: u32,
}

/// A change to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum UserChange {
    /// Duo required, or bypassed.
    DuoPolicy(DuoPolicy),
    /// `user` or `admin` (the last enabled admin stays one).
    Role(Role),
    /// Disable (also ends the user's sessions) or enable.
    Disabled(bool),
    /// The name Duo knows (`null`: the username).
    DuoUsername(Option<String>),
    /// End every session of the user.
    RevokeSessions,
}

/// Body of `POST /api/admin/users/change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChangeRequest {
    /// Whom.
    pub username: String,
    /// What.
    pub change: UserChange,
}

/// One live session, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Names the session for [`SessionRevokeRequest`]: the SHA-256 of its
    /// id, which opens nothing.
    pub id: String,
    /// Whose.
    pub username: String,
    /// `duo`, `bypass` or `fail_open`.
    pub method: String,
    /// Duo's factor and device, for `duo` sessions.
    pub factor: Option<String>,
    /// The device's name or number.
    pub device: Option<String>,
    /// The client it was made for (Cloudflare's address).
    pub client_ip: Option<String>,
    /// Started (Unix seconds).
    pub created_at: i64,
    /// Ends.
    pub expires_at: i64,
}

/// Body of `GET /api/admin/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    /// This page's sessions.
    pub sessions: Vec<SessionSummary>,
    /// Live sessions matching, in all.
    pub total: u32,
    /// This page, from 1.
    pub page: u32,
    /// Sessions per page.
    pub page_size: u32,
}

/// Body of `POST /api/admin/sessions/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRevokeRequest {
    /// [`SessionSummary::id`].
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[test]
    #[wasm_bindgen_test]
    fn changes_have_one_wire_form_each() {
        let cases = [
            (UserChange::DuoPolicy(DuoPolicy::Bypass), r#"{"duo_policy":"bypass"}"#),
            (UserChange::Role(Role::Admin), r#"{"role":"admin"}"#),
            (UserChange::Disabled(true), r#"{"disabled":true}"#),
            (UserChange::DuoUsername(None), r#"{"duo_username":null}"#),
            (UserChange::RevokeSessions, r#""revoke_sessions""#),
        ];
        for (change, wire) in cases {
            assert_eq!(serde_json::to_string(&change).unwrap(), wire);
            assert_eq!(serde_json::from_str::<UserChange>(wire).unwrap(), change);
        }
        let extra = r#"{"username":"a","change":"revoke_sessions","admin":true}"#;
        assert!(serde_json::from_str::<UserChangeRequest>(extra).is_err());
    }
}
