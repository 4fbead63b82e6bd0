//! `scripts/gateway-keys.mjs` (Node's `WebCrypto`) makes key sets the Worker
//! reads (`edge_core::gateway::signing`), and its rotation moves each key
//! one role on without losing a published one.

use std::io::Write as _;
use std::process::{Command, Stdio};

use e2e::workspace_root;
use edge_core::gateway::signing::SigningKeys;

fn keys(args: &[&str], input: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("node")
        .arg(workspace_root().join("scripts/gateway-keys.mjs"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("node: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("stdin")?;
    stdin.write_all(input.unwrap_or_default().as_bytes()).map_err(|e| e.to_string())?;
    drop(stdin);
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() {
        String::from_utf8(output.stdout).map_err(|e| e.to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn a_new_set_is_read_and_a_rotation_keeps_every_published_key() {
    let first = keys(&["new"], None).expect("a new set");
    let read = SigningKeys::parse(first.trim()).expect("the Worker reads it");
    let before: Vec<String> = read.jwks().keys.into_iter().map(|k| k.kid).collect();
    assert_eq!(before.len(), 2, "current and next are published");

    let rotated = keys(&["rotate"], Some(&first)).expect("rotated");
    let read = SigningKeys::parse(rotated.trim()).expect("the Worker reads the rotated set");
    let after: Vec<String> = read.jwks().keys.into_iter().map(|k| k.kid).collect();
    assert_eq!(after.len(), 3, "current, next and previous");
    assert_eq!(read.current().kid(), before[1], "the next key signs now");
    assert_eq!(after[2], before[0], "the old current key stays published as previous");
    let previous = &serde_json::from_str::<serde_json::Value>(&rotated).expect("JSON")["previous"];
    assert!(previous.get("d").is_none(), "the previous key keeps no private part");

    // Rotating again drops the oldest key only.
    let again = keys(&["rotate"], Some(&rotated)).expect("rotated twice");
    let read = SigningKeys::parse(again.trim()).expect("read");
    let kids: Vec<String> = read.jwks().keys.into_iter().map(|k| k.kid).collect();
    assert_eq!(kids[2], before[1]);
    assert!(!kids.contains(&before[0]));
}

#[test]
fn rotating_something_else_is_refused_in_words() {
    for input in ["", "not json", r#"{"current": {}}"#] {
        let refused = keys(&["rotate"], Some(input)).expect_err(input);
        assert!(refused.starts_with("gateway-keys: "), "{refused}");
    }
    let tampered = keys(&["new"], None).expect("a set").replacen("\"kid\":\"", "\"kid\":\"x", 1);
    assert!(keys(&["rotate"], Some(&tampered)).expect_err("tampered").contains("thumbprint"));
}
