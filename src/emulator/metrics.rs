//! Request counters per endpoint and status, and per secret, so that a test can bound the provider
//! calls one object caused. Counting takes no lock on the hot path: the endpoint table is fixed, and a
//! secret's counter is found under a read lock (the write lock only for a secret's first request).
//!
//! Endpoints are the provider's own names (`GetSecret`…), fixed when the emulator starts; a request
//! that matched none of them is counted under [`UNROUTED`]. A request counts for a secret when its
//! path names one (the provider's path parameter, as sent), whatever the answer.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The endpoint name for requests that matched no route (and for names the provider did not declare).
pub const UNROUTED: &str = "Unrouted";

/// Statuses the emulators answer with; anything else is counted under the last slot (999).
const STATUSES: [u16; 15] = [
    200, 201, 204, 400, 401, 403, 404, 405, 409, 412, 413, 429, 500, 503, 0,
];
const OTHER_STATUS: u16 = 999;

/// `counts[endpoint][status]`. Status 0 counts dropped connections (no response was sent).
pub struct RequestCounters {
    names: Vec<&'static str>,
    index: HashMap<&'static str, usize>,
    counts: Vec<[AtomicU64; STATUSES.len() + 1]>,
    by_secret: RwLock<HashMap<Box<str>, AtomicU64>>,
}

/// What one request is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call<'a> {
    pub endpoint: &'static str,
    /// The secret the request's path names, if any.
    pub secret: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterEntry {
    pub endpoint: String,
    /// HTTP status, or 0 for a dropped connection.
    pub status: u16,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSnapshot {
    pub total: u64,
    pub requests: Vec<CounterEntry>,
    /// Requests per secret id (any endpoint, any status).
    #[serde(default)]
    pub secrets: BTreeMap<String, u64>,
}

impl CounterSnapshot {
    /// Count for one endpoint (by name) and status.
    pub fn count(&self, endpoint: &str, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|e| e.endpoint == endpoint && e.status == status)
            .map(|e| e.count)
            .sum()
    }

    /// Count for one endpoint, any status.
    pub fn endpoint_total(&self, endpoint: &str) -> u64 {
        self.requests
            .iter()
            .filter(|e| e.endpoint == endpoint)
            .map(|e| e.count)
            .sum()
    }

    /// Requests that named this secret.
    pub fn for_secret(&self, id: &str) -> u64 {
        self.secrets.get(id).copied().unwrap_or(0)
    }
}

impl RequestCounters {
    /// Counters for these endpoint names, plus [`UNROUTED`].
    pub fn new(endpoints: &[&'static str]) -> Self {
        let mut names: Vec<&'static str> = Vec::with_capacity(endpoints.len() + 1);
        for name in endpoints.iter().copied().chain([UNROUTED]) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let index = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let counts = names
            .iter()
            .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
            .collect();
        Self {
            names,
            index,
            counts,
            by_secret: RwLock::default(),
        }
    }

    /// The endpoint names counted, [`UNROUTED`] last.
    pub fn endpoints(&self) -> &[&'static str] {
        &self.names
    }

    pub fn record(&self, call: Call<'_>, status: u16) {
        let row = self
            .index
            .get(call.endpoint)
            .or_else(|| self.index.get(UNROUTED))
            .copied()
            .unwrap_or_default();
        let slot = STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len());
        self.counts[row][slot].fetch_add(1, Ordering::Relaxed);
        if let Some(secret) = call.secret {
            self.record_secret(secret);
        }
    }

    fn record_secret(&self, id: &str) {
        if let Some(n) = self
            .by_secret
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            n.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.by_secret
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.into())
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Every request counted, any endpoint and status.
    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .flatten()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }

    /// Requests that named this secret.
    pub fn for_secret(&self, id: &str) -> u64 {
        self.by_secret
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        let mut requests = Vec::new();
        for (name, row) in self.names.iter().zip(&self.counts) {
            for (status, n) in STATUSES.iter().chain([&OTHER_STATUS]).zip(row) {
                let count = n.load(Ordering::Relaxed);
                if count > 0 {
                    requests.push(CounterEntry {
                        endpoint: name.to_string(),
                        status: *status,
                        count,
                    });
                }
            }
        }
        let secrets = self
            .by_secret
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, n)| (id.to_string(), n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        CounterSnapshot {
            total: requests.iter().map(|r| r.count).sum(),
            requests,
            secrets,
        }
    }

    pub fn reset(&self) {
        for row in &self.counts {
            for n in row {
                n.store(0, Ordering::Relaxed);
            }
        }
        self.by_secret
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(endpoint: &'static str, secret: Option<&'a str>) -> Call<'a> {
        Call { endpoint, secret }
    }

    #[test]
    fn counts_by_endpoint_and_status() {
        let c = RequestCounters::new(&["GetSecret", "ListTags"]);
        c.record(call("GetSecret", None), 200);
        c.record(call("GetSecret", None), 200);
        c.record(call("GetSecret", None), 404);
        c.record(call("ListTags", None), 418);
        c.record(call("NoSuchEndpoint", None), 404);
        let s = c.snapshot();
        assert_eq!((s.total, c.total()), (5, 5));
        assert_eq!(s.count("GetSecret", 200), 2);
        assert_eq!(s.count("GetSecret", 404), 1);
        assert_eq!(s.count("ListTags", 999), 1);
        assert_eq!(s.count(UNROUTED, 404), 1);
        assert_eq!(s.endpoint_total("GetSecret"), 3);
        assert_eq!(c.endpoints(), ["GetSecret", "ListTags", UNROUTED]);
        assert!(s.secrets.is_empty(), "no request named a secret");
        c.reset();
        assert_eq!(c.snapshot().total, 0);
    }

    #[test]
    fn counts_per_secret_across_endpoints_and_statuses() {
        let c = RequestCounters::new(&["GetSecret", "AccessSecretVersion", "ListSecrets"]);
        c.record(call("GetSecret", Some("a")), 200);
        c.record(call("AccessSecretVersion", Some("a")), 412);
        c.record(call("AccessSecretVersion", Some("a")), 0);
        c.record(call("GetSecret", Some("b")), 404);
        c.record(call("ListSecrets", None), 200);
        assert_eq!((c.for_secret("a"), c.for_secret("b")), (3, 1));
        assert_eq!(c.for_secret("never-asked"), 0);
        assert_eq!(c.total(), 5, "every request counts once in the total");
        let s = c.snapshot();
        assert_eq!(s.for_secret("a"), 3);
        assert_eq!(
            s.secrets,
            BTreeMap::from([("a".to_string(), 3), ("b".to_string(), 1)])
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["secrets"]["a"], 3);
        c.reset();
        assert_eq!((c.for_secret("a"), c.total()), (0, 0));
        assert!(c.snapshot().secrets.is_empty());
    }
}
