//! Keyward's CRDs as the real API server admits them (local control plane, tests/controlplane):
//! they install and become Established, bad objects are refused at apply time with the rule's own
//! message, immutable fields refuse changes on a real update, every example applies in a
//! server-side dry run, and `kubectl explain` shows the field documentation.
//!
//! `tests/offline/crd_cel.rs` checks the same rules with a local CEL evaluator; this suite is the referee
//! for what the API server itself does (structural schema, CEL cost limits, defaulting, pruning).

use crate::support;
use crate::support::fixtures;

use std::path::Path;
use std::process::{Command, Stdio};

use fixtures::{OTHER_UUID, UUID, cluster_scaleway, merge, ms_spec, scaleway};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::core::Status;
use kube::discovery::{Scope, pinned_kind};
use kube::{Client, ResourceExt};
use serde::Deserialize as _;
use serde_json::{Value, json};
use support::controlplane::{self, FIELD_MANAGER, TestNamespace};

#[derive(Clone, Copy, Debug)]
enum Kind {
    ManagedSecret,
    SecretStore,
    ClusterSecretStore,
}

impl Kind {
    fn named(kind: &str) -> Self {
        match kind {
            "ManagedSecret" => Kind::ManagedSecret,
            "SecretStore" => Kind::SecretStore,
            "ClusterSecretStore" => Kind::ClusterSecretStore,
            other => panic!("no kind {other}"),
        }
    }

    fn resource(self) -> ApiResource {
        let (kind, plural) = match self {
            Kind::ManagedSecret => ("ManagedSecret", "managedsecrets"),
            Kind::SecretStore => ("SecretStore", "secretstores"),
            Kind::ClusterSecretStore => ("ClusterSecretStore", "clustersecretstores"),
        };
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("keyward.dev", "v1alpha1", kind),
            plural,
        )
    }

    fn api(self, client: &Client, ns: &TestNamespace) -> Api<DynamicObject> {
        match self {
            Kind::ClusterSecretStore => Api::all_with(client.clone(), &self.resource()),
            _ => Api::namespaced_with(client.clone(), ns.name(), &self.resource()),
        }
    }

    fn object(self, name: &str, spec: Value) -> DynamicObject {
        DynamicObject::new(name, &self.resource()).data(json!({ "spec": spec }))
    }
}

/// A client in a fresh namespace, with the CRDs of `crds/` installed and Established.
async fn setup(prefix: &str) -> (Client, TestNamespace) {
    let client = controlplane::client().await;
    controlplane::install_crds(&client).await;
    let ns = TestNamespace::new(&client, prefix).await;
    (client, ns)
}

/// A cluster-scoped name that cannot collide with another test's (the namespace name is unique).
fn cluster_name(ns: &TestNamespace, what: &str) -> String {
    format!("{}-{what}", ns.name())
}

/// The API server's refusal, or a panic naming what was unexpectedly accepted.
fn refusal<T: std::fmt::Debug>(result: Result<T, kube::Error>, what: &str) -> Box<Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        Err(other) => panic!("{what}: not an API refusal: {other}"),
        Ok(accepted) => panic!("{what}: accepted: {accepted:?}"),
    }
}

/// Asserts a 422 Invalid whose message contains `message` and whose causes name `field`.
fn assert_invalid(status: &Status, field: &str, message: &str, what: &str) {
    assert_eq!(status.code, 422, "{what}: {status:?}");
    assert_eq!(status.reason, "Invalid", "{what}: {status:?}");
    assert!(
        status.message.contains(message),
        "{what}: want {message:?} in {:?}",
        status.message
    );
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    assert!(
        causes
            .iter()
            .any(|c| c.field == field && c.message.contains(message)),
        "{what}: want a cause on {field:?} with {message:?}, got {causes:?}"
    );
}

#[tokio::test]
async fn crds_install_established_and_served_as_written() {
    let client = controlplane::client().await;
    let names = controlplane::install_crds(&client).await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let written = controlplane::read_crds(&dir).unwrap();
    assert_eq!(names.len(), 4, "{names:?}");
    let crds = Api::<CustomResourceDefinition>::all(client);
    for crd in written {
        let name = crd.name_any();
        let served = crds.get(&name).await.unwrap();
        let conditions = served.status.clone().unwrap().conditions.unwrap();
        for wanted in ["Established", "NamesAccepted"] {
            assert!(
                conditions
                    .iter()
                    .any(|c| c.type_ == wanted && c.status == "True"),
                "{name}: {wanted} missing from {conditions:?}"
            );
        }
        // The API server keeps every schema, CEL rule and printer column as generated (nothing
        // dropped or rewritten on the way in).
        assert_eq!(served.spec.versions, crd.spec.versions, "{name}");
        // The names were accepted as written (listKind is the only one the server fills in).
        let accepted = served.status.unwrap().accepted_names.unwrap();
        let wanted = &crd.spec.names;
        assert_eq!(
            (
                &accepted.kind,
                &accepted.plural,
                &accepted.short_names,
                &accepted.categories
            ),
            (
                &wanted.kind,
                &wanted.plural,
                &wanted.short_names,
                &wanted.categories
            ),
            "{name}"
        );
        assert_eq!(
            accepted.list_kind.as_deref(),
            Some(format!("{}List", wanted.kind).as_str())
        );
    }
}

/// Objects using every field the rules constrain are admitted (the rules are not stricter on
/// the API server than they are meant to be), with the schema defaults filled in.
#[tokio::test]
async fn valid_objects_are_admitted_with_defaults() {
    let (client, ns) = setup("admit-valid").await;
    let stores = [
        (
            "SecretStore reaching the emulator",
            Kind::SecretStore,
            json!({"provider": {"scaleway": scaleway(json!({"apiUrl": "http://127.0.0.1:9090"}))}}),
        ),
        (
            "ClusterSecretStore for selected namespaces",
            Kind::ClusterSecretStore,
            json!({"provider": {"scaleway": cluster_scaleway(json!({}))},
                "allowedNamespaces": {"names": ["a"], "selector": {"matchLabels": {"team": "x"}}}}),
        ),
    ];
    let table = fixtures::valid_managed_secrets()
        .into_iter()
        .map(|(what, spec)| (what, Kind::ManagedSecret, spec))
        .chain(stores);
    for (what, kind, spec) in table {
        let api = kind.api(&client, &ns);
        let name = cluster_name(&ns, "valid");
        let store_kind = spec["storeRef"]["kind"]
            .as_str()
            .unwrap_or("SecretStore")
            .to_string();
        let admitted = api
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER)
                    .validation_strict()
                    .dry_run(),
                &Patch::Apply(&kind.object(&name, spec)),
            )
            .await
            .unwrap_or_else(|e| panic!("{what} is refused: {e}"));
        let spec = &admitted.data["spec"];
        match kind {
            Kind::ManagedSecret => {
                assert_eq!(spec["storeRef"]["kind"], store_kind.as_str(), "{what}");
                assert!(spec["remote"].is_object(), "{what}: {spec}");
            }
            _ => assert_eq!(
                spec["provider"]["scaleway"]["credentials"]["secretKeyKey"], "SCW_SECRET_KEY",
                "{what}"
            ),
        }
    }
}

/// Each bad object is refused both by a create and by a server-side apply (what
/// `kubectl apply --server-side` sends), with a 422 naming the field and the rule's message.
#[tokio::test]
async fn bad_objects_are_rejected_at_apply_time_with_the_rules_message() {
    let (client, ns) = setup("admit-bad").await;
    let rows = fixtures::all_bad_inputs();
    assert!(rows.len() >= 12);
    for row in rows {
        let kind = Kind::named(row.kind);
        let api = kind.api(&client, &ns);
        let name = cluster_name(&ns, "bad");
        let object = kind.object(&name, row.spec.clone());

        let created = api.create(&PostParams::default(), &object).await;
        let status = refusal(created, &format!("{} (create)", row.name));
        assert_invalid(&status, row.field, row.message, row.name);

        let applied = api
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).validation_strict(),
                &Patch::Apply(&object),
            )
            .await;
        let status = refusal(applied, &format!("{} (server-side apply)", row.name));
        assert_invalid(&status, row.field, row.message, row.name);
    }
}

/// A second provider cannot be named yet: server-side apply refuses the unknown field instead
/// of pruning it silently (the schema has a single provider today). The API server answers 500
/// here, not 4xx (upstream kubernetes/kubernetes#139253), so only the refusal and its message
/// are asserted.
#[tokio::test]
async fn store_with_an_unknown_second_provider_is_refused_by_server_side_apply() {
    let (client, ns) = setup("admit-provider").await;
    let api = Kind::SecretStore.api(&client, &ns);
    let thalassa = json!({"region": "nl-01", "organisation": "org", "kmsKey": "key",
        "credentials": {"secretRef": {"name": "creds"}}});
    for (name, provider, says) in [
        (
            "unknown-provider",
            json!({"scaleway": scaleway(json!({})), "aws": {"region": "x"}}),
            ".spec.provider.aws: field not declared in schema",
        ),
        (
            "two-providers",
            json!({"scaleway": scaleway(json!({})), "thalassa": thalassa}),
            "provider needs exactly one provider",
        ),
    ] {
        let object = Kind::SecretStore.object(name, json!({ "provider": provider }));
        let applied = api
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).validation_strict(),
                &Patch::Apply(&object),
            )
            .await;
        let status = refusal(applied, name);
        assert!(status.code >= 400, "{status:?}");
        assert!(status.message.contains(says), "{name}: {status:?}");
        assert!(api.get_opt(name).await.unwrap().is_none());
    }
}

/// Applies `spec` to an existing object with server-side apply (same field manager, so the
/// fields the new spec leaves out are removed, as `kubectl apply --server-side` does).
async fn reapply(
    api: &Api<DynamicObject>,
    kind: Kind,
    name: &str,
    spec: Value,
) -> Result<DynamicObject, kube::Error> {
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).validation_strict(),
        &Patch::Apply(&kind.object(name, spec)),
    )
    .await
}

#[tokio::test]
async fn immutable_managed_secret_fields_refuse_changes_on_update() {
    let (client, ns) = setup("admit-immutable").await;
    let api = Kind::ManagedSecret.api(&client, &ns);
    let ttl = json!({"timeToLive": "1000h", "action": "delete"});
    let created_remote = json!({
        "type": "key_value", "scaleway": {"keyId": UUID, "ephemeralPolicy": ttl},
        "description": "first", "tags": ["a"]
    });
    let created = ms_spec(json!({
        "remote": created_remote,
        "generate": {"keys": {"password": {"generate": {}}}},
        "rotation": {"interval": "720h"}
    }));
    reapply(&api, Kind::ManagedSecret, "created", created.clone())
        .await
        .expect("the created ManagedSecret is valid");

    // (what changes, remote fields merged over the created ones, field, message)
    let refused: Vec<(&str, Value, &str, &str)> = vec![
        (
            "type",
            json!({"type": "database_credentials"}),
            "spec.remote.type",
            "remote.type is immutable",
        ),
        (
            "keyId",
            json!({"scaleway": {"keyId": OTHER_UUID}}),
            "spec.remote.scaleway.keyId",
            "remote.scaleway.keyId is immutable",
        ),
        (
            "ephemeralPolicy",
            json!({"scaleway": {"ephemeralPolicy": {"timeToLive": "48h"}}}),
            "spec.remote.scaleway.ephemeralPolicy",
            "remote.scaleway.ephemeralPolicy is immutable",
        ),
    ];
    for (what, change, field, message) in refused {
        let mut spec = created.clone();
        merge(&mut spec, json!({ "remote": change }));
        let status = refusal(
            reapply(&api, Kind::ManagedSecret, "created", spec).await,
            what,
        );
        assert_invalid(&status, field, message, what);
    }

    // The target Secret's type cannot change under the same name (a Secret's type is
    // immutable), but it can with a new name.
    let mut retyped = created.clone();
    merge(
        &mut retyped,
        json!({"target": {"type": "kubernetes.io/basic-auth"}}),
    );
    let status = refusal(
        reapply(&api, Kind::ManagedSecret, "created", retyped.clone()).await,
        "target type changed",
    );
    assert_invalid(
        &status,
        "spec.target.type",
        "target.type cannot change while target.name stays",
        "target type changed",
    );

    // Removing a field set at creation is a change too (the apply drops the field).
    let mut without_key = created.clone();
    without_key["remote"]["scaleway"]
        .as_object_mut()
        .unwrap()
        .remove("keyId");
    let status = refusal(
        reapply(&api, Kind::ManagedSecret, "created", without_key).await,
        "keyId removed",
    );
    assert_invalid(
        &status,
        "spec.remote.scaleway.keyId",
        "remote.scaleway.keyId is immutable",
        "keyId removed",
    );

    // Adoption cannot be added to a created secret.
    let adopting =
        json!({"storeRef": {"name": "scaleway"}, "remote": {"adopt": {"secretId": UUID}}});
    let status = refusal(
        reapply(&api, Kind::ManagedSecret, "created", adopting).await,
        "adopt added",
    );
    assert_invalid(
        &status,
        "spec.remote.adopt",
        "remote.adopt.secretId and terraformId are immutable",
        "adopt added",
    );

    // The refusals changed nothing.
    let stored = api.get("created").await.unwrap();
    assert_eq!(stored.data["spec"]["remote"]["type"], "key_value");
    assert_eq!(stored.data["spec"]["remote"]["scaleway"]["keyId"], UUID);
    let generation = stored.metadata.generation.unwrap();

    // Fields the Secret Manager can change are accepted.
    let mut allowed = created.clone();
    merge(
        &mut allowed,
        json!({
            "remote": {"description": "second", "tags": ["a", "b"]},
            "rotation": {"interval": "360h"}
        }),
    );
    let updated = reapply(&api, Kind::ManagedSecret, "created", allowed)
        .await
        .expect("description, tags and rotation interval may change");
    assert_eq!(updated.data["spec"]["remote"]["description"], "second");
    assert_eq!(updated.data["spec"]["remote"]["tags"], json!(["a", "b"]));
    assert_eq!(updated.data["spec"]["rotation"]["interval"], "360h");
    assert_eq!(updated.metadata.generation, Some(generation + 1));

    // Another type together with another target name is a new Secret: accepted.
    let mut renamed = updated.data["spec"].clone();
    merge(
        &mut renamed,
        json!({"target": {"name": "created-auth", "type": "kubernetes.io/basic-auth"}}),
    );
    reapply(&api, Kind::ManagedSecret, "created", renamed)
        .await
        .expect("a new target name may come with a new type");
}

/// An unset `remote.type` means `opaque`: writing the default out is no change, choosing
/// another type is.
#[tokio::test]
async fn remote_type_default_counts_as_opaque_on_update() {
    let (client, ns) = setup("admit-type").await;
    let api = Kind::ManagedSecret.api(&client, &ns);
    reapply(&api, Kind::ManagedSecret, "implicit", ms_spec(json!({})))
        .await
        .expect("a ManagedSecret without remote.type is valid");

    let keyed = ms_spec(json!({
        "remote": {"type": "key_value"},
        "generate": {"keys": {"token": {"generate": {}}}}
    }));
    let status = refusal(
        reapply(&api, Kind::ManagedSecret, "implicit", keyed).await,
        "type set from the default",
    );
    assert_invalid(
        &status,
        "spec.remote.type",
        "remote.type is immutable",
        "type set from the default",
    );

    let explicit = reapply(
        &api,
        Kind::ManagedSecret,
        "implicit",
        ms_spec(json!({"remote": {"type": "opaque"}})),
    )
    .await
    .expect("writing out the default type is no change");
    assert_eq!(explicit.data["spec"]["remote"]["type"], "opaque");
}

#[tokio::test]
async fn adopted_secret_cannot_switch_to_another_one() {
    let (client, ns) = setup("admit-adopt").await;
    let api = Kind::ManagedSecret.api(&client, &ns);
    let adopt =
        |id: &str| json!({"storeRef": {"name": "scaleway"}, "remote": {"adopt": {"secretId": id}}});
    reapply(&api, Kind::ManagedSecret, "adopted", adopt(UUID))
        .await
        .expect("adoption by id is valid");

    let status = refusal(
        reapply(&api, Kind::ManagedSecret, "adopted", adopt(OTHER_UUID)).await,
        "adopt changed",
    );
    assert_invalid(
        &status,
        "spec.remote.adopt",
        "remote.adopt.secretId and terraformId are immutable",
        "adopt changed",
    );

    let released = json!({"storeRef": {"name": "scaleway"}});
    let status = refusal(
        reapply(&api, Kind::ManagedSecret, "adopted", released).await,
        "adopt removed",
    );
    assert_invalid(
        &status,
        "spec.remote.adopt",
        "remote.adopt.secretId and terraformId are immutable",
        "adopt removed",
    );

    // Description and tags of an adopted secret may still change.
    let mut described = adopt(UUID);
    merge(
        &mut described,
        json!({"remote": {"description": "now managed", "tags": ["keyward"]}}),
    );
    let updated = reapply(&api, Kind::ManagedSecret, "adopted", described)
        .await
        .expect("description and tags of an adopted secret may change");
    assert_eq!(updated.data["spec"]["remote"]["description"], "now managed");
}

#[tokio::test]
async fn store_region_is_immutable_on_update() {
    let (client, ns) = setup("admit-region").await;
    let cluster_store = cluster_name(&ns, "store");
    let stores = [
        (
            Kind::SecretStore,
            "regional".to_string(),
            scaleway(json!({})),
        ),
        (
            Kind::ClusterSecretStore,
            cluster_store.clone(),
            cluster_scaleway(json!({})),
        ),
    ];
    for (kind, name, provider) in stores {
        let api = kind.api(&client, &ns);
        reapply(
            &api,
            kind,
            &name,
            json!({"provider": {"scaleway": provider}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{kind:?} is valid: {e}"));

        let mut moved = provider.clone();
        merge(&mut moved, json!({"region": "nl-ams"}));
        let status = refusal(
            reapply(&api, kind, &name, json!({"provider": {"scaleway": moved}})).await,
            &format!("{kind:?} region changed"),
        );
        assert_invalid(
            &status,
            "spec.provider.scaleway.region",
            "provider.scaleway.region is immutable",
            &format!("{kind:?}"),
        );

        let mut renamed = provider.clone();
        merge(
            &mut renamed,
            json!({"credentials": {"secretRef": {"name": "rotated-creds"}}, "apiUrl": "http://127.0.0.1:9090"}),
        );
        let updated = reapply(
            &api,
            kind,
            &name,
            json!({"provider": {"scaleway": renamed}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: credentials and apiUrl may change: {e}"));
        assert_eq!(
            updated.data["spec"]["provider"]["scaleway"]["credentials"]["secretRef"]["name"],
            "rotated-creds"
        );
        assert_eq!(
            updated.data["spec"]["provider"]["scaleway"]["region"],
            "fr-par"
        );
    }
    // Cluster-scoped objects outlive the test namespace: remove ours.
    Kind::ClusterSecretStore
        .api(&client, &ns)
        .delete(&cluster_store, &DeleteParams::default())
        .await
        .unwrap();
}

/// Every document of `examples/*.yaml`, with its file name.
fn example_documents() -> Vec<(String, DynamicObject)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut documents = Vec::new();
    for file in files {
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(document).unwrap();
            if value.is_null() {
                continue;
            }
            let object: DynamicObject = serde_yaml::from_value(value)
                .unwrap_or_else(|e| panic!("{file_name}: not a Kubernetes object: {e}"));
            documents.push((file_name.clone(), object));
        }
    }
    documents
}

#[tokio::test]
async fn every_example_applies_in_a_server_side_dry_run() {
    let (client, ns) = setup("admit-examples").await;
    let documents = example_documents();
    let kinds: Vec<_> = documents
        .iter()
        .filter_map(|(_, o)| o.types.as_ref().map(|t| t.kind.clone()))
        .collect();
    for kind in [
        "SecretStore",
        "ClusterSecretStore",
        "ManagedSecret",
        "Secret",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in examples/");
    }

    for (file, object) in documents {
        let types = object.types.clone().unwrap();
        let gvk = GroupVersionKind::try_from(&types).unwrap();
        let (resource, capabilities) = pinned_kind(&client, &gvk)
            .await
            .unwrap_or_else(|e| panic!("{file}: {} is not served: {e}", types.kind));
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Namespaced => Api::namespaced_with(client.clone(), ns.name(), &resource),
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        let name = object.name_any();
        let what = format!("{file}: {} {name}", types.kind);
        // A cluster-scoped example may already exist on a shared control plane (the demo applies
        // the examples); the dry run must then leave it exactly as it was.
        let before = api
            .get_opt(&name)
            .await
            .unwrap()
            .and_then(|o| o.metadata.resource_version);
        let applied = api
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER)
                    .validation_strict()
                    .dry_run(),
                &Patch::Apply(&object),
            )
            .await
            .unwrap_or_else(|e| panic!("{what} is refused: {e}"));
        assert_eq!(applied.name_any(), name, "{what}");
        if types.kind == "ManagedSecret" {
            // Schema defaults were applied, so the server really admitted the object.
            assert!(
                applied.data["spec"]["storeRef"]["kind"].is_string(),
                "{what}: {:?}",
                applied.data
            );
        }
        // A dry run stores nothing.
        let after = api
            .get_opt(&name)
            .await
            .unwrap()
            .and_then(|o| o.metadata.resource_version);
        assert_eq!(after, before, "{what}: the dry run stored the object");
    }
}

/// kubectl 1.32 from the machine.
fn kubectl() -> Command {
    let path = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("kubectl");
    Command::new(path)
}

fn explain(kubeconfig: &Path, field: &str) -> String {
    let out = kubectl()
        .args(["explain", field])
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null())
        .output()
        .expect("running kubectl explain");
    assert!(
        out.status.success(),
        "kubectl explain {field} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Collapses runs of whitespace, since kubectl wraps descriptions at its own width.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn kubectl_explain_shows_the_field_documentation() {
    let client = controlplane::client().await;
    controlplane::install_crds(&client).await;
    let kubeconfig = controlplane::kubeconfig_path().await;

    let remote = words(&explain(kubeconfig, "managedsecret.spec.remote"));
    for wanted in [
        "The remote secret in the Secret Manager: created by Keyward from these fields",
        "adopt <Object>",
        "scaleway <Object>",
        "Folder of the remote secret, such as `/` (the default)",
        "Scaleway secret type (decides the payload format; immutable).",
    ] {
        assert!(remote.contains(wanted), "want {wanted:?} in:\n{remote}");
    }

    let key = words(&explain(kubeconfig, "managedkey.spec"));
    for wanted in [
        "storeRef <Object> -required-",
        "keyId <string> -required-",
        "OCID of the master encryption key",
        "managementEndpoint <string>",
        "rotation <Object>",
        "Without it, the key rotates only on request",
        "refreshInterval <string>",
        "retirement <Object>",
        "Off unless set",
    ] {
        assert!(key.contains(wanted), "want {wanted:?} in:\n{key}");
    }
    let retirement = words(&explain(kubeconfig, "managedkey.spec.retirement"));
    assert!(
        retirement.contains("never the current one")
            || retirement.contains("the current one included"),
        "{retirement}"
    );

    let region = words(&explain(
        kubeconfig,
        "clustersecretstore.spec.provider.scaleway.region",
    ));
    assert!(
        region.contains("Region: `fr-par`, `nl-ams` or `pl-waw`. Immutable"),
        "{region}"
    );
}

/// The API server's answer to a create of `object` with strict field validation (what `kubectl
/// create` and `kubectl apply` send), as message and causes.
async fn answer(client: &Client, ns: &str, object: &Value) -> fixtures::Answer {
    let kind = Kind::named(object["kind"].as_str().unwrap());
    let resource = kind.resource();
    let url = match kind {
        Kind::ClusterSecretStore => format!("/apis/keyward.dev/v1alpha1/{}", resource.plural),
        _ => format!(
            "/apis/keyward.dev/v1alpha1/namespaces/{ns}/{}",
            resource.plural
        ),
    };
    let mut request = kube::core::Request::new(url)
        .create(&PostParams::default(), serde_json::to_vec(object).unwrap())
        .unwrap();
    let uri = request.uri().to_string();
    let separator = if uri.contains('?') { '&' } else { '?' };
    *request.uri_mut() = format!("{uri}{separator}fieldValidation=Strict")
        .parse()
        .unwrap();
    let status = refusal(
        client.request::<DynamicObject>(request).await,
        &object.to_string(),
    );
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let field = if c.field.is_empty() {
                "<nil>"
            } else {
                &c.field
            };
            format!("{field}: {}", c.message)
        })
        .collect();
    fixtures::Answer {
        kind: object["kind"].as_str().unwrap().to_owned(),
        message: status.message.clone(),
        causes,
    }
}

/// `tests/fixtures/admission-answers.json` holds what this API server answers to every bad
/// input (the offline `keyward plan -f` test is held to it): each answer is asked for again
/// and compared, causes in any order. `KEYWARD_BLESS=1` records them afresh.
#[tokio::test]
async fn recorded_answers_are_the_api_servers() {
    let (client, ns) = setup("admit-answers").await;
    let bless = std::env::var_os("KEYWARD_BLESS").is_some();
    let recorded = if bless {
        Default::default()
    } else {
        fixtures::admission_answers()
    };
    let mut answers = std::collections::BTreeMap::new();
    let rows = fixtures::all_bad_inputs()
        .into_iter()
        .chain(fixtures::schema_bad_inputs());
    for row in rows {
        let object = fixtures::bad_manifest(&row, ns.name());
        let got = answer(&client, ns.name(), &object).await;
        assert!(
            got.message.contains(row.message),
            "{}: want {:?} in {:?}",
            row.name,
            row.message,
            got.message
        );
        if !bless {
            let want = recorded
                .get(row.name)
                .unwrap_or_else(|| panic!("{}: no recorded answer (KEYWARD_BLESS=1)", row.name));
            assert_eq!(
                fixtures::Answer::normalized(&got.message, &got.causes),
                fixtures::Answer::normalized(&want.message, &want.causes),
                "{}",
                row.name
            );
        }
        answers.insert(row.name.to_owned(), got);
    }
    if bless {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(fixtures::ADMISSION_ANSWERS);
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&answers).unwrap() + "\n",
        )
        .unwrap();
        eprintln!("recorded {} answers in {}", answers.len(), path.display());
    }
}
