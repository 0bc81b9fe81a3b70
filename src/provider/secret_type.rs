//! Scaleway's secret types, the vocabulary the CRD (`spec.remote.type`), the client and the mirror
//! share: one definition, so the layers cannot drift apart. (The emulators keep their own copies on
//! purpose: they model the service independently of this client.)

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Scaleway secret type (decides the payload format; immutable).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretType {
    /// Any bytes.
    #[default]
    Opaque,
    /// One or more concatenated PEM blocks.
    Certificate,
    /// A flat JSON object of strings.
    KeyValue,
    /// JSON `{"username", "password"}`.
    BasicCredentials,
    /// JSON `{"engine", "username", "password", "host", "dbname", "port"}`.
    DatabaseCredentials,
    /// JSON `{"ssh_private_key"}`.
    SshKey,
}

impl SecretType {
    pub const ALL: [SecretType; 6] = [
        Self::Opaque,
        Self::Certificate,
        Self::KeyValue,
        Self::BasicCredentials,
        Self::DatabaseCredentials,
        Self::SshKey,
    ];

    /// The name on the wire and in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Certificate => "certificate",
            Self::KeyValue => "key_value",
            Self::BasicCredentials => "basic_credentials",
            Self::DatabaseCredentials => "database_credentials",
            Self::SshKey => "ssh_key",
        }
    }

    /// Whether the payload is a flat JSON object of string values (as opposed to raw bytes).
    /// `ssh_key` is one: Scaleway stores it as `{"ssh_private_key": ...}`.
    pub fn is_keyed(self) -> bool {
        !matches!(self, Self::Opaque | Self::Certificate)
    }

    /// Keys the payload must contain (empty when any keys are fine).
    pub fn required_keys(self) -> &'static [&'static str] {
        match self {
            Self::Opaque | Self::Certificate | Self::KeyValue => &[],
            Self::BasicCredentials => &["username", "password"],
            Self::DatabaseCredentials => {
                &["engine", "username", "password", "host", "dbname", "port"]
            }
            Self::SshKey => &["ssh_private_key"],
        }
    }
}

impl fmt::Display for SecretType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown secret type; expected one of opaque, certificate, key_value, basic_credentials, database_credentials, ssh_key"
)]
pub struct UnknownSecretType;

impl FromStr for SecretType {
    type Err = UnknownSecretType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownSecretType)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_type_names_round_trip_through_text_and_serde() {
        for t in SecretType::ALL {
            assert_eq!(t.as_str().parse::<SecretType>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<SecretType>(&json).unwrap(), t);
        }
        assert_eq!("unknown_type".parse::<SecretType>(), Err(UnknownSecretType));
        assert_eq!(SecretType::default(), SecretType::Opaque);
    }

    #[test]
    fn keyed_types_and_their_required_keys() {
        let rows: [(SecretType, bool, &[&str]); 6] = [
            (SecretType::Opaque, false, &[]),
            (SecretType::Certificate, false, &[]),
            (SecretType::KeyValue, true, &[]),
            (
                SecretType::BasicCredentials,
                true,
                &["username", "password"],
            ),
            (
                SecretType::DatabaseCredentials,
                true,
                &["engine", "username", "password", "host", "dbname", "port"],
            ),
            (SecretType::SshKey, true, &["ssh_private_key"]),
        ];
        for (t, keyed, required) in rows {
            assert_eq!(t.is_keyed(), keyed, "{t}");
            assert_eq!(t.required_keys(), required, "{t}");
        }
    }
}
