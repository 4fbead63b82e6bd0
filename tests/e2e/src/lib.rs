//! Test bed for the end-to-end tests: the real Worker under `wrangler dev`
//! and headless Chromium through `ChromeDriver`, each on a free loopback port.
//!
//! Every process is started in its own process group and the whole group is
//! stopped when its guard drops, so nothing outlives a test, pass or fail
//! (`wrangler dev` starts `workerd` as a child).

// A test bed: its failures are test failures, reported where they happen.
#![allow(clippy::missing_errors_doc, clippy::missing_panics_doc)]

pub mod example_app;
pub mod load;
pub mod procs;
pub mod receiver;
pub mod signin;
pub mod upstream;

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long a process gets to become ready.
pub const STARTUP_TIMEOUT: Duration = Duration::from_mins(2);

/// The workspace root (`tests/e2e/../..`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|e| {
        panic!("cannot resolve the workspace root: {e}");
    })
}

/// Where tests write what a person may want to look at afterwards
/// (screenshots, logs): `target/test-output/`.
pub fn output_dir() -> PathBuf {
    let dir = workspace_root().join("target/test-output");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A free TCP port on 127.0.0.1 (bound, then released for the child to
/// take), never one this process handed out before: a Worker's port also
/// names its database directory, so two tests given the same port would
/// share (and wipe) one database.
pub fn free_port() -> u16 {
    // Below Linux's ephemeral range (32768 and up): what binds port 0 (the
    // emulator, the echo app, outgoing connections) is never handed a port
    // given here while its process has yet to bind it.
    const FIRST: u16 = 20_000;
    const SPAN: u16 = 12_000;
    static NEXT: std::sync::Mutex<Option<u16>> = std::sync::Mutex::new(None);
    let mut next = NEXT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let start = next.unwrap_or_else(|| {
        let pid = std::process::id();
        u16::try_from(pid % u32::from(SPAN)).unwrap_or(0)
    });
    for step in 0..SPAN {
        let offset = (start + step) % SPAN;
        let port = FIRST + offset;
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            *next = Some((offset + 1) % SPAN);
            return port;
        }
    }
    panic!("no free port from {FIRST} to {}", FIRST + SPAN);
}

/// A child process whose whole process group is stopped on drop.
#[derive(Debug)]
pub struct ProcessGroup {
    name: &'static str,
    child: Child,
}

impl ProcessGroup {
    /// Starts `command` as the leader of a new process group.
    pub fn spawn(name: &'static str, mut command: Command) -> io::Result<Self> {
        use std::os::unix::process::CommandExt;
        command.process_group(0).stdin(Stdio::null());
        let child = command.spawn()?;
        Ok(Self { name, child })
    }

    /// Fails if the process has already exited (a crash during start-up).
    pub fn ensure_running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} exited early: {status}", self.name)),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }

    /// [`ProcessGroup::ensure_running`] for a `wrangler dev` logging to
    /// `log_path`: its exit says where the log is, and ends with
    /// [`PORT_TAKEN`] when the port was taken before workerd bound it (the
    /// caller tries another).
    pub(crate) fn ensure_serving(&mut self, log_path: &Path) -> Result<(), String> {
        self.ensure_running().map_err(|e| {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            let taken = if log.contains("Address already in use") { PORT_TAKEN } else { "" };
            format!("{e}{taken}; see {}", log_path.display())
        })
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let Ok(raw) = i32::try_from(self.child.id()) else { return };
        let group = Pid::from_raw(raw);
        let _ = killpg(group, Signal::SIGTERM);
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Whatever is left of the group (workerd, Chromium helpers).
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// `wrangler dev` serving the built Worker and SPA on a free port, with its
/// own local D1 database (migrated and seeded with the demo users).
#[derive(Debug)]
pub struct Wrangler {
    /// `http://localhost:PORT`.
    pub origin: String,
    log_path: PathBuf,
    persist: PathBuf,
    config: Option<PathBuf>,
    _process: ProcessGroup,
}

/// The demo users' SQL (`user-admin seed-demo`), the same file the dev command runs.
pub fn demo_seed_path() -> PathBuf {
    workspace_root().join("crates/credentials/seed/demo-users.sql")
}

/// Applies the D1 migrations to the local database under `persist`, then runs
/// the demo seed and each of `extra_sql` (SQL text), as the dev command does.
/// wrangler's output is appended to `log`.
pub async fn prepare_database(
    persist: &Path,
    extra_sql: &[&str],
    log: &std::fs::File,
) -> Result<(), String> {
    prepare_database_of(None, persist, extra_sql, log).await
}

/// [`prepare_database`] for the Worker of wrangler configuration `config`
/// (`None`: the product's, the root `wrangler.toml`).
///
/// The migrated and seeded database is made once per test process (a
/// template: two wrangler runs, each starting workerd, about 5 s of CPU)
/// and copied for every Worker; `extra_sql` then runs on the copy.
async fn prepare_database_of(
    config: Option<&Path>,
    persist: &Path,
    extra_sql: &[&str],
    log: &std::fs::File,
) -> Result<(), String> {
    let template = database_template(config, log).await?;
    copy_dir(&template, persist).map_err(|e| format!("copy {}: {e}", template.display()))?;
    // Run on the copy's SQLite file before any workerd opens it (a
    // `wrangler d1 execute` each would start node and workerd).
    if !extra_sql.is_empty() {
        let database = database_file_in(persist)?;
        for sql in extra_sql {
            run_sql(&database, sql).await?;
        }
    }
    Ok(())
}

/// The `SQLite` file of the D1 database kept under `persist` (the one that
/// is not miniflare's metadata).
fn database_file_in(persist: &Path) -> Result<PathBuf, String> {
    let folder = persist.join("v3/d1/miniflare-D1DatabaseObject");
    let files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .map_err(|e| format!("{}: {e}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension().is_some_and(|e| e == "sqlite")
                && path.file_name().is_some_and(|n| n != "metadata.sqlite")
        })
        .collect();
    match files.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(format!("{} databases in {}", other.len(), folder.display())),
    }
}

/// Runs `sql`'s statements in order on `database` with Python's `sqlite3`
/// ([`QUERY_PY`]): the rows of the first, as JSON objects.
async fn run_sql(database: &Path, sql: &str) -> Result<Vec<serde_json::Value>, String> {
    let output = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(QUERY_PY)
        .arg(database)
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("python3: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{sql:?}: {stderr}"));
    }
    serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))
}

/// The migrated and seeded database of `config`'s Worker, made on first use
/// in this process under `target/e2e-state/template-PID-N`.
async fn database_template(config: Option<&Path>, log: &std::fs::File) -> Result<PathBuf, String> {
    static TEMPLATES: tokio::sync::Mutex<Vec<(Option<PathBuf>, PathBuf)>> =
        tokio::sync::Mutex::const_new(Vec::new());
    let mut templates = TEMPLATES.lock().await;
    if let Some((_, dir)) = templates.iter().find(|(c, _)| c.as_deref() == config) {
        return Ok(dir.clone());
    }
    let state = workspace_root().join("target/e2e-state");
    remove_templates_of_finished_processes(&state);
    let dir = state.join(format!("template-{}-{}", std::process::id(), templates.len()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    wrangler_d1(config, &dir, &["migrations", "apply", "DB", "--local"], None, log).await?;
    let seed = demo_seed_path();
    wrangler_d1(config, &dir, &["execute", "DB", "--local", "--file"], Some(&seed), log).await?;
    templates.push((config.map(Path::to_path_buf), dir.clone()));
    Ok(dir)
}

/// Removes the templates left by test processes that have ended.
fn remove_templates_of_finished_processes(state: &Path) {
    let Ok(entries) = std::fs::read_dir(state) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("template-")) else { continue };
        let pid = pid.split('-').next().unwrap_or_default();
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Copies the directory tree `from` to `to` (files and directories only).
fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Runs `wrangler d1 ARGS [FILE]` on the local database under `persist` of
/// `config`'s Worker, its output appended to `log`.
async fn wrangler_d1(
    config: Option<&Path>,
    persist: &Path,
    args: &[&str],
    file: Option<&Path>,
    log: &std::fs::File,
) -> Result<(), String> {
    let out = log.try_clone().map_err(|e| e.to_string())?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let described = format!("wrangler d1 {}", args.join(" "));
    let status = d1_command(config, persist, args, file)
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|e| format!("{described}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{described} failed: {status}")) }
}

/// `wrangler d1 ARGS [FILE] --config CONFIG --persist-to PERSIST` (the file
/// right after `--file`, the last of `args`), run from the workspace root
/// with nothing asked of the network.
fn d1_command(
    config: Option<&Path>,
    persist: &Path,
    args: &[&str],
    file: Option<&Path>,
) -> tokio::process::Command {
    let root = workspace_root();
    let mut command = tokio::process::Command::new(root.join("node_modules/.bin/wrangler"));
    command
        .current_dir(&root)
        .arg("d1")
        .args(args)
        .args(file)
        .args(config.iter().flat_map(|c| [Path::new("--config"), c]))
        .arg("--persist-to")
        .arg(persist)
        .env("CI", "1")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .stdin(Stdio::null());
    command
}

/// The Duo emulator with `config`, on a free port of 127.0.0.1
/// (`config.listen` is replaced): one per test, so tests never share Duo's
/// state.
///
/// # Panics
/// When it cannot start.
pub async fn start_emulator(config: duo_emulator::Config) -> duo_emulator::Emulator {
    let config =
        duo_emulator::Config { listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)), ..config };
    duo_emulator::Emulator::start(config).await.unwrap_or_else(|e| panic!("emulator: {e}"))
}

/// [`start_emulator`] with the development settings (its users, its app).
///
/// # Panics
/// When it cannot start.
pub async fn local_emulator() -> duo_emulator::Emulator {
    start_emulator(duo_emulator::Config::default()).await
}

/// `vars` switched to the inline mode against the Auth API at `host`, with
/// the emulator's development integration keys.
pub fn inline_vars(vars: &[(String, String)], host: &str) -> Vec<(String, String)> {
    let inline = [
        ("DUO_MODE", "inline"),
        ("DUO_IKEY", duo_emulator::auth_api::DEV_IKEY),
        ("DUO_SKEY", duo_emulator::auth_api::DEV_SKEY),
        ("DUO_API_HOST", host),
    ];
    let mut vars: Vec<(String, String)> =
        vars.iter().filter(|(name, _)| !inline.iter().any(|(n, _)| n == name)).cloned().collect();
    vars.extend(inline.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    vars
}

/// Settings for a test Worker: the development defaults, which tests may override.
/// The gateway's signing keys in the tests (`scripts/gateway-keys.mjs new`;
/// test-only keys, never deployed).
pub const TEST_GATEWAY_KEYS: &str = r#"{"current":{"kty":"EC","crv":"P-256","x":"CGMZVOAj0GlnOTJaIUpKbVqW88e4HS_I9FOR3Wdj1IA","y":"L4w9Vckd-jNPmYd73U1EybGaOfjAtxG-zoZXzPX98bo","d":"t3gSuMyvpTGUkV8F1bUgfcLNyHSh0OTHJoyb3zI_xC0","kid":"JyKV-b6iGD7yDrlUuQeRNJMErJvWR83_jP4UItXjXfA"},"next":{"kty":"EC","crv":"P-256","x":"wWLaYHiOKAGYagGdt30RAawQZ0u5p4Wy-HhGWkKBKwM","y":"f9rZE2949SqlNWYturo3CQFB8MDb2Nf6YBBpb5mtsTY","d":"HAL8_bdeJURBguNxD2gUK5Ni_FIq06r1NsL_oqcplE8","kid":"G_n_Vo60M70ZJ8mULqgKL-bd0TLP14UPf1wXjNHRWO8"}}"#;

pub fn default_vars(origin: &str) -> Vec<(String, String)> {
    [
        ("DUO_CLIENT_ID", "DIEMULATORDEVCLIENT1"),
        ("DUO_CLIENT_SECRET", "EmulatorDevSecretNotForProduction0000000"),
        ("DUO_API_HOST", "127.0.0.1:8788"),
        ("SESSION_SECRET", "ZTJlLXRlc3Qtc2Vzc2lvbi1zZWNyZXQtMzItYnl0ZXMhIQ=="),
        ("APP_ORIGIN", origin),
        // The tests (and the load example) start alice's Duo step far more
        // often than a person would; the per-user limit itself is pinned by
        // edge's unit tests.
        ("DUO_START_LIMIT", "1000000"),
        // The app behind the gateway: nothing listens on the discard port;
        // the gateway's tests start an app and point UPSTREAM_URL at it.
        ("UPSTREAM_URL", "http://127.0.0.1:9"),
        ("GATEWAY_KEYS", TEST_GATEWAY_KEYS),
        // Breached passwords: not asked (Pwned Passwords cannot be reached
        // here); the tests of the check point it at their emulator.
        ("PWNED_PASSWORDS", "off"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// How [`Wrangler::start_on`] says the port was taken before workerd bound it.
const PORT_TAKEN: &str = " (port taken)";

impl Wrangler {
    /// Starts `wrangler dev` with `vars` and waits until `/api/health` answers.
    ///
    /// The Worker and SPA must already be built (`scripts/test.sh` does it);
    /// `SKIP_WORKER_BUILD=1` stops wrangler from rebuilding them.
    pub async fn start(vars: &[(String, String)]) -> Result<Self, String> {
        Self::start_seeded(vars, &[]).await
    }

    /// Like [`Wrangler::start`], also running `extra_sql` on the database
    /// after the migrations and the demo seed.
    pub async fn start_seeded(
        vars: &[(String, String)],
        extra_sql: &[&str],
    ) -> Result<Self, String> {
        Self::start_retrying(None, extra_sql, |_| vars.to_vec()).await
    }

    /// Like [`Wrangler::start`], for another Worker: wrangler configuration
    /// `config` (relative to the workspace root, e.g.
    /// `benches/reference-worker/wrangler.toml`; its `main` and
    /// `migrations_dir` are relative to that file). Its D1 database `DB` gets
    /// the same migrations' treatment and the demo seed.
    pub async fn start_config(config: &Path, vars: &[(String, String)]) -> Result<Self, String> {
        Self::start_retrying(Some(config), &[], |_| vars.to_vec()).await
    }

    /// Like [`Wrangler::start`], with `APP_ORIGIN` set to the Worker's own
    /// origin (`http://localhost:PORT`), whatever `vars` says: what a browser
    /// needs, since the SPA's requests carry that `Origin` and Duo sends the
    /// browser back to `APP_ORIGIN/auth/duo/callback`.
    pub async fn start_at_own_origin(vars: &[(String, String)]) -> Result<Self, String> {
        Self::start_seeded_at_own_origin(vars, &[]).await
    }

    /// [`Wrangler::start_at_own_origin`], also running `extra_sql` after the
    /// migrations and the demo seed.
    pub async fn start_seeded_at_own_origin(
        vars: &[(String, String)],
        extra_sql: &[&str],
    ) -> Result<Self, String> {
        Self::start_retrying(None, extra_sql, |port| {
            let mut vars: Vec<(String, String)> =
                vars.iter().filter(|(name, _)| name != "APP_ORIGIN").cloned().collect();
            vars.push(("APP_ORIGIN".to_owned(), format!("http://localhost:{port}")));
            vars
        })
        .await
    }

    /// [`Wrangler::start_on`] a free port with the settings `vars_for` gives
    /// for it, again on another port when the first was taken in between:
    /// a port is free when [`free_port`] hands it out, and another process
    /// (a test's emulator, browser or Worker) may bind it before workerd
    /// does ("Address already in use"). Any other failure is final.
    async fn start_retrying(
        config: Option<&Path>,
        extra_sql: &[&str],
        vars_for: impl Fn(u16) -> Vec<(String, String)>,
    ) -> Result<Self, String> {
        let mut attempts = 0;
        loop {
            let port = free_port();
            match Self::start_on(config, port, &vars_for(port), extra_sql).await {
                Err(problem) if problem.contains(PORT_TAKEN) && attempts < 2 => attempts += 1,
                started => return started,
            }
        }
    }

    async fn start_on(
        config: Option<&Path>,
        port: u16,
        vars: &[(String, String)],
        extra_sql: &[&str],
    ) -> Result<Self, String> {
        let root = workspace_root();
        let persist = root.join("target/e2e-state").join(port.to_string());
        let log_path = output_dir().join(format!("wrangler-{port}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        // A fresh database for every run (ports are reused across runs).
        let _ = std::fs::remove_dir_all(&persist);
        let config = config.map(|c| root.join(c));
        prepare_database_of(config.as_deref(), &persist, extra_sql, &log)
            .await
            .map_err(|e| format!("{e}; see {}", log_path.display()))?;
        Self::serve(config, port, persist, log_path, log, vars).await
    }

    /// Stops this Worker and starts it again on the same port and database
    /// with `vars` (a deployment of new settings or secrets: sessions,
    /// users and the audit log stay).
    ///
    /// # Errors
    /// When it does not serve again.
    pub async fn restart_with(self, vars: &[(String, String)]) -> Result<Self, String> {
        let Self { origin, log_path, persist, config, _process: running } = self;
        drop(running);
        let port: u16 = origin
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("no port in {origin}"))?;
        let log =
            std::fs::OpenOptions::new().append(true).open(&log_path).map_err(|e| e.to_string())?;
        // workerd lets go of the port a moment after it exits.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            if tokio::time::Instant::now() > deadline {
                return Err(format!("port {port} still taken after the stop"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self::serve(config, port, persist, log_path, log, vars).await
    }

    /// Runs `wrangler dev` on `port` over the database under `persist` and
    /// waits until it answers.
    async fn serve(
        config: Option<PathBuf>,
        port: u16,
        persist: PathBuf,
        log_path: PathBuf,
        log: std::fs::File,
        vars: &[(String, String)],
    ) -> Result<Self, String> {
        let root = workspace_root();
        let inspector = free_port();
        let origin = format!("http://localhost:{port}");
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(root.join("node_modules/.bin/wrangler"));
        command
            .current_dir(&root)
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &inspector.to_string()])
            .args(config.iter().flat_map(|c| [Path::new("--config"), c.as_path()]))
            .args(["--persist-to", &persist.to_string_lossy()])
            .args(["--show-interactive-dev-session=false", "--log-level", "log"])
            // `GET /__scheduled` runs the Cron Trigger's handler.
            .arg("--test-scheduled")
            .env("SKIP_WORKER_BUILD", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .stdout(log)
            .stderr(log_err);
        for (name, value) in vars {
            command.arg("--var").arg(format!("{name}:{value}"));
        }
        let mut process =
            ProcessGroup::spawn("wrangler dev", command).map_err(|e| e.to_string())?;

        let http = reqwest::Client::new();
        let health = format!(
            "http://127.0.0.1:{port}{}",
            shared::api::routes::at(shared::api::routes::HEALTH)
        );
        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        loop {
            process.ensure_serving(&log_path)?;
            if http.get(&health).send().await.is_ok() {
                return Ok(Self { origin, log_path, persist, config, _process: process });
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("wrangler dev not ready in time; see {}", log_path.display()));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Runs the Cron Trigger's handler now (`wrangler dev --test-scheduled`).
    pub async fn run_scheduled(&self) -> Result<(), String> {
        let url = self.app_url("/__scheduled?cron=*/30+*+*+*+*");
        let response = reqwest::get(&url).await.map_err(|e| format!("{url}: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("{url}: {}", response.status()))
        }
    }

    /// The rows `sql` selects from this Worker's local D1 database (its
    /// statements run in order; the rows of the first), read while the
    /// Worker runs from the `SQLite` file `wrangler dev` keeps it in, with
    /// Python's `sqlite3` (about 40 ms, where a `wrangler d1 execute` starts
    /// node and workerd for 1.5 s of CPU each time). The database's own
    /// rules hold (its triggers and checks say why in the error). Reads only,
    /// or writes before the Worker has written anything: once it has, its
    /// workerd holds the database and a write from outside times out (seed
    /// such rows with [`Wrangler::start_seeded`] instead).
    pub async fn query(&self, sql: &str) -> Result<Vec<serde_json::Value>, String> {
        run_sql(&database_file_in(&self.persist)?, sql).await
    }

    /// What wrangler and the Worker logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Where wrangler's log is written.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// An absolute URL of one of the login's own paths (`path` under
    /// [`shared::api::routes::PREFIX`]).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.origin, shared::api::routes::at(path))
    }

    /// An absolute URL of one of the app's paths (outside the prefix).
    pub fn app_url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Fails the test if the Worker's log shows a panic or a wasm trap, the
    /// development client secret, or any of `also`.
    ///
    /// # Panics
    /// When one is found, naming it and the log file.
    pub fn assert_clean_log(&self, also: &[&str]) {
        let log = self.log();
        // (`unreachable executed`: a wasm trap; the Worker's own reasons say `duo_unreachable`.)
        let always = ["panicked", "RuntimeError", "unreachable executed", "EmulatorDevSecret"];
        for needle in always.iter().chain(also) {
            assert!(
                !log.contains(needle),
                "the Worker log has {needle:?}; see {}",
                self.log_path.display()
            );
        }
    }
}

/// [`Wrangler::query`]'s reader: every statement of `argv[2]` in order
/// (split where `SQLite` says a statement is complete, so triggers' bodies
/// stay whole), in autocommit; the first's rows as a JSON array of objects.
const QUERY_PY: &str = r#"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
db.row_factory = sqlite3.Row
statements, part = [], ""
for piece in sys.argv[2].split(";"):
    part += piece + ";"
    if sqlite3.complete_statement(part):
        if part.strip(" \t\n;"):
            statements.append(part)
        part = ""
if part.strip(" \t\n;"):
    statements.append(part)
first = None
try:
    for statement in statements:
        rows = [dict(row) for row in db.execute(statement).fetchall()]
        if first is None:
            first = rows
except sqlite3.Error as error:
    sys.exit(f"{type(error).__name__}: {error}")
print(json.dumps(first or []))
"#;

/// Waits (up to `seconds`) until `check` finds something, asking every
/// 250 ms; what it found.
///
/// # Panics
/// When nothing is found in time, naming `what`.
pub async fn eventually<T>(
    seconds: u64,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "waited {seconds} s for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Now, in Unix seconds (the native test process's clock, not the Worker's).
#[allow(clippy::disallowed_methods, reason = "native test code; the Worker takes its own time")]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Headless Chromium driven through `ChromeDriver`.
pub struct Browser {
    /// The `WebDriver` session.
    pub client: Client,
    _profile: TempDir,
    _driver: ProcessGroup,
}

impl Browser {
    /// Starts `ChromeDriver` on a free port and opens a headless session with a
    /// fresh profile.
    pub async fn start() -> Result<Self, String> {
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chrome_bin = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port();
        let mut command = Command::new(&driver_bin);
        command.arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null());
        let mut driver = ProcessGroup::spawn("chromedriver", command)
            .map_err(|e| format!("cannot start {driver_bin}: {e}"))?;
        let profile = TempDir::new("chromium-profile")?;

        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chrome_bin,
                "args": chromium_args(&profile.path),
            }
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!("a JSON object literal") };
        let webdriver = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        loop {
            driver.ensure_running()?;
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&webdriver)
                .await
            {
                Ok(client) => return Ok(Self { client, _profile: profile, _driver: driver }),
                Err(e) if tokio::time::Instant::now() > deadline => {
                    return Err(format!("no `WebDriver` session: {e}"));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Saves a screenshot as `target/test-output/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, String> {
        let png = self.client.screenshot().await.map_err(|e| e.to_string())?;
        let path = output_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// What axe-core (`node_modules/axe-core`, from the lockfile) finds wrong
    /// with the page as it is now, against WCAG 2.2 A and AA and best
    /// practice: one line per rule broken, with the elements. Empty when
    /// nothing is. (axe runs as `WebDriver` script, which the page's CSP
    /// does not restrict.)
    ///
    /// # Errors
    /// When axe cannot be read or run.
    pub async fn accessibility_violations(&self) -> Result<Vec<String>, String> {
        let axe = workspace_root().join("node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe)
            .map_err(|e| format!("{}: {e} (run npm ci)", axe.display()))?;
        self.client
            .execute(&format!("{source}\nreturn typeof window.axe;"), vec![])
            .await
            .map_err(|e| format!("loading axe: {e}"))?;
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', \
                   values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } })\
                   .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ': ' \
                     + v.nodes.map(n => n.target.join(' ')).join(', '))))\
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .map_err(|e| format!("running axe: {e}"))?;
        Ok(found
            .as_array()
            .map(|lines| lines.iter().filter_map(|l| l.as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    /// Ends the `WebDriver` session (Chromium quits); the driver stops on drop.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Flags for Chromium as root on a machine with no internet: no sandbox, no
/// GPU, and none of the background calls to Google's hosts that would stall.
pub fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=1280,900",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(std::iter::once(format!("--user-data-dir={}", profile.display())))
    .collect()
}

/// A directory removed on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `target/tmp/<prefix>-<pid>-<n>`.
    pub fn new(prefix: &str) -> Result<Self, String> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = workspace_root()
            .join("target/tmp")
            .join(format!("{prefix}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self { path })
    }

    /// The directory (for a process's files: nginx's configuration and logs).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Every `Set-Cookie` header of a response.
///
/// # Panics
/// On a header that is not ASCII (the Worker only sends ASCII cookies).
pub fn set_cookies(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ASCII Set-Cookie").to_owned())
        .collect()
}

/// A password-only sign-in (an account with no Duo step) of `username`
/// with its demo password (`<username>-demo-pass`) at `login_url` (the
/// login's `POST /api/login`, through whatever serves it), sent with
/// `origin` as `Origin`: the session cookie as `__Host-session=value`, for
/// a `Cookie` header.
///
/// # Errors
/// A refused sign-in (its status and body), or no session cookie.
pub async fn demo_session(
    http: &reqwest::Client,
    login_url: &str,
    origin: &str,
    username: &str,
) -> Result<String, String> {
    let response = http
        .post(login_url)
        .header("Origin", origin)
        .json(
            &serde_json::json!({"username": username, "password": format!("{username}-demo-pass")}),
        )
        .send()
        .await
        .map_err(|e| format!("login: {e}"))?;
    let status = response.status().as_u16();
    let session = set_cookie(response.headers(), "__Host-session");
    match session {
        Some(cookie) if status == 200 => Ok(format!("__Host-session={}", cookie_value(&cookie))),
        _ => Err(format!(
            "{username}'s login: {status} {}",
            response.text().await.unwrap_or_default()
        )),
    }
}

/// The `Set-Cookie` header for cookie `name`.
pub fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    set_cookies(headers).into_iter().find(|c| c.starts_with(&format!("{name}=")))
}

/// The value in a `Set-Cookie` header.
///
/// # Panics
/// If the header has no `name=value` pair.
pub fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().expect("name=value");
    pair.split_once('=').expect("name=value").1.to_owned()
}

/// A `WebDriver` `POST /session/{id}/{path}` with a JSON body, for what
/// fantoccini has no method for (`ChromeDriver`'s `goog/cdp/execute`, a
/// host-only cookie).
#[derive(Debug)]
pub struct SessionPost {
    /// The path after `session/{id}/`.
    pub path: &'static str,
    /// The request body.
    pub body: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base_url.join(&format!("session/{}/{}", session_id.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _request_url: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(self.body.to_string()))
    }
}
