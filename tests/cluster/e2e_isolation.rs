//! Tenant isolation end to end: nothing crosses a provider identity, namespaces sharing a
//! ClusterSecretStore never address each other's remote secrets, Keyward never takes over or
//! deletes what it did not create, a namespace being deleted never hangs on Keyward, and a
//! single-access version is never spent by Keyward itself. The operator runs as the `keyward run`
//! binary; the providers are emulators (and one hostile server) on loopback.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use keyward::provider::{NewSecret, NewVersion, SecretId, SecretManager, VersionStatus};
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;

use crate::support::e2e::{self as e2e_support, World, ready_reason};
use crate::support::hostile;

fn generated(store: &str) -> serde_json::Value {
    json!({"storeRef": {"name": store}, "generate": {"length": 24}, "refreshInterval": "10s"})
}

/// The cache exploit of issue 8: a store pointing at a server its author controls, adopting
/// another tenant's secret id at that secret's revision. The victim's value was cached by its
/// own store's runtime; the attacker's object must get only what the attacker's server serves.
#[tokio::test]
async fn a_hostile_store_gets_only_what_its_own_server_returns() {
    let w = World::with_namespaces("e2e-exploit", 1, &[]).await;
    w.apply_ms("victim", generated(e2e_support::STORE)).await;
    let id = w.ready_id("victim", 1).await;
    let victim_value = w.secret_data("victim").await.unwrap()["value"].clone();
    assert_eq!(victim_value.len(), 24);

    let attacker = w.others[0].name().to_owned();
    let url = hostile::spawn(&id, 1).await;
    e2e_support::apply(
        &w.client,
        &attacker,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mine"},
               "stringData": {"SCW_SECRET_KEY": "attacker-token"}}),
    )
    .await;
    e2e_support::apply(
        &w.client,
        &attacker,
        e2e_support::store_json("mine", &url, "mine"),
    )
    .await;
    w.apply_ms_in(
        &attacker,
        "stolen",
        json!({"storeRef": {"name": "mine"}, "remote": {"adopt": {"secretId": id}}}),
    )
    .await;
    w.wait_ms_in(
        &attacker,
        "stolen",
        "Ready at revision 1",
        Duration::from_secs(60),
        |ms| e2e_support::ready_at(ms, 1),
    )
    .await;

    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), &attacker);
    let stolen = secrets.get("stolen").await.unwrap();
    assert_eq!(
        stolen.data.unwrap()["value"].0,
        hostile::HOSTILE_VALUE.as_bytes(),
        "the attacker's object holds what its own server returned"
    );
    // The victim's value appears nowhere in the attacker's namespace.
    let needle = String::from_utf8(victim_value).unwrap();
    for secret in secrets.list(&ListParams::default()).await.unwrap().items {
        let text = serde_json::to_string(&secret).unwrap();
        let decoded: Vec<String> = secret
            .data
            .unwrap_or_default()
            .values()
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
            .collect();
        assert!(!text.contains(&needle) && !decoded.iter().any(|v| v.contains(&needle)));
    }
    let ms = w.ms_api_in(&attacker).get("stolen").await.unwrap();
    assert!(!serde_json::to_string(&ms).unwrap().contains(&needle));
    for event in w.events_in(&attacker, "stolen").await {
        assert!(!serde_json::to_string(&event).unwrap().contains(&needle));
    }
}

/// Two namespaces creating `db` on one ClusterSecretStore get two remote secrets; a secret
/// Keyward did not create is never taken over; deletion touches only what Keyward created or
/// what a person explicitly allowed.
#[tokio::test]
async fn namespaces_on_one_cluster_store_never_share_or_take_over_remote_secrets() {
    let w = World::with_namespaces("e2e-tenants", 2, &[]).await;
    let (a, b) = (w.others[0].name().to_owned(), w.others[1].name().to_owned());
    let store = format!("{}-shared", w.ns());
    w.apply(json!({
        "apiVersion": "keyward.dev/v1alpha1", "kind": "ClusterSecretStore",
        "metadata": {"name": store},
        "spec": {"provider": {"scaleway": {
            "region": "fr-par", "projectId": e2e_support::PROJECT, "apiUrl": w.emu.base_url(),
            "credentials": {"secretRef": {"name": e2e_support::CREDENTIALS, "namespace": w.ns()}}}}},
    }))
    .await;
    let cluster = |extra: serde_json::Value| {
        let mut spec = json!({"storeRef": {"kind": "ClusterSecretStore", "name": store}});
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        spec
    };
    let ready =
        |ms: &keyward::api::ManagedSecret| ready_reason(ms).as_deref() == Some("True/Synced");
    let wait_ready = async |ns: &str, name: &str| {
        w.wait_ms_in(ns, name, "Ready", Duration::from_secs(60), ready)
            .await
            .status
            .unwrap()
            .secret_id
            .unwrap()
    };

    // Same name in two namespaces: two remote secrets, each in its namespace's folder.
    for ns in [&a, &b] {
        w.apply_ms_in(ns, "db", cluster(json!({"generate": {}})))
            .await;
    }
    let id_a = wait_ready(&a, "db").await;
    let id_b = wait_ready(&b, "db").await;
    assert_ne!(id_a, id_b, "one remote secret per namespace");
    for (id, ns) in [(&id_a, &a), (&id_b, &b)] {
        let remote = w.remote.get_secret(&SecretId::new(id)).await.unwrap();
        assert_eq!(
            (remote.name.as_str(), remote.path.clone()),
            ("db", format!("/{ns}"))
        );
        let owner = remote.owner.expect("Keyward marks what it creates");
        assert_eq!(owner.object, format!("{ns}/db"));
    }

    // A secret Keyward did not create, with the name and folder a ManagedSecret would use.
    let legacy = SecretManager::create_secret(
        w.remote.as_ref(),
        &NewSecret {
            name: "legacy".into(),
            path: format!("/{a}"),
            ..Default::default()
        },
        Some(&NewVersion {
            value: "made-by-terraform".into(),
            ..Default::default()
        }),
    )
    .await
    .unwrap()
    .secret;
    w.apply_ms_in(&a, "legacy", cluster(json!({"generate": {}})))
        .await;
    let refused = w
        .wait_ms_in(
            &a,
            "legacy",
            "RemoteNotOwned",
            Duration::from_secs(60),
            |ms| ready_reason(ms).as_deref() == Some("False/RemoteNotOwned"),
        )
        .await;
    let message = refused.status.unwrap().conditions[0].message.clone();
    assert!(
        message.contains("adopt") && message.contains(&legacy.id.0),
        "{message}"
    );
    let untouched = w.remote.get_secret(&legacy.id).await.unwrap();
    assert_eq!(
        untouched.version_count,
        Some(1),
        "no version written into it"
    );
    assert!(untouched.owner.is_none(), "and no mark put on it");

    // Another namespace cannot adopt it either: it lies outside its folder.
    w.apply_ms_in(
        &b,
        "reach",
        cluster(json!({"remote": {"adopt": {"secretId": legacy.id.0}}})),
    )
    .await;
    w.wait_ms_in(
        &b,
        "reach",
        "StoreNotAllowed",
        Duration::from_secs(60),
        |ms| ready_reason(ms).as_deref() == Some("False/StoreNotAllowed"),
    )
    .await;
    assert!(
        w.secret_data_in(&b, "reach").await.is_none(),
        "nothing of namespace {a}'s reached namespace {b}"
    );

    // Adopted with deletion policy Delete, but without the opt-in: left in place on deletion.
    w.apply_ms_in(
        &a,
        "adopter",
        cluster(json!({"remote": {"adopt": {"secretId": legacy.id.0}}, "remoteDeletionPolicy": "Delete"})),
    )
    .await;
    wait_ready(&a, "adopter").await;
    w.ms_api_in(&a)
        .delete("adopter", &DeleteParams::default())
        .await
        .unwrap();
    w.wait_gone_in(&a, "adopter").await;
    let still = w.remote.get_secret(&legacy.id).await.unwrap();
    assert!(
        still.deletion_requested_at.is_none(),
        "an adopted secret is not deleted"
    );
    let kept: Vec<String> = w
        .events_in(&a, "adopter")
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("RemoteKept"))
        .filter_map(|e| e.note)
        .collect();
    assert!(
        kept.iter().any(|n| n.contains("adopt.allowDeletion")),
        "an Event says why and how to opt in: {kept:?}"
    );

    // With the opt-in, the adopted secret is deleted with its ManagedSecret.
    w.apply_ms_in(
        &a,
        "adopter-allowed",
        cluster(
            json!({"remote": {"adopt": {"secretId": legacy.id.0, "allowDeletion": true}},
                       "remoteDeletionPolicy": "Delete"}),
        ),
    )
    .await;
    wait_ready(&a, "adopter-allowed").await;
    w.ms_api_in(&a)
        .delete("adopter-allowed", &DeleteParams::default())
        .await
        .unwrap();
    w.wait_gone_in(&a, "adopter-allowed").await;
    let deleted = w.remote.get_secret(&legacy.id).await.unwrap();
    assert!(
        deleted.deletion_requested_at.is_some(),
        "deleted once allowed"
    );

    // The ManagedSecrets that were refused changed nothing on the provider either.
    assert_eq!(
        w.emu.secret_count(),
        3,
        "db in two namespaces and the legacy secret"
    );
}

/// `kubectl delete namespace` of a namespace holding ManagedSecrets, their store and its
/// credentials: the namespace goes within a minute; the remote secrets follow their deletion
/// policy, or the operator says why not.
#[tokio::test]
async fn deleting_a_namespace_with_its_store_and_credentials_never_hangs() {
    let w = World::with_namespaces("e2e-nsdel", 1, &[]).await;
    let doomed = w.others[0].name().to_owned();
    w.add_store(&doomed, "local", &w.emu, e2e_support::TOKEN, json!({}))
        .await;
    w.apply_ms_in(&doomed, "kept", generated("local")).await;
    w.apply_ms_in(
        &doomed,
        "dropped",
        json!({"storeRef": {"name": "local"}, "generate": {}, "remoteDeletionPolicy": "Delete"}),
    )
    .await;
    let ready =
        |ms: &keyward::api::ManagedSecret| ready_reason(ms).as_deref() == Some("True/Synced");
    let kept_id = w
        .wait_ms_in(&doomed, "kept", "Ready", Duration::from_secs(60), ready)
        .await
        .status
        .unwrap()
        .secret_id
        .unwrap();
    let dropped_id = w
        .wait_ms_in(&doomed, "dropped", "Ready", Duration::from_secs(60), ready)
        .await
        .status
        .unwrap()
        .secret_id
        .unwrap();

    let namespaces: Api<Namespace> = Api::all(w.client.clone());
    let started = Instant::now();
    namespaces
        .delete(&doomed, &DeleteParams::default())
        .await
        .unwrap();
    let mut gone = false;
    while started.elapsed() < Duration::from_secs(60) {
        if namespaces.get_opt(&doomed).await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        gone,
        "namespace {doomed} still exists a minute after its deletion\n--- operator log tail ---\n{}",
        e2e_support::tail(&w.op.log_text(), 30)
    );
    eprintln!("namespace gone {:?} after its deletion", started.elapsed());

    let kept = w.remote.get_secret(&SecretId::new(&kept_id)).await.unwrap();
    assert!(
        kept.deletion_requested_at.is_none(),
        "Retain keeps the remote secret"
    );
    // The store and its credentials went with the namespace, but the runtime the object used
    // still held them: the deletion policy was honoured.
    let dropped = w
        .remote
        .get_secret(&SecretId::new(&dropped_id))
        .await
        .unwrap();
    assert!(
        dropped.deletion_requested_at.is_some(),
        "remoteDeletionPolicy Delete was applied\n--- operator log tail ---\n{}",
        e2e_support::tail(&w.op.log_text(), 30)
    );
}

/// A secret whose versions expire once accessed: Keyward knows the values it generates without
/// reading them back, so after mirroring and a restart of the operator, no version was spent.
#[tokio::test]
async fn a_single_access_version_is_never_spent_by_keyward() {
    let mut w = World::new("e2e-once").await;
    w.apply_ms(
        "once",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "10s",
               "remote": {"scaleway": {"ephemeralPolicy": {"expiresOnceAccessed": true, "action": "disable"}}}}),
    )
    .await;
    let id = w.ready_id("once", 1).await;
    let mirrored = w.secret_data("once").await.unwrap()["value"].clone();
    assert_eq!(mirrored.len(), 32);
    w.op.restart(&[]).await;
    // Past a sweep and the reconciles a restart makes.
    tokio::time::sleep(Duration::from_secs(15)).await;
    w.wait_ready("once", 1).await;
    let versions = w.versions(&id).await;
    assert_eq!(versions.len(), 1);
    assert_eq!(
        versions[0].status,
        VersionStatus::Enabled,
        "the single access is still there for the application"
    );
    let accesses = w.emu.request_counts().endpoint_total("AccessSecretVersion");
    assert_eq!(accesses, 0, "Keyward never read the version");
    assert_eq!(w.secret_data("once").await.unwrap()["value"], mirrored);
}
