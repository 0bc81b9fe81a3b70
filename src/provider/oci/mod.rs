//! OCI Vault secrets, secret bundles and KMS key versions: request signing, configuration, wire
//! types and the low-level HTTP client (one method per endpoint); [`secrets`] is the
//! `SecretManager` of one vault, [`connect`] a store's connection.
//!
//! Reference: `docs/oci-vault-and-kms-api.md` in the shared docs; referee: the official Python SDK
//! (`tests/providers/oci_sdk.rs`); the client is held to the emulator in `tests/providers/oci_client.rs`.

pub mod client;
pub mod config;
pub mod connect;
pub mod errors;
pub mod keys;
pub mod names;
pub mod secrets;
pub mod signing;
pub mod wire;

pub use client::{BundleSelector, OciClient, Operation, Page, SecretFilter};
pub use config::{ApiKey, ConfigError, OciConfig, Service};
pub use keys::OciKeys;
pub use secrets::{CAPABILITIES, OciSecrets};
pub use signing::{KeyId, RequestSigner};
