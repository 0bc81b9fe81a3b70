//! The provider registry: from a store's `ProviderSpec` and the data of its credentials Secret to
//! a [`Connection`] (the identity the store runtime is keyed by, the provider's default budget,
//! its endpoints) that builds the client. The one place that lists the providers: adding one is
//! one arm in each function here and its own folder.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::{ProviderSpec, SecretReference};
use crate::stores::StoreIdentity;

use super::{CallObserver, ProviderResult, RequestGate, SecretManager};

/// Builds the client of a connection once the runtime's gate and observer exist.
pub type Builder = Box<
    dyn FnOnce(
            Arc<dyn RequestGate>,
            Arc<dyn CallObserver>,
        ) -> ProviderResult<Arc<dyn SecretManager>>
        + Send,
>;

/// A store's provider, ready to be connected.
pub struct Connection {
    pub identity: StoreIdentity,
    pub region: String,
    /// API base URLs the client will call (checked against the operator's allowed endpoints).
    pub endpoints: Vec<String>,
    /// The provider's default budget: requests per second and burst, below its own limit.
    pub default_budget: (u32, u32),
    /// Where the provider throttles a class of writes for the whole tenancy
    /// ([`StoreIdentity::tenancy`]): how many per second, shared by every identity of the tenancy.
    pub tenancy_writes_per_second: Option<u32>,
    pub build: Builder,
}

/// The provider's name (`scaleway`), or `None` when the spec names none.
pub fn provider_name(spec: &ProviderSpec) -> Option<&'static str> {
    if spec.scaleway.is_some() {
        return Some(super::scaleway::client::PROVIDER);
    }
    if spec.thalassa.is_some() {
        return Some(super::thalassa::client::PROVIDER);
    }
    if spec.oci.is_some() {
        return Some(super::oci::client::PROVIDER);
    }
    None
}

/// Where the store's credentials are.
pub fn credentials_ref(spec: &ProviderSpec) -> Option<&SecretReference> {
    if let Some(scaleway) = &spec.scaleway {
        return Some(&scaleway.credentials.secret_ref);
    }
    if let Some(thalassa) = &spec.thalassa {
        return Some(&thalassa.credentials.secret_ref);
    }
    if let Some(oci) = &spec.oci {
        return Some(&oci.credentials.secret_ref);
    }
    None
}

/// The connection of a store whose credentials Secret holds `data`. Errors are for a person:
/// they name missing keys, never values.
pub fn connect(
    spec: &ProviderSpec,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<Connection, String> {
    if let Some(scaleway) = &spec.scaleway {
        return super::scaleway::connect::connect(scaleway, data);
    }
    if let Some(thalassa) = &spec.thalassa {
        return super::thalassa::connect::connect(thalassa, data);
    }
    if let Some(oci) = &spec.oci {
        return super::oci::connect::connect(oci, data);
    }
    Err("the store names no provider (supported: scaleway, thalassa, oci)".into())
}

/// A credential value: trimmed UTF-8, `None` when missing or empty.
pub fn credential(data: &BTreeMap<String, Vec<u8>>, key: &str) -> Option<String> {
    data.get(key)
        .and_then(|v| String::from_utf8(v.clone()).ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
