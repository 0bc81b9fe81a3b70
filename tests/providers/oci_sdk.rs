//! The official OCI Python SDK (PyPI `oci`, pinned in tests/tools/install-oci-sdk.sh) as referee for
//! Keyward's OCI signer and emulator.
//!
//! Without python3 (or when the SDK cannot be installed) these tests print a SKIPPED line and pass;
//! under `CI=true` they fail instead.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keyward::provider::oci::signing::{
    KeyId, ReceivedRequest, RequestSigner, public_key_from_pem, url_parts, verify_request,
};
use keyward::secret_value::SecretValue;

use keyward::emulator::metrics::UNROUTED;
use keyward::emulator::oci::{ENDPOINTS, OciSettings};

use crate::support::oci;
use crate::support::shared::skip_or_fail;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The SDK venv's python, installing it on first use. `None` after [`skip_or_fail`] when python3 is
/// missing or the install fails outside CI.
fn sdk_python(test: &str) -> Option<PathBuf> {
    let has_python = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_python {
        skip_or_fail(test, "needs python3 for the OCI SDK referee");
        return None;
    }
    let out = Command::new("bash")
        .arg(repo("tests/tools/install-oci-sdk.sh"))
        .output()
        .expect("bash runs install-oci-sdk.sh");
    if !out.status.success() {
        skip_or_fail(
            test,
            &format!(
                "could not install the OCI SDK\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
        );
        return None;
    }
    let stdout = String::from_utf8(out.stdout).expect("utf-8 path");
    let python = stdout
        .lines()
        .last()
        .expect("the install script prints the python path last");
    Some(PathBuf::from(python.trim()))
}

/// Runs a tools script with the SDK's python, `input` as stdin; returns stdout, failing on a non-zero
/// exit (its stderr goes to the test's output).
fn run_python(python: &Path, script: &str, args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new(python)
        .arg(repo(script))
        .args(args)
        .current_dir(repo(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts python");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).unwrap()
}

const FINGERPRINT: &str = oci::FINGERPRINT;

/// Fresh requests (random ids and bodies, the current date), signed by the SDK's signer: every
/// signature verifies with our verifier, and ours for the same request and date is byte-equal.
#[test]
fn sdk_signer_agrees_with_ours_live() {
    let Some(python) = sdk_python("oci_sdk::sdk_signer_agrees_with_ours_live") else {
        return;
    };
    let id = uuid::Uuid::new_v4();
    let body = format!(r#"{{"secretContent":{{"contentType":"BASE64","content":"{id}"}}}}"#);
    let requests = [
        (
            "GET",
            format!(
                "http://127.0.0.1:4321/20180608/secrets/ocid1.vaultsecret.oc1..{id}?limit=7&page={id}"
            ),
            "",
        ),
        (
            "POST",
            format!("http://127.0.0.1:4321/20180608/secrets?x={id}"),
            body.as_str(),
        ),
        (
            "PUT",
            format!(
                "https://vaults.eu-frankfurt-1.oci.oraclecloud.com/20180608/secrets/ocid1.vaultsecret.oc1..{id}"
            ),
            body.as_str(),
        ),
        (
            "POST",
            format!("http://127.0.0.1:4321/20180608/keys/{id}/keyVersions"),
            "",
        ),
        ("DELETE", format!("http://[::1]:4321/20180608/{id}"), ""),
    ];
    let spec = serde_json::json!({
        "tenancy": format!("ocid1.tenancy.oc1..{id}"),
        "user": "ocid1.user.oc1..live",
        "fingerprint": FINGERPRINT,
        "key_file": "tests/fixtures/oci/test-key.encrypted.pem",
        "pass_phrase": "keyward-test",
        "requests": requests.iter().map(|(m, u, b)| {
            let mut r = serde_json::json!({"method": m, "url": u});
            if !b.is_empty() {
                r["body"] = b.to_string().into();
                r["content_type"] = "application/json".into();
            }
            r
        }).collect::<Vec<_>>(),
    });
    let out = run_python(
        &python,
        "tests/providers/sdk/oci_sign.py",
        &[],
        &serde_json::to_vec(&spec).unwrap(),
    );
    let signed: Vec<HashMap<String, String>> = serde_json::from_str(&out).unwrap();
    assert_eq!(signed.len(), requests.len());

    let key_id = KeyId::new(
        format!("ocid1.tenancy.oc1..{id}"),
        "ocid1.user.oc1..live",
        FINGERPRINT,
    );
    let public = public_key_from_pem(include_str!("../fixtures/oci/test-key.pub.pem")).unwrap();
    let ours = RequestSigner::from_pem(
        key_id.clone(),
        &SecretValue::from(include_str!("../fixtures/oci/test-key.pem")),
        None,
    )
    .unwrap();
    let now = jiff::Timestamp::now();
    for ((method, url, body), sdk) in requests.iter().zip(&signed) {
        let url = reqwest::Url::parse(url).unwrap();
        let (host, path) = url_parts(&url);
        let mut headers = sdk.clone();
        headers.insert("host".into(), host);
        let received = ReceivedRequest {
            method,
            path_and_query: path,
            header: |n: &str| headers.get(n).map(String::as_str),
            body: body.as_bytes(),
        };
        assert_eq!(
            verify_request(&received, |k| (k == &key_id).then(|| public.clone()), now),
            Ok(key_id.clone()),
            "{method} {url}: the SDK's signature verifies"
        );
        let date = jiff::fmt::rfc2822::parse(&sdk["date"]).unwrap().timestamp();
        let content_type = (!body.is_empty()).then_some("application/json");
        let mine = ours.sign_url(method, &url, body.as_bytes(), content_type, date);
        assert_eq!(
            mine.get("authorization"),
            Some(sdk["authorization"].as_str()),
            "{method} {url}: same signature as the SDK"
        );
    }
}

/// Every operation of the reference through `oci.vault.VaultsClient`, `oci.secrets.SecretsClient` and
/// `oci.key_management.KmsManagementClient` (tests/providers/sdk/oci_sdk.py), against the emulator
/// with strict signatures; the driver fails on any unexpected SDK error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sdk_operation_works_against_the_emulator() {
    const TEST: &str = "oci_sdk::every_sdk_operation_works_against_the_emulator";
    let Some(python) = sdk_python(TEST) else {
        return;
    };
    let emu = oci::emulator(OciSettings::default()).await;
    let endpoint = emu.base_url();
    let key_file = oci::fixture("test-key.pem");
    let wrong_key_file = oci::fixture("other-key.pem");
    let run = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        tokio::process::Command::new(&python)
            .arg(repo("tests/providers/sdk/oci_sdk.py"))
            .args(["--endpoint", &endpoint])
            .args(["--tenancy", oci::TENANCY, "--user", oci::USER])
            .args(["--fingerprint", oci::FINGERPRINT, "--region", oci::REGION])
            .arg("--key-file")
            .arg(&key_file)
            .arg("--wrong-key-file")
            .arg(&wrong_key_file)
            .args(["--vault-id", oci::VAULT, "--key-id", oci::KEY])
            .args(["--other-key-id", oci::OTHER_KEY])
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output(),
    )
    .await
    .expect("the SDK driver finishes within 5 minutes")
    .expect("the SDK's python runs");
    let report = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "the SDK driver failed\n{report}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let methods: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with("call(s)"))
        .filter_map(|l| l.split_once(':').map(|(m, _)| m))
        .collect();
    assert!(
        stdout.contains(&format!("all {} SDK methods exercised", methods.len())),
        "{report}"
    );

    // The server's side: every endpoint reached, nothing unrouted, no server error, and the refusals
    // the driver provoked were counted where they belong.
    let counts = emu.request_counts();
    let unreached: Vec<&str> = ENDPOINTS
        .iter()
        .copied()
        .filter(|e| counts.endpoint_total(e) == 0)
        .collect();
    assert!(
        unreached.is_empty(),
        "endpoints the SDK never reached: {unreached:?}\n{report}"
    );
    assert_eq!(counts.endpoint_total(UNROUTED), 0, "{counts:?}");
    assert!(
        counts.requests.iter().all(|e| e.status < 500),
        "server errors: {counts:?}"
    );
    assert!(counts.count("CreateKeyVersion", 429) >= 3, "{counts:?}");
    assert!(counts.count("GetSecret", 429) >= 4, "{counts:?}");
    assert!(counts.count("UpdateSecret", 429) >= 2, "{counts:?}");
    assert!(counts.count("UpdateSecret", 409) >= 1, "{counts:?}");
    assert!(
        counts.count("ScheduleSecretVersionDeletion", 409) >= 2,
        "{counts:?}"
    );
    assert!(counts.count("ListSecrets", 400) >= 1, "{counts:?}");
    assert!(counts.count("GetSecret", 401) >= 3, "{counts:?}");
    assert!(counts.count("GetSecretBundle", 401) >= 1, "{counts:?}");
    assert!(
        counts.for_secret(oci::KEY) > 10,
        "counted per key id: {counts:?}"
    );
    let summary = format!(
        "{TEST}: {} OCI SDK methods ran against the emulator: {}\n",
        methods.len(),
        methods.join(", ")
    );
    let _ = std::io::stderr().lock().write_all(summary.as_bytes());
    emu.shutdown().await.unwrap();
}
