//! Checks that need neither a cluster nor a provider: the CRDs' CEL rules, the generated CRDs'
//! freshness, and the chart's environment wiring. One binary, so the crate links once.

#[path = "../support/mod.rs"]
mod support;

mod chart_env;
mod crd_cel;
mod crds_fresh;
mod dashboard_metrics;
mod plan_offline;
