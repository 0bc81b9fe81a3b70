//! Observation: the target and source Secrets from the Kubernetes API, and the remote secret
//! through the store runtime (from its sweep, so a steady-state object makes no provider call).
//! The versions are listed only when the planner asks for them, or at the object's slow full
//! check.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::api::ManagedSecretStatus;
use crate::api::conditions::Reason;
use crate::mirror::{HmacKey, SourceProblem, payload_digest, source_payload};
use crate::provider::{RemoteSecret, SecretId, VersionStatus};
use crate::secret_value::SecretValue;
use crate::stores::{Lookup, StoreRuntime};

use super::intent::{Intent, RemoteIntent, SourceIntent};
use super::plan::backoff::Pace;
use super::plan::conclude::{Failure, provider_failure};
use super::plan::{RemoteObservation, SourceObservation, TargetAccess, needs_latest_digest};
use super::target::{owned_keys, secret_data, target_access};

/// Everything observed for one reconcile.
pub struct Observed {
    /// Keys Keyward wrote into the existing target (its owned-keys annotation).
    pub owned_keys: BTreeSet<String>,
    pub remote: RemoteObservation,
    pub source: SourceObservation,
    pub source_payload: Option<SecretValue>,
    pub target: TargetAccess,
}

impl Observed {
    pub fn secret(&self) -> Option<&RemoteSecret> {
        match &self.remote {
            RemoteObservation::Found { secret, .. } => Some(secret),
            _ => None,
        }
    }
}

/// The store-wide failure an object reports without calling the provider.
pub fn store_failing(runtime: &StoreRuntime, store: &str) -> Option<Failure> {
    let failure = runtime.failing()?;
    let pace = match failure.reason {
        Reason::ProviderError | Reason::RateLimited => Pace::Temporary,
        _ => Pace::Persistent,
    };
    Some(Failure::new(
        failure.reason,
        format!("{store}: {}", failure.message),
        pace,
    ))
}

/// The first look: target, source and the remote secret's metadata (no versions).
pub async fn observe(
    intent: &Intent,
    status: &ManagedSecretStatus,
    runtime: &StoreRuntime,
    secrets: &Api<Secret>,
    hmac: &HmacKey,
) -> Result<Result<Observed, Failure>, kube::Error> {
    // The target first: a refusal means no remote call at all.
    let existing = secrets.get_opt(&intent.target.name).await?;
    let target = target_access(existing.as_ref(), &intent.target, &intent.name, hmac);
    let owned_keys = existing.as_ref().map(owned_keys).unwrap_or_default();
    if !matches!(target, TargetAccess::Writable { .. }) {
        return Ok(Ok(Observed {
            owned_keys,
            remote: RemoteObservation::Absent,
            source: SourceObservation::NotUsed,
            source_payload: None,
            target,
        }));
    }

    let (source, source_payload) = match (&intent.source, &intent.from_secret) {
        (SourceIntent::FromSecret, Some(from)) => match secrets.get_opt(&from.name).await? {
            None => (
                SourceObservation::Missing {
                    message: format!("source Secret {} does not exist", from.name),
                },
                None,
            ),
            Some(secret) => match source_payload(
                intent.secret_type,
                &secret_data(&secret),
                from.keys.as_deref(),
                &from.name,
            ) {
                Ok(payload) => (
                    SourceObservation::Present {
                        digest: payload_digest(hmac, &payload),
                    },
                    Some(payload),
                ),
                Err(SourceProblem::Missing(message)) => {
                    (SourceObservation::Missing { message }, None)
                }
                Err(SourceProblem::Invalid(message)) => {
                    (SourceObservation::Invalid { message }, None)
                }
            },
        },
        _ => (SourceObservation::NotUsed, None),
    };

    let remote = match find_remote(intent, status, runtime).await {
        Ok(r) => r,
        Err(e) => return Ok(Err(provider_failure(&e))),
    };
    let remote = match remote {
        Some(secret) => RemoteObservation::Found {
            secret,
            versions: None,
            latest_digest: None,
        },
        None => match intent.remote {
            RemoteIntent::ByName { .. } => RemoteObservation::Absent,
            RemoteIntent::Adopt { .. } => RemoteObservation::Missing,
        },
    };
    Ok(Ok(Observed {
        owned_keys,
        remote,
        source,
        source_payload,
        target,
    }))
}

/// The second look, when the planner asks: the versions (listed afresh when `full`), and the
/// latest payload's digest where the plan compares it.
pub async fn observe_versions(
    intent: &Intent,
    status: &ManagedSecretStatus,
    runtime: &StoreRuntime,
    hmac: &HmacKey,
    observed: &mut Observed,
    full: bool,
) -> Result<(), Failure> {
    let RemoteObservation::Found {
        secret,
        versions,
        latest_digest,
    } = &mut observed.remote
    else {
        return Ok(());
    };
    let listed = runtime
        .versions(secret, full)
        .await
        .map_err(|e| provider_failure(&e))?;
    if needs_latest_digest(intent.source.clone(), status, runtime.capabilities())
        && let Some(latest) = listed.iter().find(|v| v.status == VersionStatus::Enabled)
    {
        *latest_digest = if status.current_revision.map(u64::from) == Some(latest.revision)
            && status.source_digest.is_some()
            && status.pending_operation.is_none()
        {
            // The newest version is the one Keyward last pushed: its digest is on record, and
            // reading it back would cost a call (and spend a single-access version).
            status.source_digest.clone()
        } else {
            match runtime
                .payload(&secret.id, latest.revision, intent.single_access())
                .await
            {
                Ok(payload) => Some(payload_digest(hmac, &payload)),
                // Unreadable (disabled meanwhile, or single-access): a push still lands.
                Err(_) => None,
            }
        };
    }
    *versions = Some(listed.as_ref().clone());
    Ok(())
}

/// The live remote secret, or `None` when there is none (never creates).
async fn find_remote(
    intent: &Intent,
    status: &ManagedSecretStatus,
    runtime: &StoreRuntime,
) -> Result<Option<RemoteSecret>, crate::provider::ProviderError> {
    let live = |s: RemoteSecret| s.deletion_requested_at.is_none().then_some(s);
    let max_age = intent.refresh_interval;
    match &intent.remote {
        RemoteIntent::Adopt { secret_id, .. } => Ok(runtime
            .lookup(Lookup::Id(secret_id), max_age, None)
            .await?
            .and_then(live)),
        RemoteIntent::ByName { name, path, .. } => {
            if let Some(id) = &status.secret_id {
                let recorded = runtime
                    .lookup(Lookup::Id(&SecretId::new(id.clone())), max_age, None)
                    .await?
                    .and_then(live);
                if let Some(s) = recorded
                    && s.name == *name
                    && s.path == *path
                {
                    return Ok(Some(s));
                }
            }
            // Before creating, the absence must come from a sweep that began after the
            // object: a secret made elsewhere just before must be found, not duplicated.
            runtime
                .lookup(Lookup::Place { name, path }, max_age, intent.created_at)
                .await
        }
    }
}
