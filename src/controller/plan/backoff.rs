//! How soon a failing object looks again: exponential in the time it has been failing (so no
//! counter needs to be stored, and a restart keeps the pace), with jitter, from seconds for
//! temporary problems to minutes for those that need a person. Pure.

use std::time::Duration;

use jiff::Timestamp;

/// How a failure should be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// May pass on its own (provider error, connection, a missing store being created).
    Temporary,
    /// Needs a person (credentials, permissions, a disabled key, a refused value, a conflict):
    /// looked at slowly; a spec or store change triggers a reconcile at once anyway.
    Persistent,
    /// The provider asked to wait this long (429 `Retry-After`).
    ProviderAsked(Duration),
}

pub const TEMPORARY: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(300));
pub const PERSISTENT: (Duration, Duration) = (Duration::from_secs(30), Duration::from_secs(600));

/// The wait before the next attempt of an object failing since `since` (the Ready condition's
/// last transition to False). `random` is in [0, 1): the wait is spread by ±20 %.
pub fn next_attempt(pace: Pace, since: Timestamp, now: Timestamp, random: f64) -> Duration {
    let failing_for = Duration::try_from(since.duration_until(now)).unwrap_or(Duration::ZERO);
    let (base, cap) = match pace {
        Pace::Temporary | Pace::ProviderAsked(_) => TEMPORARY,
        Pace::Persistent => PERSISTENT,
    };
    let mut wait = failing_for.clamp(base, cap);
    if let Pace::ProviderAsked(asked) = pace {
        wait = wait.max(asked.min(PERSISTENT.1));
    }
    wait.mul_f64(0.8 + 0.4 * random.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn waits_double_with_the_failure_and_stop_at_the_cap() {
        // The attempt times of an object failing from t=0, with the middle of the jitter.
        let attempts = |pace| {
            let mut at = 0i64;
            let mut times = vec![0];
            while at < 3600 {
                at += next_attempt(pace, t(0), t(at), 0.5).as_secs() as i64;
                times.push(at);
            }
            times
        };
        let temporary = attempts(Pace::Temporary);
        assert_eq!(&temporary[..6], [0, 5, 10, 20, 40, 80]);
        assert!(temporary.windows(2).all(|w| w[1] - w[0] <= 300));
        let persistent = attempts(Pace::Persistent);
        assert_eq!(&persistent[..5], [0, 30, 60, 120, 240]);
        assert!(persistent.windows(2).all(|w| w[1] - w[0] <= 600));
        // A persistent failure makes at most 6 attempts in its first five minutes.
        assert!(
            persistent.iter().filter(|a| **a < 300).count() <= 6,
            "{persistent:?}"
        );
    }

    #[test]
    fn jitter_spreads_by_a_fifth_either_way() {
        assert_eq!(next_attempt(Pace::Persistent, t(0), t(100), 0.0), secs(80));
        assert_eq!(
            next_attempt(Pace::Persistent, t(0), t(100), 0.999_999).as_secs(),
            119
        );
    }

    #[test]
    fn a_provider_asking_to_wait_is_heard_within_bounds() {
        assert_eq!(
            next_attempt(Pace::ProviderAsked(secs(42)), t(0), t(0), 0.5),
            secs(42)
        );
        assert_eq!(
            next_attempt(Pace::ProviderAsked(secs(1)), t(0), t(0), 0.5),
            secs(5)
        );
        assert_eq!(
            next_attempt(Pace::ProviderAsked(secs(86_400)), t(0), t(0), 0.5),
            secs(600)
        );
    }

    #[test]
    fn a_clock_behind_the_transition_counts_as_just_failed() {
        assert_eq!(next_attempt(Pace::Temporary, t(10), t(0), 0.5), secs(5));
    }
}
