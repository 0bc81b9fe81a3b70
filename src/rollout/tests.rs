//! The pipeline's decisions, row by row: stages, restarts, confirmation, retirement, and the
//! capability differences of the providers.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::lifecycle::{
    RevisionStage, RolloutStatus, Stage, WorkloadKind, WorkloadRollout, WorkloadSelector,
    WorkloadState,
};
use crate::provider::{Capabilities, RemoteVersion, SecretId, VersionStatus};

use super::pipeline::{
    Candidate, PipelineDecision, PipelineFact, PipelineInput, PipelinePlan, PipelineStep,
    RolloutIntent, needs_workloads, plan_pipeline, settle,
};
use super::retire::RetirementIntent;
use super::workload::{ObservedWorkload, WorkloadId};

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn scaleway() -> Capabilities {
    crate::provider::scaleway::CAPABILITIES
}

/// Thalassa: no disable, no descriptions, versions destroyed.
fn destroying() -> Capabilities {
    crate::provider::thalassa::CAPABILITIES
}

/// OCI: no disable, versions scheduled for deletion, the newest superseded one spared;
/// descriptions kept (in version names).
fn scheduling() -> Capabilities {
    crate::provider::oci::CAPABILITIES
}

fn rollout_intent() -> RolloutIntent {
    RolloutIntent {
        workloads: vec![WorkloadSelector {
            kind: WorkloadKind::Deployment,
            name: None,
            match_labels: Some([("app".to_string(), "api".to_string())].into()),
        }],
        discover: false,
        debounce: Duration::from_secs(10),
        progress_deadline: Duration::from_secs(600),
    }
}

fn retirement() -> RetirementIntent {
    RetirementIntent {
        grace: Duration::from_secs(3600),
        retention: Duration::from_secs(86400),
        max_enabled: None,
        include_unmanaged: false,
    }
}

fn id(kind: WorkloadKind, name: &str) -> WorkloadId {
    WorkloadId {
        kind,
        name: name.into(),
    }
}

fn workload(kind: WorkloadKind, name: &str) -> ObservedWorkload {
    ObservedWorkload {
        id: id(kind, name),
        generation: 6,
        created_at: Some(t(-100_000)),
        restart_value: Some("v1:old".into()),
        finished: true,
        labels: Default::default(),
        reads: vec![],
    }
}

fn candidate(w: ObservedWorkload, due: Option<Timestamp>) -> Candidate {
    Candidate {
        workload: w,
        restart_value: "v1:new".into(),
        due,
    }
}

fn entry(kind: WorkloadKind, name: &str, state: WorkloadState, since: i64) -> WorkloadRollout {
    WorkloadRollout {
        kind,
        name: name.into(),
        state,
        since: Time(t(since)),
        generation: (state != WorkloadState::Pending).then_some(6),
    }
}

fn rollout_status(
    revision: u32,
    mirrored: i64,
    confirmed: Option<i64>,
    workloads: Vec<WorkloadRollout>,
) -> RolloutStatus {
    RolloutStatus {
        revision,
        mirrored_at: Time(t(mirrored)),
        confirmed_at: confirmed.map(|c| Time(t(c))),
        summary: String::new(),
        workloads,
    }
}

fn stage(revision: u32, stage: Stage, since: i64) -> RevisionStage {
    RevisionStage {
        revision,
        stage,
        since: Time(t(since)),
    }
}

fn version(revision: u64, status: VersionStatus, keyward: bool) -> RemoteVersion {
    RemoteVersion {
        secret_id: SecretId::new("s-1"),
        revision,
        status,
        description: if keyward {
            format!("keyward:team/db:rotation:{revision:016x}")
        } else {
            "made in the console".into()
        },
        latest: false,
        created_at: None,
        updated_at: None,
        deletion_requested_at: None,
    }
}

struct Row<'a> {
    rollout: Option<&'a RolloutIntent>,
    retirement: Option<&'a RetirementIntent>,
    current: u32,
    status_rollout: Option<RolloutStatus>,
    revisions: Vec<RevisionStage>,
    candidates: Option<Vec<Candidate>>,
    versions: Option<Vec<RemoteVersion>>,
    managed: Vec<u32>,
    caps: Capabilities,
    now: Timestamp,
}

impl<'a> Row<'a> {
    fn new(current: u32, now: i64) -> Self {
        Row {
            rollout: None,
            retirement: None,
            current,
            status_rollout: None,
            revisions: vec![],
            candidates: None,
            versions: None,
            managed: vec![],
            caps: scaleway(),
            now: t(now),
        }
    }

    fn decide(&self) -> PipelineDecision {
        plan_pipeline(&PipelineInput {
            rollout: self.rollout,
            retirement: self.retirement,
            current: self.current,
            status_rollout: self.status_rollout.as_ref(),
            revisions: &self.revisions,
            candidates: self.candidates.as_deref(),
            versions: self.versions.as_deref(),
            managed_revisions: &self.managed,
            capabilities: self.caps,
            secret_id: "s-1",
            now: self.now,
        })
    }

    fn plan(&self) -> PipelinePlan {
        match self.decide() {
            PipelineDecision::Act(p) => p,
            PipelineDecision::NeedVersions => panic!("asked for versions"),
        }
    }
}

fn states(plan: &PipelinePlan) -> Vec<(String, WorkloadState)> {
    plan.rollout
        .workloads
        .iter()
        .map(|w| (w.name.clone(), w.state))
        .collect()
}

fn stages(plan: &PipelinePlan) -> Vec<(u32, Stage)> {
    plan.revisions
        .iter()
        .map(|r| (r.revision, r.stage))
        .collect()
}

const D: WorkloadKind = WorkloadKind::Deployment;

/// Revision 4 confirmed at 0, revision 3 superseded (created by Keyward or not), at the end of
/// an hour's grace period.
fn grace_just_over(retire: &RetirementIntent, previous_by_keyward: bool) -> Row<'_> {
    let mut row = Row::new(4, 3600);
    row.retirement = Some(retire);
    row.status_rollout = Some(rollout_status(4, 0, Some(0), vec![]));
    row.revisions = vec![stage(4, Stage::Current, 0), stage(3, Stage::Previous, 0)];
    row.versions = Some(vec![
        version(4, VersionStatus::Enabled, true),
        version(3, VersionStatus::Enabled, previous_by_keyward),
    ]);
    row
}

#[test]
fn the_first_revision_is_a_baseline_that_restarts_nothing() {
    let intent = rollout_intent();
    let mut row = Row::new(3, 0);
    row.rollout = Some(&intent);
    row.candidates = Some(vec![candidate(workload(D, "api"), None)]);
    let plan = row.plan();
    assert!(plan.steps.is_empty());
    assert_eq!(states(&plan), vec![("api".into(), WorkloadState::Complete)]);
    assert!(plan.rollout.confirmed_at.is_some());
    assert_eq!(stages(&plan), vec![(3, Stage::Current)]);
    assert!(plan.events.is_empty());
    assert_eq!(plan.rollout.summary, "1/1");
}

#[test]
fn a_new_revision_waits_for_the_debounce_then_restarts_each_workload_once() {
    let intent = rollout_intent();
    let before = rollout_status(
        3,
        -1000,
        Some(-990),
        vec![entry(D, "api", WorkloadState::Complete, -990)],
    );
    let mut row = Row::new(4, 0);
    row.rollout = Some(&intent);
    row.status_rollout = Some(before);
    row.revisions = vec![stage(3, Stage::Current, -1000)];
    row.candidates = Some(vec![
        candidate(workload(D, "api"), Some(t(10))),
        candidate(workload(D, "web"), Some(t(10))),
    ]);
    let waiting = row.plan();
    assert!(waiting.steps.is_empty(), "inside the debounce window");
    assert_eq!(waiting.requeue, Some(Duration::from_secs(10)));
    assert_eq!(
        states(&waiting),
        vec![
            ("api".into(), WorkloadState::Pending),
            ("web".into(), WorkloadState::Pending)
        ]
    );
    assert_eq!(
        stages(&waiting),
        vec![(4, Stage::Current), (3, Stage::Previous)]
    );
    assert!(waiting.rollout.confirmed_at.is_none());
    assert_eq!(waiting.rollout.summary, "0/2");

    // Ten seconds later, with the status the first reconcile wrote.
    let mut row = Row::new(4, 10);
    row.rollout = Some(&intent);
    row.status_rollout = Some(waiting.rollout.clone());
    row.revisions = waiting.revisions.clone();
    row.candidates = Some(vec![
        candidate(workload(D, "api"), Some(t(10))),
        candidate(workload(D, "web"), Some(t(10))),
    ]);
    let due = row.plan();
    assert_eq!(
        due.steps,
        vec![
            PipelineStep::Restart {
                workload: id(D, "api"),
                value: "v1:new".into()
            },
            PipelineStep::Restart {
                workload: id(D, "web"),
                value: "v1:new".into()
            },
        ]
    );
    assert_eq!(
        states(&due),
        vec![
            ("api".into(), WorkloadState::Progressing),
            ("web".into(), WorkloadState::Progressing)
        ]
    );
    assert_eq!(due.requeue, Some(super::pipeline::PROGRESS_POLL));
}

#[test]
fn a_workload_already_restarted_for_the_same_revisions_is_not_restarted_again() {
    let intent = rollout_intent();
    let mut w = workload(D, "api");
    w.restart_value = Some("v1:new".into());
    w.generation = 9;
    let mut row = Row::new(4, 20);
    row.rollout = Some(&intent);
    row.status_rollout = Some(rollout_status(
        4,
        0,
        None,
        vec![entry(D, "api", WorkloadState::Pending, 0)],
    ));
    row.candidates = Some(vec![candidate(w, Some(t(10)))]);
    let plan = row.plan();
    assert!(plan.steps.is_empty());
    assert_eq!(plan.rollout.workloads[0].state, WorkloadState::Progressing);
    assert_eq!(plan.rollout.workloads[0].generation, Some(9));
}

#[test]
fn a_workload_created_after_the_revision_reached_the_secret_already_runs_it() {
    let intent = rollout_intent();
    let mut fresh = workload(D, "new");
    fresh.created_at = Some(t(5));
    let mut row = Row::new(4, 20);
    row.rollout = Some(&intent);
    row.status_rollout = Some(rollout_status(
        4,
        0,
        None,
        vec![entry(D, "api", WorkloadState::Progressing, 10)],
    ));
    row.candidates = Some(vec![
        candidate(workload(D, "api"), None),
        candidate(fresh, None),
    ]);
    let plan = row.plan();
    assert!(plan.steps.is_empty());
    assert_eq!(
        states(&plan),
        vec![
            ("api".into(), WorkloadState::Complete),
            ("new".into(), WorkloadState::Complete)
        ]
    );
}

#[test]
fn the_rollout_is_confirmed_when_every_workload_finished() {
    let intent = rollout_intent();
    let mut rolling = workload(D, "web");
    rolling.finished = false;
    let status = rollout_status(
        4,
        0,
        None,
        vec![
            entry(D, "api", WorkloadState::Progressing, 10),
            entry(D, "web", WorkloadState::Progressing, 10),
        ],
    );
    let mut row = Row::new(4, 30);
    row.rollout = Some(&intent);
    row.status_rollout = Some(status.clone());
    row.candidates = Some(vec![
        candidate(workload(D, "api"), None),
        candidate(rolling.clone(), None),
    ]);
    let half = row.plan();
    assert_eq!(
        states(&half),
        vec![
            ("api".into(), WorkloadState::Complete),
            ("web".into(), WorkloadState::Progressing)
        ]
    );
    assert!(half.rollout.confirmed_at.is_none());
    assert_eq!(half.rollout.summary, "1/2");

    // A controller that has not yet seen the restart (its generation is behind) is not done.
    let mut behind = workload(D, "web");
    behind.generation = 5;
    let mut status_behind = half.rollout.clone();
    status_behind.workloads[1].generation = Some(6);
    row.status_rollout = Some(status_behind);
    row.candidates = Some(vec![
        candidate(workload(D, "api"), None),
        candidate(behind, None),
    ]);
    assert!(row.plan().rollout.confirmed_at.is_none());

    row.status_rollout = Some(half.rollout.clone());
    row.candidates = Some(vec![
        candidate(workload(D, "api"), None),
        candidate(workload(D, "web"), None),
    ]);
    row.now = t(40);
    let done = row.plan();
    assert_eq!(done.rollout.confirmed_at, Some(Time(t(40))));
    assert_eq!(done.rollout.summary, "2/2");
    assert_eq!(done.events.len(), 1);
    assert_eq!(done.events[0].reason, "RolledOut");
    assert!(done.events[0].note.contains("Deployment web"));
}

#[test]
fn a_rollout_that_never_finishes_stalls_with_a_warning_and_retires_nothing() {
    let intent = rollout_intent();
    let retire = retirement();
    let mut stuck = workload(D, "api");
    stuck.finished = false;
    let mut row = Row::new(4, 601);
    row.rollout = Some(&intent);
    row.retirement = Some(&retire);
    row.status_rollout = Some(rollout_status(
        4,
        0,
        None,
        vec![entry(D, "api", WorkloadState::Progressing, 0)],
    ));
    row.revisions = vec![stage(4, Stage::Current, 0), stage(3, Stage::Previous, 0)];
    row.candidates = Some(vec![candidate(stuck.clone(), None)]);
    let plan = row.plan();
    assert_eq!(plan.rollout.workloads[0].state, WorkloadState::Stalled);
    assert_eq!(plan.events.len(), 1);
    assert!(plan.events[0].warning);
    assert!(
        plan.events[0].note.contains("Deployment api"),
        "{}",
        plan.events[0].note
    );
    assert!(plan.steps.is_empty());

    // Days later, still stalled: no Event again, nothing retired, no versions listed.
    row.status_rollout = Some(plan.rollout.clone());
    row.now = t(10 * 86400);
    let later = row.plan();
    assert!(later.steps.is_empty());
    assert!(later.events.is_empty());
    assert_eq!(
        stages(&later),
        vec![(4, Stage::Current), (3, Stage::Previous)]
    );
    assert_eq!(later.requeue, Some(super::pipeline::STALLED_POLL));

    // It finishes: complete, confirmed, and retirement starts counting from then.
    row.candidates = Some(vec![candidate(workload(D, "api"), None)]);
    let resumed = row.plan();
    assert_eq!(resumed.rollout.workloads[0].state, WorkloadState::Complete);
    assert!(resumed.events.iter().any(|e| e.reason == "RolloutResumed"));
    assert_eq!(resumed.requeue, Some(Duration::from_secs(3600)));
}

#[test]
fn superseded_versions_are_disabled_after_the_grace_period_then_removed_after_retention() {
    let retire = retirement();
    // No rollout workloads: confirmed when the revision reached the Secret.
    let mut row = Row::new(4, 0);
    row.retirement = Some(&retire);
    row.status_rollout = Some(rollout_status(3, -5000, Some(-5000), vec![]));
    row.revisions = vec![stage(3, Stage::Current, -5000)];
    let fresh = row.plan();
    assert_eq!(fresh.rollout.confirmed_at, Some(Time(t(0))));
    assert_eq!(fresh.requeue, Some(Duration::from_secs(3600)));
    assert!(fresh.steps.is_empty());

    let mut row = Row::new(4, 3600);
    row.retirement = Some(&retire);
    row.status_rollout = Some(fresh.rollout.clone());
    row.revisions = fresh.revisions.clone();
    assert_eq!(row.decide(), PipelineDecision::NeedVersions);
    row.versions = Some(vec![
        version(4, VersionStatus::Enabled, true),
        version(3, VersionStatus::Enabled, true),
        version(2, VersionStatus::Enabled, true),
        version(1, VersionStatus::Disabled, true),
    ]);
    let disabled = row.plan();
    assert_eq!(
        disabled.steps,
        vec![PipelineStep::Disable(3), PipelineStep::Disable(2)]
    );
    assert_eq!(
        stages(&disabled),
        vec![
            (4, Stage::Current),
            (3, Stage::Disabled),
            (2, Stage::Disabled)
        ]
    );
    assert_eq!(
        disabled
            .events
            .iter()
            .filter(|e| e.reason == "Retired")
            .count(),
        2
    );
    assert_eq!(disabled.requeue, Some(Duration::from_secs(86400)));

    // Settled until the retention ends: no versions listed, nothing done.
    let mut row = Row::new(4, 3600 + 86399);
    row.retirement = Some(&retire);
    row.status_rollout = Some(disabled.rollout.clone());
    row.revisions = disabled.revisions.clone();
    let settled = row.plan();
    assert!(settled.steps.is_empty());
    assert_eq!(settled.requeue, Some(Duration::from_secs(1)));

    row.now = t(3600 + 86400);
    assert_eq!(row.decide(), PipelineDecision::NeedVersions);
    row.versions = Some(vec![
        version(4, VersionStatus::Enabled, true),
        version(3, VersionStatus::Disabled, true),
        version(2, VersionStatus::Enabled, true), // enabled again by someone
    ]);
    let removed = row.plan();
    assert_eq!(removed.steps, vec![PipelineStep::Remove(3)]);
    assert_eq!(
        stages(&removed),
        vec![(4, Stage::Current), (3, Stage::Deleted), (2, Stage::Kept)]
    );
    assert!(
        removed
            .events
            .iter()
            .any(|e| e.note.contains("deleted version 3"))
    );
    assert_eq!(removed.requeue, None, "nothing left to wait for");
}

#[test]
fn versions_keyward_did_not_create_are_kept_unless_included() {
    let retire = retirement();
    let mut row = grace_just_over(&retire, false);
    let kept = row.plan();
    assert!(kept.steps.is_empty());
    assert_eq!(stages(&kept), vec![(4, Stage::Current), (3, Stage::Kept)]);
    assert_eq!(kept.events.len(), 1);
    assert!(kept.events[0].note.contains("includeUnmanaged"));
    // Kept is settled: the next reconcile lists nothing.
    let mut again = Row::new(4, 7200);
    again.retirement = Some(&retire);
    again.status_rollout = Some(kept.rollout.clone());
    again.revisions = kept.revisions.clone();
    assert!(again.plan().steps.is_empty());

    let included = RetirementIntent {
        include_unmanaged: true,
        ..retire
    };
    row.retirement = Some(&included);
    assert_eq!(row.plan().steps, vec![PipelineStep::Disable(3)]);
}

#[test]
fn capability_rows_for_every_provider_retirement_step() {
    let retire = retirement();
    let versions = vec![
        version(2, VersionStatus::Enabled, true),
        version(1, VersionStatus::Enabled, true),
    ];
    let base = |caps: Capabilities, managed: Vec<u32>| {
        let mut row = Row::new(2, 3600);
        row.retirement = Some(&retire);
        row.status_rollout = Some(rollout_status(2, 0, Some(0), vec![]));
        row.revisions = vec![stage(2, Stage::Current, 0), stage(1, Stage::Previous, 0)];
        row.versions = Some(versions.clone());
        row.caps = caps;
        row.managed = managed;
        row.plan()
    };
    // Scaleway disables first.
    assert_eq!(
        base(scaleway(), vec![]).steps,
        vec![PipelineStep::Disable(1)]
    );
    // OCI cannot remove the version that was current before (PREVIOUS): it stays, and nothing
    // is due for it, so no listing either.
    let spared = base(scheduling(), vec![]);
    assert!(spared.steps.is_empty(), "{:?}", spared.steps);
    assert_eq!(
        stages(&spared),
        vec![(2, Stage::Current), (1, Stage::Previous)]
    );
    // A provider that cannot disable destroys at the end of the grace period, and without
    // version descriptions knows its own versions from status.managedRevisions.
    let destroyed = base(destroying(), vec![1, 2]);
    assert_eq!(destroyed.steps, vec![PipelineStep::Remove(1)]);
    assert_eq!(
        stages(&destroyed),
        vec![(2, Stage::Current), (1, Stage::Deleted)]
    );
    assert!(destroyed.events[0].note.starts_with("destroyed version 1"));
    let not_recorded = base(destroying(), vec![2]);
    assert!(not_recorded.steps.is_empty(), "revision 1 is not Keyward's");
    // OCI's removal is a scheduled deletion, of a version two rotations old (DEPRECATED) once
    // the grace period after the newest rotation ends; the one just superseded stays.
    let mut row = Row::new(3, 3600);
    row.retirement = Some(&retire);
    row.status_rollout = Some(rollout_status(3, 0, Some(0), vec![]));
    row.revisions = vec![
        stage(3, Stage::Current, 0),
        stage(2, Stage::Previous, 0),
        stage(1, Stage::Previous, -3600),
    ];
    row.versions = Some(vec![
        version(3, VersionStatus::Enabled, true),
        version(2, VersionStatus::Enabled, true),
        version(1, VersionStatus::Enabled, true),
    ]);
    row.caps = scheduling();
    let scheduled = row.plan();
    assert_eq!(scheduled.steps, vec![PipelineStep::Remove(1)]);
    assert_eq!(
        stages(&scheduled),
        vec![
            (3, Stage::Current),
            (2, Stage::Previous),
            (1, Stage::Deleted)
        ]
    );
    assert!(
        scheduled.events[0]
            .note
            .starts_with("scheduled for deletion version 1")
    );
    // Settled: the spared version makes nothing due and asks for no immediate requeue.
    let mut settled = Row::new(3, 7200);
    settled.retirement = Some(&retire);
    settled.status_rollout = Some(rollout_status(3, 0, Some(0), vec![]));
    settled.revisions = scheduled.revisions.clone();
    settled.caps = scheduling();
    // `plan` panics if the versions are asked for.
    let quiet = settled.plan();
    assert!(quiet.steps.is_empty());
    assert!(
        quiet.requeue.is_none_or(|d| d > Duration::ZERO),
        "{:?}",
        quiet.requeue
    );
}

#[test]
fn max_enabled_versions_disables_the_oldest_at_confirmation_but_never_the_newest_superseded() {
    let mut retire = retirement();
    retire.max_enabled = Some(2);
    let mut row = Row::new(5, 0);
    row.retirement = Some(&retire);
    row.status_rollout = Some(rollout_status(4, -100, Some(-100), vec![]));
    row.revisions = vec![stage(4, Stage::Current, -100)];
    assert_eq!(row.decide(), PipelineDecision::NeedVersions);
    row.versions = Some(
        (1..=5)
            .rev()
            .map(|r| version(r, VersionStatus::Enabled, true))
            .collect(),
    );
    let plan = row.plan();
    assert_eq!(
        plan.steps,
        vec![
            PipelineStep::Disable(3),
            PipelineStep::Disable(2),
            PipelineStep::Disable(1)
        ]
    );
    assert_eq!(
        stages(&plan)[..2],
        [(5, Stage::Current), (4, Stage::Previous)]
    );
}

#[test]
fn the_current_version_is_never_retired_whatever_the_inputs() {
    let caps_all = [scaleway(), destroying(), scheduling()];
    for caps in caps_all {
        for include_unmanaged in [false, true] {
            for max_enabled in [None, Some(2), Some(3)] {
                for now in [0, 3600, 3600 + 86400, 10 * 86400] {
                    let retire = RetirementIntent {
                        grace: Duration::from_secs(3600),
                        retention: Duration::from_secs(86400),
                        max_enabled,
                        include_unmanaged,
                    };
                    let mut row = Row::new(3, now);
                    row.retirement = Some(&retire);
                    row.caps = caps;
                    row.managed = vec![1, 2, 3];
                    row.status_rollout = Some(rollout_status(3, 0, Some(0), vec![]));
                    row.revisions = vec![
                        stage(3, Stage::Current, 0),
                        stage(2, Stage::Previous, 0),
                        stage(1, Stage::Disabled, 0),
                    ];
                    row.versions = Some(vec![
                        version(4, VersionStatus::Enabled, true), // newer, not yet mirrored
                        version(3, VersionStatus::Enabled, true),
                        version(2, VersionStatus::Enabled, true),
                        version(1, VersionStatus::Disabled, true),
                    ]);
                    let plan = row.plan();
                    for step in &plan.steps {
                        let r = match step {
                            PipelineStep::Disable(r) | PipelineStep::Remove(r) => *r,
                            PipelineStep::Restart { .. } => continue,
                        };
                        assert!(r < 3, "{step:?} at {now} with {caps:?}");
                    }
                    assert!(
                        plan.revisions
                            .iter()
                            .any(|r| r.revision == 3 && r.stage == Stage::Current)
                    );
                }
            }
        }
    }
}

#[test]
fn deferred_restarts_wait_and_failed_retirements_keep_their_stage() {
    let intent = rollout_intent();
    let retire = retirement();
    let mut row = Row::new(4, 3600);
    row.rollout = Some(&intent);
    row.retirement = Some(&retire);
    let before_rollout =
        rollout_status(4, 0, None, vec![entry(D, "api", WorkloadState::Pending, 0)]);
    row.status_rollout = Some(before_rollout.clone());
    row.revisions = vec![stage(4, Stage::Current, 0), stage(3, Stage::Previous, 0)];
    row.candidates = Some(vec![candidate(workload(D, "api"), None)]);
    let plan = row.plan();
    assert_eq!(plan.steps.len(), 1);
    let (rollout, revisions, events, requeue) = settle(
        &plan,
        &row.revisions,
        Some(&before_rollout),
        &[PipelineFact::Deferred {
            workload: id(D, "api"),
            wait: Duration::from_secs(42),
        }],
    );
    assert_eq!(rollout.workloads[0].state, WorkloadState::Pending);
    assert_eq!(
        requeue,
        Some(Duration::from_secs(5)).min(Some(Duration::from_secs(42)))
    );
    assert!(events.is_empty());
    assert_eq!(revisions, plan.revisions);

    // A disable that fails leaves the version Previous and says so once.
    let row = grace_just_over(&retire, true);
    let plan = row.plan();
    let (_, revisions, events, requeue) = settle(
        &plan,
        &row.revisions,
        row.status_rollout.as_ref(),
        &[PipelineFact::Failed {
            step: PipelineStep::Disable(3),
            message: "could not disable version 3".into(),
        }],
    );
    assert_eq!(revisions, row.revisions);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].warning);
    assert_eq!(requeue, Some(super::pipeline::FAILURE_RETRY));
}

#[test]
fn workloads_are_read_only_while_a_rollout_is_open() {
    let intent = rollout_intent();
    let confirmed = rollout_status(4, 0, Some(10), vec![]);
    let open = rollout_status(4, 0, None, vec![]);
    assert!(!needs_workloads(None, None, 4));
    assert!(needs_workloads(Some(&intent), None, 4));
    assert!(!needs_workloads(Some(&intent), Some(&confirmed), 4));
    assert!(needs_workloads(Some(&intent), Some(&confirmed), 5));
    assert!(needs_workloads(Some(&intent), Some(&open), 4));
}

#[test]
fn a_settled_pipeline_plans_nothing_and_lists_nothing() {
    let intent = rollout_intent();
    let retire = retirement();
    let mut row = Row::new(4, 100_000);
    row.rollout = Some(&intent);
    row.retirement = Some(&retire);
    row.status_rollout = Some(rollout_status(
        4,
        0,
        Some(10),
        vec![entry(D, "api", WorkloadState::Complete, 10)],
    ));
    row.revisions = vec![
        stage(4, Stage::Current, 0),
        stage(3, Stage::Deleted, 90_000),
    ];
    let plan = row.plan();
    assert!(plan.steps.is_empty());
    assert!(plan.events.is_empty());
    assert_eq!(plan.requeue, None);
    let mut expected = row.status_rollout.clone().unwrap();
    expected.summary = "1/1".into();
    assert_eq!(plan.rollout, expected, "only the summary is filled in");
    assert_eq!(plan.revisions, row.revisions);
}
