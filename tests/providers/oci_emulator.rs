//! The OCI emulator's own surface: `keyward emulator --provider oci` as a child process (seed file,
//! state file across a restart), raw requests the SDK and the client never send (unsigned, unrouted,
//! lenient mode), and the admin API.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use keyward::emulator::oci::OciSettings;
use keyward::provider::ErrorKind;
use keyward::provider::oci::wire::{CreateSecretDetails, SecretContent};
use keyward::provider::oci::{ApiKey, BundleSelector, OciClient, OciConfig};
use keyward::secret_value::SecretValue;
use serde_json::{Value, json};

use crate::support::oci;

fn client_for(url: &str, private_key: &str) -> OciClient {
    let key = ApiKey {
        tenancy: oci::TENANCY.into(),
        user: oci::USER.into(),
        fingerprint: oci::FINGERPRINT.into(),
        private_key: SecretValue::from(private_key),
        passphrase: None,
    };
    let config = OciConfig::new(key, oci::REGION)
        .unwrap()
        .with_all_endpoints(url)
        .unwrap();
    OciClient::new(config).unwrap()
}

fn details(name: &str, value: &str) -> CreateSecretDetails {
    CreateSecretDetails {
        compartment_id: oci::TENANCY.into(),
        vault_id: oci::VAULT.into(),
        key_id: oci::KEY.into(),
        secret_name: name.into(),
        secret_content: SecretContent::new(SecretValue::from(value)),
        description: None,
        secret_rules: vec![],
        freeform_tags: Default::default(),
        defined_tags: Default::default(),
        metadata: None,
    }
}

fn start(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["emulator", "--provider", "oci", "--listen", "127.0.0.1:0"])
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
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exits cleanly on SIGTERM: {exit:?}");
}

#[tokio::test]
async fn binary_serves_oci_from_a_seed_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(&seed, serde_json::to_vec(&oci::seed()).unwrap()).unwrap();
    let state = dir.path().join("state.json");
    let flags = [
        "--oci-seed",
        seed.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--oci-updating-window-ms",
        "0",
    ];
    let (child, url) = start(&flags);
    let c = client_for(&url, oci::PRIVATE_KEY);
    let s = c
        .create_secret(&details("from-the-binary", "persisted"), None)
        .await
        .unwrap();
    let wrong = client_for(&url, oci::WRONG_PRIVATE_KEY);
    assert_eq!(
        wrong.get_secret(&s.id).await.unwrap_err().kind(),
        &ErrorKind::Unauthorized
    );
    terminate(child);
    assert!(state.exists(), "state saved on SIGTERM");

    // Restarted on the same state (the seed applies again, harmlessly).
    let (child, url) = start(&flags);
    let c = client_for(&url, oci::PRIVATE_KEY);
    let bundle = c
        .get_secret_bundle(&s.id, &BundleSelector::Current)
        .await
        .unwrap();
    assert_eq!(
        bundle.secret_bundle_content.unwrap().content.expose(),
        b"persisted"
    );
    terminate(child);

    // A Scaleway emulator refuses the OCI state file rather than overwrite it.
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds a oci emulator's state"), "{stderr}");
}

async fn raw(method: &str, url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = http.request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn unsigned_unrouted_and_lenient_requests() {
    let emu = oci::emulator(OciSettings::default()).await;
    let base = emu.base_url();
    let secrets = format!("{base}/20180608/secrets?compartmentId={}", oci::TENANCY);
    let (status, body) = raw("GET", &secrets, &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("NotAuthenticated"))
    );
    let forged = format!(
        "Signature version=\"1\",headers=\"date (request-target) host\",keyId=\"{}/{}/{}\",algorithm=\"rsa-sha256\",signature=\"AAAA\"",
        oci::TENANCY,
        oci::USER,
        oci::FINGERPRINT
    );
    let date = keyward::provider::oci::signing::http_date(jiff::Timestamp::now());
    let (status, body) = raw(
        "GET",
        &secrets,
        &[("authorization", &forged), ("date", &date)],
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not verify"),
        "{body}"
    );
    let (status, body) = raw("GET", &format!("{base}/20180608/vaults"), &[]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NotAuthorizedOrNotFound"))
    );
    let (status, _) = raw("DELETE", &format!("{base}/20180608/secrets/x"), &[]).await;
    assert_eq!(status, 405);
    let counts = emu.request_counts();
    assert_eq!(counts.count("ListSecrets", 401), 2);
    assert_eq!(counts.endpoint_total("Unrouted"), 2);

    // Lenient: the forged signature passes, the key id still decides the tenancy.
    oci::update_settings(&emu, |s| s.verify_signatures = false).await;
    let (status, body) = raw(
        "GET",
        &secrets,
        &[("authorization", &forged), ("date", &date)],
    )
    .await;
    assert_eq!((status, body), (200, json!([])));
    let (status, _) = raw("GET", &secrets, &[]).await;
    assert_eq!(status, 401, "the key id is still needed");
}

#[tokio::test]
async fn admin_api_seeds_switches_keys_and_checks_settings() {
    let emu = oci::emulator(OciSettings::default()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let admin = |path: &str| format!("{}/emulator/oci/{path}", emu.base_url());
    // Seeding again is harmless; a new vault in an unknown compartment is refused.
    let resp = http
        .post(admin("seed"))
        .json(&oci::seed())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seeded: Value = resp.json().await.unwrap();
    assert_eq!(seeded["keyIds"], json!([oci::KEY, oci::OTHER_KEY]));
    let resp = http
        .post(admin("seed"))
        .json(&json!({"vaults": [{"compartmentId": "ocid1.compartment.oc1..nobody"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Settings are validated.
    let resp = http
        .put(admin("settings"))
        .json(&json!({"managementWritesPerSecond": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // The key switch, seen through the API.
    oci::set_key_state(&emu, oci::OTHER_KEY, "PENDING_DELETION").await;
    let c = client_for(&emu.base_url(), oci::PRIVATE_KEY);
    let key = c.get_key(oci::OTHER_KEY).await.unwrap();
    assert_eq!(
        key.lifecycle_state,
        keyward::provider::oci::wire::KeyLifecycleState::PendingDeletion
    );
    assert!(key.time_of_deletion.is_some());
    let resp = http
        .put(admin("keys/ocid1.key.oc1..unknown/state"))
        .json(&json!({"lifecycleState": "ENABLED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(
        emu.requests_for_secret(oci::OTHER_KEY),
        1,
        "counted per key id"
    );
    // The policy switch: the same valid key, every call 404 NotAuthorizedOrNotFound (what OCI
    // answers for a missing permission), until the policies are back.
    let s = c.create_secret(&details("db", "x"), None).await.unwrap();
    oci::set_policies_allowed(&emu, false).await;
    emu.reset_request_counts();
    for err in [
        c.get_secret(&s.id).await.unwrap_err(),
        c.get_key(oci::KEY).await.unwrap_err(),
        c.create_secret(&details("db2", "x"), None)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), &ErrorKind::NotFound, "{err}");
        assert!(
            err.message().starts_with("NotAuthorizedOrNotFound"),
            "{err}"
        );
    }
    let counts = emu.request_counts();
    assert_eq!(counts.count("GetSecret", 404), 1, "{counts:?}");
    assert_eq!(counts.count("CreateSecret", 404), 1, "{counts:?}");
    assert_eq!(emu.secret_count(), 1, "nothing was created meanwhile");
    oci::set_policies_allowed(&emu, true).await;
    assert_eq!(c.get_secret(&s.id).await.unwrap().id, s.id);
}

#[tokio::test]
async fn the_kms_write_budget_is_the_tenancys_across_users() {
    let emu = oci::emulator(OciSettings::default()).await;
    oci::update_settings(&emu, |s| {
        s.management_writes_per_second = Some(1);
        s.limits.updating_window_ms = 0;
    })
    .await;
    // A second user of the same tenancy, with its own API key.
    let second_user = "ocid1.user.oc1..aaaaaaaakeywardseconduser";
    let other_fingerprint = "39:92:cf:ab:b1:10:b5:14:b7:ed:2e:0d:22:8d:9f:55";
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = http
        .post(format!("{}/emulator/oci/seed", emu.base_url()))
        .json(&json!({"apiKeys": [{
            "tenancy": oci::TENANCY,
            "user": second_user,
            "fingerprint": other_fingerprint,
            "publicKey": include_str!("../fixtures/oci/other-key.pub.pem"),
        }]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let no_retry = |key: ApiKey| {
        let mut config = OciConfig::new(key, oci::REGION)
            .unwrap()
            .with_all_endpoints(&emu.base_url())
            .unwrap();
        config.retry = keyward::provider::retry::RetryPolicy::none();
        OciClient::new(config).unwrap()
    };
    let first = no_retry(ApiKey {
        tenancy: oci::TENANCY.into(),
        user: oci::USER.into(),
        fingerprint: oci::FINGERPRINT.into(),
        private_key: SecretValue::from(oci::PRIVATE_KEY),
        passphrase: None,
    });
    let second = no_retry(ApiKey {
        tenancy: oci::TENANCY.into(),
        user: second_user.into(),
        fingerprint: other_fingerprint.into(),
        private_key: SecretValue::from(oci::WRONG_PRIVATE_KEY),
        passphrase: None,
    });
    // At one write per second, the first user's write uses up the second user's budget too (on
    // another key). A round whose two requests straddle a window boundary proves nothing, so up to
    // five rounds are tried.
    let mut shared = false;
    for _ in 0..5 {
        let a = first.create_key_version(oci::KEY, None).await;
        let b = second.create_key_version(oci::OTHER_KEY, None).await;
        if a.is_ok()
            && matches!(
                b.as_ref().map_err(|e| e.kind()),
                Err(ErrorKind::RateLimited { .. })
            )
        {
            shared = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert!(shared, "{:?}", emu.request_counts());
    // Reads are never limited by it.
    second.get_key(oci::KEY).await.unwrap();
}
