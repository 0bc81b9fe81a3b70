//! The records the OCI emulator keeps (serialised into the state file) and their wire views (camelCase,
//! as the SDK's models read them). Stage and lifecycle rules live here, pure.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// OCI's timestamps: RFC 3339, UTC, milliseconds (`2019-04-03T21:10:29.600Z`).
pub fn format_time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn time_opt<S: serde::Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(t) => s.serialize_str(&format_time(*t)),
        None => s.serialize_none(),
    }
}

fn time<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*ts))
}

/// A registered API key: requests signed with `tenancy/user/fingerprint` verify with `public_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub tenancy: String,
    pub user: String,
    pub fingerprint: String,
    /// PEM (`PUBLIC KEY` or `RSA PUBLIC KEY`).
    pub public_key: String,
}

impl ApiKeyRecord {
    pub fn key_id(&self) -> String {
        format!("{}/{}/{}", self.tenancy, self.user, self.fingerprint)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompartmentRecord {
    pub id: String,
    pub tenancy_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultRecord {
    pub id: String,
    pub compartment_id: String,
    pub display_name: String,
    pub time_created: Timestamp,
}

/// Settled states of a secret; the transitional ones are a [`SecretTransition`] on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecretState {
    Active,
    PendingDeletion,
    Deleted,
}

/// A write's short window, during which the secret shows this state and refuses other writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecretTransition {
    Creating,
    Updating,
    SchedulingDeletion,
    CancellingDeletion,
}

impl SecretTransition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::Updating => "UPDATING",
            Self::SchedulingDeletion => "SCHEDULING_DELETION",
            Self::CancellingDeletion => "CANCELLING_DELETION",
        }
    }

    /// Where the secret settles when the window ends.
    pub fn settles_to(self) -> SecretState {
        match self {
            Self::Creating | Self::Updating | Self::CancellingDeletion => SecretState::Active,
            Self::SchedulingDeletion => SecretState::PendingDeletion,
        }
    }
}

impl SecretState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::PendingDeletion => "PENDING_DELETION",
            Self::Deleted => "DELETED",
        }
    }
}

/// A secret rule as stored and shown (validated on the way in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ruleType")]
pub enum SecretRule {
    #[serde(rename = "SECRET_EXPIRY_RULE", rename_all = "camelCase")]
    Expiry {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret_version_expiry_interval: Option<String>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "time_opt"
        )]
        time_of_absolute_expiry: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_secret_content_retrieval_blocked_on_expiry: Option<bool>,
    },
    #[serde(rename = "SECRET_REUSE_RULE", rename_all = "camelCase")]
    Reuse {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_enforced_on_deleted_secret_versions: Option<bool>,
    },
}

/// `P{n}D` within 1 to 90 days, the expiry interval's accepted form.
pub fn expiry_interval_days(text: &str) -> Option<i64> {
    let days: i64 = text.strip_prefix('P')?.strip_suffix('D')?.parse().ok()?;
    (1..=90).contains(&days).then_some(days)
}

/// One version of a secret. Its content is kept base64-encoded, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRecord {
    pub number: u64,
    pub name: Option<String>,
    pub content: String,
    /// SHA-256 of the decoded content, for the reuse rule.
    pub content_sha256: String,
    pub time_created: Timestamp,
    pub time_of_deletion: Option<Timestamp>,
}

/// A version's stages, from the secret's three pointers and the newest version. `DEPRECATED` is
/// every version that is none of CURRENT, PENDING, PREVIOUS; `LATEST` comes on top.
pub fn stages(number: u64, roles: &Roles, latest: u64) -> Vec<&'static str> {
    let mut out = Vec::new();
    if roles.current == number {
        out.push("CURRENT");
    }
    if roles.pending == Some(number) {
        out.push("PENDING");
    }
    if roles.previous == Some(number) {
        out.push("PREVIOUS");
    }
    if out.is_empty() {
        out.push("DEPRECATED");
    }
    if latest == number {
        out.push("LATEST");
    }
    out
}

/// The versions holding CURRENT, PENDING and PREVIOUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Roles {
    pub current: u64,
    pub pending: Option<u64>,
    pub previous: Option<u64>,
}

impl Roles {
    /// A new upload `n`: CURRENT moves to it (the old CURRENT becomes PREVIOUS), or it takes PENDING
    /// (a version that was PENDING before loses the stage; UNCONFIRMED: one PENDING at a time).
    pub fn upload(self, n: u64, pending: bool) -> Self {
        if pending {
            Self {
                pending: Some(n),
                ..self
            }
        } else {
            self.promote(n)
        }
    }

    /// `currentVersionNumber: n`: n becomes CURRENT, the old CURRENT PREVIOUS; a PENDING n is no
    /// longer pending. Promoting the CURRENT version changes nothing.
    pub fn promote(self, n: u64) -> Self {
        if self.current == n {
            return self;
        }
        Self {
            current: n,
            previous: Some(self.current),
            pending: self.pending.filter(|p| *p != n),
        }
    }

    /// Whether only DEPRECATED (and maybe LATEST) is left for `n`: the versions that may be deleted.
    pub fn is_deprecated(&self, n: u64) -> bool {
        self.current != n && self.pending != Some(n) && self.previous != Some(n)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRecord {
    pub id: String,
    pub compartment_id: String,
    pub vault_id: String,
    pub key_id: String,
    pub name: String,
    pub description: Option<String>,
    pub freeform_tags: BTreeMap<String, String>,
    pub defined_tags: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub rules: Vec<SecretRule>,
    pub state: SecretState,
    /// The current write window and when it ends.
    pub transition: Option<(SecretTransition, Timestamp)>,
    pub time_created: Timestamp,
    pub time_of_deletion: Option<Timestamp>,
    /// Live versions (not yet deleted), ascending by number.
    pub versions: Vec<VersionRecord>,
    pub next_version: u64,
    pub roles: Roles,
    /// Content hashes of deleted versions (the reuse rule can cover them).
    pub deleted_content: Vec<String>,
    /// Bumped on every change; the etag.
    pub revision: u64,
}

impl SecretRecord {
    /// The state the API shows at `now`: the write window's while it lasts.
    pub fn lifecycle_state(&self, now: Timestamp) -> &'static str {
        match self.transition {
            Some((t, until)) if until > now => t.as_str(),
            Some((t, _)) => t.settles_to().as_str(),
            None => self.state.as_str(),
        }
    }

    /// The settled state at `now` (a window that ended counts as settled).
    pub fn settled(&self, now: Timestamp) -> Result<SecretState, SecretTransition> {
        match self.transition {
            Some((t, until)) if until > now => Err(t),
            Some((t, _)) => Ok(t.settles_to()),
            None => Ok(self.state),
        }
    }

    pub fn etag(&self) -> String {
        format!(
            "\"{}-{}\"",
            &self.id[self.id.len().saturating_sub(8)..],
            self.revision
        )
    }

    pub fn latest(&self) -> u64 {
        self.versions.last().map_or(0, |v| v.number)
    }

    pub fn version(&self, n: u64) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.number == n)
    }

    pub fn stages_of(&self, n: u64) -> Vec<&'static str> {
        stages(n, &self.roles, self.latest())
    }

    fn expiry_days(&self) -> Option<i64> {
        self.rules.iter().find_map(|r| match r {
            SecretRule::Expiry {
                secret_version_expiry_interval: Some(i),
                ..
            } => expiry_interval_days(i),
            _ => None,
        })
    }

    /// When version `v` expires under the expiry rule (interval from its creation, or the absolute
    /// time, whichever comes first).
    pub fn expiry_of(&self, v: &VersionRecord) -> Option<Timestamp> {
        let by_interval = self.expiry_days().and_then(|d| {
            v.time_created
                .checked_add(jiff::SignedDuration::from_hours(d * 24))
                .ok()
        });
        let absolute = self.rules.iter().find_map(|r| match r {
            SecretRule::Expiry {
                time_of_absolute_expiry,
                ..
            } => *time_of_absolute_expiry,
            _ => None,
        });
        match (by_interval, absolute) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn retrieval_blocked_on_expiry(&self) -> bool {
        self.rules.iter().any(|r| {
            matches!(
                r,
                SecretRule::Expiry {
                    is_secret_content_retrieval_blocked_on_expiry: Some(true),
                    ..
                }
            )
        })
    }

    /// `Some(also_deleted)` when a reuse rule is set.
    pub fn reuse_rule(&self) -> Option<bool> {
        self.rules.iter().find_map(|r| match r {
            SecretRule::Reuse {
                is_enforced_on_deleted_secret_versions,
            } => Some(is_enforced_on_deleted_secret_versions.unwrap_or(false)),
            _ => None,
        })
    }

    pub fn view(&self, now: Timestamp) -> SecretView {
        SecretView {
            id: self.id.clone(),
            compartment_id: self.compartment_id.clone(),
            vault_id: self.vault_id.clone(),
            key_id: self.key_id.clone(),
            secret_name: self.name.clone(),
            description: self.description.clone(),
            lifecycle_state: self.lifecycle_state(now),
            current_version_number: self.roles.current,
            freeform_tags: self.freeform_tags.clone(),
            defined_tags: self.defined_tags.clone(),
            metadata: self.metadata.clone(),
            secret_rules: self.rules.clone(),
            time_created: self.time_created,
            time_of_deletion: self.time_of_deletion,
            time_of_current_version_expiry: self
                .version(self.roles.current)
                .and_then(|v| self.expiry_of(v)),
        }
    }

    pub fn summary(&self, now: Timestamp) -> SecretSummaryView {
        let v = self.view(now);
        SecretSummaryView {
            id: v.id,
            compartment_id: v.compartment_id,
            vault_id: v.vault_id,
            key_id: v.key_id,
            secret_name: v.secret_name,
            description: v.description,
            lifecycle_state: v.lifecycle_state,
            freeform_tags: v.freeform_tags,
            defined_tags: v.defined_tags,
            time_created: v.time_created,
            time_of_deletion: v.time_of_deletion,
            time_of_current_version_expiry: v.time_of_current_version_expiry,
        }
    }

    pub fn version_view(&self, v: &VersionRecord) -> SecretVersionView {
        let current = self.roles.current == v.number;
        SecretVersionView {
            secret_id: self.id.clone(),
            version_number: v.number,
            name: v.name.clone(),
            stages: self.stages_of(v.number),
            content_type: "BASE64",
            time_created: v.time_created,
            time_of_deletion: v.time_of_deletion,
            time_of_current_version_expiry: if current { self.expiry_of(v) } else { None },
            is_content_auto_generated: false,
        }
    }

    pub fn version_summary(&self, v: &VersionRecord) -> SecretVersionSummaryView {
        SecretVersionSummaryView {
            secret_id: self.id.clone(),
            version_number: v.number,
            name: v.name.clone(),
            stages: self.stages_of(v.number),
            content_type: "BASE64",
            time_created: v.time_created,
            time_of_deletion: v.time_of_deletion,
            time_of_expiry: self.expiry_of(v),
            is_content_auto_generated: false,
        }
    }

    pub fn bundle(&self, v: &VersionRecord) -> BundleView {
        BundleView {
            secret_id: self.id.clone(),
            version_number: v.number,
            version_name: v.name.clone(),
            stages: self.stages_of(v.number),
            time_created: v.time_created,
            time_of_deletion: v.time_of_deletion,
            time_of_expiry: self.expiry_of(v),
            metadata: self.metadata.clone(),
            secret_bundle_content: BundleContentView {
                content_type: "BASE64",
                content: v.content.clone(),
            },
        }
    }

    pub fn bundle_summary(&self, v: &VersionRecord) -> BundleVersionSummaryView {
        BundleVersionSummaryView {
            secret_id: self.id.clone(),
            version_number: v.number,
            version_name: v.name.clone(),
            stages: self.stages_of(v.number),
            time_created: v.time_created,
            time_of_deletion: v.time_of_deletion,
            time_of_expiry: self.expiry_of(v),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    Deleted,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
            Self::PendingDeletion => "PENDING_DELETION",
            Self::Deleted => "DELETED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Enabled,
            Self::Disabled,
            Self::PendingDeletion,
            Self::Deleted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyVersionState {
    Enabled,
    PendingDeletion,
    Deleted,
}

impl KeyVersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::PendingDeletion => "PENDING_DELETION",
            Self::Deleted => "DELETED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVersionRecord {
    pub id: String,
    pub state: KeyVersionState,
    pub time_created: Timestamp,
    pub time_of_deletion: Option<Timestamp>,
    pub revision: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub id: String,
    pub compartment_id: String,
    pub vault_id: String,
    pub display_name: String,
    /// `AES` (symmetric; the only kind a secret can use), `RSA` or `ECDSA`.
    pub algorithm: String,
    pub length: u32,
    pub protection_mode: String,
    pub state: KeyState,
    /// End of the UPDATING window after a KMS write (only while ENABLED).
    pub updating_until: Option<Timestamp>,
    pub time_created: Timestamp,
    pub time_of_deletion: Option<Timestamp>,
    /// Ascending by creation.
    pub versions: Vec<KeyVersionRecord>,
    pub current_version: String,
    pub revision: u64,
}

impl KeyRecord {
    pub fn lifecycle_state(&self, now: Timestamp) -> &'static str {
        match (self.state, self.updating_until) {
            (KeyState::Enabled, Some(until)) if until > now => "UPDATING",
            (state, _) => state.as_str(),
        }
    }

    pub fn is_updating(&self, now: Timestamp) -> bool {
        self.lifecycle_state(now) == "UPDATING"
    }

    pub fn etag(&self) -> String {
        format!(
            "\"{}-{}\"",
            &self.id[self.id.len().saturating_sub(8)..],
            self.revision
        )
    }

    pub fn version(&self, id: &str) -> Option<&KeyVersionRecord> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub fn view(&self, now: Timestamp) -> KeyView {
        KeyView {
            id: self.id.clone(),
            compartment_id: self.compartment_id.clone(),
            vault_id: self.vault_id.clone(),
            display_name: self.display_name.clone(),
            lifecycle_state: self.lifecycle_state(now),
            current_key_version: self.current_version.clone(),
            protection_mode: self.protection_mode.clone(),
            key_shape: KeyShapeView {
                algorithm: self.algorithm.clone(),
                length: self.length,
            },
            time_created: self.time_created,
            time_of_deletion: self.time_of_deletion,
            freeform_tags: BTreeMap::new(),
            defined_tags: BTreeMap::new(),
        }
    }

    pub fn version_view(&self, v: &KeyVersionRecord) -> KeyVersionView {
        KeyVersionView {
            id: v.id.clone(),
            key_id: self.id.clone(),
            vault_id: self.vault_id.clone(),
            compartment_id: self.compartment_id.clone(),
            lifecycle_state: v.state.as_str(),
            origin: "INTERNAL",
            time_created: v.time_created,
            time_of_deletion: v.time_of_deletion,
            is_primary: true,
            is_auto_rotated: false,
        }
    }

    pub fn version_summary(&self, v: &KeyVersionRecord) -> KeyVersionSummaryView {
        KeyVersionSummaryView {
            id: v.id.clone(),
            key_id: self.id.clone(),
            vault_id: self.vault_id.clone(),
            compartment_id: self.compartment_id.clone(),
            lifecycle_state: v.state.as_str(),
            origin: "INTERNAL",
            time_created: v.time_created,
            time_of_deletion: v.time_of_deletion,
            is_auto_rotated: false,
        }
    }
}

// ---- wire views ----

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretView {
    pub id: String,
    pub compartment_id: String,
    pub vault_id: String,
    pub key_id: String,
    pub secret_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub lifecycle_state: &'static str,
    pub current_version_number: u64,
    pub freeform_tags: BTreeMap<String, String>,
    pub defined_tags: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub secret_rules: Vec<SecretRule>,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_current_version_expiry: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretSummaryView {
    pub id: String,
    pub compartment_id: String,
    pub vault_id: String,
    pub key_id: String,
    pub secret_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub lifecycle_state: &'static str,
    pub freeform_tags: BTreeMap<String, String>,
    pub defined_tags: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_current_version_expiry: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersionView {
    pub secret_id: String,
    pub version_number: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub stages: Vec<&'static str>,
    pub content_type: &'static str,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_current_version_expiry: Option<Timestamp>,
    pub is_content_auto_generated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersionSummaryView {
    pub secret_id: String,
    pub version_number: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub stages: Vec<&'static str>,
    pub content_type: &'static str,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_expiry: Option<Timestamp>,
    pub is_content_auto_generated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleView {
    pub secret_id: String,
    pub version_number: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    pub stages: Vec<&'static str>,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_expiry: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub secret_bundle_content: BundleContentView,
}

#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleContentView {
    pub content_type: &'static str,
    pub content: String,
}

impl std::fmt::Debug for BundleContentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BundleContentView(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleVersionSummaryView {
    pub secret_id: String,
    pub version_number: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    pub stages: Vec<&'static str>,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_expiry: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    pub compartment_id: String,
    pub vault_id: String,
    pub display_name: String,
    pub lifecycle_state: &'static str,
    pub current_key_version: String,
    pub protection_mode: String,
    pub key_shape: KeyShapeView,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    pub freeform_tags: BTreeMap<String, String>,
    pub defined_tags: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyShapeView {
    pub algorithm: String,
    pub length: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVersionView {
    pub id: String,
    pub key_id: String,
    pub vault_id: String,
    pub compartment_id: String,
    pub lifecycle_state: &'static str,
    pub origin: &'static str,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    pub is_primary: bool,
    pub is_auto_rotated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVersionSummaryView {
    pub id: String,
    pub key_id: String,
    pub vault_id: String,
    pub compartment_id: String,
    pub lifecycle_state: &'static str,
    pub origin: &'static str,
    #[serde(serialize_with = "time")]
    pub time_created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "time_opt")]
    pub time_of_deletion: Option<Timestamp>,
    pub is_auto_rotated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's stage rules, walked through a rotation.
    #[test]
    fn stage_table() {
        let mut roles = Roles {
            current: 1,
            ..Roles::default()
        };
        let show = |roles: &Roles, latest: u64| -> Vec<Vec<&'static str>> {
            (1..=latest).map(|n| stages(n, roles, latest)).collect()
        };
        // The first version is CURRENT and LATEST.
        assert_eq!(show(&roles, 1), [vec!["CURRENT", "LATEST"]]);
        // A pending upload: the newest is always LATEST.
        roles = roles.upload(2, true);
        assert_eq!(
            show(&roles, 2),
            [vec!["CURRENT"], vec!["PENDING", "LATEST"]]
        );
        // Promoting it: the old CURRENT becomes PREVIOUS.
        roles = roles.promote(2);
        assert_eq!(
            show(&roles, 2),
            [vec!["PREVIOUS"], vec!["CURRENT", "LATEST"]]
        );
        // A direct CURRENT upload: every other version is DEPRECATED.
        roles = roles.upload(3, false);
        assert_eq!(
            show(&roles, 3),
            [
                vec!["DEPRECATED"],
                vec!["PREVIOUS"],
                vec!["CURRENT", "LATEST"]
            ]
        );
        // A second pending upload replaces the first as PENDING.
        roles = roles.upload(4, true).upload(5, true);
        assert_eq!(stages(4, &roles, 5), ["DEPRECATED"]);
        assert_eq!(stages(5, &roles, 5), ["PENDING", "LATEST"]);
        // Rolling back to an old version.
        roles = roles.promote(1);
        assert_eq!(stages(1, &roles, 5), ["CURRENT"]);
        assert_eq!(stages(3, &roles, 5), ["PREVIOUS"]);
        assert_eq!(stages(2, &roles, 5), ["DEPRECATED"]);
        assert!(roles.is_deprecated(2) && !roles.is_deprecated(5));
        // Promoting the CURRENT version changes nothing.
        assert_eq!(roles.promote(1), roles);
    }

    #[test]
    fn expiry_intervals() {
        assert_eq!(expiry_interval_days("P1D"), Some(1));
        assert_eq!(expiry_interval_days("P90D"), Some(90));
        for bad in ["P0D", "P91D", "1D", "P1W", "PT1H", "P"] {
            assert_eq!(expiry_interval_days(bad), None, "{bad}");
        }
    }

    #[test]
    fn lifecycle_windows() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let later = t0 + jiff::SignedDuration::from_millis(300);
        let mut s = SecretRecord {
            id: "ocid1.vaultsecret.oc1.x.abc".into(),
            compartment_id: "c".into(),
            vault_id: "v".into(),
            key_id: "k".into(),
            name: "n".into(),
            description: None,
            freeform_tags: BTreeMap::new(),
            defined_tags: BTreeMap::new(),
            metadata: None,
            rules: vec![],
            state: SecretState::Active,
            transition: Some((
                SecretTransition::Updating,
                t0 + jiff::SignedDuration::from_millis(200),
            )),
            time_created: t0,
            time_of_deletion: None,
            versions: vec![],
            next_version: 2,
            roles: Roles::default(),
            deleted_content: vec![],
            revision: 1,
        };
        assert_eq!(s.lifecycle_state(t0), "UPDATING");
        assert_eq!(s.settled(t0), Err(SecretTransition::Updating));
        assert_eq!(s.lifecycle_state(later), "ACTIVE");
        s.transition = Some((SecretTransition::SchedulingDeletion, t0));
        assert_eq!(s.lifecycle_state(t0), "PENDING_DELETION");
        assert_eq!(format_time(t0), "2026-01-01T00:00:00.000Z");
    }
}
