//! A Scaleway store's connection: its identity (API URL, region, project, a digest of the secret
//! key), default budget and client.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::ScalewayProvider;
use crate::provider::SecretManager;
use crate::provider::registry::{Connection, credential};
use crate::stores::{CredentialDigest, StoreIdentity};

use super::{ScalewayClient, ScalewayConfig};

/// Default budget: well below the 50 requests per second per API key that Scaleway's gateway
/// announces in `X-Ratelimit-Limit`, so other tools using the same key keep room.
pub const DEFAULT_BUDGET: (u32, u32) = (20, 10);

pub fn connect(
    spec: &ScalewayProvider,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<Connection, String> {
    let creds = &spec.credentials;
    let secret_key = credential(data, &creds.secret_key_key).ok_or_else(|| {
        format!(
            "credentials Secret {} has no key {}",
            creds.secret_ref.name, creds.secret_key_key
        )
    })?;
    let access_key = credential(data, &creds.access_key_key);
    let config = ScalewayConfig::new(
        spec.api_url.as_deref(),
        spec.region.as_str(),
        &spec.project_id,
        access_key.as_deref(),
        &secret_key,
    )
    .map_err(|e| e.to_string())?;
    let identity = StoreIdentity {
        provider: super::client::PROVIDER,
        endpoint: config.api_url.clone(),
        region: config.region.clone(),
        scope: config.project_id.clone(),
        credential: CredentialDigest::of(&[secret_key.as_bytes()]),
        tenancy: None,
    };
    Ok(Connection {
        endpoints: vec![config.api_url.clone()],
        region: config.region.clone(),
        identity,
        default_budget: DEFAULT_BUDGET,
        tenancy_writes_per_second: None,
        build: Box::new(move |gate, observer| {
            let client = ScalewayClient::new(config)?
                .with_gate(gate)
                .with_observer(observer);
            Ok(Arc::new(client) as Arc<dyn SecretManager>)
        }),
    })
}
