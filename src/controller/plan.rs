//! The planner: a pure function from (intent, status, observations, rotation decision, now) to the
//! ordered steps a reconcile performs, the condition it reports when every step succeeds, and when
//! to look again. No I/O and no clock reads, so every decision is table-tested in this file.
//!
//! Rules, in the order they are applied:
//! 1. A target Secret Keyward may not write (another ManagedSecret's, someone else's) stops the plan
//!    before any remote write: the ManagedSecret reports `Conflict` and writes nothing.
//! 2. The remote secret is found by name and path (or by id when adopted) before anything is created,
//!    so a second secret with the same name and path is never made. An adopted secret is never
//!    created.
//! 3. A remote write that creates a version carries a deterministic operation token
//!    (`keyward:<namespace>/<name>:<cause>:<trigger>`) in the version description, and is recorded in
//!    status (`pendingOperation`) before it is sent. A retry first looks for the token among the
//!    versions and records the version it finds instead of creating another.
//! 4. Version 1 comes from the source only when the secret has no version at all; a generated source
//!    rotates when the rotation decision says so; a pushed source creates one version when its digest
//!    differs from the digest of the current remote revision.
//! 5. The target Secret is (re)applied when it is missing, holds another revision, drifted, the spec
//!    changed, or a force-sync was asked for. Nothing in a plan ever deletes or blanks the Secret
//!    because of a provider problem: failures stop the executor before `ApplyTarget`.

use std::time::Duration;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::api::conditions::{DesiredCondition, Reason};
use crate::api::{ManagedSecretStatus, OperationCause};
use crate::provider::{
    NewSecret, RemoteSecret, RemoteVersion, SecretId, SecretStatus, SecretUpdate, VersionStatus,
};

use super::intent::{Intent, RemoteIntent, SourceIntent};

/// Prefix of every operation token (and of every version description Keyward writes).
pub const TOKEN_PREFIX: &str = "keyward:";

/// How long to wait before looking again when waiting on something outside Keyward (a Secret to
/// merge into, a first version created elsewhere) and the refresh interval is longer.
pub const WAIT_REQUEUE: Duration = Duration::from_secs(60);

/// The remote secret as observed this reconcile. (Short-lived, one per reconcile: the size
/// difference between variants does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum RemoteObservation {
    /// No live secret with the intent's name and path (only possible for `RemoteIntent::ByName`).
    Absent,
    /// The adopted secret (or the one recorded in status) does not exist.
    Missing,
    /// The secret, its versions (highest revision first), and the keyed digest of the payload of
    /// its latest enabled version when the planner needs it (push).
    Found {
        secret: RemoteSecret,
        versions: Vec<RemoteVersion>,
        latest_digest: Option<String>,
    },
}

/// The fromSecret source as observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceObservation {
    /// The intent has no fromSecret source.
    NotUsed,
    /// The source Secret or a selected key is missing.
    Missing { message: String },
    /// The source data cannot become a payload of the secret's type.
    Invalid { message: String },
    /// The source data turned into a payload, with its keyed digest (never the data).
    Present { digest: String },
}

/// What Keyward may do with the target Secret, decided from its metadata and the creation policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetAccess {
    /// Keyward may create (absent) or update (ours, or merge) the Secret.
    Writable {
        exists: bool,
        /// The revision recorded on the Secret by the last write (`keyward.dev/revision`).
        mirrored_revision: Option<u64>,
        /// The data no longer matches the keyed HMAC Keyward wrote (edited by someone).
        drifted: bool,
    },
    /// Merge policy and the Secret does not exist yet: wait for its owner to create it.
    WaitForMerge,
    /// Keyward must not touch the Secret.
    Refused { reason: Reason, message: String },
}

/// Whether a generated value is due for rotation, decided from the schedule and the annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotationDecision {
    /// No rotation configured and no request pending.
    NotScheduled,
    /// Next rotation at `next`.
    NotDue { next: Timestamp },
    /// Rotate now. `trigger` identifies this occurrence (the due instant, or the annotation value) and
    /// goes into the operation token; `request` is the annotation value to record as handled;
    /// `next_after` is when the following rotation will be due if this one happens now.
    Due {
        cause: OperationCause,
        trigger: String,
        request: Option<String>,
        next_after: Option<Timestamp>,
    },
}

/// Everything the planner looks at.
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    pub intent: &'a Intent,
    pub status: &'a ManagedSecretStatus,
    pub remote: &'a RemoteObservation,
    pub source: &'a SourceObservation,
    pub target: &'a TargetAccess,
    pub rotation: &'a RotationDecision,
    pub now: Timestamp,
}

/// Where the value of a new version comes from (the executor produces it; the planner never sees it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFrom {
    /// Generate a fresh value from `spec.generate`.
    Generate,
    /// The payload built from the fromSecret source.
    Source,
}

/// Which revision the target Secret receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetRevision {
    /// The version created (or found by token) earlier in this plan.
    Created,
    /// An existing revision.
    Number(u64),
}

/// One action of a reconcile. The executor performs them in order and stops at the first failure.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Create the remote secret (after `find_secret` found none).
    CreateSecret(NewSecret),
    /// Bring description and tags in line with the spec.
    UpdateSecret(SecretUpdate),
    /// Turn deletion protection on or off.
    SetProtected(bool),
    /// Record the operation in status (`pendingOperation`) before the remote write.
    RecordPending {
        token: String,
        cause: OperationCause,
    },
    /// Create one version whose description is `token`.
    CreateVersion {
        token: String,
        cause: OperationCause,
        value: ValueFrom,
        /// The `keyward.dev/rotate` value this version answers, recorded as handled.
        request: Option<String>,
    },
    /// A retry found the version it created before: record it instead of creating another.
    RecordExistingVersion {
        revision: u64,
        cause: OperationCause,
        request: Option<String>,
    },
    /// Drop a pending operation whose version never appeared (the write did not happen).
    ClearPending,
    /// Write the target Secret with the payload of a revision.
    ApplyTarget {
        revision: TargetRevision,
        /// The write repairs data someone changed.
        drift_repair: bool,
    },
    /// Remove the Secret Keyward wrote under an earlier `target.name`.
    DeleteTarget { name: String },
}

/// Status fields the plan decides directly (the executor fills in what the steps produce).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StatusNotes {
    pub secret_id: Option<SecretId>,
    pub next_rotation: Option<Timestamp>,
    pub handled_force_sync: Option<String>,
    /// An annotation value to record as handled without rotating (present at creation).
    pub handled_rotate_request: Option<String>,
    pub source_digest: Option<String>,
    /// The revision the target holds when the plan applies nothing.
    pub mirrored_revision: Option<u64>,
}

/// The plan of one reconcile.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The Ready condition when every step succeeds.
    pub ready: DesiredCondition,
    /// When to reconcile again after success.
    pub requeue_after: Duration,
    pub notes: StatusNotes,
}

impl Plan {
    fn stop(input: &PlanInput<'_>, reason: Reason, message: impl Into<String>) -> Self {
        Plan {
            steps: Vec::new(),
            ready: DesiredCondition::not_ready(reason, message, input.intent.generation),
            requeue_after: input.intent.refresh_interval.min(WAIT_REQUEUE),
            notes: StatusNotes::default(),
        }
    }
}

/// The operation token of a version created for `cause`, identified by `trigger`.
///
/// Deterministic for one intent: the same trigger gives the same token, so a retry recognises its
/// own earlier write. Triggers chosen by people (annotation values) are hashed so the description
/// stays short and printable.
pub fn operation_token(
    namespace: &str,
    name: &str,
    cause: OperationCause,
    trigger: &str,
) -> String {
    let cause = match cause {
        OperationCause::Initial => "initial",
        OperationCause::Rotation => "rotation",
        OperationCause::Request => "request",
        OperationCause::Push => "push",
    };
    let digest = Sha256::digest(trigger.as_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{namespace}/{name}:{cause}:{short}")
}

/// Whether a version description was written by Keyward.
pub fn is_keyward_description(description: &str) -> bool {
    description.starts_with(TOKEN_PREFIX)
}

/// Decide the steps of one reconcile.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let intent = input.intent;

    // 1. The target must be ours to write before anything else is written.
    let (target_exists, mirrored_revision, drifted) = match input.target {
        TargetAccess::Refused { reason, message } => {
            return Plan::stop(input, *reason, message.clone());
        }
        TargetAccess::WaitForMerge => {
            return Plan::stop(
                input,
                Reason::Reconciling,
                format!(
                    "target Secret {} does not exist; creation policy Merge writes into an existing Secret, so Keyward waits for it",
                    intent.target.name
                ),
            );
        }
        TargetAccess::Writable {
            exists,
            mirrored_revision,
            drifted,
        } => (*exists, *mirrored_revision, *drifted),
    };

    // The source must be usable before it can produce a version.
    match input.source {
        SourceObservation::Missing { message } => {
            return Plan::stop(input, Reason::SourceNotFound, message.clone());
        }
        SourceObservation::Invalid { message } => {
            return Plan::stop(input, Reason::SourceInvalid, message.clone());
        }
        SourceObservation::NotUsed | SourceObservation::Present { .. } => {}
    }

    let mut steps = Vec::new();
    let mut notes = StatusNotes::default();

    // 2. The remote secret.
    let (secret, versions, latest_digest) = match (input.remote, &intent.remote) {
        (RemoteObservation::Missing, RemoteIntent::Adopt { secret_id, .. }) => {
            return Plan::stop(
                input,
                Reason::RemoteNotFound,
                format!(
                    "remote secret {secret_id} to adopt does not exist in the store's project and region"
                ),
            );
        }
        (RemoteObservation::Missing, RemoteIntent::ByName { .. }) => {
            return Plan::stop(
                input,
                Reason::RemoteNotFound,
                "the remote secret recorded in status no longer exists; Keyward looks it up by name and path again",
            );
        }
        (RemoteObservation::Absent, RemoteIntent::Adopt { secret_id, .. }) => {
            return Plan::stop(
                input,
                Reason::RemoteNotFound,
                format!("remote secret {secret_id} to adopt does not exist"),
            );
        }
        (RemoteObservation::Absent, RemoteIntent::ByName { new_secret, .. }) => {
            steps.push(Step::CreateSecret(new_secret.clone()));
            (None, &[][..], None)
        }
        (
            RemoteObservation::Found {
                secret,
                versions,
                latest_digest,
            },
            _,
        ) => (Some(secret), versions.as_slice(), latest_digest.as_deref()),
    };

    if let Some(secret) = secret {
        if secret.status == SecretStatus::Locked {
            return Plan::stop(
                input,
                Reason::RemoteLocked,
                format!(
                    "remote secret {} is locked by the provider; nothing can change until the lock is lifted",
                    secret.id
                ),
            );
        }
        if secret.managed_by_other_product {
            return Plan::stop(
                input,
                Reason::Conflict,
                format!(
                    "remote secret {} is managed by another product; Keyward does not take it over",
                    secret.id
                ),
            );
        }
        notes.secret_id = Some(secret.id.clone());
        let update = metadata_update(intent, secret);
        if !update.is_empty() {
            steps.push(Step::UpdateSecret(update));
        }
        if let Some(protected) = intent.metadata.protected
            && protected != secret.protected
        {
            steps.push(Step::SetProtected(protected));
        }
    }

    // 3. Versions.
    let mut created = false;
    let token_of =
        |cause, trigger: &str| operation_token(&intent.namespace, &intent.name, cause, trigger);
    let find_token = |token: &str| {
        versions
            .iter()
            .find(|v| v.description == token)
            .map(|v| v.revision)
    };

    // A write recorded as pending: find it, or forget it.
    let mut pending_resolved = false;
    if let Some(pending) = &input.status.pending_operation {
        if let Some(revision) = find_token(&pending.token) {
            steps.push(Step::RecordExistingVersion {
                revision,
                cause: pending.cause,
                request: pending_request(input, pending.cause),
            });
            created = true;
            pending_resolved = true;
        } else {
            steps.push(Step::ClearPending);
        }
    }

    if !pending_resolved {
        let wanted = wanted_version(input, versions, latest_digest);
        if let Some((cause, trigger, value, request)) = wanted {
            let token = token_of(cause, &trigger);
            // Push compares digests, so only the newest version can carry its token legitimately;
            // the other causes are unique per trigger and may be anywhere in the list.
            let existing = match cause {
                OperationCause::Push => versions
                    .first()
                    .filter(|v| v.description == token)
                    .map(|v| v.revision),
                _ => find_token(&token),
            };
            match existing {
                Some(revision) => steps.push(Step::RecordExistingVersion {
                    revision,
                    cause,
                    request,
                }),
                None => {
                    steps.push(Step::RecordPending {
                        token: token.clone(),
                        cause,
                    });
                    steps.push(Step::CreateVersion {
                        token,
                        cause,
                        value,
                        request,
                    });
                }
            }
            created = true;
            if cause == OperationCause::Initial {
                notes.handled_rotate_request = intent.rotate_request.clone();
            }
        }
    }
    if let SourceObservation::Present { digest } = input.source {
        notes.source_digest = Some(digest.clone());
    }

    // Rotation schedule for status and requeue.
    let next_rotation = match input.rotation {
        RotationDecision::NotScheduled => None,
        RotationDecision::NotDue { next } => Some(*next),
        RotationDecision::Due { next_after, .. } => *next_after,
    };
    notes.next_rotation = next_rotation;

    // 4. Which revision the target mirrors.
    let mirror = if created {
        Some(TargetRevision::Created)
    } else {
        revision_to_mirror(input, versions).map(TargetRevision::Number)
    };
    let Some(mirror) = mirror else {
        let message = match (&intent.source, versions.is_empty()) {
            (_, false) => "the remote secret has no enabled version to mirror; enable one or create a new version".to_owned(),
            (SourceIntent::Follow, true) => "the remote secret has no version yet; Keyward mirrors the first one created in the Secret Manager".to_owned(),
            (_, true) => "the remote secret has no version yet".to_owned(),
        };
        let mut plan = Plan::stop(input, Reason::Reconciling, message);
        plan.steps = steps;
        plan.notes = notes;
        return plan;
    };

    let force_sync = intent
        .force_sync
        .as_ref()
        .filter(|v| input.status.handled_force_sync.as_ref() != Some(*v));
    notes.handled_force_sync = intent.force_sync.clone();
    let spec_changed = input.status.observed_generation != intent.generation;
    let target_renamed = input
        .status
        .target_name
        .as_ref()
        .filter(|old| **old != intent.target.name)
        .cloned();
    let needs_apply = match mirror {
        TargetRevision::Created => true,
        TargetRevision::Number(n) => {
            !target_exists
                || mirrored_revision != Some(n)
                || drifted
                || spec_changed
                || force_sync.is_some()
                || target_renamed.is_some()
        }
    };
    if needs_apply {
        steps.push(Step::ApplyTarget {
            revision: mirror,
            drift_repair: target_exists && drifted,
        });
    } else if let TargetRevision::Number(n) = mirror {
        notes.mirrored_revision = Some(n);
    }
    if let Some(old) = target_renamed {
        steps.push(Step::DeleteTarget { name: old });
    }

    // 5. Report and requeue.
    let mut requeue_after = intent.refresh_interval;
    if let Some(next) = next_rotation {
        requeue_after = requeue_after.min(until(input.now, next));
    }
    let ready = DesiredCondition::ready(
        Reason::Synced,
        format!(
            "remote secret in step with Secret {}; next refresh in {}s",
            intent.target.name,
            intent.refresh_interval.as_secs()
        ),
        intent.generation,
    );
    Plan {
        steps,
        ready,
        requeue_after,
        notes,
    }
}

/// The new version this reconcile wants, if any: (cause, trigger, value source, request handled).
fn wanted_version(
    input: &PlanInput<'_>,
    versions: &[RemoteVersion],
    latest_digest: Option<&str>,
) -> Option<(OperationCause, String, ValueFrom, Option<String>)> {
    let intent = input.intent;
    match &intent.source {
        SourceIntent::Follow => None,
        SourceIntent::Generate => {
            if versions.is_empty() {
                return Some((
                    OperationCause::Initial,
                    "initial".into(),
                    ValueFrom::Generate,
                    None,
                ));
            }
            match input.rotation {
                RotationDecision::Due {
                    cause,
                    trigger,
                    request,
                    ..
                } => Some((
                    *cause,
                    trigger.clone(),
                    ValueFrom::Generate,
                    request.clone(),
                )),
                _ => None,
            }
        }
        SourceIntent::FromSecret => {
            let SourceObservation::Present { digest } = input.source else {
                return None;
            };
            if versions.is_empty() {
                return Some((
                    OperationCause::Initial,
                    digest.clone(),
                    ValueFrom::Source,
                    None,
                ));
            }
            // Compare with the payload the secret serves now; an unreadable latest (no digest)
            // counts as different, so a push still lands.
            if latest_digest == Some(digest.as_str()) {
                None
            } else {
                Some((
                    OperationCause::Push,
                    digest.clone(),
                    ValueFrom::Source,
                    None,
                ))
            }
        }
    }
}

/// The annotation value a pending request answered (when it is still the annotation's value).
fn pending_request(input: &PlanInput<'_>, cause: OperationCause) -> Option<String> {
    match cause {
        OperationCause::Request => input.intent.rotate_request.clone(),
        OperationCause::Initial => input.intent.rotate_request.clone(),
        _ => None,
    }
}

/// The revision to mirror when no version is created: with an adopted Terraform revision, that
/// revision until a version newer than the ManagedSecret appears; otherwise the highest enabled one.
fn revision_to_mirror(input: &PlanInput<'_>, versions: &[RemoteVersion]) -> Option<u64> {
    let latest_enabled = |after: Option<Timestamp>| {
        versions
            .iter()
            .filter(|v| v.status == VersionStatus::Enabled)
            .filter(|v| match (after, v.created_at) {
                (Some(after), Some(created)) => created > after,
                (Some(_), None) => false,
                (None, _) => true,
            })
            .map(|v| v.revision)
            .max()
    };
    if let RemoteIntent::Adopt {
        first_revision: Some(crate::remote_types::RevisionSelector::Number(n)),
        ..
    } = &input.intent.remote
    {
        let pinned = versions
            .iter()
            .find(|v| v.revision == *n && v.status == VersionStatus::Enabled)
            .map(|v| v.revision);
        // creationTimestamp has whole seconds: a version of the same second predates it.
        let adopted_at = input
            .intent
            .created_at
            .and_then(|t| t.checked_add(jiff::SignedDuration::from_secs(1)).ok())
            .unwrap_or(Timestamp::MAX);
        return latest_enabled(Some(adopted_at))
            .or(pinned)
            .or_else(|| latest_enabled(None));
    }
    latest_enabled(None)
}

fn metadata_update(intent: &Intent, secret: &RemoteSecret) -> SecretUpdate {
    let mut update = SecretUpdate::default();
    if let Some(description) = &intent.metadata.description
        && *description != secret.description
    {
        update.description = Some(description.clone());
    }
    if let Some(tags) = &intent.metadata.tags {
        let mut want = tags.clone();
        let mut have = secret.tags.clone();
        want.sort();
        have.sort();
        if want != have {
            update.tags = Some(tags.clone());
        }
    }
    update
}

fn until(now: Timestamp, then: Timestamp) -> Duration {
    Duration::try_from(now.duration_until(then)).unwrap_or(Duration::ZERO)
}
