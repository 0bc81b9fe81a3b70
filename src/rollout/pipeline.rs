//! The pipeline after the target Secret, as a pure decision: for the revision the Secret holds,
//! which workloads to restart, which have finished their rollout, when the rollout is confirmed,
//! and (through [`super::retire`]) which superseded versions to disable and remove. Every stage is
//! recorded in status, so a restart of the operator picks up where it was and restarts nothing.
//!
//! Rules:
//! 1. The first revision the pipeline sees is a baseline: its workloads already run it (or start
//!    with it), so nothing is restarted.
//! 2. A new revision makes every rollout workload `Pending`. A workload created after the revision
//!    reached the Secret already reads it and is `Complete` at once.
//! 3. A pending workload restarts once its debounce window has passed (the newest pending revision
//!    among every ManagedSecret feeding it, plus the debounce), unless its restart annotation
//!    already holds the value it would get (another ManagedSecret restarted it for the same
//!    revisions): then it is `Progressing` without a second restart.
//! 4. A progressing workload is `Complete` when its own controller reports the rollout finished,
//!    and `Stalled` (with a Warning naming it) after the progress deadline; a stalled workload
//!    that finishes later is complete then.
//! 5. The rollout is confirmed when every workload is complete; retirement starts only then, so a
//!    version a workload may still use is never retired.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::lifecycle::{
    RevisionStage, RolloutStatus, Stage, WorkloadRollout, WorkloadSelector, WorkloadState,
};
use crate::controller::events::EventNote;
use crate::provider::{Capabilities, RemoteVersion};
use crate::rotation::{later, until_due};

use super::retire::{self, RetirementIntent};
use super::workload::{ObservedWorkload, WorkloadId};

/// How often a rollout in progress is looked at.
pub const PROGRESS_POLL: Duration = Duration::from_secs(5);
/// How often a stalled rollout is looked at.
pub const STALLED_POLL: Duration = Duration::from_secs(30);

/// `spec.rollout`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutIntent {
    pub workloads: Vec<WorkloadSelector>,
    pub discover: bool,
    pub debounce: Duration,
    pub progress_deadline: Duration,
}

/// A workload the rollout covers, with what the I/O layer worked out from every ManagedSecret
/// feeding it.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub workload: ObservedWorkload,
    /// The restart annotation value for the revisions its feeds hold now.
    pub restart_value: String,
    /// When it may restart (see [`super::consumers::restart_due`]).
    pub due: Option<Timestamp>,
}

/// Everything the pipeline looks at.
#[derive(Clone, Debug)]
pub struct PipelineInput<'a> {
    pub rollout: Option<&'a RolloutIntent>,
    pub retirement: Option<&'a RetirementIntent>,
    /// The revision the target Secret holds now.
    pub current: u32,
    pub status_rollout: Option<&'a RolloutStatus>,
    pub revisions: &'a [RevisionStage],
    /// The rollout's workloads, when they were read (see [`needs_workloads`]).
    pub candidates: Option<&'a [Candidate]>,
    /// The remote versions, when they were listed (see [`PipelineDecision::NeedVersions`]).
    pub versions: Option<&'a [RemoteVersion]>,
    /// Revisions Keyward created (status.managedRevisions).
    pub managed_revisions: &'a [u32],
    pub capabilities: Capabilities,
    /// The remote secret, for Events.
    pub secret_id: &'a str,
    pub now: Timestamp,
}

/// One action of the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineStep {
    /// Set the restart annotation on the workload's pod template.
    Restart { workload: WorkloadId, value: String },
    /// Disable a superseded version.
    Disable(u64),
    /// Delete, destroy or schedule the deletion of a version.
    Remove(u64),
}

impl PipelineStep {
    /// The step's name in logs and in `keyward plan`.
    pub fn action(&self) -> &'static str {
        match self {
            PipelineStep::Restart { .. } => "Restart",
            PipelineStep::Disable(_) => "Disable",
            PipelineStep::Remove(_) => "Remove",
        }
    }
}

/// The pipeline's plan: its steps, the status they lead to, the Events, and when to look again.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelinePlan {
    pub steps: Vec<PipelineStep>,
    pub rollout: RolloutStatus,
    pub revisions: Vec<RevisionStage>,
    pub events: Vec<EventNote>,
    pub requeue: Option<Duration>,
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum PipelineDecision {
    Act(PipelinePlan),
    /// Retirement has something due: list the versions (fresh) and plan again.
    NeedVersions,
}

/// Whether the reconcile must read the rollout's workloads: while the revision's rollout is not
/// confirmed. A settled pipeline reads nothing.
pub fn needs_workloads(
    rollout: Option<&RolloutIntent>,
    status: Option<&RolloutStatus>,
    current: u32,
) -> bool {
    rollout.is_some()
        && match status {
            None => true,
            Some(s) => s.revision != current || s.confirmed_at.is_none(),
        }
}

fn since(t: Timestamp) -> Time {
    Time(t)
}

fn sooner(a: Option<Duration>, b: Duration) -> Option<Duration> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// Fills in the `3/4` summary; returns how many workloads are complete.
fn summarize(rollout: &mut RolloutStatus) -> usize {
    let complete = rollout
        .workloads
        .iter()
        .filter(|w| w.state == WorkloadState::Complete)
        .count();
    rollout.summary = format!("{complete}/{}", rollout.workloads.len());
    complete
}

/// Plan the pipeline of one reconcile.
pub fn plan_pipeline(input: &PipelineInput<'_>) -> PipelineDecision {
    let now = input.now;
    let mut events = Vec::new();
    let mut requeue = None;
    let first = input.status_rollout.is_none();
    let new_revision = input.status_rollout.map(|r| r.revision) != Some(input.current);

    // Stages of the revisions.
    let mut revisions = input.revisions.to_vec();
    if new_revision {
        for r in revisions.iter_mut() {
            if r.stage == Stage::Current && r.revision != input.current {
                r.stage = Stage::Previous;
                r.since = since(now);
            }
        }
        revisions.retain(|r| r.revision != input.current);
        revisions.push(RevisionStage {
            revision: input.current,
            stage: Stage::Current,
            since: since(now),
        });
        revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    }

    // The rollout of the current revision.
    let mut rollout = match input.status_rollout {
        Some(r) if !new_revision => r.clone(),
        _ => RolloutStatus {
            revision: input.current,
            mirrored_at: since(now),
            confirmed_at: None,
            summary: String::new(),
            workloads: Vec::new(),
        },
    };
    let mut steps = Vec::new();
    if let (Some(intent), Some(candidates)) = (input.rollout, input.candidates) {
        let mut workloads = Vec::new();
        for c in candidates {
            let known = rollout
                .workloads
                .iter()
                .find(|w| w.kind == c.workload.id.kind && w.name == c.workload.id.name);
            let mut entry = match known {
                Some(w) => w.clone(),
                None => {
                    let started_with_it = first
                        || rollout.confirmed_at.is_some()
                        || c.workload
                            .created_at
                            .is_some_and(|t| t >= rollout.mirrored_at.0);
                    WorkloadRollout {
                        kind: c.workload.id.kind,
                        name: c.workload.id.name.clone(),
                        state: if started_with_it {
                            WorkloadState::Complete
                        } else {
                            WorkloadState::Pending
                        },
                        since: since(now),
                        generation: None,
                    }
                }
            };
            step_workload(
                intent,
                c,
                &mut entry,
                input,
                &mut steps,
                &mut events,
                &mut requeue,
            );
            workloads.push(entry);
        }
        workloads.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        rollout.workloads = workloads;
    } else if input.rollout.is_none() {
        rollout.workloads.clear();
    }
    let complete = summarize(&mut rollout);
    if rollout.confirmed_at.is_none() && complete == rollout.workloads.len() {
        rollout.confirmed_at = Some(since(now));
        if !rollout.workloads.is_empty() && !first {
            events.push(EventNote::normal(
                "RolledOut",
                "Rollout",
                format!(
                    "revision {} runs in every workload ({})",
                    input.current,
                    rollout
                        .workloads
                        .iter()
                        .map(|w| format!("{} {}", w.kind.as_str(), w.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }

    // Retirement of what the current revision superseded.
    if let Some(retirement) = input.retirement {
        let plan = retire::plan_retirement(&retire::RetireInput {
            intent: retirement,
            current: input.current,
            confirmed_at: rollout.confirmed_at.as_ref().map(|t| t.0),
            new_revision,
            revisions: &revisions,
            versions: input.versions,
            managed_revisions: input.managed_revisions,
            capabilities: input.capabilities,
            secret_id: input.secret_id,
            now,
        });
        match plan {
            retire::RetireDecision::NeedVersions => return PipelineDecision::NeedVersions,
            retire::RetireDecision::Act {
                steps: retire_steps,
                revisions: after,
                events: retire_events,
                requeue: at,
            } => {
                steps.extend(retire_steps);
                revisions = after;
                events.extend(retire_events);
                if let Some(at) = at {
                    requeue = sooner(requeue, at);
                }
            }
        }
    }
    retire::prune(&mut revisions);

    PipelineDecision::Act(PipelinePlan {
        steps,
        rollout,
        revisions,
        events,
        requeue,
    })
}

fn step_workload(
    intent: &RolloutIntent,
    c: &Candidate,
    entry: &mut WorkloadRollout,
    input: &PipelineInput<'_>,
    steps: &mut Vec<PipelineStep>,
    events: &mut Vec<EventNote>,
    requeue: &mut Option<Duration>,
) {
    let now = input.now;
    let id = &c.workload.id;
    match entry.state {
        WorkloadState::Pending => {
            if c.workload.restart_value.as_deref() == Some(c.restart_value.as_str()) {
                entry.state = WorkloadState::Progressing;
                entry.since = since(now);
                entry.generation = Some(c.workload.generation);
                *requeue = sooner(*requeue, PROGRESS_POLL);
            } else if let Some(due) = c.due.filter(|d| *d > now) {
                *requeue = sooner(*requeue, until_due(now, due));
            } else {
                steps.push(PipelineStep::Restart {
                    workload: id.clone(),
                    value: c.restart_value.clone(),
                });
                entry.state = WorkloadState::Progressing;
                entry.since = since(now);
                *requeue = sooner(*requeue, PROGRESS_POLL);
            }
        }
        WorkloadState::Progressing | WorkloadState::Stalled => {
            let caught_up = entry.generation.is_none_or(|g| c.workload.generation >= g);
            if c.workload.finished && caught_up {
                if entry.state == WorkloadState::Stalled {
                    events.push(EventNote::normal(
                        "RolloutResumed",
                        "Rollout",
                        format!(
                            "{id} finished rolling out revision {} after stalling",
                            input.current
                        ),
                    ));
                }
                entry.state = WorkloadState::Complete;
                entry.since = since(now);
            } else if entry.state == WorkloadState::Progressing
                && now >= later(entry.since.0, intent.progress_deadline)
            {
                entry.state = WorkloadState::Stalled;
                entry.since = since(now);
                events.push(EventNote::warning(
                    "RolloutStalled",
                    "Rollout",
                    format!(
                        "{id} has not finished rolling out revision {} within {}s; superseded versions stay enabled until it does",
                        input.current,
                        intent.progress_deadline.as_secs()
                    ),
                ));
                *requeue = sooner(*requeue, STALLED_POLL);
            } else if entry.state == WorkloadState::Stalled {
                *requeue = sooner(*requeue, STALLED_POLL);
            } else {
                *requeue = sooner(*requeue, PROGRESS_POLL);
            }
        }
        WorkloadState::Complete => {}
    }
}

/// What the executor did with the plan's steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineFact {
    /// Restarted; the workload's generation after the change.
    Restarted {
        workload: WorkloadId,
        generation: i64,
    },
    /// The cluster's restart limit had no turn: try again after this.
    Deferred {
        workload: WorkloadId,
        wait: Duration,
    },
    Disabled(u64),
    Removed(u64),
    /// A step failed (the message names the workload or version, never a value).
    Failed {
        step: PipelineStep,
        message: String,
    },
}

/// How long to wait after a failed pipeline step.
pub const FAILURE_RETRY: Duration = Duration::from_secs(120);

/// The status after the executor's facts: a step that did not happen leaves its stage as it was.
pub fn settle(
    plan: &PipelinePlan,
    before_revisions: &[RevisionStage],
    before_rollout: Option<&RolloutStatus>,
    facts: &[PipelineFact],
) -> (
    RolloutStatus,
    Vec<RevisionStage>,
    Vec<EventNote>,
    Option<Duration>,
) {
    let mut rollout = plan.rollout.clone();
    let mut revisions = plan.revisions.clone();
    let mut events = plan.events.clone();
    let mut requeue = plan.requeue;
    let restore_workload = |rollout: &mut RolloutStatus, id: &WorkloadId| {
        let old = before_rollout
            .filter(|r| r.revision == rollout.revision)
            .and_then(|r| {
                r.workloads
                    .iter()
                    .find(|w| w.kind == id.kind && w.name == id.name)
                    .cloned()
            });
        if let Some(w) = rollout
            .workloads
            .iter_mut()
            .find(|w| w.kind == id.kind && w.name == id.name)
        {
            *w = old.unwrap_or_else(|| WorkloadRollout {
                state: WorkloadState::Pending,
                generation: None,
                ..w.clone()
            });
        }
    };
    let restore_revision = |revisions: &mut Vec<RevisionStage>, revision: u64| {
        let old = before_revisions
            .iter()
            .find(|r| u64::from(r.revision) == revision)
            .cloned();
        revisions.retain(|r| u64::from(r.revision) != revision);
        if let Some(old) = old {
            revisions.push(old);
        }
        revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    };
    for fact in facts {
        match fact {
            PipelineFact::Restarted {
                workload,
                generation,
            } => {
                if let Some(w) = rollout
                    .workloads
                    .iter_mut()
                    .find(|w| w.kind == workload.kind && w.name == workload.name)
                {
                    w.generation = Some(*generation);
                }
                events.push(EventNote::normal(
                    "Restarted",
                    "Rollout",
                    format!("restarted {workload} for revision {}", rollout.revision),
                ));
            }
            PipelineFact::Deferred { workload, wait } => {
                restore_workload(&mut rollout, workload);
                requeue = sooner(requeue, *wait);
            }
            PipelineFact::Disabled(_) | PipelineFact::Removed(_) => {}
            PipelineFact::Failed { step, message } => {
                match step {
                    PipelineStep::Restart { workload, .. } => {
                        restore_workload(&mut rollout, workload)
                    }
                    PipelineStep::Disable(r) | PipelineStep::Remove(r) => {
                        restore_revision(&mut revisions, *r);
                        // The plan's Event for this step did not happen.
                        let done = format!("version {r} ");
                        events.retain(|e| !(e.action == "Retire" && e.note.contains(&done)));
                    }
                }
                events.push(EventNote::warning(
                    "RolloutFailed",
                    match step {
                        PipelineStep::Restart { .. } => "Rollout",
                        _ => "Retire",
                    },
                    message.clone(),
                ));
                requeue = sooner(requeue, FAILURE_RETRY);
            }
        }
    }
    summarize(&mut rollout);
    (rollout, revisions, events, requeue)
}
