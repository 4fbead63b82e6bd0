//! SQL for the `users` table (`migrations/0001_init.sql`), for the admin
//! command and the demo seed.
//!
//! `wrangler d1 execute` takes SQL text, not bound parameters, so every value
//! is written as a quoted `SQLite` string literal by [`literal`]: single quotes
//! doubled, control characters (NUL included) refused. Usernames are also
//! restricted to a safe ASCII set by [`Username`]; quoting does not rely on it.

use std::fmt::Write as _;

use crate::{PasswordHash, Username};

/// The longest value [`literal`] quotes, in bytes.
pub const MAX_LITERAL_LEN: usize = 1024;

/// A user's Duo policy (`users.duo_policy`) and an account's role
/// (`users.role`): the contract's own types, one definition for the Worker,
/// the console and this crate.
pub use shared::admin::DuoPolicy;
pub use shared::api::Role;

/// Why a value cannot be written into SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// A control character (including NUL and newlines).
    #[error("the value contains a control character")]
    ControlCharacter,
    /// Longer than [`MAX_LITERAL_LEN`].
    #[error("the value is longer than {MAX_LITERAL_LEN} bytes")]
    TooLong,
    /// Empty after trimming.
    #[error("the value is empty")]
    Empty,
}

/// `text` as an `SQLite` string literal: `'it''s'`.
///
/// # Errors
/// [`SqlError`] for control characters or an over-long value.
pub fn literal(text: &str) -> Result<String, SqlError> {
    if text.len() > MAX_LITERAL_LEN {
        return Err(SqlError::TooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(SqlError::ControlCharacter);
    }
    Ok(format!("'{}'", text.replace('\'', "''")))
}

/// A Duo username that differs from the local one (`users.duo_username`):
/// Duo accepts more than our usernames do (`DOMAIN\user`, e-mail addresses),
/// so only emptiness, length and control characters are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuoUsername(String);

impl DuoUsername {
    /// Validates a Duo username (trimmed).
    ///
    /// # Errors
    /// [`SqlError`] when empty, too long or holding a control character.
    pub fn parse(text: &str) -> Result<Self, SqlError> {
        let name = text.trim();
        if name.is_empty() {
            return Err(SqlError::Empty);
        }
        literal(name)?;
        Ok(Self(name.to_owned()))
    }

    /// As given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A row of `users`, as the admin command writes it.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// The username as typed.
    pub username: Username,
    /// The password hash.
    pub password: PasswordHash,
    /// Duo policy.
    pub policy: DuoPolicy,
    /// The Duo username, when it differs.
    pub duo_username: Option<DuoUsername>,
    /// Refused at login.
    pub disabled: bool,
    /// `user` or `admin`.
    pub role: Role,
}

impl UserRow {
    /// `INSERT` that fails if the (normalized) username exists.
    ///
    /// # Errors
    /// [`SqlError`] if a value cannot be quoted (never for validated inputs).
    pub fn insert(&self) -> Result<String, SqlError> {
        Ok(format!(
            "INSERT INTO users (username, username_normalized, password_hash, duo_policy, \
             duo_username, disabled, role, created_at, updated_at) VALUES ({}, {}, {}, {}, {}, \
             {}, {}, unixepoch(), unixepoch());",
            literal(self.username.as_str())?,
            literal(&self.username.normalized())?,
            literal(&self.password.to_phc())?,
            literal(self.policy.as_str())?,
            self.duo_username.as_ref().map_or(Ok("NULL".to_owned()), |d| literal(d.as_str()))?,
            u8::from(self.disabled),
            literal(self.role.as_str())?,
        ))
    }

    /// `INSERT`, or reset every column of an existing user (the demo seed:
    /// running it twice leaves the same users).
    ///
    /// # Errors
    /// As [`UserRow::insert`].
    pub fn upsert(&self) -> Result<String, SqlError> {
        let insert = self.insert()?;
        let insert = insert.trim_end_matches(';');
        Ok(format!(
            "{insert} ON CONFLICT (username_normalized) DO UPDATE SET username = \
             excluded.username, password_hash = excluded.password_hash, duo_policy = \
             excluded.duo_policy, duo_username = excluded.duo_username, disabled = \
             excluded.disabled, role = excluded.role, updated_at = excluded.updated_at;"
        ))
    }
}

/// `UPDATE` of one user's password hash, which returns the username (an
/// empty result means "no such user"), then [`revoke_sessions`]: a new
/// password ends every session opened with the old one. Two statements,
/// one per line.
///
/// # Errors
/// As [`UserRow::insert`].
pub fn set_password(username: &Username, password: &PasswordHash) -> Result<String, SqlError> {
    Ok(format!(
        "UPDATE users SET password_hash = {}, updated_at = unixepoch() WHERE \
         username_normalized = {} RETURNING username;\n{}",
        literal(&password.to_phc())?,
        literal(&username.normalized())?,
        revoke_sessions(username)?
    ))
}

/// `UPDATE` of one user's disabled flag; returns the username. Disabling
/// also ends the user's sessions ([`revoke_sessions`], on a second line).
///
/// # Errors
/// As [`UserRow::insert`].
pub fn set_disabled(username: &Username, disabled: bool) -> Result<String, SqlError> {
    let update = format!(
        "UPDATE users SET disabled = {}, updated_at = unixepoch() WHERE username_normalized = {} \
         RETURNING username;",
        u8::from(disabled),
        literal(&username.normalized())?
    );
    Ok(if disabled { format!("{update}\n{}", revoke_sessions(username)?) } else { update })
}

/// `UPDATE` of one user's role; returns the username. The database
/// refuses to demote the last enabled admin.
///
/// # Errors
/// As [`UserRow::insert`].
pub fn set_role(username: &Username, role: Role) -> Result<String, SqlError> {
    Ok(format!(
        "UPDATE users SET role = {}, updated_at = unixepoch() WHERE username_normalized = {} \
         RETURNING username;",
        literal(role.as_str())?,
        literal(&username.normalized())?
    ))
}

/// `UPDATE`s revoking every live session of a user ("log out everywhere"):
/// `sessions.username` is the name as registered, compared after the same
/// normalization as `users.username_normalized` (so it also reaches the
/// sessions of a user since deleted or renamed in case); and forgetting
/// the browsers the user trusted (`remembered_browsers`, migration 0010),
/// and ending the sign-ins under way (`users.account_version`, migration
/// 0011), as the Worker does. Three statements, one per line.
///
/// # Errors
/// As [`UserRow::insert`].
pub fn revoke_sessions(username: &Username) -> Result<String, SqlError> {
    Ok(format!(
        "UPDATE sessions SET revoked_at = unixepoch() WHERE revoked_at IS NULL AND \
         lower(trim(username)) = {user};\nUPDATE remembered_browsers SET revoked_at = \
         unixepoch() WHERE revoked_at IS NULL AND username = {user};\nUPDATE users SET \
         account_version = account_version + 1 WHERE username_normalized = {user};",
        user = literal(&username.normalized())?
    ))
}

/// Every user, without password hashes.
pub const LIST_USERS: &str = "SELECT username, role, duo_policy, duo_username, disabled, \
                              created_at, updated_at FROM users ORDER BY username_normalized;";

/// Several statements, one per line.
pub fn script<I: IntoIterator<Item = String>>(statements: I) -> String {
    statements.into_iter().fold(String::new(), |mut out, statement| {
        let _ = writeln!(out, "{statement}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_doubles_quotes() {
        assert_eq!(literal("it's").unwrap(), "'it''s'");
        assert_eq!(literal("'); DROP TABLE users; --").unwrap(), "'''); DROP TABLE users; --'");
        assert_eq!(literal("").unwrap(), "''");
    }

    #[test]
    fn literal_refuses_control_characters_and_long_values() {
        assert_eq!(literal("a\0b"), Err(SqlError::ControlCharacter));
        assert_eq!(literal("a\nb"), Err(SqlError::ControlCharacter));
        assert_eq!(literal(&"x".repeat(MAX_LITERAL_LEN + 1)), Err(SqlError::TooLong));
    }

    #[test]
    fn insert_quotes_every_value() {
        let row = UserRow {
            username: Username::parse("Alice").unwrap(),
            password: PasswordHash::derive(b"pw", b"saltsaltsaltsalt", 1_000).unwrap(),
            policy: DuoPolicy::Required,
            duo_username: Some(DuoUsername::parse(r"CORP\o'brien").unwrap()),
            disabled: true,
            role: Role::Admin,
        };
        let sql = row.insert().unwrap();
        assert!(sql.contains("VALUES ('Alice', 'alice', '$pbkdf2-sha256$i=1000,l=32$"), "{sql}");
        assert!(sql.contains(r"'required', 'CORP\o''brien', 1, 'admin', unixepoch()"), "{sql}");
        let upsert = row.upsert().unwrap();
        assert!(upsert.contains("ON CONFLICT (username_normalized) DO UPDATE"));
        assert!(upsert.contains("role = excluded.role"), "{upsert}");
        assert_eq!(
            set_role(&Username::parse("Alice").unwrap(), Role::User).unwrap(),
            "UPDATE users SET role = 'user', updated_at = unixepoch() WHERE username_normalized = 'alice' RETURNING username;"
        );
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }

    const REVOKE_ALICE: &str = "UPDATE sessions SET revoked_at = unixepoch() WHERE revoked_at \
                                IS NULL AND lower(trim(username)) = 'alice';\nUPDATE \
                                remembered_browsers SET revoked_at = unixepoch() WHERE \
                                revoked_at IS NULL AND username = 'alice';\nUPDATE users SET \
                                account_version = account_version + 1 WHERE \
                                username_normalized = 'alice';";

    #[test]
    fn revoke_sessions_ends_every_live_session_of_the_user() {
        let alice = Username::parse(" Alice ").unwrap();
        assert_eq!(revoke_sessions(&alice).unwrap(), REVOKE_ALICE);
    }

    #[test]
    fn disabling_a_user_or_setting_a_password_revokes_their_sessions() {
        let alice = Username::parse("Alice").unwrap();
        let hash = PasswordHash::derive(b"pw", b"saltsaltsaltsalt", 1_000).unwrap();
        let changed = set_password(&alice, &hash).unwrap();
        assert!(changed.starts_with("UPDATE users SET password_hash = '$pbkdf2"), "{changed}");
        assert!(changed.contains("RETURNING username;\n"), "{changed}");
        assert!(changed.ends_with(REVOKE_ALICE), "{changed}");
        let disabled = set_disabled(&alice, true).unwrap();
        assert!(disabled.starts_with("UPDATE users SET disabled = 1"), "{disabled}");
        assert!(disabled.ends_with(REVOKE_ALICE), "{disabled}");
        // Enabling revokes nothing (there is nothing live to end).
        let enabled = set_disabled(&alice, false).unwrap();
        assert!(!enabled.contains("sessions"), "{enabled}");
    }

    #[test]
    fn duo_policy_round_trips() {
        for policy in [DuoPolicy::Required, DuoPolicy::Bypass] {
            assert_eq!(DuoPolicy::parse(policy.as_str()), Some(policy));
        }
        assert_eq!(DuoPolicy::parse("Bypass"), None);
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever goes in, the literal is one quoted token: after the
            /// opening quote, quotes only come in pairs until the closing one.
            #[test]
            fn literal_is_one_token(text in any::<String>()) {
                if let Ok(quoted) = literal(&text) {
                    let inner = &quoted[1..quoted.len() - 1];
                    prop_assert!(quoted.starts_with('\'') && quoted.ends_with('\''));
                    prop_assert_eq!(inner.replace("''", ""), text.replace('\'', ""));
                    prop_assert_eq!(inner.replace("''", "'"), text);
                }
            }
        }
    }
}
