//! The chart's drift-detection key survives `helm upgrade`: the chart creates a random key once
//! and reads it back with `lookup` on every upgrade (a new key would make the operator rewrite
//! every target Secret). Real `helm` against the local control plane.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use support::controlplane::{self, TestNamespace};

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The drift key the release's Secret holds now.
async fn drift_key(secrets: &Api<Secret>) -> Vec<u8> {
    let list = secrets.list(&Default::default()).await.unwrap();
    let secret = list
        .items
        .into_iter()
        .find(|s| {
            s.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with("-drift-key"))
        })
        .expect("the chart created the drift-key Secret");
    secret.data.unwrap()["key"].0.clone()
}

#[tokio::test]
async fn helm_upgrade_keeps_the_drift_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let client = controlplane::client().await;
    controlplane::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "chart-drift-key").await;
    let bin = stdout(Command::new("bash").arg(root.join("tests/tools/install.sh")));
    let kubeconfig = controlplane::kubeconfig_path().await;
    let helm = || {
        let mut cmd = Command::new(Path::new(bin.lines().last().unwrap().trim()).join("helm"));
        cmd.env("KUBECONFIG", kubeconfig);
        cmd
    };
    // Release names are unique: the chart's ClusterRoles are named after the release.
    let unique = || format!("drift-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (release, other_release) = (unique(), unique());
    stdout(
        helm()
            .args(["install", &release])
            .arg(root.join("charts/keyward"))
            .args(["--namespace", ns.name()]),
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let first = drift_key(&secrets).await;
    assert!(first.len() >= 16, "key of {} bytes", first.len());

    // An upgrade that changes something else, twice: the key stays.
    for level in ["debug", "info"] {
        stdout(
            helm()
                .args(["upgrade", &release])
                .arg(root.join("charts/keyward"))
                .args(["--namespace", ns.name()])
                .args(["--set", &format!("logging.level={level}")]),
        );
        assert_eq!(
            drift_key(&secrets).await,
            first,
            "upgrade ({level}) changed the key"
        );
    }

    // Another release gets another key (it is random, not a constant of the chart).
    let other = TestNamespace::new(&client, "chart-drift-key").await;
    stdout(
        helm()
            .args(["install", &other_release])
            .arg(root.join("charts/keyward"))
            .args(["--namespace", other.name()]),
    );
    let other_secrets: Api<Secret> = Api::namespaced(client.clone(), other.name());
    assert_ne!(drift_key(&other_secrets).await, first);

    for (release, namespace) in [(&release, ns.name()), (&other_release, other.name())] {
        stdout(helm().args(["uninstall", release, "--namespace", namespace, "--wait"]));
    }
}
