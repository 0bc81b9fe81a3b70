//! The chart's drift-detection key survives `helm upgrade`: the chart creates a random key once
//! and reads it back with `lookup` on every upgrade (a new key would make the operator rewrite
//! every target Secret), and reaches the operator as a mounted file. Real `helm` against the local
//! control plane.

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use keyward::controller::drift_key::{self, KeySource};
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

/// The installed Deployment's key file, materialised as the kubelet would (the Secret item the
/// mount names, at its path under the mount), is a key `keyward run` accepts: the chart's random
/// key is long enough and the path the operator gets is the mounted item. (The control plane has no
/// kubelet, so the test lays the volume out itself.)
async fn operator_reads_the_key_from_its_mount(
    client: &kube::Client,
    namespace: &str,
    release: &str,
) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deployment = deployments
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|d| {
            d.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with(release))
        })
        .expect("the release's Deployment");
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    let container = &pod.containers[0];
    let env = |name: &str| {
        container
            .env
            .iter()
            .flatten()
            .find(|v| v.name == name)
            .and_then(|v| v.value.clone())
    };
    assert!(
        env("KEYWARD_DATA_HMAC_KEY").is_none(),
        "the key is not in the environment"
    );
    let file = env("KEYWARD_DATA_HMAC_KEY_FILE").expect("KEYWARD_DATA_HMAC_KEY_FILE");
    let mount = container
        .volume_mounts
        .iter()
        .flatten()
        .find(|m| Path::new(&file).starts_with(&m.mount_path))
        .expect("the key file is on a mount");
    let source = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == mount.name)
        .and_then(|v| v.secret.clone())
        .expect("a Secret volume");
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get(source.secret_name.as_deref().unwrap())
        .await
        .expect("the mounted Secret exists");
    let volume = tempfile::tempdir().unwrap();
    for item in source.items.iter().flatten() {
        let content = &secret.data.as_ref().unwrap()[&item.key].0;
        let path = volume.path().join(&item.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let relative = Path::new(&file).strip_prefix(&mount.mount_path).unwrap();
    let key = drift_key::load(KeySource::File {
        path: &volume.path().join(relative),
        optional: false,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(key.is_some());
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
    operator_reads_the_key_from_its_mount(&client, ns.name(), &release).await;

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
