//! The `KeyManager` trait the ManagedKey controller talks to: a key management service whose master
//! keys get new versions. OCI KMS implements it (`oci::keys`).
//!
//! What another provider needs to fit: a key it can read (state, current version), a call that
//! makes a new version, and a way to make that call idempotent. OCI has the last in its
//! `opc-retry-token`. Thalassa's KMS rotates a key with one call as well, but documents no
//! idempotency key: its implementation would compare the key's `latestVersion` before and after,
//! as its Secrets Manager client recovers a pending write from the newest version, and would
//! report deletion as unsupported until Thalassa documents version deletion.

use async_trait::async_trait;
use jiff::Timestamp;

use super::ProviderResult;

/// Lifecycle of a master key, as far as rotating it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// May get a new version.
    Enabled,
    /// Switched off by a person; needs one to switch it on.
    Disabled,
    /// Scheduled for deletion (or being deleted).
    PendingDeletion,
    /// In a transition the provider finishes by itself (creating, enabling, updating, …).
    Changing,
    Unknown,
}

/// A master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteKey {
    pub id: String,
    pub state: KeyState,
    /// The provider's own word for the state (`ENABLED`), for status and messages.
    pub state_text: String,
    /// The current version's id.
    pub current_version: Option<String>,
}

/// One version of a master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteKeyVersion {
    pub id: String,
    pub key_id: String,
    pub created_at: Option<Timestamp>,
    /// The provider's own word for the version's state.
    pub state_text: String,
    /// When the provider deletes it, if scheduled.
    pub deletion_time: Option<Timestamp>,
}

/// A key management service, as the ManagedKey controller sees it.
#[async_trait]
pub trait KeyManager: Send + Sync {
    /// Short provider name for logs and metrics (`"oci"`).
    fn provider(&self) -> &'static str;

    async fn get_key(&self, key_id: &str) -> ProviderResult<RemoteKey>;

    async fn get_key_version(
        &self,
        key_id: &str,
        version_id: &str,
    ) -> ProviderResult<RemoteKeyVersion>;

    /// Makes one new version. `token` names the operation: a repeat with the same token makes no
    /// second version, also after an answer that never arrived.
    async fn create_key_version(
        &self,
        key_id: &str,
        token: &str,
    ) -> ProviderResult<RemoteKeyVersion>;

    /// Schedules a version's deletion at `at`. Callers never pass the current version.
    async fn schedule_key_version_deletion(
        &self,
        key_id: &str,
        version_id: &str,
        at: Timestamp,
        token: &str,
    ) -> ProviderResult<RemoteKeyVersion>;
}
