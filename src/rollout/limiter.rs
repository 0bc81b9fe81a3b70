//! The cluster-wide restart limit (`--max-restarts-per-minute`): at most `limit` restarts in any
//! window of one minute, counted over a sliding window, so bursts never exceed the limit (a token
//! bucket would allow a full bucket plus its refill within one minute). A turn is counted from
//! when its restart was done ([`RestartLimiter::done`]), not from when it was granted: a slow
//! request then can never bring two restarts closer than the window as the API server sees them.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window the limit counts over.
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct RestartLimiter {
    limit: usize,
    recent: Mutex<VecDeque<Instant>>,
}

impl RestartLimiter {
    /// `limit` 0 means no limit.
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit as usize,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// Takes a turn at `now` (pass it to [`Self::done`] or [`Self::give_back`]), or says how
    /// long until one is free.
    pub fn try_take(&self, now: Instant) -> Result<Instant, Duration> {
        if self.limit == 0 {
            return Ok(now);
        }
        let mut recent = self.recent.lock().expect("restart limiter poisoned");
        while recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            recent.pop_front();
        }
        if recent.len() < self.limit {
            recent.push_back(now);
            return Ok(now);
        }
        let oldest = *recent.front().expect("full window has a front");
        Err(WINDOW.saturating_sub(now.saturating_duration_since(oldest)))
    }
}

impl RestartLimiter {
    /// The restart of the turn taken at `taken` finished at `at`: it counts from then.
    pub fn done(&self, taken: Instant, at: Instant) {
        self.replace(taken, Some(at));
    }

    /// The restart of the turn taken at `taken` did not happen.
    pub fn give_back(&self, taken: Instant) {
        self.replace(taken, None);
    }

    fn replace(&self, taken: Instant, with: Option<Instant>) {
        let mut recent = self.recent.lock().expect("restart limiter poisoned");
        if let Some(i) = recent.iter().position(|t| *t == taken) {
            recent.remove(i);
        }
        if let Some(at) = with {
            let i = recent.partition_point(|t| *t <= at);
            recent.insert(i, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_the_limit_in_any_minute() {
        let limiter = RestartLimiter::new(10);
        let start = Instant::now();
        let mut granted = Vec::new();
        // Ask every second for five minutes.
        for s in 0..300u64 {
            let now = start + Duration::from_secs(s);
            for _ in 0..3 {
                if limiter.try_take(now).is_ok() {
                    granted.push(s);
                }
            }
        }
        for window_start in 0..300u64 {
            let within = granted
                .iter()
                .filter(|&&t| t >= window_start && t < window_start + 60)
                .count();
            assert!(
                within <= 10,
                "{within} restarts in the minute from {window_start}s"
            );
        }
        assert_eq!(granted.len(), 50, "ten per minute for five minutes");
    }

    #[test]
    fn a_refusal_says_when_the_next_turn_is_free() {
        let limiter = RestartLimiter::new(2);
        let start = Instant::now();
        limiter.try_take(start).unwrap();
        limiter.try_take(start + Duration::from_secs(20)).unwrap();
        let wait = limiter
            .try_take(start + Duration::from_secs(30))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(30));
        assert!(limiter.try_take(start + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn a_turn_counts_from_when_its_restart_was_done_and_a_failed_one_is_given_back() {
        let limiter = RestartLimiter::new(1);
        let start = Instant::now();
        let turn = limiter.try_take(start).unwrap();
        // The request took 3 s: the next turn is free a minute after it finished.
        limiter.done(turn, start + Duration::from_secs(3));
        assert_eq!(
            limiter
                .try_take(start + Duration::from_secs(60))
                .unwrap_err(),
            Duration::from_secs(3)
        );
        let next = limiter.try_take(start + Duration::from_secs(63)).unwrap();
        limiter.give_back(next);
        assert!(limiter.try_take(start + Duration::from_secs(63)).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RestartLimiter::new(0);
        let now = Instant::now();
        assert!((0..1000).all(|_| limiter.try_take(now).is_ok()));
    }
}
