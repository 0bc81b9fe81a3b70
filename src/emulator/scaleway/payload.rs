//! Version payload checks: base64, the 64 KiB limit, `data_crc32`, and the shape each secret type expects.
//!
//! Type errors are worded like the server's JSON-schema messages: one `- <field>: <problem>\n` line per
//! problem, e.g. `- invalid: Invalid type. Expected: string, given: object\n` [REC].

use base64::Engine;
use serde_json::Value;

use super::errors::{ApiError, ArgumentError};
use super::model::SecretType;

/// Maximum decoded payload size. UNCONFIRMED that it applies to decoded bytes rather than base64 text.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Decodes standard base64 with padding (RFC 4648 §4), as the API sends it [REC]. Strict decoding keeps
/// the round trip exact: access returns the very text that was sent.
pub fn decode_data(text: &str) -> Result<Vec<u8>, ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| {
            ApiError::invalid(
                "data",
                "format",
                "- (root): must be standard base64 with padding\n",
            )
        })?;
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(ApiError::invalid(
            "data",
            "constraint",
            format!(
                "- (root): must be at most {MAX_PAYLOAD_BYTES} bytes, given: {}\n",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// Checks a client-supplied CRC32 (IEEE 802.3, the zlib one; UNCONFIRMED variant) over the decoded bytes.
pub fn check_crc32(bytes: &[u8], expected: u32) -> Result<(), ApiError> {
    let actual = crc32fast::hash(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "data_crc32",
            "constraint",
            format!("- (root): crc32 mismatch, computed {actual}\n"),
        ))
    }
}

/// Validates the payload against the secret's type. `opaque` takes anything.
pub fn validate_for_type(secret_type: SecretType, bytes: &[u8]) -> Result<(), ApiError> {
    let problems = match secret_type {
        SecretType::Opaque => Vec::new(),
        SecretType::Certificate => check_pem(bytes),
        SecretType::KeyValue => with_object(bytes, |obj| {
            // The recorded message says `Expected: string`, so values are strings only (numbers and
            // booleans UNCONFIRMED; rejected here, as that schema would).
            let mut keys: Vec<_> = obj.keys().collect();
            keys.sort();
            keys.into_iter()
                .filter_map(|k| expect_string(k, &obj[k.as_str()]))
                .collect()
        }),
        SecretType::BasicCredentials => with_object(bytes, |obj| {
            required_strings(obj, &["username", "password"])
        }),
        SecretType::DatabaseCredentials => with_object(bytes, |obj| {
            let mut problems = required_strings(
                obj,
                &["engine", "username", "password", "host", "dbname", "port"],
            );
            if let Some(Value::String(engine)) = obj.get("engine")
                && !["postgres", "mysql", "other"].contains(&engine.as_str())
            {
                problems.push(
                    "engine: engine must be one of the following: \"postgres\", \"mysql\", \"other\"".into(),
                );
            }
            if let Some(Value::String(port)) = obj.get("port")
                && port.parse::<u16>().is_err()
            {
                problems.push("port: Does not match pattern: an integer from 0 to 65535".into());
            }
            problems
        }),
        SecretType::SshKey => with_object(bytes, |obj| required_strings(obj, &["ssh_private_key"])),
    };
    if problems.is_empty() {
        Ok(())
    } else {
        let help: String = problems.iter().map(|p| format!("- {p}\n")).collect();
        Err(ApiError::InvalidArguments(vec![ArgumentError::new(
            "data", "format", help,
        )]))
    }
}

fn with_object(
    bytes: &[u8],
    check: impl FnOnce(&serde_json::Map<String, Value>) -> Vec<String>,
) -> Vec<String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(obj)) => check(&obj),
        Ok(other) => vec![format!(
            "(root): Invalid type. Expected: object, given: {}",
            json_kind(&other)
        )],
        Err(_) => vec!["(root): Invalid JSON".into()],
    }
}

fn required_strings(obj: &serde_json::Map<String, Value>, fields: &[&str]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|f| match obj.get(*f) {
            None => Some(format!("(root): {f} is required")),
            Some(v) => expect_string(f, v),
        })
        .collect()
}

fn expect_string(field: &str, value: &Value) -> Option<String> {
    (!value.is_string()).then(|| {
        format!(
            "{field}: Invalid type. Expected: string, given: {}",
            json_kind(value)
        )
    })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_pem(bytes: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec!["(root): certificate must be PEM text".into()];
    };
    let begins = text.matches("-----BEGIN ").count();
    let ends = text.matches("-----END ").count();
    if begins == 0 || begins != ends {
        vec!["(root): certificate must be one or more PEM blocks".into()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(err: ApiError) -> String {
        match err {
            ApiError::InvalidArguments(d) => d[0].help_message.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn key_value_nested_object_gets_the_recorded_message() {
        let err = validate_for_type(SecretType::KeyValue, br#"{"key": "value", "invalid": {}}"#)
            .unwrap_err();
        assert_eq!(
            help(err),
            "- invalid: Invalid type. Expected: string, given: object\n"
        );
        assert!(validate_for_type(SecretType::KeyValue, br#"{"key": "value"}"#).is_ok());
        assert!(validate_for_type(SecretType::KeyValue, b"[1]").is_err());
        assert!(validate_for_type(SecretType::KeyValue, b"not json").is_err());
    }

    #[test]
    fn typed_payloads() {
        let table: &[(SecretType, &[u8], bool)] = &[
            (SecretType::Opaque, b"\x00\xff anything", true),
            (SecretType::BasicCredentials, br#"{"username":"u","password":"p"}"#, true),
            (SecretType::BasicCredentials, br#"{"username":"u"}"#, false),
            (SecretType::DatabaseCredentials, br#"{"engine":"postgres","username":"u","password":"p","host":"h","dbname":"d","port":"5432"}"#, true),
            (SecretType::DatabaseCredentials, br#"{"engine":"oracle","username":"u","password":"p","host":"h","dbname":"d","port":"5432"}"#, false),
            (SecretType::DatabaseCredentials, br#"{"engine":"mysql","username":"u","password":"p","host":"h","dbname":"d","port":"99999"}"#, false),
            (SecretType::SshKey, br#"{"ssh_private_key":"k"}"#, true),
            (SecretType::SshKey, br#"{}"#, false),
            (SecretType::Certificate, b"-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n", true),
            (SecretType::Certificate, b"plain", false),
        ];
        for (t, payload, ok) in table {
            assert_eq!(
                validate_for_type(*t, payload).is_ok(),
                *ok,
                "{t} {:?}",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn base64_size_and_crc() {
        assert_eq!(
            decode_data("bXlfc3VwZXJfc2VjcmV0").unwrap(),
            b"my_super_secret"
        );
        assert!(decode_data("bXlfc3VwZXJfc2VjcmV0!").is_err());
        assert!(decode_data("YQ").is_err(), "padding is required");
        let big =
            base64::engine::general_purpose::STANDARD.encode(vec![7u8; MAX_PAYLOAD_BYTES + 1]);
        assert!(decode_data(&big).is_err());
        let max = base64::engine::general_purpose::STANDARD.encode(vec![7u8; MAX_PAYLOAD_BYTES]);
        assert!(decode_data(&max).is_ok());
        // zlib/IEEE CRC-32 of "123456789" is the classic check value 0xCBF43926.
        assert!(check_crc32(b"123456789", 0xCBF4_3926).is_ok());
        assert!(
            check_crc32(b"123456789", 0xE306_9283).is_err(),
            "CRC-32C must not match"
        );
    }
}
