//! Users: hashes passwords and writes the SQL that `scripts/user.sh` runs
//! with `wrangler d1 execute`. Passwords come from standard input (one
//! line), never from the command line.
//!
//! ```text
//! printf '%s\n' "$PASSWORD" | user-admin add alice --duo-username alice@example.com
//! printf '%s\n' "$PASSWORD" | user-admin set-password alice
//! user-admin disable alice | user-admin enable alice | user-admin list | user-admin seed-demo
//! user-admin revoke alice    # log alice out everywhere
//! ```
//!
//! `set-password` and `disable` also revoke the user's sessions.

use std::io::{self, Read as _};

use clap::Subcommand;
use credentials::sql::{self, DuoPolicy, DuoUsername, Role, UserRow};
use credentials::{DEFAULT_ITERATIONS, PasswordHash, Username, demo, password, policy};
use zeroize::Zeroizing;

/// The user commands; each prints SQL.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Print the PHC hash of the password read from stdin.
    Hash,
    /// Print an INSERT for a new user; the password is read from stdin.
    Add {
        /// Username (A-Z a-z 0-9 . _ @ + -, at most 64).
        username: String,
        /// Break-glass: password only, no Duo.
        #[arg(long)]
        bypass: bool,
        /// The username Duo knows, when it differs.
        #[arg(long)]
        duo_username: Option<String>,
        /// Create the user disabled.
        #[arg(long)]
        disable: bool,
        /// Give the user the admin role (the admin console).
        #[arg(long)]
        admin: bool,
    },
    /// Print an UPDATE of a user's role (`user` or `admin`); the database
    /// refuses to demote the last enabled admin.
    SetRole {
        /// Username.
        username: String,
        /// `user` or `admin`.
        #[arg(value_parser = ["user", "admin"])]
        role: String,
    },
    /// Print an UPDATE of a user's password (and revokes their sessions); the password is read from stdin.
    SetPassword {
        /// Username.
        username: String,
    },
    /// Print an UPDATE that revokes every live session of a user (log out everywhere).
    Revoke {
        /// Username.
        username: String,
    },
    /// Print an UPDATE that disables a user (and revokes their sessions).
    Disable {
        /// Username.
        username: String,
    },
    /// Print an UPDATE that enables a user.
    Enable {
        /// Username.
        username: String,
    },
    /// Print a SELECT of every user (no hashes).
    List,
    /// Print the demo users' upserts (README, "Demo accounts").
    SeedDemo,
}

/// Runs a user command: the SQL to execute.
///
/// # Errors
/// A sentence for the operator (bad username, short password, ...).
pub fn run(command: UserCommand) -> Result<String, String> {
    // Every new hash has the default cost: a login then costs the same
    // whoever asks (the Worker tops up older, cheaper hashes; a dearer one
    // would tell its user apart from unknown names).
    let iterations = DEFAULT_ITERATIONS;
    Ok(match command {
        UserCommand::Hash => format!("{}\n", new_hash(&read_password("")?, iterations)?.to_phc()),
        UserCommand::Add { username, bypass, duo_username, disable, admin } => {
            let username = parse_username(&username)?;
            let row = UserRow {
                password: new_hash(&read_password(username.as_str())?, iterations)?,
                username,
                policy: if bypass { DuoPolicy::Bypass } else { DuoPolicy::Required },
                duo_username: duo_username
                    .map(|d| DuoUsername::parse(&d))
                    .transpose()
                    .map_err(|e| format!("--duo-username: {e}"))?,
                disabled: disable,
                role: if admin { Role::Admin } else { Role::User },
            };
            format!("{}\n", row.insert().map_err(|e| e.to_string())?)
        }
        UserCommand::SetRole { username, role } => {
            let role = Role::parse(&role).ok_or("role: expected user or admin")?;
            format!(
                "{}\n",
                sql::set_role(&parse_username(&username)?, role).map_err(|e| e.to_string())?
            )
        }
        UserCommand::SetPassword { username } => {
            let username = parse_username(&username)?;
            let hash = new_hash(&read_password(username.as_str())?, iterations)?;
            format!("{}\n", sql::set_password(&username, &hash).map_err(|e| e.to_string())?)
        }
        UserCommand::Revoke { username } => {
            let username = parse_username(&username)?;
            format!("{}\n", sql::revoke_sessions(&username).map_err(|e| e.to_string())?)
        }
        UserCommand::Disable { username } => {
            format!("{}\n", set_disabled(&username, true)?)
        }
        UserCommand::Enable { username } => {
            format!("{}\n", set_disabled(&username, false)?)
        }
        UserCommand::List => format!("{}\n", sql::LIST_USERS),
        UserCommand::SeedDemo => seed_demo(iterations)?,
    })
}

fn parse_username(text: &str) -> Result<Username, String> {
    Username::parse(text).map_err(|e| format!("username: {e}"))
}

fn set_disabled(username: &str, disabled: bool) -> Result<String, String> {
    sql::set_disabled(&parse_username(username)?, disabled).map_err(|e| e.to_string())
}

/// The demo users as upserts, with fresh salts.
fn seed_demo(iterations: u32) -> Result<String, String> {
    let mut statements = vec![
        "-- Demo users (README, \"Demo accounts\"): public passwords, local databases only."
            .to_owned(),
        "-- Generated by `user-admin seed-demo`; running it again resets these users.".to_owned(),
    ];
    for user in demo::USERS {
        let row = UserRow {
            username: parse_username(user.username)?,
            password: new_hash(user.password.as_bytes(), iterations)?,
            policy: user.policy,
            duo_username: None,
            disabled: user.disabled,
            role: user.role,
        };
        statements.push(row.upsert().map_err(|e| e.to_string())?);
    }
    Ok(sql::script(statements))
}

/// One line from stdin, without its line ending, checked against the
/// password policy (the one the admin console applies) for `username`.
fn read_password(username: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut input = Zeroizing::new(Vec::new());
    io::stdin()
        .take(u64::try_from(policy::MAX_LEN).unwrap_or(u64::MAX) + 2)
        .read_to_end(&mut input)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let mut end = input.iter().position(|&b| b == b'\n').unwrap_or(input.len());
    if end > 0 && input[end - 1] == b'\r' {
        end -= 1;
    }
    let password = Zeroizing::new(input[..end].to_vec());
    // The login form sends JSON, always UTF-8: other bytes could never be typed there.
    let text = std::str::from_utf8(&password).map_err(|_| "the password must be UTF-8 text")?;
    policy::check(text, username).map_err(|e| e.to_string())?;
    Ok(password)
}

fn new_hash(password: &[u8], iterations: u32) -> Result<PasswordHash, String> {
    let mut salt = [0u8; password::SALT_LEN];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no randomness for the salt: {e}"))?;
    PasswordHash::derive(password, &salt, iterations).map_err(|e| e.to_string())
}
