//! The structural part of a CRD's validation, as the API server does it (types, required
//! fields, enums, lengths, bounds, item counts, sets, unknown fields), with its wording:
//! `spec.storeRef: Required value`, `Unsupported value: "x": supported values: …`. The CEL rules
//! are kube-cel's (see [`super::validate`]). Pure.
//!
//! What the API server says was recorded from the local control plane for the admission tests'
//! bad inputs (`tests/fixtures/admission-answers.json`); the tests hold this module to it.

use serde_json::Value;

/// Kubernetes' kinds of field error (`field.ErrorType`), as far as a schema produces them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    Required,
    NotSupported,
    Invalid,
    TypeInvalid,
    TooLong,
    TooMany,
    Duplicate,
    Forbidden,
}

/// One field error: where, and the API server's words for it (without the path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub kind: ErrorType,
    /// `spec.generate.length`; empty for the object as a whole (`<nil>` in the server's words).
    pub field: String,
    pub body: String,
}

impl FieldError {
    /// `field: body`, as the API server joins them.
    pub fn text(&self) -> String {
        let field = if self.field.is_empty() {
            "<nil>"
        } else {
            &self.field
        };
        format!("{field}: {}", self.body)
    }

    /// Whether it keeps the API server from evaluating the CEL rules (its `hasBlockingErr`).
    pub fn blocks_rules(&self) -> bool {
        matches!(
            self.kind,
            ErrorType::NotSupported
                | ErrorType::Required
                | ErrorType::TooLong
                | ErrorType::TooMany
                | ErrorType::TypeInvalid
        )
    }
}

/// The note the API server adds when blocking errors kept it from evaluating the rules.
pub fn rules_not_checked() -> FieldError {
    FieldError {
        kind: ErrorType::Invalid,
        field: String::new(),
        body: "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".into(),
    }
}

/// A value as Go's `%v`/`%q` print it in field errors.
pub fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Go's `%q` for the strings schemas see (escapes quotes, backslashes and control characters).
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bound as Go prints a float64 with `%v` (4096, not 4096.0).
fn bound(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn field(path: &str, child: &str) -> String {
    if path.is_empty() {
        child.to_owned()
    } else {
        format!("{path}.{child}")
    }
}

/// What a walk found: field errors, and fields the schema does not declare.
#[derive(Default, Debug)]
pub struct Findings {
    pub errors: Vec<FieldError>,
    pub unknown: Vec<String>,
}

fn push(findings: &mut Findings, kind: ErrorType, path: &str, body: String) {
    findings.errors.push(FieldError {
        kind,
        field: path.to_owned(),
        body,
    });
}

/// Validates `value` at `path` against `schema` (an OpenAPI v3 structural schema).
pub fn walk(schema: &Value, value: &Value, path: &str, findings: &mut Findings) {
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }
        if let Some(want) = schema.get("type").and_then(Value::as_str) {
            push(
                findings,
                ErrorType::TypeInvalid,
                path,
                format!("Invalid value: \"null\": {path} in body must be of type {want}: \"null\""),
            );
        }
        return;
    }
    if let Some(want) = schema.get("type").and_then(Value::as_str) {
        let have = json_type(value);
        let fits = have == want || (want == "number" && have == "integer");
        if !fits {
            push(
                findings,
                ErrorType::TypeInvalid,
                path,
                format!(
                    "Invalid value: \"{have}\": {path} in body must be of type {want}: \"{have}\""
                ),
            );
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let supported: Vec<String> = allowed.iter().map(go_value).collect();
        push(
            findings,
            ErrorType::NotSupported,
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                go_value(value),
                supported.join(", ")
            ),
        );
    }
    match value {
        Value::String(s) => {
            let chars = s.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && chars > max
            {
                push(
                    findings,
                    ErrorType::TooLong,
                    path,
                    format!("Too long: may not be more than {max} bytes"),
                );
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && chars < min
            {
                push(
                    findings,
                    ErrorType::Invalid,
                    path,
                    format!(
                        "Invalid value: {}: {path} in body should be at least {min} chars long",
                        quote(s)
                    ),
                );
            }
        }
        Value::Number(n) => {
            let v = n.as_f64().unwrap_or_default();
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && v > max
            {
                push(
                    findings,
                    ErrorType::Invalid,
                    path,
                    format!(
                        "Invalid value: {n}: {path} in body should be less than or equal to {}",
                        bound(max)
                    ),
                );
            }
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && v < min
            {
                push(
                    findings,
                    ErrorType::Invalid,
                    path,
                    format!(
                        "Invalid value: {n}: {path} in body should be greater than or equal to {}",
                        bound(min)
                    ),
                );
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                push(
                    findings,
                    ErrorType::TooMany,
                    path,
                    format!("Too many: {}: must have at most {max} items", items.len()),
                );
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                push(
                    findings,
                    ErrorType::Invalid,
                    path,
                    format!(
                        "Invalid value: {}: {path} in body should have at least {min} items",
                        items.len()
                    ),
                );
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), findings);
                }
            }
            if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
                for (i, item) in items.iter().enumerate() {
                    if items[..i].contains(item) {
                        push(
                            findings,
                            ErrorType::Duplicate,
                            &format!("{path}[{i}]"),
                            format!("Duplicate value: {}", go_value(item)),
                        );
                    }
                }
            }
        }
        Value::Object(fields) => {
            if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
                && fields.len() as u64 > max
            {
                push(
                    findings,
                    ErrorType::TooMany,
                    path,
                    format!("Too many: {}: must have at most {max} items", fields.len()),
                );
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !fields.contains_key(name) {
                    push(
                        findings,
                        ErrorType::Required,
                        &field(path, name),
                        "Required value".into(),
                    );
                }
            }
            let open = schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (name, child) in fields {
                match (properties.and_then(|p| p.get(name)), additional) {
                    (Some(child_schema), _) => {
                        walk(child_schema, child, &field(path, name), findings)
                    }
                    (None, Some(extra)) => walk(extra, child, &format!("{path}[{name}]"), findings),
                    (None, None) if open => {}
                    (None, None) => findings.unknown.push(field(path, name)),
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: Value, value: Value) -> Vec<String> {
        let mut findings = Findings::default();
        walk(&schema, &value, "spec", &mut findings);
        let mut out: Vec<String> = findings.errors.iter().map(FieldError::text).collect();
        out.extend(findings.unknown.iter().map(|u| format!("unknown {u}")));
        out
    }

    #[test]
    fn errors_read_like_the_api_servers() {
        let schema = json!({"type": "object", "required": ["storeRef"], "properties": {
            "storeRef": {"type": "object"},
            "length": {"type": "integer", "minimum": 1, "maximum": 4096},
            "kind": {"type": "string", "enum": ["opaque", "key_value"]},
            "name": {"type": "string", "minLength": 1, "maxLength": 4},
            "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "on": {"type": "boolean"},
        }});
        let got = errors(
            schema,
            json!({"length": 4097, "kind": "password", "name": "toolong", "tags": ["a", "a", "b"], "on": "yes", "extra": 1}),
        );
        for want in [
            "spec.storeRef: Required value",
            "spec.length: Invalid value: 4097: spec.length in body should be less than or equal to 4096",
            "spec.kind: Unsupported value: \"password\": supported values: \"opaque\", \"key_value\"",
            "spec.name: Too long: may not be more than 4 bytes",
            "spec.tags: Too many: 3: must have at most 2 items",
            "spec.tags[1]: Duplicate value: \"a\"",
            "spec.on: Invalid value: \"string\": spec.on in body must be of type boolean: \"string\"",
            "unknown spec.extra",
        ] {
            assert!(got.iter().any(|g| g == want), "{want} not in {got:#?}");
        }
        assert_eq!(got.len(), 8, "{got:#?}");
    }
}
