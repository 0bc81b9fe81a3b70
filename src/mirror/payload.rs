//! Reading a revision's payload as named entries, according to the remote secret's type.
//!
//! Scaleway's `key_value`, `basic_credentials`, `database_credentials` and `ssh_key` payloads are
//! flat JSON objects with string values (the API refuses nested objects; `ssh_key` is
//! `{"ssh_private_key": ...}`); their keys become the target Secret's keys, the same keys a push
//! reads from its source Secret. `opaque` and `certificate` are one blob under one key, `value`
//! unless configured.

use crate::provider::SecretType;
use crate::secret_value::SecretValue;
use std::collections::BTreeMap;

/// The key a single-value payload is mirrored under when none is configured.
pub const DEFAULT_SINGLE_KEY: &str = "value";

/// Whether `key` may be a key of a Kubernetes Secret's `data`: non-empty, at most 253 characters of
/// letters, digits, `-`, `_` and `.` (the API server's rule for config keys).
pub fn is_valid_secret_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// How a payload splits into named entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadFormat {
    /// The whole payload under one key.
    Single { key: String },
    /// A flat JSON object of strings: one entry per key.
    JsonObject,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error(
        "target key for a single-value payload is not a valid Secret key (letters, digits, '-', '_' and '.', at most 253 characters)"
    )]
    InvalidSingleKey,
    #[error("a single-value key was configured, but secret type {0} holds a JSON object")]
    SingleKeyForJsonType(SecretType),
    /// Only the position is kept from the JSON parser: its messages can quote payload bytes.
    #[error("payload is not valid JSON (line {line}, column {column})")]
    NotJson { line: usize, column: usize },
    #[error("payload is JSON but not an object")]
    NotAnObject,
    #[error("payload key {key:?} does not hold a string (nested values are not supported)")]
    NonStringValue { key: String },
}

impl PayloadFormat {
    /// The format for a secret type; `single_key` names the Secret key for single-value types.
    pub fn for_type(
        secret_type: SecretType,
        single_key: Option<&str>,
    ) -> Result<Self, PayloadError> {
        match (secret_type.is_keyed(), single_key) {
            (true, None) => Ok(Self::JsonObject),
            (true, Some(_)) => Err(PayloadError::SingleKeyForJsonType(secret_type)),
            (false, key) => {
                let key = key.unwrap_or(DEFAULT_SINGLE_KEY);
                if !is_valid_secret_key(key) {
                    return Err(PayloadError::InvalidSingleKey);
                }
                Ok(Self::Single {
                    key: key.to_owned(),
                })
            }
        }
    }
}

/// The payload's named entries. Values stay bytes: a single-value payload need not be UTF-8.
/// Keys of a JSON payload are returned as they are; whether they are valid Secret keys matters only
/// when they are mirrored without a template, and is checked there.
pub fn payload_entries(
    payload: &SecretValue,
    format: &PayloadFormat,
) -> Result<BTreeMap<String, Vec<u8>>, PayloadError> {
    match format {
        PayloadFormat::Single { key } => {
            Ok(BTreeMap::from([(key.clone(), payload.expose().to_vec())]))
        }
        PayloadFormat::JsonObject => {
            let value: serde_json::Value =
                serde_json::from_slice(payload.expose()).map_err(|e| PayloadError::NotJson {
                    line: e.line(),
                    column: e.column(),
                })?;
            let serde_json::Value::Object(object) = value else {
                return Err(PayloadError::NotAnObject);
            };
            object
                .into_iter()
                .map(|(key, value)| match value {
                    serde_json::Value::String(s) => Ok((key, s.into_bytes())),
                    _ => Err(PayloadError::NonStringValue { key }),
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_rule() {
        for ok in ["value", "tls.crt", ".dockerconfigjson", "a-b_c.d", "X9"] {
            assert!(is_valid_secret_key(ok), "{ok:?}");
        }
        let long = "a".repeat(254);
        for bad in ["", "a b", "a/b", "ключ", "a:b", long.as_str()] {
            assert!(!is_valid_secret_key(bad), "{bad:?}");
        }
        assert!(is_valid_secret_key(&"a".repeat(253)));
    }

    #[test]
    fn format_for_type_table() {
        use PayloadFormat as F;
        let single = |k: &str| Ok(F::Single { key: k.to_owned() });
        let cases: &[(
            SecretType,
            Option<&str>,
            Result<PayloadFormat, PayloadError>,
        )] = &[
            (SecretType::Opaque, None, single("value")),
            (SecretType::Opaque, Some("password"), single("password")),
            (SecretType::Certificate, Some("tls.crt"), single("tls.crt")),
            (SecretType::SshKey, None, Ok(F::JsonObject)),
            (
                SecretType::SshKey,
                Some("ssh-privatekey"),
                Err(PayloadError::SingleKeyForJsonType(SecretType::SshKey)),
            ),
            (SecretType::KeyValue, None, Ok(F::JsonObject)),
            (SecretType::DatabaseCredentials, None, Ok(F::JsonObject)),
            (SecretType::BasicCredentials, None, Ok(F::JsonObject)),
            (
                SecretType::KeyValue,
                Some("value"),
                Err(PayloadError::SingleKeyForJsonType(SecretType::KeyValue)),
            ),
            (
                SecretType::Opaque,
                Some("not valid"),
                Err(PayloadError::InvalidSingleKey),
            ),
        ];
        for (t, key, want) in cases {
            assert_eq!(&PayloadFormat::for_type(*t, *key), want, "{t} {key:?}");
        }
    }

    #[test]
    fn entries_of_single_and_json_payloads() {
        let single = PayloadFormat::Single {
            key: "value".to_owned(),
        };
        let bytes = SecretValue::new(vec![0xff, 0x00, 0x41]);
        assert_eq!(
            payload_entries(&bytes, &single).unwrap(),
            BTreeMap::from([("value".to_owned(), vec![0xff, 0x00, 0x41])])
        );
        let json = SecretValue::from(r#"{"username":"app","password":"p\"w","empty":""}"#);
        let got = payload_entries(&json, &PayloadFormat::JsonObject).unwrap();
        assert_eq!(
            got,
            BTreeMap::from([
                ("empty".to_owned(), b"".to_vec()),
                ("password".to_owned(), b"p\"w".to_vec()),
                ("username".to_owned(), b"app".to_vec()),
            ])
        );
    }

    #[test]
    fn bad_json_payloads_are_refused_without_echoing_them() {
        let canary = "canary-1d0c";
        let cases = [
            (format!("{{\"k\": {canary}}}"), "NotJson"),
            (format!("[\"{canary}\"]"), "NotAnObject"),
            (format!("\"{canary}\""), "NotAnObject"),
            (
                format!("{{\"k\": {{\"nested\": \"{canary}\"}}}}"),
                "NonStringValue",
            ),
            ("{\"port\": 5432}".to_owned(), "NonStringValue"),
        ];
        for (payload, want) in cases {
            let err = payload_entries(
                &SecretValue::from(payload.as_str()),
                &PayloadFormat::JsonObject,
            )
            .unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{err:?}");
            assert!(!err.to_string().contains(canary), "{err}");
            assert!(!format!("{err:?}").contains(canary), "{err:?}");
        }
    }
}
