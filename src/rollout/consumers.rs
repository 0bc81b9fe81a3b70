//! Which ManagedSecrets feed which workload, and at which revision: the restart annotation is a
//! keyed digest of all of them, so ManagedSecrets rotated together change it once. Every
//! ManagedSecret with rollout workloads records itself here at each reconcile that looks at its
//! workloads (an operator restart refills it as the objects reconcile).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use jiff::Timestamp;

use super::workload::WorkloadId;
use crate::mirror::HmacKey;

/// One ManagedSecret's contribution to a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feed {
    /// The revision its target Secret holds.
    pub revision: u32,
    /// When that revision reached the Secret.
    pub mirrored_at: Timestamp,
    /// Its rollout of that revision has not restarted this workload yet.
    pub pending: bool,
}

type Key = (String, WorkloadId);

#[derive(Debug, Default)]
pub struct Consumers {
    feeds: Mutex<HashMap<Key, BTreeMap<String, Feed>>>,
}

impl Consumers {
    /// Records that `object` feeds exactly `workloads` (in `namespace`) with `feed`.
    pub fn record(&self, namespace: &str, object: &str, workloads: &[(WorkloadId, Feed)]) {
        let mut feeds = self.feeds.lock().expect("consumers poisoned");
        feeds.retain(|(ns, id), by_object| {
            if ns == namespace && !workloads.iter().any(|(w, _)| w == id) {
                by_object.remove(object);
            }
            !by_object.is_empty()
        });
        for (id, feed) in workloads {
            feeds
                .entry((namespace.to_owned(), id.clone()))
                .or_default()
                .insert(object.to_owned(), *feed);
        }
    }

    /// Forgets `object` (deleted).
    pub fn forget(&self, namespace: &str, object: &str) {
        self.record(namespace, object, &[]);
    }

    /// Everything that feeds `workload`.
    pub fn of(&self, namespace: &str, workload: &WorkloadId) -> BTreeMap<String, Feed> {
        self.feeds
            .lock()
            .expect("consumers poisoned")
            .get(&(namespace.to_owned(), workload.clone()))
            .cloned()
            .unwrap_or_default()
    }
}

/// The restart annotation's value for a workload fed by `feeds`: a keyed digest of each feeding
/// ManagedSecret's name and revision (the revisions alone would tell an observer how often a
/// secret rotated; the key keeps the value meaningless outside Keyward).
pub fn restart_value(key: &HmacKey, feeds: &BTreeMap<String, Feed>) -> String {
    let revisions: Vec<(String, Vec<u8>)> = feeds
        .iter()
        .map(|(name, f)| (name.clone(), f.revision.to_be_bytes().to_vec()))
        .collect();
    let digest = crate::mirror::digest::data_hmac(
        key,
        revisions.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
    );
    // `v1:` and 64 hex digits; 24 of them are plenty to tell revisions apart.
    digest.chars().take(3 + 24).collect()
}

/// When a workload may restart: the debounce window after the newest revision among the feeds
/// still waiting to restart it.
pub fn restart_due(
    feeds: &BTreeMap<String, Feed>,
    debounce: std::time::Duration,
) -> Option<Timestamp> {
    let newest = feeds
        .values()
        .filter(|f| f.pending)
        .map(|f| f.mirrored_at)
        .max()?;
    Some(crate::rotation::later(newest, debounce))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::lifecycle::WorkloadKind;
    use std::time::Duration;

    fn id(name: &str) -> WorkloadId {
        WorkloadId {
            kind: WorkloadKind::Deployment,
            name: name.into(),
        }
    }

    fn feed(revision: u32, at: i64, pending: bool) -> Feed {
        Feed {
            revision,
            mirrored_at: Timestamp::from_second(at).unwrap(),
            pending,
        }
    }

    #[test]
    fn the_restart_value_changes_with_any_revision_and_only_then() {
        let key = HmacKey::new(vec![7u8; 32]).unwrap();
        let a: BTreeMap<_, _> = [
            ("a".to_string(), feed(1, 0, false)),
            ("b".to_string(), feed(4, 0, false)),
        ]
        .into();
        let same_revisions_other_times: BTreeMap<_, _> = [
            ("a".to_string(), feed(1, 50, true)),
            ("b".to_string(), feed(4, 9, false)),
        ]
        .into();
        let b_rotated: BTreeMap<_, _> = [
            ("a".to_string(), feed(1, 0, false)),
            ("b".to_string(), feed(5, 0, false)),
        ]
        .into();
        assert_eq!(
            restart_value(&key, &a),
            restart_value(&key, &same_revisions_other_times)
        );
        assert_ne!(restart_value(&key, &a), restart_value(&key, &b_rotated));
        let other_key = HmacKey::new(vec![8u8; 32]).unwrap();
        assert_ne!(restart_value(&key, &a), restart_value(&other_key, &a));
        assert!(restart_value(&key, &a).starts_with("v1:"));
    }

    #[test]
    fn a_restart_is_due_a_debounce_after_the_newest_pending_revision() {
        let feeds: BTreeMap<_, _> = [
            ("a".to_string(), feed(2, 100, true)),
            ("b".to_string(), feed(3, 104, true)),
            ("c".to_string(), feed(9, 500, false)),
        ]
        .into();
        assert_eq!(
            restart_due(&feeds, Duration::from_secs(10)),
            Some(Timestamp::from_second(114).unwrap())
        );
        let settled: BTreeMap<_, _> = [("c".to_string(), feed(9, 500, false))].into();
        assert_eq!(restart_due(&settled, Duration::from_secs(10)), None);
    }

    #[test]
    fn records_replace_an_objects_workloads_and_forget_removes_them() {
        let consumers = Consumers::default();
        consumers.record(
            "ns",
            "a",
            &[
                (id("api"), feed(1, 0, false)),
                (id("web"), feed(1, 0, false)),
            ],
        );
        consumers.record("ns", "b", &[(id("api"), feed(7, 0, true))]);
        consumers.record("other", "a", &[(id("api"), feed(3, 0, false))]);
        assert_eq!(consumers.of("ns", &id("api")).len(), 2);
        consumers.record("ns", "a", &[(id("web"), feed(2, 0, true))]);
        assert_eq!(
            consumers.of("ns", &id("api")).keys().collect::<Vec<_>>(),
            vec!["b"]
        );
        assert_eq!(consumers.of("ns", &id("web"))["a"].revision, 2);
        consumers.forget("ns", "b");
        assert!(consumers.of("ns", &id("api")).is_empty());
        assert_eq!(
            consumers.of("other", &id("api"))["a"].revision,
            3,
            "namespaces stay apart"
        );
    }
}
