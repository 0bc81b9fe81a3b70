//! `keyward plan`, `rotate`, `status` and `kubectl keyward` against the live control plane and
//! an emulator, with the operator as the referee: after each scenario (create, rotation due,
//! drift, conflict, key disabled, rollout pending, retirement due) the operator is stopped,
//! `keyward plan` runs,
//! and then the operator starts again; its next reconcile must take exactly the steps the plan
//! printed (the operator logs them), or fail for the reason the plan gave. The plan itself
//! writes nothing: no create, patch, update or delete in the audit log, no write call in the
//! emulator's counters; and its JSON carries no value.

use std::time::Duration;

use kube::ResourceExt;
use serde_json::{Value, json};

use crate::support::cli::{
    calls_between, keyward, logged_steps, requests_by, writes_among, writes_since_by,
};
use crate::support::e2e::{self as e2e_support, Cloud, World, audit_offset, ready_reason};
use crate::support::workloads::{PlayedControllers, deployment};

/// One object's entry in `plan -o json`.
fn entry<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the plan: {plan:#}"))
}

fn actions(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap().to_owned())
        .collect()
}

/// What a plan cost: API server requests and writes, provider calls.
struct Cost {
    requests: usize,
    writes: usize,
    provider_writes: u64,
    /// Every provider call of the plan (reads only, as asserted).
    provider_reads: u64,
}

/// Runs `keyward plan -o json` on the world's namespace, with the operator stopped, and
/// asserts it wrote nothing anywhere.
async fn plan(w: &World) -> (Value, i32, Cost) {
    let offset = audit_offset().await;
    let before = w.emu.request_counts();
    let run = keyward(&["plan", "-n", w.ns(), "-o", "json"]).await;
    // The audit log is written as requests complete; give the last ones a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = calls_between(&before, &w.emu.request_counts());
    let writes = writes_since_by(offset, w.ns(), "plan").await;
    let reads = requests_by(offset, "plan").await;
    assert!(reads > 0, "the audit log shows no request of plan");
    let provider_writes = writes_among(&calls);
    assert!(
        writes.is_empty(),
        "plan wrote to the API server: {writes:?}"
    );
    assert!(
        provider_writes.is_empty(),
        "plan wrote to the provider: {provider_writes:?}"
    );
    assert!(
        run.code == 0 || run.code == 1,
        "plan could not run: {run:?}"
    );
    let cost = Cost {
        requests: reads,
        writes: writes.len(),
        provider_writes: provider_writes.values().sum(),
        provider_reads: calls.values().sum(),
    };
    (run.json(), run.code, cost)
}

/// The steps of the operator's first reconcile of `name` with steps, after log byte `offset`.
async fn operator_steps(w: &World, offset: usize, name: &str, pipeline: bool) -> Vec<String> {
    for _ in 0..300 {
        if let Some(first) = logged_steps(&w.op.log_text(), offset, name, pipeline)
            .into_iter()
            .next()
        {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "the operator logged no steps for {name}\n{}",
        e2e_support::tail(&w.op.log_text(), 30)
    );
}

async fn start_operator(w: &mut World) -> usize {
    let offset = w.op.log_text().len();
    w.op.restart(&[]).await;
    offset
}

/// One row of the printed comparison.
fn row(scenario: &str, planned: &Value, operator: &str, cost: &Cost) -> String {
    format!(
        "{scenario:<16} plan: {:<6} {:<18} {:<55} operator: {operator:<55} API requests {} (writes {}) / provider calls {} (writes {})",
        planned["verdict"].as_str().unwrap(),
        planned["reason"].as_str().unwrap(),
        format!(
            "{:?}+{:?}",
            actions(&planned["steps"]),
            actions(&planned["then"])
        ),
        cost.requests,
        cost.writes,
        cost.provider_reads,
        cost.provider_writes,
    )
}

#[tokio::test]
async fn plan_prints_the_step_the_operator_then_takes_and_writes_nothing() {
    let mut w = World::new("e2e-plan").await;
    let store = json!({"name": e2e_support::STORE});
    let controllers = PlayedControllers::start(&w.client, w.ns());
    let mut table = Vec::new();

    // Settled objects for the scenarios that need one.
    w.apply(deployment("api", json!({}), Some("roll"))).await;
    w.apply_secret("src", json!({"token": "canary-plan-one-4d1f"}))
        .await;
    w.apply_ms(
        "due",
        json!({"storeRef": store, "generate": {}, "rotation": {"interval": "1m"}}),
    )
    .await;
    w.apply_ms("drift", json!({"storeRef": store, "generate": {}}))
        .await;
    w.apply_ms(
        "first",
        json!({"storeRef": store, "generate": {}, "target": {"name": "shared"}}),
    )
    .await;
    w.apply_ms("keyed", json!({"storeRef": store, "generate": {}}))
        .await;
    w.apply_ms(
        "pushed",
        json!({"storeRef": store, "fromSecret": {"name": "src"}}),
    )
    .await;
    w.apply_ms(
        "roll",
        json!({"storeRef": store, "generate": {},
            "rollout": {"workloads": [{"kind": "Deployment", "name": "api"}], "debounce": "10s"},
            "retirement": {"gracePeriod": "15s"}}),
    )
    .await;
    for name in ["due", "drift", "first", "keyed", "pushed", "roll"] {
        w.wait_ready(name, 1).await;
    }
    w.wait_ms("roll", "baseline rollout", Duration::from_secs(60), |ms| {
        ms.status
            .as_ref()
            .and_then(|s| s.rollout.as_ref())
            .is_some_and(|r| r.confirmed_at.is_some())
    })
    .await;
    // Nothing to do: every object is in sync, and the plan says so.
    w.op.kill();
    let (steady, code, cost) = plan(&w).await;
    assert_eq!(code, 0, "{steady:#}");
    assert_eq!(steady["summary"]["inSync"], 6, "{steady:#}");
    table.push(row("in sync", entry(&steady, "drift"), "(nothing)", &cost));
    start_operator(&mut w).await;

    // Rollout pending: a rotation reached the Secret, the Deployment waits for its debounce.
    w.annotate("roll", "keyward.dev/rotate", "r1").await;
    w.wait_ms(
        "roll",
        "revision 2 pending its rollout",
        Duration::from_secs(60),
        |ms| {
            ms.status
                .as_ref()
                .and_then(|s| s.rollout.as_ref())
                .is_some_and(|r| r.revision == 2 && r.summary == "0/1")
        },
    )
    .await;
    w.op.kill();
    tokio::time::sleep(Duration::from_secs(11)).await;
    let (planned, code, cost) = plan(&w).await;
    let roll = entry(&planned, "roll");
    assert_eq!(code, 0, "{planned:#}");
    assert_eq!(actions(&roll["then"]), ["Restart"], "{roll:#}");
    assert!(
        roll["then"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("restart Deployment api for revision 2"),
        "{roll:#}"
    );
    let offset = start_operator(&mut w).await;
    let taken = operator_steps(&w, offset, "roll", true).await;
    assert_eq!(taken, actions(&roll["then"]));
    table.push(row("rollout pending", roll, &format!("{taken:?}"), &cost));
    assert!(
        roll["notes"]
            .to_string()
            .contains("revision 1 stays enabled until every consumer runs revision 2"),
        "{roll:#}"
    );

    // Retirement due: the rollout finished, the superseded version's grace period ends.
    w.wait_ms(
        "roll",
        "rollout of revision 2 confirmed",
        Duration::from_secs(60),
        |ms| {
            ms.status
                .as_ref()
                .and_then(|s| s.rollout.as_ref())
                .is_some_and(|r| r.revision == 2 && r.confirmed_at.is_some())
        },
    )
    .await;
    w.op.kill();
    tokio::time::sleep(Duration::from_secs(16)).await;
    let (planned, code, cost) = plan(&w).await;
    let roll = entry(&planned, "roll");
    assert_eq!(code, 0, "{planned:#}");
    assert_eq!(actions(&roll["then"]), ["Disable"], "{roll:#}");
    let offset = start_operator(&mut w).await;
    let taken = operator_steps(&w, offset, "roll", true).await;
    assert_eq!(taken, actions(&roll["then"]));
    table.push(row("retirement due", roll, &format!("{taken:?}"), &cost));

    // Drift: someone edits the target Secret.
    w.op.kill();
    w.apply_secret("drift", json!({"value": "edited-by-hand"}))
        .await;
    // Create: a new object while the operator is down.
    w.apply_ms("fresh", json!({"storeRef": store, "generate": {}}))
        .await;
    // Conflict: a second object claims the first one's target Secret.
    w.apply_ms(
        "second",
        json!({"storeRef": store, "generate": {}, "target": {"name": "shared"}}),
    )
    .await;
    // Key disabled, and a rotation asked for.
    let keyed_id = w.secret_id("keyed").await;
    w.emu.disable_key(keyed_id.clone());
    w.annotate("keyed", "keyward.dev/rotate", "during-the-outage")
        .await;
    // Push: the source changes (its values are canaries: they must not appear in the plan).
    w.apply_secret("src", json!({"token": "canary-plan-two-8e2a"}))
        .await;
    // Rotation due: the interval of a minute has passed since version 1.
    let due = w.ms_api().get("due").await.unwrap();
    let next = due.status.unwrap().next_rotation_time.unwrap().0;
    let wait = Duration::try_from(jiff::Timestamp::now().duration_until(next)).unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_secs(1)).await;

    let (planned, code, cost) = plan(&w).await;
    assert_eq!(code, 1, "a plan that would fail exits 1: {planned:#}");
    let text = planned.to_string();
    let mut values: Vec<Vec<u8>> = vec![
        b"canary-plan-one-4d1f".to_vec(),
        b"canary-plan-two-8e2a".to_vec(),
    ];
    for s in w.secrets().list(&Default::default()).await.unwrap() {
        if s.labels().contains_key("keyward.dev/managed-secret") {
            values.extend(s.data.unwrap_or_default().into_values().map(|v| v.0));
        }
    }
    for value in &values {
        let value = String::from_utf8_lossy(value);
        assert!(
            !text.contains(value.as_ref()),
            "a value in the plan: {value}"
        );
    }
    let expect = [
        ("fresh", "change", "Synced"),
        ("drift", "change", "Synced"),
        ("second", "fail", "Conflict"),
        ("keyed", "fail", "KeyUnavailable"),
        ("pushed", "change", "Synced"),
        ("due", "change", "Synced"),
    ];
    for (name, verdict, reason) in expect {
        let e = entry(&planned, name);
        assert_eq!(
            (e["verdict"].as_str(), e["reason"].as_str()),
            (Some(verdict), Some(reason)),
            "{e:#}"
        );
    }
    assert!(
        entry(&planned, "drift")["steps"][0]["description"]
            .as_str()
            .unwrap()
            .contains("changed by someone"),
        "{planned:#}"
    );
    assert!(
        entry(&planned, "due")["steps"]
            .to_string()
            .contains("rotation due at"),
        "{planned:#}"
    );

    let offset = start_operator(&mut w).await;
    for (name, verdict, reason) in expect {
        let planned_here = entry(&planned, name);
        let want = actions(&planned_here["steps"]);
        let taken = if want.is_empty() {
            Vec::new()
        } else {
            operator_steps(&w, offset, name, false).await
        };
        assert_eq!(taken, want, "{name}: the operator's steps");
        let ms = if verdict == "fail" {
            w.wait_reason(name, reason).await
        } else {
            w.wait_ms(name, "Ready", Duration::from_secs(60), |ms| {
                ready_reason(ms).as_deref() == Some("True/Synced")
            })
            .await
        };
        table.push(row(
            name,
            planned_here,
            &format!("{taken:?} {}", ready_reason(&ms).unwrap_or_default()),
            &cost,
        ));
    }
    assert_ne!(
        w.secret_data("drift").await.unwrap()["value"],
        b"edited-by-hand",
        "the drift was repaired"
    );
    w.emu.enable_key(&keyed_id);
    drop(controllers);
    eprintln!("scenario         plan vs the operator's next reconcile");
    for line in table {
        eprintln!("{line}");
    }
}

/// `keyward rotate` returns once the new revision is mirrored and prints it; with the key
/// disabled it prints the reason, exits 1, and the failure costs a bounded number of calls.
#[tokio::test]
async fn rotate_waits_for_the_new_revision_or_says_why_not() {
    let w = World::new("e2e-rotate-cli").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}}),
    )
    .await;
    let id = w.ready_id("db", 1).await;
    let object = format!("{}/db", w.ns());
    let run = keyward(&["rotate", &object, "--timeout", "60s"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("ManagedSecret {object}: rotated: revision 2")),
        "{run:?}"
    );
    w.assert_version_count(&id, 2, "one rotation").await;
    let value = w.secret_data("db").await.unwrap()["value"].clone();
    assert!(!run.stdout.contains(&*String::from_utf8_lossy(&value)));

    w.emu.disable_key(id.clone());
    let before = w.emu.request_counts();
    let run = keyward(&["rotate", &object, "--timeout", "60s"]).await;
    let calls = calls_between(&before, &w.emu.request_counts());
    let total: u64 = calls.values().sum();
    eprintln!(
        "rotate with the key disabled: exit {}, {total} provider calls {calls:?}; {}",
        run.code,
        run.stderr.trim()
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("failed: KeyUnavailable"), "{run:?}");
    assert!(total <= 6, "{calls:?}");
    w.assert_version_count(&id, 2, "no version while the key is disabled")
        .await;

    // Nothing of the world is not Ready but `db`: status says so, with its reason.
    let run = keyward(&["status", "-n", w.ns()]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("KeyUnavailable"), "{run:?}");
    w.emu.enable_key(&id);
}

/// kubectl finds the binary as its plugin `kubectl-keyward` and runs it as `kubectl keyward`.
#[tokio::test]
async fn kubectl_runs_it_as_its_keyward_plugin() {
    let w = World::new("e2e-kubectl-plugin").await;
    w.apply_ms(
        "db",
        json!({"storeRef": {"name": e2e_support::STORE}, "generate": {}}),
    )
    .await;
    w.wait_ready("db", 1).await;
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_keyward"),
        bin.path().join("kubectl-keyward"),
    )
    .unwrap();
    let kubectl = which_kubectl();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let kubeconfig = crate::support::controlplane::kubeconfig_path().await;
    // Off the test's runtime: the emulator answering the plugin runs on it.
    let run = async |args: &[&str]| {
        let mut command = std::process::Command::new(&kubectl);
        command
            .args(args)
            .env("PATH", &path)
            .env("KUBECONFIG", kubeconfig)
            .env("KEYWARD_DATA_HMAC_KEY", e2e_support::HMAC_KEY)
            .env("KEYWARD_ALLOWED_ENDPOINTS", "http://127.0.0.1:*");
        tokio::task::spawn_blocking(move || command.output().expect("kubectl"))
            .await
            .unwrap()
    };
    let plugins = run(&["plugin", "list"]).await;
    assert!(
        String::from_utf8_lossy(&plugins.stdout).contains("kubectl-keyward"),
        "{plugins:?}"
    );
    let help = run(&["keyward", "--help"]).await;
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Usage: kubectl keyward <COMMAND>"), "{help}");
    let plan = run(&["keyward", "plan", "-n", w.ns(), "db"]).await;
    let out = String::from_utf8_lossy(&plan.stdout);
    assert_eq!(plan.status.code(), Some(0), "{plan:?}");
    assert!(
        out.contains(&format!("ManagedSecret {}/db: in sync", w.ns())),
        "{out}"
    );
    assert!(out.contains("Plan: 1 object: 1 in sync"), "{out}");

    // Without the operator's drift key (no flag, no variable, no chart Secret) plan cannot judge
    // drift as the operator does: it says so and does not run.
    let kubeconfig = kubeconfig.to_owned();
    let namespace = w.ns().to_owned();
    let keyless = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["plan", "-n", &namespace])
            .env("KUBECONFIG", kubeconfig)
            .env_remove("KEYWARD_DATA_HMAC_KEY")
            .env_remove("KEYWARD_DATA_HMAC_KEY_FILE")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&keyless.stderr);
    assert_eq!(keyless.status.code(), Some(2), "{err}");
    assert!(
        err.contains("needs the operator's drift key") && err.contains("--data-hmac-key-file"),
        "{err}"
    );
}

fn which_kubectl() -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
        .expect("kubectl on PATH")
}

/// On Thalassa (the secret and its first version in one call, no version descriptions, one KMS
/// key for the whole store): a create, then a disabled key with a rotation asked for, each
/// planned while the operator is stopped and then taken by it as planned; the plan writes
/// nothing and reads values only through read calls (`GetSecretValue` is a POST that reads).
#[tokio::test]
async fn on_thalassa_plan_prints_what_the_operator_then_does() {
    let mut w = World::on(Cloud::Thalassa, "e2e-plan-thalassa").await;
    let store = json!({"name": e2e_support::STORE});
    w.apply_ms("steady", json!({"storeRef": store, "generate": {}}))
        .await;
    w.wait_ready("steady", 1).await;
    let mut table = Vec::new();

    w.op.kill();
    w.apply_ms("fresh", json!({"storeRef": store, "generate": {}}))
        .await;
    let (planned, code, cost) = plan(&w).await;
    assert_eq!(code, 0, "{planned:#}");
    let fresh = entry(&planned, "fresh");
    assert_eq!(fresh["verdict"], "change", "{fresh:#}");
    assert!(
        fresh["steps"].to_string().contains("with version 1"),
        "one call for the secret and its first version: {fresh:#}"
    );
    let offset = start_operator(&mut w).await;
    let taken = operator_steps(&w, offset, "fresh", false).await;
    assert_eq!(taken, actions(&fresh["steps"]));
    w.wait_ready("fresh", 1).await;
    table.push(row("create", fresh, &format!("{taken:?}"), &cost));

    w.op.kill();
    Cloud::Thalassa.set_key_disabled(&w.emu, "", true).await;
    w.annotate("steady", "keyward.dev/rotate", "during-the-outage")
        .await;
    let (planned, code, cost) = plan(&w).await;
    assert_eq!(code, 1, "{planned:#}");
    let steady = entry(&planned, "steady");
    assert_eq!(
        (steady["verdict"].as_str(), steady["reason"].as_str()),
        (Some("fail"), Some("KeyUnavailable")),
        "{steady:#}"
    );
    let offset = start_operator(&mut w).await;
    let taken = operator_steps(&w, offset, "steady", false).await;
    assert_eq!(taken, actions(&steady["steps"]));
    let ms = w.wait_reason("steady", "KeyUnavailable").await;
    table.push(row(
        "key disabled",
        steady,
        &format!("{taken:?} {}", ready_reason(&ms).unwrap_or_default()),
        &cost,
    ));
    Cloud::Thalassa.set_key_disabled(&w.emu, "", false).await;
    eprintln!("scenario         plan vs the operator's next reconcile (Thalassa)");
    for line in table {
        eprintln!("{line}");
    }
}
