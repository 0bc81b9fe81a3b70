//! Thalassa Cloud Secrets Manager: configuration, wire types, HTTP client, and its
//! [`SecretManager`] implementation.
//!
//! Thalassa addresses a secret by its path (the [`SecretId`] is the full path, `/app/db/password`),
//! creates version 1 in the create call, has no metadata update, no version descriptions, no
//! disable (only destroy) and no restore. Each secret is bound to a KMS key whose state decides
//! whether its values can be read and written; see `errors` for how that is told apart.

pub mod client;
pub mod config;
pub mod connect;
pub mod errors;
pub mod path;
pub mod wire;

use async_trait::async_trait;

pub use client::{Operation, ThalassaClient};
pub use config::{ConfigError, Credential, Credentials, ThalassaConfig};

use crate::provider::{
    AccessedVersion, Capabilities, CreatedSecret, ErrorKind, NewSecret, NewVersion, ProviderError,
    ProviderResult, RemoteSecret, RemoteVersion, RevisionSelector, SecretId, SecretManager,
    SecretUpdate,
};

/// What Thalassa offers, for the planner.
pub const CAPABILITIES: Capabilities = Capabilities {
    update_metadata: false,
    protection: false,
    disable_versions: false,
    version_descriptions: false,
    create_requires_initial_version: true,
    ephemeral_policy: false,
    tags: false,
    listing: crate::provider::Listing::WithVersions,
    owner_marks: true,
    version_removal: crate::provider::VersionRemoval::Destroy,
    removal_spares_previous: false,
};

#[async_trait]
impl SecretManager for ThalassaClient {
    fn provider(&self) -> &'static str {
        client::PROVIDER
    }

    fn region(&self) -> &str {
        &self.config().region
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    /// The secret at `{path}/{name}`: a path is unique, so there are never several.
    async fn find_secret(&self, name: &str, path: &str) -> ProviderResult<Option<RemoteSecret>> {
        ThalassaClient::find_secret(self, name, path).await
    }

    async fn list_all_secrets(&self) -> ProviderResult<Vec<RemoteSecret>> {
        ThalassaClient::list_secrets(self).await
    }

    async fn get_secret(&self, id: &SecretId) -> ProviderResult<RemoteSecret> {
        ThalassaClient::get_secret(self, id).await
    }

    async fn create_secret(
        &self,
        secret: &NewSecret,
        initial_version: Option<&NewVersion>,
    ) -> ProviderResult<CreatedSecret> {
        let Some(initial) = initial_version else {
            return Err(ProviderError::new(
                client::PROVIDER,
                Operation::CreateSecret.name(),
                ErrorKind::Unsupported,
                "Thalassa creates a secret with its first version: an initial version is required",
            ));
        };
        ThalassaClient::create_secret(self, secret, initial).await
    }

    async fn update_secret(
        &self,
        _id: &SecretId,
        _update: &SecretUpdate,
    ) -> ProviderResult<RemoteSecret> {
        Err(ProviderError::unsupported(
            client::PROVIDER,
            "update_secret",
        ))
    }

    /// Removes the secret and every version at once; Thalassa has no restore.
    async fn delete_secret(&self, id: &SecretId) -> ProviderResult<()> {
        ThalassaClient::delete_secret(self, id).await
    }

    async fn set_protected(
        &self,
        _id: &SecretId,
        _protected: bool,
    ) -> ProviderResult<RemoteSecret> {
        Err(ProviderError::unsupported(
            client::PROVIDER,
            "set_protected",
        ))
    }

    async fn list_versions(&self, id: &SecretId) -> ProviderResult<Vec<RemoteVersion>> {
        ThalassaClient::list_versions(self, id).await
    }

    async fn create_version(
        &self,
        id: &SecretId,
        version: &NewVersion,
    ) -> ProviderResult<RemoteVersion> {
        ThalassaClient::create_version(self, id, version).await
    }

    async fn access_version(
        &self,
        id: &SecretId,
        revision: RevisionSelector,
    ) -> ProviderResult<AccessedVersion> {
        ThalassaClient::access_version(self, id, revision).await
    }

    async fn set_version_enabled(
        &self,
        _id: &SecretId,
        _revision: u64,
        _enabled: bool,
    ) -> ProviderResult<RemoteVersion> {
        Err(ProviderError::unsupported(
            client::PROVIDER,
            "set_version_enabled",
        ))
    }

    /// Destroys the version (`destroySecretVersion`) at once: its value is gone for good.
    async fn delete_version(
        &self,
        id: &SecretId,
        revision: u64,
        _window: std::time::Duration,
    ) -> ProviderResult<()> {
        ThalassaClient::delete_version(self, id, revision).await
    }
}
