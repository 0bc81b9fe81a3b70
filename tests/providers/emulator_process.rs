//! `keyward emulator` as a child process: flags, the printed URL, SIGTERM with a final state save.

use crate::support::emulator as emulator_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use emulator_support::{Api, PROJECT, unb64};
use serde_json::json;

fn start(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("emulator")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("keyward binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "printed {line:?}");
    (child, url)
}

fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exits cleanly on SIGTERM: {exit:?}");
}

#[tokio::test]
async fn binary_serves_with_strict_tokens_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let token = format!("secret-token={PROJECT}");
    let flags = [
        "--token",
        token.as_str(),
        "--state",
        state_arg,
        "--rate-limit",
        "0",
    ];
    let (child, url) = start(&flags);
    let api = Api::with_base(
        format!("{url}/secret-manager/v1beta1/regions/fr-par"),
        Some("secret-token"),
    );
    let id = api.create_secret("from-the-binary", json!({})).await;
    assert_eq!(api.add_version(&id, b"persisted").await.status, 200);
    assert_eq!(
        api.clone_with_token("wrong").get("/secrets").await.status,
        401
    );
    terminate(child);
    assert!(state.exists(), "state saved on SIGTERM");

    let (child, url) = start(&flags);
    let api = Api::with_base(
        format!("{url}/secret-manager/v1beta1/regions/fr-par"),
        Some("secret-token"),
    );
    assert_eq!(
        unb64(&api.access(&id, "latest").await.body["data"]),
        b"persisted"
    );
    let health: serde_json::Value = emulator_support::admin_json(
        emulator_support::admin_client().get(format!("{url}/emulator/health")),
    )
    .await;
    assert_eq!(health["status"], "ok");
    terminate(child);
}

#[tokio::test]
async fn binary_fault_flags_apply() {
    let (child, url) = start(&["--error-rate", "ListSecrets=1:500", "--rate-limit", "2"]);
    let api = Api::with_base(
        format!("{url}/secret-manager/v1beta1/regions/fr-par"),
        Some("t"),
    );
    assert_eq!(api.get("/secrets").await.status, 500);
    assert_eq!(api.get("/tags").await.status, 200);
    assert_eq!(api.get("/tags").await.status, 429);
    terminate(child);
    let bad = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--token",
            "no-project",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a malformed --token is refused");
}

trait WithToken {
    fn clone_with_token(&self, token: &str) -> Api;
}

impl WithToken for Api {
    fn clone_with_token(&self, token: &str) -> Api {
        Api::with_base(self.base.clone(), Some(token))
    }
}
