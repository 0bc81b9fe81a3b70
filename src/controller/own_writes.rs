//! Read-your-writes for a controller's cache. A reconcile is handed its object from the watch
//! cache, and the next reconcile of an object often starts at once (its own target Secret write
//! queues it). If the cache has not yet seen the status the previous reconcile wrote, that
//! reconcile plans from an older status: it mirrors a revision again, or takes a rotation already
//! done for not done. So a reconcile that wrote status ends only once the cache shows that write
//! (the "stale controller" problem of Kubernetes controllers, met the same way: per object, by
//! resourceVersion).

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::status::patch_status;

/// How long a reconcile waits for the cache before it lets the object go anyway (the watch is
/// down or relisting); the object's next reconcile then may see the older status once.
const PATIENCE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(10);

/// The controllers' caches (one per watched namespace, or one for all) and the resourceVersion of
/// the last status each object got from this process and the cache has not shown yet.
pub struct OwnWrites<K: Resource<DynamicType = ()> + 'static> {
    caches: RwLock<HashMap<Option<String>, Store<K>>>,
    written: Mutex<HashMap<ObjectRef<K>, String>>,
}

impl<K> Default for OwnWrites<K>
where
    K: Resource<DynamicType = ()> + 'static,
{
    fn default() -> Self {
        Self {
            caches: RwLock::default(),
            written: Mutex::default(),
        }
    }
}

impl<K> OwnWrites<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + 'static,
{
    /// Registers the cache of the controller watching `scope` (a namespace, or `None` for all).
    pub fn cache(&self, scope: Option<String>, store: Store<K>) {
        self.caches
            .write()
            .expect("caches lock")
            .insert(scope, store);
    }

    /// Writes the status of the object `name` (see [`patch_status`]) and records the write, for
    /// [`OwnWrites::settle`] to wait for.
    pub async fn write_status<S: Serialize>(
        &self,
        api: &Api<K>,
        name: &str,
        status: &S,
    ) -> Result<(), kube::Error> {
        let written = patch_status(api, name, status).await?;
        self.wrote(&written);
        Ok(())
    }

    /// Records a status write: `written` is the object the API server answered with.
    fn wrote(&self, written: &K) {
        if let Some(version) = written.meta().resource_version.clone() {
            self.written
                .lock()
                .expect("written lock")
                .insert(ObjectRef::from_obj(written), version);
        }
    }

    /// Waits until the cache shows the last status this process wrote to `object` (or no longer
    /// has the object), at most [`PATIENCE`]. Returns whether it did.
    pub async fn settle(&self, object: &ObjectRef<K>) -> bool {
        let Some(version) = self.written.lock().expect("written lock").remove(object) else {
            return true;
        };
        let Some(store) = self.store_for(object) else {
            return true;
        };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match store.get(object) {
                None => return true,
                Some(cached) if cached.meta().resource_version.as_ref() == Some(&version) => {
                    return true;
                }
                Some(_) if tokio::time::Instant::now() >= deadline => {
                    tracing::debug!(name = %object.name, "the cache did not show this reconcile's status write in time");
                    return false;
                }
                Some(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    fn store_for(&self, object: &ObjectRef<K>) -> Option<Store<K>> {
        let caches = self.caches.read().expect("caches lock");
        caches
            .get(&object.namespace)
            .or_else(|| caches.get(&None))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ManagedSecret;
    use kube::runtime::reflector::store;
    use kube::runtime::watcher::Event;

    fn object(version: &str) -> ManagedSecret {
        let mut ms: ManagedSecret = serde_json::from_value(serde_json::json!({
            "apiVersion": "keyward.dev/v1alpha1",
            "kind": "ManagedSecret",
            "metadata": {"name": "db", "namespace": "team"},
            "spec": {"storeRef": {"name": "s"}, "generate": {}},
        }))
        .unwrap();
        ms.metadata.resource_version = Some(version.into());
        ms
    }

    #[tokio::test(start_paused = true)]
    async fn waits_until_the_cache_shows_the_write_and_no_longer() {
        let own = OwnWrites::<ManagedSecret>::default();
        let (reader, mut writer) = store();
        writer.apply_watcher_event(&Event::Apply(object("1")));
        own.cache(Some("team".into()), reader);
        own.wrote(&object("2"));
        let key = ObjectRef::from_obj(&object("1"));
        let started = tokio::time::Instant::now();
        let waiting = async {
            let settled = own.settle(&key).await;
            (settled, started.elapsed())
        };
        let cache = async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            writer.apply_watcher_event(&Event::Apply(object("2")));
        };
        let ((settled, waited), ()) = tokio::join!(waiting, cache);
        assert!(settled);
        assert!(waited >= Duration::from_secs(1), "{waited:?}");
        assert!(waited <= Duration::from_secs(1) + POLL, "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_its_patience_and_forgets_the_write() {
        let own = OwnWrites::<ManagedSecret>::default();
        let (reader, mut writer) = store();
        writer.apply_watcher_event(&Event::Apply(object("1")));
        own.cache(None, reader);
        own.wrote(&object("2"));
        let key = ObjectRef::from_obj(&object("1"));
        let started = tokio::time::Instant::now();
        assert!(!own.settle(&key).await);
        assert!(started.elapsed() >= PATIENCE);
        // Forgotten: the next reconcile does not wait for it again.
        let again = tokio::time::Instant::now();
        assert!(own.settle(&key).await);
        assert_eq!(again.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn an_object_gone_from_the_cache_or_never_written_is_not_waited_for() {
        let own = OwnWrites::<ManagedSecret>::default();
        let (reader, mut writer) = store();
        own.cache(Some("team".into()), reader);
        let key = ObjectRef::from_obj(&object("1"));
        let started = tokio::time::Instant::now();
        assert!(own.settle(&key).await, "never written");
        own.wrote(&object("2"));
        writer.apply_watcher_event(&Event::Delete(object("1")));
        assert!(own.settle(&key).await, "gone");
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
