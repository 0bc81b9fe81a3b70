//! OCI Vault as a [`SecretManager`]: one vault of one compartment, new secrets encrypted with one
//! master key. How the neutral shapes map (names and tokens: see [`super::names`]):
//!
//! | trait | OCI |
//! | --- | --- |
//! | `SecretId` | the secret's OCID (`ocid1.vaultsecret…`); adoption also accepts its name |
//! | `list_all_secrets` | ListSecrets of the vault, every page (summaries carry no current version: [`Listing::SecretsOnly`]) |
//! | `find_secret(name, folder)` | ListSecrets `name=` the dotted name, read back at its place |
//! | `get_secret` | GetSecret; a secret of another vault is `NotFound` |
//! | `create_secret(.., Some(v))` | CreateSecret with version 1, an `opc-retry-token` from the operation token, owner mark and folder as freeform tags |
//! | `update_secret` | UpdateSecret (description, freeform tags) |
//! | `delete_secret` | ScheduleSecretDeletion (OCI's default window, 30 days) |
//! | `list_versions` | ListSecretVersions; stages map to statuses (below) |
//! | `create_version` | UpdateSecret with new content, stage CURRENT, named by the operation token |
//! | `access_version` | GetSecretBundle `versionNumber=`, or the `LATEST` / `CURRENT` stage |
//! | `delete_version` | ScheduleSecretVersionDeletion (only a `DEPRECATED` version) |
//! | `set_protected`, `set_version_enabled` | `Unsupported` (OCI has neither) |
//!
//! Stages → status: the `CURRENT` version and the older ones (`PREVIOUS`, `DEPRECATED`) are
//! `Enabled`; an upload newer than `CURRENT` (`PENDING`, or `LATEST` not yet promoted) is
//! `Disabled`, because it is not in use and "the newest enabled version" must be the current one;
//! a version pending deletion is `ScheduledForDeletion`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::client::{BundleSelector, OciClient, Operation, SecretFilter};
use super::names::{
    self, keyward_tags, owner_of, place_of, retry_token, secret_name, version_name, version_text,
};
use super::wire::{
    CreateSecretDetails, Secret, SecretContent, SecretLifecycleState, SecretSummary,
    SecretVersionSummary, Stage, UpdateSecretDetails,
};
use crate::provider::{
    AccessedVersion, Capabilities, CreatedSecret, ErrorKind, Listing, NewSecret, NewVersion,
    OwnerMark, ProviderError, ProviderResult, RemoteSecret, RemoteVersion, RevisionSelector,
    SecretId, SecretManager, SecretStatus, SecretUpdate, VersionRemoval, VersionStatus,
};

use super::client::PROVIDER;

/// What OCI Vault offers, for the planner.
pub const CAPABILITIES: Capabilities = Capabilities {
    update_metadata: true,
    protection: false,
    disable_versions: false,
    // The version name carries the operation token.
    version_descriptions: true,
    create_requires_initial_version: true,
    ephemeral_policy: false,
    // Freeform tags are key/value pairs; Keyward's plain tags have no place there.
    tags: false,
    listing: Listing::SecretsOnly,
    owner_marks: true,
    version_removal: VersionRemoval::ScheduleDeletion,
    removal_spares_previous: true,
};

/// One vault's secrets, through one client.
pub struct OciSecrets {
    client: OciClient,
    compartment_id: String,
    vault_id: String,
    /// The master key new secrets are encrypted with.
    key_id: String,
    /// Names adopted by name, resolved to OCIDs (a live name belongs to one secret).
    by_name: Mutex<HashMap<String, String>>,
}

impl OciSecrets {
    pub fn new(client: OciClient, compartment_id: &str, vault_id: &str, key_id: &str) -> Self {
        Self {
            client,
            compartment_id: compartment_id.to_string(),
            vault_id: vault_id.to_string(),
            key_id: key_id.to_string(),
            by_name: Mutex::default(),
        }
    }

    pub fn client(&self) -> &OciClient {
        &self.client
    }

    fn filter(&self, name: Option<String>) -> SecretFilter {
        SecretFilter {
            compartment_id: self.compartment_id.clone(),
            vault_id: Some(self.vault_id.clone()),
            name,
            lifecycle_state: None,
        }
    }

    fn not_found(operation: &'static str, what: String) -> ProviderError {
        ProviderError::new(PROVIDER, operation, ErrorKind::NotFound, what)
    }

    /// A secret read by id: only this store's vault, never a deleted one.
    fn remote(&self, s: Secret) -> ProviderResult<RemoteSecret> {
        if s.vault_id != self.vault_id {
            // Another vault's secret (the credentials may reach it): never this store's.
            return Err(Self::not_found(
                Operation::GetSecret.name(),
                format!(
                    "secret {} is not in this store's vault {}",
                    s.id, self.vault_id
                ),
            ));
        }
        if s.lifecycle_state == SecretLifecycleState::Deleted {
            return Err(Self::not_found(
                Operation::GetSecret.name(),
                format!("secret {} is deleted", s.id),
            ));
        }
        // The current version's number: it changes with every version Keyward follows (a
        // PENDING upload made elsewhere is not followed until it is promoted).
        let current = s.current_version_number;
        Ok(self.neutral(Fields::from(s), current))
    }

    /// A listed secret: summaries carry no current version.
    fn summary(&self, s: SecretSummary) -> RemoteSecret {
        self.neutral(Fields::from(s), None)
    }

    fn neutral(&self, s: Fields, version_count: Option<u64>) -> RemoteSecret {
        let (path, name) = place_of(&s.secret_name, &s.freeform_tags);
        RemoteSecret {
            id: SecretId(s.id),
            project_id: Some(s.compartment_id),
            name,
            path,
            description: s.description.unwrap_or_default(),
            tags: Vec::new(),
            owner: owner_of(&s.freeform_tags),
            kind: None,
            status: status_of(s.lifecycle_state),
            protected: false,
            managed_by_other_product: false,
            version_count,
            ephemeral_policy: None,
            key_id: s.key_id,
            region: self.client.config().region.clone(),
            created_at: s.time_created,
            updated_at: None,
            deletion_requested_at: pending_deletion(s.lifecycle_state, s.time_of_deletion),
        }
    }

    /// Live secrets of the vault named exactly `oci_name`.
    async fn named(&self, oci_name: &str) -> ProviderResult<Vec<SecretSummary>> {
        Ok(self
            .client
            .list_secrets(&self.filter(Some(oci_name.to_string())))
            .await?
            .into_iter()
            .filter(|s| s.secret_name == oci_name && is_live(s.lifecycle_state))
            .collect())
    }

    /// The OCID of `id`: itself, or the secret of that name in the vault (adoption by name).
    async fn ocid(&self, id: &SecretId) -> ProviderResult<String> {
        if is_secret_ocid(id.as_str()) {
            return Ok(id.0.clone());
        }
        if let Some(found) = self.lock_names().get(id.as_str()) {
            return Ok(found.clone());
        }
        let mut named = self.named(id.as_str()).await?;
        let found = match named.len() {
            0 => {
                return Err(Self::not_found(
                    Operation::GetSecret.name(),
                    format!("no secret named {} in vault {}", id, self.vault_id),
                ));
            }
            1 => named.remove(0).id,
            n => return Err(several(n, id.as_str())),
        };
        self.lock_names().insert(id.0.clone(), found.clone());
        Ok(found)
    }

    fn lock_names(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.by_name.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why a name is taken: said plainly when a secret pending deletion still reserves it, with
    /// what to do (a secret that carries the creator's own owner mark needs only its deletion
    /// cancelled: it is found again by name).
    async fn name_taken(
        &self,
        oci_name: &str,
        creator: Option<&OwnerMark>,
        error: ProviderError,
    ) -> ProviderError {
        let reserved = self
            .client
            .list_secrets(&SecretFilter {
                lifecycle_state: Some(SecretLifecycleState::PendingDeletion),
                ..self.filter(Some(oci_name.to_string()))
            })
            .await
            .ok()
            .and_then(|found| found.into_iter().find(|s| s.secret_name == oci_name));
        let message = match reserved {
            Some(s) => {
                let remedy = if creator.is_some() && owner_of(&s.freeform_tags).as_ref() == creator
                {
                    "cancel its deletion (it is this object's own secret, used again once live), or choose another remote.name"
                } else {
                    "cancel its deletion and adopt it (spec.remote.adopt.secretId), or choose another remote.name"
                };
                format!(
                    "the name {oci_name} is still reserved by secret {}, which is pending deletion{}: {remedy}",
                    s.id,
                    s.time_of_deletion
                        .map(|t| format!(" until {t}"))
                        .unwrap_or_default()
                )
            }
            None => format!(
                "a secret named {oci_name} already exists in vault {} and was not created here by Keyward: adopt it (spec.remote.adopt.secretId) or choose another remote.name",
                self.vault_id
            ),
        };
        let refused = ProviderError::new(
            PROVIDER,
            Operation::CreateSecret.name(),
            ErrorKind::Conflict,
            message,
        );
        match error.http_status() {
            Some(status) => refused.with_http(status, error.request_id().map(str::to_string)),
            None => refused,
        }
    }

    fn versions_of(&self, id: &str, listed: Vec<SecretVersionSummary>) -> Vec<RemoteVersion> {
        let current = listed
            .iter()
            .find(|v| v.stages.contains(&Stage::Current))
            .map(|v| v.version_number);
        let highest = listed.iter().map(|v| v.version_number).max();
        let mut versions: Vec<RemoteVersion> = listed
            .into_iter()
            .map(|v| RemoteVersion {
                secret_id: SecretId(id.to_string()),
                revision: v.version_number,
                status: version_status(v.version_number, v.time_of_deletion.is_some(), current),
                description: v.name.as_deref().map(version_text).unwrap_or_default(),
                latest: Some(v.version_number) == highest,
                created_at: v.time_created,
                updated_at: v.time_created,
                deletion_requested_at: v.time_of_deletion,
            })
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.revision));
        versions
    }
}

/// What a secret and a listed summary have in common.
struct Fields {
    id: String,
    compartment_id: String,
    secret_name: String,
    freeform_tags: std::collections::BTreeMap<String, String>,
    description: Option<String>,
    key_id: Option<String>,
    lifecycle_state: SecretLifecycleState,
    time_created: Option<jiff::Timestamp>,
    time_of_deletion: Option<jiff::Timestamp>,
}

macro_rules! fields_from {
    ($wire:ty) => {
        impl From<$wire> for Fields {
            fn from(s: $wire) -> Self {
                Self {
                    id: s.id,
                    compartment_id: s.compartment_id,
                    secret_name: s.secret_name,
                    freeform_tags: s.freeform_tags,
                    description: s.description,
                    key_id: s.key_id,
                    lifecycle_state: s.lifecycle_state,
                    time_created: s.time_created,
                    time_of_deletion: s.time_of_deletion,
                }
            }
        }
    };
}
fields_from!(Secret);
fields_from!(SecretSummary);

fn is_secret_ocid(id: &str) -> bool {
    id.starts_with("ocid1.vaultsecret.")
}

fn is_live(state: SecretLifecycleState) -> bool {
    !matches!(
        state,
        SecretLifecycleState::Deleted
            | SecretLifecycleState::Deleting
            | SecretLifecycleState::PendingDeletion
            | SecretLifecycleState::SchedulingDeletion
    )
}

fn status_of(state: SecretLifecycleState) -> SecretStatus {
    match state {
        SecretLifecycleState::Active
        | SecretLifecycleState::Creating
        | SecretLifecycleState::Updating => SecretStatus::Ready,
        SecretLifecycleState::Failed => SecretStatus::Locked,
        _ => SecretStatus::Unknown,
    }
}

fn pending_deletion(
    state: SecretLifecycleState,
    time_of_deletion: Option<jiff::Timestamp>,
) -> Option<jiff::Timestamp> {
    (!is_live(state)).then(|| time_of_deletion.unwrap_or_else(jiff::Timestamp::now))
}

/// See the module's table: only the current version and older ones are in use.
fn version_status(number: u64, pending_deletion: bool, current: Option<u64>) -> VersionStatus {
    match current {
        _ if pending_deletion => VersionStatus::ScheduledForDeletion,
        Some(c) if number > c => VersionStatus::Disabled,
        _ => VersionStatus::Enabled,
    }
}

fn several(n: usize, name: &str) -> ProviderError {
    ProviderError::new(
        PROVIDER,
        Operation::ListSecrets.name(),
        ErrorKind::Conflict,
        format!("{n} live secrets are named {name}; Keyward never picks one"),
    )
}

#[async_trait]
impl SecretManager for OciSecrets {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn region(&self) -> &str {
        &self.client.config().region
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn find_secret(&self, name: &str, path: &str) -> ProviderResult<Option<RemoteSecret>> {
        let oci_name = secret_name(path, name);
        let mut found: Vec<RemoteSecret> = self
            .named(&oci_name)
            .await?
            .into_iter()
            .map(|s| self.summary(s))
            .filter(|s| s.name == name && same_folder(&s.path, path))
            .collect();
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(several(n, &oci_name)),
        }
    }

    async fn list_all_secrets(&self) -> ProviderResult<Vec<RemoteSecret>> {
        Ok(self
            .client
            .list_secrets(&self.filter(None))
            .await?
            .into_iter()
            .filter(|s| s.lifecycle_state != SecretLifecycleState::Deleted)
            .map(|s| self.summary(s))
            .collect())
    }

    async fn get_secret(&self, id: &SecretId) -> ProviderResult<RemoteSecret> {
        let ocid = self.ocid(id).await?;
        let secret = self.client.get_secret(&ocid).await.inspect_err(|e| {
            if *e.kind() == ErrorKind::NotFound {
                self.lock_names().retain(|_, v| *v != ocid);
            }
        })?;
        self.remote(secret)
    }

    async fn create_secret(
        &self,
        secret: &NewSecret,
        initial_version: Option<&NewVersion>,
    ) -> ProviderResult<CreatedSecret> {
        let Some(initial) = initial_version else {
            return Err(ProviderError::new(
                PROVIDER,
                Operation::CreateSecret.name(),
                ErrorKind::Unsupported,
                "OCI creates a secret with its first version: an initial version is required",
            ));
        };
        let oci_name = secret_name(&secret.path, &secret.name);
        let token = initial.description.clone();
        let mut content = SecretContent::new(initial.value.clone());
        if let Some(token) = &token {
            content = content.named(version_name(token));
        }
        let details = CreateSecretDetails {
            compartment_id: self.compartment_id.clone(),
            vault_id: self.vault_id.clone(),
            key_id: secret.key_id.clone().unwrap_or_else(|| self.key_id.clone()),
            secret_name: oci_name.clone(),
            secret_content: content,
            description: secret.description.clone().filter(|d| !d.is_empty()),
            secret_rules: Vec::new(),
            freeform_tags: keyward_tags(&secret.path, secret.owner.as_ref()),
            defined_tags: Default::default(),
            metadata: None,
        };
        let retry = token.map(|t| retry_token("create_secret", &format!("{oci_name}\n{t}")));
        let created = match self.client.create_secret(&details, retry.as_deref()).await {
            Ok(created) => created,
            Err(e) if *e.kind() == ErrorKind::Conflict => {
                return Err(self.name_taken(&oci_name, secret.owner.as_ref(), e).await);
            }
            Err(e) => return Err(e),
        };
        let revision = created.current_version_number.unwrap_or(1);
        let secret = self.remote(created)?;
        Ok(CreatedSecret {
            initial_version: Some(RemoteVersion {
                secret_id: secret.id.clone(),
                revision,
                status: VersionStatus::Enabled,
                description: initial.description.clone().unwrap_or_default(),
                latest: true,
                created_at: secret.created_at,
                updated_at: secret.created_at,
                deletion_requested_at: None,
            }),
            secret,
        })
    }

    async fn update_secret(
        &self,
        id: &SecretId,
        update: &SecretUpdate,
    ) -> ProviderResult<RemoteSecret> {
        if update.name.is_some() || update.path.is_some() || update.ephemeral_policy.is_some() {
            return Err(ProviderError::unsupported(
                PROVIDER,
                "update_secret (name, folder or expiry)",
            ));
        }
        let ocid = self.ocid(id).await?;
        let freeform_tags = match &update.owner {
            Some(owner) => {
                let mut tags = self.client.get_secret(&ocid).await?.freeform_tags;
                tags.extend(keyward_tags("/", Some(owner)));
                Some(tags)
            }
            None => None,
        };
        let details = UpdateSecretDetails {
            description: update.description.clone(),
            freeform_tags,
            ..UpdateSecretDetails::default()
        };
        if details == UpdateSecretDetails::default() {
            return self.get_secret(id).await;
        }
        let updated = self.client.update_secret(&ocid, &details, None).await?;
        self.remote(updated)
    }

    /// Schedules the deletion with OCI's default window (30 days), during which it can be
    /// cancelled and the name stays reserved.
    async fn delete_secret(&self, id: &SecretId) -> ProviderResult<()> {
        let ocid = self.ocid(id).await?;
        self.client
            .schedule_secret_deletion(&ocid, None, None)
            .await
    }

    async fn set_protected(
        &self,
        _id: &SecretId,
        _protected: bool,
    ) -> ProviderResult<RemoteSecret> {
        Err(ProviderError::unsupported(PROVIDER, "set_protected"))
    }

    async fn list_versions(&self, id: &SecretId) -> ProviderResult<Vec<RemoteVersion>> {
        let ocid = self.ocid(id).await?;
        let listed = self.client.list_secret_versions(&ocid).await?;
        Ok(self.versions_of(&ocid, listed))
    }

    /// A new CURRENT version named by the operation token. UpdateSecret takes no retry token, so
    /// a repeat after an answer that never arrived is caught by the name: OCI refuses a second
    /// version of that name, and the version the first attempt made is returned.
    async fn create_version(
        &self,
        id: &SecretId,
        version: &NewVersion,
    ) -> ProviderResult<RemoteVersion> {
        let ocid = self.ocid(id).await?;
        let name = version.description.as_deref().map(version_name);
        let mut content = SecretContent::new(version.value.clone()).stage(Stage::Current);
        if let Some(name) = &name {
            content = content.named(name.clone());
        }
        let details = UpdateSecretDetails {
            secret_content: Some(content),
            ..UpdateSecretDetails::default()
        };
        match self.client.update_secret(&ocid, &details, None).await {
            Ok(updated) => Ok(RemoteVersion {
                secret_id: SecretId(ocid),
                revision: updated.current_version_number.unwrap_or_default(),
                status: VersionStatus::Enabled,
                description: version.description.clone().unwrap_or_default(),
                latest: true,
                created_at: None,
                updated_at: None,
                deletion_requested_at: None,
            }),
            Err(e) if *e.kind() == ErrorKind::Conflict && name.is_some() => {
                let listed = self.client.list_secret_versions(&ocid).await?;
                let made = listed
                    .iter()
                    .find(|v| v.name == name)
                    .map(|v| v.version_number);
                match made {
                    Some(n) => Ok(self
                        .versions_of(&ocid, listed)
                        .into_iter()
                        .find(|v| v.revision == n)
                        .expect("listed above")),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn access_version(
        &self,
        id: &SecretId,
        revision: RevisionSelector,
    ) -> ProviderResult<AccessedVersion> {
        let ocid = self.ocid(id).await?;
        let selector = match revision {
            RevisionSelector::Number(n) => BundleSelector::VersionNumber(n),
            RevisionSelector::Latest => BundleSelector::Stage(Stage::Latest),
            RevisionSelector::LatestEnabled => BundleSelector::Current,
        };
        let bundle = match self.client.get_secret_bundle(&ocid, &selector).await {
            Ok(bundle) => bundle,
            // A version pending deletion answers 404 like a missing secret: ask which it is.
            Err(e) if *e.kind() == ErrorKind::NotFound => {
                let secret = self.client.get_secret(&ocid).await?;
                if !is_live(secret.lifecycle_state) {
                    return Err(e);
                }
                return Err(ProviderError::new(
                    PROVIDER,
                    Operation::GetSecretBundle.name(),
                    ErrorKind::VersionUnreadable,
                    format!(
                        "version {revision} of secret {ocid} cannot be read (missing or pending deletion)"
                    ),
                ));
            }
            Err(e) => return Err(e),
        };
        let content = bundle.secret_bundle_content.ok_or_else(|| {
            ProviderError::new(
                PROVIDER,
                Operation::GetSecretBundle.name(),
                ErrorKind::InvalidResponse,
                "the bundle has no content",
            )
        })?;
        Ok(AccessedVersion {
            secret_id: SecretId(ocid),
            revision: bundle.version_number,
            value: content.content,
            kind: None,
        })
    }

    async fn set_version_enabled(
        &self,
        _id: &SecretId,
        _revision: u64,
        _enabled: bool,
    ) -> ProviderResult<RemoteVersion> {
        Err(ProviderError::unsupported(PROVIDER, "set_version_enabled"))
    }

    /// Schedules the version's deletion `window` from now, within what OCI allows (a day to 30
    /// days); only a DEPRECATED version can be. The shortest window keeps rotations up to about
    /// one an hour within OCI's 30 versions pending deletion; OCI's own default (30 days) would
    /// stop retirement at 30 rotations a month. "Now" is the later of this machine's clock and
    /// the newest version's creation as OCI recorded it, so a clock behind OCI's is not refused.
    async fn delete_version(
        &self,
        id: &SecretId,
        revision: u64,
        window: std::time::Duration,
    ) -> ProviderResult<()> {
        let ocid = self.ocid(id).await?;
        let newest = self
            .client
            .list_secret_versions(&ocid)
            .await?
            .into_iter()
            .filter_map(|v| v.time_created)
            .max();
        let at = deletion_time(jiff::Timestamp::now(), newest, window);
        self.client
            .schedule_secret_version_deletion(&ocid, revision, Some(at), None)
            .await
    }
}

/// OCI's window for a version's deletion: one to 30 days.
const MIN_DELETION_WINDOW: std::time::Duration = std::time::Duration::from_secs(86_400);
const MAX_DELETION_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);
/// Room for the time the request takes and clocks that differ a little.
const DELETION_MARGIN: std::time::Duration = std::time::Duration::from_secs(300);

/// When to delete a version asked to go `window` after now. Pure.
fn deletion_time(
    now: jiff::Timestamp,
    newest_version: Option<jiff::Timestamp>,
    window: std::time::Duration,
) -> jiff::Timestamp {
    let from = newest_version.map_or(now, |n| n.max(now));
    let window = window.clamp(MIN_DELETION_WINDOW + DELETION_MARGIN, MAX_DELETION_WINDOW);
    from + jiff::SignedDuration::try_from(window).unwrap_or_default()
}

fn same_folder(a: &str, b: &str) -> bool {
    names::folder_prefix(a) == names::folder_prefix(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_version_and_older_ones_are_in_use() {
        for (number, deleting, current, want) in [
            (3, false, Some(3), VersionStatus::Enabled),
            (2, false, Some(3), VersionStatus::Enabled),
            (4, false, Some(3), VersionStatus::Disabled),
            (2, true, Some(3), VersionStatus::ScheduledForDeletion),
            (1, false, None, VersionStatus::Enabled),
        ] {
            assert_eq!(
                version_status(number, deleting, current),
                want,
                "{number} {deleting} {current:?}"
            );
        }
    }

    #[test]
    fn pending_deletion_is_not_live() {
        assert!(is_live(SecretLifecycleState::Active));
        assert!(is_live(SecretLifecycleState::Updating));
        assert!(!is_live(SecretLifecycleState::PendingDeletion));
        assert!(pending_deletion(SecretLifecycleState::Active, None).is_none());
        let t = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(
            pending_deletion(SecretLifecycleState::PendingDeletion, Some(t)),
            Some(t)
        );
    }

    #[test]
    fn a_version_is_deleted_within_the_window_oci_allows_from_the_later_clock() {
        let t = |s: i64| jiff::Timestamp::from_second(1_800_000_000 + s).unwrap();
        let day = 86_400;
        let hour = std::time::Duration::from_secs(3600);
        // A short retention becomes OCI's shortest window (with the margin).
        assert_eq!(deletion_time(t(0), None, hour), t(day + 300));
        // A retention inside the range is kept; a long one is cut to 30 days.
        assert_eq!(
            deletion_time(t(0), None, std::time::Duration::from_secs(7 * 86_400)),
            t(7 * day)
        );
        assert_eq!(
            deletion_time(t(0), None, std::time::Duration::from_secs(90 * 86_400)),
            t(30 * day)
        );
        // OCI's clock ahead of ours (its newest version is newer than our now): counted from it.
        assert_eq!(
            deletion_time(t(0), Some(t(5 * day)), hour),
            t(6 * day + 300)
        );
        assert_eq!(deletion_time(t(10), Some(t(0)), hour), t(day + 310));
    }

    #[test]
    fn folders_compare_by_their_segments() {
        assert!(same_folder("/", ""));
        assert!(same_folder("/a/b/", "/a/b"));
        assert!(!same_folder("/a", "/b"));
    }
}
