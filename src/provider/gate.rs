//! The gate every HTTP attempt of a provider client passes: the store runtime's request budget
//! (`crate::stores::budget`) implements it, so a provider sees at most its budget however many
//! objects and retries there are. A client built without one uses [`OpenGate`].

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::OwnedSemaphorePermit;

/// What a request does. Some providers budget a class of writes per tenancy rather than per
/// credential (OCI KMS: 10 management writes per second per tenancy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallClass {
    Read,
    Write,
    /// A write the provider throttles for a whole tenancy: it also takes a turn from the
    /// tenancy's shared budget.
    TenancyWrite,
}

impl CallClass {
    /// GET and HEAD read; every other method writes.
    pub fn of_method(method: &reqwest::Method) -> Self {
        if matches!(*method, reqwest::Method::GET | reqwest::Method::HEAD) {
            CallClass::Read
        } else {
            CallClass::Write
        }
    }
}

/// Held while a request is in flight: a per-store concurrency slot, and for a tenancy write the
/// tenancy's turn, when the gate has them. Dropping it once the answer is read frees both.
#[derive(Default)]
pub struct GatePass {
    _slot: Option<OwnedSemaphorePermit>,
    _turn: Option<Box<dyn Send + Sync>>,
}

impl std::fmt::Debug for GatePass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatePass")
            .field("slot", &self._slot.is_some())
            .field("turn", &self._turn.is_some())
            .finish()
    }
}

impl GatePass {
    pub fn new(slot: Option<OwnedSemaphorePermit>) -> Self {
        Self {
            _slot: slot,
            _turn: None,
        }
    }

    /// Also holds `turn` until the request is done.
    pub fn with_turn(mut self, turn: impl Send + Sync + 'static) -> Self {
        self._turn = Some(Box::new(turn));
        self
    }
}

/// The gate refused to wait that long: the request was not sent; try again after `retry_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateClosed {
    pub retry_after: Duration,
}

/// What a provider's answer said about its limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateSignal {
    pub status: u16,
    /// `Retry-After`.
    pub retry_after: Option<Duration>,
    /// `X-Ratelimit-Remaining`: requests left in the current window.
    pub remaining: Option<u64>,
    /// `X-Ratelimit-Reset`: until the window resets.
    pub reset: Option<Duration>,
}

impl RateSignal {
    /// Reads the signal from a response's status and headers (`X-Ratelimit-Limit: 50, 50;w=1` style
    /// values keep their first number).
    pub fn from_response(
        status: u16,
        headers: &reqwest::header::HeaderMap,
        retry_after: Option<Duration>,
    ) -> Self {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split([',', ';']).next())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        Self {
            status,
            retry_after,
            remaining: number("x-ratelimit-remaining").map(|v| v as u64),
            reset: number("x-ratelimit-reset").map(Duration::from_secs_f64),
        }
    }
}

/// Admits requests. Cheap to call; `admit` may wait.
#[async_trait]
pub trait RequestGate: Send + Sync {
    /// Waits for a slot in the budget, or refuses at once when the wait would be longer than the
    /// gate allows (the caller then reports [`crate::provider::ErrorKind::Throttled`]).
    async fn admit(&self, class: CallClass) -> Result<GatePass, GateClosed>;

    /// Every answer's rate signal: 429, `Retry-After` and `X-Ratelimit-*` slow the whole gate down.
    fn observe(&self, signal: &RateSignal);
}

/// No budget: every request goes at once (standalone clients, tests, the benchmark's naive mode).
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenGate;

#[async_trait]
impl RequestGate for OpenGate {
    async fn admit(&self, _class: CallClass) -> Result<GatePass, GateClosed> {
        Ok(GatePass::default())
    }

    fn observe(&self, _signal: &RateSignal) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn rate_headers_are_read_in_scaleways_forms() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", HeaderValue::from_static("50, 50;w=1"));
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1"));
        let signal = RateSignal::from_response(429, &headers, Some(Duration::from_secs(2)));
        assert_eq!(
            signal,
            RateSignal {
                status: 429,
                retry_after: Some(Duration::from_secs(2)),
                remaining: Some(0),
                reset: Some(Duration::from_secs(1)),
            }
        );
        let mut odd = HeaderMap::new();
        odd.insert("x-ratelimit-remaining", HeaderValue::from_static("-3"));
        odd.insert("x-ratelimit-reset", HeaderValue::from_static("soon"));
        let signal = RateSignal::from_response(200, &odd, None);
        assert_eq!((signal.remaining, signal.reset), (None, None));
    }

    #[test]
    fn reads_and_writes_by_method() {
        assert_eq!(CallClass::of_method(&reqwest::Method::GET), CallClass::Read);
        for m in [
            reqwest::Method::POST,
            reqwest::Method::PATCH,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            assert_eq!(CallClass::of_method(&m), CallClass::Write, "{m}");
        }
    }
}
