//! The commands for ManagedSecrets: the plan is the operator's own `reconcile::prepare` in
//! read-only mode, then a read-only check of what the executor would read (the payload a mirror
//! needs, rendered and checked against the target's type; the key a new version needs), then
//! the pipeline's own `rollout::apply::look`. Nothing here writes, and the store runtimes'
//! clients refuse writes in any case.

use std::collections::BTreeSet;

use async_trait::async_trait;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};

use crate::api::conditions::{READY, Reason, find};
use crate::api::lifecycle::WorkloadState;
use crate::api::{ManagedSecret, ManagedSecretStatus, OperationCause};
use crate::controller::execute::render_target;
use crate::controller::intent::intent_from;
use crate::controller::plan::conclude::{Failure, FailurePace, provider_failure};
use crate::controller::plan::{Plan, Step, TargetRevision, operation_token};
use crate::controller::reconcile::{
    Context, Mode, Planned, Prepared, pipeline_object, pipeline_shared, prepare,
};
use crate::rollout::pipeline::PipelinePlan;

use super::Scope;
use super::kinds::{ObjectKind, PlanEnv, Progress, Request, StatusRow, annotate, list};
use super::report::{self, ObjectPlan, PlannedStep, Verdict};

pub struct ManagedSecrets;

const KIND: &str = "ManagedSecret";

fn ready_of(status: Option<&ManagedSecretStatus>) -> (String, String, String, Option<Time>) {
    match status.and_then(|s| find(&s.conditions, READY)) {
        Some(c) => (
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
            Some(c.last_transition_time.clone()),
        ),
        None => ("Unknown".into(), String::new(), String::new(), None),
    }
}

fn plan_of(ms: &ManagedSecret, verdict: Verdict, reason: Reason, message: String) -> ObjectPlan {
    ObjectPlan {
        kind: KIND.into(),
        namespace: ms.namespace().unwrap_or_default(),
        name: ms.name_any(),
        verdict,
        steps: Vec::new(),
        then: Vec::new(),
        reason: reason.as_str().into(),
        message,
        notes: Vec::new(),
    }
}

/// The plan of a reconcile that stops before planning.
fn stopped(ms: &ManagedSecret, failure: Failure) -> ObjectPlan {
    let verdict = match failure.pace {
        FailurePace::WaitForBudget(_) => Verdict::Wait,
        FailurePace::Retry(_) if report::is_wait(failure.reason) => Verdict::Wait,
        FailurePace::Retry(_) => Verdict::Fail,
    };
    plan_of(ms, verdict, failure.reason, failure.message)
}

/// What the executor would read first, checked without writing: the payload of the revision it
/// mirrors (rendered, and checked against the target's type), or, before a new version, that
/// the current revision's key still opens it (a disabled key refuses both).
async fn preflight(planned: &Planned, status: &ManagedSecretStatus) -> Option<Failure> {
    let secret = planned.observed.secret()?;
    let runtime = &planned.store.runtime;
    let writes_version = planned.plan.steps.iter().any(|s| {
        matches!(
            s,
            Step::CreateVersion(_) | Step::CreateSecretWithVersion { .. }
        )
    });
    let mirrors = planned.plan.steps.iter().find_map(|s| match s {
        Step::ApplyTarget {
            revision: TargetRevision::Number(n),
            previous,
            ..
        } => Some((*n, *previous)),
        _ => None,
    });
    if let Some((revision, previous)) = mirrors {
        return render_target(
            runtime,
            &planned.intent,
            &planned.render,
            &secret.id,
            revision,
            None,
            previous,
        )
        .await
        .err();
    }
    let current = status.current_revision?;
    if !writes_version || planned.intent.single_access() {
        return None;
    }
    match runtime.payload(&secret.id, u64::from(current), false).await {
        Err(e) => Some(provider_failure(&e)).filter(|f| f.reason == Reason::KeyUnavailable),
        Ok(_) => None,
    }
}

/// The revision the target holds once the steps are done, when it is known before they run.
fn mirrored_after(plan: &Plan, status: &ManagedSecretStatus) -> Result<Option<u32>, ()> {
    for step in &plan.steps {
        match step {
            Step::ApplyTarget {
                revision: TargetRevision::Number(n),
                ..
            } => return Ok(u32::try_from(*n).ok()),
            Step::ApplyTarget {
                revision: TargetRevision::Created,
                ..
            } => return Err(()),
            _ => {}
        }
    }
    Ok(plan
        .notes
        .mirrored_revision
        .and_then(|n| u32::try_from(n).ok())
        .or(status.current_revision))
}

/// Notes on superseded revisions that retirement has not taken yet (none is due now, or the
/// plan would disable or remove it).
fn retirement_notes(
    pipeline: &PipelinePlan,
    retirement: Option<&crate::rollout::retire::RetirementIntent>,
) -> Vec<String> {
    let Some(retirement) = retirement else {
        return Vec::new();
    };
    let taken: BTreeSet<u64> = pipeline
        .steps
        .iter()
        .filter_map(|s| match s {
            crate::rollout::pipeline::PipelineStep::Disable(r)
            | crate::rollout::pipeline::PipelineStep::Remove(r) => Some(*r),
            _ => None,
        })
        .collect();
    pipeline
        .revisions
        .iter()
        .filter(|r| r.stage == crate::api::lifecycle::Stage::Previous)
        .filter(|r| !taken.contains(&u64::from(r.revision)))
        .map(|r| {
            format!(
                "revision {} stays enabled until every consumer runs revision {} and its grace period ({}s) has passed",
                r.revision,
                pipeline.rollout.revision,
                retirement.grace.as_secs()
            )
        })
        .collect()
}

/// Notes on a pipeline that waits: workloads pending their turn or finishing their rollout.
fn pipeline_notes(pipeline: &PipelinePlan) -> Vec<String> {
    let restarting: BTreeSet<String> = pipeline
        .steps
        .iter()
        .filter_map(|s| match s {
            crate::rollout::pipeline::PipelineStep::Restart { workload, .. } => {
                Some(workload.to_string())
            }
            _ => None,
        })
        .collect();
    pipeline
        .rollout
        .workloads
        .iter()
        .filter_map(|w| {
            let id = format!("{} {}", w.kind.as_str(), w.name);
            match w.state {
                WorkloadState::Pending if !restarting.contains(&id) => Some(format!(
                    "{id} restarts for revision {} once its debounce window has passed",
                    pipeline.rollout.revision
                )),
                WorkloadState::Progressing if !restarting.contains(&id) => Some(format!(
                    "waiting for {id} to finish rolling out revision {}",
                    pipeline.rollout.revision
                )),
                WorkloadState::Stalled => Some(format!(
                    "{id} stalled rolling out revision {}; superseded versions stay enabled",
                    pipeline.rollout.revision
                )),
                _ => None,
            }
        })
        .collect()
}

async fn plan_one(ctx: &Context, ms: &ManagedSecret) -> anyhow::Result<ObjectPlan> {
    let status = ms.status.clone().unwrap_or_default();
    if ms.metadata.deletion_timestamp.is_some() {
        let mut plan = plan_of(
            ms,
            Verdict::Change,
            Reason::Deleting,
            "being deleted".into(),
        );
        let policies = intent_from(ms)
            .map(|i| {
                format!(
                    "remote deletion policy {:?}, target deletion policy {:?}",
                    i.remote_deletion, i.target.deletion_policy
                )
            })
            .unwrap_or_else(|_| "no valid spec: nothing remote to clean up".into());
        plan.steps.push(PlannedStep {
            action: "Cleanup".into(),
            description: format!(
                "apply the deletion policies ({policies}), then release the finalizer"
            ),
        });
        return Ok(plan);
    }
    let planned = match prepare(ms, ctx, Mode::ReadOnly).await? {
        Prepared::Stopped { failure, .. } => return Ok(stopped(ms, failure)),
        Prepared::Planned(p) => p,
    };
    let describe = report::Context {
        target: &planned.intent.target.name,
        current: status.current_revision,
        rotation: &planned.rotation,
        source: planned.intent.from_secret.as_ref().map(|f| f.name.as_str()),
        removal: planned.store.runtime.capabilities().version_removal,
    };
    let steps: Vec<PlannedStep> = planned
        .plan
        .steps
        .iter()
        .map(|s| report::describe(s, &describe))
        .collect();
    let ready = &planned.plan.ready;
    let mut result = plan_of(ms, Verdict::InSync, ready.reason, ready.message.clone());
    result.steps = steps;
    if let Some(next) = planned.plan.notes.next_rotation {
        result.notes.push(format!("next rotation at {next}"));
    }
    if ready.status != crate::api::conditions::ConditionStatus::True {
        result.verdict = if report::is_wait(ready.reason) {
            Verdict::Wait
        } else {
            Verdict::Fail
        };
        return Ok(result);
    }
    if let Some(failure) = preflight(&planned, &status).await {
        result.verdict = Verdict::Fail;
        result.reason = failure.reason.as_str().into();
        result.message = failure.message;
        return Ok(result);
    }
    let (Some(secret), Some(id)) = (
        planned.observed.secret(),
        planned.plan.notes.secret_id.as_ref(),
    ) else {
        // A secret this reconcile creates: its revision is known once it exists.
        result.verdict = Verdict::Change;
        return Ok(result);
    };
    let pipeline = planned.intent.rollout.is_some() || planned.intent.retirement.is_some();
    let mut rollout_waits = false;
    match mirrored_after(&planned.plan, &status) {
        Ok(Some(current)) => {
            result.message = format!(
                "revision {current} of remote secret {id} mirrored into Secret {}",
                planned.intent.target.name
            );
            if pipeline {
                let namespace = ms.namespace().unwrap_or_default();
                let name = ms.name_any();
                let object = pipeline_object(
                    &planned.intent,
                    &namespace,
                    &name,
                    current,
                    &status,
                    secret,
                    &planned.store.runtime,
                    &planned.owner,
                    planned.now,
                );
                let look = crate::rollout::apply::look(&pipeline_shared(ctx), &object).await?;
                result.then = look
                    .plan
                    .steps
                    .iter()
                    .map(|s| report::describe_pipeline(s, current, &describe))
                    .collect();
                let waits = pipeline_notes(&look.plan);
                rollout_waits = !waits.is_empty();
                result.notes.extend(waits);
                result.notes.extend(retirement_notes(
                    &look.plan,
                    planned.intent.retirement.as_ref(),
                ));
                if let Some(event) = look.retire_failed {
                    result.notes.push(event.note);
                }
            }
        }
        Ok(None) => {}
        Err(()) if pipeline => result.notes.push(
            "then the new revision's rollout and retirement follow (spec.rollout, spec.retirement)"
                .into(),
        ),
        Err(()) => {}
    }
    result.verdict = if !result.steps.is_empty() || !result.then.is_empty() {
        Verdict::Change
    } else if rollout_waits {
        Verdict::Wait
    } else {
        Verdict::InSync
    };
    Ok(result)
}

#[async_trait]
impl ObjectKind for ManagedSecrets {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn names(&self) -> &'static [&'static str] {
        &["managedsecret", "managedsecrets", "ms"]
    }

    async fn plan(&self, env: &PlanEnv, scope: &Scope) -> anyhow::Result<Vec<ObjectPlan>> {
        let client = &env.ctx.client;
        let objects = list::<ManagedSecret>(client, scope).await?;
        // The operator keeps which objects feed which workload in memory; their statuses say
        // the same, so the restart digests come out as the operator's.
        let namespaces: BTreeSet<String> = objects.iter().filter_map(|m| m.namespace()).collect();
        for ns in namespaces {
            let api: Api<ManagedSecret> = Api::namespaced(client.clone(), &ns);
            for other in api.list(&ListParams::default()).await? {
                if let Some(rollout) = other.status.as_ref().and_then(|s| s.rollout.as_ref()) {
                    crate::rollout::apply::record_status(
                        &env.ctx.consumers,
                        &ns,
                        &other.name_any(),
                        rollout,
                    );
                }
            }
        }
        let mut plans = Vec::new();
        for ms in &objects {
            plans.push(plan_one(&env.ctx, ms).await?);
        }
        Ok(plans)
    }

    async fn status(&self, client: &Client, scope: &Scope) -> anyhow::Result<Vec<StatusRow>> {
        Ok(list::<ManagedSecret>(client, scope)
            .await?
            .iter()
            .map(|ms| {
                let status = ms.status.as_ref();
                let (ready, reason, message, since) = ready_of(status);
                let namespace = ms.namespace().unwrap_or_default();
                StatusRow {
                    kind: KIND.into(),
                    store: crate::stores::resolve::store_display(&namespace, &ms.spec.store_ref),
                    namespace,
                    name: ms.name_any(),
                    ready,
                    reason,
                    message,
                    revision: status.and_then(|s| s.current_revision),
                    next_rotation: status
                        .and_then(|s| s.next_rotation_time.as_ref())
                        .map(|t| t.0.to_string()),
                    since: since.map(|t| t.0.to_string()),
                }
            })
            .collect())
    }

    fn check(&self, manifest: &serde_json::Value) -> Result<(), String> {
        let ms: ManagedSecret =
            serde_json::from_value(manifest.clone()).map_err(|e| e.to_string())?;
        intent_from(&ms).map(|_| ()).map_err(|e| e.0)
    }

    async fn ask(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
        request: Request,
        value: &str,
    ) -> anyhow::Result<()> {
        annotate::<ManagedSecret>(client, namespace, name, request, value).await
    }

    async fn progress(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
        request: Request,
        value: &str,
        asked_at: jiff::Timestamp,
    ) -> anyhow::Result<Progress> {
        let api: Api<ManagedSecret> = Api::namespaced(client.clone(), namespace);
        let ms = api.get(name).await?;
        let status = ms.status.unwrap_or_default();
        Ok(request_progress(
            &status,
            namespace,
            name,
            request,
            value,
            asked_at,
            jiff::Timestamp::now(),
        ))
    }
}

/// How long an object that was already failing may keep failing after a request before the
/// request counts as failed too (the annotation wakes the operator at once).
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(15);

/// Where a request stands, from the object's status. Pure.
pub fn request_progress(
    status: &ManagedSecretStatus,
    namespace: &str,
    name: &str,
    request: Request,
    value: &str,
    asked_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Progress {
    let (ready, reason, message, since) = ready_of(Some(status));
    let handled = match request {
        Request::Rotate => status.handled_rotate_request.as_deref() == Some(value),
        Request::Sync => status.handled_force_sync.as_deref() == Some(value),
    };
    if handled && ready == "True" {
        return Progress::Done {
            revision: status.current_revision,
            message,
        };
    }
    let failing = ready == "False"
        && Reason::ALL
            .iter()
            .find(|r| r.as_str() == reason)
            .is_some_and(|r| !report::is_wait(*r));
    if failing {
        // Whole seconds in conditions: a transition in the second of the request counts.
        let changed_since = since.is_some_and(|t| t.0.as_second() >= asked_at.as_second());
        let ours = request == Request::Rotate
            && status.pending_operation.as_ref().is_some_and(|p| {
                p.token == operation_token(namespace, name, OperationCause::Request, value)
            });
        let settled = crate::rotation::later(asked_at, SETTLE) <= now;
        if changed_since || ours || settled {
            return Progress::Failed { reason, message };
        }
    }
    let what = if reason.is_empty() {
        "no status yet".to_owned()
    } else {
        format!("Ready={ready} {reason}: {message}")
    };
    Progress::Waiting(what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(value: serde_json::Value) -> ManagedSecretStatus {
        serde_json::from_value(value).unwrap()
    }

    fn ready(status: &str, reason: &str, at: &str) -> serde_json::Value {
        json!([{"type": "Ready", "status": status, "reason": reason, "message": "m", "lastTransitionTime": at}])
    }

    #[test]
    fn a_request_is_done_failed_or_waiting() {
        let asked: jiff::Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let soon: jiff::Timestamp = "2026-11-25T10:00:05Z".parse().unwrap();
        let late: jiff::Timestamp = "2026-11-25T10:01:00Z".parse().unwrap();
        let progress = |s: &ManagedSecretStatus, now| {
            request_progress(s, "ns", "db", Request::Rotate, "r1", asked, now)
        };
        let done = status(
            json!({"conditions": ready("True", "Synced", "2026-11-25T10:00:01Z"),
            "handledRotateRequest": "r1", "currentRevision": 3}),
        );
        assert!(matches!(
            progress(&done, soon),
            Progress::Done {
                revision: Some(3),
                ..
            }
        ));
        // Ready from before the request: waiting.
        let before = status(
            json!({"conditions": ready("True", "Synced", "2026-11-25T09:00:00Z"),
            "handledRotateRequest": "r0", "currentRevision": 2}),
        );
        assert!(matches!(progress(&before, soon), Progress::Waiting(_)));
        // A new failure: failed at once.
        let failed =
            status(json!({"conditions": ready("False", "KeyUnavailable", "2026-11-25T10:00:02Z")}));
        assert!(
            matches!(progress(&failed, soon), Progress::Failed { reason, .. } if reason == "KeyUnavailable")
        );
        // Failing from before: failed once our write is on record, or after the settle time.
        let old_failure = ready("False", "AuthFailed", "2026-11-25T09:00:00Z");
        let still = status(json!({"conditions": old_failure}));
        assert!(matches!(progress(&still, soon), Progress::Waiting(_)));
        assert!(matches!(progress(&still, late), Progress::Failed { .. }));
        let token = operation_token("ns", "db", OperationCause::Request, "r1");
        let tried = status(json!({"conditions": old_failure, "pendingOperation": {
            "token": token, "kind": "CreateVersion", "cause": "Request", "startedAt": "2026-11-25T10:00:01Z"}}));
        assert!(matches!(progress(&tried, soon), Progress::Failed { .. }));
        // Waiting on the store's budget is not a failure.
        let waiting =
            status(json!({"conditions": ready("False", "Reconciling", "2026-11-25T10:00:02Z")}));
        assert!(matches!(progress(&waiting, late), Progress::Waiting(_)));
    }
}
