//! The planner: a pure function from (intent, status, observations, provider capabilities, rotation
//! decision, now) to the ordered steps a reconcile performs, the condition it reports when every
//! step succeeds, and when to look again. No I/O and no clock reads, so every decision is
//! table-tested (`tests.rs`). [`conclude`] turns a plan and what the executor did into the whole
//! status, the Events and the requeue; [`cleanup`] plans deletion; [`backoff`] paces failures.
//!
//! Rules, in the order they are applied:
//! 1. A target Secret Keyward may not write (another ManagedSecret's, someone else's) stops the plan
//!    before any remote write: the ManagedSecret reports `Conflict` and writes nothing.
//! 2. The remote secret is found by name and folder (or by id when adopted) before anything is
//!    created, so a second secret with the same name and folder is never made. A secret found by
//!    name must carry Keyward's owner mark for this object; one without it is never taken over
//!    (`RemoteNotOwned`: adopt it explicitly), one marked for another object is a `Conflict`. An
//!    adopted secret is never created, and under a per-namespace store folder it must lie in the
//!    namespace's folder.
//! 3. A remote write that creates a version carries a deterministic operation token
//!    (`keyward:<namespace>/<name>:<cause>:<trigger>`): in the version description where the
//!    provider keeps one, and in status (`pendingOperation`) before it is sent, once. A retry
//!    first looks for the token among the versions (or, without descriptions, compares the newest
//!    version's digest with the recorded one) and records the version it finds instead of
//!    creating another.
//! 4. Version 1 comes from the source only when the secret has no version at all; a generated source
//!    rotates when the rotation decision says so; a pushed source creates one version when its digest
//!    differs from the digest of the current remote revision.
//! 5. The target Secret is (re)applied when it is missing, holds another revision, drifted, the spec
//!    changed, or a force-sync was asked for. Nothing in a plan ever deletes or blanks the Secret
//!    because of a provider problem: failures stop the executor before `ApplyTarget`.
//! 6. When the remote secret's fingerprint is the one status recorded and nothing else asks for
//!    them, the versions are not needed: the plan says so ([`Decision::Steady`] inputs without
//!    versions), and a steady-state reconcile costs no provider call.

pub mod backoff;
pub mod cleanup;
pub mod conclude;
#[cfg(test)]
mod tests;

use std::time::Duration;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::api::conditions::{DesiredCondition, Reason};
use crate::api::{ManagedSecretStatus, OperationCause};
use crate::provider::{
    Capabilities, NewSecret, OwnerMark, RemoteSecret, RemoteVersion, SecretId, SecretStatus,
    SecretUpdate, VersionStatus,
};
use crate::stores::snapshot::fingerprint;

pub use crate::rotation::RotationDecision;

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
    /// No live secret with the intent's name and folder (only possible for `RemoteIntent::ByName`).
    Absent,
    /// The adopted secret (or the one recorded in status) does not exist.
    Missing,
    /// The secret; its versions (highest revision first) when they were listed; and the keyed
    /// digest of the payload of its latest enabled version when the planner needs it (push, and
    /// recovery without version descriptions).
    Found {
        secret: RemoteSecret,
        versions: Option<Vec<RemoteVersion>>,
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
        /// The previous revision whose keys the Secret also holds (`keyward.dev/previous-revision`).
        previous_revision: Option<u64>,
    },
    /// Merge policy and the Secret does not exist yet: wait for its owner to create it.
    WaitForMerge,
    /// Keyward must not touch the Secret.
    Refused { reason: Reason, message: String },
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
    /// What the store's provider can do.
    pub capabilities: Capabilities,
    /// The mark this object puts on what it creates.
    pub owner: &'a OwnerMark,
    /// The folder this namespace's remote secrets live under (`/` unless the store is
    /// per-namespace).
    pub folder: &'a str,
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

/// A new version: its token, why, where its value comes from, and the annotation value it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionWrite {
    pub token: String,
    pub cause: OperationCause,
    pub value: ValueFrom,
    /// The `keyward.dev/rotate` value this version answers, recorded as handled.
    pub request: Option<String>,
}

/// One action of a reconcile. The executor performs them in order and stops at the first failure.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Create the remote secret (after the lookup found none), without a version.
    CreateSecret(NewSecret),
    /// Create the remote secret and its version 1 in one call (providers whose create takes the
    /// first value).
    CreateSecretWithVersion {
        secret: NewSecret,
        version: VersionWrite,
    },
    /// Bring description, tags and the owner mark in line with the spec.
    UpdateSecret(SecretUpdate),
    /// Turn deletion protection on or off.
    SetProtected(bool),
    /// Record the operation in status (`pendingOperation`) before the remote write. With
    /// `value_digest`, the value is produced first (from there) and its digest recorded too
    /// (providers without version descriptions).
    RecordPending {
        token: String,
        cause: OperationCause,
        value_digest: Option<ValueFrom>,
    },
    /// Create one version (carrying its token as description where the provider keeps one).
    CreateVersion(VersionWrite),
    /// A retry found the version it created before: record it instead of creating another.
    RecordExistingVersion {
        revision: u64,
        cause: OperationCause,
        request: Option<String>,
    },
    /// Drop a pending operation whose version never appeared and is no longer wanted.
    ClearPending,
    /// Write the target Secret with the payload of a revision.
    ApplyTarget {
        revision: TargetRevision,
        /// The write repairs data someone changed.
        drift_repair: bool,
        /// The previous revision whose keys the Secret carries too (`target.includePrevious`).
        previous: Option<u64>,
    },
    /// Remove the Secret Keyward wrote under an earlier `target.name`.
    DeleteTarget { name: String },
}

impl Step {
    /// The step's name in Events and logs.
    pub fn action(&self) -> &'static str {
        match self {
            Step::CreateSecret(_) => "CreateSecret",
            Step::CreateSecretWithVersion { .. } => "CreateSecret",
            Step::UpdateSecret(_) => "UpdateSecret",
            Step::SetProtected(_) => "SetProtected",
            Step::RecordPending { .. } => "RecordPending",
            Step::CreateVersion(_) => "CreateVersion",
            Step::RecordExistingVersion { .. } => "RecordVersion",
            Step::ClearPending => "ClearPending",
            Step::ApplyTarget { .. } => "ApplyTarget",
            Step::DeleteTarget { .. } => "DeleteTarget",
        }
    }
}

/// Status fields the plan decides directly (the executor's results fill in the rest).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PlanNotes {
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
    /// When to reconcile again after success (the caller also bounds it by the next full check).
    pub requeue_after: Duration,
    pub notes: PlanNotes,
}

/// What the planner decided: a plan, or that it needs the versions first.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Act(Plan),
    /// List the versions (and, for a push or a recovery, the latest payload's digest), then plan
    /// again.
    NeedVersions,
}

impl Plan {
    fn stop(input: &PlanInput<'_>, reason: Reason, message: impl Into<String>) -> Self {
        Plan {
            steps: Vec::new(),
            ready: DesiredCondition::not_ready(reason, message, input.intent.generation),
            requeue_after: input.intent.refresh_interval.min(WAIT_REQUEUE),
            notes: PlanNotes::default(),
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

/// Whether the reconcile must read the latest payload's digest once versions are listed: for a
/// push (compare with the source), and to recover a pending write on a provider that keeps no
/// version descriptions.
pub fn needs_latest_digest(
    input_source: SourceIntent,
    status: &ManagedSecretStatus,
    capabilities: Capabilities,
) -> bool {
    input_source == SourceIntent::FromSecret
        || (!capabilities.version_descriptions && status.pending_operation.is_some())
}

/// Decide the steps of one reconcile.
pub fn plan(input: &PlanInput<'_>) -> Decision {
    let intent = input.intent;

    // 1. The target must be ours to write before anything else is written.
    let (target_exists, mirrored_revision, drifted) = match input.target {
        TargetAccess::Refused { reason, message } => {
            return Decision::Act(Plan::stop(input, *reason, message.clone()));
        }
        TargetAccess::WaitForMerge => {
            return Decision::Act(Plan::stop(
                input,
                Reason::Reconciling,
                format!(
                    "target Secret {} does not exist; creation policy Merge writes into an existing Secret, so Keyward waits for it",
                    intent.target.name
                ),
            ));
        }
        TargetAccess::Writable {
            exists,
            mirrored_revision,
            drifted,
            ..
        } => (*exists, *mirrored_revision, *drifted),
    };

    // The source must be usable before it can produce a version.
    match input.source {
        SourceObservation::Missing { message } => {
            return Decision::Act(Plan::stop(input, Reason::SourceNotFound, message.clone()));
        }
        SourceObservation::Invalid { message } => {
            return Decision::Act(Plan::stop(input, Reason::SourceInvalid, message.clone()));
        }
        SourceObservation::NotUsed | SourceObservation::Present { .. } => {}
    }
    if intent.metadata.protected == Some(true) && !input.capabilities.protection {
        return Decision::Act(Plan::stop(
            input,
            Reason::InvalidSpec,
            "remote.protected: the store's provider has no deletion protection; remove remote.protected",
        ));
    }

    let mut steps = Vec::new();
    let mut notes = PlanNotes::default();

    // 2. The remote secret.
    let (secret, versions, latest_digest) = match (input.remote, &intent.remote) {
        (RemoteObservation::Missing, RemoteIntent::Adopt { secret_id, .. }) => {
            return Decision::Act(Plan::stop(
                input,
                Reason::RemoteNotFound,
                // Not "deleted": a provider may answer a missing permission the same way (OCI's
                // 404 NotAuthorizedOrNotFound).
                format!(
                    "remote secret {secret_id} to adopt was not found in the store's scope and region (deleted, or not visible to the store's credentials)"
                ),
            ));
        }
        (RemoteObservation::Missing, RemoteIntent::ByName { .. }) => {
            return Decision::Act(Plan::stop(
                input,
                Reason::RemoteNotFound,
                "the remote secret recorded in status no longer exists; Keyward looks it up by name and folder again",
            ));
        }
        (RemoteObservation::Absent, RemoteIntent::Adopt { secret_id, .. }) => {
            return Decision::Act(Plan::stop(
                input,
                Reason::RemoteNotFound,
                format!("remote secret {secret_id} to adopt does not exist"),
            ));
        }
        (RemoteObservation::Absent, RemoteIntent::ByName { new_secret, .. }) => {
            let secret = NewSecret {
                owner: Some(input.owner.clone()),
                ..new_secret.clone()
            };
            if input.capabilities.create_requires_initial_version {
                return Decision::Act(create_with_version(input, secret));
            }
            steps.push(Step::CreateSecret(secret));
            (None, Some(&[][..]), None)
        }
        (
            RemoteObservation::Found {
                secret,
                versions,
                latest_digest,
            },
            _,
        ) => (Some(secret), versions.as_deref(), latest_digest.as_deref()),
    };

    if let Some(secret) = secret {
        if let Some(stop) = refuse_remote(input, secret) {
            return Decision::Act(stop);
        }
        notes.secret_id = Some(secret.id.clone());
        let update = metadata_update(input, secret);
        if !update.is_empty() && input.capabilities.update_metadata {
            steps.push(Step::UpdateSecret(update));
        }
        if let Some(protected) = intent.metadata.protected
            && protected != secret.protected
            && input.capabilities.protection
        {
            steps.push(Step::SetProtected(protected));
        }
    }

    let Some(versions) = versions else {
        // Versions not listed: act without them only when nothing needs them.
        let secret = secret.expect("only a found secret comes without versions");
        if needs_versions(input, secret) {
            return Decision::NeedVersions;
        }
        return Decision::Act(steady(input, steps, notes));
    };

    // 3. Versions.
    let mut created = false;
    let token_of =
        |cause, trigger: &str| operation_token(&intent.namespace, &intent.name, cause, trigger);

    // A write recorded as pending: find it, or (if no longer wanted) forget it.
    let wanted = wanted_version(input, versions, latest_digest);
    let mut pending_resolved = false;
    let mut pending_kept = false;
    if let Some(pending) = &input.status.pending_operation {
        match find_written(input, versions, latest_digest, pending) {
            Some(revision) => {
                steps.push(Step::RecordExistingVersion {
                    revision,
                    cause: pending.cause,
                    request: pending_request(input, pending.cause),
                });
                created = true;
                pending_resolved = true;
            }
            None => {
                let same = wanted.as_ref().is_some_and(|(cause, trigger, _, _)| {
                    token_of(*cause, trigger) == pending.token
                });
                if !same {
                    steps.push(Step::ClearPending);
                } else if input.capabilities.version_descriptions {
                    // Still wanted: the record stands; write once more without recording again.
                    pending_kept = true;
                }
                // (Without descriptions the record names the value's digest, and a new attempt
                // makes a new value: it is recorded again, over the old record.)
            }
        }
    }

    if !pending_resolved && let Some((cause, trigger, value, request)) = wanted {
        let token = token_of(cause, &trigger);
        // Push compares digests, so only the newest version can carry its token legitimately;
        // the other causes are unique per trigger and may be anywhere in the list.
        let existing = if !input.capabilities.version_descriptions {
            None
        } else {
            match cause {
                OperationCause::Push => versions
                    .first()
                    .filter(|v| v.description == token)
                    .map(|v| v.revision),
                _ => versions
                    .iter()
                    .find(|v| v.description == token)
                    .map(|v| v.revision),
            }
        };
        match existing {
            Some(revision) => steps.push(Step::RecordExistingVersion {
                revision,
                cause,
                request,
            }),
            None => {
                if !pending_kept {
                    steps.push(Step::RecordPending {
                        token: token.clone(),
                        cause,
                        value_digest: (!input.capabilities.version_descriptions).then_some(value),
                    });
                }
                steps.push(Step::CreateVersion(VersionWrite {
                    token,
                    cause,
                    value,
                    request,
                }));
            }
        }
        created = true;
        if cause == OperationCause::Initial {
            notes.handled_rotate_request = intent.rotate_request.clone();
        }
    }
    if let SourceObservation::Present { digest } = input.source {
        notes.source_digest = Some(digest.clone());
    }
    notes.next_rotation = next_rotation(input.rotation);

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
        return Decision::Act(plan);
    };

    let force_sync = new_force_sync(input);
    notes.handled_force_sync = intent.force_sync.clone();
    let spec_changed = input.status.observed_generation != intent.generation;
    let target_renamed = renamed_target(input);
    let previous = previous_to_carry(input, mirror);
    let needs_apply = match mirror {
        TargetRevision::Created => true,
        TargetRevision::Number(n) => {
            !target_exists
                || mirrored_revision != Some(n)
                || drifted
                || spec_changed
                || force_sync
                || target_renamed.is_some()
                || previous != carried_previous(input)
        }
    };
    if needs_apply {
        steps.push(Step::ApplyTarget {
            revision: mirror,
            drift_repair: target_exists && drifted,
            previous,
        });
    } else if let TargetRevision::Number(n) = mirror {
        notes.mirrored_revision = Some(n);
    }
    if let Some(old) = target_renamed {
        steps.push(Step::DeleteTarget { name: old });
    }

    // 5. Report and requeue.
    Decision::Act(Plan {
        requeue_after: requeue_at_next_rotation(input, notes.next_rotation),
        steps,
        ready: synced(input),
        notes,
    })
}

/// Providers that create version 1 with the secret: one call for both, announced first.
fn create_with_version(input: &PlanInput<'_>, secret: NewSecret) -> Plan {
    let intent = input.intent;
    let (value, trigger) = match (&intent.source, input.source) {
        (SourceIntent::FromSecret, SourceObservation::Present { digest }) => {
            (ValueFrom::Source, digest.clone())
        }
        (SourceIntent::Generate, _) => (ValueFrom::Generate, "initial".to_owned()),
        _ => {
            return Plan::stop(
                input,
                Reason::InvalidSpec,
                "the store's provider creates a secret together with its first value: following a secret that does not exist yet needs generate or fromSecret",
            );
        }
    };
    let token = operation_token(
        &intent.namespace,
        &intent.name,
        OperationCause::Initial,
        &trigger,
    );
    let notes = PlanNotes {
        handled_rotate_request: intent.rotate_request.clone(),
        source_digest: match input.source {
            SourceObservation::Present { digest } => Some(digest.clone()),
            _ => None,
        },
        next_rotation: next_rotation(input.rotation),
        handled_force_sync: intent.force_sync.clone(),
        ..Default::default()
    };
    Plan {
        steps: vec![
            Step::RecordPending {
                token: token.clone(),
                cause: OperationCause::Initial,
                value_digest: (!input.capabilities.version_descriptions).then_some(value),
            },
            Step::CreateSecretWithVersion {
                secret,
                version: VersionWrite {
                    token,
                    cause: OperationCause::Initial,
                    value,
                    request: None,
                },
            },
            Step::ApplyTarget {
                revision: TargetRevision::Created,
                drift_repair: false,
                previous: None,
            },
        ],
        ready: synced(input),
        requeue_after: requeue_at_next_rotation(input, notes.next_rotation),
        notes,
    }
}

/// A found secret Keyward must not act on: locked, another product's, not Keyward's, or outside
/// the namespace's folder.
fn refuse_remote(input: &PlanInput<'_>, secret: &RemoteSecret) -> Option<Plan> {
    if secret.status == SecretStatus::Locked {
        return Some(Plan::stop(
            input,
            Reason::RemoteLocked,
            format!(
                "remote secret {} is locked by the provider; nothing can change until the lock is lifted",
                secret.id
            ),
        ));
    }
    if secret.managed_by_other_product {
        return Some(Plan::stop(
            input,
            Reason::Conflict,
            format!(
                "remote secret {} is managed by another product; Keyward does not take it over",
                secret.id
            ),
        ));
    }
    let writes = input.intent.source != SourceIntent::Follow;
    match (&input.intent.remote, &secret.owner) {
        (RemoteIntent::ByName { .. }, Some(owner)) if owner != input.owner => Some(Plan::stop(
            input,
            Reason::Conflict,
            format!(
                "remote secret {} ({}) belongs to {owner}; give this ManagedSecret another remote.name or remote.path",
                secret.id,
                place(secret)
            ),
        )),
        (RemoteIntent::ByName { .. }, None) if !created_by_earlier_keyward(input, secret) => {
            Some(Plan::stop(
                input,
                Reason::RemoteNotOwned,
                format!(
                    "remote secret {} ({}) already exists and was not created by Keyward for this ManagedSecret; Keyward does not take it over. To manage it, adopt it explicitly with spec.remote.adopt.secretId: {}, or choose another remote.name or remote.path",
                    secret.id,
                    place(secret),
                    secret.id
                ),
            ))
        }
        (RemoteIntent::Adopt { .. }, _) if !in_folder(&secret.path, input.folder) => {
            Some(Plan::stop(
                input,
                Reason::StoreNotAllowed,
                format!(
                    "remote secret {} is in folder {}, outside this namespace's folder {} of the store (remotePaths: PerNamespace)",
                    secret.id, secret.path, input.folder
                ),
            ))
        }
        (RemoteIntent::Adopt { .. }, Some(owner)) if writes && owner != input.owner => {
            Some(Plan::stop(
                input,
                Reason::Conflict,
                format!(
                    "remote secret {} belongs to {owner}; an adopting ManagedSecret may only follow it (remove generate and fromSecret)",
                    secret.id
                ),
            ))
        }
        _ => None,
    }
}

/// A secret without the mark that status says this object created (before Keyward marked what it
/// creates): the mark is added, not refused.
fn created_by_earlier_keyward(input: &PlanInput<'_>, secret: &RemoteSecret) -> bool {
    input.status.secret_id.as_deref() == Some(secret.id.as_str())
        && !input.status.managed_revisions.is_empty()
}

fn place(secret: &RemoteSecret) -> String {
    if secret.path.ends_with('/') {
        format!("{}{}", secret.path, secret.name)
    } else {
        format!("{}/{}", secret.path, secret.name)
    }
}

/// Whether `path` lies in `folder` (`/team-a` holds `/team-a` and `/team-a/x`, not `/team-ab`).
pub fn in_folder(path: &str, folder: &str) -> bool {
    let folder = folder.trim_end_matches('/');
    folder.is_empty()
        || path == folder
        || path
            .strip_prefix(folder)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The previous revision the target Secret holds alongside, as its annotation says.
fn carried_previous(input: &PlanInput<'_>) -> Option<u64> {
    match input.target {
        TargetAccess::Writable {
            previous_revision, ..
        } => *previous_revision,
        _ => None,
    }
}

/// Which previous revision the target Secret should carry (`target.includePrevious`): the one a
/// new revision replaces, and afterwards the one it carries while status still calls it
/// `Previous` (its grace period); none once it is retired.
fn previous_to_carry(input: &PlanInput<'_>, mirror: TargetRevision) -> Option<u64> {
    use crate::api::lifecycle::Stage;
    if !input.intent.target.include_previous {
        return None;
    }
    let TargetAccess::Writable {
        mirrored_revision,
        previous_revision,
        ..
    } = input.target
    else {
        return None;
    };
    let replaced = match mirror {
        TargetRevision::Created => *mirrored_revision,
        TargetRevision::Number(n) => mirrored_revision.filter(|m| *m != n),
    };
    if replaced.is_some() {
        return replaced;
    }
    previous_revision.filter(|p| {
        input
            .status
            .revisions
            .iter()
            .any(|r| u64::from(r.revision) == *p && r.stage == Stage::Previous)
    })
}

/// Whether a plan without listed versions would be wrong: something may need a new version, a
/// recorded operation, or a target write.
fn needs_versions(input: &PlanInput<'_>, secret: &RemoteSecret) -> bool {
    let status = input.status;
    let (target_exists, mirrored, drifted) = match input.target {
        TargetAccess::Writable {
            exists,
            mirrored_revision,
            drifted,
            ..
        } => (*exists, *mirrored_revision, *drifted),
        _ => (false, None, false),
    };
    if let Some(m) = mirrored
        && previous_to_carry(input, TargetRevision::Number(m)) != carried_previous(input)
    {
        // The previous revision's grace period ended (or began): the Secret is rewritten.
        return true;
    }
    let push_changed = match input.source {
        SourceObservation::Present { digest } => status.source_digest.as_ref() != Some(digest),
        _ => false,
    };
    status.pending_operation.is_some()
        || status.observed_generation != input.intent.generation
        || status.remote_fingerprint.as_deref() != Some(fingerprint(secret).as_str())
        || status.secret_id.as_deref() != Some(secret.id.as_str())
        || status.current_revision.is_none()
        || matches!(
            input.rotation,
            RotationDecision::Due { .. } | RotationDecision::Unknown
        )
        || push_changed
        || !target_exists
        || mirrored != status.current_revision.map(u64::from)
        || drifted
        || new_force_sync(input)
        || renamed_target(input).is_some()
}

/// The plan when nothing changed since status was written: metadata only.
fn steady(input: &PlanInput<'_>, steps: Vec<Step>, mut notes: PlanNotes) -> Plan {
    notes.mirrored_revision = input.status.current_revision.map(u64::from);
    notes.next_rotation = next_rotation(input.rotation);
    notes.handled_force_sync = input.intent.force_sync.clone();
    if let SourceObservation::Present { digest } = input.source {
        notes.source_digest = Some(digest.clone());
    }
    Plan {
        requeue_after: requeue_at_next_rotation(input, notes.next_rotation),
        steps,
        ready: synced(input),
        notes,
    }
}

fn synced(input: &PlanInput<'_>) -> DesiredCondition {
    DesiredCondition::ready(
        Reason::Synced,
        format!(
            "remote secret in step with Secret {}",
            input.intent.target.name
        ),
        input.intent.generation,
    )
}

fn next_rotation(rotation: &RotationDecision) -> Option<Timestamp> {
    match rotation {
        RotationDecision::NotScheduled | RotationDecision::Unknown => None,
        RotationDecision::NotDue { next } => Some(*next),
        RotationDecision::Due { next_after, .. } => *next_after,
    }
}

/// A success looks again at the next rotation (the sweep handles refreshes; the caller bounds the
/// wait by the object's next full check).
fn requeue_at_next_rotation(input: &PlanInput<'_>, next: Option<Timestamp>) -> Duration {
    match next {
        Some(next) => crate::rotation::until_due(input.now, next),
        None => Duration::MAX,
    }
}

fn new_force_sync(input: &PlanInput<'_>) -> bool {
    input
        .intent
        .force_sync
        .as_ref()
        .is_some_and(|v| input.status.handled_force_sync.as_ref() != Some(v))
}

fn renamed_target(input: &PlanInput<'_>) -> Option<String> {
    input
        .status
        .target_name
        .as_ref()
        .filter(|old| **old != input.intent.target.name)
        .cloned()
}

/// The version a recorded pending write produced, if it happened: found by its token where the
/// provider keeps descriptions, else by the newest version's digest.
fn find_written(
    input: &PlanInput<'_>,
    versions: &[RemoteVersion],
    latest_digest: Option<&str>,
    pending: &crate::api::PendingOperation,
) -> Option<u64> {
    if input.capabilities.version_descriptions {
        return versions
            .iter()
            .find(|v| v.description == pending.token)
            .map(|v| v.revision);
    }
    let newest = versions.first()?;
    let recorded = pending.value_digest.as_deref()?;
    let created_after = match (newest.created_at, Some(pending.started_at.0)) {
        (Some(created), Some(started)) => created >= started,
        _ => true,
    };
    (latest_digest == Some(recorded) && created_after).then_some(newest.revision)
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
        first_revision: Some(crate::provider::RevisionSelector::Number(n)),
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

/// Description, tags and (on what Keyward created) the owner mark, where they differ.
fn metadata_update(input: &PlanInput<'_>, secret: &RemoteSecret) -> SecretUpdate {
    let intent = input.intent;
    let mut update = SecretUpdate::default();
    if let Some(description) = &intent.metadata.description
        && *description != secret.description
    {
        update.description = Some(description.clone());
    }
    let tags_differ = intent.metadata.tags.as_ref().is_some_and(|tags| {
        let mut want = tags.clone();
        let mut have = secret.tags.clone();
        want.sort();
        have.sort();
        want != have
    });
    let mark_missing = matches!(intent.remote, RemoteIntent::ByName { .. })
        && secret.owner.is_none()
        && input.capabilities.owner_marks;
    if tags_differ || mark_missing {
        // The mark lives beside the tags: send both, so neither is lost.
        update.tags = Some(
            intent
                .metadata
                .tags
                .clone()
                .unwrap_or_else(|| secret.tags.clone()),
        );
        if matches!(intent.remote, RemoteIntent::ByName { .. }) {
            update.owner = Some(input.owner.clone());
        } else {
            update.owner = secret.owner.clone();
        }
    }
    update
}
