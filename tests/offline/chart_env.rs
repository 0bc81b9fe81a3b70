//! Every environment variable the chart's Deployment sets is one `keyward run` reads: a variable
//! the binary ignores is a setting silently lost (as `KEYWARD_WATCH_NAMESPACES` once was).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use clap::{CommandFactory as _, FromArgMatches as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec, Secret};
use keyward::controller::RunArgs;

#[derive(clap::Parser)]
struct Run {
    #[command(flatten)]
    run: RunArgs,
}

/// clap reads the process environment while parsing, so a test that sets a variable and a test
/// that parses must not overlap (cargo runs the tests of one binary on parallel threads).
static ENVIRONMENT: Mutex<()> = Mutex::new(());

/// The chart rendered with its defaults plus `values` and `set`: the Deployment's pod spec and
/// the Secrets the chart creates.
fn rendered(values: Option<&Path>, set: &[&str]) -> (PodSpec, Vec<Secret>) {
    let (mut pod, mut secrets) = (None, Vec::new());
    for value in crate::support::chart::render(values, set) {
        match value["kind"].as_str() {
            Some("Deployment") => {
                let deployment: Deployment = serde_yaml::from_value(value).unwrap();
                pod = deployment.spec.unwrap().template.spec;
            }
            Some("Secret") => secrets.push(serde_yaml::from_value(value).unwrap()),
            _ => {}
        }
    }
    (pod.expect("a Deployment"), secrets)
}

/// The name of the drift-key Secret and the key of the item the operator must read: the
/// chart's own `<fullname>-drift-key` (which it must then render), or `dataHmacKey.existingSecret`.
fn expected_drift_key(values: &serde_yaml::Value, secrets: &[Secret]) -> (String, String) {
    let key = values["dataHmacKey"]["existingSecretKey"]
        .as_str()
        .unwrap_or("key")
        .to_owned();
    match values["dataHmacKey"]["existingSecret"].as_str() {
        Some(existing) if !existing.is_empty() => (existing.to_owned(), key),
        _ => {
            let name = "keyward-drift-key".to_owned();
            let own = secrets
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name.as_str()))
                .expect("the chart renders its drift-key Secret");
            assert!(own.data.as_ref().unwrap().contains_key(&key), "{own:?}");
            (name, key)
        }
    }
}

/// The file `path` is the item `key` of the Secret `secret`, mounted read-only in `container`,
/// readable by the pod's fsGroup only.
fn assert_file_from_secret(
    pod: &PodSpec,
    container: &Container,
    path: &str,
    secret: &str,
    key: &str,
) {
    let mounts = container.volume_mounts.iter().flatten();
    let (mount, relative) = mounts
        .filter_map(|m| {
            let relative = Path::new(path).strip_prefix(&m.mount_path).ok()?;
            Some((m, relative.to_str()?.to_owned()))
        })
        .next()
        .unwrap_or_else(|| panic!("{path} is in no volumeMount of the container"));
    assert_eq!(mount.read_only, Some(true), "{mount:?}");
    assert!(
        mount.sub_path.is_none(),
        "a subPath mount never sees an updated Secret"
    );
    let volume = pod
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == mount.name)
        .unwrap_or_else(|| panic!("no volume {}", mount.name));
    let source = volume
        .secret
        .as_ref()
        .unwrap_or_else(|| panic!("volume {} is not a Secret: {volume:?}", volume.name));
    assert_eq!(source.secret_name.as_deref(), Some(secret), "{source:?}");
    let item = source
        .items
        .iter()
        .flatten()
        .find(|i| i.path == relative)
        .unwrap_or_else(|| panic!("no item of {secret} at {relative}: {source:?}"));
    assert_eq!(item.key, key, "{source:?}");
    let mode = item.mode.or(source.default_mode).expect("an explicit mode");
    assert_eq!(
        mode & 0o7027,
        0,
        "mode {mode:o}: only the owner and the group may read"
    );
    assert!(
        mode & 0o040 != 0,
        "mode {mode:o}: the group (fsGroup) must read"
    );
    let fs_group = pod.security_context.as_ref().and_then(|s| s.fs_group);
    assert!(
        fs_group.is_some(),
        "the file is only readable through the pod's fsGroup: {:?}",
        pod.security_context
    );
}

#[test]
fn every_variable_the_chart_sets_is_read_by_keyward_run() {
    // Held for the whole test, not only around the parse: a run that held it only there still
    // saw another test's KEYWARD_WATCH_NAMESPACES now and then (about one run in six).
    let _environment = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let all_options = root.join("charts/keyward/ci/all-options-values.yaml");
    let all_values: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&all_options).unwrap()).unwrap();
    let defaults: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root.join("charts/keyward/values.yaml")).unwrap(),
    )
    .unwrap();
    // `extraEnv` is the user's own business (the all-options values set an example variable).
    let users: Vec<&str> = all_values["extraEnv"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    let command = Run::command();
    let cases = [
        (None, &[][..], &defaults),
        (Some(all_options.as_path()), &[][..], &all_values),
        (None, &["dataHmacKey.optional=true"][..], &defaults),
    ];
    for (values, set, chosen) in cases {
        let (pod, secrets) = rendered(values, set);
        let container = &pod.containers[0];
        let mut argv = vec!["run".to_owned()];
        let mut names = Vec::new();
        for var in container.env.iter().flatten() {
            if users.contains(&var.name.as_str()) {
                continue;
            }
            let arg = command
                .get_arguments()
                .find(|a| a.get_env().is_some_and(|e| e == var.name.as_str()))
                .unwrap_or_else(|| {
                    panic!(
                        "{values:?} {set:?}: the chart sets {}, which keyward run does not read",
                        var.name
                    )
                });
            names.push(var.name.clone());
            // Values from the downward API are only known in the pod.
            let value = var.value.clone().unwrap_or_else(|| {
                let from = var.value_from.as_ref().expect("a value or a source");
                assert!(
                    from.secret_key_ref.is_none(),
                    "{}: Secrets reach the operator as files, not variables",
                    var.name
                );
                "placeholder".to_owned()
            });
            argv.push(format!("--{}={value}", arg.get_long().unwrap()));
        }
        let matches = command
            .clone()
            .try_get_matches_from(&argv)
            .unwrap_or_else(|e| panic!("{values:?} {set:?}: {argv:?}: {e}"));
        let args = Run::from_arg_matches(&matches).unwrap().run;
        assert!(
            !names.iter().any(|n| n == "KEYWARD_DATA_HMAC_KEY"),
            "{names:?}"
        );
        assert!(args.data_hmac_key.is_none());
        let file = args
            .data_hmac_key_file
            .as_ref()
            .expect("KEYWARD_DATA_HMAC_KEY_FILE");
        let (secret, key) = expected_drift_key(chosen, &secrets);
        assert_file_from_secret(&pod, container, file.to_str().unwrap(), &secret, &key);
        let volume_optional = pod
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| v.secret.as_ref())
            .find(|s| s.secret_name.as_deref() == Some(secret.as_str()))
            .and_then(|s| s.optional)
            .unwrap_or(false);
        // An optional Secret volume and a file the operator may find missing go together.
        assert_eq!(
            args.data_hmac_key_file_optional, volume_optional,
            "{argv:?}"
        );
        assert_eq!(volume_optional, !set.is_empty(), "{values:?} {set:?}");
        if values.is_some() {
            assert_eq!(args.namespaces, ["team-a", "team-b"], "{argv:?}");
        } else {
            assert!(args.namespaces.is_empty(), "{argv:?}");
        }
    }
}

/// The file check above can fail: a key file outside every mount, or on a mount that is not the
/// drift-key Secret, is refused.
#[test]
#[should_panic(expected = "is in no volumeMount of the container")]
fn a_key_file_outside_the_mounts_is_refused() {
    let (pod, _) = rendered(None, &[]);
    assert_file_from_secret(
        &pod,
        &pod.containers[0],
        "/etc/keyward/other/key",
        "keyward-drift-key",
        "key",
    );
}

#[test]
#[should_panic(expected = "secret_name")]
fn a_key_file_from_another_secret_is_refused() {
    let (pod, _) = rendered(None, &[]);
    assert_file_from_secret(
        &pod,
        &pod.containers[0],
        "/etc/keyward/drift-key/key",
        "another-secret",
        "key",
    );
}

/// clap refuses the key and the key file together, also when both come from the environment.
#[test]
fn the_key_and_the_key_file_conflict_in_the_environment() {
    let _environment = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: every test in this binary that reads the environment holds `ENVIRONMENT`.
    unsafe {
        std::env::set_var("KEYWARD_DATA_HMAC_KEY", "a-key-of-at-least-16-bytes");
        std::env::set_var("KEYWARD_DATA_HMAC_KEY_FILE", "/etc/keyward/drift-key/key");
    }
    let both = Run::command().try_get_matches_from(["run"]);
    unsafe { std::env::remove_var("KEYWARD_DATA_HMAC_KEY") };
    let file_only = Run::command().try_get_matches_from(["run"]);
    unsafe { std::env::remove_var("KEYWARD_DATA_HMAC_KEY_FILE") };
    let e = both.expect_err("a conflict");
    assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict, "{e}");
    assert!(!e.to_string().contains("a-key-of-at-least"), "{e}");
    let args = Run::from_arg_matches(&file_only.unwrap()).unwrap().run;
    assert_eq!(
        args.data_hmac_key_file.as_deref(),
        Some(Path::new("/etc/keyward/drift-key/key"))
    );
}

/// The environment variable really reaches the parsed arguments (not only a flag of that name).
#[test]
fn watch_namespaces_are_read_comma_separated_from_the_environment() {
    let _environment = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: every test in this binary that reads the environment holds `ENVIRONMENT`.
    unsafe { std::env::set_var("KEYWARD_WATCH_NAMESPACES", "team-a,team-b") };
    let matches = Run::command().try_get_matches_from(["run"]).unwrap();
    let args = Run::from_arg_matches(&matches).unwrap().run;
    unsafe { std::env::remove_var("KEYWARD_WATCH_NAMESPACES") };
    assert_eq!(args.namespaces, ["team-a", "team-b"]);
}

/// The real binary stops at start-up on a key file it cannot use, naming the path and never the
/// content (before it needs a cluster: no kubeconfig is given).
#[test]
fn keyward_run_refuses_a_bad_key_file_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short-key");
    std::fs::write(&short, "sh0rt-s3cret\n").unwrap();
    let missing = dir.path().join("missing/key");
    for (file, expected) in [
        (&short, "at least 16 bytes, got 12"),
        (&missing, "cannot read the data HMAC key file"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .arg("run")
            .env("KEYWARD_DATA_HMAC_KEY_FILE", file)
            .env("KUBECONFIG", dir.path().join("no-kubeconfig"))
            .env("KEYWARD_METRICS_ADDRESS", "127.0.0.1:0")
            .env_remove("KEYWARD_DATA_HMAC_KEY")
            .env_remove("KEYWARD_DATA_HMAC_KEY_FILE_OPTIONAL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(
            !stderr.contains("sh0rt") && !stdout.contains("sh0rt"),
            "{stderr}{stdout}"
        );
    }
    // A good file gets past the key: the start then stops at the missing cluster configuration.
    let good = dir.path().join("good-key");
    std::fs::write(&good, "a-key-of-at-least-16-bytes\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .arg("run")
        .env("KEYWARD_DATA_HMAC_KEY_FILE", &good)
        .env("KUBECONFIG", dir.path().join("no-kubeconfig"))
        .env("KEYWARD_METRICS_ADDRESS", "127.0.0.1:0")
        .env_remove("KEYWARD_DATA_HMAC_KEY")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("Kubernetes configuration"), "{stderr}");
    assert!(!stderr.contains("HMAC key"), "{stderr}");
}
