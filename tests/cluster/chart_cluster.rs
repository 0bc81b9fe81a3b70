//! The Helm chart (`charts/keyward`) and the plain manifests (`deploy/`) against the real local
//! control plane, through the real `helm` (4) and `kubectl` (1.35) from `tests/tools/install.sh`:
//!
//! - the chart rendered with default values and with `ci/all-options-values.yaml` passes a
//!   server-side dry run (strict field validation, real OpenAPI models, real CRD schemas);
//! - `helm install` creates every object and `helm uninstall` removes them again;
//! - `kubectl apply -k deploy/` succeeds.
//!
//! No pods run (the control plane has no kubelet), so nothing waits for a rollout.
//!
//! The all-options values enable a ServiceMonitor and a PrometheusRule, whose CRDs belong to the
//! Prometheus Operator and are absent from the control plane. [`service_monitor_crd`] and
//! [`prometheus_rule_crd`] install stand-ins: the real group/version/kind/scope with a structural
//! schema for the subset of the real fields the chart writes (names and types as in the
//! Prometheus Operator API reference), without `x-kubernetes-preserve-unknown-fields`, so a
//! misspelt or invented field is still rejected (`stand_in_service_monitor_crd_rejects_unknown_fields`
//! shows it).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use k8s_openapi::api::rbac::v1::Role;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use serde_json::json;
use support::controlplane::{self, TestNamespace};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chart() -> PathBuf {
    root().join("charts/keyward")
}

fn all_options() -> PathBuf {
    root().join("charts/keyward/ci/all-options-values.yaml")
}

/// helm and kubectl, pointed at the control plane.
struct Tools {
    bin: PathBuf,
    kubeconfig: PathBuf,
}

impl Tools {
    async fn get() -> Self {
        let kubeconfig = controlplane::kubeconfig_path().await.to_path_buf();
        let mut install = Command::new("bash");
        install.arg(root().join("tests/tools/install.sh"));
        let out = run(install, "tests/tools/install.sh", None);
        let bin = PathBuf::from(out.lines().last().expect("bin folder").trim());
        Self { bin, kubeconfig }
    }

    fn helm(&self) -> Command {
        let mut cmd = Command::new(self.bin.join("helm"));
        cmd.env("KUBECONFIG", &self.kubeconfig);
        cmd
    }

    fn kubectl(&self) -> Command {
        let mut cmd = Command::new(self.bin.join("kubectl"));
        cmd.env("KUBECONFIG", &self.kubeconfig);
        cmd
    }
}

/// Runs `cmd` (with `stdin` fed in if given) and returns its stdout; panics with stderr on failure.
fn run(cmd: Command, what: &str, stdin: Option<&str>) -> String {
    let (ok, stdout, stderr) = try_run(cmd, what, stdin);
    assert!(ok, "{what} failed:\n{stderr}\n{stdout}");
    stdout
}

/// Runs `cmd` and returns (success, stdout, stderr).
fn try_run(mut cmd: Command, what: &str, stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write as _;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `kind/name` of every object in a multi-document YAML stream.
fn objects(manifests: &str) -> Vec<(String, String)> {
    use serde::Deserialize as _;
    serde_yaml::Deserializer::from_str(manifests)
        .filter_map(|doc| {
            let value = serde_yaml::Value::deserialize(doc).expect("rendered YAML");
            let kind = value.get("kind")?.as_str()?.to_owned();
            let name = value.get("metadata")?.get("name")?.as_str()?.to_owned();
            Some((kind, name))
        })
        .collect()
}

/// A unique suffix for release and cluster-scoped names (tests and runs share one control plane).
fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..6].to_owned()
}

/// The Prometheus Operator's duration pattern (monitoring.coreos.com/v1 Duration).
const DURATION: &str =
    "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$";

/// A stand-in for the Prometheus Operator's ServiceMonitor CRD; see the module documentation.
fn service_monitor_crd() -> CustomResourceDefinition {
    let duration = json!({"type": "string", "pattern": DURATION});
    let endpoints = json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "port": {"type": "string"},
                "targetPort": {"x-kubernetes-int-or-string": true},
                "path": {"type": "string"},
                "scheme": {"type": "string", "enum": ["http", "https"]},
                "interval": duration.clone(),
                "scrapeTimeout": duration,
                "honorLabels": {"type": "boolean"}
            }
        }
    });
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {
                "plural": "servicemonitors", "singular": "servicemonitor",
                "kind": "ServiceMonitor", "listKind": "ServiceMonitorList", "shortNames": ["smon"]
            },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {
                            "type": "object",
                            "required": ["selector"],
                            "properties": {
                                "jobLabel": {"type": "string"},
                                "targetLabels": {"type": "array", "items": {"type": "string"}},
                                "selector": {
                                    "type": "object",
                                    "x-kubernetes-map-type": "atomic",
                                    "properties": {
                                        "matchLabels": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"}
                                        },
                                        "matchExpressions": {
                                            "type": "array",
                                            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                                        }
                                    }
                                },
                                "namespaceSelector": {
                                    "type": "object",
                                    "properties": {
                                        "any": {"type": "boolean"},
                                        "matchNames": {"type": "array", "items": {"type": "string"}}
                                    }
                                },
                                "endpoints": endpoints
                            }
                        }
                    }
                }}
            }]
        }
    }))
    .expect("ServiceMonitor CRD")
}

/// A stand-in for the Prometheus Operator's PrometheusRule CRD; see the module documentation.
fn prometheus_rule_crd() -> CustomResourceDefinition {
    let strings = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let rule = json!({
        "type": "object",
        "required": ["expr"],
        "properties": {
            "alert": {"type": "string"},
            "record": {"type": "string"},
            "expr": {"x-kubernetes-int-or-string": true},
            "for": {"type": "string", "pattern": DURATION},
            "keep_firing_for": {"type": "string", "pattern": DURATION},
            "labels": strings.clone(),
            "annotations": strings
        }
    });
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "prometheusrules.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {
                "plural": "prometheusrules", "singular": "prometheusrule",
                "kind": "PrometheusRule", "listKind": "PrometheusRuleList", "shortNames": ["promrule"]
            },
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {
                            "type": "object",
                            "properties": {
                                "groups": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["name"],
                                        "properties": {
                                            "name": {"type": "string", "minLength": 1},
                                            "interval": {"type": "string", "pattern": DURATION},
                                            "rules": {"type": "array", "items": rule}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }}
            }]
        }
    }))
    .expect("PrometheusRule CRD")
}

/// Keyward's CRDs (the chart's crds/ equals crds/, charts/crds.sh checks it) and the stand-in
/// ServiceMonitor and PrometheusRule CRDs.
async fn install_crds(client: &kube::Client) {
    controlplane::install_crds(client).await;
    controlplane::apply_crd(client, &service_monitor_crd())
        .await
        .expect("ServiceMonitor stand-in CRD");
    controlplane::apply_crd(client, &prometheus_rule_crd())
        .await
        .expect("PrometheusRule stand-in CRD");
}

/// `helm template` of the chart into `namespace` with extra arguments.
fn render(tools: &Tools, release: &str, namespace: &str, args: &[&str]) -> String {
    let mut template = tools.helm();
    template
        .args(["template", release])
        .arg(chart())
        .args(["--namespace", namespace])
        .args(args);
    run(template, "helm template", None)
}

/// Server-side dry run of `manifests`; asserts every object was accepted and returns kubectl's
/// output.
fn server_dry_run(tools: &Tools, manifests: &str) -> String {
    let mut apply = tools.kubectl();
    apply.args([
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=keyward-chart-test",
        "-f",
        "-",
    ]);
    let out = run(
        apply,
        "kubectl apply --server-side --dry-run=server",
        Some(manifests),
    );
    let accepted = out
        .lines()
        .filter(|l| l.ends_with("(server dry run)"))
        .count();
    assert_eq!(
        accepted,
        objects(manifests).len(),
        "not every object was accepted:\n{out}"
    );
    out
}

/// The all-options values with namespaces of this test run instead of team-a/team-b.
fn all_options_args(team_a: &str, team_b: &str) -> Vec<String> {
    vec![
        "-f".into(),
        all_options().display().to_string(),
        format!("--set=watchNamespaces={{{team_a},{team_b}}}"),
        format!("--set=clusterSecretStore.namespaces={{{team_a}}}"),
        // The dashboard goes to the monitoring namespace; here, one of this run's.
        format!("--set=grafanaDashboard.namespace={team_b}"),
    ]
}

#[tokio::test]
async fn chart_with_default_values_passes_server_side_dry_run() {
    let client = controlplane::client().await;
    let tools = Tools::get().await;
    let ns = TestNamespace::new(&client, "chart-dry-default").await;
    let manifests = render(&tools, "kw", ns.name(), &[]);
    let kinds: Vec<String> = objects(&manifests).into_iter().map(|(k, _)| k).collect();
    for kind in [
        "Deployment",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Service",
        "PodDisruptionBudget",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} not rendered");
    }
    server_dry_run(&tools, &manifests);
}

#[tokio::test]
async fn chart_with_all_options_passes_server_side_dry_run() {
    let client = controlplane::client().await;
    install_crds(&client).await;
    let tools = Tools::get().await;
    let ns = TestNamespace::new(&client, "chart-dry-all").await;
    let (team_a, team_b) = (
        TestNamespace::new(&client, "chart-dry-team-a").await,
        TestNamespace::new(&client, "chart-dry-team-b").await,
    );
    let args = all_options_args(team_a.name(), team_b.name());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let manifests = render(&tools, "kw", ns.name(), &args);
    let kinds: Vec<String> = objects(&manifests).into_iter().map(|(k, _)| k).collect();
    for kind in [
        "ServiceMonitor",
        "PrometheusRule",
        "ConfigMap",
        "NetworkPolicy",
        "ClusterSecretStore",
        "Secret",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} not rendered");
    }
    server_dry_run(&tools, &manifests);
}

/// The dry runs above can fail: a misspelt field of a built-in object is rejected (strict
/// field validation against the server's OpenAPI models).
#[tokio::test]
async fn server_side_dry_run_rejects_a_misspelt_field() {
    let client = controlplane::client().await;
    let tools = Tools::get().await;
    let ns = TestNamespace::new(&client, "chart-dry-bad").await;
    let manifests = render(&tools, "kw", ns.name(), &[]);
    assert!(manifests.contains("\n  replicas: "), "{manifests}");
    let broken = manifests.replace("\n  replicas: ", "\n  replicaz: ");
    let mut apply = tools.kubectl();
    apply.args(["apply", "--server-side", "--dry-run=server", "-f", "-"]);
    let (ok, out, err) = try_run(apply, "kubectl apply", Some(&broken));
    assert!(!ok, "accepted:\n{out}");
    assert!(
        err.contains(".spec.replicaz: field not declared in schema"),
        "{err}"
    );
}

#[tokio::test]
async fn stand_in_service_monitor_crd_rejects_unknown_fields() {
    let client = controlplane::client().await;
    install_crds(&client).await;
    let tools = Tools::get().await;
    let ns = TestNamespace::new(&client, "chart-smon").await;
    let monitor = |endpoint: &str| {
        format!(
            "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: m\n  \
             namespace: {}\nspec:\n  selector:\n    matchLabels:\n      a: b\n  endpoints:\n    \
             - {endpoint}\n",
            ns.name()
        )
    };
    server_dry_run(&tools, &monitor("port: http-metrics"));
    for bad in ["portName: http-metrics", "interval: 15 seconds"] {
        let mut apply = tools.kubectl();
        apply.args(["apply", "--server-side", "--dry-run=server", "-f", "-"]);
        let (ok, out, err) = try_run(apply, "kubectl apply", Some(&monitor(bad)));
        assert!(!ok, "{bad:?} was accepted:\n{out}");
        assert!(err.contains("ServiceMonitor"), "{err}");
    }
}

/// Installs the chart, checks every object of the release exists (and the Lease Role grants
/// Leases), uninstalls and checks they are gone.
async fn install_and_uninstall(prefix: &str, extra: impl FnOnce(&str) -> Vec<String>) {
    let client = controlplane::client().await;
    install_crds(&client).await;
    let tools = Tools::get().await;
    let ns = TestNamespace::new(&client, prefix).await;
    let release = format!("kw-{}", unique());
    let args = extra(&release);

    let mut install = tools.helm();
    install
        .args(["install", &release])
        .arg(chart())
        .args(["--namespace", ns.name()])
        .args(&args);
    run(install, "helm install", None);

    let mut manifest = tools.helm();
    manifest.args(["get", "manifest", &release, "--namespace", ns.name()]);
    let manifests = run(manifest, "helm get manifest", None);
    let expected = objects(&manifests);
    assert!(expected.len() >= 8, "{expected:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("release.yaml");
    std::fs::write(&file, &manifests).unwrap();
    let mut get = tools.kubectl();
    get.args(["get", "-o", "name", "-f"]).arg(&file);
    let found = run(get, "kubectl get (installed)", None);
    assert_eq!(found.lines().count(), expected.len(), "{found}");

    let leader_role = expected
        .iter()
        .find(|(kind, name)| kind == "Role" && name.ends_with("-leader-election"))
        .map(|(_, name)| name.clone())
        .expect("a leader-election Role");
    let role = Api::<Role>::namespaced(client.clone(), ns.name())
        .get(&leader_role)
        .await
        .expect("leader-election Role stored");
    assert!(
        role.rules.unwrap_or_default().iter().any(|rule| {
            rule.api_groups.as_deref() == Some(&["coordination.k8s.io".to_owned()])
                && rule
                    .resources
                    .as_deref()
                    .is_some_and(|r| r.contains(&"leases".to_owned()))
        }),
        "the leader-election Role does not grant Leases"
    );

    let mut uninstall = tools.helm();
    uninstall.args(["uninstall", &release, "--namespace", ns.name(), "--wait"]);
    run(uninstall, "helm uninstall", None);
    let mut get = tools.kubectl();
    get.args(["get", "--ignore-not-found", "-o", "name", "-f"])
        .arg(&file);
    let left = run(get, "kubectl get (uninstalled)", None);
    assert_eq!(left.trim(), "", "left behind after helm uninstall");
}

#[tokio::test]
async fn helm_install_with_default_values_then_uninstall_cleans_up() {
    install_and_uninstall("chart-install-default", |_| Vec::new()).await;
}

#[tokio::test]
async fn helm_install_with_all_options_then_uninstall_cleans_up() {
    let client = controlplane::client().await;
    let (team_a, team_b) = (
        TestNamespace::new(&client, "chart-install-team-a").await,
        TestNamespace::new(&client, "chart-install-team-b").await,
    );
    install_and_uninstall("chart-install-all", |release| {
        let mut args = all_options_args(team_a.name(), team_b.name());
        // Cluster-scoped names must not collide with other runs sharing the control plane.
        args.push(format!("--set=fullnameOverride={release}"));
        args.push(format!("--set=clusterSecretStore.name={release}-store"));
        args
    })
    .await;
}

#[tokio::test]
async fn kubectl_apply_k_deploy_succeeds() {
    let client = controlplane::client().await;
    install_crds(&client).await;
    let tools = Tools::get().await;
    let deploy = root().join("deploy");

    // A server-side dry run of deploy/; it needs the namespace keyward-system to exist (as on any
    // cluster, objects in a missing namespace are refused, and a dry run creates none).
    let dry_run = || {
        let mut dry = tools.kubectl();
        dry.args([
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=keyward-chart-test",
            "-k",
        ])
        .arg(&deploy);
        let out = run(dry, "kubectl apply -k deploy/ --dry-run=server", None);
        assert!(out.contains("deployment.apps/"), "{out}");
    };

    // The real apply uses the fixed names of deploy/ (namespace keyward-system, cluster roles):
    // do it only when no one else has installed them on this control plane.
    let mut exists = tools.kubectl();
    exists.args([
        "get",
        "namespace",
        "keyward-system",
        "--ignore-not-found",
        "-o",
        "name",
    ]);
    if !run(exists, "kubectl get namespace", None).trim().is_empty() {
        dry_run();
        eprintln!("keyward-system exists already: checked deploy/ with a server-side dry run only");
        return;
    }
    let mut kustomize = tools.kubectl();
    kustomize.arg("kustomize").arg(&deploy);
    let manifests = run(kustomize, "kubectl kustomize deploy/", None);
    let mut apply = tools.kubectl();
    apply.args(["apply", "-k"]).arg(&deploy);
    let applied = run(apply, "kubectl apply -k deploy/", None);
    assert_eq!(
        applied.lines().count(),
        objects(&manifests).len(),
        "{applied}"
    );
    dry_run();

    // Clean up everything but the CRDs (shared with the other tests of this control plane).
    let without_crds: String = manifests
        .split("\n---\n")
        .filter(|doc| !doc.contains("\nkind: CustomResourceDefinition\n"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deploy-without-crds.yaml");
    std::fs::write(&file, without_crds).unwrap();
    let mut delete = tools.kubectl();
    delete
        .args(["delete", "--ignore-not-found", "-f"])
        .arg(&file);
    run(delete, "kubectl delete (deploy/ without CRDs)", None);
}
