//! Local provider emulators speaking the real wire APIs on loopback, held to recorded traffic and to
//! the providers' official SDKs. One provider per server: Scaleway Secret Manager v1beta1 (the
//! default), Thalassa Cloud Secrets Manager (`--provider thalassa`), or OCI Vault secrets with KMS
//! key versions (`--provider oci`).
//!
//! Layout. Shared by every provider: [`core`] (the state every provider builds on, and the fault and
//! counting steps around each request), [`clock`], [`faults`], [`metrics`], [`persist`] one concern
//! each, [`admin`] the `/emulator/...` endpoint, [`server`] start and stop. [`provider`] is the seam: a
//! provider is a folder ([`scaleway`], [`thalassa`], [`oci`]) whose [`Provider`] gives the server its
//! router, mounted next
//! to the admin API.
//!
//! Library use (tests, benchmarks):
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use keyward::emulator::{EmulatorConfig, spawn};
//! let emu = spawn(EmulatorConfig::for_tests()).await?;
//! let url = emu.api_url("fr-par"); // …/secret-manager/v1beta1/regions/fr-par
//! emu.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod clock;
pub mod core;
pub mod faults;
pub mod metrics;
pub mod oci;
pub mod persist;
pub mod provider;
pub mod scaleway;
pub mod server;
pub mod thalassa;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use clock::Clock;
pub use faults::{ErrorFault, FaultSettings};
pub use metrics::CounterSnapshot;
pub use provider::{Provider, ProviderConfig, ProviderKind};
pub use scaleway::{AccountOptions, ScalewayEmulatorConfig};
pub use server::{EmulatorConfig, EmulatorHandle, spawn};
pub use thalassa::ThalassaEmulatorConfig;

/// Arguments of `keyward emulator`.
#[derive(clap::Args, Debug)]
pub struct EmulatorArgs {
    /// The provider whose API to serve.
    #[arg(long, value_enum, default_value_t = ProviderKind::Scaleway)]
    pub provider: ProviderKind,
    /// Address to serve on (port 0 picks a free port; the chosen URL is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Keep state in this JSON file across restarts (written atomically). In memory by default.
    #[arg(long = "state", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Added latency on every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Injected errors: ENDPOINT=RATE[:STATUS], ENDPOINT the provider's SDK name (GetSecret…) or `*`,
    /// STATUS 500 or 503 (default 503). Repeatable.
    #[arg(long = "error-rate", value_name = "ENDPOINT=RATE[:STATUS]", value_parser = parse_error_flag)]
    pub error_rates: Vec<(String, ErrorFault)>,
    /// Probability of dropping a request's connection.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Requests per second per token before 429 (0 disables the limiter).
    #[arg(long, default_value_t = faults::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// Secret id (Thalassa: its path) or key id whose key starts disabled (repeatable).
    #[arg(long = "disable-key", value_name = "ID")]
    pub disabled_keys: Vec<String>,
    /// Start with the clock frozen at this RFC 3339 instant (move it through `/emulator/clock`).
    #[arg(long, value_name = "TIMESTAMP")]
    pub frozen_clock: Option<jiff::Timestamp>,
    #[command(flatten)]
    pub scaleway: scaleway::ScalewayArgs,
    #[command(flatten)]
    pub oci: oci::OciArgs,
    #[command(flatten)]
    pub thalassa: thalassa::ThalassaArgs,
}

fn parse_error_flag(text: &str) -> Result<(String, ErrorFault), String> {
    let (endpoint, rest) = text
        .split_once('=')
        .ok_or("expected ENDPOINT=RATE[:STATUS]")?;
    let (rate, status) = match rest.split_once(':') {
        Some((r, s)) => (
            r,
            s.parse::<u16>().map_err(|_| format!("bad status {s:?}"))?,
        ),
        None => (rest, 503),
    };
    let rate = rate
        .parse::<f64>()
        .map_err(|_| format!("bad rate {rate:?}"))?;
    Ok((endpoint.to_string(), ErrorFault { rate, status }))
}

impl EmulatorArgs {
    /// Fails when a provider's settings file (`--oci-seed`) cannot be read.
    pub fn into_config(self) -> anyhow::Result<EmulatorConfig> {
        let faults = FaultSettings {
            latency_ms: self.latency_ms,
            errors: self.error_rates.into_iter().collect::<BTreeMap<_, _>>(),
            drop_rate: self.drop_rate,
            rate_limit_per_second: (self.rate_limit > 0).then_some(self.rate_limit),
            disabled_keys: self.disabled_keys.into_iter().collect(),
            revoked_tokens: Default::default(),
        };
        let provider = match self.provider {
            ProviderKind::Scaleway => self.scaleway.into_config().into(),
            ProviderKind::Oci => self.oci.into_config()?.into(),
            ProviderKind::Thalassa => self.thalassa.into_config().into(),
        };
        Ok(EmulatorConfig {
            listen: self.listen,
            provider,
            faults,
            state_file: self.state,
            frozen_clock_at: self.frozen_clock,
        })
    }
}

/// `keyward emulator`: serve until interrupted (Ctrl-C or SIGTERM), then save the state.
pub async fn serve_command(args: EmulatorArgs) -> anyhow::Result<()> {
    let handle = spawn(args.into_config()?).await?;
    // Listen for SIGTERM before announcing the URL: a parent that reads the line and terminates
    // at once must find the handler in place (else the default action kills the process).
    let signal = shutdown_signal();
    // One line on stdout, so a parent process can read the URL when it asked for port 0.
    println!("keyward emulator listening on {}", handle.base_url());
    std::io::stdout().flush()?;
    signal.await;
    handle.shutdown().await
}

/// Resolves at Ctrl-C or SIGTERM; both handlers are installed when this returns.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate()).ok()
    };
    // `ctrl_c()` installs its handler on first poll, so poll it once now.
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    let _ = futures::FutureExt::now_or_never(&mut ctrl_c);
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = ctrl_c.await;
    }
}
