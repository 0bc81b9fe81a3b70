//! The pipeline's reads and writes: the rollout's workloads (read only while a rollout is not
//! confirmed), the restart annotation (server-side apply of one pod-template annotation, within
//! the cluster's restart limit), and the provider calls that retire versions (through the store
//! runtime's budgeted client).

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use crate::api::lifecycle::{RevisionStage, RolloutStatus, WorkloadKind, WorkloadState};
use crate::api::well_known::{FIELD_MANAGER, RESTART_ANNOTATION};
use crate::controller::events::EventNote;
use crate::mirror::HmacKey;
use crate::provider::{RemoteSecret, RemoteVersion};
use crate::stores::StoreRuntime;
use crate::telemetry::Metrics;

use super::consumers::{Consumers, Feed, restart_due, restart_value};
use super::limiter::RestartLimiter;
use super::pipeline::{
    Candidate, PipelineDecision, PipelineFact, PipelineInput, PipelineStep, RolloutIntent,
    needs_workloads, plan_pipeline, settle,
};
use super::retire::RetirementIntent;
use super::workload::{
    ObservedWorkload, WorkloadId, from_daemon_set, from_deployment, from_stateful_set,
};

/// What the pipeline shares across reconciles.
pub struct Shared<'a> {
    pub client: &'a Client,
    pub hmac: &'a HmacKey,
    pub consumers: &'a Consumers,
    pub limiter: &'a RestartLimiter,
    pub metrics: &'a Metrics,
}

/// One ManagedSecret's pipeline inputs.
pub struct Object<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// The target Secret's name (for discovery).
    pub target: &'a str,
    pub rollout: Option<&'a RolloutIntent>,
    pub retirement: Option<&'a RetirementIntent>,
    /// The revision the target Secret holds.
    pub current: u32,
    pub status_rollout: Option<&'a RolloutStatus>,
    pub revisions: &'a [RevisionStage],
    pub managed_revisions: &'a [u32],
    /// The remote secret (its versions are listed through the runtime when retirement is due).
    pub secret: &'a RemoteSecret,
    pub runtime: &'a StoreRuntime,
    pub now: Timestamp,
}

/// What the pipeline concluded: the status fields it owns, its Events, when to look again.
pub struct PipelineOutcome {
    pub rollout: RolloutStatus,
    pub revisions: Vec<RevisionStage>,
    pub events: Vec<EventNote>,
    pub requeue: Option<std::time::Duration>,
}

/// The pipeline's reads and decision, before any write (`keyward plan` stops here).
pub struct Look {
    pub plan: super::pipeline::PipelinePlan,
    /// Listing the versions for retirement failed: retirement waits, this Event says why.
    pub retire_failed: Option<EventNote>,
}

/// Reads the rollout's workloads (while a rollout is not confirmed) and the versions (when
/// retirement has something due), and plans. Writes nothing.
pub async fn look(shared: &Shared<'_>, object: &Object<'_>) -> kube::Result<Look> {
    let candidates = if needs_workloads(object.rollout, object.status_rollout, object.current) {
        let intent = object.rollout.expect("needs_workloads implies a rollout");
        let workloads = observe(shared.client, object.namespace, intent, object.target).await?;
        Some(candidates(shared, object, &workloads))
    } else {
        None
    };
    let mut versions: Option<std::sync::Arc<Vec<RemoteVersion>>> = None;
    let mut retirement = object.retirement;
    let mut retire_failed = None;
    let plan = loop {
        let input = PipelineInput {
            rollout: object.rollout,
            retirement,
            current: object.current,
            status_rollout: object.status_rollout,
            revisions: object.revisions,
            candidates: candidates.as_deref(),
            versions: versions.as_ref().map(|v| v.as_slice()),
            managed_revisions: object.managed_revisions,
            capabilities: object.runtime.capabilities(),
            secret_id: object.secret.id.0.as_str(),
            now: object.now,
        };
        match plan_pipeline(&input) {
            PipelineDecision::Act(plan) => break plan,
            PipelineDecision::NeedVersions => {
                // Fresh (not from the cache): retirement acts on what the provider says now.
                match object.runtime.versions(object.secret, true).await {
                    Ok(listed) => versions = Some(listed),
                    Err(e) => {
                        // Retirement waits for the next attempt; the rollout goes on.
                        retirement = None;
                        retire_failed = Some(EventNote::warning(
                            "RetireFailed",
                            "Retire",
                            format!(
                                "could not list the versions of remote secret {} to retire superseded ones: {}",
                                &object.secret.id,
                                e.condition_message()
                            ),
                        ));
                    }
                }
            }
        }
    };
    Ok(Look {
        plan,
        retire_failed,
    })
}

/// Runs the pipeline for one reconcile. Kubernetes read failures are errors (the reconcile
/// retries); provider and write failures are facts the status and Events report.
pub async fn run(shared: &Shared<'_>, object: &Object<'_>) -> kube::Result<PipelineOutcome> {
    let Look {
        plan,
        retire_failed,
    } = look(shared, object).await?;
    if !plan.steps.is_empty() {
        tracing::info!(
            namespace = %object.namespace,
            name = %object.name,
            revision = object.current,
            steps = ?plan.steps.iter().map(PipelineStep::action).collect::<Vec<_>>(),
            "pipeline planned"
        );
    }
    let mut facts = Vec::new();
    for step in &plan.steps {
        facts.push(perform(shared, object, step).await);
    }
    let (rollout, revisions, mut events, mut requeue) =
        settle(&plan, object.revisions, object.status_rollout, &facts);
    if let Some(event) = retire_failed {
        events.push(event);
        requeue = Some(requeue.map_or(super::pipeline::FAILURE_RETRY, |r| {
            r.min(super::pipeline::FAILURE_RETRY)
        }));
    }
    if object.rollout.is_some() {
        record_feeds(shared, object, &rollout);
    }
    Ok(PipelineOutcome {
        rollout,
        revisions,
        events,
        requeue,
    })
}

/// The feeds of this object, as the plan leaves them, for the other ManagedSecrets' digests.
fn record_feeds(shared: &Shared<'_>, object: &Object<'_>, rollout: &RolloutStatus) {
    record_status(shared.consumers, object.namespace, object.name, rollout);
}

/// Records the feeds a rollout status describes (also how `keyward plan` learns, from every
/// object's status, what the operator keeps in memory).
pub fn record_status(consumers: &Consumers, namespace: &str, name: &str, rollout: &RolloutStatus) {
    let feeds: Vec<(WorkloadId, Feed)> = rollout
        .workloads
        .iter()
        .map(|w| {
            (
                WorkloadId {
                    kind: w.kind,
                    name: w.name.clone(),
                },
                Feed {
                    revision: rollout.revision,
                    mirrored_at: rollout.mirrored_at.0,
                    pending: w.state == WorkloadState::Pending,
                },
            )
        })
        .collect();
    consumers.record(namespace, name, &feeds);
}

/// Each workload with the restart value and due time its feeds give, this object's own feed
/// taken as pending when its revision is new or its entry still waits.
fn candidates(
    shared: &Shared<'_>,
    object: &Object<'_>,
    workloads: &[ObservedWorkload],
) -> Vec<Candidate> {
    let debounce = object.rollout.map(|r| r.debounce).unwrap_or_default();
    let recorded = object
        .status_rollout
        .filter(|r| r.revision == object.current);
    workloads
        .iter()
        .map(|w| {
            let mut feeds: BTreeMap<String, Feed> = shared.consumers.of(object.namespace, &w.id);
            let entry = recorded.and_then(|r| {
                r.workloads
                    .iter()
                    .find(|e| e.kind == w.id.kind && e.name == w.id.name)
            });
            let pending = match (recorded, entry) {
                (None, _) => object.status_rollout.is_some(),
                (Some(_), Some(e)) => e.state == WorkloadState::Pending,
                (Some(_), None) => false,
            };
            feeds.insert(
                object.name.to_owned(),
                Feed {
                    revision: object.current,
                    mirrored_at: recorded.map_or(object.now, |r| r.mirrored_at.0),
                    pending,
                },
            );
            Candidate {
                workload: w.clone(),
                restart_value: restart_value(shared.hmac, &feeds),
                due: restart_due(&feeds, debounce),
            }
        })
        .collect()
}

/// Reads the workloads the rollout covers: named ones, labelled ones, and (with discovery)
/// those whose pod template reads the target Secret.
pub async fn observe(
    client: &Client,
    namespace: &str,
    intent: &RolloutIntent,
    target: &str,
) -> kube::Result<Vec<ObservedWorkload>> {
    let mut out: Vec<ObservedWorkload> = Vec::new();
    for kind in WorkloadKind::ALL {
        let selectors: Vec<_> = intent.workloads.iter().filter(|s| s.kind == kind).collect();
        if selectors.is_empty() && !intent.discover {
            continue;
        }
        let only_names = !intent.discover && selectors.iter().all(|s| s.name.is_some());
        let found: Vec<ObservedWorkload> = if only_names {
            let mut found = Vec::new();
            for name in selectors.iter().filter_map(|s| s.name.as_deref()) {
                if let Some(w) = get(client, namespace, kind, name).await? {
                    found.push(w);
                }
            }
            found
        } else {
            list(client, namespace, kind).await?
        };
        out.extend(found.into_iter().filter(|w| {
            selectors.iter().any(|s| w.selected_by(s))
                || (intent.discover && w.reads.iter().any(|r| r == target))
        }));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

async fn get(
    client: &Client,
    namespace: &str,
    kind: WorkloadKind,
    name: &str,
) -> kube::Result<Option<ObservedWorkload>> {
    Ok(match kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await?
            .map(|d| from_deployment(&d)),
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await?
            .map(|s| from_stateful_set(&s)),
        WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await?
            .map(|d| from_daemon_set(&d)),
    })
}

async fn list(
    client: &Client,
    namespace: &str,
    kind: WorkloadKind,
) -> kube::Result<Vec<ObservedWorkload>> {
    let lp = ListParams::default();
    Ok(match kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), namespace)
            .list(&lp)
            .await?
            .items
            .iter()
            .map(from_deployment)
            .collect(),
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .list(&lp)
            .await?
            .items
            .iter()
            .map(from_stateful_set)
            .collect(),
        WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client.clone(), namespace)
            .list(&lp)
            .await?
            .items
            .iter()
            .map(from_daemon_set)
            .collect(),
    })
}

/// The pod-template annotation as an apply configuration: Keyward owns this one field.
fn restart_patch(kind: WorkloadKind, name: &str, value: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": kind.as_str(),
        "metadata": {"name": name},
        "spec": {"template": {"metadata": {"annotations": {RESTART_ANNOTATION: value}}}}
    })
}

async fn restart(
    client: &Client,
    namespace: &str,
    id: &WorkloadId,
    value: &str,
) -> kube::Result<i64> {
    let patch = Patch::Apply(restart_patch(id.kind, &id.name, value));
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let meta = match id.kind {
        WorkloadKind::Deployment => {
            Api::<Deployment>::namespaced(client.clone(), namespace)
                .patch(&id.name, &params, &patch)
                .await?
                .metadata
        }
        WorkloadKind::StatefulSet => {
            Api::<StatefulSet>::namespaced(client.clone(), namespace)
                .patch(&id.name, &params, &patch)
                .await?
                .metadata
        }
        WorkloadKind::DaemonSet => {
            Api::<DaemonSet>::namespaced(client.clone(), namespace)
                .patch(&id.name, &params, &patch)
                .await?
                .metadata
        }
    };
    Ok(meta.generation.unwrap_or(0))
}

async fn perform(shared: &Shared<'_>, object: &Object<'_>, step: &PipelineStep) -> PipelineFact {
    let provider = object.runtime.provider();
    match step {
        PipelineStep::Restart { workload, value } => {
            let turn = match shared.limiter.try_take(Instant::now()) {
                Ok(turn) => turn,
                Err(wait) => {
                    shared
                        .metrics
                        .workload_restart(workload.kind.as_str(), "deferred");
                    return PipelineFact::Deferred {
                        workload: workload.clone(),
                        wait,
                    };
                }
            };
            let result = restart(shared.client, object.namespace, workload, value).await;
            match &result {
                Ok(_) => shared.limiter.done(turn, Instant::now()),
                Err(_) => shared.limiter.give_back(turn),
            }
            match result {
                Ok(generation) => {
                    shared
                        .metrics
                        .workload_restart(workload.kind.as_str(), "restarted");
                    tracing::info!(namespace = %object.namespace, name = %object.name, workload = %workload, revision = object.current, "restarted workload");
                    PipelineFact::Restarted {
                        workload: workload.clone(),
                        generation,
                    }
                }
                Err(e) => {
                    shared
                        .metrics
                        .workload_restart(workload.kind.as_str(), "failed");
                    PipelineFact::Failed {
                        step: step.clone(),
                        message: format!("could not restart {workload}: {}", kube_message(&e)),
                    }
                }
            }
        }
        PipelineStep::Disable(revision) => {
            match object
                .runtime
                .client()
                .set_version_enabled(&object.secret.id, *revision, false)
                .await
            {
                Ok(_) => {
                    shared.metrics.version_retired(provider, "disabled");
                    PipelineFact::Disabled(*revision)
                }
                Err(e) => PipelineFact::Failed {
                    step: step.clone(),
                    message: format!(
                        "could not disable version {revision} of remote secret {}: {}",
                        &object.secret.id,
                        e.condition_message()
                    ),
                },
            }
        }
        PipelineStep::Remove(revision) => {
            match object
                .runtime
                .client()
                .delete_version(
                    &object.secret.id,
                    *revision,
                    object.retirement.map(|r| r.retention).unwrap_or_default(),
                )
                .await
            {
                Ok(()) => {
                    let done = object.runtime.capabilities().version_removal.done();
                    shared.metrics.version_retired(provider, done);
                    PipelineFact::Removed(*revision)
                }
                Err(e) => PipelineFact::Failed {
                    step: step.clone(),
                    message: format!(
                        "could not remove version {revision} of remote secret {}: {}",
                        &object.secret.id,
                        e.condition_message()
                    ),
                },
            }
        }
    }
}

/// The API server's message, without anything but what it said.
fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restart_patch_names_only_the_annotation() {
        let patch = restart_patch(WorkloadKind::StatefulSet, "db", "v1:abc");
        assert_eq!(patch["kind"], "StatefulSet");
        assert_eq!(
            patch["spec"]["template"]["metadata"]["annotations"][RESTART_ANNOTATION],
            "v1:abc"
        );
        assert_eq!(patch["spec"].as_object().unwrap().len(), 1);
    }
}
