//! What the load examples (`examples/duo_load.rs`, `examples/gateway_load.rs`)
//! share: many requests from a fixed number of tasks, their latencies, and
//! the figures read from them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// One measured run: its wall time and each request's latency.
#[derive(Debug, Default)]
pub struct Report {
    /// From the first request's start to the last one's end.
    pub wall: Duration,
    /// Each request's, in the order they finished per task.
    pub latencies: Vec<Duration>,
}

/// Runs `request(i)` for i in 0..total from `concurrency` tasks; every
/// request must succeed.
///
/// # Errors
/// The first request's error, or a task that failed.
pub async fn run<F, Fut>(concurrency: usize, total: usize, request: F) -> Result<Report, String>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let next = Arc::clone(&next);
        let request = request.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(latencies);
                }
                let t = Instant::now();
                request(i).await?;
                latencies.push(t.elapsed());
            }
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.map_err(|e| e.to_string())??);
    }
    Ok(Report { wall: started.elapsed(), latencies })
}

/// Nearest-rank quantile `q` of `sorted` (not empty).
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `n` requests over `wall`, per second.
pub fn rate(n: usize, wall: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    n / wall.as_secs_f64()
}

/// In milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
