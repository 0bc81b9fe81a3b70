//! Fault injection: added latency, error rates per endpoint, dropped connections, a per-token request
//! budget (429) and "key disabled" switches. Settings come from flags and can be replaced at run time.
//! Shared by every provider emulator; endpoints are the provider's names.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Scaleway's gateway advertises `X-Ratelimit-Limit: 50, 50;w=1`.
pub const DEFAULT_RATE_LIMIT: u32 = 50;

/// An injected error: answered with `status` (500 or 503) with probability `rate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFault {
    pub rate: f64,
    #[serde(default = "default_error_status")]
    pub status: u16,
}

fn default_error_status() -> u16 {
    503
}

/// Everything that can go wrong on purpose. The JSON form is what `PUT /emulator/faults` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSettings {
    /// Added before every API request is handled.
    pub latency_ms: u64,
    /// Per endpoint (the provider's name, e.g. `GetSecret`, or `*` for all).
    pub errors: BTreeMap<String, ErrorFault>,
    /// Probability that a request's connection is dropped without a complete response.
    pub drop_rate: f64,
    /// Requests per second allowed per token; `None` disables the limiter.
    pub rate_limit_per_second: Option<u32>,
    /// Secret ids or key ids whose key is "disabled": payload reads and version creation fail while
    /// metadata stays readable (seed 003's KMS table); each provider answers in its own error shape.
    pub disabled_keys: BTreeSet<String>,
    /// Credentials (tokens) the provider refuses from now on, as if revoked in its console:
    /// every request with one gets the provider's 401.
    pub revoked_tokens: BTreeSet<String>,
}

impl Default for FaultSettings {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            errors: BTreeMap::new(),
            drop_rate: 0.0,
            rate_limit_per_second: Some(DEFAULT_RATE_LIMIT),
            disabled_keys: BTreeSet::new(),
            revoked_tokens: BTreeSet::new(),
        }
    }
}

impl FaultSettings {
    /// No faults and no rate limit: what tests and benchmarks usually want.
    pub fn none() -> Self {
        Self {
            rate_limit_per_second: None,
            ..Self::default()
        }
    }

    /// Checks the settings; error rates must name one of `endpoints` (or `*`).
    pub fn validate(&self, endpoints: &[&str]) -> Result<(), String> {
        for (name, fault) in &self.errors {
            if name != "*" && !endpoints.contains(&name.as_str()) {
                return Err(format!("unknown endpoint {name:?}"));
            }
            if !(0.0..=1.0).contains(&fault.rate) {
                return Err(format!("error rate for {name} must be within 0..=1"));
            }
            if fault.status != 500 && fault.status != 503 {
                return Err(format!("error status for {name} must be 500 or 503"));
            }
        }
        if !(0.0..=1.0).contains(&self.drop_rate) {
            return Err("drop_rate must be within 0..=1".into());
        }
        if self.rate_limit_per_second == Some(0) {
            return Err("rate_limit_per_second must be positive (use null to disable)".into());
        }
        Ok(())
    }

    /// The injected error for this endpoint, if the dice say so. `roll` is uniform in [0, 1).
    pub fn injected_error(&self, endpoint: &str, roll: f64) -> Option<u16> {
        let fault = self.errors.get(endpoint).or_else(|| self.errors.get("*"))?;
        (roll < fault.rate).then_some(fault.status)
    }

    pub fn key_disabled(&self, secret_id: &str, key_id: Option<&str>) -> bool {
        !self.disabled_keys.is_empty()
            && (self.disabled_keys.contains(secret_id)
                || key_id.is_some_and(|k| self.disabled_keys.contains(k)))
    }
}

/// Outcome of one request against the budget, with the values for the `X-Ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_secs: u64,
}

/// Fixed one-second windows per token, like the gateway's `50;w=1`.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn check(&self, token: &str, limit: u32, now: Instant) -> RateDecision {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(1));
        }
        let entry = windows.entry(token.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(1) {
            *entry = (now, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        RateDecision {
            allowed,
            limit,
            // The limit can drop below a window's count when the settings change mid-window.
            remaining: limit.saturating_sub(entry.1),
            reset_secs: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_resets_each_second() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..3 {
            let d = limiter.check("tok", 3, t0);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i);
        }
        assert!(!limiter.check("tok", 3, t0).allowed);
        assert!(
            limiter.check("other", 3, t0).allowed,
            "budgets are per token"
        );
        assert!(
            limiter
                .check("tok", 3, t0 + Duration::from_millis(1000))
                .allowed
        );
        // A lower limit in the middle of a window refuses, without underflowing.
        let d = limiter.check("tok", 1, t0 + Duration::from_millis(1000));
        assert!(!d.allowed && d.remaining == 0);
    }

    #[test]
    fn error_fault_applies_per_endpoint_or_to_all() {
        let mut f = FaultSettings::none();
        f.errors.insert(
            "GetSecret".into(),
            ErrorFault {
                rate: 0.5,
                status: 500,
            },
        );
        assert_eq!(f.injected_error("GetSecret", 0.2), Some(500));
        assert_eq!(f.injected_error("GetSecret", 0.7), None);
        assert_eq!(f.injected_error("ListSecrets", 0.0), None);
        f.errors.insert(
            "*".into(),
            ErrorFault {
                rate: 1.0,
                status: 503,
            },
        );
        assert_eq!(f.injected_error("ListSecrets", 0.99), Some(503));
        assert!(f.validate(&["GetSecret", "ListSecrets"]).is_ok());
        f.errors.insert(
            "Nope".into(),
            ErrorFault {
                rate: 1.0,
                status: 503,
            },
        );
        assert!(f.validate(&["GetSecret", "ListSecrets"]).is_err());
    }

    #[test]
    fn key_switch_matches_secret_or_key_id() {
        let mut f = FaultSettings::none();
        f.disabled_keys.insert("k1".into());
        assert!(f.key_disabled("s1", Some("k1")));
        assert!(!f.key_disabled("s1", None));
        f.disabled_keys.insert("s1".into());
        assert!(f.key_disabled("s1", None));
    }
}
