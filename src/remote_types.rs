//! The remote Secret Manager's own vocabulary, shared by the CRD (`api`), the client (`provider`),
//! the mirror and rotation: one definition each, so the layers cannot drift apart.
//!
//! The emulator keeps its own copies on purpose: it models the remote service independently of
//! this client, so a shared misunderstanding cannot make both sides agree on the wrong thing.

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

/// Which version to read or act on, as the Scaleway API accepts it in URLs and Terraform IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevisionSelector {
    /// A revision number (1-based, never reused).
    Number(u64),
    /// The highest revision, whatever its status.
    Latest,
    /// The highest enabled revision.
    LatestEnabled,
}

impl fmt::Display for RevisionSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevisionSelector::Number(n) => write!(f, "{n}"),
            RevisionSelector::Latest => f.write_str("latest"),
            RevisionSelector::LatestEnabled => f.write_str("latest_enabled"),
        }
    }
}

impl FromStr for RevisionSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "latest" => Ok(Self::Latest),
            "latest_enabled" => Ok(Self::LatestEnabled),
            _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') => s
                .parse()
                .map(Self::Number)
                .map_err(|_| format!("revision {s:?} is too large")),
            _ => Err(format!(
                "revision {s:?} must be a number from 1, latest or latest_enabled"
            )),
        }
    }
}

/// Longest Thalassa secret path.
pub const MAX_THALASSA_PATH: usize = 512;

/// Whether `path` is a Thalassa secret path (its docs' rules: a leading `/`, 1 to 512 of
/// `A–Z a–z 0–9 / _ - . +`, no trailing `/`, no `//`), and has no `.` or `..` segment (which a URL
/// would resolve into another route).
pub fn is_thalassa_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && path.len() <= MAX_THALASSA_PATH
        && !path.ends_with('/')
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-.+".contains(&b))
        && !path.split('/').any(|s| s == "." || s == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thalassa_paths() {
        for ok in ["/a", "/app/prod/db", "/a+b/c.d_e-f", "/.hidden"] {
            assert!(is_thalassa_path(ok), "{ok}");
        }
        let long = format!("/{}", "a".repeat(MAX_THALASSA_PATH));
        for bad in [
            "", "/", "a", "/a/", "/a//b", "/a?x=1", "/a#f", "/a b", "/a/../b", "/.", "/x%2F", &long,
        ] {
            assert!(!is_thalassa_path(bad), "{bad}");
        }
    }

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

    #[test]
    fn revision_selectors_parse_and_print_alike() {
        for (text, want) in [
            ("1", Ok(RevisionSelector::Number(1))),
            ("42", Ok(RevisionSelector::Number(42))),
            ("latest", Ok(RevisionSelector::Latest)),
            ("latest_enabled", Ok(RevisionSelector::LatestEnabled)),
        ] {
            assert_eq!(text.parse::<RevisionSelector>(), want);
            assert_eq!(want.unwrap().to_string(), text);
        }
        for bad in ["", "0", "01", "-1", "Latest", "99999999999999999999999"] {
            assert!(bad.parse::<RevisionSelector>().is_err(), "{bad}");
        }
    }
}
