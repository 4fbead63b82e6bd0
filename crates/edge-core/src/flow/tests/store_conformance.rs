//! The store ports' conformance suites ([`crate::conformance`]) over the
//! in-memory store: the same cases the Worker's D1 store passes under
//! `wrangler dev` (the end-to-end test `store_conformance`).

use crate::conformance::{CASES, run};
use crate::flow::testing::{MemoryStore, NOW, block_on};

#[test]
fn the_memory_store_passes_every_case() {
    let verdicts = block_on(run(&MemoryStore::default(), NOW));
    let names: Vec<(&str, &str)> =
        verdicts.iter().map(|v| (v.port.as_str(), v.case.as_str())).collect();
    assert_eq!(names, CASES, "every case ran, in order");
    let failures: Vec<String> = verdicts
        .iter()
        .filter_map(|v| v.failure.as_ref().map(|why| format!("{}::{}: {why}", v.port, v.case)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}
