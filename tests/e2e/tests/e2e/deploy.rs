//! `scripts/deploy.sh` against a stand-in for `wrangler`'s Cloudflare side
//! (`tests/fixtures/wrangler-stand-in.sh`: Cloudflare's API cannot be
//! reached here), the health check against a real Worker under
//! `wrangler dev`.
//!
//! | step | what it checks |
//! |---|---|
//! | signed out | refused, naming `CLOUDFLARE_API_TOKEN` and `wrangler login`, before anything is created |
//! | a fresh account | the database and the two alert queues created and the id in the deploy config (the migrations read it there), the three secrets uploaded with the deployment (the Duo secret from the environment, never on a command line or in the output), the key set written mode 600, the settings as vars, the health check on the URL wrangler names, the redirect URI and the first admin command printed |
//! | a second run | nothing created or uploaded: the database found, every secret present, the same deployment again |
//! | rotations | `rotate-secret.sh session-secret begin` puts a new `SESSION_SECRET_NEXT` (kept mode 600 until `finish`), refuses a second begin, `finish` puts the same value as `SESSION_SECRET`; `gateway-keys` rotates the set in force (the old current key published as previous) |

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use e2e::{TempDir, Wrangler, default_vars, workspace_root};

/// The Duo client secret given in the environment.
const DUO_SECRET: &str = "DeployTestSecretNotForProductionUse0000001";

/// Runs the deploy command with the stand-in; its status and its output.
fn deploy(state: &Path, url: &str) -> (bool, String) {
    let root = workspace_root();
    let output = Command::new("bash")
        .arg(root.join("scripts/deploy.sh"))
        .current_dir(&root)
        .env("WRANGLER", root.join("tests/fixtures/wrangler-stand-in.sh"))
        .env("STAND_IN_STATE", state)
        .env("STAND_IN_URL", url)
        .env("DEPLOY_CONFIG", state.join("wrangler.deploy.toml"))
        .env("DEPLOY_KEYS", state.join("gateway-keys.json"))
        .env("DUO_MODE", "prompt")
        .env("DUO_API_HOST", "api-12345678.duosecurity.com")
        .env("APP_ORIGIN", "https://app.example.com")
        .env("UPSTREAM_URL", "none")
        .env("DUO_CLIENT_ID", "DIDEPLOYTESTCLIENT01")
        .env("DUO_CLIENT_SECRET", DUO_SECRET)
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/deploy.sh");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

fn calls(state: &Path) -> Vec<String> {
    std::fs::read_to_string(state.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_command_deploys_from_a_fresh_account_and_a_second_run_changes_nothing() {
    let worker =
        Wrangler::start(&default_vars("http://localhost")).await.unwrap_or_else(|e| panic!("{e}"));
    let state = TempDir::new("deploy").expect("a state folder");
    let state = state.path();
    let url = worker.origin.clone();

    // Signed out: refused before anything is made.
    let (ok, said) = deploy(state, &url);
    assert!(!ok, "deployed while signed out: {said}");
    assert!(said.contains("CLOUDFLARE_API_TOKEN") && said.contains("wrangler login"), "{said}");
    assert_eq!(calls(state), ["whoami --json"], "nothing else was asked");

    // A fresh account.
    std::fs::write(state.join("signed-in"), "").expect("sign in");
    let (ok, said) = deploy(state, &url);
    assert!(ok, "{said}");
    let made = calls(state);
    assert!(made.iter().any(|c| c.starts_with("d1 create duo-edge-login")), "{made:?}");
    for queue in ["duo-edge-alerts", "duo-edge-alerts-dlq"] {
        let created = made.iter().filter(|c| **c == format!("queues create {queue}")).count();
        assert_eq!(created, 1, "{queue} created once: {made:?}");
    }
    let config = std::fs::read_to_string(state.join("wrangler.deploy.toml")).expect("the config");
    assert!(config.contains("database_id = \"7f0c5c2e-3f4b-4d8e-9a51-0c2d3e4f5a6b\""), "{config}");
    assert!(
        made.iter().any(|c| c.starts_with("d1 migrations apply DB --remote --config")),
        "{made:?}"
    );
    let deployed: Vec<&String> = made.iter().filter(|c| c.starts_with("deploy ")).collect();
    assert_eq!(deployed.len(), 1, "{made:?}");
    for var in [
        "--var DUO_MODE:prompt",
        "--var DUO_API_HOST:api-12345678.duosecurity.com",
        "--var APP_ORIGIN:https://app.example.com",
        "--var UPSTREAM_URL:none",
        "--var DUO_CLIENT_ID:DIDEPLOYTESTCLIENT01",
        "--secrets-file",
    ] {
        assert!(deployed[0].contains(var), "{var} in {}", deployed[0]);
    }
    let mut secrets: Vec<String> = std::fs::read_to_string(state.join("secrets"))
        .expect("uploaded secrets")
        .lines()
        .map(str::to_owned)
        .collect();
    secrets.sort();
    assert_eq!(secrets, ["DUO_CLIENT_SECRET", "GATEWAY_KEYS", "SESSION_SECRET"]);
    let keys = std::fs::metadata(state.join("gateway-keys.json")).expect("the key set");
    assert_eq!(keys.permissions().mode() & 0o777, 0o600, "the key set is the operator's only");
    assert!(said.contains("\"status\":\"ok\""), "the health check: {said}");
    assert!(said.contains("https://app.example.com/_login/auth/duo/callback"), "{said}");
    assert!(said.contains("scripts/user.sh add admin --bypass --admin --remote"), "{said}");
    let log = std::fs::read_to_string(state.join("calls.log")).expect("calls");
    assert!(!log.contains(DUO_SECRET) && !said.contains(DUO_SECRET), "the Duo secret leaked");

    // Again: everything is there.
    let before = calls(state).len();
    let (ok, said) = deploy(state, &url);
    assert!(ok, "{said}");
    let again = &calls(state)[before..];
    assert!(!again.iter().any(|c| c.starts_with("d1 create")), "{again:?}");
    assert!(!again.iter().any(|c| c.starts_with("queues create")), "{again:?}");
    let redeployed: Vec<&String> = again.iter().filter(|c| c.starts_with("deploy ")).collect();
    assert_eq!(redeployed.len(), 1, "{again:?}");
    assert!(!redeployed[0].contains("--secrets-file"), "nothing uploaded: {}", redeployed[0]);
    assert!(said.contains("found: 7f0c5c2e"), "{said}");
    for name in ["SESSION_SECRET", "GATEWAY_KEYS", "DUO_CLIENT_SECRET"] {
        assert!(said.contains(&format!("{name}: set")), "{name}: {said}");
    }
    rotations(state);
    worker.assert_clean_log(&[DUO_SECRET]);
}

/// `scripts/rotate-secret.sh`, with the same stand-in and files.
fn rotations(state: &Path) {
    let rotate = |args: &[&str]| {
        let root = workspace_root();
        let output = Command::new("bash")
            .arg(root.join("scripts/rotate-secret.sh"))
            .args(args)
            .current_dir(&root)
            .env("WRANGLER", root.join("tests/fixtures/wrangler-stand-in.sh"))
            .env("STAND_IN_STATE", state)
            .env("DEPLOY_CONFIG", state.join("wrangler.deploy.toml"))
            .env("DEPLOY_KEYS", state.join("gateway-keys.json"))
            .env("ROTATION_FILE", state.join("session-secret.next"))
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/rotate-secret.sh");
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), said)
    };
    let value = |name: &str| std::fs::read_to_string(state.join("values").join(name)).ok();
    let (ok, said) = rotate(&["session-secret", "begin"]);
    assert!(ok, "{said}");
    assert!(calls(state).iter().any(|c| c.starts_with("secret put SESSION_SECRET_NEXT --config")));
    let kept = std::fs::metadata(state.join("session-secret.next")).expect("the new value, kept");
    assert_eq!(kept.permissions().mode() & 0o777, 0o600);
    let (ok, said) = rotate(&["session-secret", "begin"]);
    assert!(!ok && said.contains("a rotation is under way"), "{said}");
    let (ok, said) = rotate(&["session-secret", "finish"]);
    assert!(ok, "{said}");
    assert!(value("SESSION_SECRET").is_some(), "put");
    assert_eq!(value("SESSION_SECRET"), value("SESSION_SECRET_NEXT"), "the value begun with");
    assert!(!state.join("session-secret.next").exists(), "not kept after the rotation");

    let keys = |file: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(state.join(file)).expect("a key set"))
            .expect("JSON")
    };
    let before = keys("gateway-keys.json");
    let (ok, said) = rotate(&["gateway-keys"]);
    assert!(ok, "{said}");
    let after = keys("gateway-keys.json");
    assert_eq!(after["previous"]["kid"], before["current"]["kid"], "the old key stays published");
    assert_eq!(after["current"]["kid"], before["next"]["kid"], "the next key signs");
    assert!(after["previous"].get("d").is_none(), "no private part kept for previous");
    assert!(calls(state).iter().any(|c| c.starts_with("secret put GATEWAY_KEYS --config")));
}
