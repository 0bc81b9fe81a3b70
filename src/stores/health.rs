//! A store's health, from the runtime's own experience: the sweep is its probe, and a store-wide
//! failure (credentials refused, provider down) makes every object of the store report it without
//! calling the provider itself, until the next probe (which backs off) succeeds. Pure.

use std::time::Duration;

use tokio::time::Instant;

use crate::api::conditions::Reason;
use crate::provider::{ErrorKind, ProviderError};

/// First wait before probing a failing store again; doubles up to [`MAX_PROBE_BACKOFF`].
pub const FIRST_PROBE_BACKOFF: Duration = Duration::from_secs(10);
pub const MAX_PROBE_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Clone, Debug, PartialEq)]
pub enum Health {
    /// Not probed yet.
    Unknown,
    Healthy,
    Failing(StoreFailure),
}

/// A store-wide failure.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreFailure {
    pub reason: Reason,
    /// For a person: what the provider said (no request ids: the message stays the same while the
    /// failure does).
    pub message: String,
    pub since: Instant,
    /// Failed probes in a row.
    pub probes: u32,
    /// When the next probe may run.
    pub next_probe: Instant,
}

/// Whether a failure is about the whole store (every object would get it) rather than one secret.
pub fn is_store_wide(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Unauthorized
            | ErrorKind::Forbidden
            | ErrorKind::ServerError
            | ErrorKind::Transport
            | ErrorKind::Transient
            | ErrorKind::InvalidResponse
            | ErrorKind::RateLimited { .. }
    )
}

/// The store-level reason of a provider error.
pub fn reason_of(kind: &ErrorKind) -> Reason {
    match kind {
        ErrorKind::Unauthorized => Reason::AuthFailed,
        ErrorKind::Forbidden => Reason::PermissionDenied,
        ErrorKind::RateLimited { .. } | ErrorKind::Throttled { .. } => Reason::RateLimited,
        _ => Reason::ProviderError,
    }
}

impl Health {
    /// A probe (sweep) succeeded.
    pub fn succeeded(&mut self) -> bool {
        let was_failing = matches!(self, Health::Failing(_));
        *self = Health::Healthy;
        was_failing
    }

    /// A probe failed with `error`; `random` in [0, 1) spreads the next probe by up to a tenth.
    pub fn failed(&mut self, error: &ProviderError, now: Instant, random: f64) {
        let (since, probes) = match self {
            Health::Failing(f) => (f.since, f.probes + 1),
            _ => (now, 1),
        };
        let backoff = FIRST_PROBE_BACKOFF
            .saturating_mul(2u32.saturating_pow(probes.saturating_sub(1).min(16)))
            .min(MAX_PROBE_BACKOFF);
        let backoff = match error.retry_after() {
            Some(asked) => backoff.max(asked.min(MAX_PROBE_BACKOFF)),
            None => backoff,
        };
        let jitter = backoff.mul_f64(0.1 * random.clamp(0.0, 1.0));
        *self = Health::Failing(StoreFailure {
            reason: reason_of(error.kind()),
            message: error.condition_message(),
            since,
            probes,
            next_probe: now + backoff + jitter,
        });
    }

    pub fn failure(&self) -> Option<&StoreFailure> {
        match self {
            Health::Failing(f) => Some(f),
            _ => None,
        }
    }

    /// Whether a probe may run now.
    pub fn probe_due(&self, now: Instant) -> bool {
        self.failure().is_none_or(|f| now >= f.next_probe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind) -> ProviderError {
        ProviderError::new("scaleway", "list_secrets", kind, "refused")
            .with_http(401, Some("r1".into()))
    }

    #[test]
    fn probes_back_off_and_keep_the_first_failure_time() {
        let t0 = Instant::now();
        let mut h = Health::Unknown;
        assert!(h.probe_due(t0));
        h.failed(&err(ErrorKind::Unauthorized), t0, 0.0);
        let f = h.failure().unwrap().clone();
        assert_eq!(
            (f.reason, f.probes, f.next_probe),
            (Reason::AuthFailed, 1, t0 + FIRST_PROBE_BACKOFF)
        );
        assert!(!f.message.contains("r1"), "no request id: {}", f.message);
        assert!(!h.probe_due(t0 + Duration::from_secs(5)));
        let t1 = t0 + Duration::from_secs(10);
        h.failed(&err(ErrorKind::Unauthorized), t1, 0.0);
        let f = h.failure().unwrap();
        assert_eq!(
            (f.since, f.probes, f.next_probe),
            (t0, 2, t1 + Duration::from_secs(20))
        );
        for _ in 0..20 {
            h.failed(&err(ErrorKind::ServerError), t1, 0.99);
        }
        let f = h.failure().unwrap();
        assert!(f.next_probe <= t1 + MAX_PROBE_BACKOFF + MAX_PROBE_BACKOFF / 10);
        assert_eq!(f.reason, Reason::ProviderError);
        assert!(h.succeeded(), "recovering reports the change");
        assert!(!h.succeeded());
    }

    #[test]
    fn which_failures_are_store_wide() {
        for kind in [
            ErrorKind::Unauthorized,
            ErrorKind::ServerError,
            ErrorKind::Transport,
        ] {
            assert!(is_store_wide(&kind), "{kind:?}");
        }
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::KeyUnavailable,
            ErrorKind::InvalidArgument { details: vec![] },
            ErrorKind::Protected,
            ErrorKind::VersionUnreadable,
        ] {
            assert!(!is_store_wide(&kind), "{kind:?}");
        }
    }
}
