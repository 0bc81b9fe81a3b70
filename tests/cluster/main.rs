//! Tests on the local Kubernetes control plane (tests/controlplane): admission of the CRDs,
//! the chart and RBAC on a real API server, leader election, and the operator end to end as the
//! `keyward run` binary with the emulators on loopback. One binary, so the crate links once.

#[path = "../support/mod.rs"]
mod support;

mod admit_crds;
mod chart_cluster;
mod chart_drift_key;
mod controlplane_smoke;
mod e2e_controller;
mod e2e_discipline;
mod e2e_isolation;
mod e2e_keys;
mod e2e_oci;
mod e2e_operator_ha;
mod e2e_plan;
mod e2e_rollout;
mod e2e_runtime;
mod examples_valid;
mod leader_election;
mod rbac_coverage;
