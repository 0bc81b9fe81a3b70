//! Stored records and their wire views.
//!
//! Records hold what the emulator keeps; views are what goes on the wire, with fields in the order the
//! real server sends them and explicit `null`s for absent values [REC].

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::emulator::clock::format_timestamp;
use crate::secret_value::SecretValue;

pub const REGIONS: [&str; 3] = ["fr-par", "nl-ams", "pl-waw"];

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

wire_enum!(SecretType {
    Opaque = "opaque",
    Certificate = "certificate",
    KeyValue = "key_value",
    BasicCredentials = "basic_credentials",
    DatabaseCredentials = "database_credentials",
    SshKey = "ssh_key",
});

wire_enum!(VersionStatus {
    Enabled = "enabled",
    Disabled = "disabled",
    ScheduledForDeletion = "scheduled_for_deletion",
    Deleted = "deleted",
});

wire_enum!(EphemeralAction { Delete = "delete", Disable = "disable" });

wire_enum!(Product { EdgeServices = "edge_services", S2sVpn = "s2s_vpn" });

/// A secret's ephemeral policy, echoed back as it was sent (a `null` field stays `null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EphemeralPolicy {
    pub time_to_live: Option<Duration>,
    pub expires_once_accessed: Option<bool>,
    pub action: Option<EphemeralAction>,
}

/// What a version inherited from the policy when it was created (or re-enabled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EphemeralProperties {
    pub expires_at: Option<Timestamp>,
    pub expires_once_accessed: Option<bool>,
    pub action: Option<EphemeralAction>,
}

impl EphemeralProperties {
    pub fn from_policy(policy: &EphemeralPolicy, now: Timestamp) -> Self {
        let expires_at = policy.time_to_live.and_then(|ttl| {
            let ttl = jiff::SignedDuration::try_from(ttl).ok()?;
            now.checked_add(ttl).ok()
        });
        Self {
            expires_at,
            expires_once_accessed: policy.expires_once_accessed,
            action: policy.action,
        }
    }
}

/// A stored payload: raw bytes, never printed, written to the state file as standard base64.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Payload(pub SecretValue);

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(self.0.expose()))
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| serde::de::Error::custom("payload is not base64"))?;
        Ok(Self(SecretValue::new(bytes)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub revision: u32,
    pub status: VersionStatus,
    /// The status to go back to when a scheduled deletion is undone.
    pub status_before_deletion: Option<VersionStatus>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub description: String,
    pub ephemeral_properties: Option<EphemeralProperties>,
    pub deletion_requested_at: Option<Timestamp>,
    pub payload: Payload,
    pub data_crc32: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretRecord {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub tags: Vec<String>,
    pub description: String,
    pub managed: bool,
    pub protected: bool,
    pub secret_type: SecretType,
    pub path: String,
    pub ephemeral_policy: Option<EphemeralPolicy>,
    pub used_by: Vec<Product>,
    pub deletion_requested_at: Option<Timestamp>,
    pub key_id: Option<String>,
    pub region: String,
    /// Versions in revision order; never removed, so `versions.len()` is the `version_count` and the
    /// next revision number minus one (numbers are never reused [REC]).
    pub versions: Vec<VersionRecord>,
}

impl SecretRecord {
    pub fn version(&self, revision: u32) -> Option<&VersionRecord> {
        let idx = usize::try_from(revision).ok()?.checked_sub(1)?;
        self.versions.get(idx)
    }

    pub fn version_mut(&mut self, revision: u32) -> Option<&mut VersionRecord> {
        let idx = usize::try_from(revision).ok()?.checked_sub(1)?;
        self.versions.get_mut(idx)
    }

    pub fn highest_revision(&self) -> Option<u32> {
        u32::try_from(self.versions.len()).ok().filter(|n| *n > 0)
    }

    pub fn is_scheduled_for_deletion(&self) -> bool {
        self.deletion_requested_at.is_some()
    }
}

/// Formats a TTL the way the server echoes it: `"1800.000000000s"` comes back as `"1800s"` [REC].
pub fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        let frac = format!("{:09}", d.subsec_nanos());
        format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
    }
}

/// Parses a protobuf-style duration: decimal seconds followed by `s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let number = text.strip_suffix('s')?;
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = whole.parse().ok()?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(Duration::new(secs, nanos))
}

// ---- wire views -------------------------------------------------------------------------------------

#[derive(Serialize)]
pub struct EphemeralPolicyView {
    pub time_to_live: Option<String>,
    pub expires_once_accessed: Option<bool>,
    pub action: &'static str,
}

#[derive(Serialize)]
pub struct EphemeralPropertiesView {
    pub expires_at: Option<String>,
    pub expires_once_accessed: Option<bool>,
    pub action: &'static str,
}

#[derive(Serialize)]
pub struct SecretView<'a> {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: &'a str,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub tags: &'a [String],
    pub version_count: usize,
    pub description: &'a str,
    pub managed: bool,
    #[serde(rename = "type")]
    pub secret_type: &'static str,
    pub protected: bool,
    pub path: &'a str,
    pub ephemeral_policy: Option<EphemeralPolicyView>,
    pub used_by: Vec<&'static str>,
    pub deletion_requested_at: Option<String>,
    pub key_id: Option<&'a str>,
    pub region: &'a str,
}

impl<'a> SecretView<'a> {
    pub fn of(s: &'a SecretRecord) -> Self {
        Self {
            id: s.id,
            project_id: s.project_id,
            name: &s.name,
            // `locked` is only ever set by Scaleway itself.
            status: "ready",
            created_at: format_timestamp(s.created_at),
            updated_at: format_timestamp(s.updated_at),
            tags: &s.tags,
            version_count: s.versions.len(),
            description: &s.description,
            managed: s.managed,
            secret_type: s.secret_type.as_str(),
            protected: s.protected,
            path: &s.path,
            ephemeral_policy: s.ephemeral_policy.as_ref().map(|p| EphemeralPolicyView {
                time_to_live: p.time_to_live.map(format_duration),
                expires_once_accessed: p.expires_once_accessed,
                action: p.action.map_or("unknown_action", EphemeralAction::as_str),
            }),
            used_by: s.used_by.iter().map(|p| p.as_str()).collect(),
            deletion_requested_at: s.deletion_requested_at.map(format_timestamp),
            key_id: s.key_id.as_deref(),
            region: &s.region,
        }
    }
}

#[derive(Serialize)]
pub struct VersionView<'a> {
    pub revision: u32,
    pub secret_id: Uuid,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub description: &'a str,
    pub latest: bool,
    pub ephemeral_properties: Option<EphemeralPropertiesView>,
    pub deletion_requested_at: Option<String>,
    pub region: &'a str,
}

impl<'a> VersionView<'a> {
    pub fn of(secret: &'a SecretRecord, v: &'a VersionRecord) -> Self {
        Self {
            revision: v.revision,
            secret_id: secret.id,
            status: v.status.as_str(),
            created_at: format_timestamp(v.created_at),
            updated_at: format_timestamp(v.updated_at),
            deleted_at: v.deleted_at.map(format_timestamp),
            description: &v.description,
            // `latest` marks the highest revision whatever its status: the recording account's secret
            // 646cb095 (list-secret-versions-all-secrets) shows its only version scheduled for deletion
            // with `latest: true`. Computed, never stored, so taking the flag changes no `updated_at`.
            latest: secret.highest_revision() == Some(v.revision),
            ephemeral_properties: v.ephemeral_properties.as_ref().map(|p| {
                EphemeralPropertiesView {
                    expires_at: p.expires_at.map(format_timestamp),
                    expires_once_accessed: p.expires_once_accessed,
                    action: p.action.map_or("unknown_action", EphemeralAction::as_str),
                }
            }),
            deletion_requested_at: v.deletion_requested_at.map(format_timestamp),
            region: &secret.region,
        }
    }
}

#[derive(Serialize)]
pub struct AccessView<'a> {
    pub secret_id: Uuid,
    pub revision: u32,
    pub data: String,
    pub data_crc32: Option<u32>,
    #[serde(rename = "type")]
    pub secret_type: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_echo_in_the_short_form() {
        let cases = [
            ("1800.000000000s", Some("1800s")),
            ("1800s", Some("1800s")),
            ("1.5s", Some("1.5s")),
            ("0.000000001s", Some("0.000000001s")),
            ("1800", None),
            ("-5s", None),
            ("1.0000000001s", None),
            ("s", None),
            ("1e3s", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_duration(input).map(format_duration).as_deref(),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn payload_debug_is_redacted() {
        let p = Payload(SecretValue::from("hunter2"));
        assert_eq!(format!("{p:?}"), "<redacted>");
    }
}
