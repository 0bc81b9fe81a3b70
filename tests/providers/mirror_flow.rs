//! The pure mirror flow end to end, on real data: payloads Scaleway accepted or refused (from the
//! recorded cassettes) and values Keyward generates, rendered, fingerprinted and checked for drift.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use keyward::mirror::{
    HmacKey, PayloadError, PayloadFormat, RenderError, RenderSpec, Templates, check_target_type,
    data_hmac, digest::entries, drifted, render,
};
use keyward::provider::SecretType;
use keyward::rotation::generate::{GeneratorInput, KeyInput, KeyValuePolicy};
use keyward::secret_value::SecretValue;

/// (decoded payload, HTTP status) of each version creation in the recorded cassette, or `None`
/// (skipped) without the shared fixtures.
fn recorded_version_payloads() -> Option<Vec<(SecretValue, u64)>> {
    let dir = crate::support::shared::cassettes(
        "providers::mirror_flow::mirror_agrees_with_scaleway_on_which_key_value_payloads_are_valid",
    )?;
    let text = std::fs::read_to_string(dir.join("secret-version-type.cassette.yaml"))
        .expect("cassette is readable");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("cassette is YAML");
    let mut out = Vec::new();
    for interaction in doc["interactions"].as_sequence().expect("interactions") {
        let request = &interaction["request"];
        let is_version_post = request["method"].as_str() == Some("POST")
            && request["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/versions"));
        if !is_version_post {
            continue;
        }
        let body: serde_json::Value =
            serde_json::from_str(request["body"].as_str().expect("body")).expect("JSON body");
        let data = BASE64
            .decode(body["data"].as_str().expect("data field"))
            .expect("base64 data");
        let code = interaction["response"]["code"].as_u64().expect("code");
        out.push((SecretValue::new(data), code));
    }
    Some(out)
}

#[test]
fn mirror_agrees_with_scaleway_on_which_key_value_payloads_are_valid() {
    let spec = RenderSpec {
        format: PayloadFormat::for_type(SecretType::KeyValue, None).unwrap(),
        templates: None,
    };
    let Some(payloads) = recorded_version_payloads() else {
        return;
    };
    assert!(payloads.iter().any(|(_, code)| *code == 200));
    assert!(payloads.iter().any(|(_, code)| *code == 400));
    for (payload, code) in payloads {
        let result = render(&payload, &spec);
        match code {
            200 => {
                let data = result.expect("an accepted payload renders");
                assert_eq!(data.keys(), BTreeSet::from(["key".to_owned()]));
                assert_eq!(data.expose()["key"], b"value");
            }
            400 => assert!(
                matches!(
                    result,
                    Err(RenderError::Payload(PayloadError::NonStringValue { .. }))
                ),
                "{result:?}"
            ),
            other => panic!("unexpected status {other}"),
        }
    }
}

#[test]
fn generated_credentials_render_fingerprint_and_detect_drift() {
    let canary = "canary-user-6e1f";
    let policy = KeyValuePolicy::from_inputs([
        ("username".to_owned(), KeyInput::Fixed(canary)),
        (
            "password".to_owned(),
            KeyInput::Generate(GeneratorInput {
                length: Some(40),
                ..Default::default()
            }),
        ),
    ])
    .unwrap();
    let payload = policy.generate();
    let spec = RenderSpec {
        format: PayloadFormat::for_type(SecretType::DatabaseCredentials, None).unwrap(),
        templates: Some(
            Templates::new(BTreeMap::from([
                ("username".to_owned(), "{{ username }}".to_owned()),
                ("password".to_owned(), "{{ password }}".to_owned()),
                (
                    "url".to_owned(),
                    "postgresql://{{ username }}:{{ password | urlquote }}@db:5432/app".to_owned(),
                ),
            ]))
            .unwrap(),
        ),
    };
    let data = render(&payload, &spec).unwrap();
    check_target_type(Some("kubernetes.io/basic-auth"), &data.keys()).unwrap();
    assert!(!format!("{data:?}").contains(canary));

    let key = HmacKey::new(vec![0x42; 32]).unwrap();
    let annotation = data_hmac(&key, entries(data.expose()));
    assert!(!annotation.contains(canary));
    // What Keyward wrote is not drift; the annotation alone does not reveal the value.
    let mut observed = data.clone().into_inner();
    assert!(!drifted(entries(&observed), Some(&annotation), &key));
    // Someone edits the password in place.
    observed.insert("password".to_owned(), b"hand-edited".to_vec());
    assert!(drifted(entries(&observed), Some(&annotation), &key));

    // A rotation renders a different password, so the desired data's HMAC changes.
    let rotated = render(&policy.generate(), &spec).unwrap();
    assert_ne!(data_hmac(&key, entries(rotated.expose())), annotation);
    assert_eq!(rotated.expose()["username"], canary.as_bytes());
}
