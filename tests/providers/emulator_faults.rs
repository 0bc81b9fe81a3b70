//! Each fault mode, set through the library handle or the admin endpoint, against a real server.

use crate::support::emulator as emulator_support;

use std::time::{Duration, Instant};

use emulator_support::{Api, PROJECT};
use keyward::emulator::{EmulatorConfig, ErrorFault, FaultSettings, spawn};
use serde_json::json;

#[tokio::test]
async fn added_latency_delays_answers() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = Api::new(&emu);
    emu.update_faults(|f| f.latency_ms = 150).unwrap();
    let started = Instant::now();
    assert_eq!(api.get("/secrets").await.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "took {:?}",
        started.elapsed()
    );
    emu.update_faults(|f| f.latency_ms = 0).unwrap();
    let started = Instant::now();
    assert_eq!(api.get("/secrets").await.status, 200);
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn error_rate_per_endpoint_gives_500_or_503_only_there() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = Api::new(&emu);
    let id = api.create_secret("err", json!({})).await;
    let mut faults = FaultSettings::none();
    faults.errors.insert(
        "GetSecret".into(),
        ErrorFault {
            rate: 1.0,
            status: 503,
        },
    );
    faults.errors.insert(
        "ListSecrets".into(),
        ErrorFault {
            rate: 1.0,
            status: 500,
        },
    );
    emu.set_faults(faults).unwrap();
    let a = api.get(&format!("/secrets/{id}")).await;
    assert_eq!(a.status, 503);
    assert_eq!(a.body["type"], "service_unavailable");
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(api.get("/secrets").await.status, 500);
    assert_eq!(
        api.get(&format!("/secrets/{id}/versions")).await.status,
        200,
        "other endpoints unaffected"
    );
    // A partial rate fails some requests and not others.
    let mut faults = FaultSettings::none();
    faults.errors.insert(
        "*".into(),
        ErrorFault {
            rate: 0.5,
            status: 503,
        },
    );
    emu.set_faults(faults).unwrap();
    let mut codes = Vec::new();
    for _ in 0..60 {
        codes.push(api.get(&format!("/secrets/{id}")).await.status);
    }
    assert!(codes.contains(&503) && codes.contains(&200), "{codes:?}");
    let counts = emu.request_counts();
    assert_eq!(
        counts.count("GetSecret", 503) + counts.count("GetSecret", 200),
        61
    );
    assert!(
        emu.set_faults(FaultSettings {
            drop_rate: 2.0,
            ..FaultSettings::none()
        })
        .is_err()
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers_per_token() {
    let emu = spawn(EmulatorConfig {
        faults: FaultSettings::default(),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    assert_eq!(
        emu.faults().rate_limit_per_second,
        Some(50),
        "the gateway's budget is the default"
    );
    emu.update_faults(|f| f.rate_limit_per_second = Some(5))
        .unwrap();
    let api = Api::new(&emu);
    let mut last = None;
    for i in 0..5 {
        let a = api.get("/secrets").await;
        assert_eq!(a.status, 200, "request {i}");
        assert_eq!(a.headers["x-ratelimit-limit"], "5, 5;w=1");
        assert_eq!(
            a.headers["x-ratelimit-remaining"],
            (4 - i).to_string().as_str()
        );
        last = Some(a);
    }
    assert_eq!(last.unwrap().headers["x-ratelimit-reset"], "1");
    let limited = api.get("/secrets").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "1");
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    assert_eq!(limited.body["type"], "too_many_requests");
    // Another token has its own budget.
    let other = Api::new(&emu).token(Some("another-token"));
    assert_eq!(other.get("/secrets").await.status, 200);
    // The budget comes back after the window.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(api.get("/secrets").await.status, 200);
    // And the limiter can be switched off.
    emu.update_faults(|f| f.rate_limit_per_second = None)
        .unwrap();
    for _ in 0..20 {
        let a = api.get("/secrets").await;
        assert_eq!(a.status, 200);
        assert!(a.headers.get("x-ratelimit-limit").is_none());
    }
    assert_eq!(emu.request_counts().count("ListSecrets", 429), 1);
}

#[tokio::test]
async fn dropped_connections_fail_the_request_on_the_client() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = Api::new(&emu);
    emu.update_faults(|f| f.drop_rate = 1.0).unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/secrets", api.base);
    let outcome = async {
        let resp = client.get(&url).header("X-Auth-Token", "t").send().await?;
        resp.bytes().await
    }
    .await;
    assert!(
        outcome.is_err(),
        "a dropped connection must surface as a transport error"
    );
    assert_eq!(
        emu.request_counts().count("ListSecrets", 0),
        1,
        "counted as dropped"
    );
    emu.update_faults(|f| f.drop_rate = 0.0).unwrap();
    assert_eq!(
        api.get("/secrets").await.status,
        200,
        "the server keeps serving"
    );
}

#[tokio::test]
async fn disabled_key_blocks_payloads_but_not_metadata() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = Api::new(&emu);
    let key = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d";
    let by_key = api.create_secret("kms-bound", json!({"key_id": key})).await;
    let by_id = api.create_secret("by-id", json!({})).await;
    assert_eq!(api.add_version(&by_key, b"v1").await.status, 200);
    assert_eq!(api.add_version(&by_id, b"v1").await.status, 200);

    emu.disable_key(key);
    let denied = api.access(&by_key, "1").await;
    assert_eq!(denied.status, 400);
    assert_eq!(denied.body["type"], "invalid_arguments");
    assert_eq!(denied.body["details"][0]["argument_name"], "key_id");
    assert_eq!(api.add_version(&by_key, b"v2").await.status, 400);
    assert_eq!(
        api.get(&format!("/secrets/{by_key}")).await.status,
        200,
        "metadata stays readable"
    );
    assert_eq!(
        api.get(&format!("/secrets/{by_key}/versions/1"))
            .await
            .status,
        200
    );
    assert_eq!(
        api.get(&format!("/secrets/{by_key}/versions")).await.body["total_count"],
        1
    );
    assert_eq!(
        api.get(&format!("/secrets/{by_key}")).await.body["version_count"],
        1,
        "refused create used no number"
    );
    assert_eq!(
        api.access(&by_id, "1").await.status,
        200,
        "other secrets unaffected"
    );

    // Through the admin endpoint, by secret id.
    let admin = emulator_support::admin_client();
    let r = admin
        .post(format!(
            "{}/emulator/faults/disabled-keys/{by_id}",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(api.access(&by_id, "1").await.status, 400);
    admin
        .delete(format!(
            "{}/emulator/faults/disabled-keys/{by_id}",
            emu.base_url()
        ))
        .send()
        .await
        .unwrap();
    emu.enable_key(key);
    assert_eq!(api.access(&by_id, "1").await.status, 200);
    assert_eq!(api.add_version(&by_key, b"v2").await.body["revision"], 2);
}

/// Every request whose path names a secret counts for it, whatever the endpoint or the answer
/// (injected errors and refusals included); listings name none. The handle and `/emulator/metrics`
/// agree.
#[tokio::test]
async fn requests_are_counted_per_secret() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = Api::new(&emu);
    let a = api.create_secret("counted-a", json!({})).await;
    let b = api.create_secret("counted-b", json!({})).await;
    assert_eq!(api.add_version(&a, b"one").await.status, 200);
    assert_eq!(api.access(&a, "latest").await.status, 200);
    assert_eq!(api.access(&a, "7").await.status, 404);
    assert_eq!(api.get(&format!("/secrets/{a}/versions")).await.status, 200);
    assert_eq!(api.get(&format!("/secrets/{b}")).await.status, 200);
    assert_eq!(api.get("/secrets").await.status, 200);
    emu.update_faults(|f| {
        f.errors.insert(
            "GetSecret".into(),
            ErrorFault {
                rate: 1.0,
                status: 503,
            },
        );
    })
    .unwrap();
    assert_eq!(api.get(&format!("/secrets/{a}")).await.status, 503);

    // Creating a secret names no id in its path: a's four calls after it, plus the injected 503.
    assert_eq!(emu.requests_for_secret(&a), 5);
    assert_eq!(emu.requests_for_secret(&b), 1);
    assert_eq!(emu.requests_for_secret(PROJECT), 0);
    assert_eq!(emu.request_count(), 9);
    let m: serde_json::Value = emulator_support::admin_json(
        emulator_support::admin_client().get(format!("{}/emulator/metrics", emu.base_url())),
    )
    .await;
    assert_eq!(m["secrets"], json!({ a.clone(): 5, b.clone(): 1 }));
    assert_eq!(m["total"], 9);
    emu.reset_request_counts();
    assert_eq!((emu.requests_for_secret(&a), emu.request_count()), (0, 0));
}

#[tokio::test]
async fn admin_endpoint_reads_counters_and_replaces_faults() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = Api::new(&emu);
    let admin = emulator_support::admin_client();
    let base = emu.base_url();
    let id = api.create_secret("counted", json!({})).await;
    for _ in 0..3 {
        api.get(&format!("/secrets/{id}")).await;
    }
    api.get("/secrets/00000000-0000-4000-8000-000000000000")
        .await;
    let m: serde_json::Value =
        emulator_support::admin_json(admin.get(format!("{base}/emulator/metrics"))).await;
    let find = |ep: &str, st: u64| {
        m["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["endpoint"] == ep && e["status"] == st)
            .map(|e| e["count"].clone())
    };
    assert_eq!(find("GetSecret", 200), Some(json!(3)));
    assert_eq!(find("GetSecret", 404), Some(json!(1)));
    assert_eq!(find("CreateSecret", 200), Some(json!(1)));
    assert_eq!(m["total"], 5);
    assert_eq!(
        admin
            .delete(format!("{base}/emulator/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(emu.request_counts().total, 0);

    let put = admin
        .put(format!("{base}/emulator/faults"))
        .json(&json!({"errors": {"GetSecret": {"rate": 1.0, "status": 500}}, "rate_limit_per_second": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(api.get(&format!("/secrets/{id}")).await.status, 500);
    let bad = admin
        .put(format!("{base}/emulator/faults"))
        .json(&json!({"errors": {"Nope": {"rate": 1.0}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let unknown = admin
        .put(format!("{base}/emulator/faults"))
        .json(&json!({"latency": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    assert_eq!(
        api.get(&format!("/secrets/{id}")).await.status,
        500,
        "a refused update changes nothing"
    );
    let f: FaultSettings =
        emulator_support::admin_json(admin.get(format!("{base}/emulator/faults"))).await;
    assert_eq!(f.errors["GetSecret"].status, 500);
}
