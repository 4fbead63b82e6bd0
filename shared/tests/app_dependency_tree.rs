//! The SPA (`app`) must never link the Duo client's crypto: no JWT, HMAC or hash crate, and
//! `shared` without its `duo` feature. Native only: it runs `cargo tree`.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use std::process::Command;

/// Crates that would mean JWT/HMAC code (or the client secret's handling) reached the SPA.
const FORBIDDEN: &[&str] = &[
    "hmac",
    "sha1",
    "sha2",
    "digest",
    "subtle",
    "zeroize",
    "jsonwebtoken",
    "jwt-simple",
    "jwt-compact",
    "ring",
    "aws-lc-rs",
    "ureq",
];

#[test]
fn app_dependency_tree_has_no_jwt_or_hmac_crate() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !workspace.join("app/Cargo.toml").exists() {
        eprintln!("no app crate yet; nothing to check");
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    // `no-proc-macro`: a proc macro's own dependencies run at build time on the host, they
    // are not linked into the SPA.
    let output = Command::new(cargo)
        .current_dir(&workspace)
        .args(["tree", "-p", "app", "-e", "normal,no-proc-macro"])
        .args(["--target", "wasm32-unknown-unknown", "--prefix", "none"])
        .args(["--format", "{p} [{f}]"])
        .output()
        .expect("cargo tree runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let crates: Vec<(&str, &str)> = stdout
        .lines()
        .filter_map(|line| {
            let name = line.split_whitespace().next()?;
            let features = line.rsplit_once('[').map_or("", |(_, f)| f.trim_end_matches(']'));
            Some((name, features))
        })
        .collect();
    assert!(crates.iter().any(|(name, _)| *name == "app"), "unexpected output: {stdout}");
    for (name, _) in &crates {
        assert!(!FORBIDDEN.contains(name), "`app` depends on `{name}`:\n{stdout}");
    }
    for (name, features) in crates.iter().filter(|(name, _)| *name == "shared") {
        assert!(
            !features.split(',').any(|f| f == "duo"),
            "`app` enables `{name}` features [{features}]"
        );
    }
}
