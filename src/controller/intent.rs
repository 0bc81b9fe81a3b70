//! The intent: a ManagedSecret spec checked and resolved into what the planner acts on (defaults
//! applied, remote target chosen, durations parsed). A spec that cannot become an intent gives
//! `InvalidSpec` with a message for a person, and Keyward writes nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::ResourceExt;

use crate::api::duration::{DEFAULT_REFRESH_INTERVAL, parse_duration};
use crate::api::lifecycle::{RetirementSpec, RolloutSpec};
use crate::api::remote_id::{RemoteTarget, RevisionSelector, remote_target};
use crate::api::validation::{InvalidSpec, validate_managed_secret};
use crate::api::{
    CreationPolicy, EphemeralAction, GenerateSpec, ManagedSecret, RemoteDeletionPolicy,
    RotationSpec, TargetDeletionPolicy,
};
use crate::provider::SecretType;
use crate::provider::{self, ExpiryAction, NewSecret, SecretId};
use crate::rollout::pipeline::RolloutIntent;
use crate::rollout::retire::RetirementIntent;

pub use crate::api::well_known::{FORCE_SYNC_ANNOTATION, ROTATE_ANNOTATION};

/// Which remote secret, resolved. (One per reconcile: the size difference between variants
/// does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum RemoteIntent {
    /// Find by name and path; create from `new_secret` when absent.
    ByName {
        name: String,
        path: String,
        new_secret: NewSecret,
    },
    /// Adopt an existing secret; never create one.
    Adopt {
        secret_id: SecretId,
        first_revision: Option<RevisionSelector>,
        region: Option<crate::api::ScalewayRegion>,
        /// `adopt.allowDeletion`: remoteDeletionPolicy Delete may delete it.
        allow_deletion: bool,
    },
}

/// Where values come from.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceIntent {
    /// Generate (spec.generate).
    Generate,
    /// Push the data of a Secret.
    FromSecret,
    /// Follow the remote secret only.
    Follow,
}

/// Remote metadata Keyward keeps in line (only the fields the spec sets).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RemoteMetadata {
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub protected: Option<bool>,
}

/// The target Secret, with defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetIntent {
    pub name: String,
    pub type_: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub template: Option<BTreeMap<String, String>>,
    pub creation_policy: CreationPolicy,
    pub deletion_policy: TargetDeletionPolicy,
    /// Also write the previous revision's keys during its grace period.
    pub include_previous: bool,
}

/// A ManagedSecret resolved for the planner.
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    pub namespace: String,
    pub name: String,
    pub generation: Option<i64>,
    pub remote: RemoteIntent,
    pub secret_type: SecretType,
    pub source: SourceIntent,
    pub generate: Option<GenerateSpec>,
    pub from_secret: Option<crate::api::FromSecretSpec>,
    pub rotation: Option<RotationSpec>,
    pub metadata: RemoteMetadata,
    pub refresh_interval: Duration,
    pub target: TargetIntent,
    pub remote_deletion: RemoteDeletionPolicy,
    /// When the ManagedSecret was created: with an adopted Terraform revision, versions created
    /// after this are followed, older ones are not.
    pub created_at: Option<jiff::Timestamp>,
    /// Current value of `keyward.dev/rotate`, trimmed, when not empty.
    pub rotate_request: Option<String>,
    /// Current value of `keyward.dev/force-sync`, trimmed, when not empty.
    pub force_sync: Option<String>,
    pub rollout: Option<RolloutIntent>,
    pub retirement: Option<RetirementIntent>,
}

impl Intent {
    /// Puts a by-name remote secret under the store's folder for this namespace (`/team-a` for a
    /// per-namespace ClusterSecretStore; `/` leaves it as it is).
    pub fn in_folder(mut self, folder: &str) -> Self {
        let folder = folder.trim_end_matches('/');
        if folder.is_empty() {
            return self;
        }
        if let RemoteIntent::ByName {
            path, new_secret, ..
        } = &mut self.remote
        {
            let joined = if path == "/" {
                folder.to_owned()
            } else {
                format!("{folder}{path}")
            };
            *path = joined.clone();
            new_secret.path = joined;
        }
        self
    }

    /// Whether the single-access (expire once accessed) policy applies to this object's secret.
    pub fn single_access(&self) -> bool {
        match &self.remote {
            RemoteIntent::ByName { new_secret, .. } => new_secret
                .ephemeral_policy
                .as_ref()
                .is_some_and(|p| p.expires_once_accessed == Some(true)),
            RemoteIntent::Adopt { .. } => false,
        }
    }
}

fn annotation(ms: &ManagedSecret, key: &str) -> Option<String> {
    ms.annotations()
        .get(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Resolve a ManagedSecret into an intent, or say why it cannot be acted on.
pub fn intent_from(ms: &ManagedSecret) -> Result<Intent, InvalidSpec> {
    let name = ms.name_any();
    let namespace = ms.namespace().unwrap_or_default();
    let spec = &ms.spec;
    validate_managed_secret(spec, &name)?;
    if let Some(rotation) = &spec.rotation {
        crate::rotation::check_rotation(rotation)?;
    }
    let secret_type = spec.remote.type_.unwrap_or_default();
    let remote = match remote_target(spec, &name).map_err(InvalidSpec)? {
        RemoteTarget::ByName { name, path } => {
            let scaleway = spec.remote.scaleway.clone().unwrap_or_default();
            let ephemeral_policy = match &scaleway.ephemeral_policy {
                None => None,
                Some(p) => Some(provider::EphemeralPolicy {
                    time_to_live: p
                        .time_to_live
                        .as_deref()
                        .map(parse_duration)
                        .transpose()
                        .map_err(|e| InvalidSpec(format!("ephemeralPolicy.timeToLive: {e}")))?,
                    expires_once_accessed: p.expires_once_accessed,
                    action: Some(match p.action {
                        EphemeralAction::Delete => ExpiryAction::Delete,
                        EphemeralAction::Disable => ExpiryAction::Disable,
                    }),
                }),
            };
            RemoteIntent::ByName {
                new_secret: NewSecret {
                    name: name.clone(),
                    path: path.clone(),
                    description: spec.remote.description.clone(),
                    tags: spec.remote.tags.clone().unwrap_or_default(),
                    // Set by the planner: the mark names the cluster too.
                    owner: None,
                    kind: secret_type,
                    protected: spec.remote.protected.unwrap_or(false),
                    ephemeral_policy,
                    key_id: scaleway.key_id.clone(),
                },
                name,
                path,
            }
        }
        RemoteTarget::Adopt {
            secret_id,
            region,
            revision,
        } => RemoteIntent::Adopt {
            secret_id: SecretId::new(secret_id),
            first_revision: revision,
            region,
            allow_deletion: spec
                .remote
                .adopt
                .as_ref()
                .and_then(|a| a.allow_deletion)
                .unwrap_or(false),
        },
    };
    let source = match (&spec.generate, &spec.from_secret) {
        (Some(_), None) => SourceIntent::Generate,
        (None, Some(_)) => SourceIntent::FromSecret,
        (None, None) => SourceIntent::Follow,
        (Some(_), Some(_)) => {
            return Err(InvalidSpec(
                "set at most one source: generate or fromSecret".into(),
            ));
        }
    };
    let refresh_interval = match &spec.refresh_interval {
        Some(text) => {
            parse_duration(text).map_err(|e| InvalidSpec(format!("refreshInterval: {e}")))?
        }
        None => DEFAULT_REFRESH_INTERVAL,
    };
    let target_spec = spec.target.clone().unwrap_or_default();
    let target = TargetIntent {
        name: target_spec.name.clone().unwrap_or_else(|| name.clone()),
        type_: target_spec.type_.clone().unwrap_or_else(|| "Opaque".into()),
        labels: target_spec.labels.clone().unwrap_or_default(),
        annotations: target_spec.annotations.clone().unwrap_or_default(),
        template: target_spec.template.clone(),
        creation_policy: target_spec.creation_policy.unwrap_or_default(),
        deletion_policy: target_spec.deletion_policy.unwrap_or_default(),
        include_previous: target_spec.include_previous == Some(true),
    };
    let rollout = spec.rollout.as_ref().map(rollout_intent).transpose()?;
    let retirement = spec
        .retirement
        .as_ref()
        .map(retirement_intent)
        .transpose()?;
    Ok(Intent {
        rollout,
        retirement,
        generation: ms.metadata.generation,
        created_at: ms.metadata.creation_timestamp.as_ref().map(|t| t.0),
        rotate_request: annotation(ms, ROTATE_ANNOTATION),
        force_sync: annotation(ms, FORCE_SYNC_ANNOTATION),
        namespace,
        name,
        remote,
        secret_type,
        source,
        generate: spec.generate.clone(),
        from_secret: spec.from_secret.clone(),
        rotation: spec.rotation.clone(),
        metadata: RemoteMetadata {
            description: spec.remote.description.clone(),
            tags: spec.remote.tags.clone(),
            protected: spec.remote.protected,
        },
        refresh_interval,
        target,
        remote_deletion: spec.remote_deletion_policy.unwrap_or_default(),
    })
}

/// Debounce of a rollout without `debounce`.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(10);
/// Progress deadline of a rollout without `progressDeadline` (as a Deployment's default).
pub const DEFAULT_PROGRESS_DEADLINE: Duration = Duration::from_secs(600);
/// Grace period of retirement without `gracePeriod`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);
/// Retention of retirement without `retention`.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

fn duration_or(
    field: &str,
    text: Option<&String>,
    default: Duration,
) -> Result<Duration, InvalidSpec> {
    text.map_or(Ok(default), |t| {
        parse_duration(t).map_err(|e| InvalidSpec(format!("{field}: {e}")))
    })
}

fn rollout_intent(spec: &RolloutSpec) -> Result<RolloutIntent, InvalidSpec> {
    if spec.workloads.is_empty() && spec.discover != Some(true) {
        return Err(InvalidSpec(
            "rollout needs workloads or discover: true (otherwise it restarts nothing)".into(),
        ));
    }
    Ok(RolloutIntent {
        workloads: spec.workloads.clone(),
        discover: spec.discover == Some(true),
        debounce: duration_or("rollout.debounce", spec.debounce.as_ref(), DEFAULT_DEBOUNCE)?,
        progress_deadline: duration_or(
            "rollout.progressDeadline",
            spec.progress_deadline.as_ref(),
            DEFAULT_PROGRESS_DEADLINE,
        )?,
    })
}

fn retirement_intent(spec: &RetirementSpec) -> Result<RetirementIntent, InvalidSpec> {
    Ok(RetirementIntent {
        grace: duration_or(
            "retirement.gracePeriod",
            spec.grace_period.as_ref(),
            DEFAULT_GRACE,
        )?,
        retention: duration_or(
            "retirement.retention",
            spec.retention.as_ref(),
            DEFAULT_RETENTION,
        )?,
        max_enabled: spec.max_enabled_versions,
        include_unmanaged: spec.include_unmanaged == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ms(spec: serde_json::Value, annotations: serde_json::Value) -> ManagedSecret {
        serde_json::from_value(json!({
            "apiVersion": "keyward.dev/v1alpha1", "kind": "ManagedSecret",
            "metadata": {"name": "db", "namespace": "team", "generation": 3, "annotations": annotations},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn defaults_are_applied() {
        let intent = intent_from(&ms(
            json!({"storeRef": {"name": "s"}, "generate": {}}),
            json!({}),
        ))
        .unwrap();
        assert_eq!(intent.source, SourceIntent::Generate);
        assert_eq!(intent.refresh_interval, DEFAULT_REFRESH_INTERVAL);
        assert_eq!(intent.target.name, "db");
        assert_eq!(intent.target.type_, "Opaque");
        assert_eq!(intent.target.creation_policy, CreationPolicy::Owner);
        assert_eq!(intent.remote_deletion, RemoteDeletionPolicy::Retain);
        assert_eq!(intent.generation, Some(3));
        let RemoteIntent::ByName {
            name,
            path,
            new_secret,
        } = &intent.remote
        else {
            panic!("by name");
        };
        assert_eq!((name.as_str(), path.as_str()), ("db", "/"));
        assert!(!new_secret.protected);
    }

    #[test]
    fn annotations_are_trimmed_and_empty_ones_ignored() {
        let spec = json!({"storeRef": {"name": "s"}, "generate": {}});
        let intent = intent_from(&ms(
            spec.clone(),
            json!({"keyward.dev/rotate": " r1\n", "keyward.dev/force-sync": ""}),
        ))
        .unwrap();
        assert_eq!(intent.rotate_request.as_deref(), Some("r1"));
        assert_eq!(intent.force_sync, None);
    }

    #[test]
    fn invalid_specs_say_why() {
        let rows = [
            (
                json!({"storeRef": {"name": "s"}, "generate": {}, "rotation": {"schedule": "61 * * * *"}}),
                "rotation",
            ),
            (
                json!({"storeRef": {"name": "s"}, "generate": {}, "rotation": {"interval": "10s"}}),
                "rotation.interval",
            ),
            (
                json!({"storeRef": {"name": "s"}, "rotation": {"interval": "1h"}}),
                "needs spec.generate",
            ),
            (
                json!({"storeRef": {"name": "s"}, "generate": {}, "rotation": {"schedule": "0 3 * * *", "timeZone": "Europe/Atlantis"}}),
                "rotation: timeZone is not a name in the IANA time zone database",
            ),
            (
                json!({"storeRef": {"name": "s"}, "remote": {"path": "x"}}),
                "must start with '/'",
            ),
            (
                json!({"storeRef": {"name": "s"}, "refreshInterval": "soon"}),
                "refreshInterval",
            ),
            (
                json!({"storeRef": {"name": "s"}, "remote": {"adopt": {"terraformId": "fr-par/nope"}}}),
                "terraformId",
            ),
            (
                json!({"storeRef": {"name": "s"}, "generate": {}, "fromSecret": {"name": "x"}}),
                "at most one source",
            ),
        ];
        for (spec, want) in rows {
            let err = intent_from(&ms(spec.clone(), json!({}))).expect_err(&spec.to_string());
            assert!(err.0.contains(want), "{spec}: {}", err.0);
        }
    }

    #[test]
    fn a_per_namespace_folder_prefixes_the_remote_path() {
        let at = |path: Option<&str>, folder: &str| {
            let mut spec = json!({"storeRef": {"name": "s"}, "generate": {}});
            if let Some(p) = path {
                spec["remote"] = json!({"path": p});
            }
            match intent_from(&ms(spec, json!({})))
                .unwrap()
                .in_folder(folder)
                .remote
            {
                RemoteIntent::ByName {
                    path, new_secret, ..
                } => {
                    assert_eq!(path, new_secret.path);
                    path
                }
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(at(None, "/"), "/");
        assert_eq!(at(Some("/apps"), "/"), "/apps");
        assert_eq!(at(None, "/team"), "/team");
        assert_eq!(at(Some("/apps/db"), "/team"), "/team/apps/db");
    }

    #[test]
    fn adoption_by_terraform_id_keeps_region_and_revision() {
        let intent = intent_from(&ms(
            json!({"storeRef": {"name": "s"}, "remote": {"adopt": {"terraformId": "nl-ams/11111111-1111-1111-1111-111111111111/2"}}}),
            json!({}),
        ))
        .unwrap();
        assert_eq!(intent.source, SourceIntent::Follow);
        assert_eq!(
            intent.remote,
            RemoteIntent::Adopt {
                secret_id: SecretId::new("11111111-1111-1111-1111-111111111111"),
                first_revision: Some(RevisionSelector::Number(2)),
                region: Some(crate::api::ScalewayRegion::NlAms),
                allow_deletion: false,
            }
        );
    }
}
