//! One reconcile: resolve the intent and the store, observe the remote secret, the source and the
//! target, plan, execute, report. Expected problems (bad spec, store, provider) end as a `Ready=False`
//! condition and a requeue; only Kubernetes API failures become errors (retried with backoff).
//!
//! Deletion (the finalizer `keyward.dev/cleanup`): the remote deletion policy is applied first, then
//! the target deletion policy. When the remote secret is protected and the policy is `Delete`, the
//! provider refuses; the ManagedSecret then reports `Ready=False, reason Protected`, keeps its
//! finalizer (it stays Terminating, and so does its target Secret, untouched), and Keyward looks again
//! every 5 minutes and at every change of the object. What happens next is up to a person: remove the
//! protection in the Secret Manager (the next attempt deletes the secret and finishes), or set
//! `spec.remoteDeletionPolicy: Retain` (allowed while Terminating; the deletion finishes at once and
//! the remote secret stays). No retry loop hammers the provider meanwhile.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{self, Event as FinalizerEvent};
use kube::{Api, Client, ResourceExt};

use crate::api::conditions::{DesiredCondition, Reason};
use crate::api::validation::validate_against_store;
use crate::api::{
    CreationPolicy, ManagedSecret, ManagedSecretStatus, RemoteDeletionPolicy, TargetDeletionPolicy,
};
use crate::mirror::HmacKey;
use crate::provider::{ErrorKind, RemoteVersion, SecretId, SecretManager, VersionStatus};
use crate::secret_value::SecretValue;

use super::execute::{Execution, PayloadCache, execute};
use super::intent::{Intent, RemoteIntent, SourceIntent, intent_from};
use super::plan::{PlanInput, RemoteObservation, SourceObservation, TargetAccess, plan};
use super::report::{Failure, Note, patch_status, provider_failure, publish, set_ready, time};
use super::schedule::{NextDue, RotationSchedule, rotation_decision};
use super::store::{ProviderCache, resolve_store};
use super::target::{is_ours, secret_data, target_access};
use super::values::{SourceProblem, payload_digest, render_spec, source_payload, value_policy};

pub use crate::api::well_known::FINALIZER;

/// Shared state of every reconcile.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub hmac: HmacKey,
    pub providers: ProviderCache,
    pub payloads: PayloadCache,
    pub metrics: crate::telemetry::Metrics,
    /// `KEYWARD_TEST_CRASH_AFTER` (honoured in debug builds only).
    pub crash_after: Option<String>,
}

/// A reconcile that could not even report its problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    /// Deletion is blocked (reported in status); retried slowly.
    #[error("deletion blocked: {0}")]
    DeletionBlocked(String),
}

/// The reconcile entry point given to the kube-runtime Controller.
pub async fn reconcile(ms: Arc<ManagedSecret>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = ms.namespace().unwrap_or_default();
    let api: Api<ManagedSecret> = Api::namespaced(ctx.client.clone(), &namespace);
    let started = std::time::Instant::now();
    let mut guard = ctx.metrics.reconcile_started();
    let result = finalizer::finalizer(&api, FINALIZER, ms.clone(), |event| async {
        match event {
            FinalizerEvent::Apply(ms) => apply(&ms, &api, &ctx).await,
            FinalizerEvent::Cleanup(ms) => cleanup(&ms, &api, &ctx).await,
        }
    })
    .await
    .map_err(|e| match e {
        finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => inner,
        other => Error::Finalizer(Box::new(other)),
    });
    match &result {
        Ok(_) => guard.succeeded(),
        Err(Error::DeletionBlocked(_)) => guard.failed("DeletionBlocked"),
        Err(_) => guard.failed("KubeApi"),
    }
    tracing::debug!(
        namespace = %namespace,
        name = %ms.name_any(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "reconciled"
    );
    result
}

/// Backoff for reconciles that failed with an error.
pub fn error_policy(ms: Arc<ManagedSecret>, error: &Error, _ctx: Arc<Context>) -> Action {
    match error {
        Error::DeletionBlocked(_) => Action::requeue(Duration::from_secs(300)),
        _ => {
            tracing::warn!(namespace = ?ms.namespace(), name = %ms.name_any(), error = %error, "reconcile failed");
            Action::requeue(Duration::from_secs(10))
        }
    }
}

/// Report a problem found before planning: `Ready=False` with `reason`, nothing written.
async fn report_stop(
    ms: &ManagedSecret,
    api: &Api<ManagedSecret>,
    ctx: &Context,
    failure: Failure,
) -> Result<Action, Error> {
    let now = jiff::Timestamp::now();
    let mut status = ms.status.clone().unwrap_or_default();
    let was = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.reason.clone(), c.message.clone()));
    set_ready(
        &mut status,
        DesiredCondition::not_ready(
            failure.reason,
            failure.message.clone(),
            ms.metadata.generation,
        ),
        now,
    );
    status.observed_generation = ms.metadata.generation;
    patch_status(api, &ms.name_any(), &status).await?;
    if was != Some((failure.reason.as_str().to_owned(), failure.message.clone())) {
        publish(
            &ctx.recorder,
            ms,
            &[Note::warning(
                "Failed",
                "Reconcile",
                format!("{}: {}", failure.reason, failure.message),
            )],
        )
        .await;
    }
    Ok(Action::requeue(failure.requeue))
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(Reason::InvalidSpec, message, Duration::from_secs(600))
}

/// Everything observed for one reconcile.
struct Observed {
    /// Keys Keyward wrote into the existing target (its owned-keys annotation).
    owned_keys: std::collections::BTreeSet<String>,
    remote: RemoteObservation,
    source: SourceObservation,
    source_payload: Option<SecretValue>,
    target: TargetAccess,
}

async fn apply(
    ms: &ManagedSecret,
    api: &Api<ManagedSecret>,
    ctx: &Context,
) -> Result<Action, Error> {
    let name = ms.name_any();
    let namespace = ms.namespace().unwrap_or_default();
    let status = ms.status.clone().unwrap_or_default();

    let intent = match intent_from(ms) {
        Ok(i) => i,
        Err(e) => return report_stop(ms, api, ctx, invalid(e.0)).await,
    };
    let render = match render_spec(&intent) {
        Ok(r) => r,
        Err(e) => return report_stop(ms, api, ctx, invalid(e)).await,
    };
    let values = match intent.generate.as_ref().map(value_policy).transpose() {
        Ok(v) => v,
        Err(e) => return report_stop(ms, api, ctx, invalid(e)).await,
    };
    let schedule = match intent
        .rotation
        .as_ref()
        .map(|r| RotationSchedule::parse(r, &namespace, &name))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => return report_stop(ms, api, ctx, invalid(e.0)).await,
    };
    let store =
        match resolve_store(&ctx.client, &namespace, &ms.spec.store_ref, &ctx.providers).await {
            Ok(s) => s,
            Err(p) => {
                return report_stop(
                    ms,
                    api,
                    ctx,
                    Failure::new(p.reason, p.message, Duration::from_secs(60)),
                )
                .await;
            }
        };
    if let Err(e) = validate_against_store(&ms.spec, &name, &store.spec) {
        return report_stop(ms, api, ctx, invalid(e.0)).await;
    }
    let provider = store.provider.as_ref();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);

    let observed = match observe(&intent, &status, provider, &secrets, ctx).await? {
        Ok(o) => o,
        Err(f) => return report_stop(ms, api, ctx, f).await,
    };
    let now = jiff::Timestamp::now();
    let versions: &[RemoteVersion] = match &observed.remote {
        RemoteObservation::Found { versions, .. } => versions,
        _ => &[],
    };
    let rotation = rotation_decision(
        &intent,
        &status,
        versions,
        schedule.as_ref().map(|s| s as &dyn NextDue),
        now,
    );
    let the_plan = plan(&PlanInput {
        intent: &intent,
        status: &status,
        remote: &observed.remote,
        source: &observed.source,
        target: &observed.target,
        rotation: &rotation,
        now,
    });
    tracing::info!(
        namespace = %namespace,
        name = %name,
        steps = ?the_plan.steps.iter().map(step_name).collect::<Vec<_>>(),
        "planned"
    );
    let secret_id = match &observed.remote {
        RemoteObservation::Found { secret, .. } => Some(secret.id.clone()),
        _ => None,
    };
    let target_exists = matches!(observed.target, TargetAccess::Writable { exists: true, .. });
    let outcome = execute(
        Execution {
            ms,
            api,
            secrets: &secrets,
            intent: &intent,
            provider,
            payloads: &ctx.payloads,
            hmac: &ctx.hmac,
            render: &render,
            values: values.as_ref(),
            source_payload: observed.source_payload.as_ref(),
            secret_id,
            target_exists,
            previous_keys: &observed.owned_keys,
            now,
            crash_after: ctx.crash_after.as_deref(),
        },
        &the_plan.steps,
        status.clone(),
    )
    .await?;

    let mut new_status = outcome.status;
    new_status.observed_generation = intent.generation;
    new_status.secret_id = outcome.secret_id.as_ref().map(|id| id.0.clone());
    new_status.region = Some(provider.region().to_owned());
    new_status.project_id = store.spec.scaleway.as_ref().map(|s| s.project_id.clone());
    new_status.next_rotation_time = the_plan.notes.next_rotation.map(time);
    let requeue = match &outcome.failure {
        Some(failure) => {
            set_ready(
                &mut new_status,
                DesiredCondition::not_ready(
                    failure.reason,
                    failure.message.clone(),
                    intent.generation,
                ),
                now,
            );
            failure.requeue
        }
        None => {
            if let Some(n) = the_plan.notes.mirrored_revision {
                let n = Some(u32::try_from(n).unwrap_or(u32::MAX));
                // Only a change moves lastSyncTime: a status write re-triggers the watch, so an
                // unchanged status is what lets a reconcile settle.
                if new_status.current_revision != n || new_status.last_sync_time.is_none() {
                    new_status.last_sync_time = Some(time(now));
                }
                new_status.current_revision = n;
                new_status.target_name = Some(intent.target.name.clone());
            }
            if the_plan.notes.handled_force_sync.is_some() {
                new_status.handled_force_sync = the_plan.notes.handled_force_sync.clone();
            }
            if let Some(r) = &the_plan.notes.handled_rotate_request {
                new_status.handled_rotate_request = Some(r.clone());
            }
            if the_plan.notes.source_digest.is_some() {
                new_status.source_digest = the_plan.notes.source_digest.clone();
            }
            let mut ready = the_plan.ready.clone();
            if let (Some(rev), Some(id)) = (new_status.current_revision, &new_status.secret_id)
                && ready.reason == Reason::Synced
            {
                ready.message = format!(
                    "revision {rev} of remote secret {id} mirrored into Secret {}",
                    intent.target.name
                );
            }
            set_ready(&mut new_status, ready, now);
            the_plan.requeue_after
        }
    };
    if new_status != status {
        patch_status(api, &name, &new_status).await?;
    }
    record_metrics(&ctx.metrics, provider.provider(), &outcome.notes);
    publish(&ctx.recorder, ms, &outcome.notes).await;
    Ok(Action::requeue(requeue.max(Duration::from_secs(1))))
}

/// Count what the Events say happened.
fn record_metrics(metrics: &crate::telemetry::Metrics, provider: &'static str, notes: &[Note]) {
    use crate::telemetry::{RotationTrigger, VersionCause};
    for note in notes {
        match (note.reason, note.note.contains("on request")) {
            ("Created", _) if note.action == "CreateVersion" => {
                metrics.version_created(provider, VersionCause::Initial)
            }
            ("Rotated", on_request) => {
                metrics.version_created(provider, VersionCause::Rotation);
                metrics.rotation(if on_request {
                    RotationTrigger::Annotation
                } else {
                    RotationTrigger::Schedule
                });
            }
            ("Pushed", _) => metrics.version_created(provider, VersionCause::Push),
            ("DriftRepaired", _) => metrics.drift_repaired(),
            _ => {}
        }
    }
}

fn step_name(step: &super::plan::Step) -> &'static str {
    use super::plan::Step::*;
    match step {
        CreateSecret(_) => "CreateSecret",
        UpdateSecret(_) => "UpdateSecret",
        SetProtected(_) => "SetProtected",
        RecordPending { .. } => "RecordPending",
        CreateVersion { .. } => "CreateVersion",
        RecordExistingVersion { .. } => "RecordExistingVersion",
        ClearPending => "ClearPending",
        ApplyTarget { .. } => "ApplyTarget",
        DeleteTarget { .. } => "DeleteTarget",
    }
}

/// Read the remote secret and its versions, the source and the target.
async fn observe(
    intent: &Intent,
    status: &ManagedSecretStatus,
    provider: &dyn SecretManager,
    secrets: &Api<Secret>,
    ctx: &Context,
) -> Result<Result<Observed, Failure>, Error> {
    // The target first: a refusal means no remote call at all.
    let existing = secrets.get_opt(&intent.target.name).await?;
    let target = target_access(existing.as_ref(), &intent.target, &intent.name, &ctx.hmac);
    let owned_keys = existing
        .as_ref()
        .map(super::target::owned_keys)
        .unwrap_or_default();
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
            Some(secret) => {
                match source_payload(
                    intent.secret_type,
                    &secret_data(&secret),
                    from.keys.as_deref(),
                    &from.name,
                ) {
                    Ok(payload) => (
                        SourceObservation::Present {
                            digest: payload_digest(&ctx.hmac, &payload),
                        },
                        Some(payload),
                    ),
                    Err(SourceProblem::Missing(message)) => {
                        (SourceObservation::Missing { message }, None)
                    }
                    Err(SourceProblem::Invalid(message)) => {
                        (SourceObservation::Invalid { message }, None)
                    }
                }
            }
        },
        _ => (SourceObservation::NotUsed, None),
    };

    let remote = match observe_remote(intent, status, provider).await {
        Ok(r) => r,
        Err(e) => return Ok(Err(provider_failure(&e))),
    };
    let remote = match remote {
        Some(secret) => {
            let mut versions = match provider.list_versions(&secret.id).await {
                Ok(v) => v,
                Err(e) => return Ok(Err(provider_failure(&e))),
            };
            versions.sort_by_key(|v| std::cmp::Reverse(v.revision));
            let latest_digest = if intent.source == SourceIntent::FromSecret {
                latest_digest(provider, &secret.id, &versions, ctx).await?
            } else {
                None
            };
            RemoteObservation::Found {
                secret,
                versions,
                latest_digest,
            }
        }
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

async fn latest_digest(
    provider: &dyn SecretManager,
    id: &SecretId,
    versions: &[RemoteVersion],
    ctx: &Context,
) -> Result<Option<String>, Error> {
    let Some(latest) = versions.iter().find(|v| v.status == VersionStatus::Enabled) else {
        return Ok(None);
    };
    Ok(ctx
        .payloads
        .read(provider, id, latest.revision)
        .await
        .ok()
        .map(|payload| payload_digest(&ctx.hmac, &payload)))
}

/// The live remote secret, or `None` when there is none (never creates).
async fn observe_remote(
    intent: &Intent,
    status: &ManagedSecretStatus,
    provider: &dyn SecretManager,
) -> Result<Option<crate::provider::RemoteSecret>, crate::provider::ProviderError> {
    let live = |s: crate::provider::RemoteSecret| s.deletion_requested_at.is_none().then_some(s);
    match &intent.remote {
        RemoteIntent::Adopt { secret_id, .. } => match provider.get_secret(secret_id).await {
            Ok(s) => Ok(live(s)),
            Err(e) if *e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        },
        RemoteIntent::ByName { name, path, .. } => {
            if let Some(id) = &status.secret_id {
                match provider.get_secret(&SecretId::new(id.clone())).await {
                    Ok(s)
                        if s.deletion_requested_at.is_none()
                            && s.name == *name
                            && s.path == *path =>
                    {
                        return Ok(Some(s));
                    }
                    Ok(_) => {}
                    Err(e) if *e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            provider.find_secret(name, path).await
        }
    }
}

/// The finalizer's cleanup: apply the target and remote deletion policies.
async fn cleanup(
    ms: &ManagedSecret,
    api: &Api<ManagedSecret>,
    ctx: &Context,
) -> Result<Action, Error> {
    let name = ms.name_any();
    let namespace = ms.namespace().unwrap_or_default();
    let status = ms.status.clone().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let Ok(intent) = intent_from(ms) else {
        // Without a valid spec Keyward never wrote anything remote for this object; the owner
        // reference (if any) lets the garbage collector remove the target.
        return Ok(Action::await_change());
    };

    // Remote first: if it is blocked, the target stays as it is too.
    if intent.remote_deletion == RemoteDeletionPolicy::Delete
        && let Some(id) = &status.secret_id
    {
        match resolve_store(&ctx.client, &namespace, &ms.spec.store_ref, &ctx.providers).await {
            Ok(store) => match store
                .provider
                .delete_secret(&SecretId::new(id.clone()))
                .await
            {
                Ok(()) => {
                    publish(
                        &ctx.recorder,
                        ms,
                        &[Note::normal(
                            "Deleted",
                            "DeleteSecret",
                            format!("deleted remote secret {id}"),
                        )],
                    )
                    .await;
                }
                Err(e) if *e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    let failure = if *e.kind() == ErrorKind::Protected {
                        Failure::new(
                            Reason::Protected,
                            format!(
                                "remote secret {id} is protected, so remoteDeletionPolicy Delete cannot delete it. The ManagedSecret keeps its finalizer and Keyward retries every 5 minutes: remove the protection in the Secret Manager, or set spec.remoteDeletionPolicy to Retain to keep the remote secret"
                            ),
                            Duration::from_secs(300),
                        )
                    } else {
                        provider_failure(&e)
                    };
                    report_stop(ms, api, ctx, failure.clone()).await?;
                    return Err(Error::DeletionBlocked(failure.message));
                }
            },
            Err(p) => {
                let failure = Failure::new(
                    p.reason,
                    format!("cannot delete the remote secret: {}", p.message),
                    Duration::from_secs(60),
                );
                report_stop(ms, api, ctx, failure.clone()).await?;
                return Err(Error::DeletionBlocked(failure.message));
            }
        }
    }

    let target_name = status
        .target_name
        .clone()
        .unwrap_or(intent.target.name.clone());
    if let Some(secret) = secrets.get_opt(&target_name).await?
        && is_ours(&secret, &name)
    {
        match (intent.target.deletion_policy, intent.target.creation_policy) {
            (TargetDeletionPolicy::Delete, CreationPolicy::Merge) => {
                // Remove exactly Keyward's keys, labels and annotations. (Releasing them through an
                // empty server-side apply would drop the whole data map when its other keys have no
                // field owner, as with Secrets written from stringData.)
                let patch = super::target::release_patch(&secret);
                secrets
                    .patch(&target_name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
            (TargetDeletionPolicy::Delete, _) => {
                secrets.delete(&target_name, &Default::default()).await?;
            }
            (TargetDeletionPolicy::Retain, _) => {
                if secret.metadata.owner_references.is_some() {
                    let patch = serde_json::json!({ "metadata": { "ownerReferences": null } });
                    secrets
                        .patch(&target_name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await?;
                }
            }
        }
    }
    Ok(Action::await_change())
}
