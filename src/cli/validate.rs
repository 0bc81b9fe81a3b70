//! `keyward plan -f`: manifests checked without a cluster, as CI for a GitOps repository would:
//! the CRD's structural schema ([`super::schema`]) and its CEL rules (kube-cel, the evaluator
//! behind kube's `cel` feature) with the API server's defaults applied first and its words in the
//! answer, then the operator's own checks of what the API server admits (the `InvalidSpec` a
//! ManagedSecret would report). Documents of other kinds are skipped.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use super::Outcome;
use super::output::Format;
use super::schema::{ErrorType, FieldError, Findings, go_value, rules_not_checked, walk};

/// The verdict on one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checked {
    pub file: String,
    pub kind: String,
    pub name: String,
    pub valid: bool,
    /// What the API server (or the operator) would answer; empty when valid.
    pub message: String,
    /// Each field error, as `field: error` (the API server's causes).
    pub causes: Vec<String>,
}

fn schema_of(kind: &str) -> Option<Value> {
    let crd = crate::api::all_crds()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)?;
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()?
        .open_api_v3_schema
        .as_ref()?;
    serde_json::to_value(schema).ok()
}

/// The value at a kube-cel field path (`spec.remote.adopt`, `spec.tags[1]`).
fn at<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = object;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        node = node.get(name)?;
        if let Some(i) = index {
            node = node.get(i)?;
        }
    }
    Some(node)
}

/// The `fieldPath` of each rule of a schema, by rule text.
fn rule_field_paths(schema: &Value, out: &mut std::collections::HashMap<String, String>) {
    match schema {
        Value::Object(node) => {
            for rule in node
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(text), Some(path)) = (
                    rule.get("rule").and_then(Value::as_str),
                    rule.get("fieldPath").and_then(Value::as_str),
                ) {
                    out.insert(text.to_owned(), path.to_owned());
                }
            }
            for child in node.values() {
                rule_field_paths(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| rule_field_paths(i, out)),
        _ => {}
    }
}

/// A failed rule, worded as the API server words it: an invalid value is shown when the node
/// that declares the rule is a scalar (for objects and lists the server leaves it out), even
/// when the rule's `fieldPath` points further down.
fn rule_error(
    object: &Value,
    field_paths: &std::collections::HashMap<String, String>,
    error: &kube_cel::ValidationError,
) -> FieldError {
    let declared_at = field_paths
        .get(&error.rule)
        .and_then(|fp| error.field_path.strip_suffix(fp.as_str()))
        .unwrap_or(&error.field_path);
    let (kind, body) = match error.reason.as_deref() {
        Some("FieldValueForbidden") => (
            ErrorType::Forbidden,
            format!("Forbidden: {}", error.message),
        ),
        Some("FieldValueRequired") => (
            ErrorType::Required,
            format!("Required value: {}", error.message),
        ),
        Some("FieldValueDuplicate") => (
            ErrorType::Duplicate,
            format!("Duplicate value: {}", error.message),
        ),
        _ => match at(object, declared_at) {
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => (
                ErrorType::Invalid,
                format!("Invalid value: {}: {}", go_value(v), error.message),
            ),
            _ => (
                ErrorType::Invalid,
                format!("Invalid value: {}", error.message),
            ),
        },
    };
    FieldError {
        kind,
        field: error.field_path.clone(),
        body,
    }
}

/// What the API server answers for `object` of `kind`, as (message, causes); `None` admits it.
pub fn admission(kind: &str, object: &Value) -> Option<(String, Vec<String>)> {
    let schema = schema_of(kind)?;
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let object = kube_cel::apply_defaults(&schema, object);
    let mut findings = Findings::default();
    let root = schema["properties"].as_object();
    for (key, value) in object.as_object().into_iter().flatten() {
        match root.and_then(|r| r.get(key)) {
            Some(_) if key == "spec" => {
                walk(&schema["properties"]["spec"], value, "spec", &mut findings)
            }
            Some(_) => {}
            None if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") => {}
            None => findings.unknown.push(key.clone()),
        }
    }
    if !findings.unknown.is_empty() {
        findings.unknown.sort();
        let fields: Vec<String> = findings
            .unknown
            .iter()
            .map(|f| format!("unknown field {}", super::schema::quote(f)))
            .collect();
        return Some((
            format!(
                "{kind} in version {} cannot be handled as a {kind}: strict decoding error: {}",
                super::schema::quote(version),
                fields.join(", ")
            ),
            Vec::new(),
        ));
    }
    let mut errors = findings.errors;
    // The server's schema errors come in map order; these in a fixed one.
    errors.sort_by(|a, b| (&a.field, &a.body).cmp(&(&b.field, &b.body)));
    if errors.iter().any(FieldError::blocks_rules) {
        errors.push(rules_not_checked());
    } else if let Err(failed) = kube_cel::Validator::new().validate(&schema, &object, None) {
        let mut field_paths = std::collections::HashMap::new();
        rule_field_paths(&schema, &mut field_paths);
        let mut rules: Vec<FieldError> = failed
            .iter()
            .map(|e| rule_error(&object, &field_paths, e))
            .collect();
        rules.sort_by(|a, b| (&a.field, &a.body).cmp(&(&b.field, &b.body)));
        errors.extend(rules);
    }
    if errors.is_empty() {
        return None;
    }
    let causes: Vec<String> = errors.iter().map(FieldError::text).collect();
    let listed = match causes.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    Some((
        format!(
            "{kind}.{group} {} is invalid: {listed}",
            super::schema::quote(name)
        ),
        causes,
    ))
}

/// One document's verdict: the API server's, then the operator's.
pub fn check(file: &str, document: &Value) -> Option<Checked> {
    let api_version = document["apiVersion"].as_str()?;
    if !api_version.starts_with(&format!("{}/", crate::api::GROUP)) {
        return None;
    }
    let kind = document["kind"].as_str()?.to_owned();
    let name = document["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut checked = Checked {
        file: file.to_owned(),
        kind: kind.clone(),
        name,
        valid: true,
        message: String::new(),
        causes: Vec::new(),
    };
    if let Some((message, causes)) = admission(&kind, document) {
        checked.valid = false;
        checked.message = message;
        checked.causes = causes;
    } else if let Some(kind_impl) = super::kinds::by_name(&kind)
        && let Err(message) = kind_impl.check(document)
    {
        checked.valid = false;
        checked.message = format!(
            "the API server admits it, but the operator refuses it (InvalidSpec): {message}"
        );
    } else if schema_of(&kind).is_none() {
        checked.valid = false;
        checked.message = format!("{kind} is not a kind of {}", crate::api::GROUP);
    }
    Some(checked)
}

/// The documents of a file (YAML, several per file, or JSON).
fn documents(text: &str, file: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(document)
            .with_context(|| format!("{file}: not YAML or JSON"))?;
        match value {
            Value::Null => {}
            Value::Object(ref o) if o.get("kind").and_then(Value::as_str) == Some("List") => {
                out.extend(
                    o.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Files named on the command line, folders expanded to their manifests (sorted).
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading folder {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
                })
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// `keyward plan -f`.
pub fn run(paths: &[PathBuf], format: Format) -> anyhow::Result<Outcome> {
    let mut results = Vec::new();
    for path in expand(paths)? {
        let file = path.display().to_string();
        for document in documents(&read(&path)?, &file)? {
            results.extend(check(&file, &document));
        }
    }
    let invalid = results.iter().filter(|c| !c.valid).count();
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&results)?),
        Format::Text => {
            for c in &results {
                if c.valid {
                    println!("{} {} ({}): valid", c.kind, c.name, c.file);
                } else {
                    println!("{} {} ({}): {}", c.kind, c.name, c.file, c.message);
                }
            }
            println!(
                "Checked {} manifests: {} valid, {invalid} invalid.",
                results.len(),
                results.len() - invalid
            );
        }
    }
    Ok(if invalid > 0 {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ms(spec: Value) -> Value {
        json!({"apiVersion": "keyward.dev/v1alpha1", "kind": "ManagedSecret",
            "metadata": {"name": "bad", "namespace": "default"}, "spec": spec})
    }

    #[test]
    fn schema_rules_and_the_operator_each_have_their_say() {
        let ok = check("f", &ms(json!({"storeRef": {"name": "s"}, "generate": {}}))).unwrap();
        assert!(ok.valid, "{ok:?}");
        let schema = check(
            "f",
            &ms(json!({"storeRef": {"name": "s"}, "generate": {"length": 4097}})),
        )
        .unwrap();
        assert_eq!(
            schema.message,
            "ManagedSecret.keyward.dev \"bad\" is invalid: spec.generate.length: Invalid value: 4097: spec.generate.length in body should be less than or equal to 4096"
        );
        let unknown = check("f", &ms(json!({"storeRef": {"name": "s"}, "extra": 1}))).unwrap();
        assert_eq!(
            unknown.message,
            "ManagedSecret in version \"v1alpha1\" cannot be handled as a ManagedSecret: strict decoding error: unknown field \"spec.extra\""
        );
        let operator = check(
            "f",
            &ms(json!({"storeRef": {"name": "s"}, "generate": {}, "rotation": {"schedule": "0 3 * * *", "timeZone": "Europe/Atlantis"}})),
        )
        .unwrap();
        assert!(!operator.valid);
        assert!(
            operator
                .message
                .contains("(InvalidSpec): rotation: timeZone"),
            "{}",
            operator.message
        );
        assert!(check("f", &json!({"apiVersion": "v1", "kind": "Secret"})).is_none());
    }

    #[test]
    fn files_hold_several_documents() {
        let docs = documents("a: 1\n---\n---\nb: 2\n", "f").unwrap();
        assert_eq!(docs.len(), 2);
        assert!(documents("a: [", "f").is_err());
    }
}
