//! A Thalassa store's connection: its identity (API URL, region, organisation and project, a digest
//! of the credentials), default budget and client.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::ThalassaProvider;
use crate::provider::SecretManager;
use crate::provider::registry::{Connection, credential};
use crate::stores::{CredentialDigest, StoreIdentity};

use super::{Credential, Credentials, ThalassaClient, ThalassaConfig};

/// Default budget. Thalassa publishes no rate limit (UNCONFIRMED); this stays well below what an
/// API gateway commonly allows per token.
pub const DEFAULT_BUDGET: (u32, u32) = (10, 5);

pub fn connect(
    spec: &ThalassaProvider,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<Connection, String> {
    let creds = &spec.credentials;
    let secret = &creds.secret_ref.name;
    // A personal access token wins when both are there, as in Thalassa's own tools.
    let credentials = match credential(data, &creds.personal_access_token_key) {
        Some(pat) => Credentials::PersonalAccessToken(Credential::new(pat)),
        None => match (
            credential(data, &creds.client_id_key),
            credential(data, &creds.client_secret_key),
        ) {
            (Some(client_id), Some(client_secret)) => Credentials::OidcClient {
                client_id,
                client_secret: Credential::new(client_secret),
            },
            _ => {
                return Err(format!(
                    "credentials Secret {secret} has neither {} nor both {} and {}",
                    creds.personal_access_token_key, creds.client_id_key, creds.client_secret_key
                ));
            }
        },
    };
    let digest = match &credentials {
        Credentials::PersonalAccessToken(pat) => CredentialDigest::of(&[pat.expose().as_bytes()]),
        Credentials::OidcClient {
            client_id,
            client_secret,
        } => CredentialDigest::of(&[client_id.as_bytes(), client_secret.expose().as_bytes()]),
    };
    let config = ThalassaConfig::new(
        spec.api_url.as_deref(),
        &spec.region,
        &spec.organisation,
        spec.project.as_deref(),
        &spec.kms_key,
        credentials,
    )
    .map_err(|e| e.to_string())?;
    let identity = StoreIdentity {
        provider: super::client::PROVIDER,
        endpoint: config.api_url.clone(),
        region: config.region.clone(),
        // The client binds new secrets to its key: stores with different keys must not share one.
        scope: format!("{} (key {})", config.scope(), config.kms_key),
        credential: digest,
        tenancy: None,
    };
    Ok(Connection {
        endpoints: vec![config.api_url.clone()],
        region: config.region.clone(),
        identity,
        default_budget: DEFAULT_BUDGET,
        tenancy_writes_per_second: None,
        build: Box::new(move |gate, observer| {
            let client = ThalassaClient::new(config)?
                .with_gate(gate)
                .with_observer(observer);
            Ok(Arc::new(client) as Arc<dyn SecretManager>)
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{SecretReference, ThalassaCredentials};

    fn spec(kms_key: &str) -> ThalassaProvider {
        ThalassaProvider {
            region: "nl-01".into(),
            organisation: "org".into(),
            project: Some("proj".into()),
            api_url: Some("http://127.0.0.1:9090/".into()),
            kms_key: kms_key.into(),
            credentials: ThalassaCredentials {
                secret_ref: SecretReference {
                    name: "creds".into(),
                    namespace: None,
                },
                personal_access_token_key: "THALASSA_PERSONAL_ACCESS_TOKEN".into(),
                client_id_key: "THALASSA_CLIENT_ID".into(),
                client_secret_key: "THALASSA_CLIENT_SECRET".into(),
            },
        }
    }

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_token_or_a_client_and_an_identity_per_scope_key_and_credential() {
        let pat = data(&[("THALASSA_PERSONAL_ACCESS_TOKEN", " canary-pat \n")]);
        let c = connect(&spec("k1"), &pat).unwrap();
        assert_eq!(c.endpoints, ["http://127.0.0.1:9090"]);
        assert_eq!(
            (c.region.as_str(), c.default_budget),
            ("nl-01", DEFAULT_BUDGET)
        );
        assert_eq!(c.identity.label(), "thalassa/nl-01/org/proj (key k1)");
        assert!(!format!("{:?}", c.identity).contains("canary"));

        let client = data(&[
            ("THALASSA_CLIENT_ID", "id"),
            ("THALASSA_CLIENT_SECRET", "s"),
        ]);
        let by_client = connect(&spec("k1"), &client).unwrap();
        assert_ne!(
            by_client.identity, c.identity,
            "other credentials, other runtime"
        );
        let both: BTreeMap<_, _> = pat.clone().into_iter().chain(client.clone()).collect();
        assert_eq!(
            connect(&spec("k1"), &both).unwrap().identity,
            c.identity,
            "the token wins"
        );
        assert_ne!(
            connect(&spec("k2"), &pat).unwrap().identity,
            c.identity,
            "other key, other runtime"
        );

        let half = data(&[("THALASSA_CLIENT_ID", "id")]);
        let err = connect(&spec("k1"), &half).err().unwrap();
        assert!(
            err.contains("creds") && err.contains("THALASSA_CLIENT_SECRET"),
            "{err}"
        );
        assert!(!err.contains("id\""), "{err}");
        let err = connect(
            &spec("k1"),
            &data(&[("THALASSA_PERSONAL_ACCESS_TOKEN", "  ")]),
        )
        .err()
        .unwrap();
        assert!(err.contains("THALASSA_PERSONAL_ACCESS_TOKEN"), "{err}");
    }
}
