//! Starting the emulator: in-process on any port (tests, benchmarks) or from `keyward emulator`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use jiff::Timestamp;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::admin::{self, Admin};
use super::clock::Clock;
use super::core::Core;
use super::faults::FaultSettings;
use super::metrics::CounterSnapshot;
use super::oci::OciEmulatorConfig;
use super::persist::{self, Persister};
use super::provider::{Provider, ProviderConfig};
use super::scaleway::ScalewayEmulatorConfig;
use super::thalassa::ThalassaEmulatorConfig;

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Port 0 picks a free one; read it back with [`EmulatorHandle::base_url`].
    pub listen: SocketAddr,
    /// The provider to emulate and its own settings (Scaleway by default).
    pub provider: ProviderConfig,
    /// Initial fault settings. The default has the gateway's 50 requests/s budget per token.
    pub faults: FaultSettings,
    /// Keep state in this file across restarts; `None` keeps it in memory.
    pub state_file: Option<PathBuf>,
    /// Start with the clock frozen at this instant.
    pub frozen_clock_at: Option<Timestamp>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            provider: ProviderConfig::default(),
            faults: FaultSettings::default(),
            state_file: None,
            frozen_clock_at: None,
        }
    }
}

impl EmulatorConfig {
    /// Loopback, any port, Scaleway with lenient auth, no faults and no rate limit.
    pub fn for_tests() -> Self {
        Self {
            faults: FaultSettings::none(),
            ..Self::default()
        }
    }

    /// [`EmulatorConfig::for_tests`] with these Scaleway settings (strict tokens, store options).
    pub fn scaleway_for_tests(scaleway: ScalewayEmulatorConfig) -> Self {
        Self {
            provider: scaleway.into(),
            ..Self::for_tests()
        }
    }

    /// [`EmulatorConfig::for_tests`] with the OCI emulator and these settings (strict signatures by
    /// default: register API keys through the seed).
    pub fn oci_for_tests(oci: OciEmulatorConfig) -> Self {
        Self {
            provider: oci.into(),
            ..Self::for_tests()
        }
    }

    /// [`EmulatorConfig::for_tests`] serving Thalassa with these settings.
    pub fn thalassa_for_tests(thalassa: ThalassaEmulatorConfig) -> Self {
        Self {
            provider: thalassa.into(),
            ..Self::for_tests()
        }
    }
}

/// A running emulator. Dropping it stops the server (without the final state flush; call
/// [`EmulatorHandle::shutdown`] for that).
pub struct EmulatorHandle {
    addr: SocketAddr,
    provider_name: &'static str,
    core: Arc<Core>,
    provider: Arc<dyn Provider>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    persist_task: Option<JoinHandle<()>>,
}

/// Starts an emulator on the current Tokio runtime: the provider's API and the admin API on one port.
pub async fn spawn(config: EmulatorConfig) -> anyhow::Result<EmulatorHandle> {
    let provider_name = config.provider.name();
    let saved = match &config.state_file {
        Some(path) => persist::load(path, provider_name)?,
        None => None,
    };
    let clock = match config.frozen_clock_at {
        Some(at) => Clock::frozen_at(at),
        None => Clock::new(),
    };
    let core = Arc::new(Core::new(
        clock,
        config.faults,
        config.provider.endpoints(),
        config.state_file.map(Persister::new),
    )?);
    let provider = config.provider.start(core.clone(), saved)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let admin = Admin {
        core: core.clone(),
        provider: provider.clone(),
    };
    let app = admin::router(admin).merge(provider.clone().router());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "emulator server stopped");
        }
    });
    let persist_task = core
        .persister()
        .is_some()
        .then(|| tokio::spawn(persist_loop(core.clone(), provider.clone(), provider_name)));
    Ok(EmulatorHandle {
        addr,
        provider_name,
        core,
        provider,
        stop: Some(stop),
        server: Some(server),
        persist_task,
    })
}

/// Saves the state shortly after changes, batching bursts.
async fn persist_loop(core: Arc<Core>, provider: Arc<dyn Provider>, name: &'static str) {
    let Some(persister) = core.persister() else {
        return;
    };
    loop {
        persister.notify.notified().await;
        tokio::time::sleep(Duration::from_millis(25)).await;
        if let Err(e) = flush(&core, provider.as_ref(), name) {
            tracing::error!(error = %format!("{e:#}"), "saving emulator state");
        }
    }
}

fn flush(core: &Core, provider: &dyn Provider, name: &str) -> anyhow::Result<()> {
    let Some(persister) = core.persister() else {
        return Ok(());
    };
    if !persister.take_dirty() {
        return Ok(());
    }
    let bytes = persist::encode(name, provider.save()?)?;
    persist::write_atomically(persister.path(), &bytes).inspect_err(|_| persister.mark_dirty())
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`: the admin API's root, and the SDKs' API URL (Scaleway's `SCW_API_URL`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The provider's API base for one region, e.g. Scaleway's
    /// `http://127.0.0.1:PORT/secret-manager/v1beta1/regions/{region}`.
    pub fn api_url(&self, region: &str) -> String {
        self.provider.api_url(&self.base_url(), region)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The emulator's clock: freeze, advance, resume. Expiry is applied on the next request.
    pub fn clock(&self) -> &Clock {
        &self.core.clock
    }

    /// Advances the clock and applies whatever became due (TTL expiry, purges) right away.
    pub fn advance_clock(&self, by: jiff::SignedDuration) {
        self.core.clock.advance(by);
        self.provider.sweep(self.core.clock.now());
    }

    pub fn faults(&self) -> FaultSettings {
        self.core.faults().clone()
    }

    pub fn set_faults(&self, faults: FaultSettings) -> anyhow::Result<()> {
        self.core
            .set_faults(faults)
            .map_err(|e| anyhow::anyhow!("fault settings: {e}"))
    }

    /// Edits the fault settings in place (e.g. `h.update_faults(|f| f.latency_ms = 50)`).
    pub fn update_faults(&self, edit: impl FnOnce(&mut FaultSettings)) -> anyhow::Result<()> {
        let mut next = self.faults();
        edit(&mut next);
        self.set_faults(next)
    }

    /// Flips the "key disabled" switch on for a secret id or key id.
    pub fn disable_key(&self, id: impl Into<String>) {
        self.core.set_key_disabled(id.into(), true);
    }

    pub fn enable_key(&self, id: &str) {
        self.core.set_key_disabled(id.to_string(), false);
    }

    /// Refuses (or again accepts) a credential, as if it were revoked in the provider's console.
    pub fn set_token_revoked(&self, token: &str, revoked: bool) {
        self.update_faults(|f| {
            if revoked {
                f.revoked_tokens.insert(token.to_owned());
            } else {
                f.revoked_tokens.remove(token);
            }
        })
        .expect("revoking a token keeps the faults valid");
    }

    pub fn request_counts(&self) -> CounterSnapshot {
        self.core.counters.snapshot()
    }

    /// Every API request so far (since the last reset), any endpoint and status.
    pub fn request_count(&self) -> u64 {
        self.core.counters.total()
    }

    /// API requests whose path named this secret id, any endpoint and status (access by path names
    /// no id and is counted by endpoint only).
    pub fn requests_for_secret(&self, id: &str) -> u64 {
        self.core.counters.for_secret(id)
    }

    pub fn reset_request_counts(&self) {
        self.core.counters.reset();
    }

    /// Number of stored secrets, soft-deleted ones included.
    pub fn secret_count(&self) -> usize {
        self.provider.secret_count()
    }

    /// Writes the state file now if anything changed.
    pub fn flush_state(&self) -> anyhow::Result<()> {
        flush(&self.core, self.provider.as_ref(), self.provider_name)
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
        flush(&self.core, self.provider.as_ref(), self.provider_name)
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
