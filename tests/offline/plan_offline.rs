//! `keyward plan -f` without a cluster (no KUBECONFIG, no control plane): each bad input of the
//! admission tests is refused with the message the API server gave for it (recorded from the
//! local control plane in `tests/fixtures/admission-answers.json`; `admit_crds` checks the
//! record against the server), causes in any order; the examples pass; the exit codes say so.

use std::process::Command;

use serde_json::Value;

use crate::support::fixtures::{self, Answer};

/// `keyward plan -f FILES -o json` with no cluster configured.
fn plan_files(files: &[std::path::PathBuf]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command.args(["plan", "-o", "json"]);
    for f in files {
        command.arg("-f").arg(f);
    }
    let output = command
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("running keyward plan -f");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn plan_f_refuses_each_bad_input_with_the_api_servers_message() {
    let answers = fixtures::admission_answers();
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<_> = fixtures::all_bad_inputs()
        .into_iter()
        .chain(fixtures::schema_bad_inputs())
        .collect();
    let mut files = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let path = dir.path().join(format!("{i:02}.yaml"));
        let manifest = fixtures::bad_manifest(row, "default");
        std::fs::write(&path, serde_yaml::to_string(&manifest).unwrap()).unwrap();
        files.push(path);
    }
    // One run over all of them, as CI for a repository would.
    let (code, stdout, stderr) = plan_files(&files);
    assert_eq!(code, 1, "invalid manifests exit 1: {stderr}");
    let results: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(results.len(), rows.len());
    let mut same = 0;
    for (row, result) in rows.iter().zip(&results) {
        let want = answers
            .get(row.name)
            .unwrap_or_else(|| panic!("{}: no recorded answer", row.name));
        let causes: Vec<String> = result["causes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        let message = result["message"].as_str().unwrap();
        assert_eq!(result["valid"], false, "{}", row.name);
        assert_eq!(
            Answer::normalized(message, &causes),
            Answer::normalized(&want.message, &want.causes),
            "{}: keyward plan -f vs the API server",
            row.name
        );
        same += 1;
    }
    eprintln!(
        "{same} of {} bad inputs refused with the API server's message",
        rows.len()
    );
}

#[test]
fn plan_f_passes_the_examples_and_says_what_it_cannot_read() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let (code, stdout, stderr) = plan_files(&[examples]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let results: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert!(results.len() >= 10, "{stdout}");
    assert!(results.iter().all(|r| r["valid"] == true), "{stdout}");

    let (code, _, stderr) = plan_files(&["/nonexistent.yaml".into()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("reading /nonexistent.yaml"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "kind: [").unwrap();
    let (code, _, stderr) = plan_files(&[broken]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not YAML or JSON"), "{stderr}");
}
