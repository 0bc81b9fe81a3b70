//! What every provider emulator shares: the clock, the fault settings and the rate limiter, the request
//! counters and the state persister, plus the two steps each API request goes through around the
//! provider's handler: [`Core::admit`] before it (injected faults) and [`Core::finish`] after it
//! (counting, rate-limit headers).
//!
//! A provider's handler, in order: route the request to an endpoint name, authenticate, `admit`, handle,
//! render the answer in the provider's own shapes, `finish`.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::clock::Clock;
use super::faults::{FaultSettings, RateDecision, RateLimiter};
use super::metrics::{Call, RequestCounters};
use super::persist::Persister;

pub struct Core {
    pub clock: Clock,
    faults: RwLock<FaultSettings>,
    limiter: RateLimiter,
    pub counters: RequestCounters,
    persister: Option<Persister>,
}

/// Why [`Core::admit`] stopped a request before its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the token's budget: answer 429 in the provider's shape and pass the decision to `finish`
    /// (it adds `Retry-After`).
    RateLimited(RateDecision),
    /// An injected 500 or 503.
    Injected {
        status: u16,
        rate: Option<RateDecision>,
    },
    /// Drop the connection: answer with [`Core::drop_connection`].
    Dropped,
}

impl Core {
    /// `endpoints`: the provider's endpoint names, for the counters and for checking fault settings.
    pub fn new(
        clock: Clock,
        faults: FaultSettings,
        endpoints: &[&'static str],
        persister: Option<Persister>,
    ) -> anyhow::Result<Self> {
        let counters = RequestCounters::new(endpoints);
        faults
            .validate(counters.endpoints())
            .map_err(|e| anyhow::anyhow!("fault settings: {e}"))?;
        Ok(Self {
            clock,
            faults: RwLock::new(faults),
            limiter: RateLimiter::default(),
            counters,
            persister,
        })
    }

    pub fn faults(&self) -> std::sync::RwLockReadGuard<'_, FaultSettings> {
        self.faults.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the fault settings after checking them.
    pub fn set_faults(&self, faults: FaultSettings) -> Result<(), String> {
        faults.validate(self.counters.endpoints())?;
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
        Ok(())
    }

    /// Flips the "key disabled" switch for a secret id or key id.
    pub fn set_key_disabled(&self, id: String, disabled: bool) {
        let mut faults = self.faults.write().unwrap_or_else(|e| e.into_inner());
        if disabled {
            faults.disabled_keys.insert(id);
        } else {
            faults.disabled_keys.remove(&id);
        }
    }

    pub fn persister(&self) -> Option<&Persister> {
        self.persister.as_ref()
    }

    /// Tells the persister that the provider's state changed.
    pub fn changed(&self) {
        if let Some(p) = &self.persister {
            p.mark_dirty();
        }
    }

    /// The faults that come before the handler, in the gateway's order: the token's budget, added
    /// latency, a dropped connection, an injected error. `Ok` carries the budget decision for `finish`
    /// (`None` when the limiter is off).
    pub async fn admit(
        &self,
        endpoint: &'static str,
        token: &str,
    ) -> Result<Option<RateDecision>, Refusal> {
        // Copy what this request needs from the settings and release the lock at once.
        let (latency, drop_rate, injected, limit) = {
            let f = self.faults();
            let roll = if f.errors.is_empty() {
                1.0
            } else {
                rand::random::<f64>()
            };
            (
                f.latency_ms,
                f.drop_rate,
                f.injected_error(endpoint, roll),
                f.rate_limit_per_second,
            )
        };
        let rate = limit.map(|l| self.limiter.check(token, l, Instant::now()));
        if let Some(d) = rate
            && !d.allowed
        {
            return Err(Refusal::RateLimited(d));
        }
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        if drop_rate > 0.0 && rand::random::<f64>() < drop_rate {
            return Err(Refusal::Dropped);
        }
        if let Some(status) = injected {
            return Err(Refusal::Injected { status, rate });
        }
        Ok(rate)
    }

    /// Counts the answer and adds the rate-limit headers (the Scaleway gateway's forms, CLI recordings
    /// 2026-09; a 429 adds `Retry-After`, UNCONFIRMED).
    pub fn finish(
        &self,
        call: Call<'_>,
        mut response: Response,
        rate: Option<RateDecision>,
    ) -> Response {
        self.counters.record(call, response.status().as_u16());
        if let Some(d) = rate {
            let h = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&format!("{}, {};w=1", d.limit, d.limit)) {
                h.insert("x-ratelimit-limit", v);
            }
            h.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
            h.insert("x-ratelimit-reset", HeaderValue::from(d.reset_secs));
            if !d.allowed {
                h.insert(header::RETRY_AFTER, HeaderValue::from(d.reset_secs));
            }
        }
        response
    }

    /// A response whose body fails after the headers: the server aborts the connection, and the client
    /// sees it closed before a complete answer. Counted under status 0.
    pub fn drop_connection(&self, call: Call<'_>) -> Response {
        self.counters.record(call, 0);
        let stream = futures::stream::once(async {
            Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault: dropped",
            ))
        });
        let mut resp = Response::new(Body::from_stream(stream));
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("64"));
        resp
    }
}
