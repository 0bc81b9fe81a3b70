//! End-to-end test world: the local control plane (tests/support), an emulator of one provider
//! ([`Cloud`]) on loopback, a namespace with credentials and a SecretStore, and the operator running as in production: the
//! `keyward run` binary as a child process watching that namespace, its logs captured to a file.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use keyward::api::ManagedSecret;
use keyward::emulator::{EmulatorConfig, EmulatorHandle, ScalewayEmulatorConfig};
use keyward::provider::scaleway::ScalewayClient;
use keyward::provider::{RemoteVersion, SecretId, SecretManager};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

pub use crate::support::cloud::{Cloud, PROJECT, TOKEN};
use crate::support::controlplane::{TestNamespace, client, install_crds, kubeconfig_path};

pub const STORE: &str = "emu";
/// The world's credentials Secret, the one its store `emu` reads.
pub const CREDENTIALS: &str = "provider-creds";
pub const HMAC_KEY: &str = "e2e-drift-key-0123456789";

/// The operator as a child process.
pub struct Operator {
    child: Option<Child>,
    pub log: PathBuf,
    namespace: String,
}

impl Operator {
    /// Starts `keyward run` for these namespaces (comma-separated); `env` adds variables (e.g. the
    /// crash hook).
    pub async fn start(namespace: &str, log: PathBuf, env: &[(&str, &str)]) -> Self {
        let kubeconfig = kubeconfig_path().await;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("operator log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
        command
            .args([
                "run",
                "--log-format",
                "json",
                "--metrics-address",
                "127.0.0.1:0",
                "--watch-namespaces",
                namespace,
                // The emulators listen on loopback, which the defaults do not allow.
                "--allowed-endpoints",
                "http://127.0.0.1:*",
            ])
            .env("KUBECONFIG", kubeconfig)
            .env("KEYWARD_DATA_HMAC_KEY", HMAC_KEY)
            // Off unless `env` turns it on (by environment, so that it can).
            .env("KEYWARD_LEADER_ELECTION", "false")
            .env("RUST_LOG", "info,keyward=debug")
            .env_remove("KEYWARD_TEST_CRASH_AFTER")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("starting keyward run");
        Self {
            child: Some(child),
            log,
            namespace: namespace.to_owned(),
        }
    }

    /// The process id, while it runs (benchmarks read its memory from /proc).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything the operator logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The operator's `/metrics` text now.
    pub async fn metrics(&self) -> String {
        Self::scrape(&self.log_text()).await
    }

    /// `/metrics` of the operator that wrote `log` (it logs the address its HTTP endpoint bound;
    /// the last such line is the running process's, as a restart appends to the same log).
    pub async fn scrape(log: &str) -> String {
        let address = log
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|e| {
                e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("serving /metrics"))
            })
            .and_then(|e| e["address"].as_str().map(str::to_owned))
            .expect("the operator logs its metrics address");
        reqwest::get(format!("http://{address}/metrics"))
            .await
            .expect("scraping /metrics")
            .text()
            .await
            .unwrap()
    }

    /// SIGKILL, as a crashed node would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until the operator holds at the crash point `KEYWARD_TEST_CRASH_AFTER` names (it
    /// says so in its log), then SIGKILLs it there, as a crashed node would be.
    pub async fn kill_at_crash_point(&mut self, point: &str, timeout: Duration) {
        let reached = keyward::controller::execute::crash_point_reached(point);
        let deadline = Instant::now() + timeout;
        while !self.log_text().contains(&reached) {
            assert!(
                Instant::now() < deadline,
                "the operator did not reach the crash point {point} within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.kill();
    }

    pub async fn restart(&mut self, env: &[(&str, &str)]) {
        self.kill();
        let namespace = self.namespace.clone();
        *self = Operator::start(&namespace, self.log.clone(), env).await;
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Everything one test needs.
pub struct World {
    pub client: Client,
    pub ns: TestNamespace,
    /// More namespaces the operator watches too (see [`World::with_namespaces`]).
    pub others: Vec<TestNamespace>,
    /// The provider the world's store `emu` uses.
    pub cloud: Cloud,
    pub emu: EmulatorHandle,
    pub op: Operator,
    /// A client talking to the emulator directly (as a console user or Terraform would).
    pub remote: Arc<dyn SecretManager>,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn new(prefix: &str) -> Self {
        Self::with_env(prefix, &[]).await
    }

    pub async fn with_env(prefix: &str, env: &[(&str, &str)]) -> Self {
        Self::with_namespaces(prefix, 0, env).await
    }

    /// A world whose operator also watches `extra` more namespaces (`w.others`).
    pub async fn with_namespaces(prefix: &str, extra: usize, env: &[(&str, &str)]) -> Self {
        Self::build(Cloud::Scaleway, prefix, extra, env, json!({})).await
    }

    /// A world whose store `emu` is on `cloud`.
    pub async fn on(cloud: Cloud, prefix: &str) -> Self {
        Self::build(cloud, prefix, 0, &[], json!({})).await
    }

    /// [`World::on`] with more variables for the operator.
    pub async fn on_with_env(cloud: Cloud, prefix: &str, env: &[(&str, &str)]) -> Self {
        Self::build(cloud, prefix, 0, env, json!({})).await
    }

    /// [`World::on_with_env`] whose store `emu` has `store_extra` merged into its spec (e.g. a
    /// request budget: stores sharing its credentials share the budget of the first one the
    /// operator sees, so it must be this one's from the start).
    pub async fn on_with_store(
        cloud: Cloud,
        prefix: &str,
        env: &[(&str, &str)],
        store_extra: serde_json::Value,
    ) -> Self {
        Self::build(cloud, prefix, 0, env, store_extra).await
    }

    async fn build(
        cloud: Cloud,
        prefix: &str,
        extra: usize,
        env: &[(&str, &str)],
        store_extra: serde_json::Value,
    ) -> Self {
        let client = client().await;
        install_crds(&client).await;
        let ns = TestNamespace::new(&client, prefix).await;
        let mut others = Vec::new();
        for i in 0..extra {
            others.push(TestNamespace::new(&client, &format!("{prefix}-{i}")).await);
        }
        let emu = cloud.emulator(TOKEN).await;
        // KEYWARD_E2E_LOGS=<folder> keeps each world's operator log there (for debugging).
        let dir = match std::env::var_os("KEYWARD_E2E_LOGS") {
            Some(root) => {
                std::fs::create_dir_all(&root).expect("log folder");
                tempfile::Builder::new()
                    .prefix(&format!("{prefix}-"))
                    .disable_cleanup(true)
                    .tempdir_in(root)
                    .expect("temp dir")
            }
            None => tempfile::tempdir().expect("temp dir"),
        };
        let world_ns = ns.name().to_owned();
        apply(
            &client,
            &world_ns,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": CREDENTIALS},
                "stringData": cloud.credentials(TOKEN),
            }),
        )
        .await;
        let mut store = cloud.store_json(STORE, &emu.base_url(), CREDENTIALS);
        merge_spec(&mut store, &store_extra);
        apply(&client, &world_ns, store).await;
        let watched: Vec<&str> = std::iter::once(world_ns.as_str())
            .chain(others.iter().map(|n| n.name()))
            .collect();
        let op = Operator::start(&watched.join(","), dir.path().join("operator.log"), env).await;
        let remote = cloud.client(&emu.base_url(), TOKEN);
        Self {
            client,
            ns,
            others,
            cloud,
            emu,
            op,
            remote,
            dir,
        }
    }

    pub fn ns(&self) -> &str {
        self.ns.name()
    }

    pub fn ms_api(&self) -> Api<ManagedSecret> {
        Api::namespaced(self.client.clone(), self.ns())
    }

    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), self.ns())
    }

    /// Server-side applies an object in the test namespace.
    pub async fn apply(&self, object: serde_json::Value) {
        apply(&self.client, self.ns(), object).await
    }

    /// Applies a v1 Secret with this `stringData` (and optional extra metadata, e.g. labels).
    pub async fn apply_secret(&self, name: &str, string_data: serde_json::Value) {
        self.apply(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name}, "stringData": string_data,
        }))
        .await
    }

    /// Applies a ManagedSecret with this spec.
    pub async fn apply_ms(&self, name: &str, spec: serde_json::Value) {
        self.apply(json!({
            "apiVersion": "keyward.dev/v1alpha1", "kind": "ManagedSecret",
            "metadata": {"name": name}, "spec": spec,
        }))
        .await
    }

    /// Creates a ManagedSecret and returns the API server's refusal, if any.
    pub async fn try_create_ms(&self, name: &str, spec: serde_json::Value) -> Result<(), String> {
        let ms: ManagedSecret = serde_json::from_value(json!({
            "apiVersion": "keyward.dev/v1alpha1", "kind": "ManagedSecret",
            "metadata": {"name": name}, "spec": spec,
        }))
        .map_err(|e| e.to_string())?;
        self.ms_api()
            .create(&PostParams::default(), &ms)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    pub async fn annotate(&self, name: &str, key: &str, value: &str) {
        merge_patch(
            &self.ms_api(),
            name,
            json!({"metadata": {"annotations": {key: value}}}),
        )
        .await
        .expect("annotating");
    }

    pub async fn delete_ms(&self, name: &str) {
        self.ms_api()
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleting");
    }

    /// Waits until the ManagedSecret satisfies `check`.
    pub async fn wait_ms(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&ManagedSecret) -> bool,
    ) -> ManagedSecret {
        let mut last = None;
        let found = poll(timeout, async || {
            let ms = self.ms_api().get_opt(name).await.ok().flatten()?;
            if check(&ms) {
                return Some(ms);
            }
            last = Some(ms);
            None
        })
        .await;
        found.unwrap_or_else(|| panic!(
            "ManagedSecret {name}: {what} not reached within {timeout:?}; last status: {:?}\n--- operator log tail ---\n{}",
            last.and_then(|m| m.status),
            tail(&self.op.log_text(), 30)
        ))
    }

    /// Waits for Ready=True with the given revision.
    pub async fn wait_ready(&self, name: &str, revision: u32) -> ManagedSecret {
        self.wait_ready_within(name, revision, Duration::from_secs(60))
            .await
    }

    /// [`World::wait_ready`] with its own deadline (a backoff to wait out).
    pub async fn wait_ready_within(
        &self,
        name: &str,
        revision: u32,
        timeout: Duration,
    ) -> ManagedSecret {
        self.wait_ms(
            name,
            &format!("Ready at revision {revision}"),
            timeout,
            |ms| ready_at(ms, revision),
        )
        .await
    }

    /// Waits for Ready=True at `revision` and returns the remote secret id from status.
    pub async fn ready_id(&self, name: &str, revision: u32) -> String {
        let ms = self.wait_ready(name, revision).await;
        ms.status
            .and_then(|s| s.secret_id)
            .unwrap_or_else(|| panic!("ManagedSecret {name} is Ready without a secret id"))
    }

    /// The remote secret id the ManagedSecret's status records now.
    pub async fn secret_id(&self, name: &str) -> String {
        self.ms_api()
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("reading ManagedSecret {name}: {e}"))
            .status
            .and_then(|s| s.secret_id)
            .unwrap_or_else(|| panic!("ManagedSecret {name} has no secret id in status"))
    }

    /// Waits until status records `revision` as current (whatever the Ready condition says).
    pub async fn wait_revision(
        &self,
        name: &str,
        revision: u32,
        what: &str,
        timeout: Duration,
    ) -> ManagedSecret {
        self.wait_ms(name, what, timeout, |ms| {
            ms.status.as_ref().and_then(|s| s.current_revision) == Some(revision)
        })
        .await
    }

    /// Waits for Ready=False with `reason`.
    pub async fn wait_reason(&self, name: &str, reason: &str) -> ManagedSecret {
        let want = format!("False/{reason}");
        self.wait_ms(name, &want, Duration::from_secs(60), |ms| {
            ready_reason(ms).as_deref() == Some(want.as_str())
        })
        .await
    }

    pub async fn wait_gone(&self, name: &str) {
        let gone = poll(Duration::from_secs(60), async || {
            let current = self.ms_api().get_opt(name).await.unwrap();
            current.is_none().then_some(())
        })
        .await;
        assert!(gone.is_some(), "ManagedSecret {name} still exists");
    }

    /// The target Secret's data.
    pub async fn secret_data(&self, name: &str) -> Option<SecretData> {
        self.secrets().get_opt(name).await.unwrap().map(|s| {
            s.data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect()
        })
    }

    /// Waits until the target Secret's data satisfies `check` (the Secret must exist all along);
    /// returns that data.
    pub async fn wait_secret(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&SecretData) -> bool,
    ) -> SecretData {
        let mut last = None;
        let found = poll(timeout, async || {
            let data = self
                .secret_data(name)
                .await
                .unwrap_or_else(|| panic!("Secret {name} is gone while waiting for: {what}"));
            if check(&data) {
                return Some(data);
            }
            // Keys only: the values are secrets.
            last = Some(data.into_keys().collect::<Vec<_>>());
            None
        })
        .await;
        found.unwrap_or_else(|| panic!(
            "Secret {name}: {what} not reached within {timeout:?}; last keys: {last:?}\n--- operator log tail ---\n{}",
            tail(&self.op.log_text(), 30)
        ))
    }

    /// Asserts the remote secret has exactly `count` versions.
    pub async fn assert_version_count(&self, id: &str, count: usize, what: &str) {
        let versions = self.versions(id).await;
        assert!(
            versions.len() == count,
            "{what}: want {count} versions of {id}, found {versions:?}\n--- operator log tail ---\n{}",
            tail(&self.op.log_text(), 30)
        );
    }

    /// Asserts the remote secret has exactly `count` versions now and at every check (each half
    /// second) for `settle`: later reconciles (status writes, refreshes) must not write again.
    pub async fn assert_version_count_stays(
        &self,
        id: &str,
        count: usize,
        settle: Duration,
        what: &str,
    ) {
        let until = Instant::now() + settle;
        loop {
            self.assert_version_count(id, count, what).await;
            if Instant::now() >= until {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Versions of a remote secret, highest first.
    pub async fn versions(&self, id: &str) -> Vec<RemoteVersion> {
        // A loaded machine can time a request out; the question is the list, not the first try.
        let mut last = None;
        for _ in 0..3 {
            match self.remote.list_versions(&SecretId::new(id)).await {
                Ok(v) => return v,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("listing versions of {id}: {:?}", last);
    }

    /// Reasons of the Events about a ManagedSecret.
    pub async fn event_reasons(&self, name: &str) -> Vec<String> {
        self.events(name)
            .await
            .into_iter()
            .filter_map(|e| e.reason)
            .collect()
    }

    /// Waits until the reasons of the object's Events satisfy `check`: an Event is written after
    /// the change it tells of, so it can lag behind what a test observes.
    pub async fn wait_event_reasons(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let timeout = Duration::from_secs(30);
        let mut last = Vec::new();
        let found = poll(timeout, async || {
            let reasons = self.event_reasons(name).await;
            if check(&reasons) {
                return Some(reasons);
            }
            last = reasons;
            None
        })
        .await;
        found.unwrap_or_else(|| {
            panic!("Events of {name}: {what} not seen within {timeout:?}; reasons: {last:?}")
        })
    }

    /// Waits until the object has an Event with each of `reasons`.
    pub async fn wait_events(&self, name: &str, reasons: &[&str]) -> Vec<String> {
        self.wait_event_reasons(name, &format!("{reasons:?}"), |seen| {
            reasons.iter().all(|want| seen.iter().any(|r| r == want))
        })
        .await
    }

    pub async fn events(&self, name: &str) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), self.ns());
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect()
    }
}

pub async fn apply(client: &Client, ns: &str, mut object: serde_json::Value) {
    let name = object["metadata"]["name"].as_str().unwrap().to_owned();
    let api_version = object["apiVersion"].as_str().unwrap().to_owned();
    let kind = object["kind"].as_str().unwrap().to_owned();
    let gvk = kube::api::GroupVersionKind::gvk(
        api_version.split_once('/').map_or("", |(g, _)| g),
        api_version.rsplit('/').next().unwrap(),
        &kind,
    );
    let (resource, capabilities) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .expect("discovering the kind");
    let api: Api<kube::api::DynamicObject> =
        if capabilities.scope == kube::discovery::Scope::Cluster {
            object["metadata"]["labels"][crate::support::controlplane::TEST_NAMESPACE_LABEL] =
                json!(ns);
            Api::all_with(client.clone(), &resource)
        } else {
            object["metadata"]["namespace"] = json!(ns);
            Api::namespaced_with(client.clone(), ns, &resource)
        };
    api.patch(
        &name,
        &PatchParams::apply("e2e-tests").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
}

/// Runs `probe` every 200 ms until it returns `Some`, or `timeout` has passed (then `None`).
async fn poll<T>(timeout: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(found) = probe().await {
            return Some(found);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// A Secret's data by key.
pub type SecretData = std::collections::BTreeMap<String, Vec<u8>>;

/// A client of the emulator with the world's project and token (as a console user would be).
pub fn emulator_client(base_url: &str) -> ScalewayClient {
    emulator_client_with(base_url, TOKEN)
}

/// A client of an emulator with the world's project and this token.
pub fn emulator_client_with(base_url: &str, token: &str) -> ScalewayClient {
    crate::support::cloud::scaleway_client(base_url, token)
}

/// A JSON merge patch of one object.
pub async fn merge_patch<K>(api: &Api<K>, name: &str, patch: serde_json::Value) -> kube::Result<K>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
}

/// A Scaleway SecretStore (see [`Cloud::store_json`] for the others).
pub fn store_json(name: &str, api_url: &str, creds: &str) -> serde_json::Value {
    Cloud::Scaleway.store_json(name, api_url, creds)
}

/// Ready=True (Synced) with `revision` mirrored.
pub fn ready_at(ms: &ManagedSecret, revision: u32) -> bool {
    ready_reason(ms).as_deref() == Some("True/Synced")
        && ms.status.as_ref().and_then(|s| s.current_revision) == Some(revision)
}

/// `Status/Reason` of the Ready condition.
pub fn ready_reason(ms: &ManagedSecret) -> Option<String> {
    ms.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| format!("{}/{}", c.status, c.reason))
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A Scaleway emulator with strict auth: `token` may use [`PROJECT`].
pub async fn strict_emulator(
    token: &str,
    faults: keyward::emulator::FaultSettings,
) -> EmulatorHandle {
    let mut config = EmulatorConfig::scaleway_for_tests(ScalewayEmulatorConfig {
        tokens: vec![(token.to_owned(), PROJECT.parse().unwrap())],
        ..ScalewayEmulatorConfig::default()
    });
    config.faults = faults;
    keyward::emulator::spawn(config).await.expect("emulator")
}

impl World {
    /// A credentials Secret `{store}-creds` holding `token` and a SecretStore `store` on `emu` (of
    /// the world's provider), in
    /// `ns`, with `extra` merged into the store's spec (e.g. a request budget).
    pub async fn add_store(
        &self,
        ns: &str,
        store: &str,
        emu: &EmulatorHandle,
        token: &str,
        extra: serde_json::Value,
    ) {
        let creds = format!("{store}-creds");
        apply(
            &self.client,
            ns,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": creds},
                "stringData": self.cloud.credentials(token),
            }),
        )
        .await;
        let mut object = self.cloud.store_json(store, &emu.base_url(), &creds);
        merge_spec(&mut object, &extra);
        apply(&self.client, ns, object).await;
    }

    /// A ManagedSecret in namespace `ns`.
    pub async fn apply_ms_in(&self, ns: &str, name: &str, spec: serde_json::Value) {
        apply(
            &self.client,
            ns,
            json!({
                "apiVersion": "keyward.dev/v1alpha1", "kind": "ManagedSecret",
                "metadata": {"name": name}, "spec": spec,
            }),
        )
        .await
    }

    /// The ManagedSecrets of namespace `ns`.
    pub fn ms_api_in(&self, ns: &str) -> Api<ManagedSecret> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Waits until the ManagedSecret `ns/name` satisfies `check`.
    pub async fn wait_ms_in(
        &self,
        ns: &str,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&ManagedSecret) -> bool,
    ) -> ManagedSecret {
        let api = self.ms_api_in(ns);
        let mut last = None;
        let found = poll(timeout, async || {
            let ms = api.get_opt(name).await.ok().flatten()?;
            if check(&ms) {
                return Some(ms);
            }
            last = Some(ms);
            None
        })
        .await;
        found.unwrap_or_else(|| panic!(
            "ManagedSecret {ns}/{name}: {what} not reached within {timeout:?}; last status: {:?}\n--- operator log tail ---\n{}",
            last.and_then(|m| m.status),
            tail(&self.op.log_text(), 30)
        ))
    }

    /// Waits until the ManagedSecret `ns/name` is gone (its finalizer done).
    pub async fn wait_gone_in(&self, ns: &str, name: &str) {
        let api = self.ms_api_in(ns);
        let gone = poll(Duration::from_secs(60), async || {
            api.get_opt(name).await.unwrap().is_none().then_some(())
        })
        .await;
        assert!(
            gone.is_some(),
            "ManagedSecret {ns}/{name} still exists\n--- operator log tail ---\n{}",
            tail(&self.op.log_text(), 30)
        );
    }

    /// The data of Secret `ns/name`, if it exists.
    pub async fn secret_data_in(&self, ns: &str, name: &str) -> Option<SecretData> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        api.get_opt(name).await.unwrap().map(|s| {
            s.data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect()
        })
    }

    /// Events about `name` in namespace `ns`.
    pub async fn events_in(&self, ns: &str, name: &str) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), ns);
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect()
    }
}

/// Sets each field of `extra` in a store's `spec`.
fn merge_spec(store: &mut serde_json::Value, extra: &serde_json::Value) {
    if let (Some(spec), Some(extra)) = (store["spec"].as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            spec.insert(k.clone(), v.clone());
        }
    }
}

/// Where the control plane's audit log ends now (pass it to [`writes_since`]).
pub async fn audit_offset() -> u64 {
    let path = crate::support::controlplane::audit_log_path().await;
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The audit events (stage ResponseComplete) the API server logged since `offset`.
pub async fn audit_since(offset: u64) -> Vec<serde_json::Value> {
    use std::io::{Read, Seek, SeekFrom};
    let path = crate::support::controlplane::audit_log_path().await;
    let mut file = std::fs::File::open(path).expect("audit log");
    file.seek(SeekFrom::Start(offset)).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["stage"] == "ResponseComplete")
        .collect()
}

/// `(verb, resource[/subresource], name)` of an audit event.
pub fn audit_write(e: &serde_json::Value) -> (String, String, String) {
    let field = |f: &str| e["objectRef"][f].as_str().unwrap_or_default().to_owned();
    let resource = match e["objectRef"]["subresource"].as_str() {
        Some(sub) => format!("{}/{sub}", field("resource")),
        None => field("resource"),
    };
    (
        e["verb"].as_str().unwrap_or_default().to_owned(),
        resource,
        field("name"),
    )
}

/// Whether an audit event is a write (create, update, patch, delete).
pub fn is_write(e: &serde_json::Value) -> bool {
    matches!(
        e["verb"].as_str(),
        Some("create" | "update" | "patch" | "delete" | "deletecollection")
    )
}

/// The writes (create, update, patch, delete) the API server completed in `namespace` since
/// `offset`, except Events: `(verb, resource[/subresource], name)`.
pub async fn writes_since(offset: u64, namespace: &str) -> Vec<(String, String, String)> {
    audit_since(offset)
        .await
        .iter()
        .filter(|e| is_write(e) && e["verb"] != "deletecollection")
        .filter(|e| e["objectRef"]["namespace"] == namespace)
        .filter(|e| e["objectRef"]["resource"] != "events")
        .map(audit_write)
        .collect()
}

/// When the API server completed each write (patch, update) of `resource` objects in `namespace`
/// since `offset`, other than of their status, oldest first.
pub async fn write_times_since(
    offset: u64,
    namespace: &str,
    resource: &str,
) -> Vec<jiff::Timestamp> {
    use std::io::{Read, Seek, SeekFrom};
    let path = crate::support::controlplane::audit_log_path().await;
    let mut file = std::fs::File::open(path).expect("audit log");
    file.seek(SeekFrom::Start(offset)).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    let mut times: Vec<jiff::Timestamp> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["stage"] == "ResponseComplete")
        .filter(|e| matches!(e["verb"].as_str(), Some("update" | "patch")))
        .filter(|e| e["objectRef"]["namespace"] == namespace)
        .filter(|e| e["objectRef"]["resource"] == resource)
        .filter(|e| e["objectRef"]["subresource"].is_null())
        .filter(|e| e["responseStatus"]["code"].as_i64().is_none_or(|c| c < 300))
        .filter_map(|e| e["stageTimestamp"].as_str()?.parse().ok())
        .collect();
    times.sort();
    times
}
