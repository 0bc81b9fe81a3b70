//! What `keyward plan` says about one object, as data (for `-o json`) and in words: each step of
//! the operator's plan described with why it is taken. Pure: no I/O, no clock. Nothing here ever
//! holds a value: the planner's steps carry none, and the restart annotation's keyed digest is
//! left out too.

use serde::Serialize;

use crate::api::OperationCause;
use crate::api::conditions::Reason;
use crate::controller::plan::{Step, TargetRevision, ValueFrom};
use crate::provider::VersionRemoval;
use crate::rollout::pipeline::PipelineStep;
use crate::rotation::RotationDecision;

/// How one object's plan ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Nothing to do: the object is in step.
    InSync,
    /// Steps to take; the object ends Ready.
    Change,
    /// Waiting on something outside Keyward (a first version, a Secret to merge into, a
    /// workload's rollout, the store's budget).
    Wait,
    /// The plan would fail or is refused: the object ends not Ready.
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::InSync => "in sync",
            Verdict::Change => "change",
            Verdict::Wait => "wait",
            Verdict::Fail => "fail",
        }
    }
}

/// One step, as the operator would take it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// The step's name, as the operator logs it (`CreateVersion`, `ApplyTarget`, `Restart`…).
    pub action: String,
    /// What it does and why.
    pub description: String,
}

/// One object's plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectPlan {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub verdict: Verdict,
    /// The reconcile's steps, in order.
    pub steps: Vec<PlannedStep>,
    /// What the pipeline then does in the same reconcile (spec.rollout, spec.retirement).
    pub then: Vec<PlannedStep>,
    /// The Ready reason and message the object would report.
    pub reason: String,
    pub message: String,
    /// Anything else a person should know (waits, next rotation, what could not be checked).
    pub notes: Vec<String>,
}

/// Counts by verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub objects: usize,
    pub in_sync: usize,
    pub change: usize,
    pub wait: usize,
    pub fail: usize,
}

impl Summary {
    pub fn of(plans: &[ObjectPlan]) -> Self {
        let count = |v: Verdict| plans.iter().filter(|p| p.verdict == v).count();
        Self {
            objects: plans.len(),
            in_sync: count(Verdict::InSync),
            change: count(Verdict::Change),
            wait: count(Verdict::Wait),
            fail: count(Verdict::Fail),
        }
    }
}

/// The whole answer of `keyward plan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanReport {
    pub objects: Vec<ObjectPlan>,
    pub summary: Summary,
}

impl PlanReport {
    pub fn new(objects: Vec<ObjectPlan>) -> Self {
        let summary = Summary::of(&objects);
        Self { objects, summary }
    }
}

/// Whether a Ready reason means waiting rather than failing.
pub fn is_wait(reason: Reason) -> bool {
    matches!(reason, Reason::Reconciling | Reason::Synced)
}

/// What a description needs to know besides the step.
pub struct Context<'a> {
    pub target: &'a str,
    /// The revision the target holds now (status).
    pub current: Option<u32>,
    pub rotation: &'a RotationDecision,
    /// The fromSecret source's name, if any.
    pub source: Option<&'a str>,
    pub removal: VersionRemoval,
}

fn cause_words(cause: OperationCause, ctx: &Context<'_>) -> String {
    match cause {
        OperationCause::Initial => "the first value".to_owned(),
        OperationCause::Push => format!(
            "the source Secret {} changed",
            ctx.source.unwrap_or("(fromSecret)")
        ),
        OperationCause::Request => match ctx.rotation {
            RotationDecision::Due {
                request: Some(r), ..
            } => format!("rotation requested (keyward.dev/rotate={r})"),
            _ => "rotation requested (keyward.dev/rotate)".to_owned(),
        },
        OperationCause::Rotation => match ctx.rotation {
            RotationDecision::Due { trigger, .. } => format!("rotation due at {trigger}"),
            _ => "rotation due".to_owned(),
        },
    }
}

fn value_words(value: ValueFrom, ctx: &Context<'_>) -> String {
    match value {
        ValueFrom::Generate => "a generated value".to_owned(),
        ValueFrom::Source => format!(
            "the data of Secret {}",
            ctx.source.unwrap_or("(fromSecret)")
        ),
    }
}

fn step(action: &str, description: String) -> PlannedStep {
    PlannedStep {
        action: action.to_owned(),
        description,
    }
}

/// One step of the reconcile's plan in words.
pub fn describe(s: &Step, ctx: &Context<'_>) -> PlannedStep {
    let description = match s {
        Step::CreateSecret(new) => format!(
            "create remote secret {} (none has this name and folder yet)",
            place(&new.path, &new.name)
        ),
        Step::CreateSecretWithVersion { secret, version } => format!(
            "create remote secret {} with version 1 from {} (the provider creates both at once)",
            place(&secret.path, &secret.name),
            value_words(version.value, ctx)
        ),
        Step::UpdateSecret(update) => {
            let mut fields = Vec::new();
            if update.description.is_some() {
                fields.push("description");
            }
            if update.tags.is_some() {
                fields.push("tags");
            }
            if update.owner.is_some() {
                fields.push("owner mark");
            }
            format!(
                "update the remote secret's {} to match the spec",
                if fields.is_empty() {
                    "metadata".to_owned()
                } else {
                    fields.join(", ")
                }
            )
        }
        Step::SetProtected(on) => format!(
            "turn deletion protection {} (spec.remote.protected)",
            if *on { "on" } else { "off" }
        ),
        Step::RecordPending { cause, .. } => format!(
            "record the write in status.pendingOperation before sending it ({})",
            cause_words(*cause, ctx)
        ),
        Step::CreateVersion(v) => format!(
            "create a new version from {}: {}",
            value_words(v.value, ctx),
            cause_words(v.cause, ctx)
        ),
        Step::RecordExistingVersion { revision, .. } => format!(
            "record version {revision}, which an earlier attempt created (found by its operation token), instead of writing again"
        ),
        Step::ClearPending => {
            "forget the pending operation: its version never appeared and is no longer wanted"
                .to_owned()
        }
        Step::ApplyTarget {
            revision,
            drift_repair,
            previous,
        } => {
            let what = match revision {
                TargetRevision::Created => "the new version".to_owned(),
                TargetRevision::Number(n) => format!("revision {n}"),
            };
            let why = match (revision, drift_repair) {
                (_, true) => "its data was changed by someone: repair",
                (TargetRevision::Created, _) => "a new version",
                (TargetRevision::Number(n), _)
                    if ctx.current.map(u64::from) != Some(*n) && ctx.current.is_some() =>
                {
                    "a newer revision than the one it holds"
                }
                (TargetRevision::Number(_), _) if ctx.current.is_none() => "its first revision",
                _ => "the spec, its previous keys or a force-sync asks for a rewrite",
            };
            let mut text = format!("mirror {what} into Secret {} ({why})", ctx.target);
            if let Some(p) = previous {
                text.push_str(&format!(
                    "; it also carries revision {p}'s keys (target.includePrevious)"
                ));
            }
            text
        }
        Step::DeleteTarget { name } => {
            format!("remove Secret {name}, written under the earlier target.name")
        }
    };
    step(s.action(), description)
}

/// One step of the pipeline in words, for `revision`.
pub fn describe_pipeline(s: &PipelineStep, revision: u32, ctx: &Context<'_>) -> PlannedStep {
    let description = match s {
        PipelineStep::Restart { workload, .. } => format!(
            "restart {workload} for revision {revision} (pod-template annotation keyward.dev/revisions; spec.rollout)"
        ),
        PipelineStep::Disable(r) => format!(
            "disable version {r}, superseded by revision {revision} (grace period over; spec.retirement)"
        ),
        PipelineStep::Remove(r) => format!(
            "remove version {r} ({}; retention over; spec.retirement)",
            ctx.removal.done()
        ),
    };
    step(s.action(), description)
}

fn place(path: &str, name: &str) -> String {
    if path.ends_with('/') {
        format!("{path}{name}")
    } else {
        format!("{path}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::plan::VersionWrite;
    use crate::provider::NewSecret;

    fn ctx(rotation: &RotationDecision) -> Context<'_> {
        Context {
            target: "db",
            current: Some(2),
            rotation,
            source: Some("src"),
            removal: VersionRemoval::Delete,
        }
    }

    #[test]
    fn steps_say_what_and_why() {
        let due = RotationDecision::Due {
            cause: OperationCause::Rotation,
            trigger: "2026-11-25T03:00:00Z".into(),
            request: None,
            next_after: None,
        };
        let requested = RotationDecision::Due {
            cause: OperationCause::Request,
            trigger: "now".into(),
            request: Some("now".into()),
            next_after: None,
        };
        let version = |cause| {
            Step::CreateVersion(VersionWrite {
                token: "keyward:ns/db:rotation:00".into(),
                cause,
                value: ValueFrom::Generate,
                request: None,
            })
        };
        let rows = [
            (
                version(OperationCause::Rotation),
                &due,
                "CreateVersion",
                "create a new version from a generated value: rotation due at 2026-11-25T03:00:00Z",
            ),
            (
                version(OperationCause::Request),
                &requested,
                "CreateVersion",
                "rotation requested (keyward.dev/rotate=now)",
            ),
            (
                Step::ApplyTarget {
                    revision: TargetRevision::Number(3),
                    drift_repair: false,
                    previous: None,
                },
                &due,
                "ApplyTarget",
                "mirror revision 3 into Secret db (a newer revision than the one it holds)",
            ),
            (
                Step::ApplyTarget {
                    revision: TargetRevision::Number(2),
                    drift_repair: true,
                    previous: None,
                },
                &due,
                "ApplyTarget",
                "its data was changed by someone: repair",
            ),
            (
                Step::CreateSecret(NewSecret {
                    name: "db".into(),
                    path: "/team".into(),
                    ..Default::default()
                }),
                &due,
                "CreateSecret",
                "create remote secret /team/db",
            ),
        ];
        for (s, rotation, action, words) in rows {
            let d = describe(&s, &ctx(rotation));
            assert_eq!(d.action, action);
            assert!(d.description.contains(words), "{}", d.description);
        }
        let restart = PipelineStep::Restart {
            workload: crate::rollout::workload::WorkloadId {
                kind: crate::api::lifecycle::WorkloadKind::Deployment,
                name: "api".into(),
            },
            value: "v1:0123456789abcdef".into(),
        };
        let d = describe_pipeline(&restart, 3, &ctx(&due));
        assert_eq!(d.action, "Restart");
        assert!(
            d.description
                .starts_with("restart Deployment api for revision 3")
        );
        // The annotation's keyed digest is not shown.
        assert!(!d.description.contains("0123456789abcdef"));
        let d = describe_pipeline(&PipelineStep::Disable(2), 3, &ctx(&due));
        assert_eq!(
            (d.action.as_str(), d.description.as_str()),
            (
                "Disable",
                "disable version 2, superseded by revision 3 (grace period over; spec.retirement)"
            )
        );
        let d = describe_pipeline(&PipelineStep::Remove(1), 3, &ctx(&due));
        assert!(
            d.description.starts_with("remove version 1 (deleted;"),
            "{}",
            d.description
        );
    }

    #[test]
    fn the_summary_counts_verdicts() {
        let plan = |verdict| ObjectPlan {
            kind: "ManagedSecret".into(),
            namespace: "ns".into(),
            name: "x".into(),
            verdict,
            steps: vec![],
            then: vec![],
            reason: "Synced".into(),
            message: String::new(),
            notes: vec![],
        };
        let report = PlanReport::new(vec![
            plan(Verdict::InSync),
            plan(Verdict::Change),
            plan(Verdict::Fail),
            plan(Verdict::Change),
        ]);
        assert_eq!(
            report.summary,
            Summary {
                objects: 4,
                in_sync: 1,
                change: 2,
                wait: 0,
                fail: 1
            }
        );
    }
}
