//! The demo users the dev command and the end-to-end tests seed (README,
//! "Demo accounts"). Their passwords are public: never seed them into a
//! production database.

use crate::sql::{DuoPolicy, Role};

/// One demo account.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    /// Username (also the Duo username: the emulator knows the same names).
    pub username: &'static str,
    /// The documented demo password.
    pub password: &'static str,
    /// Duo policy.
    pub policy: DuoPolicy,
    /// Refused at login.
    pub disabled: bool,
    /// `user` or `admin`.
    pub role: Role,
    /// What the account demonstrates.
    pub note: &'static str,
}

/// Every demo account, in the README's order.
pub const USERS: [DemoUser; 6] = [
    DemoUser {
        username: "alice",
        password: "alice-demo-pass",
        policy: DuoPolicy::Required,
        disabled: false,
        role: Role::User,
        note: "Duo required; enrolled in the emulator (push, passcode, phone call)",
    },
    DemoUser {
        username: "bob",
        password: "bob-demo-pass",
        policy: DuoPolicy::Required,
        disabled: false,
        role: Role::User,
        note: "Duo required; not enrolled in the emulator (enrollment flow)",
    },
    DemoUser {
        username: "carol",
        password: "carol-demo-pass",
        policy: DuoPolicy::Required,
        disabled: false,
        role: Role::User,
        note: "Duo required; locked out in the emulator (Duo denies)",
    },
    DemoUser {
        username: "admin",
        password: "admin-demo-pass",
        policy: DuoPolicy::Bypass,
        disabled: false,
        role: Role::Admin,
        note: "break-glass admin: password only, audited as `bypass`",
    },
    DemoUser {
        username: "dana",
        password: "dana-demo-pass",
        policy: DuoPolicy::Required,
        disabled: false,
        role: Role::Admin,
        note: "admin who signs in with Duo; enrolled in the emulator (push, passcode)",
    },
    DemoUser {
        username: "erin",
        password: "erin-demo-pass",
        policy: DuoPolicy::Required,
        disabled: true,
        role: Role::User,
        note: "disabled: refused like a wrong password",
    },
];

/// A demo user by name.
pub fn user(username: &str) -> Option<&'static DemoUser> {
    USERS.iter().find(|u| u.username == username)
}
