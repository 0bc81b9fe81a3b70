//! Keyward: a Kubernetes operator that keeps cloud Secret Manager secrets and native `Secret`s in step.
//!
//! The modules follow the flow of a reconcile (see `README.md`):
//! `api` (CRD types) → `controller` (observe, plan, execute, report) → `provider` (Secret Manager
//! clients behind one trait) and `mirror` (rendering the target Secret); `rotation` decides when and
//! what to generate; `keys` rotates KMS keys (ManagedKey); `emulator` is a local Secret Manager speaking the provider's wire API; `telemetry`
//! sets up logs, metrics and health endpoints.

pub mod api;
pub mod cli;
pub mod controller;
pub mod emulator;
pub mod keys;
pub mod leader;
pub mod mirror;
pub mod provider;
pub mod rollout;
pub mod rotation;
pub mod secret_value;
pub mod shutdown;
pub mod stores;
pub mod telemetry;
