//! The Scaleway client against the project's emulator over loopback: the two were each held to the
//! recorded cassettes; this checks they also agree where no recording exists (errors the emulator
//! chose for UNCONFIRMED cases, and the classification the controller relies on).

use std::sync::Arc;

use keyward::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use keyward::provider::SecretType;
use keyward::provider::retry::RetryPolicy;
use keyward::provider::scaleway::{ScalewayClient, ScalewayConfig};
use keyward::provider::{
    ErrorKind, NewSecret, NewVersion, RevisionSelector, SecretManager, VersionStatus,
};
use keyward::secret_value::SecretValue;

const PROJECT: &str = "6f1b3c2a-4d5e-4f60-8a1b-2c3d4e5f6a7b";
const CANARY: &str = "canary-client-emulator-7d1f";

async fn emulator() -> EmulatorHandle {
    spawn(EmulatorConfig::for_tests()).await.expect("emulator")
}

/// The client as the controller holds it: behind the provider-neutral trait.
fn client(emu: &EmulatorHandle) -> Arc<dyn SecretManager> {
    let mut config = ScalewayConfig::new(
        Some(&emu.base_url()),
        "fr-par",
        PROJECT,
        Some("SCWTESTACCESSKEY0000"),
        "00000000-0000-0000-0000-000000000000",
    )
    .expect("config");
    config.retry = RetryPolicy::none();
    Arc::new(ScalewayClient::new(config).expect("client"))
}

fn new_secret(name: &str) -> NewSecret {
    NewSecret {
        name: name.into(),
        path: "/apps/db".into(),
        description: Some("made by a test".into()),
        tags: vec!["keyward".into()],
        kind: SecretType::Opaque,
        ..NewSecret::default()
    }
}

fn version(value: &str, description: &str) -> NewVersion {
    NewVersion {
        value: SecretValue::from(value),
        description: Some(description.into()),
        disable_previous: false,
    }
}

#[tokio::test]
async fn create_find_version_access_round_trip() {
    let emu = emulator().await;
    let sm = client(&emu);

    assert_eq!(sm.find_secret("db", "/apps/db").await.unwrap(), None);
    let created = sm
        .create_secret(&new_secret("db"), Some(&version(CANARY, "keyward:op-1")))
        .await
        .unwrap();
    let id = created.secret.id.clone();
    assert_eq!(created.secret.path, "/apps/db");
    assert_eq!(created.initial_version.as_ref().unwrap().revision, 1);

    let found = sm.find_secret("db", "/apps/db").await.unwrap().unwrap();
    assert_eq!(found.id, id);
    // Same name in another folder is another secret.
    assert_eq!(sm.find_secret("db", "/apps").await.unwrap(), None);

    let v2 = sm
        .create_version(&id, &version("second", "keyward:op-2"))
        .await
        .unwrap();
    assert_eq!(v2.revision, 2);
    let versions = sm.list_versions(&id).await.unwrap();
    let listed: Vec<(u64, &str, bool)> = versions
        .iter()
        .map(|v| (v.revision, v.description.as_str(), v.latest))
        .collect();
    assert_eq!(
        listed,
        vec![(2, "keyward:op-2", true), (1, "keyward:op-1", false)]
    );

    let latest = sm
        .access_version(&id, RevisionSelector::LatestEnabled)
        .await
        .unwrap();
    assert_eq!(
        (latest.revision, latest.value.expose()),
        (2, &b"second"[..])
    );
    let first = sm
        .access_version(&id, RevisionSelector::Number(1))
        .await
        .unwrap();
    assert_eq!(first.value.expose(), CANARY.as_bytes());
}

#[tokio::test]
async fn disabled_version_is_unreadable_and_latest_enabled_skips_it() {
    let emu = emulator().await;
    let sm = client(&emu);
    let id = sm
        .create_secret(&new_secret("api"), Some(&version("one", "a")))
        .await
        .unwrap()
        .secret
        .id;
    sm.create_version(&id, &version("two", "b")).await.unwrap();
    let disabled = sm.set_version_enabled(&id, 2, false).await.unwrap();
    assert_eq!(disabled.status, VersionStatus::Disabled);

    let err = sm
        .access_version(&id, RevisionSelector::Number(2))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::VersionUnreadable, "{err}");
    let fallback = sm
        .access_version(&id, RevisionSelector::LatestEnabled)
        .await
        .unwrap();
    assert_eq!(fallback.revision, 1);
}

#[tokio::test]
async fn protected_secret_refuses_delete_until_unprotected() {
    let emu = emulator().await;
    let sm = client(&emu);
    let mut spec = new_secret("locked");
    spec.protected = true;
    let id = sm.create_secret(&spec, None).await.unwrap().secret.id;

    let err = sm.delete_secret(&id).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Protected, "{err}");
    assert!(
        sm.get_secret(&id)
            .await
            .unwrap()
            .deletion_requested_at
            .is_none()
    );

    sm.set_protected(&id, false).await.unwrap();
    sm.delete_secret(&id).await.unwrap();
    let deleted = sm.get_secret(&id).await.unwrap();
    assert!(deleted.deletion_requested_at.is_some(), "soft delete");
    assert_eq!(sm.find_secret("locked", "/apps/db").await.unwrap(), None);
}

#[tokio::test]
async fn unknown_secret_is_not_found() {
    let emu = emulator().await;
    let sm = client(&emu);
    let missing = keyward::provider::SecretId::new("0d6a2f4e-1b3c-4d5e-8f70-9a1b2c3d4e5f");
    let err = sm.get_secret(&missing).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn disabled_key_is_key_unavailable_and_metadata_stays_readable() {
    let emu = emulator().await;
    let sm = client(&emu);
    let id = sm
        .create_secret(&new_secret("kms"), Some(&version(CANARY, "a")))
        .await
        .unwrap()
        .secret
        .id;
    emu.disable_key(id.as_str());

    let read = sm
        .access_version(&id, RevisionSelector::Latest)
        .await
        .unwrap_err();
    assert_eq!(read.kind(), &ErrorKind::KeyUnavailable, "{read}");
    let write = sm
        .create_version(&id, &version(CANARY, "b"))
        .await
        .unwrap_err();
    assert_eq!(write.kind(), &ErrorKind::KeyUnavailable, "{write}");
    for err in [&read, &write] {
        assert!(!format!("{err} {err:?}").contains(CANARY));
    }
    assert_eq!(sm.get_secret(&id).await.unwrap().id, id);
    assert_eq!(
        sm.list_versions(&id).await.unwrap().len(),
        1,
        "no version was added"
    );

    emu.enable_key(id.as_str());
    assert_eq!(
        sm.access_version(&id, RevisionSelector::Latest)
            .await
            .unwrap()
            .value
            .expose(),
        CANARY.as_bytes()
    );
}

#[tokio::test]
async fn rate_limit_is_classified_with_retry_after() {
    let emu = emulator().await;
    emu.update_faults(|f| f.rate_limit_per_second = Some(2))
        .unwrap();
    let sm = client(&emu);
    let mut limited = None;
    for _ in 0..10 {
        if let Err(err) = sm.find_secret("x", "/").await {
            limited = Some(err);
            break;
        }
    }
    let err = limited.expect("the third request within a second is refused");
    match err.kind() {
        ErrorKind::RateLimited { retry_after } => {
            assert!(retry_after.is_some(), "Retry-After is passed on")
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn injected_server_errors_are_transient_or_server_errors() {
    let emu = emulator().await;
    emu.update_faults(|f| {
        f.errors.insert(
            "GetSecret".into(),
            keyward::emulator::ErrorFault {
                rate: 1.0,
                status: 503,
            },
        );
    })
    .unwrap();
    let sm = client(&emu);
    let id = sm
        .create_secret(&new_secret("s"), None)
        .await
        .unwrap()
        .secret
        .id;
    let err = sm.get_secret(&id).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Transient, "{err}");
    assert!(err.kind() != &ErrorKind::NotFound);
}
