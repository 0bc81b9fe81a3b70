//! OCI Vault, secret retrieval and KMS JSON shapes (camelCase), as the official SDK's models name them.
//!
//! Responses are read leniently: unknown fields are ignored, absent or `null` optional fields are
//! `None`, enum values this build does not know become `Unknown`. Requests leave out what is unset.
//! Payloads travel only as [`SecretValue`] (base64 on the wire), so no `Debug` here prints one.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::secret_value::SecretValue;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)+
            /// A value this build does not know.
            #[serde(other)]
            Unknown,
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown => "UNKNOWN",
                }
            }
        }
    };
}

wire_enum!(
    /// Lifecycle of a secret.
    SecretLifecycleState {
        Creating = "CREATING",
        Active = "ACTIVE",
        Updating = "UPDATING",
        Deleting = "DELETING",
        Deleted = "DELETED",
        SchedulingDeletion = "SCHEDULING_DELETION",
        PendingDeletion = "PENDING_DELETION",
        CancellingDeletion = "CANCELLING_DELETION",
        Failed = "FAILED",
    }
);

wire_enum!(
    /// A secret version's role; a version can hold several.
    Stage {
        Current = "CURRENT",
        Pending = "PENDING",
        Latest = "LATEST",
        Previous = "PREVIOUS",
        Deprecated = "DEPRECATED",
    }
);

wire_enum!(
    /// Lifecycle of a master encryption key.
    KeyLifecycleState {
        Creating = "CREATING",
        Enabling = "ENABLING",
        Enabled = "ENABLED",
        Disabling = "DISABLING",
        Disabled = "DISABLED",
        Deleting = "DELETING",
        Deleted = "DELETED",
        PendingDeletion = "PENDING_DELETION",
        SchedulingDeletion = "SCHEDULING_DELETION",
        CancellingDeletion = "CANCELLING_DELETION",
        Updating = "UPDATING",
        BackupInProgress = "BACKUP_IN_PROGRESS",
        Restoring = "RESTORING",
    }
);

wire_enum!(
    /// Lifecycle of a key version.
    KeyVersionLifecycleState {
        Creating = "CREATING",
        Enabling = "ENABLING",
        Enabled = "ENABLED",
        Disabling = "DISABLING",
        Disabled = "DISABLED",
        Deleting = "DELETING",
        Deleted = "DELETED",
        PendingDeletion = "PENDING_DELETION",
        SchedulingDeletion = "SCHEDULING_DELETION",
        CancellingDeletion = "CANCELLING_DELETION",
    }
);

wire_enum!(
    /// Where a key version's material came from.
    KeyVersionOrigin {
        Internal = "INTERNAL",
        External = "EXTERNAL",
    }
);

/// A secret rule, tagged by `ruleType`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ruleType")]
pub enum SecretRule {
    #[serde(rename = "SECRET_EXPIRY_RULE", rename_all = "camelCase")]
    Expiry {
        /// ISO 8601 duration, `P1D` to `P90D`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret_version_expiry_interval: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// Free-form tags (`{"k": "v"}`) and defined tags (`{"namespace": {"k": value}}`).
pub type FreeformTags = BTreeMap<String, String>;
pub type DefinedTags = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

/// A secret (GetSecret, CreateSecret, UpdateSecret).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub id: String,
    pub compartment_id: String,
    pub vault_id: String,
    pub key_id: Option<String>,
    pub secret_name: String,
    pub lifecycle_state: SecretLifecycleState,
    pub lifecycle_details: Option<String>,
    pub current_version_number: Option<u64>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub freeform_tags: FreeformTags,
    #[serde(default, deserialize_with = "null_as_default")]
    pub defined_tags: DefinedTags,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret_rules: Vec<SecretRule>,
    pub time_created: Option<Timestamp>,
    pub time_of_current_version_expiry: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
    /// The answer's `etag` header, for `if-match` on a later write.
    #[serde(skip)]
    pub etag: Option<String>,
}

/// One item of ListSecrets.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretSummary {
    pub id: String,
    pub compartment_id: String,
    pub vault_id: String,
    pub key_id: Option<String>,
    pub secret_name: String,
    pub lifecycle_state: SecretLifecycleState,
    pub lifecycle_details: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub freeform_tags: FreeformTags,
    #[serde(default, deserialize_with = "null_as_default")]
    pub defined_tags: DefinedTags,
    pub time_created: Option<Timestamp>,
    pub time_of_current_version_expiry: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
}

/// GetSecretVersion.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersion {
    pub secret_id: String,
    pub version_number: u64,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub stages: Vec<Stage>,
    pub content_type: Option<String>,
    pub time_created: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
    pub time_of_current_version_expiry: Option<Timestamp>,
    pub is_content_auto_generated: Option<bool>,
}

/// One item of ListSecretVersions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersionSummary {
    pub secret_id: String,
    pub version_number: u64,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub stages: Vec<Stage>,
    pub content_type: Option<String>,
    pub time_created: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
    pub time_of_expiry: Option<Timestamp>,
    pub is_content_auto_generated: Option<bool>,
}

/// New content for CreateSecret and UpdateSecret (`secretContent`). Its `contentType`, always
/// `BASE64`, is written as the struct's serde tag.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "contentType", rename = "BASE64")]
pub struct SecretContent {
    #[serde(serialize_with = "serialize_base64")]
    pub content: SecretValue,
    /// Version name, unique within the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Current` (the default) or `Pending`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
}

impl SecretContent {
    pub fn new(content: SecretValue) -> Self {
        Self {
            content,
            name: None,
            stage: None,
        }
    }

    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn stage(mut self, stage: Stage) -> Self {
        self.stage = Some(stage);
        self
    }
}

/// CreateSecret body.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSecretDetails {
    pub compartment_id: String,
    pub vault_id: String,
    /// A symmetric master key of that vault.
    pub key_id: String,
    /// Unique within the vault (also against secrets pending deletion).
    pub secret_name: String,
    pub secret_content: SecretContent,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_rules: Vec<SecretRule>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub freeform_tags: FreeformTags,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub defined_tags: DefinedTags,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// UpdateSecret body. New content, `current_version_number` and rules cannot be combined in one call.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSecretDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_content: Option<SecretContent>,
    /// Promotes an existing version to CURRENT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version_number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_rules: Option<Vec<SecretRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeform_tags: Option<FreeformTags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defined_tags: Option<DefinedTags>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Body of the scheduleDeletion actions.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleDeletionDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_of_deletion: Option<Timestamp>,
}

/// GetSecretBundle, GetSecretBundleByName: one version with its payload.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretBundle {
    pub secret_id: String,
    pub version_number: u64,
    pub version_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub stages: Vec<Stage>,
    pub time_created: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
    pub time_of_expiry: Option<Timestamp>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub secret_bundle_content: Option<BundleContent>,
}

/// `secretBundleContent`: the payload, decoded from base64.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleContent {
    pub content_type: String,
    #[serde(default, deserialize_with = "deserialize_base64")]
    pub content: SecretValue,
}

/// One item of ListSecretBundleVersions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretBundleVersionSummary {
    pub secret_id: String,
    pub version_number: u64,
    pub version_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub stages: Vec<Stage>,
    pub time_created: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
    pub time_of_expiry: Option<Timestamp>,
}

/// A master encryption key (GetKey).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Key {
    pub id: String,
    pub compartment_id: String,
    pub vault_id: String,
    pub display_name: Option<String>,
    pub lifecycle_state: KeyLifecycleState,
    pub current_key_version: Option<String>,
    pub protection_mode: Option<String>,
    pub key_shape: Option<KeyShape>,
    pub time_created: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
    #[serde(skip)]
    pub etag: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyShape {
    pub algorithm: String,
    pub length: u32,
    pub curve_id: Option<String>,
}

/// A key version (GetKeyVersion, CreateKeyVersion, the deletion actions).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVersion {
    pub id: String,
    pub key_id: String,
    pub vault_id: String,
    pub compartment_id: String,
    pub lifecycle_state: KeyVersionLifecycleState,
    pub origin: Option<KeyVersionOrigin>,
    pub time_created: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
    pub public_key: Option<String>,
    pub is_primary: Option<bool>,
    pub is_auto_rotated: Option<bool>,
    #[serde(skip)]
    pub etag: Option<String>,
}

/// One item of ListKeyVersions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVersionSummary {
    pub id: String,
    pub key_id: String,
    pub vault_id: String,
    pub compartment_id: String,
    pub lifecycle_state: KeyVersionLifecycleState,
    pub origin: Option<KeyVersionOrigin>,
    pub time_created: Option<Timestamp>,
    pub time_of_deletion: Option<Timestamp>,
    pub is_auto_rotated: Option<bool>,
}

/// An error answer: `{"code": "...", "message": "..."}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WireError {
    pub code: String,
    pub message: String,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn serialize_base64<S: Serializer>(value: &SecretValue, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&BASE64.encode(value.expose()))
}

/// Decodes the base64 payload. The error names the problem, never the text (it is the payload).
fn deserialize_base64<'de, D: Deserializer<'de>>(d: D) -> Result<SecretValue, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    BASE64
        .decode(text.as_bytes())
        .map(SecretValue::new)
        .map_err(|_| serde::de::Error::custom("content is not valid base64"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_camel_case_and_leave_out_unset_fields() {
        let body = CreateSecretDetails {
            compartment_id: "c".into(),
            vault_id: "v".into(),
            key_id: "k".into(),
            secret_name: "db".into(),
            secret_content: SecretContent::new(SecretValue::from("hunter2")).stage(Stage::Pending),
            description: None,
            secret_rules: vec![SecretRule::Reuse {
                is_enforced_on_deleted_secret_versions: Some(true),
            }],
            freeform_tags: BTreeMap::new(),
            defined_tags: BTreeMap::new(),
            metadata: None,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "compartmentId": "c", "vaultId": "v", "keyId": "k", "secretName": "db",
                "secretContent": {"contentType": "BASE64", "content": "aHVudGVyMg==", "stage": "PENDING"},
                "secretRules": [{"ruleType": "SECRET_REUSE_RULE", "isEnforcedOnDeletedSecretVersions": true}],
            })
        );
        assert!(!format!("{body:?}").contains("hunter2"));
        let promote = UpdateSecretDetails {
            current_version_number: Some(3),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&promote).unwrap(),
            json!({"currentVersionNumber": 3})
        );
    }

    #[test]
    fn answers_are_read_leniently() {
        let secret: Secret = serde_json::from_value(json!({
            "id": "s", "compartmentId": "c", "vaultId": "v", "keyId": null, "secretName": "db",
            "lifecycleState": "SOMETHING_NEW", "freeformTags": null, "extra": 1,
            "timeCreated": "2019-04-03T21:10:29.600Z",
            "secretRules": [{"ruleType": "SECRET_EXPIRY_RULE", "secretVersionExpiryInterval": "P30D"}],
        }))
        .unwrap();
        assert_eq!(secret.lifecycle_state, SecretLifecycleState::Unknown);
        assert!(secret.freeform_tags.is_empty());
        assert_eq!(
            secret.secret_rules,
            vec![SecretRule::Expiry {
                secret_version_expiry_interval: Some("P30D".into()),
                time_of_absolute_expiry: None,
                is_secret_content_retrieval_blocked_on_expiry: None,
            }]
        );
        let bundle: SecretBundle = serde_json::from_value(json!({
            "secretId": "s", "versionNumber": 2, "stages": ["CURRENT", "LATEST"],
            "secretBundleContent": {"contentType": "BASE64", "content": "aHVudGVyMg=="},
        }))
        .unwrap();
        let content = bundle.secret_bundle_content.unwrap();
        assert_eq!(content.content.expose(), b"hunter2");
        assert!(!format!("{content:?}").contains("hunter2"));
        let bad = serde_json::from_value::<SecretBundle>(json!({
            "secretId": "s", "versionNumber": 2,
            "secretBundleContent": {"contentType": "BASE64", "content": "not base64 hunter2!"},
        }))
        .unwrap_err();
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
    }
}
