//! Request counters per endpoint and status, lock-free so that counting costs the hot path nothing.
//!
//! Endpoints are the provider's own names (`GetSecret`…), fixed when the emulator starts; a request
//! that matched none of them is counted under [`UNROUTED`].

use std::collections::HashMap;
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
        }
    }

    /// The endpoint names counted, [`UNROUTED`] last.
    pub fn endpoints(&self) -> &[&'static str] {
        &self.names
    }

    pub fn record(&self, endpoint: &str, status: u16) {
        let row = self
            .index
            .get(endpoint)
            .or_else(|| self.index.get(UNROUTED))
            .copied()
            .unwrap_or_default();
        let slot = STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len());
        self.counts[row][slot].fetch_add(1, Ordering::Relaxed);
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
        CounterSnapshot {
            total: requests.iter().map(|r| r.count).sum(),
            requests,
        }
    }

    pub fn reset(&self) {
        for row in &self.counts {
            for n in row {
                n.store(0, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_endpoint_and_status() {
        let c = RequestCounters::new(&["GetSecret", "ListTags"]);
        c.record("GetSecret", 200);
        c.record("GetSecret", 200);
        c.record("GetSecret", 404);
        c.record("ListTags", 418);
        c.record("NoSuchEndpoint", 404);
        let s = c.snapshot();
        assert_eq!(s.total, 5);
        assert_eq!(s.count("GetSecret", 200), 2);
        assert_eq!(s.count("GetSecret", 404), 1);
        assert_eq!(s.count("ListTags", 999), 1);
        assert_eq!(s.count(UNROUTED, 404), 1);
        assert_eq!(s.endpoint_total("GetSecret"), 3);
        assert_eq!(c.endpoints(), ["GetSecret", "ListTags", UNROUTED]);
        c.reset();
        assert_eq!(c.snapshot().total, 0);
    }
}
