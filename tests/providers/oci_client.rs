//! Keyward's OCI client against the OCI emulator (which the official SDK referees, see `oci_sdk.rs`):
//! the SDK driver's scenarios again, plus what only the client decides: error kinds, which requests
//! are retried and how often (counted on the emulator's side), and that payloads stay out of errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward::emulator::EmulatorHandle;
use keyward::emulator::faults::ErrorFault;
use keyward::emulator::oci::OciSettings;
use keyward::provider::oci::wire::{
    CreateSecretDetails, KeyVersionLifecycleState, SecretContent, SecretLifecycleState, Stage,
    UpdateSecretDetails,
};
use keyward::provider::oci::{ApiKey, BundleSelector, OciClient, OciConfig, SecretFilter};
use keyward::provider::retry::RetryPolicy;
use keyward::provider::{CallObserver, ErrorKind, ProviderCall};
use keyward::secret_value::SecretValue;

use crate::support::oci;

fn config(emu: &EmulatorHandle, private_key: &str) -> OciConfig {
    let key = ApiKey {
        tenancy: oci::TENANCY.into(),
        user: oci::USER.into(),
        fingerprint: oci::FINGERPRINT.into(),
        private_key: SecretValue::from(private_key),
        passphrase: None,
    };
    let mut config = OciConfig::new(key, oci::REGION)
        .unwrap()
        .with_all_endpoints(&emu.base_url())
        .unwrap();
    config.page_size = 2;
    config.retry = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        budget: Duration::from_secs(10),
    };
    config
}

fn client(emu: &EmulatorHandle) -> OciClient {
    OciClient::new(config(emu, oci::PRIVATE_KEY)).unwrap()
}

/// The emulator with no write window (most scenarios do several writes in a row).
async fn emulator() -> EmulatorHandle {
    let mut settings = OciSettings::default();
    settings.limits.updating_window_ms = 0;
    oci::emulator(settings).await
}

fn details(name: &str, value: &str) -> CreateSecretDetails {
    CreateSecretDetails {
        compartment_id: oci::TENANCY.into(),
        vault_id: oci::VAULT.into(),
        key_id: oci::KEY.into(),
        secret_name: name.into(),
        secret_content: SecretContent::new(SecretValue::from(value)),
        description: Some("made by a test".into()),
        secret_rules: vec![],
        freeform_tags: [("owner".to_string(), "keyward".to_string())].into(),
        defined_tags: Default::default(),
        metadata: None,
    }
}

fn content(value: &str) -> UpdateSecretDetails {
    UpdateSecretDetails {
        secret_content: Some(SecretContent::new(SecretValue::from(value))),
        ..Default::default()
    }
}

#[tokio::test]
async fn secrets_versions_stages_and_bundles() {
    let emu = emulator().await;
    let c = client(&emu);
    let s = c.create_secret(&details("db", "one"), None).await.unwrap();
    assert_eq!(s.secret_name, "db");
    assert_eq!(s.current_version_number, Some(1));
    assert_eq!(s.freeform_tags["owner"], "keyward");
    assert!(s.etag.is_some());
    let pending = UpdateSecretDetails {
        secret_content: Some(
            SecretContent::new(SecretValue::from("two"))
                .stage(Stage::Pending)
                .named("second"),
        ),
        ..Default::default()
    };
    c.update_secret(&s.id, &pending, None).await.unwrap();
    let b = c
        .get_secret_bundle(&s.id, &BundleSelector::Stage(Stage::Pending))
        .await
        .unwrap();
    assert_eq!(b.version_number, 2);
    assert_eq!(b.version_name.as_deref(), Some("second"));
    assert_eq!(b.secret_bundle_content.unwrap().content.expose(), b"two");
    // Promote with if-match: a stale etag is a precondition failure, the current one works.
    let promote = UpdateSecretDetails {
        current_version_number: Some(2),
        ..Default::default()
    };
    let err = c
        .update_secret(&s.id, &promote, Some("\"stale\""))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Precondition, "{err}");
    let etag = c.get_secret(&s.id).await.unwrap().etag;
    let promoted = c
        .update_secret(&s.id, &promote, etag.as_deref())
        .await
        .unwrap();
    assert_eq!(promoted.current_version_number, Some(2));
    c.update_secret(&s.id, &content("three"), None)
        .await
        .unwrap();
    // All pages (page size 2), newest first.
    let versions = c.list_secret_versions(&s.id).await.unwrap();
    let stages: Vec<(u64, Vec<Stage>)> = versions
        .iter()
        .map(|v| (v.version_number, v.stages.clone()))
        .collect();
    assert_eq!(
        stages,
        [
            (3, vec![Stage::Current, Stage::Latest]),
            (2, vec![Stage::Previous]),
            (1, vec![Stage::Deprecated]),
        ]
    );
    assert_eq!(
        c.get_secret_version(&s.id, 2)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("second")
    );
    for (selector, want) in [
        (BundleSelector::Current, 3),
        (BundleSelector::Stage(Stage::Previous), 2),
        (BundleSelector::Stage(Stage::Latest), 3),
        (BundleSelector::Stage(Stage::Deprecated), 1),
        (BundleSelector::VersionNumber(1), 1),
        (BundleSelector::VersionName("second".into()), 2),
    ] {
        let b = c.get_secret_bundle(&s.id, &selector).await.unwrap();
        assert_eq!(b.version_number, want, "{selector:?}");
    }
    let by_name = c
        .get_secret_bundle_by_name(oci::VAULT, "db", &BundleSelector::Current)
        .await
        .unwrap();
    assert_eq!(
        by_name.secret_bundle_content.unwrap().content.expose(),
        b"three"
    );
    assert_eq!(c.list_secret_bundle_versions(&s.id).await.unwrap().len(), 3);
    let err = c
        .get_secret_bundle(&s.id, &BundleSelector::Stage(Stage::Pending))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotFound);
    assert!(
        err.message().starts_with("NotAuthorizedOrNotFound"),
        "{err}"
    );
    // Content and a promotion in one call are refused.
    let both = UpdateSecretDetails {
        current_version_number: Some(1),
        ..content("x")
    };
    let err = c.update_secret(&s.id, &both, None).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidArgument { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn listing_follows_opc_next_page() {
    let emu = emulator().await;
    let c = client(&emu);
    for i in 0..5 {
        c.create_secret(&details(&format!("s{i}"), "x"), None)
            .await
            .unwrap();
    }
    let filter = SecretFilter {
        compartment_id: oci::TENANCY.into(),
        vault_id: Some(oci::VAULT.into()),
        ..SecretFilter::default()
    };
    let page = c.list_secrets_page(&filter, None).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.next_page.is_some());
    let all = c.list_secrets(&filter).await.unwrap();
    let mut names: Vec<String> = all.into_iter().map(|s| s.secret_name).collect();
    names.sort();
    assert_eq!(names, ["s0", "s1", "s2", "s3", "s4"]);
    assert_eq!(
        emu.request_counts().count("ListSecrets", 200),
        1 + 3,
        "one page alone, then three pages of 2, 2, 1"
    );
    let one = c
        .list_secrets(&SecretFilter {
            name: Some("s3".into()),
            ..filter.clone()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
}

#[tokio::test]
async fn deletion_scheduling_and_the_reserved_name() {
    let emu = emulator().await;
    let c = client(&emu);
    let s = c.create_secret(&details("db", "one"), None).await.unwrap();
    c.update_secret(&s.id, &content("two"), None).await.unwrap();
    c.update_secret(&s.id, &content("three"), None)
        .await
        .unwrap();
    // Only DEPRECATED versions can be scheduled: CURRENT is a settled precondition, not transient.
    let err = c
        .schedule_secret_version_deletion(&s.id, 3, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Precondition, "{err}");
    assert_eq!(
        emu.request_counts()
            .count("ScheduleSecretVersionDeletion", 409),
        1,
        "not retried"
    );
    let when = emu.clock().now() + jiff::SignedDuration::from_hours(48);
    c.schedule_secret_version_deletion(&s.id, 1, Some(when), None)
        .await
        .unwrap();
    let v1 = c.get_secret_version(&s.id, 1).await.unwrap();
    assert!(v1.time_of_deletion.is_some());
    c.cancel_secret_version_deletion(&s.id, 1, None)
        .await
        .unwrap();
    assert_eq!(
        c.get_secret_version(&s.id, 1)
            .await
            .unwrap()
            .time_of_deletion,
        None
    );

    c.schedule_secret_deletion(&s.id, None, None).await.unwrap();
    let got = c.get_secret(&s.id).await.unwrap();
    assert_eq!(got.lifecycle_state, SecretLifecycleState::PendingDeletion);
    let err = c
        .get_secret_bundle_by_name(oci::VAULT, "db", &BundleSelector::Current)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotFound);
    // The name stays reserved: a Conflict that says why, never an InvalidArgument.
    let err = c
        .create_secret(&details("db", "again"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("pending deletion"), "{err}");
    // A write on a secret pending deletion: settled, so Precondition and not retried.
    let before = emu.request_counts().count("UpdateSecret", 409);
    let err = c
        .update_secret(&s.id, &content("x"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Precondition, "{err}");
    assert_eq!(emu.request_counts().count("UpdateSecret", 409), before + 1);
    c.cancel_secret_deletion(&s.id, None).await.unwrap();
    assert_eq!(
        c.get_secret(&s.id).await.unwrap().lifecycle_state,
        SecretLifecycleState::Active
    );
}

#[tokio::test]
async fn the_write_window_is_waited_out_and_makes_one_version() {
    // The emulator's clock stands still, so the window lasts until the test moves it: no timing
    // of this machine decides whether a 409 is seen.
    let emu = windowed_emulator().await;
    let c = client(&emu);
    let s = c.create_secret(&details("db", "one"), None).await.unwrap();
    assert_eq!(s.lifecycle_state, SecretLifecycleState::Creating);
    // 409 IncorrectState while CREATING is a refusal before acting: retried even for a write that
    // makes a version, and exactly one version results.
    let patient = patient(&emu);
    let id = s.id.clone();
    let update =
        tokio::spawn(async move { patient.update_secret(&id, &content("two"), None).await });
    end_window_after_refusals(&emu, "UpdateSecret", 1).await;
    let up = update.await.unwrap().unwrap();
    assert_eq!(up.current_version_number, Some(2));
    let counts = emu.request_counts();
    assert!(counts.count("UpdateSecret", 409) >= 1, "{counts:?}");
    assert_eq!(counts.count("UpdateSecret", 200), 1);
    assert_eq!(c.list_secret_versions(&s.id).await.unwrap().len(), 2);
}

/// An emulator whose writes open a window of half a second on a clock that stands still.
async fn windowed_emulator() -> EmulatorHandle {
    let mut settings = OciSettings::default();
    settings.limits.updating_window_ms = 500;
    let emu = oci::emulator(settings).await;
    emu.clock().freeze();
    emu
}

/// A client that retries 409s long enough for the test to end the window.
fn patient(emu: &EmulatorHandle) -> OciClient {
    let mut config = config(emu, oci::PRIVATE_KEY);
    config.retry = RetryPolicy {
        max_attempts: 100,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(100),
        budget: Duration::from_secs(30),
    };
    OciClient::new(config).unwrap()
}

/// Once `endpoint` drew `refusals` answers 409, moves the emulator's clock past the window.
async fn end_window_after_refusals(emu: &EmulatorHandle, endpoint: &str, refusals: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while emu.request_counts().count(endpoint, 409) < refusals {
        assert!(
            std::time::Instant::now() < deadline,
            "no 409 from {endpoint}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    emu.advance_clock(jiff::SignedDuration::from_secs(1));
}

#[tokio::test]
async fn retries_only_what_is_safe_to_repeat() {
    let emu = emulator().await;
    let c = client(&emu);
    let fail_all = |endpoint: &str, status: u16| {
        emu.update_faults(|f| {
            f.errors
                .insert(endpoint.to_string(), ErrorFault { rate: 1.0, status });
        })
        .unwrap()
    };
    let heal = || emu.update_faults(|f| f.errors.clear()).unwrap();

    // A create without a retry token after a 503: the server may have acted, so one attempt only.
    fail_all("CreateSecret", 503);
    let err = c.create_secret(&details("a", "x"), None).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transient);
    assert_eq!(emu.request_counts().count("CreateSecret", 503), 1);
    // With a token it is repeatable: every attempt is made.
    emu.reset_request_counts();
    let err = c
        .create_secret(&details("a", "x"), Some("token-a"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transient);
    assert_eq!(emu.request_counts().count("CreateSecret", 503), 4);
    heal();
    let first = c
        .create_secret(&details("a", "x"), Some("token-a"))
        .await
        .unwrap();
    let again = c
        .create_secret(&details("a", "x"), Some("token-a"))
        .await
        .unwrap();
    assert_eq!(first.id, again.id, "the token replays the first answer");
    assert_eq!(emu.secret_count(), 1);
    let err = c
        .create_secret(&details("a", "other body"), Some("token-a"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Conflict, "{err}");

    // A read after a 500 is repeated until it works or the attempts run out.
    fail_all("GetSecret", 500);
    emu.reset_request_counts();
    assert_eq!(
        c.get_secret(&first.id).await.unwrap_err().kind(),
        &ErrorKind::ServerError
    );
    assert_eq!(emu.request_counts().count("GetSecret", 500), 4);
    heal();

    // New content over a dropped connection: never repeated (UpdateSecret takes no retry token).
    emu.reset_request_counts();
    emu.update_faults(|f| f.drop_rate = 1.0).unwrap();
    let err = c
        .update_secret(&first.id, &content("y"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transport);
    assert_eq!(emu.request_counts().count("UpdateSecret", 0), 1);
    // A promotion is a state change: repeated.
    let promote = UpdateSecretDetails {
        current_version_number: Some(1),
        ..Default::default()
    };
    emu.reset_request_counts();
    let _ = c
        .update_secret(&first.id, &promote, None)
        .await
        .unwrap_err();
    assert_eq!(emu.request_counts().count("UpdateSecret", 0), 4);
    emu.update_faults(|f| f.drop_rate = 0.0).unwrap();
}

#[tokio::test]
async fn key_versions_and_a_disabled_key() {
    let emu = emulator().await;
    let c = client(&emu);
    let key = c.get_key(oci::KEY).await.unwrap();
    assert_eq!(key.vault_id, oci::VAULT);
    let first = key.current_key_version.clone().unwrap();
    let v2 = c
        .create_key_version(oci::KEY, Some("rotate-1"))
        .await
        .unwrap();
    assert_eq!(v2.lifecycle_state, KeyVersionLifecycleState::Enabled);
    assert_eq!(
        c.get_key(oci::KEY).await.unwrap().current_key_version,
        Some(v2.id.clone())
    );
    c.create_key_version(oci::KEY, None).await.unwrap();
    let versions = c.list_key_versions(oci::KEY).await.unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(
        emu.request_counts().count("ListKeyVersions", 200),
        2,
        "two pages"
    );
    assert_eq!(c.get_key_version(oci::KEY, &first).await.unwrap().id, first);
    // The current key version cannot be scheduled for deletion.
    let current = c
        .get_key(oci::KEY)
        .await
        .unwrap()
        .current_key_version
        .unwrap();
    let err = c
        .schedule_key_version_deletion(oci::KEY, &current, None, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Precondition, "{err}");
    let scheduled = c
        .schedule_key_version_deletion(oci::KEY, &first, None, None, Some("del-1"))
        .await
        .unwrap();
    assert_eq!(
        scheduled.lifecycle_state,
        KeyVersionLifecycleState::PendingDeletion
    );
    let restored = c
        .cancel_key_version_deletion(oci::KEY, &first, scheduled.etag.as_deref(), None)
        .await
        .unwrap();
    assert_eq!(restored.lifecycle_state, KeyVersionLifecycleState::Enabled);

    // A disabled key: rotation and new secret content are KeyUnavailable, and not retried.
    let s = c.create_secret(&details("db", "one"), None).await.unwrap();
    oci::set_key_state(&emu, oci::KEY, "DISABLED").await;
    emu.reset_request_counts();
    let err = c.create_key_version(oci::KEY, None).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::KeyUnavailable, "{err}");
    let err = c
        .update_secret(&s.id, &content("two"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::KeyUnavailable, "{err}");
    let err = c
        .get_secret_bundle(&s.id, &BundleSelector::Current)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::KeyUnavailable, "{err}");
    assert_eq!(emu.request_counts().total, 3);
    oci::set_key_state(&emu, oci::KEY, "ENABLED").await;
    c.create_key_version(oci::KEY, None).await.unwrap();
}

#[tokio::test]
async fn rate_limits_and_version_limits() {
    let emu = emulator().await;
    oci::update_settings(&emu, |s| s.management_writes_per_second = Some(2)).await;
    // Without retries the 429 surfaces as RateLimited with the server's Retry-After.
    let mut no_retry = config(&emu, oci::PRIVATE_KEY);
    no_retry.retry = RetryPolicy::none();
    let once = OciClient::new(no_retry).unwrap();
    let results =
        futures::future::join_all((0..5).map(|_| once.create_key_version(oci::KEY, None))).await;
    let limited: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(limited.len() >= 3, "{results:?}");
    for err in &limited {
        assert_eq!(
            err.kind(),
            &ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(1))
            },
            "{err}"
        );
    }
    // With retries, every write gets through in a later window: 429 is a refusal before acting.
    let c = client(&emu);
    let results =
        futures::future::join_all((0..5).map(|_| c.create_key_version(oci::KEY, None))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let counts = emu.request_counts();
    assert!(counts.count("CreateKeyVersion", 429) >= 6, "{counts:?}");
    assert_eq!(
        counts.count("CreateKeyVersion", 200),
        10 - limited.len() as u64
    );

    // 30 versions in active use; the 31st is QuotaExceeded until a deprecated one is scheduled.
    let s = c.create_secret(&details("many", "v1"), None).await.unwrap();
    for i in 2..=30 {
        c.update_secret(&s.id, &content(&format!("v{i}")), None)
            .await
            .unwrap();
    }
    let err = c
        .update_secret(&s.id, &content("v31"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::QuotaExceeded, "{err}");
    c.schedule_secret_version_deletion(&s.id, 1, None, None)
        .await
        .unwrap();
    c.update_secret(&s.id, &content("v31"), None).await.unwrap();
}

#[tokio::test]
async fn signatures_the_emulator_refuses() {
    let emu = emulator().await;
    let s = client(&emu)
        .create_secret(&details("db", "x"), None)
        .await
        .unwrap();
    let wrong = OciClient::new(config(&emu, oci::WRONG_PRIVATE_KEY)).unwrap();
    let err = wrong.get_secret(&s.id).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");
    assert!(err.message().starts_with("NotAuthenticated"), "{err}");
    // A key id the emulator never registered (the right key under another fingerprint).
    let mut unknown = config(&emu, oci::PRIVATE_KEY);
    unknown.key.fingerprint = format!("{}00", "00:".repeat(15));
    let err = OciClient::new(unknown)
        .unwrap()
        .get_secret(&s.id)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");
    // A request dated 6 minutes ahead: signed correctly, refused for the skew.
    let signer = config(&emu, oci::PRIVATE_KEY).signer().unwrap();
    let url =
        reqwest::Url::parse(&format!("{}/20180608/secrets/{}", emu.base_url(), s.id)).unwrap();
    let skewed = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(6);
    let signed = signer.sign_url("GET", &url, b"", None, skewed);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = http.get(url.clone());
    for (name, value) in &signed.headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("5 minutes"),
        "{body}"
    );
    assert_eq!(emu.request_counts().count("GetSecret", 401), 3);
    // Moving the emulator's clock does not: it is the server's state that moves on.
    emu.advance_clock(jiff::SignedDuration::from_hours(24 * 365));
    client(&emu).get_secret(&s.id).await.unwrap();
    // Another tenancy's view: 404, as OCI answers for "not yours".
    let err = client(&emu)
        .get_secret("ocid1.vaultsecret.oc1..nope")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotFound);
}

#[derive(Default)]
struct Recorder(Mutex<Vec<ProviderCall>>);

impl CallObserver for Recorder {
    fn observe(&self, call: &ProviderCall) {
        self.0.lock().unwrap().push(call.clone());
    }
}

#[tokio::test]
async fn observer_sees_each_operation_once_and_errors_keep_payloads_out() {
    let emu = emulator().await;
    let recorder = Arc::new(Recorder::default());
    let c = client(&emu).with_observer(recorder.clone());
    let payload = "canary-payload-4711";
    let s = c
        .create_secret(&details("db", payload), None)
        .await
        .unwrap();
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
    let err = c.get_secret(&s.id).await.unwrap_err();
    emu.update_faults(|f| f.errors.clear()).unwrap();
    let bad_version = UpdateSecretDetails {
        secret_content: Some(SecretContent::new(SecretValue::from(payload)).stage(Stage::Pending)),
        current_version_number: Some(1),
        ..Default::default()
    };
    let refused = c
        .update_secret(&s.id, &bad_version, None)
        .await
        .unwrap_err();
    let calls = recorder.0.lock().unwrap().clone();
    let seen: Vec<(&str, &str, u32)> = calls
        .iter()
        .map(|c| (c.operation, c.outcome, c.attempts))
        .collect();
    assert_eq!(
        seen,
        [
            ("create_secret", "ok", 1),
            ("get_secret", "Transient", 4),
            ("update_secret", "InvalidArgument", 1),
        ]
    );
    for shown in [format!("{err} {err:?}"), format!("{refused} {refused:?}")] {
        assert!(!shown.contains(payload), "{shown}");
    }
}

/// A client that never repeats a request (what the SDK does with `NoneRetryStrategy`).
fn once(emu: &EmulatorHandle) -> OciClient {
    let mut config = config(emu, oci::PRIVATE_KEY);
    config.retry = RetryPolicy::none();
    OciClient::new(config).unwrap()
}

/// The SDK driver's 409 on the scheduling calls: during a write window ScheduleSecretVersionDeletion
/// is refused with 409 IncorrectState, which a client without retries sees as a transient
/// failure, and which Keyward's client waits out, scheduling the version once.
#[tokio::test]
async fn scheduling_during_a_write_window_is_waited_out_and_happens_once() {
    let emu = windowed_emulator().await;
    let c = client(&emu);
    let s = c.create_secret(&details("db", "one"), None).await.unwrap();
    for value in ["two", "three"] {
        emu.advance_clock(jiff::SignedDuration::from_secs(1));
        c.update_secret(&s.id, &content(value), None).await.unwrap();
    }
    // UPDATING until the clock moves.
    let err = once(&emu)
        .schedule_secret_version_deletion(&s.id, 1, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transient, "{err}");
    assert!(err.message().contains("UPDATING"), "{err}");
    let patient = patient(&emu);
    let id = s.id.clone();
    let schedule = tokio::spawn(async move {
        patient
            .schedule_secret_version_deletion(&id, 1, None, None)
            .await
    });
    end_window_after_refusals(&emu, "ScheduleSecretVersionDeletion", 2).await;
    schedule.await.unwrap().unwrap();
    let counts = emu.request_counts();
    assert!(
        counts.count("ScheduleSecretVersionDeletion", 409) >= 2,
        "{counts:?}"
    );
    assert_eq!(counts.count("ScheduleSecretVersionDeletion", 200), 1);
    let v1 = c.get_secret_version(&s.id, 1).await.unwrap();
    assert!(v1.time_of_deletion.is_some());
}

/// The SDK driver's 429s: the API key's request budget refuses reads and the tenancy's Vault
/// write budget refuses content writes with 429 TooManyRequests and a Retry-After. Without
/// retries they are `RateLimited` with the server's wait; with them every call gets through, and a
/// content write repeated after a 429 (a refusal before acting) makes exactly one version.
#[tokio::test]
async fn rate_limited_reads_and_vault_writes() {
    let emu = emulator().await;
    let c = client(&emu);
    let s = c.create_secret(&details("db", "one"), None).await.unwrap();
    emu.update_faults(|f| f.rate_limit_per_second = Some(2))
        .unwrap();
    let mut limited = 0;
    for _ in 0..8 {
        if let Err(err) = once(&emu).get_secret(&s.id).await {
            assert_eq!(
                err.kind(),
                &ErrorKind::RateLimited {
                    retry_after: Some(Duration::from_secs(1))
                },
                "{err}"
            );
            limited += 1;
        }
    }
    assert!(limited >= 4, "{limited} of 8 reads refused at 2/s");
    for _ in 0..5 {
        let b = c
            .get_secret_bundle(&s.id, &BundleSelector::Current)
            .await
            .unwrap();
        assert_eq!(b.version_number, 1);
    }
    assert!(emu.request_counts().count("GetSecret", 429) >= 4);
    emu.update_faults(|f| f.rate_limit_per_second = None)
        .unwrap();

    oci::update_settings(&emu, |s| s.secret_writes_per_second = Some(1)).await;
    let mut made = 1;
    let mut refused = 0;
    for i in 0..4 {
        match once(&emu)
            .update_secret(&s.id, &content(&format!("w{i}")), None)
            .await
        {
            Ok(_) => made += 1,
            Err(err) => {
                assert!(matches!(err.kind(), ErrorKind::RateLimited { .. }), "{err}");
                refused += 1;
            }
        }
    }
    assert!(refused >= 2, "{refused} of 4 writes refused at 1/s");
    emu.reset_request_counts();
    for i in 0..3 {
        c.update_secret(&s.id, &content(&format!("r{i}")), None)
            .await
            .unwrap();
    }
    let counts = emu.request_counts();
    assert!(counts.count("UpdateSecret", 429) >= 1, "{counts:?}");
    assert_eq!(counts.count("UpdateSecret", 200), 3, "{counts:?}");
    oci::update_settings(&emu, |s| s.secret_writes_per_second = None).await;
    assert_eq!(
        c.list_secret_versions(&s.id).await.unwrap().len(),
        made + 3,
        "one version per successful write"
    );
}

/// What the SDK driver checks of the fields Keyward's OciSecrets relies on: freeform tags and the
/// description round trip and update; a version name is unique per secret (reuse is a `Conflict`,
/// never an `InvalidArgument`) and selects a bundle; listing filters by name and lifecycle state;
/// a page token the API never gave is refused.
#[tokio::test]
async fn tags_version_names_and_listing_filters() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut made = details("tagged", "one");
    made.freeform_tags = [
        ("keyward-path".to_string(), "/team".to_string()),
        ("keyward-owner".to_string(), "ns/db".to_string()),
    ]
    .into();
    let s = c.create_secret(&made, None).await.unwrap();
    let got = c.get_secret(&s.id).await.unwrap();
    assert_eq!(got.freeform_tags, made.freeform_tags);
    assert_eq!(got.description.as_deref(), Some("made by a test"));
    let mut tags = got.freeform_tags.clone();
    tags.insert("keyward-cluster".into(), "c1".into());
    let up = c
        .update_secret(
            &s.id,
            &UpdateSecretDetails {
                description: Some(String::new()),
                freeform_tags: Some(tags.clone()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(up.freeform_tags, tags);
    assert_eq!(up.current_version_number, Some(1), "no version made");
    let named = |value: &str| UpdateSecretDetails {
        secret_content: Some(
            SecretContent::new(SecretValue::from(value)).named("keyward_3atoken-1"),
        ),
        ..Default::default()
    };
    c.update_secret(&s.id, &named("two"), None).await.unwrap();
    let err = c
        .update_secret(&s.id, &named("again"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("already exists"), "{err}");
    let b = c
        .get_secret_bundle(
            &s.id,
            &BundleSelector::VersionName("keyward_3atoken-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(b.version_number, 2);

    c.schedule_secret_deletion(&s.id, None, None).await.unwrap();
    let filter = |state| SecretFilter {
        compartment_id: oci::TENANCY.into(),
        vault_id: Some(oci::VAULT.into()),
        name: Some("tagged".into()),
        lifecycle_state: Some(state),
    };
    let pending = c
        .list_secrets(&filter(SecretLifecycleState::PendingDeletion))
        .await
        .unwrap();
    assert_eq!(
        pending.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        [s.id.as_str()]
    );
    assert!(
        c.list_secrets(&filter(SecretLifecycleState::Active))
            .await
            .unwrap()
            .is_empty()
    );
    let err = c
        .list_secrets_page(&filter(SecretLifecycleState::Active), Some("not-a-token"))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidArgument { .. }),
        "{err}"
    );
}
