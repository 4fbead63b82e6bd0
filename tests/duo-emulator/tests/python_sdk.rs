//! Conformance with Duo's official Python SDK (`duo_universal` 2.3.1 from `PyPI`): runs
//! `conformance/run.sh` against this crate's binary in TLS mode. The script creates a venv
//! (`<repo>/target/py-venv`, or `DUO_EMULATOR_VENV`) and pip-installs the SDK when missing.
//! Set `DUO_EMULATOR_SKIP_PYTHON=1` to skip (e.g. on a machine without python3 or `PyPI`).

use std::path::Path;
use std::process::Command;

#[test]
fn duo_python_sdk_accepts_the_emulator_over_tls() {
    if std::env::var_os("DUO_EMULATOR_SKIP_PYTHON").is_some() {
        eprintln!("skipped: DUO_EMULATOR_SKIP_PYTHON is set");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/run.sh");
    let output = Command::new("bash")
        .arg(&script)
        .env("DUO_EMULATOR_BIN", env!("CARGO_BIN_EXE_duo-emulator"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "Python SDK conformance failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("0 failure(s)"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with("FAIL ")), "{stdout}");
}
