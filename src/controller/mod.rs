//! The controller: observe, plan, execute, conclude; and its wiring on kube-runtime.
//!
//! - [`intent`]: a ManagedSecret spec resolved and checked (`InvalidSpec` otherwise);
//! - [`observe`]: the target, the source and (through the store runtime) the remote secret;
//! - [`plan`]: the pure planner, its conclusion (status, Events, requeue), backoff and cleanup;
//! - [`execute`]: performs a plan's steps; [`status`] writes status; [`events`] publishes Events;
//! - [`target`]: the target Secret's access decision and body; [`indexes`]: which objects a watched
//!   Secret or store matters to; [`store_status`]: the stores' own Ready condition;
//! - [`drift_key`]: the drift-detection HMAC key, from a flag, a mounted file, or random;
//! - [`reconcile`]: one reconcile and the finalizer; this file wires the Controllers.
//!
//! Watches: ManagedSecrets trigger on what a person changes (generation, Keyward's annotations,
//! finalizers, deletion), never on Keyward's own status writes; Secrets are watched as metadata
//! only and mapped through the index (targets by their claim annotation), so memory grows with the
//! managed objects, not with the cluster's Secrets; stores through the index; and the store
//! runtimes wake the objects whose remote secret changed.

pub mod drift_key;
pub mod events;
pub mod execute;
pub mod indexes;
pub mod intent;
pub mod observe;
pub mod own_writes;
pub mod plan;
pub mod reconcile;
pub mod status;
pub mod store_status;
pub mod target;

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::well_known::{FORCE_SYNC_ANNOTATION, ROTATE_ANNOTATION};
use crate::api::{ClusterSecretStore, ManagedSecret, SecretStore, StoreKind};
use crate::leader::LeaderElectionArgs;
use crate::mirror::{CLAIM_ANNOTATION, HmacKey};
use crate::stores::{EndpointPolicy, ObjectKey, RuntimeMode, Runtimes};
use crate::telemetry::{Metrics, ObjectReasons, Readiness, TelemetryArgs, spawn_http};
use drift_key::KeySource;
use events::EventRecorder;
use indexes::Index;

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
    /// How many ManagedSecrets are reconciled at once (they mostly wait on their store's budget).
    #[arg(long, env = "KEYWARD_CONCURRENCY", default_value_t = 32)]
    pub concurrency: u16,
    /// Provider API endpoints Keyward may send credentials to, comma-separated: origins such as
    /// `https://api.scaleway.com`, `http://127.0.0.1:*` (any port) or `https://*.example.com`
    /// (any subdomain), or `*` for any. Default: the providers' public endpoints only.
    #[arg(long, env = "KEYWARD_ALLOWED_ENDPOINTS", value_delimiter = ',')]
    pub allowed_endpoints: Vec<String>,
    /// This cluster's name in the owner mark on remote secrets Keyward creates (default: the uid
    /// of the `kube-system` namespace). Keep it stable: secrets marked with another cluster's
    /// name are not this cluster's to change or delete.
    #[arg(long, env = "KEYWARD_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// Workload restarts (for spec.rollout) in any one minute across the cluster, at most; 0 for
    /// no limit. Restarts over the limit wait for a turn.
    #[arg(long, env = "KEYWARD_MAX_RESTARTS_PER_MINUTE", default_value_t = 30)]
    pub max_restarts_per_minute: u32,
    /// Benchmark baseline only: every reconcile reads its remote secret and versions itself and no
    /// request budget applies (what batching and budgets are measured against).
    #[arg(long, env = "KEYWARD_NAIVE_PROVIDER_ACCESS", hide = true, default_value_t = false, action = clap::ArgAction::Set)]
    pub naive_provider_access: bool,
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
            .field("max_restarts_per_minute", &self.max_restarts_per_minute)
            .field("allowed_endpoints", &self.allowed_endpoints)
            .field("cluster_id", &self.cluster_id)
            .field("naive_provider_access", &self.naive_provider_access)
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

/// A client for `context` (or the in-cluster or current one) that names itself `user_agent` to
/// the API server (its audit log then tells the operator's requests from the tools').
pub async fn kube_client(context: Option<&str>, user_agent: &str) -> anyhow::Result<Client> {
    let mut config = match context {
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
    config.headers.push((
        "user-agent".parse().expect("a header name"),
        user_agent
            .parse()
            .context("the user agent is not a header value")?,
    ));
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

/// The ManagedSecrets a Secret matters to: the one that claims it as its target, and those that
/// push from it or use it as their store's credentials.
fn secret_to_managed(
    index: &Index,
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<ManagedSecret>> {
    let namespace = secret.namespace().unwrap_or_default();
    let mut refs = index.users_of_secret(&namespace, &secret.name_any());
    if let Some(owner) = secret.annotations().get(CLAIM_ANNOTATION) {
        refs.push(ObjectRef::new(owner).within(&namespace));
    }
    refs
}

/// What a person changes on a ManagedSecret: its spec (generation), Keyward's annotations, its
/// finalizers and its deletion. Keyward's own status writes change none of these, so they never
/// trigger a reconcile.
fn changed_by_a_person(ms: &ManagedSecret) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    ms.metadata.uid.hash(&mut hasher);
    ms.metadata.generation.hash(&mut hasher);
    ms.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    ms.metadata.finalizers.hash(&mut hasher);
    let annotations = ms.annotations();
    annotations.get(ROTATE_ANNOTATION).hash(&mut hasher);
    annotations.get(FORCE_SYNC_ANNOTATION).hash(&mut hasher);
    Some(hasher.finish())
}

/// Run one Controller over one namespace (or all when `namespace` is `None`).
async fn run_controller(
    ctx: Arc<Context>,
    namespace: Option<String>,
    concurrency: u16,
    wakes: futures::channel::mpsc::UnboundedReceiver<ObjectRef<ManagedSecret>>,
    term: CancellationToken,
) {
    let client = ctx.client.clone();
    // `Api<PartialObjectMeta<Secret>>` makes metadata-only requests: no Secret data is listed.
    let (ms_api, secret_api, store_api): (
        Api<ManagedSecret>,
        Api<PartialObjectMeta<Secret>>,
        Api<SecretStore>,
    ) = match &namespace {
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
    let (reader, writer) = reflector::store();
    ctx.own_writes.cache(namespace.clone(), reader.clone());
    let objects = watcher(ms_api, watcher::Config::default().any_semantic())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(changed_by_a_person, PredicateConfig::default());
    let secrets = watcher(secret_api, watcher::Config::default().any_semantic())
        .default_backoff()
        .touched_objects();
    let (for_secrets, for_stores, for_cluster_stores) = (ctx.clone(), ctx.clone(), ctx.clone());
    Controller::for_stream(objects, reader)
        .with_config(kube::runtime::Config::default().concurrency(concurrency))
        .watches_stream(secrets, move |secret| {
            secret_to_managed(&for_secrets.index, &secret)
        })
        .watches(store_api, watcher::Config::default(), move |store| {
            for_stores.index.users_of_store(
                StoreKind::SecretStore,
                store.namespace().as_deref(),
                &store.name_any(),
            )
        })
        .watches(
            cluster_store_api,
            watcher::Config::default(),
            move |store| {
                for_cluster_stores.index.users_of_store(
                    StoreKind::ClusterSecretStore,
                    None,
                    &store.name_any(),
                )
            },
        )
        .reconcile_on(wakes)
        .graceful_shutdown_on(term.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile error");
            }
        })
        .await;
}

/// Forwards the store runtimes' wake-ups to the controller of the object's namespace (ManagedSecrets)
/// or to the store status controllers, until `term` ends.
async fn route_wakes(
    mut wakes: mpsc::UnboundedReceiver<ObjectKey>,
    managed: HashMap<
        Option<String>,
        futures::channel::mpsc::UnboundedSender<ObjectRef<ManagedSecret>>,
    >,
    stores: store_status::Wakes,
    term: CancellationToken,
) {
    loop {
        let key = tokio::select! {
            () = term.cancelled() => return,
            key = wakes.recv() => match key { Some(k) => k, None => return },
        };
        match key.kind {
            reconcile::KIND => {
                let target = managed
                    .get(&Some(key.namespace.clone()))
                    .or_else(|| managed.get(&None));
                if let Some(sender) = target {
                    let _ = sender.unbounded_send(ObjectRef::new(&key.name).within(&key.namespace));
                }
            }
            _ => stores.send(&key),
        }
    }
}

/// This cluster's identity for owner marks.
pub async fn cluster_id(client: &Client, configured: Option<&str>) -> anyhow::Result<String> {
    if let Some(id) = configured.map(str::trim).filter(|s| !s.is_empty()) {
        return Ok(id.to_owned());
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let system = namespaces
        .get_opt("kube-system")
        .await
        .context("reading the kube-system namespace (the cluster's identity in owner marks)")?;
    system
        .and_then(|ns| ns.metadata.uid)
        .context("the kube-system namespace does not exist: set --cluster-id (KEYWARD_CLUSTER_ID)")
}

/// `keyward run`: run the operator until SIGTERM or Ctrl-C, reconciling only while leader.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    crate::telemetry::init_logging(args.telemetry.log_format, &args.telemetry.log_filter)?;
    // First, so that a missing or bad key file stops the start before anything is bound.
    let hmac = hmac_key(args.drift_key_source())?;
    let endpoints = EndpointPolicy::parse(args.allowed_endpoints.iter().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("--allowed-endpoints: {e}"))?;
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
    let client = kube_client(
        args.context.as_deref(),
        &format!("keyward/{}", env!("CARGO_PKG_VERSION")),
    )
    .await?;
    let cluster = cluster_id(&client, args.cluster_id.as_deref()).await?;
    let crash_after = std::env::var("KEYWARD_TEST_CRASH_AFTER")
        .ok()
        .filter(|_| cfg!(debug_assertions));
    let leader = crate::leader::start(&args.leader, client.clone(), &metrics)?;
    // One limit for the process, across leader terms.
    let restarts = Arc::new(crate::rollout::limiter::RestartLimiter::new(
        args.max_restarts_per_minute,
    ));
    readiness.set_ready(true);
    tracing::info!(namespaces = ?args.namespaces, cluster = %cluster, "keyward operator starting");
    let mode = RuntimeMode {
        batched: !args.naive_provider_access,
        read_only: false,
    };
    let result = crate::leader::run_while_leader(
        leader.subscribe(),
        shutdown.clone(),
        std::time::Duration::from_secs(3),
        |term| {
            let (wake_tx, wake_rx) = mpsc::unbounded_channel();
            // Runtimes live for one term: a replica that stops leading stops sweeping.
            let ctx = Arc::new(Context {
                client: client.clone(),
                events: EventRecorder::new(
                    client.clone(),
                    "keyward",
                    std::env::var("POD_NAME").ok(),
                ),
                hmac: hmac.clone(),
                runtimes: Runtimes::new(wake_tx, metrics.clone(), mode, endpoints.clone()),
                index: Index::default(),
                metrics: metrics.clone(),
                reasons: ObjectReasons::new(reconcile::KIND, metrics.clone()),
                store_reasons: crate::telemetry::StoreReasons::new(metrics.clone()),
                cluster_id: cluster.clone(),
                namespaces: args.namespaces.clone(),
                crash_after: crash_after.clone(),
                consumers: crate::rollout::consumers::Consumers::default(),
                restarts: restarts.clone(),
                own_writes: own_writes::OwnWrites::default(),
            });
            let watched = args.namespaces.clone();
            let namespaces: Vec<Option<String>> = if watched.is_empty() {
                vec![None]
            } else {
                watched.iter().cloned().map(Some).collect()
            };
            let concurrency = args.concurrency;
            let keys = Arc::new(crate::keys::KeyContext {
                shared: ctx.clone(),
                clients: crate::keys::clients::KeyClients::default(),
                reasons: ObjectReasons::new(crate::keys::KIND, metrics.clone()),
                own_writes: own_writes::OwnWrites::default(),
            });
            async move {
                tracing::info!("leading: reconciling ManagedSecrets, ManagedKeys and stores");
                let mut senders = HashMap::new();
                let mut controllers = Vec::new();
                let key_controllers: Vec<_> = namespaces
                    .iter()
                    .map(|ns| {
                        crate::keys::run_controller(
                            keys.clone(),
                            ns.clone(),
                            concurrency,
                            term.clone(),
                        )
                    })
                    .collect();
                for ns in namespaces {
                    let (tx, rx) = futures::channel::mpsc::unbounded();
                    senders.insert(ns.clone(), tx);
                    controllers.push(run_controller(
                        ctx.clone(),
                        ns,
                        concurrency,
                        rx,
                        term.clone(),
                    ));
                }
                let (store_wakes, store_controllers) =
                    store_status::controllers(ctx.clone(), &watched, term.clone());
                tokio::join!(
                    futures::future::join_all(controllers),
                    futures::future::join_all(key_controllers),
                    store_controllers,
                    route_wakes(wake_rx, senders, store_wakes, term.clone()),
                );
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
