//! The `SecretManager` trait the controller talks to, its error kinds, and one module per provider.

pub mod scaleway;
