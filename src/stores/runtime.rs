//! The store runtime: one per provider identity, shared by every object that uses it. It owns the
//! client (behind the identity's request budget), the sweep (one listing of the store's scope per
//! refresh tick, waking only the objects whose remote secret changed), the version and payload
//! caches, and the store's health. Objects read their remote secret through it and report
//! Keyward's own writes back to it, so a steady-state object costs no provider call at all.
//!
//! What the sweep cannot tell: a version disabled, deleted or re-enabled elsewhere leaves the
//! secret's version count and update time alone on Scaleway, so each object also makes a slow
//! full check ([`full_check_period`]) that lists its versions whatever the sweep says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::provider::{
    Capabilities, ErrorKind, Listing, ProviderError, ProviderResult, RemoteSecret, RemoteVersion,
    RevisionSelector, SecretId, SecretManager,
};
use crate::secret_value::SecretValue;
use crate::telemetry::Metrics;

use super::budget::Budget;
use super::health::{Health, StoreFailure, is_store_wide};
use super::identity::StoreIdentity;
use super::payloads::PayloadCache;
use super::snapshot::{Ambiguous, Snapshot, fingerprint};

/// An object that reads its remote secret through a runtime (a ManagedSecret, a ManagedKey).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
}

/// What an object wants from the sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interest {
    /// The remote secret it follows, once known.
    pub secret: Option<SecretId>,
    /// How stale its view may be: the sweep runs at the shortest interval of its objects.
    pub refresh: Duration,
}

/// How a lookup finds the remote secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    Id(&'a SecretId),
    Place { name: &'a str, path: &'a str },
}

/// Sweeps an object needs (to believe an absence) are at least this far apart.
pub const MIN_SWEEP_GAP: Duration = Duration::from_millis(500);
/// How much later than a Kubernetes timestamp a sweep must begin to see what existed at that
/// time: those timestamps have whole seconds, and clocks differ a little.
const CLOCK_MARGIN: Duration = Duration::from_millis(1500);

/// Sweeps run at least this far apart, and at most this far when no object asks for more.
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_secs(10);
pub const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// How often an object lists its versions whatever the sweep says: two hundred refresh intervals,
/// between an hour and a day. Steady state may cost 0.02 calls per object per refresh; the sweep
/// takes 0.01 of that (100 secrets a page), full checks at most 0.005.
pub fn full_check_period(refresh: Duration) -> Duration {
    refresh
        .saturating_mul(200)
        .clamp(Duration::from_secs(3600), Duration::from_secs(86_400))
}

/// When a steady object looks at its remote secret itself, given the wait until its next full
/// check: where the sweep shows versions it wakes the object on a change, so the full check is
/// soon enough; where it does not ([`Listing::SecretsOnly`], OCI) only the object's own read finds
/// a version made elsewhere, so it reads at every refresh, spread over the last tenth of it
/// (`random` in [0, 1)) and never later.
pub fn next_look(
    listing: Listing,
    refresh: Duration,
    full_check: Duration,
    random: f64,
) -> Duration {
    match listing {
        Listing::WithVersions => full_check,
        Listing::SecretsOnly => refresh
            .mul_f64(1.0 - 0.1 * random.clamp(0.0, 1.0))
            .min(full_check),
    }
}

/// Settings of one runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeMode {
    /// `false`: the benchmark's naive baseline, every lookup and version list a call of its own.
    pub batched: bool,
    /// `keyward plan` and `status`: the client refuses every write, and no sweep runs on its own
    /// (a lookup still sweeps once, on demand, as the operator's first lookup does).
    pub read_only: bool,
}

impl Default for RuntimeMode {
    fn default() -> Self {
        Self {
            batched: true,
            read_only: false,
        }
    }
}

pub struct StoreRuntime {
    identity: StoreIdentity,
    /// The store that made this runtime (`SecretStore ns/name`), for metrics and messages.
    label: String,
    client: Arc<dyn SecretManager>,
    budget: Arc<Budget>,
    mode: RuntimeMode,
    payloads: PayloadCache,
    state: Mutex<State>,
    /// Serialises sweeps: a caller that finds one running waits for its result.
    sweeping: tokio::sync::Mutex<()>,
    sweep_soon: Arc<Notify>,
    wake: mpsc::UnboundedSender<ObjectKey>,
    metrics: Metrics,
}

#[derive(Default)]
struct State {
    snapshot: Option<Snapshot>,
    /// Versions by secret, valid while the secret's fingerprint is the one recorded.
    versions: HashMap<SecretId, (String, Arc<Vec<RemoteVersion>>)>,
    interest: HashMap<ObjectKey, Interest>,
    /// When each object last listed its versions whatever the sweep said.
    full_checks: HashMap<ObjectKey, Instant>,
    health: HealthState,
    /// No sweep before this (after a sweep that Keyward's own budget held back).
    not_before: Option<Instant>,
}

struct HealthState(Health);

impl Default for HealthState {
    fn default() -> Self {
        Self(Health::Unknown)
    }
}

impl StoreRuntime {
    pub fn new(
        identity: StoreIdentity,
        label: String,
        client: Arc<dyn SecretManager>,
        budget: Arc<Budget>,
        mode: RuntimeMode,
        wake: mpsc::UnboundedSender<ObjectKey>,
        metrics: Metrics,
    ) -> Arc<Self> {
        let runtime = Arc::new(Self {
            identity,
            label,
            client,
            budget,
            mode,
            payloads: PayloadCache::default(),
            state: Mutex::new(State::default()),
            sweeping: tokio::sync::Mutex::new(()),
            sweep_soon: Arc::new(Notify::new()),
            wake,
            metrics,
        });
        if mode.batched && !mode.read_only {
            tokio::spawn(sweep_loop(Arc::downgrade(&runtime)));
        }
        runtime
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether lookups come from sweeps (`false`: the benchmark's naive baseline).
    pub fn batched(&self) -> bool {
        self.mode.batched
    }

    pub fn identity(&self) -> &StoreIdentity {
        &self.identity
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn provider(&self) -> &'static str {
        self.client.provider()
    }

    pub fn region(&self) -> &str {
        self.client.region()
    }

    pub fn capabilities(&self) -> Capabilities {
        self.client.capabilities()
    }

    /// The client, for writes (every request passes the budget).
    pub fn client(&self) -> &dyn SecretManager {
        self.client.as_ref()
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The identity's budget as a gate, for another client of the same identity (a ManagedKey's
    /// KMS client): it shares the budget, and the tenancy's write budget with it.
    pub fn gate(&self) -> Arc<dyn crate::provider::RequestGate> {
        self.budget.clone()
    }

    pub fn health(&self) -> Health {
        self.lock().health.0.clone()
    }

    /// The store-wide failure objects must report instead of calling the provider themselves,
    /// while the next probe is not due.
    pub fn failing(&self) -> Option<StoreFailure> {
        let state = self.lock();
        let failure = state.health.0.failure()?;
        (!state.health.0.probe_due(Instant::now())).then(|| failure.clone())
    }

    /// An object's interest; the sweep interval follows the shortest refresh.
    pub fn register(&self, key: ObjectKey, interest: Interest) {
        let mut state = self.lock();
        let full_check = full_check_period(interest.refresh);
        // A new object's first full check falls anywhere in its period, so a restart does not
        // make every object list its versions at once.
        state.full_checks.entry(key.clone()).or_insert_with(|| {
            Instant::now()
                .checked_sub(full_check.mul_f64(rand::random::<f64>()))
                .unwrap_or_else(Instant::now)
        });
        let shorter = state
            .interest
            .get(&key)
            .is_none_or(|old| interest.refresh < old.refresh);
        state.interest.insert(key, interest);
        drop(state);
        if shorter {
            self.sweep_soon.notify_one();
        }
    }

    pub fn unregister(&self, key: &ObjectKey) {
        let mut state = self.lock();
        state.interest.remove(key);
        state.full_checks.remove(key);
    }

    /// Whether `key` uses this runtime.
    pub fn serves(&self, key: &ObjectKey) -> bool {
        self.lock().interest.contains_key(key)
    }

    /// Objects registered now.
    pub fn objects(&self) -> usize {
        self.lock().interest.len()
    }

    /// Whether `key` should list its versions now whatever the sweep says; `true` starts its next
    /// period.
    pub fn take_full_check(&self, key: &ObjectKey, refresh: Duration) -> bool {
        if !self.mode.batched {
            return true;
        }
        let mut state = self.lock();
        let now = Instant::now();
        let due = state
            .full_checks
            .get(key)
            .is_none_or(|last| now >= *last + full_check_period(refresh));
        if due {
            state.full_checks.insert(key.clone(), now);
        }
        due
    }

    /// When `key`, steady, looks again by itself (see [`next_look`]).
    pub fn next_look(&self, key: &ObjectKey, refresh: Duration) -> Duration {
        next_look(
            self.capabilities().listing,
            refresh,
            self.next_full_check(key, refresh),
            rand::random::<f64>(),
        )
    }

    /// When `key`'s next full check is due.
    pub fn next_full_check(&self, key: &ObjectKey, refresh: Duration) -> Duration {
        let state = self.lock();
        let period = full_check_period(refresh);
        state
            .full_checks
            .get(key)
            .map(|last| (*last + period).saturating_duration_since(Instant::now()))
            .unwrap_or(period)
    }

    /// The remote secret, from a sweep no older than `max_age` where the runtime batches;
    /// otherwise (or when the sweep does not list it) from the provider.
    ///
    /// An absence by name is believed only from a sweep that began after `absent_since`: a
    /// secret someone created before the object asked (Terraform, a console user) must be found,
    /// not created a second time. Objects asking at once share one sweep, and sweeps started for
    /// this are at least [`MIN_SWEEP_GAP`] apart, so a burst of new objects costs a few listings.
    /// Where the listing does not show versions ([`Listing::SecretsOnly`]), a lookup by id asks
    /// the provider: only its answer tells whether the secret has a new current version.
    pub async fn lookup(
        &self,
        lookup: Lookup<'_>,
        max_age: Duration,
        absent_since: Option<jiff::Timestamp>,
    ) -> ProviderResult<Option<RemoteSecret>> {
        let listed_versions = self.capabilities().listing == Listing::WithVersions;
        if !self.mode.batched || (matches!(lookup, Lookup::Id(_)) && !listed_versions) {
            return self.lookup_direct(lookup).await;
        }
        self.fresh_snapshot(max_age).await?;
        let found = self.answer_from_snapshot(&lookup)?;
        match (found, &lookup) {
            (Some(found), _) => Ok(found),
            // Not in the listing: deleted, or created since and not by Keyward. Ask.
            (None, Lookup::Id(_)) => self.lookup_direct(lookup).await,
            (None, Lookup::Place { .. }) => {
                let Some(since) = absent_since else {
                    return Ok(None);
                };
                // Kubernetes timestamps have whole seconds, and clocks differ a little.
                let since = since
                    .checked_add(jiff::SignedDuration::try_from(CLOCK_MARGIN).unwrap_or_default())
                    .unwrap_or(since);
                if self.swept_after(since) {
                    return Ok(None);
                }
                tracing::debug!(store = %self.label, %since, "an absence needs a newer sweep");
                self.sweep_after(since).await?;
                Ok(self.answer_from_snapshot(&lookup)?.flatten())
            }
        }
    }

    /// The snapshot's answer: `Some(found)` when it can tell, `None` for an id it does not list.
    fn answer_from_snapshot(
        &self,
        lookup: &Lookup<'_>,
    ) -> ProviderResult<Option<Option<RemoteSecret>>> {
        let state = self.lock();
        let Some(snapshot) = state.snapshot.as_ref() else {
            return Ok(None);
        };
        match lookup {
            Lookup::Id(id) => Ok(snapshot.get(id).cloned().map(Some)),
            Lookup::Place { name, path } => match snapshot.find(name, path) {
                Ok(Some(s)) => Ok(Some(Some(s.clone()))),
                Ok(None) => Ok(None),
                Err(Ambiguous(n)) => Err(ambiguous(n, name, path)),
            },
        }
    }

    fn swept_after(&self, since: jiff::Timestamp) -> bool {
        self.lock()
            .snapshot
            .as_ref()
            .is_some_and(|s| s.taken_at_wall > since)
    }

    /// A sweep that begins after `since`, shared with whoever else waits for one.
    async fn sweep_after(&self, since: jiff::Timestamp) -> ProviderResult<()> {
        let _turn = self.sweeping.lock().await;
        if self.swept_after(since) {
            return Ok(());
        }
        let wait = {
            let state = self.lock();
            let last = state.snapshot.as_ref().map(|s| s.taken_at);
            let until_gap = last
                .map(|t| (t + MIN_SWEEP_GAP).saturating_duration_since(Instant::now()))
                .unwrap_or_default();
            let until_since = Duration::try_from(jiff::Timestamp::now().duration_until(since))
                .unwrap_or_default();
            until_gap.max(until_since)
        };
        tokio::time::sleep(wait).await;
        self.sweep_locked().await
    }

    async fn lookup_direct(&self, lookup: Lookup<'_>) -> ProviderResult<Option<RemoteSecret>> {
        match lookup {
            Lookup::Id(id) => match self.client.get_secret(id).await {
                Ok(secret) => Ok(Some(secret)),
                Err(e) if *e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(self.note_failure(e)),
            },
            Lookup::Place { name, path } => self
                .client
                .find_secret(name, path)
                .await
                .map_err(|e| self.note_failure(e)),
        }
    }

    /// The versions of `secret` (highest first): from the cache while its fingerprint holds,
    /// unless `full` asks for a fresh list.
    pub async fn versions(
        &self,
        secret: &RemoteSecret,
        full: bool,
    ) -> ProviderResult<Arc<Vec<RemoteVersion>>> {
        let print = fingerprint(secret);
        if self.mode.batched && !full {
            let state = self.lock();
            if let Some((cached, versions)) = state.versions.get(&secret.id)
                && *cached == print
            {
                return Ok(versions.clone());
            }
        }
        let mut versions = self
            .client
            .list_versions(&secret.id)
            .await
            .map_err(|e| self.note_failure(e))?;
        versions.sort_by_key(|v| std::cmp::Reverse(v.revision));
        let versions = Arc::new(versions);
        self.lock()
            .versions
            .insert(secret.id.clone(), (print, versions.clone()));
        Ok(versions)
    }

    /// A payload, through the cache. Versions that expire once accessed are never read: Keyward
    /// knows their values only from having written them.
    pub async fn payload(
        &self,
        id: &SecretId,
        revision: u64,
        single_access: bool,
    ) -> ProviderResult<SecretValue> {
        if let Some(value) = self.payloads.get(id, revision) {
            return Ok(value);
        }
        if single_access {
            return Err(ProviderError::new(
                self.client.provider(),
                "access_version",
                ErrorKind::VersionUnreadable,
                format!(
                    "version {revision} expires once accessed and Keyward does not hold its value (it was written before the operator restarted); Keyward will not spend its one access: request a rotation with keyward.dev/rotate"
                ),
            ));
        }
        let accessed = self
            .client
            .access_version(id, RevisionSelector::Number(revision))
            .await
            .map_err(|e| self.note_failure(e))?;
        self.payloads.put(id, revision, accessed.value.clone());
        Ok(accessed.value)
    }

    /// Remembers a payload Keyward wrote or pushed.
    pub fn remember_payload(&self, id: &SecretId, revision: u64, value: &SecretValue) {
        self.payloads.put(id, revision, value.clone());
    }

    /// A secret as returned by one of Keyward's own writes (create, update, protect).
    pub fn record_secret(&self, secret: &RemoteSecret) {
        let mut state = self.lock();
        if let Some(snapshot) = state.snapshot.as_mut() {
            snapshot.record(secret.clone());
        }
    }

    /// A version Keyward created: cached versions stay valid, the sweep expects the new count.
    pub fn record_version(&self, secret: &RemoteSecret, version: &RemoteVersion) {
        let mut state = self.lock();
        let before = fingerprint(secret);
        let mut after = secret.clone();
        if let Some(count) = after.version_count.as_mut() {
            *count += 1;
        }
        if let Some(snapshot) = state.snapshot.as_mut() {
            snapshot.record(after.clone());
        }
        let listed = state
            .versions
            .get(&secret.id)
            .filter(|(print, _)| *print == before)
            .map(|(_, versions)| versions.clone());
        match listed {
            Some(versions) => {
                let mut versions: Vec<RemoteVersion> = versions.iter().cloned().collect();
                for v in &mut versions {
                    v.latest = false;
                }
                versions.insert(0, version.clone());
                state
                    .versions
                    .insert(secret.id.clone(), (fingerprint(&after), Arc::new(versions)));
            }
            None => {
                state.versions.remove(&secret.id);
            }
        }
    }

    /// A secret Keyward deleted (or found gone).
    pub fn forget_secret(&self, id: &SecretId) {
        let mut state = self.lock();
        if let Some(snapshot) = state.snapshot.as_mut() {
            snapshot.forget(id);
        }
        state.versions.remove(id);
        drop(state);
        self.payloads.forget(id);
    }

    /// The secret as the runtime knows it now (after Keyward's own writes), for the fingerprint
    /// an object records. A listing's summary that shows no versions ([`Listing::SecretsOnly`])
    /// knows less than the object's own read, which is fresher anyway: `None` then, so that the
    /// object records what it read (else the fingerprint it records never matches its next read,
    /// and every refresh asks for the versions).
    pub fn known(&self, id: &SecretId) -> Option<RemoteSecret> {
        let listing = self.capabilities().listing;
        let state = self.lock();
        let secret = state.snapshot.as_ref()?.get(id)?;
        (listing == Listing::WithVersions || secret.version_count.is_some()).then(|| secret.clone())
    }

    /// Sweeps now unless a sweep no older than `max_age` exists; concurrent callers share one.
    pub async fn fresh_snapshot(&self, max_age: Duration) -> ProviderResult<()> {
        if self.snapshot_fresh(max_age) {
            return Ok(());
        }
        let _turn = self.sweeping.lock().await;
        if self.snapshot_fresh(max_age) {
            return Ok(());
        }
        if let Some(failure) = self.failing() {
            return Err(ProviderError::new(
                self.client.provider(),
                "list_secrets",
                ErrorKind::ServerError,
                failure.message,
            ));
        }
        self.sweep_locked().await
    }

    fn snapshot_fresh(&self, max_age: Duration) -> bool {
        self.lock()
            .snapshot
            .as_ref()
            .is_some_and(|s| s.taken_at.elapsed() <= max_age)
    }

    /// One sweep (the caller holds `sweeping`): list, compare, wake, record health.
    async fn sweep_locked(&self) -> ProviderResult<()> {
        let started = Instant::now();
        let started_wall = jiff::Timestamp::now();
        let listed = self.client.list_all_secrets().await;
        self.metrics
            .sweep_finished(&self.label, started.elapsed(), listed.is_ok());
        let secrets = match listed {
            Ok(secrets) => secrets,
            Err(e) => {
                let mut state = self.lock();
                match e.kind() {
                    ErrorKind::Throttled { retry_after } => {
                        state.not_before = Some(Instant::now() + *retry_after);
                    }
                    // Whatever else stops a listing is about the store (credentials, project,
                    // endpoint): the store fails and probes again with backoff.
                    _ => state
                        .health
                        .0
                        .failed(&e, Instant::now(), rand::random::<f64>()),
                }
                return Err(e);
            }
        };
        let snapshot = Snapshot::new(secrets, started, started_wall);
        let (woken, recovered) = {
            let mut state = self.lock();
            let changed = match &state.snapshot {
                Some(previous) => snapshot.changed_since(previous),
                None => Vec::new(),
            };
            let recovered = state.health.0.succeeded();
            state.not_before = None;
            let woken: Vec<ObjectKey> = state
                .interest
                .iter()
                .filter(|(_, i)| {
                    recovered
                        || i.secret
                            .as_ref()
                            .is_some_and(|id| changed.binary_search(id).is_ok())
                })
                .map(|(k, _)| k.clone())
                .collect();
            for id in &changed {
                state.versions.remove(id);
            }
            state.snapshot = Some(snapshot);
            (woken, recovered)
        };
        self.metrics.sweep_woke(&self.label, woken.len());
        if recovered {
            tracing::info!(store = %self.label, "store reachable again");
        }
        for key in woken {
            let _ = self.wake.send(key);
        }
        Ok(())
    }

    /// Records a failure of a call in the store's health when it is about the whole store.
    fn note_failure(&self, error: ProviderError) -> ProviderError {
        if is_store_wide(error.kind()) && !matches!(error.kind(), ErrorKind::RateLimited { .. }) {
            let mut state = self.lock();
            state
                .health
                .0
                .failed(&error, Instant::now(), rand::random::<f64>());
        }
        error
    }

    /// Probes the store now if a probe is due (the store controller's check): a sweep.
    pub async fn probe(&self) -> Health {
        if self.lock().health.0.probe_due(Instant::now()) {
            let _turn = self.sweeping.lock().await;
            if self.lock().health.0.probe_due(Instant::now()) {
                let _ = self.sweep_locked().await;
            }
        }
        self.health()
    }

    /// Time to the next sweep: the shortest refresh of the objects, or the next probe of a
    /// failing store. Not jittered: a sweep is one call per hundred secrets on the store's own
    /// budget, and a steady period makes its cost exactly that per refresh (the objects'
    /// own requeues are jittered).
    fn next_sweep_in(&self) -> Duration {
        let state = self.lock();
        let interval = state
            .interest
            .values()
            .map(|i| i.refresh)
            .min()
            .unwrap_or(MAX_SWEEP_INTERVAL)
            .clamp(MIN_SWEEP_INTERVAL, MAX_SWEEP_INTERVAL);
        let now = Instant::now();
        let wait = if let Some(failure) = state.health.0.failure() {
            failure.next_probe.saturating_duration_since(now)
        } else {
            match &state.snapshot {
                Some(s) => (s.taken_at + interval).saturating_duration_since(now),
                None if state.interest.is_empty() => MAX_SWEEP_INTERVAL,
                None => Duration::ZERO,
            }
        };
        match state.not_before {
            Some(at) => wait.max(at.saturating_duration_since(now)),
            None => wait,
        }
    }
}

fn ambiguous(n: usize, name: &str, path: &str) -> ProviderError {
    ProviderError::new(
        "store",
        "find_secret",
        ErrorKind::Conflict,
        format!("{n} secrets are named {name:?} in folder {path:?}; expected at most one"),
    )
}

/// Sweeps a runtime at its pace until it is dropped.
async fn sweep_loop(runtime: Weak<StoreRuntime>) {
    loop {
        let Some(rt) = runtime.upgrade() else { return };
        let wait = rt.next_sweep_in();
        let notify = rt.sweep_soon.clone();
        drop(rt);
        let soon = notify.notified();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = soon => {
                // Another object asked for a shorter interval: recompute the wait.
                continue;
            }
        }
        let Some(rt) = runtime.upgrade() else { return };
        if rt.lock().interest.is_empty() {
            continue;
        }
        let _turn = rt.sweeping.lock().await;
        if rt.lock().health.0.probe_due(Instant::now()) {
            let _ = rt.sweep_locked().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_checks_cost_at_most_a_quarter_of_the_steady_state_allowance() {
        let hour = Duration::from_secs(3600);
        let day = Duration::from_secs(86_400);
        for (refresh, period) in [
            (Duration::from_secs(1), hour),
            (Duration::from_secs(10), hour),
            (Duration::from_secs(60), Duration::from_secs(12_000)),
            (Duration::from_secs(300), Duration::from_secs(60_000)),
            (hour, day),
            (Duration::MAX, day),
        ] {
            assert_eq!(full_check_period(refresh), period, "{refresh:?}");
            // Calls per object per refresh spent on full checks, below the day's cap (past it a
            // daily check is cheap whatever the ratio).
            if period < day {
                assert!(refresh.as_secs_f64() / period.as_secs_f64() <= 0.005);
            }
        }
    }

    #[test]
    fn a_listing_without_versions_makes_steady_objects_look_at_every_refresh() {
        let minute = Duration::from_secs(60);
        let hours = Duration::from_secs(12_000);
        for (listing, full_check, random, want) in [
            (Listing::WithVersions, hours, 0.5, hours),
            (Listing::SecretsOnly, hours, 0.0, minute),
            (
                Listing::SecretsOnly,
                hours,
                0.999,
                Duration::from_secs_f64(54.006),
            ),
            // A full check due sooner comes first.
            (
                Listing::SecretsOnly,
                Duration::from_secs(5),
                0.0,
                Duration::from_secs(5),
            ),
        ] {
            let got = next_look(listing, minute, full_check, random);
            assert!(
                got.abs_diff(want) < Duration::from_millis(1),
                "{listing:?} {random}: {got:?}"
            );
        }
    }
}
