//! From a plan and what the executor did to the whole new status, the Events, and when to look
//! again. Pure: the reconcile writes the status only when it differs from the one it read, so a
//! reconcile that changes nothing writes nothing and cannot wake itself; a failure that repeats
//! keeps its message (no request ids, no delays in it), so it rewrites nothing and emits no second
//! Event; and its next attempt follows [`backoff`](super::backoff).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::conditions::{DesiredCondition, READY, Reason, find, merge_condition};
use crate::api::{ManagedSecretStatus, OperationCause, OperationKind, PendingOperation};
use crate::provider::{ErrorKind, ProviderError, SecretId};

use super::Plan;
use super::backoff::{Pace, next_attempt};
use crate::controller::events::EventNote;

/// How many revisions Keyward remembers creating (status.managedRevisions).
pub const MANAGED_REVISIONS_KEPT: usize = 32;

/// Why a reconcile stopped short.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
    pub pace: FailurePace,
}

/// A real failure, or a turn in the store's budget (not a failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePace {
    Retry(Pace),
    /// Keyward's own budget for the store had no turn soon enough: come back after this.
    WaitForBudget(Duration),
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>, pace: Pace) -> Self {
        Self {
            reason,
            message: message.into(),
            pace: FailurePace::Retry(pace),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Reason::InvalidSpec, message, Pace::Persistent)
    }
}

/// The reason and pace of a provider error.
pub fn provider_failure(err: &ProviderError) -> Failure {
    let (reason, pace) = match err.kind() {
        ErrorKind::Throttled { retry_after } => {
            return Failure {
                reason: Reason::Reconciling,
                message: err.condition_message(),
                pace: FailurePace::WaitForBudget(*retry_after),
            };
        }
        ErrorKind::RateLimited { retry_after } => (
            Reason::RateLimited,
            Pace::ProviderAsked(retry_after.unwrap_or(Duration::from_secs(30))),
        ),
        ErrorKind::Unauthorized => (Reason::AuthFailed, Pace::Persistent),
        ErrorKind::Forbidden => (Reason::PermissionDenied, Pace::Persistent),
        ErrorKind::KeyUnavailable => (Reason::KeyUnavailable, Pace::Persistent),
        ErrorKind::Protected => (Reason::Protected, Pace::Persistent),
        ErrorKind::NotFound => (Reason::RemoteNotFound, Pace::Temporary),
        ErrorKind::Conflict => (Reason::Conflict, Pace::Persistent),
        ErrorKind::InvalidArgument { .. } => (Reason::InvalidArgument, Pace::Persistent),
        ErrorKind::QuotaExceeded | ErrorKind::Unsupported | ErrorKind::VersionUnreadable => {
            (Reason::ProviderError, Pace::Persistent)
        }
        _ => (Reason::ProviderError, Pace::Temporary),
    };
    Failure::new(reason, err.condition_message(), pace)
}

/// What one executed step did.
#[derive(Clone, Debug, PartialEq)]
pub enum Done {
    SecretCreated {
        id: SecretId,
        /// `folder/name`, for the Event.
        place: String,
    },
    /// Written to status before the remote write (the executor made that write).
    PendingRecorded(PendingOperation),
    PendingCleared,
    VersionCreated {
        revision: u64,
        cause: OperationCause,
        request: Option<String>,
    },
    /// A retry found its earlier write.
    VersionFound {
        revision: u64,
        request: Option<String>,
    },
    TargetApplied {
        revision: u64,
        name: String,
        drift_repair: bool,
    },
}

/// What the executor did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub done: Vec<Done>,
    /// The step that failed (its action) and why.
    pub failure: Option<(&'static str, Failure)>,
}

/// What a reconcile writes and when it looks again.
#[derive(Clone, Debug, PartialEq)]
pub struct Conclusion {
    pub status: ManagedSecretStatus,
    pub events: Vec<EventNote>,
    pub requeue: Duration,
}

/// The facts a conclusion needs besides the plan.
#[derive(Clone, Debug)]
pub struct Report<'a> {
    pub generation: Option<i64>,
    pub target_name: &'a str,
    /// The status as read at the start of the reconcile.
    pub status: &'a ManagedSecretStatus,
    /// The store, for "waiting for its budget" messages.
    pub store: &'a str,
    pub region: Option<&'a str>,
    pub now: Timestamp,
    /// In [0, 1): spreads requeues.
    pub random: f64,
}

/// The status with the operation recorded as pending, as written before the remote write.
pub fn with_pending(
    status: &ManagedSecretStatus,
    token: &str,
    cause: OperationCause,
    value_digest: Option<String>,
    now: Timestamp,
) -> (ManagedSecretStatus, PendingOperation) {
    let operation = PendingOperation {
        token: token.to_owned(),
        kind: OperationKind::CreateVersion,
        cause,
        started_at: Time(now),
        value_digest,
    };
    let mut status = status.clone();
    status.pending_operation = Some(operation.clone());
    (status, operation)
}

/// A failure found before planning (spec, store, observation): nothing was done.
pub fn conclude_stop(report: &Report<'_>, failure: &Failure) -> Conclusion {
    let mut status = report.status.clone();
    let events = fail(report, &mut status, "Reconcile", failure);
    let requeue = failure_requeue(report, &status, failure);
    Conclusion {
        status,
        events,
        requeue,
    }
}

/// The conclusion of an executed plan. `fingerprint` is the remote secret's after the steps
/// (recorded so that a later reconcile can tell nothing changed remotely).
pub fn conclude(
    report: &Report<'_>,
    plan: &Plan,
    outcome: &Outcome,
    fingerprint: Option<String>,
) -> Conclusion {
    let mut status = report.status.clone();
    let mut events = Vec::new();
    let secret_id = plan
        .notes
        .secret_id
        .clone()
        .or_else(|| created_id(&outcome.done));
    for done in &outcome.done {
        apply_fact(&mut status, done, report.now);
        if let Some(note) = fact_event(done, secret_id.as_ref()) {
            events.push(note);
        }
    }
    if let Some(id) = &secret_id {
        status.secret_id = Some(id.0.clone());
    }
    if let Some(region) = report.region {
        status.region = Some(region.to_owned());
    }
    if let Some((action, failure)) = &outcome.failure {
        events.extend(fail(report, &mut status, action, failure));
        let requeue = failure_requeue(report, &status, failure);
        return Conclusion {
            status,
            events,
            requeue,
        };
    }

    status.observed_generation = report.generation;
    status.next_rotation_time = plan.notes.next_rotation.map(Time);
    if let Some(n) = plan.notes.mirrored_revision {
        let n = Some(u32::try_from(n).unwrap_or(u32::MAX));
        // Only a change moves lastSyncTime: a status that stays the same is what lets a
        // reconcile settle.
        if status.current_revision != n || status.last_sync_time.is_none() {
            status.last_sync_time = Some(Time(report.now));
        }
        status.current_revision = n;
        status.target_name = Some(report.target_name.to_owned());
    }
    if plan.notes.handled_force_sync.is_some() {
        status.handled_force_sync = plan.notes.handled_force_sync.clone();
    }
    if let Some(r) = &plan.notes.handled_rotate_request {
        status.handled_rotate_request = Some(r.clone());
    }
    if plan.notes.source_digest.is_some() {
        status.source_digest = plan.notes.source_digest.clone();
    }
    if fingerprint.is_some() {
        status.remote_fingerprint = fingerprint;
    }
    let mut ready = plan.ready.clone();
    if let (Some(rev), Some(id)) = (status.current_revision, &status.secret_id)
        && ready.reason == Reason::Synced
    {
        ready.message = format!(
            "revision {rev} of remote secret {id} mirrored into Secret {}",
            report.target_name
        );
    }
    let was = ready_of(report.status);
    let failing = ready.status != crate::api::conditions::ConditionStatus::True;
    status.conditions = merge_condition(&status.conditions, ready.clone(), report.now);
    let requeue = if failing {
        // Waiting on something outside Keyward (a first version, a Secret to merge into).
        let pace = Failure::new(ready.reason, ready.message.clone(), Pace::Temporary);
        if was != Some((ready.reason.as_str().to_owned(), ready.message.clone())) {
            events.push(EventNote::normal(
                "Waiting",
                "Reconcile",
                format!("{}: {}", ready.reason, ready.message),
            ));
        }
        failure_requeue(report, &status, &pace).min(plan.requeue_after.max(Duration::from_secs(1)))
    } else {
        plan.requeue_after
    };
    Conclusion {
        status,
        events,
        requeue,
    }
}

fn created_id(done: &[Done]) -> Option<SecretId> {
    done.iter().find_map(|d| match d {
        Done::SecretCreated { id, .. } => Some(id.clone()),
        _ => None,
    })
}

fn apply_fact(status: &mut ManagedSecretStatus, done: &Done, now: Timestamp) {
    match done {
        Done::SecretCreated { id, .. } => status.secret_id = Some(id.0.clone()),
        Done::PendingRecorded(operation) => status.pending_operation = Some(operation.clone()),
        Done::PendingCleared => status.pending_operation = None,
        Done::VersionCreated {
            revision, request, ..
        }
        | Done::VersionFound { revision, request } => {
            status.pending_operation = None;
            let revision = u32::try_from(*revision).unwrap_or(u32::MAX);
            if !status.managed_revisions.contains(&revision) {
                status.managed_revisions.push(revision);
            }
            let excess = status
                .managed_revisions
                .len()
                .saturating_sub(MANAGED_REVISIONS_KEPT);
            status.managed_revisions.drain(..excess);
            status.last_rotation_time = Some(Time(now));
            if let Some(request) = request {
                status.handled_rotate_request = Some(request.clone());
            }
        }
        Done::TargetApplied { revision, name, .. } => {
            status.current_revision = Some(u32::try_from(*revision).unwrap_or(u32::MAX));
            status.target_name = Some(name.clone());
            status.last_sync_time = Some(Time(now));
        }
    }
}

/// The Event a fact deserves: what happened to which revision.
fn fact_event(done: &Done, id: Option<&SecretId>) -> Option<EventNote> {
    let id = id.map(|i| i.0.as_str()).unwrap_or("?");
    match done {
        Done::SecretCreated { id, place } => Some(EventNote::normal(
            "Created",
            "CreateSecret",
            format!("created remote secret {id} ({place})"),
        )),
        Done::VersionCreated {
            revision, cause, ..
        } => Some(version_event(*cause, *revision, id)),
        Done::TargetApplied {
            revision,
            name,
            drift_repair: true,
        } => Some(EventNote::normal(
            "DriftRepaired",
            "ApplyTarget",
            format!("Secret {name} had been changed; restored revision {revision}"),
        )),
        Done::TargetApplied {
            revision,
            name,
            drift_repair: false,
        } => Some(EventNote::normal(
            "Mirrored",
            "ApplyTarget",
            format!("mirrored revision {revision} into Secret {name}"),
        )),
        Done::PendingRecorded(_) | Done::PendingCleared | Done::VersionFound { .. } => None,
    }
}

fn version_event(cause: OperationCause, revision: u64, id: &str) -> EventNote {
    match cause {
        OperationCause::Initial => EventNote::normal(
            "Created",
            "CreateVersion",
            format!("created version {revision} of remote secret {id} from the source"),
        ),
        OperationCause::Rotation => EventNote::normal(
            "Rotated",
            "CreateVersion",
            format!("rotated on schedule: version {revision} of remote secret {id}"),
        ),
        OperationCause::Request => EventNote::normal(
            "Rotated",
            "CreateVersion",
            format!(
                "rotated on request (keyward.dev/rotate): version {revision} of remote secret {id}"
            ),
        ),
        OperationCause::Push => EventNote::normal(
            "Pushed",
            "CreateVersion",
            format!("pushed the source Secret as version {revision} of remote secret {id}"),
        ),
    }
}

fn ready_of(status: &ManagedSecretStatus) -> Option<(String, String)> {
    find(&status.conditions, READY).map(|c| (c.reason.clone(), c.message.clone()))
}

/// Sets the Ready condition for `failure` and returns the Event it deserves.
fn fail(
    report: &Report<'_>,
    status: &mut ManagedSecretStatus,
    action: &'static str,
    failure: &Failure,
) -> Vec<EventNote> {
    let failing = Failing {
        before: &report.status.conditions,
        generation: report.generation,
        store: report.store,
        now: report.now,
        random: report.random,
    };
    failing.fail(&mut status.conditions, action, failure)
}

fn failure_requeue(
    report: &Report<'_>,
    status: &ManagedSecretStatus,
    failure: &Failure,
) -> Duration {
    Failing {
        before: &report.status.conditions,
        generation: report.generation,
        store: report.store,
        now: report.now,
        random: report.random,
    }
    .requeue(&status.conditions, failure)
}

/// The failure discipline of any object with a Ready condition (ManagedSecrets, ManagedKeys): one
/// Event when the object starts failing for a reason (or still fails after a spec change), the
/// same condition while the failure repeats, and the next attempt paced by its backoff.
#[derive(Clone, Copy, Debug)]
pub struct Failing<'a> {
    /// The conditions as read at the start of the reconcile.
    pub before: &'a [Condition],
    pub generation: Option<i64>,
    /// The store, for "waiting for its budget" messages.
    pub store: &'a str,
    pub now: Timestamp,
    /// In [0, 1): spreads requeues.
    pub random: f64,
}

impl Failing<'_> {
    /// Sets the Ready condition in `conditions` for `failure` and returns the Event it deserves.
    /// The message may change wording between attempts (the store's probe and the object's own
    /// call report one outage in two ways); that updates the condition, not the Events.
    pub fn fail(
        &self,
        conditions: &mut Vec<Condition>,
        action: &'static str,
        failure: &Failure,
    ) -> Vec<EventNote> {
        if let FailurePace::WaitForBudget(_) = failure.pace {
            // Waiting for a turn is not a failure: the condition stays, unless there is none yet.
            if find(conditions, READY).is_none() {
                *conditions = merge_condition(
                    conditions,
                    DesiredCondition::not_ready(
                        Reason::Reconciling,
                        format!("waiting for the request budget of {}", self.store),
                        self.generation,
                    ),
                    self.now,
                );
            }
            return Vec::new();
        }
        let was = find(self.before, READY)
            .filter(|c| c.status == crate::api::conditions::FALSE)
            .map(|c| (c.reason.clone(), c.observed_generation));
        *conditions = merge_condition(
            conditions,
            DesiredCondition::not_ready(failure.reason, failure.message.clone(), self.generation),
            self.now,
        );
        if was == Some((failure.reason.as_str().to_owned(), self.generation)) {
            return Vec::new();
        }
        vec![EventNote::warning(
            "Failed",
            action,
            format!("{}: {}", failure.reason, failure.message),
        )]
    }

    /// When to try again, given the conditions after [`Failing::fail`].
    pub fn requeue(&self, conditions: &[Condition], failure: &Failure) -> Duration {
        match failure.pace {
            FailurePace::WaitForBudget(wait) => {
                // Spread the returns over as long again, so waiting objects do not come back at once.
                wait + wait.mul_f64(self.random.clamp(0.0, 1.0)) + Duration::from_millis(100)
            }
            FailurePace::Retry(pace) => {
                let since = find(conditions, READY)
                    .filter(|c| c.status == crate::api::conditions::FALSE)
                    .map(|c| c.last_transition_time.0)
                    .unwrap_or(self.now);
                next_attempt(pace, since, self.now, self.random)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::ConditionStatus;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn report(status: &ManagedSecretStatus, at: i64) -> Report<'_> {
        Report {
            generation: Some(2),
            target_name: "db",
            status,
            store: "SecretStore team/emu",
            region: Some("fr-par"),
            now: t(at),
            random: 0.5,
        }
    }

    fn key_unavailable() -> Failure {
        Failure::new(
            Reason::KeyUnavailable,
            "scaleway create_version: KeyUnavailable: key disabled [HTTP 400]",
            Pace::Persistent,
        )
    }

    #[test]
    fn a_repeated_failure_changes_nothing_and_slows_down() {
        let start = ManagedSecretStatus::default();
        let first = conclude_stop(&report(&start, 0), &key_unavailable());
        assert_eq!(first.events.len(), 1, "the first failure is told");
        assert_eq!(first.requeue, Duration::from_secs(30));
        let second = conclude_stop(&report(&first.status, 30), &key_unavailable());
        assert_eq!(
            second.status, first.status,
            "no status write the second time"
        );
        assert!(second.events.is_empty(), "no second Event");
        assert_eq!(second.requeue, Duration::from_secs(30));
        let later = conclude_stop(&report(&first.status, 240), &key_unavailable());
        assert_eq!(later.requeue, Duration::from_secs(240));
        // The same outage worded another way updates the message, and is no news.
        let reworded = Failure::new(
            Reason::KeyUnavailable,
            "SecretStore team/emu: scaleway list_versions: KeyUnavailable [HTTP 400]",
            Pace::Persistent,
        );
        let again = conclude_stop(&report(&first.status, 60), &reworded);
        assert!(again.events.is_empty(), "no Event for a new wording");
        assert_eq!(
            find(&again.status.conditions, READY).unwrap().message,
            reworded.message
        );
        // A spec change that still fails for the same reason is told.
        let mut edited = report(&first.status, 90);
        edited.generation = Some(3);
        assert_eq!(conclude_stop(&edited, &key_unavailable()).events.len(), 1);
        // Another reason is news again.
        let other = Failure::new(Reason::AuthFailed, "refused", Pace::Persistent);
        let changed = conclude_stop(&report(&first.status, 300), &other);
        assert_eq!(changed.events.len(), 1);
        assert_eq!(
            find(&changed.status.conditions, READY)
                .unwrap()
                .last_transition_time,
            Time(t(0)),
            "still failing since the first failure"
        );
    }

    #[test]
    fn waiting_for_the_budget_is_not_a_failure() {
        let wait = Failure {
            reason: Reason::Reconciling,
            message: "budget".into(),
            pace: FailurePace::WaitForBudget(Duration::from_secs(4)),
        };
        let fresh = conclude_stop(&report(&ManagedSecretStatus::default(), 0), &wait);
        let ready = find(&fresh.status.conditions, READY).unwrap();
        assert_eq!(ready.reason, "Reconciling");
        assert!(
            ready
                .message
                .contains("request budget of SecretStore team/emu")
        );
        assert!(fresh.events.is_empty());
        assert_eq!(fresh.requeue, Duration::from_millis(6100));
        // An object that was Ready stays Ready while it waits its turn.
        let synced = ManagedSecretStatus {
            conditions: merge_condition(
                &[],
                DesiredCondition::ready(Reason::Synced, "ok", Some(2)),
                t(0),
            ),
            ..Default::default()
        };
        let waiting = conclude_stop(&report(&synced, 5), &wait);
        assert_eq!(waiting.status, synced);
    }

    #[test]
    fn every_fact_becomes_status_and_an_event_naming_its_revision() {
        let status = ManagedSecretStatus {
            current_revision: Some(1),
            managed_revisions: vec![1],
            ..Default::default()
        };
        let plan = Plan {
            steps: vec![],
            ready: DesiredCondition::ready(Reason::Synced, "ok", Some(2)),
            requeue_after: Duration::from_secs(90),
            notes: super::super::PlanNotes {
                secret_id: Some(SecretId::new("s-1")),
                ..Default::default()
            },
        };
        let outcome = Outcome {
            done: vec![
                Done::VersionCreated {
                    revision: 2,
                    cause: OperationCause::Request,
                    request: Some("r2".into()),
                },
                Done::TargetApplied {
                    revision: 2,
                    name: "db".into(),
                    drift_repair: false,
                },
            ],
            failure: None,
        };
        let c = conclude(&report(&status, 10), &plan, &outcome, Some("v2-abc".into()));
        assert_eq!(c.status.current_revision, Some(2));
        assert_eq!(c.status.managed_revisions, vec![1, 2]);
        assert_eq!(c.status.handled_rotate_request.as_deref(), Some("r2"));
        assert_eq!(c.status.observed_generation, Some(2));
        assert_eq!(c.status.remote_fingerprint.as_deref(), Some("v2-abc"));
        assert_eq!(c.status.secret_id.as_deref(), Some("s-1"));
        let ready = find(&c.status.conditions, READY).unwrap();
        assert_eq!(ready.status, ConditionStatus::True.as_str());
        assert_eq!(
            ready.message,
            "revision 2 of remote secret s-1 mirrored into Secret db"
        );
        let notes: Vec<_> = c.events.iter().map(|e| e.note.as_str()).collect();
        assert_eq!(
            notes,
            [
                "rotated on request (keyward.dev/rotate): version 2 of remote secret s-1",
                "mirrored revision 2 into Secret db"
            ]
        );
        assert_eq!(c.requeue, Duration::from_secs(90));
        // The same plan concluded again with nothing done changes nothing.
        let again = conclude(
            &report(&c.status, 20),
            &Plan {
                notes: super::super::PlanNotes {
                    secret_id: Some(SecretId::new("s-1")),
                    mirrored_revision: Some(2),
                    ..Default::default()
                },
                ..plan.clone()
            },
            &Outcome::default(),
            Some("v2-abc".into()),
        );
        assert_eq!(again.status, c.status);
        assert!(again.events.is_empty());
    }

    #[test]
    fn a_failed_step_keeps_the_progress_made_and_does_not_claim_the_generation() {
        let status = ManagedSecretStatus {
            observed_generation: Some(1),
            ..Default::default()
        };
        let plan = Plan {
            steps: vec![],
            ready: DesiredCondition::ready(Reason::Synced, "ok", Some(2)),
            requeue_after: Duration::MAX,
            notes: Default::default(),
        };
        let outcome = Outcome {
            done: vec![Done::SecretCreated {
                id: SecretId::new("s-9"),
                place: "/db".into(),
            }],
            failure: Some(("CreateVersion", key_unavailable())),
        };
        let c = conclude(&report(&status, 0), &plan, &outcome, None);
        assert_eq!(c.status.secret_id.as_deref(), Some("s-9"));
        assert_eq!(
            c.status.observed_generation,
            Some(1),
            "the new spec is not done yet"
        );
        assert_eq!(c.events.len(), 2, "created, then failed");
        assert_eq!(c.events[1].action, "CreateVersion");
        assert!(c.events[1].warning);
    }

    #[test]
    fn provider_errors_map_to_reasons_and_paces() {
        let err = |kind| ProviderError::new("scaleway", "create_version", kind, "boom");
        let rows = [
            (
                ErrorKind::Unauthorized,
                Reason::AuthFailed,
                FailurePace::Retry(Pace::Persistent),
            ),
            (
                ErrorKind::KeyUnavailable,
                Reason::KeyUnavailable,
                FailurePace::Retry(Pace::Persistent),
            ),
            (
                ErrorKind::ServerError,
                Reason::ProviderError,
                FailurePace::Retry(Pace::Temporary),
            ),
            (
                ErrorKind::RateLimited {
                    retry_after: Some(Duration::from_secs(7)),
                },
                Reason::RateLimited,
                FailurePace::Retry(Pace::ProviderAsked(Duration::from_secs(7))),
            ),
            (
                ErrorKind::Throttled {
                    retry_after: Duration::from_secs(3),
                },
                Reason::Reconciling,
                FailurePace::WaitForBudget(Duration::from_secs(3)),
            ),
            (
                ErrorKind::InvalidArgument { details: vec![] },
                Reason::InvalidArgument,
                FailurePace::Retry(Pace::Persistent),
            ),
            (
                ErrorKind::NotFound,
                Reason::RemoteNotFound,
                FailurePace::Retry(Pace::Temporary),
            ),
        ];
        for (kind, reason, pace) in rows {
            let f = provider_failure(&err(kind.clone()));
            assert_eq!((f.reason, f.pace), (reason, pace), "{kind:?}");
            assert!(f.message.contains("create_version"));
        }
    }
}
