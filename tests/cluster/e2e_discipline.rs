//! Failure discipline end to end: a failure never wakes itself, keeps its reason, backs off, and
//! costs the provider a bounded number of calls (the emulators count them); a steady object
//! writes nothing and calls nothing; Events say what happened to which revision; a write the API
//! server refuses becomes a condition. The operator runs as the `keyward run` binary.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use keyward::emulator::{ErrorFault, FaultSettings};
use serde_json::json;

use crate::support::cloud::Cloud;
use crate::support::e2e::{self as e2e_support, World, ready_reason, strict_emulator};

/// Five minutes of a disabled key, of a provider answering 500 to everything, and of revoked
/// credentials, each with a rotation requested: at most 20 provider calls each, the reason
/// steady all along, at most 5 Events; once fixed, Ready with exactly one new version.
#[tokio::test]
async fn failures_keep_their_reason_back_off_and_stay_within_twenty_calls_in_five_minutes() {
    const WINDOW: Duration = Duration::from_secs(300);
    let w = World::new("e2e-discipline").await;
    let flaky = strict_emulator("flaky-token", FaultSettings::none()).await;
    let revoked = strict_emulator("revoked-token", FaultSettings::none()).await;
    w.add_store(w.ns(), "flaky", &flaky, "flaky-token", json!({}))
        .await;
    w.add_store(w.ns(), "revoked", &revoked, "revoked-token", json!({}))
        .await;
    // A refresh of a minute: the sweeps of the stores stay few and are counted too.
    let spec =
        |store: &str| json!({"storeRef": {"name": store}, "generate": {}, "refreshInterval": "1m"});
    w.apply_ms("keyed", spec(e2e_support::STORE)).await;
    w.apply_ms("flaky", spec("flaky")).await;
    w.apply_ms("revoked", spec("revoked")).await;
    let keyed_id = w.ready_id("keyed", 1).await;
    let flaky_id = w.ready_id("flaky", 1).await;
    let revoked_id = w.ready_id("revoked", 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The three failures, then a rotation request on each.
    w.emu.disable_key(keyed_id.clone());
    let mut all_500 = FaultSettings::none();
    all_500.errors.insert(
        "*".into(),
        ErrorFault {
            rate: 1.0,
            status: 500,
        },
    );
    flaky.set_faults(all_500).unwrap();
    revoked.set_token_revoked("revoked-token", true);
    for emu in [&w.emu, &flaky, &revoked] {
        emu.reset_request_counts();
    }
    let started = Instant::now();
    let since = jiff::Timestamp::now();
    for name in ["keyed", "flaky", "revoked"] {
        w.annotate(name, "keyward.dev/rotate", "during-the-outage")
            .await;
    }

    let cases = [
        ("keyed", "KeyUnavailable"),
        ("flaky", "ProviderError"),
        ("revoked", "AuthFailed"),
    ];
    let mut seen: Vec<BTreeSet<String>> = vec![BTreeSet::new(); 3];
    while started.elapsed() < WINDOW {
        for (i, (name, _)) in cases.iter().enumerate() {
            let ms = w.ms_api().get(name).await.unwrap();
            if let Some(reason) = ready_reason(&ms)
                && reason.starts_with("False/")
            {
                seen[i].insert(reason);
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }

    let calls = [
        ("keyed", w.emu.requests_for_secret(&keyed_id)),
        ("flaky", flaky.request_count()),
        ("revoked", revoked.request_count()),
    ];
    eprintln!("provider calls in the five minutes: {calls:?}; reasons seen: {seen:?}");
    for ((name, reason), seen) in cases.iter().zip(&seen) {
        assert_eq!(
            seen,
            &BTreeSet::from([format!("False/{reason}")]),
            "{name}: one reason all along"
        );
        let events: Vec<_> = w
            .events(name)
            .await
            .into_iter()
            .filter(|e| e.event_time.as_ref().is_some_and(|t| t.0 >= since))
            .collect();
        let count: i32 = events
            .iter()
            .map(|e| e.series.as_ref().map_or(1, |s| s.count))
            .sum();
        assert!(count <= 5, "{name}: {count} Events: {events:?}");
    }
    for (name, n) in calls {
        assert!(n <= 20, "{name}: {n} provider calls in five minutes");
    }
    // The status is not rewritten by repeats: no write wakes the object.
    let ms = w.ms_api().get("keyed").await.unwrap();
    let ready = &ms.status.unwrap().conditions[0];
    assert!(
        !ready.message.contains("request id"),
        "a stable message: {}",
        ready.message
    );

    // Fixed: Ready again with exactly one new version each. The store-wide failures recover
    // when the store's own probe succeeds; the key is a property of one secret, so a person who
    // re-enabled it asks for an immediate retry with force-sync.
    w.emu.enable_key(&keyed_id);
    flaky.set_faults(FaultSettings::none()).unwrap();
    revoked.set_token_revoked("revoked-token", false);
    w.annotate("keyed", "keyward.dev/force-sync", "key-enabled")
        .await;
    for name in ["keyed", "flaky", "revoked"] {
        w.wait_ready_within(name, 2, Duration::from_secs(360)).await;
    }
    w.assert_version_count(&keyed_id, 2, "keyed: one new version")
        .await;
    for (emu, id, token) in [
        (&flaky, &flaky_id, "flaky-token"),
        (&revoked, &revoked_id, "revoked-token"),
    ] {
        let versions = e2e_support::emulator_client_with(&emu.base_url(), token)
            .list_versions(&keyward::provider::SecretId::new(id))
            .await
            .unwrap();
        assert_eq!(versions.len(), 2, "one new version after the outage");
    }
}

/// In steady state an object costs nothing: no status write, no Secret write, no provider call
/// for its secret over several refresh intervals (the store's sweep is one listing for all).
#[tokio::test]
async fn a_steady_object_writes_nothing_and_calls_nothing() {
    let w = World::new("e2e-steady").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "10s"}),
    )
    .await;
    let id = w.ready_id("db", 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let offset = e2e_support::audit_offset().await;
    w.emu.reset_request_counts();
    tokio::time::sleep(Duration::from_secs(35)).await;
    let writes = e2e_support::writes_since(offset, w.ns()).await;
    assert!(writes.is_empty(), "writes in steady state: {writes:?}");
    let counts = w.emu.request_counts();
    assert_eq!(
        counts.for_secret(&id),
        0,
        "no call about the object's own secret"
    );
    let sweeps = counts.endpoint_total("ListSecrets");
    assert!(
        (3..=5).contains(&sweeps) && counts.total == sweeps,
        "one listing per refresh interval and nothing else: {counts:?}"
    );
}

/// Every mirroring is its own Event naming its revision (not a series under the first note).
#[tokio::test]
async fn events_name_the_revision_every_time() {
    let w = World::new("e2e-events").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}}),
    )
    .await;
    w.wait_ready("db", 1).await;
    w.annotate("db", "keyward.dev/rotate", "first").await;
    w.wait_ready("db", 2).await;
    w.annotate("db", "keyward.dev/rotate", "second").await;
    w.wait_ready("db", 3).await;
    let mirrored: Vec<String> = w
        .events("db")
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Mirrored"))
        .inspect(|e| assert!(e.series.is_none(), "not a series: {e:?}"))
        .filter_map(|e| e.note)
        .collect();
    for revision in 1..=3 {
        let want = format!("mirrored revision {revision} into Secret db");
        assert!(mirrored.contains(&want), "{want:?} in {mirrored:?}");
    }
}

/// A write of the target Secret the API server refuses (here: a Secret its owner made
/// immutable, merged into) is a condition with the API server's message and an Event, and the
/// Secret stays as it was.
#[tokio::test]
async fn a_refused_target_write_is_reported_with_the_api_servers_message() {
    let w = World::new("e2e-refused").await;
    w.apply(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "frozen"},
                   "immutable": true, "stringData": {"theirs": "kept"}}),
    )
    .await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {},
               "target": {"name": "frozen", "creationPolicy": "Merge"}}),
    )
    .await;
    let ms = w.wait_reason("db", "TargetWriteFailed").await;
    let message = ms.status.unwrap().conditions[0].message.clone();
    assert!(
        message.contains("frozen") && message.contains("422"),
        "{message}"
    );
    // An Event tells it too.
    w.wait_events("db", &["Failed"]).await;
    assert_eq!(
        w.secret_data("frozen").await.unwrap(),
        [("theirs".to_string(), b"kept".to_vec())].into()
    );
}

/// Thalassa and OCI bind each secret to a KMS key (OCI: the vault's master encryption key).
/// Disabled, the key makes values unreadable and unwritable while the secret's metadata stays
/// readable: a rotation requested then reports `KeyUnavailable`, the status keeps what it knows of
/// the remote secret, the last good Secret stays, and five minutes of it cost at most 20 provider
/// calls (sweeps and, on OCI, the per-refresh read of the secret included). Enabled again, the
/// object becomes Ready with exactly one new version: on Thalassa without anyone touching it (the
/// next persistent backoff step), on OCI when a person who re-enabled the key asks with
/// `keyward.dev/force-sync`, as on Scaleway.
async fn key_disabled_is_key_unavailable_within_twenty_calls(cloud: Cloud, recovery: Recovery) {
    const WINDOW: Duration = Duration::from_secs(300);
    let w = World::on(cloud, &format!("e2e-kms-{}", cloud.name())).await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "1m"}),
    )
    .await;
    let id = w.ready_id("db", 1).await;
    let good = w.secret_data("db").await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    cloud.set_key_disabled(&w.emu, &id, true).await;
    w.emu.reset_request_counts();
    let started = Instant::now();
    w.annotate("db", "keyward.dev/rotate", "while-disabled")
        .await;
    let mut seen = BTreeSet::new();
    while started.elapsed() < WINDOW {
        let ms = w.ms_api().get("db").await.unwrap();
        if let Some(reason) = ready_reason(&ms)
            && reason.starts_with("False/")
        {
            seen.insert(reason);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let calls = w.emu.request_counts();
    eprintln!(
        "{} calls in five minutes of a disabled key: {} ({calls:?})",
        cloud.name(),
        calls.total
    );
    assert_eq!(seen, BTreeSet::from(["False/KeyUnavailable".to_string()]));
    assert!(
        calls.total <= 20,
        "{} calls in five minutes: {calls:?}",
        calls.total
    );
    let ms = w.ms_api().get("db").await.unwrap();
    let status = ms.status.unwrap();
    assert_eq!(status.secret_id.as_deref(), Some(id.as_str()));
    assert_eq!(status.region.as_deref(), Some(cloud.region()));
    assert_eq!(status.current_revision, Some(1));
    assert!(status.remote_fingerprint.is_some());
    let message = &status.conditions[0].message;
    assert!(message.to_lowercase().contains("key"), "{message}");
    assert_eq!(w.secret_data("db").await.unwrap(), good, "last good Secret");
    w.assert_version_count(&id, 1, "no version while the key is disabled")
        .await;

    cloud.set_key_disabled(&w.emu, &id, false).await;
    let within = match recovery {
        // The next attempt, at most one persistent backoff later (4–6 minutes after five of
        // failing), succeeds.
        Recovery::ByItself => Duration::from_secs(480),
        Recovery::ForceSync => {
            w.annotate("db", "keyward.dev/force-sync", "key-enabled")
                .await;
            Duration::from_secs(60)
        }
    };
    w.wait_ready_within("db", 2, within).await;
    w.assert_version_count(&id, 2, "exactly one new version")
        .await;
}

/// How a test asks a recovered object to try again.
#[derive(Clone, Copy)]
enum Recovery {
    /// Nobody asks: the object's own next attempt.
    ByItself,
    /// `keyward.dev/force-sync`, as a person who fixed the cause would.
    ForceSync,
}

#[tokio::test]
async fn thalassa_key_disabled_is_key_unavailable_within_twenty_calls_and_ready_once_active() {
    key_disabled_is_key_unavailable_within_twenty_calls(Cloud::Thalassa, Recovery::ByItself).await
}

#[tokio::test]
async fn oci_key_disabled_is_key_unavailable_within_twenty_calls_and_ready_after_force_sync() {
    key_disabled_is_key_unavailable_within_twenty_calls(Cloud::Oci, Recovery::ForceSync).await
}
