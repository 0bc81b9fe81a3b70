//! Store resolution: a `storeRef` → SecretStore or ClusterSecretStore → credentials Secret →
//! the provider connection (registry) → the runtime of its identity. Problems end as a reason and
//! a message for the object's Ready condition.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{Api, Client};

use crate::api::conditions::Reason;
use crate::api::validation::cluster_store_allows_namespace;
use crate::api::{
    ClusterSecretStore, ProviderSpec, RemotePaths, SecretStore, StoreKind, StoreRef, StoreSpecExt,
};
use crate::provider::registry;

use super::{Runtimes, StoreRuntime};

/// A store that cannot be used, with the reason reported on the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreProblem {
    pub reason: Reason,
    pub message: String,
}

fn problem(reason: Reason, message: impl Into<String>) -> StoreProblem {
    StoreProblem {
        reason,
        message: message.into(),
    }
}

/// A usable store.
#[derive(Clone)]
pub struct ResolvedStore {
    pub runtime: Arc<StoreRuntime>,
    pub spec: ProviderSpec,
    /// `SecretStore ns/name` or `ClusterSecretStore name`, for messages and metrics.
    pub display: String,
    /// The folder this namespace's remote secrets live under: `/<namespace>` for a
    /// ClusterSecretStore with `remotePaths: PerNamespace`, else `/`.
    pub folder: String,
    /// The credentials Secret (namespace, name), so a change of it wakes the object.
    pub credentials: (String, String),
}

/// The display name of a store reference as seen from `namespace`.
pub fn store_display(namespace: &str, store_ref: &StoreRef) -> String {
    match store_ref.kind {
        StoreKind::SecretStore => format!("SecretStore {namespace}/{}", store_ref.name),
        StoreKind::ClusterSecretStore => format!("ClusterSecretStore {}", store_ref.name),
    }
}

/// Resolves the store an object in `namespace` refers to, and its runtime.
pub async fn resolve_store(
    client: &Client,
    namespace: &str,
    store_ref: &StoreRef,
    runtimes: &Runtimes,
) -> Result<ResolvedStore, StoreProblem> {
    let kube_err = |what: String, e: kube::Error| {
        problem(Reason::StoreNotReady, format!("reading {what} failed: {e}"))
    };
    let display = store_display(namespace, store_ref);
    let (spec, budget, credentials_namespace, folder) = match store_ref.kind {
        StoreKind::SecretStore => {
            let api: Api<SecretStore> = Api::namespaced(client.clone(), namespace);
            let store = api
                .get_opt(&store_ref.name)
                .await
                .map_err(|e| kube_err(display.clone(), e))?
                .ok_or_else(|| {
                    problem(
                        Reason::StoreNotFound,
                        format!("{display} does not exist (a SecretStore must be in the object's namespace)"),
                    )
                })?;
            let budget = store.spec.request_budget();
            (
                store.spec.provider,
                budget,
                namespace.to_owned(),
                "/".to_owned(),
            )
        }
        StoreKind::ClusterSecretStore => {
            let api: Api<ClusterSecretStore> = Api::all(client.clone());
            let store = api
                .get_opt(&store_ref.name)
                .await
                .map_err(|e| kube_err(display.clone(), e))?
                .ok_or_else(|| {
                    problem(Reason::StoreNotFound, format!("{display} does not exist"))
                })?;
            let needs_labels = store
                .spec
                .allowed_namespaces
                .as_ref()
                .is_some_and(|a| a.selector.is_some());
            let labels = if needs_labels {
                let ns_api: Api<Namespace> = Api::all(client.clone());
                ns_api
                    .get_opt(namespace)
                    .await
                    .map_err(|e| kube_err(format!("namespace {namespace}"), e))?
                    .and_then(|n| n.metadata.labels)
                    .unwrap_or_default()
            } else {
                Default::default()
            };
            cluster_store_allows_namespace(&store_ref.name, &store.spec, namespace, &labels)
                .map_err(|m| problem(Reason::StoreNotAllowed, m))?;
            let creds_ns = registry::credentials_ref(&store.spec.provider)
                .and_then(|r| r.namespace.clone())
                .unwrap_or_default();
            let folder = match store.spec.remote_paths.unwrap_or_default() {
                RemotePaths::PerNamespace => format!("/{namespace}"),
                RemotePaths::Shared => "/".to_owned(),
            };
            let budget = store.spec.request_budget();
            (store.spec.provider, budget, creds_ns, folder)
        }
    };
    let (runtime, credentials) = connect_store(
        client,
        &display,
        &spec,
        budget,
        &credentials_namespace,
        runtimes,
    )
    .await?;
    Ok(ResolvedStore {
        runtime,
        spec,
        display,
        folder,
        credentials,
    })
}

/// The data of a store's credentials Secret, or the problem reading it (never a value).
pub async fn credentials_data(
    client: &Client,
    display: &str,
    namespace: &str,
    name: &str,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, StoreProblem> {
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| {
            problem(
                Reason::StoreNotReady,
                format!("reading credentials Secret {namespace}/{name} failed: {e}"),
            )
        })?
        .ok_or_else(|| {
            problem(
                Reason::CredentialsNotFound,
                format!("credentials Secret {namespace}/{name} of {display} does not exist"),
            )
        })?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

/// A store's runtime, from its provider spec and its credentials Secret in `credentials_namespace`
/// (also what the store status controller checks). Returns the credentials' (namespace, name).
pub async fn connect_store(
    client: &Client,
    display: &str,
    spec: &ProviderSpec,
    budget: Option<crate::api::RequestBudget>,
    credentials_namespace: &str,
    runtimes: &Runtimes,
) -> Result<(Arc<StoreRuntime>, (String, String)), StoreProblem> {
    let secret_ref = registry::credentials_ref(spec).ok_or_else(|| {
        problem(
            Reason::StoreNotReady,
            format!("{display} has no provider configured (supported: scaleway, thalassa, oci)"),
        )
    })?;
    let secret_name = secret_ref.name.clone();
    let data = credentials_data(client, display, credentials_namespace, &secret_name).await?;
    let connection = registry::connect(spec, &data)
        .map_err(|m| problem(Reason::CredentialsNotFound, format!("{display}: {m}")))?;
    for endpoint in &connection.endpoints {
        runtimes
            .endpoints()
            .check(endpoint)
            .map_err(|m| problem(Reason::EndpointNotAllowed, format!("{display}: {m}")))?;
    }
    let runtime = runtimes
        .runtime(connection, budget, display)
        .map_err(|m| problem(Reason::StoreNotReady, format!("{display}: {m}")))?;
    Ok((runtime, (credentials_namespace.to_owned(), secret_name)))
}
