//! OCI Vault secrets, secret bundles and KMS key versions on the shared
//! [emulator core](crate::emulator::core), held to the official Python SDK
//! (`tests/providers/oci_sdk.rs`) and to Keyward's OCI client (`tests/providers/oci_client.rs`).
//!
//! One server answers the three APIs side by side (vault management and KMS management under
//! `/20180608`, secret retrieval under `/20190301`): the SDK's clients all take
//! `service_endpoint=http://127.0.0.1:PORT`.
//!
//! Layout: [`store`] is the state and every operation on it, pure and clock-injected; [`model`] the
//! records, stage rules and wire views; [`routes`] path routing and endpoint names; [`auth`] the
//! request signature check; [`api`] the request pipeline; [`admin`] `/emulator/oci/...` (seeding,
//! settings, the key switch); [`errors`] the API's error shape.
//!
//! Choices where the reference says UNCONFIRMED are commented `UNCONFIRMED` where they are made.

pub mod account;
pub mod admin;
pub mod api;
pub mod auth;
pub mod errors;
pub mod model;
pub mod routes;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::Router;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use account::{Limits, Seed, Seeded};
pub use routes::ENDPOINTS;

use super::core::Core;
use super::faults::RateLimiter;
use super::provider::Provider;
use account::Account;

/// The KMS management write budget per tenancy [SEED].
pub const DEFAULT_WRITES_PER_SECOND: u32 = 10;
pub const DEFAULT_REGION: &str = "eu-frankfurt-1";

/// What can change while the emulator runs (`GET`/`PUT /emulator/oci/settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct OciSettings {
    pub limits: Limits,
    /// KMS management writes per second per tenancy, shared by all its users and keys, before 429
    /// TooManyRequests [SEED]; `None` turns the budget off.
    pub management_writes_per_second: Option<u32>,
    /// The same for Vault secret writes (CreateSecret, UpdateSecret, the scheduling actions).
    /// UNCONFIRMED: no limit is documented; off by default.
    pub secret_writes_per_second: Option<u32>,
    /// Strict (the default): every request must be signed by a registered API key. Lenient: only the
    /// key id is read, for the tenancy.
    pub verify_signatures: bool,
}

impl Default for OciSettings {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            management_writes_per_second: Some(DEFAULT_WRITES_PER_SECOND),
            secret_writes_per_second: None,
            verify_signatures: true,
        }
    }
}

impl OciSettings {
    pub fn validate(&self) -> Result<(), String> {
        if self.management_writes_per_second == Some(0) || self.secret_writes_per_second == Some(0)
        {
            return Err("write budgets must be positive (null turns them off)".into());
        }
        if self.limits.max_versions_in_use == 0 || self.limits.max_content_bytes == 0 {
            return Err("limits must be positive".into());
        }
        Ok(())
    }
}

/// OCI's own settings.
#[derive(Debug, Clone, Default)]
pub struct OciEmulatorConfig {
    /// Region in generated OCIDs.
    pub region: Option<String>,
    /// API keys, compartments, vaults and keys to create at start (on top of a saved state).
    pub seed: Seed,
    pub settings: OciSettings,
}

/// The flags of `keyward emulator` that only OCI reads.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "OCI")]
pub struct OciArgs {
    /// JSON file with API keys, compartments, vaults and keys to create at start (the body of
    /// `POST /emulator/oci/seed`).
    #[arg(long = "oci-seed", value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Region in generated OCIDs.
    #[arg(long = "oci-region", default_value = DEFAULT_REGION)]
    pub region: String,
    /// How long a secret or key stays CREATING/UPDATING/... after a write, in milliseconds (0: none).
    #[arg(long = "oci-updating-window-ms", default_value_t = Limits::default().updating_window_ms)]
    pub updating_window_ms: u64,
    /// KMS management writes per second per tenancy before 429 (0 turns the budget off).
    #[arg(long = "oci-write-rate-limit", default_value_t = DEFAULT_WRITES_PER_SECOND)]
    pub write_rate_limit: u32,
    /// Vault secret writes per second per tenancy before 429 (0, the default, turns it off).
    #[arg(long = "oci-secret-write-rate-limit", default_value_t = 0)]
    pub secret_write_rate_limit: u32,
    /// Accept unsigned or unverifiable requests (only the key id is read).
    #[arg(long = "oci-lenient-signatures")]
    pub lenient_signatures: bool,
}

impl OciArgs {
    pub fn into_config(self) -> anyhow::Result<OciEmulatorConfig> {
        let seed = match &self.seed {
            None => Seed::default(),
            Some(path) => {
                let bytes = std::fs::read(path)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| anyhow::anyhow!("{} is not an OCI seed: {e}", path.display()))?
            }
        };
        Ok(OciEmulatorConfig {
            region: Some(self.region),
            seed,
            settings: OciSettings {
                limits: Limits {
                    updating_window_ms: self.updating_window_ms,
                    ..Limits::default()
                },
                management_writes_per_second: (self.write_rate_limit > 0)
                    .then_some(self.write_rate_limit),
                secret_writes_per_second: (self.secret_write_rate_limit > 0)
                    .then_some(self.secret_write_rate_limit),
                verify_signatures: !self.lenient_signatures,
            },
        })
    }
}

/// The OCI emulator's state; the handlers share it.
pub struct OciEmulator {
    pub core: Arc<Core>,
    store: RwLock<Account>,
    settings: RwLock<OciSettings>,
    /// The per-tenancy management write budgets (keyed `kms:TENANCY`, `vault:TENANCY`).
    budgets: RateLimiter,
}

impl OciEmulator {
    pub fn start(
        core: Arc<Core>,
        config: OciEmulatorConfig,
        saved: Option<serde_json::Value>,
    ) -> anyhow::Result<Self> {
        config
            .settings
            .validate()
            .map_err(|e| anyhow::anyhow!("OCI settings: {e}"))?;
        let region = config.region.as_deref().unwrap_or(DEFAULT_REGION);
        let mut store = match saved {
            None => Account::new(region),
            Some(state) => serde_json::from_value(state)
                .map_err(|e| anyhow::anyhow!("state file: not an OCI store: {e}"))?,
        };
        store
            .seed(config.seed, core.clock.now())
            .map_err(|e| anyhow::anyhow!("OCI seed: {e}"))?;
        Ok(Self {
            core,
            store: RwLock::new(store),
            settings: RwLock::new(config.settings),
            budgets: RateLimiter::default(),
        })
    }

    pub fn read_store(&self) -> std::sync::RwLockReadGuard<'_, Account> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write_store(&self) -> std::sync::RwLockWriteGuard<'_, Account> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn settings(&self) -> OciSettings {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_settings(&self, settings: OciSettings) -> Result<(), String> {
        settings.validate()?;
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = settings;
        Ok(())
    }
}

impl Provider for OciEmulator {
    fn router(self: Arc<Self>) -> Router {
        admin::router().fallback(api::handle).with_state(self)
    }

    /// Settles ended write windows and applies due deletions (also before every request).
    fn sweep(&self, now: Timestamp) {
        if self.read_store().sweep_due(now) && self.write_store().sweep(now) {
            self.core.changed();
        }
    }

    fn save(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::to_value(&*self.read_store())?)
    }

    fn secret_count(&self) -> usize {
        self.read_store().secret_count()
    }

    /// The SDK's `service_endpoint` for all three clients: the server itself (the clients append
    /// their base paths).
    fn api_url(&self, base_url: &str, _region: &str) -> String {
        base_url.to_string()
    }
}
