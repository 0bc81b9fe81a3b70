//! Smoke suite of the local control plane (tests/controlplane): the API-server behaviours the
//! operator relies on, exercised through kube-rs, plus kubectl 1.32 and Helm 4 against it, and
//! the controllers it runs (system namespaces, namespace deletion, garbage collection).
//!
//! Brings the control plane up on first use (or uses the one `KUBECONFIG` names).

use crate::support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::{Stream, TryStreamExt};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, NamespaceCondition, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, OwnerReference};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::core::PartialObjectMeta;
use kube::runtime::wait::{await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use support::controlplane::{self, TestNamespace};

const WAIT: Duration = Duration::from_secs(20);

/// A small namespaced CRD with a status subresource and a CEL rule, defined here so the suite
/// does not depend on Keyward's own CRDs.
fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.smoke.keyward.dev"},
        "spec": {
            "group": "smoke.keyward.dev",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "x-kubernetes-validations": [
                                {"rule": "self.size <= 10", "message": "size must be at most 10"}
                            ],
                            "properties": {
                                "size": {"type": "integer"},
                                "colour": {"type": "string"}
                            }
                        },
                        "status": {
                            "type": "object",
                            "properties": {"observedSize": {"type": "integer"}}
                        }
                    }
                }}
            }]
        }
    }))
    .expect("widget CRD")
}

fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("smoke.keyward.dev", "v1", "Widget"),
        "widgets",
    )
}

fn widget(name: &str, spec: serde_json::Value) -> DynamicObject {
    DynamicObject::new(name, &widget_resource()).data(json!({ "spec": spec }))
}

/// A client and a widget API in a fresh namespace, with the widget CRD installed.
async fn widgets(prefix: &str) -> (Client, TestNamespace, Api<DynamicObject>) {
    let client = controlplane::client().await;
    controlplane::apply_crd(&client, &widget_crd())
        .await
        .expect("widget CRD installs and becomes Established");
    let ns = TestNamespace::new(&client, prefix).await;
    let api = Api::namespaced_with(client.clone(), ns.name(), &widget_resource());
    (client, ns, api)
}

/// The first item of `stream` that `pick` maps to `Some`, or a panic after [`WAIT`].
async fn first_match<T, U, S>(stream: S, what: &str, mut pick: impl FnMut(T) -> Option<U>) -> U
where
    S: Stream<Item = Result<T, watcher::Error>>,
{
    let mut stream = std::pin::pin!(stream);
    tokio::time::timeout(WAIT, async {
        while let Some(item) = stream.try_next().await.expect("watch stream") {
            if let Some(found) = pick(item) {
                return found;
            }
        }
        panic!("watch ended before {what}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
}

fn api_error_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[tokio::test]
async fn crd_installs_and_custom_objects_support_create_get_list_watch() {
    let (client, _ns, api) = widgets("smoke-crud").await;
    let crd = Api::<CustomResourceDefinition>::all(client)
        .get("widgets.smoke.keyward.dev")
        .await
        .unwrap();
    let conditions = crd.status.unwrap().conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True"),
        "{conditions:?}"
    );

    let created = api
        .create(
            &PostParams::default(),
            &widget("first", json!({"size": 1, "colour": "red"})),
        )
        .await
        .unwrap();
    assert!(created.resource_version().is_some());
    let got = api.get("first").await.unwrap();
    assert_eq!(got.data["spec"]["colour"], "red");
    let listed = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|o| o.name_any())
            .collect::<Vec<_>>(),
        ["first"]
    );

    let events = watcher(api.clone(), watcher::Config::default()).applied_objects();
    let writer = {
        let api = api.clone();
        tokio::spawn(async move {
            api.create(
                &PostParams::default(),
                &widget("second", json!({"size": 2})),
            )
            .await
            .unwrap();
        })
    };
    let seen = first_match(
        events,
        "the second widget in the watch",
        |o: DynamicObject| (o.name_any() == "second").then_some(o),
    )
    .await;
    writer.await.unwrap();
    assert_eq!(seen.data["spec"]["size"], 2);
}

#[tokio::test]
async fn crd_cel_rule_rejects_an_invalid_object() {
    let (_client, _ns, api) = widgets("smoke-cel").await;
    let err = api
        .create(&PostParams::default(), &widget("big", json!({"size": 11})))
        .await
        .expect_err("size 11 breaks the CEL rule");
    assert_eq!(api_error_code(&err), Some(422), "{err}");
    assert!(err.to_string().contains("size must be at most 10"), "{err}");
}

#[tokio::test]
async fn server_side_apply_reports_a_conflict_between_two_field_managers() {
    let (_client, _ns, api) = widgets("smoke-ssa").await;
    let mine = widget("shared", json!({"size": 1}));
    api.patch(
        "shared",
        &PatchParams::apply("manager-a"),
        &Patch::Apply(&mine),
    )
    .await
    .unwrap();

    let theirs = widget("shared", json!({"size": 2}));
    let err = api
        .patch(
            "shared",
            &PatchParams::apply("manager-b"),
            &Patch::Apply(&theirs),
        )
        .await
        .expect_err("manager-b does not own spec.size");
    assert_eq!(api_error_code(&err), Some(409), "{err}");
    assert!(err.to_string().contains("manager-a"), "{err}");

    let forced = api
        .patch(
            "shared",
            &PatchParams::apply("manager-b").force(),
            &Patch::Apply(&theirs),
        )
        .await
        .unwrap();
    assert_eq!(forced.data["spec"]["size"], 2);
    let owners: Vec<_> = forced
        .managed_fields()
        .iter()
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .is_some_and(|f| f.0.to_string().contains("f:size"))
        })
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(owners, ["manager-b"]);
}

#[tokio::test]
async fn status_subresource_is_written_apart_from_the_main_resource() {
    let (_client, _ns, api) = widgets("smoke-status").await;
    api.create(&PostParams::default(), &widget("w", json!({"size": 3})))
        .await
        .unwrap();

    let status = json!({
        "apiVersion": "smoke.keyward.dev/v1", "kind": "Widget",
        "status": {"observedSize": 3}
    });
    let after = api
        .patch_status(
            "w",
            &PatchParams::apply("status-writer"),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    assert_eq!(after.data["status"]["observedSize"], 3);

    // A status sent to the main resource is ignored, as is a spec sent to /status.
    let ignored = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedSize": 99}})),
        )
        .await
        .unwrap();
    assert_eq!(ignored.data["status"]["observedSize"], 3);
    let ignored = api
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(ignored.data["spec"]["size"], 3);
}

fn secret(name: &str, labels: &[(&str, &str)], data: serde_json::Value) -> Secret {
    let labels: BTreeMap<_, _> = labels.iter().map(|(k, v)| (*k, *v)).collect();
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "labels": labels},
        "data": data,
    }))
    .unwrap()
}

#[tokio::test]
async fn secrets_create_update_and_watch_with_a_label_selector() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-secret").await;
    let api: Api<Secret> = Api::namespaced(client, ns.name());

    let events = watcher(
        api.clone(),
        watcher::Config::default().labels("keyward.dev/watched=yes"),
    )
    .applied_objects();
    let writer = {
        let api = api.clone();
        tokio::spawn(async move {
            // The unlabelled one is written last: had the selector no effect, it would show up.
            let watched = secret(
                "watched",
                &[("keyward.dev/watched", "yes")],
                json!({"k": "djE="}),
            );
            api.create(&PostParams::default(), &watched).await.unwrap();
            let mut current = api.get("watched").await.unwrap();
            current
                .data
                .get_or_insert_default()
                .insert("k".into(), ByteString(b"v2".to_vec()));
            api.replace("watched", &PostParams::default(), &current)
                .await
                .unwrap();
            let other = secret("other", &[], json!({"k": "eA=="}));
            api.create(&PostParams::default(), &other).await.unwrap();
        })
    };
    let mut names = Vec::new();
    let updated = first_match(events, "the updated Secret", |s: Secret| {
        names.push(s.name_any());
        let v2 = s
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(|b| b.0.clone());
        (v2.as_deref() == Some(b"v2".as_slice())).then_some(s)
    })
    .await;
    writer.await.unwrap();
    assert_eq!(updated.name_any(), "watched");
    assert!(names.iter().all(|n| n == "watched"), "{names:?}");

    let listed = api
        .list(&ListParams::default().labels("keyward.dev/watched=yes"))
        .await
        .unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|s| s.name_any())
            .collect::<Vec<_>>(),
        ["watched"]
    );
}

#[tokio::test]
async fn secrets_can_be_watched_metadata_only() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-meta").await;
    let api: Api<Secret> = Api::namespaced(client, ns.name());
    api.create(
        &PostParams::default(),
        &secret(
            "m",
            &[("keyward.dev/managed", "true")],
            json!({"k": "c2VjcmV0"}),
        ),
    )
    .await
    .unwrap();

    // An Api over PartialObjectMeta makes metadata-only requests (no data on the wire).
    let meta_api: Api<PartialObjectMeta<Secret>> = Api::namespaced(api.into_client(), ns.name());
    let events = watcher(
        meta_api,
        watcher::Config::default().labels("keyward.dev/managed=true"),
    )
    .applied_objects();
    let meta = first_match(events, "the Secret's metadata", Some).await;
    assert_eq!(meta.name_any(), "m");
    assert_eq!(meta.labels()["keyward.dev/managed"], "true");
    assert!(meta.resource_version().is_some());
}

#[tokio::test]
async fn secret_string_data_is_folded_into_data_and_type_defaults_to_opaque() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-strdata").await;
    let api: Api<Secret> = Api::namespaced(client, ns.name());
    let sent: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"a": "YQ==", "b": "Yg=="},
        "stringData": {"b": "from-string-data", "c": "c"}
    }))
    .unwrap();
    let stored = api.create(&PostParams::default(), &sent).await.unwrap();
    assert_eq!(stored.type_.as_deref(), Some("Opaque"));
    assert!(stored.string_data.is_none());
    let data = stored.data.unwrap();
    let text = |k: &str| String::from_utf8(data[k].0.clone()).unwrap();
    assert_eq!(
        (text("a"), text("b"), text("c")),
        ("a".into(), "from-string-data".into(), "c".into())
    );

    // The `type` field selector (a real API server supports it on Secrets).
    let tls: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"},
        "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}
    }))
    .unwrap();
    api.create(&PostParams::default(), &tls).await.unwrap();
    let opaque = api
        .list(&ListParams::default().fields("type=Opaque"))
        .await
        .unwrap();
    assert_eq!(
        opaque
            .items
            .iter()
            .map(|s| s.name_any())
            .collect::<Vec<_>>(),
        ["s"]
    );

    // `type` is immutable.
    let err = api
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"type": "kubernetes.io/tls"})),
        )
        .await
        .expect_err("type change is rejected");
    assert_eq!(api_error_code(&err), Some(422), "{err}");
}

#[tokio::test]
async fn lease_is_created_and_renewed_with_optimistic_concurrency() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-lease").await;
    let api: Api<Lease> = Api::namespaced(client, ns.name());
    let now = || MicroTime(jiff::Timestamp::now());
    let lease: Lease = serde_json::from_value(json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "keyward-leader"},
        "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15}
    }))
    .unwrap();
    let mut held = api.create(&PostParams::default(), &lease).await.unwrap();
    let stale = held.clone();

    let spec = held.spec.get_or_insert_default();
    spec.renew_time = Some(now());
    let renewed = api
        .replace("keyward-leader", &PostParams::default(), &held)
        .await
        .unwrap();
    assert!(renewed.spec.as_ref().unwrap().renew_time.is_some());
    assert_ne!(renewed.resource_version(), stale.resource_version());

    // Another candidate writing from a stale read loses.
    let mut theirs = stale;
    theirs.spec.get_or_insert_default().holder_identity = Some("pod-b".into());
    let err = api
        .replace("keyward-leader", &PostParams::default(), &theirs)
        .await
        .expect_err("stale resourceVersion");
    assert_eq!(api_error_code(&err), Some(409), "{err}");
}

#[tokio::test]
async fn deployment_generation_bumps_on_spec_changes_only() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-deploy").await;
    let api: Api<Deployment> = Api::namespaced(client, ns.name());
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "app"},
        "spec": {
            "selector": {"matchLabels": {"app": "app"}},
            "template": {
                "metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [{"name": "app", "image": "example/app:1"}]}
            }
        }
    }))
    .unwrap();
    let created = api
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.spec.as_ref().unwrap().replicas, Some(1));

    let labelled = api
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "keyward"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));

    let patched = api
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "example/app:2"}
            ]}}}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(2));

    let status = api
        .patch_status(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedGeneration": 2, "readyReplicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(status.metadata.generation, Some(2));
    assert_eq!(status.status.unwrap().observed_generation, Some(2));
}

#[tokio::test]
async fn audit_log_records_each_request() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-audit").await;
    let name = format!("audited-{}", uuid::Uuid::new_v4().simple());
    Api::<Secret>::namespaced(client, ns.name())
        .create(&PostParams::default(), &secret(&name, &[], json!({})))
        .await
        .unwrap();

    let path = controlplane::audit_log_path().await;
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            let hit = log
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|e| {
                    e["verb"] == "create"
                        && e["objectRef"]["resource"] == "secrets"
                        && e["objectRef"]["name"] == name.as_str()
                        && e["stage"] == "ResponseComplete"
                });
            if let Some(hit) = hit {
                return hit;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no audit event in {}", path.display()));
    assert_eq!(found["level"], "Metadata");
    assert_eq!(found["objectRef"]["namespace"], ns.name());
    assert_eq!(found["responseStatus"]["code"], 201);
    assert!(
        found.get("requestObject").is_none(),
        "level Metadata keeps bodies (and secret values) out of the log"
    );
}

#[tokio::test]
async fn crds_folder_installs_and_is_served() {
    let client = controlplane::client().await;
    let names = controlplane::install_crds(&client).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let expected = controlplane::read_crds(&dir).unwrap();
    assert_eq!(names.len(), expected.len());
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    for crd in expected {
        let name = crd.metadata.name.unwrap();
        let served = crds.get(&name).await.unwrap();
        let version = &crd.spec.versions[0].name;
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(&crd.spec.group, version, &crd.spec.names.kind),
            &crd.spec.names.plural,
        );
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        api.list(&ListParams::default())
            .await
            .unwrap_or_else(|e| panic!("listing {name}: {e}"));
        assert_eq!(served.spec.group, crd.spec.group);
    }
}

/// kubectl 1.32 from the machine (the newer one from tests/tools is only used with Helm).
fn kubectl() -> Command {
    let path = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("kubectl");
    Command::new(path)
}

fn run(mut cmd: Command, what: &str) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn kubectl_api_resources_lists_every_served_type() {
    let kubeconfig = controlplane::kubeconfig_path().await;
    let mut cmd = kubectl();
    cmd.args(["api-resources", "--no-headers", "-o", "name"])
        .env("KUBECONFIG", kubeconfig);
    let listed = run(cmd, "kubectl api-resources");
    let listed: Vec<&str> = listed.lines().map(str::trim).collect();
    for want in [
        "customresourcedefinitions.apiextensions.k8s.io",
        "secrets",
        "configmaps",
        "namespaces",
        "serviceaccounts",
        "services",
        "events",
        "events.events.k8s.io",
        "leases.coordination.k8s.io",
        "deployments.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "roles.rbac.authorization.k8s.io",
        "rolebindings.rbac.authorization.k8s.io",
        "clusterroles.rbac.authorization.k8s.io",
        "clusterrolebindings.rbac.authorization.k8s.io",
        "poddisruptionbudgets.policy",
        "networkpolicies.networking.k8s.io",
    ] {
        assert!(listed.contains(&want), "{want} missing from {listed:?}");
    }
}

#[tokio::test]
async fn helm_template_applies_with_server_side_dry_run() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-helm").await;
    let kubeconfig = controlplane::kubeconfig_path().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));

    let mut install = Command::new("bash");
    install.arg(root.join("tests/tools/install.sh"));
    let bin = run(install, "tests/tools/install.sh");
    let helm = std::path::Path::new(bin.lines().last().unwrap().trim()).join("helm");
    let mut version = Command::new(&helm);
    version.args(["version", "--short"]);
    assert!(run(version, "helm version").starts_with("v4."));

    let mut template = Command::new(&helm);
    template
        .args(["template", "smoke"])
        .arg(root.join("tests/controlplane/testdata/smoke-chart"))
        .args(["--namespace", ns.name()]);
    let manifests = run(template, "helm template");

    let mut apply = kubectl();
    apply
        .args(["apply", "--dry-run=server", "-n", ns.name(), "-f", "-"])
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = apply.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(manifests.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl apply --dry-run=server failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for kind in [
        "serviceaccount/",
        "role.rbac.authorization.k8s.io/",
        "rolebinding.rbac.authorization.k8s.io/",
        "configmap/",
        "service/",
        "deployment.apps/",
        "poddisruptionbudget.policy/",
        "networkpolicy.networking.k8s.io/",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(kind) && l.ends_with("(server dry run)")),
            "{kind} not applied:\n{stdout}"
        );
    }
    // Dry run: nothing was stored.
    let deployments: Api<Deployment> = Api::namespaced(client, ns.name());
    assert!(
        deployments
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn kube_event_recorder_writes_events_k8s_io_events() {
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::events::v1::Event as EventV1;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};

    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-events").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let target = secrets
        .create(&PostParams::default(), &secret("evented", &[], json!({})))
        .await
        .unwrap();
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "keyward-smoke".into(),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Normal,
        reason: "Synced".into(),
        note: Some("mirrored revision 1".into()),
        action: "Sync".into(),
        secondary: None,
    };
    let reference = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Secret".into()),
        name: target.metadata.name.clone(),
        namespace: target.metadata.namespace.clone(),
        uid: target.metadata.uid.clone(),
        ..ObjectReference::default()
    };
    // The second publication of the same event patches it into a series.
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();

    let events: Api<EventV1> = Api::namespaced(client, ns.name());
    let listed = events.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let stored = &listed[0];
    assert_eq!(stored.reason.as_deref(), Some("Synced"));
    assert_eq!(
        stored.reporting_controller.as_deref(),
        Some("keyward-smoke")
    );
    assert_eq!(
        stored.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("evented")
    );
    assert_eq!(stored.series.as_ref().map(|s| s.count), Some(2));
}

// ---------------------------------------------------------------------------------------------
// The controllers the control plane runs: system namespaces, namespace deletion, garbage
// collection.
// ---------------------------------------------------------------------------------------------

/// A finalizer nobody but the test removes.
const HOLD: &str = "smoke.keyward.dev/hold";

/// Waits until the object `name` with `uid` is gone, or panics after [`WAIT`].
async fn await_gone<K>(api: &Api<K>, name: &str, uid: &str)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    tokio::time::timeout(
        WAIT,
        await_condition(api.clone(), name, conditions::is_deleted(uid)),
    )
    .await
    .unwrap_or_else(|_| panic!("{name} still there after {WAIT:?}"))
    .expect("watching for the deletion");
}

/// Deletes a namespace as kubectl does; the API server answers with it, Terminating.
async fn delete_namespace(client: &Client, name: &str) -> Namespace {
    let deleted = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("deleting namespace {name}: {e}"));
    deleted.left().expect("a namespace is not removed at once")
}

fn namespace_condition<'a>(ns: &'a Namespace, type_: &str) -> Option<&'a NamespaceCondition> {
    ns.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// A widget namespace holding `held`, a widget with the [`HOLD`] finalizer.
async fn held_widgets(prefix: &str) -> (Client, TestNamespace, Api<DynamicObject>) {
    let (client, ns, widgets) = widgets(prefix).await;
    let mut held = widget("held", json!({"size": 1}));
    held.metadata.finalizers = Some(vec![HOLD.into()]);
    widgets.create(&PostParams::default(), &held).await.unwrap();
    (client, ns, widgets)
}

async fn release(api: &Api<DynamicObject>, name: &str) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap_or_else(|e| panic!("removing the finalizer of {name}: {e}"));
}

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
    )
    .unwrap()
}

/// A reference to the ConfigMap `name` with `uid` as owner.
fn config_map_owner(name: &str, uid: &str, block: bool) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: name.into(),
        uid: uid.into(),
        block_owner_deletion: Some(block),
        controller: None,
    }
}

/// A reference to a ConfigMap that never existed: the collector deletes its dependents.
fn absent_owner() -> OwnerReference {
    config_map_owner(
        "never-existed",
        "00000000-0000-0000-0000-000000000000",
        false,
    )
}

/// Waits until the garbage collector has seen every object of `barrier`'s kind created so far:
/// it watches each kind in creation order, so once it has collected `barrier` (a dependent of
/// [`absent_owner`]) it knows the objects created before it. Without this, a delete sent right
/// after a create can reach the collector before the new dependent does (its watch lags under
/// load, or the kind's watch has not started yet after the CRD was installed).
async fn collector_caught_up<K>(api: &Api<K>, barrier: K)
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::Serialize,
    K: serde::de::DeserializeOwned + Send + 'static,
{
    let created = api
        .create(&PostParams::default(), &barrier)
        .await
        .expect("creating the collector's barrier");
    await_gone(api, &created.name_any(), &created.uid().unwrap()).await;
}

fn owned_secret(name: &str, owner: OwnerReference) -> Secret {
    let mut secret = secret(name, &[], json!({}));
    secret.metadata.owner_references = Some(vec![owner]);
    secret
}

#[tokio::test]
async fn system_namespaces_exist_and_the_immortal_ones_cannot_be_deleted() {
    let namespaces = Api::<Namespace>::all(controlplane::client().await);
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let ns = namespaces
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let phase = ns.status.and_then(|s| s.phase);
        assert_eq!(phase.as_deref(), Some("Active"), "{name}");
    }
    // Dry run: were the refusal missing, nothing would be deleted either.
    let dry_run = DeleteParams {
        dry_run: true,
        ..DeleteParams::default()
    };
    for name in ["default", "kube-system", "kube-public"] {
        let err = namespaces
            .delete(name, &dry_run)
            .await
            .expect_err("system namespaces may not be deleted");
        assert_eq!(api_error_code(&err), Some(403), "{name}: {err}");
    }
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_secrets_config_maps_and_custom_objects() {
    let (client, ns, widgets) = widgets("smoke-nsdel").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    for i in 0..3 {
        let name = format!("o{i}");
        secrets
            .create(
                &PostParams::default(),
                &secret(&name, &[], json!({"k": "dg=="})),
            )
            .await
            .unwrap();
        config_maps
            .create(&PostParams::default(), &config_map(&name))
            .await
            .unwrap();
        widgets
            .create(&PostParams::default(), &widget(&name, json!({"size": i})))
            .await
            .unwrap();
    }

    let terminating = delete_namespace(&client, ns.name()).await;
    assert!(terminating.metadata.deletion_timestamp.is_some());
    let phase = terminating.status.as_ref().and_then(|s| s.phase.as_deref());
    assert_eq!(phase, Some("Terminating"));
    let finalizers = terminating.spec.as_ref().and_then(|s| s.finalizers.clone());
    assert_eq!(finalizers, Some(vec!["kubernetes".to_string()]));

    let uid = terminating.metadata.uid.unwrap();
    await_gone(&Api::<Namespace>::all(client), ns.name(), &uid).await;
    let lp = ListParams::default();
    assert!(secrets.list(&lp).await.unwrap().items.is_empty());
    assert!(config_maps.list(&lp).await.unwrap().items.is_empty());
    assert!(widgets.list(&lp).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn a_custom_object_with_a_finalizer_keeps_its_namespace_terminating_until_it_is_removed() {
    let (client, ns, widgets) = held_widgets("smoke-nshold").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    secrets
        .create(&PostParams::default(), &secret("plain", &[], json!({})))
        .await
        .unwrap();
    let uid = delete_namespace(&client, ns.name())
        .await
        .metadata
        .uid
        .unwrap();

    let namespaces = Api::<Namespace>::all(client.clone());
    let reported = |ns: Option<&Namespace>| {
        ns.and_then(|ns| namespace_condition(ns, "NamespaceFinalizersRemaining"))
            .is_some_and(|c| c.status == "True")
    };
    let held = tokio::time::timeout(
        WAIT,
        await_condition(namespaces.clone(), ns.name(), reported),
    )
    .await
    .unwrap_or_else(|_| panic!("no NamespaceFinalizersRemaining within {WAIT:?}"))
    .unwrap()
    .expect("the namespace waits for the finalizer");
    let phase = held.status.as_ref().and_then(|s| s.phase.as_deref());
    assert_eq!(phase, Some("Terminating"));
    let finalizers = namespace_condition(&held, "NamespaceFinalizersRemaining").unwrap();
    assert_eq!(finalizers.reason.as_deref(), Some("SomeFinalizersRemain"));
    assert_eq!(
        finalizers.message.as_deref(),
        Some(
            "Some content in the namespace has finalizers remaining: smoke.keyward.dev/hold in 1 resource instances"
        )
    );
    let content = namespace_condition(&held, "NamespaceContentRemaining").unwrap();
    assert_eq!(
        (content.status.as_str(), content.reason.as_deref()),
        ("True", Some("SomeResourcesRemain"))
    );
    assert_eq!(
        content.message.as_deref(),
        Some("Some resources are remaining: widgets.smoke.keyward.dev has 1 resource instances")
    );

    // Everything else is gone; the held widget waits, marked for deletion.
    assert!(
        secrets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let waiting = widgets.get("held").await.unwrap();
    assert!(waiting.metadata.deletion_timestamp.is_some());

    release(&widgets, "held").await;
    await_gone(&namespaces, ns.name(), &uid).await;
}

#[tokio::test]
async fn creating_in_a_terminating_or_missing_namespace_is_refused() {
    let (client, ns, widgets) = held_widgets("smoke-nslate").await;
    let uid = delete_namespace(&client, ns.name())
        .await
        .metadata
        .uid
        .unwrap();

    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let err = config_maps
        .create(&PostParams::default(), &config_map("late"))
        .await
        .expect_err("the namespace is terminating");
    assert_eq!(api_error_code(&err), Some(403), "{err}");
    assert!(
        err.to_string().contains("because it is being terminated"),
        "{err}"
    );
    let err = widgets
        .create(&PostParams::default(), &widget("late", json!({"size": 1})))
        .await
        .expect_err("custom objects go through the same admission");
    assert_eq!(api_error_code(&err), Some(403), "{err}");

    let missing = format!("smoke-missing-{}", uuid::Uuid::new_v4().simple());
    let err = Api::<Secret>::namespaced(client.clone(), &missing)
        .create(&PostParams::default(), &secret("s", &[], json!({})))
        .await
        .expect_err("the namespace does not exist");
    assert_eq!(api_error_code(&err), Some(404), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("namespaces \"{missing}\" not found")),
        "{err}"
    );

    release(&widgets, "held").await;
    await_gone(&Api::<Namespace>::all(client), ns.name(), &uid).await;
}

#[tokio::test]
async fn a_secret_owned_by_a_deleted_config_map_is_garbage_collected() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "smoke-gc").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let secrets: Api<Secret> = Api::namespaced(client, ns.name());
    let pp = PostParams::default();
    let owner = config_maps.create(&pp, &config_map("owner")).await.unwrap();
    let keeper = config_maps
        .create(&pp, &config_map("keeper"))
        .await
        .unwrap();
    let owned = secrets
        .create(
            &pp,
            &owned_secret(
                "owned",
                config_map_owner("owner", &owner.uid().unwrap(), false),
            ),
        )
        .await
        .unwrap();
    let kept = secrets
        .create(
            &pp,
            &owned_secret(
                "kept",
                config_map_owner("keeper", &keeper.uid().unwrap(), false),
            ),
        )
        .await
        .unwrap();
    // Owners are matched by UID: a live ConfigMap of the same name is not this owner.
    let impostor = uuid::Uuid::new_v4().to_string();
    let stale = secrets
        .create(
            &pp,
            &owned_secret("stale", config_map_owner("keeper", &impostor, false)),
        )
        .await
        .unwrap();

    config_maps
        .delete("owner", &DeleteParams::default())
        .await
        .unwrap();
    await_gone(&secrets, "owned", &owned.uid().unwrap()).await;
    await_gone(&secrets, "stale", &stale.uid().unwrap()).await;
    let still = secrets.get("kept").await.unwrap();
    assert_eq!(still.uid(), kept.uid());
    assert_eq!(still.owner_references(), kept.owner_references());
}

#[tokio::test]
async fn garbage_collector_orphans_or_deletes_dependents_first_as_the_delete_asks() {
    let (client, ns, widgets) = widgets("smoke-gcprop").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let secrets: Api<Secret> = Api::namespaced(client, ns.name());
    let pp = PostParams::default();

    // Orphan: the dependent stays, without the reference; then the owner goes.
    let owner = config_maps
        .create(&pp, &config_map("orphaner"))
        .await
        .unwrap();
    let owner_uid = owner.uid().unwrap();
    secrets
        .create(
            &pp,
            &owned_secret("orphan", config_map_owner("orphaner", &owner_uid, false)),
        )
        .await
        .unwrap();
    collector_caught_up(&secrets, owned_secret("barrier-1", absent_owner())).await;
    config_maps
        .delete("orphaner", &DeleteParams::orphan())
        .await
        .unwrap();
    await_gone(&config_maps, "orphaner", &owner_uid).await;
    let orphan = secrets.get("orphan").await.unwrap();
    assert!(orphan.owner_references().is_empty(), "{orphan:?}");

    // Foreground: dependents go first; one that blocks (a widget held by a finalizer) keeps the
    // owner, marked for deletion, until it is gone.
    let owner = config_maps
        .create(&pp, &config_map("parent"))
        .await
        .unwrap();
    let owner_uid = owner.uid().unwrap();
    let child = secrets
        .create(
            &pp,
            &owned_secret("child", config_map_owner("parent", &owner_uid, false)),
        )
        .await
        .unwrap();
    let mut blocker = widget("blocker", json!({"size": 1}));
    blocker.metadata.finalizers = Some(vec![HOLD.into()]);
    blocker.metadata.owner_references = Some(vec![config_map_owner("parent", &owner_uid, true)]);
    widgets.create(&pp, &blocker).await.unwrap();
    collector_caught_up(&secrets, owned_secret("barrier-2", absent_owner())).await;
    let mut barrier = widget("barrier", json!({"size": 1}));
    barrier.metadata.owner_references = Some(vec![absent_owner()]);
    collector_caught_up(&widgets, barrier).await;
    config_maps
        .delete("parent", &DeleteParams::foreground())
        .await
        .unwrap();
    await_gone(&secrets, "child", &child.uid().unwrap()).await;
    let waiting = config_maps.get("parent").await.unwrap();
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert!(
        waiting
            .finalizers()
            .contains(&"foregroundDeletion".to_string())
    );
    assert!(
        widgets
            .get("blocker")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );

    release(&widgets, "blocker").await;
    await_gone(&config_maps, "parent", &owner_uid).await;
}
