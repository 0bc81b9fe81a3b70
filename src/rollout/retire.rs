//! Retirement of superseded versions, as a pure decision.
//!
//! Rules:
//! 1. Nothing is retired before the current revision's rollout is confirmed (every workload runs
//!    it), and never the current version.
//! 2. When the grace period after confirmation ends, every enabled superseded version Keyward may
//!    retire is disabled (or, on a provider that cannot disable, removed at once). With
//!    `maxEnabledVersions`, versions beyond the limit are disabled at confirmation without waiting
//!    for the grace period, except the newest superseded one.
//! 3. A version Keyward disabled is removed when the retention period after that ends, and only
//!    if it is still disabled (someone who enabled it again wants it).
//! 4. Keyward may retire a version it created: its description carries Keyward's operation token,
//!    or (on a provider without version descriptions) the revision is among `managed_revisions`,
//!    which the caller fills only while the remote secret carries this object's owner mark. `includeUnmanaged` extends this to every version. Others are `Kept`, with
//!    one Event saying why.
//! 5. The versions are listed only when something is due, so a settled pipeline costs no call.
//! 6. Where the provider cannot remove the newest superseded version
//!    (`Capabilities::removal_spares_previous`, OCI's `PREVIOUS`), it stays `Previous` until a
//!    newer revision supersedes it, and does not make retirement due meanwhile.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::lifecycle::{RevisionStage, Stage};
use crate::controller::events::EventNote;
use crate::controller::plan::is_keyward_description;
use crate::provider::{Capabilities, RemoteVersion, VersionStatus};
use crate::rotation::{later, until_due};

use super::pipeline::PipelineStep;

/// `spec.retirement`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetirementIntent {
    pub grace: Duration,
    pub retention: Duration,
    pub max_enabled: Option<u32>,
    pub include_unmanaged: bool,
}

/// Removed and kept revisions remembered in status at most (live ones are always listed).
pub const ENDED_KEPT: usize = 4;

#[derive(Clone, Debug)]
pub struct RetireInput<'a> {
    pub intent: &'a RetirementIntent,
    pub current: u32,
    pub confirmed_at: Option<Timestamp>,
    /// The current revision reached the Secret in this reconcile.
    pub new_revision: bool,
    pub revisions: &'a [RevisionStage],
    pub versions: Option<&'a [RemoteVersion]>,
    pub managed_revisions: &'a [u32],
    pub capabilities: Capabilities,
    pub secret_id: &'a str,
    pub now: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RetireDecision {
    NeedVersions,
    Act {
        steps: Vec<PipelineStep>,
        revisions: Vec<RevisionStage>,
        events: Vec<EventNote>,
        requeue: Option<Duration>,
    },
}

/// Plan retirement.
pub fn plan_retirement(input: &RetireInput<'_>) -> RetireDecision {
    let now = input.now;
    let intent = input.intent;
    let grace_end = input.confirmed_at.map(|t| later(t, intent.grace));
    let grace_over = grace_end.is_some_and(|end| now >= end);
    let confirmed_now = input.confirmed_at == Some(now);
    let removal_due =
        |r: &RevisionStage| r.stage == Stage::Disabled && now >= later(r.since.0, intent.retention);
    let spares_previous =
        input.capabilities.removal_spares_previous && !input.capabilities.disable_versions;
    // The newest revision still Previous, which such a provider cannot remove yet.
    let spared = spares_previous
        .then(|| {
            input
                .revisions
                .iter()
                .filter(|r| r.stage == Stage::Previous)
                .map(|r| r.revision)
                .max()
        })
        .flatten();
    let due = (grace_over
        && input
            .revisions
            .iter()
            .any(|r| r.stage == Stage::Previous && Some(r.revision) != spared))
        || input.revisions.iter().any(removal_due)
        || (intent.max_enabled.is_some() && confirmed_now)
        || (grace_over && input.new_revision);
    let mut requeue: Option<Duration> = None;
    let mut wake_at = |at: Timestamp| {
        let d = until_due(now, at);
        requeue = Some(requeue.map_or(d, |r| r.min(d)));
    };
    if !due {
        if let Some(end) = grace_end
            && input
                .revisions
                .iter()
                .any(|r| r.stage == Stage::Previous && Some(r.revision) != spared)
        {
            wake_at(end);
        }
        for r in input
            .revisions
            .iter()
            .filter(|r| r.stage == Stage::Disabled)
        {
            wake_at(later(r.since.0, intent.retention));
        }
        return RetireDecision::Act {
            steps: Vec::new(),
            revisions: input.revisions.to_vec(),
            events: Vec::new(),
            requeue,
        };
    }
    let Some(versions) = input.versions else {
        return RetireDecision::NeedVersions;
    };

    let mut revisions = input.revisions.to_vec();
    let mut steps = Vec::new();
    let mut events = Vec::new();
    let current = u64::from(input.current);
    let removed = input.capabilities.version_removal.done();
    let mine = |v: &RemoteVersion| {
        intent.include_unmanaged
            || (input.capabilities.version_descriptions && is_keyward_description(&v.description))
            || (!input.capabilities.version_descriptions
                && u32::try_from(v.revision).is_ok_and(|r| input.managed_revisions.contains(&r)))
    };
    let set_stage = |revisions: &mut Vec<RevisionStage>, revision: u64, stage: Stage| {
        let revision = u32::try_from(revision).unwrap_or(u32::MAX);
        if revisions
            .iter()
            .any(|r| r.revision == revision && r.stage == stage)
        {
            return; // unchanged: its `since` stays
        }
        revisions.retain(|r| r.revision != revision);
        revisions.push(RevisionStage {
            revision,
            stage,
            since: Time(now),
        });
    };
    // Superseded enabled versions, newest first; the newest of them is "the previous one".
    let superseded: Vec<&RemoteVersion> = versions
        .iter()
        .filter(|v| v.revision < current && v.status == VersionStatus::Enabled)
        .collect();
    let newest_superseded = superseded.iter().map(|v| v.revision).max();
    let enabled_total = superseded.len() + 1;
    for (rank, v) in superseded.iter().enumerate() {
        // rank 0 is the newest superseded version; with the current one it makes rank + 2 enabled.
        let over_limit = input.confirmed_at.is_some()
            && intent
                .max_enabled
                .is_some_and(|max| rank + 2 > max as usize && enabled_total > max as usize)
            && Some(v.revision) != newest_superseded;
        if !(grace_over || over_limit) || (spares_previous && Some(v.revision) == newest_superseded)
        {
            continue;
        }
        // Retired before and enabled again by someone, or kept: not Keyward's to touch again.
        let earlier = input
            .revisions
            .iter()
            .find(|r| u64::from(r.revision) == v.revision)
            .map(|r| r.stage);
        match earlier {
            // Handled below, as a disabled version enabled again.
            Some(Stage::Disabled) => continue,
            Some(Stage::Deleted | Stage::Kept) => {
                set_stage(&mut revisions, v.revision, Stage::Kept);
                continue;
            }
            _ => {}
        }
        if mine(v) {
            let (step, stage, done) = if input.capabilities.disable_versions {
                (
                    PipelineStep::Disable(v.revision),
                    Stage::Disabled,
                    "disabled",
                )
            } else {
                (PipelineStep::Remove(v.revision), Stage::Deleted, removed)
            };
            steps.push(step);
            set_stage(&mut revisions, v.revision, stage);
            events.push(EventNote::normal(
                "Retired",
                "Retire",
                format!(
                    "{done} version {} of remote secret {} (superseded by revision {current}, which every consumer runs)",
                    v.revision, input.secret_id
                ),
            ));
        } else {
            // Not Kept before (that was settled above): say so once.
            set_stage(&mut revisions, v.revision, Stage::Kept);
            events.push(EventNote::normal(
                "Kept",
                "Retire",
                format!(
                    "version {} of remote secret {} was not created by Keyward and stays enabled (set retirement.includeUnmanaged to retire such versions)",
                    v.revision, input.secret_id
                ),
            ));
        }
    }
    // Disabled by Keyward, retention over, still disabled: remove.
    for r in input.revisions.iter().filter(|r| removal_due(r)) {
        let still_disabled = versions
            .iter()
            .any(|v| v.revision == u64::from(r.revision) && v.status == VersionStatus::Disabled);
        if still_disabled {
            steps.push(PipelineStep::Remove(u64::from(r.revision)));
            set_stage(&mut revisions, u64::from(r.revision), Stage::Deleted);
            events.push(EventNote::normal(
                "Retired",
                "Retire",
                format!(
                    "{removed} version {} of remote secret {} (disabled for {}s)",
                    r.revision,
                    input.secret_id,
                    intent.retention.as_secs()
                ),
            ));
        } else {
            // Enabled again by someone, or gone: no longer Keyward's to remove.
            let listed = versions
                .iter()
                .find(|v| v.revision == u64::from(r.revision));
            let stage = match listed.map(|v| v.status) {
                Some(VersionStatus::Enabled) => Stage::Kept,
                _ => Stage::Deleted,
            };
            set_stage(&mut revisions, u64::from(r.revision), stage);
        }
    }
    // A superseded revision the loop above did not settle (disabled or removed by someone else)
    // is not Keyward's to act on any more, so it never makes retirement due again.
    if grace_over {
        let unsettled: Vec<u32> = revisions
            .iter()
            .filter(|r| r.stage == Stage::Previous)
            .map(|r| r.revision)
            .collect();
        for revision in unsettled {
            let listed = versions.iter().find(|v| v.revision == u64::from(revision));
            let stage = match listed.map(|v| v.status) {
                Some(VersionStatus::Disabled) => Stage::Kept,
                Some(VersionStatus::Enabled) => continue,
                _ => Stage::Deleted,
            };
            set_stage(&mut revisions, u64::from(revision), stage);
        }
    }
    // What is left for later.
    for r in &revisions {
        if r.stage == Stage::Disabled {
            wake_at(later(r.since.0, intent.retention));
        }
    }
    if let Some(end) = grace_end.filter(|end| *end > now)
        && revisions.iter().any(|r| r.stage == Stage::Previous)
    {
        wake_at(end);
    }
    revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    RetireDecision::Act {
        steps,
        revisions,
        events,
        requeue,
    }
}

/// Keeps the live revisions and the newest few that ended (removed or kept).
pub fn prune(revisions: &mut Vec<RevisionStage>) {
    revisions.sort_by_key(|r| std::cmp::Reverse(r.revision));
    let mut ended = 0;
    revisions.retain(|r| match r.stage {
        Stage::Deleted | Stage::Kept => {
            ended += 1;
            ended <= ENDED_KEPT
        }
        _ => true,
    });
}
