//! The gateway's benchmark (issue #24): what forwarding through our Worker
//! costs next to a bare pass-through Worker, both under `wrangler dev`
//! (workerd) on loopback, forwarding to the same upstream at the same
//! concurrency, in one run:
//!
//! - bare: `benches/passthrough-worker/` (see its README.md), a JavaScript
//!   Worker that forwards every request unchanged, there only to compare with;
//! - gateway: the product (`edge/`, Rust compiled to wasm), with the break-glass
//!   admin's session cookie: the session is read from the isolate's cache
//!   (after the first request, no D1 read), the path's access rule decided,
//!   an ES256 assertion (signed once, reused while half its lifetime is
//!   left), the headers and cookies filtered both ways.
//!
//! ```sh
//! npm ci && source scripts/env.sh && scripts/build-app.sh && scripts/build-worker.sh
//! SKIP_WORKER_BUILD=1 cargo run -p e2e --example gateway_load -- [CONCURRENCY] [REQUESTS] [ROUNDS]
//! # e.g. concurrency 16, 4000 requests per Worker and round, two rounds:
//! SKIP_WORKER_BUILD=1 cargo run -p e2e --example gateway_load -- 16 4000 2
//! ```
//!
//! The upstream is a tiny HTTP server in this process (hyper), answering
//! every request with 200 and 1024 bytes; it only counts what it gets (all
//! requests, and those carrying the gateway's assertion). Both Workers get
//! [`WARM_UP`] unmeasured requests first; then each round measures the bare
//! Worker, then the gateway, `REQUESTS` each (`GET /bench`) from
//! `CONCURRENCY` tasks over kept-alive connections, the body read to its end.
//!
//! For each it prints requests per second, latency p50 and p99, and workerd's
//! CPU time per request: utime + stime from `/proc/PID/stat` of every workerd
//! process in that Worker's `wrangler dev` process group (the group of the
//! process listening on its port), after the run minus before, over the
//! requests, in clock ticks of `getconf CLK_TCK` (100 assumed, and said so,
//! if it cannot be read). Also the CPU of wrangler's other processes (node)
//! and of this process (the load and the upstream), to see what else shared
//! the cores. Then the ratios: gateway req/s ÷ bare req/s (the target is at
//! least 0.9), and the p50, p99 and CPU the gateway adds.
//!
//! A measurement, not a test: it fails only when a response is not the
//! upstream's (status 200, the upstream's mark, 1024 bytes: a redirect to the
//! login or a 401 fails it), or when the upstream did not get exactly one
//! request per measured request, each with the assertion from the gateway and
//! none from the bare Worker.

// A native tool measuring wall time: the wasm32 clock rule does not apply.
#![allow(clippy::disallowed_methods)]

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use e2e::load::{Report, ms, quantile, rate, run};
use e2e::procs::{clock_ticks, cpu_of, cpu_ticks, processes_on};
use e2e::workspace_root;
use e2e::{ProcessGroup, STARTUP_TIMEOUT, Wrangler, default_vars, free_port, output_dir};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
/// The pass-through Worker's wrangler configuration, from the workspace root.
const PASSTHROUGH_CONFIG: &str = "benches/passthrough-worker/wrangler.toml";
/// The path every measured request asks for (one of the app's: outside the
/// login's prefix).
const PATH: &str = "/bench";
/// The upstream's answer: this many bytes.
const BODY_LEN: usize = 1024;
/// The header by which the upstream marks its answers.
const MARK: &str = "x-bench-upstream";
/// The gateway's assertion header, as the upstream sees it.
const ASSERTION: &str = "duo-login-assertion";
/// Unmeasured requests per Worker before the first round.
const WARM_UP: usize = 200;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let concurrency = args.next().transpose().map_err(|e| e.to_string())?.unwrap_or(16);
    let requests = args.next().transpose().map_err(|e| e.to_string())?.unwrap_or(4000);
    let rounds = args.next().transpose().map_err(|e| e.to_string())?.unwrap_or(2);
    if concurrency == 0 || requests == 0 || rounds == 0 {
        return Err("concurrency, requests and rounds must be at least 1".into());
    }
    let (ticks, ticks_known) = clock_ticks();

    let upstream = Upstream::start().await?;
    let mut vars: Vec<(String, String)> =
        default_vars(APP_ORIGIN).into_iter().filter(|(name, _)| name != "UPSTREAM_URL").collect();
    vars.push(("UPSTREAM_URL".to_owned(), upstream.origin.clone()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| e.to_string())?;

    let ours = Wrangler::start(&vars).await?;
    let session = sign_in(&http, &ours).await?;
    let bare = Passthrough::start(&upstream.origin).await?;
    // Both on 127.0.0.1 (where workerd listens), not `localhost`.
    let gateway_port = port_of(&ours.origin)?;
    let targets = [
        Target::new("bare pass-through", bare.port, None, &http)?,
        Target::new("gateway", gateway_port, Some(session), &http)?,
    ];
    for target in &targets {
        println!(
            "{}: http://127.0.0.1:{}{PATH}, workerd pids {:?}, other pids of its wrangler {:?}",
            target.name, target.port, target.workerd, target.others
        );
    }
    for target in &targets {
        target.load(&upstream, concurrency, WARM_UP).await?;
    }

    let mut totals = [Totals::default(), Totals::default()];
    for round in 1..=rounds {
        for (target, totals) in targets.iter().zip(&mut totals) {
            let me = cpu_ticks(std::process::id())?;
            let workerd = cpu_of(&target.workerd)?;
            let others = cpu_of(&target.others)?;
            let report = target.load(&upstream, concurrency, requests).await?;
            let cpu = Cpu {
                workerd: cpu_of(&target.workerd)?.saturating_sub(workerd),
                others: cpu_of(&target.others)?.saturating_sub(others),
                me: cpu_ticks(std::process::id())?.saturating_sub(me),
            };
            report.print(&format!("round {round}, {}", target.name), &cpu, ticks);
            totals.add(report, &cpu);
        }
    }
    print_table(&targets, &totals, concurrency, requests, rounds, ticks, ticks_known);
    bare.stop();
    Ok(())
}

/// The break-glass admin's session cookie (`name=value`), from a password
/// login on `worker` (a bypass user: no Duo step).
async fn sign_in(http: &reqwest::Client, worker: &Wrangler) -> Result<String, String> {
    e2e::demo_session(http, &worker.url(routes::LOGIN), APP_ORIGIN, "admin")
        .await
        .map_err(|e| format!("{e}; see {}", worker.log_path().display()))
}

fn port_of(origin: &str) -> Result<u16, String> {
    origin.rsplit(':').next().and_then(|p| p.parse().ok()).ok_or(format!("no port in {origin}"))
}

/// One of the two Workers, as the load sees it.
struct Target {
    name: &'static str,
    port: u16,
    url: String,
    /// The session cookie (the gateway's), or none (the bare Worker's).
    cookie: Option<String>,
    http: reqwest::Client,
    /// The workerd processes of its `wrangler dev`.
    workerd: Vec<u32>,
    /// Its other processes (wrangler's node).
    others: Vec<u32>,
}

impl Target {
    fn new(
        name: &'static str,
        port: u16,
        cookie: Option<String>,
        http: &reqwest::Client,
    ) -> Result<Self, String> {
        let (workerd, others) = processes_on(port).map_err(|e| format!("{name}: {e}"))?;
        let url = format!("http://127.0.0.1:{port}{PATH}");
        Ok(Self { name, port, url, cookie, http: http.clone(), workerd, others })
    }

    /// `total` requests from `concurrency` tasks, each answered by the
    /// upstream, which must have got exactly these (with the assertion
    /// from the gateway only).
    async fn load(
        &self,
        upstream: &Upstream,
        concurrency: usize,
        total: usize,
    ) -> Result<Report, String> {
        let (seen, asserted) = upstream.counts();
        let report = run(concurrency, total, {
            let (http, url, cookie) = (self.http.clone(), self.url.clone(), self.cookie.clone());
            move |_| {
                let mut request = http.get(&url);
                if let Some(cookie) = &cookie {
                    request = request.header("Cookie", cookie);
                }
                async move { from_upstream(request.send().await.map_err(|e| e.to_string())?).await }
            }
        })
        .await
        .map_err(|e| format!("{}: {e}", self.name))?;
        let (seen_now, asserted_now) = upstream.counts();
        let expected_asserted = if self.cookie.is_some() { total } else { 0 };
        let got = (seen_now - seen, asserted_now - asserted);
        if got != (total as u64, expected_asserted as u64) {
            return Err(format!(
                "{}: the upstream got {} requests, {} with an assertion; expected {total} and \
                 {expected_asserted}",
                self.name, got.0, got.1
            ));
        }
        Ok(report)
    }
}

/// Fails unless `response` is the upstream's answer, read to its end.
async fn from_upstream(response: reqwest::Response) -> Result<(), String> {
    let status = response.status().as_u16();
    let marked = response.headers().contains_key(MARK);
    let location = response.headers().get("location").cloned();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status != 200 || !marked || body.len() != BODY_LEN {
        return Err(format!(
            "not the upstream's answer: {status}, mark {marked}, {} bytes, location {location:?}",
            body.len()
        ));
    }
    Ok(())
}

/// The bare pass-through Worker under its own `wrangler dev`, on a free port.
struct Passthrough {
    port: u16,
    persist: PathBuf,
    process: Option<ProcessGroup>,
}

impl Passthrough {
    /// Starts it forwarding to `upstream` and waits until a request
    /// reaches the upstream through it.
    async fn start(upstream: &str) -> Result<Self, String> {
        let root = workspace_root();
        let port = free_port();
        let inspector = free_port();
        let persist = root.join("target/e2e-state").join(format!("passthrough-{port}"));
        let _ = std::fs::remove_dir_all(&persist);
        let log_path = output_dir().join(format!("wrangler-passthrough-{port}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(root.join("node_modules/.bin/wrangler"));
        // The flags `Wrangler::start` gives ours, so both run alike.
        command
            .current_dir(&root)
            .args(["dev", "--config", PASSTHROUGH_CONFIG])
            .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &inspector.to_string()])
            .arg("--persist-to")
            .arg(&persist)
            .args(["--show-interactive-dev-session=false", "--log-level", "log"])
            .arg("--test-scheduled")
            .arg("--var")
            .arg(format!("UPSTREAM_URL:{upstream}"))
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .stdout(log)
            .stderr(log_err);
        let mut process = ProcessGroup::spawn("wrangler dev (pass-through)", command)
            .map_err(|e| e.to_string())?;
        let url = format!("http://127.0.0.1:{port}{PATH}");
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        loop {
            process.ensure_running().map_err(|e| format!("{e}; see {}", log_path.display()))?;
            if let Ok(response) = http.get(&url).send().await {
                from_upstream(response).await?;
                return Ok(Self { port, persist, process: Some(process) });
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("pass-through not ready in time; see {}", log_path.display()));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops wrangler and removes its state.
    fn stop(mut self) {
        drop(self.process.take());
        let _ = std::fs::remove_dir_all(&self.persist);
    }
}

/// The upstream: 200 and [`BODY_LEN`] bytes for every request, counted.
struct Upstream {
    origin: String,
    seen: Arc<AtomicU64>,
    asserted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    async fn start() -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let (seen, asserted) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let body = Bytes::from(vec![b'x'; BODY_LEN]);
        let task = tokio::spawn({
            let (seen, asserted) = (Arc::clone(&seen), Arc::clone(&asserted));
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (seen, asserted, body) =
                        (Arc::clone(&seen), Arc::clone(&asserted), body.clone());
                    let service = service_fn(move |req: Request<Incoming>| {
                        seen.fetch_add(1, Ordering::Relaxed);
                        if req.headers().contains_key(ASSERTION) {
                            asserted.fetch_add(1, Ordering::Relaxed);
                        }
                        let response = Response::builder()
                            .header("content-type", "text/plain")
                            .header(MARK, "1")
                            .body(Full::new(body.clone()))
                            .unwrap_or_default();
                        async move { Ok::<_, Infallible>(response) }
                    });
                    tokio::spawn(async move {
                        let io = TokioIo::new(stream);
                        let _ = http1::Builder::new().serve_connection(io, service).await;
                    });
                }
            }
        });
        Ok(Self { origin: format!("http://127.0.0.1:{port}"), seen, asserted, task })
    }

    /// Requests so far: all, and those with the gateway's assertion.
    fn counts(&self) -> (u64, u64) {
        (self.seen.load(Ordering::Relaxed), self.asserted.load(Ordering::Relaxed))
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// --- figures -------------------------------------------------------------------

/// CPU ticks spent during one measured run.
struct Cpu {
    workerd: u64,
    others: u64,
    me: u64,
}

/// A run's line: its figures and the CPU it cost.
trait Print {
    fn print(&self, what: &str, cpu: &Cpu, ticks: f64);
}

impl Print for Report {
    fn print(&self, what: &str, cpu: &Cpu, ticks: f64) {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let n = sorted.len();
        println!(
            "{what}: {n} requests: {:.0} req/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, \
             max {:.2} ms; CPU ms/request: workerd {:.3}, wrangler's other processes {:.3}, \
             this process {:.3}",
            rate(n, self.wall),
            ms(quantile(&sorted, 0.5)),
            ms(quantile(&sorted, 0.9)),
            ms(quantile(&sorted, 0.99)),
            ms(quantile(&sorted, 1.0)),
            per_request(cpu.workerd, n, ticks),
            per_request(cpu.others, n, ticks),
            per_request(cpu.me, n, ticks),
        );
    }
}

/// All rounds of one Worker.
#[derive(Default)]
struct Totals {
    wall: Duration,
    latencies: Vec<Duration>,
    workerd: u64,
    others: u64,
    me: u64,
}

impl Totals {
    fn add(&mut self, report: Report, cpu: &Cpu) {
        self.wall += report.wall;
        self.latencies.extend(report.latencies);
        self.workerd += cpu.workerd;
        self.others += cpu.others;
        self.me += cpu.me;
    }
}

/// The figures the table shows, over all rounds.
struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    workerd_ms: f64,
    others_ms: f64,
    me_ms: f64,
}

impl Figures {
    fn of(totals: &Totals, ticks: f64) -> Self {
        let mut sorted = totals.latencies.clone();
        sorted.sort();
        let n = sorted.len();
        Self {
            rps: rate(n, totals.wall),
            p50_ms: ms(quantile(&sorted, 0.5)),
            p99_ms: ms(quantile(&sorted, 0.99)),
            workerd_ms: per_request(totals.workerd, n, ticks),
            others_ms: per_request(totals.others, n, ticks),
            me_ms: per_request(totals.me, n, ticks),
        }
    }
}

fn print_table(
    targets: &[Target; 2],
    totals: &[Totals; 2],
    concurrency: usize,
    requests: usize,
    rounds: usize,
    ticks: f64,
    ticks_known: bool,
) {
    let [bare, gateway] = [Figures::of(&totals[0], ticks), Figures::of(&totals[1], ticks)];
    let ticks_note = if ticks_known { "getconf CLK_TCK" } else { "assumed: getconf failed" };
    println!();
    println!(
        "`GET {PATH}`, concurrency {concurrency}, {requests} requests per Worker and round, \
         {rounds} round(s) (bare, gateway, ...); upstream answers 200 with {BODY_LEN} bytes; \
         CPU: utime + stime at {ticks} ticks/s ({ticks_note})"
    );
    println!();
    println!("| Worker | req/s | p50 ms | p99 ms | workerd CPU ms/request |");
    println!("|---|---|---|---|---|");
    for (target, figures) in targets.iter().zip([&bare, &gateway]) {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.3} |",
            target.name, figures.rps, figures.p50_ms, figures.p99_ms, figures.workerd_ms
        );
    }
    println!();
    println!(
        "gateway req/s ÷ bare req/s: {:.2} (target: at least 0.90); added p50: {:+.2} ms; \
         added p99: {:+.2} ms; added workerd CPU: {:+.3} ms/request",
        gateway.rps / bare.rps,
        gateway.p50_ms - bare.p50_ms,
        gateway.p99_ms - bare.p99_ms,
        gateway.workerd_ms - bare.workerd_ms,
    );
    println!(
        "also sharing the cores, CPU ms/request (bare / gateway): wrangler's other processes \
         {:.3} / {:.3}; this process (load and upstream) {:.3} / {:.3}",
        bare.others_ms, gateway.others_ms, bare.me_ms, gateway.me_ms
    );
}

/// `cpu` clock ticks over `n` requests, in milliseconds per request.
fn per_request(cpu: u64, n: usize, ticks: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let (cpu, n) = (cpu as f64, n as f64);
    cpu / ticks * 1000.0 / n
}
