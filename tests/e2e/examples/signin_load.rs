//! Benchmark of whole sign-ins: `USERS` distinct users sign in at once,
//! `ROUNDS` times over, each through every step (password, Duo start, the
//! emulator approving a push, callback, session check; `e2e::signin`),
//! against the real Worker under `wrangler dev` and the Duo emulator on
//! loopback. Prints sign-ins per second and latency percentiles, and fails
//! on any error or any session naming another user.
//!
//! ```sh
//! npm ci && source scripts/env.sh && scripts/build-app.sh && scripts/build-worker.sh
//! SKIP_WORKER_BUILD=1 cargo run -p e2e --example signin_load -- [USERS] [ROUNDS]
//! # e.g. 50 users, 10 rounds:
//! SKIP_WORKER_BUILD=1 cargo run -p e2e --example signin_load -- 50 10
//! ```
//!
//! The end-to-end test `load::fifty_users_signing_in_at_once_each_get_their_own_session`
//! is one round of this.

// A native tool measuring wall time: the wasm32 clock rule does not apply.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::signin::Cast;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let users = args.next().transpose().map_err(|e| e.to_string())?.unwrap_or(50);
    let rounds = args.next().transpose().map_err(|e| e.to_string())?.unwrap_or(10);
    if users == 0 || rounds == 0 || users > 50_000 {
        return Err("USERS (1 to 50000) and ROUNDS must be at least 1".into());
    }
    let cast = Arc::new(Cast::start(users).await?);
    // One unmeasured round: the isolate's first health check, JIT warm-up.
    round(&cast).await?;

    let mut took = Vec::with_capacity(users * rounds);
    let started = Instant::now();
    for _ in 0..rounds {
        took.extend(round(&cast).await?);
    }
    let elapsed = started.elapsed();
    took.sort_unstable();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((took.len() - 1) as f64 * q).round() as usize;
        format!("{} ms", took[i].as_millis())
    };
    #[allow(clippy::cast_precision_loss)]
    let rate = took.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{} sign-ins ({users} users at once, {rounds} rounds) in {:.1} s: {rate:.1} sign-ins/s; \
         latency p50 {}, p90 {}, p99 {}, max {}; 0 errors, 0 mix-ups",
        took.len(),
        elapsed.as_secs_f64(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
    );
    cast.worker.assert_clean_log(&[]);
    Ok(())
}

/// Every user signs in once, all at the same time; each one's latency.
async fn round(cast: &Arc<Cast>) -> Result<Vec<Duration>, String> {
    let mut sign_ins = tokio::task::JoinSet::new();
    for (n, user) in cast.users.iter().enumerate() {
        let (cast, user) = (Arc::clone(cast), user.clone());
        let ip = format!("198.18.{}.{}", n / 200, 1 + n % 200);
        sign_ins.spawn(async move {
            let done = cast.sign_in(&user, &ip).await?;
            if done.session.username == user {
                Ok(done.took)
            } else {
                Err(format!("{user} got a session of {}", done.session.username))
            }
        });
    }
    let mut took = Vec::new();
    while let Some(joined) = sign_ins.join_next().await {
        took.push(joined.map_err(|e| e.to_string())??);
    }
    Ok(took)
}
