//! One reconcile of a ManagedSecret: resolve the intent and the store, observe (through the store
//! runtime), plan, execute, conclude, and write the status only when it changed. Expected problems
//! (bad spec, store, provider, a refused Secret write) end as a `Ready=False` condition, an Event
//! when they are new, and a requeue paced by `plan::backoff`; only Kubernetes API failures become
//! errors (retried with backoff by the controller).
//!
//! Deletion (the finalizer `keyward.dev/cleanup`) follows `plan::cleanup`: the remote deletion
//! policy first, then the target deletion policy. When the remote secret is protected and the
//! policy is `Delete`, the provider refuses; the ManagedSecret then reports `Ready=False, reason
//! Protected`, keeps its finalizer (it stays Terminating, and so does its target Secret,
//! untouched), and Keyward looks again slowly and at every change of the object. What happens next
//! is up to a person: remove the protection in the Secret Manager (the next attempt deletes the
//! secret and finishes), or set `spec.remoteDeletionPolicy: Retain` (allowed while Terminating;
//! the deletion finishes at once and the remote secret stays). In a namespace being deleted
//! nothing holds the finalizer: what cannot be deleted stays, with an Event.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event as FinalizerEvent};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client, Resource, ResourceExt};

use crate::api::conditions::{READY, Reason, find};
use crate::api::validation::validate_against_store;
use crate::api::{ManagedSecret, ManagedSecretStatus};
use crate::mirror::{HmacKey, RenderSpec};
use crate::provider::OwnerMark;
use crate::rotation::{NextDue, RotationSchedule, RotationState, rotation_decision, value_policy};
use crate::stores::{Interest, Lookup, ObjectKey, ResolvedStore, Runtimes, resolve_store};
use crate::telemetry::{Metrics, ObjectReasons};

use super::events::{EventNote, EventRecorder};
use super::execute::{Execution, execute, final_secret_id};
use super::indexes::{Index, Uses};
use super::intent::{Intent, RemoteIntent, SourceIntent, intent_from};
use super::observe::{observe, observe_versions, store_failing};
use super::own_writes::OwnWrites;
use super::plan::cleanup::{
    RemoteCleanup, TargetCleanup, after_delete, after_lookup, remote_first, store_unusable,
    target_cleanup,
};
use super::plan::conclude::{Conclusion, Done, Failure, Report, conclude, conclude_stop};
use super::plan::{Decision, PlanInput, RemoteObservation, TargetAccess, plan};
use super::target::{is_ours, release_patch};
use crate::stores::snapshot::fingerprint;

pub use crate::api::well_known::FINALIZER;

/// The kind name ManagedSecrets are registered with in store runtimes.
pub const KIND: &str = "ManagedSecret";

/// Shared state of every reconcile.
pub struct Context {
    pub client: Client,
    pub events: EventRecorder,
    pub hmac: HmacKey,
    pub runtimes: Runtimes,
    pub index: Index,
    pub metrics: Metrics,
    pub reasons: ObjectReasons,
    /// The stores' Ready reasons, for the same gauge.
    pub store_reasons: crate::telemetry::StoreReasons,
    /// The cluster's identity in owner marks.
    pub cluster_id: String,
    /// The namespaces this operator may read (empty: all).
    pub namespaces: Vec<String>,
    /// `KEYWARD_TEST_CRASH_AFTER` (honoured in debug builds only).
    pub crash_after: Option<String>,
    /// Which ManagedSecrets feed which workload (spec.rollout).
    pub consumers: crate::rollout::consumers::Consumers,
    /// The cluster-wide restart limit.
    pub restarts: Arc<crate::rollout::limiter::RestartLimiter>,
    /// Status writes the watch cache has yet to show.
    pub own_writes: OwnWrites<ManagedSecret>,
}

/// A reconcile that could not even report its problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    /// Deletion is blocked (reported in status); retried after this.
    #[error("deletion blocked: {0}")]
    DeletionBlocked(String, Duration),
}

fn key_of(ms: &ManagedSecret) -> ObjectKey {
    ObjectKey {
        kind: KIND,
        namespace: ms.namespace().unwrap_or_default(),
        name: ms.name_any(),
    }
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
    // The next reconcile of this object starts from the status this one wrote.
    ctx.own_writes.settle(&ObjectRef::from_obj(&*ms)).await;
    match &result {
        Ok(_) => guard.succeeded(),
        Err(Error::DeletionBlocked(..)) => guard.failed("DeletionBlocked"),
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

/// Backoff for reconciles that failed with an error: spread, and slower for blocked deletions.
pub fn error_policy(ms: Arc<ManagedSecret>, error: &Error, _ctx: Arc<Context>) -> Action {
    let jitter = |d: Duration| d.mul_f64(0.8 + 0.4 * rand::random::<f64>());
    match error {
        Error::DeletionBlocked(_, after) => Action::requeue(*after),
        _ => {
            tracing::warn!(namespace = ?ms.namespace(), name = %ms.name_any(), error = %error, "reconcile failed");
            Action::requeue(jitter(Duration::from_secs(10)))
        }
    }
}

/// Writes what a reconcile concluded: the Events, then the status only when it changed. Events
/// first, so a reader who sees the status tell of a change also finds the Event telling it.
async fn finish(
    ms: &ManagedSecret,
    api: &Api<ManagedSecret>,
    ctx: &Context,
    before: &ManagedSecretStatus,
    conclusion: Conclusion,
) -> Result<Duration, Error> {
    ctx.events
        .publish(&ms.object_ref(&()), &conclusion.events)
        .await;
    if conclusion.status != *before {
        ctx.own_writes
            .write_status(api, &ms.name_any(), &conclusion.status)
            .await?;
    }
    let reason = find(&conclusion.status.conditions, READY).and_then(|c| {
        crate::api::conditions::Reason::ALL
            .into_iter()
            .find(|r| r.as_str() == c.reason)
    });
    ctx.reasons
        .set(&ms.namespace().unwrap_or_default(), &ms.name_any(), reason);
    Ok(conclusion.requeue.max(Duration::from_secs(1)))
}

fn report<'a>(
    ms: &ManagedSecret,
    intent_target: &'a str,
    status: &'a ManagedSecretStatus,
    store: &'a str,
    region: Option<&'a str>,
) -> Report<'a> {
    Report {
        generation: ms.metadata.generation,
        target_name: intent_target,
        status,
        store,
        region,
        now: jiff::Timestamp::now(),
        random: rand::random::<f64>(),
    }
}

/// A problem found before planning: Ready=False, nothing else written.
async fn stop(
    ms: &ManagedSecret,
    api: &Api<ManagedSecret>,
    ctx: &Context,
    status: &ManagedSecretStatus,
    store: &str,
    failure: Failure,
) -> Result<Action, Error> {
    let name = ms.name_any();
    let conclusion = conclude_stop(&report(ms, &name, status, store, None), &failure);
    let requeue = finish(ms, api, ctx, status, conclusion).await?;
    Ok(Action::requeue(requeue))
}

/// The mark this object puts on what it creates.
pub fn owner_mark(ctx: &Context, ms: &ManagedSecret) -> OwnerMark {
    OwnerMark::for_object(
        &ctx.cluster_id,
        &ms.namespace().unwrap_or_default(),
        &ms.name_any(),
    )
}

/// How a reconcile may act on the world while it looks: the operator's reconcile, or the read-only
/// look of `keyward plan` (no index entry, no interest registered with the store runtime, no full
/// check taken from the object's schedule). Both then plan with the same code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Operate,
    ReadOnly,
}

/// What one reconcile observed and decided before writing anything.
#[allow(clippy::large_enum_variant)]
pub enum Prepared {
    /// A problem found before planning (spec, store, observation): the object reports it.
    Stopped {
        store: String,
        failure: Failure,
    },
    Planned(Planned),
}

/// A plan with everything the executor and the pipeline need.
pub struct Planned {
    pub intent: Intent,
    pub render: RenderSpec,
    pub values: Option<crate::rotation::ValuePolicy>,
    pub store: ResolvedStore,
    pub key: ObjectKey,
    pub observed: super::observe::Observed,
    pub owner: OwnerMark,
    pub now: jiff::Timestamp,
    /// The rotation decision the plan was made with (for `keyward plan` to say why).
    pub rotation: crate::rotation::RotationDecision,
    pub plan: super::plan::Plan,
}

/// Resolve, observe and plan: the part of a reconcile that only reads (in [`Mode::ReadOnly`]
/// also nothing in this process's shared state changes).
pub async fn prepare(ms: &ManagedSecret, ctx: &Context, mode: Mode) -> Result<Prepared, Error> {
    let name = ms.name_any();
    let namespace = ms.namespace().unwrap_or_default();
    let status = ms.status.clone().unwrap_or_default();
    let store_name = crate::stores::resolve::store_display(&namespace, &ms.spec.store_ref);
    let operate = mode == Mode::Operate;
    let stopped = |store: &str, failure: Failure| {
        Ok(Prepared::Stopped {
            store: store.to_owned(),
            failure,
        })
    };

    let intent = match intent_from(ms) {
        Ok(i) => i,
        Err(e) => return stopped(&store_name, Failure::invalid(e.0)),
    };
    let render = match RenderSpec::for_target(intent.secret_type, intent.target.template.as_ref()) {
        Ok(r) => r,
        Err(e) => return stopped(&store_name, Failure::invalid(e)),
    };
    let values = match intent.generate.as_ref().map(value_policy).transpose() {
        Ok(v) => v,
        Err(e) => return stopped(&store_name, Failure::invalid(e)),
    };
    let schedule = match intent
        .rotation
        .as_ref()
        .map(|r| RotationSchedule::parse(r, &namespace, &name))
        .transpose()
    {
        Ok(s) => s,
        Err(e) => return stopped(&store_name, Failure::invalid(e.0)),
    };
    let object = ObjectRef::from_obj(ms);
    let store =
        match resolve_store(&ctx.client, &namespace, &ms.spec.store_ref, &ctx.runtimes).await {
            Ok(s) => s,
            Err(p) => {
                if operate {
                    ctx.index.record(&object, uses(&intent, ms, None));
                }
                let pace = match p.reason {
                    Reason::StoreNotAllowed | Reason::EndpointNotAllowed => {
                        super::plan::backoff::Pace::Persistent
                    }
                    _ => super::plan::backoff::Pace::Temporary,
                };
                return stopped(&store_name, Failure::new(p.reason, p.message, pace));
            }
        };
    if operate {
        ctx.index.record(&object, uses(&intent, ms, Some(&store)));
    }
    if let Err(e) = validate_against_store(&ms.spec, &name, &store.spec) {
        return stopped(&store.display, Failure::invalid(e.0));
    }
    let intent = intent.in_folder(&store.folder);
    let runtime = store.runtime.clone();
    let key = key_of(ms);
    if operate {
        runtime.register(
            key.clone(),
            Interest {
                secret: status.secret_id.clone().map(crate::provider::SecretId::new),
                refresh: intent.refresh_interval,
            },
        );
    }
    if let Some(failure) = store_failing(&runtime, &store.display) {
        return stopped(&store.display, failure);
    }
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut observed = match observe(&intent, &status, &runtime, &secrets, &ctx.hmac).await? {
        Ok(o) => o,
        Err(f) => return stopped(&store.display, f),
    };
    // A read-only look cannot tell when the operator's next full check falls; it plans as the
    // operator does between them.
    let full = operate && runtime.take_full_check(&key, intent.refresh_interval);
    if full
        && let Err(f) =
            observe_versions(&intent, &status, &runtime, &ctx.hmac, &mut observed, true).await
    {
        return stopped(&store.display, f);
    }
    let owner = owner_mark(ctx, ms);
    let now = jiff::Timestamp::now();
    loop {
        let versions = match &observed.remote {
            RemoteObservation::Found { versions, .. } => versions.as_deref(),
            _ => Some(&[][..]),
        };
        let rotation = rotation_decision(
            &RotationState {
                generated: intent.source == SourceIntent::Generate,
                request: intent.rotate_request.as_deref(),
                handled_request: status.handled_rotate_request.as_deref(),
                versions,
                recorded_next: status.next_rotation_time.as_ref().map(|t| t.0),
                last_rotation: status.last_rotation_time.as_ref().map(|t| t.0),
            },
            schedule.as_ref().map(|s| s as &dyn NextDue),
            now,
        );
        let decision = plan(&PlanInput {
            intent: &intent,
            status: &status,
            remote: &observed.remote,
            source: &observed.source,
            target: &observed.target,
            rotation: &rotation,
            capabilities: runtime.capabilities(),
            owner: &owner,
            folder: &store.folder,
            now,
        });
        match decision {
            Decision::Act(plan) => {
                return Ok(Prepared::Planned(Planned {
                    intent,
                    render,
                    values,
                    store,
                    key,
                    observed,
                    owner,
                    now,
                    rotation,
                    plan,
                }));
            }
            Decision::NeedVersions => {
                if let Err(f) =
                    observe_versions(&intent, &status, &runtime, &ctx.hmac, &mut observed, false)
                        .await
                {
                    return stopped(&store.display, f);
                }
            }
        }
    }
}

async fn apply(
    ms: &ManagedSecret,
    api: &Api<ManagedSecret>,
    ctx: &Context,
) -> Result<Action, Error> {
    let name = ms.name_any();
    let namespace = ms.namespace().unwrap_or_default();
    let status = ms.status.clone().unwrap_or_default();
    let Planned {
        intent,
        render,
        values,
        store,
        key,
        observed,
        owner,
        now,
        plan: the_plan,
        ..
    } = match prepare(ms, ctx, Mode::Operate).await? {
        Prepared::Stopped { store, failure } => {
            return stop(ms, api, ctx, &status, &store, failure).await;
        }
        Prepared::Planned(p) => p,
    };
    let runtime = store.runtime.clone();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    if !the_plan.steps.is_empty() {
        tracing::info!(
            namespace = %namespace,
            name = %name,
            steps = ?the_plan.steps.iter().map(|s| s.action()).collect::<Vec<_>>(),
            "planned"
        );
    }
    let observed_secret = observed.secret().cloned();
    let outcome = execute(
        &Execution {
            ms,
            api,
            secrets: &secrets,
            intent: &intent,
            runtime: &runtime,
            hmac: &ctx.hmac,
            render: &render,
            values: values.as_ref(),
            source_payload: observed.source_payload.as_ref(),
            remote: observed_secret.as_ref(),
            status: &status,
            target_exists: matches!(observed.target, TargetAccess::Writable { exists: true, .. }),
            previous_keys: &observed.owned_keys,
            now,
            crash_after: ctx.crash_after.as_deref(),
            own_writes: &ctx.own_writes,
        },
        &the_plan.steps,
    )
    .await?;
    record_metrics(&ctx.metrics, runtime.provider(), &outcome.done);
    let secret_id = final_secret_id(&outcome, observed_secret.as_ref().map(|s| &s.id));
    let remote_after = secret_id
        .as_ref()
        .and_then(|id| runtime.known(id))
        .or(observed_secret);
    let conclusion = conclude(
        &report(
            ms,
            &intent.target.name,
            &status,
            &store.display,
            Some(runtime.region()),
        ),
        &the_plan,
        &outcome,
        remote_after.as_ref().map(fingerprint),
    );
    let conclusion = pipeline(
        ctx,
        ms,
        &intent,
        &runtime,
        now,
        remote_after.as_ref(),
        &owner,
        conclusion,
    )
    .await?;
    runtime.register(
        key.clone(),
        Interest {
            secret: secret_id,
            refresh: intent.refresh_interval,
        },
    );
    let ready = crate::api::conditions::is_ready(&conclusion.status.conditions);
    let requeue = finish(ms, api, ctx, &status, conclusion).await?;
    // Steady objects look again at their next full check at the latest (the sweep wakes them
    // sooner when their remote secret changes), or at every refresh where the sweep cannot see
    // a change; a failing one keeps its backoff.
    let look = match (runtime.batched(), ready) {
        // The naive baseline polls every object at its refresh interval.
        (false, _) => intent.refresh_interval,
        (true, true) => runtime.next_look(&key, intent.refresh_interval),
        (true, false) => runtime.next_full_check(&key, intent.refresh_interval),
    };
    Ok(Action::requeue(
        requeue.min(look.max(Duration::from_secs(1))),
    ))
}

/// After a reconcile that left the target Secret in step with a revision: restart the workloads
/// that read it, confirm their rollouts, and retire what the revision superseded
/// (`crate::rollout`). Without spec.rollout and spec.retirement nothing happens and the pipeline's
/// status goes.
#[allow(clippy::too_many_arguments)]
async fn pipeline(
    ctx: &Context,
    ms: &ManagedSecret,
    intent: &Intent,
    runtime: &crate::stores::StoreRuntime,
    now: jiff::Timestamp,
    remote: Option<&crate::provider::RemoteSecret>,
    owner: &OwnerMark,
    mut conclusion: Conclusion,
) -> Result<Conclusion, Error> {
    let namespace = ms.namespace().unwrap_or_default();
    let name = ms.name_any();
    if intent.rollout.is_none() && intent.retirement.is_none() {
        conclusion.status.rollout = None;
        conclusion.status.revisions.clear();
        ctx.consumers.forget(&namespace, &name);
        return Ok(conclusion);
    }
    if intent.rollout.is_none() {
        ctx.consumers.forget(&namespace, &name);
    }
    let synced = find(&conclusion.status.conditions, READY).is_some_and(|c| c.status == "True");
    let (Some(current), Some(secret), true) = (conclusion.status.current_revision, remote, synced)
    else {
        return Ok(conclusion);
    };
    let outcome = crate::rollout::apply::run(
        &pipeline_shared(ctx),
        &pipeline_object(
            intent,
            &namespace,
            &name,
            current,
            &conclusion.status,
            secret,
            runtime,
            owner,
            now,
        ),
    )
    .await?;
    // A grace period that ended takes the previous keys out of the target Secret right away.
    let previous = |revisions: &[crate::api::lifecycle::RevisionStage]| -> Vec<u32> {
        revisions
            .iter()
            .filter(|r| r.stage == crate::api::lifecycle::Stage::Previous)
            .map(|r| r.revision)
            .collect()
    };
    if intent.target.include_previous
        && previous(&conclusion.status.revisions) != previous(&outcome.revisions)
    {
        conclusion.requeue = conclusion.requeue.min(Duration::from_secs(1));
    }
    conclusion.status.rollout = Some(outcome.rollout);
    conclusion.status.revisions = outcome.revisions;
    conclusion.events.extend(outcome.events);
    if let Some(after) = outcome.requeue {
        conclusion.requeue = conclusion.requeue.min(after.max(Duration::from_secs(1)));
    }
    Ok(conclusion)
}

/// What the pipeline shares across reconciles, from the context.
pub fn pipeline_shared(ctx: &Context) -> crate::rollout::apply::Shared<'_> {
    crate::rollout::apply::Shared {
        client: &ctx.client,
        hmac: &ctx.hmac,
        consumers: &ctx.consumers,
        limiter: &ctx.restarts,
        metrics: &ctx.metrics,
    }
}

/// One object's pipeline inputs, once its target Secret holds `current`.
#[allow(clippy::too_many_arguments)]
pub fn pipeline_object<'a>(
    intent: &'a Intent,
    namespace: &'a str,
    name: &'a str,
    current: u32,
    status: &'a ManagedSecretStatus,
    secret: &'a crate::provider::RemoteSecret,
    runtime: &'a crate::stores::StoreRuntime,
    owner: &OwnerMark,
    now: jiff::Timestamp,
) -> crate::rollout::apply::Object<'a> {
    crate::rollout::apply::Object {
        namespace,
        name,
        target: &intent.target.name,
        rollout: intent.rollout.as_ref(),
        retirement: intent.retirement.as_ref(),
        current,
        status_rollout: status.rollout.as_ref(),
        revisions: &status.revisions,
        // On providers without version descriptions, the versions status says Keyward made
        // count only while the remote secret's owner mark backs them (status alone can be
        // edited by anyone who may write it).
        managed_revisions: if secret.owner.as_ref() == Some(owner) {
            &status.managed_revisions
        } else {
            &[]
        },
        secret,
        runtime,
        now,
    }
}

/// What the index keeps for this object.
fn uses(intent: &Intent, ms: &ManagedSecret, store: Option<&ResolvedStore>) -> Uses {
    use crate::api::StoreKind;
    let store_ref = &ms.spec.store_ref;
    Uses {
        source: intent.from_secret.as_ref().map(|f| f.name.clone()),
        credentials: store.map(|s| s.credentials.clone()),
        store: Some((
            store_ref.kind,
            (store_ref.kind == StoreKind::SecretStore).then(|| intent.namespace.clone()),
            store_ref.name.clone(),
        )),
    }
}

/// Counts what the facts say happened.
fn record_metrics(metrics: &Metrics, provider: &'static str, done: &[Done]) {
    use crate::api::OperationCause;
    use crate::telemetry::{RotationTrigger, VersionCause};
    for fact in done {
        match fact {
            Done::VersionCreated { cause, .. } => match cause {
                OperationCause::Initial => metrics.version_created(provider, VersionCause::Initial),
                OperationCause::Push => metrics.version_created(provider, VersionCause::Push),
                OperationCause::Rotation | OperationCause::Request => {
                    metrics.version_created(provider, VersionCause::Rotation);
                    metrics.rotation(if *cause == OperationCause::Request {
                        RotationTrigger::Annotation
                    } else {
                        RotationTrigger::Schedule
                    });
                }
            },
            Done::TargetApplied {
                drift_repair: true, ..
            } => metrics.drift_repaired(),
            _ => {}
        }
    }
}

/// Whether the object's namespace is being deleted (then nothing may hold its finalizer); read
/// once, when a cleanup decision needs it.
struct Terminating<'a> {
    client: &'a Client,
    namespace: &'a str,
    known: Option<bool>,
}

impl<'a> Terminating<'a> {
    fn new(client: &'a Client, namespace: &'a str) -> Self {
        Self {
            client,
            namespace,
            known: None,
        }
    }

    async fn get(&mut self) -> Result<bool, kube::Error> {
        if let Some(known) = self.known {
            return Ok(known);
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        let terminating = match api.get_opt(self.namespace).await? {
            None => true,
            Some(ns) => {
                ns.metadata.deletion_timestamp.is_some()
                    || ns.status.and_then(|s| s.phase).as_deref() == Some("Terminating")
            }
        };
        self.known = Some(terminating);
        Ok(terminating)
    }
}

/// The finalizer's cleanup: the remote deletion policy, then the target deletion policy.
async fn cleanup(
    ms: &ManagedSecret,
    api: &Api<ManagedSecret>,
    ctx: &Context,
) -> Result<Action, Error> {
    let name = ms.name_any();
    let namespace = ms.namespace().unwrap_or_default();
    let status = ms.status.clone().unwrap_or_default();
    let object = ObjectRef::from_obj(ms);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let store_name = crate::stores::resolve::store_display(&namespace, &ms.spec.store_ref);
    let Ok(intent) = intent_from(ms) else {
        // Without a valid spec Keyward never wrote anything remote for this object; the owner
        // reference (if any) lets the garbage collector remove the target.
        forget(ctx, ms, &object);
        return Ok(Action::await_change());
    };

    // Remote first: if it is blocked, the target stays as it is too.
    let mut decision = remote_first(intent.remote_deletion, status.secret_id.as_deref());
    let mut events: Vec<EventNote> = Vec::new();
    let mut ending = Terminating::new(&ctx.client, &namespace);
    while let RemoteCleanup::LookUp(id) = &decision {
        let id = id.clone();
        let runtime =
            match resolve_store(&ctx.client, &namespace, &ms.spec.store_ref, &ctx.runtimes).await {
                Ok(store) => Ok(store.runtime),
                // A namespace being deleted takes the store and its credentials first: the
                // runtime this object used still holds them, so the policy can be honoured.
                Err(p) => match ctx.runtimes.runtime_of(&key_of(ms)) {
                    Some(runtime) if ending.get().await? => Ok(runtime),
                    _ => Err(p),
                },
            };
        decision = match runtime {
            Err(p) => store_unusable(&id, p.reason, &p.message, ending.get().await?),
            Ok(runtime) => match runtime.lookup(Lookup::Id(&id), Duration::ZERO, None).await {
                Err(e) => after_delete(&id, Err(&e), ending.get().await?),
                Ok(found) => {
                    let found = found.filter(|s| s.deletion_requested_at.is_none());
                    let (adopted, allow) = match intent.remote {
                        RemoteIntent::Adopt { allow_deletion, .. } => (true, allow_deletion),
                        RemoteIntent::ByName { .. } => (false, false),
                    };
                    match after_lookup(
                        &id,
                        found.as_ref().map(|s| s.owner.as_ref()),
                        &owner_mark(ctx, ms),
                        adopted,
                        allow,
                    ) {
                        RemoteCleanup::Delete(id) => {
                            let result = runtime.client().delete_secret(&id).await;
                            if result.is_ok() {
                                runtime.forget_secret(&id);
                            }
                            after_delete(&id, result.as_ref().map(|_| ()), ending.get().await?)
                        }
                        other => other,
                    }
                }
            },
        };
    }
    if let RemoteCleanup::Block(failure) = decision {
        let conclusion = conclude_stop(
            &report(ms, &intent.target.name, &status, &store_name, None),
            &failure,
        );
        let requeue = finish(ms, api, ctx, &status, conclusion).await?;
        return Err(Error::DeletionBlocked(failure.message, requeue));
    }
    if let RemoteCleanup::Keep(event) = decision {
        // Logged too: in a namespace being deleted, the Event goes with the namespace.
        tracing::info!(namespace = %namespace, name = %name, reason = event.reason, note = %event.note, "remote deletion policy applied");
        events.push(event);
    }

    let target_name = status
        .target_name
        .clone()
        .unwrap_or(intent.target.name.clone());
    if let Some(secret) = secrets.get_opt(&target_name).await? {
        let action = target_cleanup(
            intent.target.deletion_policy,
            intent.target.creation_policy,
            is_ours(&secret, &name),
            secret.metadata.owner_references.is_some(),
        );
        match action {
            TargetCleanup::Nothing => {}
            TargetCleanup::Delete => {
                secrets.delete(&target_name, &Default::default()).await?;
            }
            TargetCleanup::Release => {
                // Remove exactly Keyward's keys, labels and annotations. (Releasing them through
                // an empty server-side apply would drop the whole data map when its other keys have
                // no field owner, as with Secrets written from stringData.)
                secrets
                    .patch(
                        &target_name,
                        &PatchParams::default(),
                        &Patch::Merge(&release_patch(&secret)),
                    )
                    .await?;
            }
            TargetCleanup::Orphan => {
                let patch = serde_json::json!({ "metadata": { "ownerReferences": null } });
                secrets
                    .patch(&target_name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await?;
            }
        }
    }
    ctx.events.publish(&ms.object_ref(&()), &events).await;
    forget(ctx, ms, &object);
    Ok(Action::await_change())
}

fn forget(ctx: &Context, ms: &ManagedSecret, object: &ObjectRef<ManagedSecret>) {
    ctx.index.forget(object);
    ctx.consumers
        .forget(&ms.namespace().unwrap_or_default(), &ms.name_any());
    ctx.reasons
        .set(&ms.namespace().unwrap_or_default(), &ms.name_any(), None);
    let key = key_of(ms);
    for runtime in ctx.runtimes.all() {
        runtime.unregister(&key);
    }
    ctx.runtimes.drop_unused();
}
