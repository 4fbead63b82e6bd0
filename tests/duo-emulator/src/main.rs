//! `duo-emulator`: run the Duo emulator from the command line. See the crate's README.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use duo_emulator::{
    AppConfig, Config, DeviceConfig, Emulator, NewUserPolicy, UserConfig, UserStatus,
};

/// A local stand-in for Duo's OIDC Auth API and Universal Prompt, for development and tests.
#[derive(Debug, Parser)]
#[command(name = "duo-emulator", version)]
// The field comments are the `--help` text, shown verbatim: no Markdown backticks.
#[allow(clippy::doc_markdown)]
struct Cli {
    /// TOML configuration file (defaults: the built-in development app and users).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8788]; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Serve https with a freshly generated local CA (certificate for localhost, 127.0.0.1, ::1).
    #[arg(long)]
    tls: bool,
    /// Where to write the CA certificate in TLS mode [default: $TMPDIR/duo-emulator-ca.pem].
    #[arg(long, value_name = "PATH")]
    ca_out: Option<PathBuf>,
    /// Host[:port] used to build and check aud/iss URLs [default: the request's Host header].
    #[arg(long, value_name = "HOST")]
    public_host: Option<String>,
    /// Authorization code lifetime in seconds [default: 60].
    #[arg(long, value_name = "SECONDS")]
    code_ttl: Option<u64>,
    /// Emulator leniency: accept http://127.0.0.1:PORT/... redirect URIs (real Duo refuses IPs).
    #[arg(long)]
    allow_loopback_ip_redirect: bool,
    /// Add an app: CLIENT_ID:SECRET[:POLICY] (POLICY: require_enrollment, allow, deny).
    #[arg(long, value_name = "ID:SECRET[:POLICY]")]
    app: Vec<String>,
    /// Mark an app as not enabled for the Universal Prompt ("frameless").
    #[arg(long, value_name = "CLIENT_ID")]
    no_frameless: Vec<String>,
    /// Add a user: NAME[:STATUS] (STATUS: active (with an iOS push phone), unenrolled, bypass,
    /// locked_out, disabled).
    #[arg(long, value_name = "NAME[:STATUS]")]
    user: Vec<String>,
    /// Give a user an alias: NAME=ALIAS.
    #[arg(long, value_name = "NAME=ALIAS")]
    alias: Vec<String>,
    /// Give a user a valid passcode: NAME=CODE.
    #[arg(long, value_name = "NAME=CODE")]
    passcode: Vec<String>,
}

fn build_config(cli: Cli) -> Result<Config, String> {
    let mut config = match &cli.config {
        Some(path) => Config::from_file(path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    if let Some(listen) = cli.listen {
        config.listen = listen;
    }
    config.tls |= cli.tls;
    if config.tls {
        config.ca_cert_path = cli
            .ca_out
            .or(config.ca_cert_path)
            .or_else(|| Some(std::env::temp_dir().join("duo-emulator-ca.pem")));
    }
    if cli.public_host.is_some() {
        config.public_host = cli.public_host;
    }
    if let Some(ttl) = cli.code_ttl {
        config.code_ttl_seconds = ttl;
    }
    config.allow_loopback_ip_redirect |= cli.allow_loopback_ip_redirect;
    for spec in &cli.app {
        let mut parts = spec.splitn(3, ':');
        let (Some(id), Some(secret)) = (parts.next(), parts.next()) else {
            return Err(format!("--app {spec}: expected CLIENT_ID:SECRET[:POLICY]"));
        };
        let new_user_policy = match parts.next() {
            None | Some("require_enrollment") => NewUserPolicy::RequireEnrollment,
            Some("allow") => NewUserPolicy::Allow,
            Some("deny") => NewUserPolicy::Deny,
            Some(other) => return Err(format!("--app {id}: unknown policy {other}")),
        };
        config.apps.retain(|a| a.client_id != id);
        config.apps.push(AppConfig {
            client_id: id.into(),
            client_secret: secret.into(),
            new_user_policy,
            ..AppConfig::dev()
        });
    }
    for id in &cli.no_frameless {
        let app = config
            .apps
            .iter_mut()
            .find(|a| &a.client_id == id)
            .ok_or(format!("--no-frameless {id}: no such app"))?;
        app.frameless = false;
    }
    for spec in &cli.user {
        let (name, status) = spec.split_once(':').unwrap_or((spec, "active"));
        let mut user = UserConfig::new(name);
        let phone = DeviceConfig {
            name: "iPhone".into(),
            platform: "iOS".into(),
            number: Some("+1 555-0100".into()),
            capabilities: vec![
                duo_emulator::Capability::Push,
                duo_emulator::Capability::Phone,
                duo_emulator::Capability::Sms,
                duo_emulator::Capability::MobileOtp,
            ],
        };
        match status {
            "active" => user.devices.push(phone),
            "unenrolled" => {}
            "bypass" => user.status = UserStatus::Bypass,
            "locked_out" => user.status = UserStatus::LockedOut,
            "disabled" => user.status = UserStatus::Disabled,
            other => return Err(format!("--user {name}: unknown status {other}")),
        }
        config.users.retain(|u| !u.username.eq_ignore_ascii_case(name));
        config.users.push(user);
    }
    for (flag, specs) in [("--alias", &cli.alias), ("--passcode", &cli.passcode)] {
        for spec in specs {
            let (name, value) =
                spec.split_once('=').ok_or(format!("{flag} {spec}: expected NAME=VALUE"))?;
            let user = config.users.iter_mut().find(|u| u.username.eq_ignore_ascii_case(name));
            let user = user.ok_or(format!("{flag} {spec}: no user {name}"))?;
            if flag == "--alias" {
                user.aliases.push(value.into());
            } else {
                user.passcodes.push(value.into());
            }
        }
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match build_config(Cli::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("duo-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let ca_path = config.ca_cert_path.clone().filter(|_| config.tls);
    let apps: Vec<String> = config.apps.iter().map(|a| a.client_id.clone()).collect();
    let users: Vec<String> =
        config.users.iter().map(|u| format!("{} ({:?})", u.username, u.status)).collect();
    let emulator = match Emulator::start(config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("duo-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("duo-emulator listening on {}", emulator.base_url());
    if let Some(path) = ca_path {
        println!("duo-emulator CA certificate written to {}", path.display());
    }
    println!("duo-emulator apps: {}", apps.join(", "));
    println!("duo-emulator users: {}", users.join(", "));
    wait_for_signal().await;
    emulator.shutdown();
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
