//! The target Secret: what Keyward may do with it (from its metadata and the creation policy, using
//! the mirror's ownership rules), and the object Keyward writes (labels, claim, data HMAC, owned
//! keys, revision, owner reference).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

use crate::api::conditions::Reason;
use crate::api::{CreationPolicy, ManagedSecret};
use crate::mirror::digest::entries;
use crate::mirror::ownership::{
    self, OwnerRef, Refusal, TargetMeta, WriteDecision, managed_annotations, managed_labels,
    parse_owned_keys, restrict_to,
};
use crate::mirror::{DATA_HMAC_ANNOTATION, HmacKey, OWNED_KEYS_ANNOTATION, RenderedData};

use super::intent::TargetIntent;
use super::plan::TargetAccess;

pub use crate::api::well_known::{
    MANAGED_SECRET_LABEL, PREVIOUS_REVISION_ANNOTATION, REVISION_ANNOTATION,
};

fn policy(p: CreationPolicy) -> ownership::CreationPolicy {
    match p {
        CreationPolicy::Owner => ownership::CreationPolicy::Owner,
        CreationPolicy::Orphan => ownership::CreationPolicy::Orphan,
        CreationPolicy::Merge => ownership::CreationPolicy::Merge,
    }
}

/// The ownership-relevant metadata of a Secret.
pub fn target_meta(secret: &Secret) -> TargetMeta {
    TargetMeta {
        labels: secret.metadata.labels.clone().unwrap_or_default(),
        annotations: secret.metadata.annotations.clone().unwrap_or_default(),
        owner_references: secret
            .metadata
            .owner_references
            .iter()
            .flatten()
            .map(|r| OwnerRef {
                api_version: r.api_version.clone(),
                kind: r.kind.clone(),
                name: r.name.clone(),
                controller: r.controller.unwrap_or(false),
            })
            .collect(),
    }
}

/// The Secret's data as plain bytes.
pub fn secret_data(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// The keys Keyward recorded as written into this Secret.
pub fn owned_keys(secret: &Secret) -> std::collections::BTreeSet<String> {
    parse_owned_keys(
        secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(OWNED_KEYS_ANNOTATION))
            .map(String::as_str),
    )
}

/// Whether this Secret is claimed by the ManagedSecret `name`.
pub fn is_ours(secret: &Secret, name: &str) -> bool {
    ownership::claim(Some(&target_meta(secret)), name) == ownership::Claim::Ours
}

/// What Keyward may do with the target (`None`: it does not exist).
pub fn target_access(
    existing: Option<&Secret>,
    intent: &TargetIntent,
    my_name: &str,
    key: &HmacKey,
) -> TargetAccess {
    let meta = existing.map(target_meta);
    let claim = ownership::claim(meta.as_ref(), my_name);
    match ownership::write_decision(&claim, policy(intent.creation_policy)) {
        WriteDecision::Refuse(Refusal::MergeTargetMissing) => TargetAccess::WaitForMerge,
        WriteDecision::Refuse(refusal) => TargetAccess::Refused {
            reason: Reason::Conflict,
            message: format!("{refusal} (Secret {})", intent.name),
        },
        WriteDecision::Create => TargetAccess::Writable {
            exists: false,
            mirrored_revision: None,
            drifted: false,
            previous_revision: None,
        },
        WriteDecision::Update | WriteDecision::MergeInto => {
            let secret = existing.expect("a decision to update implies a Secret");
            let annotations = secret.metadata.annotations.clone().unwrap_or_default();
            let data = secret_data(secret);
            let owned =
                parse_owned_keys(annotations.get(OWNED_KEYS_ANNOTATION).map(String::as_str));
            let drifted = ownership::claim(meta.as_ref(), my_name) != ownership::Claim::Ours
                || crate::mirror::drifted(
                    restrict_to(&data, &owned),
                    annotations.get(DATA_HMAC_ANNOTATION).map(String::as_str),
                    key,
                );
            TargetAccess::Writable {
                exists: true,
                mirrored_revision: annotations
                    .get(REVISION_ANNOTATION)
                    .and_then(|r| r.parse().ok()),
                drifted,
                previous_revision: annotations
                    .get(PREVIOUS_REVISION_ANNOTATION)
                    .and_then(|r| r.parse().ok()),
            }
        }
    }
}

/// The Secret Keyward writes (server-side apply body, or the body of a create).
pub fn desired_secret(
    ms: &ManagedSecret,
    intent: &TargetIntent,
    data: RenderedData,
    revision: u64,
    previous: Option<u64>,
    key: &HmacKey,
) -> Secret {
    let name = ms.metadata.name.clone().unwrap_or_default();
    let keys = data.keys();
    let hmac = crate::mirror::data_hmac(key, entries(data.expose()));
    let mut labels = intent.labels.clone();
    labels.extend(managed_labels());
    if name.len() <= 63 {
        labels.insert(MANAGED_SECRET_LABEL.to_owned(), name.clone());
    }
    let mut annotations = intent.annotations.clone();
    annotations.extend(managed_annotations(&name, &hmac, Some(&keys)));
    annotations.insert(REVISION_ANNOTATION.to_owned(), revision.to_string());
    if let Some(previous) = previous {
        annotations.insert(
            PREVIOUS_REVISION_ANNOTATION.to_owned(),
            previous.to_string(),
        );
    }
    let owner_references = (intent.creation_policy == CreationPolicy::Owner)
        .then(|| ms.controller_owner_ref(&()))
        .flatten()
        .map(|r| vec![r]);
    let merge = intent.creation_policy == CreationPolicy::Merge;
    Secret {
        metadata: ObjectMeta {
            name: Some(intent.name.clone()),
            namespace: ms.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references,
            ..Default::default()
        },
        // Someone else's Secret keeps its own type.
        type_: (!merge).then(|| intent.type_.clone()),
        data: Some(
            data.into_inner()
                .into_iter()
                .map(|(k, v)| (k, ByteString(v)))
                .collect(),
        ),
        ..Default::default()
    }
}

/// A JSON merge patch removing what Keyward wrote into someone else's Secret: its keys (from the
/// owned-keys annotation) and its own labels and annotations.
pub fn release_patch(secret: &Secret) -> serde_json::Value {
    use crate::mirror::{CLAIM_ANNOTATION, MANAGED_BY_LABEL};
    let annotations = secret.metadata.annotations.clone().unwrap_or_default();
    let owned = parse_owned_keys(annotations.get(OWNED_KEYS_ANNOTATION).map(String::as_str));
    let data: serde_json::Map<String, serde_json::Value> = owned
        .into_iter()
        .map(|k| (k, serde_json::Value::Null))
        .collect();
    let mut ours = serde_json::Map::new();
    for key in [
        CLAIM_ANNOTATION,
        DATA_HMAC_ANNOTATION,
        OWNED_KEYS_ANNOTATION,
        REVISION_ANNOTATION,
        PREVIOUS_REVISION_ANNOTATION,
    ] {
        ours.insert(key.to_owned(), serde_json::Value::Null);
    }
    serde_json::json!({
        "data": data,
        "metadata": {
            "annotations": ours,
            "labels": {
                MANAGED_BY_LABEL: null,
                MANAGED_SECRET_LABEL: null,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ManagedSecretSpec, StoreRef, TargetDeletionPolicy};

    fn key() -> HmacKey {
        HmacKey::new(vec![9u8; 32]).unwrap()
    }

    fn ms(name: &str) -> ManagedSecret {
        let mut ms = ManagedSecret::new(
            name,
            ManagedSecretSpec {
                rollout: None,
                retirement: None,
                store_ref: StoreRef {
                    kind: Default::default(),
                    name: "s".into(),
                },
                remote: Default::default(),
                generate: None,
                from_secret: None,
                rotation: None,
                refresh_interval: None,
                target: None,
                remote_deletion_policy: None,
            },
        );
        ms.metadata.namespace = Some("team".into());
        ms.metadata.uid = Some("uid-1".into());
        ms
    }

    fn intent(policy: CreationPolicy) -> TargetIntent {
        TargetIntent {
            name: "db".into(),
            type_: "Opaque".into(),
            labels: BTreeMap::from([("app".into(), "billing".into())]),
            annotations: BTreeMap::new(),
            template: None,
            creation_policy: policy,
            deletion_policy: TargetDeletionPolicy::Delete,
            include_previous: false,
        }
    }

    fn rendered(v: &str) -> RenderedData {
        RenderedData::new(BTreeMap::from([("value".into(), v.as_bytes().to_vec())]))
    }

    #[test]
    fn written_secret_is_claimed_and_not_drifted_until_edited() {
        let mut secret = desired_secret(
            &ms("db"),
            &intent(CreationPolicy::Owner),
            rendered("canary-x"),
            3,
            None,
            &key(),
        );
        let labels = secret.metadata.labels.clone().unwrap();
        assert_eq!(labels["app.kubernetes.io/managed-by"], "keyward");
        assert_eq!(labels[MANAGED_SECRET_LABEL], "db");
        assert_eq!(labels["app"], "billing");
        assert_eq!(secret.metadata.owner_references.as_ref().unwrap().len(), 1);
        let shown = format!("{:?}", secret.metadata);
        assert!(!shown.contains("canary-x"));
        assert!(is_ours(&secret, "db"));
        assert_eq!(
            target_access(Some(&secret), &intent(CreationPolicy::Owner), "db", &key()),
            TargetAccess::Writable {
                exists: true,
                mirrored_revision: Some(3),
                drifted: false,
                previous_revision: None,
            }
        );
        secret
            .data
            .as_mut()
            .unwrap()
            .insert("value".into(), ByteString(b"edited".to_vec()));
        assert!(matches!(
            target_access(Some(&secret), &intent(CreationPolicy::Owner), "db", &key()),
            TargetAccess::Writable { drifted: true, .. }
        ));
        // Another ManagedSecret pointing at the same Secret is refused.
        assert!(matches!(
            target_access(
                Some(&secret),
                &intent(CreationPolicy::Owner),
                "other",
                &key()
            ),
            TargetAccess::Refused {
                reason: Reason::Conflict,
                ..
            }
        ));
    }

    #[test]
    fn access_by_policy() {
        let foreign = Secret {
            metadata: ObjectMeta {
                name: Some("db".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let k = key();
        assert!(matches!(
            target_access(None, &intent(CreationPolicy::Owner), "db", &k),
            TargetAccess::Writable { exists: false, .. }
        ));
        assert_eq!(
            target_access(None, &intent(CreationPolicy::Merge), "db", &k),
            TargetAccess::WaitForMerge
        );
        assert!(matches!(
            target_access(Some(&foreign), &intent(CreationPolicy::Orphan), "db", &k),
            TargetAccess::Refused { .. }
        ));
        assert!(matches!(
            target_access(Some(&foreign), &intent(CreationPolicy::Merge), "db", &k),
            TargetAccess::Writable {
                exists: true,
                drifted: true,
                ..
            }
        ));
        let merged = desired_secret(
            &ms("db"),
            &intent(CreationPolicy::Merge),
            rendered("v"),
            1,
            None,
            &k,
        );
        assert!(merged.type_.is_none());
        assert!(merged.metadata.owner_references.is_none());
    }

    #[test]
    fn release_patch_removes_only_what_keyward_wrote() {
        let k = key();
        let mut secret = desired_secret(
            &ms("db"),
            &intent(CreationPolicy::Merge),
            rendered("v"),
            1,
            None,
            &k,
        );
        secret
            .metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert("theirs".into(), "x".into());
        let patch = release_patch(&secret);
        assert_eq!(patch["data"], serde_json::json!({"value": null}));
        let annotations = patch["metadata"]["annotations"].as_object().unwrap();
        assert!(annotations.contains_key("keyward.dev/managed-secret"));
        assert!(annotations.contains_key("keyward.dev/data-hmac"));
        assert!(!annotations.contains_key("theirs"));
        assert!(
            patch["metadata"]["labels"]
                .as_object()
                .unwrap()
                .contains_key("app.kubernetes.io/managed-by")
        );
    }
}
