//! The Thalassa emulator over HTTP: every endpoint of the reference
//! (`shared/docs/thalassa-secrets-manager-api.md`), organisation and project scoping, personal access
//! tokens and OIDC client credentials with expiry, KMS key states, version 1 on create, destroy,
//! the shared faults, per-secret counts, the state file and the binary.

use crate::support::emulator::{Answer, b64, unb64};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use keyward::emulator::thalassa::{DEFAULT_KEY, OidcClient};
use keyward::emulator::{
    EmulatorConfig, EmulatorHandle, ErrorFault, ThalassaEmulatorConfig, spawn,
};
use serde_json::{Value, json};

const ORG: &str = "org-keyward";
const REGION: &str = "nl-01";

async fn emulator() -> EmulatorHandle {
    emulator_with(ThalassaEmulatorConfig::default()).await
}

async fn emulator_with(config: ThalassaEmulatorConfig) -> EmulatorHandle {
    spawn(EmulatorConfig::thalassa_for_tests(config))
        .await
        .expect("emulator")
}

/// A caller: its credentials, organisation and project, plus extra headers.
#[derive(Clone)]
struct Th {
    base: String,
    client: reqwest::Client,
    authorization: Option<String>,
    organisation: Option<String>,
    project: Option<String>,
    headers: Vec<(&'static str, String)>,
}

impl Th {
    fn new(emu: &EmulatorHandle) -> Self {
        Self {
            base: emu.base_url(),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            authorization: Some("Token pat-test".into()),
            organisation: Some(ORG.into()),
            project: None,
            headers: Vec::new(),
        }
    }

    fn auth(&self, authorization: Option<&str>) -> Self {
        Self {
            authorization: authorization.map(str::to_string),
            ..self.clone()
        }
    }

    fn org(&self, organisation: Option<&str>) -> Self {
        Self {
            organisation: organisation.map(str::to_string),
            ..self.clone()
        }
    }

    fn project(&self, project: Option<&str>) -> Self {
        Self {
            project: project.map(str::to_string),
            ..self.clone()
        }
    }

    fn header(&self, name: &'static str, value: &str) -> Self {
        let mut next = self.clone();
        next.headers.push((name, value.to_string()));
        next
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", self.base),
        );
        req = req.header("Accept", "application/json");
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a);
        }
        if let Some(o) = &self.organisation {
            req = req.header("X-Organisation-Identity", o);
        }
        if let Some(p) = &self.project {
            req = req.header("X-Project-Identity", p);
        }
        for (k, v) in &self.headers {
            req = req.header(*k, v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request reaches the emulator");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_default();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    async fn create(&self, path: &str, value: &[u8]) -> Answer {
        self.create_with(json!({"path": path, "secretString": b64(value)}))
            .await
    }

    async fn create_with(&self, mut body: Value) -> Answer {
        if body.get("kmsKeyIdentity").is_none() {
            body["kmsKeyIdentity"] = json!(DEFAULT_KEY);
        }
        self.call("POST", &secrets(), Some(body)).await
    }

    async fn metadata(&self, path: &str) -> Answer {
        self.get(&format!("{}?includeVersions=true", secret(path)))
            .await
    }

    async fn put(&self, path: &str, value: &[u8]) -> Answer {
        self.call(
            "POST",
            &format!("{}/versions", secret(path)),
            Some(json!({"path": path, "secretString": b64(value)})),
        )
        .await
    }

    async fn reveal(&self, path: &str, version: Option<u32>) -> Answer {
        let body = match version {
            Some(v) => json!({"path": path, "version": v}),
            None => json!({"path": path}),
        };
        self.call("POST", &format!("{}/value", secret(path)), Some(body))
            .await
    }
}

fn secrets() -> String {
    format!("/v1/secrets/{REGION}/secrets")
}

fn secret(path: &str) -> String {
    format!("/v1/secrets/{REGION}/secret{path}")
}

async fn admin(emu: &EmulatorHandle, method: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", emu.base_url()),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn set_key_status(emu: &EmulatorHandle, key: &str, status: &str) {
    let (code, body) = admin(
        emu,
        "PUT",
        &format!("/emulator/thalassa/keys/{key}/status"),
        json!({"status": status}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], status);
}

fn versions_of(metadata: &Value) -> Vec<(u64, String, Option<String>)> {
    metadata["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["status"].as_str().unwrap().to_string(),
                v["stage"].as_str().map(str::to_string),
            )
        })
        .collect()
}

// ---------- the secrets endpoints ----------

#[tokio::test]
async fn create_makes_version_1_and_put_adds_current_versions() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    let created = th
        .create_with(json!({
            "path": "/app/prod/db/password",
            "secretString": b64(b"v1-value"),
            "description": "db password",
            "labels": {"keyward.dev/cluster": "c-1", "keyward.dev/owner": "team/db"},
            "annotations": {"note": "made by a test"},
        }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let s = &created.body;
    assert_eq!(s["path"], "/app/prod/db/password");
    assert_eq!(s["currentVersion"], 1);
    assert_eq!(s["description"], "db password");
    assert_eq!(s["labels"]["keyward.dev/owner"], "team/db");
    assert_eq!(s["kmsKey"]["identity"], DEFAULT_KEY);
    assert_eq!(s["kmsKey"]["status"], "active");
    assert_eq!(s["region"]["slug"], REGION);
    assert!(s.get("versions").is_none(), "versions only when asked");
    assert!(s["createdAt"].as_str().unwrap().ends_with('Z'));

    let put = th.put("/app/prod/db/password", b"v2-value").await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        put.body,
        json!({"path": "/app/prod/db/password", "version": 2})
    );

    let meta = th.metadata("/app/prod/db/password").await;
    assert_eq!(meta.status, 200);
    assert_eq!(meta.body["currentVersion"], 2);
    assert_eq!(
        versions_of(&meta.body),
        vec![
            (2, "active".into(), Some("current".into())),
            (1, "active".into(), None),
        ]
    );
    assert_eq!(meta.body["versions"][0]["valueFormat"], "string");

    let current = th.reveal("/app/prod/db/password", None).await;
    assert_eq!(current.status, 200, "{}", current.body);
    assert_eq!(current.body["version"], 2);
    assert_eq!(unb64(&current.body["secretString"]), b"v2-value");
    assert_eq!(current.body["kmsKeyIdentity"], DEFAULT_KEY);
    assert_eq!(current.body["kmsKeyVersion"], "1");
    let first = th.reveal("/app/prod/db/password", Some(1)).await;
    assert_eq!(unb64(&first.body["secretString"]), b"v1-value");
    // The docs' first example sends no body at all.
    let bare = th
        .call(
            "POST",
            &format!("{}/value", secret("/app/prod/db/password")),
            None,
        )
        .await;
    assert_eq!(bare.body["version"], 2);

    let after = th.metadata("/app/prod/db/password").await.body;
    assert!(after["lastAccessedAt"].is_string(), "reveals are recorded");
    assert!(after["versions"][1]["lastAccessedAt"].is_string());

    assert_eq!(
        th.create("/app/prod/db/password", b"again").await.status,
        409
    );
}

#[tokio::test]
async fn key_values_generated_values_and_refused_inputs() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    let kv = th
        .create_with(
            json!({"path": "/kv", "secretKeyValues": {"user": b64(b"admin"), "pass": b64(b"pw")}}),
        )
        .await;
    assert_eq!(kv.status, 201, "{}", kv.body);
    let read = th.reveal("/kv", None).await.body;
    assert_eq!(unb64(&read["secretKeyValues"]["user"]), b"admin");
    assert!(read.get("secretString").is_none());
    assert_eq!(
        th.metadata("/kv").await.body["versions"][0]["valueFormat"],
        "keyValue"
    );

    let generated = th
        .create_with(json!({"path": "/gen", "generateSecret": {"byteLength": 32}}))
        .await;
    assert_eq!(generated.status, 201);
    assert_eq!(
        unb64(&th.reveal("/gen", None).await.body["secretString"]).len(),
        32
    );
    // A version may change format.
    assert_eq!(th.put("/gen", b"plain now").await.status, 200);

    for (body, why) in [
        (json!({"path": "/x"}), "no value"),
        (
            json!({"path": "/x", "secretString": b64(b"a"), "generateSecret": {"byteLength": 16}}),
            "two values",
        ),
        (json!({"path": "/x", "secretString": "***"}), "bad base64"),
        (
            json!({"path": "/x", "secretString": b64(&[7u8; 4097])}),
            "too long",
        ),
        (
            json!({"path": "/x", "generateSecret": {"byteLength": 15}}),
            "too short to generate",
        ),
        (
            json!({"path": "x", "secretString": b64(b"a")}),
            "no leading slash",
        ),
        (
            json!({"path": "/x/", "secretString": b64(b"a")}),
            "trailing slash",
        ),
        (
            json!({"path": "/a//b", "secretString": b64(b"a")}),
            "double slash",
        ),
        (json!({"path": "/a b", "secretString": b64(b"a")}), "space"),
        (json!({"secretString": b64(b"a")}), "no path"),
        (
            json!({"path": "/x", "secretString": b64(b"a"), "kmsKeyIdentity": ""}),
            "no key",
        ),
    ] {
        let a = th.create_with(body).await;
        assert_eq!(a.status, 400, "{why}: {}", a.body);
        assert!(a.body["message"].is_string(), "{why}");
    }
    let mismatch = th
        .call(
            "POST",
            &format!("{}/versions", secret("/gen")),
            Some(json!({"path": "/other", "secretString": b64(b"a")})),
        )
        .await;
    assert_eq!(mismatch.status, 400);
    // The docs' curl example leaves `path` out of the body.
    let no_path = th
        .call(
            "POST",
            &format!("{}/versions", secret("/gen")),
            Some(json!({"secretString": b64(b"a")})),
        )
        .await;
    assert_eq!(no_path.body["version"], 3);
    assert_eq!(emu.secret_count(), 2);
}

#[tokio::test]
async fn destroy_version_and_delete_secret() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    th.create("/d", b"one").await;
    th.put("/d", b"two").await;
    th.put("/d", b"three").await;
    let destroy = |v: &str| {
        let th = th.clone();
        let url = format!("{}/versions?version={v}", secret("/d"));
        async move { th.call("DELETE", &url, None).await }
    };
    let a = destroy("2").await;
    assert_eq!((a.status, &a.body), (204, &Value::Null));
    assert_eq!(
        destroy("2").await.status,
        204,
        "destroying again is harmless"
    );
    assert_eq!(destroy("9").await.status, 404);
    assert_eq!(destroy("0").await.status, 400);
    let meta = th.metadata("/d").await.body;
    assert_eq!(
        versions_of(&meta),
        vec![
            (3, "active".into(), Some("current".into())),
            (2, "destroyed".into(), None),
            (1, "active".into(), None),
        ]
    );
    assert!(meta["versions"][1]["destroyedAt"].is_string());
    assert_eq!(th.reveal("/d", Some(2)).await.status, 400);
    assert_eq!(th.reveal("/d", Some(7)).await.status, 404);
    assert_eq!(th.reveal("/d", Some(1)).await.status, 200);

    // Destroying the current version moves `current` to the highest active one.
    assert_eq!(destroy("3").await.status, 204);
    assert_eq!(th.metadata("/d").await.body["currentVersion"], 1);
    assert_eq!(th.reveal("/d", None).await.body["version"], 1);
    assert_eq!(
        th.put("/d", b"four").await.body["version"],
        4,
        "numbers are not reused"
    );

    let gone = th.call("DELETE", &secret("/d"), None).await;
    assert_eq!(gone.status, 204);
    assert_eq!(th.get(&secret("/d")).await.status, 404);
    assert_eq!(th.call("DELETE", &secret("/d"), None).await.status, 404);
    // The path is free again at once, and starts over at version 1.
    assert_eq!(th.create("/d", b"new").await.body["currentVersion"], 1);
}

#[tokio::test]
async fn browse_and_flat_list() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    for p in [
        "/app/prod/db/password",
        "/app/prod/api-key",
        "/app/dev/api-key",
        "/apple",
        "/top",
    ] {
        assert_eq!(th.create(p, b"v").await.status, 201);
    }
    let level = th.get(&format!("{}?path=/app/prod/", secrets())).await.body;
    assert_eq!(level["path"], "/app/prod/");
    assert_eq!(level["prefixes"], json!(["/app/prod/db/"]));
    assert_eq!(level["secrets"][0]["path"], "/app/prod/api-key");
    assert_eq!(level["secrets"].as_array().unwrap().len(), 1);
    let same = th.get(&format!("{}?path=/app/prod", secrets())).await.body;
    assert_eq!(
        same["prefixes"], level["prefixes"],
        "with or without the slash"
    );
    let root = th.get(&secrets()).await.body;
    assert_eq!(root["path"], "/");
    assert_eq!(root["prefixes"], json!(["/app/"]));
    let top: Vec<&str> = root["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["/apple", "/top"]);

    let listed = th
        .get(&format!("{}?pathPrefix=/app/", secrets()))
        .await
        .body;
    let paths: Vec<&str> = listed
        .as_array()
        .expect("a bare array")
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/app/dev/api-key",
            "/app/prod/api-key",
            "/app/prod/db/password"
        ]
    );
    assert_eq!(listed[0]["kmsKey"]["identity"], DEFAULT_KEY);
    let all = th.get(&format!("{}?pathPrefix=/", secrets())).await.body;
    assert_eq!(all.as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn access_policies_gate_values_only() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    th.create("/p", b"v").await;
    let url = format!("{}/policy", secret("/p"));
    let policy = json!({"conditions": [
        {"type": "ip", "effect": "allow", "cidrs": ["10.0.0.0/8"]},
        {"type": "ip", "effect": "deny", "cidrs": ["10.6.6.6/32"]},
    ]});
    let set = th
        .call("PUT", &url, Some(json!({"accessPolicy": policy})))
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["accessPolicy"], policy);
    let from = |ip: &str| th.header("X-Forwarded-For", &format!("{ip}, 192.0.2.1"));
    assert_eq!(from("10.1.1.1").reveal("/p", None).await.status, 200);
    assert_eq!(from("10.6.6.6").reveal("/p", None).await.status, 403);
    assert_eq!(from("10.6.6.6").put("/p", b"w").await.status, 403);
    assert_eq!(
        th.reveal("/p", None).await.status,
        403,
        "loopback is not in 10/8"
    );
    assert_eq!(
        from("10.6.6.6").metadata("/p").await.status,
        200,
        "metadata is not gated"
    );
    // The SDK's statements model is stored and echoed, not enforced.
    let statements = json!({"statements": [{"effect": "allow", "actions": ["secrets:get-value"], "principals": ["team:platform"]}]});
    let set = th
        .call("PUT", &url, Some(json!({"accessPolicy": statements})))
        .await;
    assert_eq!(set.body["accessPolicy"], statements);
    assert_eq!(th.reveal("/p", None).await.status, 200);
    let cleared = th
        .call("PUT", &url, Some(json!({"accessPolicy": null})))
        .await;
    assert_eq!(cleared.status, 200);
    assert!(cleared.body.get("accessPolicy").is_none());
    for bad in [
        json!({}),
        json!({"accessPolicy": {"conditions": [{"type": "ip", "effect": "allow"}]}}),
    ] {
        assert_eq!(th.call("PUT", &url, Some(bad)).await.status, 400);
    }
    // A policy may come with the create call.
    let created = th
        .create_with(json!({"path": "/p2", "secretString": b64(b"v"), "accessPolicy": policy}))
        .await;
    assert_eq!(created.body["accessPolicy"], policy);
    assert_eq!(th.reveal("/p2", None).await.status, 403);
}

#[tokio::test]
async fn routes_methods_and_query_addressing() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    th.create("/app/value", b"a secret named value").await;
    th.create("/app", b"the parent").await;
    // GET is always metadata of the whole path, POST …/value reveals the parent.
    assert_eq!(
        th.get(&secret("/app/value")).await.body["path"],
        "/app/value"
    );
    assert_eq!(
        unb64(
            &th.call("POST", &format!("{}/value", secret("/app")), None)
                .await
                .body["secretString"]
        ),
        b"the parent"
    );
    // The path as a query parameter.
    assert_eq!(
        th.get(&format!("/v1/secrets/{REGION}/secret?path=/app/value"))
            .await
            .body["path"],
        "/app/value"
    );
    assert_eq!(th.call("POST", &secret("/app"), None).await.status, 405);
    assert_eq!(th.call("PATCH", &secret("/app"), None).await.status, 405);
    assert_eq!(th.get("/v1/nothing").await.status, 404);
    assert_eq!(
        th.get("/v1/secrets/mars-1/secret/app").await.status,
        404,
        "unknown region"
    );
    let counts = emu.request_counts();
    assert_eq!(counts.count("GetSecretValue", 200), 1);
    assert_eq!(counts.count("GetSecret", 200), 2);
    assert_eq!(counts.count("Unrouted", 404), 1);
}

// ---------- scoping and credentials ----------

#[tokio::test]
async fn organisation_and_project_scopes_are_apart() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    assert_eq!(th.create("/shared-name", b"org level").await.status, 201);
    let in_project = th.project(Some("proj-a"));
    assert_eq!(
        in_project.create("/shared-name", b"project a").await.status,
        201,
        "another scope"
    );
    assert_eq!(
        unb64(&in_project.reveal("/shared-name", None).await.body["secretString"]),
        b"project a"
    );
    assert_eq!(
        unb64(&th.reveal("/shared-name", None).await.body["secretString"]),
        b"org level"
    );
    in_project.create("/only-in-a", b"x").await;
    assert_eq!(
        th.get(&secret("/only-in-a")).await.status,
        404,
        "wrong project scope is 404"
    );
    assert_eq!(
        th.project(Some("proj-b"))
            .get(&secret("/only-in-a"))
            .await
            .status,
        404
    );
    let other_org = th.org(Some("org-other"));
    assert_eq!(other_org.get(&secret("/shared-name")).await.status, 404);
    let listed = in_project
        .get(&format!("{}?pathPrefix=/", secrets()))
        .await
        .body;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(
        other_org
            .get(&format!("{}?pathPrefix=/", secrets()))
            .await
            .body,
        json!([])
    );

    assert_eq!(th.auth(None).get(&secret("/shared-name")).await.status, 401);
    assert_eq!(
        th.auth(Some("Token "))
            .get(&secret("/shared-name"))
            .await
            .status,
        401
    );
    assert_eq!(
        th.auth(Some("Basic dTpw"))
            .get(&secret("/shared-name"))
            .await
            .status,
        401
    );
    assert_eq!(
        th.auth(Some("Bearer anything"))
            .get(&secret("/shared-name"))
            .await
            .status,
        200,
        "lenient"
    );
    let no_org = th.org(None).get(&secret("/shared-name")).await;
    assert_eq!(no_org.status, 400);
    assert!(
        no_org.body["message"]
            .as_str()
            .unwrap()
            .contains("X-Organisation-Identity")
    );
}

#[tokio::test]
async fn strict_tokens_bind_an_organisation() {
    let emu = emulator_with(ThalassaEmulatorConfig {
        personal_tokens: vec![("pat-good".into(), ORG.into())],
        ..ThalassaEmulatorConfig::default()
    })
    .await;
    let th = Th::new(&emu).auth(Some("Token pat-good"));
    assert_eq!(th.create("/s", b"v").await.status, 201);
    assert_eq!(
        th.auth(Some("Token pat-bad"))
            .get(&secret("/s"))
            .await
            .status,
        401
    );
    assert_eq!(
        th.auth(Some("Bearer pat-good"))
            .get(&secret("/s"))
            .await
            .status,
        401
    );
    assert_eq!(
        th.org(Some("org-other")).get(&secret("/s")).await.status,
        403
    );
    assert_eq!(emu.request_counts().count("GetSecret", 401), 2);
}

#[tokio::test]
async fn oidc_client_credentials_give_expiring_bearer_tokens() {
    let emu = emulator_with(ThalassaEmulatorConfig {
        clients: vec![OidcClient {
            id: "keyward-ci".into(),
            secret: "s3cret".into(),
            organisation: ORG.into(),
        }],
        token_lifetime: jiff::SignedDuration::from_secs(300),
        ..ThalassaEmulatorConfig::default()
    })
    .await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token_url = format!("{}/oidc/token", emu.base_url());
    let exchange = |id: &str, secret: &str| {
        let request = http
            .post(&token_url)
            .basic_auth(id, Some(secret))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials");
        async move {
            let resp = request.send().await.unwrap();
            let status = resp.status().as_u16();
            let cache = resp.headers().get("cache-control").cloned();
            (status, cache, resp.json::<Value>().await.unwrap())
        }
    };
    let (status, cache, token) = exchange("keyward-ci", "s3cret").await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(cache.unwrap(), "no-store");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 300);
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let th = Th::new(&emu).auth(Some(&bearer));
    assert_eq!(th.create("/oidc", b"v").await.status, 201);
    assert_eq!(
        th.org(Some("org-other")).get(&secret("/oidc")).await.status,
        403
    );

    let (status, _, err) = exchange("keyward-ci", "wrong").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Credentials in the form body work too.
    let in_body = http
        .post(&token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=keyward-ci&client_secret=s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(in_body.status().as_u16(), 200);
    let wrong_grant = http
        .post(&token_url)
        .basic_auth("keyward-ci", Some("s3cret"))
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_grant.status().as_u16(), 400);

    // The token expires on the emulator's clock.
    emu.advance_clock(jiff::SignedDuration::from_secs(301));
    let expired = th.get(&secret("/oidc")).await;
    assert_eq!(expired.status, 401);
    assert!(
        expired.body["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let (_, _, fresh) = exchange("keyward-ci", "s3cret").await;
    let th = th.auth(Some(&format!(
        "Bearer {}",
        fresh["access_token"].as_str().unwrap()
    )));
    assert_eq!(th.get(&secret("/oidc")).await.status, 200);
    assert_eq!(emu.request_counts().count("CreateToken", 200), 3);
}

#[tokio::test]
async fn feature_gates_refuse_with_403() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    th.create("/g", b"v").await;
    let features = format!("/emulator/thalassa/organisations/{ORG}/features");
    admin(&emu, "PUT", &features, json!({"secrets": false})).await;
    let a = th.get(&secret("/g")).await;
    assert_eq!(a.status, 403);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("Secrets Manager")
    );
    assert_eq!(
        th.get(&format!("/v1/kms/{REGION}/keys")).await.status,
        200,
        "KMS still works"
    );
    assert_eq!(
        th.org(Some("org-other")).get(&secrets()).await.status,
        200,
        "per organisation"
    );
    admin(
        &emu,
        "PUT",
        &features,
        json!({"secrets": true, "kms": false}),
    )
    .await;
    let a = th.get(&secret("/g")).await;
    assert_eq!(a.status, 403);
    assert!(a.body["message"].as_str().unwrap().contains("KMS"));
    assert_eq!(th.get(&format!("/v1/kms/{REGION}/keys")).await.status, 403);
    assert_eq!(
        th.get("/v1/kms/summary").await.body["featureEnabled"],
        false
    );
    admin(&emu, "PUT", &features, json!({"kms": true})).await;
    assert_eq!(th.get(&secret("/g")).await.status, 200);
}

// ---------- KMS keys and their states ----------

#[tokio::test]
async fn a_disabled_or_deleted_key_blocks_values_but_not_metadata() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    th.create("/k", b"one").await;
    th.put("/k", b"two").await;
    for status in ["disabled", "pending_deletion"] {
        set_key_status(&emu, DEFAULT_KEY, status).await;
        let reveal = th.reveal("/k", None).await;
        assert_eq!(reveal.status, 400, "{status}: {}", reveal.body);
        let message = reveal.body["message"].as_str().unwrap();
        assert!(
            message.contains("KMS key") && message.contains(DEFAULT_KEY),
            "{message}"
        );
        assert_eq!(th.put("/k", b"three").await.status, 400, "{status}");
        assert_eq!(
            th.create("/k2", b"v").await.status,
            400,
            "{status}: create needs an active key"
        );
        let meta = th.metadata("/k").await;
        assert_eq!(meta.status, 200, "{status}");
        assert_eq!(meta.body["kmsKey"]["status"], status);
        assert_eq!(
            th.get(&format!("{}?pathPrefix=/", secrets())).await.status,
            200
        );
        assert_eq!(th.get(&secrets()).await.status, 200);
        assert_eq!(
            th.call(
                "PUT",
                &format!("{}/policy", secret("/k")),
                Some(json!({"accessPolicy": null}))
            )
            .await
            .status,
            200
        );
    }
    assert_eq!(
        th.call(
            "DELETE",
            &format!("{}/versions?version=1", secret("/k")),
            None
        )
        .await
        .status,
        204,
        "destroying works with a key pending deletion"
    );
    set_key_status(&emu, DEFAULT_KEY, "active").await;
    assert_eq!(
        unb64(&th.reveal("/k", None).await.body["secretString"]),
        b"two"
    );
    assert_eq!(th.put("/k", b"three").await.body["version"], 3);
}

#[tokio::test]
async fn the_kms_api_moves_keys_through_their_lifecycle() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    let keys = format!("/v1/kms/{REGION}/keys");
    let created = th
        .call(
            "POST",
            &keys,
            Some(json!({"name": "App Secrets", "keyType": "aes128-gcm96"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["identity"].as_str().unwrap().to_string();
    assert_eq!(created.body["slug"], "app-secrets");
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["organisation"]["identity"], ORG);
    // Bind a secret by the key's slug.
    let bound = th
        .create_with(
            json!({"path": "/bound", "secretString": b64(b"v"), "kmsKeyIdentity": "app-secrets"}),
        )
        .await;
    assert_eq!(bound.status, 201, "{}", bound.body);
    assert_eq!(bound.body["kmsKey"]["identity"], id);

    let key_url = format!("{keys}/{id}");
    let post = |action: &str| {
        let (th, url) = (th.clone(), format!("{key_url}/{action}"));
        async move { th.call("POST", &url, None).await }
    };
    assert_eq!(post("disable").await.body["status"], "disabled");
    assert_eq!(post("disable").await.status, 400, "already disabled");
    assert_eq!(th.reveal("/bound", None).await.status, 400);
    assert_eq!(post("enable").await.body["status"], "active");
    assert_eq!(th.reveal("/bound", None).await.status, 200);
    let rotated = post("rotate").await.body;
    assert_eq!(rotated["latestVersion"], 2);
    th.put("/bound", b"w").await;
    assert_eq!(th.reveal("/bound", None).await.body["kmsKeyVersion"], "2");
    assert_eq!(
        th.reveal("/bound", Some(1)).await.body["kmsKeyVersion"],
        "1"
    );

    let deleted = th.call("DELETE", &key_url, None).await;
    assert_eq!(deleted.body["status"], "pending_deletion");
    assert!(deleted.body["deletionScheduledAt"].is_string());
    assert_eq!(
        th.get(&key_url).await.body["status"],
        "pending_deletion",
        "still readable"
    );
    assert_eq!(th.reveal("/bound", None).await.status, 400);
    let cancelled = th
        .call("DELETE", &format!("{key_url}/cancel-deletion"), None)
        .await;
    assert_eq!(cancelled.body["status"], "active");
    assert!(cancelled.body.get("deletionScheduledAt").is_none());

    let rotation = th
        .call(
            "PATCH",
            &format!("{key_url}/rotation"),
            Some(json!({"keyRotationEnabled": true, "rotationPeriodInDays": 90})),
        )
        .await;
    assert_eq!(rotation.body["rotationPeriodInDays"], 90);
    assert_eq!(
        th.call(
            "PATCH",
            &format!("{key_url}/rotation"),
            Some(json!({"rotationPeriodInDays": 0}))
        )
        .await
        .status,
        400
    );
    let listed = th.get(&format!("{keys}?slug=app-secrets")).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let summary = th.get("/v1/kms/summary").await.body;
    assert_eq!(summary["featureEnabled"], true);
    assert_eq!(summary["regions"][0]["totalKeys"], 2);
    assert_eq!(summary["regions"][0]["activeKeys"], 2);
    // Another organisation does not see this organisation's key.
    assert_eq!(th.org(Some("org-other")).get(&key_url).await.status, 404);

    // After 30 days a pending deletion is final.
    th.call("DELETE", &key_url, None).await;
    emu.advance_clock(jiff::SignedDuration::from_hours(30 * 24));
    assert_eq!(th.get(&key_url).await.status, 404);
    assert_eq!(th.reveal("/bound", None).await.status, 400);
    let meta = th.metadata("/bound").await;
    assert_eq!(
        (meta.status, &meta.body["kmsKey"]["status"]),
        (200, &json!("deleted"))
    );
}

#[tokio::test]
async fn creating_needs_an_existing_symmetric_key_in_the_region() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    let missing = th
        .create_with(
            json!({"path": "/x", "secretString": b64(b"v"), "kmsKeyIdentity": "no-such-key"}),
        )
        .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("KMS key")
    );
    let (code, _) = admin(
        &emu,
        "POST",
        "/emulator/thalassa/keys",
        json!({"identity": "signing", "keyType": "ed25519"}),
    )
    .await;
    assert_eq!(code, 201);
    let asymmetric = th
        .create_with(json!({"path": "/x", "secretString": b64(b"v"), "kmsKeyIdentity": "signing"}))
        .await;
    assert_eq!(asymmetric.status, 400);
    // A key of another region.
    admin(
        &emu,
        "PUT",
        "/emulator/thalassa/regions/nl-02",
        json!({"kmsAvailable": true}),
    )
    .await;
    admin(
        &emu,
        "POST",
        "/emulator/thalassa/keys",
        json!({"identity": "far-key", "region": "nl-02"}),
    )
    .await;
    let far = th
        .create_with(json!({"path": "/x", "secretString": b64(b"v"), "kmsKeyIdentity": "far-key"}))
        .await;
    assert_eq!(far.status, 404);
    let keys: Value = reqwest::get(format!("{}/emulator/thalassa/keys", emu.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["identity"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [DEFAULT_KEY, "signing", "far-key"]);
}

#[tokio::test]
async fn without_kms_in_the_region_crypto_calls_are_503_and_metadata_stays() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    th.create("/m", b"v").await;
    admin(
        &emu,
        "PUT",
        &format!("/emulator/thalassa/regions/{REGION}"),
        json!({"kmsAvailable": false}),
    )
    .await;
    for a in [
        th.reveal("/m", None).await,
        th.put("/m", b"w").await,
        th.create("/m2", b"v").await,
    ] {
        assert_eq!(a.status, 503, "{}", a.body);
        assert!(a.body["message"].as_str().unwrap().contains("KMS"));
    }
    assert_eq!(
        th.metadata("/m").await.status,
        200,
        "UNCONFIRMED choice: metadata works"
    );
    assert_eq!(th.get(&format!("/v1/kms/{REGION}/keys")).await.status, 503);
}

// ---------- shared faults, counts, state ----------

#[tokio::test]
async fn shared_faults_apply_by_endpoint_name() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    th.create("/f", b"v").await;
    emu.update_faults(|f| {
        f.errors.insert(
            "GetSecretValue".into(),
            ErrorFault {
                rate: 1.0,
                status: 503,
            },
        );
    })
    .unwrap();
    let a = th.reveal("/f", None).await;
    assert_eq!(a.status, 503);
    assert_eq!(
        a.body["message"], "service unavailable",
        "not the KMS message"
    );
    assert_eq!(
        th.get(&secret("/f")).await.status,
        200,
        "other endpoints unaffected"
    );

    emu.update_faults(|f| {
        f.errors.clear();
        f.rate_limit_per_second = Some(2);
    })
    .unwrap();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..3 {
        let a = th.get(&secret("/f")).await;
        statuses.push(a.status);
        if a.status == 429 {
            retry_after = a.headers.get("retry-after").cloned();
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert!(retry_after.is_some(), "a 429 says when to come back");

    emu.update_faults(|f| {
        f.rate_limit_per_second = None;
        f.drop_rate = 1.0;
    })
    .unwrap();
    let dropped = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}{}", emu.base_url(), secret("/f")))
        .header("Authorization", "Token t")
        .header("X-Organisation-Identity", ORG)
        .send()
        .await;
    let failed = match dropped {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the connection breaks before a complete answer");
    emu.update_faults(|f| f.drop_rate = 0.0).unwrap();

    // The shared "key disabled" switch works by secret path.
    emu.disable_key("/f");
    assert_eq!(th.reveal("/f", None).await.status, 400);
    assert_eq!(th.get(&secret("/f")).await.status, 200);
    emu.enable_key("/f");
    assert_eq!(th.reveal("/f", None).await.status, 200);
    assert!(
        emu.set_faults(keyward::emulator::FaultSettings {
            errors: [(
                "NoSuchEndpoint".to_string(),
                ErrorFault {
                    rate: 1.0,
                    status: 500
                }
            )]
            .into(),
            ..keyward::emulator::FaultSettings::none()
        })
        .is_err(),
        "fault settings name Thalassa's endpoints"
    );
}

#[tokio::test]
async fn requests_are_counted_per_secret_path() {
    let emu = emulator().await;
    let th = Th::new(&emu);
    th.create("/count/a", b"v").await;
    th.create("/count/b", b"v").await;
    emu.reset_request_counts();
    th.reveal("/count/a", None).await;
    th.put("/count/a", b"w").await;
    th.get(&secret("/count/a")).await;
    th.get(&secret("/count/b")).await;
    th.get(&format!("{}?pathPrefix=/", secrets())).await;
    assert_eq!(emu.requests_for_secret("/count/a"), 3);
    assert_eq!(emu.requests_for_secret("/count/b"), 1);
    assert_eq!(emu.request_count(), 5);
    let counts = emu.request_counts();
    assert_eq!(counts.count("PutSecretValue", 200), 1);
    assert_eq!(counts.count("ListSecrets", 200), 1);
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("thalassa.json");
    let config = || EmulatorConfig {
        state_file: Some(state.clone()),
        ..EmulatorConfig::thalassa_for_tests(ThalassaEmulatorConfig::default())
    };
    let emu = spawn(config()).await.unwrap();
    let th = Th::new(&emu);
    th.create_with(json!({"path": "/kept", "secretKeyValues": {"k": b64(b"kv-value")}}))
        .await;
    th.put("/kept", b"second").await;
    th.call(
        "DELETE",
        &format!("{}/versions?version=1", secret("/kept")),
        None,
    )
    .await;
    set_key_status(&emu, DEFAULT_KEY, "disabled").await;
    emu.shutdown().await.unwrap();
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains(r#""provider":"thalassa""#));
    assert!(!saved.contains("kv-value"), "values are stored encoded");

    let emu = spawn(config()).await.unwrap();
    let th = Th::new(&emu);
    let meta = th.metadata("/kept").await.body;
    assert_eq!(
        versions_of(&meta),
        vec![
            (2, "active".into(), Some("current".into())),
            (1, "destroyed".into(), None)
        ]
    );
    assert_eq!(meta["kmsKey"]["status"], "disabled");
    set_key_status(&emu, DEFAULT_KEY, "active").await;
    assert_eq!(
        unb64(&th.reveal("/kept", None).await.body["secretString"]),
        b"second"
    );
    emu.shutdown().await.unwrap();

    let refused = spawn(EmulatorConfig {
        state_file: Some(state.clone()),
        ..EmulatorConfig::for_tests()
    })
    .await;
    assert!(refused.is_err(), "Scaleway refuses Thalassa's state file");
}

// ---------- the binary ----------

fn start_binary(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "emulator",
            "--provider",
            "thalassa",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("keyward binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "printed {line:?}");
    (child, url)
}

fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "exits cleanly on SIGTERM");
}

#[tokio::test]
async fn the_binary_serves_thalassa_with_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let flags = [
        "--thalassa-token",
        "pat-bin=org-bin",
        "--thalassa-client",
        "cid:csecret=org-bin",
        "--thalassa-region",
        "nl-02",
        "--thalassa-kms-key",
        "bin-key",
        "--state",
        state.to_str().unwrap(),
        "--rate-limit",
        "0",
    ];
    let (child, url) = start_binary(&flags);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = |method: reqwest::Method, path: &str, auth: &str| {
        http.request(method, format!("{url}{path}"))
            .header("Authorization", auth.to_string())
            .header("X-Organisation-Identity", "org-bin")
    };
    let created = call(reqwest::Method::POST, "/v1/secrets/nl-02/secrets", "Token pat-bin")
        .json(&json!({"path": "/bin", "kmsKeyIdentity": "bin-key", "secretString": b64(b"from the binary")}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let denied = call(
        reqwest::Method::GET,
        "/v1/secrets/nl-02/secret/bin",
        "Token other",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(denied.status().as_u16(), 401);
    let token: Value = http
        .post(format!("{url}/oidc/token"))
        .basic_auth("cid", Some("csecret"))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    terminate(child);

    let (child, url2) = start_binary(&flags);
    let read: Value = http
        .post(format!("{url2}/v1/secrets/nl-02/secret/bin/value"))
        .header("Authorization", "Token pat-bin")
        .header("X-Organisation-Identity", "org-bin")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(read["secretString"].as_str().unwrap())
            .unwrap(),
        b"from the binary"
    );
    // Access tokens are not kept across restarts (the state file holds no credentials).
    let stale = http
        .get(format!("{url2}/v1/secrets/nl-02/secret/bin"))
        .header("Authorization", bearer)
        .header("X-Organisation-Identity", "org-bin")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 401);
    terminate(child);
}
