//! Operator figures on the local control plane with the emulator, the operator running as in
//! production (the `keyward run` binary): convergence time for N new ManagedSecrets, reconcile
//! throughput for N forced refreshes, provider API calls per object, and the operator's memory.
//!
//! `cargo bench --bench convergence` (N from `BENCH_OBJECTS`, default 100). It prints figures and
//! asserts nothing about speed.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)] // its unit tests import what only the test build uses
mod support;
use support::e2e as e2e_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e_support::{World, ready_reason};
use keyward::api::conditions::is_ready;
use kube::api::ListParams;
use serde_json::json;

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let w = World::new("bench-converge").await;
    println!(
        "convergence benchmark: {n} ManagedSecrets (generated values), namespace {}",
        w.ns()
    );

    // Phase 1: N new objects, from apply to every one Ready.
    w.emu.reset_request_counts();
    let start = Instant::now();
    for i in 0..n {
        w.apply_ms(
            &format!("app-{i:04}"),
            json!({"storeRef": {"name": e2e_support::STORE}, "generate": {"length": 32}, "refreshInterval": "1h"}),
        )
        .await;
    }
    let applied = start.elapsed();
    wait_all(&w, n, Duration::from_secs(600), |ms| {
        ms.status
            .as_ref()
            .is_some_and(|s| is_ready(&s.conditions) && s.current_revision == Some(1))
    })
    .await;
    let converged = start.elapsed();
    let created = w.emu.request_counts();
    println!(
        "  create: applied in {:.2}s, all Ready in {:.2}s ({:.1} objects/s, {:.1} ms/object)",
        applied.as_secs_f64(),
        converged.as_secs_f64(),
        n as f64 / converged.as_secs_f64(),
        converged.as_secs_f64() * 1000.0 / n as f64
    );
    print_calls("  provider calls per object (create)", &created, n);

    // Phase 2: a forced refresh of every object (a steady-state reconcile each).
    w.emu.reset_request_counts();
    let token = "bench-1";
    let start = Instant::now();
    for i in 0..n {
        w.annotate(&format!("app-{i:04}"), "keyward.dev/force-sync", token)
            .await;
    }
    wait_all(&w, n, Duration::from_secs(600), |ms| {
        ms.status
            .as_ref()
            .is_some_and(|s| s.handled_force_sync.as_deref() == Some(token))
    })
    .await;
    let refreshed = start.elapsed();
    let refresh_calls = w.emu.request_counts();
    println!(
        "  refresh: {n} forced refreshes in {:.2}s ({:.1} reconciles/s)",
        refreshed.as_secs_f64(),
        n as f64 / refreshed.as_secs_f64()
    );
    print_calls("  provider calls per object (refresh)", &refresh_calls, n);

    if let Some(pid) = w.op.pid() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| l[name.len()..].trim().to_owned())
                .unwrap_or_else(|| "?".into())
        };
        println!(
            "  operator memory: RSS {} (peak {}) with {n} objects",
            field("VmRSS:"),
            field("VmHWM:")
        );
    }
    println!(
        "  machine load while measuring: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
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
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn print_calls(title: &str, counts: &keyward::emulator::CounterSnapshot, n: usize) {
    let mut by_endpoint: BTreeMap<&str, u64> = BTreeMap::new();
    for entry in &counts.requests {
        *by_endpoint.entry(entry.endpoint.as_str()).or_default() += entry.count;
    }
    let per: Vec<String> = by_endpoint
        .iter()
        .map(|(e, c)| format!("{e} {:.2}", *c as f64 / n as f64))
        .collect();
    println!(
        "{title}: {:.2} in all ({})",
        counts.total as f64 / n as f64,
        per.join(", ")
    );
}
