//! Scaleway Secret Manager v1beta1 JSON shapes, and their translation to the neutral types.
//!
//! Responses are read leniently: unknown fields are ignored, fields the server sends as `null` or
//! leaves out take their defaults, key order does not matter. Requests leave out what is unset.
//! These types may be shared with the emulator; they never hold a payload outside [`AccessResponse`].

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::provider::{
    EphemeralPolicy, ExpiryAction, OwnerMark, RemoteSecret, RemoteVersion, SecretId, SecretStatus,
    VersionStatus,
};

/// Deserialize a field that may be `null` as its default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct WireSecret {
    pub id: String,
    pub project_id: String,
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    pub version_count: Option<u64>,
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(deserialize_with = "null_as_default")]
    pub managed: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub protected: bool,
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    pub path: String,
    pub ephemeral_policy: Option<WireEphemeralPolicy>,
    #[serde(deserialize_with = "null_as_default")]
    pub used_by: Vec<String>,
    pub deletion_requested_at: Option<String>,
    pub key_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub region: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct WireEphemeralPolicy {
    /// Protobuf duration text: decimal seconds followed by `s` (`"1800s"`, `"1800.000000000s"`).
    pub time_to_live: Option<String>,
    pub expires_once_accessed: Option<bool>,
    pub action: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct WireVersion {
    pub revision: u64,
    pub secret_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub deleted_at: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(deserialize_with = "null_as_default")]
    pub latest: bool,
    pub ephemeral_properties: Option<serde_json::Value>,
    pub deletion_requested_at: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub region: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct ListSecretsResponse {
    #[serde(deserialize_with = "null_as_default")]
    pub secrets: Vec<WireSecret>,
    #[serde(deserialize_with = "null_as_default")]
    pub total_count: u64,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct ListVersionsResponse {
    #[serde(deserialize_with = "null_as_default")]
    pub versions: Vec<WireVersion>,
    #[serde(deserialize_with = "null_as_default")]
    pub total_count: u64,
}

/// The only wire type that holds a payload (`data`, base64). Its `Debug` hides it.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct AccessResponse {
    pub secret_id: String,
    pub revision: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub data: String,
    pub data_crc32: Option<u32>,
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
}

impl std::fmt::Debug for AccessResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessResponse")
            .field("secret_id", &self.secret_id)
            .field("revision", &self.revision)
            .field("data", &"<redacted>")
            .field("data_crc32", &self.data_crc32)
            .field("type", &self.kind)
            .finish()
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct CreateSecretRequest {
    pub project_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    pub protected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_policy: Option<WireEphemeralPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct UpdateSecretRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_policy: Option<WireEphemeralPolicy>,
}

/// Holds a payload (`data`, base64); its `Debug` hides it.
#[derive(Clone, Default, Serialize, PartialEq)]
pub struct CreateVersionRequest {
    pub data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_previous: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_crc32: Option<u32>,
}

impl std::fmt::Debug for CreateVersionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateVersionRequest")
            .field("data", &"<redacted>")
            .field("description", &self.description)
            .field("disable_previous", &self.disable_previous)
            .field("data_crc32", &self.data_crc32)
            .finish()
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct UpdateVersionRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A JSON error body. Every field is optional: only `type` and `message` are always sent.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct WireError {
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_as_default")]
    pub message: String,
    pub help_message: Option<String>,
    pub resource: Option<String>,
    pub resource_id: Option<String>,
    pub precondition: Option<String>,
    pub argument_name: Option<String>,
    pub reason: Option<String>,
    pub current_state: Option<String>,
    /// `invalid_arguments`: `[{argument_name, reason, help_message}]`;
    /// `permissions_denied`: `[{resource, action}]`; `quotas_exceeded`: `[{resource, quota, current}]`.
    #[serde(deserialize_with = "null_as_default")]
    pub details: Vec<WireErrorDetail>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct WireErrorDetail {
    pub argument_name: Option<String>,
    pub reason: Option<String>,
    pub help_message: Option<String>,
    pub resource: Option<String>,
    pub action: Option<String>,
}

// ---- translation to neutral types ----

pub fn version_status_from_wire(status: &str) -> VersionStatus {
    match status {
        "enabled" => VersionStatus::Enabled,
        "disabled" => VersionStatus::Disabled,
        "scheduled_for_deletion" => VersionStatus::ScheduledForDeletion,
        "deleted" => VersionStatus::Destroyed,
        _ => VersionStatus::Unknown,
    }
}

fn secret_status_from_wire(status: &str) -> SecretStatus {
    match status {
        "ready" => SecretStatus::Ready,
        "locked" => SecretStatus::Locked,
        _ => SecretStatus::Unknown,
    }
}

/// Parses a protobuf duration (`"1800s"`, `"1800.000000000s"`, `"0.5s"`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let seconds = text.strip_suffix('s')?;
    let (whole, frac) = seconds.split_once('.').unwrap_or((seconds, ""));
    let whole: u64 = whole.parse().ok()?;
    let nanos = if frac.is_empty() {
        0
    } else {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        format!("{frac:0<9}").parse::<u32>().ok()?
    };
    Some(Duration::new(whole, nanos))
}

/// Formats a duration the way the server echoes it: whole seconds, `"1800s"`.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}.{:09}s", d.as_secs(), d.subsec_nanos())
    }
}

pub fn policy_to_wire(p: &EphemeralPolicy) -> WireEphemeralPolicy {
    WireEphemeralPolicy {
        time_to_live: p.time_to_live.map(format_duration),
        expires_once_accessed: p.expires_once_accessed,
        action: p.action.map(|a| {
            match a {
                ExpiryAction::Delete => "delete",
                ExpiryAction::Disable => "disable",
            }
            .to_string()
        }),
    }
}

pub fn policy_from_wire(p: &WireEphemeralPolicy) -> EphemeralPolicy {
    EphemeralPolicy {
        time_to_live: p.time_to_live.as_deref().and_then(parse_duration),
        expires_once_accessed: p.expires_once_accessed,
        action: match p.action.as_deref() {
            Some("delete") => Some(ExpiryAction::Delete),
            Some("disable") => Some(ExpiryAction::Disable),
            _ => None,
        },
    }
}

fn timestamp(text: &Option<String>) -> Option<Timestamp> {
    text.as_deref().and_then(|t| t.parse().ok())
}

impl WireSecret {
    pub fn into_remote(self) -> RemoteSecret {
        RemoteSecret {
            id: SecretId(self.id),
            project_id: (!self.project_id.is_empty()).then_some(self.project_id),
            name: self.name,
            path: if self.path.is_empty() {
                "/".to_string()
            } else {
                self.path
            },
            description: self.description,
            owner: owner_from_tags(&self.tags),
            tags: user_tags(self.tags),
            kind: self.kind.parse().ok(),
            status: secret_status_from_wire(&self.status),
            protected: self.protected,
            managed_by_other_product: self.managed || !self.used_by.is_empty(),
            version_count: self.version_count,
            ephemeral_policy: self.ephemeral_policy.as_ref().map(policy_from_wire),
            key_id: self.key_id.filter(|k| !k.is_empty()),
            region: self.region,
            created_at: timestamp(&self.created_at),
            updated_at: timestamp(&self.updated_at),
            deletion_requested_at: timestamp(&self.deletion_requested_at),
        }
    }
}

/// Tag prefix of the cluster half of Keyward's owner mark.
pub const OWNER_CLUSTER_TAG: &str = "keyward.dev/cluster=";
/// Tag prefix of the object half of Keyward's owner mark.
pub const OWNER_OBJECT_TAG: &str = "keyward.dev/owner=";

/// The tags to send: the user's, then the owner mark's two (Scaleway keeps the order as given).
pub fn tags_with_owner(tags: &[String], owner: Option<&OwnerMark>) -> Vec<String> {
    let mut out = user_tags(tags.to_vec());
    if let Some(owner) = owner {
        out.push(format!("{OWNER_CLUSTER_TAG}{}", owner.cluster));
        out.push(format!("{OWNER_OBJECT_TAG}{}", owner.object));
    }
    out
}

/// The owner mark, when both of its tags are there.
fn owner_from_tags(tags: &[String]) -> Option<OwnerMark> {
    let find = |prefix: &str| tags.iter().find_map(|t| t.strip_prefix(prefix));
    Some(OwnerMark {
        cluster: find(OWNER_CLUSTER_TAG)?.to_owned(),
        object: find(OWNER_OBJECT_TAG)?.to_owned(),
    })
}

/// The tags without the owner mark's.
fn user_tags(mut tags: Vec<String>) -> Vec<String> {
    tags.retain(|t| !t.starts_with(OWNER_CLUSTER_TAG) && !t.starts_with(OWNER_OBJECT_TAG));
    tags
}

impl WireVersion {
    pub fn into_remote(self) -> RemoteVersion {
        RemoteVersion {
            secret_id: SecretId(self.secret_id),
            revision: self.revision,
            status: version_status_from_wire(&self.status),
            description: self.description,
            latest: self.latest,
            created_at: timestamp(&self.created_at),
            updated_at: timestamp(&self.updated_at),
            deletion_requested_at: timestamp(&self.deletion_requested_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_mark_travels_in_two_tags_kept_apart_from_the_users() {
        let mark = OwnerMark::for_object("c-1", "team", "db");
        let tags = tags_with_owner(&["app=billing".into()], Some(&mark));
        assert_eq!(
            tags,
            [
                "app=billing",
                "keyward.dev/cluster=c-1",
                "keyward.dev/owner=team/db"
            ]
        );
        assert_eq!(owner_from_tags(&tags), Some(mark.clone()));
        assert_eq!(user_tags(tags.clone()), ["app=billing"]);
        // Sending the mark again replaces it rather than adding a second one.
        assert_eq!(tags_with_owner(&tags, Some(&mark)), tags);
        // Half a mark is no mark.
        assert_eq!(owner_from_tags(&tags[..2]), None);
        // A long name still fits a Scaleway tag (128 characters).
        let long = OwnerMark::for_object("c-1", &"n".repeat(63), &"x".repeat(253));
        for tag in tags_with_owner(&[], Some(&long)) {
            assert!(tag.len() <= 128, "{}", tag.len());
        }
        assert_ne!(
            long,
            OwnerMark::for_object("c-1", &"n".repeat(63), &format!("{}y", "x".repeat(252)))
        );
    }

    #[test]
    fn secret_parses_with_nulls_unknown_fields_and_any_key_order() {
        let body = r#"{"region": "fr-par", "key_id": null, "srn": "", "future_field": {"x": 1},
            "used_by": ["s2s_vpn"], "path": "/s2s_vpn", "type": "opaque", "protected": true,
            "managed": false, "description": null, "version_count": 3, "tags": null,
            "updated_at": "2026-07-03T15:27:54.805853Z", "created_at": "2026-07-03T15:27:54.719648Z",
            "status": "ready", "name": "vpn", "project_id": "p", "id": "i",
            "ephemeral_policy": {"time_to_live": "1800s", "expires_once_accessed": null, "action": "delete"},
            "deletion_requested_at": null}"#;
        let s: WireSecret = serde_json::from_str(body).unwrap();
        let r = s.into_remote();
        assert_eq!(r.id, SecretId::new("i"));
        assert_eq!(r.tags, Vec::<String>::new());
        assert_eq!(r.description, "");
        assert!(r.managed_by_other_product);
        assert!(r.protected);
        assert_eq!(r.version_count, Some(3));
        assert_eq!(
            r.ephemeral_policy,
            Some(EphemeralPolicy {
                time_to_live: Some(Duration::from_secs(1800)),
                expires_once_accessed: None,
                action: Some(ExpiryAction::Delete),
            })
        );
        assert_eq!(
            r.updated_at.unwrap().to_string(),
            "2026-07-03T15:27:54.805853Z"
        );
    }

    #[test]
    fn durations_parse_both_server_and_sdk_forms() {
        let table = [
            ("1800s", Some(Duration::from_secs(1800))),
            ("1800.000000000s", Some(Duration::from_secs(1800))),
            ("0.5s", Some(Duration::from_millis(500))),
            ("1800", None),
            ("abc s", None),
            ("1.0000000001s", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_duration(text), want, "{text}");
        }
        assert_eq!(format_duration(Duration::from_secs(60)), "60s");
    }

    #[test]
    fn payload_holding_types_hide_data_in_debug() {
        let req = CreateVersionRequest {
            data: "Y2FuYXJ5".into(),
            ..Default::default()
        };
        let resp = AccessResponse {
            data: "Y2FuYXJ5".into(),
            ..Default::default()
        };
        assert!(!format!("{req:?}{resp:?}").contains("Y2FuYXJ5"));
    }
}
