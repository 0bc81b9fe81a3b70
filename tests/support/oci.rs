//! The OCI emulator as the OCI tests use it: one tenancy with a registered API key (the test key in
//! tests/fixtures/oci/), a vault and two AES keys, with fixed ids.

use keyward::emulator::oci::account::{KeySeed, VaultSeed};
use keyward::emulator::oci::model::ApiKeyRecord;
use keyward::emulator::oci::{OciEmulatorConfig, OciSettings, Seed};
use keyward::emulator::{EmulatorConfig, EmulatorHandle, spawn};

pub const TENANCY: &str = "ocid1.tenancy.oc1..aaaaaaaakeywardtesttenancy";
pub const USER: &str = "ocid1.user.oc1..aaaaaaaakeywardtestuser";
/// `test-key.pem`'s fingerprint (tests/fixtures/oci/README.md).
pub const FINGERPRINT: &str = "9f:9e:f6:15:91:b0:c3:fc:2d:e7:bc:57:d5:6c:60:93";
pub const REGION: &str = "eu-frankfurt-1";
pub const VAULT: &str = "ocid1.vault.oc1.eu-frankfurt-1.amaaaaaakeywardtestvault";
pub const KEY: &str = "ocid1.key.oc1.eu-frankfurt-1.amaaaaaakeywardtestkey";
pub const OTHER_KEY: &str = "ocid1.key.oc1.eu-frankfurt-1.amaaaaaakeywardotherkey";

pub const PRIVATE_KEY: &str = include_str!("../fixtures/oci/test-key.pem");
pub const PUBLIC_KEY: &str = include_str!("../fixtures/oci/test-key.pub.pem");
pub const WRONG_PRIVATE_KEY: &str = include_str!("../fixtures/oci/other-key.pem");

pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oci")
        .join(name)
}

pub fn seed() -> Seed {
    Seed {
        api_keys: vec![ApiKeyRecord {
            tenancy: TENANCY.into(),
            user: USER.into(),
            fingerprint: FINGERPRINT.into(),
            public_key: PUBLIC_KEY.into(),
        }],
        compartments: vec![],
        vaults: vec![VaultSeed {
            id: Some(VAULT.into()),
            compartment_id: TENANCY.into(),
            display_name: Some("keyward-test".into()),
        }],
        keys: [KEY, OTHER_KEY]
            .iter()
            .map(|id| KeySeed {
                id: Some(id.to_string()),
                vault_id: VAULT.into(),
                ..KeySeed::default()
            })
            .collect(),
    }
}

/// An OCI emulator with [`seed`], strict signatures, and these settings.
pub async fn emulator(settings: OciSettings) -> EmulatorHandle {
    spawn(EmulatorConfig::oci_for_tests(OciEmulatorConfig {
        region: Some(REGION.into()),
        seed: seed(),
        settings,
    }))
    .await
    .expect("the OCI emulator starts")
}

/// `PUT /emulator/oci/settings` after `edit` (through the admin API, as a test outside the process
/// would).
pub async fn update_settings(emu: &EmulatorHandle, edit: impl FnOnce(&mut OciSettings)) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/emulator/oci/settings", emu.base_url());
    let mut settings: OciSettings = http.get(&url).send().await.unwrap().json().await.unwrap();
    edit(&mut settings);
    let resp = http.put(&url).json(&settings).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

/// `PUT /emulator/oci/keys/{id}/state`: ENABLED, DISABLED or PENDING_DELETION.
pub async fn set_key_state(emu: &EmulatorHandle, key_id: &str, state: &str) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = http
        .put(format!(
            "{}/emulator/oci/keys/{key_id}/state",
            emu.base_url()
        ))
        .json(&serde_json::json!({ "lifecycleState": state }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

/// `PUT /emulator/oci/users/{user}/policies`: takes the test user's IAM policies away (`false`:
/// every call answers 404 NotAuthorizedOrNotFound) or gives them back.
pub async fn set_policies_allowed(emu: &EmulatorHandle, allowed: bool) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = http
        .put(format!(
            "{}/emulator/oci/users/{USER}/policies",
            emu.base_url()
        ))
        .json(&serde_json::json!({ "allowed": allowed }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}
