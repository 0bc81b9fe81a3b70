//! The request budget of one provider identity: a token bucket that calls wait on instead of being
//! refused by the provider, slowed down by the provider's own signals (429, `Retry-After`,
//! `X-Ratelimit-*`), plus a cap on requests in flight so one slow store cannot take every
//! connection. [`Bucket`] is the pure arithmetic (table-tested with explicit instants);
//! [`Budget`] is the [`RequestGate`] the provider clients call before every HTTP attempt.
//!
//! Reservations may run the bucket into debt up to `max_wait` worth of tokens: a caller that gets a
//! slot 300 ms ahead sleeps 300 ms and goes, so callers are served in order without polling. A
//! caller that would wait longer takes nothing and is told when to come back
//! ([`GateClosed`]): its reconcile requeues instead of holding a worker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::turnstile::Turnstile;
use crate::provider::{CallClass, GateClosed, GatePass, RateSignal, RequestGate};

/// How fast a store may call its provider.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetSettings {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests that may go at once after a quiet spell. A provider that counts in fixed
    /// one-second windows sees at most `per_second + burst` in one window.
    pub burst: u32,
    /// Longest a call waits for a token before it gives up (and its object requeues).
    pub max_wait: Duration,
    /// Requests in flight at once.
    pub concurrency: u32,
}

impl BudgetSettings {
    /// No limit at all (the benchmark's naive mode).
    pub fn unlimited() -> Self {
        Self {
            per_second: f64::INFINITY,
            burst: u32::MAX,
            max_wait: Duration::ZERO,
            concurrency: Semaphore::MAX_PERMITS as u32,
        }
    }
}

/// After a 429 the rate is cut to this share of the configured one, then recovers.
const SLOWDOWN_ON_429: f64 = 0.5;
/// The lowest share a run of 429s can cut the rate to.
const MIN_SHARE: f64 = 0.1;
/// Share of the configured rate regained per second without a 429.
const RECOVERY_PER_SECOND: f64 = 0.05;
/// Pause after a 429 that named no `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);
/// Longest pause a provider's signal can impose (a wrong header must not stop a store for hours).
const MAX_PAUSE: Duration = Duration::from_secs(300);

/// The token bucket, with the provider's slow-down signals. Pure: every method takes `now`.
#[derive(Clone, Debug)]
pub struct Bucket {
    settings: BudgetSettings,
    /// Tokens available at `updated` (negative: reserved ahead of time).
    tokens: f64,
    /// Tokens are counted up to here; during a pause this lies in the future.
    updated: Instant,
    /// Share of `per_second` in force (1.0 unless the provider answered 429 lately).
    share: f64,
    last_429: Option<Instant>,
}

impl Bucket {
    pub fn new(settings: BudgetSettings, now: Instant) -> Self {
        Self {
            settings,
            tokens: f64::from(settings.burst.max(1)),
            updated: now,
            share: 1.0,
            last_429: None,
        }
    }

    pub fn settings(&self) -> BudgetSettings {
        self.settings
    }

    fn rate(&self) -> f64 {
        self.settings.per_second * self.share
    }

    fn refill(&mut self, now: Instant) {
        if self.settings.per_second.is_infinite() {
            self.tokens = f64::from(self.settings.burst);
            return;
        }
        if now <= self.updated {
            return;
        }
        let elapsed = (now - self.updated).as_secs_f64();
        if self.share < 1.0 {
            self.share = (self.share + RECOVERY_PER_SECOND * elapsed).min(1.0);
        }
        self.tokens =
            (self.tokens + elapsed * self.rate()).min(f64::from(self.settings.burst.max(1)));
        self.updated = now;
    }

    /// Takes one token: `Ok(wait)` when the caller may send after `wait` (at most `max_wait`), or
    /// `Err(wait)` with nothing taken when the wait would be longer.
    pub fn reserve(&mut self, now: Instant) -> Result<Duration, Duration> {
        self.refill(now);
        if self.settings.per_second.is_infinite() {
            return Ok(Duration::ZERO);
        }
        let paused = self.updated.saturating_duration_since(now);
        let after = self.tokens - 1.0;
        let debt = if after >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-after / self.rate().max(f64::MIN_POSITIVE))
        };
        let wait = paused + debt;
        if wait > self.settings.max_wait {
            return Err(wait);
        }
        self.tokens = after;
        Ok(wait)
    }

    /// Tokens a call could take right now (negative while callers wait their reserved turn).
    pub fn tokens_left(&mut self, now: Instant) -> f64 {
        self.refill(now);
        if now < self.updated {
            0.0_f64.min(self.tokens)
        } else {
            self.tokens
        }
    }

    /// A provider's answer: a 429 pauses the bucket (for `Retry-After`, else a second) and cuts
    /// the rate; an exhausted window (`X-Ratelimit-Remaining: 0`) pauses until its reset.
    pub fn observe(&mut self, signal: &RateSignal, now: Instant) {
        self.refill(now);
        let pause = if signal.status == 429 {
            // Several answers of one burst are one event: cut once per pause.
            if self.last_429.is_none_or(|at| now >= at + DEFAULT_PAUSE) {
                self.share = (self.share * SLOWDOWN_ON_429).max(MIN_SHARE);
            }
            self.last_429 = Some(now);
            Some(signal.retry_after.or(signal.reset).unwrap_or(DEFAULT_PAUSE))
        } else if signal.remaining == Some(0) {
            signal.reset
        } else {
            None
        };
        if let Some(pause) = pause {
            let until = now + pause.min(MAX_PAUSE);
            if until > self.updated {
                self.updated = until;
            }
            self.tokens = self.tokens.min(0.0);
        }
    }
}

/// The budget of one identity, as the gate its clients pass.
pub struct Budget {
    bucket: Mutex<Bucket>,
    /// The turnstile shared with the other identities of a tenancy for
    /// [`CallClass::TenancyWrite`]s (OCI: KMS management writes).
    tenancy: Option<Arc<Turnstile>>,
    in_flight: Arc<Semaphore>,
    observer: Arc<dyn BudgetObserver>,
}

/// What the budget reports (the runtime turns it into metrics).
pub trait BudgetObserver: Send + Sync {
    /// A call was admitted after `waited`; `tokens` are left.
    fn admitted(&self, waited: Duration, tokens: f64);
    /// A call was refused: the wait would have been `wait`.
    fn refused(&self, wait: Duration, tokens: f64);
}

/// Reports nothing.
pub struct Unobserved;

impl BudgetObserver for Unobserved {
    fn admitted(&self, _waited: Duration, _tokens: f64) {}
    fn refused(&self, _wait: Duration, _tokens: f64) {}
}

impl Budget {
    pub fn new(settings: BudgetSettings) -> Self {
        Self {
            bucket: Mutex::new(Bucket::new(settings, Instant::now())),
            tenancy: None,
            in_flight: Arc::new(Semaphore::new(settings.concurrency.max(1) as usize)),
            observer: Arc::new(Unobserved),
        }
    }

    /// Tenancy writes also take their turn at `turnstile` (shared by every identity of one
    /// tenancy).
    pub fn with_tenancy(mut self, turnstile: Arc<Turnstile>) -> Self {
        self.tenancy = Some(turnstile);
        self
    }

    pub fn with_observer(mut self, observer: Arc<dyn BudgetObserver>) -> Self {
        self.observer = observer;
        self
    }

    pub fn settings(&self) -> BudgetSettings {
        self.lock().settings()
    }

    /// Tokens left now (for the budget gauge and `keyward status`).
    pub fn tokens_left(&self) -> f64 {
        self.lock().tokens_left(Instant::now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl RequestGate for Budget {
    async fn admit(&self, class: CallClass) -> Result<GatePass, GateClosed> {
        let started = Instant::now();
        // The bucket's lock ends with this statement: the refusal below reads the bucket again.
        let reserved = self.lock().reserve(started);
        let wait = match reserved {
            Ok(wait) => wait,
            Err(wait) => {
                self.observer.refused(wait, self.tokens_left());
                return Err(GateClosed { retry_after: wait });
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let max_wait = self.lock().settings().max_wait;
        // The tenancy's turn before a slot: a write waiting for its turn holds up none of this
        // identity's other calls.
        let turn = match (&self.tenancy, class) {
            (Some(turnstile), CallClass::TenancyWrite) => match turnstile.enter(max_wait).await {
                Ok(turn) => Some(turn),
                Err(retry_after) => {
                    self.observer.refused(retry_after, self.tokens_left());
                    return Err(GateClosed { retry_after });
                }
            },
            _ => None,
        };
        let slot = match tokio::time::timeout(
            max_wait.max(Duration::from_millis(1)),
            self.in_flight.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(slot)) => slot,
            // Every slot stayed busy: come back when a request has had time to finish.
            _ => {
                self.observer.refused(max_wait, self.tokens_left());
                return Err(GateClosed {
                    retry_after: Duration::from_secs(1),
                });
            }
        };
        self.observer
            .admitted(started.elapsed(), self.tokens_left());
        let pass = GatePass::new(Some(slot));
        Ok(match turn {
            Some(turn) => pass.with_turn(turn),
            None => pass,
        })
    }

    fn observe(&self, signal: &RateSignal) {
        self.lock().observe(signal, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_second: f64, burst: u32, max_wait_ms: u64) -> BudgetSettings {
        BudgetSettings {
            per_second,
            burst,
            max_wait: Duration::from_millis(max_wait_ms),
            concurrency: 4,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_goes_at_once_then_calls_are_spaced_by_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(settings(10.0, 3, 1000), t0);
        let waits: Vec<_> = (0..6).map(|_| b.reserve(t0).unwrap()).collect();
        assert_eq!(waits, [ms(0), ms(0), ms(0), ms(100), ms(200), ms(300)]);
        // Time passes: the debt is repaid, then tokens come back up to the burst only.
        assert_eq!(b.reserve(t0 + ms(400)), Ok(ms(0)));
        let mut later = b.clone();
        later.refill(t0 + Duration::from_secs(60));
        assert_eq!(later.tokens, 3.0);
    }

    #[test]
    fn a_wait_beyond_the_limit_takes_nothing() {
        let t0 = Instant::now();
        let mut b = Bucket::new(settings(2.0, 1, 600), t0);
        assert_eq!(b.reserve(t0), Ok(ms(0)));
        assert_eq!(b.reserve(t0), Ok(ms(500)));
        assert_eq!(b.reserve(t0), Err(ms(1000)));
        assert_eq!(b.reserve(t0), Err(ms(1000)), "the refusal took no token");
        assert_eq!(b.reserve(t0 + ms(500)), Ok(ms(500)));
    }

    #[test]
    fn never_more_than_rate_plus_burst_in_any_second() {
        // The guarantee a fixed-window provider limit needs: 45/s with a burst of 5 never sends
        // more than 50 in one second, however the callers come.
        let t0 = Instant::now();
        let mut b = Bucket::new(settings(45.0, 5, 60_000), t0);
        let mut sends = Vec::new();
        for i in 0..600u64 {
            let asked = t0 + ms(i * 7 % 3000);
            sends.push(asked + b.reserve(asked).unwrap());
        }
        sends.sort();
        for (i, start) in sends.iter().enumerate() {
            let in_window = sends[i..]
                .iter()
                .take_while(|t| **t < *start + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= 50,
                "{in_window} sends in the second after send {i}"
            );
        }
    }

    #[test]
    fn a_429_pauses_for_retry_after_and_halves_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(settings(10.0, 5, 10_000), t0);
        b.observe(
            &RateSignal {
                status: 429,
                retry_after: Some(Duration::from_secs(2)),
                ..Default::default()
            },
            t0,
        );
        assert_eq!(
            b.reserve(t0),
            Ok(Duration::from_millis(2200)),
            "pause, then one token at half rate"
        );
        assert_eq!(b.share, 0.5);
        // Another 429 of the same burst does not cut again.
        b.observe(
            &RateSignal {
                status: 429,
                ..Default::default()
            },
            t0 + ms(10),
        );
        assert_eq!(b.share, 0.5);
        // Without 429s the rate comes back.
        b.refill(t0 + Duration::from_secs(60));
        assert_eq!(b.share, 1.0);
    }

    #[test]
    fn an_exhausted_window_pauses_until_its_reset_without_cutting_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(settings(10.0, 5, 10_000), t0);
        b.observe(
            &RateSignal {
                status: 200,
                remaining: Some(0),
                reset: Some(Duration::from_secs(1)),
                ..Default::default()
            },
            t0,
        );
        assert_eq!(b.reserve(t0), Ok(ms(1100)));
        assert_eq!(b.share, 1.0);
        // Plenty left: nothing happens.
        let mut fresh = Bucket::new(settings(10.0, 5, 10_000), t0);
        fresh.observe(
            &RateSignal {
                status: 200,
                remaining: Some(7),
                reset: Some(Duration::from_secs(1)),
                ..Default::default()
            },
            t0,
        );
        assert_eq!(fresh.reserve(t0), Ok(ms(0)));
    }

    #[test]
    fn a_pause_is_capped() {
        let t0 = Instant::now();
        let mut b = Bucket::new(settings(10.0, 1, 3_600_000), t0);
        b.observe(
            &RateSignal {
                status: 429,
                retry_after: Some(Duration::from_secs(86_400)),
                ..Default::default()
            },
            t0,
        );
        let wait = b.reserve(t0).unwrap();
        assert!(wait <= MAX_PAUSE + Duration::from_secs(1), "{wait:?}");
    }

    #[test]
    fn unlimited_never_waits() {
        let t0 = Instant::now();
        let mut b = Bucket::new(BudgetSettings::unlimited(), t0);
        for _ in 0..10_000 {
            assert_eq!(b.reserve(t0), Ok(Duration::ZERO));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn tenancy_writes_take_turns_across_identities_and_other_calls_do_not() {
        let turnstile = Arc::new(Turnstile::per_second(1));
        let a = Budget::new(settings(100.0, 100, 5000)).with_tenancy(turnstile.clone());
        let b = Budget::new(settings(100.0, 100, 5000)).with_tenancy(turnstile.clone());
        let t0 = Instant::now();
        drop(a.admit(CallClass::TenancyWrite).await.unwrap());
        drop(b.admit(CallClass::TenancyWrite).await.unwrap());
        assert_eq!(
            t0.elapsed(),
            turnstile.spacing(),
            "the other identity's tenancy write waited its turn"
        );
        let t1 = Instant::now();
        let impatient = Budget::new(settings(100.0, 100, 500)).with_tenancy(turnstile.clone());
        let held = impatient.admit(CallClass::TenancyWrite).await;
        assert!(
            held.is_err(),
            "a turn too far off is refused, not waited for"
        );
        for _ in 0..10 {
            a.admit(CallClass::Read).await.unwrap();
            a.admit(CallClass::Write).await.unwrap();
        }
        assert_eq!(
            t1.elapsed(),
            Duration::ZERO,
            "reads and other writes only use the own bucket"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_over_the_budget_is_refused_at_once_and_takes_nothing() {
        let budget = Budget::new(settings(1.0, 1, 500));
        budget.admit(CallClass::Read).await.unwrap();
        let t0 = Instant::now();
        let closed = budget.admit(CallClass::Read).await.unwrap_err();
        assert_eq!(closed.retry_after, Duration::from_secs(1));
        assert_eq!(Instant::now(), t0, "refused without waiting");
        assert!(
            budget.tokens_left().abs() < 1e-9,
            "{}",
            budget.tokens_left()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_requests_are_capped() {
        let budget = Arc::new(Budget::new(BudgetSettings {
            concurrency: 2,
            ..settings(1000.0, 1000, 200)
        }));
        let p1 = budget.admit(CallClass::Read).await.unwrap();
        let _p2 = budget.admit(CallClass::Read).await.unwrap();
        assert!(
            budget.admit(CallClass::Read).await.is_err(),
            "a third waits and gives up"
        );
        drop(p1);
        assert!(budget.admit(CallClass::Read).await.is_ok());
    }
}
