//! Every environment variable the chart's Deployment sets is one `keyward run` reads: a variable
//! the binary ignores is a setting silently lost (as `KEYWARD_WATCH_NAMESPACES` once was).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use clap::{CommandFactory as _, FromArgMatches as _};
use k8s_openapi::api::apps::v1::Deployment;
use keyward::controller::RunArgs;

#[derive(clap::Parser)]
struct Run {
    #[command(flatten)]
    run: RunArgs,
}

/// clap reads the process environment while parsing, so a test that sets a variable and a test
/// that parses must not overlap (cargo runs the tests of one binary on parallel threads).
static ENVIRONMENT: Mutex<()> = Mutex::new(());

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("command");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn helm(root: &Path) -> std::path::PathBuf {
    let bin = stdout(Command::new("bash").arg(root.join("tests/tools/install.sh")));
    Path::new(bin.lines().last().unwrap().trim()).join("helm")
}

/// The Deployment's container, rendered with the chart's defaults plus `values`.
fn rendered_container(
    root: &Path,
    values: Option<&Path>,
    set: &[&str],
) -> k8s_openapi::api::core::v1::Container {
    let mut template = Command::new(helm(root));
    template
        .args(["template", "keyward"])
        .arg(root.join("charts/keyward"))
        .args(["--show-only", "templates/deployment.yaml"]);
    if let Some(values) = values {
        template.arg("-f").arg(values);
    }
    for s in set {
        template.args(["--set", s]);
    }
    let deployment: Deployment = serde_yaml::from_str(&stdout(&mut template)).unwrap();
    deployment.spec.unwrap().template.spec.unwrap().containers[0].clone()
}

#[test]
fn every_variable_the_chart_sets_is_read_by_keyward_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let all_options = root.join("charts/keyward/ci/all-options-values.yaml");
    // `extraEnv` is the user's own business (the all-options values set an example variable).
    let values: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&all_options).unwrap()).unwrap();
    let users: Vec<&str> = values["extraEnv"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    let command = Run::command();
    for values in [None, Some(all_options.as_path())] {
        let container = rendered_container(root, values, &[]);
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
                        "{values:?}: the chart sets {}, which keyward run does not read",
                        var.name
                    )
                });
            names.push(var.name.clone());
            // Values from the downward API or a Secret are only known in the pod.
            let value = var
                .value
                .clone()
                .unwrap_or_else(|| match var.name.as_str() {
                    "KEYWARD_DATA_HMAC_KEY" => "a-key-of-at-least-16-bytes".to_owned(),
                    _ => "placeholder".to_owned(),
                });
            argv.push(format!("--{}={value}", arg.get_long().unwrap()));
        }
        let matches = {
            let _environment = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
            command
                .clone()
                .try_get_matches_from(&argv)
                .unwrap_or_else(|e| panic!("{values:?}: {argv:?}: {e}"))
        };
        let args = Run::from_arg_matches(&matches).unwrap().run;
        assert!(
            names.iter().any(|n| n == "KEYWARD_DATA_HMAC_KEY"),
            "{names:?}"
        );
        assert!(args.data_hmac_key.is_some());
        if values.is_some() {
            assert_eq!(args.namespaces, ["team-a", "team-b"], "{argv:?}");
        } else {
            assert!(args.namespaces.is_empty(), "{argv:?}");
        }
    }
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
