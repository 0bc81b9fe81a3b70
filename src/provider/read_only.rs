//! A client that can only read: what `keyward plan` and `keyward status` give a store runtime,
//! so that no code path of theirs can write to a provider, whatever the planner decides. Reads
//! pass through unchanged (same budget, same observer); every write fails before a request is
//! made.

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    AccessedVersion, Capabilities, CreatedSecret, ErrorKind, NewSecret, NewVersion, ProviderError,
    ProviderResult, RemoteSecret, RemoteVersion, RevisionSelector, SecretId, SecretManager,
    SecretUpdate,
};

pub struct ReadOnly(pub Arc<dyn SecretManager>);

impl ReadOnly {
    fn refuse<T>(&self, operation: &'static str) -> ProviderResult<T> {
        refuse(self.0.provider(), operation)
    }
}

#[async_trait]
impl SecretManager for ReadOnly {
    fn provider(&self) -> &'static str {
        self.0.provider()
    }

    fn region(&self) -> &str {
        self.0.region()
    }

    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    async fn find_secret(&self, name: &str, path: &str) -> ProviderResult<Option<RemoteSecret>> {
        self.0.find_secret(name, path).await
    }

    async fn list_all_secrets(&self) -> ProviderResult<Vec<RemoteSecret>> {
        self.0.list_all_secrets().await
    }

    async fn get_secret(&self, id: &SecretId) -> ProviderResult<RemoteSecret> {
        self.0.get_secret(id).await
    }

    async fn create_secret(
        &self,
        _: &NewSecret,
        _: Option<&NewVersion>,
    ) -> ProviderResult<CreatedSecret> {
        self.refuse("create_secret")
    }

    async fn update_secret(&self, _: &SecretId, _: &SecretUpdate) -> ProviderResult<RemoteSecret> {
        self.refuse("update_secret")
    }

    async fn delete_secret(&self, _: &SecretId) -> ProviderResult<()> {
        self.refuse("delete_secret")
    }

    async fn set_protected(&self, _: &SecretId, _: bool) -> ProviderResult<RemoteSecret> {
        self.refuse("set_protected")
    }

    async fn list_versions(&self, id: &SecretId) -> ProviderResult<Vec<RemoteVersion>> {
        self.0.list_versions(id).await
    }

    async fn create_version(&self, _: &SecretId, _: &NewVersion) -> ProviderResult<RemoteVersion> {
        self.refuse("create_version")
    }

    async fn access_version(
        &self,
        id: &SecretId,
        revision: RevisionSelector,
    ) -> ProviderResult<AccessedVersion> {
        self.0.access_version(id, revision).await
    }

    async fn set_version_enabled(
        &self,
        _: &SecretId,
        _: u64,
        _: bool,
    ) -> ProviderResult<RemoteVersion> {
        self.refuse("set_version_enabled")
    }

    async fn delete_version(
        &self,
        _: &SecretId,
        _: u64,
        _: std::time::Duration,
    ) -> ProviderResult<()> {
        self.refuse("delete_version")
    }
}

/// The same for a key management service: reads pass, a new version or a deletion is refused.
pub struct ReadOnlyKeys(pub Arc<dyn super::keys::KeyManager>);

#[async_trait]
impl super::keys::KeyManager for ReadOnlyKeys {
    fn provider(&self) -> &'static str {
        self.0.provider()
    }

    async fn get_key(&self, key_id: &str) -> ProviderResult<super::keys::RemoteKey> {
        self.0.get_key(key_id).await
    }

    async fn get_key_version(
        &self,
        key_id: &str,
        version_id: &str,
    ) -> ProviderResult<super::keys::RemoteKeyVersion> {
        self.0.get_key_version(key_id, version_id).await
    }

    async fn create_key_version(
        &self,
        _: &str,
        _: &str,
    ) -> ProviderResult<super::keys::RemoteKeyVersion> {
        refuse(self.0.provider(), "create_key_version")
    }

    async fn schedule_key_version_deletion(
        &self,
        _: &str,
        _: &str,
        _: jiff::Timestamp,
        _: &str,
    ) -> ProviderResult<super::keys::RemoteKeyVersion> {
        refuse(self.0.provider(), "schedule_key_version_deletion")
    }
}

fn refuse<T>(provider: &'static str, operation: &'static str) -> ProviderResult<T> {
    Err(ProviderError::new(
        provider,
        operation,
        ErrorKind::Unsupported,
        "this client only reads (keyward plan and status never write)",
    ))
}
