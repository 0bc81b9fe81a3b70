//! Emulator throughput: 10,000 secrets stored, then GET secret as fast as a concurrent keep-alive client
//! can ask, on loopback. Prints requests/s, p50/p99 latency and the emulator's RSS.
//!
//! Run: `cargo bench --bench emulator` (env: `BENCH_SECONDS`, default 5; `BENCH_CONNECTIONS`, default 64).
//! The emulator runs as a child process (the release `keyward` binary) so that its RSS and CPU are its
//! own; the client shares the same machine, so the figure is a floor for the server.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECRETS: usize = 10_000;
const PROJECT: &str = "105bdce1-64c0-48ab-899d-868455867ecf";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 5);
    let connections = env_or("BENCH_CONNECTIONS", 64) as usize;
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the keyward binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    let api = format!("{base}/secret-manager/v1beta1/regions/fr-par");
    let pid = child.id();
    let rss_idle = rss_kib(pid);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(connections).build().unwrap();

        // Seed 10k secrets (each with one version) through the API, 32 at a time.
        let seed_start = Instant::now();
        let mut ids = Vec::with_capacity(SECRETS);
        for chunk in (0..SECRETS).collect::<Vec<_>>().chunks(32) {
            let futs = chunk.iter().map(|n| {
                let client = client.clone();
                let api = api.clone();
                async move {
                    let body = json!({"project_id": PROJECT, "name": format!("bench-{n:05}"), "tags": ["bench"], "type": "opaque", "path": "/bench"});
                    let v: Value = client.post(format!("{api}/secrets")).header("X-Auth-Token", "bench").json(&body).send().await.unwrap().json().await.unwrap();
                    let id = v["id"].as_str().unwrap().to_string();
                    let r = client.post(format!("{api}/secrets/{id}/versions")).header("X-Auth-Token", "bench").json(&json!({"data": "YmVuY2g="})).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    id
                }
            });
            ids.extend(futures::future::join_all(futs).await);
        }
        let seed_time = seed_start.elapsed();
        let rss_seeded = rss_kib(pid);
        let _ = client.delete(format!("{base}/emulator/metrics")).send().await;

        // Measure.
        let ids = Arc::new(ids);
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let workers: Vec<_> = (0..connections)
            .map(|w| {
                let (client, api, ids, stop) = (client.clone(), api.clone(), ids.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut latencies: Vec<u32> = Vec::with_capacity(200_000);
                    let mut errors = 0u64;
                    let mut i = w.wrapping_mul(7919);
                    while !stop.load(Ordering::Relaxed) {
                        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        let id = &ids[i % ids.len()];
                        let t = Instant::now();
                        match client.get(format!("{api}/secrets/{id}")).header("X-Auth-Token", "bench").send().await {
                            Ok(r) if r.status() == 200 => {
                                let _ = r.bytes().await;
                                latencies.push(t.elapsed().as_micros() as u32);
                            }
                            _ => errors += 1,
                        }
                    }
                    (latencies, errors)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        let mut errors = 0;
        for w in workers {
            let (l, e) = w.await.unwrap();
            latencies.extend(l);
            errors += e;
        }
        let elapsed = started.elapsed();
        let counted: Value = client.get(format!("{base}/emulator/metrics")).send().await.unwrap().json().await.unwrap();
        let server_count: u64 = counted["requests"].as_array().unwrap().iter()
            .filter(|e| e["endpoint"] == "GetSecret" && e["status"] == 200)
            .map(|e| e["count"].as_u64().unwrap())
            .sum();
        (latencies, errors, elapsed, seed_time, rss_seeded, server_count)
    });
    let (mut latencies, errors, elapsed, seed_time, rss_seeded, server_count) = result;
    let rss_after = rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();

    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let rps = latencies.len() as f64 / elapsed.as_secs_f64();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "emulator benchmark: GET secret, {SECRETS} secrets stored, {connections} keep-alive connections, {seconds} s"
    );
    println!(
        "  seeding: {SECRETS} secrets + {SECRETS} versions in {:.2} s",
        seed_time.as_secs_f64()
    );
    println!(
        "  throughput: {rps:.0} req/s ({} ok, {errors} errors; server counted {server_count})",
        latencies.len()
    );
    println!(
        "  latency: p50 {} us, p99 {} us, max {} us",
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or(0)
    );
    println!(
        "  emulator RSS: idle {} KiB, seeded {} KiB, after run {} KiB",
        rss_idle, rss_seeded, rss_after
    );
    println!("  load average before exit: {}", load.trim());
    println!(
        "  target >= 20000 req/s: {}",
        if rps >= 20_000.0 { "met" } else { "NOT met" }
    );
}
