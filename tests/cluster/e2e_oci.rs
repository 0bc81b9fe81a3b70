//! What only OCI Vault does, end to end (the operator as the `keyward run` binary, the OCI
//! emulator with OCI's limits, write window and strict signatures): a rotating secret stays within
//! the 30 versions in use and the 30 pending deletion while days pass between rotations; a name a
//! secret pending deletion still reserves is told plainly; a 404 `NotAuthorizedOrNotFound` (a
//! removed policy, a secret deleted elsewhere) never costs the target Secret; retirement schedules
//! the deletion of `DEPRECATED` versions only, never the `PREVIOUS` one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keyward::api::lifecycle::Stage;
use keyward::provider::{SecretId, VersionStatus};
use serde_json::json;

use crate::support::cloud::{Cloud, oci_client};
use crate::support::e2e::{self as e2e_support, World, ready_reason};
use crate::support::oci;

/// Each revision and its stage, as status lists them.
fn stages_of(ms: &keyward::api::ManagedSecret) -> Vec<(u32, Stage)> {
    let status = ms.status.as_ref().expect("a status");
    status
        .revisions
        .iter()
        .map(|r| (r.revision, r.stage))
        .collect()
}

/// Versions the emulator holds that are in use (not pending deletion) and pending deletion.
async fn live_and_pending(w: &World, id: &str) -> (usize, usize) {
    let versions = w.versions(id).await;
    let pending = versions
        .iter()
        .filter(|v| v.status == VersionStatus::ScheduledForDeletion)
        .count();
    (versions.len() - pending, pending)
}

/// Forty rotations of one secret with `maxEnabledVersions: 2` and a short grace period, a day of
/// the emulator's clock passing before each (so deletions scheduled 30 days ahead complete, as they
/// would for a secret rotated daily). The bound asserted: **at most 2 versions in use once a
/// rotation settled, at most 3 at any instant**. The two are the current version and the
/// `PREVIOUS` one, which OCI cannot schedule for deletion (only `DEPRECATED` versions can be) and
/// which the rules keep anyway; the third exists between the `UpdateSecret` that makes a new
/// version and the scheduling of the version that write made `DEPRECATED`. Every rotation makes
/// exactly one version, so checking the settled bound after each proves the instant one; a sampler
/// polling the versions meanwhile reports the highest count it saw. No write is refused by a limit
/// (the emulator counts no 400 on UpdateSecret or on scheduling), each `DEPRECATED` version is
/// scheduled exactly once.
#[tokio::test]
async fn forty_rotations_stay_within_the_version_limits_of_oci() {
    const ROTATIONS: u32 = 40;
    let w = World::on(Cloud::Oci, "e2e-oci-forty").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "1m",
               "retirement": {"gracePeriod": "2s", "retention": "1h", "maxEnabledVersions": 2}}),
    )
    .await;
    let id = w.ready_id("db", 1).await;

    let peak = Arc::new(AtomicUsize::new(1));
    let samples = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (peak, samples) = (peak.clone(), samples.clone());
        let remote = Cloud::Oci.client(&w.emu.base_url(), e2e_support::TOKEN);
        let id = SecretId::new(&id);
        tokio::spawn(async move {
            loop {
                if let Ok(versions) = remote.list_versions(&id).await {
                    let live = versions
                        .iter()
                        .filter(|v| v.status != VersionStatus::ScheduledForDeletion)
                        .count();
                    peak.fetch_max(live, Ordering::Relaxed);
                    samples.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let mut settled_max = (0, 0);
    for revision in 2..=ROTATIONS + 1 {
        w.emu.advance_clock(jiff::SignedDuration::from_hours(24));
        w.annotate("db", "keyward.dev/rotate", &format!("day-{revision}"))
            .await;
        w.wait_ready("db", revision).await;
        if revision >= 3 {
            // Settled: the version this rotation made DEPRECATED is scheduled.
            w.wait_ms(
                "db",
                &format!("revision {} retired", revision - 2),
                Duration::from_secs(60),
                |ms| stages_of(ms).contains(&(revision - 2, Stage::Deleted)),
            )
            .await;
        }
        let (live, pending) = live_and_pending(&w, &id).await;
        assert!(
            live <= 2,
            "after rotation to {revision}: {live} versions in use: {:?}",
            w.versions(&id).await
        );
        settled_max = (settled_max.0.max(live), settled_max.1.max(pending));
    }
    sampler.abort();

    let versions = w.versions(&id).await;
    let highest = versions.iter().map(|v| v.revision).max();
    assert_eq!(
        highest,
        Some(u64::from(ROTATIONS) + 1),
        "one version per rotation"
    );
    let current = versions.iter().find(|v| v.revision == highest.unwrap());
    assert_eq!(current.map(|v| v.status), Some(VersionStatus::Enabled));
    let previous = versions.iter().find(|v| v.revision == u64::from(ROTATIONS));
    assert_eq!(
        previous.map(|v| v.status),
        Some(VersionStatus::Enabled),
        "the PREVIOUS version stays"
    );
    let counts = w.emu.request_counts();
    let refused = counts.count("UpdateSecret", 400)
        + counts.count("ScheduleSecretVersionDeletion", 400)
        + counts.count("CreateSecret", 400);
    let scheduled = counts.count("ScheduleSecretVersionDeletion", 200);
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "forty rotations on OCI: versions in use at most {} settled, {peak} seen by the sampler \
         ({} samples); pending deletion at most {}; LimitExceeded (any 400 on a write) {refused}; \
         versions scheduled for deletion {scheduled}; provider calls {counts:?}",
        settled_max.0,
        samples.load(Ordering::Relaxed),
        settled_max.1,
    );
    assert_eq!(refused, 0, "no write refused by a limit: {counts:?}");
    assert!(
        !w.op.log_text().contains("LimitExceeded"),
        "the operator never saw LimitExceeded"
    );
    assert!(peak <= 3, "{peak} versions in use at one instant");
    // One version scheduled per day, each pending for OCI's default window of 30 days.
    assert!(
        settled_max.1 <= 30,
        "pending deletions within OCI's 30: {}",
        settled_max.1
    );
    // Versions 1 to 39 scheduled, each once (OCI's 409 IncorrectState during a write window is
    // a refusal before acting, not a second scheduling).
    assert_eq!(scheduled, u64::from(ROTATIONS) - 1, "{counts:?}");
}

/// The remote secret is scheduled for deletion in the console while its ManagedSecret lives:
/// Keyward looks for it by name and would create it again, which OCI refuses because the secret
/// pending deletion still holds the name. The object says so (naming that secret and what to do)
/// within a bounded number of calls, keeps its last good Secret, and is Ready on the same secret,
/// without a new version, once the deletion is cancelled.
#[tokio::test]
async fn a_name_held_by_a_secret_pending_deletion_is_told_plainly_and_the_secret_stays() {
    const WINDOW: Duration = Duration::from_secs(120);
    let w = World::on(Cloud::Oci, "e2e-oci-reserved").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "1m"}),
    )
    .await;
    let id = w.ready_id("db", 1).await;
    let good = w.secret_data("db").await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Some days later (so that the retry token of the first CreateSecret has expired, as OCI's
    // do after 24 hours) someone schedules the secret's deletion in the console.
    w.emu.advance_clock(jiff::SignedDuration::from_hours(72));
    w.remote.delete_secret(&SecretId::new(&id)).await.unwrap();
    w.emu.reset_request_counts();
    // A refresh finds it (the object reads its secret once per refresh on OCI); a force-sync asks
    // now instead of waiting for the next one.
    w.annotate("db", "keyward.dev/force-sync", "console-deleted")
        .await;
    let ms = w.wait_reason("db", "Conflict").await;
    let message = ms.status.as_ref().unwrap().conditions[0].message.clone();
    eprintln!("a name held by a secret pending deletion: {message}");
    for part in [id.as_str(), "pending deletion", "cancel its deletion"] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    let started = Instant::now();
    let mut reasons = std::collections::BTreeSet::new();
    while started.elapsed() < WINDOW {
        let data = w.secret_data("db").await.expect("the target Secret stays");
        assert_eq!(data, good, "the last good Secret is untouched");
        if let Some(reason) = w
            .ms_api()
            .get("db")
            .await
            .ok()
            .as_ref()
            .and_then(ready_reason)
        {
            reasons.insert(reason);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let counts = w.emu.request_counts();
    eprintln!(
        "a reserved name for {WINDOW:?} (plus the time to report it): {} provider calls: {counts:?}",
        counts.total
    );
    assert_eq!(
        reasons,
        std::collections::BTreeSet::from(["False/Conflict".to_string()])
    );
    // Attempts: the force-sync, the persistent backoff's (30 s, then doubling) and one woken by
    // the sweep that no longer lists the secret, at most 5 in the window, each a GetSecret, a
    // refused CreateSecret and the ListSecrets that finds the pending secret; plus a sweep and a
    // read per one-minute refresh.
    assert!(
        counts.total <= 24,
        "{} provider calls: {counts:?}",
        counts.total
    );
    assert_eq!(counts.count("CreateSecret", 200), 0);
    assert!(
        counts.count("CreateSecret", 400) >= 1,
        "refused for the reserved name: {counts:?}"
    );
    assert_eq!(w.emu.secret_count(), 1, "no second secret");

    // The deletion cancelled: the same secret again, no new version.
    oci_client(&w.emu.base_url(), e2e_support::TOKEN)
        .cancel_secret_deletion(&id, None)
        .await
        .unwrap();
    w.annotate("db", "keyward.dev/force-sync", "cancelled")
        .await;
    assert_eq!(w.ready_id("db", 1).await, id);
    w.assert_version_count(&id, 1, "no new version").await;
    assert_eq!(w.secret_data("db").await.unwrap(), good);
}

/// OCI answers 404 `NotAuthorizedOrNotFound` alike for a missing secret and a missing
/// permission, so neither is a reason to delete a Kubernetes Secret. Here the user's policies are
/// taken away (every call 404) for two minutes, then an adopted secret is deleted in the console:
/// both target Secrets stay with their last good data all along, no secret or version is made,
/// and the calls stay bounded.
#[tokio::test]
async fn not_authorized_or_not_found_never_costs_the_target_secret() {
    const WINDOW: Duration = Duration::from_secs(120);
    let w = World::on(Cloud::Oci, "e2e-oci-404").await;
    let adopted = w
        .remote
        .create_secret(
            &keyward::provider::NewSecret {
                name: "legacy".into(),
                path: "/".into(),
                ..Default::default()
            },
            Some(&keyward::provider::NewVersion {
                value: "legacy-value".into(),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .secret
        .id;
    w.apply_ms(
        "owned",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "1m"}),
    )
    .await;
    w.apply_ms(
        "adopted",
        json!({"storeRef": {"name": e2e_support::STORE}, "refreshInterval": "1m",
               "remote": {"adopt": {"secretId": adopted.0}}}),
    )
    .await;
    let owned_id = w.ready_id("owned", 1).await;
    w.wait_ready("adopted", 1).await;
    let good = [
        ("owned", w.secret_data("owned").await.unwrap()),
        ("adopted", w.secret_data("adopted").await.unwrap()),
    ];
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The policies go: every call of the operator answers 404.
    oci::set_policies_allowed(&w.emu, false).await;
    w.emu.reset_request_counts();
    for (name, _) in &good {
        w.annotate(name, "keyward.dev/force-sync", "policy-removed")
            .await;
    }
    for (name, _) in &good {
        let ms = w
            .wait_ms(name, "a failure", Duration::from_secs(60), |ms| {
                ready_reason(ms).is_some_and(|r| r.starts_with("False/"))
            })
            .await;
        eprintln!(
            "{name} without policies: {}",
            ms.status.unwrap().conditions[0].message
        );
    }
    let started = Instant::now();
    let mut reasons = std::collections::BTreeMap::new();
    while started.elapsed() < WINDOW {
        for (name, data) in &good {
            let now = w.secret_data(name).await;
            assert_eq!(now.as_ref(), Some(data), "{name}: the target Secret stays");
            if let Some(reason) = w
                .ms_api()
                .get(name)
                .await
                .ok()
                .as_ref()
                .and_then(ready_reason)
            {
                reasons
                    .entry(*name)
                    .or_insert_with(std::collections::BTreeSet::new)
                    .insert(reason);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let counts = w.emu.request_counts();
    eprintln!(
        "two minutes without policies: {} provider calls for two objects; reasons {reasons:?}: {counts:?}",
        counts.total
    );
    // Each object first words its own read's 404, then the store's: its listing of the
    // compartment is refused too, which fails the whole store (a ProviderError naming the store).
    // Never Ready, never another reason.
    let allowed = ["False/RemoteNotFound", "False/ProviderError"];
    for (name, _) in &good {
        let seen = &reasons[name];
        assert!(
            seen.iter().all(|r| allowed.contains(&r.as_str())),
            "{name}: {seen:?}"
        );
    }
    assert!(
        counts.total <= 30,
        "{} provider calls: {counts:?}",
        counts.total
    );
    assert_eq!(w.emu.secret_count(), 2, "nothing created meanwhile");

    // Policies back: both Ready again on the same secrets and revisions.
    oci::set_policies_allowed(&w.emu, true).await;
    for (name, _) in &good {
        w.annotate(name, "keyward.dev/force-sync", "policy-back")
            .await;
    }
    assert_eq!(w.ready_id("owned", 1).await, owned_id);
    w.wait_ready("adopted", 1).await;
    w.assert_version_count(&owned_id, 1, "no new version").await;

    // The adopted secret deleted in the console: reported, the Secret stays.
    w.remote.delete_secret(&adopted).await.unwrap();
    w.annotate("adopted", "keyward.dev/force-sync", "deleted-elsewhere")
        .await;
    let ms = w.wait_reason("adopted", "RemoteNotFound").await;
    let message = ms.status.unwrap().conditions[0].message.clone();
    assert!(
        message.contains(&adopted.0) && message.contains("not visible to the store's credentials"),
        "not read as deleted for sure: {message}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    for (name, data) in &good {
        assert_eq!(
            w.secret_data(name).await.as_ref(),
            Some(data),
            "{name}: the target Secret stays"
        );
    }
    assert_eq!(w.emu.secret_count(), 2);
}

/// Retirement on OCI: after the first rotation version 1 is `PREVIOUS`, which OCI cannot schedule
/// for deletion, so it stays when the grace period ends; after the second it is `DEPRECATED` and
/// scheduled exactly once, while version 2, now `PREVIOUS`, is not touched.
#[tokio::test]
async fn on_oci_the_deprecated_version_is_scheduled_for_deletion_and_the_previous_is_spared() {
    let w = World::on(Cloud::Oci, "e2e-oci-retire").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {},
               "retirement": {"gracePeriod": "3s", "retention": "1h"}}),
    )
    .await;
    let id = w.ready_id("db", 1).await;
    w.annotate("db", "keyward.dev/rotate", "one").await;
    w.wait_ready("db", 2).await;
    // Past the grace period: version 1 is PREVIOUS and stays.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let ms = w.ms_api().get("db").await.unwrap();
    assert_eq!(
        stages_of(&ms),
        vec![(2, Stage::Current), (1, Stage::Previous)]
    );
    assert_eq!(
        w.emu
            .request_counts()
            .endpoint_total("ScheduleSecretVersionDeletion"),
        0,
        "nothing asked of the PREVIOUS version"
    );

    w.annotate("db", "keyward.dev/rotate", "two").await;
    w.wait_ready("db", 3).await;
    let ms = w
        .wait_ms(
            "db",
            "version 1 scheduled for deletion",
            Duration::from_secs(60),
            |ms| stages_of(ms).contains(&(1, Stage::Deleted)),
        )
        .await;
    assert_eq!(
        stages_of(&ms),
        vec![
            (3, Stage::Current),
            (2, Stage::Previous),
            (1, Stage::Deleted)
        ]
    );
    // Past the second grace period too: nothing more happens.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let counts = w.emu.request_counts();
    assert_eq!(
        counts.count("ScheduleSecretVersionDeletion", 200),
        1,
        "{counts:?}"
    );
    let versions = w.versions(&id).await;
    let status = |n: u64| versions.iter().find(|v| v.revision == n).map(|v| v.status);
    assert_eq!(status(1), Some(VersionStatus::ScheduledForDeletion));
    assert_eq!(
        status(2),
        Some(VersionStatus::Enabled),
        "PREVIOUS untouched"
    );
    assert_eq!(status(3), Some(VersionStatus::Enabled));
    let notes: Vec<String> = w
        .events("db")
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Retired"))
        .filter_map(|e| e.note)
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("scheduled for deletion version 1 "),
        "{notes:?}"
    );
    let ms = w.ms_api().get("db").await.unwrap();
    assert_eq!(
        stages_of(&ms),
        vec![
            (3, Stage::Current),
            (2, Stage::Previous),
            (1, Stage::Deleted)
        ]
    );
}

/// A steady object on OCI: no status or Secret write, and one GetSecret of its own secret per
/// refresh (OCI's listing cannot show a new version, so the object reads its secret itself; see
/// `stores::runtime::next_look`) besides the store's one listing per refresh.
#[tokio::test]
async fn a_steady_object_on_oci_reads_its_secret_once_per_refresh_and_writes_nothing() {
    let w = World::on(Cloud::Oci, "e2e-oci-steady").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "10s"}),
    )
    .await;
    let id = w.ready_id("db", 1).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let offset = e2e_support::audit_offset().await;
    w.emu.reset_request_counts();
    tokio::time::sleep(Duration::from_secs(35)).await;
    let writes = e2e_support::writes_since(offset, w.ns()).await;
    assert!(writes.is_empty(), "writes in steady state: {writes:?}");
    let counts = w.emu.request_counts();
    eprintln!("a steady OCI object in 35 s at a 10 s refresh: {counts:?}");
    let reads = counts.count("GetSecret", 200);
    let sweeps = counts.endpoint_total("ListSecrets");
    // 35 s hold three or four refreshes (each a tenth early at most).
    assert!((3..=4).contains(&reads), "{counts:?}");
    assert_eq!(counts.for_secret(&id), reads, "only reads of its secret");
    assert!(
        (3..=5).contains(&sweeps) && counts.total == sweeps + reads,
        "one listing per refresh and the object's reads, nothing else: {counts:?}"
    );
}
