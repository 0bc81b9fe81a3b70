//! One reconcile of a ManagedKey: resolve the intent and the store, read the key (one call, plus
//! one for a current version Keyward has not seen), plan, perform the steps (announcing a rotation
//! in status before the write), and write the status only when it changed. Expected problems end
//! as `Ready=False` with a reason, one Event when new, and a requeue paced by the backoff; only
//! Kubernetes API failures are errors.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};

use crate::api::conditions::{READY, Reason, find};
use crate::api::{ManagedKey, ManagedKeyStatus, OperationCause};
use crate::controller::events::EventNote;
use crate::controller::observe::store_failing;
use crate::controller::own_writes::OwnWrites;
use crate::controller::plan::backoff::Pace;
use crate::controller::plan::conclude::{Failing, Failure, provider_failure};
use crate::controller::reconcile::Context;
use crate::provider::keys::KeyManager;
use crate::stores::{ResolvedStore, resolve_store};
use crate::telemetry::{ObjectReasons, RotationTrigger};

use super::clients::KeyClients;
use super::intent::key_intent;
use super::plan::{
    KeyFact, KeyIntent, KeyPlan, KeyPlanInput, KeyStep, conclude_key, plan_key, ready, requeue,
};

/// The kind name in metrics and logs.
pub const KIND: &str = "ManagedKey";

/// What every ManagedKey reconcile shares.
pub struct KeyContext {
    pub shared: Arc<Context>,
    pub clients: KeyClients,
    pub reasons: ObjectReasons,
    /// Status writes the watch cache has yet to show.
    pub own_writes: OwnWrites<ManagedKey>,
}

/// A reconcile that could not even report its problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

pub fn error_policy(_mk: Arc<ManagedKey>, _error: &Error, _ctx: Arc<KeyContext>) -> Action {
    Action::requeue(Duration::from_secs(5) + Duration::from_millis(rand::random::<u64>() % 5000))
}

/// What stopped a reconcile before or while it acted.
pub struct Stop {
    pub action: &'static str,
    pub failure: Failure,
}

impl Stop {
    fn new(action: &'static str, failure: Failure) -> Self {
        Self { action, failure }
    }
}

pub async fn reconcile(mk: Arc<ManagedKey>, ctx: Arc<KeyContext>) -> Result<Action, Error> {
    let result = reconcile_key(&mk, &ctx).await;
    // The next reconcile of this key starts from the status this one wrote: a rotation already
    // made is never taken for one still due.
    ctx.own_writes.settle(&ObjectRef::from_obj(&*mk)).await;
    result
}

async fn reconcile_key(mk: &ManagedKey, ctx: &KeyContext) -> Result<Action, Error> {
    let namespace = mk.namespace().unwrap_or_default();
    let name = mk.name_any();
    let api: Api<ManagedKey> = Api::namespaced(ctx.shared.client.clone(), &namespace);
    let mut guard = ctx.shared.metrics.reconcile_started();
    if mk.meta().deletion_timestamp.is_some() {
        // Nothing remote to undo: a key is never deleted by Keyward.
        ctx.reasons.set(&namespace, &name, None);
        guard.succeeded();
        return Ok(Action::await_change());
    }
    let before = mk.status.clone().unwrap_or_default();
    let now = Timestamp::now();
    let random: f64 = rand::random();
    let (status, events, requeue_after) = match prepare(mk, ctx, now).await {
        Err(stopped) => stopped.conclude(&before, now, random),
        Ok(planned) => {
            if !planned.plan.steps.is_empty() {
                tracing::info!(
                    namespace = %namespace,
                    name = %name,
                    steps = ?planned.plan.steps.iter().map(KeyStep::action).collect::<Vec<_>>(),
                    "planned"
                );
            }
            let (facts, stop) = execute(&planned, &api, &name, ctx).await;
            let (status, events) = conclude_key(&planned.plan, &planned.intent, &facts, now);
            for fact in &facts {
                if let KeyFact::Rotated { pending, .. } = fact {
                    ctx.shared.metrics.key_rotation(match pending.cause {
                        OperationCause::Request => RotationTrigger::Annotation,
                        _ => RotationTrigger::Schedule,
                    });
                }
            }
            match stop {
                Some(stop) => Stopped {
                    status,
                    events,
                    stop,
                    store: Some(planned.store.clone()),
                    generation: planned.intent.generation,
                }
                .conclude(&before, now, random),
                None => {
                    let mut status = status;
                    ready(&mut status, &planned.intent, now);
                    let wait = requeue(&status, &planned.intent, now);
                    (status, events, wait)
                }
            }
        }
    };
    // Events first, as for ManagedSecrets: the status never tells of a change before its Event.
    if !events.is_empty() {
        ctx.shared
            .events
            .publish(&mk.object_ref(&()), &events)
            .await;
    }
    if status != before {
        ctx.own_writes.write_status(&api, &name, &status).await?;
    }
    let reason = find(&status.conditions, READY)
        .and_then(|c| Reason::ALL.into_iter().find(|r| r.as_str() == c.reason));
    ctx.reasons.set(&namespace, &name, reason);
    // An expected problem is reported in status, not a failed reconcile.
    guard.succeeded();
    tracing::debug!(namespace = %namespace, name = %name, requeue_s = requeue_after.as_secs(), "reconciled a ManagedKey");
    Ok(Action::requeue(requeue_after))
}

/// A reconcile that stopped short: what status it leaves (before the Ready condition) and why.
pub struct Stopped {
    pub status: ManagedKeyStatus,
    pub events: Vec<EventNote>,
    pub stop: Stop,
    /// The store, once resolved.
    pub store: Option<String>,
    pub generation: Option<i64>,
}

impl Stopped {
    /// The status with its failure, the Events and the next attempt.
    fn conclude(
        self,
        before: &ManagedKeyStatus,
        now: Timestamp,
        random: f64,
    ) -> (ManagedKeyStatus, Vec<EventNote>, Duration) {
        let failing = Failing {
            before: &before.conditions,
            generation: self.generation,
            store: self.store.as_deref().unwrap_or("its store"),
            now,
            random,
        };
        let mut status = self.status;
        let mut events = self.events;
        events.extend(failing.fail(&mut status.conditions, self.stop.action, &self.stop.failure));
        let wait = failing.requeue(&status.conditions, &self.stop.failure);
        (status, events, wait)
    }
}

/// A reconcile planned: what it would do, and the client to do it with.
pub struct Planned {
    pub intent: KeyIntent,
    pub plan: KeyPlan,
    pub keys: Arc<dyn KeyManager>,
    pub store: String,
}

/// Resolve, read the key and plan: the operator's reconcile and `keyward plan` alike (the latter
/// with read-only runtimes, whose clients refuse every write). Writes nothing.
pub async fn prepare(
    mk: &ManagedKey,
    ctx: &KeyContext,
    now: Timestamp,
) -> Result<Planned, Stopped> {
    let before = mk.status.clone().unwrap_or_default();
    let stopped = |stop: Stop, store: Option<String>, status: ManagedKeyStatus| Stopped {
        status,
        events: Vec::new(),
        stop,
        store,
        generation: mk.metadata.generation,
    };
    let intent = key_intent(mk).map_err(|message| {
        stopped(
            Stop::new("Reconcile", Failure::invalid(message)),
            None,
            before.clone(),
        )
    })?;
    let (keys, store) = client(mk, ctx)
        .await
        .map_err(|stop| stopped(stop, None, before.clone()))?;
    let display = Some(store.display.clone());
    if let Some(failure) = store_failing(&store.runtime, &store.display) {
        return Err(stopped(Stop::new("Reconcile", failure), display, before));
    }
    let key = keys.get_key(&intent.key_id).await.map_err(|e| {
        stopped(
            Stop::new("GetKey", provider_failure(&e)),
            display.clone(),
            before.clone(),
        )
    })?;
    let current_created = match &key.current_version {
        Some(v) if Some(v) == before.current_key_version.as_ref() => {
            before.current_key_version_created.as_ref().map(|t| t.0)
        }
        Some(v) => match keys.get_key_version(&key.id, v).await {
            Ok(version) => version.created_at,
            Err(e) => {
                return Err(stopped(
                    Stop::new("GetKeyVersion", provider_failure(&e)),
                    display,
                    before,
                ));
            }
        },
        None => None,
    };
    let plan = plan_key(&KeyPlanInput {
        intent: &intent,
        status: &before,
        key: &key,
        current_created,
        now,
    });
    if let Some(failure) = plan.failure.clone() {
        return Err(Stopped {
            status: plan.status,
            events: plan.events,
            stop: Stop::new("Reconcile", failure),
            store: display,
            generation: intent.generation,
        });
    }
    Ok(Planned {
        intent,
        plan,
        keys,
        store: store.display,
    })
}

/// The store, checked to be an OCI store with a management endpoint, and its KMS client.
async fn client(
    mk: &ManagedKey,
    ctx: &KeyContext,
) -> Result<(Arc<dyn KeyManager>, ResolvedStore), Stop> {
    let shared = &ctx.shared;
    let namespace = mk.namespace().unwrap_or_default();
    let store = resolve_store(
        &shared.client,
        &namespace,
        &mk.spec.store_ref,
        &shared.runtimes,
    )
    .await
    .map_err(|p| {
        let pace = match p.reason {
            Reason::StoreNotFound | Reason::StoreNotReady => Pace::Temporary,
            _ => Pace::Persistent,
        };
        Stop::new("Reconcile", Failure::new(p.reason, p.message, pace))
    })?;
    let Some(oci) = store.spec.oci.as_ref() else {
        return Err(Stop::new(
            "Reconcile",
            Failure::invalid(format!(
                "{} is not an OCI store: ManagedKeys rotate OCI KMS keys only",
                store.display
            )),
        ));
    };
    let endpoint = mk
        .spec
        .management_endpoint
        .clone()
        .or_else(|| oci.endpoints.as_ref().and_then(|e| e.kms_management.clone()))
        .ok_or_else(|| {
            Stop::new(
                "Reconcile",
                Failure::invalid(format!(
                    "no KMS management endpoint: set spec.managementEndpoint (the vault's managementEndpoint) or {}'s provider.oci.endpoints.kmsManagement",
                    store.display
                )),
            )
        })?;
    shared.runtimes.endpoints().check(&endpoint).map_err(|m| {
        Stop::new(
            "Reconcile",
            Failure::new(
                Reason::EndpointNotAllowed,
                format!("managementEndpoint: {m}"),
                Pace::Persistent,
            ),
        )
    })?;
    let keys = ctx
        .clients
        .client(&shared.client, &store, oci, &endpoint, &shared.runtimes)
        .await
        .map_err(|p| {
            Stop::new(
                "Reconcile",
                Failure::new(p.reason, p.message, Pace::Persistent),
            )
        })?;
    Ok((keys, store))
}

/// Performs the plan's steps in order, stopping at the first failure.
async fn execute(
    planned: &Planned,
    api: &Api<ManagedKey>,
    name: &str,
    ctx: &KeyContext,
) -> (Vec<KeyFact>, Option<Stop>) {
    let (plan, intent, keys) = (&planned.plan, &planned.intent, planned.keys.as_ref());
    let mut facts = Vec::new();
    for step in &plan.steps {
        match step {
            KeyStep::Rotate(pending) => {
                if plan.status.pending_rotation.as_ref() != Some(pending) {
                    // Announced before the write: a crash after it finds this in status.
                    let announced = ManagedKeyStatus {
                        pending_rotation: Some(pending.clone()),
                        ..plan.status.clone()
                    };
                    if let Err(e) = ctx.own_writes.write_status(api, name, &announced).await {
                        let failure = Failure::new(
                            Reason::ProviderError,
                            format!("recording the rotation in status failed: {e}"),
                            Pace::Temporary,
                        );
                        return (facts, Some(Stop::new("CreateKeyVersion", failure)));
                    }
                }
                match keys
                    .create_key_version(&intent.key_id, &pending.token)
                    .await
                {
                    Ok(version) => {
                        crate::controller::execute::crash_point(
                            ctx.shared.crash_after.as_deref(),
                            "create_key_version",
                        );
                        facts.push(KeyFact::Rotated {
                            pending: pending.clone(),
                            version,
                        });
                    }
                    Err(e) => {
                        return (
                            facts,
                            Some(Stop::new("CreateKeyVersion", provider_failure(&e))),
                        );
                    }
                }
            }
            KeyStep::ScheduleDeletion { version, at } => {
                match keys
                    .schedule_key_version_deletion(&intent.key_id, version, *at, &intent.object)
                    .await
                {
                    Ok(_) => facts.push(KeyFact::DeletionScheduled {
                        version: version.clone(),
                        at: *at,
                    }),
                    Err(e) => {
                        return (
                            facts,
                            Some(Stop::new(
                                "ScheduleKeyVersionDeletion",
                                provider_failure(&e),
                            )),
                        );
                    }
                }
            }
        }
    }
    (facts, None)
}
