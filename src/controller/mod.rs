//! The kube-runtime Controller: observe, plan, execute, report. (Skeleton.)

/// Arguments of `keyward run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {}

/// `keyward run`: run the operator.
pub async fn run(_args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
