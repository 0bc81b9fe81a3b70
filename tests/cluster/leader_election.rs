//! Leader election (`keyward::leader`) against the real local control plane: real Leases,
//! real resourceVersion conflicts, real MicroTime round trips.
//!
//! Timings are short (lease 4 s, renew deadline 3 s, retry 0.5 s) so the suite is quick, but no
//! assertion depends on how fast the machine is: the tests assert the order of events (never two
//! leaders, release before takeover, takeover only after expiry) with generous timeouts. The
//! handover times are printed (`--nocapture`) as measurements, not asserted as upper bounds.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use keyward::leader::{LeaderElector, LeaderHandle, LeaseConfig, LeaseTiming};
use keyward::telemetry::Metrics;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use support::controlplane::{self, TestNamespace};
use tokio::sync::watch;

const LEASE: &str = "keyward-leader";
/// Generous bound for anything that should happen within a few retry periods.
const WAIT: Duration = Duration::from_secs(30);
/// Sampling interval of the "never two leaders" checks.
const SAMPLE: Duration = Duration::from_millis(25);

fn timing() -> LeaseTiming {
    LeaseTiming {
        // A leader steps down when one renewal (a GET and a PUT on loopback) takes longer than
        // the renew deadline; 3 s leaves room for a loaded machine and a slow etcd fsync.
        lease_duration: Duration::from_secs(4),
        renew_deadline: Duration::from_secs(3),
        retry_period: Duration::from_millis(500),
    }
}

fn config(namespace: &str, identity: &str) -> LeaseConfig {
    LeaseConfig {
        namespace: namespace.to_owned(),
        lease_name: LEASE.to_owned(),
        identity: identity.to_owned(),
        timing: timing(),
    }
}

/// An elector spawned on the calling test's runtime.
fn elector(client: &Client, namespace: &str, identity: &str, metrics: &Metrics) -> LeaderHandle {
    LeaderElector::new(client.clone(), config(namespace, identity))
        .expect("valid timing")
        .spawn(metrics.clone())
}

/// An elector on a runtime of its own, on its own thread, so it can "crash": [`Crashable::crash`]
/// drops that runtime, which drops the election task wherever it is (mid-request or asleep)
/// without running its release, like a killed process.
struct Crashable {
    leading: watch::Receiver<bool>,
    crash: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Crashable {
    fn spawn(namespace: &str, identity: &str) -> Self {
        let config = config(namespace, identity);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (crash_tx, crash_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                // The client's connections must belong to this runtime.
                let client = controlplane::client().await;
                let handle = LeaderElector::new(client, config)
                    .expect("valid timing")
                    .spawn(Metrics::new());
                ready_tx.send(handle.subscribe()).expect("test is waiting");
                let _ = crash_rx.await;
                // Dropping the handle neither cancels nor releases; the runtime drop below
                // kills the task.
                drop(handle);
            });
            drop(runtime);
        });
        let leading = ready_rx.recv().expect("crashable elector started");
        Self {
            leading,
            crash: Some(crash_tx),
            thread: Some(thread),
        }
    }

    fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Kills the elector and waits until its runtime is gone.
    fn crash(&mut self) {
        if let Some(crash) = self.crash.take() {
            let _ = crash.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("crashable elector thread");
        }
    }
}

impl Drop for Crashable {
    fn drop(&mut self) {
        self.crash();
    }
}

/// One observed state of the Lease, in the order the watch delivered them.
#[derive(Clone, Debug)]
struct Seen {
    holder: Option<String>,
    transitions: i32,
    spec: LeaseSpec,
}

/// Every state of the Lease seen through a watch, from the start of the test.
struct LeaseHistory {
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LeaseHistory {
    fn start(client: &Client, namespace: &str) -> Self {
        let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let task = tokio::spawn(async move {
            let config = watcher::Config::default().fields(&format!("metadata.name={LEASE}"));
            let stream = watcher(api, config).applied_objects();
            let mut stream = std::pin::pin!(stream);
            while let Ok(Some(lease)) = stream.try_next().await {
                let spec = lease.spec.unwrap_or_default();
                let mut seen = sink.lock().unwrap();
                // A re-list after a watch restart repeats the current state: keep changes only.
                if seen.last().is_some_and(|last: &Seen| last.spec == spec) {
                    continue;
                }
                seen.push(Seen {
                    holder: spec.holder_identity.clone().filter(|h| !h.is_empty()),
                    transitions: spec.lease_transitions.unwrap_or(0),
                    spec,
                });
            }
        });
        Self { seen, task }
    }

    fn snapshot(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until the watch has delivered a state matching `pick`.
    async fn wait_for(&self, what: &str, pick: impl Fn(&Seen) -> bool) -> Seen {
        self.wait_until(what, |seen| seen.iter().rev().find(|s| pick(s)).cloned())
            .await
    }

    /// Waits until `pick` finds something in the states delivered so far (the watch may lag
    /// behind what an elector already knows).
    async fn wait_until<T>(&self, what: &str, pick: impl Fn(&[Seen]) -> Option<T>) -> T {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(found) = pick(&self.snapshot()) {
                    return found;
                }
                tokio::time::sleep(SAMPLE).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the Lease never showed {what}: {:#?}", self.snapshot()))
    }
}

impl Drop for LeaseHistory {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Samples `leaders` (one closure per elector) every [`SAMPLE`] until `done` returns true,
/// panicking if two ever lead at once or `done` stays false for [`WAIT`] (saying `what` was
/// awaited). Returns how many samples were taken.
async fn never_two_leaders(
    what: &str,
    leaders: &[(&str, &dyn Fn() -> bool)],
    mut done: impl FnMut(&[&str]) -> bool,
) -> usize {
    let mut samples = 0;
    tokio::time::timeout(WAIT, async {
        loop {
            let leading: Vec<&str> = leaders
                .iter()
                .filter(|(_, is_leader)| is_leader())
                .map(|(name, _)| *name)
                .collect();
            assert!(leading.len() <= 1, "two leaders at once: {leading:?}");
            samples += 1;
            if done(&leading) {
                return;
            }
            tokio::time::sleep(SAMPLE).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not within {WAIT:?}"));
    samples
}

/// Samples two electors until one of them leads (never both at once); returns its name.
async fn first_leader<'a>(electors: [(&'a str, &LeaderHandle); 2]) -> &'a str {
    let [(name_a, a), (name_b, b)] = electors;
    let mut first = None;
    never_two_leaders(
        "a first leader",
        &[(name_a, &|| a.is_leader()), (name_b, &|| b.is_leader())],
        |leading| {
            first = leading
                .first()
                .map(|l| if *l == name_a { name_a } else { name_b });
            first.is_some()
        },
    )
    .await;
    first.expect("a leader")
}

/// Waits until the elector behind `leading` reports `want` (leading or not).
async fn wait_leading(leading: &mut watch::Receiver<bool>, want: bool, what: &str) {
    tokio::time::timeout(WAIT, leading.wait_for(|l| *l == want))
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {WAIT:?}"))
        .expect("the elector's state channel is open");
}

fn micros(spec: &LeaseSpec, field: &str) -> jiff::Timestamp {
    let time = match field {
        "renewTime" => spec.renew_time.as_ref(),
        "acquireTime" => spec.acquire_time.as_ref(),
        _ => unreachable!(),
    };
    time.unwrap_or_else(|| panic!("{field} missing in {spec:?}"))
        .0
}

async fn lease_spec(client: &Client, namespace: &str) -> LeaseSpec {
    Api::<Lease>::namespaced(client.clone(), namespace)
        .get(LEASE)
        .await
        .expect("the Lease exists")
        .spec
        .unwrap_or_default()
}

#[tokio::test]
async fn two_electors_never_lead_together_and_a_released_lease_is_taken_at_once() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "leader-release").await;
    let history = LeaseHistory::start(&client, ns.name());
    let (metrics_a, metrics_b) = (Metrics::new(), Metrics::new());
    // Both start together with no Lease: their creates race, one gets 409 AlreadyExists.
    let a = elector(&client, ns.name(), "elector-a", &metrics_a);
    let b = elector(&client, ns.name(), "elector-b", &metrics_b);

    let first = first_leader([("elector-a", &a), ("elector-b", &b)])
        .await
        .to_owned();
    let (leader, follower, follower_name) = if first == "elector-a" {
        (a, b, "elector-b")
    } else {
        (b, a, "elector-a")
    };
    let acquired = history
        .wait_for("the first holder", |s| s.holder.as_deref() == Some(&first))
        .await;
    let leader_metrics = if first == "elector-a" {
        &metrics_a
    } else {
        &metrics_b
    };
    assert!(
        leader_metrics
            .encode()
            .lines()
            .any(|l| l.starts_with("keyward_leader ") && l.ends_with(" 1")),
        "leader gauge not set:\n{}",
        leader_metrics.encode()
    );

    // Steady state for longer than a lease: the same leader renews, the follower waits.
    let steady_until = Instant::now() + timing().lease_duration + Duration::from_secs(1);
    let samples = never_two_leaders(
        "a lease's time of steady renewals",
        &[
            (first.as_str(), &|| leader.is_leader()),
            (follower_name, &|| follower.is_leader()),
        ],
        |leading| {
            assert_eq!(leading, [first.as_str()], "leadership moved while renewing");
            Instant::now() >= steady_until
        },
    )
    .await;
    let renewed = lease_spec(&client, ns.name()).await;
    assert_eq!(renewed.holder_identity.as_deref(), Some(first.as_str()));
    assert_eq!(renewed.lease_transitions, Some(acquired.transitions));
    assert_eq!(
        renewed.lease_duration_seconds,
        Some(timing().lease_duration.as_secs() as i32)
    );
    assert_eq!(
        micros(&renewed, "acquireTime"),
        micros(&acquired.spec, "acquireTime"),
        "renewals keep acquireTime"
    );
    assert!(
        micros(&renewed, "renewTime") > micros(&acquired.spec, "renewTime"),
        "renewals advance renewTime"
    );

    // Stop the leader: it steps down, then releases; the follower takes over at its next try.
    let stopping = Instant::now();
    leader.stop().await;
    let released_after = stopping.elapsed();
    let released = lease_spec(&client, ns.name()).await;
    assert_eq!(released.holder_identity, None, "stop() releases the Lease");
    let samples_handover = never_two_leaders(
        "the follower leads",
        &[(follower_name, &|| follower.is_leader())],
        |l| !l.is_empty(),
    )
    .await;
    let handover = stopping.elapsed();
    let taken = history
        .wait_for("the follower as holder", |s| {
            s.holder.as_deref() == Some(follower_name)
        })
        .await;
    assert_eq!(taken.transitions, acquired.transitions + 1);

    // The order on the Lease: first holder, then no holder (release), then the follower.
    let holders: Vec<Option<String>> = history.snapshot().into_iter().map(|s| s.holder).collect();
    let mut compact = holders.clone();
    compact.dedup();
    assert_eq!(
        compact,
        [Some(first.clone()), None, Some(follower_name.to_owned())],
        "{holders:?}"
    );
    eprintln!(
        "measured: release took {released_after:?}; follower led {handover:?} after stop() \
         began ({samples} + {samples_handover} samples, never two leaders)"
    );
    follower.stop().await;
}

#[tokio::test]
async fn a_crashed_leader_is_replaced_only_after_its_lease_expires() {
    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "leader-crash").await;
    let history = LeaseHistory::start(&client, ns.name());

    let mut crashing = Crashable::spawn(ns.name(), "elector-crashing");
    never_two_leaders(
        "the first elector leads",
        &[("elector-crashing", &|| crashing.is_leader())],
        |l| !l.is_empty(),
    )
    .await;
    let metrics = Metrics::new();
    let survivor = elector(&client, ns.name(), "elector-survivor", &metrics);

    // While the first one renews, the survivor only waits (for longer than a lease).
    let steady_until = Instant::now() + timing().lease_duration + Duration::from_secs(1);
    never_two_leaders(
        "a lease's time of steady renewals",
        &[
            ("elector-crashing", &|| crashing.is_leader()),
            ("elector-survivor", &|| survivor.is_leader()),
        ],
        |leading| {
            assert_eq!(leading, ["elector-crashing"]);
            Instant::now() >= steady_until
        },
    )
    .await;

    let crashed_at = Instant::now();
    crashing.crash();
    never_two_leaders(
        "the survivor takes over once the lease expires",
        &[("elector-survivor", &|| survivor.is_leader())],
        |l| !l.is_empty(),
    )
    .await;
    let handover = crashed_at.elapsed();

    let (history_now, takeover_index) = history
        .wait_until("the survivor as holder", |seen| {
            let at = seen
                .iter()
                .position(|s| s.holder.as_deref() == Some("elector-survivor"))?;
            Some((seen.to_vec(), at))
        })
        .await;
    // Nobody released: the crashed holder's last renewal is followed directly by the takeover.
    let before = &history_now[takeover_index - 1];
    assert_eq!(before.holder.as_deref(), Some("elector-crashing"));
    let taken = &history_now[takeover_index];
    assert_eq!(taken.transitions, before.transitions + 1);
    // The takeover waited out the lease: the survivor acquired at least leaseDurationSeconds
    // after the crashed holder's last renewTime (both written by this machine's clock).
    let waited =
        micros(&taken.spec, "acquireTime").duration_since(micros(&before.spec, "renewTime"));
    assert!(
        waited >= jiff::SignedDuration::try_from(timing().lease_duration).unwrap(),
        "taken over {waited:?} after the last renewal, before the lease expired"
    );
    let stored = lease_spec(&client, ns.name()).await;
    assert_eq!(stored.holder_identity.as_deref(), Some("elector-survivor"));
    assert_eq!(stored.lease_transitions, Some(taken.transitions));
    eprintln!(
        "measured: survivor led {handover:?} after the crash; acquireTime - last renewTime = {waited:?}"
    );
    survivor.stop().await;
}

/// Another party (a replica with other settings, or an operator by hand) writes itself into the
/// Lease: the leader must notice at its next renewal, step down, and honour the other holder's
/// `leaseDurationSeconds` (not its own) before taking the Lease back.
#[tokio::test]
async fn a_leader_steps_down_when_another_holder_writes_the_lease() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::api::PostParams;

    let client = controlplane::client().await;
    let ns = TestNamespace::new(&client, "leader-intruder").await;
    let history = LeaseHistory::start(&client, ns.name());
    let metrics = Metrics::new();
    let leader = elector(&client, ns.name(), "elector-a", &metrics);
    let mut leading = leader.subscribe();
    wait_leading(&mut leading, true, "the elector leads").await;

    // A compare-and-swap write, retried while it races the leader's renewals (409 Conflict).
    let api: Api<Lease> = Api::namespaced(client.clone(), ns.name());
    let intruder_duration = 4;
    let intruded_at = Instant::now();
    let mut conflicts = 0;
    loop {
        let mut lease = api.get(LEASE).await.unwrap();
        let spec = lease.spec.get_or_insert_with(Default::default);
        let now = MicroTime(jiff::Timestamp::now());
        spec.holder_identity = Some("intruder".into());
        spec.lease_duration_seconds = Some(intruder_duration);
        spec.acquire_time = Some(now.clone());
        spec.renew_time = Some(now);
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        match api.replace(LEASE, &PostParams::default(), &lease).await {
            Ok(_) => break,
            Err(kube::Error::Api(status)) if status.code == 409 => conflicts += 1,
            Err(error) => panic!("writing the Lease: {error}"),
        }
    }
    wait_leading(&mut leading, false, "the elector steps down").await;
    let stepped_down = intruded_at.elapsed();
    assert!(
        metrics
            .encode()
            .lines()
            .any(|l| l.starts_with("keyward_leader ") && l.ends_with(" 0")),
        "leader gauge still set"
    );

    wait_leading(
        &mut leading,
        true,
        "the elector takes the Lease back once the intruder's lease expired",
    )
    .await;
    let retaken = intruded_at.elapsed();

    let (seen, intruder) = history
        .wait_until("a holder after the intruder", |seen| {
            let intruder = seen
                .iter()
                .position(|s| s.holder.as_deref() == Some("intruder"))?;
            seen[intruder + 1..]
                .iter()
                .any(|s| s.holder.is_some())
                .then(|| (seen.to_vec(), intruder))
        })
        .await;
    let back = seen[intruder + 1..]
        .iter()
        .find(|s| s.holder.is_some())
        .unwrap();
    assert_eq!(back.holder.as_deref(), Some("elector-a"), "{seen:#?}");
    // While the intruder held a valid lease, nobody wrote the Lease.
    assert_eq!(
        seen[intruder + 1].holder.as_deref(),
        Some("elector-a"),
        "{seen:#?}"
    );
    assert_eq!(back.transitions, seen[intruder].transitions + 1);
    let waited =
        micros(&back.spec, "acquireTime").duration_since(micros(&seen[intruder].spec, "renewTime"));
    assert!(
        waited >= jiff::SignedDuration::from_secs(intruder_duration.into()),
        "took the Lease back {waited:?} after the intruder's renewal, within its \
         {intruder_duration} s lease"
    );
    eprintln!(
        "measured: stepped down {stepped_down:?} after the foreign write ({conflicts} conflicts), \
         took it back after {retaken:?} (acquireTime - intruder's renewTime = {waited:?})"
    );
    leader.stop().await;
}

/// The standard output of a command that must succeed (its stderr is the failure message).
fn stdout_of(cmd: &mut std::process::Command) -> String {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .expect("command");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One template of the chart as `helm template` renders it (with a values file, if given), by
/// the `helm` that `tests/tools/install.sh` installs (it prints the tools folder last).
fn render_chart(template: &str, values: Option<&std::path::Path>) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin =
        stdout_of(std::process::Command::new("bash").arg(root.join("tests/tools/install.sh")));
    let helm = std::path::Path::new(bin.lines().last().unwrap().trim()).join("helm");
    let mut command = std::process::Command::new(helm);
    command
        .args(["template", "keyward"])
        .arg(root.join("charts/keyward"))
        .args(["--show-only", template]);
    if let Some(values) = values {
        command.arg("-f").arg(values);
    }
    stdout_of(&mut command)
}

/// The Role the chart renders for leader election, as (apiGroups, resources, resourceNames,
/// verbs) rules, from the real `helm` of `tests/tools/install.sh`.
fn chart_leader_election_rules() -> Vec<k8s_openapi::api::rbac::v1::PolicyRule> {
    use k8s_openapi::api::rbac::v1::Role;
    use serde::Deserialize as _;
    let rendered = render_chart("templates/rbac.yaml", None);
    serde_yaml::Deserializer::from_str(&rendered)
        .filter_map(|doc| {
            let value = serde_yaml::Value::deserialize(doc).ok()?;
            (value.get("kind")?.as_str()? == "Role").then_some(value)
        })
        .map(|value| serde_yaml::from_value::<Role>(value).expect("a Role"))
        .find(|role| {
            role.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with("-leader-election"))
        })
        .expect("the chart renders a leader-election Role")
        .rules
        .unwrap_or_default()
}

/// Every request two electors made (acquire, renew, release, take over) is granted by the chart's
/// leader-election Role, and the Role grants no verb on Leases they never used. The requests come
/// from the control plane's audit log (the control plane has no RBAC authorizer).
#[tokio::test]
async fn elector_requests_are_exactly_what_the_charts_leader_election_role_grants() {
    use std::collections::BTreeSet;

    let client = controlplane::client().await;
    // Nothing else in this test touches Leases in this namespace.
    let ns = TestNamespace::new(&client, "leader-rbac").await;
    let (metrics_a, metrics_b) = (Metrics::new(), Metrics::new());
    let a = elector(&client, ns.name(), "elector-a", &metrics_a);
    let b = elector(&client, ns.name(), "elector-b", &metrics_b);
    let first = first_leader([("a", &a), ("b", &b)]).await;
    let (leader, follower) = if first == "a" { (a, b) } else { (b, a) };
    // Let the leader renew at least once, then hand over by release and stop the other too.
    tokio::time::sleep(timing().retry_period * 3).await;
    leader.stop().await;
    let mut leading = follower.subscribe();
    wait_leading(&mut leading, true, "the follower takes over").await;
    follower.stop().await;

    // (verb, apiGroup, resource, name) of each Lease request in this namespace.
    let audit = controlplane::audit_log_path().await;
    let wanted: BTreeSet<&str> = ["create", "get", "update"].into();
    let used = tokio::time::timeout(WAIT, async {
        loop {
            let text = std::fs::read_to_string(&audit).unwrap_or_default();
            let used: BTreeSet<(String, String, String, String)> = text
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|e| {
                    e["stage"] == "ResponseComplete" && e["objectRef"]["namespace"] == ns.name()
                })
                .map(|e| {
                    let field = |f: &str| e["objectRef"][f].as_str().unwrap_or("").to_owned();
                    (
                        e["verb"].as_str().unwrap_or("").to_owned(),
                        field("apiGroup"),
                        field("resource"),
                        field("name"),
                    )
                })
                .collect();
            let verbs: BTreeSet<&str> = used.iter().map(|(v, ..)| v.as_str()).collect();
            // The audit log is written asynchronously: wait for the release's update to land.
            if wanted.is_subset(&verbs) {
                return used;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the electors' create, get and update requests in the audit log");

    let rules = chart_leader_election_rules();
    let grants = |verb: &str, group: &str, resource: &str, name: &str| {
        rules.iter().any(|rule| {
            let has = |list: &Option<Vec<String>>, want: &str| {
                list.as_deref()
                    .is_some_and(|l| l.iter().any(|x| x == want || x == "*"))
            };
            let names_ok = match rule.resource_names.as_deref() {
                None | Some([]) => true,
                // A create request carries no name when it is authorized.
                Some(names) => verb != "create" && names.iter().any(|n| n == name),
            };
            has(&rule.api_groups, group)
                && has(&rule.resources, resource)
                && rule.verbs.iter().any(|v| v == verb || v == "*")
                && names_ok
        })
    };
    for (verb, group, resource, name) in &used {
        assert_eq!(
            (group.as_str(), resource.as_str(), name.as_str()),
            ("coordination.k8s.io", "leases", LEASE),
            "an unexpected request: {verb}"
        );
        assert!(
            grants(verb, group, resource, name),
            "the chart's leader-election Role does not grant {verb} {resource}/{name}: {rules:#?}"
        );
    }
    let granted: BTreeSet<&str> = rules
        .iter()
        .flat_map(|r| r.verbs.iter().map(String::as_str))
        .collect();
    let used_verbs: BTreeSet<&str> = used.iter().map(|(v, ..)| v.as_str()).collect();
    assert_eq!(
        granted, used_verbs,
        "the Role should grant exactly the verbs the electors use"
    );
}

/// The leader-election settings the chart's Deployment passes (as environment variables) are the
/// ones `keyward run` reads, and make a valid timing, with default values and with all options.
#[test]
fn charts_leader_election_environment_is_read_by_the_binary_and_valid() {
    use clap::{CommandFactory as _, FromArgMatches as _};
    use k8s_openapi::api::apps::v1::Deployment;
    use keyward::leader::LeaderElectionArgs;

    #[derive(clap::Parser)]
    struct Run {
        #[command(flatten)]
        leader_election: LeaderElectionArgs,
    }

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let all_options = root.join("charts/keyward/ci/all-options-values.yaml");
    for (values, lease_name) in [
        (None, "keyward-leader"),
        (Some(&all_options), "keyward-operator-leader"),
    ] {
        let rendered = render_chart("templates/deployment.yaml", values.map(|v| v.as_path()));
        let deployment: Deployment = serde_yaml::from_str(&rendered).unwrap();
        let container = &deployment.spec.unwrap().template.spec.unwrap().containers[0];
        let env: Vec<(String, String)> = container
            .env
            .iter()
            .flatten()
            .filter(|e| e.name.starts_with("KEYWARD_LEADER_ELECTION"))
            .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
            .collect();
        assert!(env.len() >= 5, "{env:?}");

        // Turn each variable into the flag that declares it; an unknown one is a chart bug.
        let command = Run::command();
        let mut argv = vec!["run".to_owned()];
        for (name, value) in &env {
            let arg = command
                .get_arguments()
                .find(|a| a.get_env().is_some_and(|e| e == name.as_str()))
                .unwrap_or_else(|| panic!("the chart sets {name}, which keyward does not read"));
            argv.push(format!("--{}={value}", arg.get_long().unwrap()));
        }
        let matches = command.try_get_matches_from(&argv).unwrap();
        let args = Run::from_arg_matches(&matches).unwrap().leader_election;
        assert!(args.enabled, "leader election is on by default");
        assert_eq!(args.lease_name, lease_name);
        LeaseTiming {
            lease_duration: args.lease_duration,
            renew_deadline: args.renew_deadline,
            retry_period: args.retry_period,
        }
        .validate()
        .unwrap_or_else(|e| panic!("{values:?}: {e}"));
        // The pod's identity and namespace come from the downward API.
        for name in ["POD_NAME", "POD_NAMESPACE"] {
            assert!(
                container.env.iter().flatten().any(|e| e.name == name
                    && e.value_from.as_ref().is_some_and(|v| v.field_ref.is_some())),
                "{name} not set from the downward API"
            );
        }
    }
}
