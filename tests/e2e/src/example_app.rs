//! The example app (`examples/app`, plain JavaScript with `jose`) under
//! `wrangler dev`, alone or behind the login's Worker: the app at its own
//! free port, the Worker at its own origin with `UPSTREAM_URL` pointing at
//! the app, and the app's `LOGIN_ORIGIN` and `AUDIENCE` set to that origin,
//! so the assertions it receives name the login it fetches the keys from.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::{PORT_TAKEN, ProcessGroup, STARTUP_TIMEOUT, Wrangler, free_port, output_dir};

/// The example app's wrangler configuration, relative to the workspace root.
pub const CONFIG: &str = "examples/app/wrangler.toml";

/// The example app under `wrangler dev`, stopped on drop.
#[derive(Debug)]
pub struct ExampleApp {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    log_path: PathBuf,
    _process: ProcessGroup,
}

impl ExampleApp {
    /// [`ExampleApp::start_on`] a free port, again on another one when the
    /// first was taken before wrangler bound it.
    pub async fn start(vars: &[(&str, &str)]) -> Result<Self, String> {
        Self::start_named(None, vars).await
    }

    /// [`ExampleApp::start`] under the Worker name `name` (wrangler's dev
    /// registry finds a service binding's Worker by it), instead of the
    /// configuration's.
    pub async fn start_named(name: Option<&str>, vars: &[(&str, &str)]) -> Result<Self, String> {
        let mut attempts = 0;
        loop {
            match Self::start_on_named(free_port(), name, vars).await {
                Err(problem) if problem.contains(PORT_TAKEN) && attempts < 2 => attempts += 1,
                started => return started,
            }
        }
    }

    /// Starts the app on `port` with `vars` (`LOGIN_ORIGIN`, `AUDIENCE`,
    /// `JWKS_URL`: the configuration's defaults for any not given) and waits
    /// until it answers as the example app.
    pub async fn start_on(port: u16, vars: &[(&str, &str)]) -> Result<Self, String> {
        Self::start_on_named(port, None, vars).await
    }

    async fn start_on_named(
        port: u16,
        name: Option<&str>,
        vars: &[(&str, &str)],
    ) -> Result<Self, String> {
        let root = crate::workspace_root();
        let inspector = free_port();
        // Under target/e2e-state: scripts/test.sh stops what is left there.
        let persist = root.join("target/e2e-state").join(format!("example-app-{port}"));
        let _ = std::fs::remove_dir_all(&persist);
        let log_path = output_dir().join(format!("example-app-{port}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(root.join("node_modules/.bin/wrangler"));
        command
            .current_dir(&root)
            .args(["dev", "--config", CONFIG, "--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &inspector.to_string()])
            .args(["--persist-to", &persist.to_string_lossy()])
            .args(["--show-interactive-dev-session=false", "--log-level", "log"])
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .stdout(log)
            .stderr(log_err);
        if let Some(name) = name {
            command.args(["--name", name]);
        }
        for (name, value) in vars {
            command.arg("--var").arg(format!("{name}:{value}"));
        }
        let mut process = ProcessGroup::spawn("wrangler dev (example app)", command)
            .map_err(|e| e.to_string())?;

        let origin = format!("http://127.0.0.1:{port}");
        let probe = format!("{origin}/debug/received");
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        loop {
            process.ensure_serving(&log_path)?;
            // Whatever else might listen there, only the example app reports
            // what it received with an `assertion`.
            if let Ok(response) = http.get(&probe).send().await
                && let Ok(report) = response.json::<serde_json::Value>().await
                && report.get("assertion").is_some()
            {
                return Ok(Self { origin, log_path, _process: process });
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "the example app was not ready in time; see {}",
                    log_path.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// An absolute URL of one of the app's paths, on the app itself (not
    /// through the login).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// What wrangler and the app logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

/// The login's Worker in front of the example app.
#[derive(Debug)]
pub struct Behind {
    /// The Worker, at its own origin (`http://localhost:PORT`): the
    /// assertions' issuer and audience, and where its keys are published.
    pub worker: Wrangler,
    /// The example app the Worker forwards to.
    pub app: ExampleApp,
}

/// Starts the example app and the Worker with `vars` (their `APP_ORIGIN`
/// and `UPSTREAM_URL` replaced) in front of it. The app's port is chosen
/// first, since the Worker's settings name it; when something else took it
/// before the app bound it, both start again on other ports.
pub async fn behind_login(vars: &[(String, String)]) -> Result<Behind, String> {
    let mut attempts = 0;
    loop {
        let port = free_port();
        let mut worker_vars: Vec<(String, String)> =
            vars.iter().filter(|(name, _)| name != "UPSTREAM_URL").cloned().collect();
        worker_vars.push(("UPSTREAM_URL".to_owned(), format!("http://127.0.0.1:{port}")));
        let worker = Wrangler::start_at_own_origin(&worker_vars).await?;
        let login = worker.origin.as_str();
        match ExampleApp::start_on(port, &[("LOGIN_ORIGIN", login), ("AUDIENCE", login)]).await {
            Err(problem) if problem.contains(PORT_TAKEN) && attempts < 2 => attempts += 1,
            started => return started.map(|app| Behind { worker, app }),
        }
    }
}
