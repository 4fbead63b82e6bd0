//! The flood filter's benchmark (issue #27): workerd's CPU time per guess
//! refused, with Cloudflare's Rate Limiting in front of the password step
//! (`FLOOD_SIGN_IN`, as `wrangler.toml` has it) and without it (the same
//! Worker from a copy of `wrangler.toml` without `[[ratelimits]]`), both
//! under `wrangler dev` (workerd) on loopback.
//!
//! ```sh
//! npm ci && source scripts/env.sh && scripts/build-app.sh && scripts/build-worker.sh
//! SKIP_WORKER_BUILD=1 cargo run -p e2e --example flood_load -- [GUESSES]
//! ```
//!
//! Each Worker first takes [`WARM_UP`] guesses from one address, enough to
//! put the address over every limit (the filter's 100 in 10 s, the exact
//! limit's 20 per 15 minutes in D1); then `GUESSES` more (default 1000, one
//! at a time, wrong passwords for a real user) are measured: workerd's
//! utime + stime (every workerd process in that `wrangler dev`'s process
//! group, from `/proc/PID/stat`) over the guesses. With the filter each is
//! refused by the binding before anything else; without it, by the exact
//! limit in D1 (a read and a counter write; no password hash, since the
//! count is checked first). A measurement, not a test: it fails only when
//! a measured guess is not refused with 429.

// A native tool measuring wall time: the wasm32 clock rule does not apply.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::time::Instant;

use e2e::procs::{clock_ticks, cpu_of, wrangler_processes};
use e2e::{Wrangler, default_vars, workspace_root};
use shared::api::routes;

const APP_ORIGIN: &str = "http://localhost:8787";
/// Guesses before measuring: past the filter's 100 and the exact limit's 20.
const WARM_UP: usize = 120;
const FLOODER: &str = "198.51.100.66";

/// The copy of `wrangler.toml` without the flood filter, next to it (its
/// paths are relative to its own folder).
const UNFILTERED: &str = "wrangler.unfiltered.toml";

#[tokio::main]
async fn main() -> Result<(), String> {
    let guesses: usize = std::env::args()
        .nth(1)
        .map_or(Ok(1000), |n| n.parse())
        .map_err(|e| format!("GUESSES: {e}"))?;
    let root = workspace_root();
    let config = std::fs::read_to_string(root.join("wrangler.toml")).map_err(|e| e.to_string())?;
    let unfiltered = config.split("\n[[ratelimits]]").next().unwrap_or(&config).to_owned();
    std::fs::write(root.join(UNFILTERED), unfiltered).map_err(|e| e.to_string())?;
    let (ticks, read) = clock_ticks();
    if !read {
        println!("(getconf CLK_TCK unreadable: 100 ticks a second assumed)");
    }
    let vars = default_vars(APP_ORIGIN);
    let filtered = Wrangler::start(&vars).await?;
    let with = measure("with the filter", &filtered, guesses, ticks).await;
    drop(filtered);
    let bare = Wrangler::start_config(Path::new(UNFILTERED), &vars).await;
    let _ = std::fs::remove_file(root.join(UNFILTERED));
    let bare = bare?;
    let without = measure("without it", &bare, guesses, ticks).await;
    let (with, without) = (with?, without?);
    println!(
        "workerd CPU per refused guess: {with:.3} ms with the filter, {without:.3} ms without \
         (the exact limit in D1): {:.1} times less",
        without / with.max(f64::EPSILON)
    );
    Ok(())
}

/// workerd's CPU milliseconds per guess refused, over `guesses` after the warm-up.
async fn measure(name: &str, worker: &Wrangler, guesses: usize, ticks: f64) -> Result<f64, String> {
    let http = reqwest::Client::new();
    let guess = || {
        http.post(worker.url(routes::LOGIN))
            .header("Origin", APP_ORIGIN)
            .header("CF-Connecting-IP", FLOODER)
            .json(&serde_json::json!({ "username": "alice", "password": "a wrong guess" }))
            .send()
    };
    for _ in 0..WARM_UP {
        guess().await.map_err(|e| e.to_string())?;
    }
    let (workerd, _) = wrangler_processes(worker)?;
    let before = cpu_of(&workerd)?;
    let started = Instant::now();
    for n in 0..guesses {
        let status = guess().await.map_err(|e| e.to_string())?.status().as_u16();
        if status != 429 {
            return Err(format!("{name}: guess {n} answered {status}, not 429"));
        }
    }
    let wall = started.elapsed();
    let spent = cpu_of(&workerd)?.saturating_sub(before);
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let per = spent as f64 * 1000.0 / ticks / guesses as f64;
    println!(
        "{name}: {guesses} guesses refused in {:.1} s; workerd CPU {per:.3} ms per guess",
        wall.as_secs_f64()
    );
    Ok(per)
}
