//! Rotation that reaches workloads, end to end: restarts by one pod-template annotation, once per
//! workload and only for a new revision, within the cluster's restart limit; confirmation from
//! the workloads' own status; and the previous version retired only after every consumer runs the
//! new one. The control plane has no workload controllers, so the tests play them
//! (`support::workloads::PlayedControllers`), writing status as those controllers would.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use keyward::api::lifecycle::{Stage, WorkloadState};
use keyward::provider::VersionStatus;
use kube::Api;
use kube::api::ListParams;
use serde_json::json;

use crate::support::e2e::{self as e2e_support, World};
use crate::support::workloads::{
    PlayedControllers, daemon_set, deployment, generation, stateful_set,
};

/// Waits until the ManagedSecret's rollout status satisfies `check`.
async fn wait_rollout(
    w: &World,
    name: &str,
    what: &str,
    check: impl Fn(&keyward::api::lifecycle::RolloutStatus) -> bool,
) -> keyward::api::ManagedSecret {
    w.wait_ms(name, what, Duration::from_secs(90), |ms| {
        ms.status
            .as_ref()
            .and_then(|s| s.rollout.as_ref())
            .is_some_and(&check)
    })
    .await
}

/// Forces a refresh and waits until the operator handled it.
async fn force_sync(w: &World, value: &str) {
    w.annotate("db", "keyward.dev/force-sync", value).await;
    w.wait_ms(
        "db",
        &format!("force-sync {value} handled"),
        Duration::from_secs(60),
        |ms| {
            ms.status
                .as_ref()
                .and_then(|s| s.handled_force_sync.as_deref())
                == Some(value)
        },
    )
    .await;
}

/// Waits up to a minute for `check`.
async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "no {what} within a minute");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each revision and its stage, as status lists them.
fn stages_of(ms: &keyward::api::ManagedSecret) -> Vec<(u32, Stage)> {
    let status = ms.status.as_ref().expect("a status");
    status
        .revisions
        .iter()
        .map(|r| (r.revision, r.stage))
        .collect()
}

/// Waits until status shows `revision` of "db" at `stage`.
async fn wait_stage(
    w: &World,
    revision: u32,
    stage: Stage,
    what: &str,
    timeout: Duration,
) -> keyward::api::ManagedSecret {
    w.wait_ms("db", what, timeout, |ms| {
        ms.status.as_ref().is_some_and(|s| {
            s.revisions
                .iter()
                .any(|r| r.revision == revision && r.stage == stage)
        })
    })
    .await
}

fn version_status(
    versions: &[keyward::provider::RemoteVersion],
    revision: u64,
) -> Option<VersionStatus> {
    versions
        .iter()
        .find(|v| v.revision == revision)
        .map(|v| v.status)
}

/// Two Deployments (by label), a StatefulSet (by name) and a DaemonSet (discovered by its volume)
/// read one rotated Secret: each gets exactly one pod-template change; version 1 stays enabled
/// while one of them has not finished its rollout, is disabled after the grace period once all
/// have, and deleted after the retention, each exactly once.
#[tokio::test]
async fn played_controllers_a_rotation_restarts_each_consumer_once_and_retires_only_after_all_finished()
 {
    let w = World::new("e2e-rollout").await;
    let ns = w.ns().to_owned();
    let controllers = PlayedControllers::start(&w.client, &ns);
    w.apply(deployment("api", json!({"tier": "front"}), Some("db")))
        .await;
    w.apply(deployment("worker", json!({"tier": "front"}), Some("db")))
        .await;
    w.apply(stateful_set("ledger", Some("db"))).await;
    w.apply(daemon_set("agent", "db")).await;
    w.apply(deployment("bystander", json!({"tier": "back"}), None))
        .await;
    w.apply_ms(
        "db",
        json!({
            "storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "10s",
            "rollout": {
                "workloads": [
                    {"kind": "Deployment", "matchLabels": {"tier": "front"}},
                    {"kind": "StatefulSet", "name": "ledger"}
                ],
                "discover": true, "debounce": "1s", "progressDeadline": "5m"
            },
            "retirement": {"gracePeriod": "4s", "retention": "6s"}
        }),
    )
    .await;
    let id = w.ready_id("db", 1).await;
    let baseline = wait_rollout(&w, "db", "baseline rollout", |r| r.confirmed_at.is_some()).await;
    let rollout = baseline.status.unwrap().rollout.unwrap();
    assert_eq!(rollout.summary, "4/4", "{rollout:?}");
    let workloads = [
        ("Deployment", "api"),
        ("Deployment", "worker"),
        ("StatefulSet", "ledger"),
        ("DaemonSet", "agent"),
        ("Deployment", "bystander"),
    ];
    let mut before = BTreeMap::new();
    for (kind, name) in workloads {
        before.insert(name, generation(&w.client, &ns, kind, name).await);
    }

    controllers.hold("ledger");
    w.emu.reset_request_counts();
    let requested = jiff::Timestamp::now();
    w.annotate("db", "keyward.dev/rotate", "one").await;
    w.wait_ready("db", 2).await;
    // Every consumer restarted, the StatefulSet's rollout held back.
    let rolling = wait_rollout(&w, "db", "three of four rolled out", |r| {
        r.revision == 2 && r.summary == "3/4"
    })
    .await;
    let state_of = |ms: &keyward::api::ManagedSecret, name: &str| {
        ms.status
            .as_ref()
            .unwrap()
            .rollout
            .as_ref()
            .unwrap()
            .workloads
            .iter()
            .find(|w| w.name == name)
            .map(|w| w.state)
    };
    assert_eq!(
        state_of(&rolling, "ledger"),
        Some(WorkloadState::Progressing)
    );
    // Well past the grace period: version 1 is still enabled.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        version_status(&w.versions(&id).await, 1),
        Some(VersionStatus::Enabled)
    );
    let counts = w.emu.request_counts();
    assert_eq!(counts.endpoint_total("DisableSecretVersion"), 0);

    controllers.release("ledger");
    let done = wait_rollout(&w, "db", "rollout confirmed", |r| {
        r.revision == 2 && r.confirmed_at.is_some()
    })
    .await;
    assert_eq!(
        done.status
            .as_ref()
            .unwrap()
            .rollout
            .as_ref()
            .unwrap()
            .summary,
        "4/4"
    );
    // Disabled after the grace period, then deleted after the retention.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let versions = w.versions(&id).await;
        // Scaleway keeps a deleted version for a while as scheduled for deletion.
        if matches!(
            version_status(&versions, 1),
            None | Some(VersionStatus::ScheduledForDeletion | VersionStatus::Destroyed)
        ) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "version 1 not deleted: {versions:?}\n{}",
            e2e_support::tail(&w.op.log_text(), 30)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let retired = wait_stage(
        &w,
        1,
        Stage::Deleted,
        "version 1 deleted in status",
        Duration::from_secs(30),
    )
    .await;
    let stages = stages_of(&retired);
    assert_eq!(stages, vec![(2, Stage::Current), (1, Stage::Deleted)]);
    // Settle, then count: one pod-template change per consumer, none for the bystander, one
    // disable and one delete.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for (kind, name) in workloads {
        let want = before[name] + i64::from(name != "bystander");
        assert_eq!(
            generation(&w.client, &ns, kind, name).await,
            want,
            "{kind} {name}"
        );
    }
    let counts = w.emu.request_counts();
    assert_eq!(
        counts.endpoint_total("DisableSecretVersion"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        counts.endpoint_total("DeleteSecretVersion"),
        1,
        "{counts:?}"
    );
    let versions = w.versions(&id).await;
    assert_eq!(
        version_status(&versions, 2),
        Some(VersionStatus::Enabled),
        "{versions:?}"
    );
    // The timeline of the rotation, for the record (`--nocapture` shows it).
    let mut timeline: Vec<(jiff::Timestamp, String)> = w
        .events("db")
        .await
        .into_iter()
        .filter_map(|e| Some((e.event_time?.0, format!("{}: {}", e.reason?, e.note?))))
        .filter(|(at, _)| *at >= requested)
        .collect();
    timeline.sort();
    eprintln!("timeline of one rotation (seconds after the request):");
    for (at, what) in &timeline {
        eprintln!(
            "  {:>6.1}  {what}",
            at.duration_since(requested).as_secs_f64()
        );
    }
    // The operator's own provider calls (the test's version listings are in the emulator's
    // counts too), from its log.
    let mut calls: BTreeMap<String, u32> = BTreeMap::new();
    for line in w.op.log_text().lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let at: Option<jiff::Timestamp> = e["timestamp"].as_str().and_then(|t| t.parse().ok());
        if e["message"] == "provider call finished" && at.is_some_and(|t| t >= requested) {
            let op = e["span"]["operation"].as_str().unwrap_or("?").to_owned();
            *calls.entry(op).or_default() += 1;
        }
    }
    eprintln!("the operator's provider calls from the request on: {calls:?}");
    w.wait_events("db", &["Restarted", "RolledOut", "Retired"])
        .await;
}

/// Three ManagedSecrets rotated within the debounce window, all read by one Deployment: one
/// restart.
#[tokio::test]
async fn played_controllers_three_secrets_rotated_together_restart_their_shared_workload_once() {
    let w = World::new("e2e-debounce").await;
    let ns = w.ns().to_owned();
    let _controllers = PlayedControllers::start(&w.client, &ns);
    let mut app = deployment("app", json!({}), Some("one"));
    app["spec"]["template"]["spec"]["containers"][0]["envFrom"] = json!([
        {"secretRef": {"name": "one"}}, {"secretRef": {"name": "two"}}, {"secretRef": {"name": "three"}}
    ]);
    w.apply(app).await;
    for name in ["one", "two", "three"] {
        w.apply_ms(
            name,
            json!({"storeRef": {"name": e2e_support::STORE}, "generate": {},
                "rollout": {"discover": true, "debounce": "5s"}}),
        )
        .await;
    }
    for name in ["one", "two", "three"] {
        wait_rollout(&w, name, "baseline", |r| r.confirmed_at.is_some()).await;
    }
    let before = generation(&w.client, &ns, "Deployment", "app").await;
    for name in ["one", "two", "three"] {
        w.annotate(name, "keyward.dev/rotate", "together").await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    for name in ["one", "two", "three"] {
        wait_rollout(&w, name, "rolled out at revision 2", |r| {
            r.revision == 2 && r.confirmed_at.is_some()
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        generation(&w.client, &ns, "Deployment", "app").await,
        before + 1,
        "one restart for three rotations\n{}",
        e2e_support::tail(&w.op.log_text(), 40)
    );
}

/// 100 forced refreshes, an operator restart and a leader hand-over bring no new revision: no
/// workload restarts.
#[tokio::test]
async fn played_controllers_refreshes_a_restart_and_a_leader_hand_over_restart_nothing() {
    let mut w = World::new("e2e-norestart").await;
    let ns = w.ns().to_owned();
    let _controllers = PlayedControllers::start(&w.client, &ns);
    w.apply(deployment("api", json!({}), Some("db"))).await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {},
            "rollout": {"workloads": [{"kind": "Deployment", "name": "api"}], "debounce": "1s"}}),
    )
    .await;
    w.wait_ready("db", 1).await;
    // One real rotation first, so the workload carries Keyward's annotation.
    w.annotate("db", "keyward.dev/rotate", "once").await;
    wait_rollout(&w, "db", "rolled out at revision 2", |r| {
        r.revision == 2 && r.confirmed_at.is_some()
    })
    .await;
    let before = generation(&w.client, &ns, "Deployment", "api").await;
    for i in 0..100 {
        w.annotate("db", "keyward.dev/force-sync", &format!("refresh-{i}"))
            .await;
    }
    w.wait_ms(
        "db",
        "the last forced refresh handled",
        Duration::from_secs(60),
        |ms| {
            ms.status
                .as_ref()
                .and_then(|s| s.handled_force_sync.as_deref())
                == Some("refresh-99")
        },
    )
    .await;
    // An operator restart, then a leader hand-over: the restarted operator becomes candidate
    // "a" beside a second candidate "b", and whichever leads first is killed.
    let election = |identity: &'static str| {
        vec![
            ("KEYWARD_LEADER_ELECTION", "true"),
            ("POD_NAMESPACE", ns.as_str()),
            ("POD_NAME", identity),
            ("KEYWARD_LEADER_ELECTION_LEASE_DURATION", "4s"),
            ("KEYWARD_LEADER_ELECTION_RENEW_DEADLINE", "3s"),
            ("KEYWARD_LEADER_ELECTION_RETRY_PERIOD", "500ms"),
        ]
    };
    let leads = |log: String| log.contains(r#""message":"became leader""#);
    w.op.restart(&election("rollout-a")).await;
    let mut b = e2e_support::Operator::start(
        &ns,
        w.dir.path().join("operator-b.log"),
        &election("rollout-b"),
    )
    .await;
    until("a leader", || leads(w.op.log_text()) || leads(b.log_text())).await;
    force_sync(&w, "after-restart").await;
    let a_led = leads(w.op.log_text());
    if a_led {
        w.op.kill();
    } else {
        b.kill();
    }
    until("a hand-over", || {
        leads(if a_led { b.log_text() } else { w.op.log_text() })
    })
    .await;
    force_sync(&w, "after-hand-over").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        generation(&w.client, &ns, "Deployment", "api").await,
        before,
        "no restart"
    );
    let restarted = w
        .event_reasons("db")
        .await
        .into_iter()
        .filter(|r| r == "Restarted")
        .count();
    assert_eq!(restarted, 1, "the one real rotation only");
}

/// A workload whose rollout never finishes holds the previous version: never disabled; status
/// and a Warning Event name the workload.
#[tokio::test]
async fn played_controllers_a_rollout_that_never_finishes_keeps_the_previous_version() {
    let w = World::new("e2e-stalled").await;
    let ns = w.ns().to_owned();
    let controllers = PlayedControllers::start(&w.client, &ns);
    w.apply(deployment("stuck", json!({}), Some("db"))).await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {},
            "rollout": {"workloads": [{"kind": "Deployment", "name": "stuck"}], "debounce": "1s", "progressDeadline": "30s"},
            "retirement": {"gracePeriod": "1s", "retention": "1s"}}),
    )
    .await;
    let id = w.ready_id("db", 1).await;
    controllers.hold("stuck");
    w.emu.reset_request_counts();
    w.annotate("db", "keyward.dev/rotate", "one").await;
    let stalled = wait_rollout(&w, "db", "stalled", |r| {
        r.workloads
            .iter()
            .any(|w| w.name == "stuck" && w.state == WorkloadState::Stalled)
    })
    .await;
    assert!(
        stalled
            .status
            .unwrap()
            .rollout
            .unwrap()
            .confirmed_at
            .is_none()
    );
    let warnings: Vec<String> = w
        .events("db")
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("RolloutStalled"))
        .filter_map(|e| e.note)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("Deployment stuck"), "{warnings:?}");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        version_status(&w.versions(&id).await, 1),
        Some(VersionStatus::Enabled)
    );
    let counts = w.emu.request_counts();
    assert_eq!(counts.endpoint_total("DisableSecretVersion"), 0);
    assert_eq!(counts.endpoint_total("DeleteSecretVersion"), 0);
    // While stalled the pipeline looks at the workload, not at the provider.
    assert!(counts.for_secret(&id) <= 4, "{counts:?}");
}

/// 50 workloads to restart with a limit of 10 per minute: never more than 10 in any minute (the
/// times come from the control plane's audit log), and all 50 in the end.
#[tokio::test]
async fn played_controllers_restarts_never_exceed_the_clusters_limit_per_minute() {
    let w = World::with_env("e2e-limit", &[("KEYWARD_MAX_RESTARTS_PER_MINUTE", "10")]).await;
    let ns = w.ns().to_owned();
    let _controllers = PlayedControllers::start(&w.client, &ns);
    for i in 0..50 {
        w.apply(deployment(
            &format!("fleet-{i:02}"),
            json!({"fleet": "yes"}),
            Some("db"),
        ))
        .await;
    }
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {},
            "rollout": {"workloads": [{"kind": "Deployment", "matchLabels": {"fleet": "yes"}}], "debounce": "1s"}}),
    )
    .await;
    wait_rollout(&w, "db", "baseline", |r| r.confirmed_at.is_some()).await;
    let offset = e2e_support::audit_offset().await;
    w.annotate("db", "keyward.dev/rotate", "fleet").await;
    let api: Api<Deployment> = Api::namespaced(w.client.clone(), &ns);
    let deadline = Instant::now() + Duration::from_secs(330);
    loop {
        let restarted = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|d| d.metadata.generation.unwrap_or(0) > 1)
            .count();
        if restarted == 50 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{restarted} of 50 restarted\n{}",
            e2e_support::tail(&w.op.log_text(), 20)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let times = e2e_support::write_times_since(offset, &ns, "deployments").await;
    assert_eq!(times.len(), 50, "one pod-template change each: {times:?}");
    // The operator counts a minute on its monotonic clock from when each restart's request
    // returned; the audit log stamps completion on the API server's wall clock, a little earlier.
    // 20 ms allows for the two clocks, far less than any restart's spacing would need to hide.
    let minute = jiff::SignedDuration::from_secs(60) - jiff::SignedDuration::from_millis(20);
    for (i, start) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .filter(|t| t.duration_since(*start) < minute)
            .count();
        assert!(within <= 10, "{within} restarts in the minute from {start}");
    }
    let first = times[0];
    let last = *times.last().unwrap();
    eprintln!(
        "50 restarts from {first} to {last} ({}s)",
        last.duration_since(first).as_secs()
    );
}

/// `target.includePrevious`: after a rotation the Secret holds the new value and, under
/// `value_previous`, the one it replaced; when the grace period ends the previous key goes.
#[tokio::test]
async fn the_previous_value_is_in_the_secret_during_the_grace_period_and_gone_after() {
    let w = World::new("e2e-previous").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {},
            "target": {"includePrevious": true},
            "retirement": {"gracePeriod": "8s", "retention": "1h"}}),
    )
    .await;
    w.wait_ready("db", 1).await;
    let first = w.secret_data("db").await.unwrap();
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        vec!["value"],
        "nothing to carry yet"
    );
    w.annotate("db", "keyward.dev/rotate", "dual").await;
    w.wait_ready("db", 2).await;
    let during = w
        .wait_secret("db", "both values", Duration::from_secs(30), |d| {
            d.contains_key("value_previous")
        })
        .await;
    assert_eq!(during["value_previous"], first["value"]);
    assert_ne!(during["value"], first["value"]);
    let after = w
        .wait_secret(
            "db",
            "the previous value gone",
            Duration::from_secs(60),
            |d| !d.contains_key("value_previous"),
        )
        .await;
    assert_eq!(after["value"], during["value"]);
    assert_eq!(after.len(), 1);
    let ms = w.wait_ready("db", 2).await;
    let stages = stages_of(&ms);
    assert_eq!(stages, vec![(2, Stage::Current), (1, Stage::Disabled)]);
}

/// On a provider that cannot disable versions (Thalassa), the superseded version is destroyed
/// when the grace period ends, once: the capability the planner reads, end to end.
#[tokio::test]
async fn on_thalassa_the_superseded_version_is_destroyed_after_the_grace_period() {
    use keyward::emulator::{EmulatorConfig, ThalassaEmulatorConfig};
    let w = World::new("e2e-destroy").await;
    let emu = keyward::emulator::spawn(EmulatorConfig::thalassa_for_tests(
        ThalassaEmulatorConfig::default(),
    ))
    .await
    .expect("thalassa emulator");
    w.apply_secret(
        "thalassa-creds",
        json!({"THALASSA_PERSONAL_ACCESS_TOKEN": "t"}),
    )
    .await;
    w.apply(json!({
        "apiVersion": "keyward.dev/v1alpha1", "kind": "SecretStore",
        "metadata": {"name": "thalassa"},
        "spec": {"provider": {"thalassa": {
            "region": keyward::emulator::thalassa::DEFAULT_REGION, "organisation": "org",
            "kmsKey": keyward::emulator::thalassa::DEFAULT_KEY, "apiUrl": emu.base_url(),
            "credentials": {"secretRef": {"name": "thalassa-creds"}}}}},
    }))
    .await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": "thalassa"}, "remote": {"path": "/apps", "name": "db"},
            "generate": {}, "retirement": {"gracePeriod": "3s", "retention": "1h"}}),
    )
    .await;
    w.wait_ready("db", 1).await;
    w.annotate("db", "keyward.dev/rotate", "one").await;
    w.wait_ready("db", 2).await;
    let retired = wait_stage(
        &w,
        1,
        Stage::Deleted,
        "version 1 destroyed",
        Duration::from_secs(60),
    )
    .await;
    let stages = stages_of(&retired);
    assert_eq!(stages, vec![(2, Stage::Current), (1, Stage::Deleted)]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counts = emu.request_counts();
    assert_eq!(
        counts.endpoint_total("DestroySecretVersion"),
        1,
        "{counts:?}"
    );
    let notes: Vec<String> = w
        .events("db")
        .await
        .into_iter()
        .filter_map(|e| e.note)
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with("destroyed version 1")),
        "{notes:?}"
    );
}
