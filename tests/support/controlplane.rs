//! The local Kubernetes control plane (tests/controlplane/up.sh) as seen from Rust tests.
//!
//! - [`client`]: a kube client for the control plane, started once per test run (or the one the
//!   `KUBECONFIG` environment variable names, as CI sets it);
//! - [`TestNamespace`]: a namespace of its own for one test, deleted at the end (best effort);
//! - [`install_crds`]: every `crds/*.yaml` applied with server-side apply and awaited Established.
//!
//! Clients are made afresh per call: each `#[tokio::test]` has its own runtime and a client's
//! connections belong to the runtime that made them. Only the kubeconfig path is shared.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config};
use serde::Deserialize as _;
use tokio::sync::OnceCell;

/// Field manager the test helpers apply with.
pub const FIELD_MANAGER: &str = "keyward-tests";

static KUBECONFIG_PATH: OnceCell<PathBuf> = OnceCell::const_new();
static CRDS_INSTALLED: OnceCell<Vec<String>> = OnceCell::const_new();

/// The kubeconfig of the control plane, bringing it up on first use in this process.
/// Another process racing to start it is safe: up.sh is idempotent and serialised with flock.
pub async fn kubeconfig_path() -> &'static Path {
    KUBECONFIG_PATH
        .get_or_init(|| async {
            tokio::task::spawn_blocking(|| ensure_up().expect("local control plane"))
                .await
                .expect("control plane start-up task")
        })
        .await
}

fn ensure_up() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("KUBECONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/controlplane/up.sh");
    // stderr (progress) goes to the test's stderr; stdout carries the KUBECONFIG= line.
    let output = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!("{} failed with {}", script.display(), output.status);
    }
    parse_up_output(&String::from_utf8_lossy(&output.stdout))
}

/// The path from up.sh's last line, `KUBECONFIG=<path>`.
fn parse_up_output(stdout: &str) -> anyhow::Result<PathBuf> {
    let last = stdout.lines().last().unwrap_or_default();
    match last.strip_prefix("KUBECONFIG=") {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => bail!("up.sh did not end with KUBECONFIG=<path> (last line: {last:?})"),
    }
}

/// The kube config for the control plane (e.g. to tweak timeouts before making a client).
pub async fn config() -> anyhow::Result<Config> {
    let path = kubeconfig_path().await;
    let kubeconfig = Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    Ok(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?)
}

/// A fresh client for the control plane, bound to the calling test's runtime.
pub async fn client() -> Client {
    let config = config().await.expect("kubeconfig for the control plane");
    Client::try_from(config).expect("kube client")
}

/// The state folder of the control plane (audit log, logs, pids): up.sh writes the kubeconfig
/// into it, so it is the kubeconfig's folder.
pub async fn state_dir() -> PathBuf {
    let kubeconfig = kubeconfig_path().await;
    kubeconfig
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The audit log (level Metadata, one JSON event per line) of the control plane.
pub async fn audit_log_path() -> PathBuf {
    state_dir().await.join("audit.log")
}

/// A namespace for one test, named `<prefix>-<random>`, deleted when dropped (best effort).
///
/// As on a real cluster, the control plane's namespace controller then deletes everything in it
/// and the namespace goes; objects whose finalizers nobody removes keep it Terminating (names
/// never collide across tests because each namespace name is unique). Drop does not wait.
pub struct TestNamespace {
    name: String,
}

impl TestNamespace {
    pub async fn new(client: &Client, prefix: &str) -> Self {
        let name = format!(
            "{prefix}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {"keyward.dev/test": "true"}},
        }))
        .expect("namespace object");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
        Self { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Label on cluster-scoped objects a test makes: its namespace's name. Dropping the
/// [`TestNamespace`] deletes them.
pub const TEST_NAMESPACE_LABEL: &str = "e2e.keyward.dev/namespace";

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be shutting down: delete from a thread
        // with its own small runtime and client.
        let name = std::mem::take(&mut self.name);
        let Some(path) = KUBECONFIG_PATH.get().cloned() else {
            return;
        };
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let kubeconfig = Kubeconfig::read_from(&path).ok()?;
                let config =
                    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                        .await
                        .ok()?;
                let client = Client::try_from(config).ok()?;
                // Cluster-scoped objects the test made go with its namespace (best effort: the
                // CRD may not be installed).
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    Api::<keyward::api::ClusterSecretStore>::all(client.clone()).delete_collection(
                        &DeleteParams::default(),
                        &kube::api::ListParams::default()
                            .labels(&format!("{TEST_NAMESPACE_LABEL}={name}")),
                    ),
                )
                .await;
                let api = Api::<Namespace>::all(client);
                let deleted = tokio::time::timeout(
                    Duration::from_secs(10),
                    api.delete(&name, &DeleteParams::default()),
                )
                .await
                .ok()?;
                match deleted {
                    Ok(_) => Some(()),
                    // The test deleted it itself.
                    Err(kube::Error::Api(status)) if status.is_not_found() => Some(()),
                    Err(_) => None,
                }
            })
        })
        .join();
        if !matches!(deleted, Ok(Some(()))) {
            eprintln!("warning: test namespace was not deleted");
        }
    }
}

/// Applies a CRD with server-side apply and waits until the API server serves it.
pub async fn apply_crd(client: &Client, crd: &CustomResourceDefinition) -> anyhow::Result<()> {
    let name = crd.metadata.name.clone().context("CRD without a name")?;
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(crd),
    )
    .await
    .with_context(|| format!("applying CRD {name}"))?;
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(api, &name, conditions::is_crd_established()),
    )
    .await
    .with_context(|| format!("CRD {name} not Established within 30 s"))??;
    Ok(())
}

/// Installs every CRD in `crds/*.yaml` (once per test process) and returns their names.
pub async fn install_crds(client: &Client) -> &'static [String] {
    CRDS_INSTALLED
        .get_or_init(|| async {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
            let crds = read_crds(&dir).expect("reading crds/");
            for crd in &crds {
                apply_crd(client, crd).await.expect("installing crds/");
            }
            crds.into_iter()
                .filter_map(|crd| crd.metadata.name)
                .collect()
        })
        .await
}

/// Every CRD document in `dir/*.yaml`, in file-name order (a missing folder holds none).
pub fn read_crds(dir: &Path) -> anyhow::Result<Vec<CustomResourceDefinition>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    files.retain(|p| p.extension().is_some_and(|ext| ext == "yaml"));
    files.sort();
    let mut crds = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(document)
                .with_context(|| format!("parsing {}", file.display()))?;
            if value.is_null() {
                continue;
            }
            crds.push(
                serde_yaml::from_value(value)
                    .with_context(|| format!("{} is not a CRD", file.display()))?,
            );
        }
    }
    Ok(crds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_output_last_line_names_the_kubeconfig() {
        let out = "noise\nKUBECONFIG=/tmp/x/kubeconfig\n";
        assert_eq!(
            parse_up_output(out).unwrap(),
            PathBuf::from("/tmp/x/kubeconfig")
        );
    }

    #[test]
    fn up_output_without_the_line_is_an_error() {
        assert!(parse_up_output("KUBECONFIG=/a\nstarted\n").is_err());
        assert!(parse_up_output("").is_err());
    }
}
