//! Workloads for rollout tests. The local control plane runs no workload controllers, so
//! [`PlayedControllers`] plays the Deployment, StatefulSet and DaemonSet controllers: whenever a
//! workload's generation is ahead of its status, it writes the status those controllers write
//! once a rollout finished (unless the test holds that workload back).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

/// A pod template whose container reads `secret` as environment variables.
fn template(app: &str, secret: Option<&str>) -> serde_json::Value {
    let mut container = json!({"name": "app", "image": "registry.example/app:1"});
    if let Some(secret) = secret {
        container["envFrom"] = json!([{"secretRef": {"name": secret}}]);
    }
    json!({"metadata": {"labels": {"pod": app}}, "spec": {"containers": [container]}})
}

pub fn deployment(
    name: &str,
    labels: serde_json::Value,
    secret: Option<&str>,
) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"pod": name}}, "template": template(name, secret)},
    })
}

pub fn stateful_set(name: &str, secret: Option<&str>) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {"replicas": 3, "serviceName": name, "selector": {"matchLabels": {"pod": name}}, "template": template(name, secret)},
    })
}

/// A DaemonSet that mounts `secret` as a volume.
pub fn daemon_set(name: &str, secret: &str) -> serde_json::Value {
    let mut t = template(name, None);
    t["spec"]["volumes"] = json!([{"name": "s", "secret": {"secretName": secret}}]);
    t["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "s", "mountPath": "/etc/s"}]);
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"pod": name}}, "template": t},
    })
}

/// The workload controllers, played by the test: a background task until dropped.
pub struct PlayedControllers {
    held: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PlayedControllers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PlayedControllers {
    /// Plays the controllers of every workload in `namespace`.
    pub fn start(client: &Client, namespace: &str) -> Self {
        let held: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let (client, ns, h) = (client.clone(), namespace.to_owned(), held.clone());
        let task = tokio::spawn(async move {
            loop {
                let holding = h.lock().unwrap().clone();
                // A failed round (an API hiccup) is tried again in the next one.
                let _ = round(&client, &ns, &holding).await;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Self { held, task }
    }

    /// The named workload's rollout does not finish until [`Self::release`].
    pub fn hold(&self, name: &str) {
        self.held.lock().unwrap().insert(name.to_owned());
    }

    pub fn release(&self, name: &str) {
        self.held.lock().unwrap().remove(name);
    }
}

async fn round(client: &Client, ns: &str, held: &BTreeSet<String>) -> kube::Result<()> {
    let lp = ListParams::default();
    let params = PatchParams::default();
    let behind = |generation: Option<i64>, observed: Option<i64>| observed != generation;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    for d in deployments.list(&lp).await? {
        let observed = d.status.as_ref().and_then(|s| s.observed_generation);
        if held.contains(&d.name_any()) || !behind(d.metadata.generation, observed) {
            continue;
        }
        let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = json!({"status": {"observedGeneration": d.metadata.generation, "replicas": replicas,
            "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}});
        deployments
            .patch_status(&d.name_any(), &params, &Patch::Merge(status))
            .await?;
    }
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    for s in sets.list(&lp).await? {
        let observed = s.status.as_ref().and_then(|s| s.observed_generation);
        if held.contains(&s.name_any()) || !behind(s.metadata.generation, observed) {
            continue;
        }
        let replicas = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let revision = format!("{}-{}", s.name_any(), s.metadata.generation.unwrap_or(0));
        let status = json!({"status": {"observedGeneration": s.metadata.generation, "replicas": replicas,
            "updatedReplicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas,
            "availableReplicas": replicas, "currentRevision": revision, "updateRevision": revision}});
        sets.patch_status(&s.name_any(), &params, &Patch::Merge(status))
            .await?;
    }
    let daemons: Api<DaemonSet> = Api::namespaced(client.clone(), ns);
    for d in daemons.list(&lp).await? {
        let observed = d.status.as_ref().and_then(|s| s.observed_generation);
        if held.contains(&d.name_any()) || !behind(d.metadata.generation, observed) {
            continue;
        }
        let status = json!({"status": {"observedGeneration": d.metadata.generation,
            "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberMisscheduled": 0,
            "numberReady": 3, "updatedNumberScheduled": 3, "numberAvailable": 3}});
        daemons
            .patch_status(&d.name_any(), &params, &Patch::Merge(status))
            .await?;
    }
    Ok(())
}

/// A workload's generation (each pod-template change adds one).
pub async fn generation(client: &Client, ns: &str, kind: &str, name: &str) -> i64 {
    let meta = match kind {
        "Deployment" => {
            Api::<Deployment>::namespaced(client.clone(), ns)
                .get(name)
                .await
                .unwrap()
                .metadata
        }
        "StatefulSet" => {
            Api::<StatefulSet>::namespaced(client.clone(), ns)
                .get(name)
                .await
                .unwrap()
                .metadata
        }
        "DaemonSet" => {
            Api::<DaemonSet>::namespaced(client.clone(), ns)
                .get(name)
                .await
                .unwrap()
                .metadata
        }
        other => panic!("no workload kind {other}"),
    };
    meta.generation.unwrap_or(0)
}
