//! The store ports' conformance suites (`edge_core::conformance`) over the
//! Worker's real D1 store: the test Worker `tests/store-conformance` under
//! `wrangler dev`, on a database fresh from the migrations (and the demo
//! seed), runs every case and answers the verdicts. The same cases run over
//! the in-memory store natively (`edge-core`, `flow::tests::store_conformance`),
//! so the store the fast tests use cannot drift from the one deployed.

use std::path::Path;

use e2e::Wrangler;
use edge_core::conformance::{CASES, Verdict};

#[tokio::test(flavor = "multi_thread")]
async fn the_d1_store_passes_every_case() {
    let config = Path::new("tests/store-conformance/wrangler.toml");
    let worker = Wrangler::start_config(config, &[]).await.unwrap_or_else(|e| panic!("{e}"));
    let response = reqwest::get(worker.app_url("/run")).await.expect("GET /run");
    let status = response.status();
    let body = response.text().await.expect("the verdicts");
    assert_eq!(status.as_u16(), 200, "{body}\n{}", worker.log());
    let verdicts: Vec<Verdict> = serde_json::from_str(&body).expect("verdicts as JSON");
    let names: Vec<(&str, &str)> =
        verdicts.iter().map(|v| (v.port.as_str(), v.case.as_str())).collect();
    assert_eq!(names, CASES, "every case ran, in order");
    let failures: Vec<String> = verdicts
        .iter()
        .filter_map(|v| v.failure.as_ref().map(|why| format!("{}::{}: {why}", v.port, v.case)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed on D1:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
