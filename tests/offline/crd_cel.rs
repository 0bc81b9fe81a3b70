//! The CEL rules (`x-kubernetes-validations`) of the generated CRDs, evaluated without an API
//! server by kube-cel (the evaluator behind kube's `cel` feature): every rule compiles, stays within
//! the cost budget and has a message; each bad input is rejected with its own message; immutable
//! fields refuse changes; the examples pass. The API server remains the final judge: apply-time
//! tests on the real control plane repeat the bad-input table.

use crate::support::fixtures;

use fixtures::{OTHER_UUID, UUID, merged, oci, scaleway, thalassa};
use kube_cel::{ScopeContext, Validator, analyze_rule, compile_schema};
use serde_json::{Value, json};

fn schema(kind: &str) -> Value {
    let crd = keyward::api::all_crds()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("openAPIV3Schema");
    serde_json::to_value(schema).expect("schema to JSON")
}

/// Messages of the rules that reject `object` (given `old` for an update).
fn check(object: &Value, old: Option<&Value>) -> Result<(), Vec<String>> {
    let kind = object["kind"].as_str().expect("kind");
    Validator::new()
        .validate(&schema(kind), object, old)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect())
}

fn object(kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "keyward.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "default"},
        "spec": spec,
    })
}

fn ms(spec: Value) -> Value {
    object("ManagedSecret", spec)
}

/// The smallest generated spec with `patch` merged in (JSON merge patch: null removes a field).
fn spec_with(patch: Value) -> Value {
    merged(
        json!({"storeRef": {"name": "scaleway"}, "generate": {}}),
        patch,
    )
}

/// Asserts `got` accepts when `want` is None, or rejects with a message containing `want`.
fn assert_verdict(name: &str, got: Result<(), Vec<String>>, want: Option<&str>) {
    match (got, want) {
        (Ok(()), None) => {}
        (Err(errors), Some(want)) => assert!(
            errors.iter().any(|e| e.contains(want)),
            "{name}: want {want:?}, got {errors:?}"
        ),
        (got, want) => panic!("{name}: want {want:?}, got {got:?}"),
    }
}

/// Every node of a schema that carries rules, with its JSON path.
fn nodes_with_rules<'a>(node: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    if node.get("x-kubernetes-validations").is_some() {
        out.push((path.clone(), node));
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            nodes_with_rules(child, format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = node.get("items") {
        nodes_with_rules(items, format!("{path}[]"), out);
    }
    if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
        nodes_with_rules(extra, format!("{path}{{}}"), out);
    }
}

/// kube-cel's scope check does not know variables bound by macros such as `self.all(k, ...)`.
fn is_macro_variable(warning: &kube_cel::AnalysisWarning, rule: &str) -> bool {
    warning.kind == kube_cel::WarningKind::WrongScope
        && warning
            .message
            .split('\'')
            .nth(1)
            .is_some_and(|var| rule.contains(&format!("({var}, ")))
}

#[test]
fn every_rule_compiles_fits_the_budget_and_has_a_message() {
    let mut total = 0;
    for kind in ["ManagedSecret", "SecretStore", "ClusterSecretStore"] {
        let schema = schema(kind);
        let compiled = compile_schema(&schema);
        let mut nodes = Vec::new();
        nodes_with_rules(&schema, kind.to_owned(), &mut nodes);
        assert!(!nodes.is_empty(), "{kind} has no rules");
        for (path, node) in nodes {
            let node_compiled = compile_schema(node);
            assert!(
                !node_compiled.has_errors(),
                "{path}: {:?}",
                node_compiled.compilation_errors()
            );
            for rule in node["x-kubernetes-validations"].as_array().expect("rules") {
                total += 1;
                let text = rule["rule"].as_str().expect("rule text");
                let message = rule["message"].as_str().unwrap_or_default();
                assert!(
                    message.len() > 15 && !message.contains('\n'),
                    "{path}: rule {text:?} needs a one-line message"
                );
                let warnings: Vec<_> =
                    analyze_rule(text, &node_compiled, ScopeContext::CrdValidation)
                        .into_iter()
                        .filter(|w| !is_macro_variable(w, text))
                        .collect();
                assert!(warnings.is_empty(), "{path}: {text}: {warnings:?}");
            }
        }
        assert!(!compiled.has_errors(), "{kind}");
    }
    assert!(
        total >= 30,
        "expected the full rule set, found {total} rules"
    );
}

#[test]
fn valid_managed_secrets_pass() {
    for (name, spec) in fixtures::valid_managed_secrets() {
        assert_eq!(check(&ms(spec), None), Ok(()), "{name}");
    }
}

/// The bad inputs the API server refuses at `kubectl apply`, each with the message it gives.
#[test]
fn bad_managed_secrets_are_rejected_with_their_message() {
    let id = UUID;
    let table: Vec<(&str, Value, &str)> = vec![
        (
            "two sources",
            spec_with(json!({"fromSecret": {"name": "src"}})),
            "at most one source",
        ),
        (
            "relative path",
            spec_with(json!({"remote": {"path": "apps"}})),
            "must start with '/'",
        ),
        (
            "trailing slash",
            spec_with(json!({"remote": {"path": "/apps/"}})),
            "must not end with '/'",
        ),
        (
            "empty segment",
            spec_with(json!({"remote": {"path": "/a//b"}})),
            "empty segment",
        ),
        (
            "space in path",
            spec_with(json!({"remote": {"path": "/a b"}})),
            "may only contain letters",
        ),
        (
            "bad remote name",
            spec_with(json!({"remote": {"name": "-x"}})),
            "remote.name may only",
        ),
        (
            "rotation without generate",
            json!({"storeRef": {"name": "s"}, "rotation": {"interval": "1h"}}),
            "rotation needs spec.generate",
        ),
        (
            "empty rotation",
            spec_with(json!({"rotation": {}})),
            "interval, schedule or both",
        ),
        (
            "interval in days",
            spec_with(json!({"rotation": {"interval": "30d"}})),
            "hours, minutes and seconds",
        ),
        (
            "interval too short",
            spec_with(json!({"rotation": {"interval": "30s"}})),
            "at least 1m",
        ),
        (
            "cron with four fields",
            spec_with(json!({"rotation": {"schedule": "0 3 * *"}})),
            "five fields",
        ),
        (
            "cron with six fields",
            spec_with(json!({"rotation": {"schedule": "0 0 3 * * 1"}})),
            "five fields",
        ),
        (
            "unknown cron macro",
            spec_with(json!({"rotation": {"schedule": "@sometimes"}})),
            "five fields",
        ),
        (
            "refresh too short",
            spec_with(json!({"refreshInterval": "1s"})),
            "at least 10s",
        ),
        (
            "refresh garbage",
            spec_with(json!({"refreshInterval": "soon"})),
            "refreshInterval must be a duration",
        ),
        (
            "no character class",
            spec_with(
                json!({"generate": {"lowercase": false, "uppercase": false, "digits": false}}),
            ),
            "at least one character class",
        ),
        (
            "no character class in a key",
            spec_with(
                json!({"remote": {"type": "key_value"}, "generate": {"keys": {"a": {"generate": {"lowercase": false, "uppercase": false, "digits": false}}}}}),
            ),
            "at least one character class",
        ),
        (
            "letters as symbols",
            spec_with(json!({"generate": {"symbols": true, "symbolCharacters": "ab"}})),
            "printable ASCII symbols",
        ),
        (
            "keys on opaque",
            spec_with(json!({"generate": {"keys": {"a": {"value": "1"}}}})),
            "generate.keys needs remote.type",
        ),
        (
            "keyed type without keys",
            spec_with(json!({"remote": {"type": "basic_credentials"}})),
            "needs generate.keys",
        ),
        (
            "certificate generated",
            spec_with(json!({"remote": {"type": "certificate"}})),
            "certificates cannot be generated",
        ),
        (
            "key with value and generate",
            spec_with(
                json!({"remote": {"type": "key_value"}, "generate": {"keys": {"a": {"value": "1", "generate": {}}}}}),
            ),
            "exactly one of value and generate",
        ),
        (
            "key with neither",
            spec_with(json!({"remote": {"type": "key_value"}, "generate": {"keys": {"a": {}}}})),
            "exactly one of value and generate",
        ),
        (
            "key id not a uuid",
            spec_with(json!({"remote": {"scaleway": {"keyId": "abc"}}})),
            "remote.scaleway.keyId must be a UUID",
        ),
        (
            "ephemeral without expiry",
            spec_with(json!({"remote": {"scaleway": {"ephemeralPolicy": {"action": "delete"}}}})),
            "timeToLive or expiresOnceAccessed",
        ),
        (
            "ephemeral over a year",
            spec_with(
                json!({"remote": {"scaleway": {"ephemeralPolicy": {"timeToLive": "8761h", "action": "delete"}}}}),
            ),
            "between 1s and 8760h",
        ),
        (
            "adopt with both ids",
            json!({"storeRef": {"name": "s"}, "remote": {"adopt": {"secretId": id, "terraformId": format!("fr-par/{id}")}}}),
            "exactly one of secretId and terraformId",
        ),
        (
            "adopt with neither id",
            json!({"storeRef": {"name": "s"}, "remote": {"adopt": {}}}),
            "exactly one of secretId and terraformId",
        ),
        (
            "terraform id with unknown region",
            json!({"storeRef": {"name": "s"}, "remote": {"adopt": {"terraformId": format!("us-east/{id}/1")}}}),
            "adopt.terraformId must look like",
        ),
        (
            "terraform id with revision 0",
            json!({"storeRef": {"name": "s"}, "remote": {"adopt": {"terraformId": format!("fr-par/{id}/0")}}}),
            "adopt.terraformId must look like",
        ),
        (
            "rollout workload with name and labels",
            spec_with(
                json!({"rollout": {"workloads": [{"kind": "Deployment", "name": "a", "matchLabels": {"a": "b"}}]}}),
            ),
            "names exactly one of name or matchLabels",
        ),
        (
            "rollout workload with neither name nor labels",
            spec_with(json!({"rollout": {"workloads": [{"kind": "Deployment"}]}})),
            "names exactly one of name or matchLabels",
        ),
        (
            "rollout workload with empty labels",
            spec_with(
                json!({"rollout": {"workloads": [{"kind": "DaemonSet", "matchLabels": {}}]}}),
            ),
            "needs at least one label",
        ),
        (
            "rollout restarting nothing",
            spec_with(json!({"rollout": {"debounce": "5s"}})),
            "rollout needs workloads or discover: true",
        ),
        (
            "rollout debounce too long",
            spec_with(json!({"rollout": {"discover": true, "debounce": "11m"}})),
            "rollout.debounce must be a duration of at most 10m",
        ),
        (
            "rollout progress deadline too short",
            spec_with(json!({"rollout": {"discover": true, "progressDeadline": "10s"}})),
            "rollout.progressDeadline must be a duration of at least 30s",
        ),
        (
            "previous value without retirement",
            spec_with(json!({"target": {"includePrevious": true}})),
            "target.includePrevious needs spec.retirement",
        ),
        (
            "retirement grace not a duration",
            spec_with(json!({"retirement": {"gracePeriod": "soon"}})),
            "retirement.gracePeriod must be a duration",
        ),
        (
            "adopt and name",
            json!({"storeRef": {"name": "s"}, "remote": {"name": "n", "adopt": {"secretId": id}}}),
            "adopted secret keeps its own name",
        ),
    ];
    for (name, spec, want) in table {
        assert_verdict(name, check(&ms(spec), None), Some(want));
    }
    for (name, spec, _field, want) in fixtures::bad_time_zone_managed_secrets() {
        assert_verdict(name, check(&ms(spec), None), Some(want));
    }
}

/// A name with the shape of a tz database name passes the rules: only the controller, which
/// holds the tz database, can refuse it (Ready=False, InvalidSpec).
#[test]
fn unknown_time_zone_with_a_plausible_name_is_left_to_the_controller() {
    let spec =
        spec_with(json!({"rotation": {"schedule": "0 3 * * *", "timeZone": "Europe/Atlantis"}}));
    assert_eq!(check(&ms(spec), None), Ok(()));
}

#[test]
fn immutable_fields_refuse_changes() {
    let (id, other) = (UUID, OTHER_UUID);
    let ttl = json!({"timeToLive": "1h", "action": "delete"});
    // (name, old remote, new remote, expected message or None when the update is allowed)
    let table: Vec<(&str, Value, Value, Option<&str>)> = vec![
        (
            "type changed",
            json!({"type": "opaque"}),
            json!({"type": "key_value"}),
            Some("remote.type is immutable"),
        ),
        (
            "type set from default",
            json!({}),
            json!({"type": "key_value"}),
            Some("remote.type is immutable"),
        ),
        (
            "type made explicit",
            json!({}),
            json!({"type": "opaque"}),
            None,
        ),
        (
            "type unset back to default",
            json!({"type": "opaque"}),
            json!({}),
            None,
        ),
        (
            "key id added",
            json!({}),
            json!({"scaleway": {"keyId": id}}),
            Some("remote.scaleway.keyId is immutable"),
        ),
        (
            "key id changed",
            json!({"scaleway": {"keyId": id}}),
            json!({"scaleway": {"keyId": other}}),
            Some("remote.scaleway.keyId is immutable"),
        ),
        (
            "key id removed",
            json!({"scaleway": {"keyId": id}}),
            json!({}),
            Some("remote.scaleway.keyId is immutable"),
        ),
        (
            "ephemeral added",
            json!({}),
            json!({"scaleway": {"ephemeralPolicy": ttl}}),
            Some("ephemeralPolicy is immutable"),
        ),
        (
            "ephemeral removed",
            json!({"scaleway": {"ephemeralPolicy": ttl}}),
            json!({}),
            Some("ephemeralPolicy is immutable"),
        ),
        (
            "ephemeral changed",
            json!({"scaleway": {"ephemeralPolicy": ttl}}),
            json!({"scaleway": {"ephemeralPolicy": {"timeToLive": "2h", "action": "delete"}}}),
            Some("ephemeralPolicy is immutable"),
        ),
        (
            "ephemeral kept",
            json!({"scaleway": {"ephemeralPolicy": ttl}}),
            json!({"scaleway": {"ephemeralPolicy": ttl}, "description": "d"}),
            None,
        ),
        (
            "adopt target changed",
            json!({"adopt": {"secretId": id}}),
            json!({"adopt": {"secretId": other}}),
            Some("remote.adopt.secretId and terraformId are immutable"),
        ),
        (
            "adopt added",
            json!({}),
            json!({"adopt": {"secretId": id}}),
            Some("remote.adopt.secretId and terraformId are immutable"),
        ),
        (
            "adopt removed",
            json!({"adopt": {"secretId": id}}),
            json!({}),
            Some("remote.adopt.secretId and terraformId are immutable"),
        ),
        (
            "adoption's deletion allowed later",
            json!({"adopt": {"secretId": id}}),
            json!({"adopt": {"secretId": id, "allowDeletion": true}}),
            None,
        ),
        (
            "name, path, description and tags may change",
            json!({"name": "a", "path": "/a", "description": "x", "tags": ["t"]}),
            json!({"name": "b", "path": "/b", "description": "y", "tags": ["u"]}),
            None,
        ),
    ];
    for (name, old_remote, new_remote, want) in table {
        let old = ms(json!({"storeRef": {"name": "s"}, "remote": old_remote}));
        let new = ms(json!({"storeRef": {"name": "s"}, "remote": new_remote}));
        assert_verdict(name, check(&new, Some(&old)), want);
    }
}

#[test]
fn store_rules() {
    let with_ns = json!({"credentials": {"secretRef": {"namespace": "keyward"}}});
    let table: Vec<(&str, &str, Value, Option<&str>)> = vec![
        (
            "namespaced store",
            "SecretStore",
            json!({"provider": {"scaleway": scaleway(json!({}))}}),
            None,
        ),
        (
            "namespaced store with emulator url",
            "SecretStore",
            json!({"provider": {"scaleway": scaleway(json!({"apiUrl": "http://127.0.0.1:9090"}))}}),
            None,
        ),
        (
            "namespaced store naming a namespace",
            "SecretStore",
            json!({"provider": {"scaleway": scaleway(with_ns.clone())}}),
            Some("reads its credentials Secret from its own namespace"),
        ),
        (
            "no provider",
            "SecretStore",
            json!({"provider": {}}),
            Some("exactly one provider"),
        ),
        (
            "bad project id",
            "SecretStore",
            json!({"provider": {"scaleway": scaleway(json!({"projectId": "p"}))}}),
            Some("projectId must be a UUID"),
        ),
        (
            "api url without scheme",
            "SecretStore",
            json!({"provider": {"scaleway": scaleway(json!({"apiUrl": "api.scaleway.com"}))}}),
            Some("apiUrl must be an http(s) URL"),
        ),
        (
            "cluster store with namespace",
            "ClusterSecretStore",
            json!({"provider": {"scaleway": scaleway(with_ns.clone())}, "allowedNamespaces": {"names": ["a"]}}),
            None,
        ),
        (
            "cluster store without namespace",
            "ClusterSecretStore",
            json!({"provider": {"scaleway": scaleway(json!({}))}}),
            Some("needs credentials.secretRef.namespace"),
        ),
        (
            "cluster store with empty allowedNamespaces",
            "ClusterSecretStore",
            json!({"provider": {"scaleway": scaleway(with_ns.clone())}, "allowedNamespaces": {}}),
            Some("allowedNamespaces needs names, selector or both"),
        ),
        (
            "thalassa store",
            "SecretStore",
            json!({"provider": {"thalassa": thalassa(json!({}))}}),
            None,
        ),
        (
            "thalassa store with project, emulator url and credential keys",
            "SecretStore",
            json!({"provider": {"thalassa": thalassa(json!({"project": "proj-1", "apiUrl": "http://127.0.0.1:9090",
                "credentials": {"clientIdKey": "id", "clientSecretKey": "secret", "personalAccessTokenKey": "pat"}}))}}),
            None,
        ),
        (
            "oci store",
            "SecretStore",
            json!({"provider": {"oci": oci(json!({}))}}),
            None,
        ),
        (
            "oci store with endpoints and credential keys",
            "SecretStore",
            json!({"provider": {"oci": oci(json!({
                "compartmentId": "ocid1.compartment.oc1..aaaaaaaateam",
                "endpoints": {"vaults": "http://127.0.0.1:9090", "secrets": "http://127.0.0.1:9090",
                    "kmsManagement": "https://abc-management.kms.eu-frankfurt-1.oraclecloud.com"},
                "credentials": {"tenancyKey": "tenancy", "userKey": "user", "fingerprintKey": "fp",
                    "privateKeyKey": "key", "passphraseKey": "pass"}}))}}),
            None,
        ),
        (
            "oci region not an identifier",
            "SecretStore",
            json!({"provider": {"oci": oci(json!({"region": "frankfurt"}))}}),
            Some("provider.oci.region must be an OCI region identifier"),
        ),
        (
            "oci compartment that is a vault",
            "SecretStore",
            json!({"provider": {"oci": oci(json!({"compartmentId": "ocid1.vault.oc1.eu-frankfurt-1.aaaa"}))}}),
            Some("provider.oci.compartmentId must be a compartment or tenancy OCID"),
        ),
        (
            "oci vault that is a key",
            "SecretStore",
            json!({"provider": {"oci": oci(json!({"vaultId": "ocid1.key.oc1.eu-frankfurt-1.aaaa"}))}}),
            Some("provider.oci.vaultId must be a vault OCID"),
        ),
        (
            "oci key not an OCID",
            "SecretStore",
            json!({"provider": {"oci": oci(json!({"keyId": "my-key"}))}}),
            Some("provider.oci.keyId must be a key OCID"),
        ),
        (
            "oci endpoint with a query",
            "SecretStore",
            json!({"provider": {"oci": oci(json!({"endpoints": {"vaults": "https://x?y=1"}}))}}),
            Some("provider.oci.endpoints.vaults must be an http(s) URL"),
        ),
        (
            "namespaced oci store naming a namespace",
            "SecretStore",
            json!({"provider": {"oci": oci(with_ns.clone())}}),
            Some("reads its credentials Secret from its own namespace"),
        ),
        (
            "cluster oci store without namespace",
            "ClusterSecretStore",
            json!({"provider": {"oci": oci(json!({}))}}),
            Some("needs credentials.secretRef.namespace"),
        ),
        (
            "oci and thalassa",
            "SecretStore",
            json!({"provider": {"oci": oci(json!({})), "thalassa": thalassa(json!({}))}}),
            Some("exactly one provider (supported: scaleway, thalassa, oci)"),
        ),
        (
            "both providers",
            "SecretStore",
            json!({"provider": {"scaleway": scaleway(json!({})), "thalassa": thalassa(json!({}))}}),
            Some("exactly one provider (supported: scaleway, thalassa, oci)"),
        ),
        (
            "thalassa region not a slug",
            "SecretStore",
            json!({"provider": {"thalassa": thalassa(json!({"region": "NL 01"}))}}),
            Some("provider.thalassa.region must be a region slug"),
        ),
        (
            "thalassa organisation with a space",
            "SecretStore",
            json!({"provider": {"thalassa": thalassa(json!({"organisation": "my org"}))}}),
            Some("provider.thalassa.organisation must be"),
        ),
        (
            "thalassa key with a slash",
            "SecretStore",
            json!({"provider": {"thalassa": thalassa(json!({"kmsKey": "a/b"}))}}),
            Some("provider.thalassa.kmsKey must be"),
        ),
        (
            "thalassa api url with a query",
            "SecretStore",
            json!({"provider": {"thalassa": thalassa(json!({"apiUrl": "https://api.thalassa.cloud?x=1"}))}}),
            Some("provider.thalassa.apiUrl must be an http(s) URL"),
        ),
        (
            "namespaced thalassa store naming a namespace",
            "SecretStore",
            json!({"provider": {"thalassa": thalassa(with_ns.clone())}}),
            Some("reads its credentials Secret from its own namespace"),
        ),
        (
            "cluster thalassa store with namespace",
            "ClusterSecretStore",
            json!({"provider": {"thalassa": thalassa(with_ns)}}),
            None,
        ),
        (
            "cluster thalassa store without namespace",
            "ClusterSecretStore",
            json!({"provider": {"thalassa": thalassa(json!({}))}}),
            Some("needs credentials.secretRef.namespace"),
        ),
    ];
    for (name, kind, spec, want) in table {
        assert_verdict(name, check(&object(kind, spec), None), want);
    }
}

#[test]
fn store_region_is_immutable() {
    let old = object(
        "SecretStore",
        json!({"provider": {"scaleway": scaleway(json!({}))}}),
    );
    let moved = object(
        "SecretStore",
        json!({"provider": {"scaleway": scaleway(json!({"region": "nl-ams"}))}}),
    );
    let errors = check(&moved, Some(&old)).expect_err("region change");
    assert!(
        errors.iter().any(|e| e.contains("region is immutable")),
        "{errors:?}"
    );
    let renamed_secret = object(
        "SecretStore",
        json!({"provider": {"scaleway": scaleway(json!({"credentials": {"secretRef": {"name": "other"}}}))}}),
    );
    assert_eq!(check(&renamed_secret, Some(&old)), Ok(()));

    let old = object(
        "SecretStore",
        json!({"provider": {"thalassa": thalassa(json!({}))}}),
    );
    let moved = object(
        "SecretStore",
        json!({"provider": {"thalassa": thalassa(json!({"region": "nl-02"}))}}),
    );
    let errors = check(&moved, Some(&old)).expect_err("region change");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("provider.thalassa.region is immutable")),
        "{errors:?}"
    );
    let new_key = object(
        "SecretStore",
        json!({"provider": {"thalassa": thalassa(json!({"kmsKey": "kms-other"}))}}),
    );
    assert_eq!(
        check(&new_key, Some(&old)),
        Ok(()),
        "the key for new secrets may change"
    );

    let old = object("SecretStore", json!({"provider": {"oci": oci(json!({}))}}));
    for (field, value, want) in [
        (
            "region",
            "eu-amsterdam-1",
            "provider.oci.region is immutable",
        ),
        (
            "vaultId",
            "ocid1.vault.oc1.eu-frankfurt-1.amaaaaaaother",
            "provider.oci.vaultId is immutable",
        ),
    ] {
        let moved = object(
            "SecretStore",
            json!({"provider": {"oci": oci(json!({field: value}))}}),
        );
        let errors = check(&moved, Some(&old)).expect_err(field);
        assert!(errors.iter().any(|e| e.contains(want)), "{errors:?}");
    }
    let new_key = object(
        "SecretStore",
        json!({"provider": {"oci": oci(json!({"keyId": "ocid1.key.oc1.eu-frankfurt-1.amaaaaaaother"}))}}),
    );
    assert_eq!(
        check(&new_key, Some(&old)),
        Ok(()),
        "the master key for new secrets may change"
    );
}
