//! The chart's RBAC checked against reality: the operator (`keyward run`, as in production, with
//! leader election on) runs a representative flow against the local control plane and the
//! emulator; the control plane's audit log then says which (verb, API group, resource,
//! subresource, namespace) the operator's own requests used. Every one must be granted by the
//! chart's rules, and every rule the chart grants must be used, except the deliberate extras below.
//!
//! The control plane has no RBAC authorizer and every test authenticates as one admin, so the
//! operator gets a client certificate of its own (signed by the control plane's CA, a unique user
//! name per run, group system:masters): its audit entries are exactly those with that user.

use crate::support;
use crate::support::e2e as e2e_support;
use crate::support::workloads;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::Api;
use serde_json::json;

use e2e_support::World;
use support::controlplane;

/// Rules granted on purpose although the flow never uses them, with the reason.
const DELIBERATE_EXTRAS: &[(&str, &str, &str, &str)] = &[(
    "update",
    "keyward.dev",
    "managedsecrets/finalizers",
    "an owner reference with blockOwnerDeletion on a target Secret needs it where the \
     OwnerReferencesPermissionEnforcement admission plugin is on (the local control plane has it off)",
)];

/// One kind of request the operator made.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Request {
    verb: String,
    group: String,
    /// `resource` or `resource/subresource`, as RBAC rules name them.
    resource: String,
    /// None for cluster-scoped requests (and cluster-wide lists and watches).
    namespace: Option<String>,
    /// Only kept for resources the chart limits by name (the Lease).
    name: Option<String>,
}

/// A rule and where it applies: a ClusterRole's everywhere, a Role's in its namespace.
#[derive(Clone, Debug)]
struct Grant {
    namespace: Option<String>,
    rule: PolicyRule,
}

fn rule_allows(grant: &Grant, req: &Request) -> bool {
    if let Some(ns) = &grant.namespace
        && req.namespace.as_ref() != Some(ns)
    {
        return false;
    }
    let rule = &grant.rule;
    let has = |list: &Option<Vec<String>>, want: &str| {
        list.as_deref()
            .is_some_and(|l| l.iter().any(|x| x == want || x == "*"))
    };
    let names_ok = match rule.resource_names.as_deref() {
        None | Some([]) => true,
        // A create (and a list or watch) carries no name when it is authorized.
        Some(names) => {
            !["create", "list", "watch"].contains(&req.verb.as_str())
                && req.name.as_ref().is_some_and(|n| names.contains(n))
        }
    };
    has(&rule.api_groups, &req.group)
        && has(&rule.resources, &req.resource)
        && rule.verbs.iter().any(|v| v == &req.verb || v == "*")
        && names_ok
}

/// The requests no grant allows.
fn ungranted<'a>(used: &'a BTreeSet<Request>, grants: &[Grant]) -> Vec<&'a Request> {
    used.iter()
        .filter(|req| !grants.iter().any(|g| rule_allows(g, req)))
        .collect()
}

/// (verb, group, resource) atoms the grants allow that no request used.
fn unused(used: &BTreeSet<Request>, grants: &[Grant]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for grant in grants {
        for verb in &grant.rule.verbs {
            for group in grant.rule.api_groups.iter().flatten() {
                for resource in grant.rule.resources.iter().flatten() {
                    let single = Grant {
                        namespace: grant.namespace.clone(),
                        rule: PolicyRule {
                            verbs: vec![verb.clone()],
                            api_groups: Some(vec![group.clone()]),
                            resources: Some(vec![resource.clone()]),
                            ..grant.rule.clone()
                        },
                    };
                    if !used.iter().any(|r| rule_allows(&single, r)) {
                        out.insert((verb.clone(), group.clone(), resource.clone()));
                    }
                }
            }
        }
    }
    out
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.stdin(Stdio::null()).output().expect("command");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The RBAC objects the chart renders (release in `namespace`), as grants.
fn chart_grants(namespace: &str, set: &[String]) -> Vec<Grant> {
    use serde::Deserialize as _;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = stdout(Command::new("bash").arg(root.join("tests/tools/install.sh")));
    let helm = Path::new(bin.lines().last().unwrap().trim()).join("helm");
    let mut template = Command::new(helm);
    template
        .args(["template", "keyward"])
        .arg(root.join("charts/keyward"))
        .args(["--namespace", namespace])
        .args(["--show-only", "templates/rbac.yaml"]);
    for s in set {
        template.args(["--set", s]);
    }
    let rendered = stdout(&mut template);
    let mut grants = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&rendered) {
        let Ok(value) = serde_yaml::Value::deserialize(doc) else {
            continue;
        };
        let kind = value["kind"].as_str().unwrap_or_default();
        if kind != "ClusterRole" && kind != "Role" {
            continue;
        }
        let scope =
            (kind == "Role").then(|| value["metadata"]["namespace"].as_str().unwrap().to_owned());
        let rules: Vec<PolicyRule> = serde_yaml::from_value(value["rules"].clone()).unwrap();
        grants.extend(rules.into_iter().map(|rule| Grant {
            namespace: scope.clone(),
            rule,
        }));
    }
    // Every rendered role is bound to the operator's ServiceAccount (checked by the chart's
    // own tests); here only the rules matter.
    assert!(!grants.is_empty(), "no rules rendered");
    grants
}

/// A client certificate for a user of its own, and a kubeconfig using it.
fn operator_kubeconfig(state: &Path, dir: &Path, user: &str) -> PathBuf {
    let pki = state.join("pki");
    let (key, csr, crt, ext) = (
        dir.join("op.key"),
        dir.join("op.csr"),
        dir.join("op.crt"),
        dir.join("op.ext"),
    );
    stdout(
        Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj"])
            .arg(format!("/O=system:masters/CN={user}"))
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
    );
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    stdout(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(pki.join("ca.crt"))
            .arg("-CAkey")
            .arg(pki.join("ca.key"))
            // A serial of its own: no write to the control plane's ca.srl.
            .args(["-set_serial"])
            .arg(format!("0x{}", uuid::Uuid::new_v4().simple()))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&crt),
    );
    let b64 = |p: &Path| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap())
    };
    let mut config: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(state.join("kubeconfig")).unwrap()).unwrap();
    let users = config["users"].as_sequence_mut().unwrap();
    for u in users.iter_mut() {
        u["user"]["client-certificate-data"] = b64(&crt).into();
        u["user"]["client-key-data"] = b64(&key).into();
    }
    let path = dir.join("operator.kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    path
}

/// Every request of `user` in the audit log, as RBAC sees it.
fn requests_of(audit: &Path, user: &str) -> BTreeSet<Request> {
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["user"]["username"] == user && e["objectRef"].is_object())
        .map(|e| {
            let field = |f: &str| e["objectRef"][f].as_str().map(str::to_owned);
            let resource = field("resource").unwrap_or_default();
            let resource = match field("subresource") {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource,
            };
            // A namespace's own objectRef names it as its namespace; it is cluster-scoped.
            let namespace = if resource == "namespaces" {
                None
            } else {
                field("namespace")
            };
            let name = (resource == "leases").then(|| field("name")).flatten();
            Request {
                verb: e["verb"].as_str().unwrap_or_default().to_owned(),
                group: field("apiGroup").unwrap_or_default(),
                resource,
                namespace,
                name,
            }
        })
        .collect()
}

#[tokio::test]
async fn the_operators_requests_are_exactly_what_the_chart_grants() {
    let state = controlplane::state_dir().await;
    let keydir = tempfile::tempdir().unwrap();
    let user = format!(
        "keyward-operator-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let kubeconfig = operator_kubeconfig(&state, keydir.path(), &user);
    let kubeconfig = kubeconfig.to_str().unwrap().to_owned();

    // The namespace is only known once the World made it, and the operator starts with the
    // World: its Lease lives in the namespace given by POD_NAMESPACE, read at start; so the
    // World's operator (without leader election) is replaced by one with it.
    let mut w = World::new("rbac").await;
    let ns = w.ns().to_owned();
    w.op.restart(&[
        ("KUBECONFIG", &kubeconfig),
        ("KEYWARD_LEADER_ELECTION", "true"),
        ("POD_NAMESPACE", &ns),
        ("POD_NAME", "rbac-operator"),
        ("KEYWARD_LEADER_ELECTION_LEASE_DURATION", "4s"),
        ("KEYWARD_LEADER_ELECTION_RENEW_DEADLINE", "3s"),
        ("KEYWARD_LEADER_ELECTION_RETRY_PERIOD", "500ms"),
    ])
    .await;

    // Generated, then rotated by annotation.
    w.apply_ms(
        "gen",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {"length": 24}, "refreshInterval": "10s"}),
    )
    .await;
    let gen_id = w.ready_id("gen", 1).await;
    w.annotate("gen", "keyward.dev/rotate", "rbac-1").await;
    w.wait_ready("gen", 2).await;

    // Hand edits of the target, repaired twice: the same Event twice (the recorder patches the
    // repeated Event's series instead of creating a second one).
    let good = w.secret_data("gen").await.unwrap();
    for edit in ["hand-edited-1", "hand-edited-2"] {
        e2e_support::merge_patch(&w.secrets(), "gen", json!({"stringData": {"value": edit}}))
            .await
            .unwrap();
        w.wait_secret("gen", "drift repaired", Duration::from_secs(60), |data| {
            *data == good
        })
        .await;
    }

    // Pushed from a Secret.
    w.apply_secret("src", json!({"token": "push-one"})).await;
    w.apply_ms(
        "pushed",
        json!({"storeRef": {"name": e2e_support::STORE}, "fromSecret": {"name": "src"}, "refreshInterval": "10s"}),
    )
    .await;
    w.wait_ready("pushed", 1).await;

    // Adopted by id.
    w.apply_ms(
        "adopted",
        json!({"storeRef": {"name": e2e_support::STORE}, "remote": {"adopt": {"secretId": gen_id}}}),
    )
    .await;
    w.wait_ready("adopted", 2).await;

    // Through a ClusterSecretStore that selects namespaces by label (the operator reads the
    // namespace's labels).
    let namespaces: Api<Namespace> = Api::all(w.client.clone());
    e2e_support::merge_patch(
        &namespaces,
        &ns,
        json!({"metadata": {"labels": {"keyward-rbac": "yes"}}}),
    )
    .await
    .unwrap();
    let css = format!("{ns}-css");
    w.apply(json!({
        "apiVersion": "keyward.dev/v1alpha1", "kind": "ClusterSecretStore",
        "metadata": {"name": css},
        "spec": {"allowedNamespaces": {"selector": {"matchLabels": {"keyward-rbac": "yes"}}},
            "provider": {"scaleway": {
            "region": "fr-par", "projectId": e2e_support::PROJECT, "apiUrl": w.emu.base_url(),
            "credentials": {"secretRef": {"name": e2e_support::CREDENTIALS, "namespace": ns}}}}},
    }))
    .await;
    w.apply_ms(
        "cluster",
        json!({"storeRef": {"kind": "ClusterSecretStore", "name": css}, "generate": {}}),
    )
    .await;
    w.wait_ready("cluster", 1).await;

    // Rollout: workloads named (read one by one), discovered (listed), and restarted (patched).
    w.apply(workloads::deployment("rbac-api", json!({}), Some("rolled")))
        .await;
    w.apply(workloads::stateful_set("rbac-ledger", Some("rolled")))
        .await;
    w.apply(workloads::daemon_set("rbac-agent", "rolled")).await;
    w.apply_ms(
        "rolled",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "rollout": {"debounce": "1s", "workloads": [
            {"kind": "Deployment", "name": "rbac-api"},
            {"kind": "StatefulSet", "name": "rbac-ledger"},
            {"kind": "DaemonSet", "name": "rbac-agent"}]}}),
    )
    .await;
    w.apply_ms(
        "discovering",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "rollout": {"discover": true}}),
    )
    .await;
    w.wait_ready("rolled", 1).await;
    w.wait_ready("discovering", 1).await;
    w.annotate("rolled", "keyward.dev/rotate", "rbac").await;
    w.wait_ready("rolled", 2).await;
    for (kind, name) in [
        ("Deployment", "rbac-api"),
        ("StatefulSet", "rbac-ledger"),
        ("DaemonSet", "rbac-agent"),
    ] {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while workloads::generation(&w.client, &ns, kind, name).await < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "{kind} {name} not restarted"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    // A ManagedKey (watched, and its status written: a Scaleway store cannot hold a KMS key).
    w.apply(json!({
        "apiVersion": "keyward.dev/v1alpha1", "kind": "ManagedKey",
        "metadata": {"name": "mek"},
        "spec": {"storeRef": {"name": e2e_support::STORE},
            "keyId": "ocid1.key.oc1.eu-frankfurt-1.amaaaaaarbac"},
    }))
    .await;
    let keys: Api<keyward::api::ManagedKey> = Api::namespaced(w.client.clone(), &ns);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while keys.get("mek").await.unwrap().status.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "ManagedKey status not written"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Deleted: the finalizer runs (target deletion policy Delete by default).
    w.delete_ms("pushed").await;
    w.wait_gone("pushed").await;
    assert!(w.secret_data("pushed").await.is_none());

    w.op.kill();
    let cleanup: Api<keyward::api::ClusterSecretStore> = Api::all(w.client.clone());
    let _ = cleanup.delete(&css, &Default::default()).await;

    // The audit log is written asynchronously: wait until the deletion's finalizer removal shows.
    let audit = controlplane::audit_log_path().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let used = loop {
        let used = requests_of(&audit, &user);
        if used
            .iter()
            .any(|r| r.verb == "delete" && r.resource == "secrets")
            || std::time::Instant::now() > deadline
        {
            break used;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("observed requests of {user}:");
    let mut tuples: BTreeSet<(String, String, String, bool)> = BTreeSet::new();
    for r in &used {
        tuples.insert((
            r.verb.clone(),
            r.group.clone(),
            r.resource.clone(),
            r.namespace.is_some(),
        ));
    }
    for (verb, group, resource, namespaced) in &tuples {
        eprintln!("  {verb:6} {group:22} {resource:28} namespaced={namespaced}");
    }
    assert!(
        used.iter()
            .any(|r| r.resource == "managedsecrets" && r.verb == "watch"),
        "no operator request found in the audit log: {used:#?}"
    );

    let extras: BTreeSet<(String, String, String)> = DELIBERATE_EXTRAS
        .iter()
        .map(|(v, g, r, _)| (v.to_string(), g.to_string(), r.to_string()))
        .collect();
    for (mode, set) in [
        ("all namespaces (default values)", vec![]),
        (
            "selected namespaces",
            vec![format!("watchNamespaces={{{ns}}}")],
        ),
    ] {
        let grants = chart_grants(&ns, &set);
        let missing = ungranted(&used, &grants);
        assert!(
            missing.is_empty(),
            "{mode}: the chart does not grant {missing:#?}"
        );
        let unused = unused(&used, &grants);
        let unexplained: Vec<_> = unused.difference(&extras).collect();
        assert!(
            unexplained.is_empty(),
            "{mode}: the chart grants what the operator never used: {unexplained:#?}"
        );
        // Each rule that is not a deliberate extra is needed: without it, coverage fails.
        for (i, grant) in grants.iter().enumerate() {
            let only_extras = grant.rule.verbs.iter().all(|v| {
                grant.rule.resources.iter().flatten().all(|r| {
                    grant
                        .rule
                        .api_groups
                        .iter()
                        .flatten()
                        .all(|g| extras.contains(&(v.clone(), g.clone(), r.clone())))
                })
            });
            if only_extras {
                continue;
            }
            let mut fewer = grants.clone();
            fewer.remove(i);
            assert!(
                !ungranted(&used, &fewer).is_empty(),
                "{mode}: removing the rule {:?} still covers every request",
                grant.rule
            );
        }
    }
}

/// The coverage check itself, on a hand-made request set: a missing rule is reported, a
/// deliberate name limit is respected.
#[test]
fn coverage_reports_a_request_no_rule_grants() {
    let req = |verb: &str, resource: &str, ns: Option<&str>, name: Option<&str>| Request {
        verb: verb.into(),
        group: "coordination.k8s.io".into(),
        resource: resource.into(),
        namespace: ns.map(Into::into),
        name: name.map(Into::into),
    };
    let used: BTreeSet<Request> = [
        req("create", "leases", Some("a"), None),
        req("update", "leases", Some("a"), Some("keyward-leader")),
    ]
    .into();
    let rule = |verbs: &[&str], names: Option<&[&str]>| PolicyRule {
        api_groups: Some(vec!["coordination.k8s.io".into()]),
        resources: Some(vec!["leases".into()]),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        resource_names: names.map(|n| n.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let role = |rule: PolicyRule| Grant {
        namespace: Some("a".into()),
        rule,
    };
    let full = vec![
        role(rule(&["create"], None)),
        role(rule(&["update"], Some(&["keyward-leader"]))),
    ];
    assert!(ungranted(&used, &full).is_empty());
    assert!(unused(&used, &full).is_empty());
    assert_eq!(ungranted(&used, &full[..1]).len(), 1);
    let wrong_name = vec![
        role(rule(&["create"], None)),
        role(rule(&["update"], Some(&["other"]))),
    ];
    assert_eq!(ungranted(&used, &wrong_name).len(), 1);
    let elsewhere = vec![Grant {
        namespace: Some("b".into()),
        rule: rule(&["create", "update"], None),
    }];
    assert_eq!(ungranted(&used, &elsewhere).len(), 2);
    let too_much = vec![role(rule(&["create", "update", "delete"], None))];
    assert_eq!(
        unused(&used, &too_much),
        [(
            "delete".into(),
            "coordination.k8s.io".into(),
            "leases".into()
        )]
        .into()
    );
}
