//! Starting the emulator: in-process on any port (tests, benchmarks) or from `keyward emulator`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use jiff::Timestamp;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::api::{self, Shared};
use super::auth::AuthPolicy;
use super::clock::Clock;
use super::faults::{FaultSettings, RateLimiter};
use super::metrics::{CounterSnapshot, RequestCounters};
use super::persist::{self, Persister};
use super::store::{Store, StoreOptions};

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Port 0 picks a free one; read it back with [`EmulatorHandle::base_url`].
    pub listen: SocketAddr,
    /// `(token, project id)` pairs. Empty: lenient mode (any non-empty token, any project).
    pub tokens: Vec<(String, Uuid)>,
    /// Initial fault settings. The default has the gateway's 50 requests/s budget per token.
    pub faults: FaultSettings,
    /// Keep state in this file across restarts; `None` keeps it in memory.
    pub state_file: Option<PathBuf>,
    pub store_options: StoreOptions,
    /// Start with the clock frozen at this instant.
    pub frozen_clock_at: Option<Timestamp>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tokens: Vec::new(),
            faults: FaultSettings::default(),
            state_file: None,
            store_options: StoreOptions::default(),
            frozen_clock_at: None,
        }
    }
}

impl EmulatorConfig {
    /// Loopback, any port, lenient auth, no faults and no rate limit.
    pub fn for_tests() -> Self {
        Self {
            faults: FaultSettings::none(),
            ..Self::default()
        }
    }
}

/// A running emulator. Dropping it stops the server (without the final state flush; call
/// [`EmulatorHandle::shutdown`] for that).
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    persist_task: Option<JoinHandle<()>>,
}

/// Starts an emulator on the current Tokio runtime.
pub async fn spawn(config: EmulatorConfig) -> anyhow::Result<EmulatorHandle> {
    config
        .faults
        .validate()
        .map_err(|e| anyhow::anyhow!("fault settings: {e}"))?;
    let store = match &config.state_file {
        Some(path) => persist::load(path)?,
        None => Store::new(),
    };
    let clock = Arc::new(match config.frozen_clock_at {
        Some(at) => Clock::frozen_at(at),
        None => Clock::new(),
    });
    let shared = Arc::new(Shared {
        store: RwLock::new(store),
        clock,
        faults: RwLock::new(config.faults),
        limiter: RateLimiter::default(),
        counters: RequestCounters::default(),
        auth: AuthPolicy::strict(config.tokens),
        options: config.store_options,
        persister: config.state_file.map(Persister::new),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let app = super::admin::router()
        .fallback(api::handle)
        .with_state(shared.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "emulator server stopped");
        }
    });
    let persist_task = shared
        .persister
        .is_some()
        .then(|| tokio::spawn(persist_loop(shared.clone())));
    Ok(EmulatorHandle {
        addr,
        shared,
        stop: Some(stop),
        server: Some(server),
        persist_task,
    })
}

/// Saves the state shortly after changes, batching bursts.
async fn persist_loop(shared: Arc<Shared>) {
    let Some(persister) = shared.persister.as_ref() else {
        return;
    };
    loop {
        persister.notify.notified().await;
        tokio::time::sleep(Duration::from_millis(25)).await;
        if let Err(e) = flush(&shared) {
            tracing::error!(error = %format!("{e:#}"), "saving emulator state");
        }
    }
}

fn flush(shared: &Shared) -> anyhow::Result<()> {
    let Some(persister) = shared.persister.as_ref() else {
        return Ok(());
    };
    if !persister.take_dirty() {
        return Ok(());
    }
    let bytes = persist::encode(&shared.read_store())?;
    persist::write_atomically(persister.path(), &bytes).inspect_err(|_| persister.mark_dirty())
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`, the value for `SCW_API_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API base for one region: `http://127.0.0.1:PORT/secret-manager/v1beta1/regions/{region}`.
    pub fn api_url(&self, region: &str) -> String {
        format!("{}{}{region}", self.base_url(), super::routes::API_PREFIX)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The emulator's clock: freeze, advance, resume. Expiry is applied on the next request.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Advances the clock and applies whatever became due (TTL expiry, purges) right away.
    pub fn advance_clock(&self, by: jiff::SignedDuration) {
        self.shared.clock.advance(by);
        self.shared.sweep(self.shared.clock.now());
    }

    pub fn faults(&self) -> FaultSettings {
        self.shared.faults().clone()
    }

    pub fn set_faults(&self, faults: FaultSettings) -> anyhow::Result<()> {
        faults
            .validate()
            .map_err(|e| anyhow::anyhow!("fault settings: {e}"))?;
        *self
            .shared
            .faults
            .write()
            .unwrap_or_else(|e| e.into_inner()) = faults;
        Ok(())
    }

    /// Edits the fault settings in place (e.g. `h.update_faults(|f| f.latency_ms = 50)`).
    pub fn update_faults(&self, edit: impl FnOnce(&mut FaultSettings)) -> anyhow::Result<()> {
        let mut next = self.faults();
        edit(&mut next);
        self.set_faults(next)
    }

    /// Flips the "key disabled" switch on for a secret id or key id.
    pub fn disable_key(&self, id: impl Into<String>) {
        self.shared
            .faults
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .disabled_keys
            .insert(id.into());
    }

    pub fn enable_key(&self, id: &str) {
        self.shared
            .faults
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .disabled_keys
            .remove(id);
    }

    pub fn request_counts(&self) -> CounterSnapshot {
        self.shared.counters.snapshot()
    }

    pub fn reset_request_counts(&self) {
        self.shared.counters.reset();
    }

    /// Number of stored secrets, soft-deleted ones included.
    pub fn secret_count(&self) -> usize {
        self.shared.read_store().len()
    }

    /// Writes the state file now if anything changed.
    pub fn flush_state(&self) -> anyhow::Result<()> {
        flush(&self.shared)
    }

    /// Stops accepting requests, waits for the server to finish and saves the state.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            // Idle keep-alive connections are closed by the graceful shutdown; don't wait forever on a
            // client that holds one open mid-request.
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        if let Some(task) = self.persist_task.take() {
            task.abort();
        }
        flush(&self.shared)
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.persist_task.take() {
            task.abort();
        }
    }
}
