//! Behaviour beyond the recordings' coverage: bad input, limits, filters and pagination, browse,
//! protect/restore, enable/disable, access by path, CRC32, ephemeral policies on the controllable clock,
//! and the state file across restarts.

use crate::support::emulator as emulator_support;

use emulator_support::{Api, PROJECT, b64, unb64};
use jiff::SignedDuration;
use keyward::emulator::{AccountOptions, EmulatorConfig, ScalewayEmulatorConfig, spawn};
use serde_json::{Value, json};

/// method, path, body, expected status, expected error `type`.
type BadInputCase = (
    &'static str,
    String,
    Option<&'static [u8]>,
    u16,
    &'static str,
);

async fn emulator() -> (keyward::emulator::EmulatorHandle, Api) {
    let emu = spawn(EmulatorConfig {
        frozen_clock_at: Some("2026-07-03T12:00:00Z".parse().unwrap()),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    let api = Api::new(&emu);
    (emu, api)
}

#[tokio::test]
async fn bad_input_gets_api_errors_and_never_loses_state() {
    let (emu, api) = emulator().await;
    let id = api.create_secret("keep-me", json!({})).await;
    assert_eq!(api.add_version(&id, b"precious").await.status, 200);

    let cases: Vec<BadInputCase> = vec![
        ("POST", "/secrets".into(), Some(b"{not json"), 400, "invalid_arguments"),
        ("POST", "/secrets".into(), Some(b"[1,2]"), 400, "invalid_arguments"),
        ("POST", "/secrets".into(), Some(br#"{"project_id":"105bdce1-64c0-48ab-899d-868455867ecf","name":"x","colour":"red"}"#), 400, "invalid_arguments"),
        ("POST", "/secrets".into(), Some(br#"{"project_id":"nope","name":"x"}"#), 400, "invalid_arguments"),
        ("POST", "/secrets".into(), Some(br#"{"project_id":"105bdce1-64c0-48ab-899d-868455867ecf"}"#), 400, "invalid_arguments"),
        ("POST", "/secrets".into(), Some(br#"{"project_id":"105bdce1-64c0-48ab-899d-868455867ecf","name":"x","type":"weird"}"#), 400, "invalid_arguments"),
        ("POST", "/secrets".into(), Some(br#"{"project_id":"105bdce1-64c0-48ab-899d-868455867ecf","name":"x","tags":"a"}"#), 400, "invalid_arguments"),
        ("GET", "/secrets/not-a-uuid".into(), None, 400, "invalid_arguments"),
        ("GET", format!("/secrets/{id}/versions/zero"), None, 400, "invalid_arguments"),
        ("GET", format!("/secrets/{id}/versions/0"), None, 400, "invalid_arguments"),
        ("GET", format!("/secrets/{id}/versions/9"), None, 404, "not_found"),
        ("GET", "/secrets/3f0d0d36-3f5f-4d8e-9a55-3b1c1f7a2c11".into(), None, 404, "not_found"),
        ("PUT", format!("/secrets/{id}"), Some(b"{}"), 405, "method_not_allowed"),
        ("DELETE", "/secrets".into(), None, 405, "method_not_allowed"),
        ("GET", "/nothing-here".into(), None, 404, "not_found"),
        ("POST", format!("/secrets/{id}/versions"), Some(b"{}"), 400, "invalid_arguments"),
        ("POST", format!("/secrets/{id}/versions"), Some(br#"{"data":"not base64!"}"#), 400, "invalid_arguments"),
        ("POST", format!("/secrets/{id}/versions"), Some(br#"{"data":"YQ==","data_crc32":-1}"#), 400, "invalid_arguments"),
        ("POST", format!("/secrets/{id}/versions"), Some(br#"{"data":"YQ==","data_crc32":1}"#), 400, "invalid_arguments"),
        ("PATCH", format!("/secrets/{id}"), Some(br#"{"protected":true}"#), 400, "invalid_arguments"),
        ("PATCH", format!("/secrets/{id}"), Some(br#"{"ephemeral_policy":{"time_to_live":"forever","action":"delete"}}"#), 400, "invalid_arguments"),
        ("GET", "/secrets?page=0".into(), None, 400, "invalid_arguments"),
        ("GET", "/secrets?order_by=random".into(), None, 400, "invalid_arguments"),
        ("GET", "/secrets?project_id=xyz".into(), None, 400, "invalid_arguments"),
        ("GET", format!("/secrets/{id}/versions?status=gone"), None, 400, "invalid_arguments"),
    ];
    for (method, path, body, status, kind) in cases {
        let a = api.raw(method, &path, body.map(<[u8]>::to_vec)).await;
        assert_eq!(a.status, status, "{method} {path}: {}", a.body);
        assert_eq!(a.body["type"], kind, "{method} {path}: {}", a.body);
        assert_eq!(a.headers["content-type"], "application/json");
    }
    let unknown_field = api.raw("POST", "/secrets", Some(br#"{"project_id":"105bdce1-64c0-48ab-899d-868455867ecf","name":"x","colour":"red"}"#.to_vec())).await;
    assert_eq!(
        unknown_field.body["details"][0],
        json!({"argument_name": "colour", "help_message": "unknown field", "reason": "unknown"})
    );
    let region = Api::with_base(emu.api_url("mars-1"), Some("t"))
        .get("/secrets")
        .await;
    assert_eq!(
        (
            region.status,
            region.body["details"][0]["argument_name"].clone()
        ),
        (400, json!("region"))
    );

    // Oversized payloads: 64 KiB decoded is the limit; a body past 1 MiB is refused before parsing.
    let max = api.add_version(&id, &vec![b'a'; 64 * 1024]).await;
    assert_eq!(max.status, 200);
    let over = api.add_version(&id, &vec![b'a'; 64 * 1024 + 1]).await;
    assert_eq!(
        (
            over.status,
            over.body["details"][0]["argument_name"].clone()
        ),
        (400, json!("data"))
    );
    let huge = api
        .raw(
            "POST",
            &format!("/secrets/{id}/versions"),
            Some(vec![b' '; 2 * 1024 * 1024]),
        )
        .await;
    assert_eq!(huge.status, 400);

    // State is intact and no revision number was spent on refused creates.
    let secret = api.get(&format!("/secrets/{id}")).await.body;
    assert_eq!(secret["version_count"], 2);
    assert_eq!(unb64(&api.access(&id, "1").await.body["data"]), b"precious");
    assert_eq!(api.add_version(&id, b"next").await.body["revision"], 3);
}

#[tokio::test]
async fn crc32_is_checked_stored_and_returned() {
    let (_emu, api) = emulator().await;
    let id = api.create_secret("crc", json!({})).await;
    let ok = api
        .call(
            "POST",
            &format!("/secrets/{id}/versions"),
            Some(json!({"data": b64(b"123456789"), "data_crc32": 0xCBF4_3926u32})),
        )
        .await;
    assert_eq!(ok.status, 200);
    let access = api.access(&id, "1").await.body;
    assert_eq!(access["data_crc32"], 0xCBF4_3926u32);
    assert_eq!(access["type"], "opaque");
    let bad = api
        .call(
            "POST",
            &format!("/secrets/{id}/versions"),
            Some(json!({"data": b64(b"123456789"), "data_crc32": 0xE306_9283u32})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["details"][0]["argument_name"].clone()),
        (400, json!("data_crc32"))
    );
    assert_eq!(api.add_version(&id, b"x").await.body["revision"], 2);
    assert_eq!(api.access(&id, "2").await.body["data_crc32"], Value::Null);
}

#[tokio::test]
async fn filters_ordering_and_pagination() {
    let (emu, api) = emulator().await;
    for (name, tags, path, ty) in [
        ("b-secret", json!(["x", "y"]), "/", "opaque"),
        ("a-secret", json!(["x"]), "/app/", "key_value"),
        ("c-secret", json!([]), "app/db", "opaque"),
        ("B-upper", json!(["y"]), "/", "certificate"),
    ] {
        emu.clock().advance(SignedDuration::from_millis(1));
        api.create_secret(name, json!({"tags": tags, "path": path, "type": ty}))
            .await;
    }
    let names = |v: &Value| {
        v["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let all = api
        .get(&format!(
            "/secrets?project_id={PROJECT}&type=unknown_type&scheduled_for_deletion=false"
        ))
        .await
        .body;
    assert_eq!(
        names(&all),
        ["B-upper", "a-secret", "b-secret", "c-secret"],
        "name_asc, byte order"
    );
    assert_eq!(all["total_count"], 4);
    assert_eq!(
        names(&api.get("/secrets?order_by=name_desc").await.body)[0],
        "c-secret"
    );
    assert_eq!(
        names(&api.get("/secrets?order_by=created_at_asc").await.body)[0],
        "b-secret"
    );
    assert_eq!(
        names(&api.get("/secrets?tags=x").await.body),
        ["a-secret", "b-secret"]
    );
    assert_eq!(
        names(&api.get("/secrets?tags=x&tags=y").await.body),
        ["b-secret"],
        "tags combine with AND"
    );
    assert_eq!(
        names(&api.get("/secrets?path=%2Fapp").await.body),
        ["a-secret"],
        "paths are normalised"
    );
    assert_eq!(
        names(&api.get("/secrets?path=/app/db").await.body),
        ["c-secret"]
    );
    assert_eq!(
        names(&api.get("/secrets?type=key_value").await.body),
        ["a-secret"]
    );
    assert_eq!(
        names(&api.get("/secrets?name=b-secret").await.body),
        ["b-secret"]
    );
    let page2 = api.get("/secrets?page=2&page_size=3").await.body;
    assert_eq!(
        (names(&page2), page2["total_count"].clone()),
        (vec!["c-secret".to_string()], json!(4))
    );
    assert_eq!(
        api.get("/secrets?page=3&page_size=3").await.body["secrets"],
        json!([])
    );

    let tags = api.get("/tags").await.body;
    assert_eq!(tags, json!({"tags": ["x", "y"], "total_count": 2}));
    let types = api.get("/secret-types").await.body;
    assert_eq!(
        types,
        json!({"types": ["opaque", "certificate", "key_value"], "total_count": 3})
    );

    let root = api.get("/secrets/browse").await.body;
    assert_eq!(root["current_path"], "/");
    let items: Vec<_> = root["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i.get("folder").is_some(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("B-upper".to_string(), false),
            ("app".into(), true),
            ("b-secret".into(), false)
        ]
    );
    let app = api.get("/secrets/browse?prefix=/app/").await.body;
    assert_eq!(app["current_path"], "/app");
    assert_eq!(app["total_count"], 2);
    assert_eq!(app["items"][0]["secret"]["type"], "key_value");
    assert_eq!(app["items"][1]["folder"], json!({}));
}

#[tokio::test]
async fn soft_delete_restore_protect_and_versions_lifecycle() {
    let (_emu, api) = emulator().await;
    let id = api.create_secret("life", json!({"protected": true})).await;
    let refused = api.call("DELETE", &format!("/secrets/{id}"), None).await;
    assert_eq!(refused.status, 412);
    assert_eq!(refused.body["precondition"], "protected_resource");
    let unprotected = api
        .call("POST", &format!("/secrets/{id}/unprotect"), Some(json!({})))
        .await
        .body;
    assert_eq!(unprotected["protected"], false);
    for n in 1..=3 {
        assert_eq!(
            api.add_version(&id, format!("v{n}").as_bytes()).await.body["revision"],
            n
        );
    }
    // disable_previous disables the previous highest revision.
    let v4 = api
        .call(
            "POST",
            &format!("/secrets/{id}/versions"),
            Some(json!({"data": b64(b"v4"), "disable_previous": true})),
        )
        .await;
    assert_eq!(v4.body["latest"], true);
    assert_eq!(
        api.get(&format!("/secrets/{id}/versions/3")).await.body["status"],
        "disabled"
    );
    let denied = api.access(&id, "3").await;
    assert_eq!(
        (denied.status, denied.body["type"].clone()),
        (412, json!("precondition_failed"))
    );
    assert_eq!(api.access(&id, "latest_enabled").await.body["revision"], 4);
    assert_eq!(
        api.call(
            "POST",
            &format!("/secrets/{id}/versions/3/enable"),
            Some(json!({}))
        )
        .await
        .body["status"],
        "enabled"
    );
    assert_eq!(
        api.call(
            "POST",
            &format!("/secrets/{id}/versions/4/disable"),
            Some(json!({}))
        )
        .await
        .body["status"],
        "disabled"
    );
    assert_eq!(api.access(&id, "latest_enabled").await.body["revision"], 3);
    assert_eq!(
        api.access(&id, "latest").await.status,
        412,
        "latest is the highest revision, here disabled"
    );

    // Version soft delete and restore.
    assert_eq!(
        api.call("DELETE", &format!("/secrets/{id}/versions/2"), None)
            .await
            .status,
        204
    );
    let v2 = api.get(&format!("/secrets/{id}/versions/2")).await.body;
    assert_eq!(
        (v2["status"].clone(), v2["deleted_at"].clone()),
        (json!("scheduled_for_deletion"), Value::Null)
    );
    let filtered = api
        .get(&format!(
            "/secrets/{id}/versions?status=scheduled_for_deletion"
        ))
        .await
        .body;
    assert_eq!(filtered["total_count"], 1);
    let restored = api
        .call(
            "POST",
            &format!("/secrets/{id}/versions/2/restore"),
            Some(json!({})),
        )
        .await
        .body;
    assert_eq!(restored["status"], "enabled");
    assert_eq!(restored["deletion_requested_at"], Value::Null);
    let page = api
        .get(&format!("/secrets/{id}/versions?page=2&page_size=3"))
        .await
        .body;
    assert_eq!(
        (
            page["versions"][0]["revision"].clone(),
            page["total_count"].clone()
        ),
        (json!(1), json!(4))
    );

    // Secret soft delete: readable, absent from default lists, present with scheduled_for_deletion=true,
    // frozen for changes, restorable.
    assert_eq!(
        api.call("DELETE", &format!("/secrets/{id}"), None)
            .await
            .status,
        204
    );
    let deleted = api.get(&format!("/secrets/{id}")).await.body;
    assert_eq!(deleted["updated_at"], deleted["deletion_requested_at"]);
    assert_eq!(api.get("/secrets").await.body["total_count"], 0);
    assert_eq!(
        api.get("/secrets?scheduled_for_deletion=true").await.body["total_count"],
        1
    );
    assert_eq!(api.add_version(&id, b"late").await.status, 412);
    let back = api
        .call("POST", &format!("/secrets/{id}/restore"), Some(json!({})))
        .await
        .body;
    assert_eq!(back["deletion_requested_at"], Value::Null);
    assert_eq!(api.get("/secrets").await.body["total_count"], 1);

    // Path normalisation on PATCH, add-owner, access by path, duplicates.
    let patched = api
        .call(
            "PATCH",
            &format!("/secrets/{id}"),
            Some(json!({"path": "/team/"})),
        )
        .await
        .body;
    assert_eq!(patched["path"], "/team");
    assert_eq!(
        api.call(
            "POST",
            &format!("/secrets/{id}/add-owner"),
            Some(json!({"product": "edge_services"}))
        )
        .await
        .status,
        204
    );
    assert_eq!(
        api.get(&format!("/secrets/{id}")).await.body["used_by"],
        json!(["edge_services"])
    );
    let by_path = api.get(&format!("/secrets-by-path/versions/1/access?secret_path=%2Fteam&secret_name=life&project_id={PROJECT}")).await.body;
    assert_eq!(unb64(&by_path["data"]), b"v1");
    let dup = api
        .call(
            "POST",
            "/secrets",
            Some(json!({"project_id": PROJECT, "name": "life", "path": "/team"})),
        )
        .await;
    assert_eq!(dup.status, 409);
}

#[tokio::test]
async fn ephemeral_policies_follow_the_controllable_clock() {
    let (emu, api) = emulator().await;
    let ttl = api.create_secret("ttl", json!({"ephemeral_policy": {"time_to_live": "1800.000000000s", "expires_once_accessed": false, "action": "disable"}})).await;
    let secret = api.get(&format!("/secrets/{ttl}")).await.body;
    assert_eq!(
        secret["ephemeral_policy"],
        json!({"time_to_live": "1800s", "expires_once_accessed": false, "action": "disable"})
    );
    let v = api.add_version(&ttl, b"short-lived").await.body;
    assert_eq!(
        v["ephemeral_properties"],
        json!({"expires_at": "2026-07-03T12:30:00.000000Z", "expires_once_accessed": false, "action": "disable"})
    );
    emu.clock().advance(SignedDuration::from_secs(1799));
    assert_eq!(api.access(&ttl, "1").await.status, 200);
    emu.clock().advance(SignedDuration::from_secs(1));
    let expired = api.get(&format!("/secrets/{ttl}/versions/1")).await.body;
    assert_eq!(expired["status"], "disabled");
    assert_eq!(expired["updated_at"], "2026-07-03T12:30:00.000000Z");
    assert_eq!(api.access(&ttl, "1").await.status, 412);
    // Re-enabling picks up the current policy, with a fresh expiry.
    let again = api
        .call(
            "POST",
            &format!("/secrets/{ttl}/versions/1/enable"),
            Some(json!({})),
        )
        .await
        .body;
    assert_eq!(
        again["ephemeral_properties"]["expires_at"],
        "2026-07-03T13:00:00.000000Z"
    );

    // Delete action through the library's advance (applies at once).
    let del = api
        .create_secret(
            "ttl-delete",
            json!({"ephemeral_policy": {"time_to_live": "60s", "action": "delete"}}),
        )
        .await;
    api.add_version(&del, b"gone-soon").await;
    emu.advance_clock(SignedDuration::from_secs(61));
    assert_eq!(
        api.get(&format!("/secrets/{del}/versions/1")).await.body["status"],
        "deleted"
    );
    assert_eq!(api.access(&del, "1").await.status, 404);

    // Expire once accessed.
    let once = api
        .create_secret(
            "once",
            json!({"ephemeral_policy": {"expires_once_accessed": true, "action": "disable"}}),
        )
        .await;
    api.add_version(&once, b"read-me-once").await;
    assert_eq!(
        unb64(&api.access(&once, "latest").await.body["data"]),
        b"read-me-once"
    );
    assert_eq!(api.access(&once, "latest").await.status, 412);

    // PATCH replaces the policy; time_to_live null clears the TTL [REC].
    let patched = api.call("PATCH", &format!("/secrets/{once}"), Some(json!({"ephemeral_policy": {"time_to_live": null, "expires_once_accessed": true, "action": "delete"}}))).await.body;
    assert_eq!(
        patched["ephemeral_policy"],
        json!({"time_to_live": null, "expires_once_accessed": true, "action": "delete"})
    );

    // A secret with a policy is gone right after DELETE (404), as recorded.
    assert_eq!(
        api.call("DELETE", &format!("/secrets/{once}"), None)
            .await
            .status,
        204
    );
    let gone = api.get(&format!("/secrets/{once}")).await;
    assert_eq!(
        gone.body,
        json!({"message": "resource is not found", "resource": "secret", "resource_id": once, "type": "not_found"})
    );

    // The clock through the admin endpoint; soft-deleted secrets are purged after 7 days.
    let plain = api.create_secret("plain", json!({})).await;
    api.call("DELETE", &format!("/secrets/{plain}"), None).await;
    let admin = emulator_support::admin_client();
    let clock: Value = emulator_support::admin_json(
        admin
            .post(format!("{}/emulator/clock", emu.base_url()))
            .json(&json!({"advance_seconds": 7.0 * 86400.0})),
    )
    .await;
    assert_eq!(clock["frozen"], true);
    assert_eq!(api.get(&format!("/secrets/{plain}")).await.status, 404);
    let bad = admin
        .post(format!("{}/emulator/clock", emu.base_url()))
        .json(&json!({"resume": true, "freeze": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn ephemeral_secrets_can_be_soft_deleted_when_configured() {
    let config = EmulatorConfig::scaleway_for_tests(ScalewayEmulatorConfig {
        account_options: AccountOptions {
            purge_ephemeral_on_delete: false,
        },
        ..ScalewayEmulatorConfig::default()
    });
    let emu = spawn(config).await.unwrap();
    let api = Api::new(&emu);
    let id = api
        .create_secret(
            "eph",
            json!({"ephemeral_policy": {"time_to_live": "60s", "action": "delete"}}),
        )
        .await;
    api.call("DELETE", &format!("/secrets/{id}"), None).await;
    let a = api.get(&format!("/secrets/{id}")).await;
    assert_eq!(a.status, 200);
    assert!(a.body["deletion_requested_at"].is_string());
}

#[tokio::test]
async fn key_value_payloads_are_validated() {
    let (_emu, api) = emulator().await;
    let id = api.create_secret("kv", json!({"type": "key_value"})).await;
    assert_eq!(
        api.add_version(&id, br#"{"key": "value"}"#).await.status,
        200
    );
    let nested = api
        .add_version(&id, br#"{"key": "value", "invalid": {}}"#)
        .await;
    assert_eq!(
        nested.body,
        json!({"details": [{"argument_name": "data", "help_message": "- invalid: Invalid type. Expected: string, given: object\n", "reason": "format"}], "message": "invalid argument(s)", "type": "invalid_arguments"})
    );
    assert_eq!(
        api.get(&format!("/secrets/{id}")).await.body["version_count"],
        1
    );
}

#[tokio::test]
async fn state_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emulator-state.json");
    let config = || EmulatorConfig {
        state_file: Some(path.clone()),
        ..EmulatorConfig::for_tests()
    };
    let emu = spawn(config()).await.unwrap();
    let api = Api::new(&emu);
    let id = api
        .create_secret("durable", json!({"tags": ["t"], "description": "kept"}))
        .await;
    api.add_version(&id, b"first").await;
    api.add_version(&id, b"second").await;
    api.call("DELETE", &format!("/secrets/{id}/versions/1"), None)
        .await;
    let before = api.get(&format!("/secrets/{id}")).await.body;
    emu.shutdown().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("second"),
        "payloads are not stored in clear text"
    );

    let emu = spawn(config()).await.unwrap();
    let api = Api::new(&emu);
    assert_eq!(api.get(&format!("/secrets/{id}")).await.body, before);
    assert_eq!(unb64(&api.access(&id, "2").await.body["data"]), b"second");
    assert_eq!(
        api.get(&format!("/secrets/{id}/versions/1")).await.body["status"],
        "scheduled_for_deletion"
    );
    assert_eq!(
        api.add_version(&id, b"third").await.body["revision"],
        3,
        "numbers are never reused"
    );
    // Changes are saved in the background too, without a shutdown.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains("\"revision\":3"));
    drop(emu);

    // A corrupt state file is refused, never overwritten.
    std::fs::write(&path, b"{ broken").unwrap();
    assert!(spawn(config()).await.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"{ broken");
}

#[tokio::test]
async fn a_policy_without_action_echoes_the_zero_value() {
    let (_emu, api) = emulator().await;
    let id = api
        .create_secret(
            "no-action",
            json!({"ephemeral_policy": {"time_to_live": "90s"}}),
        )
        .await;
    let secret = api.get(&format!("/secrets/{id}")).await.body;
    assert_eq!(
        secret["ephemeral_policy"],
        json!({"time_to_live": "90s", "expires_once_accessed": null, "action": "unknown_action"})
    );
    let v = api.add_version(&id, b"x").await.body;
    assert_eq!(v["ephemeral_properties"]["action"], "unknown_action");
    assert_eq!(
        v["ephemeral_properties"]["expires_at"],
        "2026-07-03T12:01:30.000000Z"
    );
}
