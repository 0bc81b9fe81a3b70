//! `crds/` must be exactly what the Rust types generate: a change to `src/api` without regenerating
//! fails here.

use std::collections::BTreeSet;
use std::path::Path;

const REGENERATE: &str = "crds/ is stale: run `cargo run -- crd --out crds/` and commit the result";

#[test]
fn crds_folder_matches_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let rendered = keyward::api::rendered_crds().expect("CRDs render");
    for (name, want) in &rendered {
        let path = dir.join(name);
        let got = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{REGENERATE} ({} unreadable: {e})", path.display()));
        assert!(got == *want, "{REGENERATE} ({} differs)", path.display());
    }
    let expected: BTreeSet<String> = rendered.into_iter().map(|(name, _)| name).collect();
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{REGENERATE} ({} unreadable: {e})", dir.display()))
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    let extra: Vec<_> = present.difference(&expected).collect();
    assert!(
        extra.is_empty(),
        "{REGENERATE} (files no type generates: {extra:?})"
    );
}

#[test]
fn crd_stream_is_one_document_per_crd() {
    let stream = keyward::api::rendered_crds()
        .expect("CRDs render")
        .into_iter()
        .map(|(_, yaml)| yaml)
        .collect::<Vec<_>>()
        .join("---\n");
    let names: Vec<String> = serde_yaml::Deserializer::from_str(&stream)
        .map(|doc| {
            let value =
                <serde_yaml::Value as serde::Deserialize>::deserialize(doc).expect("YAML document");
            value["metadata"]["name"]
                .as_str()
                .expect("CRD name")
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "managedsecrets.keyward.dev",
            "managedkeys.keyward.dev",
            "secretstores.keyward.dev",
            "clustersecretstores.keyward.dev"
        ]
    );
}

fn crd(
    kind: &str,
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    keyward::api::all_crds()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

fn schema_json(kind: &str) -> serde_json::Value {
    let crd = crd(kind);
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("openAPIV3Schema"),
    )
    .expect("schema JSON")
}

/// Every property Keyward defines has a description (`kubectl explain` shows it).
fn undocumented(node: &serde_json::Value, path: String, out: &mut Vec<String>) {
    if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
        for (name, child) in props {
            let child_path = format!("{path}.{name}");
            let described = child
                .get("description")
                .and_then(|d| d.as_str())
                .is_some_and(|d| d.len() > 10);
            if !described {
                out.push(child_path.clone());
            }
            undocumented(child, child_path, out);
        }
    }
    if let Some(items) = node.get("items") {
        undocumented(items, format!("{path}[]"), out);
    }
    if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
        undocumented(extra, format!("{path}{{}}"), out);
    }
}

#[test]
fn every_field_is_documented() {
    for kind in [
        "ManagedSecret",
        "ManagedKey",
        "SecretStore",
        "ClusterSecretStore",
    ] {
        let schema = schema_json(kind);
        let mut missing = Vec::new();
        for top in ["spec", "status"] {
            undocumented(
                &schema["properties"][top],
                format!("{kind}.{top}"),
                &mut missing,
            );
        }
        assert!(
            missing.is_empty(),
            "fields without a description: {missing:?}"
        );
    }
}

/// The API server rejects a CRD whose CEL rules may cost too much: strings that rules scan need a
/// maxLength, and lists and maps that rules iterate need maxItems or maxProperties.
#[test]
fn rules_only_scan_bounded_values() {
    fn walk(node: &serde_json::Value, path: String, problems: &mut Vec<String>) {
        for rule in node["x-kubernetes-validations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let text = rule["rule"].as_str().unwrap_or_default();
            let scans_string = [".matches(", ".contains(", ".startsWith(", ".endsWith("]
                .iter()
                .any(|f| text.contains(&format!("self{f}")));
            if node["type"] == "string" && scans_string && node.get("maxLength").is_none() {
                problems.push(format!("{path}: {text} scans a string without maxLength"));
            }
            let iterates = [".all(", ".exists(", ".exists_one(", ".map(", ".filter("]
                .iter()
                .any(|f| text.contains(&format!("self{f}")));
            let bounded = node.get("maxItems").is_some() || node.get("maxProperties").is_some();
            if iterates && !bounded {
                problems.push(format!(
                    "{path}: {text} iterates without maxItems/maxProperties"
                ));
            }
        }
        for (key, suffix) in [("items", "[]"), ("additionalProperties", "{}")] {
            if let Some(child) = node.get(key).filter(|v| v.is_object()) {
                walk(child, format!("{path}{suffix}"), problems);
            }
        }
        if let Some(props) = node.get("properties").and_then(|p| p.as_object()) {
            for (name, child) in props {
                walk(child, format!("{path}.{name}"), problems);
            }
        }
    }
    let mut problems = Vec::new();
    for kind in [
        "ManagedSecret",
        "ManagedKey",
        "SecretStore",
        "ClusterSecretStore",
    ] {
        walk(&schema_json(kind), kind.to_owned(), &mut problems);
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn managed_secret_names_columns_and_status() {
    let ms = crd("ManagedSecret");
    assert_eq!(ms.spec.group, "keyward.dev");
    assert_eq!(ms.spec.scope, "Namespaced");
    assert_eq!(
        ms.spec.names.short_names.as_deref(),
        Some(&["ms".to_owned()][..])
    );
    assert_eq!(
        ms.spec.names.categories.as_deref(),
        Some(&["keyward".to_owned()][..])
    );
    let version = &ms.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(version.served && version.storage);
    assert!(
        version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some()
    );
    let columns: Vec<(String, Option<i32>)> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| (c.name.to_uppercase(), c.priority))
        .collect();
    let shown: Vec<&str> = columns
        .iter()
        .filter(|(_, priority)| priority.unwrap_or(0) == 0)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(shown, ["READY", "REVISION", "NEXT ROTATION", "AGE"]);
    assert!(columns.iter().any(|(name, _)| name == "LAST ROTATION"));

    let cluster = crd("ClusterSecretStore");
    assert_eq!(cluster.spec.scope, "Cluster");
    assert_eq!(crd("SecretStore").spec.scope, "Namespaced");
    for kind in ["SecretStore", "ClusterSecretStore"] {
        let store = crd(kind);
        assert!(
            store.spec.versions[0]
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some(),
            "{kind}"
        );
        assert_eq!(
            store.spec.names.categories.as_deref(),
            Some(&["keyward".to_owned()][..]),
            "{kind}"
        );
    }
}
