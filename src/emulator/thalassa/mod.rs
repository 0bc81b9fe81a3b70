//! Thalassa Cloud Secrets Manager (with the KMS parts it depends on and the OIDC token endpoint) on
//! the shared [emulator core](crate::emulator::core), after the reference
//! `shared/docs/thalassa-secrets-manager-api.md` (the public docs and the official Go SDK's wire
//! code; no recorded traffic exists). Every choice the reference leaves open is marked UNCONFIRMED
//! where it is made.
//!
//! Layout: [`store`] is the state and every operation on it, pure and clock-injected; [`model`] the
//! records and their JSON views; [`requests`] path, body and query parsing; [`policy`] access
//! policies; [`routes`] path routing and the endpoint names; [`auth`] tokens; [`api`] the request
//! pipeline; [`admin`] `/emulator/thalassa/...`; [`errors`] the API's error shape.

pub mod account;
pub mod admin;
pub mod api;
pub mod auth;
pub mod errors;
pub mod model;
pub mod policy;
pub mod requests;
pub mod routes;

use std::sync::{Arc, RwLock};

use axum::Router;
use jiff::{SignedDuration, Timestamp};

pub use auth::OidcClient;
pub use routes::ENDPOINTS;

use super::core::Core;
use super::provider::Provider;
use account::{Account, NewKey};
use auth::Auth;

/// The region served unless others are configured.
pub const DEFAULT_REGION: &str = "nl-01";
/// The KMS key seeded in [`DEFAULT_REGION`] unless others are configured: an active
/// `aes256-gcm96` key every organisation may use.
pub const DEFAULT_KEY: &str = "kms-default";

/// Thalassa's own settings.
#[derive(Debug, Clone)]
pub struct ThalassaEmulatorConfig {
    /// Region slugs served, KMS available in each. Others are 404.
    pub regions: Vec<String>,
    /// `(personal access token, organisation)`. With `clients`, empty means lenient mode (any
    /// non-empty credential, any organisation).
    pub personal_tokens: Vec<(String, String)>,
    pub clients: Vec<OidcClient>,
    /// How long issued access tokens live, on the emulator's clock.
    pub token_lifetime: SignedDuration,
    /// `(identity, region)` of the active symmetric keys seeded into a fresh state.
    pub keys: Vec<(String, String)>,
}

impl Default for ThalassaEmulatorConfig {
    fn default() -> Self {
        Self {
            regions: vec![DEFAULT_REGION.into()],
            personal_tokens: Vec::new(),
            clients: Vec::new(),
            token_lifetime: auth::DEFAULT_TOKEN_LIFETIME,
            keys: vec![(DEFAULT_KEY.into(), DEFAULT_REGION.into())],
        }
    }
}

/// The flags of `keyward emulator` that only Thalassa reads.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Thalassa")]
pub struct ThalassaArgs {
    /// A region to serve (repeatable; default nl-01).
    #[arg(long = "thalassa-region", value_name = "SLUG")]
    pub regions: Vec<String>,
    /// Strict auth: accept this personal access token, for its organisation only (repeatable).
    #[arg(long = "thalassa-token", value_name = "TOKEN=ORGANISATION", value_parser = auth::parse_token_flag)]
    pub personal_tokens: Vec<(String, String)>,
    /// Strict auth: accept this OIDC client at /oidc/token, for its organisation only (repeatable).
    #[arg(long = "thalassa-client", value_name = "ID:SECRET=ORGANISATION", value_parser = auth::parse_client_flag)]
    pub clients: Vec<OidcClient>,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(
        long = "thalassa-token-lifetime",
        value_name = "SECONDS",
        default_value_t = 3600
    )]
    pub token_lifetime_secs: u64,
    /// Seed an active KMS key (repeatable; replaces the default kms-default@nl-01).
    #[arg(long = "thalassa-kms-key", value_name = "IDENTITY[@REGION]")]
    pub keys: Vec<String>,
}

impl ThalassaArgs {
    pub fn into_config(self) -> ThalassaEmulatorConfig {
        let defaults = ThalassaEmulatorConfig::default();
        let regions = if self.regions.is_empty() {
            defaults.regions
        } else {
            self.regions
        };
        let keys = if self.keys.is_empty() {
            defaults.keys
        } else {
            self.keys
                .into_iter()
                .map(|k| match k.split_once('@') {
                    Some((id, region)) => (id.to_string(), region.to_string()),
                    None => (k, regions[0].clone()),
                })
                .collect()
        };
        ThalassaEmulatorConfig {
            regions,
            personal_tokens: self.personal_tokens,
            clients: self.clients,
            token_lifetime: SignedDuration::from_secs(
                i64::try_from(self.token_lifetime_secs).unwrap_or(i64::MAX),
            ),
            keys,
        }
    }
}

/// The Thalassa emulator's state; the handlers share it.
pub struct ThalassaEmulator {
    pub core: Arc<Core>,
    store: RwLock<Account>,
    auth: Auth,
}

impl ThalassaEmulator {
    pub fn start(
        core: Arc<Core>,
        config: ThalassaEmulatorConfig,
        saved: Option<serde_json::Value>,
    ) -> anyhow::Result<Self> {
        let store = match saved {
            Some(state) => {
                let mut store: Account = serde_json::from_value(state)
                    .map_err(|e| anyhow::anyhow!("state file: not a Thalassa store: {e}"))?;
                for region in &config.regions {
                    store.ensure_region(region);
                }
                store
            }
            None => {
                let mut store = Account::new(config.regions.iter().cloned());
                let now = core.clock.now();
                for (identity, region) in &config.keys {
                    store.ensure_region(region);
                    store
                        .create_key(
                            NewKey {
                                identity: Some(identity.clone()),
                                name: identity.clone(),
                                region: region.clone(),
                                key_type: "aes256-gcm96".into(),
                                ..NewKey::default()
                            },
                            now,
                        )
                        .map_err(|e| {
                            anyhow::anyhow!("seeding KMS key {identity}: {}", e.message())
                        })?;
                }
                store
            }
        };
        Ok(Self {
            auth: Auth::new(
                config.personal_tokens,
                config.clients,
                config.token_lifetime,
            ),
            core,
            store: RwLock::new(store),
        })
    }

    pub fn read_store(&self) -> std::sync::RwLockReadGuard<'_, Account> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write_store(&self) -> std::sync::RwLockWriteGuard<'_, Account> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies due key deletions (also before every request sees the state).
    fn sweep_at(&self, now: Timestamp) {
        if self.read_store().sweep_due(now) && self.write_store().sweep(now) {
            self.core.changed();
        }
    }
}

impl Provider for ThalassaEmulator {
    fn router(self: Arc<Self>) -> Router {
        admin::router().fallback(api::handle).with_state(self)
    }

    fn sweep(&self, now: Timestamp) {
        self.sweep_at(now);
    }

    fn save(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::to_value(&*self.read_store())?)
    }

    fn secret_count(&self) -> usize {
        self.read_store().len()
    }

    /// `{base}/v1/secrets/{region}`; a secret's URL appends `/secret{path}`.
    fn api_url(&self, base_url: &str, region: &str) -> String {
        format!("{base_url}{}{region}", routes::SECRETS_PREFIX)
    }
}
