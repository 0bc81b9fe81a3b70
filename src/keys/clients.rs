//! KMS clients for ManagedKeys, one per store identity and management endpoint. Each passes its
//! store runtime's budget (and with it the tenancy's KMS write budget), so ManagedKeys and the
//! secrets of one identity never exceed one budget together. The credentials Secret is read only
//! when a client is made; the runtime's identity (which holds a digest of the credentials) keys
//! the cache, so changed credentials make a new client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::Client;

use crate::api::OciProvider;
use crate::api::conditions::Reason;
use crate::provider::keys::KeyManager;
use crate::provider::oci::connect::{api_key, config};
use crate::provider::oci::{OciClient, OciKeys, Service};
use crate::stores::resolve::credentials_data;
use crate::stores::{ResolvedStore, Runtimes, StoreIdentity, StoreProblem, StoreRuntime};

/// A client and the runtime whose budget it passes (held, so the runtime outlives idle spells).
struct Entry {
    _runtime: Arc<StoreRuntime>,
    keys: Arc<dyn KeyManager>,
}

#[derive(Default)]
pub struct KeyClients(Mutex<HashMap<(StoreIdentity, String), Entry>>);

impl KeyClients {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(StoreIdentity, String), Entry>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The KMS client of `store`'s identity on `endpoint`.
    pub async fn client(
        &self,
        kube: &Client,
        store: &ResolvedStore,
        oci: &OciProvider,
        endpoint: &str,
        runtimes: &Runtimes,
    ) -> Result<Arc<dyn KeyManager>, StoreProblem> {
        let key = (store.runtime.identity().clone(), endpoint.to_string());
        if let Some(entry) = self.lock().get(&key) {
            return Ok(entry.keys.clone());
        }
        let (namespace, name) = &store.credentials;
        let display = &store.display;
        let data = credentials_data(kube, display, namespace, name).await?;
        let problem = |reason, message: String| StoreProblem { reason, message };
        let api_key = api_key(oci, &data)
            .map_err(|m| problem(Reason::CredentialsNotFound, format!("{display}: {m}")))?;
        let settings = config(oci, api_key)
            .and_then(|c| {
                c.with_endpoint(Service::KmsManagement, endpoint)
                    .map_err(|e| format!("managementEndpoint: {e}"))
            })
            .map_err(|m| problem(Reason::InvalidSpec, format!("{display}: {m}")))?;
        let client = OciClient::new(settings)
            .map_err(|e| problem(Reason::CredentialsNotFound, format!("{display}: {e}")))?
            .with_gate(store.runtime.gate())
            .with_observer(runtimes.call_observer(display));
        let mut keys: Arc<dyn KeyManager> = Arc::new(OciKeys::new(client));
        if runtimes.read_only() {
            keys = Arc::new(crate::provider::read_only::ReadOnlyKeys(keys));
        }
        let mut all = self.lock();
        // Another reconcile may have made it meanwhile: keep the first.
        let entry = all.entry(key).or_insert(Entry {
            _runtime: store.runtime.clone(),
            keys,
        });
        Ok(entry.keys.clone())
    }
}
