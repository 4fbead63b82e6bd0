//! Duo's Auth API from the command line, as Cortex XSOAR's four operations:
//! `check` (are the keys and the signature right), `preauth USER` (may the
//! user log in, and with which devices), `auth USER --factor ...` (push,
//! phone call, SMS passcodes or a passcode; optionally asynchronous) and
//! `auth-status TXID` (Duo's long poll on a transaction).
//!
//! Requests are built and answers parsed by `shared::duo::auth_api`, the
//! client the Worker uses; this module only moves the bytes (ureq,
//! blocking) and prints. Output is for people, or Duo's `response` as JSON
//! with `--json`. Exit status: 0 done (for `auth`: allowed, started, or SMS
//! passcodes sent), 1 Duo said deny, 2 a usage error, 3 no answer (a
//! setting, the network, or Duo refusing the request, with its code and
//! what it most likely means).

#![allow(
    clippy::disallowed_methods,
    reason = "a native command: it signs with this machine's clock and times its waits"
)]

use std::fmt::Write as _;
use std::io::{self, BufRead as _};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use shared::duo::auth_api::{
    AuthApiClient, AuthApiError, AuthOptions, AuthOutcome, AuthResponse, AuthResult, Capability,
    ErrorKind, Factor, PreauthResponse, PreauthResult, User, parse_auth, parse_auth_status,
    parse_preauth, parse_time,
};
use shared::duo::{HttpRequest, HttpResponse, MAX_RESPONSE_BODY, Method, UnixTime};
use zeroize::Zeroizing;

use crate::settings::Settings;

/// How long a synchronous push or call may take: Duo gives the user 60 s.
const INTERACTIVE_TIMEOUT: u64 = 75;
/// Every other request.
const DEFAULT_TIMEOUT: u64 = 10;

/// Exit statuses.
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// Duo said deny.
    pub const DENIED: u8 = 1;
    /// No answer: settings, network, or Duo refused the request.
    pub const FAILED: u8 = 3;
}

/// Options every Duo command takes.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Seconds to wait for Duo (default: 10; 75 for a synchronous push or
    /// call and for `auth-status`, which Duo holds until something changes).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: Option<u64>,
    /// Print Duo's answer as JSON (errors too, as `{"error": ...}`).
    #[arg(long)]
    json: bool,
    /// Where wrangler.toml and .dev.vars are (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    config_dir: PathBuf,
}

/// The factor `auth` uses.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorName {
    /// Duo Push.
    Push,
    /// A phone call.
    Phone,
    /// Send a new batch of SMS passcodes (Duo answers deny, status "sent").
    Sms,
    /// A passcode (`--passcode`).
    Passcode,
    /// Duo picks push or phone for the device.
    Auto,
}

/// The Auth API commands.
#[derive(Subcommand, Debug)]
pub enum DuoCommand {
    /// Check the Auth API keys and signature against Duo (`DUO_IKEY`, `DUO_SKEY`, `DUO_API_HOST`).
    Check {
        #[command(flatten)]
        common: Common,
    },
    /// May USER log in, and with which devices (Duo's preauth).
    Preauth {
        /// The Duo username (or alias).
        user: String,
        /// The client's IP address, for Duo's network policies.
        #[arg(long)]
        ipaddr: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Authenticate USER with a second factor (Duo's auth).
    Auth {
        /// The Duo username (or alias).
        user: String,
        /// The factor.
        #[arg(long, value_enum)]
        factor: FactorName,
        /// A device id from `preauth` (default: Duo's first capable device).
        #[arg(long)]
        device: Option<String>,
        /// The passcode for `--factor passcode`; `-` reads it from stdin.
        #[arg(long)]
        passcode: Option<String>,
        /// Answer at once with a transaction id to follow with `auth-status`.
        #[arg(long = "async")]
        asynchronous: bool,
        /// The push's title (Duo: "Login").
        #[arg(long = "type", value_name = "TEXT")]
        push_type: Option<String>,
        /// The name the push shows instead of the username.
        #[arg(long)]
        display_username: Option<String>,
        /// A `key=value` line shown in the push (repeatable).
        #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
        pushinfo: Vec<(String, String)>,
        /// The client's IP address, for Duo's network policies.
        #[arg(long)]
        ipaddr: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// The next state of an asynchronous transaction (Duo holds the answer until it changes).
    AuthStatus {
        /// The transaction id `auth --async` printed.
        txid: String,
        /// Keep following until Duo decides (allow or deny).
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        common: Common,
    },
}

fn key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or("expected KEY=VALUE")?;
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// A failure to get Duo's answer.
struct Failure {
    message: String,
    json: Value,
}

impl Failure {
    /// `kind`: `settings`, `usage`, `unreachable` or `timeout`.
    fn new(kind: &str, message: String) -> Self {
        let json = json!({"error": {"kind": kind, "message": message}});
        Self { message, json }
    }

    fn setting(message: String) -> Self {
        Self::new("settings", message)
    }

    fn duo(error: &AuthApiError) -> Self {
        let (code, message, detail) = match error {
            AuthApiError::Refused { code, message, detail, .. } => {
                (Some(*code), Some(message.clone()), detail.clone())
            }
            _ => (None, None, None),
        };
        Self {
            message: format!("{error}: {}", error.explanation()),
            json: json!({"error": {
                "kind": kind_name(error.kind()),
                "code": code,
                "message": message,
                "message_detail": detail,
                "explanation": error.explanation(),
            }}),
        }
    }
}

/// Runs a Duo command, printing to `out`; the exit status.
pub fn run(command: DuoCommand, out: &mut dyn io::Write) -> u8 {
    let common = match &command {
        DuoCommand::Check { common }
        | DuoCommand::Preauth { common, .. }
        | DuoCommand::Auth { common, .. }
        | DuoCommand::AuthStatus { common, .. } => common.clone(),
    };
    let result = Settings::load(&common.config_dir, |name| std::env::var(name).ok())
        .and_then(|settings| Ok((settings.client()?, settings)))
        .map_err(Failure::setting)
        .and_then(|(client, settings)| {
            let host = settings.host().unwrap_or_default().to_owned();
            let duo = Duo { client, host, common: common.clone() };
            duo.run(command, out)
        });
    match result {
        Ok(status) => status,
        Err(failure) => {
            if common.json {
                let _ = writeln!(out, "{}", failure.json);
            } else {
                eprintln!("user-admin: {}", failure.message);
            }
            exit::FAILED
        }
    }
}

struct Duo {
    client: AuthApiClient,
    host: String,
    common: Common,
}

impl Duo {
    fn run(&self, command: DuoCommand, out: &mut dyn io::Write) -> Result<u8, Failure> {
        match command {
            DuoCommand::Check { .. } => self.check(out),
            DuoCommand::Preauth { user, ipaddr, .. } => {
                let request = self.client.preauth(User::Username(&user), ipaddr.as_deref(), now());
                let (response, body) = self.send(&request, DEFAULT_TIMEOUT)?;
                let preauth = parse_preauth(&response).map_err(|e| Failure::duo(&e))?;
                self.print(out, &body, || describe_preauth(&user, &preauth));
                Ok(exit::OK)
            }
            DuoCommand::Auth {
                user,
                factor,
                device,
                passcode,
                asynchronous,
                push_type,
                display_username,
                pushinfo,
                ipaddr,
                ..
            } => {
                let factor = match (factor, passcode) {
                    (FactorName::Passcode, Some(code)) => Factor::Passcode(read_passcode(code)?),
                    (FactorName::Passcode, None) => {
                        return Err(Failure::new(
                            "usage",
                            "--factor passcode needs --passcode CODE (or - to read it from stdin)"
                                .into(),
                        ));
                    }
                    (_, Some(_)) => {
                        return Err(Failure::new(
                            "usage",
                            "--passcode goes with --factor passcode".into(),
                        ));
                    }
                    (FactorName::Push, None) => Factor::Push,
                    (FactorName::Phone, None) => Factor::Phone,
                    (FactorName::Sms, None) => Factor::Sms,
                    (FactorName::Auto, None) => Factor::Auto,
                };
                let options = AuthOptions {
                    device,
                    asynchronous,
                    push_type,
                    display_username,
                    pushinfo,
                    ipaddr,
                    txid: None,
                };
                let waits =
                    !asynchronous && matches!(factor, Factor::Push | Factor::Phone | Factor::Auto);
                let request = self.client.auth(User::Username(&user), &factor, &options, now());
                let default = if waits { INTERACTIVE_TIMEOUT } else { DEFAULT_TIMEOUT };
                let (response, body) = self.send(&request, default)?;
                match parse_auth(&response).map_err(|e| Failure::duo(&e))? {
                    AuthResponse::Started { txid } => {
                        self.print(out, &body, || {
                            format!(
                                "started: {txid}\nfollow it with: user-admin auth-status {txid}"
                            )
                        });
                        Ok(exit::OK)
                    }
                    AuthResponse::Done(outcome) => {
                        self.print(out, &body, || describe_outcome(&outcome));
                        Ok(verdict(&outcome))
                    }
                }
            }
            DuoCommand::AuthStatus { txid, wait, .. } => {
                let deadline = Instant::now()
                    + Duration::from_secs(self.common.timeout.unwrap_or(INTERACTIVE_TIMEOUT));
                loop {
                    let left = deadline.saturating_duration_since(Instant::now()).as_secs().max(1);
                    let request = self.client.auth_status(&txid, now());
                    let (response, body) = self.send_within(&request, left)?;
                    let outcome = parse_auth_status(&response).map_err(|e| Failure::duo(&e))?;
                    self.print(out, &body, || describe_outcome(&outcome));
                    if !wait || outcome.result != AuthResult::Waiting {
                        return Ok(verdict(&outcome));
                    }
                    if Instant::now() >= deadline {
                        return Err(Failure::new(
                            "timeout",
                            format!(
                                "Duo had not decided after {} s (--timeout)",
                                self.common.timeout.unwrap_or(INTERACTIVE_TIMEOUT)
                            ),
                        ));
                    }
                }
            }
        }
    }

    fn check(&self, out: &mut dyn io::Write) -> Result<u8, Failure> {
        let started = Instant::now();
        let (response, body) = self.send(&self.client.check(now()), DEFAULT_TIMEOUT)?;
        let elapsed = started.elapsed();
        let duo_time = parse_time(&response).map_err(|e| Failure::duo(&e))?;
        let offset = duo_time - now().0;
        self.print(out, &body, || {
            format!(
                "OK: Duo's Auth API at {} accepts integration key {} and its signature \
({} ms; Duo's clock is {offset:+} s from this machine's{})",
                self.host,
                self.client.integration_key().as_str(),
                elapsed.as_millis(),
                if offset.abs() > 60 {
                    ": fix this machine's clock, Duo refuses requests more than 300 s off"
                } else {
                    ""
                }
            )
        });
        Ok(exit::OK)
    }

    fn print(&self, out: &mut dyn io::Write, body: &Value, human: impl FnOnce() -> String) {
        let text = if self.common.json {
            body.get("response").unwrap_or(body).to_string()
        } else {
            human()
        };
        let _ = writeln!(out, "{text}");
    }

    fn send(&self, request: &HttpRequest, default: u64) -> Result<(HttpResponse, Value), Failure> {
        self.send_within(request, self.common.timeout.unwrap_or(default))
    }

    fn send_within(
        &self,
        request: &HttpRequest,
        seconds: u64,
    ) -> Result<(HttpResponse, Value), Failure> {
        let response = send(request, Duration::from_secs(seconds)).map_err(|e| {
            Failure::new("unreachable", format!("no answer from Duo at {}: {e}", self.host))
        })?;
        let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Ok((response, body))
    }
}

/// Sends one request, blocking, with a total time limit; any HTTP status is an answer.
pub(crate) fn send(request: &HttpRequest, timeout: Duration) -> Result<HttpResponse, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let result = if request.method == Method::Get {
        let mut builder = agent.get(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        builder.call()
    } else {
        let mut builder = agent.post(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        builder.send(&request.body[..])
    };
    let response = result.map_err(|e| match e {
        ureq::Error::Timeout(_) => format!("no answer within {} s (--timeout)", timeout.as_secs()),
        other => other.to_string(),
    })?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .with_config()
        .limit(MAX_RESPONSE_BODY as u64)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(HttpResponse { status, body })
}

fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Credentials => "credentials",
        ErrorKind::WrongIntegration => "wrong_integration",
        ErrorKind::BadRequest => "bad_request",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::Malformed => "malformed",
        ErrorKind::Other => "other",
    }
}

fn now() -> UnixTime {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn read_passcode(given: String) -> Result<String, Failure> {
    if given != "-" {
        return Ok(given);
    }
    let mut line = Zeroizing::new(String::new());
    io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::new("usage", format!("cannot read the passcode from stdin: {e}")))?;
    Ok(line.trim().to_owned())
}

/// 0 for allow, a started transaction or SMS passcodes sent; 1 for deny.
fn verdict(outcome: &AuthOutcome) -> u8 {
    match outcome.result {
        AuthResult::Allow | AuthResult::Waiting => exit::OK,
        _ if outcome.status == "sent" => exit::OK,
        _ => exit::DENIED,
    }
}

fn describe_outcome(outcome: &AuthOutcome) -> String {
    let result = match &outcome.result {
        AuthResult::Allow => "allow",
        AuthResult::Deny => "deny",
        AuthResult::Waiting => "waiting",
        AuthResult::Other(other) => other.as_str(),
    };
    format!("{result} ({}): {}", outcome.status, outcome.status_msg)
}

fn describe_preauth(user: &str, preauth: &PreauthResponse) -> String {
    let result = match &preauth.result {
        PreauthResult::Auth => "auth",
        PreauthResult::Allow => "allow",
        PreauthResult::Deny => "deny",
        PreauthResult::Enroll => "enroll",
        PreauthResult::Other(other) => other.as_str(),
    };
    let mut text = format!("{user}: {result} ({})", preauth.status_msg);
    for device in &preauth.devices {
        let can: Vec<&str> = device
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Auto => None,
                Capability::Push => Some("push"),
                Capability::Phone => Some("phone"),
                Capability::Sms => Some("sms"),
                Capability::MobileOtp => Some("mobile_otp"),
                Capability::Other(other) => Some(other.as_str()),
            })
            .collect();
        let _ = write!(text, "\n  {}  {}  {}", device.id, device.label(), can.join(", "));
        if let Some(next) = &device.sms_nextcode {
            let _ = write!(text, " (next SMS passcode starts with {next})");
        }
    }
    if let Some(url) = &preauth.enroll_portal_url {
        let _ = write!(text, "\n  enroll at: {url}");
    }
    text
}
