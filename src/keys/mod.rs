//! The ManagedKey controller: KMS master keys whose versions Keyward rotates.
//!
//! - [`intent`]: the spec resolved and checked;
//! - [`plan`]: the pure planner (rotation due, settling a rotation in flight, retirement) and the
//!   status the executed steps leave;
//! - [`clients`]: one KMS client per store identity and management endpoint, passing the store's
//!   budget (and the tenancy's KMS write budget);
//! - [`reconcile`]: observe, plan, execute, report.
//!
//! Watches: ManagedKeys trigger on what a person changes (generation, Keyward's annotations,
//! deletion), never on Keyward's own status writes; everything else is read when the object's
//! requeue comes (its next rotation or its refresh interval).

pub mod clients;
pub mod intent;
pub mod plan;
pub mod reconcile;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use kube::runtime::controller::Controller;
use kube::runtime::{PredicateConfig, WatchStreamExt, reflector, watcher};
use kube::{Api, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::api::ManagedKey;
use crate::api::well_known::{FORCE_SYNC_ANNOTATION, ROTATE_ANNOTATION};

pub use reconcile::{KIND, KeyContext};

/// What a person changes on a ManagedKey; Keyward's status writes change none of it.
fn changed_by_a_person(mk: &ManagedKey) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    mk.metadata.uid.hash(&mut hasher);
    mk.metadata.generation.hash(&mut hasher);
    mk.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    let annotations = mk.annotations();
    annotations.get(ROTATE_ANNOTATION).hash(&mut hasher);
    annotations.get(FORCE_SYNC_ANNOTATION).hash(&mut hasher);
    Some(hasher.finish())
}

/// Runs the ManagedKey controller over one namespace (or all when `namespace` is `None`) until
/// `term` ends.
pub async fn run_controller(
    ctx: Arc<KeyContext>,
    namespace: Option<String>,
    concurrency: u16,
    term: CancellationToken,
) {
    let client = ctx.shared.client.clone();
    let api: Api<ManagedKey> = match &namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let (reader, writer) = reflector::store();
    ctx.own_writes.cache(namespace.clone(), reader.clone());
    let gauge = ctx.clone();
    let objects = watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
        .reflect(writer)
        // ManagedKeys carry no finalizer (Keyward never deletes a key), so a deletion reaches no
        // reconcile: the object leaves the `keyward_objects` gauge here.
        .inspect_ok(move |event| {
            if let watcher::Event::Delete(mk) = event {
                gauge
                    .reasons
                    .set(&mk.namespace().unwrap_or_default(), &mk.name_any(), None);
            }
        })
        .applied_objects()
        .predicate_filter(changed_by_a_person, PredicateConfig::default());
    Controller::for_stream(objects, reader)
        .with_config(kube::runtime::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(term.cancelled_owned())
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "ManagedKey reconcile error");
            }
        })
        .await;
}
