//! Client settings, from the Scaleway environment conventions or from explicit values (a store).

use std::fmt;
use std::time::Duration;

use crate::provider::retry::RetryPolicy;

pub const DEFAULT_API_URL: &str = "https://api.scaleway.com";
pub const DEFAULT_REGION: &str = "fr-par";

/// The IAM secret key sent as `X-Auth-Token`. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
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
}

#[derive(Clone, Debug)]
pub struct ScalewayConfig {
    /// Scheme and host (and optional prefix), e.g. `https://api.scaleway.com` or
    /// `http://127.0.0.1:8080` for the emulator. The client appends
    /// `/secret-manager/v1beta1/regions/{region}`.
    pub api_url: String,
    pub region: String,
    /// Project searched by `find_secret` and given to new secrets.
    pub project_id: String,
    /// Identifies the key in logs; never sent.
    pub access_key: Option<String>,
    pub secret_key: AuthToken,
    /// Limit for one HTTP attempt, answer body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Items per page when listing.
    pub page_size: u32,
}

impl ScalewayConfig {
    /// Explicit values (from a SecretStore). `api_url` `None` means the public API.
    pub fn new(
        api_url: Option<&str>,
        region: &str,
        project_id: &str,
        access_key: Option<&str>,
        secret_key: &str,
    ) -> Result<Self, ConfigError> {
        let api_url = api_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_API_URL)
            .trim_end_matches('/')
            .to_string();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                field: "api url",
                reason: "must start with http:// or https://",
            });
        }
        if reqwest::Url::parse(&api_url).is_err() {
            return Err(ConfigError::Invalid {
                field: "api url",
                reason: "not a URL",
            });
        }
        let region = region.trim();
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ConfigError::Invalid {
                field: "region",
                reason: "expected lower-case letters, digits and dashes, e.g. fr-par",
            });
        }
        if project_id.trim().is_empty() {
            return Err(ConfigError::Missing("project id"));
        }
        if secret_key.trim().is_empty() {
            return Err(ConfigError::Missing("secret key"));
        }
        Ok(Self {
            api_url,
            region: region.to_string(),
            project_id: project_id.trim().to_string(),
            access_key: access_key.map(str::to_string),
            secret_key: AuthToken::new(secret_key.trim()),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            page_size: 100,
        })
    }

    /// `SCW_SECRET_KEY`, `SCW_DEFAULT_PROJECT_ID` (required), `SCW_ACCESS_KEY`,
    /// `SCW_DEFAULT_REGION` (default `fr-par`), `SCW_API_URL` (default the public API).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ScalewayConfig::from_env`], reading variables through `lookup` (testable).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let secret_key = get("SCW_SECRET_KEY").ok_or(ConfigError::Missing("SCW_SECRET_KEY"))?;
        let project_id =
            get("SCW_DEFAULT_PROJECT_ID").ok_or(ConfigError::Missing("SCW_DEFAULT_PROJECT_ID"))?;
        let region = get("SCW_DEFAULT_REGION").unwrap_or_else(|| DEFAULT_REGION.to_string());
        Self::new(
            get("SCW_API_URL").as_deref(),
            &region,
            &project_id,
            get("SCW_ACCESS_KEY").as_deref(),
            &secret_key,
        )
    }

    /// `{api_url}/secret-manager/v1beta1/regions/{region}`.
    pub fn base_url(&self) -> String {
        format!(
            "{}/secret-manager/v1beta1/regions/{}",
            self.api_url, self.region
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_conventions() {
        let c = ScalewayConfig::from_lookup(lookup(&[
            ("SCW_SECRET_KEY", "11111111-2222-3333-4444-555555555555"),
            ("SCW_DEFAULT_PROJECT_ID", "p"),
            ("SCW_ACCESS_KEY", "SCWXXXXXXXXXXXXXXXXX"),
            ("SCW_API_URL", "http://127.0.0.1:8080/"),
        ]))
        .unwrap();
        assert_eq!(
            c.base_url(),
            "http://127.0.0.1:8080/secret-manager/v1beta1/regions/fr-par"
        );
        assert_eq!(c.access_key.as_deref(), Some("SCWXXXXXXXXXXXXXXXXX"));
        assert!(!format!("{c:?}").contains("11111111"));

        let c = ScalewayConfig::from_lookup(lookup(&[
            ("SCW_SECRET_KEY", "t"),
            ("SCW_DEFAULT_PROJECT_ID", "p"),
            ("SCW_DEFAULT_REGION", "nl-ams"),
        ]))
        .unwrap();
        assert_eq!(
            c.base_url(),
            "https://api.scaleway.com/secret-manager/v1beta1/regions/nl-ams"
        );
    }

    #[test]
    fn missing_and_invalid_values() {
        assert_eq!(
            ScalewayConfig::from_lookup(lookup(&[("SCW_DEFAULT_PROJECT_ID", "p")])).unwrap_err(),
            ConfigError::Missing("SCW_SECRET_KEY")
        );
        assert_eq!(
            ScalewayConfig::from_lookup(lookup(&[("SCW_SECRET_KEY", "t")])).unwrap_err(),
            ConfigError::Missing("SCW_DEFAULT_PROJECT_ID")
        );
        assert!(ScalewayConfig::new(Some("ftp://x"), "fr-par", "p", None, "t").is_err());
        assert!(ScalewayConfig::new(None, "fr/par", "p", None, "t").is_err());
        assert!(ScalewayConfig::new(None, "fr-par", "p", None, " ").is_err());
    }
}
