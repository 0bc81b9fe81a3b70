//! The attempt loop every provider client runs its HTTP calls through: the store's gate before
//! each attempt (a spent budget ends the call unsent), the retry decision of [`super::retry`]
//! and its wait, and one report of the finished call (the span's status and attempt count, the
//! observer that feeds the metrics). The client supplies what differs: how to prepare an attempt
//! (Thalassa's access token), how to send it, and what its answer means.

use std::future::Future;
use std::time::{Duration, Instant};

use super::retry::{AttemptFailure, Repeatable, RetryDecision, RetryPolicy, decide};
use super::{CallClass, CallObserver, ErrorKind, ProviderCall, ProviderError, ProviderResult};
use super::{RequestGate, gate::GatePass};

/// What one attempt came to, as the client reads the answer.
pub enum Attempt<T> {
    /// A usable answer (`status` is its HTTP status).
    Done { value: T, status: u16 },
    /// A failed attempt; whether to send it again is the retry policy's decision.
    Failed {
        failure: AttemptFailure,
        error: ProviderError,
    },
    /// A failure no repeat mends.
    Final(ProviderError),
    /// Send again at once: the server did not act (a credential renewed after a 401).
    Again { status: u16 },
}

/// An attempt that got no usable HTTP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportFailure {
    /// The request never left (connection refused): safe to send again whatever it does.
    pub not_sent: bool,
    pub message: &'static str,
}

impl TransportFailure {
    pub fn of(e: &reqwest::Error) -> Self {
        if e.is_connect() {
            Self {
                not_sent: true,
                message: "could not connect to the API",
            }
        } else if e.is_timeout() {
            Self {
                not_sent: false,
                message: "the API did not answer in time",
            }
        } else {
            Self {
                not_sent: false,
                message: "the connection failed before an answer arrived",
            }
        }
    }

    /// The attempt it makes for `operation` (sent or maybe sent, never echoing the request).
    pub fn attempt<T>(self, provider: &'static str, operation: &'static str) -> Attempt<T> {
        Attempt::Failed {
            failure: if self.not_sent {
                AttemptFailure::NotSent
            } else {
                AttemptFailure::Ambiguous
            },
            error: ProviderError::new(provider, operation, ErrorKind::Transport, self.message),
        }
    }
}

/// One logical call: what the loop needs besides the attempts.
pub struct Call<'a> {
    pub provider: &'static str,
    pub operation: &'static str,
    pub class: CallClass,
    pub repeatable: Repeatable,
    pub policy: &'a RetryPolicy,
    pub gate: &'a dyn RequestGate,
    pub observer: &'a dyn CallObserver,
}

impl Call<'_> {
    /// Runs attempts until one is usable, fails for good, or the policy gives up. `prepare` runs
    /// before the gate is asked (its failure is an attempt that was not sent); `send` runs with
    /// the gate's pass held.
    pub async fn run<T, P, Fp, Fs>(
        &self,
        mut prepare: impl FnMut() -> Fp,
        mut send: impl FnMut(P) -> Fs,
    ) -> ProviderResult<T>
    where
        Fp: Future<Output = Result<P, Attempt<T>>>,
        Fs: Future<Output = Attempt<T>>,
    {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        let mut last_status = None;
        loop {
            attempt += 1;
            let outcome = match prepare().await {
                Err(unsent) => unsent,
                Ok(prepared) => {
                    let pass: GatePass = match self.gate.admit(self.class).await {
                        Ok(pass) => pass,
                        Err(closed) => {
                            let error = ProviderError::budget_spent(
                                self.provider,
                                self.operation,
                                closed.retry_after,
                            );
                            self.finish(error.kind().label(), last_status, attempt, started);
                            return Err(error);
                        }
                    };
                    let outcome = send(prepared).await;
                    drop(pass);
                    outcome
                }
            };
            let (failure, error) = match outcome {
                Attempt::Done { value, status } => {
                    self.finish("ok", Some(status), attempt, started);
                    return Ok(value);
                }
                Attempt::Again { status } => {
                    last_status = Some(status);
                    continue;
                }
                Attempt::Final(error) => {
                    last_status = error.http_status().or(last_status);
                    self.finish(error.kind().label(), last_status, attempt, started);
                    return Err(error);
                }
                Attempt::Failed { failure, error } => {
                    last_status = error.http_status().or(last_status);
                    (failure, error)
                }
            };
            match decide(
                self.policy,
                self.repeatable,
                failure,
                attempt,
                waited,
                rand::random::<f64>(),
            ) {
                RetryDecision::RetryAfter(delay) => {
                    tracing::debug!(
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        error = error.kind().label(),
                        "retrying"
                    );
                    waited += delay;
                    tokio::time::sleep(delay).await;
                }
                RetryDecision::GiveUp => {
                    self.finish(error.kind().label(), last_status, attempt, started);
                    return Err(error);
                }
            }
        }
    }

    /// Records the outcome in the current span (its `http_status` and `attempts` fields) and
    /// reports the call to the observer.
    fn finish(
        &self,
        outcome: &'static str,
        http_status: Option<u16>,
        attempts: u32,
        started: Instant,
    ) {
        let span = tracing::Span::current();
        if let Some(status) = http_status {
            span.record("http_status", status);
        }
        span.record("attempts", attempts);
        tracing::debug!(outcome, "provider call finished");
        self.observer.observe(&ProviderCall {
            provider: self.provider,
            operation: self.operation,
            outcome,
            http_status,
            attempts,
            elapsed: started.elapsed(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::OpenGate;
    use crate::provider::retry::Refusal;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Seen(Mutex<Vec<ProviderCall>>);
    impl CallObserver for Seen {
        fn observe(&self, call: &ProviderCall) {
            self.0.lock().unwrap().push(call.clone());
        }
    }

    fn call<'a>(repeatable: Repeatable, policy: &'a RetryPolicy, seen: &'a Seen) -> Call<'a> {
        Call {
            provider: "p",
            operation: "op",
            class: CallClass::Read,
            repeatable,
            policy,
            gate: &OpenGate,
            observer: seen,
        }
    }

    fn server_error() -> Attempt<u8> {
        Attempt::Failed {
            failure: AttemptFailure::Answer {
                refusal: Refusal::MaybeActed,
                retry_after: None,
            },
            error: ProviderError::new("p", "op", ErrorKind::ServerError, "boom")
                .with_http(500, None),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_repeatable_call_is_sent_again_and_reported_once() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let seen = Seen::default();
        let mut answers = vec![
            Attempt::Done {
                value: 7,
                status: 200,
            },
            server_error(),
        ];
        let got = call(Repeatable::Yes, &policy, &seen)
            .run(
                || async { Ok::<(), Attempt<u8>>(()) },
                |()| {
                    let next = answers.pop().unwrap();
                    async move { next }
                },
            )
            .await
            .unwrap();
        assert_eq!(got, 7);
        let calls = seen.0.lock().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].attempts, calls[0].outcome), (2, "ok"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_create_that_may_have_landed_is_never_sent_again() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let seen = Seen::default();
        let mut sent = 0;
        let err = call(Repeatable::No, &policy, &seen)
            .run(
                || async { Ok::<(), Attempt<u8>>(()) },
                |()| {
                    sent += 1;
                    async { server_error() }
                },
            )
            .await
            .unwrap_err();
        assert_eq!(sent, 1);
        assert_eq!(err.kind(), &ErrorKind::ServerError);
        assert_eq!(seen.0.lock().unwrap()[0].http_status, Some(500));
    }

    #[tokio::test(start_paused = true)]
    async fn again_and_an_unsent_preparation_do_not_end_the_call() {
        let policy = RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::default()
        };
        let seen = Seen::default();
        let mut prepared = 0;
        let mut answers = vec![
            Attempt::Done {
                value: 1,
                status: 200,
            },
            Attempt::Again { status: 401 },
        ];
        let got = call(Repeatable::No, &policy, &seen)
            .run(
                || {
                    prepared += 1;
                    let first = prepared == 1;
                    async move {
                        if first {
                            Err(TransportFailure {
                                not_sent: true,
                                message: "token endpoint down",
                            }
                            .attempt("p", "op"))
                        } else {
                            Ok(())
                        }
                    }
                },
                |()| {
                    let next = answers.pop().unwrap();
                    async move { next }
                },
            )
            .await
            .unwrap();
        assert_eq!(got, 1);
        assert_eq!(seen.0.lock().unwrap()[0].attempts, 3);
    }
}
