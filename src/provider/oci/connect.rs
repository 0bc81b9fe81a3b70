//! An OCI store's connection: its identity (endpoints, region, compartment, vault and master key, a
//! digest of the API key), its tenancy (whose KMS management writes share one budget), default
//! budget and client.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::OciProvider;
use crate::provider::SecretManager;
use crate::provider::registry::{Connection, credential};
use crate::secret_value::SecretValue;
use crate::stores::{CredentialDigest, StoreIdentity};

use super::{ApiKey, OciClient, OciConfig, OciSecrets, Service};

/// Default budget per API key. OCI documents no Vault secrets rate limit (UNCONFIRMED); this
/// stays well below what its API gateways commonly allow.
pub const DEFAULT_BUDGET: (u32, u32) = (10, 5);

/// The tenancy's KMS management writes: OCI allows 10 per second per tenancy [SEED]; the
/// tenancy's turnstile sends them one at a time, 100 ms after the previous answer.
pub const TENANCY_WRITES_PER_SECOND: u32 = 10;

/// The API key from a credentials Secret, or a message naming the missing keys (never values).
pub fn api_key(spec: &OciProvider, data: &BTreeMap<String, Vec<u8>>) -> Result<ApiKey, String> {
    let creds = &spec.credentials;
    let mut missing = Vec::new();
    let mut read = |key: &str| {
        let value = credential(data, key);
        if value.is_none() {
            missing.push(key.to_string());
        }
        value
    };
    let tenancy = read(&creds.tenancy_key);
    let user = read(&creds.user_key);
    let fingerprint = read(&creds.fingerprint_key);
    let private_key = read(&creds.private_key_key);
    let (Some(tenancy), Some(user), Some(fingerprint), Some(private_key)) =
        (tenancy, user, fingerprint, private_key)
    else {
        return Err(format!(
            "credentials Secret {} lacks {}",
            creds.secret_ref.name,
            missing.join(", ")
        ));
    };
    Ok(ApiKey {
        tenancy,
        user,
        fingerprint,
        private_key: SecretValue::new(private_key),
        passphrase: credential(data, &creds.passphrase_key).map(SecretValue::new),
    })
}

/// The client settings of a store: its region, key and endpoint overrides.
pub fn config(spec: &OciProvider, key: ApiKey) -> Result<OciConfig, String> {
    let mut config = OciConfig::new(key, &spec.region).map_err(|e| e.to_string())?;
    if let Some(endpoints) = &spec.endpoints {
        for (service, url) in [
            (Service::Vaults, &endpoints.vaults),
            (Service::Secrets, &endpoints.secrets),
            (Service::KmsManagement, &endpoints.kms_management),
        ] {
            if let Some(url) = url {
                config = config
                    .with_endpoint(service, url)
                    .map_err(|e| format!("provider.oci.endpoints: {e}"))?;
            }
        }
    }
    Ok(config)
}

/// The digest a runtime's identity holds instead of the API key.
pub fn key_digest(key: &ApiKey) -> CredentialDigest {
    CredentialDigest::of(&[
        key.tenancy.as_bytes(),
        key.user.as_bytes(),
        key.fingerprint.as_bytes(),
        key.private_key.expose(),
        key.passphrase
            .as_ref()
            .map(SecretValue::expose)
            .unwrap_or_default(),
    ])
}

pub fn connect(spec: &OciProvider, data: &BTreeMap<String, Vec<u8>>) -> Result<Connection, String> {
    let key = api_key(spec, data)?;
    let digest = key_digest(&key);
    let tenancy = key.tenancy.clone();
    let config = config(spec, key)?;
    let endpoints = vec![
        config.vaults_endpoint.clone(),
        config.secrets_endpoint.clone(),
    ];
    let identity = StoreIdentity {
        provider: super::client::PROVIDER,
        endpoint: endpoints.join(" "),
        region: config.region.clone(),
        // New secrets go to this vault with this key: stores differing in either never share.
        scope: format!(
            "{}/{} (key {})",
            spec.compartment_id, spec.vault_id, spec.key_id
        ),
        credential: digest,
        tenancy: Some(tenancy),
    };
    let (compartment, vault, master_key) = (
        spec.compartment_id.clone(),
        spec.vault_id.clone(),
        spec.key_id.clone(),
    );
    Ok(Connection {
        endpoints,
        region: config.region.clone(),
        identity,
        default_budget: DEFAULT_BUDGET,
        tenancy_writes_per_second: Some(TENANCY_WRITES_PER_SECOND),
        build: Box::new(move |gate, observer| {
            let client = OciClient::new(config)?
                .with_gate(gate)
                .with_observer(observer);
            Ok(
                Arc::new(OciSecrets::new(client, &compartment, &vault, &master_key))
                    as Arc<dyn SecretManager>,
            )
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{OciCredentials, OciEndpoints, SecretReference};

    const TEST_KEY: &str = include_str!("../../../tests/fixtures/oci/test-key.pem");

    fn spec(vault: &str) -> OciProvider {
        OciProvider {
            region: "eu-frankfurt-1".into(),
            compartment_id: "ocid1.tenancy.oc1..aaaatenancy".into(),
            vault_id: vault.into(),
            key_id: "ocid1.key.oc1.eu-frankfurt-1.aaaakey".into(),
            endpoints: Some(OciEndpoints {
                vaults: Some("http://127.0.0.1:9090/".into()),
                secrets: Some("http://127.0.0.1:9090".into()),
                kms_management: None,
            }),
            credentials: OciCredentials {
                secret_ref: SecretReference {
                    name: "oci-creds".into(),
                    namespace: None,
                },
                tenancy_key: "OCI_CLI_TENANCY".into(),
                user_key: "OCI_CLI_USER".into(),
                fingerprint_key: "OCI_CLI_FINGERPRINT".into(),
                private_key_key: "OCI_CLI_KEY_CONTENT".into(),
                passphrase_key: "OCI_CLI_PASSPHRASE".into(),
            },
        }
    }

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    fn full() -> BTreeMap<String, Vec<u8>> {
        data(&[
            ("OCI_CLI_TENANCY", "ocid1.tenancy.oc1..aaaatenancy"),
            ("OCI_CLI_USER", "ocid1.user.oc1..aaaauser"),
            (
                "OCI_CLI_FINGERPRINT",
                "9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93",
            ),
            ("OCI_CLI_KEY_CONTENT", TEST_KEY),
        ])
    }

    #[test]
    fn an_api_key_makes_one_identity_per_vault_key_and_credential_within_its_tenancy() {
        let c = connect(&spec("ocid1.vault.oc1.eu-frankfurt-1.aaaav1"), &full()).unwrap();
        assert_eq!(
            c.endpoints,
            ["http://127.0.0.1:9090", "http://127.0.0.1:9090"]
        );
        assert_eq!(
            c.identity.tenancy.as_deref(),
            Some("ocid1.tenancy.oc1..aaaatenancy")
        );
        assert!(!format!("{:?}", c.identity).contains("PRIVATE KEY"));
        let other_vault = connect(&spec("ocid1.vault.oc1.eu-frankfurt-1.aaaav2"), &full()).unwrap();
        assert_ne!(other_vault.identity, c.identity);
        assert_eq!(other_vault.identity.tenancy, c.identity.tenancy);
        let mut other_user = full();
        other_user.insert("OCI_CLI_USER".into(), b"ocid1.user.oc1..aaaaother".to_vec());
        assert_ne!(
            connect(&spec("ocid1.vault.oc1.eu-frankfurt-1.aaaav1"), &other_user)
                .unwrap()
                .identity,
            c.identity
        );
    }

    #[test]
    fn missing_keys_are_named_and_values_never_are() {
        let mut half = full();
        half.remove("OCI_CLI_KEY_CONTENT");
        half.remove("OCI_CLI_FINGERPRINT");
        let err = connect(&spec("ocid1.vault.oc1.eu-frankfurt-1.aaaav1"), &half)
            .err()
            .unwrap();
        assert!(
            err.contains("oci-creds")
                && err.contains("OCI_CLI_FINGERPRINT")
                && err.contains("OCI_CLI_KEY_CONTENT"),
            "{err}"
        );
        assert!(!err.contains("aaaauser"), "{err}");
        let mut bad = full();
        bad.insert("OCI_CLI_KEY_CONTENT".into(), b"not a key".to_vec());
        let err = connect(&spec("ocid1.vault.oc1.eu-frankfurt-1.aaaav1"), &bad)
            .err()
            .unwrap();
        assert!(!err.contains("not a key"), "{err}");
    }
}
