//! When to try a request again, and how long to wait. Pure; the client supplies the randomness and
//! the clock so the decisions are table-tested.
//!
//! Safety rule: a request that never left (connection refused) may be sent again whatever it does.
//! After the request may have reached the server, only operations whose repetition has the same
//! effect are retried; creating a secret or a version is not, because a second create is a second
//! object. The controller recovers those through its operation token.

use std::time::Duration;

use jiff::Timestamp;

/// Retry limits. The budget caps the total time spent waiting between attempts of one operation, so
/// a reconcile never stalls for long: past it, the error (with any `Retry-After`) goes back to the
/// controller, which requeues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. 1 disables retries.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Total waiting allowed across the retries of one operation.
    pub budget: Duration,
}

/// One retry: enough for a blip; anything longer is the store runtime's business (its budget,
/// its health probe, the object's backoff), so a failing provider is not hit four times per call.
impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            budget: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Exponential backoff with "equal jitter": half the capped delay fixed, half random, so
    /// retries from many reconciles spread out but never collapse to zero. `random` is in [0, 1).
    pub fn backoff(&self, retry_number: u32, random: f64) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry_number.saturating_sub(1)));
        let cap = exp.min(self.max_backoff);
        let half = cap / 2;
        half + half.mul_f64(random.clamp(0.0, 1.0))
    }
}

/// Whether an operation may be repeated once it may have reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeatable {
    /// Reads, and writes that set a state (PATCH, DELETE, protect, enable…).
    Yes,
    /// Creates: a repeat makes a second object.
    No,
}

/// How a failed answer bears on sending the request again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The server refused before acting (OCI's 429, or 409 for a resource in transition): any
    /// request may be sent again.
    BeforeActing,
    /// A server failure or throttling the provider does not document as refused-before-acting:
    /// it may have acted, so only repeatable requests are sent again.
    MaybeActed,
    /// Sending the same request again gives the same answer.
    Final,
}

impl Refusal {
    /// For a provider that says no more than the status: 429 and 5xx may have acted, the rest is
    /// final.
    pub fn of_status(status: u16) -> Self {
        match status {
            429 | 500 | 502 | 503 | 504 => Refusal::MaybeActed,
            _ => Refusal::Final,
        }
    }
}

/// What happened on one attempt, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptFailure {
    /// The connection could not be opened: nothing was sent.
    NotSent,
    /// Timeout or connection dropped after sending: the server may have acted.
    Ambiguous,
    /// An error answer, classified, with the server's `Retry-After` if any.
    Answer {
        refusal: Refusal,
        retry_after: Option<Duration>,
    },
}

impl AttemptFailure {
    /// An error answer classified by its status alone.
    pub fn status(status: u16, retry_after: Option<Duration>) -> Self {
        AttemptFailure::Answer {
            refusal: Refusal::of_status(status),
            retry_after,
        }
    }
}

/// The decision after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    RetryAfter(Duration),
    GiveUp,
}

/// Decides whether to retry after attempt number `attempt` (1-based) failed, given the time already
/// spent waiting. `random` is in [0, 1).
pub fn decide(
    policy: &RetryPolicy,
    repeatable: Repeatable,
    failure: AttemptFailure,
    attempt: u32,
    waited: Duration,
    random: f64,
) -> RetryDecision {
    if attempt >= policy.max_attempts {
        return RetryDecision::GiveUp;
    }
    let (retryable, server_delay) = match failure {
        AttemptFailure::NotSent => (true, None),
        AttemptFailure::Ambiguous => (repeatable == Repeatable::Yes, None),
        AttemptFailure::Answer {
            refusal,
            retry_after,
        } => match refusal {
            Refusal::BeforeActing => (true, retry_after),
            Refusal::MaybeActed => (repeatable == Repeatable::Yes, retry_after),
            Refusal::Final => (false, None),
        },
    };
    if !retryable {
        return RetryDecision::GiveUp;
    }
    // The server's Retry-After wins, but never below our own backoff (a `0` would spin).
    let backoff = policy.backoff(attempt, random);
    let delay = server_delay.map_or(backoff, |d| d.max(backoff));
    if waited.saturating_add(delay) > policy.budget {
        return RetryDecision::GiveUp;
    }
    RetryDecision::RetryAfter(delay)
}

/// Parses `Retry-After`: delta seconds, or an HTTP date (relative to `now`, never negative).
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let delta = when.as_millisecond() - now.as_millisecond();
    Some(Duration::from_millis(delta.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            budget: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = policy();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(50));
        assert_eq!(p.backoff(1, 0.5), Duration::from_millis(75));
        assert_eq!(p.backoff(2, 0.0), Duration::from_millis(100));
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(300));
        assert_eq!(p.backoff(10, 0.0), Duration::from_millis(500));
        assert_eq!(p.backoff(40, 1.0), Duration::from_millis(1000));
    }

    #[test]
    fn decision_table() {
        use AttemptFailure::*;
        use Repeatable::*;
        use RetryDecision::*;
        let p = policy();
        let zero = Duration::ZERO;
        let status = |s| AttemptFailure::status(s, None);
        let rows: &[(Repeatable, AttemptFailure, u32, Duration, RetryDecision)] = &[
            (Yes, NotSent, 1, zero, RetryAfter(Duration::from_millis(50))),
            (No, NotSent, 1, zero, RetryAfter(Duration::from_millis(50))),
            (
                Yes,
                Ambiguous,
                1,
                zero,
                RetryAfter(Duration::from_millis(50)),
            ),
            (No, Ambiguous, 1, zero, GiveUp),
            (
                Yes,
                status(503),
                2,
                zero,
                RetryAfter(Duration::from_millis(100)),
            ),
            (
                Yes,
                status(500),
                1,
                zero,
                RetryAfter(Duration::from_millis(50)),
            ),
            (No, status(503), 1, zero, GiveUp),
            (No, status(429), 1, zero, GiveUp),
            (Yes, status(404), 1, zero, GiveUp),
            (Yes, status(400), 1, zero, GiveUp),
            (Yes, status(412), 1, zero, GiveUp),
            (Yes, status(503), 4, zero, GiveUp),
            (
                Yes,
                AttemptFailure::status(429, Some(Duration::from_secs(3))),
                1,
                zero,
                RetryAfter(Duration::from_secs(3)),
            ),
            (
                Yes,
                AttemptFailure::status(503, Some(Duration::from_secs(3))),
                1,
                Duration::from_secs(8),
                GiveUp,
            ),
            (
                Yes,
                AttemptFailure::status(429, Some(Duration::ZERO)),
                1,
                zero,
                RetryAfter(Duration::from_millis(50)),
            ),
        ];
        for (i, (rep, failure, attempt, waited, want)) in rows.iter().enumerate() {
            assert_eq!(
                decide(&p, *rep, *failure, *attempt, *waited, 0.0),
                *want,
                "row {i}"
            );
        }
    }

    #[test]
    fn refusals_before_acting_are_retried_even_for_creates() {
        use Refusal::*;
        use Repeatable::*;
        use RetryDecision::*;
        let p = policy();
        let zero = Duration::ZERO;
        let ms = Duration::from_millis;
        let answer = |refusal, retry_after| AttemptFailure::Answer {
            refusal,
            retry_after,
        };
        let rows: &[(Repeatable, AttemptFailure, u32, Duration, RetryDecision)] = &[
            (No, answer(BeforeActing, None), 1, zero, RetryAfter(ms(50))),
            (No, answer(MaybeActed, None), 1, zero, GiveUp),
            (Yes, answer(MaybeActed, None), 2, zero, RetryAfter(ms(100))),
            (Yes, answer(Final, None), 1, zero, GiveUp),
            (Yes, answer(BeforeActing, None), 4, zero, GiveUp),
            (
                No,
                answer(BeforeActing, Some(Duration::from_secs(3))),
                1,
                zero,
                RetryAfter(Duration::from_secs(3)),
            ),
            (
                Yes,
                answer(BeforeActing, Some(Duration::from_secs(3))),
                1,
                Duration::from_secs(8),
                GiveUp,
            ),
        ];
        for (i, (rep, failure, attempt, waited, want)) in rows.iter().enumerate() {
            assert_eq!(
                decide(&p, *rep, *failure, *attempt, *waited, 0.0),
                *want,
                "row {i}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let now: Timestamp = "2026-07-03T15:27:54Z".parse().unwrap();
        assert_eq!(parse_retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Fri, 03 Jul 2026 15:28:04 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Fri, 03 Jul 2026 15:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
