//! Store resolution: a ManagedSecret's `storeRef` → SecretStore or ClusterSecretStore → credentials
//! Secret → a provider client behind `Arc<dyn SecretManager>`. Clients are cached by their settings
//! (the secret key enters the cache key only as a digest).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{Api, Client};
use sha2::{Digest, Sha256};

use crate::api::conditions::Reason;
use crate::api::validation::cluster_store_allows_namespace;
use crate::api::{
    ClusterSecretStore, ProviderSpec, ScalewayProvider, SecretStore, StoreKind, StoreRef,
};
use crate::provider::scaleway::{ScalewayClient, ScalewayConfig};
use crate::provider::{CallObserver, SecretManager};

/// A store that cannot be used, with the reason reported on the ManagedSecret.
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
    pub provider: Arc<dyn SecretManager>,
    pub spec: ProviderSpec,
    /// `SecretStore/<ns>/<name>` or `ClusterSecretStore/<name>`, for messages.
    pub display: String,
}

/// Provider clients by settings, so a reconcile does not build a new HTTP client each time.
#[derive(Default)]
pub struct ProviderCache {
    clients: Mutex<HashMap<String, Arc<dyn SecretManager>>>,
    observer: Option<Arc<dyn CallObserver>>,
}

impl ProviderCache {
    /// A cache whose clients report every call to `observer` (metrics).
    pub fn with_observer(observer: Arc<dyn CallObserver>) -> Self {
        Self {
            clients: Default::default(),
            observer: Some(observer),
        }
    }

    fn scaleway(
        &self,
        provider: &ScalewayProvider,
        access_key: Option<&str>,
        secret_key: &str,
    ) -> Result<Arc<dyn SecretManager>, String> {
        let token_digest: String = Sha256::digest(secret_key.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let cache_key = format!(
            "scaleway|{}|{}|{}|{token_digest}",
            provider.api_url.as_deref().unwrap_or(""),
            provider.region,
            provider.project_id
        );
        let mut clients = self.clients.lock().expect("provider cache lock");
        if let Some(client) = clients.get(&cache_key) {
            return Ok(client.clone());
        }
        let config = ScalewayConfig::new(
            provider.api_url.as_deref(),
            provider.region.as_str(),
            &provider.project_id,
            access_key,
            secret_key,
        )
        .map_err(|e| e.to_string())?;
        let mut scaleway = ScalewayClient::new(config).map_err(|e| e.to_string())?;
        if let Some(observer) = &self.observer {
            scaleway = scaleway.with_observer(observer.clone());
        }
        let client: Arc<dyn SecretManager> = Arc::new(scaleway);
        if clients.len() > 256 {
            clients.clear();
        }
        clients.insert(cache_key, client.clone());
        Ok(client)
    }
}

/// Resolve the store a ManagedSecret in `namespace` refers to.
pub async fn resolve_store(
    client: &Client,
    namespace: &str,
    store_ref: &StoreRef,
    cache: &ProviderCache,
) -> Result<ResolvedStore, StoreProblem> {
    let kube_err = |what: String, e: kube::Error| {
        problem(Reason::StoreNotReady, format!("reading {what} failed: {e}"))
    };
    let (spec, credentials_namespace, display) = match store_ref.kind {
        StoreKind::SecretStore => {
            let api: Api<SecretStore> = Api::namespaced(client.clone(), namespace);
            let display = format!("SecretStore {}/{}", namespace, store_ref.name);
            let store = api
                .get_opt(&store_ref.name)
                .await
                .map_err(|e| kube_err(display.clone(), e))?
                .ok_or_else(|| {
                    problem(
                        Reason::StoreNotReady,
                        format!("{display} does not exist (a SecretStore must be in the ManagedSecret's namespace)"),
                    )
                })?;
            (store.spec.provider, namespace.to_owned(), display)
        }
        StoreKind::ClusterSecretStore => {
            let api: Api<ClusterSecretStore> = Api::all(client.clone());
            let display = format!("ClusterSecretStore {}", store_ref.name);
            let store = api
                .get_opt(&store_ref.name)
                .await
                .map_err(|e| kube_err(display.clone(), e))?
                .ok_or_else(|| {
                    problem(Reason::StoreNotReady, format!("{display} does not exist"))
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
            let creds_ns = store
                .spec
                .provider
                .scaleway
                .as_ref()
                .and_then(|s| s.credentials.secret_ref.namespace.clone())
                .unwrap_or_default();
            (store.spec.provider, creds_ns, display)
        }
    };
    let Some(scaleway) = &spec.scaleway else {
        return Err(problem(
            Reason::StoreNotReady,
            format!("{display} has no provider configured (supported: scaleway)"),
        ));
    };
    let creds = &scaleway.credentials;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &credentials_namespace);
    let secret_name = &creds.secret_ref.name;
    let secret = secrets
        .get_opt(secret_name)
        .await
        .map_err(|e| kube_err(format!("credentials Secret {credentials_namespace}/{secret_name}"), e))?
        .ok_or_else(|| {
            problem(
                Reason::StoreNotReady,
                format!("credentials Secret {credentials_namespace}/{secret_name} of {display} does not exist"),
            )
        })?;
    let read = |key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let secret_key = read(&creds.secret_key_key).ok_or_else(|| {
        problem(
            Reason::StoreNotReady,
            format!(
                "credentials Secret {credentials_namespace}/{secret_name} has no key {}",
                creds.secret_key_key
            ),
        )
    })?;
    let access_key = read(&creds.access_key_key);
    let provider = cache
        .scaleway(scaleway, access_key.as_deref(), &secret_key)
        .map_err(|e| problem(Reason::StoreNotReady, format!("{display}: {e}")))?;
    Ok(ResolvedStore {
        provider,
        spec,
        display,
    })
}
