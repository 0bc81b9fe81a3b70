//! Every document in `examples/` is a valid object: it deserializes into the Rust type without
//! losing a field (a misspelt field would be silently pruned by the API server), passes the CRD's
//! CEL rules and Keyward's own checks, and refers to a store the examples define. The set covers the
//! cases the README promises.

use std::collections::BTreeSet;
use std::path::Path;

use keyward::api::validation::validate_managed_secret;
use keyward::api::{ClusterSecretStore, ManagedKey, ManagedSecret, SecretStore, StoreKind};
use kube_cel::Validator;
use serde_json::Value;

fn examples() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/ readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("example readable");
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let value: Value = serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            docs.push((
                file.file_name().unwrap().to_string_lossy().into_owned(),
                value,
            ));
        }
    }
    docs
}

/// Whether everything in `given` is also in `typed` (the Rust round trip adds defaults only).
fn kept(given: &Value, typed: &Value, path: &str) -> Result<(), String> {
    match (given, typed) {
        (Value::Object(g), Value::Object(t)) => {
            for (key, value) in g {
                let sub = t
                    .get(key)
                    .ok_or_else(|| format!("{path}.{key} is not a field of the type"))?;
                kept(value, sub, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (g, t) if g == t => Ok(()),
        (g, t) => Err(format!("{path}: {g} became {t}")),
    }
}

fn schema(kind: &str) -> Value {
    let crd = keyward::api::all_crds()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)
        .expect("CRD");
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("schema"),
    )
    .expect("schema JSON")
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(file: &str, value: &Value) -> T {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    let back = serde_json::to_value(&typed).expect("serialize");
    kept(value, &back, "").unwrap_or_else(|e| panic!("{file}: {e}"));
    typed
}

#[test]
fn examples_are_valid_and_cover_the_promised_cases() {
    let docs = examples();
    let validator = Validator::new();
    let mut stores: Vec<(String, SecretStore)> = Vec::new();
    let mut cluster_stores = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    let mut managed = Vec::new();
    let mut keys = Vec::new();
    for (file, value) in &docs {
        let kind = value["kind"].as_str().unwrap_or_default();
        let api_version = value["apiVersion"].as_str().unwrap_or_default();
        let name = value["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match (api_version, kind) {
            ("v1", "Secret") => {
                secrets.insert(name);
                continue;
            }
            ("apps/v1", "Deployment") => {
                // A consumer for spec.rollout; the API server checks it when the demo applies it.
                let _: k8s_openapi::api::apps::v1::Deployment = round_trip(file, value);
                continue;
            }
            ("keyward.dev/v1alpha1", "ManagedSecret") => {
                let ms: ManagedSecret = round_trip(file, value);
                validate_managed_secret(&ms.spec, &name).unwrap_or_else(|e| panic!("{file}: {e}"));
                managed.push((file.clone(), ms));
            }
            ("keyward.dev/v1alpha1", "ManagedKey") => {
                let mk: ManagedKey = round_trip(file, value);
                keyward::keys::intent::key_intent(&mk).unwrap_or_else(|e| panic!("{file}: {e}"));
                keys.push((file.clone(), mk));
            }
            ("keyward.dev/v1alpha1", "SecretStore") => {
                let store: SecretStore = round_trip(file, value);
                let secret_ref = keyward::provider::registry::credentials_ref(&store.spec.provider)
                    .unwrap_or_else(|| panic!("{file}: the store names no provider"));
                assert!(
                    docs.iter().any(|(_, d)| d["kind"] == "Secret"
                        && d["metadata"]["name"] == secret_ref.name.as_str()),
                    "{file}: credentials Secret {} is not in examples/",
                    secret_ref.name
                );
                stores.push((name, store));
            }
            ("keyward.dev/v1alpha1", "ClusterSecretStore") => {
                let _: ClusterSecretStore = round_trip(file, value);
                cluster_stores.insert(name);
            }
            _ => panic!("{file}: unexpected {api_version} {kind}"),
        }
        validator
            .validate(&schema(kind), value, None)
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
    }
    let store_names: BTreeSet<&str> = stores.iter().map(|(n, _)| n.as_str()).collect();
    for (file, ms) in &managed {
        let known = match ms.spec.store_ref.kind {
            StoreKind::SecretStore => store_names.contains(ms.spec.store_ref.name.as_str()),
            StoreKind::ClusterSecretStore => cluster_stores.contains(&ms.spec.store_ref.name),
        };
        assert!(
            known,
            "{file}: store {} is not defined in examples/",
            ms.spec.store_ref.name
        );
        if let Some(from) = &ms.spec.from_secret {
            assert!(
                secrets.contains(&from.name),
                "{file}: source Secret {} missing",
                from.name
            );
        }
    }
    for (file, mk) in &keys {
        let oci = stores
            .iter()
            .find(|(n, _)| *n == mk.spec.store_ref.name)
            .and_then(|(_, s)| s.spec.provider.oci.as_ref());
        assert!(
            oci.is_some(),
            "{file}: OCI store {} is not defined in examples/",
            mk.spec.store_ref.name
        );
    }
    assert!(!keys.is_empty(), "examples/ lacks a ManagedKey");
    let has = |what: &str, pred: &dyn Fn(&ManagedSecret) -> bool| {
        assert!(
            managed.iter().any(|(_, ms)| pred(ms)),
            "examples/ lacks {what}"
        );
    };
    has("a generated password with rotation", &|ms| {
        ms.spec.generate.is_some() && ms.spec.rotation.is_some()
    });
    has("templated database credentials", &|ms| {
        ms.spec.remote.type_ == Some(keyward::provider::SecretType::DatabaseCredentials)
            && ms
                .spec
                .target
                .as_ref()
                .is_some_and(|t| t.template.is_some())
    });
    has("a push from a Secret", &|ms| ms.spec.from_secret.is_some());
    has("adoption by id", &|ms| {
        ms.spec
            .remote
            .adopt
            .as_ref()
            .is_some_and(|a| a.secret_id.is_some())
    });
    has("adoption by Terraform id", &|ms| {
        ms.spec
            .remote
            .adopt
            .as_ref()
            .is_some_and(|a| a.terraform_id.is_some())
    });
    has("a rollout with retirement", &|ms| {
        ms.spec.rollout.is_some() && ms.spec.retirement.is_some()
    });
    has("a ManagedSecret on a ClusterSecretStore", &|ms| {
        ms.spec.store_ref.kind == StoreKind::ClusterSecretStore
    });
    assert!(
        stores.iter().any(|(_, s)| s
            .spec
            .provider
            .scaleway
            .as_ref()
            .and_then(|p| p.api_url.as_deref())
            == Some("http://127.0.0.1:9090")),
        "examples/ lacks a SecretStore pointing at the local emulator"
    );
}
