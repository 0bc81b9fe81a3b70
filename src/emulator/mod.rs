//! A local Scaleway Secret Manager (v1beta1) speaking the real wire API. (Skeleton.)

/// Arguments of `keyward emulator`.
#[derive(clap::Args, Debug)]
pub struct EmulatorArgs {}

/// `keyward emulator`: serve until interrupted.
pub async fn serve_command(_args: EmulatorArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
