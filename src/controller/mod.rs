//! The controller: observe, plan, execute, report.
//!
//! - [`intent`]: a ManagedSecret spec resolved and checked (`InvalidSpec` otherwise);
//! - [`schedule`]: whether a generated value rotates now;
//! - [`plan`]: the pure planner (table-tested);

pub mod intent;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod schedule;
pub mod store;
pub mod target;
pub mod values;

/// Arguments of `keyward run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {}

/// `keyward run`: run the operator.
pub async fn run(_args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
