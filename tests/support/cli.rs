//! The `keyward` binary's tools run as a person runs them (`plan`, `rotate`, `status`), against
//! the world's control plane and emulator; and what they cost: the API server's writes (audit
//! log) and the provider's calls by endpoint (emulator counters).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::process::{Command, Output};

use keyward::emulator::CounterSnapshot;

use crate::support::controlplane::kubeconfig_path;
use crate::support::e2e::{HMAC_KEY, audit_since, audit_write, is_write};

/// What a run of the binary printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// `keyward ARGS` with the world's kubeconfig, drift key and loopback endpoints.
pub async fn keyward(args: &[&str]) -> Run {
    let kubeconfig = kubeconfig_path().await.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Run::of(
            Command::new(env!("CARGO_BIN_EXE_keyward"))
                .args(&args)
                .env("KUBECONFIG", kubeconfig)
                .env("KEYWARD_DATA_HMAC_KEY", HMAC_KEY)
                .env("KEYWARD_ALLOWED_ENDPOINTS", "http://127.0.0.1:*")
                .env_remove("KEYWARD_CLUSTER_ID")
                .output()
                .expect("running keyward"),
        )
    })
    .await
    .unwrap()
}

/// Endpoints of the emulators that only read (everything else writes).
pub const READ_ENDPOINTS: &[&str] = &[
    // Scaleway
    "GetSecret",
    "ListSecrets",
    "BrowseSecrets",
    "GetSecretVersion",
    "ListSecretVersions",
    "AccessSecretVersion",
    "AccessSecretVersionByPath",
    "ListTags",
    "ListSecretTypes",
    // Thalassa (a token exchange changes nothing)
    "GetSecretValue",
    "GetKmsSummary",
    "ListKeys",
    "GetKey",
    "CreateToken",
    // OCI (GetSecretBundleByName is a POST that reads)
    "GetSecretBundle",
    "GetSecretBundleByName",
    "ListSecretBundleVersions",
    "GetKeyVersion",
    "ListKeyVersions",
];

/// Calls per endpoint between two snapshots of an emulator's counters.
pub fn calls_between(before: &CounterSnapshot, after: &CounterSnapshot) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for entry in &after.requests {
        let was = before.count(&entry.endpoint, entry.status);
        if entry.count > was {
            *out.entry(entry.endpoint.clone()).or_default() += entry.count - was;
        }
    }
    out
}

/// The write calls among `calls`.
pub fn writes_among(calls: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    calls
        .iter()
        .filter(|(endpoint, _)| !READ_ENDPOINTS.contains(&endpoint.as_str()))
        .map(|(e, n)| (e.clone(), *n))
        .collect()
}

/// Every write (create, update, patch, delete) the API server completed since `offset` in
/// `namespace` (Events included) or anywhere by a client naming itself `keyward-{tool}/…`:
/// `(verb, resource, name)`. (Other tests write cluster-scoped objects meanwhile.)
pub async fn writes_since_by(
    offset: u64,
    namespace: &str,
    tool: &str,
) -> Vec<(String, String, String)> {
    let agent = format!("keyward-{tool}/");
    audit_since(offset)
        .await
        .iter()
        .filter(|e| is_write(e))
        .filter(|e| {
            e["objectRef"]["namespace"] == namespace
                || e["userAgent"]
                    .as_str()
                    .is_some_and(|a| a.starts_with(&agent))
        })
        .map(audit_write)
        .collect()
}

/// Whether the API server saw requests from `keyward-{tool}` since `offset` (so the filter
/// above is not vacuous).
pub async fn requests_by(offset: u64, tool: &str) -> usize {
    let agent = format!("keyward-{tool}/");
    audit_since(offset)
        .await
        .iter()
        .filter(|e| {
            e["userAgent"]
                .as_str()
                .is_some_and(|a| a.starts_with(&agent))
        })
        .count()
}

/// The steps the operator logged (`planned`, or `pipeline planned` with `pipeline`) for the
/// object `name`, in its JSON log after byte `offset`: one list per reconcile that had steps.
pub fn logged_steps(log: &str, offset: usize, name: &str, pipeline: bool) -> Vec<Vec<String>> {
    let message = if pipeline {
        "pipeline planned"
    } else {
        "planned"
    };
    log.get(offset..)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["message"] == message && e["name"] == name)
        .filter_map(|e| serde_json::from_str::<Vec<String>>(e["steps"].as_str()?).ok())
        .collect()
}
