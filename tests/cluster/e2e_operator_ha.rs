//! Two operators (`keyward run` child processes, leader election on, short lease timings) against
//! one control plane and one emulator: only the leader reconciles; SIGKILL the leader right after a
//! rotation is requested and the other takes over, and the rotation yields exactly one new version.
//! Then the survivor's `/metrics` shows provider calls by operation and status.
//!
//! Assertions are about the order of events (who logged what), with generous timeouts; the
//! handover time is printed (`--nocapture`) as a measurement and only bounded loosely.

use crate::support::e2e as e2e_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;

use e2e_support::{Operator, World, tail};

const LEASE_DURATION: Duration = Duration::from_secs(4);
const RETRY_PERIOD: Duration = Duration::from_millis(500);

fn election_env<'a>(ns: &'a str, identity: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("KEYWARD_LEADER_ELECTION", "true"),
        ("POD_NAMESPACE", ns),
        ("POD_NAME", identity),
        ("KEYWARD_LEADER_ELECTION_LEASE_DURATION", "4s"),
        ("KEYWARD_LEADER_ELECTION_RENEW_DEADLINE", "3s"),
        ("KEYWARD_LEADER_ELECTION_RETRY_PERIOD", "500ms"),
    ]
}

/// Log lines of one reconcile decision (the controller logs one per reconcile).
fn reconcile_lines(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(r#""message":"planned""#))
        .count()
}

fn became_leader(log: &str) -> bool {
    log.contains(r#""message":"became leader""#)
}

async fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check() {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} not within {timeout:?}");
}

/// The sum of `keyward_reconciles_total` over its outcomes (0 when no series exists yet).
async fn reconciles_counted(log: &str) -> f64 {
    Operator::scrape(log)
        .await
        .lines()
        .filter(|l| l.starts_with("keyward_reconciles_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn only_the_leader_reconciles_and_a_killed_leader_hands_over_without_duplicate_versions() {
    let mut w = World::new("e2e-ha").await;
    let ns = w.ns().to_owned();
    // The World's operator runs without election; it becomes candidate "a".
    w.op.restart(&election_env(&ns, "ha-a")).await;
    let mut b = Operator::start(
        &ns,
        w.dir.path().join("operator-b.log"),
        &election_env(&ns, "ha-b"),
    )
    .await;

    wait_for("a leader", Duration::from_secs(60), || {
        became_leader(&w.op.log_text()) || became_leader(&b.log_text())
    })
    .await;
    let a_leads = became_leader(&w.op.log_text());

    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {"length": 24}, "refreshInterval": "10s"}),
    )
    .await;
    let id = w.ready_id("db", 1).await;

    // Only the leader reconciled; the other never even started its controller.
    let (leader_log, follower_log) = if a_leads {
        (w.op.log_text(), b.log_text())
    } else {
        (b.log_text(), w.op.log_text())
    };
    assert!(
        reconcile_lines(&leader_log) > 0,
        "{}",
        tail(&leader_log, 20)
    );
    assert!(
        !became_leader(&follower_log) && reconcile_lines(&follower_log) == 0,
        "the follower reconciled:\n{}",
        tail(&follower_log, 20)
    );

    // The metrics agree: reconciles are counted by the leader only.
    let leader_reconciles = reconciles_counted(&leader_log).await;
    let follower_reconciles = reconciles_counted(&follower_log).await;
    assert!(
        leader_reconciles > 0.0,
        "leader counted {leader_reconciles}"
    );
    assert_eq!(follower_reconciles, 0.0, "the follower counted reconciles");

    // Request a rotation and kill the leader right away: whichever of the two performs it, there
    // is exactly one new version.
    w.annotate("db", "keyward.dev/rotate", "ha-1").await;
    let killed = Instant::now();
    let (survivor, survivor_name) = if a_leads {
        w.op.kill();
        (&b, "ha-b")
    } else {
        b.kill();
        (&w.op, "ha-a")
    };
    wait_for("the takeover", LEASE_DURATION + RETRY_PERIOD * 40, || {
        became_leader(&survivor.log_text())
    })
    .await;
    let handover = killed.elapsed();
    eprintln!(
        "measured: {survivor_name} became leader {handover:?} after the leader was killed \
         (lease {LEASE_DURATION:?}, retry {RETRY_PERIOD:?})"
    );
    let ms = w.wait_ready("db", 2).await;
    assert_eq!(
        ms.status
            .as_ref()
            .unwrap()
            .handled_rotate_request
            .as_deref(),
        Some("ha-1")
    );
    // Later reconciles by the new leader do not rotate again.
    w.assert_version_count_stays(&id, 2, Duration::from_secs(3), "exactly one new version")
        .await;

    // The survivor rotates again and creates a second secret, then its metrics are scraped.
    w.annotate("db", "keyward.dev/rotate", "ha-2").await;
    w.wait_ready("db", 3).await;
    w.apply_ms(
        "db2",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {"length": 24}}),
    )
    .await;
    w.wait_ready("db2", 1).await;
    assert_eq!(w.versions(&id).await.len(), 3);

    let text = survivor.metrics().await;
    let calls: BTreeSet<(String, String)> = text
        .lines()
        .filter(|l| l.starts_with("keyward_provider_calls_total{"))
        .filter_map(|l| {
            let label = |name: &str| {
                let start = l.find(&format!("{name}=\""))? + name.len() + 2;
                let end = l[start..].find('"')? + start;
                Some(l[start..end].to_owned())
            };
            Some((label("operation")?, label("status")?))
        })
        .collect();
    eprintln!("survivor's provider calls (operation, status): {calls:?}");
    for operation in [
        "create_secret",
        "create_version",
        // The sweep: one listing of the store serves every object's lookup.
        "list_secrets",
        "list_versions",
    ] {
        assert!(
            calls.contains(&(operation.to_owned(), "ok".to_owned())),
            "no {operation} with status ok in:\n{text}"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("keyward_leader") && l.trim_end().ends_with(" 1")),
        "the survivor reports itself leader:\n{text}"
    );
}
