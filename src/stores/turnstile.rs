//! A tenancy's turnstile for the writes a provider throttles per tenancy (OCI: 10 KMS management
//! writes per second). One such write is in flight at a time, and the next is sent at least
//! `spacing` after the previous answer arrived. The provider therefore receives consecutive writes
//! at least `spacing` apart, whatever delays a request between its admission and its arrival, so
//! it never sees more than one per `spacing` in any window. A token bucket cannot promise that: it
//! spaces admissions, and a request held up after its admission (a busy CPU signing it, a slow
//! connection) lands right next to the following one.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedMutexGuard};
use tokio::time::Instant;

/// One tenancy's turnstile.
#[derive(Debug)]
pub struct Turnstile {
    /// When the last write's answer arrived.
    last: Arc<Mutex<Option<Instant>>>,
    spacing: Duration,
}

/// The right to send one write; dropping it (once the answer is read) starts the spacing.
pub struct Turn {
    guard: OwnedMutexGuard<Option<Instant>>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        *self.guard = Some(Instant::now());
    }
}

impl Turnstile {
    /// At most `per_second` writes in any second: consecutive writes `1/per_second` apart, plus a
    /// millisecond for clocks that round.
    pub fn per_second(per_second: u32) -> Self {
        Self {
            last: Arc::default(),
            spacing: Duration::from_secs(1) / per_second.max(1) + Duration::from_millis(1),
        }
    }

    pub fn spacing(&self) -> Duration {
        self.spacing
    }

    /// Waits for the turn, at most `max_wait`; otherwise says when to come back (nothing taken).
    pub async fn enter(&self, max_wait: Duration) -> Result<Turn, Duration> {
        let deadline = Instant::now() + max_wait;
        let guard = tokio::time::timeout_at(deadline, self.last.clone().lock_owned())
            .await
            .map_err(|_| max_wait.max(self.spacing))?;
        if let Some(last) = *guard {
            let ready = last + self.spacing;
            if ready > deadline {
                // The previous answer stays the reference: this caller sent nothing.
                return Err(ready.saturating_duration_since(Instant::now()));
            }
            tokio::time::sleep_until(ready).await;
        }
        Ok(Turn { guard })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn writes_go_one_at_a_time_spaced_from_the_previous_answer() {
        let gate = Arc::new(Turnstile::per_second(10));
        let t0 = Instant::now();
        let first = gate.enter(Duration::from_secs(5)).await.unwrap();
        // The answer takes 300 ms to come back: nobody else goes meanwhile.
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let turn = gate.enter(Duration::from_secs(5)).await.unwrap();
                let at = Instant::now();
                drop(turn);
                at
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(first);
        let second = waiting.await.unwrap();
        assert_eq!(
            second.duration_since(t0),
            Duration::from_millis(300) + gate.spacing(),
            "sent a spacing after the first answer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_would_wait_too_long_takes_nothing() {
        let gate = Turnstile::per_second(1);
        drop(gate.enter(Duration::from_secs(5)).await.unwrap());
        let t0 = Instant::now();
        let back = gate.enter(Duration::from_millis(100)).await.err().unwrap();
        assert!(back > Duration::from_millis(900), "{back:?}");
        assert_eq!(Instant::now(), t0, "refused at once");
        // The refusal did not move the reference: the next turn is a second after the first.
        let turn = gate.enter(Duration::from_secs(5)).await.unwrap();
        assert_eq!(Instant::now().duration_since(t0), gate.spacing());
        drop(turn);
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_of_a_second_holds_more_than_the_limit() {
        let gate = Arc::new(Turnstile::per_second(10));
        let mut tasks = Vec::new();
        for i in 0..40u64 {
            let gate = gate.clone();
            tasks.push(tokio::spawn(async move {
                let turn = gate.enter(Duration::from_secs(60)).await.unwrap();
                let sent = Instant::now();
                // Answers take between 0 and 90 ms.
                tokio::time::sleep(Duration::from_millis((i * 37) % 90)).await;
                drop(turn);
                sent
            }));
        }
        let mut sent = Vec::new();
        for t in tasks {
            sent.push(t.await.unwrap());
        }
        sent.sort();
        for (i, t) in sent.iter().enumerate() {
            let within = sent[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < Duration::from_secs(1))
                .count();
            assert!(
                within <= 10,
                "{within} writes in the second after write {i}"
            );
        }
    }
}
