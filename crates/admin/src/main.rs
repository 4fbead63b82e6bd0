//! `user-admin`: the operators' command.
//!
//! Users: hashes passwords and prints the SQL that `scripts/user.sh` runs
//! with `wrangler d1 execute` (passwords from standard input, never from
//! the command line).
//!
//! ```text
//! printf '%s\n' "$PASSWORD" | user-admin add alice --duo-username alice@example.com
//! printf '%s\n' "$PASSWORD" | user-admin set-password alice
//! user-admin disable alice | user-admin enable alice | user-admin list | user-admin seed-demo
//! user-admin revoke alice    # log alice out everywhere
//! ```
//!
//! Duo's Auth API (Cortex XSOAR's four operations), with the settings the
//! Worker reads locally (`wrangler.toml` `[vars]`, `.dev.vars`, then the
//! environment):
//!
//! ```text
//! user-admin check
//! user-admin preauth alice
//! user-admin auth alice --factor push [--device DP...] [--async]
//! user-admin auth alice --factor passcode --passcode 123456
//! user-admin auth-status TXID [--wait]
//! ```
//! Each takes `--timeout SECONDS` and `--json`.

mod duo;
mod settings;
mod users;

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "user-admin",
    about = "The Duo edge login's operator command: users (password hashes and SQL) and Duo's Auth API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Users(users::UserCommand),
    #[command(flatten)]
    Duo(duo::DuoCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Users(command) => match users::run(command) {
            Ok(sql) => {
                let mut out = io::stdout().lock();
                if out.write_all(sql.as_bytes()).and_then(|()| out.flush()).is_err() {
                    return ExitCode::FAILURE;
                }
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("user-admin: {message}");
                ExitCode::FAILURE
            }
        },
        Command::Duo(command) => ExitCode::from(duo::run(command, &mut io::stdout().lock())),
    }
}
