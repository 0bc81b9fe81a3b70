//! The Scaleway client against a scripted loopback HTTP server: error classification, retries,
//! timeouts and dropped connections, paging, request shape, and that no payload leaks into errors or
//! logs. The server is a raw TCP listener so it can misbehave the way networks do (close without
//! answering, stall, send a gateway's HTML page).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use keyward::provider::retry::RetryPolicy;
use keyward::provider::scaleway::{ScalewayClient, ScalewayConfig};
use keyward::provider::{
    ErrorKind, NewVersion, ProviderError, RevisionSelector, SecretId, SecretManager,
};
use keyward::secret_value::SecretValue;

use crate::support::scripted::{Recorder, Reply, capture_logs, json, scripted};

// ---------- fixtures ----------

const SECRET: &str = r#"{"id":"11111111-1111-1111-1111-111111111111","project_id":"proj","name":"app","status":"ready","created_at":"2026-07-03T15:27:54.719648Z","updated_at":"2026-07-03T15:27:54.719648Z","tags":[],"version_count":0,"description":"","managed":false,"type":"opaque","protected":false,"path":"/","ephemeral_policy":null,"used_by":[],"deletion_requested_at":null,"key_id":null,"region":"fr-par"}"#;

fn secret_named(id: &str, name: &str, path: &str, deleted: bool) -> String {
    SECRET
        .replace("11111111-1111-1111-1111-111111111111", id)
        .replace(r#""name":"app""#, &format!(r#""name":"{name}""#))
        .replace(r#""path":"/""#, &format!(r#""path":"{path}""#))
        .replace(
            r#""deletion_requested_at":null"#,
            if deleted {
                r#""deletion_requested_at":"2026-07-03T15:30:00Z""#
            } else {
                r#""deletion_requested_at":null"#
            },
        )
}

fn version(revision: u64) -> String {
    format!(
        r#"{{"revision":{revision},"secret_id":"s","status":"enabled","created_at":"2026-07-03T15:27:54Z","updated_at":"2026-07-03T15:27:54Z","deleted_at":null,"description":"","latest":false,"ephemeral_properties":null,"deletion_requested_at":null,"region":"fr-par"}}"#
    )
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        budget: Duration::from_secs(5),
    }
}

fn client_with(base: &str, retry: RetryPolicy, page_size: u32) -> (ScalewayClient, Arc<Recorder>) {
    let mut config = ScalewayConfig::new(Some(base), "fr-par", "proj", None, "tok-123").unwrap();
    config.retry = retry;
    config.request_timeout = Duration::from_millis(500);
    config.connect_timeout = Duration::from_millis(500);
    config.page_size = page_size;
    let recorder = Arc::new(Recorder::default());
    let client = ScalewayClient::new(config)
        .unwrap()
        .with_observer(recorder.clone());
    (client, recorder)
}

fn id() -> SecretId {
    SecretId::new("11111111-1111-1111-1111-111111111111")
}

fn new_version(value: &[u8]) -> NewVersion {
    NewVersion {
        value: SecretValue::new(value.to_vec()),
        description: Some("keyward-op:abc".into()),
        disable_previous: true,
    }
}

// ---------- classification ----------

#[tokio::test]
async fn error_answers_classify_by_type_then_status() {
    let protected = r#"{"help_message":"cannot delete a protected secret","message":"precondition is not respected","precondition":"protected_resource","type":"precondition_failed"}"#;
    let cases: Vec<(Reply, ErrorKind)> = vec![
        (
            json(
                404,
                r#"{"message":"resource is not found","resource":"secret","resource_id":"x","type":"not_found"}"#,
            ),
            ErrorKind::NotFound,
        ),
        (json(412, protected), ErrorKind::Protected),
        (
            json(
                401,
                r#"{"message":"authentication is denied","method":"api_key","reason":"invalid_argument","type":"denied_authentication"}"#,
            ),
            ErrorKind::Unauthorized,
        ),
        (
            json(
                403,
                r#"{"message":"insufficient permissions","type":"permissions_denied","details":[{"resource":"secret","action":"delete"}]}"#,
            ),
            ErrorKind::Forbidden,
        ),
        (
            Reply::Http(403, vec![], "Forbidden".into()),
            ErrorKind::Forbidden,
        ),
        (
            Reply::Http(
                502,
                vec![],
                "<html><body>502 Bad Gateway</body></html>".into(),
            ),
            ErrorKind::Transient,
        ),
        (
            Reply::Http(503, vec![], String::new()),
            ErrorKind::Transient,
        ),
        (
            json(500, r#"{"message":"internal error","type":"unknown"}"#),
            ErrorKind::ServerError,
        ),
        (
            Reply::Http(429, vec![("Retry-After", "7".into())], String::new()),
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            },
        ),
    ];
    for (i, (reply, want)) in cases.into_iter().enumerate() {
        let server = scripted(vec![reply]).await;
        let (client, _) = client_with(&server.base, RetryPolicy::none(), 100);
        let err = client.delete_secret(&id()).await.expect_err("error answer");
        assert_eq!(err.kind(), &want, "case {i}: {err}");
        assert_eq!(err.operation(), "delete_secret");
        assert!(err.http_status().is_some());
        assert_eq!(server.seen().len(), 1, "case {i}: not retried");
    }
}

#[tokio::test]
async fn delete_accepts_204_with_json_content_type_and_empty_body() {
    let server = scripted(vec![json(204, "")]).await;
    let (client, recorder) = client_with(&server.base, RetryPolicy::none(), 100);
    client.delete_secret(&id()).await.unwrap();
    assert_eq!(server.seen()[0].method, "DELETE");
    assert_eq!(recorder.0.lock().unwrap()[0].http_status, Some(204));
}

#[tokio::test]
async fn gateway_pages_are_not_echoed() {
    let server = scripted(vec![Reply::Http(
        502,
        vec![],
        "<html>upstream said something long and private</html>".into(),
    )])
    .await;
    let (client, _) = client_with(&server.base, RetryPolicy::none(), 100);
    let err = client.get_secret(&id()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "scaleway get_secret: Transient: HTTP 502 Bad Gateway [HTTP 502, request id req-502]"
    );
}

#[tokio::test]
async fn invalid_arguments_carry_details() {
    let server = scripted(vec![json(
        400,
        r#"{"details":[{"argument_name":"data","help_message":"- invalid: Invalid type. Expected: string, given: object\n","reason":"format"}],"message":"invalid argument(s)","type":"invalid_arguments"}"#,
    )])
    .await;
    let (client, _) = client_with(&server.base, RetryPolicy::none(), 100);
    let err = client
        .create_version(&id(), &new_version(br#"{"a":{}}"#))
        .await
        .unwrap_err();
    let ErrorKind::InvalidArgument { details } = err.kind() else {
        panic!("{err}");
    };
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].argument, "data");
    assert_eq!(details[0].reason, "format");
}

#[tokio::test]
async fn malformed_success_body_is_invalid_response() {
    let server = scripted(vec![json(200, r#"{"id": 5, "name": ["x"]}"#)]).await;
    let (client, _) = client_with(&server.base, RetryPolicy::none(), 100);
    let err = client.get_secret(&id()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidResponse);
}

// ---------- transport ----------

#[tokio::test]
async fn refused_connection_is_transport_and_retried_even_for_creates() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (client, recorder) = client_with(&base, fast_retries(), 100);
    let err = client.get_secret(&id()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transport);
    // Nothing was sent, so even a create may be tried again.
    let err = client
        .create_version(&id(), &new_version(b"x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transport);
    let calls = recorder.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c.attempts == 4 && c.outcome == "Transport")
    );
}

#[tokio::test]
async fn dropped_connection_is_transport_and_get_is_retried() {
    let server = scripted(vec![Reply::Close, json(200, SECRET)]).await;
    let (client, recorder) = client_with(&server.base, fast_retries(), 100);
    let secret = client.get_secret(&id()).await.unwrap();
    assert_eq!(secret.name, "app");
    assert_eq!(server.seen().len(), 2);
    let calls = recorder.0.lock().unwrap().clone();
    assert_eq!(calls[0].attempts, 2);
    assert_eq!(calls[0].outcome, "ok");
    assert_eq!(calls[0].http_status, Some(200));
}

#[tokio::test]
async fn dropped_connection_on_create_version_is_not_retried() {
    let server = scripted(vec![Reply::Close, json(200, &version(1))]).await;
    let (client, _) = client_with(&server.base, fast_retries(), 100);
    let err = client
        .create_version(&id(), &new_version(b"v"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transport);
    assert_eq!(
        server.seen().len(),
        1,
        "a create that may have landed is never resent"
    );
}

#[tokio::test]
async fn timeout_is_transport_and_create_is_not_resent() {
    let server = scripted(vec![Reply::Stall(Duration::from_secs(3))]).await;
    let (client, _) = client_with(&server.base, fast_retries(), 100);
    let started = Instant::now();
    let err = client
        .create_version(&id(), &new_version(b"v"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transport);
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn timed_out_get_is_retried() {
    let server = scripted(vec![
        Reply::Stall(Duration::from_secs(3)),
        json(200, SECRET),
    ])
    .await;
    let (client, _) = client_with(&server.base, fast_retries(), 100);
    client.get_secret(&id()).await.unwrap();
    assert_eq!(server.seen().len(), 2);
}

// ---------- retries ----------

#[tokio::test]
async fn get_is_retried_on_503_until_success() {
    let server = scripted(vec![
        Reply::Http(503, vec![], String::new()),
        json(503, r#"{"message":"try later","type":"transient_state"}"#),
        json(200, SECRET),
    ])
    .await;
    let (client, recorder) = client_with(&server.base, fast_retries(), 100);
    client.get_secret(&id()).await.unwrap();
    assert_eq!(server.seen().len(), 3);
    assert_eq!(recorder.0.lock().unwrap()[0].attempts, 3);
}

#[tokio::test]
async fn retries_stop_at_the_attempt_limit() {
    let server = scripted(vec![Reply::Http(503, vec![], String::new()); 6]).await;
    let (client, _) = client_with(&server.base, fast_retries(), 100);
    let err = client.list_versions(&id()).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transient);
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn rate_limited_get_waits_for_retry_after() {
    let server = scripted(vec![
        Reply::Http(429, vec![("Retry-After", "1".into())], String::new()),
        json(200, SECRET),
    ])
    .await;
    let (client, _) = client_with(&server.base, fast_retries(), 100);
    let started = Instant::now();
    client.get_secret(&id()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_budget_goes_back_to_the_caller() {
    let server = scripted(vec![
        Reply::Http(429, vec![("Retry-After", "120".into())], String::new()),
        json(200, SECRET),
    ])
    .await;
    let (client, _) = client_with(&server.base, fast_retries(), 100);
    let err = client.get_secret(&id()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(120))
        }
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn create_version_is_not_retried_on_429_or_503() {
    for reply in [
        Reply::Http(429, vec![("Retry-After", "0".into())], String::new()),
        Reply::Http(503, vec![], String::new()),
    ] {
        let server = scripted(vec![reply, json(200, &version(2))]).await;
        let (client, _) = client_with(&server.base, fast_retries(), 100);
        let err = client
            .create_version(&id(), &new_version(b"v"))
            .await
            .unwrap_err();
        assert!(err.kind().is_temporary(), "{err}");
        assert_eq!(server.seen().len(), 1);
    }
}

// ---------- paging and lookup ----------

#[tokio::test]
async fn list_versions_reads_every_page() {
    let page = |revs: &[u64]| {
        let items: Vec<String> = revs.iter().map(|r| version(*r)).collect();
        json(
            200,
            &format!(r#"{{"versions":[{}],"total_count":5}}"#, items.join(",")),
        )
    };
    let server = scripted(vec![page(&[5, 4]), page(&[3, 2]), page(&[1])]).await;
    let (client, _) = client_with(&server.base, fast_retries(), 2);
    let versions = SecretManager::list_versions(&client, &id()).await.unwrap();
    let revisions: Vec<u64> = versions.iter().map(|v| v.revision).collect();
    assert_eq!(revisions, vec![5, 4, 3, 2, 1]);
    let targets: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets,
        vec![
            "/secret-manager/v1beta1/regions/fr-par/secrets/11111111-1111-1111-1111-111111111111/versions?page=1&page_size=2",
            "/secret-manager/v1beta1/regions/fr-par/secrets/11111111-1111-1111-1111-111111111111/versions?page=2&page_size=2",
            "/secret-manager/v1beta1/regions/fr-par/secrets/11111111-1111-1111-1111-111111111111/versions?page=3&page_size=2",
        ]
    );
}

fn secrets_page(items: &[String], total: u64) -> Reply {
    json(
        200,
        &format!(
            r#"{{"secrets":[{}],"total_count":{total}}}"#,
            items.join(",")
        ),
    )
}

#[tokio::test]
async fn find_secret_pages_and_matches_name_and_path_exactly() {
    let server = scripted(vec![
        secrets_page(
            &[
                secret_named("a", "app-db", "/", false),
                secret_named("b", "app", "/other", false),
            ],
            4,
        ),
        secrets_page(
            &[
                secret_named("c", "app", "/", true),
                secret_named("d", "app", "/", false),
            ],
            4,
        ),
    ])
    .await;
    let (client, _) = client_with(&server.base, fast_retries(), 2);
    let found = SecretManager::find_secret(&client, "app", "/")
        .await
        .unwrap();
    assert_eq!(found.map(|s| s.id), Some(SecretId::new("d")));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let query: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x{}", seen[1].target))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for pair in [
        ("project_id", "proj"),
        ("name", "app"),
        ("path", "/"),
        ("scheduled_for_deletion", "false"),
        ("page", "2"),
        ("page_size", "2"),
    ] {
        assert!(
            query.contains(&(pair.0.to_string(), pair.1.to_string())),
            "{pair:?} in {query:?}"
        );
    }
}

#[tokio::test]
async fn find_secret_refuses_to_pick_among_duplicates() {
    let server = scripted(vec![secrets_page(
        &[
            secret_named("x", "app", "/", false),
            secret_named("y", "app", "/", false),
        ],
        2,
    )])
    .await;
    let (client, _) = client_with(&server.base, fast_retries(), 100);
    // Through a trait object, as the controller holds it.
    let manager: Arc<dyn SecretManager> = Arc::new(client);
    let err = manager.find_secret("app", "/").await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Conflict);

    let server = scripted(vec![secrets_page(&[], 0)]).await;
    let (client, _) = client_with(&server.base, fast_retries(), 100);
    assert_eq!(
        SecretManager::find_secret(&client, "app", "/x/")
            .await
            .unwrap(),
        None
    );
    assert!(server.seen()[0].target.contains("path=%2Fx&"));
}

// ---------- request shape ----------

#[tokio::test]
async fn create_version_sends_token_base64_and_crc32() {
    let server = scripted(vec![json(200, &version(3))]).await;
    let (client, _) = client_with(&server.base, RetryPolicy::none(), 100);
    let payload = [0xffu8, 0x00, 0x10, b'a', b'b'];
    let created = client
        .create_version(&id(), &new_version(&payload))
        .await
        .unwrap();
    assert_eq!(created.revision, 3);
    let seen = &server.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("x-auth-token"), Some("tok-123"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body["data"], BASE64.encode(payload));
    assert_eq!(body["data"], "/wAQYWI=");
    assert_eq!(body["data_crc32"], crc32fast::hash(&payload));
    assert_eq!(body["description"], "keyward-op:abc");
    assert_eq!(body["disable_previous"], true);
}

#[tokio::test]
async fn access_checks_crc32_and_resolves_latest() {
    let data = BASE64.encode(b"hello");
    let good = format!(
        r#"{{"secret_id":"s","revision":4,"data":"{data}","data_crc32":{},"type":"opaque"}}"#,
        crc32fast::hash(b"hello")
    );
    let bad = format!(
        r#"{{"secret_id":"s","revision":4,"data":"{data}","data_crc32":1,"type":"opaque"}}"#
    );
    let server = scripted(vec![json(200, &good), json(200, &bad)]).await;
    let (client, _) = client_with(&server.base, RetryPolicy::none(), 100);
    let read = client
        .access_version(&id(), RevisionSelector::LatestEnabled)
        .await
        .unwrap();
    assert_eq!(read.revision, 4);
    assert_eq!(read.value.expose(), b"hello");
    assert!(
        server.seen()[0]
            .target
            .ends_with("/versions/latest_enabled/access")
    );
    let err = client
        .access_version(&id(), RevisionSelector::Latest)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidResponse);
}

#[tokio::test]
async fn refused_access_means_unreadable_version_not_missing_secret() {
    let cases = [
        (
            json(
                404,
                r#"{"message":"resource is not found","resource":"secret_version","resource_id":"x","type":"not_found"}"#,
            ),
            ErrorKind::VersionUnreadable,
        ),
        (
            json(
                412,
                r#"{"message":"precondition is not respected","precondition":"resource_disabled","type":"precondition_failed"}"#,
            ),
            ErrorKind::VersionUnreadable,
        ),
        (
            json(
                400,
                r#"{"message":"invalid argument(s)","type":"invalid_arguments","details":[]}"#,
            ),
            ErrorKind::VersionUnreadable,
        ),
        (
            json(
                404,
                r#"{"message":"resource is not found","resource":"secret","resource_id":"x","type":"not_found"}"#,
            ),
            ErrorKind::NotFound,
        ),
        (
            json(
                403,
                r#"{"message":"insufficient permissions","type":"permissions_denied"}"#,
            ),
            ErrorKind::Forbidden,
        ),
    ];
    for (reply, want) in cases {
        let server = scripted(vec![reply]).await;
        let (client, _) = client_with(&server.base, RetryPolicy::none(), 100);
        let err = client
            .access_version(&id(), RevisionSelector::Number(2))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), &want, "{err}");
    }
}

// ---------- secrecy ----------

const CANARY: &str = "canary-5f1e-never-print-me";

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
async fn the_payload_never_reaches_errors_debug_or_logs() {
    let b64 = BASE64.encode(CANARY);
    let capture = capture_logs();

    let server = scripted(vec![
        // The server quotes the payload back, raw and encoded.
        json(
            400,
            &format!(
                r#"{{"type":"invalid_arguments","message":"bad data {CANARY}","details":[{{"argument_name":"data","reason":"format","help_message":"got {b64}"}}]}}"#
            ),
        ),
        Reply::Http(502, vec![], format!("<html>{CANARY}</html>")),
        json(
            400,
            &format!(
                r#"{{"type":"invalid_arguments","message":"invalid argument(s)","details":[{{"argument_name":"data.password","reason":"constraint","help_message":"value {CANARY} is too weak"}}]}}"#
            ),
        ),
        // A mistyped field holding the payload: serde must not quote it.
        json(200, &format!(r#"{{"secret_id":"s","revision":"{CANARY}","data":"{b64}"}}"#)),
        json(200, &format!(r#"{{"secret_id":"s","revision":1,"data":"{b64}","data_crc32":7,"type":"opaque"}}"#)),
        json(200, &format!(r#"{{"secret_id":"s","revision":1,"data":"{b64}","data_crc32":null,"type":"opaque"}}"#)),
    ])
    .await;
    let (client, _) = client_with(&server.base, RetryPolicy::none(), 100);
    let version = NewVersion {
        value: SecretValue::from(CANARY),
        description: None,
        disable_previous: false,
    };
    assert_no_canary("NewVersion Debug", &format!("{version:?}"));

    let err = client.create_version(&id(), &version).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument { .. }));
    assert_no_canary("400 echo", &show(&err));
    assert_no_canary("400 kind", &format!("{:?}", err.kind()));

    let err = client.create_version(&id(), &version).await.unwrap_err();
    assert_no_canary("gateway page", &show(&err));

    // A key/value payload whose single value the server quotes back.
    let kv = NewVersion {
        value: SecretValue::from(format!(r#"{{"password":"{CANARY}"}}"#).as_str()),
        description: None,
        disable_previous: false,
    };
    let err = client.create_version(&id(), &kv).await.unwrap_err();
    assert_no_canary("key/value echo", &show(&err));

    let err = client
        .access_version(&id(), RevisionSelector::Latest)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidResponse);
    assert_no_canary("decode error", &show(&err));

    let err = client
        .access_version(&id(), RevisionSelector::Number(1))
        .await
        .unwrap_err();
    assert_no_canary("crc mismatch", &show(&err));

    let read = client
        .access_version(&id(), RevisionSelector::Number(1))
        .await
        .unwrap();
    assert_eq!(read.value.expose(), CANARY.as_bytes());
    assert_no_canary("AccessedVersion Debug", &format!("{read:?}"));

    let logged = capture.logs.text();
    assert!(
        logged.contains("create_version"),
        "spans are logged: {logged}"
    );
    assert!(logged.contains("access_version"));
    assert_no_canary("logs", &logged);
}
