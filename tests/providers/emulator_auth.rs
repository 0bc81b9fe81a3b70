//! `X-Auth-Token`: required always; lenient by default; strict with `--token TOKEN=PROJECT_ID`.

use crate::support::emulator as emulator_support;

use emulator_support::{Api, OTHER_PROJECT, PROJECT};
use keyward::emulator::{EmulatorConfig, ScalewayEmulatorConfig, spawn};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn lenient_mode_needs_a_token_but_any_token_and_project_work() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let anon = Api::new(&emu).token(None);
    let a = anon.get("/secrets").await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body,
        json!({"message": "authentication is denied", "method": "unknown_method", "reason": "not_found", "type": "denied_authentication"})
    );
    assert_eq!(
        Api::new(&emu).token(Some("")).get("/secrets").await.status,
        401
    );
    let any = Api::new(&emu).token(Some("whatever"));
    let created = any
        .call(
            "POST",
            "/secrets",
            Some(json!({"project_id": OTHER_PROJECT, "name": "x"})),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(emu.request_counts().count("ListSecrets", 401), 2);
}

#[tokio::test]
async fn strict_mode_confines_each_token_to_its_project() {
    let project = Uuid::parse_str(PROJECT).unwrap();
    let other = Uuid::parse_str(OTHER_PROJECT).unwrap();
    let config = EmulatorConfig::scaleway_for_tests(ScalewayEmulatorConfig {
        tokens: vec![("token-a".into(), project), ("token-b".into(), other)],
        ..ScalewayEmulatorConfig::default()
    });
    let emu = spawn(config).await.unwrap();
    let a = Api::new(&emu).token(Some("token-a"));
    let b = Api::new(&emu).token(Some("token-b"));

    let unknown = Api::new(&emu).token(Some("nope")).get("/secrets").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.body["type"], "denied_authentication");
    assert_eq!(unknown.body["method"], "api_key");
    assert_eq!(unknown.body["reason"], "invalid_argument");

    let mine = a.create_secret("mine", json!({})).await;
    assert_eq!(a.add_version(&mine, b"v").await.status, 200);
    let theirs = b
        .call(
            "POST",
            "/secrets",
            Some(json!({"project_id": OTHER_PROJECT, "name": "theirs"})),
        )
        .await;
    assert_eq!(theirs.status, 200);

    // Creating in someone else's project.
    let denied = b
        .call(
            "POST",
            "/secrets",
            Some(json!({"project_id": PROJECT, "name": "sneaky"})),
        )
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.body["type"], "permissions_denied");
    assert_eq!(denied.body["message"], "insufficient permissions");
    assert!(
        denied.body["details"][0]["resource"].is_string()
            && denied.body["details"][0]["action"].is_string()
    );

    // Every operation on another project's secret.
    for (method, path) in [
        ("GET", format!("/secrets/{mine}")),
        ("DELETE", format!("/secrets/{mine}")),
        ("GET", format!("/secrets/{mine}/versions")),
        ("GET", format!("/secrets/{mine}/versions/1")),
        ("GET", format!("/secrets/{mine}/versions/latest/access")),
        ("POST", format!("/secrets/{mine}/protect")),
    ] {
        let r = b
            .call(
                method,
                &path,
                if method == "POST" {
                    Some(json!({}))
                } else {
                    None
                },
            )
            .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    let patch = b
        .call(
            "PATCH",
            &format!("/secrets/{mine}"),
            Some(json!({"name": "stolen"})),
        )
        .await;
    assert_eq!(patch.status, 403);
    assert_eq!(
        a.get(&format!("/secrets/{mine}")).await.body["name"],
        "mine",
        "nothing changed"
    );

    // Listings are scoped to the token's project; asking for another project is refused.
    let listed = b.get("/secrets").await;
    assert_eq!(listed.body["total_count"], 1);
    assert_eq!(listed.body["secrets"][0]["name"], "theirs");
    assert_eq!(
        b.get(&format!("/secrets?project_id={PROJECT}"))
            .await
            .status,
        403
    );
    assert_eq!(
        a.get(&format!("/secrets?project_id={PROJECT}")).await.body["total_count"],
        1
    );
    assert_eq!(
        b.get("/secrets-by-path/versions/latest/access?secret_name=mine&secret_path=/")
            .await
            .status,
        404,
        "by-path lookups only see the token's project"
    );
    assert_eq!(
        a.get("/secrets-by-path/versions/latest/access?secret_name=mine&secret_path=/")
            .await
            .status,
        200
    );
}
