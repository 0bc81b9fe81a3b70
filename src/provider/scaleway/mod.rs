//! Scaleway Secret Manager v1beta1: configuration, wire types, HTTP client, and its
//! [`SecretManager`] implementation.

pub mod client;
pub mod config;
pub mod connect;
pub mod errors;
pub mod wire;

use async_trait::async_trait;

pub use client::{ListSecretsFilter, Operation, ScalewayClient, normalize_path};
pub use config::{AuthToken, ConfigError, ScalewayConfig};

use crate::provider::{
    AccessedVersion, Capabilities, CreatedSecret, NewSecret, NewVersion, ProviderResult,
    RemoteSecret, RemoteVersion, RevisionSelector, SecretId, SecretManager, SecretUpdate,
};

/// What Scaleway Secret Manager can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    update_metadata: true,
    protection: true,
    disable_versions: true,
    version_descriptions: true,
    create_requires_initial_version: false,
    ephemeral_policy: true,
    tags: true,
    listing: crate::provider::Listing::WithVersions,
    owner_marks: true,
    version_removal: crate::provider::VersionRemoval::Delete,
    removal_spares_previous: false,
};

#[async_trait]
impl SecretManager for ScalewayClient {
    fn provider(&self) -> &'static str {
        client::PROVIDER
    }

    fn region(&self) -> &str {
        &self.config().region
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn list_all_secrets(&self) -> ProviderResult<Vec<RemoteSecret>> {
        ScalewayClient::list_secrets(self, &ListSecretsFilter::default()).await
    }

    async fn find_secret(&self, name: &str, path: &str) -> ProviderResult<Option<RemoteSecret>> {
        ScalewayClient::find_secret(self, name, path).await
    }

    async fn get_secret(&self, id: &SecretId) -> ProviderResult<RemoteSecret> {
        ScalewayClient::get_secret(self, id).await
    }

    async fn create_secret(
        &self,
        secret: &NewSecret,
        initial_version: Option<&NewVersion>,
    ) -> ProviderResult<CreatedSecret> {
        let created = ScalewayClient::create_secret(self, secret).await?;
        let initial_version = match initial_version {
            Some(version) => {
                Some(ScalewayClient::create_version(self, &created.id, version).await?)
            }
            None => None,
        };
        Ok(CreatedSecret {
            secret: created,
            initial_version,
        })
    }

    async fn update_secret(
        &self,
        id: &SecretId,
        update: &SecretUpdate,
    ) -> ProviderResult<RemoteSecret> {
        ScalewayClient::update_secret(self, id, update).await
    }

    async fn delete_secret(&self, id: &SecretId) -> ProviderResult<()> {
        ScalewayClient::delete_secret(self, id).await
    }

    async fn set_protected(&self, id: &SecretId, protected: bool) -> ProviderResult<RemoteSecret> {
        ScalewayClient::set_protected(self, id, protected).await
    }

    async fn list_versions(&self, id: &SecretId) -> ProviderResult<Vec<RemoteVersion>> {
        ScalewayClient::list_versions(self, id).await
    }

    async fn create_version(
        &self,
        id: &SecretId,
        version: &NewVersion,
    ) -> ProviderResult<RemoteVersion> {
        ScalewayClient::create_version(self, id, version).await
    }

    async fn access_version(
        &self,
        id: &SecretId,
        revision: RevisionSelector,
    ) -> ProviderResult<AccessedVersion> {
        ScalewayClient::access_version(self, id, revision).await
    }

    async fn set_version_enabled(
        &self,
        id: &SecretId,
        revision: u64,
        enabled: bool,
    ) -> ProviderResult<RemoteVersion> {
        ScalewayClient::set_version_enabled(self, id, revision, enabled).await
    }

    /// Deleted at once: Scaleway has no waiting period.
    async fn delete_version(
        &self,
        id: &SecretId,
        revision: u64,
        _window: std::time::Duration,
    ) -> ProviderResult<()> {
        ScalewayClient::delete_version(self, id, revision).await
    }
}
