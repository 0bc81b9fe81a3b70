//! Leader election on a `coordination.k8s.io/v1` Lease, so two or more replicas never reconcile at once.
//!
//! Why not a crate: `kube-lease-manager` (the maintained one for kube 5) renews and clears foreign
//! leases with unconditional patches and has no renew deadline, so a leader whose renewals hang keeps
//! believing it leads while another replica takes over. This module follows client-go's scheme instead:
//!
//! - Every write is a `replace` carrying the `resourceVersion` just read: two contenders can never
//!   both succeed (the loser gets 409 Conflict).
//! - Expiry of someone else's lease is judged on the local monotonic clock, from the moment this
//!   process saw the record change, never from the holder's `renewTime` (clocks of nodes differ).
//! - The leader steps down on its own once `renew_deadline` has passed since the start of its last
//!   successful renewal, which is before any other replica may take over (`lease_duration` after it
//!   saw that renewal): the gap is the margin for stopping in-flight work.
//! - On shutdown the leader releases the lease, so a rolling update hands over at once.
//!
//! The decisions are pure functions ([`decide`], [`claimed_spec`], [`released_spec`],
//! [`LeaseTiming::validate`]) tested with tables; [`LeaderElector`] only does the I/O.

use crate::telemetry::Metrics;
use anyhow::Context as _;
use futures::FutureExt as _;
use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
};
use rand::Rng as _;
use std::{future::Future, time::Duration};
use tokio::{sync::watch, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

/// The field manager Keyward writes the Lease with.
use crate::api::well_known::FIELD_MANAGER;

/// Command-line and environment settings for leader election (flattened into `keyward run`).
#[derive(clap::Args, Debug, Clone)]
pub struct LeaderElectionArgs {
    /// Elect a leader through a Lease so that several replicas are safe; `false` for a single process.
    #[arg(
        long = "leader-election",
        env = "KEYWARD_LEADER_ELECTION",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub enabled: bool,

    /// Namespace of the Lease (default: the pod's namespace, else the kubeconfig's namespace).
    #[arg(long = "leader-election-namespace", env = "POD_NAMESPACE")]
    pub namespace: Option<String>,

    /// Name of the Lease.
    #[arg(
        long = "leader-election-lease-name",
        env = "KEYWARD_LEADER_ELECTION_LEASE_NAME",
        default_value = "keyward-leader"
    )]
    pub lease_name: String,

    /// Identity written as holder (default: the pod name, else the host name with a random suffix).
    #[arg(long = "leader-election-identity", env = "POD_NAME")]
    pub identity: Option<String>,

    /// How long a lease stays valid after its last renewal, e.g. `15s`.
    #[arg(long = "leader-election-lease-duration", env = "KEYWARD_LEADER_ELECTION_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,

    /// How long the leader keeps leading without a successful renewal before it steps down, e.g. `10s`.
    #[arg(long = "leader-election-renew-deadline", env = "KEYWARD_LEADER_ELECTION_RENEW_DEADLINE", default_value = "10s", value_parser = parse_duration)]
    pub renew_deadline: Duration,

    /// Time between two attempts to acquire or renew, e.g. `2s`.
    #[arg(long = "leader-election-retry-period", env = "KEYWARD_LEADER_ELECTION_RETRY_PERIOD", default_value = "2s", value_parser = parse_duration)]
    pub retry_period: Duration,
}

/// Parses `15s`, `1m30s`, `500ms` or ISO 8601 `PT15S` into a duration.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let signed: jiff::SignedDuration = text.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from(signed).map_err(|_| format!("{text}: a duration cannot be negative"))
}

/// The three durations of leader election, with client-go's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long a lease stays valid after its last renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps leading without a successful renewal.
    pub renew_deadline: Duration,
    /// Time between two attempts to acquire or renew.
    pub retry_period: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Why leader election could not start.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimingError {
    #[error("the lease duration must be a whole number of seconds of at least 1s")]
    LeaseDurationNotWholeSeconds,
    #[error("the renew deadline must be shorter than the lease duration")]
    RenewDeadlineNotBelowLeaseDuration,
    #[error("the retry period must be shorter than the renew deadline")]
    RetryPeriodNotBelowRenewDeadline,
    #[error("the retry period must be positive")]
    RetryPeriodZero,
}

impl LeaseTiming {
    /// Checks the ordering the safety argument needs: retry < renew deadline < lease duration.
    pub fn validate(&self) -> Result<(), TimingError> {
        let secs = self.lease_duration.as_secs();
        // The Lease stores whole seconds: a fraction would silently change the safety margin.
        if secs == 0 || self.lease_duration.subsec_nanos() != 0 || secs > i32::MAX as u64 {
            return Err(TimingError::LeaseDurationNotWholeSeconds);
        }
        if self.renew_deadline >= self.lease_duration {
            return Err(TimingError::RenewDeadlineNotBelowLeaseDuration);
        }
        if self.retry_period.is_zero() {
            return Err(TimingError::RetryPeriodZero);
        }
        if self.retry_period >= self.renew_deadline {
            return Err(TimingError::RetryPeriodNotBelowRenewDeadline);
        }
        Ok(())
    }

    fn lease_duration_seconds(&self) -> i32 {
        // validate() bounds it to i32.
        self.lease_duration.as_secs() as i32
    }
}

/// What to do after reading the Lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// No Lease exists: create it with ourselves as holder.
    Create,
    /// The Lease is free or expired: take it.
    Acquire,
    /// We hold the Lease: renew it.
    Renew,
    /// Someone else holds a valid Lease, for at least this long.
    Wait(Duration),
}

/// Decides what to do given the Lease's spec (`None` if the object does not exist), the local
/// instant at which its spec was last seen to change, and now.
///
/// Expiry uses the holder's `leaseDurationSeconds` when set (it may run with other settings than
/// ours), else ours.
pub fn decide(
    spec: Option<&LeaseSpec>,
    changed_at: Instant,
    now: Instant,
    identity: &str,
    own_duration: Duration,
) -> Action {
    let Some(spec) = spec else {
        return Action::Create;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or("");
    if holder.is_empty() {
        return Action::Acquire;
    }
    if holder == identity {
        return Action::Renew;
    }
    let duration = match spec.lease_duration_seconds {
        Some(secs) if secs > 0 => Duration::from_secs(secs as u64),
        _ => own_duration,
    };
    let expires = changed_at + duration;
    if now >= expires {
        Action::Acquire
    } else {
        Action::Wait(expires - now)
    }
}

/// The spec written to acquire or renew: renewing keeps `acquireTime` and the transition count,
/// taking over from another holder (or a free lease) counts one more transition.
pub fn claimed_spec(
    current: Option<&LeaseSpec>,
    identity: &str,
    now: jiff::Timestamp,
    duration_seconds: i32,
) -> LeaseSpec {
    let current = current.cloned().unwrap_or_default();
    let transitions = current.lease_transitions.unwrap_or(0);
    let renewing = current.holder_identity.as_deref() == Some(identity);
    LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(duration_seconds),
        renew_time: Some(MicroTime(now)),
        acquire_time: if renewing {
            current.acquire_time.clone().or(Some(MicroTime(now)))
        } else {
            Some(MicroTime(now))
        },
        lease_transitions: Some(if renewing {
            transitions
        } else {
            transitions + 1
        }),
        ..current
    }
}

/// The spec written on release: no holder, so the next contender acquires at once.
pub fn released_spec(current: &LeaseSpec, now: jiff::Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        renew_time: Some(MicroTime(now)),
        acquire_time: Some(MicroTime(now)),
        ..current.clone()
    }
}

/// True once the leader must step down: `renew_deadline` has passed since its last successful
/// renewal started.
pub fn must_step_down(
    last_renewal_started: Instant,
    now: Instant,
    renew_deadline: Duration,
) -> bool {
    now >= last_renewal_started + renew_deadline
}

/// A default holder identity: the host name plus a random suffix, so two processes on one machine
/// (tests, local runs) differ. In a pod, `POD_NAME` is used instead (see [`LeaderElectionArgs`]).
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "keyward".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}_{}", &suffix[..8])
}

/// Which Lease to use and who we are.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub lease_name: String,
    pub identity: String,
    pub timing: LeaseTiming,
}

/// Runs leader election against the Lease; see the module documentation.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The Lease's spec as last seen, and the local instant it was seen to change.
    observed: Option<(Option<LeaseSpec>, Instant)>,
}

impl LeaderElector {
    /// An elector for `config`; fails when the timing is unsafe.
    pub fn new(client: Client, config: LeaseConfig) -> Result<Self, TimingError> {
        config.timing.validate()?;
        Ok(Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
        })
    }

    /// Starts electing in a background task; the handle publishes the leadership state.
    pub fn spawn(self, metrics: Metrics) -> LeaderHandle {
        let (tx, rx) = watch::channel(false);
        let stop = CancellationToken::new();
        let task = tokio::spawn(self.run(tx, stop.clone(), metrics));
        LeaderHandle {
            state: rx,
            stop,
            task: Some(task),
            _always: None,
        }
    }

    async fn run(mut self, tx: watch::Sender<bool>, stop: CancellationToken, metrics: Metrics) {
        let timing = self.config.timing;
        let identity = self.config.identity.clone();
        let mut last_renewal_started: Option<Instant> = None;
        let set = |leader: bool| {
            tx.send_if_modified(|current| {
                let changed = *current != leader;
                *current = leader;
                changed
            })
        };
        tracing::info!(lease = %self.config.lease_name, namespace = %self.config.namespace, %identity, "leader election started");

        while !stop.is_cancelled() {
            let started = Instant::now();
            // A leader may wait for an answer only until its deadline; a follower has no deadline but
            // still gives up on a hung request.
            let budget = match last_renewal_started {
                Some(last) => (last + timing.renew_deadline).saturating_duration_since(started),
                None => timing.renew_deadline,
            };
            let attempt = tokio::select! {
                result = tokio::time::timeout(budget, self.try_acquire_or_renew()) => result,
                () = stop.cancelled() => break,
            };
            match attempt {
                Ok(Ok(Attempt::Holding)) => {
                    last_renewal_started = Some(started);
                    if set(true) {
                        metrics.set_leader(true);
                        tracing::info!(%identity, "became leader");
                    }
                }
                // A lost compare-and-swap says only that the object moved (maybe just its labels):
                // a leader keeps leading until its deadline unless a read shows another holder.
                Ok(Ok(Attempt::Conflict)) if last_renewal_started.is_some() => {
                    tracing::debug!("lease renewal conflicted; retrying");
                }
                Ok(Ok(Attempt::Conflict | Attempt::HeldByOther)) => {
                    last_renewal_started = None;
                    if set(false) {
                        metrics.set_leader(false);
                        tracing::warn!(%identity, "lost leadership to another holder");
                    }
                }
                Ok(Err(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "leader election attempt failed")
                }
                Err(_) => tracing::warn!(
                    budget_ms = budget.as_millis() as u64,
                    "leader election attempt timed out"
                ),
            }
            if let Some(last) = last_renewal_started
                && must_step_down(last, Instant::now(), timing.renew_deadline)
            {
                last_renewal_started = None;
                set(false);
                metrics.set_leader(false);
                tracing::error!(%identity, "could not renew the lease in time; stepped down");
            }
            let pause = if last_renewal_started.is_some() {
                timing.retry_period
            } else {
                // Followers spread their attempts so they do not all hit the API server together.
                timing
                    .retry_period
                    .mul_f64(1.0 + rand::rng().random_range(0.0..0.2))
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = stop.cancelled() => break,
            }
        }

        // Stop leading first, then release, so the new leader cannot start while we still run.
        let was_leader = *tx.borrow();
        set(false);
        metrics.set_leader(false);
        if was_leader {
            match tokio::time::timeout(timing.retry_period, self.release()).await {
                Ok(Ok(())) => tracing::info!(%identity, "released the lease"),
                Ok(Err(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "could not release the lease; it will expire")
                }
                Err(_) => tracing::warn!("releasing the lease timed out; it will expire"),
            }
        }
    }

    /// One read and at most one write.
    async fn try_acquire_or_renew(&mut self) -> anyhow::Result<Attempt> {
        let name = &self.config.lease_name;
        let identity = &self.config.identity;
        let duration = self.config.timing.lease_duration_seconds();
        let lease = self.api.get_opt(name).await.context("reading the Lease")?;
        let now = Instant::now();
        let spec = lease.as_ref().map(|l| l.spec.clone().unwrap_or_default());
        match &self.observed {
            Some((seen, _)) if *seen == spec => {}
            _ => self.observed = Some((spec.clone(), now)),
        }
        let changed_at = self.observed.as_ref().map_or(now, |(_, at)| *at);
        let pp = PostParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        let new_spec = claimed_spec(spec.as_ref(), identity, jiff::Timestamp::now(), duration);
        let written = match (
            decide(
                spec.as_ref(),
                changed_at,
                now,
                identity,
                self.config.timing.lease_duration,
            ),
            lease,
        ) {
            (Action::Wait(_), _) => return Ok(Attempt::HeldByOther),
            (Action::Create, _) | (_, None) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        namespace: Some(self.config.namespace.clone()),
                        labels: Some(
                            [("app.kubernetes.io/name".to_owned(), "keyward".to_owned())].into(),
                        ),
                        ..ObjectMeta::default()
                    },
                    spec: Some(new_spec),
                };
                self.api.create(&pp, &lease).await
            }
            (Action::Acquire | Action::Renew, Some(mut lease)) => {
                // `lease.metadata.resourceVersion` makes this a compare-and-swap.
                lease.spec = Some(new_spec);
                self.api.replace(name, &pp, &lease).await
            }
        };
        match written {
            Ok(lease) => {
                self.observed = Some((Some(lease.spec.unwrap_or_default()), Instant::now()));
                Ok(Attempt::Holding)
            }
            // Someone else wrote first (create raced, or the resourceVersion moved).
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Conflict),
            Err(error) => Err(error).context("writing the Lease"),
        }
    }

    async fn release(&self) -> anyhow::Result<()> {
        let name = &self.config.lease_name;
        let Some(mut lease) = self.api.get_opt(name).await? else {
            return Ok(());
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        lease.spec = Some(released_spec(&spec, jiff::Timestamp::now()));
        let pp = PostParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        self.api.replace(name, &pp, &lease).await?;
        Ok(())
    }
}

/// What one attempt to acquire or renew found.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    /// We hold the lease (just acquired or renewed).
    Holding,
    /// Another holder's lease is valid.
    HeldByOther,
    /// Our write lost a compare-and-swap.
    Conflict,
}

/// The leadership state of this process, and the means to stop electing.
pub struct LeaderHandle {
    state: watch::Receiver<bool>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    /// Keeps the channel open when leader election is disabled.
    _always: Option<watch::Sender<bool>>,
}

impl LeaderHandle {
    /// A handle that always leads: leader election disabled (single replica, local runs).
    pub fn always_leader(metrics: &Metrics) -> Self {
        let (tx, rx) = watch::channel(true);
        metrics.set_leader(true);
        Self {
            state: rx,
            stop: CancellationToken::new(),
            task: None,
            _always: Some(tx),
        }
    }

    /// A receiver of the leadership state (`true` while leading).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.state.clone()
    }

    /// Whether this process leads right now.
    pub fn is_leader(&self) -> bool {
        *self.state.borrow()
    }

    /// Stops electing: publishes `false`, releases the lease if held, and waits for that to finish.
    /// Call it after the work has stopped (see [`run_while_leader`]).
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(%error, "leader election task failed");
        }
    }
}

/// Starts leader election as `args` say (or a handle that always leads when it is disabled).
pub fn start(
    args: &LeaderElectionArgs,
    client: Client,
    metrics: &Metrics,
) -> anyhow::Result<LeaderHandle> {
    if !args.enabled {
        tracing::info!("leader election disabled: this process always leads");
        return Ok(LeaderHandle::always_leader(metrics));
    }
    let namespace = args
        .namespace
        .clone()
        .filter(|ns| !ns.is_empty())
        .unwrap_or_else(|| client.default_namespace().to_owned());
    let config = LeaseConfig {
        namespace,
        lease_name: args.lease_name.clone(),
        identity: args
            .identity
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(default_identity),
        timing: LeaseTiming {
            lease_duration: args.lease_duration,
            renew_deadline: args.renew_deadline,
            retry_period: args.retry_period,
        },
    };
    let elector = LeaderElector::new(client, config).context("leader election settings")?;
    Ok(elector.spawn(metrics.clone()))
}

/// Runs `work` during each term of leadership, until `shutdown`.
///
/// `work` receives a token cancelled when the term ends (leadership lost or shutdown); it should stop
/// promptly (for kube-runtime: `Controller::graceful_shutdown_on(token.cancelled_owned())`). If it has
/// not finished `stop_grace` after the token fired, it is dropped. Keep `stop_grace` below
/// `lease_duration - renew_deadline` so work stops before another replica may lead.
///
/// Returns `Ok` when `shutdown` fires, the error of `work` if it fails, or an error when the
/// leadership channel closes (the elector died).
pub async fn run_while_leader<F, Fut>(
    mut leadership: watch::Receiver<bool>,
    shutdown: CancellationToken,
    stop_grace: Duration,
    mut work: F,
) -> anyhow::Result<()>
where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            leading = leadership.wait_for(|leading| *leading) => {
                if leading.is_err() {
                    // Only an elector that died closes the channel before shutdown: let the process
                    // fail (and restart) rather than sit idle.
                    anyhow::bail!("leader election stopped unexpectedly");
                }
            }
        }
        let term = CancellationToken::new();
        let mut running = std::pin::pin!(work(term.clone()).fuse());
        let end = tokio::select! {
            result = &mut running => {
                // The work ended by itself while leading: an error, or a deliberate stop.
                return result;
            }
            () = shutdown.cancelled() => TermEnd::Shutdown,
            lost = leadership.wait_for(|leading| !*leading) => match lost {
                Ok(_) => TermEnd::Lost,
                Err(_) => TermEnd::ElectorDied,
            },
        };
        term.cancel();
        match tokio::time::timeout(stop_grace, &mut running).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(error = %format!("{error:#}"), "work failed while stopping")
            }
            Err(_) => tracing::warn!(
                grace_ms = stop_grace.as_millis() as u64,
                "work did not stop in time; dropped"
            ),
        }
        match end {
            TermEnd::Shutdown => return Ok(()),
            TermEnd::ElectorDied => anyhow::bail!("leader election stopped unexpectedly"),
            TermEnd::Lost => tracing::info!("leadership lost: waiting to lead again"),
        }
    }
}

/// Why a term of leadership ended.
enum TermEnd {
    Shutdown,
    Lost,
    /// The leadership channel closed: no one can tell whether we still lead.
    ElectorDied,
}

#[cfg(test)]
mod fake_api_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    fn spec(holder: Option<&str>, duration: Option<i32>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: duration,
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn decide_table() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let own = s(15);
        // (case, lease spec or absent, seconds since the spec was seen to change, expected)
        let rows: Vec<(&str, Option<LeaseSpec>, u64, Action)> = vec![
            ("no lease object", None, 0, Action::Create),
            ("empty spec", Some(LeaseSpec::default()), 0, Action::Acquire),
            (
                "released (empty holder)",
                Some(spec(Some(""), Some(1))),
                0,
                Action::Acquire,
            ),
            (
                "we hold it",
                Some(spec(Some("me"), Some(15))),
                0,
                Action::Renew,
            ),
            (
                "we hold it, long unseen",
                Some(spec(Some("me"), Some(15))),
                100,
                Action::Renew,
            ),
            (
                "other holder, fresh",
                Some(spec(Some("other"), Some(15))),
                0,
                Action::Wait(s(15)),
            ),
            (
                "other holder, 10s in",
                Some(spec(Some("other"), Some(15))),
                10,
                Action::Wait(s(5)),
            ),
            (
                "other holder, exactly expired",
                Some(spec(Some("other"), Some(15))),
                15,
                Action::Acquire,
            ),
            (
                "other holder, long expired",
                Some(spec(Some("other"), Some(15))),
                60,
                Action::Acquire,
            ),
            (
                "other holder's longer duration wins",
                Some(spec(Some("other"), Some(40))),
                20,
                Action::Wait(s(20)),
            ),
            (
                "other holder without duration uses ours",
                Some(spec(Some("other"), None)),
                10,
                Action::Wait(s(5)),
            ),
            (
                "other holder with zero duration uses ours",
                Some(spec(Some("other"), Some(0))),
                16,
                Action::Acquire,
            ),
        ];
        for (case, lease, elapsed, expected) in rows {
            let got = decide(lease.as_ref(), t0, t0 + s(elapsed), "me", own);
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn claimed_spec_table() {
        let now: jiff::Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let before: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let held_by = |holder: &str, transitions| LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            acquire_time: Some(MicroTime(before)),
            renew_time: Some(MicroTime(before)),
            lease_duration_seconds: Some(30),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        };
        // (case, current, expected acquireTime, expected transitions)
        let rows: Vec<(&str, Option<LeaseSpec>, jiff::Timestamp, i32)> = vec![
            ("create", None, now, 1),
            ("free lease", Some(LeaseSpec::default()), now, 1),
            (
                "renew keeps acquire time and count",
                Some(held_by("me", 4)),
                before,
                4,
            ),
            (
                "take over counts a transition",
                Some(held_by("other", 4)),
                now,
                5,
            ),
            (
                "after a release",
                Some(released_spec(&held_by("other", 4), before)),
                now,
                5,
            ),
        ];
        for (case, current, acquired, transitions) in rows {
            let got = claimed_spec(current.as_ref(), "me", now, 15);
            assert_eq!(got.holder_identity.as_deref(), Some("me"), "{case}");
            assert_eq!(got.lease_duration_seconds, Some(15), "{case}");
            assert_eq!(got.renew_time, Some(MicroTime(now)), "{case}");
            assert_eq!(got.acquire_time, Some(MicroTime(acquired)), "{case}");
            assert_eq!(got.lease_transitions, Some(transitions), "{case}");
        }
    }

    #[test]
    fn released_spec_frees_the_lease_for_the_next_contender() {
        let now: jiff::Timestamp = "2026-01-01T00:00:10Z".parse().unwrap();
        let held = claimed_spec(None, "me", now, 15);
        let released = released_spec(&held, now);
        assert_eq!(released.holder_identity, None);
        assert_eq!(released.lease_transitions, held.lease_transitions);
        let t0 = Instant::now();
        assert_eq!(
            decide(Some(&released), t0, t0, "other", Duration::from_secs(15)),
            Action::Acquire
        );
    }

    #[test]
    fn step_down_table() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let deadline = ms(10_000);
        for (elapsed, expected) in [(0, false), (9_999, false), (10_000, true), (25_000, true)] {
            assert_eq!(
                must_step_down(t0, t0 + ms(elapsed), deadline),
                expected,
                "{elapsed} ms"
            );
        }
    }

    #[test]
    fn timing_validation_table() {
        let s = Duration::from_secs;
        let t = |lease, renew, retry| LeaseTiming {
            lease_duration: lease,
            renew_deadline: renew,
            retry_period: retry,
        };
        let rows = [
            (t(s(15), s(10), s(2)), Ok(())),
            (t(s(2), s(1), Duration::from_millis(200)), Ok(())),
            (
                t(Duration::ZERO, s(0), s(0)),
                Err(TimingError::LeaseDurationNotWholeSeconds),
            ),
            (
                t(Duration::from_millis(15_500), s(10), s(2)),
                Err(TimingError::LeaseDurationNotWholeSeconds),
            ),
            (
                t(s(15), s(15), s(2)),
                Err(TimingError::RenewDeadlineNotBelowLeaseDuration),
            ),
            (
                t(s(15), s(10), s(10)),
                Err(TimingError::RetryPeriodNotBelowRenewDeadline),
            ),
            (
                t(s(15), s(10), Duration::ZERO),
                Err(TimingError::RetryPeriodZero),
            ),
        ];
        for (timing, expected) in rows {
            assert_eq!(timing.validate(), expected, "{timing:?}");
        }
        assert_eq!(LeaseTiming::default().validate(), Ok(()));
    }

    #[test]
    fn flags_parse_durations_and_defaults() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            leader: LeaderElectionArgs,
        }
        let cli = Cli::try_parse_from([
            "keyward",
            "--leader-election=false",
            "--leader-election-lease-duration",
            "1m",
            "--leader-election-renew-deadline",
            "PT20S",
            "--leader-election-retry-period",
            "500ms",
        ])
        .unwrap();
        assert!(!cli.leader.enabled);
        assert_eq!(cli.leader.lease_duration, Duration::from_secs(60));
        assert_eq!(cli.leader.renew_deadline, Duration::from_secs(20));
        assert_eq!(cli.leader.retry_period, Duration::from_millis(500));
        assert!(Cli::try_parse_from(["keyward", "--leader-election-retry-period", "-2s"]).is_err());
        assert!(
            Cli::try_parse_from(["keyward", "--leader-election-retry-period", "soon"]).is_err()
        );
    }

    #[test]
    fn default_identities_differ_between_processes_on_one_host() {
        assert_ne!(default_identity(), default_identity());
    }

    /// Counts started and stopped terms of a work that stops when its token fires.
    fn counting_work(
        started: Arc<AtomicUsize>,
        stopped: Arc<AtomicUsize>,
    ) -> impl FnMut(CancellationToken) -> futures::future::BoxFuture<'static, anyhow::Result<()>>
    {
        move |term| {
            let (started, stopped) = (started.clone(), stopped.clone());
            Box::pin(async move {
                started.fetch_add(1, Ordering::SeqCst);
                term.cancelled().await;
                stopped.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn work_runs_only_during_terms_and_stops_on_shutdown() {
        let (tx, rx) = watch::channel(false);
        let shutdown = CancellationToken::new();
        let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let runner = tokio::spawn(run_while_leader(
            rx,
            shutdown.clone(),
            Duration::from_secs(3),
            counting_work(started.clone(), stopped.clone()),
        ));
        let settle = || tokio::time::sleep(Duration::from_millis(10));

        settle().await;
        assert_eq!(started.load(Ordering::SeqCst), 0, "follower must not work");
        tx.send(true).unwrap();
        settle().await;
        assert_eq!(
            (
                started.load(Ordering::SeqCst),
                stopped.load(Ordering::SeqCst)
            ),
            (1, 0)
        );
        tx.send(false).unwrap();
        settle().await;
        assert_eq!(
            (
                started.load(Ordering::SeqCst),
                stopped.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
        tx.send(true).unwrap();
        settle().await;
        assert_eq!(
            (
                started.load(Ordering::SeqCst),
                stopped.load(Ordering::SeqCst)
            ),
            (2, 1)
        );
        shutdown.cancel();
        runner.await.unwrap().unwrap();
        assert_eq!(
            (
                started.load(Ordering::SeqCst),
                stopped.load(Ordering::SeqCst)
            ),
            (2, 2)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_ignores_its_stop_signal_is_dropped_after_the_grace() {
        let (tx, rx) = watch::channel(true);
        let dropped = Arc::new(AtomicUsize::new(0));
        struct OnDrop(Arc<AtomicUsize>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let work = {
            let dropped = dropped.clone();
            move |_term: CancellationToken| {
                let guard = OnDrop(dropped.clone());
                async move {
                    let _guard = guard;
                    futures::future::pending::<()>().await;
                    Ok(())
                }
            }
        };
        let runner = tokio::spawn(run_while_leader(
            rx,
            CancellationToken::new(),
            Duration::from_secs(3),
            work,
        ));
        tokio::time::sleep(Duration::from_millis(10)).await;
        tx.send(false).unwrap();
        tokio::time::sleep(Duration::from_millis(2_900)).await;
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            0,
            "dropped before the grace ran out"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        drop(tx);
        assert!(
            runner.await.unwrap().is_err(),
            "a closed channel is an error"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_elector_ends_the_run_with_an_error() {
        let (tx, rx) = watch::channel(true);
        let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let runner = tokio::spawn(run_while_leader(
            rx,
            CancellationToken::new(),
            Duration::from_secs(1),
            counting_work(started.clone(), stopped.clone()),
        ));
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(tx);
        let result = runner.await.unwrap();
        assert_eq!(
            result.unwrap_err().to_string(),
            "leader election stopped unexpectedly"
        );
        assert_eq!(
            (
                started.load(Ordering::SeqCst),
                stopped.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_of_the_work_ends_the_run() {
        let (_tx, rx) = watch::channel(true);
        let result = run_while_leader(
            rx,
            CancellationToken::new(),
            Duration::from_secs(1),
            |_| async { anyhow::bail!("watch stream ended") },
        )
        .await;
        assert_eq!(result.unwrap_err().to_string(), "watch stream ended");
    }
}
