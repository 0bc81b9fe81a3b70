//! What a ManagedKey reconcile does, as a pure function of the intent, the status, the key as the
//! provider reports it, and `now`; and the status the executed steps leave. No I/O, no clock.
//!
//! Rules:
//! 1. A rotation announced in status (`pendingRotation`) is settled first: if the key's current
//!    version moved away from the one before the write, the write landed and is recorded; else the
//!    same write is repeated with the same token (the provider's retry token answers a repeat
//!    with the first result), so a crash at any point never makes a second version.
//! 2. Only an `ENABLED` key rotates; any other state is `KeyUnavailable` (or, in a transition
//!    the provider finishes by itself, a temporary `ProviderError`), paced by the backoff.
//! 3. Due means: a new `keyward.dev/rotate` value, or the schedule's next time after the current
//!    key version's creation has come. The token is derived from the due instant (or the
//!    annotation value), so one due time is one token: exactly one version per due time.
//! 4. With `spec.retirement`, key versions Keyward created beyond the newest `keepVersions` are
//!    scheduled for deletion, never the current one, and never while a rotation is in flight.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sha2::{Digest, Sha256};

use crate::api::conditions::{DesiredCondition, Reason, merge_condition};
use crate::api::{KeyVersionRecord, ManagedKeyStatus, OperationCause, PendingRotation};
use crate::controller::events::EventNote;
use crate::controller::plan::backoff::Pace;
use crate::controller::plan::conclude::Failure;
use crate::provider::keys::{KeyState, RemoteKey, RemoteKeyVersion};
use crate::rotation::{ManualTrigger, NextDue, manual_trigger, until_due};

/// Key versions Keyward remembers creating.
pub const KEY_VERSIONS_KEPT: usize = 50;

/// `spec.retirement`, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRetirement {
    pub keep: usize,
    pub delay: Duration,
}

/// A ManagedKey's spec, resolved and checked.
pub struct KeyIntent {
    /// `namespace/name`, in tokens and messages.
    pub object: String,
    pub key_id: String,
    pub schedule: Option<Box<dyn NextDue + Send + Sync>>,
    /// The `keyward.dev/rotate` annotation.
    pub request: Option<String>,
    /// The `keyward.dev/force-sync` annotation.
    pub force_sync: Option<String>,
    pub refresh: Duration,
    pub retirement: Option<KeyRetirement>,
    pub generation: Option<i64>,
}

/// What one reconcile saw.
#[derive(Clone, Copy)]
pub struct KeyPlanInput<'a> {
    pub intent: &'a KeyIntent,
    pub status: &'a ManagedKeyStatus,
    pub key: &'a RemoteKey,
    /// Creation time of the key's current version (from status while it is the recorded one,
    /// else read once).
    pub current_created: Option<Timestamp>,
    pub now: Timestamp,
}

/// A step for the executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStep {
    /// Record the rotation as pending in status (unless it already is), then create the version.
    Rotate(PendingRotation),
    ScheduleDeletion {
        version: String,
        at: Timestamp,
    },
}

impl KeyStep {
    /// The step's name, as the operator logs it and `keyward plan` prints it.
    pub fn action(&self) -> &'static str {
        match self {
            KeyStep::Rotate(_) => "CreateKeyVersion",
            KeyStep::ScheduleDeletion { .. } => "ScheduleKeyVersionDeletion",
        }
    }
}

/// The plan: the status to hold before the steps, the steps, and what to say.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPlan {
    pub status: ManagedKeyStatus,
    pub steps: Vec<KeyStep>,
    pub events: Vec<EventNote>,
    /// Why the key cannot rotate now (the status then reports it).
    pub failure: Option<Failure>,
}

/// What an executed step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyFact {
    Rotated {
        pending: PendingRotation,
        version: RemoteKeyVersion,
    },
    DeletionScheduled {
        version: String,
        at: Timestamp,
    },
}

fn time(t: Timestamp) -> Time {
    Time(t)
}

/// The token of a rotation for `cause`, identified by `trigger` (the due instant or the request).
pub fn rotation_token(object: &str, cause: OperationCause, trigger: &str) -> String {
    let cause = match cause {
        OperationCause::Request => "request",
        _ => "rotation",
    };
    let digest = Sha256::digest(trigger.as_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("keyward:{object}:key-{cause}:{short}")
}

/// The rotation due now, if any: `(cause, trigger, request)`. `status` is the one the plan
/// holds so far (a rotation just settled counts as handled).
fn due_rotation(
    input: &KeyPlanInput<'_>,
    status: &ManagedKeyStatus,
) -> Option<(OperationCause, String, Option<String>)> {
    if let ManualTrigger::Requested { token } = manual_trigger(
        input.intent.request.as_deref(),
        status.handled_rotate_request.as_deref(),
    ) {
        return Some((OperationCause::Request, token.clone(), Some(token)));
    }
    let due = next_due(input, status)?;
    (input.now >= due).then(|| (OperationCause::Rotation, due.as_second().to_string(), None))
}

/// When the schedule is next due, counted from the current key version's creation.
fn next_due(input: &KeyPlanInput<'_>, status: &ManagedKeyStatus) -> Option<Timestamp> {
    let schedule = input.intent.schedule.as_ref()?;
    let anchor = status
        .current_key_version_created
        .as_ref()
        .map(|t| t.0)
        .or(input.current_created)
        .or(status.last_rotation_time.as_ref().map(|t| t.0))
        .unwrap_or(input.now);
    schedule.next_due(anchor)
}

/// Plan one reconcile.
pub fn plan_key(input: &KeyPlanInput<'_>) -> KeyPlan {
    let key = input.key;
    let mut status = input.status.clone();
    let mut events = Vec::new();
    status.key_state = Some(key.state_text.clone());
    // The key was read for this look: a force-sync asking for one is answered.
    if input.intent.force_sync.is_some() {
        status.handled_force_sync = input.intent.force_sync.clone();
    }

    // 1. A rotation in flight.
    let mut repeat = None;
    if let Some(pending) = status.pending_rotation.clone() {
        if key.current_version.is_some() && key.current_version != pending.from_key_version {
            let version = RemoteKeyVersion {
                id: key.current_version.clone().unwrap_or_default(),
                key_id: key.id.clone(),
                created_at: input.current_created,
                state_text: String::new(),
                deletion_time: None,
            };
            events.extend(record_rotation(
                &mut status,
                input.intent,
                &pending,
                &version,
                input.now,
            ));
        } else {
            repeat = Some(pending);
        }
    }
    if status.current_key_version != key.current_version {
        status.current_key_version = key.current_version.clone();
        status.current_key_version_created = input.current_created.map(time);
    }

    // 2. Only an enabled key rotates.
    let failure = match key.state {
        KeyState::Enabled => None,
        KeyState::Changing => Some(Failure::new(
            Reason::ProviderError,
            format!(
                "key {} is {}: Keyward waits until the provider finishes",
                key.id, key.state_text
            ),
            Pace::Temporary,
        )),
        _ => Some(Failure::new(
            Reason::KeyUnavailable,
            format!(
                "key {} is {}: Keyward rotates only an ENABLED key; enable it (then annotate keyward.dev/force-sync to look again at once)",
                key.id, key.state_text
            ),
            Pace::Persistent,
        )),
    };
    if failure.is_some() {
        return KeyPlan {
            status,
            steps: Vec::new(),
            events,
            failure,
        };
    }

    // 3. A rotation: the one in flight, or one due now.
    let rotation = repeat.or_else(|| {
        due_rotation(input, &status).map(|(cause, trigger, request)| PendingRotation {
            token: rotation_token(&input.intent.object, cause, &trigger),
            cause,
            request,
            from_key_version: key.current_version.clone(),
            started_at: time(input.now),
        })
    });
    let mut steps = Vec::new();
    if let Some(rotation) = rotation {
        steps.push(KeyStep::Rotate(rotation));
    } else if let Some(retire) = input.intent.retirement {
        // 4. Old versions Keyward created, beyond what is kept.
        let current = status.current_key_version.clone();
        let at = input.now + jiff::SignedDuration::try_from(retire.delay).unwrap_or_default();
        steps.extend(
            status
                .key_versions
                .iter()
                .filter(|v| v.deletion_time.is_none())
                .skip(retire.keep)
                .filter(|v| Some(&v.id) != current.as_ref())
                .map(|v| KeyStep::ScheduleDeletion {
                    version: v.id.clone(),
                    at,
                }),
        );
    }
    status.next_rotation_time = next_due(input, &status).map(time);
    KeyPlan {
        status,
        steps,
        events,
        failure: None,
    }
}

/// Records a rotation that landed; returns its Event.
fn record_rotation(
    status: &mut ManagedKeyStatus,
    intent: &KeyIntent,
    pending: &PendingRotation,
    version: &RemoteKeyVersion,
    now: Timestamp,
) -> Vec<EventNote> {
    let created = version.created_at.unwrap_or(now);
    status.pending_rotation = None;
    status.current_key_version = Some(version.id.clone());
    status.current_key_version_created = Some(time(created));
    status.last_rotation_time = Some(time(created));
    if pending.request.is_some() {
        status.handled_rotate_request = pending.request.clone();
    }
    if !status.key_versions.iter().any(|v| v.id == version.id) {
        status.key_versions.insert(
            0,
            KeyVersionRecord {
                id: version.id.clone(),
                created_at: time(created),
                deletion_time: None,
            },
        );
        status.key_versions.truncate(KEY_VERSIONS_KEPT);
    }
    let why = match pending.cause {
        OperationCause::Request => "on request (keyward.dev/rotate)",
        _ => "on schedule",
    };
    vec![EventNote::normal(
        "Rotated",
        "CreateKeyVersion",
        format!(
            "rotated key {} {why}: new key version {}",
            intent.key_id, version.id
        ),
    )]
}

/// The status after the executed steps (before a failure, if one stopped them), the Events, and
/// the Ready condition when nothing failed.
pub fn conclude_key(
    plan: &KeyPlan,
    intent: &KeyIntent,
    facts: &[KeyFact],
    now: Timestamp,
) -> (ManagedKeyStatus, Vec<EventNote>) {
    let mut status = plan.status.clone();
    let mut events = plan.events.clone();
    for fact in facts {
        match fact {
            KeyFact::Rotated { pending, version } => {
                events.extend(record_rotation(&mut status, intent, pending, version, now));
                status.next_rotation_time = intent
                    .schedule
                    .as_ref()
                    .and_then(|s| s.next_due(version.created_at.unwrap_or(now)))
                    .map(time);
            }
            KeyFact::DeletionScheduled { version, at } => {
                if let Some(record) = status.key_versions.iter_mut().find(|v| v.id == *version) {
                    record.deletion_time = Some(time(*at));
                }
                events.push(EventNote::normal(
                    "Retired",
                    "ScheduleKeyVersionDeletion",
                    format!(
                        "scheduled key version {version} of key {} for deletion at {at}",
                        intent.key_id
                    ),
                ));
            }
        }
    }
    (status, events)
}

/// The Ready condition of a key that did everything it had to.
pub fn ready(status: &mut ManagedKeyStatus, intent: &KeyIntent, now: Timestamp) {
    let version = status.current_key_version.as_deref().unwrap_or("none");
    let next = match &status.next_rotation_time {
        Some(t) => format!("next rotation at {}", t.0),
        None => "rotates on request only (keyward.dev/rotate)".to_string(),
    };
    status.conditions = merge_condition(
        &status.conditions,
        DesiredCondition::ready(
            Reason::Synced,
            format!(
                "key {} is ENABLED at version {version}; {next}",
                intent.key_id
            ),
            intent.generation,
        ),
        now,
    );
    status.observed_generation = intent.generation;
}

/// When to look again after a reconcile that did not fail.
pub fn requeue(status: &ManagedKeyStatus, intent: &KeyIntent, now: Timestamp) -> Duration {
    let next = status
        .next_rotation_time
        .as_ref()
        .map(|t| until_due(now, t.0))
        .unwrap_or(Duration::MAX);
    next.min(intent.refresh).max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests;
