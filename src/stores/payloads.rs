//! The payload cache of one store runtime: `(secret id, revision) → value`. Versions are immutable,
//! so a payload read once stays right; the cache lives inside the runtime of one provider identity
//! and is never consulted on behalf of another. Bounded by entries and bytes (least recently used
//! goes first); evicted values are zeroized when dropped (see `SecretValue`).

use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

use crate::provider::SecretId;
use crate::secret_value::SecretValue;

/// Entries kept at most.
const MAX_ENTRIES: usize = 4096;
/// Payload bytes kept at most (a payload is at most 64 KiB on Scaleway).
const MAX_BYTES: usize = 32 * 1024 * 1024;

pub struct PayloadCache {
    inner: Mutex<Inner>,
}

struct Inner {
    entries: LruCache<(SecretId, u64), SecretValue>,
    bytes: usize,
    max_bytes: usize,
}

impl Default for PayloadCache {
    fn default() -> Self {
        Self::with_limits(MAX_ENTRIES, MAX_BYTES)
    }
}

impl PayloadCache {
    pub fn with_limits(entries: usize, bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: LruCache::new(NonZeroUsize::new(entries.max(1)).expect("at least one")),
                bytes: 0,
                max_bytes: bytes,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, id: &SecretId, revision: u64) -> Option<SecretValue> {
        self.lock().entries.get(&(id.clone(), revision)).cloned()
    }

    pub fn put(&self, id: &SecretId, revision: u64, value: SecretValue) {
        let mut inner = self.lock();
        if value.len() > inner.max_bytes {
            return;
        }
        inner.bytes += value.len();
        if let Some((_, old)) = inner.entries.push((id.clone(), revision), value) {
            inner.bytes -= old.len();
        }
        while inner.bytes > inner.max_bytes {
            match inner.entries.pop_lru() {
                Some((_, evicted)) => inner.bytes -= evicted.len(),
                None => break,
            }
        }
    }

    /// Forgets every revision of a secret (deleted, or adopted by another identity's store).
    pub fn forget(&self, id: &SecretId) {
        let mut inner = self.lock();
        let keys: Vec<_> = inner
            .entries
            .iter()
            .filter(|((sid, _), _)| sid == id)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            if let Some(v) = inner.entries.pop(&key) {
                inner.bytes -= v.len();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> SecretId {
        SecretId::new(s)
    }

    #[test]
    fn bounded_by_entries_and_bytes_least_recently_used_first() {
        let cache = PayloadCache::with_limits(2, 10);
        cache.put(&id("a"), 1, SecretValue::from("aaaa"));
        cache.put(&id("b"), 1, SecretValue::from("bbbb"));
        assert!(cache.get(&id("a"), 1).is_some(), "a is now the most recent");
        cache.put(&id("c"), 1, SecretValue::from("cc"));
        assert!(
            cache.get(&id("b"), 1).is_none(),
            "b was least recently used"
        );
        assert_eq!(cache.len(), 2);
        cache.put(&id("d"), 1, SecretValue::from("ddddddddd"));
        assert_eq!(cache.len(), 1, "bytes bound: only d fits");
        cache.put(&id("e"), 1, SecretValue::from("too long for the cache"));
        assert!(cache.get(&id("e"), 1).is_none());
        assert!(cache.get(&id("d"), 1).is_some());
    }

    #[test]
    fn revisions_are_separate_and_forget_drops_them_all() {
        let cache = PayloadCache::default();
        cache.put(&id("a"), 1, SecretValue::from("one"));
        cache.put(&id("a"), 2, SecretValue::from("two"));
        cache.put(&id("b"), 1, SecretValue::from("other"));
        assert_eq!(cache.get(&id("a"), 2).unwrap().expose(), b"two");
        cache.forget(&id("a"));
        assert!(cache.get(&id("a"), 1).is_none() && cache.get(&id("a"), 2).is_none());
        assert!(cache.get(&id("b"), 1).is_some());
    }
}
