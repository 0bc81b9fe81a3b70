//! OCI Vault secrets, secret bundles and KMS key versions: request signing, configuration, wire
//! types and the low-level HTTP client (one method per endpoint). The `SecretManager` glue sits above
//! this module.
//!
//! Reference: `docs/oci-vault-and-kms-api.md` in the shared docs; referee: the official Python SDK
//! (`tests/providers/oci_sdk.rs`); the client is held to the emulator in `tests/providers/oci_client.rs`.

pub mod client;
pub mod config;
pub mod errors;
pub mod signing;
pub mod wire;

pub use client::{BundleSelector, OciClient, Operation, Page, SecretFilter};
pub use config::{ApiKey, ConfigError, OciConfig, Service};
pub use signing::{KeyId, RequestSigner};
