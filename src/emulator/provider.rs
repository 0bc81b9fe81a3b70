//! The seam between the shared server and one provider's emulator.
//!
//! A provider lives in its own folder (`scaleway/`) and gives the server its endpoint names (counted,
//! and targeted by fault settings) and a start function that builds its state on the shared [`Core`]
//! and returns a [`Provider`]: the API router plus the few hooks the admin API, the handle and the
//! persister need. Its handler calls [`Core::admit`] and [`Core::finish`] around its own work (see
//! `scaleway/api.rs`). Adding a provider, without touching another provider's files:
//!
//! 1. a folder `src/emulator/<name>/` with its config, its router and an `impl Provider`;
//! 2. a [`ProviderKind`] and a [`ProviderConfig`] variant, and their arms below;
//! 3. its flags as a `#[command(flatten)]` struct in `EmulatorArgs`, and its arm in
//!    `EmulatorArgs::into_config` (`mod.rs`).

use std::sync::Arc;

use axum::Router;
use jiff::Timestamp;

use super::core::Core;
use super::oci::{self, OciEmulatorConfig};
use super::scaleway::{self, ScalewayEmulatorConfig};
use super::thalassa::{self, ThalassaEmulatorConfig};

/// A running provider emulator.
pub trait Provider: Send + Sync + 'static {
    /// The provider's API. The server serves it next to `/emulator/...`, and it answers every other
    /// path too (with the provider's own "not found" shape).
    fn router(self: Arc<Self>) -> Router;

    /// Applies what became due by `now` (expiries, purges); called after the clock is moved.
    fn sweep(&self, now: Timestamp);

    /// The state to write to the state file.
    fn save(&self) -> anyhow::Result<serde_json::Value>;

    /// Number of stored secrets, soft-deleted ones included.
    fn secret_count(&self) -> usize;

    /// The API base URL a client takes for `region`, given the server's `http://host:port`.
    fn api_url(&self, base_url: &str, region: &str) -> String;
}

/// `keyward emulator --provider NAME`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProviderKind {
    /// Scaleway Secret Manager v1beta1.
    #[default]
    Scaleway,
    /// OCI Vault secrets, secret bundles and KMS key versions.
    Oci,
    /// Thalassa Cloud Secrets Manager (v1), with its KMS keys and OIDC token endpoint.
    Thalassa,
}

/// Which provider to emulate, with its own settings.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    Scaleway(ScalewayEmulatorConfig),
    Oci(OciEmulatorConfig),
    Thalassa(ThalassaEmulatorConfig),
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self::Scaleway(ScalewayEmulatorConfig::default())
    }
}

impl From<ScalewayEmulatorConfig> for ProviderConfig {
    fn from(config: ScalewayEmulatorConfig) -> Self {
        Self::Scaleway(config)
    }
}

impl From<OciEmulatorConfig> for ProviderConfig {
    fn from(config: OciEmulatorConfig) -> Self {
        Self::Oci(config)
    }
}

impl From<ThalassaEmulatorConfig> for ProviderConfig {
    fn from(config: ThalassaEmulatorConfig) -> Self {
        Self::Thalassa(config)
    }
}

impl ProviderConfig {
    /// The name written in state files, so that one provider never loads another's state.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Scaleway(_) => "scaleway",
            Self::Oci(_) => "oci",
            Self::Thalassa(_) => "thalassa",
        }
    }

    pub fn endpoints(&self) -> &'static [&'static str] {
        match self {
            Self::Scaleway(_) => scaleway::ENDPOINTS,
            Self::Oci(_) => oci::ENDPOINTS,
            Self::Thalassa(_) => thalassa::ENDPOINTS,
        }
    }

    /// Builds the provider on `core`, from a saved state when there is one.
    pub fn start(
        self,
        core: Arc<Core>,
        saved: Option<serde_json::Value>,
    ) -> anyhow::Result<Arc<dyn Provider>> {
        Ok(match self {
            Self::Scaleway(config) => {
                Arc::new(scaleway::ScalewayEmulator::start(core, config, saved)?)
            }
            Self::Oci(config) => Arc::new(oci::OciEmulator::start(core, config, saved)?),
            Self::Thalassa(config) => {
                Arc::new(thalassa::ThalassaEmulator::start(core, config, saved)?)
            }
        })
    }
}
