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
pub mod turnstile;

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
    /// Tenancy-wide write turnstiles, by provider and tenancy: every identity of one tenancy
    /// takes turns at the same one for its tenancy writes (OCI: KMS management writes).
    tenancies: Tenancies,
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
            tenancies: Tenancies::default(),
            wake,
            metrics,
            mode,
            endpoints,
        }
    }

    pub fn endpoints(&self) -> &EndpointPolicy {
        &self.endpoints
    }

    /// Whether every client made here refuses writes (`keyward plan` and `status`).
    pub fn read_only(&self) -> bool {
        self.mode.read_only
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
        let mut budget = Budget::new(settings).with_observer(Arc::new(BudgetMetrics {
            metrics: self.metrics.clone(),
            store: label.to_owned(),
        }));
        if let Some(turnstile) = self.tenancies.turnstile(&connection, self.mode) {
            budget = budget.with_tenancy(turnstile);
        }
        let budget = Arc::new(budget);
        let observer = self.call_observer(label);
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

    /// Counts a client's provider calls under the store `label` (the metric every call goes to).
    pub fn call_observer(&self, label: &str) -> Arc<dyn CallObserver> {
        Arc::new(StoreCalls {
            metrics: self.metrics.clone(),
            store: label.to_owned(),
        })
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

/// One turnstile per provider and tenancy, made on first use and never dropped (a tenancy's
/// limit outlives any one store of it).
#[derive(Default)]
pub struct Tenancies(Mutex<HashMap<(&'static str, String), Arc<turnstile::Turnstile>>>);

impl Tenancies {
    /// The turnstile `connection`'s tenancy writes take turns at, if its provider throttles a
    /// tenancy; none in the naive baseline, which has no budget at all.
    pub fn turnstile(
        &self,
        connection: &Connection,
        mode: RuntimeMode,
    ) -> Option<Arc<turnstile::Turnstile>> {
        let tenancy = connection.identity.tenancy.clone()?;
        let per_second = connection.tenancy_writes_per_second?;
        if !mode.batched {
            return None;
        }
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let turnstile = all
            .entry((connection.identity.provider, tenancy))
            .or_insert_with(|| Arc::new(turnstile::Turnstile::per_second(per_second)));
        Some(turnstile.clone())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderError;

    fn connection(tenancy: Option<&str>, credential: &str) -> Connection {
        Connection {
            identity: StoreIdentity {
                provider: "oci",
                endpoint: "https://vaults.example".into(),
                region: "r".into(),
                scope: "c/v".into(),
                credential: CredentialDigest::of(&[credential.as_bytes()]),
                tenancy: tenancy.map(str::to_string),
            },
            region: "r".into(),
            endpoints: vec![],
            default_budget: (10, 5),
            tenancy_writes_per_second: Some(10),
            build: Box::new(|_, _| Err(ProviderError::unsupported("oci", "build"))),
        }
    }

    #[test]
    fn identities_of_one_tenancy_share_its_turnstile_and_no_other() {
        let budgets = Tenancies::default();
        let batched = RuntimeMode::default();
        let a = budgets
            .turnstile(&connection(Some("t1"), "user-a"), batched)
            .unwrap();
        let b = budgets
            .turnstile(&connection(Some("t1"), "user-b"), batched)
            .unwrap();
        let c = budgets
            .turnstile(&connection(Some("t2"), "user-a"), batched)
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one tenancy, one turnstile");
        assert!(!Arc::ptr_eq(&a, &c), "another tenancy, another turnstile");
        assert!(
            budgets
                .turnstile(&connection(None, "user-a"), batched)
                .is_none()
        );
        let naive = RuntimeMode {
            batched: false,
            ..RuntimeMode::default()
        };
        assert!(
            budgets
                .turnstile(&connection(Some("t1"), "user-a"), naive)
                .is_none()
        );
    }
}
