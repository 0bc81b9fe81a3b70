//! Parsing of request bodies and query strings into the store's inputs, with the API's error shapes for
//! anything malformed. Unknown body fields are refused (400, reason `unknown`); unknown query parameters
//! are ignored, since SDKs send more of them than the emulator filters on.

use jiff::Timestamp;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::account::{MAX_PAGE_SIZE, OrderBy, Page, SecretFilter};
use super::errors::{ApiError, ArgumentError};
use super::model::{
    EphemeralAction, EphemeralPolicy, EphemeralProperties, Product, SecretType, VersionStatus,
    parse_duration,
};

/// Upper bound on a request body; far above the largest legal payload (64 KiB as base64 plus fields).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

const MAX_TTL_SECS: u64 = 365 * 24 * 3600;

/// A JSON object body whose fields are taken one by one; what is left at the end is unknown.
pub struct Body(Map<String, Value>);

impl Body {
    /// `empty_is_object`: action endpoints accept an empty body as `{}`.
    pub fn parse(bytes: &[u8], allowed: &[&str], empty_is_object: bool) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) && empty_is_object {
            return Ok(Self(Map::new()));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::invalid(
                "",
                "format",
                format!(
                    "request body is not valid JSON (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let Value::Object(map) = value else {
            return Err(ApiError::invalid(
                "",
                "format",
                "request body must be a JSON object",
            ));
        };
        let unknown: Vec<ArgumentError> = map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| ArgumentError::new(k.clone(), "unknown", "unknown field"))
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::InvalidArguments(unknown));
        }
        Ok(Self(map))
    }

    /// The raw value: `None` when absent, `Some(Value::Null)` when sent as `null`.
    pub fn raw(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key)
    }

    pub fn string(&mut self, key: &str) -> Result<Option<String>, ApiError> {
        match self.raw(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(type_error(key, "string")),
        }
    }

    pub fn required_string(&mut self, key: &str) -> Result<String, ApiError> {
        self.string(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid(key, "required", "is required"))
    }

    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(type_error(key, "boolean")),
        }
    }

    pub fn u32(&mut self, key: &str) -> Result<Option<u32>, ApiError> {
        match self.raw(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid(key, "constraint", "must be an unsigned 32-bit integer")
                }),
            Some(_) => Err(type_error(key, "integer")),
        }
    }

    /// `null` reads as "not given" (the Go SDK sends `"tags": null` for none [REC]).
    pub fn string_list(&mut self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.raw(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(type_error(key, "array of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(type_error(key, "array of strings")),
        }
    }
}

fn type_error(key: &str, expected: &str) -> ApiError {
    ApiError::invalid(key, "format", format!("must be a {expected}"))
}

pub fn parse_uuid(argument: &str, text: &str) -> Result<Uuid, ApiError> {
    // Only the hyphenated form, as the API writes ids.
    if text.len() != 36 {
        return Err(ApiError::invalid(
            argument,
            "format",
            "must be a valid UUID",
        ));
    }
    Uuid::try_parse(text).map_err(|_| ApiError::invalid(argument, "format", "must be a valid UUID"))
}

/// `type`: `unknown_type` (or absent) means opaque on create [REC].
pub fn parse_secret_type(text: Option<&str>) -> Result<Option<SecretType>, ApiError> {
    match text {
        None | Some("unknown_type") | Some("") => Ok(None),
        Some(t) => SecretType::parse(t).map(Some).ok_or_else(|| {
            ApiError::invalid("type", "constraint", format!("unknown secret type {t:?}"))
        }),
    }
}

/// An ephemeral policy object, or `None` for `null`.
pub fn parse_policy(value: Value) -> Result<Option<EphemeralPolicy>, ApiError> {
    let bytes = match value {
        Value::Null => return Ok(None),
        v @ Value::Object(_) => serde_json::to_vec(&v).unwrap_or_default(),
        _ => return Err(type_error("ephemeral_policy", "object")),
    };
    let mut body = Body::parse(
        &bytes,
        &["time_to_live", "expires_once_accessed", "action"],
        false,
    )
    .map_err(|e| prefix_arguments(e, "ephemeral_policy."))?;
    let time_to_live = match body.string("time_to_live")? {
        None => None,
        Some(text) => {
            let d = parse_duration(&text).ok_or_else(|| {
                ApiError::invalid(
                    "ephemeral_policy.time_to_live",
                    "format",
                    "must be a duration such as \"1800s\"",
                )
            })?;
            if d.as_secs() < 1
                || d.as_secs() > MAX_TTL_SECS
                || (d.as_secs() == MAX_TTL_SECS && d.subsec_nanos() > 0)
            {
                return Err(ApiError::invalid(
                    "ephemeral_policy.time_to_live",
                    "constraint",
                    "must be between 1 second and 1 year",
                ));
            }
            Some(d)
        }
    };
    let expires_once_accessed = body.bool("expires_once_accessed")?;
    let action = parse_action(body.string("action")?.as_deref(), "ephemeral_policy.action")?;
    Ok(Some(EphemeralPolicy {
        time_to_live,
        expires_once_accessed,
        action,
    }))
}

/// UNCONFIRMED whether `action` is required (the CLI requires it client-side). The emulator accepts a
/// missing or `unknown_action` value and echoes `unknown_action`, the enum's zero value, as the SDK's
/// non-pointer field would read it; such a version is disabled when it expires.
fn parse_action(text: Option<&str>, argument: &str) -> Result<Option<EphemeralAction>, ApiError> {
    match text {
        None | Some("unknown_action") => Ok(None),
        Some(a) => EphemeralAction::parse(a).map(Some).ok_or_else(|| {
            ApiError::invalid(argument, "constraint", "must be \"delete\" or \"disable\"")
        }),
    }
}

/// Version `ephemeral_properties` on PATCH, or `None` for `null`.
pub fn parse_properties(value: Value) -> Result<Option<EphemeralProperties>, ApiError> {
    let bytes = match value {
        Value::Null => return Ok(None),
        v @ Value::Object(_) => serde_json::to_vec(&v).unwrap_or_default(),
        _ => return Err(type_error("ephemeral_properties", "object")),
    };
    let mut body = Body::parse(
        &bytes,
        &["expires_at", "expires_once_accessed", "action"],
        false,
    )
    .map_err(|e| prefix_arguments(e, "ephemeral_properties."))?;
    let expires_at = match body.string("expires_at")? {
        None => None,
        Some(text) => Some(text.parse::<Timestamp>().map_err(|_| {
            ApiError::invalid(
                "ephemeral_properties.expires_at",
                "format",
                "must be an RFC 3339 timestamp",
            )
        })?),
    };
    let expires_once_accessed = body.bool("expires_once_accessed")?;
    let action = parse_action(
        body.string("action")?.as_deref(),
        "ephemeral_properties.action",
    )?;
    Ok(Some(EphemeralProperties {
        expires_at,
        expires_once_accessed,
        action,
    }))
}

pub fn parse_product(text: &str) -> Result<Product, ApiError> {
    Product::parse(text).ok_or_else(|| {
        ApiError::invalid("product", "constraint", format!("unknown product {text:?}"))
    })
}

fn prefix_arguments(err: ApiError, prefix: &str) -> ApiError {
    match err {
        ApiError::InvalidArguments(details) => ApiError::InvalidArguments(
            details
                .into_iter()
                .map(|mut d| {
                    d.argument_name = format!("{prefix}{}", d.argument_name);
                    d
                })
                .collect(),
        ),
        other => other,
    }
}

// ---- query strings --------------------------------------------------------------------------------

/// Decoded `key=value` pairs in order; a repeated key gives a list [SDK].
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Self(pairs)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn uuid(&self, key: &str) -> Result<Option<Uuid>, ApiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| parse_uuid(key, v))
            .transpose()
    }

    /// `true`/`false` as the Go SDK and the CLI send them [REC], and `True`/`False` as the Python SDK
    /// does (its `requests` call writes Python's booleans); the Python SDK requires
    /// `scheduled_for_deletion` on every ListSecrets, so the real API must take that form. Other
    /// spellings (Go's `1`, `t`, `TRUE`…) are UNCONFIRMED and refused.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some("true" | "True") => Ok(Some(true)),
            Some("false" | "False") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(key, "format", "must be true or false")),
        }
    }

    pub fn page(&self) -> Result<Page, ApiError> {
        let page = match self.get("page") {
            None | Some("") => 1,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|p| *p >= 1 && *p <= i32::MAX as u32)
                .ok_or_else(|| {
                    ApiError::invalid("page", "constraint", "must be a positive integer")
                })?,
        };
        let page_size = match self.get("page_size") {
            None | Some("") | Some("0") => super::account::DEFAULT_PAGE_SIZE,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|s| *s <= MAX_PAGE_SIZE)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "page_size",
                        "constraint",
                        format!("must be between 1 and {MAX_PAGE_SIZE}"),
                    )
                })?,
        };
        Ok(Page { page, page_size })
    }

    pub fn order_by(&self) -> Result<OrderBy, ApiError> {
        match self.get("order_by") {
            None | Some("") => Ok(OrderBy::default()),
            Some(v) => OrderBy::parse(v)
                .ok_or_else(|| ApiError::invalid("order_by", "constraint", "unknown order")),
        }
    }

    /// Filters shared by ListSecrets and BrowseSecrets. `type=unknown_type` means no filter [REC].
    pub fn secret_filter(&self) -> Result<SecretFilter, ApiError> {
        Ok(SecretFilter {
            project_id: self.uuid("project_id")?,
            name: self
                .get("name")
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            path: self
                .get("path")
                .filter(|v| !v.is_empty())
                .map(super::account::normalize_path),
            tags: self
                .all("tags")
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect(),
            ephemeral: self.bool("ephemeral")?,
            secret_type: parse_secret_type(self.get("type"))?,
            scheduled_for_deletion: self.bool("scheduled_for_deletion")?.unwrap_or(false),
        })
    }

    pub fn statuses(&self) -> Result<Vec<VersionStatus>, ApiError> {
        self.all("status")
            .into_iter()
            .filter(|s| s != "unknown_status" && !s.is_empty())
            .map(|s| {
                VersionStatus::parse(&s).ok_or_else(|| {
                    ApiError::invalid("status", "constraint", format!("unknown status {s:?}"))
                })
            })
            .collect()
    }
}

/// Form decoding: `+` is a space, `%XX` a byte; malformed escapes stay as they are.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_and_lists() {
        let q = Query::parse(Some("path=%2Fa%2Fb&tags=x&tags=y+z&name=&bad=%zz&end=%2"));
        assert_eq!(q.get("path"), Some("/a/b"));
        assert_eq!(q.all("tags"), vec!["x", "y z"]);
        assert_eq!(q.get("bad"), Some("%zz"));
        assert_eq!(q.get("end"), Some("%2"));
        let f = q.secret_filter().unwrap();
        assert_eq!(f.name, None);
        assert_eq!(f.path.as_deref(), Some("/a/b"));
        assert!(Query::parse(Some("page=0")).page().is_err());
        assert!(Query::parse(Some("page_size=101")).page().is_err());
        assert_eq!(
            Query::parse(Some("page=2&page_size=10")).page().unwrap(),
            Page {
                page: 2,
                page_size: 10
            }
        );
        assert!(
            Query::parse(Some("type=unknown_type"))
                .secret_filter()
                .unwrap()
                .secret_type
                .is_none()
        );
    }

    #[test]
    fn query_booleans_in_the_go_and_python_sdk_forms() {
        let cases = [
            ("true", Some(Some(true))),
            ("True", Some(Some(true))),
            ("false", Some(Some(false))),
            ("False", Some(Some(false))),
            ("", Some(None)),
            ("TRUE", None),
            ("1", None),
            ("yes", None),
        ];
        for (text, want) in cases {
            let got = Query::parse(Some(&format!("ephemeral={text}")))
                .bool("ephemeral")
                .ok();
            assert_eq!(got, want, "{text:?}");
        }
        let filter = Query::parse(Some("scheduled_for_deletion=True&ephemeral=False"))
            .secret_filter()
            .unwrap();
        assert!(filter.scheduled_for_deletion);
        assert_eq!(filter.ephemeral, Some(false));
    }

    #[test]
    fn bodies_refuse_unknown_fields_and_bad_json() {
        assert_eq!(
            Body::parse(b"{", &[], false).err().map(|e| e.status()),
            Some(400)
        );
        assert_eq!(
            Body::parse(b"[]", &[], false).err().map(|e| e.status()),
            Some(400)
        );
        let err = Body::parse(br#"{"nope":1}"#, &["name"], false)
            .err()
            .unwrap();
        assert!(
            matches!(&err, ApiError::InvalidArguments(d) if d[0].argument_name == "nope" && d[0].reason == "unknown")
        );
        assert!(Body::parse(b"", &[], true).is_ok());
    }

    #[test]
    fn policy_parsing() {
        let p = parse_policy(serde_json::json!({"time_to_live":"1800.000000000s","expires_once_accessed":false,"action":"delete"}))
            .unwrap()
            .unwrap();
        assert_eq!(p.time_to_live, Some(std::time::Duration::from_secs(1800)));
        assert!(parse_policy(serde_json::json!({"time_to_live":"0s","action":"delete"})).is_err());
        assert!(
            parse_policy(serde_json::json!({"time_to_live":"31536001s","action":"delete"}))
                .is_err()
        );
        let no_action = parse_policy(serde_json::json!({"time_to_live":"60s"}))
            .unwrap()
            .unwrap();
        assert_eq!(no_action.action, None);
        assert!(parse_policy(serde_json::json!({"time_to_live":"60s","action":"x"})).is_err());
        assert!(parse_policy(serde_json::Value::Null).unwrap().is_none());
        assert!(parse_uuid("id", "not-a-uuid").is_err());
        assert!(parse_uuid("id", "0f3c7e6a8a854f5e9b4e1c2d3e4f5a6b").is_err());
    }
}
