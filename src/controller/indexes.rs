//! Which ManagedSecrets a watched object matters to: the Secrets they push from, the credentials
//! Secrets and the stores they use. Filled by each reconcile (every object is reconciled once when
//! the controller starts), so a Secret event is mapped by two map lookups instead of a scan of
//! every ManagedSecret, and an unrelated Secret maps to nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use kube::runtime::reflector::ObjectRef;

use crate::api::{ManagedSecret, StoreKind};

/// A namespaced object by (namespace, name).
type Named = (String, String);

/// What one ManagedSecret uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uses {
    /// Its fromSecret source Secret, in its namespace.
    pub source: Option<String>,
    /// Its store's credentials Secret (namespace, name).
    pub credentials: Option<Named>,
    /// Its store: kind, namespace (for a SecretStore) and name.
    pub store: Option<(StoreKind, Option<String>, String)>,
}

#[derive(Default)]
struct Maps {
    by_object: HashMap<ObjectRef<ManagedSecret>, Uses>,
    secrets: HashMap<Named, HashSet<ObjectRef<ManagedSecret>>>,
    stores: HashMap<(StoreKind, Option<String>, String), HashSet<ObjectRef<ManagedSecret>>>,
}

#[derive(Default)]
pub struct Index {
    maps: Mutex<Maps>,
}

impl Index {
    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what `object` uses now (replacing what it used before).
    pub fn record(&self, object: &ObjectRef<ManagedSecret>, uses: Uses) {
        let mut maps = self.lock();
        if maps.by_object.get(object) == Some(&uses) {
            return;
        }
        Self::unlink(&mut maps, object);
        let namespace = object.namespace.clone().unwrap_or_default();
        if let Some(source) = &uses.source {
            maps.secrets
                .entry((namespace, source.clone()))
                .or_default()
                .insert(object.clone());
        }
        if let Some(credentials) = &uses.credentials {
            maps.secrets
                .entry(credentials.clone())
                .or_default()
                .insert(object.clone());
        }
        if let Some(store) = &uses.store {
            maps.stores
                .entry(store.clone())
                .or_default()
                .insert(object.clone());
        }
        maps.by_object.insert(object.clone(), uses);
    }

    /// Forgets a deleted object.
    pub fn forget(&self, object: &ObjectRef<ManagedSecret>) {
        let mut maps = self.lock();
        Self::unlink(&mut maps, object);
        maps.by_object.remove(object);
    }

    fn unlink(maps: &mut Maps, object: &ObjectRef<ManagedSecret>) {
        let Some(old) = maps.by_object.get(object).cloned() else {
            return;
        };
        let namespace = object.namespace.clone().unwrap_or_default();
        let mut drop_secret = |key: Named| {
            if let Some(set) = maps.secrets.get_mut(&key) {
                set.remove(object);
                if set.is_empty() {
                    maps.secrets.remove(&key);
                }
            }
        };
        if let Some(source) = old.source {
            drop_secret((namespace, source));
        }
        if let Some(credentials) = old.credentials {
            drop_secret(credentials);
        }
        if let Some(store) = old.store
            && let Some(set) = maps.stores.get_mut(&store)
        {
            set.remove(object);
            if set.is_empty() {
                maps.stores.remove(&store);
            }
        }
    }

    /// The objects a Secret in `namespace` named `name` is a source or credentials of.
    pub fn users_of_secret(&self, namespace: &str, name: &str) -> Vec<ObjectRef<ManagedSecret>> {
        self.lock()
            .secrets
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The objects using a store.
    pub fn users_of_store(
        &self,
        kind: StoreKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Vec<ObjectRef<ManagedSecret>> {
        self.lock()
            .stores
            .get(&(kind, namespace.map(str::to_owned), name.to_owned()))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Objects known.
    pub fn len(&self) -> usize {
        self.lock().by_object.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ns: &str, name: &str) -> ObjectRef<ManagedSecret> {
        ObjectRef::new(name).within(ns)
    }

    #[test]
    fn secrets_and_stores_map_to_their_users_only() {
        let index = Index::default();
        let a = ms("team", "a");
        let b = ms("team", "b");
        index.record(
            &a,
            Uses {
                source: Some("src".into()),
                credentials: Some(("team".into(), "creds".into())),
                store: Some((StoreKind::SecretStore, Some("team".into()), "emu".into())),
            },
        );
        index.record(
            &b,
            Uses {
                source: None,
                credentials: Some(("team".into(), "creds".into())),
                store: Some((StoreKind::ClusterSecretStore, None, "shared".into())),
            },
        );
        assert_eq!(index.users_of_secret("team", "src"), vec![a.clone()]);
        assert_eq!(index.users_of_secret("team", "creds").len(), 2);
        assert!(
            index.users_of_secret("other", "src").is_empty(),
            "namespaces apart"
        );
        assert!(index.users_of_secret("team", "helm-release-1").is_empty());
        assert_eq!(
            index.users_of_store(StoreKind::ClusterSecretStore, None, "shared"),
            vec![b.clone()]
        );
        // A changed spec replaces what the object used.
        index.record(
            &a,
            Uses {
                source: Some("src2".into()),
                ..Default::default()
            },
        );
        assert!(index.users_of_secret("team", "src").is_empty());
        assert_eq!(index.users_of_secret("team", "src2"), vec![a.clone()]);
        assert_eq!(index.users_of_secret("team", "creds"), vec![b.clone()]);
        index.forget(&b);
        assert!(index.users_of_secret("team", "creds").is_empty());
        assert_eq!(index.len(), 1);
    }
}
