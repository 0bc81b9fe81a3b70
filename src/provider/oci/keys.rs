//! OCI KMS as a [`KeyManager`]: GetKey, GetKeyVersion, CreateKeyVersion and
//! ScheduleKeyVersionDeletion on the vault's management endpoint, each write with an
//! `opc-retry-token` derived from Keyward's operation token.

use async_trait::async_trait;
use jiff::Timestamp;

use super::OciClient;
use super::names::retry_token;
use super::wire::{KeyLifecycleState, KeyVersion};
use crate::provider::ProviderResult;
use crate::provider::keys::{KeyManager, KeyState, RemoteKey, RemoteKeyVersion};

/// The KMS of one management endpoint, through one client.
pub struct OciKeys {
    client: OciClient,
}

impl OciKeys {
    /// `client` must have a KMS management endpoint.
    pub fn new(client: OciClient) -> Self {
        Self { client }
    }
}

fn state_of(state: KeyLifecycleState) -> KeyState {
    use KeyLifecycleState::*;
    match state {
        Enabled => KeyState::Enabled,
        Disabled => KeyState::Disabled,
        PendingDeletion | SchedulingDeletion | Deleting | Deleted => KeyState::PendingDeletion,
        Creating | Enabling | Disabling | CancellingDeletion | Updating | BackupInProgress
        | Restoring => KeyState::Changing,
        Unknown => KeyState::Unknown,
    }
}

fn version(v: KeyVersion) -> RemoteKeyVersion {
    RemoteKeyVersion {
        id: v.id,
        key_id: v.key_id,
        created_at: v.time_created,
        state_text: v.lifecycle_state.as_str().to_string(),
        deletion_time: v.time_of_deletion,
    }
}

#[async_trait]
impl KeyManager for OciKeys {
    fn provider(&self) -> &'static str {
        super::client::PROVIDER
    }

    async fn get_key(&self, key_id: &str) -> ProviderResult<RemoteKey> {
        let key = self.client.get_key(key_id).await?;
        Ok(RemoteKey {
            id: key.id,
            state: state_of(key.lifecycle_state),
            state_text: key.lifecycle_state.as_str().to_string(),
            current_version: key.current_key_version,
        })
    }

    async fn get_key_version(
        &self,
        key_id: &str,
        version_id: &str,
    ) -> ProviderResult<RemoteKeyVersion> {
        Ok(version(
            self.client.get_key_version(key_id, version_id).await?,
        ))
    }

    async fn create_key_version(
        &self,
        key_id: &str,
        token: &str,
    ) -> ProviderResult<RemoteKeyVersion> {
        let retry = retry_token("create_key_version", &format!("{key_id}\n{token}"));
        Ok(version(
            self.client.create_key_version(key_id, Some(&retry)).await?,
        ))
    }

    async fn schedule_key_version_deletion(
        &self,
        key_id: &str,
        version_id: &str,
        at: Timestamp,
        token: &str,
    ) -> ProviderResult<RemoteKeyVersion> {
        let retry = retry_token(
            "schedule_key_version_deletion",
            &format!("{key_id}\n{version_id}\n{token}"),
        );
        Ok(version(
            self.client
                .schedule_key_version_deletion(key_id, version_id, Some(at), None, Some(&retry))
                .await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_enabled_key_rotates_and_transitions_pass_by_themselves() {
        assert_eq!(state_of(KeyLifecycleState::Enabled), KeyState::Enabled);
        assert_eq!(state_of(KeyLifecycleState::Disabled), KeyState::Disabled);
        assert_eq!(
            state_of(KeyLifecycleState::PendingDeletion),
            KeyState::PendingDeletion
        );
        assert_eq!(state_of(KeyLifecycleState::Updating), KeyState::Changing);
        assert_eq!(state_of(KeyLifecycleState::Unknown), KeyState::Unknown);
    }
}
