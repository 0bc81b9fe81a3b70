//! What happens after a new revision reaches the target Secret: the rollout of the workloads that
//! consume it (`spec.rollout`) and the retirement of the versions it supersedes
//! (`spec.retirement`), and where each revision and workload stands (`status.revisions`,
//! `status.rollout`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Workloads restarted when a new revision reaches the target Secret. Environment variables and
/// `subPath` mounts never see a new value without a restart, so Keyward changes one pod-template
/// annotation (`keyward.dev/revisions`, a keyed digest of the revisions the workload consumes):
/// a refresh, an operator restart or a leader change that brings no new revision never rolls pods,
/// and ManagedSecrets rotated within `debounce` of each other restart a workload they share once.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[x_kube(validation = kube::core::Rule::new("(has(self.workloads) && size(self.workloads) > 0) || (has(self.discover) && self.discover)")
    .message("rollout needs workloads or discover: true (otherwise it restarts nothing)"))]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Deployments, StatefulSets and DaemonSets of this namespace, by name or by label selector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub workloads: Vec<WorkloadSelector>,

    /// Also restart the workloads of this namespace whose pod template reads the target Secret
    /// (env, envFrom or a volume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discover: Option<bool>,

    /// How long to wait after a new revision before restarting, so that ManagedSecrets rotated
    /// together restart a workload they share once (default `10s`, at most `10m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(h|m|s))+$') && duration(self) <= duration('10m')")
        .message("rollout.debounce must be a duration of at most 10m, such as 10s or 1m"))]
    pub debounce: Option<String>,

    /// How long a workload may take to finish its rollout before Keyward reports it stalled
    /// (default `10m`). A stalled workload keeps the previous version from being retired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(h|m|s))+$') && duration(self) >= duration('30s')")
        .message("rollout.progressDeadline must be a duration of at least 30s, such as 10m"))]
    pub progress_deadline: Option<String>,
}

/// Workloads of one kind, by name or by the labels on the workload.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = kube::core::Rule::new("has(self.name) != has(self.matchLabels)")
    .message("a rollout workload names exactly one of name or matchLabels"))]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    pub kind: WorkloadKind,
    /// The workload of this kind with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,
    /// Every workload of this kind whose labels include all of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("size(self) > 0")
        .message("matchLabels needs at least one label (an empty selector would select every workload)"))]
    pub match_labels: Option<BTreeMap<String, String>>,
}

/// A kind of workload Keyward restarts.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 3] = [
        WorkloadKind::Deployment,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
        }
    }
}

/// When superseded versions are disabled and removed. Only versions Keyward created (their
/// description carries its operation token) are touched unless `includeUnmanaged` is set; the
/// current version never is.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RetirementSpec {
    /// How long a superseded version stays enabled after every rollout workload runs the new
    /// revision (or, without rollout workloads, after the new revision reached the target Secret).
    /// Default `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(h|m|s))+$')")
        .message("retirement.gracePeriod must be a duration such as 30m or 1h"))]
    pub grace_period: Option<String>,

    /// How long a disabled version is kept before it is deleted (Scaleway). Default `168h` (7
    /// days). Providers that cannot disable a version remove it when the grace period ends:
    /// Thalassa destroys it at once; OCI schedules its deletion `retention` later, within the one
    /// to 30 days OCI allows, restorable until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9]+(h|m|s))+$')")
        .message("retirement.retention must be a duration such as 24h or 168h"))]
    pub retention: Option<String>,

    /// At most this many enabled versions (the current one included): older superseded versions
    /// are disabled at once, without waiting for the grace period. The current and the previous
    /// version are never disabled early, so at least 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 1000))]
    pub max_enabled_versions: Option<u32>,

    /// Also retire versions Keyward did not create (made in the console, by Terraform, or before
    /// Keyward managed the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_unmanaged: Option<bool>,
}

/// Where one revision stands.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionStage {
    /// The remote revision.
    pub revision: u32,
    pub stage: Stage,
    /// When the revision entered this stage.
    pub since: Time,
}

/// The stages of a revision.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Stage {
    /// Mirrored into the target Secret.
    Current,
    /// Superseded; kept enabled until the consumers run the current revision and the grace period
    /// ends.
    Previous,
    /// Disabled by Keyward; removed when the retention period ends.
    Disabled,
    /// Deleted, destroyed or scheduled for deletion by Keyward.
    Deleted,
    /// Superseded but not Keyward's to retire (not created by Keyward, without includeUnmanaged).
    Kept,
}

/// The rollout of the current revision to its consumers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// The revision being rolled out (or rolled out).
    pub revision: u32,
    /// When this revision reached the target Secret.
    pub mirrored_at: Time,
    /// When every workload ran it (unset while some have not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<Time>,
    /// Complete workloads out of all, such as `3/4` (for `kubectl get ms -o wide`).
    pub summary: String,
    /// Each workload the rollout covers and where it stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<WorkloadRollout>,
}

/// One workload's rollout.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRollout {
    pub kind: WorkloadKind,
    /// The workload's name.
    pub name: String,
    pub state: WorkloadState,
    /// When the workload entered this state.
    pub since: Time,
    /// The workload's generation after Keyward's restart: its controller has seen the restart
    /// when its observedGeneration reaches this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

/// Where a workload's rollout stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum WorkloadState {
    /// Waiting for the debounce window or the cluster's restart limit.
    Pending,
    /// Restarted; its controller is rolling it out.
    Progressing,
    /// Its controller reports the rollout finished.
    Complete,
    /// Not finished within the progress deadline: the previous version stays enabled.
    Stalled,
}
