//! A hook for "provider calls by operation and outcome": the telemetry module implements
//! [`CallObserver`] (for example as a counter and a histogram); providers call it once per logical
//! operation, after retries.

use std::time::Duration;

/// One finished provider operation. Carries names and numbers only, never payloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderCall {
    pub provider: &'static str,
    /// Operation name, e.g. `create_version`.
    pub operation: &'static str,
    /// `"ok"` or the error kind's label (`"RateLimited"`, `"NotFound"`, …).
    pub outcome: &'static str,
    /// Last HTTP status seen, if any answer arrived.
    pub http_status: Option<u16>,
    /// HTTP attempts made (1 when not retried).
    pub attempts: u32,
    pub elapsed: Duration,
}

/// Receives one [`ProviderCall`] per operation. Must be cheap and must not block.
pub trait CallObserver: Send + Sync {
    fn observe(&self, call: &ProviderCall);
}

/// The default observer: records nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopObserver;

impl CallObserver for NoopObserver {
    fn observe(&self, _call: &ProviderCall) {}
}
