//! The emulator's state and every operation on it, free of HTTP: each operation takes `now` and returns
//! the changed record or an [`ApiError`]. The HTTP layer only parses, authorises and renders.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::errors::ApiError;
use super::model::{
    EphemeralAction, EphemeralPolicy, EphemeralProperties, Payload, Product, SecretRecord,
    SecretType, VersionRecord, VersionStatus,
};
use crate::secret_value::SecretValue;

/// How long soft-deleted secrets and versions stay restorable before they are purged [DOC: 7 days].
pub const DELETION_GRACE: SignedDuration = SignedDuration::from_hours(7 * 24);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountOptions {
    /// A secret that has an ephemeral policy answered 404 right after its DELETE [REC]; with this set
    /// (the default) such secrets are purged at once instead of soft-deleted.
    pub purge_ephemeral_on_delete: bool,
}

impl Default for AccountOptions {
    fn default() -> Self {
        Self {
            purge_ephemeral_on_delete: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewSecret {
    pub project_id: Uuid,
    pub name: String,
    pub tags: Vec<String>,
    pub description: String,
    pub secret_type: SecretType,
    pub path: String,
    pub ephemeral_policy: Option<EphemeralPolicy>,
    pub protected: bool,
    pub key_id: Option<String>,
}

/// A field that is `None` is left unchanged; `ephemeral_policy: Some(None)` removes the policy.
#[derive(Debug, Clone, Default)]
pub struct SecretPatch {
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
    pub description: Option<String>,
    pub path: Option<String>,
    pub ephemeral_policy: Option<Option<EphemeralPolicy>>,
}

#[derive(Debug, Clone)]
pub struct NewVersion {
    pub payload: SecretValue,
    pub description: String,
    pub disable_previous: bool,
    pub data_crc32: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct VersionPatch {
    pub description: Option<String>,
    pub ephemeral_properties: Option<Option<EphemeralProperties>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionSelector {
    Number(u32),
    /// The highest revision [REC].
    Latest,
    /// The highest revision whose status is `enabled` [SDK].
    LatestEnabled,
}

impl RevisionSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        match text {
            "latest" => Ok(Self::Latest),
            "latest_enabled" => Ok(Self::LatestEnabled),
            _ => match text.parse::<u32>() {
                Ok(n) if n > 0 => Ok(Self::Number(n)),
                _ => Err(ApiError::invalid(
                    "revision",
                    "format",
                    "must be a revision number, \"latest\" or \"latest_enabled\"",
                )),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderBy {
    #[default]
    NameAsc,
    NameDesc,
    CreatedAtAsc,
    CreatedAtDesc,
    UpdatedAtAsc,
    UpdatedAtDesc,
}

impl OrderBy {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "name_asc" => Self::NameAsc,
            "name_desc" => Self::NameDesc,
            "created_at_asc" => Self::CreatedAtAsc,
            "created_at_desc" => Self::CreatedAtDesc,
            "updated_at_asc" => Self::UpdatedAtAsc,
            "updated_at_desc" => Self::UpdatedAtDesc,
            _ => return None,
        })
    }

    /// Orders by the key, then by creation time and id so that pages are stable. Names compare
    /// byte-wise, i.e. case-sensitively (collation UNCONFIRMED).
    fn compare(
        self,
        a: (&str, Timestamp, Timestamp, Uuid),
        b: (&str, Timestamp, Timestamp, Uuid),
    ) -> std::cmp::Ordering {
        let tie = || a.1.cmp(&b.1).then(a.3.cmp(&b.3));
        match self {
            Self::NameAsc => a.0.cmp(b.0).then_with(tie),
            Self::NameDesc => b.0.cmp(a.0).then_with(tie),
            Self::CreatedAtAsc => a.1.cmp(&b.1).then(a.3.cmp(&b.3)),
            Self::CreatedAtDesc => b.1.cmp(&a.1).then(b.3.cmp(&a.3)),
            Self::UpdatedAtAsc => a.2.cmp(&b.2).then_with(tie),
            Self::UpdatedAtDesc => b.2.cmp(&a.2).then_with(tie),
        }
    }
}

/// 1-based page and page size. The default size is 50 and the maximum 100 (both UNCONFIRMED; the
/// recordings only show that the default is at least 37).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub page_size: u32,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 100;

impl Page {
    pub fn slice<T>(self, items: Vec<T>) -> Vec<T> {
        let start = (self.page as usize - 1).saturating_mul(self.page_size as usize);
        items
            .into_iter()
            .skip(start)
            .take(self.page_size as usize)
            .collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct SecretFilter {
    pub project_id: Option<Uuid>,
    /// Exact match (substring matching UNCONFIRMED).
    pub name: Option<String>,
    /// Exact, normalised path.
    pub path: Option<String>,
    /// Every listed tag must be present (AND; UNCONFIRMED).
    pub tags: Vec<String>,
    pub ephemeral: Option<bool>,
    pub secret_type: Option<SecretType>,
    /// `false` (the SDK default) lists live secrets only, `true` soft-deleted ones only.
    pub scheduled_for_deletion: bool,
}

impl SecretFilter {
    fn matches(&self, s: &SecretRecord) -> bool {
        self.project_id.is_none_or(|p| s.project_id == p)
            && self.name.as_deref().is_none_or(|n| s.name == n)
            && self.path.as_deref().is_none_or(|p| s.path == p)
            && self.tags.iter().all(|t| s.tags.contains(t))
            && self
                .ephemeral
                .is_none_or(|e| s.ephemeral_policy.is_some() == e)
            && self.secret_type.is_none_or(|t| s.secret_type == t)
            && s.is_scheduled_for_deletion() == self.scheduled_for_deletion
    }
}

/// What an access returns: the resolved revision, the payload, and whether the read expired it.
#[derive(Debug, Clone)]
pub struct Accessed {
    pub revision: u32,
    pub data: SecretValue,
    pub data_crc32: Option<u32>,
    pub secret_type: SecretType,
    /// The version had `expires_once_accessed` and has just expired (state changed).
    pub expired: bool,
}

/// One entry of a Browse answer.
#[derive(Debug, Clone)]
pub enum BrowseItem<'a> {
    Secret(&'a SecretRecord),
    Folder {
        name: String,
        created_at: Timestamp,
        updated_at: Timestamp,
    },
}

/// Adds the leading `/` and removes a trailing one; the root stays `/` [REC].
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Account {
    secrets: HashMap<Uuid, SecretRecord>,
    /// Earliest instant at which [`Account::sweep`] has something to do; `None` means nothing pending.
    #[serde(default)]
    next_due: Option<Timestamp>,
}

impl Account {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn secret(&self, region: &str, id: Uuid) -> Result<&SecretRecord, ApiError> {
        self.secrets
            .get(&id)
            .filter(|s| s.region == region)
            .ok_or_else(|| ApiError::not_found_secret(id))
    }

    fn secret_mut(&mut self, region: &str, id: Uuid) -> Result<&mut SecretRecord, ApiError> {
        self.secrets
            .get_mut(&id)
            .filter(|s| s.region == region)
            .ok_or_else(|| ApiError::not_found_secret(id))
    }

    /// Like `secret_mut`, but refuses secrets scheduled for deletion. UNCONFIRMED: such a secret can be
    /// read and restored, and every other change is refused with 412.
    fn live_secret_mut(&mut self, region: &str, id: Uuid) -> Result<&mut SecretRecord, ApiError> {
        let secret = self.secret_mut(region, id)?;
        if secret.is_scheduled_for_deletion() {
            return Err(ApiError::PreconditionFailed {
                precondition: "resource_scheduled_for_deletion",
                help_message: "the secret is scheduled for deletion; restore it first".into(),
            });
        }
        Ok(secret)
    }

    fn due(&mut self, at: Timestamp) {
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }

    /// Whether [`Account::sweep`] would change anything at `now` (cheap, for the read path).
    pub fn sweep_due(&self, now: Timestamp) -> bool {
        self.next_due.is_some_and(|d| d <= now)
    }

    // ---- secrets ------------------------------------------------------------------------------------

    pub fn create_secret(
        &mut self,
        region: &str,
        id: Uuid,
        new: NewSecret,
        now: Timestamp,
    ) -> Result<&SecretRecord, ApiError> {
        let path = normalize_path(&new.path);
        // UNCONFIRMED: a second live secret with the same project, path and name is refused with 409.
        if let Some(existing) = self.secrets.values().find(|s| {
            s.region == region
                && s.project_id == new.project_id
                && s.path == path
                && s.name == new.name
                && !s.is_scheduled_for_deletion()
        }) {
            return Err(ApiError::Conflict {
                resource: "secret",
                resource_id: existing.id.to_string(),
            });
        }
        let record = SecretRecord {
            id,
            project_id: new.project_id,
            name: new.name,
            created_at: now,
            updated_at: now,
            tags: new.tags,
            description: new.description,
            managed: false,
            protected: new.protected,
            secret_type: new.secret_type,
            path,
            ephemeral_policy: new.ephemeral_policy,
            used_by: Vec::new(),
            deletion_requested_at: None,
            key_id: new.key_id,
            region: region.to_string(),
            versions: Vec::new(),
        };
        Ok(self.secrets.entry(id).or_insert(record))
    }

    pub fn update_secret(
        &mut self,
        region: &str,
        id: Uuid,
        patch: SecretPatch,
        now: Timestamp,
    ) -> Result<&SecretRecord, ApiError> {
        let target_path = patch.path.as_deref().map(normalize_path);
        {
            let current = self.secret(region, id)?;
            let name = patch.name.as_deref().unwrap_or(&current.name);
            let path = target_path.as_deref().unwrap_or(&current.path);
            if let Some(other) = self.secrets.values().find(|s| {
                s.id != id
                    && s.region == region
                    && s.project_id == current.project_id
                    && s.path == path
                    && s.name == name
                    && !s.is_scheduled_for_deletion()
            }) {
                return Err(ApiError::Conflict {
                    resource: "secret",
                    resource_id: other.id.to_string(),
                });
            }
        }
        let secret = self.live_secret_mut(region, id)?;
        if let Some(name) = patch.name {
            secret.name = name;
        }
        if let Some(tags) = patch.tags {
            secret.tags = tags;
        }
        if let Some(description) = patch.description {
            secret.description = description;
        }
        if let Some(path) = target_path {
            secret.path = path;
        }
        if let Some(policy) = patch.ephemeral_policy {
            // The whole object replaces the previous policy [REC: PATCH echoes it as sent]. Existing
            // versions keep what they inherited; new and re-enabled versions pick the new policy up.
            secret.ephemeral_policy = policy;
        }
        secret.updated_at = now;
        Ok(secret)
    }

    /// Soft delete: `deletion_requested_at` and `updated_at` take the same instant [REC]. A protected
    /// secret gets 412 `protected_resource` [REC]. Deleting an already deleted secret is a no-op
    /// (UNCONFIRMED).
    pub fn delete_secret(
        &mut self,
        region: &str,
        id: Uuid,
        now: Timestamp,
        options: AccountOptions,
    ) -> Result<(), ApiError> {
        let secret = self.secret_mut(region, id)?;
        if secret.protected {
            return Err(ApiError::PreconditionFailed {
                precondition: "protected_resource",
                help_message: "cannot delete a protected secret".into(),
            });
        }
        if secret.is_scheduled_for_deletion() {
            return Ok(());
        }
        if options.purge_ephemeral_on_delete && secret.ephemeral_policy.is_some() {
            self.secrets.remove(&id);
            return Ok(());
        }
        secret.deletion_requested_at = Some(now);
        secret.updated_at = now;
        self.due(grace_end(now));
        Ok(())
    }

    /// Undoes a soft delete (UNCONFIRMED: `updated_at` moves; a live secret is returned unchanged).
    pub fn restore_secret(
        &mut self,
        region: &str,
        id: Uuid,
        now: Timestamp,
    ) -> Result<&SecretRecord, ApiError> {
        let secret = self.secret_mut(region, id)?;
        if secret.deletion_requested_at.take().is_some() {
            secret.updated_at = now;
        }
        Ok(secret)
    }

    /// Protect and unprotect leave `updated_at` alone [REC for unprotect; protect UNCONFIRMED].
    pub fn set_protected(
        &mut self,
        region: &str,
        id: Uuid,
        protected: bool,
    ) -> Result<&SecretRecord, ApiError> {
        let secret = self.live_secret_mut(region, id)?;
        secret.protected = protected;
        Ok(secret)
    }

    pub fn add_owner(
        &mut self,
        region: &str,
        id: Uuid,
        product: Product,
    ) -> Result<&SecretRecord, ApiError> {
        let secret = self.live_secret_mut(region, id)?;
        if !secret.used_by.contains(&product) {
            secret.used_by.push(product);
        }
        Ok(secret)
    }

    pub fn list_secrets(
        &self,
        region: &str,
        filter: &SecretFilter,
        order: OrderBy,
        page: Page,
    ) -> (Vec<&SecretRecord>, usize) {
        let mut found: Vec<&SecretRecord> = self
            .secrets
            .values()
            .filter(|s| s.region == region && filter.matches(s))
            .collect();
        found.sort_by(|a, b| order.compare(sort_key(a), sort_key(b)));
        let total = found.len();
        (page.slice(found), total)
    }

    /// Browse: secrets directly under `prefix` and the folders below it (derived from secret paths).
    pub fn browse(
        &self,
        region: &str,
        filter: &SecretFilter,
        prefix: &str,
        order: OrderBy,
        page: Page,
    ) -> (Vec<BrowseItem<'_>>, usize) {
        let prefix = normalize_path(prefix);
        let mut folders: BTreeMap<String, (Timestamp, Timestamp)> = BTreeMap::new();
        let mut items = Vec::new();
        for s in self
            .secrets
            .values()
            .filter(|s| s.region == region && filter.matches(s))
        {
            if s.path == prefix {
                items.push(BrowseItem::Secret(s));
            } else if let Some(rest) = child_of(&prefix, &s.path) {
                let name = rest.split('/').next().unwrap_or(rest).to_string();
                let entry = folders.entry(name).or_insert((s.created_at, s.updated_at));
                entry.0 = entry.0.min(s.created_at);
                entry.1 = entry.1.max(s.updated_at);
            }
        }
        items.extend(folders.into_iter().map(|(name, (created_at, updated_at))| {
            BrowseItem::Folder {
                name,
                created_at,
                updated_at,
            }
        }));
        items.sort_by(|a, b| order.compare(browse_key(a), browse_key(b)));
        let total = items.len();
        (page.slice(items), total)
    }

    /// Distinct tags of the project's live secrets, sorted.
    pub fn tags(&self, region: &str, project: Option<Uuid>) -> Vec<String> {
        let set: BTreeSet<&String> = self
            .secrets
            .values()
            .filter(|s| {
                s.region == region
                    && project.is_none_or(|p| s.project_id == p)
                    && !s.is_scheduled_for_deletion()
            })
            .flat_map(|s| s.tags.iter())
            .collect();
        set.into_iter().cloned().collect()
    }

    /// Distinct types of the project's live secrets, in enum order.
    pub fn types(&self, region: &str, project: Option<Uuid>) -> Vec<SecretType> {
        SecretType::ALL
            .iter()
            .copied()
            .filter(|t| {
                self.secrets.values().any(|s| {
                    s.region == region
                        && project.is_none_or(|p| s.project_id == p)
                        && !s.is_scheduled_for_deletion()
                        && s.secret_type == *t
                })
            })
            .collect()
    }

    // ---- versions -----------------------------------------------------------------------------------

    pub fn resolve(secret: &SecretRecord, selector: RevisionSelector) -> Result<u32, ApiError> {
        let found = match selector {
            RevisionSelector::Number(n) => secret.version(n).map(|v| v.revision),
            RevisionSelector::Latest => secret.highest_revision(),
            RevisionSelector::LatestEnabled => secret
                .versions
                .iter()
                .rev()
                .find(|v| v.status == VersionStatus::Enabled)
                .map(|v| v.revision),
        };
        found.ok_or_else(|| {
            ApiError::not_found_version(match selector {
                RevisionSelector::Number(n) => n.to_string(),
                RevisionSelector::Latest => "latest".into(),
                RevisionSelector::LatestEnabled => "latest_enabled".into(),
            })
        })
    }

    /// The version `selector` picks in `secret`, with its revision number.
    fn selected_version_mut(
        secret: &mut SecretRecord,
        selector: RevisionSelector,
    ) -> Result<(u32, &mut VersionRecord), ApiError> {
        let revision = Self::resolve(secret, selector)?;
        let version = secret
            .version_mut(revision)
            .ok_or_else(|| ApiError::not_found_version(revision))?;
        Ok((revision, version))
    }

    /// The selected version of a live secret (see [`Account::live_secret_mut`]), with its revision.
    fn live_version_mut(
        &mut self,
        region: &str,
        id: Uuid,
        selector: RevisionSelector,
    ) -> Result<(u32, &mut VersionRecord), ApiError> {
        Self::selected_version_mut(self.live_secret_mut(region, id)?, selector)
    }

    /// Next revision number, `latest` moves to it; the previous version's `updated_at` is untouched [REC].
    /// `disable_previous` disables the previous highest revision if it is enabled (UNCONFIRMED which one
    /// counts as previous). The caller has validated the payload; nothing here can fail after a number is
    /// taken, so a refused create uses no number [REC].
    pub fn create_version(
        &mut self,
        region: &str,
        id: Uuid,
        new: NewVersion,
        now: Timestamp,
    ) -> Result<(&SecretRecord, u32), ApiError> {
        let secret = self.live_secret_mut(region, id)?;
        if new.disable_previous
            && let Some(previous) = secret.versions.last_mut()
            && previous.status == VersionStatus::Enabled
        {
            previous.status = VersionStatus::Disabled;
            previous.updated_at = now;
        }
        let revision = u32::try_from(secret.versions.len() + 1)
            .map_err(|_| ApiError::invalid("revision", "constraint", "too many versions"))?;
        let ephemeral_properties = secret
            .ephemeral_policy
            .as_ref()
            .map(|p| EphemeralProperties::from_policy(p, now));
        let expires_at = ephemeral_properties.as_ref().and_then(|p| p.expires_at);
        secret.versions.push(VersionRecord {
            revision,
            status: VersionStatus::Enabled,
            status_before_deletion: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            description: new.description,
            ephemeral_properties,
            deletion_requested_at: None,
            payload: Payload(new.payload),
            data_crc32: new.data_crc32,
        });
        if let Some(at) = expires_at {
            self.due(at);
        }
        let secret = self
            .secrets
            .get(&id)
            .ok_or_else(|| ApiError::not_found_secret(id))?;
        Ok((secret, revision))
    }

    pub fn update_version(
        &mut self,
        region: &str,
        id: Uuid,
        selector: RevisionSelector,
        patch: VersionPatch,
        now: Timestamp,
    ) -> Result<(&SecretRecord, u32), ApiError> {
        let (revision, version) = self.live_version_mut(region, id, selector)?;
        if let Some(description) = patch.description {
            version.description = description;
        }
        let mut due = None;
        if let Some(props) = patch.ephemeral_properties {
            due = props.as_ref().and_then(|p| p.expires_at);
            version.ephemeral_properties = props;
        }
        version.updated_at = now;
        if let Some(at) = due {
            self.due(at);
        }
        Ok((self.secret(region, id)?, revision))
    }

    /// Soft delete of a version: `scheduled_for_deletion`, `deletion_requested_at` set, `updated_at` and
    /// `deleted_at` untouched [REC]. Deleting a scheduled version again is a no-op; a `deleted` one is
    /// gone (404) (both UNCONFIRMED).
    pub fn delete_version(
        &mut self,
        region: &str,
        id: Uuid,
        selector: RevisionSelector,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let (revision, version) = self.live_version_mut(region, id, selector)?;
        match version.status {
            VersionStatus::Deleted => return Err(ApiError::not_found_version(revision)),
            VersionStatus::ScheduledForDeletion => return Ok(()),
            status => {
                version.status_before_deletion = Some(status);
                version.status = VersionStatus::ScheduledForDeletion;
                version.deletion_requested_at = Some(now);
            }
        }
        self.due(grace_end(now));
        Ok(())
    }

    /// Brings a scheduled version back to the status it had (UNCONFIRMED which status).
    pub fn restore_version(
        &mut self,
        region: &str,
        id: Uuid,
        selector: RevisionSelector,
        now: Timestamp,
    ) -> Result<(&SecretRecord, u32), ApiError> {
        let (revision, version) = self.live_version_mut(region, id, selector)?;
        match version.status {
            VersionStatus::ScheduledForDeletion => {
                version.status = version
                    .status_before_deletion
                    .take()
                    .unwrap_or(VersionStatus::Enabled);
                version.deletion_requested_at = None;
                version.updated_at = now;
            }
            VersionStatus::Deleted => return Err(ApiError::not_found_version(revision)),
            _ => {}
        }
        Ok((self.secret(region, id)?, revision))
    }

    /// Enable or disable. Re-enabling counts as re-creating: the version picks up the secret's current
    /// policy [DOC]. `updated_at` moves on a change, and a no-op succeeds unchanged (both UNCONFIRMED).
    /// Scheduled or deleted versions cannot be toggled (412, UNCONFIRMED).
    pub fn set_version_enabled(
        &mut self,
        region: &str,
        id: Uuid,
        selector: RevisionSelector,
        enabled: bool,
        now: Timestamp,
    ) -> Result<(&SecretRecord, u32), ApiError> {
        let secret = self.live_secret_mut(region, id)?;
        let policy = secret.ephemeral_policy.clone();
        let (revision, version) = Self::selected_version_mut(secret, selector)?;
        let mut due = None;
        match (version.status, enabled) {
            (VersionStatus::Enabled, true) | (VersionStatus::Disabled, false) => {}
            (VersionStatus::Disabled, true) => {
                version.status = VersionStatus::Enabled;
                version.ephemeral_properties = policy
                    .as_ref()
                    .map(|p| EphemeralProperties::from_policy(p, now));
                due = version
                    .ephemeral_properties
                    .as_ref()
                    .and_then(|p| p.expires_at);
                version.updated_at = now;
            }
            (VersionStatus::Enabled, false) => {
                version.status = VersionStatus::Disabled;
                version.updated_at = now;
            }
            (VersionStatus::ScheduledForDeletion | VersionStatus::Deleted, _) => {
                return Err(not_usable(revision, version.status));
            }
        }
        if let Some(at) = due {
            self.due(at);
        }
        Ok((self.secret(region, id)?, revision))
    }

    /// Reads a payload. Only `enabled` versions are readable; disabled or scheduled ones get 412
    /// `resource_not_usable` and `deleted` ones 404 (status and body UNCONFIRMED [DOC: "not
    /// accessible"]). A version with `expires_once_accessed` expires right after this read.
    pub fn access(
        &mut self,
        region: &str,
        id: Uuid,
        selector: RevisionSelector,
        now: Timestamp,
    ) -> Result<Accessed, ApiError> {
        let secret = self.live_secret_mut(region, id)?;
        let secret_type = secret.secret_type;
        let (revision, version) = Self::selected_version_mut(secret, selector)?;
        match version.status {
            VersionStatus::Enabled => {}
            VersionStatus::Deleted => return Err(ApiError::not_found_version(revision)),
            status => {
                return Err(not_usable(revision, status));
            }
        }
        let data = version.payload.0.clone();
        let data_crc32 = version.data_crc32;
        let mut expired = false;
        if let Some(props) = &version.ephemeral_properties
            && props.expires_once_accessed == Some(true)
        {
            let action = props.action;
            expire(version, action, now);
            expired = true;
        }
        Ok(Accessed {
            revision,
            data,
            data_crc32,
            secret_type,
            expired,
        })
    }

    pub fn list_versions(
        &self,
        region: &str,
        id: Uuid,
        statuses: &[VersionStatus],
        page: Page,
    ) -> Result<(&SecretRecord, Vec<&VersionRecord>, usize), ApiError> {
        let secret = self.secret(region, id)?;
        // Highest revision first [REC]; without a filter every status is listed [REC].
        let all: Vec<&VersionRecord> = secret
            .versions
            .iter()
            .rev()
            .filter(|v| statuses.is_empty() || statuses.contains(&v.status))
            .collect();
        let total = all.len();
        Ok((secret, page.slice(all), total))
    }

    /// Finds a live secret by project, path and name, for access by path.
    pub fn find_by_path(
        &self,
        region: &str,
        project: Option<Uuid>,
        path: &str,
        name: &str,
    ) -> Result<&SecretRecord, ApiError> {
        let path = normalize_path(path);
        self.secrets
            .values()
            .find(|s| {
                s.region == region
                    && project.is_none_or(|p| s.project_id == p)
                    && s.path == path
                    && s.name == name
                    && !s.is_scheduled_for_deletion()
            })
            .ok_or_else(|| ApiError::NotFound {
                resource: "secret",
                resource_id: format!("{path}/{name}"),
            })
    }

    // ---- time ---------------------------------------------------------------------------------------

    /// Applies everything time has made due: TTL expiry of versions (the policy's action), purge of
    /// secrets soft-deleted more than 7 days ago, and final deletion of versions scheduled that long.
    /// Returns whether anything changed.
    pub fn sweep(&mut self, now: Timestamp) -> bool {
        if !self.sweep_due(now) {
            return false;
        }
        let grace_over = |at: Timestamp| {
            at.saturating_add(DELETION_GRACE)
                .is_ok_and(|end| end <= now)
        };
        let before = self.secrets.len();
        self.secrets
            .retain(|_, s| !s.deletion_requested_at.is_some_and(grace_over));
        let mut changed = before != self.secrets.len();
        let mut next: Option<Timestamp> = None;
        let mut push = |at: Timestamp| next = Some(next.map_or(at, |n: Timestamp| n.min(at)));
        for secret in self.secrets.values_mut() {
            if let Some(at) = secret.deletion_requested_at {
                push(grace_end(at));
            }
            for v in &mut secret.versions {
                if v.status == VersionStatus::Enabled
                    && let Some(props) = &v.ephemeral_properties
                    && let Some(expires_at) = props.expires_at
                {
                    if expires_at <= now {
                        let action = props.action;
                        expire(v, action, expires_at);
                        changed = true;
                    } else {
                        push(expires_at);
                    }
                }
                if v.status == VersionStatus::ScheduledForDeletion
                    && let Some(at) = v.deletion_requested_at
                {
                    let end = grace_end(at);
                    if end <= now {
                        v.status = VersionStatus::Deleted;
                        v.deleted_at = Some(end);
                        v.payload = Payload::default();
                        changed = true;
                    } else {
                        push(end);
                    }
                }
            }
        }
        self.next_due = next;
        changed
    }

    /// Recomputes the sweep deadline after loading a state file.
    pub fn reindex(&mut self) {
        self.next_due = Some(Timestamp::MIN);
        let _ = self.sweep(Timestamp::MIN);
    }
}

/// What an expired version becomes: `disable` disables it; `delete` deletes it for good (`deleted`,
/// payload dropped; UNCONFIRMED whether it goes through `scheduled_for_deletion` instead).
fn expire(v: &mut VersionRecord, action: Option<EphemeralAction>, at: Timestamp) {
    match action {
        Some(EphemeralAction::Delete) => {
            v.status = VersionStatus::Deleted;
            v.deleted_at = Some(at);
            v.payload = Payload::default();
        }
        // A policy without an action (`unknown_action`) expires the harmless way.
        Some(EphemeralAction::Disable) | None => v.status = VersionStatus::Disabled,
    }
    v.updated_at = at;
}

/// 412 for a version whose status forbids the operation.
fn not_usable(revision: u32, status: VersionStatus) -> ApiError {
    ApiError::PreconditionFailed {
        precondition: "resource_not_usable",
        help_message: format!("secret version {revision} is {status}"),
    }
}

/// When something soft-deleted at `at` is gone for good.
fn grace_end(at: Timestamp) -> Timestamp {
    at.saturating_add(DELETION_GRACE).unwrap_or(Timestamp::MAX)
}

fn sort_key(s: &SecretRecord) -> (&str, Timestamp, Timestamp, Uuid) {
    (&s.name, s.created_at, s.updated_at, s.id)
}

fn browse_key<'a>(item: &'a BrowseItem<'_>) -> (&'a str, Timestamp, Timestamp, Uuid) {
    match item {
        BrowseItem::Secret(s) => sort_key(s),
        BrowseItem::Folder {
            name,
            created_at,
            updated_at,
        } => (name, *created_at, *updated_at, Uuid::nil()),
    }
}

/// The part of `path` below `prefix`, when `path` is strictly inside it.
fn child_of<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    if prefix == "/" {
        path.strip_prefix('/').filter(|r| !r.is_empty())
    } else {
        path.strip_prefix(prefix)?
            .strip_prefix('/')
            .filter(|r| !r.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGION: &str = "fr-par";

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn new_secret(name: &str, policy: Option<EphemeralPolicy>) -> NewSecret {
        NewSecret {
            project_id: Uuid::from_u128(7),
            name: name.into(),
            tags: vec![],
            description: String::new(),
            secret_type: SecretType::Opaque,
            path: "/".into(),
            ephemeral_policy: policy,
            protected: false,
            key_id: None,
        }
    }

    fn version(data: &str) -> NewVersion {
        NewVersion {
            payload: SecretValue::from(data),
            description: String::new(),
            disable_previous: false,
            data_crc32: None,
        }
    }

    #[test]
    fn path_normalisation() {
        for (input, want) in [
            ("/", "/"),
            ("", "/"),
            ("/x/", "/x"),
            ("x", "/x"),
            ("/a/b//", "/a/b"),
            ("///", "/"),
        ] {
            assert_eq!(normalize_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn revisions_are_never_reused_and_version_count_never_drops() {
        let mut s = Account::new();
        let id = Uuid::from_u128(1);
        let t0 = at("2026-07-03T15:00:00Z");
        s.create_secret(REGION, id, new_secret("a", None), t0)
            .unwrap();
        let (_, r1) = s.create_version(REGION, id, version("one"), t0).unwrap();
        s.delete_version(REGION, id, RevisionSelector::Number(r1), t0)
            .unwrap();
        let (secret, r2) = s.create_version(REGION, id, version("two"), t0).unwrap();
        assert_eq!((r1, r2, secret.versions.len()), (1, 2, 2));
        s.delete_version(REGION, id, RevisionSelector::Latest, t0)
            .unwrap();
        s.delete_secret(REGION, id, t0, AccountOptions::default())
            .unwrap();
        assert_eq!(s.secret(REGION, id).unwrap().versions.len(), 2);
        assert_eq!(
            s.secret("nl-ams", id).unwrap_err().status(),
            404,
            "secrets live in one region"
        );
    }

    #[test]
    fn secret_updated_at_rules() {
        let mut s = Account::new();
        let id = Uuid::from_u128(1);
        let (t0, t1, t2, t3) = (
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:00:01Z"),
            at("2026-01-01T00:00:02Z"),
            at("2026-01-01T00:00:03Z"),
        );
        s.create_secret(REGION, id, new_secret("a", None), t0)
            .unwrap();
        s.create_version(REGION, id, version("v"), t1).unwrap();
        s.set_protected(REGION, id, false).unwrap();
        assert_eq!(
            s.secret(REGION, id).unwrap().updated_at,
            t0,
            "versions and unprotect leave it alone"
        );
        s.update_secret(
            REGION,
            id,
            SecretPatch {
                description: Some("d".into()),
                ..Default::default()
            },
            t2,
        )
        .unwrap();
        assert_eq!(s.secret(REGION, id).unwrap().updated_at, t2);
        s.delete_secret(REGION, id, t3, AccountOptions::default())
            .unwrap();
        let secret = s.secret(REGION, id).unwrap();
        assert_eq!(
            (secret.updated_at, secret.deletion_requested_at),
            (t3, Some(t3))
        );
    }

    #[test]
    fn sweep_applies_ttl_and_purges_after_grace() {
        let mut s = Account::new();
        let id = Uuid::from_u128(1);
        let t0 = at("2026-01-01T00:00:00Z");
        let policy = EphemeralPolicy {
            time_to_live: Some(std::time::Duration::from_secs(60)),
            expires_once_accessed: None,
            action: Some(EphemeralAction::Disable),
        };
        s.create_secret(REGION, id, new_secret("a", Some(policy)), t0)
            .unwrap();
        s.create_version(REGION, id, version("v"), t0).unwrap();
        assert!(!s.sweep(at("2026-01-01T00:00:59Z")));
        assert!(s.sweep(at("2026-01-01T00:01:00Z")));
        assert_eq!(
            s.secret(REGION, id).unwrap().versions[0].status,
            VersionStatus::Disabled
        );
        assert!(
            !s.sweep_due(at("2030-01-01T00:00:00Z")),
            "nothing left to do"
        );

        let plain = Uuid::from_u128(2);
        s.create_secret(REGION, plain, new_secret("b", None), t0)
            .unwrap();
        s.delete_secret(REGION, plain, t0, AccountOptions::default())
            .unwrap();
        assert!(!s.sweep(at("2026-01-07T23:59:59Z")));
        assert!(s.sweep(at("2026-01-08T00:00:00Z")));
        assert!(s.secret(REGION, plain).is_err());
    }
}
