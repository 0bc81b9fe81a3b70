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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderCallLabels {
    provider: &'static str,
    operation: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderOperationLabels {
    provider: &'static str,
    operation: &'static str,
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
struct BuildLabels {
    version: &'static str,
}

type DurationFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Buckets from 5 ms to about 41 s: reconciles and provider calls are network-bound.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

struct Inner {
    registry: Registry,
    reconciles: Family<OutcomeLabels, Counter>,
    reconcile_errors: Family<ReasonLabels, Counter>,
    reconcile_duration: Histogram,
    provider_calls: Family<ProviderCallLabels, Counter>,
    provider_call_duration: DurationFamily<ProviderOperationLabels>,
    versions_created: Family<VersionLabels, Counter>,
    rotations: Family<TriggerLabels, Counter>,
    drift_repairs: Counter,
    leader: Gauge,
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
        let mut registry = Registry::with_prefix("keyward");
        let reconciles = Family::<OutcomeLabels, Counter>::default();
        let reconcile_errors = Family::<ReasonLabels, Counter>::default();
        let reconcile_duration = duration_histogram();
        let provider_calls = Family::<ProviderCallLabels, Counter>::default();
        let provider_call_duration: DurationFamily<ProviderOperationLabels> =
            Family::new_with_constructor(duration_histogram);
        let versions_created = Family::<VersionLabels, Counter>::default();
        let rotations = Family::<TriggerLabels, Counter>::default();
        let drift_repairs = Counter::default();
        let leader = Gauge::default();

        registry.register(
            "reconciles",
            "Reconciles of ManagedSecrets, by outcome",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Failed reconciles, by reason",
            reconcile_errors.clone(),
        );
        registry.register_with_unit(
            "reconcile_duration",
            "Time spent in one reconcile",
            prometheus_client::registry::Unit::Seconds,
            reconcile_duration.clone(),
        );
        registry.register(
            "provider_calls",
            "Calls to a secret manager provider, by provider, operation and status",
            provider_calls.clone(),
        );
        registry.register_with_unit(
            "provider_call_duration",
            "Time spent in one provider call, by provider and operation",
            prometheus_client::registry::Unit::Seconds,
            provider_call_duration.clone(),
        );
        registry.register(
            "versions_created",
            "Secret versions Keyward created, by provider and cause",
            versions_created.clone(),
        );
        registry.register(
            "rotations",
            "Rotations performed, by trigger",
            rotations.clone(),
        );
        registry.register(
            "drift_repairs",
            "Target Secrets rewritten because their data drifted from the current revision",
            drift_repairs.clone(),
        );
        registry.register(
            "leader",
            "1 while this process holds the leader Lease (or runs without leader election), else 0",
            leader.clone(),
        );
        registry.register(
            "build",
            "Build information",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );

        Self {
            inner: Arc::new(Inner {
                registry,
                reconciles,
                reconcile_errors,
                reconcile_duration,
                provider_calls,
                provider_call_duration,
                versions_created,
                rotations,
                drift_repairs,
                leader,
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

    /// Records one call to a provider: `status` is [`CALL_OK`] or the error kind's label.
    pub fn provider_call(
        &self,
        provider: impl MetricLabel,
        operation: impl MetricLabel,
        status: impl MetricLabel,
        duration: Duration,
    ) {
        let (provider, operation) = (provider.label(), operation.label());
        self.inner
            .provider_calls
            .get_or_create(&ProviderCallLabels {
                provider,
                operation,
                status: status.label(),
            })
            .inc();
        self.inner
            .provider_call_duration
            .get_or_create(&ProviderOperationLabels {
                provider,
                operation,
            })
            .observe(duration.as_secs_f64());
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
        metrics.provider_call("scaleway", "create_version", CALL_OK, ms(20));
        metrics.provider_call("scaleway", "create_version", CALL_OK, ms(40));
        metrics.provider_call("scaleway", "create_version", "rate_limited", ms(1));
        metrics.provider_call("scaleway", "get_secret", "not_found", ms(3));

        let text = metrics.encode();
        let ok = r#"keyward_provider_calls_total{provider="scaleway",operation="create_version",status="ok"}"#;
        let limited = r#"keyward_provider_calls_total{provider="scaleway",operation="create_version",status="rate_limited"}"#;
        let not_found = r#"keyward_provider_calls_total{provider="scaleway",operation="get_secret",status="not_found"}"#;
        assert_eq!(sample(&text, ok), Some(2.0));
        assert_eq!(sample(&text, limited), Some(1.0));
        assert_eq!(sample(&text, not_found), Some(1.0));
        let sum = sample(
            &text,
            r#"keyward_provider_call_duration_seconds_sum{provider="scaleway",operation="create_version"}"#,
        )
        .unwrap();
        assert!((sum - 0.061).abs() < 1e-9, "{sum}");
        // 20 ms falls in the 0.02 bucket, 40 ms does not.
        assert_eq!(
            sample(
                &text,
                r#"keyward_provider_call_duration_seconds_bucket{le="0.02",provider="scaleway",operation="create_version"}"#
            ),
            Some(2.0)
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
