//! The commands for ManagedKeys: the plan is the operator's own `keys::reconcile::prepare` with
//! read-only runtimes (their KMS clients refuse every write), each step said with why.

use async_trait::async_trait;
use kube::{Api, Client, ResourceExt};

use crate::api::conditions::{READY, Reason, find};
use crate::api::{ManagedKey, ManagedKeyStatus, OperationCause};
use crate::controller::plan::conclude::FailurePace;
use crate::keys::intent::key_intent;
use crate::keys::plan::KeyStep;
use crate::keys::reconcile::{Planned, prepare};
use crate::keys::{KIND, KeyContext};
use crate::telemetry::ObjectReasons;

use super::Scope;
use super::kinds::{ObjectKind, PlanEnv, Progress, Request, StatusRow, annotate, list};
use super::managed_secret::SETTLE;
use super::report::{self, ObjectPlan, PlannedStep, Verdict};

pub struct ManagedKeys;

fn object(mk: &ManagedKey, verdict: Verdict, reason: &str, message: String) -> ObjectPlan {
    ObjectPlan {
        kind: KIND.into(),
        namespace: mk.namespace().unwrap_or_default(),
        name: mk.name_any(),
        verdict,
        steps: Vec::new(),
        then: Vec::new(),
        reason: reason.into(),
        message,
        notes: Vec::new(),
    }
}

/// Each step with why. Pure.
pub fn describe(step: &KeyStep, planned: &Planned, status: &ManagedKeyStatus) -> PlannedStep {
    let key = &planned.intent.key_id;
    match step {
        KeyStep::Rotate(pending) if status.pending_rotation.as_ref() == Some(pending) => {
            PlannedStep {
                action: step.action().into(),
                description: format!(
                    "repeat the rotation of key {key} announced before the operator stopped, with the same retry token (a repeat makes no second version)"
                ),
            }
        }
        KeyStep::Rotate(pending) => {
            let why = match (&pending.cause, &pending.request) {
                (OperationCause::Request, Some(r)) => {
                    format!("rotation requested (keyward.dev/rotate={r})")
                }
                _ => match &planned.plan.status.next_rotation_time {
                    Some(due) => format!("rotation due at {}", due.0),
                    None => "rotation due".into(),
                },
            };
            PlannedStep {
                action: step.action().into(),
                description: format!("create a new version of key {key}: {why}"),
            }
        }
        KeyStep::ScheduleDeletion { version, at } => PlannedStep {
            action: step.action().into(),
            description: format!(
                "schedule key version {version} for deletion at {at}: older than the newest {} versions Keyward created (spec.retirement)",
                planned
                    .intent
                    .retirement
                    .map(|r| r.keep)
                    .unwrap_or_default()
            ),
        },
    }
}

async fn plan_one(ctx: &KeyContext, mk: &ManagedKey) -> ObjectPlan {
    let status = mk.status.clone().unwrap_or_default();
    match prepare(mk, ctx, jiff::Timestamp::now()).await {
        Err(stopped) => {
            let failure = stopped.stop.failure;
            let verdict = match failure.pace {
                FailurePace::WaitForBudget(_) => Verdict::Wait,
                FailurePace::Retry(_) if report::is_wait(failure.reason) => Verdict::Wait,
                FailurePace::Retry(_) => Verdict::Fail,
            };
            let mut plan = object(mk, verdict, failure.reason.as_str(), failure.message);
            if let Some(state) = stopped.status.key_state {
                plan.notes.push(format!("the key is {state}"));
            }
            plan
        }
        Ok(planned) => {
            let steps: Vec<PlannedStep> = planned
                .plan
                .steps
                .iter()
                .map(|s| describe(s, &planned, &status))
                .collect();
            let version = planned
                .plan
                .status
                .current_key_version
                .as_deref()
                .unwrap_or("none");
            let verdict = if steps.is_empty() {
                Verdict::InSync
            } else {
                Verdict::Change
            };
            let mut plan = object(
                mk,
                verdict,
                Reason::Synced.as_str(),
                format!(
                    "key {} is ENABLED at version {version}",
                    planned.intent.key_id
                ),
            );
            plan.steps = steps;
            if plan.verdict == Verdict::InSync
                && let Some(next) = &planned.plan.status.next_rotation_time
            {
                plan.notes.push(format!("next rotation at {}", next.0));
            }
            plan
        }
    }
}

#[async_trait]
impl ObjectKind for ManagedKeys {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn names(&self) -> &'static [&'static str] {
        &["managedkey", "managedkeys", "mkey"]
    }

    async fn plan(&self, env: &PlanEnv, scope: &Scope) -> anyhow::Result<Vec<ObjectPlan>> {
        let ctx = KeyContext {
            shared: env.ctx.clone(),
            clients: Default::default(),
            reasons: ObjectReasons::new(KIND, env.ctx.metrics.clone()),
            own_writes: Default::default(),
        };
        let mut plans = Vec::new();
        for mk in list::<ManagedKey>(&env.ctx.client, scope).await? {
            plans.push(plan_one(&ctx, &mk).await);
        }
        Ok(plans)
    }

    async fn status(&self, client: &Client, scope: &Scope) -> anyhow::Result<Vec<StatusRow>> {
        Ok(list::<ManagedKey>(client, scope)
            .await?
            .iter()
            .map(|mk| {
                let status = mk.status.as_ref();
                let ready = status.and_then(|s| find(&s.conditions, READY));
                let namespace = mk.namespace().unwrap_or_default();
                StatusRow {
                    kind: KIND.into(),
                    store: crate::stores::resolve::store_display(&namespace, &mk.spec.store_ref),
                    namespace,
                    name: mk.name_any(),
                    ready: ready.map_or("Unknown".into(), |c| c.status.clone()),
                    reason: ready.map(|c| c.reason.clone()).unwrap_or_default(),
                    message: ready.map(|c| c.message.clone()).unwrap_or_default(),
                    revision: None,
                    next_rotation: status
                        .and_then(|s| s.next_rotation_time.as_ref())
                        .map(|t| t.0.to_string()),
                    since: ready.map(|c| c.last_transition_time.0.to_string()),
                }
            })
            .collect())
    }

    fn check(&self, manifest: &serde_json::Value) -> Result<(), String> {
        let mk: ManagedKey = serde_json::from_value(manifest.clone()).map_err(|e| e.to_string())?;
        key_intent(&mk).map(|_| ())
    }

    async fn ask(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
        request: Request,
        value: &str,
    ) -> anyhow::Result<()> {
        annotate::<ManagedKey>(client, namespace, name, request, value).await
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
        let api: Api<ManagedKey> = Api::namespaced(client.clone(), namespace);
        let status = api.get(name).await?.status.unwrap_or_default();
        Ok(key_progress(
            &status,
            request,
            value,
            asked_at,
            jiff::Timestamp::now(),
        ))
    }
}

/// Where a request stands, from the key's status. Pure.
pub fn key_progress(
    status: &ManagedKeyStatus,
    request: Request,
    value: &str,
    asked_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Progress {
    let ready = find(&status.conditions, READY);
    let (state, reason, message) = ready.map_or(("Unknown", "", ""), |c| {
        (c.status.as_str(), c.reason.as_str(), c.message.as_str())
    });
    let handled = match request {
        Request::Rotate => {
            status.handled_rotate_request.as_deref() == Some(value)
                && status.pending_rotation.is_none()
        }
        Request::Sync => status.handled_force_sync.as_deref() == Some(value),
    };
    if handled && state == "True" {
        let version = status.current_key_version.as_deref().unwrap_or("none");
        return Progress::Done {
            revision: None,
            message: format!("{message} (key version {version})"),
        };
    }
    let failing = state == "False"
        && Reason::ALL
            .iter()
            .find(|r| r.as_str() == reason)
            .is_some_and(|r| !report::is_wait(*r));
    if failing {
        // Whole seconds in conditions: a transition in the second of the request counts.
        let changed_since =
            ready.is_some_and(|c| c.last_transition_time.0.as_second() >= asked_at.as_second());
        let ours = request == Request::Rotate
            && status
                .pending_rotation
                .as_ref()
                .is_some_and(|p| p.request.as_deref() == Some(value));
        let seen = request == Request::Sync && status.handled_force_sync.as_deref() == Some(value);
        if changed_since || ours || seen || crate::rotation::later(asked_at, SETTLE) <= now {
            return Progress::Failed {
                reason: reason.into(),
                message: message.into(),
            };
        }
    }
    Progress::Waiting(if reason.is_empty() {
        "no status yet".into()
    } else {
        format!("Ready={state} {reason}: {message}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(value: serde_json::Value) -> ManagedKeyStatus {
        serde_json::from_value(value).unwrap()
    }

    fn ready(status: &str, reason: &str, at: &str) -> serde_json::Value {
        json!([{"type": "Ready", "status": status, "reason": reason, "message": "m", "lastTransitionTime": at}])
    }

    #[test]
    fn a_key_request_is_done_failed_or_waiting() {
        let asked: jiff::Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let soon: jiff::Timestamp = "2026-11-25T10:00:05Z".parse().unwrap();
        let late: jiff::Timestamp = "2026-11-25T10:01:00Z".parse().unwrap();
        let rotate = |s: &ManagedKeyStatus, now| key_progress(s, Request::Rotate, "r1", asked, now);
        let done = status(
            json!({"conditions": ready("True", "Synced", "2026-11-25T09:00:00Z"),
            "handledRotateRequest": "r1", "currentKeyVersion": "v2"}),
        );
        assert!(
            matches!(rotate(&done, soon), Progress::Done { message, .. } if message.contains("v2"))
        );
        let in_flight = status(
            json!({"conditions": ready("True", "Synced", "2026-11-25T09:00:00Z"),
            "handledRotateRequest": "r1", "pendingRotation": {"token": "t", "cause": "Request",
            "request": "r2", "startedAt": "2026-11-25T10:00:01Z"}}),
        );
        assert!(matches!(rotate(&in_flight, soon), Progress::Waiting(_)));
        let disabled =
            status(json!({"conditions": ready("False", "KeyUnavailable", "2026-11-25T10:00:02Z")}));
        assert!(
            matches!(rotate(&disabled, soon), Progress::Failed { reason, .. } if reason == "KeyUnavailable")
        );
        let old =
            status(json!({"conditions": ready("False", "AuthFailed", "2026-11-25T09:00:00Z")}));
        assert!(matches!(rotate(&old, soon), Progress::Waiting(_)));
        assert!(matches!(rotate(&old, late), Progress::Failed { .. }));
        let synced = status(
            json!({"conditions": ready("True", "Synced", "2026-11-25T09:00:00Z"),
            "handledForceSync": "s1"}),
        );
        assert!(matches!(
            key_progress(&synced, Request::Sync, "s1", asked, soon),
            Progress::Done { .. }
        ));
    }
}
