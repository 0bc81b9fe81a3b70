//! The `keyward_objects{kind,reason}` gauge: how many objects stand at each Ready reason, kept
//! from what each reconcile concluded.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::api::conditions::Reason;

use super::Metrics;

pub struct ObjectReasons {
    kind: &'static str,
    metrics: Metrics,
    by_object: Mutex<HashMap<(String, String), Reason>>,
}

impl ObjectReasons {
    pub fn new(kind: &'static str, metrics: Metrics) -> Self {
        Self {
            kind,
            metrics,
            by_object: Mutex::default(),
        }
    }

    /// Records an object's reason (`None`: it is gone) and updates the gauge.
    pub fn set(&self, namespace: &str, name: &str, reason: Option<Reason>) {
        let mut by_object = self.by_object.lock().unwrap_or_else(|e| e.into_inner());
        let key = (namespace.to_owned(), name.to_owned());
        let changed = match reason {
            Some(r) => by_object.insert(key, r) != Some(r),
            None => by_object.remove(&key).is_some(),
        };
        if !changed {
            return;
        }
        let counts: Vec<(&'static str, i64)> = Reason::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str(),
                    by_object.values().filter(|v| *v == r).count() as i64,
                )
            })
            .collect();
        drop(by_object);
        self.metrics.set_objects_by_reason(self.kind, &counts);
    }
}

/// The same gauge for the stores (`kind` SecretStore or ClusterSecretStore), from the Ready
/// condition the store controllers conclude: what "store not Ready" alerts on.
pub struct StoreReasons {
    secret_stores: ObjectReasons,
    cluster_stores: ObjectReasons,
}

impl StoreReasons {
    pub fn new(metrics: Metrics) -> Self {
        Self {
            secret_stores: ObjectReasons::new("SecretStore", metrics.clone()),
            cluster_stores: ObjectReasons::new("ClusterSecretStore", metrics),
        }
    }

    /// Records a store's reason; `kind` is the store's kind.
    pub fn set(&self, kind: &str, namespace: &str, name: &str, reason: Reason) {
        let reasons = match kind {
            "ClusterSecretStore" => &self.cluster_stores,
            _ => &self.secret_stores,
        };
        reasons.set(namespace, name, Some(reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_each_objects_latest_reason() {
        let metrics = Metrics::new();
        let reasons = ObjectReasons::new("ManagedSecret", metrics.clone());
        reasons.set("a", "x", Some(Reason::Synced));
        reasons.set("a", "y", Some(Reason::Synced));
        reasons.set("a", "y", Some(Reason::AuthFailed));
        let text = metrics.encode();
        assert!(
            text.contains(r#"keyward_objects{kind="ManagedSecret",reason="Synced"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"keyward_objects{kind="ManagedSecret",reason="AuthFailed"} 1"#));
        reasons.set("a", "x", None);
        let stores = StoreReasons::new(metrics.clone());
        stores.set("ClusterSecretStore", "", "shared", Reason::AuthFailed);
        assert!(
            metrics
                .encode()
                .contains(r#"keyward_objects{kind="ClusterSecretStore",reason="AuthFailed"} 1"#)
        );
        let text = metrics.encode();
        assert!(text.contains(r#"keyward_objects{kind="ManagedSecret",reason="Synced"} 0"#));
    }
}
