//! The Helm chart rendered as `helm template` renders it (Helm from tests/tools/install.sh).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What `cmd` printed; it must succeed.
pub fn stdout(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("command");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Helm 4, installed into the cache on first use.
pub fn helm() -> PathBuf {
    let bin = stdout(Command::new("bash").arg(root().join("tests/tools/install.sh")));
    Path::new(bin.lines().last().unwrap().trim()).join("helm")
}

/// `helm template keyward charts/keyward` with `values` and `set`, as YAML documents.
pub fn render(values: Option<&Path>, set: &[&str]) -> Vec<serde_yaml::Value> {
    use serde::Deserialize as _;
    let mut template = Command::new(helm());
    template
        .args(["template", "keyward"])
        .arg(root().join("charts/keyward"));
    if let Some(values) = values {
        template.arg("-f").arg(values);
    }
    for s in set {
        template.args(["--set", s]);
    }
    let manifests = stdout(&mut template);
    serde_yaml::Deserializer::from_str(&manifests)
        .map(|doc| serde_yaml::Value::deserialize(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}
