//! The HTTP endpoint: `/metrics` (OpenMetrics text), `/healthz` (liveness), `/readyz` (readiness).

use super::Metrics;
use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};
use tokio::net::TcpListener;

/// The OpenMetrics content type Prometheus negotiates for this format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The readiness flag behind `/readyz`, shared with the controller.
///
/// Starts not ready. The controller sets it once it can do its job: its watches have synced (as the
/// leader) or it knows it is a standby replica. Standbys report ready so that rolling updates and
/// PodDisruptionBudgets treat them as healthy.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// A flag that starts not ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag.
    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    /// Reads the flag.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    readiness: Readiness,
}

/// The router, separate from the listener so it can be mounted or tested on its own.
pub fn router(metrics: Metrics, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, readiness })
}

/// Serves the endpoints on `listener` until `shutdown` resolves.
pub async fn serve_http(
    listener: TcpListener,
    metrics: Metrics,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics, readiness))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `address` and serves the endpoints in a background task until `shutdown` is cancelled.
/// Returns the bound address (useful with port 0) and the task.
pub async fn spawn_http(
    address: std::net::SocketAddr,
    metrics: Metrics,
    readiness: Readiness,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<(
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, "serving /metrics, /healthz and /readyz");
    let task = tokio::spawn(serve_http(
        listener,
        metrics,
        readiness,
        shutdown.cancelled_owned(),
    ));
    Ok((bound, task))
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        state.metrics.encode(),
    )
}

/// Liveness: the process answers HTTP. Nothing else is checked on purpose: a restart would not fix a
/// slow API server or provider, and restarting for them only adds load.
async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{CALL_OK, MetricLabel, ReconcileOutcome, RotationTrigger, VersionCause};
    use std::{collections::BTreeMap, net::SocketAddr, time::Duration};
    use tokio_util::sync::CancellationToken;

    struct Running {
        addr: SocketAddr,
        stop: CancellationToken,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
        http: reqwest::Client,
    }

    impl Running {
        async fn start(metrics: Metrics, readiness: Readiness) -> Self {
            let stop = CancellationToken::new();
            let (addr, task) = spawn_http(
                "127.0.0.1:0".parse().unwrap(),
                metrics,
                readiness,
                stop.clone(),
            )
            .await
            .unwrap();
            Self {
                addr,
                stop,
                task,
                http: reqwest::Client::new(),
            }
        }

        async fn get(&self, path: &str) -> (u16, String, String) {
            let resp = self
                .http
                .get(format!("http://{}{path}", self.addr))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, content_type, resp.text().await.unwrap())
        }

        async fn stop(self) {
            self.stop.cancel();
            self.task.await.unwrap().unwrap();
        }
    }

    /// One parsed sample line: metric name, labels, value.
    #[derive(Debug)]
    struct Sample {
        name: String,
        labels: BTreeMap<String, String>,
        value: f64,
    }

    /// Parses OpenMetrics text strictly enough for these tests: every non-comment line must be a
    /// sample `name{k="v",...} value`, and the text must end with `# EOF`.
    fn parse_openmetrics(text: &str) -> Vec<Sample> {
        assert!(text.ends_with("# EOF\n"), "no EOF marker");
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("sample without value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').expect("unclosed label set");
                    let labels = body
                        .split(',')
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').expect("label without =");
                            let v = v
                                .strip_prefix('"')
                                .and_then(|v| v.strip_suffix('"'))
                                .expect("unquoted label value");
                            (k.to_owned(), v.to_owned())
                        })
                        .collect();
                    (name, labels)
                }
                None => (series, BTreeMap::new()),
            };
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        samples
    }

    #[tokio::test]
    async fn scrape_over_loopback_parses_and_shows_recorded_calls() {
        let metrics = Metrics::new();
        let running = Running::start(metrics.clone(), Readiness::new()).await;

        metrics.provider_call(
            "SecretStore team/emu",
            "scaleway",
            "create_secret",
            CALL_OK,
            Duration::from_millis(12),
        );
        {
            let mut guard = metrics.reconcile_started();
            guard.succeeded();
        }

        let (status, content_type, body) = running.get("/metrics").await;
        assert_eq!(status, 200);
        assert_eq!(content_type, OPENMETRICS_CONTENT_TYPE);
        let samples = parse_openmetrics(&body);
        let find = |name: &str, label: (&str, &str)| {
            samples
                .iter()
                .find(|s| {
                    s.name == name && s.labels.get(label.0).map(String::as_str) == Some(label.1)
                })
                .map(|s| s.value)
        };
        assert_eq!(
            find(
                "keyward_provider_calls_total",
                ("operation", "create_secret")
            ),
            Some(1.0)
        );
        assert_eq!(
            find("keyward_reconciles_total", ("outcome", "success")),
            Some(1.0)
        );

        // A second scrape sees later observations: the endpoint encodes live state.
        metrics.provider_call(
            "SecretStore team/emu",
            "scaleway",
            "create_secret",
            CALL_OK,
            Duration::from_millis(12),
        );
        let samples = parse_openmetrics(&running.get("/metrics").await.2);
        let calls = samples
            .iter()
            .find(|s| s.name == "keyward_provider_calls_total")
            .unwrap();
        assert_eq!(calls.value, 2.0);
        running.stop().await;
    }

    #[tokio::test]
    async fn readiness_follows_the_shared_flag_and_liveness_is_always_ok() {
        let readiness = Readiness::new();
        let running = Running::start(Metrics::new(), readiness.clone()).await;

        assert_eq!(running.get("/healthz").await.0, 200);
        assert_eq!(running.get("/readyz").await.0, 503);
        readiness.set_ready(true);
        assert_eq!(running.get("/readyz").await.0, 200);
        assert_eq!(running.get("/healthz").await.0, 200);
        readiness.set_ready(false);
        assert_eq!(running.get("/readyz").await.0, 503);
        assert_eq!(running.get("/nope").await.0, 404);
        running.stop().await;
    }

    #[tokio::test]
    async fn label_values_come_only_from_fixed_vocabularies() {
        let metrics = Metrics::new();
        let running = Running::start(metrics.clone(), Readiness::new()).await;

        // Exercise every recording method with every enum value.
        for trigger in [RotationTrigger::Schedule, RotationTrigger::Annotation] {
            metrics.rotation(trigger);
        }
        for cause in [
            VersionCause::Initial,
            VersionCause::Rotation,
            VersionCause::Push,
        ] {
            metrics.version_created("scaleway", cause);
        }
        for status in [CALL_OK, "not_found", "rate_limited"] {
            metrics.provider_call(
                "SecretStore team/emu",
                "scaleway",
                "list_versions",
                status,
                Duration::ZERO,
            );
        }
        metrics.reconcile_started().failed("provider_error");
        metrics.drift_repaired();

        let body = running.get("/metrics").await.2;

        let outcomes: Vec<&str> = [
            ReconcileOutcome::Success,
            ReconcileOutcome::Error,
            ReconcileOutcome::Cancelled,
        ]
        .iter()
        .map(MetricLabel::label)
        .collect();
        let allowed: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
            ("outcome", outcomes),
            ("reason", vec!["provider_error"]),
            ("provider", vec!["scaleway"]),
            // Store names are chosen by cluster administrators, never read from a secret.
            ("store", vec!["SecretStore team/emu"]),
            ("operation", vec!["list_versions"]),
            ("status", vec!["ok", "not_found", "rate_limited"]),
            ("cause", vec!["initial", "rotation", "push"]),
            ("trigger", vec!["schedule", "annotation"]),
            ("version", vec![env!("CARGO_PKG_VERSION")]),
        ]);
        let samples = parse_openmetrics(&body);
        assert!(samples.len() > 20, "too few samples: {body}");
        for sample in &samples {
            for (key, value) in &sample.labels {
                if key == "le" {
                    assert!(value == "+Inf" || value.parse::<f64>().is_ok(), "{value}");
                    continue;
                }
                let vocabulary = allowed
                    .get(key.as_str())
                    .unwrap_or_else(|| panic!("unexpected label {key} on {}", sample.name));
                assert!(
                    vocabulary.contains(&value.as_str()),
                    "label {key}={value:?} on {} is outside its vocabulary",
                    sample.name
                );
            }
        }
        running.stop().await;
    }
}
