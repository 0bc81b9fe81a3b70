//! OCI Vault as the controller sees it (`OciSecrets` behind the `SecretManager` trait) against the
//! OCI emulator, which the official SDK referees (`oci_sdk.rs`): folders in names, owner marks in
//! freeform tags, operation tokens in version names, stages read as statuses, a reserved name told
//! plainly, another vault's secret never seen, and a repeated version write that makes no second
//! version (counted on the emulator's side).

use std::sync::Arc;
use std::time::Duration;

use keyward::emulator::EmulatorHandle;
use keyward::emulator::oci::OciSettings;
use keyward::provider::oci::wire::{CreateSecretDetails, SecretContent, UpdateSecretDetails};
use keyward::provider::oci::{ApiKey, OciClient, OciConfig, OciSecrets};
use keyward::provider::{
    ErrorKind, Listing, NewSecret, NewVersion, OwnerMark, RevisionSelector, SecretId,
    SecretManager, VersionStatus,
};
use keyward::secret_value::SecretValue;

use crate::support::oci;

const CANARY: &str = "canary-oci-secrets-5c2e";

fn raw_client(emu: &EmulatorHandle) -> OciClient {
    let key = ApiKey {
        tenancy: oci::TENANCY.into(),
        user: oci::USER.into(),
        fingerprint: oci::FINGERPRINT.into(),
        private_key: SecretValue::from(oci::PRIVATE_KEY),
        passphrase: None,
    };
    let mut config = OciConfig::new(key, oci::REGION)
        .unwrap()
        .with_all_endpoints(&emu.base_url())
        .unwrap();
    config.page_size = 2;
    OciClient::new(config).unwrap()
}

fn secrets(emu: &EmulatorHandle, vault: &str) -> Arc<dyn SecretManager> {
    Arc::new(OciSecrets::new(
        raw_client(emu),
        oci::TENANCY,
        vault,
        oci::KEY,
    ))
}

async fn emulator() -> EmulatorHandle {
    let mut settings = OciSettings::default();
    settings.limits.updating_window_ms = 0;
    oci::emulator(settings).await
}

fn owner(object: &str) -> OwnerMark {
    OwnerMark {
        cluster: "cluster-1".into(),
        object: object.into(),
    }
}

fn new_secret(name: &str, path: &str) -> NewSecret {
    NewSecret {
        name: name.into(),
        path: path.into(),
        description: Some("made by Keyward".into()),
        owner: Some(owner("team-a/db")),
        ..NewSecret::default()
    }
}

fn version(value: &str, token: &str) -> NewVersion {
    NewVersion {
        value: SecretValue::from(value),
        description: Some(token.into()),
        disable_previous: false,
    }
}

#[tokio::test]
async fn create_find_rotate_read_and_retire_through_the_trait() {
    let emu = emulator().await;
    let sm = secrets(&emu, oci::VAULT);
    assert_eq!(sm.capabilities().listing, Listing::SecretsOnly);
    assert_eq!(sm.find_secret("db", "/team-a").await.unwrap(), None);

    let token1 = "keyward:team-a/db:initial:0011223344556677";
    let created = sm
        .create_secret(&new_secret("db", "/team-a"), Some(&version(CANARY, token1)))
        .await
        .unwrap();
    let id = created.secret.id.clone();
    assert!(id.as_str().starts_with("ocid1.vaultsecret."), "{id}");
    assert_eq!(
        (created.secret.name.as_str(), created.secret.path.as_str()),
        ("db", "/team-a")
    );
    assert_eq!(created.secret.owner, Some(owner("team-a/db")));
    assert_eq!(created.initial_version.as_ref().unwrap().revision, 1);
    // OCI's own name is the dotted one; the folder is read back from its tag.
    let raw = raw_client(&emu).get_secret(id.as_str()).await.unwrap();
    assert_eq!(raw.secret_name, "team-a.db");
    assert_eq!(raw.freeform_tags["keyward-path"], "/team-a");

    // The listing and a direct lookup agree on where it is.
    let found = sm.find_secret("db", "/team-a").await.unwrap().unwrap();
    assert_eq!(found.id, id);
    assert_eq!(sm.find_secret("db", "/").await.unwrap(), None);
    let listed = sm.list_all_secrets().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|s| s.id == id && s.name == "db" && s.path == "/team-a")
    );
    assert_eq!(sm.get_secret(&id).await.unwrap().version_count, Some(1));

    // Two rotations: the operation token reads back as the version's description.
    let token2 = "keyward:team-a/db:rotation:8899aabbccddeeff";
    let v2 = sm
        .create_version(&id, &version("second", token2))
        .await
        .unwrap();
    assert_eq!((v2.revision, v2.description.as_str()), (2, token2));
    let v3 = sm
        .create_version(&id, &version("third", "keyward:team-a/db:rotation:01"))
        .await
        .unwrap();
    assert_eq!(v3.revision, 3);
    let versions = sm.list_versions(&id).await.unwrap();
    let by_revision: Vec<(u64, VersionStatus, &str, bool)> = versions
        .iter()
        .map(|v| (v.revision, v.status, v.description.as_str(), v.latest))
        .collect();
    assert_eq!(
        by_revision,
        vec![
            (
                3,
                VersionStatus::Enabled,
                "keyward:team-a/db:rotation:01",
                true
            ),
            (2, VersionStatus::Enabled, token2, false),
            (1, VersionStatus::Enabled, token1, false),
        ]
    );
    assert_eq!(sm.get_secret(&id).await.unwrap().version_count, Some(3));
    let current = sm
        .access_version(&id, RevisionSelector::LatestEnabled)
        .await
        .unwrap();
    assert_eq!(
        (current.revision, current.value.expose()),
        (3, &b"third"[..])
    );
    let first = sm
        .access_version(&id, RevisionSelector::Number(1))
        .await
        .unwrap();
    assert_eq!(first.value.expose(), CANARY.as_bytes());

    // Version 2 is PREVIOUS: OCI refuses to schedule it. Version 1 is DEPRECATED: scheduled.
    let refused = sm
        .delete_version(&id, 2, Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::Precondition, "{refused}");
    sm.delete_version(&id, 1, Duration::from_secs(3600))
        .await
        .unwrap();
    let after = sm.list_versions(&id).await.unwrap();
    let scheduled = after.iter().find(|v| v.revision == 1).unwrap();
    assert_eq!(scheduled.status, VersionStatus::ScheduledForDeletion);
    // An hour's retention asks for OCI's shortest window, a day (and a margin), not its default
    // 30 days: at most a day's superseded versions wait for deletion at once.
    let window = jiff::Timestamp::now().duration_until(scheduled.deletion_requested_at.unwrap());
    assert!(
        window > jiff::SignedDuration::from_hours(24)
            && window < jiff::SignedDuration::from_hours(25),
        "{window:#}"
    );
    let unreadable = sm
        .access_version(&id, RevisionSelector::Number(1))
        .await
        .unwrap_err();
    assert_eq!(
        unreadable.kind(),
        &ErrorKind::VersionUnreadable,
        "{unreadable}"
    );
    for e in [&refused, &unreadable] {
        assert!(!format!("{e} {e:?}").contains(CANARY));
    }
}

#[tokio::test]
async fn a_repeated_version_write_returns_the_first_and_makes_no_second() {
    let emu = emulator().await;
    let sm = secrets(&emu, oci::VAULT);
    let id = sm
        .create_secret(
            &new_secret("api", "/"),
            Some(&version("v1", "keyward:ns/api:initial:aa")),
        )
        .await
        .unwrap()
        .secret
        .id;
    let token = "keyward:ns/api:request:bb";
    let first = sm.create_version(&id, &version("v2", token)).await.unwrap();
    emu.reset_request_counts();
    // The same operation again, as after a crash between the write and the status record.
    let again = sm.create_version(&id, &version("v2", token)).await.unwrap();
    assert_eq!(again.revision, first.revision);
    assert_eq!(again.description, token);
    let versions = sm.list_versions(&id).await.unwrap();
    assert_eq!(versions.len(), 2, "no second version");
    let counts = emu.request_counts();
    assert_eq!(
        counts.endpoint_total("UpdateSecret"),
        1,
        "one refused write, then a listing: {counts:?}"
    );
}

#[tokio::test]
async fn a_created_secret_is_created_once_even_if_the_create_is_repeated() {
    let emu = emulator().await;
    let sm = secrets(&emu, oci::VAULT);
    let secret = new_secret("once", "/");
    let initial = version("v1", "keyward:ns/once:initial:cc");
    let first = sm.create_secret(&secret, Some(&initial)).await.unwrap();
    // The same request again (an answer lost on the way): the retry token returns the first.
    let again = sm.create_secret(&secret, Some(&initial)).await.unwrap();
    assert_eq!(again.secret.id, first.secret.id);
    assert_eq!(sm.list_all_secrets().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_name_reserved_by_a_secret_pending_deletion_is_told_plainly() {
    let emu = emulator().await;
    let sm = secrets(&emu, oci::VAULT);
    let id = sm
        .create_secret(
            &new_secret("gone", "/"),
            Some(&version("v1", "keyward:ns/gone:initial:dd")),
        )
        .await
        .unwrap()
        .secret
        .id;
    sm.delete_secret(&id).await.unwrap();
    // Pending deletion: not live, so not found by name, and its id reads as deleted.
    assert_eq!(sm.find_secret("gone", "/").await.unwrap(), None);
    assert!(
        sm.get_secret(&id)
            .await
            .unwrap()
            .deletion_requested_at
            .is_some()
    );
    let err = sm
        .create_secret(
            &new_secret("gone", "/"),
            Some(&version("v1", "keyward:ns/gone:initial:ee")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Conflict);
    // Its own secret: cancelling the deletion is enough.
    let text = err.to_string();
    assert!(
        text.contains("still reserved")
            && text.contains(id.as_str())
            && text.contains("cancel its deletion (it is this object's own secret")
            && !text.contains("adopt"),
        "{text}"
    );
    // Another object's (or nobody's): cancel and adopt, or another name.
    let err = sm
        .create_secret(
            &NewSecret {
                owner: Some(owner("team-b/db")),
                ..new_secret("gone", "/")
            },
            Some(&version("v1", "keyward:team-b/db:initial:ff")),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("still reserved") && text.contains(id.as_str()) && text.contains("adopt"),
        "{text}"
    );
}

#[tokio::test]
async fn adoption_by_name_or_ocid_and_never_across_vaults() {
    let emu = emulator().await;
    // Made in the console: no Keyward tags, a name with dots.
    let raw = raw_client(&emu);
    let made = raw
        .create_secret(
            &CreateSecretDetails {
                compartment_id: oci::TENANCY.into(),
                vault_id: oci::VAULT.into(),
                key_id: oci::KEY.into(),
                secret_name: "legacy.db".into(),
                secret_content: SecretContent::new(SecretValue::from("legacy")),
                description: None,
                secret_rules: vec![],
                freeform_tags: Default::default(),
                defined_tags: Default::default(),
                metadata: None,
            },
            None,
        )
        .await
        .unwrap();
    let sm = secrets(&emu, oci::VAULT);
    // At the root under its own name; its dots are no folders.
    let by_name = sm.get_secret(&SecretId::new("legacy.db")).await.unwrap();
    assert_eq!(by_name.id.as_str(), made.id);
    assert_eq!(
        (by_name.name.as_str(), by_name.path.as_str()),
        ("legacy.db", "/")
    );
    assert_eq!(by_name.owner, None);
    assert_eq!(sm.find_secret("db", "/legacy").await.unwrap(), None);
    let by_ocid = sm
        .get_secret(&SecretId::new(made.id.clone()))
        .await
        .unwrap();
    assert_eq!(by_ocid, by_name);
    // An update writes the owner mark beside the tags already there.
    raw.update_secret(
        &made.id,
        &UpdateSecretDetails {
            freeform_tags: Some([("team".to_string(), "payments".to_string())].into()),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let marked = sm
        .update_secret(
            &by_name.id,
            &keyward::provider::SecretUpdate {
                owner: Some(owner("ns/legacy")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(marked.owner, Some(owner("ns/legacy")));
    let tags = raw.get_secret(&made.id).await.unwrap().freeform_tags;
    assert_eq!(tags["team"], "payments");

    // A store on another vault reaching the same tenancy never sees it, by id or by name.
    let other = secrets(&emu, "ocid1.vault.oc1.eu-frankfurt-1.amaaaaaanotthisvault");
    for id in [made.id.as_str(), "legacy.db"] {
        let err = other.get_secret(&SecretId::new(id)).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::NotFound, "{id}: {err}");
    }
}
