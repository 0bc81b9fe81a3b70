//! The provider an end-to-end world runs on: its emulator (strict auth, one credential), the
//! credentials Secret and store a user would write, a client talking to the emulator directly (as a
//! console user or Terraform would), and the provider's own way of taking a key away. The scenarios
//! of `e2e_controller` run once per [`Cloud`], so each provider is held to the same flows.
//!
//! OCI has no tokens: its world's credential is the test API key (tests/fixtures/oci) that the
//! emulator's seed registers. [`TOKEN`] stands for that key; any other token for a key the emulator
//! does not know (another private key under the same fingerprint), so its signatures fail.
#![allow(dead_code)]

use std::sync::Arc;

use keyward::emulator::{
    EmulatorConfig, EmulatorHandle, ScalewayEmulatorConfig, ThalassaEmulatorConfig,
};
use keyward::provider::oci::{ApiKey, OciClient, OciConfig, OciSecrets};
use keyward::provider::scaleway::{ScalewayClient, ScalewayConfig};
use keyward::provider::thalassa::{Credential, Credentials, ThalassaClient, ThalassaConfig};
use keyward::provider::{Capabilities, SecretManager};
use keyward::secret_value::SecretValue;
use serde_json::json;

use crate::support::oci;

pub const PROJECT: &str = "11111111-2222-3333-4444-555555555555";
pub const TOKEN: &str = "0b0e4a5e-1111-4222-8333-944444444444";
/// The Thalassa organisation the world's token belongs to.
pub const ORGANISATION: &str = "e2e-org";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    Scaleway,
    Thalassa,
    Oci,
}

impl Cloud {
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Scaleway => "scaleway",
            Cloud::Thalassa => "thalassa",
            Cloud::Oci => "oci",
        }
    }

    pub fn region(self) -> &'static str {
        match self {
            Cloud::Scaleway => "fr-par",
            Cloud::Thalassa => keyward::emulator::thalassa::DEFAULT_REGION,
            Cloud::Oci => oci::REGION,
        }
    }

    pub fn capabilities(self) -> Capabilities {
        match self {
            Cloud::Scaleway => keyward::provider::scaleway::CAPABILITIES,
            Cloud::Thalassa => keyward::provider::thalassa::CAPABILITIES,
            Cloud::Oci => keyward::provider::oci::CAPABILITIES,
        }
    }

    /// An emulator that accepts only `token` (for the world's project or organisation; on OCI the
    /// seed's API key, with OCI's limits, write window and KMS write budget).
    pub async fn emulator(self, token: &str) -> EmulatorHandle {
        let config = match self {
            Cloud::Oci => return oci::emulator(Default::default()).await,
            Cloud::Scaleway => EmulatorConfig::scaleway_for_tests(ScalewayEmulatorConfig {
                tokens: vec![(token.to_owned(), PROJECT.parse().unwrap())],
                ..ScalewayEmulatorConfig::default()
            }),
            Cloud::Thalassa => EmulatorConfig::thalassa_for_tests(ThalassaEmulatorConfig {
                personal_tokens: vec![(token.to_owned(), ORGANISATION.to_owned())],
                ..ThalassaEmulatorConfig::default()
            }),
        };
        keyward::emulator::spawn(config).await.expect("emulator")
    }

    /// The `stringData` of a credentials Secret holding `token`, under the provider's own names.
    pub fn credentials(self, token: &str) -> serde_json::Value {
        match self {
            Cloud::Scaleway => {
                json!({"SCW_ACCESS_KEY": "SCWXXXXXXXXXXXXXXXXX", "SCW_SECRET_KEY": token})
            }
            Cloud::Thalassa => json!({"THALASSA_PERSONAL_ACCESS_TOKEN": token}),
            Cloud::Oci => json!({
                "OCI_CLI_TENANCY": oci::TENANCY, "OCI_CLI_USER": oci::USER,
                "OCI_CLI_FINGERPRINT": oci::FINGERPRINT, "OCI_CLI_KEY_CONTENT": oci_private_key(token),
            }),
        }
    }

    /// `spec.provider` of a store on `api_url` whose credentials are the Secret `creds` (in
    /// `creds_namespace` for a ClusterSecretStore).
    pub fn provider_spec(
        self,
        api_url: &str,
        creds: &str,
        creds_namespace: Option<&str>,
    ) -> serde_json::Value {
        let mut secret_ref = json!({"name": creds});
        if let Some(ns) = creds_namespace {
            secret_ref["namespace"] = json!(ns);
        }
        match self {
            Cloud::Scaleway => json!({"scaleway": {
                "region": self.region(), "projectId": PROJECT, "apiUrl": api_url,
                "credentials": {"secretRef": secret_ref},
            }}),
            Cloud::Thalassa => json!({"thalassa": {
                "region": self.region(), "organisation": ORGANISATION,
                "kmsKey": keyward::emulator::thalassa::DEFAULT_KEY, "apiUrl": api_url,
                "credentials": {"secretRef": secret_ref},
            }}),
            Cloud::Oci => json!({"oci": {
                "region": self.region(), "compartmentId": oci::TENANCY,
                "vaultId": oci::VAULT, "keyId": oci::KEY,
                "endpoints": {"vaults": api_url, "secrets": api_url},
                "credentials": {"secretRef": secret_ref},
            }}),
        }
    }

    /// The Terraform ID of version `revision` of secret `id`, where the provider has such IDs for
    /// `remote.adopt.terraformId` (Scaleway's `{region}/{id}/{revision}`).
    pub fn terraform_id(self, id: &str, revision: u64) -> Option<String> {
        match self {
            Cloud::Scaleway => Some(format!("{}/{id}/{revision}", self.region())),
            Cloud::Thalassa | Cloud::Oci => None,
        }
    }

    /// Another spelling of a secret that `remote.adopt.secretId` accepts besides its id, where the
    /// provider has one: OCI's secret name in the vault.
    pub fn adoptable_name(self, secret: &keyward::provider::RemoteSecret) -> Option<String> {
        match self {
            Cloud::Oci => Some(keyward::provider::oci::names::secret_name(
                &secret.path,
                &secret.name,
            )),
            Cloud::Scaleway | Cloud::Thalassa => None,
        }
    }

    /// A SecretStore `name` on `api_url` with the credentials Secret `creds`.
    pub fn store_json(self, name: &str, api_url: &str, creds: &str) -> serde_json::Value {
        json!({
            "apiVersion": "keyward.dev/v1alpha1", "kind": "SecretStore",
            "metadata": {"name": name},
            "spec": {"provider": self.provider_spec(api_url, creds, None)},
        })
    }

    /// A client of the emulator with the world's project or organisation and `token`.
    pub fn client(self, base_url: &str, token: &str) -> Arc<dyn SecretManager> {
        match self {
            Cloud::Scaleway => Arc::new(scaleway_client(base_url, token)),
            Cloud::Thalassa => {
                let config = ThalassaConfig::new(
                    Some(base_url),
                    self.region(),
                    ORGANISATION,
                    None,
                    keyward::emulator::thalassa::DEFAULT_KEY,
                    Credentials::PersonalAccessToken(Credential::new(token)),
                )
                .expect("Thalassa config");
                Arc::new(ThalassaClient::new(config).expect("Thalassa client"))
            }
            Cloud::Oci => Arc::new(OciSecrets::new(
                oci_client(base_url, token),
                oci::TENANCY,
                oci::VAULT,
                oci::KEY,
            )),
        }
    }

    /// Takes the encryption key of remote secret `id` away (`disabled: true`) or gives it back, the
    /// provider's own way: Scaleway's per-secret key switch; on Thalassa and OCI the state of the
    /// store's KMS key (master encryption key), set through the emulator's admin API as a KMS
    /// administrator would.
    pub async fn set_key_disabled(self, emu: &EmulatorHandle, id: &str, disabled: bool) {
        match self {
            Cloud::Scaleway if disabled => emu.disable_key(id.to_owned()),
            Cloud::Scaleway => emu.enable_key(id),
            Cloud::Thalassa => {
                let state = if disabled { "disabled" } else { "active" };
                set_thalassa_key_state(emu, state).await
            }
            Cloud::Oci => {
                let state = if disabled { "DISABLED" } else { "ENABLED" };
                oci::set_key_state(emu, oci::KEY, state).await
            }
        }
    }
}

/// The PEM private key a credentials Secret holds for `token` (see the module's note on OCI).
fn oci_private_key(token: &str) -> &'static str {
    if token == TOKEN {
        oci::PRIVATE_KEY
    } else {
        oci::WRONG_PRIVATE_KEY
    }
}

/// An OCI client of an emulator (all three services on it) with the API key `token` stands for.
pub fn oci_client(base_url: &str, token: &str) -> OciClient {
    let key = ApiKey {
        tenancy: oci::TENANCY.into(),
        user: oci::USER.into(),
        fingerprint: oci::FINGERPRINT.into(),
        private_key: SecretValue::from(oci_private_key(token)),
        passphrase: None,
    };
    let config = OciConfig::new(key, oci::REGION)
        .and_then(|c| c.with_all_endpoints(base_url))
        .expect("OCI config");
    OciClient::new(config).expect("OCI client")
}

/// Sets the state (`active`, `disabled`, `pending_deletion`) of the Thalassa emulator's default
/// KMS key.
pub async fn set_thalassa_key_state(emu: &EmulatorHandle, state: &str) {
    let url = format!(
        "{}/emulator/thalassa/keys/{}/status",
        emu.base_url(),
        keyward::emulator::thalassa::DEFAULT_KEY
    );
    let response = reqwest::Client::new()
        .put(url)
        .json(&json!({"status": state}))
        .send()
        .await
        .expect("emulator admin API");
    assert!(
        response.status().is_success(),
        "setting the key {state}: {}",
        response.status()
    );
}

/// A Scaleway client of an emulator with the world's project and this token.
pub fn scaleway_client(base_url: &str, token: &str) -> ScalewayClient {
    ScalewayClient::new(
        ScalewayConfig::new(Some(base_url), "fr-par", PROJECT, None, token).unwrap(),
    )
    .unwrap()
}
