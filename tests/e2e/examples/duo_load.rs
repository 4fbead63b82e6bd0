//! Load generator for the Worker's Duo step: requests per second and latency
//! of `POST /auth/duo/start` and `GET /auth/duo/callback` under a fixed
//! concurrency, for two Workers in one run, each under its own `wrangler dev`
//! (workerd, its own local D1 with the same migrations and demo users) against
//! the same Duo emulator started in-process, all on loopback:
//!
//! - ours: the product (`edge/`, Rust compiled to wasm);
//! - the reference: `benches/reference-worker/`, the same work per request in
//!   plain JavaScript with `jose` and `WebCrypto` (see its README.md), there only
//!   to compare with.
//!
//! ```sh
//! npm ci && source scripts/env.sh && scripts/build-app.sh && scripts/build-worker.sh
//! SKIP_WORKER_BUILD=1 cargo run -p e2e --example duo_load -- [CONCURRENCY] [STARTS] [CALLBACKS]
//! # e.g. concurrency 8, 400 starts and 150 callbacks per Worker:
//! SKIP_WORKER_BUILD=1 cargo run -p e2e --example duo_load -- 8 400 150
//! ```
//!
//! It prints one line per endpoint and Worker (requests per second, p50, p90,
//! p99 and max latency), then a table of req/s, p50 and p99 for both with the
//! ratio ours / reference (a req/s ratio below 1, or a latency ratio above 1,
//! means ours is slower). The Workers run one after the other, ours first, at
//! the same concurrency; each gets 20 unmeasured warm-up requests per endpoint.
//!
//! A password login on ours makes the login cookie the starts reuse (the
//! reference reads the product's ticket format with the same `SESSION_SECRET`,
//! so the same cookie serves both; a fresh login precedes each Worker's run).
//! Every start verifies the ticket, reads the user, uses the isolate's cached
//! health check, seals a fresh state and nonce into a new cookie and writes an
//! audit row. For the callbacks, each state is prepared first (start, then the
//! emulator's authorize endpoint with a scripted approve, which redirects back
//! with a code); only the callbacks themselves are timed: each one spends its
//! state in D1, exchanges the code with the emulator over HTTP, verifies the
//! `id_token` and writes the session and the audit event. After the timed
//! callbacks, one of them is replayed (untimed) and must be refused as the
//! contract says (`/?error=state_mismatch`), so neither Worker skips the
//! single-use check.
//! A measurement, not a test: it prints figures and fails only if a request
//! gets an answer other than the contract's success.
//!
//! With a fourth argument `inline`, it measures the inline mode instead
//! (`DUO_MODE=inline`, ours only: the reference has no inline mode):
//! `POST /api/duo/inline/start` (a push on alice's iPhone: the ticket
//! verified, the Duo-step counter and the user read in one D1 batch, Duo's
//! `auth` signed and sent, the ticket re-sealed with the txid, an audit
//! row), then `POST /api/duo/inline/status` on as many prepared pushes,
//! each already approved by a scripted outcome (Duo's `auth_status` signed
//! and sent, the txid spent in D1, the session and its audit row written).
//!
//! ```sh
//! SKIP_WORKER_BUILD=1 cargo run -p e2e --example duo_load -- 8 400 150 inline
//! ```

// A native tool measuring wall time: the wasm32 clock rule does not apply.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::sync::Arc;

use duo_emulator::Emulator;
use e2e::load::{Report, ms, quantile, rate, run};
use e2e::{Wrangler, cookie_value, default_vars, set_cookie};
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::json;
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
const LOGIN_COOKIE: &str = "__Host-login";
const SESSION_COOKIE: &str = "__Host-session";
const WARM_UP: usize = 20;
/// The reference Worker's wrangler configuration, from the workspace root.
const REFERENCE_CONFIG: &str = "benches/reference-worker/wrangler.toml";

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let concurrency = args.next().transpose().map_err(|e| e.to_string())?.unwrap_or(8);
    let starts = args.next().transpose().map_err(|e| e.to_string())?.unwrap_or(1000);
    let callbacks = args.next().transpose().map_err(|e| e.to_string())?.unwrap_or(300);
    if concurrency == 0 || starts == 0 || callbacks == 0 {
        return Err("concurrency and counts must be at least 1".into());
    }
    let inline = std::env::args().nth(4).is_some_and(|mode| mode == "inline");

    let emulator = Emulator::start(duo_emulator::Config {
        listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        // Codes stay valid while all the callbacks are prepared.
        code_ttl_seconds: 3600,
        ..duo_emulator::Config::default()
    })
    .await
    .map_err(|e| format!("emulator: {e}"))?;
    // Both Workers get the same settings: same Duo client, same emulator, and
    // the same SESSION_SECRET, so a login ticket made by ours opens in both.
    let mut vars = default_vars(APP_ORIGIN);
    vars.retain(|(name, _)| name != "DUO_API_HOST");
    vars.push(("DUO_API_HOST".into(), emulator.local_addr().to_string()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    if inline {
        return measure_inline(&emulator, vars, http, concurrency, starts, callbacks).await;
    }
    let ours = Arc::new(Bed { worker: Wrangler::start(&vars).await?, http: http.clone() });
    let reference = Arc::new(Bed {
        worker: Wrangler::start_config(Path::new(REFERENCE_CONFIG), &vars).await?,
        http: http.clone(),
    });
    let workers = [("ours", &ours), ("reference", &reference)];

    let mut start_figures = Vec::new();
    for (name, bed) in workers {
        // A fresh password login (on ours: the reference has no login
        // route and reads the same ticket) for each Worker's run, well
        // inside the ticket's five minutes.
        let login = ours.login("alice").await?;
        let report = measure_starts(bed, &login, concurrency, starts).await?;
        start_figures.push(report.print(&format!("POST /auth/duo/start, {name}"), concurrency));
    }
    let mut callback_figures = Vec::new();
    for (name, bed) in workers {
        let login = ours.login("alice").await?;
        let script = json!({"user": "alice", "outcome": "approve", "times": callbacks + WARM_UP});
        let response = http
            .post(format!("{}/__emulator/script", emulator.base_url()))
            .json(&script)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("scripting the emulator: {}", response.status()));
        }
        let report = measure_callbacks(bed, &login, concurrency, callbacks).await?;
        callback_figures
            .push(report.print(&format!("GET /auth/duo/callback, {name}"), concurrency));
    }
    print_table(concurrency, &start_figures, &callback_figures);
    Ok(())
}

/// The inline mode: pushes started, then followed to a session.
async fn measure_inline(
    emulator: &Emulator,
    mut vars: Vec<(String, String)>,
    http: reqwest::Client,
    concurrency: usize,
    starts: usize,
    follows: usize,
) -> Result<(), String> {
    let inline = [
        ("DUO_MODE", "inline"),
        ("DUO_IKEY", duo_emulator::auth_api::DEV_IKEY),
        ("DUO_SKEY", duo_emulator::auth_api::DEV_SKEY),
    ];
    vars.retain(|(name, _)| !inline.iter().any(|(n, _)| n == name));
    vars.extend(inline.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let bed = Arc::new(Bed { worker: Wrangler::start(&vars).await?, http: http.clone() });
    let (login, iphone) = bed.inline_login("alice").await?;
    let script =
        json!({"user": "alice", "outcome": "approve", "times": starts + follows + 2 * WARM_UP});
    let response = http
        .post(format!("{}/__emulator/script", emulator.base_url()))
        .json(&script)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("scripting the emulator: {}", response.status()));
    }
    let start = {
        let (bed, login, iphone) = (Arc::clone(&bed), login.clone(), iphone.clone());
        move |_| {
            let (bed, login, iphone) = (Arc::clone(&bed), login.clone(), iphone.clone());
            async move { bed.inline_start(&login, &iphone).await.map(drop) }
        }
    };
    run(concurrency, WARM_UP, start.clone()).await?;
    run(concurrency, starts, start)
        .await?
        .print("POST /api/duo/inline/start (push), ours", concurrency);

    let mut bound = Vec::with_capacity(follows + WARM_UP);
    for _ in 0..follows + WARM_UP {
        bound.push(bed.inline_start(&login, &iphone).await?);
    }
    let bound = Arc::new(bound);
    let follow = |offset: usize| {
        let (bed, bound) = (Arc::clone(&bed), Arc::clone(&bound));
        move |i: usize| {
            let (bed, bound) = (Arc::clone(&bed), Arc::clone(&bound));
            async move { bed.inline_done(&bound[offset + i]).await }
        }
    };
    run(concurrency, WARM_UP, follow(0)).await?;
    run(concurrency, follows, follow(WARM_UP))
        .await?
        .print("POST /api/duo/inline/status (approved: session), ours", concurrency);
    Ok(())
}

/// `POST /auth/duo/start`, all with the same login cookie.
async fn measure_starts(
    bed: &Arc<Bed>,
    login: &str,
    concurrency: usize,
    starts: usize,
) -> Result<Report, String> {
    for _ in 0..WARM_UP {
        bed.start(login).await?;
    }
    let login = login.to_owned();
    run(concurrency, starts, {
        let bed = Arc::clone(bed);
        move |_| {
            let bed = Arc::clone(&bed);
            let login = login.clone();
            async move { bed.start(&login).await.map(drop) }
        }
    })
    .await
}

/// `GET /auth/duo/callback`: prepares the states and codes (the emulator
/// must be scripted to approve them), then times the callbacks.
async fn measure_callbacks(
    bed: &Arc<Bed>,
    login: &str,
    concurrency: usize,
    callbacks: usize,
) -> Result<Report, String> {
    let mut prepared = Vec::with_capacity(callbacks + WARM_UP);
    for _ in 0..callbacks + WARM_UP {
        prepared.push(bed.prepare_callback(login).await?);
    }
    for (path, cookie) in prepared.drain(..WARM_UP) {
        bed.callback(&path, &cookie).await?;
    }
    let prepared = Arc::new(prepared);
    let report = run(concurrency, callbacks, {
        let bed = Arc::clone(bed);
        let prepared = Arc::clone(&prepared);
        move |i| {
            let bed = Arc::clone(&bed);
            let prepared = Arc::clone(&prepared);
            async move {
                let (path, cookie) = &prepared[i];
                bed.callback(path, cookie).await
            }
        }
    })
    .await?;
    // Untimed: a replayed callback must be refused (the state was spent in
    // D1), or the Worker skipped work the comparison counts on.
    let (path, cookie) = &prepared[0];
    bed.replay(path, cookie).await?;
    Ok(report)
}

/// Both Workers side by side, with the ratio ours / reference.
fn print_table(concurrency: usize, starts: &[Figures], callbacks: &[Figures]) {
    println!();
    println!("concurrency {concurrency}; ratio = ours / reference");
    println!(
        "{:<24} {:>14} {:>14} {:>8} {:>13} {:>13} {:>8} {:>13} {:>13} {:>8}",
        "endpoint",
        "ours req/s",
        "ref req/s",
        "ratio",
        "ours p50 ms",
        "ref p50 ms",
        "ratio",
        "ours p99 ms",
        "ref p99 ms",
        "ratio"
    );
    for (what, figures) in [("POST /auth/duo/start", starts), ("GET /auth/duo/callback", callbacks)]
    {
        let (o, r) = (&figures[0], &figures[1]);
        println!(
            "{what:<24} {:>14.0} {:>14.0} {:>8.2} {:>13.1} {:>13.1} {:>8.2} {:>13.1} {:>13.1} {:>8.2}",
            o.rps,
            r.rps,
            o.rps / r.rps,
            o.p50_ms,
            r.p50_ms,
            o.p50_ms / r.p50_ms,
            o.p99_ms,
            r.p99_ms,
            o.p99_ms / r.p99_ms,
        );
    }
}

struct Bed {
    worker: Wrangler,
    http: reqwest::Client,
}

impl Bed {
    async fn login(&self, username: &str) -> Result<String, String> {
        let body = json!({"username": username, "password": format!("{username}-demo-pass")});
        let response = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().as_u16() != 200 {
            return Err(format!("login: {}", response.status()));
        }
        set_cookie(response.headers(), LOGIN_COOKIE)
            .map(|c| cookie_value(&c))
            .ok_or_else(|| "login: no cookie".into())
    }

    /// One start: the authorize URL and the re-sealed login cookie.
    async fn start(&self, login: &str) -> Result<(String, String), String> {
        let response = self
            .http
            .post(self.worker.url(routes::DUO_START))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Cookie", format!("{LOGIN_COOKIE}={login}"))
            .body("")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let location = location(response.headers());
        if response.status().as_u16() != 303 || location.starts_with('/') {
            return Err(format!("start: {} to {location}", response.status()));
        }
        let sealed = set_cookie(response.headers(), LOGIN_COOKIE).ok_or("start: no cookie")?;
        let sealed = cookie_value(&sealed);
        Ok((location, sealed))
    }

    /// A start, then Duo: the callback's path and query, and its cookie.
    async fn prepare_callback(&self, login: &str) -> Result<(String, String), String> {
        let (authorize, sealed) = self.start(login).await?;
        let response = self.http.get(&authorize).send().await.map_err(|e| e.to_string())?;
        let back = location(response.headers());
        let path = back
            .strip_prefix(APP_ORIGIN)
            .and_then(|path| path.strip_prefix(shared::api::routes::PREFIX))
            .ok_or_else(|| format!("Duo sent {back}"))?;
        Ok((path.to_owned(), sealed))
    }

    /// Inline mode: the login cookie and alice's first device's id.
    async fn inline_login(&self, username: &str) -> Result<(String, String), String> {
        let body = json!({"username": username, "password": format!("{username}-demo-pass")});
        let response = self
            .http
            .post(self.worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let cookie = set_cookie(response.headers(), LOGIN_COOKIE).map(|c| cookie_value(&c));
        let answer: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        let device = answer["devices"][0]["id"].as_str().map(str::to_owned);
        cookie.zip(device).ok_or_else(|| format!("inline login: {answer}"))
    }

    /// Inline mode: a push started; the re-sealed cookie following it.
    async fn inline_start(&self, login: &str, device: &str) -> Result<String, String> {
        let response = self
            .http
            .post(self.worker.url(routes::DUO_INLINE_START))
            .header("Origin", APP_ORIGIN)
            .header("Content-Type", "application/json")
            .header("Cookie", format!("{LOGIN_COOKIE}={login}"))
            .body(json!({"method": "push", "device": device}).to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let cookie = set_cookie(response.headers(), LOGIN_COOKIE).map(|c| cookie_value(&c));
        cookie.filter(|_| status.as_u16() == 200).ok_or_else(|| format!("inline start: {status}"))
    }

    /// Inline mode: the status of an approved push is a session.
    async fn inline_done(&self, bound: &str) -> Result<(), String> {
        let response = self
            .http
            .post(self.worker.url(routes::DUO_INLINE_STATUS))
            .header("Origin", APP_ORIGIN)
            .header("Cookie", format!("{LOGIN_COOKIE}={bound}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().as_u16() != 200
            || set_cookie(response.headers(), SESSION_COOKIE).is_none()
        {
            return Err(format!("inline status: {}", response.status()));
        }
        Ok(())
    }

    /// `GET` Duo's redirect back (`path`) with the login cookie `login`.
    async fn send_callback(&self, path: &str, login: &str) -> Result<reqwest::Response, String> {
        self.http
            .get(self.worker.url(path))
            .header("Cookie", format!("{LOGIN_COOKIE}={login}"))
            .send()
            .await
            .map_err(|e| e.to_string())
    }

    async fn callback(&self, path: &str, login: &str) -> Result<(), String> {
        let response = self.send_callback(path, login).await?;
        let location = location(response.headers());
        if response.status().as_u16() != 303
            || location != shared::api::routes::at(shared::api::routes::PAGE)
            || set_cookie(response.headers(), SESSION_COOKIE).is_none()
        {
            return Err(format!("callback: {} to {location}", response.status()));
        }
        Ok(())
    }

    /// A callback already answered once: the contract's answer is
    /// `/?error=state_mismatch`.
    async fn replay(&self, path: &str, login: &str) -> Result<(), String> {
        let response = self.send_callback(path, login).await?;
        let location = location(response.headers());
        if response.status().as_u16() != 303
            || location
                != format!(
                    "{}?error=state_mismatch",
                    shared::api::routes::at(shared::api::routes::PAGE)
                )
        {
            return Err(format!("replayed callback: {} to {location}", response.status()));
        }
        Ok(())
    }
}

fn location(headers: &HeaderMap) -> String {
    headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// The figures the comparison table shows.
struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// A run's line, and its figures for the table.
trait Print {
    fn print(self, what: &str, concurrency: usize) -> Figures;
}

impl Print for Report {
    fn print(mut self, what: &str, concurrency: usize) -> Figures {
        self.latencies.sort();
        let n = self.latencies.len();
        let at = |q: f64| quantile(&self.latencies, q);
        let rps = rate(n, self.wall);
        println!(
            "{what}: {n} requests, concurrency {concurrency}: {rps:.0} req/s; latency p50 {:.1} ms, \
             p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(at(0.5)),
            ms(at(0.9)),
            ms(at(0.99)),
            ms(at(1.0)),
        );
        Figures { rps, p50_ms: ms(at(0.5)), p99_ms: ms(at(0.99)) }
    }
}
