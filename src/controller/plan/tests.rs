//! Planner tables: each row is a situation and the exact steps and reason it must produce.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::api::conditions::{ConditionStatus, Reason};
use crate::api::remote_id::RevisionSelector;
use crate::api::{
    CreationPolicy, ManagedSecretStatus, OperationCause, OperationKind, PendingOperation,
    RemoteDeletionPolicy, TargetDeletionPolicy,
};
use crate::controller::intent::{Intent, RemoteIntent, RemoteMetadata, SourceIntent, TargetIntent};
use crate::provider::SecretType;
use crate::provider::{
    Capabilities, NewSecret, OwnerMark, RemoteSecret, RemoteVersion, SecretId, SecretStatus,
    SecretUpdate, VersionStatus,
};
use crate::stores::snapshot::fingerprint;

const ID: &str = "11111111-1111-1111-1111-111111111111";

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

/// The mark of `team/db` in the test cluster.
fn owner() -> OwnerMark {
    OwnerMark::for_object("cluster-1", "team", "db")
}

/// Scaleway's abilities.
fn caps() -> Capabilities {
    crate::provider::scaleway::CAPABILITIES
}

/// A toy provider with what the next providers lack: version 1 made by the create call, no
/// metadata update, no version descriptions, no protection.
fn lean_caps() -> Capabilities {
    Capabilities {
        update_metadata: false,
        protection: false,
        disable_versions: false,
        version_descriptions: false,
        create_requires_initial_version: true,
        ephemeral_policy: false,
        tags: false,
        listing: crate::provider::Listing::WithVersions,
        owner_marks: true,
        version_removal: crate::provider::VersionRemoval::Destroy,
        removal_spares_previous: false,
    }
}

fn new_secret() -> NewSecret {
    NewSecret {
        name: "db".into(),
        path: "/".into(),
        kind: SecretType::Opaque,
        ..Default::default()
    }
}

/// What the planner creates: the spec's secret with this object's mark.
fn marked_new_secret() -> NewSecret {
    NewSecret {
        owner: Some(owner()),
        ..new_secret()
    }
}

fn intent() -> Intent {
    Intent {
        rollout: None,
        retirement: None,
        namespace: "team".into(),
        name: "db".into(),
        generation: Some(1),
        remote: RemoteIntent::ByName {
            name: "db".into(),
            path: "/".into(),
            new_secret: new_secret(),
        },
        secret_type: SecretType::Opaque,
        source: SourceIntent::Generate,
        generate: Some(Default::default()),
        from_secret: None,
        rotation: None,
        metadata: RemoteMetadata::default(),
        refresh_interval: Duration::from_secs(3600),
        target: TargetIntent {
            name: "db".into(),
            type_: "Opaque".into(),
            labels: Default::default(),
            annotations: Default::default(),
            template: None,
            creation_policy: CreationPolicy::Owner,
            deletion_policy: TargetDeletionPolicy::Delete,
            include_previous: false,
        },
        remote_deletion: RemoteDeletionPolicy::Retain,
        created_at: Some(now()),
        rotate_request: None,
        force_sync: None,
    }
}

fn push_intent() -> Intent {
    Intent {
        source: SourceIntent::FromSecret,
        generate: None,
        ..intent()
    }
}

fn follow_intent() -> Intent {
    Intent {
        source: SourceIntent::Follow,
        generate: None,
        ..intent()
    }
}

fn adopt_intent(first_revision: Option<RevisionSelector>) -> Intent {
    Intent {
        remote: RemoteIntent::Adopt {
            secret_id: SecretId::new(ID),
            first_revision,
            region: None,
            allow_deletion: false,
        },
        ..follow_intent()
    }
}

fn secret() -> RemoteSecret {
    RemoteSecret {
        id: SecretId::new(ID),
        project_id: None,
        name: "db".into(),
        path: "/".into(),
        description: String::new(),
        tags: vec![],
        owner: Some(owner()),
        kind: Some(SecretType::Opaque),
        status: SecretStatus::Ready,
        protected: false,
        managed_by_other_product: false,
        version_count: None,
        ephemeral_policy: None,
        key_id: None,
        region: "fr-par".into(),
        created_at: None,
        updated_at: None,
        deletion_requested_at: None,
    }
}

fn version(revision: u64, status: VersionStatus, description: &str) -> RemoteVersion {
    RemoteVersion {
        secret_id: SecretId::new(ID),
        revision,
        status,
        description: description.into(),
        latest: false,
        created_at: Some(now()),
        updated_at: None,
        deletion_requested_at: None,
    }
}

fn enabled(revisions: &[u64]) -> Vec<RemoteVersion> {
    let mut v: Vec<_> = revisions
        .iter()
        .map(|r| version(*r, VersionStatus::Enabled, ""))
        .collect();
    v.sort_by_key(|v| std::cmp::Reverse(v.revision));
    v
}

fn found(versions: Vec<RemoteVersion>) -> RemoteObservation {
    found_secret(secret(), versions)
}

/// `secret` (usually `secret()` with one field changed) and its versions, no digest known.
fn found_secret(secret: RemoteSecret, versions: Vec<RemoteVersion>) -> RemoteObservation {
    RemoteObservation::Found {
        secret,
        versions: Some(versions),
        latest_digest: None,
    }
}

fn found_with_digest(versions: Vec<RemoteVersion>, digest: &str) -> RemoteObservation {
    RemoteObservation::Found {
        secret: secret(),
        versions: Some(versions),
        latest_digest: Some(digest.into()),
    }
}

/// The secret found by the sweep, versions not listed.
fn found_unlisted() -> RemoteObservation {
    RemoteObservation::Found {
        secret: secret(),
        versions: None,
        latest_digest: None,
    }
}

/// Version 1, and version 2 written by Keyward for `cause`/`trigger` (its token as description).
fn written_by_keyward(cause: OperationCause, trigger: &str) -> Vec<RemoteVersion> {
    vec![
        version(2, VersionStatus::Enabled, &token(cause, trigger)),
        version(1, VersionStatus::Enabled, ""),
    ]
}

fn synced_status(revision: u32) -> ManagedSecretStatus {
    ManagedSecretStatus {
        observed_generation: Some(1),
        secret_id: Some(ID.into()),
        current_revision: Some(revision),
        target_name: Some("db".into()),
        remote_fingerprint: Some(fingerprint(&secret())),
        ..Default::default()
    }
}

fn target_ok(revision: u64) -> TargetAccess {
    TargetAccess::Writable {
        exists: true,
        mirrored_revision: Some(revision),
        drifted: false,
        previous_revision: None,
    }
}

fn target_absent() -> TargetAccess {
    TargetAccess::Writable {
        exists: false,
        mirrored_revision: None,
        drifted: false,
        previous_revision: None,
    }
}

fn token(cause: OperationCause, trigger: &str) -> String {
    operation_token("team", "db", cause, trigger)
}

fn pending(cause: OperationCause, trigger: &str) -> PendingOperation {
    PendingOperation {
        token: token(cause, trigger),
        kind: OperationKind::CreateVersion,
        cause,
        started_at: Time(now()),
        value_digest: None,
    }
}

/// `synced_status(1)` that also announces a pending write for `cause`/`trigger`.
fn pending_status(cause: OperationCause, trigger: &str) -> ManagedSecretStatus {
    ManagedSecretStatus {
        pending_operation: Some(pending(cause, trigger)),
        ..synced_status(1)
    }
}

fn write(cause: OperationCause, trigger: &str, value: ValueFrom) -> VersionWrite {
    VersionWrite {
        token: token(cause, trigger),
        cause,
        value,
        request: None,
    }
}

fn create_version(cause: OperationCause, trigger: &str, value: ValueFrom) -> Vec<Step> {
    vec![
        Step::RecordPending {
            token: token(cause, trigger),
            cause,
            value_digest: None,
        },
        Step::CreateVersion(write(cause, trigger, value)),
    ]
}

/// A new version for `cause`/`trigger` (announced first), then the target mirrors it.
fn create_and_mirror(cause: OperationCause, trigger: &str, value: ValueFrom) -> Vec<Step> {
    concat(vec![
        create_version(cause, trigger, value),
        vec![apply(TargetRevision::Created)],
    ])
}

/// Version 2 is found already written for `cause`: record it, then mirror it.
fn record_existing(cause: OperationCause) -> Vec<Step> {
    vec![
        Step::RecordExistingVersion {
            revision: 2,
            cause,
            request: None,
        },
        apply(TargetRevision::Created),
    ]
}

fn apply(revision: TargetRevision) -> Step {
    Step::ApplyTarget {
        revision,
        drift_repair: false,
        previous: None,
    }
}

fn due(trigger: &str) -> RotationDecision {
    RotationDecision::Due {
        cause: OperationCause::Rotation,
        trigger: trigger.into(),
        request: None,
        next_after: None,
    }
}

struct Row {
    name: &'static str,
    intent: Intent,
    status: ManagedSecretStatus,
    remote: RemoteObservation,
    source: SourceObservation,
    target: TargetAccess,
    rotation: RotationDecision,
    caps: Capabilities,
    folder: &'static str,
    /// `false`: the planner must ask for the versions first.
    acts: bool,
    steps: Vec<Step>,
    ready: bool,
    reason: Reason,
}

fn row(name: &'static str) -> Row {
    Row {
        name,
        intent: intent(),
        status: ManagedSecretStatus::default(),
        remote: RemoteObservation::Absent,
        source: SourceObservation::NotUsed,
        target: target_absent(),
        rotation: RotationDecision::NotScheduled,
        caps: caps(),
        folder: "/",
        acts: true,
        steps: vec![],
        ready: true,
        reason: Reason::Synced,
    }
}

/// The planner must list the versions before deciding.
fn needs_versions(row: Row) -> Row {
    Row { acts: false, ..row }
}

/// A row in step at revision 1: the remote secret has version 1 only, status records it and the
/// target mirrors it. Most situations start from here and change one thing.
fn synced(name: &'static str) -> Row {
    Row {
        remote: found(enabled(&[1])),
        status: synced_status(1),
        target: target_ok(1),
        ..row(name)
    }
}

fn decide(row: &Row) -> Decision {
    plan(&PlanInput {
        intent: &row.intent,
        status: &row.status,
        remote: &row.remote,
        source: &row.source,
        target: &row.target,
        rotation: &row.rotation,
        capabilities: row.caps,
        owner: &owner(),
        folder: row.folder,
        now: now(),
    })
}

fn run(row: &Row) -> Plan {
    match decide(row) {
        Decision::Act(plan) => plan,
        Decision::NeedVersions => panic!("{}: the planner asked for the versions", row.name),
    }
}

fn concat(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

fn rows() -> Vec<Row> {
    let d1 = "v1:aaaa";
    let d2 = "v1:bbbb";
    vec![
        Row {
            steps: concat(vec![
                vec![Step::CreateSecret(marked_new_secret())],
                create_and_mirror(OperationCause::Initial, "initial", ValueFrom::Generate),
            ]),
            ..row("new secret: create it, then version 1, then the target")
        },
        Row {
            remote: found(vec![]),
            steps: create_and_mirror(OperationCause::Initial, "initial", ValueFrom::Generate),
            ..row("existing secret without version: adopt it by name, version 1 only")
        },
        synced("in step: nothing to do"),
        Row {
            remote: found(enabled(&[1, 2, 3])),
            steps: vec![apply(TargetRevision::Number(3))],
            ..row(
                "recreated ManagedSecret finds the secret with versions: no new version, mirror latest",
            )
        },
        Row {
            target: TargetAccess::Writable {
                exists: true,
                mirrored_revision: Some(1),
                drifted: true,
                previous_revision: None,
            },
            steps: vec![Step::ApplyTarget {
                revision: TargetRevision::Number(1),
                drift_repair: true,
                previous: None,
            }],
            ..synced("drifted target is repaired")
        },
        Row {
            remote: found(enabled(&[1, 2])),
            steps: vec![apply(TargetRevision::Number(2))],
            ..synced("version created elsewhere is mirrored")
        },
        Row {
            remote: found(vec![
                version(2, VersionStatus::Disabled, ""),
                version(1, VersionStatus::Enabled, ""),
            ]),
            ..synced("disabled newer version: keep mirroring the latest enabled")
        },
        Row {
            rotation: due("1800000000"),
            steps: create_and_mirror(OperationCause::Rotation, "1800000000", ValueFrom::Generate),
            ..synced("rotation due: exactly one version, recorded as pending first")
        },
        Row {
            remote: found(written_by_keyward(OperationCause::Rotation, "1800000000")),
            rotation: due("1800000000"),
            steps: record_existing(OperationCause::Rotation),
            ..synced(
                "rotation already written (status lost): the token is found, no second version",
            )
        },
        Row {
            remote: found(written_by_keyward(OperationCause::Rotation, "1800000000")),
            status: pending_status(OperationCause::Rotation, "1800000000"),
            rotation: RotationDecision::NotDue { next: now() },
            steps: record_existing(OperationCause::Rotation),
            ..synced("pending operation found among versions: record it")
        },
        Row {
            status: pending_status(OperationCause::Rotation, "1799999000"),
            rotation: RotationDecision::NotDue {
                next: now()
                    .checked_add(jiff::SignedDuration::from_secs(60))
                    .unwrap(),
            },
            steps: vec![Step::ClearPending],
            ..synced("pending operation never written and no longer wanted: forget it")
        },
        Row {
            status: pending_status(OperationCause::Rotation, "1800000000"),
            rotation: due("1800000000"),
            steps: vec![
                Step::CreateVersion(write(
                    OperationCause::Rotation,
                    "1800000000",
                    ValueFrom::Generate,
                )),
                apply(TargetRevision::Created),
            ],
            ..synced(
                "pending operation never written and still wanted: write it, recorded once (no second status write)",
            )
        },
        Row {
            intent: Intent {
                rotate_request: Some("now-1".into()),
                ..intent()
            },
            rotation: RotationDecision::Due {
                cause: OperationCause::Request,
                trigger: "now-1".into(),
                request: Some("now-1".into()),
                next_after: None,
            },
            steps: vec![
                Step::RecordPending {
                    token: token(OperationCause::Request, "now-1"),
                    cause: OperationCause::Request,
                    value_digest: None,
                },
                Step::CreateVersion(VersionWrite {
                    request: Some("now-1".into()),
                    ..write(OperationCause::Request, "now-1", ValueFrom::Generate)
                }),
                apply(TargetRevision::Created),
            ],
            ..synced("rotation asked by annotation: one version, request recorded")
        },
        Row {
            intent: push_intent(),
            remote: found(vec![]),
            source: SourceObservation::Present { digest: d1.into() },
            steps: create_and_mirror(OperationCause::Initial, d1, ValueFrom::Source),
            ..row("push: version 1 from the source")
        },
        Row {
            intent: push_intent(),
            remote: found_with_digest(enabled(&[1]), d1),
            source: SourceObservation::Present { digest: d2.into() },
            steps: create_and_mirror(OperationCause::Push, d2, ValueFrom::Source),
            ..synced("push: changed source data creates one version")
        },
        Row {
            intent: push_intent(),
            remote: found_with_digest(enabled(&[1]), d1),
            source: SourceObservation::Present { digest: d1.into() },
            ..synced("push: unchanged source data creates nothing")
        },
        Row {
            intent: push_intent(),
            remote: found_with_digest(
                written_by_keyward(OperationCause::Push, d2),
                "v1:unreadable-differs",
            ),
            source: SourceObservation::Present { digest: d2.into() },
            steps: record_existing(OperationCause::Push),
            ..synced("push: the newest version already carries this push's token")
        },
        Row {
            intent: push_intent(),
            source: SourceObservation::Missing {
                message: "Secret src not found".into(),
            },
            ready: false,
            reason: Reason::SourceNotFound,
            ..synced("push: missing source stops, the target is left as it is")
        },
        Row {
            intent: push_intent(),
            remote: found(enabled(&[1])),
            source: SourceObservation::Invalid {
                message: "select one key".into(),
            },
            target: target_ok(1),
            ready: false,
            reason: Reason::SourceInvalid,
            ..row("push: unusable source data stops")
        },
        Row {
            intent: follow_intent(),
            remote: found(vec![]),
            ready: false,
            reason: Reason::Reconciling,
            ..row("follow: no version yet, wait")
        },
        Row {
            intent: follow_intent(),
            remote: found(enabled(&[4])),
            steps: vec![apply(TargetRevision::Number(4))],
            ..row("follow: mirror the latest version")
        },
        Row {
            intent: adopt_intent(None),
            remote: RemoteObservation::Missing,
            ready: false,
            reason: Reason::RemoteNotFound,
            ..row("adopt: missing secret is never created")
        },
        Row {
            intent: adopt_intent(None),
            remote: RemoteObservation::Absent,
            ready: false,
            reason: Reason::RemoteNotFound,
            ..row("adopt: absent secret is never created")
        },
        Row {
            intent: adopt_intent(Some(RevisionSelector::Number(1))),
            remote: found(enabled(&[1, 2])),
            steps: vec![apply(TargetRevision::Number(1))],
            ..row("adopt by Terraform id with revision: that revision first")
        },
        Row {
            intent: adopt_intent(Some(RevisionSelector::Number(1))),
            remote: found(enabled(&[1, 2])),
            ..synced("adopt by Terraform id: the revision stays while no newer version appears")
        },
        Row {
            intent: adopt_intent(Some(RevisionSelector::Number(1))),
            remote: found(vec![
                RemoteVersion {
                    created_at: Some(
                        now()
                            .checked_add(jiff::SignedDuration::from_secs(5))
                            .unwrap(),
                    ),
                    ..version(3, VersionStatus::Enabled, "")
                },
                version(2, VersionStatus::Enabled, ""),
                version(1, VersionStatus::Enabled, ""),
            ]),
            steps: vec![apply(TargetRevision::Number(3))],
            ..synced("adopt by Terraform id: afterwards follow versions created later")
        },
        Row {
            target: TargetAccess::Refused {
                reason: Reason::Conflict,
                message: "Secret db is managed by ManagedSecret other".into(),
            },
            ready: false,
            reason: Reason::Conflict,
            ..row("target claimed by another ManagedSecret: write nothing, not even remotely")
        },
        Row {
            target: TargetAccess::WaitForMerge,
            ready: false,
            reason: Reason::Reconciling,
            ..row("merge into a Secret that does not exist yet: wait")
        },
        Row {
            remote: found_secret(
                RemoteSecret {
                    status: SecretStatus::Locked,
                    ..secret()
                },
                enabled(&[1]),
            ),
            target: target_ok(1),
            ready: false,
            reason: Reason::RemoteLocked,
            ..row("locked remote secret: nothing to do but say so")
        },
        Row {
            remote: found_secret(
                RemoteSecret {
                    managed_by_other_product: true,
                    ..secret()
                },
                enabled(&[1]),
            ),
            ready: false,
            reason: Reason::Conflict,
            ..row("remote secret managed by another product: hands off")
        },
        Row {
            intent: Intent {
                metadata: RemoteMetadata {
                    protected: Some(true),
                    description: Some("db password".into()),
                    tags: Some(vec!["b".into(), "a".into()]),
                },
                ..intent()
            },
            remote: found_secret(
                RemoteSecret {
                    tags: vec!["a".into(), "b".into()],
                    ..secret()
                },
                enabled(&[1]),
            ),
            steps: vec![
                Step::UpdateSecret(SecretUpdate {
                    description: Some("db password".into()),
                    ..Default::default()
                }),
                Step::SetProtected(true),
            ],
            ..synced(
                "metadata: description and protection follow the spec; same tags in another order are equal",
            )
        },
        Row {
            intent: Intent {
                target: TargetIntent {
                    name: "db-new".into(),
                    ..intent().target
                },
                ..intent()
            },
            target: target_absent(),
            steps: vec![
                apply(TargetRevision::Number(1)),
                Step::DeleteTarget { name: "db".into() },
            ],
            ..synced("target renamed: write the new Secret, then remove the old one")
        },
        Row {
            intent: Intent {
                force_sync: Some("t1".into()),
                ..intent()
            },
            steps: vec![apply(TargetRevision::Number(1))],
            ..synced("force-sync with a new value rewrites the target")
        },
        Row {
            intent: Intent {
                force_sync: Some("t1".into()),
                ..intent()
            },
            status: ManagedSecretStatus {
                handled_force_sync: Some("t1".into()),
                ..synced_status(1)
            },
            ..synced("force-sync already handled: nothing")
        },
        Row {
            intent: Intent {
                generation: Some(2),
                ..intent()
            },
            steps: vec![apply(TargetRevision::Number(1))],
            ..synced("spec changed: rewrite the target (labels, template, type)")
        },
        Row {
            remote: found(vec![version(1, VersionStatus::Disabled, "")]),
            ready: false,
            reason: Reason::Reconciling,
            ..synced("only disabled versions: do not generate, do not blank the target")
        },
        // Remote ownership.
        Row {
            remote: found_secret(
                RemoteSecret {
                    owner: None,
                    ..secret()
                },
                enabled(&[1]),
            ),
            status: ManagedSecretStatus::default(),
            target: target_absent(),
            ready: false,
            reason: Reason::RemoteNotOwned,
            ..row("a secret by that name and folder without Keyward's mark is never taken over")
        },
        Row {
            remote: found_secret(
                RemoteSecret {
                    owner: Some(OwnerMark::for_object("cluster-1", "team-b", "db")),
                    ..secret()
                },
                enabled(&[1]),
            ),
            ready: false,
            reason: Reason::Conflict,
            ..synced("a secret marked for another ManagedSecret is a conflict")
        },
        Row {
            remote: found_secret(
                RemoteSecret {
                    owner: Some(OwnerMark::for_object("cluster-2", "team", "db")),
                    ..secret()
                },
                enabled(&[1]),
            ),
            ready: false,
            reason: Reason::Conflict,
            ..synced("a secret marked by another cluster is a conflict")
        },
        Row {
            remote: found_secret(
                RemoteSecret {
                    owner: None,
                    tags: vec!["x".into()],
                    ..secret()
                },
                enabled(&[1]),
            ),
            status: ManagedSecretStatus {
                managed_revisions: vec![1],
                ..synced_status(1)
            },
            steps: vec![Step::UpdateSecret(SecretUpdate {
                tags: Some(vec!["x".into()]),
                owner: Some(owner()),
                ..Default::default()
            })],
            ..synced("created before owner marks (status says so): the mark is added, tags kept")
        },
        Row {
            intent: adopt_intent(None),
            remote: found_secret(
                RemoteSecret {
                    path: "/team-b".into(),
                    owner: None,
                    ..secret()
                },
                enabled(&[1]),
            ),
            folder: "/team-a",
            ready: false,
            reason: Reason::StoreNotAllowed,
            ..row("adopting outside the namespace's folder of a per-namespace store is refused")
        },
        Row {
            intent: adopt_intent(None),
            remote: found_secret(
                RemoteSecret {
                    path: "/team-a/apps".into(),
                    owner: None,
                    ..secret()
                },
                enabled(&[1]),
            ),
            folder: "/team-a",
            steps: vec![apply(TargetRevision::Number(1))],
            ..row("adopting inside the namespace's folder works, and adds no mark")
        },
        Row {
            intent: Intent {
                source: SourceIntent::Generate,
                generate: Some(Default::default()),
                ..adopt_intent(None)
            },
            remote: found_secret(
                RemoteSecret {
                    owner: Some(OwnerMark::for_object("cluster-1", "other", "x")),
                    ..secret()
                },
                enabled(&[1]),
            ),
            ready: false,
            reason: Reason::Conflict,
            ..row("adopting another object's secret to rotate it is a conflict")
        },
        Row {
            intent: adopt_intent(None),
            remote: found_secret(
                RemoteSecret {
                    owner: Some(OwnerMark::for_object("cluster-1", "other", "x")),
                    ..secret()
                },
                enabled(&[1]),
            ),
            steps: vec![apply(TargetRevision::Number(1))],
            ..row("following another object's secret by adoption is fine")
        },
        // Capabilities of other providers (a toy set: create makes version 1, no metadata
        // update, no version descriptions, no protection).
        Row {
            caps: lean_caps(),
            steps: vec![
                Step::RecordPending {
                    token: token(OperationCause::Initial, "initial"),
                    cause: OperationCause::Initial,
                    value_digest: Some(ValueFrom::Generate),
                },
                Step::CreateSecretWithVersion {
                    secret: marked_new_secret(),
                    version: write(OperationCause::Initial, "initial", ValueFrom::Generate),
                },
                apply(TargetRevision::Created),
            ],
            ..row("capability: version 1 is made by the create call, announced with its digest")
        },
        Row {
            caps: lean_caps(),
            intent: follow_intent(),
            ready: false,
            reason: Reason::InvalidSpec,
            ..row(
                "capability: a create that needs a value cannot follow a secret that does not exist",
            )
        },
        Row {
            caps: lean_caps(),
            rotation: due("1800000000"),
            steps: vec![
                Step::RecordPending {
                    token: token(OperationCause::Rotation, "1800000000"),
                    cause: OperationCause::Rotation,
                    value_digest: Some(ValueFrom::Generate),
                },
                Step::CreateVersion(write(
                    OperationCause::Rotation,
                    "1800000000",
                    ValueFrom::Generate,
                )),
                apply(TargetRevision::Created),
            ],
            ..synced("capability: without descriptions a rotation records its value's digest")
        },
        Row {
            caps: lean_caps(),
            remote: found_with_digest(enabled(&[1, 2]), "v1:written"),
            status: ManagedSecretStatus {
                pending_operation: Some(PendingOperation {
                    value_digest: Some("v1:written".into()),
                    ..pending(OperationCause::Rotation, "1800000000")
                }),
                ..synced_status(1)
            },
            rotation: due("1800000000"),
            steps: record_existing(OperationCause::Rotation),
            ..synced(
                "capability: without descriptions the newest version's digest proves the write",
            )
        },
        Row {
            caps: lean_caps(),
            remote: found_with_digest(enabled(&[1]), "v1:current"),
            status: ManagedSecretStatus {
                pending_operation: Some(PendingOperation {
                    value_digest: Some("v1:never-written".into()),
                    ..pending(OperationCause::Rotation, "1800000000")
                }),
                ..synced_status(1)
            },
            rotation: due("1800000000"),
            steps: vec![
                Step::RecordPending {
                    token: token(OperationCause::Rotation, "1800000000"),
                    cause: OperationCause::Rotation,
                    value_digest: Some(ValueFrom::Generate),
                },
                Step::CreateVersion(write(
                    OperationCause::Rotation,
                    "1800000000",
                    ValueFrom::Generate,
                )),
                apply(TargetRevision::Created),
            ],
            ..synced(
                "capability: without descriptions an unwritten pending value is recorded afresh (a new value has a new digest)",
            )
        },
        Row {
            caps: lean_caps(),
            intent: Intent {
                metadata: RemoteMetadata {
                    description: Some("changed".into()),
                    ..Default::default()
                },
                ..intent()
            },
            ..synced("capability: without metadata updates a description change is not attempted")
        },
        Row {
            caps: lean_caps(),
            intent: Intent {
                metadata: RemoteMetadata {
                    protected: Some(true),
                    ..Default::default()
                },
                ..intent()
            },
            ready: false,
            reason: Reason::InvalidSpec,
            ..synced("capability: protection asked of a provider without it is an invalid spec")
        },
        // Versions not listed: a steady state costs nothing, anything else lists them.
        Row {
            remote: found_unlisted(),
            ..synced(
                "steady: the sweep shows the recorded fingerprint, nothing to do without versions",
            )
        },
        Row {
            remote: found_unlisted(),
            rotation: RotationDecision::NotDue {
                next: now()
                    .checked_add(jiff::SignedDuration::from_secs(60))
                    .unwrap(),
            },
            ..synced("steady with a rotation ahead: nothing to do")
        },
        needs_versions(Row {
            remote: found_unlisted(),
            status: ManagedSecretStatus {
                remote_fingerprint: Some("v0-changed".into()),
                ..synced_status(1)
            },
            ..synced("the fingerprint moved: list the versions")
        }),
        needs_versions(Row {
            remote: found_unlisted(),
            rotation: RotationDecision::Unknown,
            ..synced("rotation maybe due: list the versions")
        }),
        needs_versions(Row {
            remote: found_unlisted(),
            rotation: due("1800000000"),
            ..synced("rotation due: list the versions")
        }),
        needs_versions(Row {
            remote: found_unlisted(),
            status: pending_status(OperationCause::Rotation, "1800000000"),
            ..synced("a pending write: list the versions")
        }),
        needs_versions(Row {
            remote: found_unlisted(),
            target: TargetAccess::Writable {
                exists: true,
                mirrored_revision: Some(1),
                drifted: true,
                previous_revision: None,
            },
            ..synced("a drifted target: list the versions")
        }),
        needs_versions(Row {
            remote: found_unlisted(),
            target: target_absent(),
            ..synced("a missing target: list the versions")
        }),
        needs_versions(Row {
            remote: found_unlisted(),
            intent: Intent {
                generation: Some(2),
                ..intent()
            },
            ..synced("a changed spec: list the versions")
        }),
        Row {
            remote: found_unlisted(),
            intent: push_intent(),
            status: ManagedSecretStatus {
                source_digest: Some("v1:aaaa".into()),
                ..synced_status(1)
            },
            source: SourceObservation::Present {
                digest: "v1:aaaa".into(),
            },
            ..synced("push with the source unchanged: nothing to do")
        },
        needs_versions(Row {
            remote: found_unlisted(),
            intent: push_intent(),
            status: ManagedSecretStatus {
                source_digest: Some("v1:aaaa".into()),
                ..synced_status(1)
            },
            source: SourceObservation::Present {
                digest: "v1:bbbb".into(),
            },
            ..synced("push with a changed source: list the versions")
        }),
        Row {
            remote: found_unlisted(),
            intent: Intent {
                metadata: RemoteMetadata {
                    description: Some("now described".into()),
                    ..Default::default()
                },
                ..intent()
            },
            steps: vec![Step::UpdateSecret(SecretUpdate {
                description: Some("now described".into()),
                ..Default::default()
            })],
            ..synced("steady, metadata drifted: fixed from the sweep's record alone")
        },
    ]
}

#[test]
fn planner_table() {
    for row in rows() {
        if !row.acts {
            assert_eq!(decide(&row), Decision::NeedVersions, "{}", row.name);
            continue;
        }
        let plan = run(&row);
        assert_eq!(plan.steps, row.steps, "{}", row.name);
        assert_eq!(plan.ready.reason, row.reason, "{}", row.name);
        let want = if row.ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        assert_eq!(plan.ready.status, want, "{}", row.name);
        assert!(!plan.ready.message.is_empty(), "{}", row.name);
        assert_eq!(plan.ready.observed_generation, row.intent.generation);
    }
}

#[test]
fn invariants_hold_on_every_row() {
    for row in rows().into_iter().filter(|r| r.acts) {
        let plan = run(&row);
        for (i, step) in plan.steps.iter().enumerate() {
            let written = match step {
                Step::CreateVersion(w) | Step::CreateSecretWithVersion { version: w, .. } => {
                    Some(w)
                }
                _ => None,
            };
            if let Some(w) = written {
                let here = matches!(plan.steps.get(i.wrapping_sub(1)), Some(Step::RecordPending { token: t, .. }) if *t == w.token);
                let before = row
                    .status
                    .pending_operation
                    .as_ref()
                    .is_some_and(|p| p.token == w.token);
                assert!(
                    here || before,
                    "{}: a version written without its token on record",
                    row.name
                );
                assert!(w.token.starts_with("keyward:team/db:"), "{}", row.name);
            }
            if let Step::CreateSecret(new) | Step::CreateSecretWithVersion { secret: new, .. } =
                step
            {
                assert_eq!(row.remote, RemoteObservation::Absent, "{}", row.name);
                assert!(
                    matches!(row.intent.remote, RemoteIntent::ByName { .. }),
                    "{}",
                    row.name
                );
                assert_eq!(
                    new.owner,
                    Some(owner()),
                    "{}: created without the mark",
                    row.name
                );
            }
            if let Step::UpdateSecret(_) = step {
                assert!(row.caps.update_metadata, "{}", row.name);
            }
            if let Step::SetProtected(_) = step {
                assert!(row.caps.protection, "{}", row.name);
            }
        }
        let creates = plan
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s,
                    Step::CreateVersion(_) | Step::CreateSecretWithVersion { .. }
                )
            })
            .count();
        assert!(creates <= 1, "{}: {creates} versions in one plan", row.name);
        if !matches!(row.target, TargetAccess::Writable { .. }) {
            assert!(plan.steps.is_empty(), "{}", row.name);
        }
    }
}

#[test]
fn requeue_at_next_rotation_or_refresh() {
    let next = now()
        .checked_add(jiff::SignedDuration::from_secs(300))
        .unwrap();
    let plan = run(&Row {
        rotation: RotationDecision::NotDue { next },
        ..synced("")
    });
    assert_eq!(plan.requeue_after, Duration::from_secs(300));
    assert_eq!(plan.notes.next_rotation, Some(next));
    let plan = run(&synced(""));
    assert_eq!(
        plan.requeue_after,
        Duration::MAX,
        "no rotation: the sweep and the full check decide when to look again"
    );
    assert_eq!(plan.notes.mirrored_revision, Some(1));
}

#[test]
fn initial_version_records_the_rotate_annotation_as_handled() {
    let plan = run(&Row {
        intent: Intent {
            rotate_request: Some("already-there".into()),
            ..intent()
        },
        ..row("")
    });
    assert_eq!(
        plan.notes.handled_rotate_request.as_deref(),
        Some("already-there")
    );
}

#[test]
fn tokens_are_deterministic_and_distinct() {
    let a = operation_token("ns", "x", OperationCause::Rotation, "1");
    assert_eq!(a, operation_token("ns", "x", OperationCause::Rotation, "1"));
    assert_ne!(a, operation_token("ns", "x", OperationCause::Rotation, "2"));
    assert_ne!(a, operation_token("ns", "x", OperationCause::Request, "1"));
    assert_ne!(a, operation_token("ns", "y", OperationCause::Rotation, "1"));
    assert!(is_keyward_description(&a));
    assert!(a.len() < 100, "{a}");
    // A person's annotation text never appears verbatim in the remote description.
    let b = operation_token("ns", "x", OperationCause::Request, "my secret note");
    assert!(!b.contains("my secret note"));
}

/// `target.includePrevious`: the Secret carries the revision a new one replaced for as long as
/// status calls it `Previous`, and drops it when its grace period ends.
#[test]
fn the_previous_revision_is_carried_during_its_grace_period_only() {
    use crate::api::lifecycle::{RevisionStage, Stage};
    let stage = |revision: u32, stage: Stage| RevisionStage {
        revision,
        stage,
        since: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
    };
    let carrying = |mirrored: u64, previous: Option<u64>| TargetAccess::Writable {
        exists: true,
        mirrored_revision: Some(mirrored),
        drifted: false,
        previous_revision: previous,
    };
    let mut with_previous = intent();
    with_previous.target.include_previous = true;
    let applied = |previous| {
        vec![Step::ApplyTarget {
            revision: TargetRevision::Number(2),
            drift_repair: false,
            previous,
        }]
    };

    // A version made elsewhere replaces revision 1: the Secret gets 2 and keeps 1 alongside.
    let replaced = Row {
        intent: with_previous.clone(),
        remote: found(enabled(&[2, 1])),
        ..synced("new revision, previous carried")
    };
    assert_eq!(run(&replaced).steps, applied(Some(1)));
    // Without the option, nothing is carried.
    let plain = Row {
        remote: found(enabled(&[2, 1])),
        ..synced("new revision, nothing carried")
    };
    assert_eq!(run(&plain).steps, applied(None));

    let mut in_grace = synced_status(2);
    in_grace.revisions = vec![stage(2, Stage::Current), stage(1, Stage::Previous)];
    let steady = Row {
        intent: with_previous.clone(),
        status: in_grace.clone(),
        remote: found_unlisted(),
        target: carrying(2, Some(1)),
        ..synced("in grace: nothing to write")
    };
    assert!(
        run(&steady).steps.is_empty(),
        "no call, no write during the grace"
    );

    // Grace over (the pipeline disabled 1): the steady reconcile lists once and rewrites.
    let mut retired = in_grace.clone();
    retired.revisions = vec![stage(2, Stage::Current), stage(1, Stage::Disabled)];
    let ended = Row {
        intent: with_previous.clone(),
        status: retired.clone(),
        remote: found_unlisted(),
        target: carrying(2, Some(1)),
        ..synced("grace over")
    };
    assert_eq!(decide(&ended), Decision::NeedVersions);
    let listed = Row {
        remote: found(enabled(&[2])),
        ..ended
    };
    assert_eq!(run(&listed).steps, applied(None));

    // The option turned off while carrying: the previous keys go.
    let off = Row {
        status: in_grace,
        remote: found(enabled(&[2, 1])),
        target: carrying(2, Some(1)),
        ..synced("option removed")
    };
    assert_eq!(run(&off).steps, applied(None));
}
