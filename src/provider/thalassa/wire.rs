//! Thalassa Secrets Manager JSON shapes (reference §3), and their translation to the neutral types.
//!
//! Responses are read leniently: unknown fields are ignored, `null` and missing fields take their
//! defaults. Requests leave out what is unset. The types that hold a value hide it in `Debug`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::provider::{
    OwnerMark, RemoteSecret, RemoteVersion, SecretId, SecretStatus, VersionStatus,
};

/// Deserialize a field that may be `null` as its default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct WireSecret {
    #[serde(deserialize_with = "null_as_default")]
    pub path: String,
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub kms_key: Option<WireKmsKey>,
    /// The flat form the SDK dropped in 2026-06; read in case the server still sends it.
    pub kms_key_identity: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub current_version: u64,
    pub region: Option<WireRegion>,
    /// Present only with `includeVersions=true`.
    #[serde(deserialize_with = "null_as_default")]
    pub versions: Vec<WireVersion>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct WireKmsKey {
    #[serde(deserialize_with = "null_as_default")]
    pub identity: String,
    /// `active`, `disabled` or `pending_deletion`.
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct WireRegion {
    #[serde(deserialize_with = "null_as_default")]
    pub slug: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct WireVersion {
    pub version: u64,
    /// `active` or `destroyed`.
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    pub created_at: Option<String>,
    pub destroyed_at: Option<String>,
}

/// The flat list: a bare array (reference §2); an object holding `secrets` is read too.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum ListResponse {
    Bare(Vec<WireSecret>),
    Wrapped {
        #[serde(default, deserialize_with = "null_as_default")]
        secrets: Vec<WireSecret>,
    },
}

impl ListResponse {
    pub fn into_secrets(self) -> Vec<WireSecret> {
        match self {
            Self::Bare(s) | Self::Wrapped { secrets: s } => s,
        }
    }
}

/// Holds a value (`secretString`, base64); `Debug` hides it.
#[derive(Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateSecretRequest {
    pub path: String,
    pub kms_key_identity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub secret_string: String,
}

impl std::fmt::Debug for CreateSecretRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSecretRequest")
            .field("path", &self.path)
            .field("kms_key_identity", &self.kms_key_identity)
            .field("labels", &self.labels)
            .field("secret_string", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Holds a value (`secretString`, base64); `Debug` hides it.
#[derive(Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PutSecretValueRequest {
    pub path: String,
    pub secret_string: String,
}

impl std::fmt::Debug for PutSecretValueRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PutSecretValueRequest")
            .field("path", &self.path)
            .field("secret_string", &"<redacted>")
            .finish()
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct PutSecretValueResponse {
    pub version: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GetSecretValueRequest {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// The only answer that holds a value; `Debug` hides it.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct GetSecretValueResponse {
    pub version: u64,
    pub secret_string: Option<String>,
    pub secret_key_values: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for GetSecretValueResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetSecretValueResponse")
            .field("version", &self.version)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// `{"message": "..."}` (reference §1).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct WireError {
    #[serde(deserialize_with = "null_as_default")]
    pub message: String,
}

/// OAuth 2.0 token answer; `Debug` hides the token.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

// ---- paths ----

/// A folder as Keyward writes it: leading `/`, no trailing `/` except the root.
pub fn normalize_folder(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// The secret path of `name` in `folder`: Thalassa's identity (`/app/db` + `password`).
pub fn secret_path(folder: &str, name: &str) -> String {
    match normalize_folder(folder).as_str() {
        "/" => format!("/{name}"),
        f => format!("{f}/{name}"),
    }
}

/// `(folder, name)` of a secret path: `/app/db/password` → (`/app/db`, `password`).
pub fn split_path(path: &str) -> (String, String) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/".into(), name.into()),
        Some((folder, name)) => (folder.into(), name.into()),
        None => ("/".into(), path.into()),
    }
}

// ---- the owner mark ----

/// Label holding the cluster half of Keyward's owner mark.
pub const OWNER_CLUSTER_LABEL: &str = "keyward.dev/cluster";
/// Label holding the object half (`namespace/name`) of Keyward's owner mark.
pub const OWNER_OBJECT_LABEL: &str = "keyward.dev/owner";

/// The labels to create a secret with. UNCONFIRMED: Thalassa's label syntax was not readable in its
/// docs; the values are sent as they are (`team/db` holds a `/`).
pub fn owner_labels(owner: Option<&OwnerMark>) -> BTreeMap<String, String> {
    owner
        .map(|o| {
            BTreeMap::from([
                (OWNER_CLUSTER_LABEL.to_string(), o.cluster.clone()),
                (OWNER_OBJECT_LABEL.to_string(), o.object.clone()),
            ])
        })
        .unwrap_or_default()
}

/// The owner mark, when both of its labels are there.
fn owner_from_labels(labels: &BTreeMap<String, String>) -> Option<OwnerMark> {
    Some(OwnerMark {
        cluster: labels.get(OWNER_CLUSTER_LABEL)?.clone(),
        object: labels.get(OWNER_OBJECT_LABEL)?.clone(),
    })
}

// ---- translation to neutral types ----

fn timestamp(text: &Option<String>) -> Option<Timestamp> {
    text.as_deref().and_then(|t| t.parse().ok())
}

pub fn version_status_from_wire(status: &str) -> VersionStatus {
    match status {
        "active" => VersionStatus::Enabled,
        "destroyed" => VersionStatus::Destroyed,
        _ => VersionStatus::Unknown,
    }
}

impl WireSecret {
    /// The bound key's identity.
    pub fn key_identity(&self) -> Option<String> {
        self.kms_key
            .as_ref()
            .map(|k| k.identity.clone())
            .or_else(|| self.kms_key_identity.clone())
            .filter(|k| !k.is_empty())
    }

    /// Whether the bound key is known not to be active (its value operations then fail).
    pub fn key_unusable(&self) -> bool {
        self.kms_key
            .as_ref()
            .is_some_and(|k| !k.status.is_empty() && k.status != "active")
    }

    /// `project` and `region` are the client's: the answer names the region as an object and the
    /// project not at all.
    pub fn into_remote(self, project: Option<&str>, region: &str) -> RemoteSecret {
        let (folder, name) = split_path(&self.path);
        RemoteSecret {
            id: SecretId(self.path.clone()),
            project_id: project.map(str::to_string),
            name,
            path: folder,
            description: self.description.clone(),
            // Thalassa has labels, not tags; the owner mark's labels go to `owner` only.
            tags: Vec::new(),
            owner: owner_from_labels(&self.labels),
            // No secret types: each version is `string` or `keyValue`.
            kind: None,
            status: SecretStatus::Ready,
            protected: false,
            managed_by_other_product: false,
            // Thalassa reports no count. `currentVersion`, in listings and reads alike, grows by one
            // with each new version (it is the count of versions created while the latest is not
            // destroyed): what the store runtime's change detection needs, from either source.
            version_count: Some(self.current_version),
            ephemeral_policy: None,
            key_id: self.key_identity(),
            region: self
                .region
                .as_ref()
                .map(|r| r.slug.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| region.to_string()),
            created_at: timestamp(&self.created_at),
            updated_at: timestamp(&self.updated_at),
            deletion_requested_at: None,
        }
    }

    /// Every version, highest first (`latest` on the highest number, whatever its status).
    pub fn remote_versions(&self) -> Vec<RemoteVersion> {
        let mut versions: Vec<&WireVersion> = self.versions.iter().collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.version));
        let highest = versions.first().map(|v| v.version);
        versions
            .into_iter()
            .map(|v| RemoteVersion {
                secret_id: SecretId(self.path.clone()),
                revision: v.version,
                status: version_status_from_wire(&v.status),
                description: String::new(),
                latest: Some(v.version) == highest,
                created_at: timestamp(&v.created_at),
                updated_at: timestamp(&v.destroyed_at).or_else(|| timestamp(&v.created_at)),
                deletion_requested_at: None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_and_join() {
        for (folder, name, path) in [
            ("/", "db", "/db"),
            ("", "db", "/db"),
            ("/app/prod", "db", "/app/prod/db"),
            ("app/prod/", "db", "/app/prod/db"),
        ] {
            assert_eq!(secret_path(folder, name), path, "{folder} {name}");
        }
        assert_eq!(
            split_path("/app/prod/db"),
            ("/app/prod".into(), "db".into())
        );
        assert_eq!(split_path("/db"), ("/".into(), "db".into()));
    }

    #[test]
    fn the_owner_mark_travels_in_two_labels_and_stays_out_of_tags() {
        let mark = OwnerMark::for_object("c-1", "team", "db");
        let labels = owner_labels(Some(&mark));
        assert_eq!(labels["keyward.dev/owner"], "team/db");
        let wire = WireSecret {
            path: "/app/db".into(),
            labels: labels.clone(),
            ..WireSecret::default()
        };
        let remote = wire.clone().into_remote(None, "nl-01");
        assert_eq!(remote.owner, Some(mark));
        assert!(remote.tags.is_empty());
        let mut half = labels;
        half.remove(OWNER_CLUSTER_LABEL);
        assert_eq!(owner_from_labels(&half), None, "half a mark is no mark");
        assert!(owner_labels(None).is_empty());
    }

    #[test]
    fn secret_parses_with_nulls_and_unknown_fields() {
        let body = r#"{"path": "/app/prod/db", "description": null, "labels": null, "future": {"x": 1},
            "createdAt": "2026-07-01T10:00:00.123456Z", "updatedAt": "2026-07-01T10:00:00Z",
            "kmsKey": {"identity": "k1", "status": "disabled", "keyType": "aes256-gcm96"},
            "currentVersion": 3, "objectVersion": 7, "region": {"identity": "r", "slug": "nl-01"},
            "versions": [{"version": 1, "status": "destroyed", "destroyedAt": "2026-07-02T00:00:00Z"},
                         {"version": 3, "status": "active", "stage": "current"},
                         {"version": 2, "status": "active", "stage": null}]}"#;
        let s: WireSecret = serde_json::from_str(body).unwrap();
        assert!(s.key_unusable());
        let versions = s.remote_versions();
        let r = s.into_remote(Some("p"), "ignored");
        assert_eq!(
            (r.id.as_str(), r.name.as_str(), r.path.as_str()),
            ("/app/prod/db", "db", "/app/prod")
        );
        assert_eq!(r.key_id.as_deref(), Some("k1"));
        assert_eq!(r.region, "nl-01");
        assert_eq!(r.project_id.as_deref(), Some("p"));
        assert_eq!(r.version_count, Some(3));
        assert_eq!(r.description, "");
        let summary: Vec<(u64, VersionStatus, bool)> = versions
            .iter()
            .map(|v| (v.revision, v.status, v.latest))
            .collect();
        assert_eq!(
            summary,
            [
                (3, VersionStatus::Enabled, true),
                (2, VersionStatus::Enabled, false),
                (1, VersionStatus::Destroyed, false)
            ]
        );
        assert_eq!(
            versions[2].updated_at.unwrap().to_string(),
            "2026-07-02T00:00:00Z"
        );
        let legacy: WireSecret =
            serde_json::from_str(r#"{"path": "/x", "kmsKeyIdentity": "old-key"}"#).unwrap();
        assert_eq!(legacy.key_identity().as_deref(), Some("old-key"));
        assert!(!legacy.key_unusable());
    }

    #[test]
    fn lists_come_bare_or_wrapped() {
        let bare: ListResponse = serde_json::from_str(r#"[{"path": "/a"}]"#).unwrap();
        let wrapped: ListResponse =
            serde_json::from_str(r#"{"secrets": [{"path": "/a"}, {"path": "/b"}]}"#).unwrap();
        assert_eq!(bare.into_secrets().len(), 1);
        assert_eq!(wrapped.into_secrets().len(), 2);
    }

    #[test]
    fn value_holding_types_hide_values_in_debug() {
        let create = CreateSecretRequest {
            path: "/p".into(),
            kms_key_identity: "k".into(),
            description: None,
            labels: BTreeMap::new(),
            secret_string: "Y2FuYXJ5".into(),
        };
        let put = PutSecretValueRequest {
            path: "/p".into(),
            secret_string: "Y2FuYXJ5".into(),
        };
        let read = GetSecretValueResponse {
            version: 1,
            secret_string: Some("Y2FuYXJ5".into()),
            secret_key_values: Some(BTreeMap::from([("k".into(), "Y2FuYXJ5".into())])),
        };
        let token = TokenResponse {
            access_token: "Y2FuYXJ5".into(),
            expires_in: Some(1),
        };
        assert!(!format!("{create:?}{put:?}{read:?}{token:?}").contains("Y2FuYXJ5"));
    }
}
