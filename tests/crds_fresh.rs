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
            "secretstores.keyward.dev",
            "clustersecretstores.keyward.dev"
        ]
    );
}
