//! The elector's I/O against an in-memory fake of the Lease API on loopback (a stand-in until the
//! local control plane is available; the names say so). The fake keeps the API server's contract
//! that matters here: `resourceVersion` compare-and-swap on update, 409 on a stale write or a
//! duplicate create, 404 for a missing Lease. It can also stop answering, to test stepping down.
//!
//! These tests run in real time with short durations; they only assert what the algorithm
//! guarantees whatever the machine's speed (bounded waits, and "not before" bounds that follow
//! from the lease arithmetic).

use super::*;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

#[derive(Default)]
struct FakeLeaseApi {
    lease: Mutex<Option<Lease>>,
    version: std::sync::atomic::AtomicU64,
    hang: AtomicBool,
    /// Every update loses its compare-and-swap, as if the object kept being edited.
    conflict: AtomicBool,
}

type Reply = (StatusCode, Json<serde_json::Value>);

fn status(code: u16, reason: &str) -> Reply {
    (
        StatusCode::from_u16(code).unwrap(),
        Json(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": reason, "reason": reason, "code": code,
        })),
    )
}

impl FakeLeaseApi {
    async fn maybe_hang(&self) {
        if self.hang.load(Ordering::SeqCst) {
            futures::future::pending::<()>().await;
        }
    }

    fn stored(&self, mut lease: Lease) -> Reply {
        let rv = self.version.fetch_add(1, Ordering::SeqCst) + 1;
        lease.metadata.resource_version = Some(rv.to_string());
        *self.lease.lock().unwrap() = Some(lease.clone());
        (StatusCode::OK, Json(serde_json::to_value(lease).unwrap()))
    }
}

async fn read(State(api): State<Arc<FakeLeaseApi>>, Path(_): Path<(String, String)>) -> Reply {
    api.maybe_hang().await;
    match api.lease.lock().unwrap().clone() {
        Some(lease) => (StatusCode::OK, Json(serde_json::to_value(lease).unwrap())),
        None => status(404, "NotFound"),
    }
}

async fn create(
    State(api): State<Arc<FakeLeaseApi>>,
    Path(_): Path<String>,
    Json(lease): Json<Lease>,
) -> Reply {
    api.maybe_hang().await;
    if api.lease.lock().unwrap().is_some() {
        return status(409, "AlreadyExists");
    }
    let (code, body) = api.stored(lease);
    (
        if code == StatusCode::OK {
            StatusCode::CREATED
        } else {
            code
        },
        body,
    )
}

async fn update(
    State(api): State<Arc<FakeLeaseApi>>,
    Path(_): Path<(String, String)>,
    Json(lease): Json<Lease>,
) -> Reply {
    api.maybe_hang().await;
    if api.conflict.load(Ordering::SeqCst) {
        return status(409, "Conflict");
    }
    let current = api.lease.lock().unwrap().clone();
    match current {
        None => status(404, "NotFound"),
        Some(current) if current.metadata.resource_version != lease.metadata.resource_version => {
            status(409, "Conflict")
        }
        Some(_) => api.stored(lease),
    }
}

struct Fixture {
    api: Arc<FakeLeaseApi>,
    client: Client,
}

impl Fixture {
    async fn start() -> Self {
        let api = Arc::new(FakeLeaseApi::default());
        let base = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases";
        let app = Router::new()
            .route(&format!("{base}/{{name}}"), get(read).put(update))
            .route(base, post(create))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = Client::try_from(kube::Config::new(url.parse().unwrap())).unwrap();
        Self { api, client }
    }

    fn elector(&self, identity: &str) -> LeaderElector {
        LeaderElector::new(
            self.client.clone(),
            LeaseConfig {
                namespace: "keyward-system".into(),
                lease_name: "keyward-leader".into(),
                identity: identity.into(),
                timing: LeaseTiming {
                    lease_duration: Duration::from_secs(3),
                    renew_deadline: Duration::from_millis(2_000),
                    retry_period: Duration::from_millis(200),
                },
            },
        )
        .unwrap()
    }

    fn holder(&self) -> Option<String> {
        let lease = self.api.lease.lock().unwrap().clone()?;
        lease.spec?.holder_identity
    }
}

/// Waits until `rx` shows `leading`, failing after `within`.
async fn until(rx: &mut watch::Receiver<bool>, leading: bool, within: Duration) {
    tokio::time::timeout(within, rx.wait_for(|l| *l == leading))
        .await
        .unwrap_or_else(|_| panic!("leadership did not become {leading} within {within:?}"))
        .unwrap();
}

#[tokio::test]
async fn fake_lease_api_one_leader_and_release_hands_over_at_once() {
    let fx = Fixture::start().await;
    let metrics = Metrics::new();
    let a = fx.elector("a").spawn(metrics.clone());
    let mut a_rx = a.subscribe();
    until(&mut a_rx, true, Duration::from_secs(5)).await;
    assert_eq!(fx.holder().as_deref(), Some("a"));

    let b = fx.elector("b").spawn(Metrics::new());
    let mut b_rx = b.subscribe();
    // b keeps polling while a renews: it must never lead meanwhile.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(!b.is_leader());
    assert!(a.is_leader());

    // A graceful stop releases the lease: b takes over well before a lease duration.
    let stopped_at = Instant::now();
    a.stop().await;
    assert!(!*a_rx.borrow());
    until(&mut b_rx, true, Duration::from_secs(2)).await;
    assert!(stopped_at.elapsed() < Duration::from_secs(3));
    assert_eq!(fx.holder().as_deref(), Some("b"));
    assert!(metrics.encode().contains("keyward_leader 0"));

    let lease = fx.api.lease.lock().unwrap().clone().unwrap();
    assert_eq!(lease.spec.unwrap().lease_transitions, Some(2));
    b.stop().await;
    assert_eq!(fx.holder(), None, "b released on stop");
}

#[tokio::test]
async fn fake_lease_api_crashed_leader_is_replaced_only_after_its_lease_expires() {
    let fx = Fixture::start().await;
    let a = fx.elector("a").spawn(Metrics::new());
    let mut a_rx = a.subscribe();
    until(&mut a_rx, true, Duration::from_secs(5)).await;
    let b = fx.elector("b").spawn(Metrics::new());
    let mut b_rx = b.subscribe();

    // A crash: the task ends without releasing.
    let mut a = a;
    let crashed_at = Instant::now();
    a.task.take().unwrap().abort();

    // a renewed at most one retry period (200 ms) before the crash, and b waits a full lease
    // duration (3 s) after it saw that renewal: b cannot lead before 2.8 s.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(!b.is_leader(), "took over a live lease");
    until(&mut b_rx, true, Duration::from_secs(5)).await;
    assert!(crashed_at.elapsed() >= Duration::from_millis(2_800));
    assert_eq!(fx.holder().as_deref(), Some("b"));
    b.stop().await;
}

#[tokio::test]
async fn fake_lease_api_leader_steps_down_when_renewals_hang() {
    let fx = Fixture::start().await;
    let metrics = Metrics::new();
    let a = fx.elector("a").spawn(metrics.clone());
    let mut a_rx = a.subscribe();
    until(&mut a_rx, true, Duration::from_secs(5)).await;

    fx.api.hang.store(true, Ordering::SeqCst);
    let hung_at = Instant::now();
    // The renew deadline is 2 s after the last successful renewal started; what matters is that a
    // stops before the lease duration (3 s), after which another replica may take over.
    until(&mut a_rx, false, Duration::from_secs(4)).await;
    assert!(hung_at.elapsed() < Duration::from_secs(3));
    assert!(metrics.encode().contains("keyward_leader 0"));

    // The API answers again: the lease still names a, so a renews and leads again.
    fx.api.hang.store(false, Ordering::SeqCst);
    until(&mut a_rx, true, Duration::from_secs(5)).await;
    a.stop().await;
}

#[tokio::test]
async fn fake_lease_api_leader_keeps_leading_through_brief_write_conflicts() {
    let fx = Fixture::start().await;
    let a = fx.elector("a").spawn(Metrics::new());
    let mut a_rx = a.subscribe();
    until(&mut a_rx, true, Duration::from_secs(5)).await;

    // Renewals conflict for 1 s (less than the 2 s renew deadline): the lease still names a, so a
    // must not drop its work over it.
    fx.api.conflict.store(true, Ordering::SeqCst);
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(a.is_leader(), "stepped down on a conflict");
    }
    fx.api.conflict.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(a.is_leader());

    // Conflicts that outlast the deadline do end the term.
    fx.api.conflict.store(true, Ordering::SeqCst);
    until(&mut a_rx, false, Duration::from_secs(4)).await;
    fx.api.conflict.store(false, Ordering::SeqCst);
    a.stop().await;
}
