//! Client settings: API URL, region, organisation, optional project, the KMS key new secrets are
//! bound to, and the credentials (a personal access token, or an OIDC client exchanged for access
//! tokens at `{api}/oidc/token`, as the official SDK and Terraform provider do).

use std::fmt;
use std::time::Duration;

use crate::provider::retry::RetryPolicy;

pub const DEFAULT_API_URL: &str = "https://api.thalassa.cloud";

/// A credential value (a personal access token or a client secret). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the client authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// Sent as `Authorization: Token <pat>`.
    PersonalAccessToken(Credential),
    /// OAuth 2.0 client credentials, exchanged for `Bearer` access tokens that are renewed before
    /// they expire.
    OidcClient {
        client_id: String,
        client_secret: Credential,
    },
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
}

#[derive(Clone, Debug)]
pub struct ThalassaConfig {
    /// Scheme and host (and optional prefix), e.g. `https://api.thalassa.cloud` or the emulator's
    /// `http://127.0.0.1:8080`. The client appends `/v1/secrets/{region}`.
    pub api_url: String,
    /// Region slug, e.g. `nl-01`.
    pub region: String,
    /// Sent as `X-Organisation-Identity`.
    pub organisation: String,
    /// Sent as `X-Project-Identity` when set: secrets are then project-scoped.
    pub project: Option<String>,
    /// Identity (or slug) of the KMS key new secrets are bound to, unless a secret names its own.
    pub kms_key: String,
    pub credentials: Credentials,
    /// Where OIDC clients get access tokens: `{api_url}/oidc/token`.
    pub token_url: String,
    /// Renew an access token when it has less than this left.
    pub token_refresh_margin: Duration,
    /// Limit for one HTTP attempt, answer body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
}

impl ThalassaConfig {
    /// Explicit values (from a store). `api_url` `None` means the public API.
    pub fn new(
        api_url: Option<&str>,
        region: &str,
        organisation: &str,
        project: Option<&str>,
        kms_key: &str,
        credentials: Credentials,
    ) -> Result<Self, ConfigError> {
        let api_url = api_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_API_URL)
            .trim_end_matches('/')
            .to_string();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://"))
            || reqwest::Url::parse(&api_url).is_err()
        {
            return Err(ConfigError::Invalid {
                field: "api url",
                reason: "must be an http:// or https:// URL",
            });
        }
        let region = region.trim();
        let slug_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !slug_ok {
            return Err(ConfigError::Invalid {
                field: "region",
                reason: "expected a region slug such as nl-01",
            });
        }
        let organisation = organisation.trim();
        if organisation.is_empty() {
            return Err(ConfigError::Missing("organisation"));
        }
        let header_safe = |s: &str| s.bytes().all(|b| (0x21..0x7f).contains(&b));
        if !header_safe(organisation) || project.is_some_and(|p| !header_safe(p.trim())) {
            return Err(ConfigError::Invalid {
                field: "organisation or project",
                reason: "must be printable ASCII without spaces",
            });
        }
        if kms_key.trim().is_empty() {
            return Err(ConfigError::Missing("KMS key"));
        }
        match &credentials {
            Credentials::PersonalAccessToken(t) if t.expose().trim().is_empty() => {
                return Err(ConfigError::Missing("personal access token"));
            }
            Credentials::OidcClient {
                client_id,
                client_secret,
            } if client_id.trim().is_empty() || client_secret.expose().trim().is_empty() => {
                return Err(ConfigError::Missing("OIDC client id and secret"));
            }
            _ => {}
        }
        Ok(Self {
            token_url: format!("{api_url}/oidc/token"),
            api_url,
            region: region.to_string(),
            organisation: organisation.to_string(),
            project: project
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            kms_key: kms_key.trim().to_string(),
            credentials,
            token_refresh_margin: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        })
    }

    /// `{api_url}/v1/secrets/{region}`.
    pub fn base_url(&self) -> String {
        format!("{}/v1/secrets/{}", self.api_url, self.region)
    }

    /// The scope label: organisation, and project when set.
    pub fn scope(&self) -> String {
        match &self.project {
            Some(p) => format!("{}/{p}", self.organisation),
            None => self.organisation.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat() -> Credentials {
        Credentials::PersonalAccessToken(Credential::new("canary-pat"))
    }

    #[test]
    fn explicit_values_and_defaults() {
        let c = ThalassaConfig::new(None, "nl-01", "org", Some(" p1 "), "key", pat()).unwrap();
        assert_eq!(c.base_url(), "https://api.thalassa.cloud/v1/secrets/nl-01");
        assert_eq!(c.token_url, "https://api.thalassa.cloud/oidc/token");
        assert_eq!(c.project.as_deref(), Some("p1"));
        assert_eq!(c.scope(), "org/p1");
        assert!(!format!("{c:?}").contains("canary"));
        let c = ThalassaConfig::new(
            Some("http://127.0.0.1:9/"),
            "nl-01",
            "org",
            Some(""),
            "k",
            pat(),
        )
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:9/v1/secrets/nl-01");
        assert_eq!(c.project, None);
    }

    #[test]
    fn missing_and_invalid_values() {
        let new =
            |url, region, org, key, creds| ThalassaConfig::new(url, region, org, None, key, creds);
        assert!(new(Some("ftp://x"), "nl-01", "o", "k", pat()).is_err());
        assert!(new(None, "NL 01", "o", "k", pat()).is_err());
        assert_eq!(
            new(None, "nl-01", " ", "k", pat()).unwrap_err(),
            ConfigError::Missing("organisation")
        );
        assert!(new(None, "nl-01", "o r g", "k", pat()).is_err());
        assert_eq!(
            new(None, "nl-01", "o", "", pat()).unwrap_err(),
            ConfigError::Missing("KMS key")
        );
        let empty = Credentials::PersonalAccessToken(Credential::new(" "));
        assert!(new(None, "nl-01", "o", "k", empty).is_err());
        let half = Credentials::OidcClient {
            client_id: "id".into(),
            client_secret: Credential::new(""),
        };
        assert!(new(None, "nl-01", "o", "k", half).is_err());
    }
}
