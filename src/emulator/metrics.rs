//! Request counters per endpoint and status, lock-free so that counting costs the hot path nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Every API endpoint (SDK names), plus `Unrouted` for requests that matched none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    CreateSecret,
    GetSecret,
    UpdateSecret,
    DeleteSecret,
    ListSecrets,
    BrowseSecrets,
    ProtectSecret,
    UnprotectSecret,
    AddSecretOwner,
    RestoreSecret,
    CreateSecretVersion,
    GetSecretVersion,
    UpdateSecretVersion,
    DeleteSecretVersion,
    ListSecretVersions,
    AccessSecretVersion,
    AccessSecretVersionByPath,
    EnableSecretVersion,
    DisableSecretVersion,
    RestoreSecretVersion,
    ListTags,
    ListSecretTypes,
    Unrouted,
}

impl Endpoint {
    pub const ALL: [Endpoint; 23] = [
        Self::CreateSecret,
        Self::GetSecret,
        Self::UpdateSecret,
        Self::DeleteSecret,
        Self::ListSecrets,
        Self::BrowseSecrets,
        Self::ProtectSecret,
        Self::UnprotectSecret,
        Self::AddSecretOwner,
        Self::RestoreSecret,
        Self::CreateSecretVersion,
        Self::GetSecretVersion,
        Self::UpdateSecretVersion,
        Self::DeleteSecretVersion,
        Self::ListSecretVersions,
        Self::AccessSecretVersion,
        Self::AccessSecretVersionByPath,
        Self::EnableSecretVersion,
        Self::DisableSecretVersion,
        Self::RestoreSecretVersion,
        Self::ListTags,
        Self::ListSecretTypes,
        Self::Unrouted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CreateSecret => "CreateSecret",
            Self::GetSecret => "GetSecret",
            Self::UpdateSecret => "UpdateSecret",
            Self::DeleteSecret => "DeleteSecret",
            Self::ListSecrets => "ListSecrets",
            Self::BrowseSecrets => "BrowseSecrets",
            Self::ProtectSecret => "ProtectSecret",
            Self::UnprotectSecret => "UnprotectSecret",
            Self::AddSecretOwner => "AddSecretOwner",
            Self::RestoreSecret => "RestoreSecret",
            Self::CreateSecretVersion => "CreateSecretVersion",
            Self::GetSecretVersion => "GetSecretVersion",
            Self::UpdateSecretVersion => "UpdateSecretVersion",
            Self::DeleteSecretVersion => "DeleteSecretVersion",
            Self::ListSecretVersions => "ListSecretVersions",
            Self::AccessSecretVersion => "AccessSecretVersion",
            Self::AccessSecretVersionByPath => "AccessSecretVersionByPath",
            Self::EnableSecretVersion => "EnableSecretVersion",
            Self::DisableSecretVersion => "DisableSecretVersion",
            Self::RestoreSecretVersion => "RestoreSecretVersion",
            Self::ListTags => "ListTags",
            Self::ListSecretTypes => "ListSecretTypes",
            Self::Unrouted => "Unrouted",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|e| *e == self)
            .unwrap_or(Self::ALL.len() - 1)
    }
}

/// Statuses the emulator can answer with; anything else is counted under the last slot.
const STATUSES: [u16; 15] = [
    200, 204, 400, 401, 403, 404, 405, 409, 412, 413, 429, 500, 503, 0, 999,
];
const OTHER: usize = STATUSES.len() - 1;

/// `counts[endpoint][status]`. Status 0 counts dropped connections (no response was sent).
pub struct RequestCounters {
    counts: Vec<[AtomicU64; STATUSES.len()]>,
}

impl Default for RequestCounters {
    fn default() -> Self {
        Self {
            counts: Endpoint::ALL
                .iter()
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CounterEntry {
    pub endpoint: String,
    /// HTTP status, or 0 for a dropped connection.
    pub status: u16,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CounterSnapshot {
    pub total: u64,
    pub requests: Vec<CounterEntry>,
}

impl CounterSnapshot {
    /// Count for one endpoint (by SDK name) and status.
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
    pub fn record(&self, endpoint: Endpoint, status: u16) {
        let slot = STATUSES.iter().position(|s| *s == status).unwrap_or(OTHER);
        self.counts[endpoint.index()][slot].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        let mut requests = Vec::new();
        for (e, row) in Endpoint::ALL.iter().zip(&self.counts) {
            for (status, n) in STATUSES.iter().zip(row) {
                let count = n.load(Ordering::Relaxed);
                if count > 0 {
                    requests.push(CounterEntry {
                        endpoint: e.name().to_string(),
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
        let c = RequestCounters::default();
        c.record(Endpoint::GetSecret, 200);
        c.record(Endpoint::GetSecret, 200);
        c.record(Endpoint::GetSecret, 404);
        c.record(Endpoint::ListTags, 418);
        let s = c.snapshot();
        assert_eq!(s.total, 4);
        assert_eq!(s.count("GetSecret", 200), 2);
        assert_eq!(s.count("GetSecret", 404), 1);
        assert_eq!(s.count("ListTags", 999), 1);
        c.reset();
        assert_eq!(c.snapshot().total, 0);
        assert_eq!(
            Endpoint::from_name("AccessSecretVersion"),
            Some(Endpoint::AccessSecretVersion)
        );
    }
}
