//! The controller: observe, plan, execute, report.
//!
//! - [`intent`]: a ManagedSecret spec resolved and checked (`InvalidSpec` otherwise);
//! - [`schedule`]: whether a generated value rotates now;
//! - [`plan`]: the pure planner (table-tested), the heart of every decision;
//! - [`store`]: storeRef → store → credentials → provider client;
//! - [`target`], [`values`]: the target Secret's body and access, payload sources and digests;
//! - [`execute`]: performs a plan's steps; [`report`]: status, conditions, Events;
//! - [`drift_key`]: the drift-detection HMAC key, from a flag, a mounted file, or random;
//! - [`reconcile`]: one reconcile and the finalizer; this file wires the kube-runtime Controller.

pub mod drift_key;
pub mod execute;
pub mod intent;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod reconcile;
pub mod report;
pub mod schedule;
pub mod store;
pub mod target;
pub mod values;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Controller;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

use crate::api::{ClusterSecretStore, ManagedSecret, SecretStore, StoreKind};
use crate::leader::LeaderElectionArgs;
use crate::mirror::{CLAIM_ANNOTATION, HmacKey, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use crate::provider::{CallObserver, ProviderCall};
use crate::telemetry::{Metrics, Readiness, TelemetryArgs, spawn_http};
use drift_key::KeySource;
use store::ProviderCache;
use tokio_util::sync::CancellationToken;

use reconcile::{Context, error_policy, reconcile};

/// Arguments of `keyward run`. `Debug` redacts the drift key.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Kubeconfig context to use (default: in-cluster config, else the current context).
    #[arg(long, env = "KEYWARD_KUBE_CONTEXT")]
    pub context: Option<String>,
    /// Namespaces to watch, comma-separated (default: all namespaces). `--namespaces` is an older
    /// spelling kept as an alias.
    #[arg(
        long = "watch-namespaces",
        alias = "namespaces",
        env = "KEYWARD_WATCH_NAMESPACES",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,
    /// Key of the keyed HMAC that detects drift of target Secrets (at least 16 bytes). Keep it
    /// stable across restarts; without it (or --data-hmac-key-file) a random key is used and every
    /// Secret is rewritten once after a restart.
    #[arg(
        long,
        env = "KEYWARD_DATA_HMAC_KEY",
        hide_env_values = true,
        conflicts_with = "data_hmac_key_file"
    )]
    pub data_hmac_key: Option<String>,
    /// File holding the drift key instead (e.g. a mounted Secret): its bytes, less one trailing
    /// newline, at least 16 bytes. Read once at start-up.
    #[arg(long, env = "KEYWARD_DATA_HMAC_KEY_FILE", value_name = "PATH")]
    pub data_hmac_key_file: Option<PathBuf>,
    /// With --data-hmac-key-file: when the file does not exist (an optional Secret that is
    /// missing), start with a random key instead of failing. A file that exists must be valid.
    #[arg(
        long,
        env = "KEYWARD_DATA_HMAC_KEY_FILE_OPTIONAL",
        default_value_t = false,
        action = clap::ArgAction::Set,
        requires = "data_hmac_key_file"
    )]
    pub data_hmac_key_file_optional: bool,
    /// How many ManagedSecrets are reconciled at once.
    #[arg(long, env = "KEYWARD_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub leader: LeaderElectionArgs,
}

impl std::fmt::Debug for RunArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunArgs")
            .field("context", &self.context)
            .field("namespaces", &self.namespaces)
            .field(
                "data_hmac_key",
                &self.data_hmac_key.as_ref().map(|_| "<redacted>"),
            )
            .field("data_hmac_key_file", &self.data_hmac_key_file)
            .field(
                "data_hmac_key_file_optional",
                &self.data_hmac_key_file_optional,
            )
            .field("concurrency", &self.concurrency)
            .field("telemetry", &self.telemetry)
            .field("leader", &self.leader)
            .finish()
    }
}

impl RunArgs {
    /// Where the drift key comes from (clap has made the value and the file exclusive).
    pub fn drift_key_source(&self) -> KeySource<'_> {
        match (&self.data_hmac_key, &self.data_hmac_key_file) {
            (Some(value), _) => KeySource::Value(value),
            (None, Some(path)) => KeySource::File {
                path,
                optional: self.data_hmac_key_file_optional,
            },
            (None, None) => KeySource::Random,
        }
    }
}

/// Provider calls counted in the metrics registry.
struct MetricsObserver(Metrics);

impl CallObserver for MetricsObserver {
    fn observe(&self, call: &ProviderCall) {
        self.0
            .provider_call(call.provider, call.operation, call.outcome, call.elapsed);
    }
}

async fn kube_client(context: Option<&str>) -> anyhow::Result<Client> {
    let config = match context {
        Some(ctx) => {
            let options = kube::config::KubeConfigOptions {
                context: Some(ctx.to_owned()),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .with_context(|| format!("loading kubeconfig context {ctx}"))?
        }
        None => kube::Config::infer()
            .await
            .context("finding a Kubernetes configuration")?,
    };
    Client::try_from(config).context("building the Kubernetes client")
}

fn hmac_key(source: KeySource<'_>) -> anyhow::Result<HmacKey> {
    if let Some(key) = drift_key::load(source)? {
        return Ok(key);
    }
    if let KeySource::File { path, .. } = source {
        tracing::warn!(
            path = %path.display(),
            "the optional data HMAC key file does not exist: using a random drift key; target Secrets are rewritten once after each restart"
        );
    } else {
        tracing::warn!(
            "no KEYWARD_DATA_HMAC_KEY or KEYWARD_DATA_HMAC_KEY_FILE: using a random drift key; target Secrets are rewritten once after each restart"
        );
    }
    let bytes: [u8; 32] = rand::random();
    Ok(HmacKey::new(bytes.to_vec()).expect("32 bytes"))
}

/// The ManagedSecrets a Secret matters to: the one that claims it, and those pushing from it.
fn secret_to_managed(
    store: &Store<ManagedSecret>,
    secret: &Secret,
) -> Vec<ObjectRef<ManagedSecret>> {
    let namespace = secret.namespace().unwrap_or_default();
    let mut refs: Vec<ObjectRef<ManagedSecret>> = Vec::new();
    if let Some(owner) = secret.annotations().get(CLAIM_ANNOTATION) {
        refs.push(ObjectRef::new(owner).within(&namespace));
    }
    let name = secret.name_any();
    refs.extend(
        store
            .state()
            .iter()
            .filter(|ms| ms.namespace().as_deref() == Some(namespace.as_str()))
            .filter(|ms| ms.spec.from_secret.as_ref().is_some_and(|f| f.name == name))
            .map(|ms| ObjectRef::from_obj(ms.as_ref())),
    );
    refs
}

/// The ManagedSecrets using a store.
fn store_to_managed(
    store: &Store<ManagedSecret>,
    kind: StoreKind,
    name: &str,
    namespace: Option<&str>,
) -> Vec<ObjectRef<ManagedSecret>> {
    store
        .state()
        .iter()
        .filter(|ms| ms.spec.store_ref.kind == kind && ms.spec.store_ref.name == name)
        .filter(|ms| namespace.is_none() || ms.namespace().as_deref() == namespace)
        .map(|ms| ObjectRef::from_obj(ms.as_ref()))
        .collect()
}

/// Run one Controller over one namespace (or all when `namespace` is `None`).
async fn run_controller(
    ctx: Arc<Context>,
    namespace: Option<String>,
    concurrency: u16,
    term: CancellationToken,
) {
    let client = ctx.client.clone();
    let (ms_api, secret_api, store_api): (Api<ManagedSecret>, Api<Secret>, Api<SecretStore>) =
        match &namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            None => (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client.clone()),
            ),
        };
    let cluster_store_api: Api<ClusterSecretStore> = Api::all(client.clone());

    let managed =
        watcher::Config::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"));
    let controller = Controller::new(ms_api, watcher::Config::default().any_semantic());
    let reader = controller.store();
    let for_secrets = reader.clone();
    let for_stores = reader.clone();
    let for_cluster_stores = reader;
    controller
        .with_config(kube::runtime::Config::default().concurrency(concurrency))
        .owns(secret_api.clone(), managed)
        .watches(secret_api, watcher::Config::default(), move |secret| {
            secret_to_managed(&for_secrets, &secret)
        })
        .watches(store_api, watcher::Config::default(), move |store| {
            store_to_managed(
                &for_stores,
                StoreKind::SecretStore,
                &store.name_any(),
                store.namespace().as_deref(),
            )
        })
        .watches(
            cluster_store_api,
            watcher::Config::default(),
            move |store| {
                store_to_managed(
                    &for_cluster_stores,
                    StoreKind::ClusterSecretStore,
                    &store.name_any(),
                    None,
                )
            },
        )
        .graceful_shutdown_on(term.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile error");
            }
        })
        .await;
}

/// `keyward run`: run the operator until SIGTERM or Ctrl-C, reconciling only while leader.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    crate::telemetry::init_logging(args.telemetry.log_format, &args.telemetry.log_filter)?;
    // First, so that a missing or bad key file stops the start before anything is bound.
    let hmac = hmac_key(args.drift_key_source())?;
    let shutdown = crate::shutdown::on_signals().context("installing signal handlers")?;
    let metrics = Metrics::new();
    let readiness = Readiness::new();
    let (_, http) = spawn_http(
        args.telemetry.metrics_address,
        metrics.clone(),
        readiness.clone(),
        shutdown.clone(),
    )
    .await
    .with_context(|| format!("binding {}", args.telemetry.metrics_address))?;
    let client = kube_client(args.context.as_deref()).await?;
    let crash_after = std::env::var("KEYWARD_TEST_CRASH_AFTER")
        .ok()
        .filter(|_| cfg!(debug_assertions));
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "keyward".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    let ctx = Arc::new(Context {
        client: client.clone(),
        recorder,
        hmac,
        providers: ProviderCache::with_observer(Arc::new(MetricsObserver(metrics.clone()))),
        payloads: Default::default(),
        metrics: metrics.clone(),
        crash_after,
    });
    let leader = crate::leader::start(&args.leader, client, &metrics)?;
    readiness.set_ready(true);
    tracing::info!(namespaces = ?args.namespaces, "keyward operator starting");
    let namespaces = args.namespaces.clone();
    let concurrency = args.concurrency;
    let result = crate::leader::run_while_leader(
        leader.subscribe(),
        shutdown.clone(),
        std::time::Duration::from_secs(3),
        |term| {
            let ctx = ctx.clone();
            let namespaces = namespaces.clone();
            async move {
                tracing::info!("leading: reconciling ManagedSecrets");
                if namespaces.is_empty() {
                    run_controller(ctx, None, concurrency, term).await;
                } else {
                    futures::future::join_all(namespaces.iter().map(|ns| {
                        run_controller(ctx.clone(), Some(ns.clone()), concurrency, term.clone())
                    }))
                    .await;
                }
                Ok(())
            }
        },
    )
    .await;
    readiness.set_ready(false);
    leader.stop().await;
    shutdown.cancel();
    let _ = http.await;
    tracing::info!("keyward operator stopped");
    result
}

#[cfg(test)]
mod run_args_tests {
    use super::*;
    use clap::{CommandFactory as _, FromArgMatches as _};
    use std::path::Path;

    #[derive(clap::Parser)]
    struct Run {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(argv: &[&str]) -> Result<RunArgs, clap::Error> {
        let matches = Run::command()
            .try_get_matches_from(std::iter::once("run").chain(argv.iter().copied()))?;
        Ok(Run::from_arg_matches(&matches)?.run)
    }

    #[test]
    fn the_drift_key_comes_from_one_source() {
        let file = parse(&["--data-hmac-key-file", "/etc/keyward/drift-key/key"]).unwrap();
        assert!(matches!(
            file.drift_key_source(),
            KeySource::File { path, optional: false } if path == Path::new("/etc/keyward/drift-key/key")
        ));
        let optional = parse(&[
            "--data-hmac-key-file=/k",
            "--data-hmac-key-file-optional=true",
        ])
        .unwrap();
        assert!(matches!(
            optional.drift_key_source(),
            KeySource::File { optional: true, .. }
        ));
        let value = parse(&["--data-hmac-key", "k3y-0f-at-least-sixteen-bytes"]).unwrap();
        assert!(matches!(
            value.drift_key_source(),
            KeySource::Value("k3y-0f-at-least-sixteen-bytes")
        ));
        assert!(matches!(
            parse(&[]).unwrap().drift_key_source(),
            KeySource::Random
        ));
    }

    #[test]
    fn the_value_and_the_file_conflict() {
        let e = parse(&[
            "--data-hmac-key=k3y-0f-at-least-sixteen-bytes",
            "--data-hmac-key-file=/k",
        ])
        .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict, "{e}");
        // Optional means nothing without a file.
        let e = parse(&["--data-hmac-key-file-optional=true"]).unwrap_err();
        assert_eq!(
            e.kind(),
            clap::error::ErrorKind::MissingRequiredArgument,
            "{e}"
        );
    }

    #[test]
    fn debug_redacts_the_key() {
        let args = parse(&["--data-hmac-key", "k3y-0f-at-least-sixteen-bytes"]).unwrap();
        let shown = format!("{args:?}");
        assert!(!shown.contains("k3y-0f"), "{shown}");
        assert!(
            shown.contains("data_hmac_key: Some(\"<redacted>\")"),
            "{shown}"
        );
    }
}
