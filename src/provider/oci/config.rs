//! Client settings: the API key (user principal), the region, and the three hosts.
//!
//! The vault management and secret retrieval hosts follow regional templates; the KMS management host
//! is the vault's own `managementEndpoint` and must be given. Each host can be overridden (an emulator,
//! a private endpoint) the way the SDK's `service_endpoint` does it: scheme and host, and the client
//! appends the API's base path unless the override already ends with it.

use std::fmt;
use std::time::Duration;

use super::signing::{KeyError, KeyId, RequestSigner, is_fingerprint, is_ocid};
use crate::provider::retry::RetryPolicy;
use crate::secret_value::SecretValue;

/// The three services, each with its own host and base path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// Vault secrets management, `oci.vault.VaultsClient`.
    Vaults,
    /// Secret bundles (payloads), `oci.secrets.SecretsClient`.
    Secrets,
    /// Keys and key versions, `oci.key_management.KmsManagementClient`.
    KmsManagement,
}

impl Service {
    pub fn base_path(self) -> &'static str {
        match self {
            Service::Vaults | Service::KmsManagement => "/20180608",
            Service::Secrets => "/20190301",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Vaults => "vault management",
            Service::Secrets => "secret retrieval",
            Service::KmsManagement => "KMS management",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{field} is invalid: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// An API key: who signs (tenancy, user, fingerprint) and the private key. `Debug` never shows the key
/// or the passphrase.
#[derive(Clone)]
pub struct ApiKey {
    pub tenancy: String,
    pub user: String,
    pub fingerprint: String,
    /// PEM: PKCS#8, encrypted PKCS#8 or PKCS#1.
    pub private_key: SecretValue,
    pub passphrase: Option<SecretValue>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("tenancy", &self.tenancy)
            .field("user", &self.user)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    pub fn key_id(&self) -> KeyId {
        KeyId::new(&self.tenancy, &self.user, &self.fingerprint)
    }
}

#[derive(Clone, Debug)]
pub struct OciConfig {
    pub key: ApiKey,
    pub region: String,
    /// Host of each service, without the base path (`https://vaults.eu-frankfurt-1.oci.oraclecloud.com`).
    pub vaults_endpoint: String,
    pub secrets_endpoint: String,
    /// The vault's `managementEndpoint`; KMS calls fail with `InvalidArgument` without it.
    pub kms_management_endpoint: Option<String>,
    /// Limit for one HTTP attempt, answer body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Items per page when listing (`limit`).
    pub page_size: u32,
}

impl OciConfig {
    /// Checks the values as the SDK's config validation does, and that the key can be read.
    pub fn new(key: ApiKey, region: &str) -> Result<Self, ConfigError> {
        let invalid = |field, reason| ConfigError::Invalid { field, reason };
        if key.tenancy.trim().is_empty() {
            return Err(ConfigError::Missing("tenancy"));
        }
        if !is_ocid(key.tenancy.trim()) {
            return Err(invalid("tenancy", "not an OCID"));
        }
        if key.user.trim().is_empty() {
            return Err(ConfigError::Missing("user"));
        }
        if !is_ocid(key.user.trim()) {
            return Err(invalid("user", "not an OCID"));
        }
        if !is_fingerprint(key.fingerprint.trim()) {
            return Err(invalid(
                "fingerprint",
                "expected 16 lower-case hex pairs separated by colons",
            ));
        }
        if key.private_key.is_empty() {
            return Err(ConfigError::Missing("private key"));
        }
        let region = region.trim();
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                "region",
                "expected lower-case letters, digits and dashes, e.g. eu-frankfurt-1",
            ));
        }
        let key = ApiKey {
            tenancy: key.tenancy.trim().to_string(),
            user: key.user.trim().to_string(),
            fingerprint: key.fingerprint.trim().to_string(),
            ..key
        };
        let config = Self {
            vaults_endpoint: format!("https://vaults.{region}.oci.oraclecloud.com"),
            secrets_endpoint: format!("https://secrets.vaults.{region}.oci.oraclecloud.com"),
            kms_management_endpoint: None,
            key,
            region: region.to_string(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: write_window_retry(),
            page_size: 100,
        };
        config.signer()?;
        Ok(config)
    }

    /// Overrides the host of one service (`http://127.0.0.1:PORT` for the emulator).
    pub fn with_endpoint(mut self, service: Service, url: &str) -> Result<Self, ConfigError> {
        let url = url.trim().trim_end_matches('/');
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || reqwest::Url::parse(url).is_err()
        {
            return Err(ConfigError::Invalid {
                field: "endpoint",
                reason: "expected an http:// or https:// URL",
            });
        }
        let url = url.to_string();
        match service {
            Service::Vaults => self.vaults_endpoint = url,
            Service::Secrets => self.secrets_endpoint = url,
            Service::KmsManagement => self.kms_management_endpoint = Some(url),
        }
        Ok(self)
    }

    /// One host for all three services (an emulator serves them side by side).
    pub fn with_all_endpoints(self, url: &str) -> Result<Self, ConfigError> {
        self.with_endpoint(Service::Vaults, url)?
            .with_endpoint(Service::Secrets, url)?
            .with_endpoint(Service::KmsManagement, url)
    }

    /// The API base of a service: its host and base path. `None` for KMS without a management endpoint.
    pub fn base_url(&self, service: Service) -> Option<String> {
        let host = match service {
            Service::Vaults => &self.vaults_endpoint,
            Service::Secrets => &self.secrets_endpoint,
            Service::KmsManagement => self.kms_management_endpoint.as_ref()?,
        };
        let base = service.base_path();
        Some(if host.ends_with(base) {
            host.clone()
        } else {
            format!("{host}{base}")
        })
    }

    pub fn signer(&self) -> Result<RequestSigner, KeyError> {
        RequestSigner::from_pem(
            self.key.key_id(),
            &self.key.private_key,
            self.key.passphrase.as_ref(),
        )
    }
}

/// OCI refuses writes with 409 IncorrectState while a secret is CREATING or UPDATING, a window
/// of seconds after every write that is routine, not a failure: four attempts (0.2 s, 0.4 s,
/// 0.8 s apart) wait it out inside one operation instead of failing the reconcile.
fn write_window_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        ..RetryPolicy::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str = include_str!("../../../tests/fixtures/oci/test-key.pem");

    fn key() -> ApiKey {
        ApiKey {
            tenancy: "ocid1.tenancy.oc1..aaaatenancy".into(),
            user: "ocid1.user.oc1..aaaauser".into(),
            fingerprint: "9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93".into(),
            private_key: SecretValue::from(TEST_KEY),
            passphrase: None,
        }
    }

    #[test]
    fn hosts_and_overrides() {
        let c = OciConfig::new(key(), "eu-frankfurt-1").unwrap();
        assert_eq!(
            c.base_url(Service::Vaults).unwrap(),
            "https://vaults.eu-frankfurt-1.oci.oraclecloud.com/20180608"
        );
        assert_eq!(
            c.base_url(Service::Secrets).unwrap(),
            "https://secrets.vaults.eu-frankfurt-1.oci.oraclecloud.com/20190301"
        );
        assert_eq!(c.base_url(Service::KmsManagement), None);
        let c = c.with_all_endpoints("http://127.0.0.1:8443/").unwrap();
        assert_eq!(
            c.base_url(Service::KmsManagement).unwrap(),
            "http://127.0.0.1:8443/20180608"
        );
        let c = c
            .with_endpoint(Service::Secrets, "http://127.0.0.1:9/20190301")
            .unwrap();
        assert_eq!(
            c.base_url(Service::Secrets).unwrap(),
            "http://127.0.0.1:9/20190301"
        );
        assert!(c.with_endpoint(Service::Vaults, "ftp://x").is_err());
    }

    #[test]
    fn invalid_values() {
        let with = |edit: fn(&mut ApiKey)| {
            let mut k = key();
            edit(&mut k);
            OciConfig::new(k, "eu-frankfurt-1").unwrap_err()
        };
        assert_eq!(with(|k| k.tenancy.clear()), ConfigError::Missing("tenancy"));
        assert!(matches!(
            with(|k| k.user = "bob".into()),
            ConfigError::Invalid { field: "user", .. }
        ));
        assert!(matches!(
            with(|k| k.fingerprint = "aa:bb".into()),
            ConfigError::Invalid {
                field: "fingerprint",
                ..
            }
        ));
        assert_eq!(
            with(|k| k.private_key = SecretValue::from("nope")),
            ConfigError::Key(KeyError::NotPem)
        );
        assert!(OciConfig::new(key(), "EU_FRANKFURT").is_err());
        let shown = format!("{:?}", OciConfig::new(key(), "eu-frankfurt-1").unwrap());
        assert!(
            !shown.contains("PRIVATE KEY") && !shown.contains("MII"),
            "{shown}"
        );
    }
}
