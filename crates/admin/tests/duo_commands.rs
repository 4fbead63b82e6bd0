//! `user-admin check | preauth | auth | auth-status`, the built binary,
//! against the Duo emulator's Auth API, with its settings read from a
//! wrangler.toml and a .dev.vars as the Worker's local configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use duo_emulator::Emulator;
use serde_json::{Value, json};

const SKEY: &str = duo_emulator::auth_api::DEV_SKEY;

/// A directory with the settings, removed on drop.
struct ConfigDir(PathBuf);

impl ConfigDir {
    fn new(host: &str) -> Self {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).expect("randomness");
        let name = format!("{:016x}", u64::from_le_bytes(bytes));
        let dir = std::env::temp_dir().join(format!("user-admin-duo-{name}"));
        std::fs::create_dir_all(&dir).expect("a directory");
        let wrangler = format!(
            "name = \"t\"\n[vars]\nDUO_IKEY = \"{}\"\nDUO_API_HOST = \"{host}\"\n",
            duo_emulator::auth_api::DEV_IKEY
        );
        std::fs::write(dir.join("wrangler.toml"), wrangler).expect("wrangler.toml");
        std::fs::write(dir.join(".dev.vars"), format!("# local\nDUO_SKEY={SKEY}\n"))
            .expect(".dev.vars");
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ConfigDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Bed {
    emulator: Emulator,
    config: ConfigDir,
    http: control_api::Client,
}

/// Runs the command; blocking, so off the runtime's threads.
async fn user_admin(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let (dir, args, stdin) = (
        dir.to_owned(),
        args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(),
        stdin.to_owned(),
    );
    let env: Vec<(String, String)> =
        env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_user-admin"))
            .args(&args)
            .arg("--config-dir")
            .arg(&dir)
            .env_remove("DUO_IKEY")
            .env_remove("DUO_SKEY")
            .env_remove("DUO_API_HOST")
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("user-admin runs");
        if let Some(mut input) = child.stdin.take() {
            use std::io::Write as _;
            input.write_all(stdin.as_bytes()).expect("stdin");
        }
        child.wait_with_output().expect("user-admin ends")
    })
    .await
    .expect("the command's thread")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The emulator's control API over a plain TCP socket (no HTTP client in this crate's tests).
mod control_api {
    use serde_json::Value;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    pub struct Client {
        pub addr: std::net::SocketAddr,
    }

    impl Client {
        pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
            let body = body.map(Value::to_string).unwrap_or_default();
            let request = format!(
                "{method} /__emulator{path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                self.addr,
                body.len()
            );
            let mut stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.expect("read");
            let answer = String::from_utf8_lossy(&answer).into_owned();
            let (head, json) = answer.split_once("\r\n\r\n").expect("a response");
            assert!(head.starts_with("HTTP/1.1 2"), "{path}: {head}");
            serde_json::from_str(json).expect("JSON")
        }
    }
}

impl Bed {
    async fn start() -> Self {
        let config = duo_emulator::Config {
            listen: "127.0.0.1:0".parse().expect("literal address"),
            ..duo_emulator::Config::default()
        };
        let emulator = Emulator::start(config).await.unwrap_or_else(|e| panic!("emulator: {e}"));
        let addr = emulator.local_addr();
        Self {
            config: ConfigDir::new(&addr.to_string()),
            http: control_api::Client { addr },
            emulator,
        }
    }

    async fn run(&self, args: &[&str]) -> Output {
        user_admin(self.config.path(), args, &[], "").await
    }

    async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.http.call(method, path, body.as_ref()).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_and_preauth_read_the_workers_local_settings() {
    let bed = Bed::start().await;
    let ok = bed.run(&["check"]).await;
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let said = text(&ok.stdout);
    assert!(
        said.starts_with("OK: Duo's Auth API at ") && said.contains("DIEMULATORAUTHAPI001"),
        "{said}"
    );

    let alice = bed.run(&["preauth", "alice"]).await;
    let listed = text(&alice.stdout);
    assert!(listed.starts_with("alice: auth (Account is active)"), "{listed}");
    assert!(listed.contains("iPhone (XXX-XXX-0100)  push, phone, sms, mobile_otp"), "{listed}");
    let json: Value =
        serde_json::from_slice(&bed.run(&["preauth", "bob", "--json"]).await.stdout).expect("JSON");
    assert_eq!(json["result"], json!("enroll"));
    assert!(json["enroll_portal_url"].as_str().is_some_and(|u| u.contains("/portal")));

    // A wrong secret key from the environment: Duo's code, what it means, never the key.
    let wrong = "W".repeat(40);
    let refused =
        user_admin(bed.config.path(), &["check"], &[("DUO_SKEY", wrong.as_str())], "").await;
    assert_eq!(refused.status.code(), Some(3));
    let error = text(&refused.stderr);
    assert!(error.contains("40103") && error.contains("check DUO_SKEY"), "{error}");
    assert!(!error.contains(&wrong) && !text(&refused.stdout).contains(&wrong));
    // A setting that is missing is named.
    std::fs::write(bed.config.path().join(".dev.vars"), "# nothing\n").expect(".dev.vars");
    let missing = bed.run(&["check", "--json"]).await;
    assert_eq!(missing.status.code(), Some(3));
    let json: Value = serde_json::from_slice(&missing.stdout).expect("JSON");
    assert_eq!(json["error"]["kind"], json!("settings"));
    assert!(
        json["error"]["message"].as_str().is_some_and(|m| m.starts_with("DUO_SKEY is not set"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_with_each_factor_and_follow_a_transaction() {
    let bed = Bed::start().await;
    // Asynchronous push: a txid, then auth-status --wait follows it to the tester's approval.
    let started = bed.run(&["auth", "alice", "--factor", "push", "--async", "--json"]).await;
    assert_eq!(started.status.code(), Some(0), "{}", text(&started.stderr));
    let txid = serde_json::from_slice::<Value>(&started.stdout).expect("JSON")["txid"]
        .as_str()
        .expect("a txid")
        .to_owned();
    let first = bed.run(&["auth-status", &txid]).await;
    assert_eq!(
        text(&first.stdout).trim(),
        "waiting (pushed): Pushed a login request to your device..."
    );
    let follow = tokio::spawn({
        let dir = bed.config.path().to_owned();
        let txid = txid.clone();
        async move { user_admin(&dir, &["auth-status", &txid, "--wait"], &[], "").await }
    });
    let txns = bed.control("GET", "/transactions?user=alice", None).await;
    assert_eq!(txns["transactions"][0]["txid"], json!(txid));
    bed.control("POST", &format!("/transactions/{txid}"), Some(json!({"action": "approve"}))).await;
    let followed = follow.await.expect("the follower");
    assert_eq!(followed.status.code(), Some(0));
    assert!(text(&followed.stdout).trim().ends_with("allow (allow): Success. Logging you in..."));

    // A synchronous push Duo denies: exit 1.
    bed.control("POST", "/script", Some(json!({"user": "alice", "outcome": "deny"}))).await;
    let denied = bed.run(&["auth", "alice", "--factor", "push"]).await;
    assert_eq!(
        (denied.status.code(), text(&denied.stdout).trim()),
        (Some(1), "deny (deny): Login request denied.")
    );

    // SMS then a passcode read from stdin.
    let sent = bed.run(&["auth", "alice", "--factor", "sms"]).await;
    assert_eq!(
        (sent.status.code(), text(&sent.stdout).trim()),
        (Some(0), "deny (sent): New SMS passcodes sent.")
    );
    let inbox = bed.control("GET", "/sms?user=alice", None).await;
    let code = inbox["sms"][0]["passcodes"][0].as_str().expect("a passcode").to_owned();
    let used = user_admin(
        bed.config.path(),
        &["auth", "alice", "--factor", "passcode", "--passcode", "-"],
        &[],
        &format!("{code}\n"),
    )
    .await;
    assert_eq!(used.status.code(), Some(0), "{}", text(&used.stdout));
    let usage = bed.run(&["auth", "alice", "--factor", "passcode"]).await;
    assert!(text(&usage.stderr).contains("needs --passcode"));

    // A device that cannot do the factor: Duo's 40002 in words.
    let preauth: Value =
        serde_json::from_slice(&bed.run(&["preauth", "alice", "--json"]).await.stdout)
            .expect("JSON");
    let office = preauth["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == json!("Office phone")))
        .and_then(|d| d["device"].as_str())
        .expect("the office phone")
        .to_owned();
    let refused = bed.run(&["auth", "alice", "--factor", "push", "--device", &office]).await;
    assert_eq!(refused.status.code(), Some(3));
    assert!(text(&refused.stderr).contains("no capable device"));
    drop(bed.emulator);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_duo_failure_is_explained() {
    let bed = Bed::start().await;
    let cases = [
        (
            json!({"kind": "duo_error", "status": 429, "code": 42901, "message": "Too Many Requests"}),
            "rate-limiting",
        ),
        (
            json!({"kind": "duo_error", "status": 503, "code": 50301, "message": "Service Unavailable"}),
            "failing or unreachable",
        ),
        (
            json!({"kind": "duo_error", "status": 403, "code": 40301, "message": "Access forbidden"}),
            "not an Auth API application",
        ),
        (json!({"kind": "http_status", "status": 502}), "HTTP 502 without an Auth API body"),
        (json!({"kind": "malformed_json"}), "check DUO_API_HOST"),
    ];
    for (mut fault, explained) in cases {
        fault["endpoint"] = json!("check");
        fault["times"] = json!(1);
        bed.control("POST", "/faults", Some(fault)).await;
        let failed = bed.run(&["check"]).await;
        assert_eq!(failed.status.code(), Some(3));
        assert!(text(&failed.stderr).contains(explained), "{}", text(&failed.stderr));
    }
    bed.control("POST", "/clock", Some(json!({"offset_seconds": 900}))).await;
    let skewed = bed.run(&["check"]).await;
    assert!(
        text(&skewed.stderr).contains("check this machine's clock"),
        "{}",
        text(&skewed.stderr)
    );
    bed.control("POST", "/clock", Some(json!({"offset_seconds": 0}))).await;

    // Duo holding the answer past --timeout.
    let started = bed.run(&["auth", "alice", "--factor", "push", "--async", "--json"]).await;
    let txid = serde_json::from_slice::<Value>(&started.stdout).expect("JSON")["txid"]
        .as_str()
        .expect("a txid")
        .to_owned();
    bed.run(&["auth-status", &txid]).await;
    let held = bed.run(&["auth-status", &txid, "--timeout", "1"]).await;
    assert_eq!(held.status.code(), Some(3));
    assert!(
        text(&held.stderr).contains("no answer within 1 s (--timeout)"),
        "{}",
        text(&held.stderr)
    );
}
