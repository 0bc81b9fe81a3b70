//! The Prometheus registry and the observer API the controller and the provider clients call.
//!
//! Every metric is prefixed `keyward_`. Label values are `&'static str` taken from fixed enums or
//! literals through [`MetricLabel`]: a value computed at run time (a secret, an object name, an error
//! message) cannot become a label, which keeps both secrets and cardinality out of the time series.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
        info::Info,
    },
    registry::Registry,
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// A value usable as a metric label: always a compile-time string.
///
/// Implement it for error kinds and condition reasons (`snake_case` names), or pass a literal.
pub trait MetricLabel {
    /// The label value.
    fn label(&self) -> &'static str;
}

impl MetricLabel for &'static str {
    fn label(&self) -> &'static str {
        self
    }
}

/// The `status` label of a provider call that succeeded.
pub const CALL_OK: &str = "ok";

/// How a reconcile ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconcileOutcome {
    /// The reconcile returned without error.
    Success,
    /// The reconcile returned an error (its reason is counted in `keyward_reconcile_errors_total`).
    Error,
    /// The reconcile future was dropped before it finished (shutdown or leadership lost).
    Cancelled,
}

impl MetricLabel for ReconcileOutcome {
    fn label(&self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Why a new remote version was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionCause {
    /// The first version of a secret Keyward created.
    Initial,
    /// A scheduled or requested rotation.
    Rotation,
    /// The data of a `fromSecret` source changed.
    Push,
}

impl MetricLabel for VersionCause {
    fn label(&self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Rotation => "rotation",
            Self::Push => "push",
        }
    }
}

/// What started a rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationTrigger {
    /// The interval or cron schedule was due.
    Schedule,
    /// The `keyward.dev/rotate` annotation got a new value.
    Annotation,
}

impl MetricLabel for RotationTrigger {
    fn label(&self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Annotation => "annotation",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Provider calls carry the store they were made for: a store's name is not a secret, and their
/// number is what a cluster administrator configured.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderCallLabels {
    store: String,
    provider: &'static str,
    operation: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderOperationLabels {
    store: String,
    provider: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    store: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreOutcomeLabels {
    store: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectReasonLabels {
    kind: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    provider: &'static str,
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TriggerLabels {
    trigger: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkloadLabels {
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetireLabels {
    provider: &'static str,
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type DurationFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Buckets from 5 ms to about 41 s: reconciles and provider calls are network-bound.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// The registry and the series it can serve. An empty family encodes nothing at all, so the
/// series names are kept as each metric is registered.
struct Catalogue {
    registry: Registry,
    series: Vec<String>,
}

impl Catalogue {
    fn register(
        &mut self,
        name: &str,
        help: &str,
        unit: Option<prometheus_client::registry::Unit>,
        metric: impl prometheus_client::registry::Metric,
    ) {
        use prometheus_client::metrics::MetricType;
        let base = match &unit {
            Some(unit) => format!("keyward_{name}_{}", unit.as_str()),
            None => format!("keyward_{name}"),
        };
        let suffixes: &[&str] =
            match prometheus_client::encoding::EncodeMetric::metric_type(&metric) {
                MetricType::Counter => &["_total"],
                MetricType::Histogram => &["_bucket", "_sum", "_count"],
                MetricType::Info => &["_info"],
                _ => &[""],
            };
        self.series
            .extend(suffixes.iter().map(|suffix| format!("{base}{suffix}")));
        match unit {
            Some(unit) => self.registry.register_with_unit(name, help, unit, metric),
            None => self.registry.register(name, help, metric),
        }
    }
}

struct Inner {
    registry: Registry,
    series: Vec<String>,
    reconciles: Family<OutcomeLabels, Counter>,
    reconcile_errors: Family<ReasonLabels, Counter>,
    reconcile_duration: Histogram,
    provider_calls: Family<ProviderCallLabels, Counter>,
    provider_call_duration: DurationFamily<ProviderOperationLabels>,
    versions_created: Family<VersionLabels, Counter>,
    rotations: Family<TriggerLabels, Counter>,
    key_rotations: Family<TriggerLabels, Counter>,
    drift_repairs: Counter,
    leader: Gauge,
    budget_wait: DurationFamily<StoreLabels>,
    budget_refusals: Family<StoreLabels, Counter>,
    budget_tokens: Family<StoreLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    sweeps: Family<StoreOutcomeLabels, Counter>,
    sweep_duration: DurationFamily<StoreLabels>,
    sweep_woken: Family<StoreLabels, Counter>,
    objects_by_reason: Family<ObjectReasonLabels, Gauge>,
    workload_restarts: Family<WorkloadLabels, Counter>,
    versions_retired: Family<RetireLabels, Counter>,
}

/// The operator's metrics; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every Keyward metric registered.
    pub fn new() -> Self {
        let mut registry = Catalogue {
            registry: Registry::with_prefix("keyward"),
            series: Vec::new(),
        };
        let reconciles = Family::<OutcomeLabels, Counter>::default();
        let reconcile_errors = Family::<ReasonLabels, Counter>::default();
        let reconcile_duration = duration_histogram();
        let provider_calls = Family::<ProviderCallLabels, Counter>::default();
        let provider_call_duration: DurationFamily<ProviderOperationLabels> =
            Family::new_with_constructor(duration_histogram);
        let versions_created = Family::<VersionLabels, Counter>::default();
        let rotations = Family::<TriggerLabels, Counter>::default();
        let key_rotations = Family::<TriggerLabels, Counter>::default();
        let drift_repairs = Counter::default();
        let leader = Gauge::default();
        let budget_wait: DurationFamily<StoreLabels> =
            Family::new_with_constructor(duration_histogram);
        let budget_refusals = Family::<StoreLabels, Counter>::default();
        let budget_tokens =
            Family::<StoreLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        let sweeps = Family::<StoreOutcomeLabels, Counter>::default();
        let sweep_duration: DurationFamily<StoreLabels> =
            Family::new_with_constructor(duration_histogram);
        let sweep_woken = Family::<StoreLabels, Counter>::default();
        let objects_by_reason = Family::<ObjectReasonLabels, Gauge>::default();
        let workload_restarts = Family::<WorkloadLabels, Counter>::default();
        let versions_retired = Family::<RetireLabels, Counter>::default();

        registry.register(
            "reconciles",
            "Reconciles of ManagedSecrets, by outcome",
            None,
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Failed reconciles, by reason",
            None,
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration",
            "Time spent in one reconcile",
            Some(prometheus_client::registry::Unit::Seconds),
            reconcile_duration.clone(),
        );
        registry.register(
            "provider_calls",
            "Calls to a secret manager provider (after retries), by store, provider, operation and status",
            None,
            provider_calls.clone(),
        );
        registry.register(
            "provider_call_duration",
            "Time spent in one provider call, by store, provider and operation",
            Some(prometheus_client::registry::Unit::Seconds),
            provider_call_duration.clone(),
        );
        registry.register(
            "versions_created",
            "Secret versions Keyward created, by provider and cause",
            None,
            versions_created.clone(),
        );
        registry.register(
            "rotations",
            "Rotations performed, by trigger",
            None,
            rotations.clone(),
        );
        registry.register(
            "key_rotations",
            "Key versions Keyward created for ManagedKeys, by trigger",
            None,
            key_rotations.clone(),
        );
        registry.register(
            "drift_repairs",
            "Target Secrets rewritten because their data drifted from the current revision",
            None,
            drift_repairs.clone(),
        );
        registry.register(
            "leader",
            "1 while this process holds the leader Lease (or runs without leader election), else 0",
            None,
            leader.clone(),
        );
        registry.register(
            "budget_wait",
            "Time a provider request waited for its store's request budget",
            Some(prometheus_client::registry::Unit::Seconds),
            budget_wait.clone(),
        );
        registry.register(
            "budget_refusals",
            "Provider requests not sent because the store's budget had no turn soon enough (their objects requeue)",
            None,
            budget_refusals.clone(),
        );
        registry.register(
            "budget_tokens",
            "Requests a store's budget could send at once right now (negative: requests waiting their turn)",
            None,
            budget_tokens.clone(),
        );
        registry.register(
            "sweeps",
            "Listings of a store's whole scope (batched change detection), by outcome",
            None,
            sweeps.clone(),
        );
        registry.register(
            "sweep_duration",
            "Time one sweep of a store took",
            Some(prometheus_client::registry::Unit::Seconds),
            sweep_duration.clone(),
        );
        registry.register(
            "sweep_woken_objects",
            "Objects a sweep woke because their remote secret changed",
            None,
            sweep_woken.clone(),
        );
        registry.register(
            "objects",
            "Objects by kind and the reason of their Ready condition",
            None,
            objects_by_reason.clone(),
        );
        registry.register(
            "workload_restarts",
            "Workload restarts for a new revision, by kind and outcome (restarted, deferred by the cluster's restart limit, failed)",
            None,
            workload_restarts.clone(),
        );
        registry.register(
            "versions_retired",
            "Superseded versions Keyward disabled or removed, by provider and action",
            None,
            versions_retired.clone(),
        );
        registry.register(
            "build",
            "Build information",
            None,
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );

        Self {
            inner: Arc::new(Inner {
                registry: registry.registry,
                series: registry.series,
                reconciles,
                reconcile_errors,
                reconcile_duration,
                provider_calls,
                provider_call_duration,
                versions_created,
                rotations,
                key_rotations,
                drift_repairs,
                leader,
                budget_wait,
                budget_refusals,
                budget_tokens,
                sweeps,
                sweep_duration,
                sweep_woken,
                objects_by_reason,
                workload_restarts,
                versions_retired,
            }),
        }
    }

    /// Starts timing a reconcile; see [`ReconcileGuard`].
    pub fn reconcile_started(&self) -> ReconcileGuard {
        ReconcileGuard {
            metrics: self.clone(),
            started: Instant::now(),
            outcome: ReconcileOutcome::Cancelled,
            reason: None,
        }
    }

    /// Records one call to a provider for `store`: `status` is [`CALL_OK`] or the error kind's label.
    pub fn provider_call(
        &self,
        store: &str,
        provider: impl MetricLabel,
        operation: impl MetricLabel,
        status: impl MetricLabel,
        duration: Duration,
    ) {
        let (provider, operation) = (provider.label(), operation.label());
        self.inner
            .provider_calls
            .get_or_create(&ProviderCallLabels {
                store: store.to_owned(),
                provider,
                operation,
                status: status.label(),
            })
            .inc();
        self.inner
            .provider_call_duration
            .get_or_create(&ProviderOperationLabels {
                store: store.to_owned(),
                provider,
                operation,
            })
            .observe(duration.as_secs_f64());
    }

    /// A request of `store` admitted by its budget after `waited`, with `tokens` left.
    pub fn budget_admitted(&self, store: &str, waited: Duration, tokens: f64) {
        let labels = StoreLabels {
            store: store.to_owned(),
        };
        self.inner
            .budget_wait
            .get_or_create(&labels)
            .observe(waited.as_secs_f64());
        self.inner.budget_tokens.get_or_create(&labels).set(tokens);
    }

    /// A request of `store` its budget refused to wait for.
    pub fn budget_refused(&self, store: &str, tokens: f64) {
        let labels = StoreLabels {
            store: store.to_owned(),
        };
        self.inner.budget_refusals.get_or_create(&labels).inc();
        self.inner.budget_tokens.get_or_create(&labels).set(tokens);
    }

    /// One sweep of `store`.
    pub fn sweep_finished(&self, store: &str, took: Duration, ok: bool) {
        self.inner
            .sweeps
            .get_or_create(&StoreOutcomeLabels {
                store: store.to_owned(),
                outcome: if ok { "ok" } else { "error" },
            })
            .inc();
        self.inner
            .sweep_duration
            .get_or_create(&StoreLabels {
                store: store.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Objects a sweep of `store` woke.
    pub fn sweep_woke(&self, store: &str, objects: usize) {
        self.inner
            .sweep_woken
            .get_or_create(&StoreLabels {
                store: store.to_owned(),
            })
            .inc_by(objects as u64);
    }

    /// The number of objects of `kind` whose Ready reason is each of `counts`' (every reason is
    /// set, so a reason no object has any more drops to 0).
    pub fn set_objects_by_reason(&self, kind: &'static str, counts: &[(&'static str, i64)]) {
        for (reason, count) in counts {
            self.inner
                .objects_by_reason
                .get_or_create(&ObjectReasonLabels { kind, reason })
                .set(*count);
        }
    }

    /// Records a remote version Keyward created.
    pub fn version_created(&self, provider: impl MetricLabel, cause: VersionCause) {
        self.inner
            .versions_created
            .get_or_create(&VersionLabels {
                provider: provider.label(),
                cause: cause.label(),
            })
            .inc();
    }

    /// Records a rotation.
    pub fn rotation(&self, trigger: RotationTrigger) {
        self.inner
            .rotations
            .get_or_create(&TriggerLabels {
                trigger: trigger.label(),
            })
            .inc();
    }

    /// Records a key version created for a ManagedKey.
    pub fn key_rotation(&self, trigger: RotationTrigger) {
        self.inner
            .key_rotations
            .get_or_create(&TriggerLabels {
                trigger: trigger.label(),
            })
            .inc();
    }

    /// Records a workload restart (`outcome`: restarted, deferred, failed).
    pub fn workload_restart(&self, kind: &'static str, outcome: &'static str) {
        self.inner
            .workload_restarts
            .get_or_create(&WorkloadLabels { kind, outcome })
            .inc();
    }

    /// Records a superseded version disabled or removed (`action`: disabled, deleted, destroyed,
    /// scheduled for deletion).
    pub fn version_retired(&self, provider: &'static str, action: &'static str) {
        self.inner
            .versions_retired
            .get_or_create(&RetireLabels { provider, action })
            .inc();
    }

    /// Records a target Secret rewritten because it drifted.
    pub fn drift_repaired(&self) {
        self.inner.drift_repairs.inc();
    }

    /// Records whether this process is the leader.
    pub fn set_leader(&self, is_leader: bool) {
        self.inner.leader.set(i64::from(is_leader));
    }

    /// The registry in the OpenMetrics text format (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.inner.registry).expect("writing to a String cannot fail");
        out
    }

    /// Every series name `/metrics` can serve (a counter as `_total`, a histogram as `_bucket`,
    /// `_sum` and `_count`, an info as `_info`, a gauge as itself), as registered: what
    /// dashboards and alert rules may use.
    pub fn series_names(&self) -> Vec<String> {
        self.inner.series.clone()
    }

    fn finish_reconcile(
        &self,
        outcome: ReconcileOutcome,
        reason: Option<&'static str>,
        took: Duration,
    ) {
        self.inner.reconcile_duration.observe(took.as_secs_f64());
        self.inner
            .reconciles
            .get_or_create(&OutcomeLabels {
                outcome: outcome.label(),
            })
            .inc();
        if let Some(reason) = reason {
            self.inner
                .reconcile_errors
                .get_or_create(&ReasonLabels { reason })
                .inc();
        }
    }
}

/// Times one reconcile and counts its outcome when dropped.
///
/// Create it first thing in the reconcile and let it drop at the end. Call [`succeeded`] or
/// [`failed`] on the way out; a guard dropped without either counts as `cancelled` (the reconcile
/// future was dropped mid-way, for example on shutdown or loss of leadership).
///
/// [`succeeded`]: ReconcileGuard::succeeded
/// [`failed`]: ReconcileGuard::failed
#[must_use = "the reconcile is measured until the guard is dropped"]
pub struct ReconcileGuard {
    metrics: Metrics,
    started: Instant,
    outcome: ReconcileOutcome,
    reason: Option<&'static str>,
}

impl ReconcileGuard {
    /// Marks the reconcile as successful.
    pub fn succeeded(&mut self) {
        self.outcome = ReconcileOutcome::Success;
        self.reason = None;
    }

    /// Marks the reconcile as failed for `reason` (a condition reason or error kind).
    pub fn failed(&mut self, reason: impl MetricLabel) {
        self.outcome = ReconcileOutcome::Error;
        self.reason = Some(reason.label());
    }
}

impl Drop for ReconcileGuard {
    fn drop(&mut self) {
        self.metrics
            .finish_reconcile(self.outcome, self.reason, self.started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Value of the sample `name{labels}` in an OpenMetrics text, if present.
    pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|value| value.parse().unwrap())
    }

    #[test]
    fn series_names_follow_the_registry() {
        let names = Metrics::new().series_names();
        for want in [
            "keyward_reconciles_total",
            "keyward_reconcile_duration_seconds_bucket",
            "keyward_budget_tokens",
            "keyward_objects",
            "keyward_build_info",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        assert!(
            !names.iter().any(|n| n == "keyward_reconciles"),
            "{names:?}"
        );
    }

    #[test]
    fn guard_counts_outcome_reason_and_duration() {
        let metrics = Metrics::new();
        {
            let mut guard = metrics.reconcile_started();
            guard.succeeded();
        }
        {
            let mut guard = metrics.reconcile_started();
            guard.failed("rate_limited");
        }
        {
            let mut guard = metrics.reconcile_started();
            guard.failed("auth_failed");
            guard.failed("rate_limited"); // the last call wins
        }
        drop(metrics.reconcile_started());

        let text = metrics.encode();
        let count = |s| sample(&text, s);
        assert_eq!(
            count(r#"keyward_reconciles_total{outcome="success"}"#),
            Some(1.0)
        );
        assert_eq!(
            count(r#"keyward_reconciles_total{outcome="error"}"#),
            Some(2.0)
        );
        assert_eq!(
            count(r#"keyward_reconciles_total{outcome="cancelled"}"#),
            Some(1.0)
        );
        assert_eq!(
            count(r#"keyward_reconcile_errors_total{reason="rate_limited"}"#),
            Some(2.0)
        );
        assert_eq!(
            count(r#"keyward_reconcile_errors_total{reason="auth_failed"}"#),
            None
        );
        assert_eq!(count("keyward_reconcile_duration_seconds_count"), Some(4.0));
        assert_eq!(
            count(r#"keyward_reconcile_duration_seconds_bucket{le="+Inf"}"#),
            Some(4.0)
        );
    }

    #[test]
    fn provider_calls_are_counted_by_operation_and_status_and_timed() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis;
        let store = "SecretStore team/emu";
        metrics.provider_call(store, "scaleway", "create_version", CALL_OK, ms(20));
        metrics.provider_call(store, "scaleway", "create_version", CALL_OK, ms(40));
        metrics.provider_call(store, "scaleway", "create_version", "rate_limited", ms(1));
        metrics.provider_call(store, "scaleway", "get_secret", "not_found", ms(3));

        let text = metrics.encode();
        let ok = r#"keyward_provider_calls_total{store="SecretStore team/emu",provider="scaleway",operation="create_version",status="ok"}"#;
        let limited = r#"keyward_provider_calls_total{store="SecretStore team/emu",provider="scaleway",operation="create_version",status="rate_limited"}"#;
        let not_found = r#"keyward_provider_calls_total{store="SecretStore team/emu",provider="scaleway",operation="get_secret",status="not_found"}"#;
        assert_eq!(sample(&text, ok), Some(2.0));
        assert_eq!(sample(&text, limited), Some(1.0));
        assert_eq!(sample(&text, not_found), Some(1.0));
        let sum = sample(
            &text,
            r#"keyward_provider_call_duration_seconds_sum{store="SecretStore team/emu",provider="scaleway",operation="create_version"}"#,
        )
        .unwrap();
        assert!((sum - 0.061).abs() < 1e-9, "{sum}");
        // 20 ms falls in the 0.02 bucket, 40 ms does not.
        assert_eq!(
            sample(
                &text,
                r#"keyward_provider_call_duration_seconds_bucket{le="0.02",store="SecretStore team/emu",provider="scaleway",operation="create_version"}"#
            ),
            Some(2.0)
        );
    }

    #[test]
    fn budgets_sweeps_and_objects_are_recorded_by_store() {
        let metrics = Metrics::new();
        let store = "ClusterSecretStore shared";
        metrics.budget_admitted(store, Duration::from_millis(300), 4.0);
        metrics.budget_refused(store, -2.0);
        metrics.sweep_finished(store, Duration::from_millis(20), true);
        metrics.sweep_finished(store, Duration::from_millis(20), false);
        metrics.sweep_woke(store, 3);
        metrics.set_objects_by_reason("ManagedSecret", &[("Synced", 7), ("AuthFailed", 1)]);
        let text = metrics.encode();
        let s = |series: &str| sample(&text, series);
        assert_eq!(
            s(r#"keyward_budget_wait_seconds_count{store="ClusterSecretStore shared"}"#),
            Some(1.0)
        );
        assert_eq!(
            s(r#"keyward_budget_refusals_total{store="ClusterSecretStore shared"}"#),
            Some(1.0)
        );
        assert_eq!(
            s(r#"keyward_budget_tokens{store="ClusterSecretStore shared"}"#),
            Some(-2.0)
        );
        assert_eq!(
            s(r#"keyward_sweeps_total{store="ClusterSecretStore shared",outcome="ok"}"#),
            Some(1.0)
        );
        assert_eq!(
            s(r#"keyward_sweeps_total{store="ClusterSecretStore shared",outcome="error"}"#),
            Some(1.0)
        );
        assert_eq!(
            s(r#"keyward_sweep_woken_objects_total{store="ClusterSecretStore shared"}"#),
            Some(3.0)
        );
        assert_eq!(
            s(r#"keyward_objects{kind="ManagedSecret",reason="Synced"}"#),
            Some(7.0)
        );
        metrics.set_objects_by_reason("ManagedSecret", &[("Synced", 0)]);
        assert_eq!(
            sample(
                &metrics.encode(),
                r#"keyward_objects{kind="ManagedSecret",reason="Synced"}"#
            ),
            Some(0.0)
        );
    }

    #[test]
    fn versions_rotations_drift_and_leader_are_recorded() {
        let metrics = Metrics::new();
        metrics.version_created("scaleway", VersionCause::Initial);
        metrics.version_created("scaleway", VersionCause::Rotation);
        metrics.version_created("scaleway", VersionCause::Rotation);
        metrics.rotation(RotationTrigger::Annotation);
        metrics.drift_repaired();
        metrics.set_leader(true);

        let text = metrics.encode();
        let v = |cause: &str| {
            sample(
                &text,
                &format!(
                    r#"keyward_versions_created_total{{provider="scaleway",cause="{cause}"}}"#
                ),
            )
        };
        assert_eq!(v("initial"), Some(1.0));
        assert_eq!(v("rotation"), Some(2.0));
        assert_eq!(v("push"), None);
        assert_eq!(
            sample(&text, r#"keyward_rotations_total{trigger="annotation"}"#),
            Some(1.0)
        );
        assert_eq!(sample(&text, "keyward_drift_repairs_total"), Some(1.0));
        assert_eq!(sample(&text, "keyward_leader"), Some(1.0));
        metrics.set_leader(false);
        assert_eq!(sample(&metrics.encode(), "keyward_leader"), Some(0.0));
        assert!(text.contains(&format!(
            r#"keyward_build_info{{version="{}"}} 1"#,
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.ends_with("# EOF\n"));
    }
}
