//! The stores' own status: SecretStores and ClusterSecretStores get a `Ready` condition from
//! their credentials (can they be read and used, is the endpoint allowed) and from the runtime's
//! experience (its sweeps are the probes: credentials refused, provider failing), with
//! `observedGeneration`. A store whose runtime fails is woken at once; a healthy one is looked
//! at every few minutes, which costs Kubernetes reads only (a probe call is made only for a store
//! no object uses, at most hourly).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::api::conditions::{DesiredCondition, READY, Reason, find, merge_condition};
use crate::api::{ClusterSecretStore, SecretStore, SecretStoreStatus, StoreSpecExt};
use crate::provider::registry;
use crate::stores::health::Health;
use crate::stores::resolve::connect_store;
use crate::stores::runtime::MAX_SWEEP_INTERVAL;
use crate::stores::{Interest, ObjectKey};

use super::reconcile::Context;
use super::status::patch_status;

pub const SECRET_STORE: &str = "SecretStore";
pub const CLUSTER_SECRET_STORE: &str = "ClusterSecretStore";

/// How often a healthy store is looked at again.
const HEALTHY_REQUEUE: Duration = Duration::from_secs(300);
/// `lastValidatedTime` is refreshed at most this often while nothing changes.
const VALIDATED_EVERY: Duration = Duration::from_secs(600);

/// Wake-ups for the store controllers (sent by the runtimes when a store's health changes).
pub struct Wakes {
    /// By namespace (`None`: the controller of all namespaces).
    stores: HashMap<Option<String>, UnboundedSender<ObjectRef<SecretStore>>>,
    cluster_stores: UnboundedSender<ObjectRef<ClusterSecretStore>>,
}

impl Wakes {
    pub fn send(&self, key: &ObjectKey) {
        match key.kind {
            SECRET_STORE => {
                let sender = self
                    .stores
                    .get(&Some(key.namespace.clone()))
                    .or_else(|| self.stores.get(&None));
                if let Some(sender) = sender {
                    let _ = sender.unbounded_send(ObjectRef::new(&key.name).within(&key.namespace));
                }
            }
            CLUSTER_SECRET_STORE => {
                let _ = self
                    .cluster_stores
                    .unbounded_send(ObjectRef::new(&key.name));
            }
            _ => {}
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// The store controllers for `namespaces` (all when empty), and how to wake them.
pub fn controllers(
    ctx: Arc<Context>,
    namespaces: &[String],
    term: CancellationToken,
) -> (Wakes, impl std::future::Future<Output = ()>) {
    let (cluster_tx, cluster_rx) = unbounded();
    let client = ctx.client.clone();
    let scopes: Vec<Option<String>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().cloned().map(Some).collect()
    };
    let mut senders = HashMap::new();
    let mut watched = Vec::new();
    for scope in scopes {
        let (tx, rx) = unbounded();
        senders.insert(scope.clone(), tx);
        let api: Api<SecretStore> = match &scope {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        watched.push((api, rx));
    }
    let cluster_api: Api<ClusterSecretStore> = Api::all(client);
    let (cluster_ctx, term_cluster) = (ctx.clone(), term.clone());
    let namespaced = futures::future::join_all(watched.into_iter().map(move |(api, wakes)| {
        let ctx = ctx.clone();
        let term = term.clone();
        async move {
            Controller::new(api, watcher::Config::default().any_semantic())
                .reconcile_on(wakes)
                .graceful_shutdown_on(term.cancelled_owned())
                .run(reconcile_store, error_policy, ctx)
                .for_each(|_| async {})
                .await;
        }
    }));
    let cluster = async move {
        Controller::new(cluster_api, watcher::Config::default().any_semantic())
            .reconcile_on(cluster_rx)
            .graceful_shutdown_on(term_cluster.cancelled_owned())
            .run(reconcile_cluster_store, error_policy, cluster_ctx)
            .for_each(|_| async {})
            .await;
    };
    let all = async move {
        tokio::join!(namespaced, cluster);
    };
    (
        Wakes {
            stores: senders,
            cluster_stores: cluster_tx,
        },
        all,
    )
}

fn error_policy<K>(_store: Arc<K>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(error = %error, "store status reconcile failed");
    Action::requeue(Duration::from_secs(30))
}

async fn reconcile_store(store: Arc<SecretStore>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = store.namespace().unwrap_or_default();
    let api: Api<SecretStore> = Api::namespaced(ctx.client.clone(), &namespace);
    let key = ObjectKey {
        kind: SECRET_STORE,
        namespace: namespace.clone(),
        name: store.name_any(),
    };
    let display = format!("SecretStore {namespace}/{}", store.name_any());
    check(
        &api,
        &store,
        &store.spec,
        store.status.as_ref(),
        &namespace,
        key,
        &display,
        &ctx,
    )
    .await
}

async fn reconcile_cluster_store(
    store: Arc<ClusterSecretStore>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let api: Api<ClusterSecretStore> = Api::all(ctx.client.clone());
    let creds_ns = registry::credentials_ref(&store.spec.provider)
        .and_then(|r| r.namespace.clone())
        .unwrap_or_default();
    if !ctx.namespaces.is_empty() && !ctx.namespaces.contains(&creds_ns) {
        // An operator limited to some namespaces may not read credentials elsewhere; the
        // operator that watches that namespace reports on this store.
        return Ok(Action::await_change());
    }
    let key = ObjectKey {
        kind: CLUSTER_SECRET_STORE,
        namespace: String::new(),
        name: store.name_any(),
    };
    let display = format!("ClusterSecretStore {}", store.name_any());
    check(
        &api,
        &store,
        &store.spec,
        store.status.as_ref(),
        &creds_ns,
        key,
        &display,
        &ctx,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn check<K, S>(
    api: &Api<K>,
    store: &K,
    spec: &S,
    status: Option<&SecretStoreStatus>,
    credentials_namespace: &str,
    key: ObjectKey,
    display: &str,
    ctx: &Context,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    S: StoreSpecExt,
{
    let before = status.cloned().unwrap_or_default();
    let generation = store.meta().generation;
    let (key_kind, key_namespace) = (key.kind, key.namespace.clone());
    let provider = spec.provider();
    let (condition, region, requeue) = match connect_store(
        &ctx.client,
        display,
        provider,
        spec.request_budget(),
        credentials_namespace,
        &ctx.runtimes,
    )
    .await
    {
        Err(problem) => (
            Some(DesiredCondition::not_ready(
                problem.reason,
                problem.message,
                generation,
            )),
            None,
            Duration::from_secs(60),
        ),
        Ok((runtime, _)) => {
            runtime.register(
                key,
                Interest {
                    secret: None,
                    refresh: MAX_SWEEP_INTERVAL,
                },
            );
            // Objects' sweeps keep the health current; a store no object uses is probed here.
            let health = if runtime.objects() <= 1 {
                runtime.probe().await
            } else {
                runtime.health()
            };
            let region = Some(runtime.region().to_owned());
            match health {
                Health::Healthy => (
                    Some(DesiredCondition::ready(
                        Reason::Valid,
                        format!(
                            "{} accepted the credentials (region {})",
                            runtime.provider(),
                            runtime.region()
                        ),
                        generation,
                    )),
                    region,
                    HEALTHY_REQUEUE,
                ),
                Health::Failing(f) => (
                    Some(DesiredCondition::not_ready(f.reason, f.message, generation)),
                    region,
                    f.next_probe
                        .saturating_duration_since(tokio::time::Instant::now())
                        .max(Duration::from_secs(5)),
                ),
                // Not probed yet (its first sweep waits for the budget): look again soon.
                Health::Unknown => (None, region, Duration::from_secs(10)),
            }
        }
    };
    let now = jiff::Timestamp::now();
    let mut status = before.clone();
    status.provider = registry::provider_name(provider).map(str::to_owned);
    if region.is_some() {
        status.region = region;
    }
    if let Some(condition) = condition {
        ctx.store_reasons.set(
            key_kind,
            &key_namespace,
            &store.name_any(),
            condition.reason,
        );
        let was = find(&before.conditions, READY)
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()));
        status.conditions = merge_condition(&status.conditions, condition, now);
        let is = find(&status.conditions, READY)
            .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()));
        let stale = before.last_validated_time.as_ref().is_none_or(|t| {
            t.0.duration_until(now)
                > jiff::SignedDuration::try_from(VALIDATED_EVERY).unwrap_or_default()
        });
        if was != is || stale {
            status.last_validated_time = Some(Time(now));
        }
        status.observed_generation = generation;
    }
    if status != before {
        patch_status(api, &store.name_any(), &status).await?;
    }
    Ok(Action::requeue(requeue))
}
