//! ManagedKeys end to end: the operator (the `keyward run` binary) rotating OCI KMS keys on the
//! OCI emulator (signatures verified, KMS writes limited to 10 per second per tenancy) through an
//! OCI SecretStore. Rotation on schedule and on request makes exactly one key version per due time,
//! also across a crash between the call and the status record; a disabled key is
//! `KeyUnavailable` within a bounded number of calls; a hundred keys due at once never exceed the
//! tenancy's write budget in any second.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use keyward::api::ManagedKey;
use keyward::emulator::EmulatorHandle;
use keyward::emulator::oci::OciSettings;
use keyward::emulator::oci::account::{KeySeed, Seed};
use keyward::provider::oci::wire::KeyVersionSummary;
use keyward::provider::oci::{ApiKey, OciClient, OciConfig};
use keyward::secret_value::SecretValue;
use kube::Api;
use serde_json::json;

use crate::support::e2e::World;
use crate::support::oci;

const STORE: &str = "oci";

/// A world with an OCI store on its own OCI emulator (the world's Scaleway store stays unused).
struct KeyWorld {
    w: World,
    emu: EmulatorHandle,
}

impl KeyWorld {
    async fn new(prefix: &str, env: &[(&str, &str)]) -> Self {
        let w = World::with_env(prefix, env).await;
        let mut settings = OciSettings::default();
        settings.limits.updating_window_ms = 0;
        let emu = oci::emulator(settings).await;
        w.apply_secret(
            "oci-creds",
            json!({
                "OCI_CLI_TENANCY": oci::TENANCY, "OCI_CLI_USER": oci::USER,
                "OCI_CLI_FINGERPRINT": oci::FINGERPRINT, "OCI_CLI_KEY_CONTENT": oci::PRIVATE_KEY,
            }),
        )
        .await;
        w.apply(json!({
            "apiVersion": "keyward.dev/v1alpha1", "kind": "SecretStore",
            "metadata": {"name": STORE},
            "spec": {"provider": {"oci": {
                "region": oci::REGION, "compartmentId": oci::TENANCY, "vaultId": oci::VAULT,
                "keyId": oci::KEY,
                "endpoints": {"vaults": emu.base_url(), "secrets": emu.base_url(),
                    "kmsManagement": emu.base_url()},
                "credentials": {"secretRef": {"name": "oci-creds"}},
            }}},
        }))
        .await;
        Self { w, emu }
    }

    /// `count` new ENABLED keys whose current version was created `age` ago (the emulator's clock
    /// is moved back while they are made, then forward again).
    async fn keys(&self, count: usize, age: SignedDuration) -> Vec<String> {
        self.emu.advance_clock(-age);
        let seed = Seed {
            keys: (0..count)
                .map(|_| KeySeed {
                    vault_id: oci::VAULT.into(),
                    ..KeySeed::default()
                })
                .collect(),
            ..Seed::default()
        };
        let seeded: keyward::emulator::oci::Seeded = reqwest::Client::new()
            .post(format!("{}/emulator/oci/seed", self.emu.base_url()))
            .json(&seed)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.emu.advance_clock(age);
        seeded.key_ids
    }

    fn api(&self) -> Api<ManagedKey> {
        Api::namespaced(self.w.client.clone(), self.w.ns())
    }

    async fn apply_key(&self, name: &str, spec: serde_json::Value) {
        self.w
            .apply(json!({
                "apiVersion": "keyward.dev/v1alpha1", "kind": "ManagedKey",
                "metadata": {"name": name}, "spec": spec,
            }))
            .await;
    }

    async fn annotate(&self, name: &str, key: &str, value: &str) {
        crate::support::e2e::merge_patch(
            &self.api(),
            name,
            json!({"metadata": {"annotations": {key: value}}}),
        )
        .await
        .unwrap();
    }

    /// Waits until the ManagedKey satisfies `check`.
    async fn wait(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&ManagedKey) -> bool,
    ) -> ManagedKey {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        while Instant::now() < deadline {
            if let Ok(mk) = self.api().get(name).await {
                if check(&mk) {
                    return mk;
                }
                last = mk.status;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "ManagedKey {name}: {what} not reached within {timeout:?}; last status {last:?}\n--- operator log tail ---\n{}",
            crate::support::e2e::tail(&self.w.op.log_text(), 30)
        )
    }

    /// Key versions on the emulator's side (a KMS administrator's view).
    async fn versions(&self, key: &str) -> Vec<KeyVersionSummary> {
        kms_client(&self.emu).list_key_versions(key).await.unwrap()
    }

    async fn assert_versions_stay(&self, key: &str, count: usize, settle: Duration) {
        let until = Instant::now() + settle;
        loop {
            let versions = self.versions(key).await;
            assert_eq!(versions.len(), count, "{versions:?}");
            if Instant::now() >= until {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn kms_client(emu: &EmulatorHandle) -> OciClient {
    let key = ApiKey {
        tenancy: oci::TENANCY.into(),
        user: oci::USER.into(),
        fingerprint: oci::FINGERPRINT.into(),
        private_key: SecretValue::from(oci::PRIVATE_KEY),
        passphrase: None,
    };
    OciClient::new(
        OciConfig::new(key, oci::REGION)
            .unwrap()
            .with_all_endpoints(&emu.base_url())
            .unwrap(),
    )
    .unwrap()
}

fn reason(mk: &ManagedKey) -> Option<String> {
    mk.status.as_ref().and_then(|s| {
        s.conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| format!("{}/{}", c.status, c.reason))
    })
}

fn current(mk: &ManagedKey) -> Option<String> {
    mk.status
        .as_ref()
        .and_then(|s| s.current_key_version.clone())
}

#[tokio::test]
async fn a_key_due_on_schedule_gets_exactly_one_version_and_one_more_on_request() {
    let kw = KeyWorld::new("e2e-keys", &[]).await;
    // Its current version is two hours old; the schedule says every hour: due now, once.
    let key = kw.keys(1, SignedDuration::from_hours(2)).await.remove(0);
    let seeded = kw.versions(&key).await;
    assert_eq!(seeded.len(), 1);
    kw.apply_key(
        "mek",
        json!({"storeRef": {"name": STORE}, "keyId": key, "rotation": {"interval": "1h"}}),
    )
    .await;
    let mk = kw
        .wait(
            "mek",
            "rotated on schedule",
            Duration::from_secs(60),
            |mk| {
                reason(mk).as_deref() == Some("True/Synced")
                    && current(mk).is_some_and(|v| v != seeded[0].id)
            },
        )
        .await;
    kw.assert_versions_stay(&key, 2, Duration::from_secs(8))
        .await;
    let status = mk.status.unwrap();
    let next = status.next_rotation_time.unwrap().0;
    let ahead = Timestamp::now().duration_until(next);
    assert!(
        ahead > SignedDuration::from_mins(50),
        "the next rotation is about an hour away: {next}"
    );
    assert_eq!(status.key_state.as_deref(), Some("ENABLED"));
    assert_eq!(status.key_versions.len(), 1, "one version Keyward made");

    kw.annotate("mek", "keyward.dev/rotate", "now-please").await;
    let mk = kw
        .wait("mek", "rotated on request", Duration::from_secs(60), |mk| {
            mk.status
                .as_ref()
                .and_then(|s| s.handled_rotate_request.as_deref())
                == Some("now-please")
        })
        .await;
    kw.assert_versions_stay(&key, 3, Duration::from_secs(8))
        .await;
    let versions = kw.versions(&key).await;
    assert!(
        versions
            .iter()
            .any(|v| Some(&v.id) == current(&mk).as_ref())
    );
    let reasons =
        kw.w.wait_event_reasons("mek", "two Rotated", |seen| {
            seen.iter().filter(|r| *r == "Rotated").count() >= 2
        })
        .await;
    assert_eq!(
        reasons.iter().filter(|r| *r == "Rotated").count(),
        2,
        "{reasons:?}"
    );

    // A deleted ManagedKey (it has no finalizer) leaves the objects gauge.
    const SYNCED: &str = r#"keyward_objects{kind="ManagedKey",reason="Synced"}"#;
    assert!(kw.w.op.metrics().await.contains(&format!("{SYNCED} 1")));
    kw.api().delete("mek", &Default::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = kw.w.op.metrics().await;
        if metrics.contains(&format!("{SYNCED} 0")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the deleted ManagedKey is still counted: {}",
            metrics
                .lines()
                .filter(|l| l.starts_with(SYNCED))
                .collect::<Vec<_>>()
                .join("; ")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_crash_between_the_call_and_the_status_record_makes_no_second_version() {
    let mut kw = KeyWorld::new("e2e-keys-crash", &[]).await;
    let key = kw.keys(1, SignedDuration::from_mins(1)).await.remove(0);
    kw.apply_key("mek", json!({"storeRef": {"name": STORE}, "keyId": key}))
        .await;
    kw.wait("mek", "Ready", Duration::from_secs(60), |mk| {
        reason(mk).as_deref() == Some("True/Synced")
    })
    .await;
    // The operator holds right after OCI answered the CreateKeyVersion, before status records it,
    // and is SIGKILLed there.
    kw.w.op
        .restart(&[("KEYWARD_TEST_CRASH_AFTER", "create_key_version")])
        .await;
    kw.emu.reset_request_counts();
    kw.annotate("mek", "keyward.dev/rotate", "crash-1").await;
    kw.w.op
        .kill_at_crash_point("create_key_version", Duration::from_secs(30))
        .await;
    assert_eq!(kw.versions(&key).await.len(), 2, "the version was made");
    let status = kw.api().get("mek").await.unwrap().status.unwrap();
    assert!(
        status.pending_rotation.is_some(),
        "announced before the call"
    );
    assert_eq!(status.handled_rotate_request, None, "not yet recorded");

    kw.w.op.restart(&[]).await;
    let mk = kw
        .wait(
            "mek",
            "the rotation recorded",
            Duration::from_secs(60),
            |mk| {
                mk.status
                    .as_ref()
                    .and_then(|s| s.handled_rotate_request.as_deref())
                    == Some("crash-1")
                    && mk
                        .status
                        .as_ref()
                        .is_some_and(|s| s.pending_rotation.is_none())
            },
        )
        .await;
    kw.assert_versions_stay(&key, 2, Duration::from_secs(8))
        .await;
    let versions = kw.versions(&key).await;
    let newest = versions
        .iter()
        .max_by_key(|v| v.time_created)
        .unwrap()
        .id
        .clone();
    assert_eq!(
        current(&mk),
        Some(newest),
        "the version the crashed call made"
    );
    let counts = kw.emu.request_counts();
    eprintln!(
        "CreateKeyVersion calls across the crash: {}",
        counts.endpoint_total("CreateKeyVersion")
    );
    assert_eq!(
        counts.endpoint_total("CreateKeyVersion"),
        1,
        "the call before the kill, none after: {counts:?}"
    );
}

#[tokio::test]
async fn a_disabled_key_is_key_unavailable_within_twenty_calls_in_five_minutes() {
    const WINDOW: Duration = Duration::from_secs(300);
    let kw = KeyWorld::new("e2e-keys-disabled", &[]).await;
    let key = kw.keys(1, SignedDuration::from_mins(1)).await.remove(0);
    oci::set_key_state(&kw.emu, &key, "DISABLED").await;
    kw.emu.reset_request_counts();
    let since = jiff::Timestamp::now();
    kw.apply_key(
        "mek",
        json!({"storeRef": {"name": STORE}, "keyId": key, "rotation": {"interval": "1h"}}),
    )
    .await;
    kw.annotate("mek", "keyward.dev/rotate", "during-the-outage")
        .await;
    let started = Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    while started.elapsed() < WINDOW {
        if let Some(r) = kw.api().get("mek").await.ok().as_ref().and_then(reason) {
            seen.insert(r);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let calls = kw.emu.request_count();
    let counts = kw.emu.request_counts();
    eprintln!("provider calls in the five minutes: {calls}; reasons seen: {seen:?}");
    assert_eq!(
        seen,
        std::collections::BTreeSet::from(["False/KeyUnavailable".to_string()])
    );
    assert!(calls <= 20, "{calls} calls: {counts:?}");
    assert_eq!(counts.endpoint_total("CreateKeyVersion"), 0);
    let mk = kw.api().get("mek").await.unwrap();
    let status = mk.status.unwrap();
    assert_eq!(status.key_state.as_deref(), Some("DISABLED"));
    let events = kw.w.events("mek").await;
    let count: i32 = events
        .iter()
        .filter(|e| e.event_time.as_ref().is_some_and(|t| t.0 >= since))
        .map(|e| e.series.as_ref().map_or(1, |s| s.count))
        .sum();
    assert!(count <= 5, "{count} Events: {events:?}");

    // Enabled again: a person asks for a look at once, and the requested rotation happens, once.
    oci::set_key_state(&kw.emu, &key, "ENABLED").await;
    kw.annotate("mek", "keyward.dev/force-sync", "key-enabled")
        .await;
    kw.wait(
        "mek",
        "Ready after enabling",
        Duration::from_secs(60),
        |mk| reason(mk).as_deref() == Some("True/Synced"),
    )
    .await;
    kw.assert_versions_stay(&key, 2, Duration::from_secs(5))
        .await;
}

#[tokio::test]
async fn a_hundred_keys_due_at_once_never_exceed_the_tenancys_ten_writes_in_any_second() {
    const KEYS: usize = 100;
    let kw = KeyWorld::new("e2e-keys-hundred", &[]).await;
    let keys = kw.keys(KEYS, SignedDuration::from_hours(2)).await;
    let started = jiff::Timestamp::now();
    let names: Vec<String> = (0..KEYS).map(|i| format!("mek-{i}")).collect();
    let applies = names.iter().zip(&keys).map(|(name, key)| {
        kw.apply_key(
            name,
            json!({"storeRef": {"name": STORE}, "keyId": key, "rotation": {"interval": "1h"}}),
        )
    });
    futures::future::join_all(applies).await;
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let list = kw.api().list(&Default::default()).await.unwrap();
        let rotated = list
            .items
            .iter()
            .filter(|mk| {
                reason(mk).as_deref() == Some("True/Synced")
                    && mk
                        .status
                        .as_ref()
                        .is_some_and(|s| s.key_versions.len() == 1)
            })
            .count();
        if rotated == KEYS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{rotated} of {KEYS} rotated\n{}",
            crate::support::e2e::tail(&kw.w.op.log_text(), 20)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Each key got exactly one new version; when each was made is the emulator's record.
    let mut made = Vec::new();
    for key in &keys {
        let versions = kw.versions(key).await;
        assert_eq!(versions.len(), 2, "{key}: {versions:?}");
        made.extend(
            versions
                .iter()
                .filter_map(|v| v.time_created)
                .filter(|t| *t >= started),
        );
    }
    made.sort();
    assert_eq!(made.len(), KEYS);
    let busiest = made
        .iter()
        .map(|t| {
            made.iter()
                .filter(|u| **u >= *t && **u < *t + SignedDuration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    let counts = kw.emu.request_counts();
    let refused = counts.count("CreateKeyVersion", 429);
    let took = made.last().unwrap().duration_since(made[0]);
    eprintln!(
        "{KEYS} key versions over {took:#}; at most {busiest} in any second; {refused} answers 429"
    );
    assert!(busiest <= 10, "{busiest} writes in one second");
    assert_eq!(refused, 0, "the tenancy's budget was never exceeded");
}

/// `keyward plan` on ManagedKeys, with the operator stopped: a key due on schedule, a rotation
/// asked for, and a disabled key. The plan writes nothing (audit log, emulator counters); the
/// operator, started again, takes exactly the steps it printed, or fails for its reason.
#[tokio::test]
async fn plan_prints_what_the_operator_then_does_to_keys_and_writes_nothing() {
    use crate::support::cli::{
        calls_between, keyward, logged_steps, requests_by, writes_among, writes_since_by,
    };
    let mut kw = KeyWorld::new("e2e-keys-plan", &[]).await;
    let mut keys = kw.keys(1, SignedDuration::from_hours(2)).await;
    keys.extend(kw.keys(2, SignedDuration::from_mins(1)).await);
    let (due, asked, off) = (keys[0].clone(), keys[1].clone(), keys[2].clone());
    kw.apply_key(
        "asked",
        json!({"storeRef": {"name": STORE}, "keyId": asked}),
    )
    .await;
    kw.wait("asked", "Ready", Duration::from_secs(60), |mk| {
        reason(mk).as_deref() == Some("True/Synced")
    })
    .await;

    kw.w.op.kill();
    kw.apply_key(
        "due",
        json!({"storeRef": {"name": STORE}, "keyId": due, "rotation": {"interval": "1h"}}),
    )
    .await;
    kw.annotate("asked", "keyward.dev/rotate", "plan-1").await;
    oci::set_key_state(&kw.emu, &off, "DISABLED").await;
    kw.apply_key("off", json!({"storeRef": {"name": STORE}, "keyId": off}))
        .await;

    let offset = crate::support::e2e::audit_offset().await;
    let before = kw.emu.request_counts();
    let run = keyward(&["plan", "-n", kw.w.ns(), "--kind", "mkey", "-o", "json"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = calls_between(&before, &kw.emu.request_counts());
    let writes = writes_since_by(offset, kw.w.ns(), "plan").await;
    assert!(
        requests_by(offset, "plan").await > 0,
        "no request of plan in the audit log"
    );
    assert!(
        writes.is_empty(),
        "plan wrote to the API server: {writes:?}"
    );
    assert!(
        writes_among(&calls).is_empty(),
        "plan wrote to the provider: {calls:?}"
    );
    assert_eq!(run.code, 1, "a plan that fails exits 1: {run:?}");
    let planned = run.json();
    let entry = |name: &str| {
        planned["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {planned:#}"))
            .clone()
    };
    let steps = |e: &serde_json::Value| -> Vec<String> {
        e["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["action"].as_str().unwrap().to_owned())
            .collect()
    };
    let (due_plan, asked_plan, off_plan) = (entry("due"), entry("asked"), entry("off"));
    assert_eq!(due_plan["verdict"], "change", "{due_plan:#}");
    assert!(
        due_plan["steps"][0]["description"]
            .to_string()
            .contains("rotation due at")
    );
    assert!(
        asked_plan["steps"][0]["description"]
            .to_string()
            .contains("keyward.dev/rotate=plan-1")
    );
    assert_eq!(
        (off_plan["verdict"].as_str(), off_plan["reason"].as_str()),
        (Some("fail"), Some("KeyUnavailable")),
        "{off_plan:#}"
    );
    eprintln!(
        "plan of three ManagedKeys: {} provider calls (reads {:?}), 0 writes",
        calls.values().sum::<u64>(),
        calls
    );

    let log_offset = kw.w.op.log_text().len();
    kw.w.op.restart(&[]).await;
    for (name, plan) in [("due", &due_plan), ("asked", &asked_plan)] {
        let deadline = Instant::now() + Duration::from_secs(60);
        let taken = loop {
            if let Some(first) = logged_steps(&kw.w.op.log_text(), log_offset, name, false)
                .into_iter()
                .next()
            {
                break first;
            }
            assert!(
                Instant::now() < deadline,
                "the operator logged no steps for {name}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(taken, steps(plan), "{name}");
        kw.wait(name, "rotated", Duration::from_secs(60), |mk| {
            reason(mk).as_deref() == Some("True/Synced")
                && mk
                    .status
                    .as_ref()
                    .is_some_and(|s| s.key_versions.len() == 1)
        })
        .await;
    }
    kw.wait("off", "KeyUnavailable", Duration::from_secs(60), |mk| {
        reason(mk).as_deref() == Some("False/KeyUnavailable")
    })
    .await;
}
