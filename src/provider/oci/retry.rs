//! When the OCI client tries a request again. Pure; the client supplies the randomness.
//!
//! The limits, the backoff and `Retry-After` parsing are the Scaleway client's ([`RetryPolicy`]); what
//! differs is what is safe to repeat, because OCI tells more:
//! - a request that never left, a 429, or a 409 for a resource in transition was refused before the
//!   server acted: any request may be sent again;
//! - after a 5xx or a broken connection the server may have acted: only a [`Repeatable::Yes`] request
//!   is sent again. Reads and state changes are; a write that makes an object or a version is only
//!   when it carries an `opc-retry-token` (the server then answers a repeat with the first result).

use std::time::Duration;

pub use crate::provider::scaleway::retry::{RetryDecision, RetryPolicy, parse_retry_after};

use super::errors::Refusal;

/// Whether a request may be repeated once it may have reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeatable {
    Yes,
    No,
}

/// What happened on one failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptFailure {
    /// The connection could not be opened: nothing was sent.
    NotSent,
    /// Timeout or connection dropped after sending.
    Ambiguous,
    /// An error answer, classified, with the server's `Retry-After` if any.
    Answer {
        refusal: Refusal,
        retry_after: Option<Duration>,
    },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_table() {
        use AttemptFailure::*;
        use Refusal::*;
        use Repeatable::*;
        use RetryDecision::*;
        let p = RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            budget: Duration::from_secs(10),
        };
        let zero = Duration::ZERO;
        let answer = |refusal| Answer {
            refusal,
            retry_after: None,
        };
        let ms = Duration::from_millis;
        let rows: &[(Repeatable, AttemptFailure, u32, Duration, RetryDecision)] = &[
            (No, NotSent, 1, zero, RetryAfter(ms(50))),
            (Yes, Ambiguous, 1, zero, RetryAfter(ms(50))),
            (No, Ambiguous, 1, zero, GiveUp),
            (No, answer(BeforeActing), 1, zero, RetryAfter(ms(50))),
            (No, answer(MaybeActed), 1, zero, GiveUp),
            (Yes, answer(MaybeActed), 2, zero, RetryAfter(ms(100))),
            (Yes, answer(Final), 1, zero, GiveUp),
            (Yes, answer(BeforeActing), 4, zero, GiveUp),
            (
                No,
                Answer {
                    refusal: BeforeActing,
                    retry_after: Some(Duration::from_secs(3)),
                },
                1,
                zero,
                RetryAfter(Duration::from_secs(3)),
            ),
            (
                Yes,
                Answer {
                    refusal: BeforeActing,
                    retry_after: Some(Duration::from_secs(3)),
                },
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
}
