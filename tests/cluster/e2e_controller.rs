//! End to end, on the local control plane with an emulator and the operator running as in
//! production (the `keyward run` binary as a child process): create, refresh, rotation, push,
//! adoption, delete and recreate, bad inputs, a crash between a remote write and its record, a
//! canary value that must never leave the Secret it belongs in, and a rate-limited provider. Those
//! scenarios run once per provider ([`Cloud`]): the same flows, the same assertions, only what a
//! provider lacks (version descriptions, Terraform IDs, deletion protection) told apart by its
//! capabilities. The target-side scenarios after them are provider-independent and run on Scaleway.

use crate::support;
use crate::support::e2e as e2e_support;

use std::time::Duration;

use keyward::provider::{NewSecret, NewVersion, RevisionSelector, SecretId};
use serde_json::json;

use e2e_support::{Cloud, World, ready_reason};

/// A test per provider for each scenario: `scaleway::NAME`, `thalassa::NAME` and `oci::NAME`.
macro_rules! on_every_cloud {
    ($($scenario:ident),* $(,)?) => {
        mod scaleway {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::Cloud::Scaleway).await
            })*
        }
        mod thalassa {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::Cloud::Thalassa).await
            })*
        }
        mod oci {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::Cloud::Oci).await
            })*
        }
    };
}

on_every_cloud!(
    create_mirrors_the_emulator_value_and_reports_ready,
    a_version_created_in_the_emulator_is_mirrored_within_one_refresh,
    rotation_by_annotation_creates_exactly_one_version,
    push_creates_one_version_per_change_of_the_source,
    adoption_creates_neither_a_secret_nor_a_version,
    delete_and_recreate_finds_the_same_secret_without_a_new_version,
    bad_inputs_are_rejected_or_reported_with_their_reason,
    a_crash_between_creating_a_version_and_recording_it_leaves_exactly_one_new_version,
    a_canary_value_never_appears_in_logs_events_or_status,
    rotation_by_interval_creates_one_version_when_due,
    rate_limited_is_reported_and_the_last_good_secret_stays,
);

fn generated() -> serde_json::Value {
    json!({"storeRef": {"name": e2e_support::STORE}, "generate": {"length": 24}, "refreshInterval": "10s"})
}

/// A world on `cloud` whose namespace prefix names the provider too.
async fn world(cloud: Cloud, prefix: &str) -> World {
    World::on(cloud, &format!("{prefix}-{}", cloud.name())).await
}

async fn create_mirrors_the_emulator_value_and_reports_ready(cloud: Cloud) {
    let w = world(cloud, "e2e-create").await;
    w.apply_ms("db", generated()).await;
    let ms = w.wait_ready("db", 1).await;
    let status = ms.status.unwrap();
    let id = status.secret_id.clone().expect("secret id in status");
    assert_eq!(status.region.as_deref(), Some(cloud.region()));
    assert_eq!(status.managed_revisions, vec![1]);
    let remote = w
        .remote
        .access_version(&SecretId::new(&id), RevisionSelector::Latest)
        .await
        .unwrap();
    let data = w.secret_data("db").await.expect("target Secret");
    assert_eq!(data["value"], remote.value.expose());
    assert_eq!(data["value"].len(), 24);
    w.assert_version_count(&id, 1, "one version").await;
    let secret = w.secrets().get("db").await.unwrap();
    let labels = secret.metadata.labels.unwrap();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "keyward");
    assert_eq!(labels["keyward.dev/managed-secret"], "db");
    assert_eq!(secret.metadata.owner_references.unwrap()[0].name, "db");
    w.wait_events("db", &["Created", "Mirrored"]).await;
}

async fn a_version_created_in_the_emulator_is_mirrored_within_one_refresh(cloud: Cloud) {
    let w = world(cloud, "e2e-refresh").await;
    w.apply_ms("db", generated()).await;
    let id = w.ready_id("db", 1).await;
    // Steady first: past the sweep that found the new secret (and woke its object for that), so
    // that only the refresh of a steady object can see what comes next.
    tokio::time::sleep(Duration::from_secs(15)).await;
    w.remote
        .create_version(
            &SecretId::new(&id),
            &NewVersion {
                value: "set-in-the-console".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // No watch event announces a remote change: only the 10 s refresh can find it. The deadline
    // leaves room for one refresh on a loaded machine without asserting a speed.
    w.wait_revision("db", 2, "revision 2 mirrored", Duration::from_secs(30))
        .await;
    assert_eq!(
        w.secret_data("db").await.unwrap()["value"],
        b"set-in-the-console"
    );
    w.assert_version_count(&id, 2, "Keyward created no version of its own")
        .await;
}

async fn rotation_by_annotation_creates_exactly_one_version(cloud: Cloud) {
    let w = world(cloud, "e2e-rotate").await;
    w.apply_ms("db", generated()).await;
    let id = w.ready_id("db", 1).await;
    let before = w.secret_data("db").await.unwrap()["value"].clone();
    w.annotate("db", "keyward.dev/rotate", "2026-11-25T01:00:00Z")
        .await;
    let ms = w.wait_ready("db", 2).await;
    let status = ms.status.unwrap();
    assert_eq!(
        status.handled_rotate_request.as_deref(),
        Some("2026-11-25T01:00:00Z")
    );
    assert_eq!(status.managed_revisions, vec![1, 2]);
    let after = w.secret_data("db").await.unwrap()["value"].clone();
    assert_ne!(before, after);
    // Later reconciles (status writes, refreshes) do not rotate again for the same value.
    w.assert_version_count_stays(&id, 2, Duration::from_secs(3), "one rotation")
        .await;
    if cloud.capabilities().version_descriptions {
        let versions = w.versions(&id).await;
        assert!(versions[0].description.starts_with("keyward:"));
    }
    w.wait_events("db", &["Rotated"]).await;
}

async fn push_creates_one_version_per_change_of_the_source(cloud: Cloud) {
    let w = world(cloud, "e2e-push").await;
    w.apply_secret("src", json!({"token": "push-one"})).await;
    w.apply_ms(
        "pushed",
        json!({"storeRef": {"name": e2e_support::STORE}, "fromSecret": {"name": "src"}, "refreshInterval": "10s"}),
    )
    .await;
    let id = w.ready_id("pushed", 1).await;
    assert_eq!(w.secret_data("pushed").await.unwrap()["value"], b"push-one");
    w.apply_secret("src", json!({"token": "push-two"})).await;
    w.wait_ready("pushed", 2).await;
    assert_eq!(w.secret_data("pushed").await.unwrap()["value"], b"push-two");
    // A change of the source's metadata only is not a change of its data.
    w.apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "src", "labels": {"x": "y"}}, "stringData": {"token": "push-two"}}))
        .await;
    w.assert_version_count_stays(
        &id,
        2,
        Duration::from_secs(3),
        "one version per data change",
    )
    .await;
}

/// Adoption by the provider's id (Scaleway's UUID, Thalassa's path, OCI's OCID) mirrors the
/// latest version; on Scaleway a Terraform ID with a revision mirrors that revision first, on OCI
/// the secret's name works as well as its OCID. None creates a secret or a version.
async fn adoption_creates_neither_a_secret_nor_a_version(cloud: Cloud) {
    let w = world(cloud, "e2e-adopt").await;
    let created = w
        .remote
        .create_secret(
            &NewSecret {
                name: "legacy".into(),
                path: "/legacy".into(),
                ..Default::default()
            },
            Some(&NewVersion {
                value: "legacy-one".into(),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let id = created.secret.id.0.clone();
    w.remote
        .create_version(
            &created.secret.id,
            &NewVersion {
                value: "legacy-two".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    w.apply_ms(
        "by-id",
        json!({"storeRef": {"name": e2e_support::STORE}, "remote": {"adopt": {"secretId": id}}}),
    )
    .await;
    let by_id = w.wait_ready("by-id", 2).await;
    assert_eq!(
        by_id.status.unwrap().secret_id.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        w.secret_data("by-id").await.unwrap()["value"],
        b"legacy-two"
    );
    if let Some(terraform_id) = cloud.terraform_id(&id, 1) {
        w.apply_ms(
            "by-tf",
            json!({"storeRef": {"name": e2e_support::STORE}, "remote": {"adopt": {"terraformId": terraform_id}}, "refreshInterval": "10s"}),
        )
        .await;
        w.wait_ready("by-tf", 1).await;
        assert_eq!(
            w.secret_data("by-tf").await.unwrap()["value"],
            b"legacy-one"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            w.secret_data("by-tf").await.unwrap()["value"],
            b"legacy-one"
        );
    }
    let mut secrets = 1;
    if let Some(name) = cloud.adoptable_name(&created.secret) {
        // Adopted by its name (OCI): a secret of its own, so that the two adoptions do not share one.
        let named = w
            .remote
            .create_secret(
                &NewSecret {
                    name: "legacy-named".into(),
                    path: "/".into(),
                    ..Default::default()
                },
                Some(&NewVersion {
                    value: "named-one".into(),
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
        secrets += 1;
        let by_name = cloud.adoptable_name(&named.secret).unwrap();
        w.apply_ms(
            "by-name",
            json!({"storeRef": {"name": e2e_support::STORE}, "remote": {"adopt": {"secretId": by_name}}}),
        )
        .await;
        w.wait_ready("by-name", 1).await;
        assert_eq!(
            w.secret_data("by-name").await.unwrap()["value"],
            b"named-one"
        );
        w.assert_version_count(&named.secret.id.0, 1, "adoption by name creates no version")
            .await;
        assert_ne!(name, id, "the name is another spelling than the id");
    }
    w.assert_version_count(&id, 2, "adoption creates no version")
        .await;
    assert_eq!(w.emu.secret_count(), secrets, "adoption creates no secret");
}

async fn delete_and_recreate_finds_the_same_secret_without_a_new_version(cloud: Cloud) {
    let w = world(cloud, "e2e-recreate").await;
    w.apply_ms("db", generated()).await;
    let id = w.ready_id("db", 1).await;
    let value = w.secret_data("db").await.unwrap()["value"].clone();
    w.delete_ms("db").await;
    w.wait_gone("db").await;
    assert!(
        w.secret_data("db").await.is_none(),
        "target deleted (policy Delete)"
    );
    w.apply_ms("db", generated()).await;
    assert_eq!(w.ready_id("db", 1).await, id);
    w.assert_version_count(&id, 1, "recreated without a new version")
        .await;
    assert_eq!(w.secret_data("db").await.unwrap()["value"], value);
    assert_eq!(w.emu.secret_count(), 1);
}

async fn bad_inputs_are_rejected_or_reported_with_their_reason(cloud: Cloud) {
    let w = world(cloud, "e2e-bad").await;
    let store = json!({"name": e2e_support::STORE});

    // Rejected by the API server at apply.
    let rejected = [
        (
            "bad-path",
            json!({"storeRef": store, "remote": {"path": "no-slash"}}),
            "must start with '/'",
        ),
        (
            "two-sources",
            json!({"storeRef": store, "generate": {}, "fromSecret": {"name": "x"}}),
            "at most one source",
        ),
        (
            "bad-refresh",
            json!({"storeRef": store, "refreshInterval": "1s"}),
            "at least 10s",
        ),
    ];
    for (name, spec, message) in rejected {
        let err = w.try_create_ms(name, spec).await.expect_err(name);
        assert!(err.contains(message), "{name}: {err}");
    }
    // Immutable after creation.
    w.apply_ms(
        "immutable",
        json!({"storeRef": store, "remote": {"type": "opaque"}}),
    )
    .await;
    let err = e2e_support::merge_patch(
        &w.ms_api(),
        "immutable",
        json!({"spec": {"remote": {"type": "key_value"}}}),
    )
    .await
    .expect_err("type change");
    assert!(err.to_string().contains("immutable"), "{err}");

    // Reported as Ready=False with a specific reason.
    let other = support::controlplane::TestNamespace::new(&w.client, "e2e-bad-other").await;
    e2e_support::apply(
        &w.client,
        other.name(),
        w.cloud
            .store_json("elsewhere", &w.emu.base_url(), e2e_support::CREDENTIALS),
    )
    .await;
    w.apply_secret(
        "wrong-creds",
        cloud.credentials("99999999-9999-4999-8999-999999999999"),
    )
    .await;
    w.apply(cloud.store_json("refused", &w.emu.base_url(), "wrong-creds"))
        .await;
    w.apply_secret("someone-elses", json!({"mine": "keep-me"}))
        .await;
    w.apply_secret("huge", json!({"blob": "x".repeat(70 * 1024)}))
        .await;
    w.apply(json!({
        "apiVersion": "keyward.dev/v1alpha1", "kind": "ClusterSecretStore",
        "metadata": {"name": format!("{}-closed", w.ns())},
        "spec": {"allowedNamespaces": {"names": ["not-this-one"]},
            "provider": cloud.provider_spec(&w.emu.base_url(), e2e_support::CREDENTIALS, Some(w.ns()))},
    }))
    .await;
    let reported = [
        (
            "unknown-store",
            json!({"storeRef": {"name": "nope"}, "generate": {}}),
            "StoreNotFound",
        ),
        (
            "foreign-store",
            json!({"storeRef": {"name": "elsewhere"}, "generate": {}}),
            "StoreNotFound",
        ),
        (
            "not-allowed",
            json!({"storeRef": {"kind": "ClusterSecretStore", "name": format!("{}-closed", w.ns())}, "generate": {}}),
            "StoreNotAllowed",
        ),
        (
            "bad-creds",
            json!({"storeRef": {"name": "refused"}, "generate": {}}),
            "AuthFailed",
        ),
        (
            "bad-cron",
            json!({"storeRef": store, "generate": {}, "rotation": {"schedule": "61 * * * *"}}),
            "InvalidSpec",
        ),
        (
            "taken-target",
            json!({"storeRef": store, "generate": {}, "target": {"name": "someone-elses"}}),
            "Conflict",
        ),
        (
            "oversize",
            json!({"storeRef": store, "fromSecret": {"name": "huge"}}),
            "InvalidArgument",
        ),
        (
            "missing-source",
            json!({"storeRef": store, "fromSecret": {"name": "absent"}}),
            "SourceNotFound",
        ),
    ];
    for (name, spec, _) in &reported {
        w.apply_ms(name, spec.clone()).await;
    }
    for (name, _, reason) in &reported {
        let ms = w.wait_reason(name, reason).await;
        let condition = ms.status.unwrap().conditions[0].clone();
        assert!(!condition.message.is_empty(), "{name}");
    }
    assert_eq!(
        w.secret_data("someone-elses").await.unwrap(),
        [("mine".to_string(), b"keep-me".to_vec())].into(),
        "a Secret owned by someone else is untouched"
    );

    // Two ManagedSecrets for one target: the later one reports Conflict and writes nothing.
    w.apply_ms(
        "first",
        json!({"storeRef": store, "generate": {}, "target": {"name": "shared"}}),
    )
    .await;
    w.wait_ready("first", 1).await;
    let shared = w.secret_data("shared").await.unwrap();
    let secrets_before = w.emu.secret_count();
    w.apply_ms(
        "second",
        json!({"storeRef": store, "generate": {}, "target": {"name": "shared"}}),
    )
    .await;
    w.wait_reason("second", "Conflict").await;
    assert_eq!(w.secret_data("shared").await.unwrap(), shared);
    assert_eq!(
        w.emu.secret_count(),
        secrets_before,
        "no remote write either"
    );

    // Key disabled: rotation fails with KeyUnavailable, the last good Secret stays.
    let id = w.secret_id("first").await;
    cloud.set_key_disabled(&w.emu, &id, true).await;
    w.annotate("first", "keyward.dev/rotate", "now").await;
    w.wait_reason("first", "KeyUnavailable").await;
    assert_eq!(w.secret_data("shared").await.unwrap(), shared);
    cloud.set_key_disabled(&w.emu, &id, false).await;

    if !cloud.capabilities().protection {
        // No deletion protection on this provider: asking for it is a spec error, said so.
        w.apply_ms(
            "guarded",
            json!({"storeRef": store, "generate": {}, "remote": {"protected": true}}),
        )
        .await;
        let ms = w.wait_reason("guarded", "InvalidSpec").await;
        let message = &ms.status.unwrap().conditions[0].message;
        assert!(message.contains("remote.protected"), "{message}");
        return;
    }

    // Protected remote secret with remote deletion policy Delete: a clear condition, no loop.
    w.apply_ms(
        "guarded",
        json!({"storeRef": store, "generate": {}, "remote": {"protected": true}, "remoteDeletionPolicy": "Delete"}),
    )
    .await;
    w.wait_ready("guarded", 1).await;
    let guarded = w.secret_data("guarded").await.unwrap();
    w.delete_ms("guarded").await;
    let ms = w.wait_reason("guarded", "Protected").await;
    assert!(ms.metadata.deletion_timestamp.is_some());
    assert_eq!(w.secret_data("guarded").await.unwrap(), guarded);
    let ms_id = ms.status.unwrap().secret_id.unwrap();
    assert!(
        w.remote.get_secret(&SecretId::new(&ms_id)).await.is_ok(),
        "the protected secret still exists"
    );
    // Changing the policy to Retain lets the deletion finish.
    e2e_support::merge_patch(
        &w.ms_api(),
        "guarded",
        json!({"spec": {"remoteDeletionPolicy": "Retain"}}),
    )
    .await
    .unwrap();
    w.wait_gone("guarded").await;
}

async fn a_crash_between_creating_a_version_and_recording_it_leaves_exactly_one_new_version(
    cloud: Cloud,
) {
    let mut w = world(cloud, "e2e-crash").await;
    w.apply_ms("db", generated()).await;
    let id = w.ready_id("db", 1).await;
    // The operator holds right after the provider confirmed the new version, before status
    // records it, and is SIGKILLed there.
    w.op.restart(&[("KEYWARD_TEST_CRASH_AFTER", "create_version")])
        .await;
    w.annotate("db", "keyward.dev/rotate", "crash-1").await;
    w.op.kill_at_crash_point("create_version", Duration::from_secs(30))
        .await;
    w.assert_version_count(&id, 2, "the version was written")
        .await;
    let ms = w.ms_api().get("db").await.unwrap();
    let status = ms.status.unwrap();
    assert_eq!(status.current_revision, Some(1), "not yet recorded");
    assert!(
        status.pending_operation.is_some(),
        "the write was announced in status"
    );

    w.op.restart(&[]).await;
    let ms = w.wait_ready("db", 2).await;
    let status = ms.status.unwrap();
    assert!(status.pending_operation.is_none());
    assert_eq!(status.handled_rotate_request.as_deref(), Some("crash-1"));
    w.assert_version_count_stays(&id, 2, Duration::from_secs(2), "exactly one new version")
        .await;
    let remote = w
        .remote
        .access_version(&SecretId::new(&id), RevisionSelector::Number(2))
        .await
        .unwrap();
    assert_eq!(
        w.secret_data("db").await.unwrap()["value"],
        remote.value.expose()
    );
}

async fn a_canary_value_never_appears_in_logs_events_or_status(cloud: Cloud) {
    const CANARY: &str = "canary-7f3a9c1e-do-not-leak";
    let w = world(cloud, "e2e-canary").await;
    w.apply_secret("src", json!({"password": CANARY})).await;
    w.apply_ms(
        "canary",
        json!({"storeRef": {"name": e2e_support::STORE}, "fromSecret": {"name": "src"},
               "remote": {"type": "key_value"},
               "target": {"template": {"url": "postgres://app:{{ password }}@db/app"}}}),
    )
    .await;
    w.wait_ready("canary", 1).await;
    let data = w.secret_data("canary").await.unwrap();
    assert_eq!(
        data["url"],
        format!("postgres://app:{CANARY}@db/app").as_bytes(),
        "the canary did reach its Secret"
    );
    // A failure path too: a template that cannot render.
    w.apply_ms(
        "canary-bad",
        json!({"storeRef": {"name": e2e_support::STORE}, "fromSecret": {"name": "src"},
               "remote": {"type": "key_value", "name": "canary-bad"},
               "target": {"template": {"url": "{{ password | nosuchfilter }}"}}}),
    )
    .await;
    w.wait_ms("canary-bad", "a failure", Duration::from_secs(30), |ms| {
        ready_reason(ms).is_some_and(|r| r.starts_with("False/"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let log = w.op.log_text();
    assert!(!log.is_empty());
    assert!(!log.contains(CANARY), "operator log leaks the canary");
    for name in ["canary", "canary-bad"] {
        let ms = w.ms_api().get(name).await.unwrap();
        let status = serde_json::to_string(&ms.status).unwrap();
        assert!(
            !status.contains(CANARY),
            "status of {name} leaks the canary"
        );
        for event in w.events(name).await {
            let text = serde_json::to_string(&event).unwrap();
            assert!(!text.contains(CANARY), "an Event leaks the canary: {text}");
        }
    }
}

async fn rotation_by_interval_creates_one_version_when_due(cloud: Cloud) {
    let w = world(cloud, "e2e-interval").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "rotation": {"interval": "1m"}}),
    )
    .await;
    let ms = w.wait_ready("db", 1).await;
    let status = ms.status.unwrap();
    let id = status.secret_id.unwrap();
    let next = status
        .next_rotation_time
        .expect("next rotation in status")
        .0;
    let created = status.last_rotation_time.unwrap().0;
    let wait = created.duration_until(next);
    assert!(
        wait >= jiff::SignedDuration::from_secs(60) && wait <= jiff::SignedDuration::from_secs(67),
        "interval plus at most a tenth of jitter: {wait:?}"
    );
    // Interval 1m plus jitter (at most 6s): due within 70s of the first version.
    w.wait_revision("db", 2, "rotated on schedule", Duration::from_secs(90))
        .await;
    w.assert_version_count(&id, 2, "one rotation when due")
        .await;
    if cloud.capabilities().version_descriptions {
        let versions = w.versions(&id).await;
        assert!(versions[0].description.contains(":rotation:"));
    }
    let ms = w.ms_api().get("db").await.unwrap();
    assert!(ms.status.unwrap().next_rotation_time.unwrap().0 > next);
}

#[tokio::test]
async fn a_hand_edited_target_is_repaired() {
    let w = World::new("e2e-drift").await;
    w.apply_ms("db", generated()).await;
    w.wait_ready("db", 1).await;
    let good = w.secret_data("db").await.unwrap();
    e2e_support::merge_patch(
        &w.secrets(),
        "db",
        json!({"stringData": {"value": "hand-edited"}}),
    )
    .await
    .unwrap();
    w.wait_secret("db", "drift repaired", Duration::from_secs(20), |data| {
        *data == good
    })
    .await;
    w.wait_events("db", &["DriftRepaired"]).await;
}

#[tokio::test]
async fn merge_writes_only_its_keys_and_removes_them_on_deletion() {
    let w = World::new("e2e-merge").await;
    w.apply_secret("app", json!({"theirs": "kept"})).await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {},
               "target": {"name": "app", "creationPolicy": "Merge", "template": {"db-password": "{{ value }}"}}}),
    )
    .await;
    w.wait_ready("db", 1).await;
    let data = w.secret_data("app").await.unwrap();
    assert_eq!(data["theirs"], b"kept");
    assert_eq!(data["db-password"].len(), 32);
    w.delete_ms("db").await;
    w.wait_gone("db").await;
    let data = w
        .secret_data("app")
        .await
        .expect("someone else's Secret stays");
    assert_eq!(data, [("theirs".to_string(), b"kept".to_vec())].into());
}

async fn rate_limited_is_reported_and_the_last_good_secret_stays(cloud: Cloud) {
    let w = world(cloud, "e2e-ratelimit").await;
    w.apply_ms("db", generated()).await;
    w.wait_ready("db", 1).await;
    let good = w.secret_data("db").await.unwrap();
    w.emu
        .update_faults(|f| f.rate_limit_per_second = Some(1))
        .unwrap();
    // Another client of the same API key uses up the budget, as a busy account would.
    let hog = {
        let other = cloud.client(&w.emu.base_url(), e2e_support::TOKEN);
        tokio::spawn(async move {
            loop {
                let _ = other.find_secret("nothing", "/").await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    w.annotate("db", "keyward.dev/rotate", "while-limited")
        .await;
    let ms = w.wait_reason("db", "RateLimited").await;
    hog.abort();
    assert!(
        ms.status.unwrap().conditions[0]
            .message
            .contains("RateLimited")
    );
    assert_eq!(w.secret_data("db").await.unwrap(), good);
    w.emu
        .update_faults(|f| f.rate_limit_per_second = None)
        .unwrap();
    w.wait_ready("db", 2).await;
}

#[tokio::test]
async fn a_key_dropped_from_the_template_leaves_the_secret() {
    let w = World::new("e2e-template").await;
    let spec = |template: serde_json::Value| json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "target": {"template": template}});
    w.apply_ms(
        "db",
        spec(json!({"password": "{{ value }}", "dsn": "db://u:{{ value }}@h"})),
    )
    .await;
    w.wait_ready("db", 1).await;
    let keys = |d: &e2e_support::SecretData| d.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&w.secret_data("db").await.unwrap()),
        ["dsn", "password"]
    );
    w.apply_ms("db", spec(json!({"password": "{{ value }}"})))
        .await;
    w.wait_secret("db", "dsn removed", Duration::from_secs(20), |data| {
        keys(data) == ["password"]
    })
    .await;
    let id = w.secret_id("db").await;
    w.assert_version_count(&id, 1, "a template change is not a rotation")
        .await;
}
