//! OCI Vault secrets, secret bundles and KMS key versions on the shared emulator core.

pub mod errors;
pub mod model;
pub mod store;
