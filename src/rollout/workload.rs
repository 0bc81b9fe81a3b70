//! A workload as the pipeline sees it, read from a Deployment, StatefulSet or DaemonSet: which
//! one, its generation, the restart annotation on its pod template, and whether its own controller
//! reports its rollout finished. Pure.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodSpec;

use crate::api::lifecycle::{WorkloadKind, WorkloadSelector};
use crate::api::well_known::RESTART_ANNOTATION;

/// Which workload.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadId {
    pub kind: WorkloadKind,
    pub name: String,
}

impl std::fmt::Display for WorkloadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.name)
    }
}

/// What the pipeline needs of a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedWorkload {
    pub id: WorkloadId,
    pub generation: i64,
    pub created_at: Option<Timestamp>,
    /// `keyward.dev/revisions` on the pod template.
    pub restart_value: Option<String>,
    /// Its controller has acted on this generation and every replica is updated and available.
    pub finished: bool,
    pub labels: BTreeMap<String, String>,
    /// The pod template reads this Secret (env, envFrom, volumes, projected volumes).
    pub reads: Vec<String>,
}

impl ObservedWorkload {
    pub fn selected_by(&self, selector: &WorkloadSelector) -> bool {
        if selector.kind != self.id.kind {
            return false;
        }
        match (&selector.name, &selector.match_labels) {
            (Some(name), _) => *name == self.id.name,
            (None, Some(labels)) => labels.iter().all(|(k, v)| self.labels.get(k) == Some(v)),
            (None, None) => false,
        }
    }
}

fn generation(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> i64 {
    meta.generation.unwrap_or(0)
}

fn common(
    kind: WorkloadKind,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    template: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>,
    finished: bool,
) -> ObservedWorkload {
    ObservedWorkload {
        id: WorkloadId {
            kind,
            name: meta.name.clone().unwrap_or_default(),
        },
        generation: generation(meta),
        created_at: meta.creation_timestamp.as_ref().map(|t| t.0),
        restart_value: template
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(RESTART_ANNOTATION))
            .cloned(),
        finished,
        labels: meta.labels.clone().unwrap_or_default(),
        reads: template
            .and_then(|t| t.spec.as_ref())
            .map(secrets_read)
            .unwrap_or_default(),
    }
}

/// As `kubectl rollout status` judges a Deployment: its controller saw this generation, and every
/// desired replica is updated and available, with no old replica left.
pub fn from_deployment(d: &Deployment) -> ObservedWorkload {
    let spec = d.spec.as_ref();
    let status = d.status.clone().unwrap_or_default();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let finished = status.observed_generation.unwrap_or(0) >= generation(&d.metadata)
        && status.updated_replicas.unwrap_or(0) >= desired
        && status.replicas.unwrap_or(0) <= status.updated_replicas.unwrap_or(0)
        && status.available_replicas.unwrap_or(0) >= desired;
    common(
        WorkloadKind::Deployment,
        &d.metadata,
        spec.map(|s| &s.template),
        finished,
    )
}

/// A StatefulSet is finished when its controller saw this generation, its update revision is its
/// current revision, and every replica is updated and ready. (With `OnDelete` updates the
/// controller never replaces pods by itself, so such a StatefulSet stalls until someone does.)
pub fn from_stateful_set(s: &StatefulSet) -> ObservedWorkload {
    let spec = s.spec.as_ref();
    let status = s.status.clone().unwrap_or_default();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let finished = status.observed_generation.unwrap_or(0) >= generation(&s.metadata)
        && status.update_revision.is_some()
        && status.update_revision == status.current_revision
        && status.updated_replicas.unwrap_or(0) >= desired
        && status.ready_replicas.unwrap_or(0) >= desired;
    common(
        WorkloadKind::StatefulSet,
        &s.metadata,
        spec.map(|s| &s.template),
        finished,
    )
}

/// A DaemonSet is finished when its controller saw this generation and every node that should run
/// it runs an updated, available pod.
pub fn from_daemon_set(d: &DaemonSet) -> ObservedWorkload {
    let spec = d.spec.as_ref();
    let status = d.status.clone().unwrap_or_default();
    let finished = status.observed_generation.unwrap_or(0) >= generation(&d.metadata)
        && status.updated_number_scheduled.unwrap_or(0) >= status.desired_number_scheduled
        && status.number_available.unwrap_or(0) >= status.desired_number_scheduled;
    common(
        WorkloadKind::DaemonSet,
        &d.metadata,
        spec.map(|s| &s.template),
        finished,
    )
}

/// The Secrets a pod template reads, in any container (init containers included).
pub fn secrets_read(pod: &PodSpec) -> Vec<String> {
    let mut out = Vec::new();
    let containers = pod
        .containers
        .iter()
        .chain(pod.init_containers.iter().flatten());
    for c in containers {
        for env in c.env.iter().flatten() {
            if let Some(name) = env
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
                .map(|r| r.name.clone())
            {
                out.push(name);
            }
        }
        for from in c.env_from.iter().flatten() {
            if let Some(r) = &from.secret_ref {
                out.push(r.name.clone());
            }
        }
    }
    for volume in pod.volumes.iter().flatten() {
        if let Some(name) = volume.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            out.push(name);
        }
        let projected = volume.projected.as_ref().and_then(|p| p.sources.as_ref());
        for source in projected.into_iter().flatten() {
            if let Some(r) = &source.secret {
                out.push(r.name.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "api", "generation": generation, "labels": {"app": "api"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"annotations": {RESTART_ANNOTATION: "v1:abc"}},
                    "spec": {
                        "containers": [{
                            "name": "c",
                            "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                            "envFrom": [{"secretRef": {"name": "api-env"}}]
                        }],
                        "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "cm"}}]}],
                        "volumes": [
                            {"name": "v", "secret": {"secretName": "tls"}},
                            {"name": "p", "projected": {"sources": [{"secret": {"name": "extra"}}]}}
                        ]
                    }
                }
            },
            "status": status
        }))
        .unwrap()
    }

    #[test]
    fn a_deployment_is_finished_only_when_its_controller_caught_up_and_replaced_every_replica() {
        let cases = [
            // (observedGeneration, replicas, updated, available, finished)
            (
                json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
                true,
            ),
            (
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
                false,
            ),
            (
                json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}),
                false,
            ),
            (
                json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 2}),
                false,
            ),
            (
                json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}),
                false,
            ),
            (json!({}), false),
        ];
        for (status, finished) in cases {
            let w = from_deployment(&deployment(3, 2, status.clone()));
            assert_eq!(w.finished, finished, "{status}");
            assert_eq!(w.generation, 3);
            assert_eq!(w.restart_value.as_deref(), Some("v1:abc"));
        }
    }

    #[test]
    fn a_deployment_scaled_to_zero_is_finished_once_observed() {
        let w = from_deployment(&deployment(2, 0, json!({"observedGeneration": 2})));
        assert!(w.finished);
    }

    #[test]
    fn every_way_a_pod_template_reads_a_secret_is_found() {
        let w = from_deployment(&deployment(1, 1, json!({})));
        assert_eq!(w.reads, vec!["api-env", "db", "extra", "tls"]);
    }

    #[test]
    fn a_stateful_set_is_finished_when_its_update_revision_is_current_and_replicas_are_ready() {
        let make = |status: serde_json::Value| -> StatefulSet {
            serde_json::from_value(json!({
                "metadata": {"name": "db", "generation": 4},
                "spec": {"replicas": 3, "serviceName": "db", "selector": {}, "template": {}},
                "status": status
            }))
            .unwrap()
        };
        let done = json!({"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
            "currentRevision": "db-2", "updateRevision": "db-2"});
        assert!(from_stateful_set(&make(done.clone())).finished);
        let mut rolling = done.clone();
        rolling["currentRevision"] = json!("db-1");
        assert!(!from_stateful_set(&make(rolling)).finished);
        let mut behind = done.clone();
        behind["observedGeneration"] = json!(3);
        assert!(!from_stateful_set(&make(behind)).finished);
        let mut unready = done;
        unready["readyReplicas"] = json!(2);
        assert!(!from_stateful_set(&make(unready)).finished);
    }

    #[test]
    fn a_daemon_set_is_finished_when_every_scheduled_pod_is_updated_and_available() {
        let make = |status: serde_json::Value| -> DaemonSet {
            serde_json::from_value(json!({
                "metadata": {"name": "agent", "generation": 2},
                "spec": {"selector": {}, "template": {}},
                "status": status
            }))
            .unwrap()
        };
        let base = json!({"observedGeneration": 2, "currentNumberScheduled": 4, "numberMisscheduled": 0,
            "desiredNumberScheduled": 4, "numberReady": 4, "updatedNumberScheduled": 4, "numberAvailable": 4});
        assert!(from_daemon_set(&make(base.clone())).finished);
        let mut partial = base.clone();
        partial["updatedNumberScheduled"] = json!(3);
        assert!(!from_daemon_set(&make(partial)).finished);
        let mut unavailable = base;
        unavailable["numberAvailable"] = json!(3);
        assert!(!from_daemon_set(&make(unavailable)).finished);
    }

    #[test]
    fn selectors_match_by_kind_and_name_or_by_every_label() {
        let w = from_deployment(&deployment(1, 1, json!({})));
        let by_name = |kind, name: &str| WorkloadSelector {
            kind,
            name: Some(name.into()),
            match_labels: None,
        };
        let by_labels = |labels: &[(&str, &str)]| WorkloadSelector {
            kind: WorkloadKind::Deployment,
            name: None,
            match_labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        };
        assert!(w.selected_by(&by_name(WorkloadKind::Deployment, "api")));
        assert!(!w.selected_by(&by_name(WorkloadKind::StatefulSet, "api")));
        assert!(!w.selected_by(&by_name(WorkloadKind::Deployment, "web")));
        assert!(w.selected_by(&by_labels(&[("app", "api")])));
        assert!(!w.selected_by(&by_labels(&[("app", "api"), ("tier", "db")])));
        assert!(!w.selected_by(&by_labels(&[("app", "web")])));
    }
}
