use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::api::conditions::Reason;
use crate::api::{KeyVersionRecord, ManagedKeyStatus, OperationCause, PendingRotation};
use crate::provider::keys::{KeyState, RemoteKey, RemoteKeyVersion};
use crate::rotation::NextDue;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

struct Every(i64);
impl NextDue for Every {
    fn next_due(&self, anchor: Timestamp) -> Option<Timestamp> {
        anchor.checked_add(SignedDuration::from_secs(self.0)).ok()
    }
}

fn intent(every: Option<i64>, request: Option<&str>) -> KeyIntent {
    KeyIntent {
        object: "team/mek".into(),
        key_id: "ocid1.key.oc1.x.k".into(),
        schedule: every.map(|s| Box::new(Every(s)) as Box<dyn NextDue + Send + Sync>),
        request: request.map(str::to_string),
        force_sync: None,
        refresh: Duration::from_secs(3600),
        retirement: None,
        generation: Some(1),
    }
}

fn key(state: KeyState, current: &str) -> RemoteKey {
    RemoteKey {
        id: "ocid1.key.oc1.x.k".into(),
        state,
        state_text: match state {
            KeyState::Enabled => "ENABLED",
            KeyState::Disabled => "DISABLED",
            KeyState::PendingDeletion => "PENDING_DELETION",
            KeyState::Changing => "UPDATING",
            KeyState::Unknown => "SOMETHING",
        }
        .into(),
        current_version: Some(current.into()),
    }
}

fn status_at(current: &str, created: i64) -> ManagedKeyStatus {
    ManagedKeyStatus {
        current_key_version: Some(current.into()),
        current_key_version_created: Some(Time(t(created))),
        ..Default::default()
    }
}

fn plan(intent: &KeyIntent, status: &ManagedKeyStatus, key: &RemoteKey, now: i64) -> KeyPlan {
    let current_created = (status.current_key_version == key.current_version)
        .then(|| status.current_key_version_created.as_ref().map(|t| t.0))
        .flatten();
    plan_key(&KeyPlanInput {
        intent,
        status,
        key,
        current_created,
        now: t(now),
    })
}

fn rotation(plan: &KeyPlan) -> Option<&PendingRotation> {
    plan.steps.iter().find_map(|s| match s {
        KeyStep::Rotate(p) => Some(p),
        _ => None,
    })
}

#[test]
fn nothing_is_due_without_a_schedule_or_request() {
    let p = plan(
        &intent(None, None),
        &status_at("v1", 0),
        &key(KeyState::Enabled, "v1"),
        10,
    );
    assert!(p.steps.is_empty());
    assert!(p.failure.is_none());
    assert_eq!(p.status.next_rotation_time, None);
    assert_eq!(p.status.key_state.as_deref(), Some("ENABLED"));
}

#[test]
fn the_schedule_counts_from_the_current_versions_creation_and_one_due_time_is_one_token() {
    let i = intent(Some(3600), None);
    let k = key(KeyState::Enabled, "v1");
    let early = plan(&i, &status_at("v1", 0), &k, 1800);
    assert!(early.steps.is_empty());
    assert_eq!(early.status.next_rotation_time, Some(Time(t(3600))));
    let due = plan(&i, &status_at("v1", 0), &k, 3700);
    let r = rotation(&due).expect("due");
    assert_eq!(r.cause, OperationCause::Rotation);
    assert_eq!(r.from_key_version.as_deref(), Some("v1"));
    assert_eq!(r.request, None);
    // Later reconciles of the same due time (a retry, another replica) name the same write.
    let again = plan(&i, &status_at("v1", 0), &k, 3900);
    assert_eq!(rotation(&again).unwrap().token, r.token);
    assert!(
        r.token.starts_with("keyward:team/mek:key-rotation:"),
        "{}",
        r.token
    );
}

#[test]
fn a_new_request_rotates_once_and_a_handled_one_does_not() {
    let k = key(KeyState::Enabled, "v1");
    let p = plan(&intent(None, Some("r1")), &status_at("v1", 0), &k, 10);
    let r = rotation(&p).expect("requested");
    assert_eq!(r.cause, OperationCause::Request);
    assert_eq!(r.request.as_deref(), Some("r1"));
    let handled = ManagedKeyStatus {
        handled_rotate_request: Some("r1".into()),
        ..status_at("v1", 0)
    };
    assert!(
        plan(&intent(None, Some("r1")), &handled, &k, 10)
            .steps
            .is_empty()
    );
    assert_ne!(
        rotation(&plan(&intent(None, Some("r2")), &handled, &k, 10))
            .unwrap()
            .token,
        r.token
    );
}

#[test]
fn a_key_that_is_not_enabled_never_rotates_and_says_why() {
    for (state, reason) in [
        (KeyState::Disabled, Reason::KeyUnavailable),
        (KeyState::PendingDeletion, Reason::KeyUnavailable),
        (KeyState::Unknown, Reason::KeyUnavailable),
        (KeyState::Changing, Reason::ProviderError),
    ] {
        let p = plan(
            &intent(Some(60), Some("r1")),
            &status_at("v1", 0),
            &key(state, "v1"),
            3600,
        );
        assert!(p.steps.is_empty(), "{state:?}");
        let failure = p.failure.expect("a failure");
        assert_eq!(failure.reason, reason, "{state:?}");
        assert!(failure.message.contains(&key(state, "v1").state_text));
    }
}

fn pending(from: &str, request: Option<&str>) -> PendingRotation {
    PendingRotation {
        token: "keyward:team/mek:key-request:00".into(),
        cause: OperationCause::Request,
        request: request.map(str::to_string),
        from_key_version: Some(from.into()),
        started_at: Time(t(100)),
    }
}

#[test]
fn a_pending_rotation_is_repeated_with_its_token_until_the_key_moved() {
    let status = ManagedKeyStatus {
        pending_rotation: Some(pending("v1", Some("r1"))),
        ..status_at("v1", 0)
    };
    let p = plan(
        &intent(None, Some("r1")),
        &status,
        &key(KeyState::Enabled, "v1"),
        200,
    );
    assert_eq!(p.steps, vec![KeyStep::Rotate(pending("v1", Some("r1")))]);
    // Disabled meanwhile: nothing is sent, and the announcement stays for later.
    let off = plan(
        &intent(None, Some("r1")),
        &status,
        &key(KeyState::Disabled, "v1"),
        200,
    );
    assert!(off.steps.is_empty());
    assert_eq!(off.status.pending_rotation, Some(pending("v1", Some("r1"))));
}

#[test]
fn a_pending_rotation_that_landed_is_recorded_and_not_made_again() {
    let status = ManagedKeyStatus {
        pending_rotation: Some(pending("v1", Some("r1"))),
        ..status_at("v1", 0)
    };
    let k = key(KeyState::Enabled, "v2");
    let p = plan_key(&KeyPlanInput {
        intent: &intent(Some(3600), Some("r1")),
        status: &status,
        key: &k,
        current_created: Some(t(101)),
        now: t(300),
    });
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.status.pending_rotation, None);
    assert_eq!(p.status.current_key_version.as_deref(), Some("v2"));
    assert_eq!(p.status.handled_rotate_request.as_deref(), Some("r1"));
    assert_eq!(p.status.last_rotation_time, Some(Time(t(101))));
    assert_eq!(p.status.key_versions[0].id, "v2");
    assert_eq!(p.status.next_rotation_time, Some(Time(t(3701))));
    assert_eq!(p.events.len(), 1);
    assert!(p.events[0].note.contains("new key version v2"));
}

#[test]
fn concluding_a_rotation_records_the_version_and_the_next_due_time() {
    let i = intent(Some(3600), None);
    let p = plan(&i, &status_at("v1", 0), &key(KeyState::Enabled, "v1"), 3600);
    let r = rotation(&p).unwrap().clone();
    let (status, events) = conclude_key(
        &p,
        &i,
        &[KeyFact::Rotated {
            pending: r,
            version: RemoteKeyVersion {
                id: "v2".into(),
                key_id: "k".into(),
                created_at: Some(t(3601)),
                state_text: "ENABLED".into(),
                deletion_time: None,
            },
        }],
        t(3602),
    );
    assert_eq!(status.current_key_version.as_deref(), Some("v2"));
    assert_eq!(status.next_rotation_time, Some(Time(t(7201))));
    assert_eq!(status.pending_rotation, None);
    assert!(events[0].note.contains("on schedule"));
}

/// Three hours of reconciles every minute with a rotation every hour, each rotation landing at
/// once: exactly three rotations, each with its own token.
#[test]
fn reconciling_every_minute_rotates_exactly_once_per_due_time() {
    let i = intent(Some(3600), None);
    let mut status = status_at("v0", 0);
    let mut current = ("v0".to_string(), t(0));
    let mut tokens = Vec::new();
    for minute in 1..=180 {
        let now = minute * 60;
        let k = key(KeyState::Enabled, &current.0);
        let p = plan_key(&KeyPlanInput {
            intent: &i,
            status: &status,
            key: &k,
            current_created: Some(current.1),
            now: t(now),
        });
        let facts: Vec<KeyFact> = match rotation(&p) {
            Some(r) => {
                tokens.push(r.token.clone());
                current = (format!("v{}", tokens.len()), t(now));
                vec![KeyFact::Rotated {
                    pending: r.clone(),
                    version: RemoteKeyVersion {
                        id: current.0.clone(),
                        key_id: "k".into(),
                        created_at: Some(t(now)),
                        state_text: "ENABLED".into(),
                        deletion_time: None,
                    },
                }]
            }
            None => vec![],
        };
        status = conclude_key(&p, &i, &facts, t(now)).0;
    }
    assert_eq!(tokens.len(), 3, "{tokens:?}");
    let distinct: std::collections::BTreeSet<_> = tokens.iter().collect();
    assert_eq!(distinct.len(), 3);
}

fn records(ids: &[&str]) -> Vec<KeyVersionRecord> {
    ids.iter()
        .enumerate()
        .map(|(n, id)| KeyVersionRecord {
            id: id.to_string(),
            created_at: Time(t(-(n as i64) * 100)),
            deletion_time: None,
        })
        .collect()
}

#[test]
fn retirement_schedules_only_keywards_old_versions_beyond_those_kept_never_the_current() {
    let mut i = intent(None, None);
    i.retirement = Some(KeyRetirement {
        keep: 2,
        delay: Duration::from_secs(30 * 86_400),
    });
    let mut status = status_at("v4", 0);
    status.key_versions = records(&["v4", "v3", "v2", "v1"]);
    status.key_versions[3].deletion_time = Some(Time(t(999)));
    let p = plan(&i, &status, &key(KeyState::Enabled, "v4"), 10);
    let at = t(10) + SignedDuration::from_secs(30 * 86_400);
    assert_eq!(
        p.steps,
        vec![KeyStep::ScheduleDeletion {
            version: "v2".into(),
            at
        }],
        "v1 is already scheduled"
    );
    // Someone promoted an older version: the current one is never scheduled.
    let mut odd = status_at("v2", 0);
    odd.key_versions = records(&["v4", "v3", "v2"]);
    let p = plan(&i, &odd, &key(KeyState::Enabled, "v2"), 10);
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    // Without spec.retirement nothing is ever scheduled.
    let p = plan(
        &intent(None, None),
        &status,
        &key(KeyState::Enabled, "v4"),
        10,
    );
    assert!(p.steps.is_empty());
    // And nothing while a rotation is due.
    let mut rotating = intent(None, Some("r"));
    rotating.retirement = i.retirement;
    let p = plan(&rotating, &status, &key(KeyState::Enabled, "v4"), 10);
    assert!(matches!(p.steps.as_slice(), [KeyStep::Rotate(_)]));
    let (after, events) = conclude_key(
        &p,
        &i,
        &[KeyFact::DeletionScheduled {
            version: "v3".into(),
            at,
        }],
        t(11),
    );
    assert_eq!(after.key_versions[1].deletion_time, Some(Time(at)));
    assert!(events[0].note.contains("scheduled key version v3"));
}

#[test]
fn requeue_comes_at_the_next_rotation_or_the_refresh() {
    let i = intent(Some(600), None);
    let status = ManagedKeyStatus {
        next_rotation_time: Some(Time(t(600))),
        ..Default::default()
    };
    assert_eq!(requeue(&status, &i, t(0)), Duration::from_secs(600));
    assert_eq!(requeue(&status, &i, t(700)), Duration::from_secs(1));
    assert_eq!(
        requeue(&ManagedKeyStatus::default(), &i, t(0)),
        Duration::from_secs(3600)
    );
}
