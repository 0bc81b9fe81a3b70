//! Rotation that reaches workloads: after a new revision is in the target Secret, restart the
//! workloads that consume it, confirm that their rollouts finished, and then retire the versions
//! it superseded.
//!
//! - [`workload`]: a Deployment, StatefulSet or DaemonSet as the pipeline sees it (pure);
//! - [`consumers`]: which ManagedSecrets feed which workload, and the restart annotation's value;
//! - [`limiter`]: the cluster-wide restart limit;
//! - [`pipeline`]: the pure decision of one reconcile (stages, restarts, confirmation);
//! - [`retire`]: the pure retirement decision (disable after grace, remove after retention);
//! - [`apply`]: the reads and writes (workloads, the provider's versions).

pub mod apply;
pub mod consumers;
pub mod limiter;
pub mod pipeline;
pub mod retire;
pub mod workload;

#[cfg(test)]
mod tests;
