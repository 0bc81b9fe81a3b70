//! The store runtime end to end: a provider never sees more than its budget (and one throttled
//! store does not hold up another), one sweep per store per refresh replaces per-object polling,
//! and stores report their own health. The operator runs as the `keyward run` binary; the
//! providers are emulators on loopback that count every request.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use keyward::api::{ManagedSecret, SecretStore};
use keyward::emulator::FaultSettings;
use keyward::provider::{NewVersion, SecretId, SecretManager};
use kube::api::{Api, ListParams};
use serde_json::json;

use crate::support::e2e::{self as e2e_support, World, ready_reason, strict_emulator};

fn ready(ms: &ManagedSecret) -> bool {
    ready_reason(ms).as_deref() == Some("True/Synced")
}

/// How many of `names` are Ready now.
async fn ready_count(api: &Api<ManagedSecret>, prefix: &str) -> usize {
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|ms| {
            ms.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with(prefix))
        })
        .filter(|ms| ready(ms))
        .count()
}

/// A provider limited to 5 requests per second, 50 new objects on it: all Ready, no 429, one
/// version each; another store with its own credentials gets its objects Ready meanwhile.
#[tokio::test]
async fn a_provider_limit_is_never_exceeded_and_a_throttled_store_holds_up_no_other() {
    let w = World::new("e2e-budget").await;
    let slow = strict_emulator(
        "slow-token",
        FaultSettings {
            rate_limit_per_second: Some(5),
            ..FaultSettings::none()
        },
    )
    .await;
    let fast = strict_emulator("fast-token", FaultSettings::none()).await;
    // 4 per second with room for 1: never more than 5 in any one-second window.
    w.add_store(
        w.ns(),
        "slow",
        &slow,
        "slow-token",
        json!({"requestBudget": {"requestsPerSecond": 4, "burst": 1}}),
    )
    .await;
    w.add_store(w.ns(), "fast", &fast, "fast-token", json!({}))
        .await;
    let spec = |store: &str| json!({"storeRef": {"name": store}, "generate": {}});
    for i in 0..50 {
        w.apply_ms(&format!("slow-{i}"), spec("slow")).await;
    }
    for i in 0..10 {
        w.apply_ms(&format!("fast-{i}"), spec("fast")).await;
    }
    let api = w.ms_api();
    let started = Instant::now();
    let mut slow_ready_when_fast_done = None;
    loop {
        let (slow_ready, fast_ready) = (
            ready_count(&api, "slow-").await,
            ready_count(&api, "fast-").await,
        );
        if fast_ready == 10 && slow_ready_when_fast_done.is_none() {
            slow_ready_when_fast_done = Some((slow_ready, started.elapsed()));
        }
        if slow_ready == 50 && fast_ready == 10 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "not all Ready: slow {slow_ready}/50, fast {fast_ready}/10\n--- operator log tail ---\n{}",
            e2e_support::tail(&w.op.log_text(), 20)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all_ready = started.elapsed();
    let counts = slow.request_counts();
    let refused: u64 = counts
        .requests
        .iter()
        .filter(|e| e.status == 429)
        .map(|e| e.count)
        .sum();
    let (slow_then, fast_took) = slow_ready_when_fast_done.unwrap();
    eprintln!(
        "slow store: {} requests for 50 objects ({:.2} per object), {refused} answered 429, all Ready after {all_ready:?}; \
         fast store: its 10 objects Ready after {fast_took:?}, when {slow_then} of the 50 slow ones were",
        counts.total,
        counts.total as f64 / 50.0
    );
    assert_eq!(refused, 0, "the budget kept below the provider's limit");
    assert!(
        slow_then < 25,
        "the fast store finished while most slow objects still waited their turn ({slow_then} of 50 Ready)"
    );
    let client = e2e_support::emulator_client_with(&slow.base_url(), "slow-token");
    let secrets = client.list_all_secrets().await.unwrap();
    assert_eq!(secrets.len(), 50);
    for secret in secrets {
        assert_eq!(
            secret.version_count,
            Some(1),
            "{}: exactly one version",
            secret.name
        );
    }
}

/// Two hundred objects refreshing every 10 s: the steady state costs the provider one listing
/// per refresh for all of them (at most 0.02 calls per object per refresh), and a version made
/// in the Secret Manager directly is still mirrored within a refresh interval.
#[tokio::test]
async fn a_version_made_elsewhere_is_found_by_the_sweep_while_steady_state_costs_almost_nothing() {
    const N: usize = 200;
    let w = World::new("e2e-sweep").await;
    for i in 0..N {
        w.apply_ms(
            &format!("db-{i}"),
            json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}, "refreshInterval": "10s"}),
        )
        .await;
    }
    let api = w.ms_api();
    let started = Instant::now();
    while ready_count(&api, "db-").await < N {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "not all Ready"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let creation_calls = w.emu.request_count();
    tokio::time::sleep(Duration::from_secs(12)).await;
    w.emu.reset_request_counts();
    let offset = e2e_support::audit_offset().await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let steady = w.emu.request_counts();
    let per_object_per_refresh = steady.total as f64 / N as f64 / 3.0;
    let writes = e2e_support::writes_since(offset, w.ns()).await;
    eprintln!(
        "{N} objects: {creation_calls} provider calls to create ({:.2} per object); steady state: {} calls in 3 refresh intervals ({per_object_per_refresh:.4} per object per refresh), {} Kubernetes writes",
        creation_calls as f64 / N as f64,
        steady.total,
        writes.len()
    );
    assert!(per_object_per_refresh <= 0.02, "{steady:?}");
    assert!(writes.is_empty(), "{writes:?}");

    // A version made in the console: the next sweep sees the version count move and wakes
    // exactly its object.
    let id = w.secret_id("db-7").await;
    w.remote
        .create_version(
            &SecretId::new(&id),
            &NewVersion {
                value: "made-in-the-console".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    w.wait_revision("db-7", 2, "revision 2 mirrored", Duration::from_secs(30))
        .await;
    assert_eq!(
        w.secret_data("db-7").await.unwrap()["value"],
        b"made-in-the-console"
    );
}

/// A store whose credential the provider refuses is Ready=False with AuthFailed (the READY
/// and REASON columns show it), its objects say so without each calling the provider in a loop,
/// and fixing the credential brings them back.
#[tokio::test]
async fn a_store_with_a_wrong_credential_says_so_and_its_objects_do_not_call_in_a_loop() {
    let w = World::new("e2e-store-health").await;
    let provider = strict_emulator("right-token", FaultSettings::none()).await;
    w.add_store(w.ns(), "wrong", &provider, "wrong-token", json!({}))
        .await;
    for i in 0..5 {
        w.apply_ms(
            &format!("app-{i}"),
            json!({"storeRef": {"name": "wrong"}, "generate": {}}),
        )
        .await;
    }
    for i in 0..5 {
        w.wait_reason(&format!("app-{i}"), "AuthFailed").await;
    }
    let stores: Api<SecretStore> = Api::namespaced(w.client.clone(), w.ns());
    let started = Instant::now();
    let condition = |store: &SecretStore| {
        store.status.as_ref().and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .map(|c| format!("{}/{}", c.status, c.reason))
        })
    };
    loop {
        let wrong = stores.get("wrong").await.unwrap();
        let emu = stores.get(e2e_support::STORE).await.unwrap();
        if condition(&wrong).as_deref() == Some("False/AuthFailed")
            && condition(&emu).as_deref() == Some("True/Valid")
        {
            assert_eq!(
                wrong.status.as_ref().unwrap().observed_generation,
                wrong.metadata.generation
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "store conditions: {:?} {:?}",
            condition(&wrong),
            condition(&emu)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let table = kubectl_get_stores(w.ns()).await;
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} in:\n{table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        &row("wrong")[1..4],
        ["scaleway", "False", "AuthFailed"],
        "{table}"
    );
    assert_eq!(
        &row(e2e_support::STORE)[1..4],
        ["scaleway", "True", "Valid"],
        "{table}"
    );

    provider.reset_request_counts();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let calls = provider.request_count();
    eprintln!("five objects on a store with a refused credential: {calls} provider calls in 60 s");
    assert!(
        calls <= 6,
        "{calls} calls in a minute: only the store's probes"
    );

    // Fixed: the credentials Secret changes, and the objects using it follow.
    w.apply(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wrong-creds"},
                   "stringData": {"SCW_SECRET_KEY": "right-token"}}),
    )
    .await;
    for i in 0..5 {
        w.wait_ready(&format!("app-{i}"), 1).await;
    }
    let secrets: Api<Secret> = Api::namespaced(w.client.clone(), w.ns());
    assert!(secrets.get_opt("app-0").await.unwrap().is_some());
}

async fn kubectl_get_stores(ns: &str) -> String {
    let kubeconfig = crate::support::controlplane::kubeconfig_path().await;
    let out = std::process::Command::new("kubectl")
        .args(["get", "secretstores", "-n", ns])
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("running kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
