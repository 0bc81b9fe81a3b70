//! The official Scaleway Python SDK (PyPI `scaleway`) as referee: `sdk/scaleway_sdk.py` drives every
//! method of its Secret Manager v1beta1 API against the emulator on loopback, checking each answer.
//! The SDK is installed by `tests/tools/install-scaleway-sdk.sh` (a pinned venv in a cache folder).
//! Without python3 or the install, the test prints SKIPPED, or fails under `CI=true`.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use keyward::emulator::metrics::UNROUTED;
use keyward::emulator::scaleway::ENDPOINTS;
use keyward::emulator::{EmulatorConfig, ScalewayEmulatorConfig, spawn};
use tokio::process::Command;
use uuid::Uuid;

use crate::support::emulator::PROJECT;
use crate::support::shared::skip_or_fail;

const TEST: &str = "scaleway_sdk::every_sdk_method_works_against_the_emulator";

fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The SDK's python, or `None` after [`skip_or_fail`] when it cannot be installed here.
async fn sdk_python(root: &Path) -> Option<String> {
    let has_python = Command::new("python3")
        .arg("--version")
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    if !has_python {
        skip_or_fail(TEST, "needs python3 to install the Scaleway SDK");
        return None;
    }
    let install = tokio::time::timeout(
        Duration::from_secs(600),
        Command::new("bash")
            .arg(root.join("tests/tools/install-scaleway-sdk.sh"))
            .output(),
    )
    .await
    .expect("the SDK install finishes within 10 minutes")
    .expect("bash runs the install script");
    if !install.status.success() {
        skip_or_fail(
            TEST,
            &format!("could not install the Scaleway SDK\n{}", text(&install)),
        );
        return None;
    }
    let stdout = String::from_utf8_lossy(&install.stdout);
    Some(
        stdout
            .lines()
            .last()
            .expect("the install script prints the python path last")
            .trim()
            .to_string(),
    )
}

#[tokio::test]
async fn every_sdk_method_works_against_the_emulator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(python) = sdk_python(root).await else {
        return;
    };
    // Strict auth: the SDK's secret key is the only token, bound to the project the SDK defaults to.
    let secret_key = Uuid::new_v4().to_string();
    let emu = spawn(EmulatorConfig::scaleway_for_tests(ScalewayEmulatorConfig {
        tokens: vec![(secret_key.clone(), PROJECT.parse().unwrap())],
        ..ScalewayEmulatorConfig::default()
    }))
    .await
    .expect("emulator starts");

    let run = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new(&python)
            .arg(root.join("tests/providers/sdk/scaleway_sdk.py"))
            .args(["--api-url", &emu.base_url()])
            .args(["--project-id", PROJECT])
            .args(["--secret-key", &secret_key])
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output(),
    )
    .await
    .expect("the SDK driver finishes within 5 minutes")
    .expect("the SDK's python runs");
    let report = text(&run);
    assert!(run.status.success(), "the SDK driver failed\n{report}");

    // One `method: N call(s)` line per SDK method, each called at least once.
    let stdout = String::from_utf8_lossy(&run.stdout);
    let methods: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with("call(s)"))
        .filter_map(|l| l.split_once(':').map(|(m, _)| m))
        .collect();
    assert!(
        methods.len() >= ENDPOINTS.len(),
        "fewer SDK methods than endpoints\n{report}"
    );
    assert!(
        stdout.contains(&format!("all {} SDK methods exercised", methods.len())),
        "{report}"
    );

    // The server's side of the same story: every endpoint was reached, no request missed a route,
    // and nothing failed on the emulator's side.
    let counts = emu.request_counts();
    let unreached: Vec<&str> = ENDPOINTS
        .iter()
        .copied()
        .filter(|e| counts.endpoint_total(e) == 0)
        .collect();
    assert!(
        unreached.is_empty(),
        "endpoints the SDK never reached: {unreached:?}\n{report}"
    );
    assert_eq!(counts.endpoint_total(UNROUTED), 0, "{counts:?}");
    assert!(
        counts.requests.iter().all(|e| e.status < 500),
        "server errors: {counts:?}"
    );
    let summary = format!(
        "{TEST}: {} Scaleway SDK methods ran against the emulator: {}\n",
        methods.len(),
        methods.join(", ")
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), summary.as_bytes());
    emu.shutdown().await.unwrap();
}
