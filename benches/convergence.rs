//! Operator figures on the local control plane with the emulator, the operator running as in
//! production (the `keyward run` binary), side by side with a naive baseline in one run: the
//! same operator with `--naive-provider-access` (every object reads its remote secret and versions
//! itself at every refresh, and no request budget applies), which is where a per-object poller such
//! as External Secrets Operator stands.
//!
//! It runs on the Scaleway, the Thalassa and the OCI emulator and prints a table for each
//! (`BENCH_PROVIDERS=oci`, or a comma-separated list such as `scaleway,oci`, runs those only). OCI's
//! listing carries no current version (`Listing::SecretsOnly`), so there each object reads its
//! secret once per refresh: expect about one call per object per refresh in steady state.
//!
//! `cargo bench --bench convergence` (N from `BENCH_OBJECTS`, default 1000; `BENCH_NAIVE=false`
//! leaves the baseline out). The emulator allows
//! 50 requests per second per key, as Scaleway's gateway announces; the batched store's budget is
//! 45 per second with a burst of 5 (never more than 50 in one second). It prints a table and
//! asserts nothing about speed.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)] // its unit tests import what only the test build uses
mod support;
use support::e2e as e2e_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e_support::{Cloud, World, ready_reason};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use keyward::api::conditions::is_ready;
use keyward::emulator::{CounterSnapshot, FaultSettings};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

/// The emulator's per-key limit (Scaleway's `X-Ratelimit-Limit: 50`).
const PROVIDER_LIMIT: u32 = 50;
/// Refresh interval of every object, so several refreshes fit in a run.
const REFRESH: Duration = Duration::from_secs(60);
/// Objects rotated for the latency figure (all of them when there are fewer).
const ROTATED: usize = 50;

#[derive(Default)]
struct Figures {
    ready_after: Duration,
    applied_after: Duration,
    creation_calls: f64,
    creation_bound: Duration,
    throttled: u64,
    steady_calls: f64,
    steady_writes: f64,
    rotation_p50: Duration,
    rotation_p99: Duration,
    restart_calls: u64,
    rss_kib: u64,
    unrelated_growth_kib: Option<i64>,
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let clouds = providers(std::env::var("BENCH_PROVIDERS").ok().as_deref());
    println!(
        "convergence benchmark: {n} ManagedSecrets, refresh {REFRESH:?}, provider limit {PROVIDER_LIMIT}/s"
    );
    // BENCH_NAIVE=false skips the baseline (for a quick look at Keyward alone).
    let with_naive = std::env::var("BENCH_NAIVE").map_or(true, |v| v != "false");
    let mut tables = Vec::new();
    for cloud in clouds {
        let batched = run(cloud, n, false).await;
        let naive = if with_naive {
            run(cloud, n, true).await
        } else {
            Figures::default()
        };
        tables.push((cloud, batched, naive));
    }
    for (cloud, batched, naive) in &tables {
        print_table(*cloud, n, batched, naive);
    }
    println!(
        "  machine load at the end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}

/// The providers `BENCH_PROVIDERS` names (comma-separated), every one when unset.
fn providers(names: Option<&str>) -> Vec<Cloud> {
    let all = [Cloud::Scaleway, Cloud::Thalassa, Cloud::Oci];
    let Some(names) = names.filter(|n| !n.trim().is_empty()) else {
        return all.to_vec();
    };
    names
        .split(',')
        .map(|name| {
            all.into_iter()
                .find(|c| c.name() == name.trim())
                .unwrap_or_else(|| panic!("BENCH_PROVIDERS: unknown provider {name:?}"))
        })
        .collect()
}

/// One provider's figures, Keyward beside the naive baseline.
fn print_table(cloud: Cloud, n: usize, batched: &Figures, naive: &Figures) {
    let row = |name: &str, a: String, b: String| println!("  {name:<52} {a:>16} {b:>16}");
    println!();
    row(
        &format!("{} emulator", cloud.name()),
        "Keyward".into(),
        "naive baseline".into(),
    );
    let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    row(
        "all Ready after the first apply",
        secs(batched.ready_after),
        secs(naive.ready_after),
    );
    row(
        "  of which applying the N objects",
        secs(batched.applied_after),
        secs(naive.applied_after),
    );
    row(
        "  provider-limit bound (calls needed / limit)",
        secs(batched.creation_bound),
        secs(naive.creation_bound),
    );
    row(
        "provider calls per object at creation",
        format!("{:.2}", batched.creation_calls),
        format!("{:.2}", naive.creation_calls),
    );
    row(
        "429 answers (whole run)",
        batched.throttled.to_string(),
        naive.throttled.to_string(),
    );
    row(
        "steady state: provider calls per object per refresh",
        format!("{:.4}", batched.steady_calls),
        format!("{:.4}", naive.steady_calls),
    );
    row(
        "steady state: Kubernetes writes per refresh",
        format!("{:.1}", batched.steady_writes),
        format!("{:.1}", naive.steady_writes),
    );
    row(
        &format!(
            "rotation request to new revision mirrored, p50 ({})",
            ROTATED.min(n)
        ),
        ms(batched.rotation_p50),
        ms(naive.rotation_p50),
    );
    row("  p99", ms(batched.rotation_p99), ms(naive.rotation_p99));
    row(
        "restart with N synced objects: provider calls (30 s)",
        batched.restart_calls.to_string(),
        naive.restart_calls.to_string(),
    );
    row(
        "operator RSS",
        format!("{:.1} MiB", batched.rss_kib as f64 / 1024.0),
        format!("{:.1} MiB", naive.rss_kib as f64 / 1024.0),
    );
    if let Some(growth) = batched.unrelated_growth_kib {
        row(
            "RSS growth with 2,000 unrelated 100 KiB Secrets",
            format!("{:.1} MiB", growth as f64 / 1024.0),
            "-".into(),
        );
    }
}

async fn run(cloud: Cloud, n: usize, naive: bool) -> Figures {
    let env: &[(&str, &str)] = if naive {
        &[("KEYWARD_NAIVE_PROVIDER_ACCESS", "true")]
    } else {
        &[]
    };
    let prefix = format!(
        "bench-{}-{}",
        cloud.name(),
        if naive { "naive" } else { "keyward" }
    );
    // The world's own store carries the budget: a second store with the same credentials would
    // share the budget of whichever the operator saw first (the provider's default, for `emu`).
    let mut w = World::on_with_store(
        cloud,
        &prefix,
        env,
        json!({"requestBudget": {"requestsPerSecond": PROVIDER_LIMIT - 5, "burst": 5}}),
    )
    .await;
    w.emu
        .set_faults(FaultSettings {
            rate_limit_per_second: Some(PROVIDER_LIMIT),
            ..FaultSettings::none()
        })
        .unwrap();
    let mode = if naive { "naive" } else { "keyward" };
    let mut figures = Figures::default();

    // Creation: N new objects, from apply to every one Ready.
    w.emu.reset_request_counts();
    let start = Instant::now();
    // Applied 16 at a time, as `kubectl apply -f` of a folder or a GitOps tool would: the
    // figure is the operator's, not the speed of one client applying in sequence.
    futures::stream::iter(0..n)
        .for_each_concurrent(16, |i| {
            let w = &w;
            async move {
                w.apply_ms(
                    &format!("app-{i:05}"),
                    json!({"storeRef": {"name": e2e_support::STORE}, "generate": {"length": 32},
                           "refreshInterval": format!("{}s", REFRESH.as_secs())}),
                )
                .await
            }
        })
        .await;
    figures.applied_after = start.elapsed();
    wait_all(&w, n, Duration::from_secs(1800), |ms| {
        ms.status
            .as_ref()
            .is_some_and(|s| is_ready(&s.conditions) && s.current_revision == Some(1))
    })
    .await;
    figures.ready_after = start.elapsed();
    let created = w.emu.request_counts();
    let ok_calls = created.total - throttled(&created);
    figures.creation_calls = ok_calls as f64 / n as f64;
    figures.creation_bound = Duration::from_secs_f64(ok_calls as f64 / f64::from(PROVIDER_LIMIT));
    figures.throttled += throttled(&created);
    print_calls(
        &format!("  [{mode}] provider calls per object at creation"),
        &created,
        n,
    );

    // Steady state over three refresh intervals.
    tokio::time::sleep(REFRESH + Duration::from_secs(2)).await;
    w.emu.reset_request_counts();
    let offset = e2e_support::audit_offset().await;
    tokio::time::sleep(REFRESH * 3).await;
    let steady = w.emu.request_counts();
    figures.throttled += throttled(&steady);
    figures.steady_calls = steady.total as f64 / n as f64 / 3.0;
    figures.steady_writes = e2e_support::writes_since(offset, w.ns()).await.len() as f64 / 3.0;
    print_calls(
        &format!("  [{mode}] provider calls per object in 3 refreshes"),
        &steady,
        n,
    );

    // Rotation latency: request, then watch the target Secret's revision.
    let secrets: Api<Secret> = w.secrets();
    let mut asked = Vec::new();
    for i in 0..ROTATED.min(n) {
        let name = format!("app-{i:05}");
        w.annotate(&name, "keyward.dev/rotate", "bench").await;
        asked.push((name, Instant::now()));
    }
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !asked.is_empty() && Instant::now() < deadline {
        let list = secrets.list(&ListParams::default()).await.unwrap();
        asked.retain(|(name, at)| {
            let rotated = list.items.iter().any(|s| {
                s.metadata.name.as_deref() == Some(name.as_str())
                    && s.metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("keyward.dev/revision"))
                        .is_some_and(|r| r == "2")
            });
            if rotated {
                latencies.push(at.elapsed());
            }
            !rotated
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    figures.rotation_p50 = pick(0.5);
    figures.rotation_p99 = pick(0.99);

    // Restart with N synced objects.
    tokio::time::sleep(Duration::from_secs(5)).await;
    figures.rss_kib = rss_kib(&w);
    w.emu.reset_request_counts();
    w.op.restart(env).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let restarted = w.emu.request_counts();
    figures.throttled += throttled(&restarted);
    figures.restart_calls = restarted.total;
    print_calls(
        &format!("  [{mode}] provider calls per object after a restart"),
        &restarted,
        n,
    );

    if !naive {
        figures.unrelated_growth_kib = Some(unrelated_secrets_growth(&w).await);
    }
    figures
}

/// RSS growth of the operator when 2,000 Secrets of 100 KiB that no ManagedSecret names appear
/// in its namespace.
async fn unrelated_secrets_growth(w: &World) -> i64 {
    let before = rss_kib(w) as i64;
    let api: Api<Secret> = w.secrets();
    let blob = "x".repeat(100 * 1024);
    let body = |i: usize| -> Secret {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("unrelated-{i:04}"), "labels": {"owner": "helm"}},
            "stringData": {"release": blob},
        }))
        .unwrap()
    };
    let mut pending = futures::stream::iter((0..2000).map(|i| {
        let api = api.clone();
        let secret = body(i);
        async move {
            api.create(&PostParams::default(), &secret)
                .await
                .map(|_| ())
        }
    }))
    .buffer_unordered(16);
    while let Some(result) = pending.next().await {
        result.expect("creating an unrelated Secret");
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    let after = rss_kib(w) as i64;
    println!("  [keyward] RSS {before} KiB before 2,000 unrelated Secrets, {after} KiB after");
    after - before
}

fn rss_kib(w: &World) -> u64 {
    let Some(pid) = w.op.pid() else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn throttled(counts: &CounterSnapshot) -> u64 {
    counts
        .requests
        .iter()
        .filter(|e| e.status == 429)
        .map(|e| e.count)
        .sum()
}

/// Polls the namespace until `n` ManagedSecrets satisfy `done`.
async fn wait_all(
    w: &World,
    n: usize,
    timeout: Duration,
    done: impl Fn(&keyward::api::ManagedSecret) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let list = w.ms_api().list(&ListParams::default()).await.expect("list");
        let finished = list.items.iter().filter(|ms| done(ms)).count();
        if finished >= n {
            return;
        }
        if Instant::now() > deadline {
            let stuck: Vec<_> = list
                .items
                .iter()
                .filter(|ms| !done(ms))
                .take(5)
                .map(|ms| (ms.metadata.name.clone(), ready_reason(ms)))
                .collect();
            panic!("{finished}/{n} done after {timeout:?}; e.g. {stuck:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn print_calls(title: &str, counts: &CounterSnapshot, n: usize) {
    let mut by_endpoint: BTreeMap<&str, u64> = BTreeMap::new();
    for entry in &counts.requests {
        *by_endpoint.entry(entry.endpoint.as_str()).or_default() += entry.count;
    }
    let per: Vec<String> = by_endpoint
        .iter()
        .map(|(e, c)| format!("{e} {:.3}", *c as f64 / n as f64))
        .collect();
    println!(
        "{title}: {:.3} in all ({})",
        counts.total as f64 / n as f64,
        per.join(", ")
    );
}
