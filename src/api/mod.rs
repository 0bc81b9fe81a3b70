//! CRD types: ManagedSecret, SecretStore, ClusterSecretStore. (Skeleton: filled in by the API work.)

/// Arguments of `keyward crd`.
#[derive(clap::Args, Debug)]
pub struct CrdArgs {}

/// `keyward crd`: print the CRDs.
pub fn crd_command(_args: CrdArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
