//! Store runtimes: one per provider identity (see [`runtime`]), built on demand by [`Runtimes`]
//! from a resolved store ([`resolve`]) and shared by every object that uses that identity. Nothing
//! in a runtime (client and connection pool, budget, sweep, caches, health) is ever consulted on
//! behalf of another identity.

pub mod budget;
pub mod endpoints;
pub mod health;
pub mod identity;
pub mod payloads;
pub mod resolve;
pub mod runtime;
pub mod snapshot;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

pub use budget::{Budget, BudgetSettings};
pub use endpoints::EndpointPolicy;
pub use identity::{CredentialDigest, StoreIdentity};
pub use resolve::{ResolvedStore, StoreProblem, resolve_store};
pub use runtime::{Interest, Lookup, ObjectKey, RuntimeMode, StoreRuntime};

use crate::api::RequestBudget;
use crate::provider::registry::Connection;
use crate::provider::{CallObserver, ProviderCall};
use crate::telemetry::Metrics;

/// How long a call waits for its turn in the budget before its object requeues instead.
pub const MAX_BUDGET_WAIT: Duration = Duration::from_secs(2);
/// Requests in flight at once per identity.
pub const CONCURRENCY_PER_STORE: u32 = 16;

/// Every runtime, by identity.
pub struct Runtimes {
    by_identity: Mutex<HashMap<StoreIdentity, Arc<StoreRuntime>>>,
    wake: mpsc::UnboundedSender<ObjectKey>,
    metrics: Metrics,
    mode: RuntimeMode,
    endpoints: EndpointPolicy,
}

impl Runtimes {
    /// Runtimes that wake objects through `wake` when their remote secret changes.
    pub fn new(
        wake: mpsc::UnboundedSender<ObjectKey>,
        metrics: Metrics,
        mode: RuntimeMode,
        endpoints: EndpointPolicy,
    ) -> Self {
        Self {
            by_identity: Mutex::default(),
            wake,
            metrics,
            mode,
            endpoints,
        }
    }

    pub fn endpoints(&self) -> &EndpointPolicy {
        &self.endpoints
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StoreIdentity, Arc<StoreRuntime>>> {
        self.by_identity.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The runtime of `connection`'s identity, made on first use with the store's budget (or the
    /// provider's default). Stores sharing an identity share the budget of the first one seen.
    pub fn runtime(
        &self,
        connection: Connection,
        budget: Option<RequestBudget>,
        label: &str,
    ) -> Result<Arc<StoreRuntime>, String> {
        if let Some(found) = self.lock().get(&connection.identity) {
            return Ok(found.clone());
        }
        let settings = match self.mode.batched {
            false => BudgetSettings::unlimited(),
            true => {
                let (rps, burst) = budget
                    .map(|b| (b.requests_per_second, b.burst.unwrap_or(10)))
                    .unwrap_or(connection.default_budget);
                BudgetSettings {
                    per_second: f64::from(rps),
                    burst,
                    max_wait: MAX_BUDGET_WAIT,
                    concurrency: CONCURRENCY_PER_STORE,
                }
            }
        };
        let budget = Arc::new(Budget::new(settings).with_observer(Arc::new(BudgetMetrics {
            metrics: self.metrics.clone(),
            store: label.to_owned(),
        })));
        let observer: Arc<dyn CallObserver> = Arc::new(StoreCalls {
            metrics: self.metrics.clone(),
            store: label.to_owned(),
        });
        let mut client = (connection.build)(budget.clone(), observer).map_err(|e| e.to_string())?;
        if self.mode.read_only {
            client = Arc::new(crate::provider::read_only::ReadOnly(client));
        }
        let runtime = StoreRuntime::new(
            connection.identity.clone(),
            label.to_owned(),
            client,
            budget,
            self.mode,
            self.wake.clone(),
            self.metrics.clone(),
        );
        let mut all = self.lock();
        // Another reconcile may have made it meanwhile: keep the first.
        Ok(all.entry(connection.identity).or_insert(runtime).clone())
    }

    /// The runtime `key` last used, if this process still has it.
    pub fn runtime_of(&self, key: &ObjectKey) -> Option<Arc<StoreRuntime>> {
        self.lock().values().find(|rt| rt.serves(key)).cloned()
    }

    /// Every runtime now (for `keyward status` figures and the budget gauge).
    pub fn all(&self) -> Vec<Arc<StoreRuntime>> {
        self.lock().values().cloned().collect()
    }

    /// Drops runtimes no object uses any more (their sweep stops with them).
    pub fn drop_unused(&self) {
        self.lock()
            .retain(|_, rt| rt.objects() > 0 || Arc::strong_count(rt) > 1);
    }
}

/// Budget waits and refusals by store.
struct BudgetMetrics {
    metrics: Metrics,
    store: String,
}

impl budget::BudgetObserver for BudgetMetrics {
    fn admitted(&self, waited: Duration, tokens: f64) {
        self.metrics.budget_admitted(&self.store, waited, tokens);
    }
    fn refused(&self, _wait: Duration, tokens: f64) {
        self.metrics.budget_refused(&self.store, tokens);
    }
}

/// Provider calls counted by store, operation and outcome.
struct StoreCalls {
    metrics: Metrics,
    store: String,
}

impl CallObserver for StoreCalls {
    fn observe(&self, call: &ProviderCall) {
        self.metrics.provider_call(
            &self.store,
            call.provider,
            call.operation,
            call.outcome,
            call.elapsed,
        );
    }
}
