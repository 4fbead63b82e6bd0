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
use credentials::breach::{self, BreachMode};
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
    screen(text)?;
    Ok(password)
}

/// The breach check, as the Worker's settings say it, read from the
/// environment: `PWNED_PASSWORDS` (`block`, the default; `warn`; `off`)
/// and `PWNED_PASSWORDS_URL` (Pwned Passwords' range API by default; the
/// dev emulator's `http://127.0.0.1:8788` locally). Only the first five hex
/// digits of the password's SHA-1 are sent. Warnings go to stderr.
fn screen(text: &str) -> Result<(), String> {
    let mode = match std::env::var("PWNED_PASSWORDS") {
        Ok(value) if !value.trim().is_empty() => {
            BreachMode::parse(&value).map_err(|rule| format!("PWNED_PASSWORDS: {rule}"))?
        }
        _ => BreachMode::Block,
    };
    let url = std::env::var("PWNED_PASSWORDS_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| breach::DEFAULT_URL.to_owned());
    if let Some(warning) = verdict(text, mode, &url, fetch_range)? {
        eprintln!("user-admin: {warning}");
    }
    Ok(())
}

/// GET a range, with padding; its body.
fn fetch_range(url: &str) -> Result<String, String> {
    let request = shared::duo::HttpRequest {
        method: shared::duo::Method::Get,
        url: url.to_owned(),
        headers: vec![("add-padding", "true".to_owned())],
        body: Vec::new(),
    };
    let response = crate::duo::send(&request, std::time::Duration::from_secs(5))?;
    if response.status != 200 {
        return Err(format!("status {}", response.status));
    }
    String::from_utf8(response.body).map_err(|_| "an answer that is not text".to_owned())
}

/// What the check says of `text` under `mode`: refused (the message), a
/// warning to print, or nothing. Unreachable: accepted, with a warning.
fn verdict(
    text: &str,
    mode: BreachMode,
    url: &str,
    fetch: impl Fn(&str) -> Result<String, String>,
) -> Result<Option<String>, String> {
    if mode == BreachMode::Off {
        return Ok(None);
    }
    let query = breach::RangeQuery::of(text);
    let unchecked = |why: String| {
        Ok(Some(format!("the password was not checked against known breaches ({why})")))
    };
    let body = match fetch(&breach::range_url(url, &query)) {
        Ok(body) => body,
        Err(why) => return unchecked(why),
    };
    match query.count_in(&body) {
        Err(error) => unchecked(error.to_string()),
        Ok(0) => Ok(None),
        Ok(count) if mode == BreachMode::Block => Err(format!(
            "this password is in {count} known data breaches (Have I Been Pwned): choose another \
             (PWNED_PASSWORDS=warn lets it through)"
        )),
        Ok(count) => Ok(Some(format!("this password is in {count} known data breaches"))),
    }
}

fn new_hash(password: &[u8], iterations: u32) -> Result<PasswordHash, String> {
    let mut salt = [0u8; password::SALT_LEN];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no randomness for the salt: {e}"))?;
    PasswordHash::derive(password, &salt, iterations).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use sha1::Digest as _;

    use super::*;

    /// Pwned Passwords knowing `password` `count` times, recording what was asked.
    fn knowing<'a>(
        password: &'static str,
        count: u64,
        asked: &'a std::cell::RefCell<Vec<String>>,
    ) -> impl Fn(&str) -> Result<String, String> + 'a {
        move |url: &str| {
            asked.borrow_mut().push(url.to_owned());
            let hex =
                sha1::Sha1::digest(password.as_bytes()).iter().fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02X}");
                    s
                });
            Ok(format!("00000000000000000000000000000000000:0\r\n{}:{count}\r\n", &hex[5..]))
        }
    }

    #[test]
    fn the_command_line_refuses_warns_or_lets_through_as_the_worker_does() {
        let asked = std::cell::RefCell::new(Vec::new());
        let url = "http://127.0.0.1:8788";
        let refused =
            verdict("Password1234", BreachMode::Block, url, knowing("Password1234", 42, &asked));
        assert!(refused.is_err_and(|e| e.contains("42 known data breaches")));
        assert_eq!(
            *asked.borrow(),
            ["http://127.0.0.1:8788/range/5B966"],
            "only the prefix leaves"
        );
        let warned =
            verdict("Password1234", BreachMode::Warn, url, knowing("Password1234", 42, &asked));
        assert!(warned.is_ok_and(|w| w.is_some_and(|w| w.contains("42"))));
        let clean = verdict(
            "a rare long phrase",
            BreachMode::Block,
            url,
            knowing("Password1234", 42, &asked),
        );
        assert_eq!(clean, Ok(None));
        let before = asked.borrow().len();
        assert_eq!(
            verdict("Password1234", BreachMode::Off, url, knowing("x", 1, &asked)),
            Ok(None)
        );
        assert_eq!(asked.borrow().len(), before, "off: nothing asked");
        let down = verdict("Password1234", BreachMode::Block, url, |_| Err("refused".to_owned()));
        assert!(down.is_ok_and(|w| w.is_some_and(|w| w.contains("not checked"))));
    }
}
