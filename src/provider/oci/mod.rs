//! OCI Vault secrets, secret bundles and KMS key versions: request signing, configuration, wire
//! types and the low-level HTTP client (one method per endpoint). The `SecretManager` glue sits above
//! this module.
//!
//! Reference: `docs/oci-vault-and-kms-api.md` in the shared docs; referee: the official Python SDK
//! (`tests/providers/oci_sdk.rs`).

pub mod signing;
