//! Parsing and checking what clients send: paths (reference §5), value inputs and their limits
//! (§3.3, §4), labels, query strings and form bodies. Errors are 400 with a message that never quotes
//! a value.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::model::StoredValue;
use crate::secret_value::SecretValue;

/// Upper bound on a request body: far above the largest legal one (256 values of 4 KiB, base64).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

const MAX_PATH: usize = 512;
const MAX_VALUE_BYTES: usize = 4096;
const MAX_KEYS: usize = 256;
const MAX_KEY_NAME: usize = 128;
const GENERATE_RANGE: std::ops::RangeInclusive<u64> = 16..=4096;
/// UNCONFIRMED (the limits table was not readable): label and annotation limits.
const MAX_LABEL_KEY: usize = 253;
const MAX_LABEL_VALUE: usize = 256;
const MAX_LABELS: usize = 64;
const MAX_DESCRIPTION: usize = 1024;

/// Checks a secret path (reference §5): leading `/`, 1–512 characters, `A–Z a–z 0–9 / _ - . +`, no
/// trailing `/`, no `//`.
pub fn check_path(path: &str) -> Result<(), ApiError> {
    let bad = |why: &str| Err(ApiError::bad_request(format!("invalid path: {why}")));
    if path.is_empty() || path.len() > MAX_PATH {
        return bad("must be 1 to 512 characters");
    }
    if !path.starts_with('/') {
        return bad("must begin with '/'");
    }
    if path == "/" || path.ends_with('/') {
        return bad("must not end with '/'");
    }
    if path.contains("//") {
        return bad("must not contain '//'");
    }
    if !path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_-.+".contains(&b))
    {
        return bad("may only contain letters, digits and / _ - . +");
    }
    Ok(())
}

/// A JSON object body. Unknown fields are ignored (UNCONFIRMED; Go servers usually do).
pub struct Body(Map<String, Value>);

impl Body {
    /// `empty_ok`: an empty body reads as `{}` (reveal's body is optional, reference §3.5).
    pub fn parse(bytes: &[u8], empty_ok: bool) -> Result<Self, ApiError> {
        if empty_ok && bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
            Err(e) => Err(ApiError::bad_request(format!(
                "request body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))),
        }
    }

    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key).filter(|v| !v.is_null())
    }

    /// Whether the field was sent, even as `null` (`accessPolicy: null` clears the policy).
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn string(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::bad_request(format!("{key} must be a string"))),
        }
    }

    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(ApiError::bad_request(format!("{key} must be a boolean"))),
        }
    }

    pub fn u64(&mut self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| ApiError::bad_request(format!("{key} must be a positive integer"))),
        }
    }

    /// A map of strings (labels, annotations), with the UNCONFIRMED limits above.
    pub fn string_map(&mut self, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
        let Some(value) = self.take(key) else {
            return Ok(BTreeMap::new());
        };
        let Value::Object(map) = value else {
            return Err(ApiError::bad_request(format!("{key} must be an object")));
        };
        if map.len() > MAX_LABELS {
            return Err(ApiError::bad_request(format!(
                "{key}: at most {MAX_LABELS} entries"
            )));
        }
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let Value::String(v) = v else {
                return Err(ApiError::bad_request(format!("{key}.{k} must be a string")));
            };
            let key_ok = !k.is_empty()
                && k.len() <= MAX_LABEL_KEY
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b));
            if !key_ok {
                return Err(ApiError::bad_request(format!(
                    "{key}: key {k:?} must be 1 to {MAX_LABEL_KEY} of A-Z a-z 0-9 . _ - /"
                )));
            }
            if v.len() > MAX_LABEL_VALUE || v.chars().any(char::is_control) {
                return Err(ApiError::bad_request(format!(
                    "{key}.{k}: at most {MAX_LABEL_VALUE} characters, no control characters"
                )));
            }
            out.insert(k, v);
        }
        Ok(out)
    }

    pub fn description(&mut self) -> Result<String, ApiError> {
        let d = self.string("description")?.unwrap_or_default();
        if d.len() > MAX_DESCRIPTION {
            return Err(ApiError::bad_request(format!(
                "description: at most {MAX_DESCRIPTION} characters"
            )));
        }
        Ok(d)
    }

    /// Exactly one of `secretString`, `secretKeyValues`, `generateSecret` (reference §3.3).
    pub fn value_input(&mut self) -> Result<StoredValue, ApiError> {
        let string = self.take("secretString");
        let key_values = self.take("secretKeyValues");
        let generate = self.take("generateSecret");
        let given = [&string, &key_values, &generate]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if given != 1 {
            return Err(ApiError::bad_request(
                "exactly one of secretString, secretKeyValues and generateSecret is required",
            ));
        }
        if let Some(v) = string {
            let Value::String(text) = v else {
                return Err(ApiError::bad_request(
                    "secretString must be a base64 string",
                ));
            };
            return decode_value("secretString", &text).map(StoredValue::String);
        }
        if let Some(v) = key_values {
            return key_values_input(v).map(StoredValue::KeyValue);
        }
        let Some(Value::Object(mut g)) = generate else {
            return Err(ApiError::bad_request(
                "generateSecret must be an object {\"byteLength\": N}",
            ));
        };
        let length = g.remove("byteLength").and_then(|v| v.as_u64());
        match length {
            Some(n) if GENERATE_RANGE.contains(&n) => {
                let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
                Ok(StoredValue::String(SecretValue::new(bytes)))
            }
            _ => Err(ApiError::bad_request(
                "generateSecret.byteLength must be an integer from 16 to 4096",
            )),
        }
    }
}

fn key_values_input(v: Value) -> Result<BTreeMap<String, SecretValue>, ApiError> {
    let Value::Object(map) = v else {
        return Err(ApiError::bad_request(
            "secretKeyValues must be an object of base64 strings",
        ));
    };
    if map.is_empty() || map.len() > MAX_KEYS {
        return Err(ApiError::bad_request(format!(
            "secretKeyValues needs 1 to {MAX_KEYS} keys"
        )));
    }
    let mut out = BTreeMap::new();
    for (name, value) in map {
        let name_ok = !name.is_empty()
            && name.len() <= MAX_KEY_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !name_ok {
            return Err(ApiError::bad_request(format!(
                "secretKeyValues: key {name:?} must be 1 to {MAX_KEY_NAME} of A-Z a-z 0-9 _ . -"
            )));
        }
        let Value::String(text) = value else {
            return Err(ApiError::bad_request(format!(
                "secretKeyValues.{name} must be a base64 string"
            )));
        };
        let decoded = decode_value(&format!("secretKeyValues.{name}"), &text)?;
        out.insert(name, decoded);
    }
    Ok(out)
}

/// Standard base64 with padding (reference §4; other flavours UNCONFIRMED and refused), 1–4096 bytes.
fn decode_value(field: &str, text: &str) -> Result<SecretValue, ApiError> {
    let bytes = BASE64
        .decode(text)
        .map_err(|_| ApiError::bad_request(format!("{field} is not valid base64")))?;
    let value = SecretValue::new(bytes);
    if value.is_empty() || value.len() > MAX_VALUE_BYTES {
        return Err(ApiError::bad_request(format!(
            "{field} must be 1 to {MAX_VALUE_BYTES} bytes once decoded"
        )));
    }
    Ok(value)
}

/// Query parameters, percent-decoded; `+` stays `+` (paths may contain it, reference §2).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: Option<&str>) -> Self {
        Self(pairs(query.unwrap_or_default(), false))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `application/x-www-form-urlencoded` fields (the token endpoint), where `+` is a space.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    pairs(&String::from_utf8_lossy(body), true)
}

fn pairs(text: &str, plus_is_space: bool) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = if plus_is_space {
            s.replace('+', " ")
        } else {
            s.to_string()
        };
        percent_decode_str(&s).decode_utf8_lossy().into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        for ok in ["/a", "/app/production/db/password", "/app/a+b", "/x_y-z.1"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/",
            "app/x",
            "/app/",
            "/app//x",
            "/app x",
            "/app%2Fx",
            &format!("/{}", "a".repeat(512)),
        ] {
            assert_eq!(check_path(bad).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn exactly_one_value_input_within_limits() {
        let value = |json: &str| Body::parse(json.as_bytes(), false).unwrap().value_input();
        assert_eq!(
            value(r#"{"secretString":"aGk="}"#).unwrap(),
            StoredValue::String(SecretValue::from("hi"))
        );
        match value(r#"{"generateSecret":{"byteLength":32}}"#).unwrap() {
            StoredValue::String(v) => assert_eq!(v.len(), 32),
            other => panic!("{other:?}"),
        }
        let kv = value(r#"{"secretKeyValues":{"user":"YQ==","pass":"Yg=="}}"#).unwrap();
        assert_eq!(kv.format(), "keyValue");
        for bad in [
            r#"{}"#,
            r#"{"secretString":"aGk=","generateSecret":{"byteLength":16}}"#,
            r#"{"secretString":"not base64!"}"#,
            r#"{"secretString":"aGk"}"#,
            r#"{"secretString":""}"#,
            r#"{"generateSecret":{"byteLength":8}}"#,
            r#"{"secretKeyValues":{}}"#,
            r#"{"secretKeyValues":{"bad key":"YQ=="}}"#,
            r#"{"secretKeyValues":{"k":"YQ"}}"#,
        ] {
            assert_eq!(value(bad).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn queries_keep_plus_and_forms_read_it_as_space() {
        let q = Query::parse(Some("pathPrefix=%2Fapp%2Fa+b&includeVersions=true"));
        assert_eq!(q.get("pathPrefix"), Some("/app/a+b"));
        assert_eq!(q.get("includeVersions"), Some("true"));
        assert_eq!(
            form(b"grant_type=client_credentials&client_id=a+b%21"),
            vec![
                ("grant_type".to_string(), "client_credentials".to_string()),
                ("client_id".to_string(), "a b!".to_string()),
            ]
        );
    }
}
