//! The records the emulator keeps (secrets, versions, KMS keys) and their JSON views (reference §3).
//!
//! Views are built with `serde_json::json!`; field names are the API's camelCase. Values are kept as
//! raw bytes, written to the state file as standard base64 and never printed.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::emulator::clock::format_timestamp;
use crate::secret_value::SecretValue;

/// KMS key states (reference §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Active,
    Disabled,
    PendingDeletion,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::PendingDeletion => "pending_deletion",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Disabled, Self::PendingDeletion]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The key types a secret may be bound to: symmetric encryption keys only (reference §6).
pub const SYMMETRIC_KEY_TYPES: [&str; 3] = ["aes128-gcm96", "aes256-gcm96", "chacha20-poly1305"];

/// Every key type the SDK knows (reference §3.6).
pub const KEY_TYPES: [&str; 13] = [
    "aes128-gcm96",
    "aes256-gcm96",
    "chacha20-poly1305",
    "ed25519",
    "ecdsa-p256",
    "ecdsa-p384",
    "ecdsa-p521",
    "rsa-2048",
    "rsa-3072",
    "rsa-4096",
    "hmac",
    "hmac-sha256",
    "hmac-sha512",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyVersionRecord {
    pub version: u32,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub identity: String,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub region: String,
    /// `None`: a key seeded by the emulator's configuration, usable from every organisation.
    pub organisation: Option<String>,
    pub project: Option<String>,
    pub key_type: String,
    pub status: KeyStatus,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub export_allowed: bool,
    pub key_rotation_enabled: bool,
    pub rotation_period_in_days: Option<u32>,
    pub versions: Vec<KeyVersionRecord>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub object_version: u64,
    pub deletion_scheduled_at: Option<Timestamp>,
    /// Past its deletion date: gone from the KMS API; secrets bound to it can no longer be read or
    /// written (UNCONFIRMED, reference §6).
    pub deleted: bool,
}

impl KeyRecord {
    pub fn latest_version(&self) -> u32 {
        self.versions.last().map_or(1, |v| v.version)
    }

    pub fn is_symmetric(&self) -> bool {
        SYMMETRIC_KEY_TYPES.contains(&self.key_type.as_str())
    }

    /// `{id}` in KMS URLs and `kmsKeyIdentity` may name the identity or the slug (reference §6; the
    /// slug in `kmsKeyIdentity` is UNCONFIRMED and accepted).
    pub fn answers_to(&self, id: &str) -> bool {
        self.identity == id || self.slug == id
    }

    pub fn visible_to(&self, organisation: &str) -> bool {
        self.organisation
            .as_deref()
            .is_none_or(|o| o == organisation)
    }

    pub fn view(&self) -> Value {
        let status = if self.deleted {
            // UNCONFIRMED: the key types know three states; a key past its deletion date is shown so.
            "deleted"
        } else {
            self.status.as_str()
        };
        let mut v = json!({
            "identity": self.identity,
            "name": self.name,
            "slug": self.slug,
            "description": self.description,
            "labels": self.labels,
            "annotations": self.annotations,
            "projectId": self.project,
            "keyType": self.key_type,
            "status": status,
            "exportAllowed": self.export_allowed,
            "imported": false,
            "keyRotationEnabled": self.key_rotation_enabled,
            "rotationPeriodInDays": self.rotation_period_in_days,
            "latestVersion": self.latest_version(),
            "versions": self.versions.iter().map(|kv| json!({
                "version": kv.version,
                "status": "active",
                "createdAt": format_timestamp(kv.created_at),
            })).collect::<Vec<_>>(),
            "createdAt": format_timestamp(self.created_at),
            "updatedAt": format_timestamp(self.updated_at),
            "objectVersion": self.object_version,
            "organisation": {"identity": self.organisation},
        });
        if let Some(at) = self.deletion_scheduled_at {
            v["deletionScheduledAt"] = json!(format_timestamp(at));
        }
        v
    }
}

/// A version's value: one string, or named values (reference §4). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredValue {
    String(SecretValue),
    KeyValue(BTreeMap<String, SecretValue>),
}

impl StoredValue {
    pub fn format(&self) -> &'static str {
        match self {
            Self::String(_) => "string",
            Self::KeyValue(_) => "keyValue",
        }
    }

    /// The reveal answer's value field: `secretString` or `secretKeyValues`, base64.
    pub fn reveal_fields(&self, into: &mut Map<String, Value>) {
        match self {
            Self::String(v) => {
                into.insert("secretString".into(), json!(BASE64.encode(v.expose())));
            }
            Self::KeyValue(map) => {
                let encoded: Map<String, Value> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(BASE64.encode(v.expose()))))
                    .collect();
                into.insert("secretKeyValues".into(), Value::Object(encoded));
            }
        }
    }
}

impl fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoredValue::{}(<redacted>)", self.format())
    }
}

/// State-file form: `{"string": base64}` or `{"keyValue": {name: base64}}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum SavedValue {
    String(String),
    KeyValue(BTreeMap<String, String>),
}

impl Serialize for StoredValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::String(v) => SavedValue::String(BASE64.encode(v.expose())),
            Self::KeyValue(map) => SavedValue::KeyValue(
                map.iter()
                    .map(|(k, v)| (k.clone(), BASE64.encode(v.expose())))
                    .collect(),
            ),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for StoredValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let decode = |text: &str| {
            BASE64
                .decode(text)
                .map(SecretValue::new)
                .map_err(|_| serde::de::Error::custom("stored value is not base64"))
        };
        Ok(match SavedValue::deserialize(d)? {
            SavedValue::String(text) => Self::String(decode(&text)?),
            SavedValue::KeyValue(map) => Self::KeyValue(
                map.into_iter()
                    .map(|(k, v)| decode(&v).map(|v| (k, v)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    Active,
    Destroyed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: u32,
    pub status: VersionStatus,
    /// `None` once destroyed: the value is gone for good.
    pub value: Option<StoredValue>,
    pub value_format: String,
    pub created_at: Timestamp,
    pub last_accessed_at: Option<Timestamp>,
    pub destroyed_at: Option<Timestamp>,
    /// The KMS key version that encrypted it, reported on reveal.
    pub key_version: u32,
}

/// Where a secret lives: region, organisation and (optional) project. Addressing a secret from
/// another scope finds nothing (reference §1: 404).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scope {
    pub region: String,
    pub organisation: String,
    pub project: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretRecord {
    pub scope: Scope,
    pub path: String,
    pub description: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The bound key's identity (immutable).
    pub kms_key: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_accessed_at: Option<Timestamp>,
    /// A change counter (UNCONFIRMED semantics, reference §3.1): 1 at create, +1 per change.
    pub object_version: u64,
    /// The next version number; numbers are never reused (UNCONFIRMED, reference §8).
    pub next_version: u32,
    /// Stored as sent; the `conditions` part is enforced, `statements` only echoed (reference §7).
    pub access_policy: Option<Value>,
    pub versions: Vec<VersionRecord>,
}

impl SecretRecord {
    /// The latest active version; 0 when every version is destroyed (UNCONFIRMED).
    pub fn current_version(&self) -> u32 {
        self.versions
            .iter()
            .filter(|v| v.status == VersionStatus::Active)
            .map(|v| v.version)
            .max()
            .unwrap_or(0)
    }

    pub fn version(&self, number: u32) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.version == number)
    }

    pub fn view(&self, key: Option<&KeyRecord>, include_versions: bool) -> Value {
        let region = &self.scope.region;
        let mut v = json!({
            "path": self.path,
            "createdAt": format_timestamp(self.created_at),
            "updatedAt": format_timestamp(self.updated_at),
            "currentVersion": self.current_version(),
            "objectVersion": self.object_version,
            "region": {"identity": format!("region-{region}"), "name": region, "slug": region},
        });
        if !self.description.is_empty() {
            v["description"] = json!(self.description);
        }
        if !self.labels.is_empty() {
            v["labels"] = json!(self.labels);
        }
        if !self.annotations.is_empty() {
            v["annotations"] = json!(self.annotations);
        }
        if let Some(key) = key {
            v["kmsKey"] = key.view();
        }
        if let Some(at) = self.last_accessed_at {
            v["lastAccessedAt"] = json!(format_timestamp(at));
        }
        if let Some(policy) = &self.access_policy {
            v["accessPolicy"] = policy.clone();
        }
        if include_versions {
            let current = self.current_version();
            let mut versions: Vec<&VersionRecord> = self.versions.iter().collect();
            versions.sort_by_key(|r| std::cmp::Reverse(r.version));
            v["versions"] = Value::Array(
                versions
                    .into_iter()
                    .map(|r| version_view(r, r.version == current))
                    .collect(),
            );
        }
        v
    }
}

/// All seven fields of both sources (reference §3.2); `stage` only on the current version
/// (UNCONFIRMED: its value elsewhere).
fn version_view(r: &VersionRecord, current: bool) -> Value {
    let mut v = json!({
        "version": r.version,
        "status": match r.status {
            VersionStatus::Active => "active",
            VersionStatus::Destroyed => "destroyed",
        },
        "valueFormat": r.value_format,
        "createdAt": format_timestamp(r.created_at),
    });
    if current {
        v["stage"] = json!("current");
    }
    if let Some(at) = r.last_accessed_at {
        v["lastAccessedAt"] = json!(format_timestamp(at));
    }
    if let Some(at) = r.destroyed_at {
        v["destroyedAt"] = json!(format_timestamp(at));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip_through_the_state_file_and_never_print() {
        let kv = StoredValue::KeyValue(BTreeMap::from([(
            "password".to_string(),
            SecretValue::from("canary-kv"),
        )]));
        let s = StoredValue::String(SecretValue::new(vec![0xff, 0x00]));
        for v in [kv, s] {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<StoredValue>(&json).unwrap(), v);
            assert!(!format!("{v:?}").contains("canary"));
        }
        assert_eq!(
            serde_json::to_string(&StoredValue::String(SecretValue::from("hi"))).unwrap(),
            r#"{"string":"aGk="}"#
        );
    }
}
