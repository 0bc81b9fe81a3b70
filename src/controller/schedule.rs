//! The rotation decision: whether a generated value rotates now (schedule due, or a new
//! `keyward.dev/rotate` value), as a pure function of the intent, status, versions and `now`.
//!
//! The anchor of the schedule is the creation time of the newest version, read from the remote
//! secret: rotation state lives remotely too, so a ManagedSecret deleted and recreated does not
//! rotate early (or regenerate a value applications already use).

use jiff::Timestamp;

use crate::api::validation::InvalidSpec;
use crate::api::{ManagedSecretStatus, OperationCause, RotationSpec};
use crate::provider::RemoteVersion;
use crate::rotation::{JitterSeed, ManualTrigger, Schedule, manual_trigger, next_due};

use super::intent::{Intent, SourceIntent};
use super::plan::RotationDecision;

/// When the value is next due, given the newest version's creation time (the anchor).
pub trait NextDue {
    fn next_due(&self, anchor: Timestamp) -> Option<Timestamp>;
}

/// A schedule parsed from `spec.rotation` (interval and/or cron, see [`crate::rotation`]), with the
/// object's deterministic jitter.
pub struct RotationSchedule {
    schedule: Schedule,
    seed: JitterSeed,
}

impl RotationSchedule {
    pub fn parse(spec: &RotationSpec, namespace: &str, name: &str) -> Result<Self, InvalidSpec> {
        let schedule = Schedule::parse_in_zone(
            spec.interval.as_deref(),
            spec.schedule.as_deref(),
            spec.time_zone.as_deref(),
        )
        .map_err(|e| InvalidSpec(format!("rotation: {e}")))?;
        Ok(Self {
            schedule,
            seed: JitterSeed::from_identity(namespace, name),
        })
    }
}

impl NextDue for RotationSchedule {
    fn next_due(&self, anchor: Timestamp) -> Option<Timestamp> {
        let due = next_due(&self.schedule, None, anchor, self.seed);
        (due != Timestamp::MAX).then_some(due)
    }
}

/// Check a rotation spec beyond what the CRD checks (cron fields, interval bounds, whether the
/// tz database knows `timeZone`).
pub fn check_rotation(spec: &RotationSpec) -> Result<(), InvalidSpec> {
    RotationSchedule::parse(spec, "", "").map(|_| ())
}

/// Decide whether to rotate now.
pub fn rotation_decision(
    intent: &Intent,
    status: &ManagedSecretStatus,
    versions: &[RemoteVersion],
    schedule: Option<&dyn NextDue>,
    now: Timestamp,
) -> RotationDecision {
    if intent.source != SourceIntent::Generate {
        return RotationDecision::NotScheduled;
    }
    if versions.is_empty() {
        // The first version is about to be created now: the schedule starts from it.
        return match schedule.and_then(|s| s.next_due(now)) {
            Some(next) => RotationDecision::NotDue { next },
            None => RotationDecision::NotScheduled,
        };
    }
    let next_after = schedule.and_then(|s| s.next_due(now));
    if let ManualTrigger::Requested { token } = manual_trigger(
        intent.rotate_request.as_deref(),
        status.handled_rotate_request.as_deref(),
    ) {
        return RotationDecision::Due {
            cause: OperationCause::Request,
            trigger: token.clone(),
            request: Some(token),
            next_after,
        };
    }
    let Some(schedule) = schedule else {
        return RotationDecision::NotScheduled;
    };
    let anchor = versions
        .iter()
        .max_by_key(|v| v.revision)
        .and_then(|v| v.created_at)
        .or_else(|| status.last_rotation_time.as_ref().map(|t| t.0))
        .unwrap_or(now);
    match schedule.next_due(anchor) {
        None => RotationDecision::NotScheduled,
        Some(due) if now >= due => RotationDecision::Due {
            cause: OperationCause::Rotation,
            trigger: due.as_second().to_string(),
            request: None,
            next_after,
        },
        Some(due) => RotationDecision::NotDue { next: due },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ManagedSecretStatus;
    use crate::controller::plan_tests::{intent_with, versions_created_at};
    use jiff::SignedDuration;

    struct Every(SignedDuration);
    impl NextDue for Every {
        fn next_due(&self, anchor: Timestamp) -> Option<Timestamp> {
            anchor.checked_add(self.0).ok()
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    /// The zone moves the due time: the same `0 3 * * *` on the same anchor is due at 03:00 UTC,
    /// 01:00Z in Paris (summer time), and 21:30Z in Kolkata (03:00 IST the next morning).
    #[test]
    fn time_zone_changes_the_due_time() {
        let anchor: Timestamp = "2026-07-10T00:00:00Z".parse().unwrap();
        let rows = [
            (None, "2026-07-10T03:00:00Z"),
            (Some("UTC"), "2026-07-10T03:00:00Z"),
            (Some("Europe/Paris"), "2026-07-10T01:00:00Z"),
            (Some("Asia/Kolkata"), "2026-07-10T21:30:00Z"),
        ];
        let intent = intent_with(SourceIntent::Generate, None);
        let versions = versions_created_at(anchor);
        for (zone, want) in rows {
            let spec = RotationSpec {
                interval: None,
                schedule: Some("0 3 * * *".into()),
                time_zone: zone.map(str::to_owned),
            };
            // No jitter: the seed of the empty identity is not zero, so compare without it.
            let schedule = RotationSchedule {
                schedule: RotationSchedule::parse(&spec, "ns", "n").unwrap().schedule,
                seed: JitterSeed::fixed(0),
            };
            let want: Timestamp = want.parse().unwrap();
            assert_eq!(
                rotation_decision(
                    &intent,
                    &ManagedSecretStatus::default(),
                    &versions,
                    Some(&schedule),
                    anchor
                ),
                RotationDecision::NotDue { next: want },
                "{zone:?}"
            );
        }
    }

    #[test]
    fn unknown_time_zone_is_an_invalid_spec_naming_the_field() {
        let spec = RotationSpec {
            interval: None,
            schedule: Some("0 3 * * *".into()),
            time_zone: Some("Europe/Atlantis".into()),
        };
        let err = check_rotation(&spec).unwrap_err();
        assert!(err.0.contains("timeZone"), "{}", err.0);
    }

    #[test]
    fn decision_table() {
        let hour = Every(SignedDuration::from_hours(1));
        let handled = ManagedSecretStatus {
            handled_rotate_request: Some("r1".into()),
            ..Default::default()
        };
        let none = ManagedSecretStatus::default();
        type R = RotationDecision;
        type Row<'a> = (
            &'a str,
            Intent,
            &'a ManagedSecretStatus,
            Vec<RemoteVersion>,
            bool,
            i64,
            R,
        );
        let rows: Vec<Row> = vec![
            (
                "no versions: the initial version is not a rotation; the schedule starts now",
                intent_with(SourceIntent::Generate, Some("r9")),
                &none,
                vec![],
                true,
                0,
                R::NotDue { next: t(3600) },
            ),
            (
                "follow never rotates",
                intent_with(SourceIntent::Follow, Some("r2")),
                &none,
                versions_created_at(t(0)),
                true,
                7200,
                R::NotScheduled,
            ),
            (
                "not due yet",
                intent_with(SourceIntent::Generate, None),
                &none,
                versions_created_at(t(0)),
                true,
                600,
                R::NotDue { next: t(3600) },
            ),
            (
                "due at the anchor plus interval",
                intent_with(SourceIntent::Generate, None),
                &none,
                versions_created_at(t(0)),
                true,
                3600,
                R::Due {
                    cause: OperationCause::Rotation,
                    trigger: t(3600).as_second().to_string(),
                    request: None,
                    next_after: Some(t(7200)),
                },
            ),
            (
                "no schedule, no request",
                intent_with(SourceIntent::Generate, None),
                &none,
                versions_created_at(t(0)),
                false,
                99999,
                R::NotScheduled,
            ),
            (
                "new annotation value",
                intent_with(SourceIntent::Generate, Some("r2")),
                &handled,
                versions_created_at(t(0)),
                false,
                10,
                R::Due {
                    cause: OperationCause::Request,
                    trigger: "r2".into(),
                    request: Some("r2".into()),
                    next_after: None,
                },
            ),
            (
                "handled annotation value",
                intent_with(SourceIntent::Generate, Some("r1")),
                &handled,
                versions_created_at(t(0)),
                true,
                10,
                R::NotDue { next: t(3600) },
            ),
        ];
        for (name, intent, status, versions, scheduled, at, want) in rows {
            let schedule: Option<&dyn NextDue> = if scheduled { Some(&hour) } else { None };
            assert_eq!(
                rotation_decision(&intent, status, &versions, schedule, t(at)),
                want,
                "{name}"
            );
        }
    }
}
