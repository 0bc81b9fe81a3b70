//! The `ManagedKey` custom resource: a KMS master encryption key whose versions Keyward rotates on
//! a schedule or on request, and (only when asked) whose old versions it schedules for deletion.
//! OCI KMS today (through an OCI store's API key); see `provider::keys` for what another KMS
//! provider would need.
//!
//! Doc comments on fields become the `kubectl explain` text, so they are written for users.

// Several `printcolumn(...)` entries repeat `type_ = ...`; clippy mistakes them for duplicates.
#![allow(clippy::duplicated_attributes)]
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::managed_secret::{OperationCause, RotationSpec, StoreRef};

/// Desired state of a ManagedKey: which key, through which store, when it gets a new version, and
/// whether old versions are ever deleted.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "keyward.dev",
    version = "v1alpha1",
    kind = "ManagedKey",
    plural = "managedkeys",
    namespaced,
    shortname = "mkey",
    category = "keyward",
    status = "ManagedKeyStatus",
    derive = "PartialEq",
    doc = "A KMS master encryption key whose versions Keyward rotates on a schedule or on request (keyward.dev/rotate), exactly once per due time, only while the key is enabled.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the key is enabled and rotated on schedule"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the ManagedKey is (not) ready",
        priority = 1
    ),
    printcolumn(
        name = "Key State",
        type_ = "string",
        json_path = ".status.keyState",
        description = "The key's lifecycle state as the provider reports it"
    ),
    printcolumn(
        name = "Next Rotation",
        // A string, not a date: kubectl renders a future date column as `<invalid>`.
        type_ = "string",
        json_path = ".status.nextRotationTime",
        description = "When Keyward next creates a key version"
    ),
    printcolumn(
        name = "Last Rotation",
        type_ = "date",
        json_path = ".status.lastRotationTime",
        description = "When Keyward last created a key version"
    ),
    printcolumn(
        name = "Key Version",
        type_ = "string",
        json_path = ".status.currentKeyVersion",
        description = "The key's current version",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self.keyId == oldSelf.keyId")
    .message("keyId is immutable: create another ManagedKey for another key")
    .field_path(".keyId"))]
#[serde(rename_all = "camelCase")]
pub struct ManagedKeySpec {
    /// The store whose API key reaches the key: an OCI `SecretStore` (in this namespace, the
    /// default) or `ClusterSecretStore` (which must allow this namespace). Its budget and its
    /// tenancy's KMS write budget (10 management writes per second per tenancy) are shared with
    /// every other object of that store and tenancy.
    pub store_ref: StoreRef,

    /// OCID of the master encryption key (`ocid1.key.…`). Immutable.
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = Rule::new("self.matches('^ocid1\\\\.key\\\\.[a-z0-9-]+\\\\.[A-Za-z0-9._-]*[A-Za-z0-9]$')")
        .message("keyId must be a key OCID (ocid1.key.oc1.…)"))]
    pub key_id: String,

    /// The vault's KMS management endpoint (its `managementEndpoint`, as Terraform's
    /// `oci_kms_key_version.management_endpoint`), such as
    /// `https://abc-management.kms.eu-frankfurt-1.oraclecloud.com`. Default: the store's
    /// `provider.oci.endpoints.kmsManagement`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+(/[^?#]*)?$')")
        .message("managementEndpoint must be an http(s) URL without query or fragment"))]
    pub management_endpoint: Option<String>,

    /// When the key gets a new version: `interval` (measured from the current key version's
    /// creation), `schedule` (cron, in `timeZone`), or both. Without it, the key rotates only on
    /// request: set the annotation `keyward.dev/rotate` to a new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationSpec>,

    /// How often Keyward reads the key's state when nothing is due, as a duration such as `1h`
    /// (default) or `10m`; at least `10s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(h|m|s))+$')")
        .message("refreshInterval must be a duration made of hours, minutes and seconds, such as 1h or 10m"))]
    #[x_kube(validation = Rule::new("!self.matches('^([0-9]+(h|m|s))+$') || duration(self) >= duration('10s')")
        .message("refreshInterval must be at least 10s"))]
    pub refresh_interval: Option<String>,

    /// Scheduling the deletion of old key versions. Off unless set: data encrypted with a deleted
    /// key version can no longer be decrypted. Only versions Keyward created are ever scheduled,
    /// never the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retirement: Option<KeyRetirementSpec>,
}

/// Which old key versions Keyward schedules for deletion.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyRetirementSpec {
    /// Key versions Keyward created to keep, the current one included (at least 2, so the version
    /// before the current one stays for data not yet re-encrypted). Older ones are scheduled for
    /// deletion.
    #[schemars(range(min = 2, max = 100))]
    pub keep_versions: u32,

    /// How long after scheduling the provider deletes a version, during which the deletion can be
    /// cancelled: OCI allows 7 to 30 days (`168h` to `720h`); default `720h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(h|m|s))+$') && duration(self) >= duration('168h') && duration(self) <= duration('720h')")
        .message("retirement.deletionDelay must be a duration from 168h (7 days) to 720h (30 days)"))]
    pub deletion_delay: Option<String>,
}

/// Observed state of a ManagedKey, written only by Keyward.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedKeyStatus {
    /// Conditions: `Ready` (reasons such as Synced, KeyUnavailable, StoreNotReady, InvalidSpec,
    /// ProviderError).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// The key's lifecycle state as the provider last reported it (`ENABLED`, `DISABLED`,
    /// `PENDING_DELETION`, …). Keyward rotates only an `ENABLED` key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_state: Option<String>,

    /// ID of the key's current version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_key_version: Option<String>,

    /// When the current key version was created: the schedule counts from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_key_version_created: Option<Time>,

    /// When Keyward last created a key version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotation_time: Option<Time>,

    /// When the next rotation is due (none without `spec.rotation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_time: Option<Time>,

    /// The last `keyward.dev/rotate` value acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_rotate_request: Option<String>,

    /// The last `keyward.dev/force-sync` value acted on (the key was read again for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_force_sync: Option<String>,

    /// A rotation announced before the provider was called: after a crash, Keyward finds the
    /// version it made (the key's current version changed) or repeats the call with the same
    /// idempotency token, so one due time never makes two versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_rotation: Option<PendingRotation>,

    /// Key versions Keyward created, newest first (the last 50): only these are ever scheduled for
    /// deletion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_versions: Vec<KeyVersionRecord>,
}

/// A rotation in flight.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingRotation {
    /// Idempotency token of the write (sent as the provider's retry token).
    pub token: String,
    /// Why: on schedule or on request.
    pub cause: OperationCause,
    /// The `keyward.dev/rotate` value it answers, when requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The current key version before the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_key_version: Option<String>,
    /// When the write was announced.
    pub started_at: Time,
}

/// A key version Keyward created.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyVersionRecord {
    /// The key version's id (`ocid1.keyversion.…`).
    pub id: String,
    /// When the provider created it.
    pub created_at: Time,
    /// When the provider deletes it, once Keyward scheduled that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_time: Option<Time>,
}
