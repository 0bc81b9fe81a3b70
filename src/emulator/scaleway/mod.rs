//! Scaleway Secret Manager v1beta1 on the shared [emulator core](crate::emulator::core), held to
//! recorded traffic (`tests/providers/emulator_conformance.rs`) and to the official Python SDK
//! (`tests/providers/scaleway_sdk.rs`).
//!
//! Layout: [`store`] is the state and every operation on it, pure and clock-injected; [`model`] the
//! records and their wire views; [`payload`] the payload checks; [`requests`] body and query parsing;
//! [`routes`] path routing and the endpoint names; [`api`] the request pipeline; [`auth`] the token
//! checks; [`errors`] the API's error shapes.

pub mod account;
pub mod api;
pub mod auth;
pub mod errors;
pub mod model;
pub mod payload;
pub mod requests;
pub mod routes;

use std::sync::{Arc, RwLock};

use axum::Router;
use jiff::Timestamp;
use uuid::Uuid;

pub use account::AccountOptions;
pub use routes::ENDPOINTS;

use super::core::Core;
use super::provider::Provider;
use account::Account;
use auth::AuthPolicy;

/// Scaleway's own settings.
#[derive(Debug, Clone, Default)]
pub struct ScalewayEmulatorConfig {
    /// `(token, project id)` pairs. Empty: lenient mode (any non-empty token, any project).
    pub tokens: Vec<(String, Uuid)>,
    pub account_options: AccountOptions,
}

/// The flags of `keyward emulator` that only Scaleway reads.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Scaleway")]
pub struct ScalewayArgs {
    /// Strict auth: accept only these tokens, each limited to its project (repeatable).
    #[arg(long = "token", value_name = "TOKEN=PROJECT_ID", value_parser = auth::parse_token_flag)]
    pub tokens: Vec<(String, Uuid)>,
    /// Soft-delete secrets that have an ephemeral policy instead of purging them at once (the recorded
    /// behaviour is a 404 right after DELETE).
    #[arg(long)]
    pub soft_delete_ephemeral: bool,
}

impl ScalewayArgs {
    pub fn into_config(self) -> ScalewayEmulatorConfig {
        ScalewayEmulatorConfig {
            tokens: self.tokens,
            account_options: AccountOptions {
                purge_ephemeral_on_delete: !self.soft_delete_ephemeral,
            },
        }
    }
}

/// The Scaleway emulator's state; the handlers share it.
pub struct ScalewayEmulator {
    pub core: Arc<Core>,
    store: RwLock<Account>,
    auth: AuthPolicy,
    options: AccountOptions,
}

impl ScalewayEmulator {
    pub fn start(
        core: Arc<Core>,
        config: ScalewayEmulatorConfig,
        saved: Option<serde_json::Value>,
    ) -> anyhow::Result<Self> {
        let store = match saved {
            None => Account::new(),
            Some(state) => {
                let mut store: Account = serde_json::from_value(state)
                    .map_err(|e| anyhow::anyhow!("state file: not a Scaleway store: {e}"))?;
                store.reindex();
                store
            }
        };
        Ok(Self {
            core,
            store: RwLock::new(store),
            auth: AuthPolicy::strict(config.tokens),
            options: config.account_options,
        })
    }

    pub fn read_store(&self) -> std::sync::RwLockReadGuard<'_, Account> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write_store(&self) -> std::sync::RwLockWriteGuard<'_, Account> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Provider for ScalewayEmulator {
    fn router(self: Arc<Self>) -> Router {
        Router::new().fallback(api::handle).with_state(self)
    }

    /// Applies due expiries and purges (also before every request sees the state).
    fn sweep(&self, now: Timestamp) {
        if self.read_store().sweep_due(now) && self.write_store().sweep(now) {
            self.core.changed();
        }
    }

    fn save(&self) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::to_value(&*self.read_store())?)
    }

    fn secret_count(&self) -> usize {
        self.read_store().len()
    }

    fn api_url(&self, base_url: &str, region: &str) -> String {
        format!("{base_url}{}{region}", routes::API_PREFIX)
    }
}
