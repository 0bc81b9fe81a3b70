//! The Thalassa client: against the Thalassa emulator over loopback (through the provider-neutral
//! trait, as the controller holds it), and against a scripted HTTP server for retries, token renewal,
//! error classification, request shape and secrecy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use keyward::emulator::thalassa::{DEFAULT_KEY, OidcClient};
use keyward::emulator::{
    EmulatorConfig, EmulatorHandle, ErrorFault, ThalassaEmulatorConfig, spawn,
};
use keyward::provider::SecretType;
use keyward::provider::retry::RetryPolicy;
use keyward::provider::thalassa::{Credential, Credentials, ThalassaClient, ThalassaConfig};
use keyward::provider::{
    CallClass, ErrorKind, GateClosed, GatePass, NewSecret, NewVersion, OwnerMark, ProviderError,
    RateSignal, RequestGate, RevisionSelector, SecretId, SecretManager, SecretUpdate,
    VersionStatus,
};
use keyward::secret_value::SecretValue;
use serde_json::{Value, json};

use crate::support::scripted::{Recorder, Reply, capture_logs, json as reply_json, scripted};

const ORG: &str = "org-client";
const REGION: &str = "nl-01";
const CANARY: &str = "canary-thalassa-3b9e-never-print-me";

fn pat(token: &str) -> Credentials {
    Credentials::PersonalAccessToken(Credential::new(token))
}

fn oidc(id: &str, secret: &str) -> Credentials {
    Credentials::OidcClient {
        client_id: id.into(),
        client_secret: Credential::new(secret),
    }
}

fn config(base: &str, project: Option<&str>, credentials: Credentials) -> ThalassaConfig {
    let mut c = ThalassaConfig::new(Some(base), REGION, ORG, project, DEFAULT_KEY, credentials)
        .expect("config");
    c.retry = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        budget: Duration::from_secs(5),
    };
    c.request_timeout = Duration::from_millis(800);
    c.connect_timeout = Duration::from_millis(500);
    c
}

/// The client as the controller holds it.
fn manager(config: ThalassaConfig) -> Arc<dyn SecretManager> {
    Arc::new(ThalassaClient::new(config).expect("client"))
}

async fn emulator(config: ThalassaEmulatorConfig) -> EmulatorHandle {
    spawn(EmulatorConfig::thalassa_for_tests(config))
        .await
        .expect("emulator")
}

fn new_secret(name: &str, path: &str) -> NewSecret {
    NewSecret {
        name: name.into(),
        path: path.into(),
        description: Some("made by a test".into()),
        owner: Some(OwnerMark::for_object("cluster-1", "team", name)),
        kind: SecretType::Opaque,
        ..NewSecret::default()
    }
}

fn value(v: &str) -> NewVersion {
    NewVersion {
        value: SecretValue::from(v),
        description: Some("ignored by Thalassa".into()),
        disable_previous: false,
    }
}

async fn admin(emu: &EmulatorHandle, method: &str, path: &str, body: Value) -> u16 {
    reqwest::Client::builder()
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
        .unwrap()
        .status()
        .as_u16()
}

async fn set_key_status(emu: &EmulatorHandle, status: &str) {
    let path = format!("/emulator/thalassa/keys/{DEFAULT_KEY}/status");
    assert_eq!(
        admin(emu, "PUT", &path, json!({"status": status})).await,
        200
    );
}

// ---------- against the emulator ----------

#[tokio::test]
async fn create_find_version_access_destroy_delete_round_trip() {
    let emu = emulator(ThalassaEmulatorConfig::default()).await;
    let sm = manager(config(&emu.base_url(), None, pat("pat")));
    assert_eq!(sm.provider(), "thalassa");
    assert_eq!(sm.region(), REGION);

    assert_eq!(sm.find_secret("db", "/apps").await.unwrap(), None);
    let created = sm
        .create_secret(&new_secret("db", "/apps"), Some(&value(CANARY)))
        .await
        .unwrap();
    let id = created.secret.id.clone();
    assert_eq!(id, SecretId::new("/apps/db"), "the id is the full path");
    assert_eq!(
        (created.secret.name.as_str(), created.secret.path.as_str()),
        ("db", "/apps")
    );
    assert_eq!(
        created.secret.owner,
        Some(OwnerMark::for_object("cluster-1", "team", "db"))
    );
    assert!(
        created.secret.tags.is_empty(),
        "the mark stays out of the tags"
    );
    assert_eq!(created.secret.key_id.as_deref(), Some(DEFAULT_KEY));
    assert_eq!(created.secret.region, REGION);
    let first = created.initial_version.unwrap();
    assert_eq!(
        (first.revision, first.status, first.latest),
        (1, VersionStatus::Enabled, true)
    );

    let found = sm.find_secret("db", "/apps/").await.unwrap().unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.description, "made by a test");
    assert_eq!(
        sm.find_secret("db", "/").await.unwrap(),
        None,
        "another folder"
    );

    let v2 = sm.create_version(&id, &value("second")).await.unwrap();
    assert_eq!(v2.revision, 2);
    let versions = sm.list_versions(&id).await.unwrap();
    let listed: Vec<(u64, VersionStatus, bool)> = versions
        .iter()
        .map(|v| (v.revision, v.status, v.latest))
        .collect();
    assert_eq!(
        listed,
        [
            (2, VersionStatus::Enabled, true),
            (1, VersionStatus::Enabled, false)
        ]
    );
    assert!(
        versions.iter().all(|v| v.description.is_empty()),
        "no version descriptions"
    );

    for selector in [RevisionSelector::Latest, RevisionSelector::LatestEnabled] {
        let read = sm.access_version(&id, selector).await.unwrap();
        assert_eq!((read.revision, read.value.expose()), (2, &b"second"[..]));
        assert_eq!(read.kind, Some(SecretType::Opaque));
    }
    let read = sm
        .access_version(&id, RevisionSelector::Number(1))
        .await
        .unwrap();
    assert_eq!(read.value.expose(), CANARY.as_bytes());
    assert_eq!(sm.get_secret(&id).await.unwrap().version_count, Some(2));

    let all = sm.list_all_secrets().await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["/apps/db"]
    );
    assert_eq!(all[0].owner, found.owner);
    // The store runtime compares a listed secret with a read one: both must give one fingerprint.
    assert_eq!(
        keyward::stores::snapshot::fingerprint(&all[0]),
        keyward::stores::snapshot::fingerprint(&sm.get_secret(&id).await.unwrap())
    );

    sm.delete_version(&id, 1, Duration::from_secs(3600))
        .await
        .unwrap();
    let versions = sm.list_versions(&id).await.unwrap();
    assert_eq!(versions[1].status, VersionStatus::Destroyed);
    for rev in [1, 9] {
        let err = sm
            .access_version(&id, RevisionSelector::Number(rev))
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::VersionUnreadable,
            "revision {rev}: {err}"
        );
    }

    sm.delete_secret(&id).await.unwrap();
    assert_eq!(
        sm.get_secret(&id).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
    assert_eq!(sm.find_secret("db", "/apps").await.unwrap(), None);
    let err = sm
        .access_version(&id, RevisionSelector::Latest)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::NotFound,
        "the secret is gone, not just a version"
    );
    assert_eq!(
        sm.create_version(&id, &value("x"))
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::NotFound
    );
    assert_eq!(
        sm.delete_secret(&id).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
}

#[tokio::test]
async fn capabilities_and_what_thalassa_does_not_do() {
    let emu = emulator(ThalassaEmulatorConfig::default()).await;
    let sm = manager(config(&emu.base_url(), None, pat("pat")));
    let caps = sm.capabilities();
    assert!(!caps.update_metadata && !caps.protection && !caps.disable_versions);
    assert!(!caps.version_descriptions && !caps.ephemeral_policy && !caps.tags);
    assert!(caps.create_requires_initial_version && caps.owner_marks);
    assert_eq!(caps.listing, keyward::provider::Listing::WithVersions);

    let id = SecretId::new("/x");
    let unsupported = [
        sm.update_secret(&id, &SecretUpdate::default())
            .await
            .unwrap_err(),
        sm.set_protected(&id, true).await.unwrap_err(),
        sm.set_version_enabled(&id, 1, false).await.unwrap_err(),
        sm.create_secret(&new_secret("x", "/"), None)
            .await
            .unwrap_err(),
        sm.create_secret(
            &NewSecret {
                protected: true,
                ..new_secret("x", "/")
            },
            Some(&value("v")),
        )
        .await
        .unwrap_err(),
    ];
    for err in unsupported {
        assert_eq!(err.kind(), &ErrorKind::Unsupported, "{err}");
    }
    assert_eq!(emu.request_count(), 0, "none of them reached the provider");
    // A path Thalassa refuses never reaches the server either.
    let err = sm
        .get_secret(&SecretId::new("/a/../../v1/kms/summary"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidArgument { .. }),
        "{err}"
    );
    assert_eq!(emu.request_count(), 0);
}

#[tokio::test]
async fn key_states_make_value_operations_key_unavailable() {
    let emu = emulator(ThalassaEmulatorConfig::default()).await;
    let sm = manager(config(&emu.base_url(), None, pat("pat")));
    let id = sm
        .create_secret(&new_secret("k", "/"), Some(&value("v1")))
        .await
        .unwrap()
        .secret
        .id;
    for status in ["disabled", "pending_deletion"] {
        set_key_status(&emu, status).await;
        let err = sm
            .access_version(&id, RevisionSelector::Latest)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::KeyUnavailable, "{status}: {err}");
        assert_eq!(err.http_status(), Some(400));
        let err = sm.create_version(&id, &value("v2")).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::KeyUnavailable, "{status}: {err}");
        let err = sm
            .create_secret(&new_secret("other", "/"), Some(&value("v")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::KeyUnavailable, "{status}: {err}");
        let secret = sm.get_secret(&id).await.unwrap();
        assert_eq!(
            secret.key_id.as_deref(),
            Some(DEFAULT_KEY),
            "metadata stays readable"
        );
        assert_eq!(sm.list_versions(&id).await.unwrap().len(), 1);
        assert_eq!(sm.list_all_secrets().await.unwrap().len(), 1);
    }
    set_key_status(&emu, "active").await;
    assert_eq!(
        sm.create_version(&id, &value("v2")).await.unwrap().revision,
        2
    );

    // A store whose key does not exist.
    let mut missing = config(&emu.base_url(), None, pat("pat"));
    missing.kms_key = "no-such-key".into();
    let err = manager(missing)
        .create_secret(&new_secret("n", "/"), Some(&value("v")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::KeyUnavailable, "{err}");

    // No KMS in the region: 503, KeyUnavailable, and not retried.
    admin(
        &emu,
        "PUT",
        &format!("/emulator/thalassa/regions/{REGION}"),
        json!({"kmsAvailable": false}),
    )
    .await;
    emu.reset_request_counts();
    let err = sm
        .access_version(&id, RevisionSelector::Latest)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::KeyUnavailable, "{err}");
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(emu.request_counts().endpoint_total("GetSecretValue"), 1);
    assert!(sm.get_secret(&id).await.is_ok());
}

#[tokio::test]
async fn a_project_scope_sees_its_own_secrets_only() {
    let emu = emulator(ThalassaEmulatorConfig::default()).await;
    let org = manager(config(&emu.base_url(), None, pat("pat")));
    let project = manager(config(&emu.base_url(), Some("proj-1"), pat("pat")));
    org.create_secret(&new_secret("same", "/"), Some(&value("org")))
        .await
        .unwrap();
    let id = project
        .create_secret(&new_secret("same", "/"), Some(&value("project")))
        .await
        .unwrap()
        .secret
        .id;
    project
        .create_secret(&new_secret("mine", "/only"), Some(&value("p")))
        .await
        .unwrap();
    let read = |sm: Arc<dyn SecretManager>| {
        let id = id.clone();
        async move {
            sm.access_version(&id, RevisionSelector::Latest)
                .await
                .unwrap()
                .value
        }
    };
    assert_eq!(read(org.clone()).await.expose(), b"org");
    assert_eq!(read(project.clone()).await.expose(), b"project");
    assert_eq!(org.find_secret("mine", "/only").await.unwrap(), None);
    assert_eq!(org.list_all_secrets().await.unwrap().len(), 1);
    let listed = project.list_all_secrets().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|s| s.project_id.as_deref() == Some("proj-1"))
    );
}

#[tokio::test]
async fn key_value_versions_read_as_a_json_object() {
    let emu = emulator(ThalassaEmulatorConfig::default()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let created = http
        .post(format!("{}/v1/secrets/{REGION}/secrets", emu.base_url()))
        .header("Authorization", "Token pat")
        .header("X-Organisation-Identity", ORG)
        .json(&json!({"path": "/kv", "kmsKeyIdentity": DEFAULT_KEY,
            "secretKeyValues": {"user": BASE64.encode("admin"), "password": BASE64.encode(CANARY)}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let sm = manager(config(&emu.base_url(), None, pat("pat")));
    let read = sm
        .access_version(&SecretId::new("/kv"), RevisionSelector::Latest)
        .await
        .unwrap();
    assert_eq!(read.kind, Some(SecretType::KeyValue));
    let object: Value = serde_json::from_slice(read.value.expose()).unwrap();
    assert_eq!(object, json!({"user": "admin", "password": CANARY}));
    let adopted = sm.get_secret(&SecretId::new("/kv")).await.unwrap();
    assert_eq!(adopted.owner, None, "nobody's mark");
}

#[tokio::test]
async fn strict_credentials_classify_as_unauthorized_and_forbidden() {
    let emu = emulator(ThalassaEmulatorConfig {
        personal_tokens: vec![("pat-good".into(), ORG.into())],
        ..ThalassaEmulatorConfig::default()
    })
    .await;
    let good = manager(config(&emu.base_url(), None, pat("pat-good")));
    assert!(good.list_all_secrets().await.is_ok());
    let bad = manager(config(&emu.base_url(), None, pat("pat-bad")));
    let err = bad.list_all_secrets().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized);
    let mut elsewhere = config(&emu.base_url(), None, pat("pat-good"));
    elsewhere.organisation = "org-else".into();
    let err = manager(elsewhere).list_all_secrets().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Forbidden);
    assert_eq!(
        emu.request_counts().count("ListSecrets", 401),
        1,
        "not retried"
    );
}

#[tokio::test]
async fn oidc_clients_exchange_once_and_renew_an_expired_token() {
    let emu = emulator(ThalassaEmulatorConfig {
        clients: vec![OidcClient {
            id: "keyward".into(),
            secret: "client-secret".into(),
            organisation: ORG.into(),
        }],
        token_lifetime: jiff::SignedDuration::from_secs(600),
        ..ThalassaEmulatorConfig::default()
    })
    .await;
    let sm = manager(config(
        &emu.base_url(),
        None,
        oidc("keyward", "client-secret"),
    ));
    let id = sm
        .create_secret(&new_secret("o", "/"), Some(&value("v1")))
        .await
        .unwrap()
        .secret
        .id;
    sm.create_version(&id, &value("v2")).await.unwrap();
    sm.access_version(&id, RevisionSelector::Latest)
        .await
        .unwrap();
    assert_eq!(
        emu.request_counts().count("CreateToken", 200),
        1,
        "one exchange for three calls"
    );

    // The emulator's clock passes the token's expiry while the client still holds it: the 401 makes
    // the client exchange again and resend, once.
    emu.advance_clock(jiff::SignedDuration::from_secs(601));
    let v3 = sm.create_version(&id, &value("v3")).await.unwrap();
    assert_eq!(v3.revision, 3);
    let counts = emu.request_counts();
    assert_eq!(counts.count("CreateToken", 200), 2);
    assert_eq!(counts.count("PutSecretValue", 401), 1);
    assert_eq!(
        counts.count("PutSecretValue", 200),
        2,
        "the refused put landed once"
    );

    let wrong = manager(config(&emu.base_url(), None, oidc("keyward", "wrong")));
    let err = wrong.list_all_secrets().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "the secret is not echoed: {err}"
    );
    assert_eq!(
        emu.request_counts().count("CreateToken", 401),
        1,
        "not retried"
    );
}

/// Counts admissions; refuses all once `closed`.
#[derive(Default)]
struct CountingGate {
    admitted: AtomicU32,
    observed: AtomicU32,
    closed: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl RequestGate for CountingGate {
    async fn admit(&self, _class: CallClass) -> Result<GatePass, GateClosed> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(GateClosed {
                retry_after: Duration::from_secs(3),
            });
        }
        self.admitted.fetch_add(1, Ordering::SeqCst);
        Ok(GatePass::default())
    }

    fn observe(&self, _signal: &RateSignal) {
        self.observed.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn every_attempt_token_exchange_included_passes_the_gate() {
    let emu = emulator(ThalassaEmulatorConfig::default()).await;
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
    let gate = Arc::new(CountingGate::default());
    let client = ThalassaClient::new(config(&emu.base_url(), None, oidc("any", "client")))
        .unwrap()
        .with_gate(gate.clone());
    let err = client.get_secret(&SecretId::new("/g")).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Transient,
        "an injected 503 is passing: {err}"
    );
    let sent = emu.request_count();
    assert_eq!(sent, 5, "one token exchange and four attempts");
    assert_eq!(u64::from(gate.admitted.load(Ordering::SeqCst)), sent);
    assert_eq!(u64::from(gate.observed.load(Ordering::SeqCst)), sent);
    assert_eq!(emu.requests_for_secret("/g"), 4);

    gate.closed.store(true, Ordering::SeqCst);
    let err = client.list_secrets().await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Throttled {
            retry_after: Duration::from_secs(3)
        }
    );
    assert_eq!(emu.request_count(), sent, "nothing sent past a closed gate");
}

// ---------- against a scripted server ----------

fn secret_json(path: &str, key_status: &str) -> String {
    json!({
        "path": path, "createdAt": "2026-07-01T10:00:00Z", "updatedAt": "2026-07-01T10:00:00Z",
        "kmsKey": {"identity": "k1", "status": key_status}, "currentVersion": 1, "objectVersion": 1,
        "region": {"slug": REGION},
    })
    .to_string()
}

fn stub_client(base: &str, credentials: Credentials) -> (ThalassaClient, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let client = ThalassaClient::new(config(base, Some("proj-9"), credentials))
        .unwrap()
        .with_observer(recorder.clone());
    (client, recorder)
}

fn id() -> SecretId {
    SecretId::new("/app/a+b")
}

#[tokio::test]
async fn error_answers_classify_by_status_and_message() {
    let kms_disabled = r#"{"message":"KMS key k1 is disabled"}"#;
    let cases: Vec<(Reply, ErrorKind)> = vec![
        (reply_json(400, kms_disabled), ErrorKind::KeyUnavailable),
        (
            reply_json(404, r#"{"message":"secret /app/a+b not found"}"#),
            ErrorKind::NotFound,
        ),
        (
            reply_json(401, r#"{"message":"unauthorized"}"#),
            ErrorKind::Unauthorized,
        ),
        (
            reply_json(403, r#"{"message":"denied"}"#),
            ErrorKind::Forbidden,
        ),
        (
            reply_json(409, r#"{"message":"exists"}"#),
            ErrorKind::Conflict,
        ),
        (
            reply_json(503, r#"{"message":"KMS is not available in region nl-01"}"#),
            ErrorKind::KeyUnavailable,
        ),
        (
            Reply::Http(429, vec![("Retry-After", "120".into())], String::new()),
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(120)),
            },
        ),
        (
            Reply::Http(400, vec![], "<html>bad</html>".into()),
            ErrorKind::InvalidArgument { details: vec![] },
        ),
    ];
    for (i, (reply, want)) in cases.into_iter().enumerate() {
        let server = scripted(vec![reply]).await;
        let (client, _) = stub_client(&server.base, pat("tok"));
        let err = client
            .delete_secret(&id())
            .await
            .expect_err("an error answer");
        assert_eq!(err.kind(), &want, "case {i}: {err}");
        assert_eq!(err.operation(), "delete_secret");
        assert_eq!(server.seen().len(), 1, "case {i}: not retried");
    }
}

#[tokio::test]
async fn passing_failures_are_retried_for_reads_and_deletes() {
    let server = scripted(vec![
        Reply::Close,
        reply_json(503, r#"{"message":"service unavailable"}"#),
        Reply::Http(502, vec![], "<html>gateway</html>".into()),
        reply_json(200, &secret_json("/app/a+b", "active")),
    ])
    .await;
    let (client, recorder) = stub_client(&server.base, pat("tok"));
    let secret = client.get_secret(&id()).await.unwrap();
    assert_eq!(secret.id, id());
    assert_eq!(server.seen().len(), 4);
    let calls = recorder.0.lock().unwrap().clone();
    assert_eq!((calls[0].attempts, calls[0].outcome), (4, "ok"));
    assert!(
        server
            .seen()
            .iter()
            .all(|s| s.target == "/v1/secrets/nl-01/secret/app/a+b")
    );
}

#[tokio::test]
async fn creates_and_puts_are_never_sent_twice_once_they_may_have_landed() {
    for reply in [
        Reply::Close,
        Reply::Stall(Duration::from_secs(3)),
        reply_json(503, r#"{"message":"service unavailable"}"#),
        Reply::Http(429, vec![("Retry-After", "0".into())], String::new()),
    ] {
        let server = scripted(vec![
            reply.clone(),
            reply_json(200, r#"{"path":"/app/a+b","version":2}"#),
        ])
        .await;
        let (client, _) = stub_client(&server.base, pat("tok"));
        let err = client.create_version(&id(), &value("v")).await.unwrap_err();
        assert!(err.kind().is_temporary(), "{err}");
        assert_eq!(server.seen().len(), 1, "put-value sent once");

        let server = scripted(vec![
            reply,
            reply_json(201, &secret_json("/app/x", "active")),
        ])
        .await;
        let (client, _) = stub_client(&server.base, pat("tok"));
        let err =
            SecretManager::create_secret(&client, &new_secret("x", "/app"), Some(&value("v")))
                .await
                .unwrap_err();
        assert!(err.kind().is_temporary(), "{err}");
        assert_eq!(server.seen().len(), 1, "create sent once");
    }
    // A refused connection sent nothing: even a create goes again.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (client, recorder) = stub_client(&base, pat("tok"));
    let err = client.create_version(&id(), &value("v")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transport);
    assert_eq!(recorder.0.lock().unwrap()[0].attempts, 4);
}

#[tokio::test]
async fn refused_reads_are_told_apart_by_the_metadata() {
    let unreadable = r#"{"message":"nothing to read here"}"#;
    let cases = [
        // The secret exists: the version is what cannot be read.
        (
            404,
            reply_json(200, &secret_json("/app/a+b", "active")),
            ErrorKind::VersionUnreadable,
        ),
        (
            400,
            reply_json(200, &secret_json("/app/a+b", "active")),
            ErrorKind::VersionUnreadable,
        ),
        // Its key is not active, whatever the message said.
        (
            400,
            reply_json(200, &secret_json("/app/a+b", "disabled")),
            ErrorKind::KeyUnavailable,
        ),
        // The secret itself is gone.
        (
            404,
            reply_json(404, r#"{"message":"secret not found"}"#),
            ErrorKind::NotFound,
        ),
    ];
    for (status, metadata, want) in cases {
        let server = scripted(vec![reply_json(status, unreadable), metadata]).await;
        let (client, _) = stub_client(&server.base, pat("tok"));
        let err = client
            .access_version(&id(), RevisionSelector::Number(3))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), &want, "{status}: {err}");
        let seen = server.seen();
        assert_eq!(
            (seen[0].method.as_str(), seen[1].method.as_str()),
            ("POST", "GET")
        );
    }
    // A put refused because the key is pending deletion.
    let server = scripted(vec![
        reply_json(400, r#"{"message":"refused"}"#),
        reply_json(200, &secret_json("/app/a+b", "pending_deletion")),
    ])
    .await;
    let (client, _) = stub_client(&server.base, pat("tok"));
    let err = client.create_version(&id(), &value("v")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::KeyUnavailable);
}

#[tokio::test]
async fn requests_carry_the_scope_headers_and_the_wire_shapes() {
    let server = scripted(vec![
        reply_json(201, &secret_json("/app/a+b", "active")),
        reply_json(200, r#"{"path":"/app/a+b","version":2}"#),
        reply_json(200, &format!(r#"{{"path":"/app/a+b","version":2,"secretString":"{}","kmsKeyIdentity":"k1","kmsKeyVersion":"1"}}"#, BASE64.encode([0xff, 0x00, b'x']))),
        reply_json(204, ""),
        reply_json(200, "[]"),
    ])
    .await;
    let (client, _) = stub_client(&server.base, pat("tok-123"));
    let mut secret = new_secret("a+b", "/app");
    secret.key_id = Some("override-key".into());
    SecretManager::create_secret(&client, &secret, Some(&value("first")))
        .await
        .unwrap();
    client
        .create_version(&id(), &value("second"))
        .await
        .unwrap();
    let read = client
        .access_version(&id(), RevisionSelector::Number(2))
        .await
        .unwrap();
    assert_eq!(read.value.expose(), [0xff, 0x00, b'x']);
    client.delete_version(&id(), 1).await.unwrap();
    assert!(client.list_secrets().await.unwrap().is_empty());

    let seen = server.seen();
    for s in &seen {
        assert_eq!(s.header("authorization"), Some("Token tok-123"));
        assert_eq!(s.header("x-organisation-identity"), Some(ORG));
        assert_eq!(s.header("x-project-identity"), Some("proj-9"));
        assert_eq!(s.header("accept"), Some("application/json"));
    }
    let body = |i: usize| serde_json::from_slice::<Value>(&seen[i].body).unwrap();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        ("POST", "/v1/secrets/nl-01/secrets")
    );
    assert_eq!(
        body(0),
        json!({"path": "/app/a+b", "kmsKeyIdentity": "override-key", "description": "made by a test",
            "labels": {"keyward.dev/cluster": "cluster-1", "keyward.dev/owner": "team/a+b"},
            "secretString": BASE64.encode("first")})
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(
        seen[1].target, "/v1/secrets/nl-01/secret/app/a+b/versions",
        "+ is sent as is"
    );
    assert_eq!(
        body(1),
        json!({"path": "/app/a+b", "secretString": BASE64.encode("second")})
    );
    assert_eq!(seen[2].target, "/v1/secrets/nl-01/secret/app/a+b/value");
    assert_eq!(body(2), json!({"path": "/app/a+b", "version": 2}));
    assert_eq!(
        (seen[3].method.as_str(), seen[3].target.as_str()),
        (
            "DELETE",
            "/v1/secrets/nl-01/secret/app/a+b/versions?version=1"
        )
    );
    assert_eq!(seen[4].target, "/v1/secrets/nl-01/secrets?pathPrefix=%2F");

    // The store's key when the secret names none.
    let server = scripted(vec![reply_json(201, &secret_json("/x", "active"))]).await;
    let (client, _) = stub_client(&server.base, pat("t"));
    SecretManager::create_secret(&client, &new_secret("x", "/"), Some(&value("v")))
        .await
        .unwrap();
    let sent: Value = serde_json::from_slice(&server.seen()[0].body).unwrap();
    assert_eq!(sent["kmsKeyIdentity"], DEFAULT_KEY);
    assert_eq!(sent["path"], "/x");
}

#[tokio::test]
async fn oidc_tokens_are_exchanged_with_basic_auth_and_renewed_after_a_401() {
    let token = |t: &str| {
        reply_json(
            200,
            &format!(r#"{{"access_token":"{t}","token_type":"Bearer","expires_in":3600}}"#),
        )
    };
    let server = scripted(vec![
        token("at-1"),
        reply_json(401, r#"{"message":"the access token has expired"}"#),
        token("at-2"),
        reply_json(200, r#"{"path":"/app/a+b","version":4}"#),
        reply_json(200, r#"{"path":"/app/a+b","version":5}"#),
    ])
    .await;
    let (client, _) = stub_client(&server.base, oidc("my client", "s3cr:et"));
    assert_eq!(
        client
            .create_version(&id(), &value("v"))
            .await
            .unwrap()
            .revision,
        4
    );
    assert_eq!(
        client
            .create_version(&id(), &value("w"))
            .await
            .unwrap()
            .revision,
        5
    );
    let seen = server.seen();
    let expected_basic = format!("Basic {}", BASE64.encode("my%20client:s3cr%3Aet"));
    for i in [0, 2] {
        assert_eq!(
            (seen[i].method.as_str(), seen[i].target.as_str()),
            ("POST", "/oidc/token")
        );
        assert_eq!(
            seen[i].header("authorization"),
            Some(expected_basic.as_str())
        );
        assert_eq!(
            seen[i].header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(seen[i].body, b"grant_type=client_credentials");
    }
    assert_eq!(seen[1].header("authorization"), Some("Bearer at-1"));
    assert_eq!(seen[3].header("authorization"), Some("Bearer at-2"));
    assert_eq!(
        seen[4].header("authorization"),
        Some("Bearer at-2"),
        "the new token is kept"
    );

    // A second 401 right after a fresh token is the answer.
    let server = scripted(vec![
        token("a"),
        reply_json(401, r#"{"message":"no"}"#),
        token("b"),
        reply_json(401, r#"{"message":"no"}"#),
    ])
    .await;
    let (client, _) = stub_client(&server.base, oidc("c", "s"));
    let err = client.list_secrets().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized);
    assert_eq!(server.seen().len(), 4);

    // A refused client is not retried; a token endpoint that is down is (nothing else was sent).
    let server = scripted(vec![reply_json(
        401,
        r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
    )])
    .await;
    let (client, _) = stub_client(&server.base, oidc("c", "s"));
    assert_eq!(
        client.list_secrets().await.unwrap_err().kind(),
        &ErrorKind::Unauthorized
    );
    assert_eq!(server.seen().len(), 1);
    let server = scripted(vec![
        Reply::Http(503, vec![], String::new()),
        token("t"),
        reply_json(200, r#"{"path":"/app/a+b","version":1}"#),
    ])
    .await;
    let (client, _) = stub_client(&server.base, oidc("c", "s"));
    assert_eq!(
        client
            .create_version(&id(), &value("v"))
            .await
            .unwrap()
            .revision,
        1
    );
    assert_eq!(server.seen().len(), 3);
}

// ---------- secrecy ----------

fn assert_no_canary(what: &str, text: &str) {
    let b64 = BASE64.encode(CANARY);
    assert!(
        !text.contains(CANARY) && !text.contains(&b64),
        "{what} leaked the canary: {text}"
    );
}

fn show(err: &ProviderError) -> String {
    format!("{err} | {err:?} | {}", err.message())
}

#[tokio::test]
async fn values_and_credentials_never_reach_errors_debug_or_logs() {
    let b64 = BASE64.encode(CANARY);
    let capture = capture_logs();

    let server = scripted(vec![
        // The server quotes the value back, raw and encoded.
        reply_json(
            400,
            &format!(r#"{{"message":"bad value {CANARY} / {b64}"}}"#),
        ),
        reply_json(200, &secret_json("/app/a+b", "active")),
        reply_json(400, &format!(r#"{{"message":"refused {CANARY}"}}"#)),
        // A mistyped field holding the value: serde must not quote it.
        reply_json(
            200,
            &format!(r#"{{"path":"/app/a+b","version":"{CANARY}","secretString":"{b64}"}}"#),
        ),
        reply_json(
            200,
            &format!(r#"{{"path":"/app/a+b","version":1,"secretString":"{b64}"}}"#),
        ),
    ])
    .await;
    let (client, _) = stub_client(&server.base, pat(CANARY));
    assert_no_canary("client Debug", &format!("{client:?}"));

    let err = client
        .create_version(&id(), &value(CANARY))
        .await
        .unwrap_err();
    assert_no_canary("put echo", &show(&err));
    let err = SecretManager::create_secret(&client, &new_secret("x", "/app"), Some(&value(CANARY)))
        .await
        .unwrap_err();
    assert_no_canary("create echo", &show(&err));
    let err = client
        .access_version(&id(), RevisionSelector::Latest)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidResponse);
    assert_no_canary("decode error", &show(&err));
    let read = client
        .access_version(&id(), RevisionSelector::Latest)
        .await
        .unwrap();
    assert_eq!(read.value.expose(), CANARY.as_bytes());
    assert_no_canary("AccessedVersion Debug", &format!("{read:?}"));

    let logged = capture.logs.text();
    assert!(
        logged.contains("create_version") && logged.contains("access_version"),
        "{logged}"
    );
    assert_no_canary("logs", &logged);
}

// ---------- from a store's spec ----------

#[tokio::test]
async fn a_store_spec_connects_through_the_registry() {
    let emu = emulator(ThalassaEmulatorConfig::default()).await;
    let spec: keyward::api::ProviderSpec = serde_json::from_value(json!({"thalassa": {
        "region": REGION, "organisation": ORG, "project": "proj-reg", "apiUrl": emu.base_url(),
        "kmsKey": DEFAULT_KEY, "credentials": {"secretRef": {"name": "thalassa-creds"}},
    }}))
    .unwrap();
    assert_eq!(
        keyward::provider::registry::provider_name(&spec),
        Some("thalassa")
    );
    assert_eq!(
        keyward::provider::registry::credentials_ref(&spec).map(|r| r.name.as_str()),
        Some("thalassa-creds")
    );
    let data = [(
        keyward::api::DEFAULT_PERSONAL_ACCESS_TOKEN_KEY.to_string(),
        b"pat".to_vec(),
    )]
    .into_iter()
    .collect();
    let connection = keyward::provider::registry::connect(&spec, &data).unwrap();
    assert_eq!(connection.endpoints, [emu.base_url()]);
    let sm = (connection.build)(
        Arc::new(keyward::provider::OpenGate),
        Arc::new(keyward::provider::observer::NoopObserver),
    )
    .unwrap();
    let id = sm
        .create_secret(&new_secret("via-registry", "/stores"), Some(&value("v")))
        .await
        .unwrap()
        .secret
        .id;
    assert_eq!(id.as_str(), "/stores/via-registry");
    assert_eq!(
        sm.access_version(&id, RevisionSelector::Latest)
            .await
            .unwrap()
            .value
            .expose(),
        b"v"
    );
    // The project scope and the key of the spec were used.
    let project = manager(config(&emu.base_url(), Some("proj-reg"), pat("pat")));
    assert_eq!(
        project.get_secret(&id).await.unwrap().key_id.as_deref(),
        Some(DEFAULT_KEY)
    );
    assert_eq!(
        manager(config(&emu.base_url(), None, pat("pat")))
            .get_secret(&id)
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::NotFound
    );
}
