//! Whether Keyward may write a target Secret, and which keys it owns there.
//!
//! A Secret Keyward writes carries the label `app.kubernetes.io/managed-by: keyward` (for the
//! label-filtered watch) and the annotation `keyward.dev/managed-secret: <name>` naming the
//! ManagedSecret (in the same namespace) that claims it. The claim is by name, not uid, so deleting and
//! recreating a ManagedSecret with the same name picks its Secret up again. A controller owner
//! reference to a `keyward.dev` ManagedSecret counts as a claim too.
//!
//! Decisions by creation policy:
//!
//! | target             | Owner / Orphan         | Merge                    |
//! |--------------------|------------------------|--------------------------|
//! | absent             | create                 | refuse: nothing to merge into (wait) |
//! | claimed by us      | update                 | merge                    |
//! | unclaimed          | refuse (someone's own Secret) | merge             |
//! | another controller | refuse                 | merge (only our keys)    |
//! | another ManagedSecret | refuse (Conflict)   | refuse (Conflict)        |
//!
//! With Merge, Keyward writes only its keys and records them in `keyward.dev/owned-keys`, so a later
//! render that drops a key can remove exactly that key and drift is judged on those keys only.

use std::collections::{BTreeMap, BTreeSet};

pub use crate::api::well_known::{
    CLAIM_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNED_KEYS_ANNOTATION,
};
/// The API group of ManagedSecret, as it appears in owner references (`keyward.dev/v1alpha1`).
pub const API_GROUP: &str = "keyward.dev";
pub const MANAGED_SECRET_KIND: &str = "ManagedSecret";

/// One owner reference of the existing Secret, as plain strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub controller: bool,
}

impl OwnerRef {
    fn is_managed_secret(&self) -> bool {
        self.kind == MANAGED_SECRET_KIND && self.api_version.split('/').next() == Some(API_GROUP)
    }
}

/// The metadata of an existing target Secret that matters for ownership.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetMeta {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub owner_references: Vec<OwnerRef>,
}

/// Who holds the target Secret, from this ManagedSecret's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Absent,
    Ours,
    /// Exists, claimed by no ManagedSecret and controlled by nothing.
    Unclaimed,
    /// Controlled by something that is not a ManagedSecret (a Helm release, another operator).
    ControlledByOther {
        kind: String,
        name: String,
    },
    /// Claimed by another ManagedSecret in the namespace.
    ClaimedByOther {
        name: String,
    },
}

/// Classify the existing Secret (`None` when it does not exist) for the ManagedSecret `my_name`.
pub fn claim(existing: Option<&TargetMeta>, my_name: &str) -> Claim {
    let Some(meta) = existing else {
        return Claim::Absent;
    };
    let mut claimants: Vec<&str> = meta
        .annotations
        .get(CLAIM_ANNOTATION)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .into_iter()
        .collect();
    claimants.extend(
        meta.owner_references
            .iter()
            .filter(|r| r.controller && r.is_managed_secret())
            .map(|r| r.name.as_str()),
    );
    if let Some(other) = claimants.iter().find(|c| **c != my_name) {
        return Claim::ClaimedByOther {
            name: (*other).to_owned(),
        };
    }
    if let Some(foreign) = meta
        .owner_references
        .iter()
        .find(|r| r.controller && !r.is_managed_secret())
    {
        return Claim::ControlledByOther {
            kind: foreign.kind.clone(),
            name: foreign.name.clone(),
        };
    }
    if claimants.is_empty() {
        Claim::Unclaimed
    } else {
        Claim::Ours
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreationPolicy {
    /// Keyward creates the Secret with an owner reference: it goes when the ManagedSecret goes.
    #[default]
    Owner,
    /// Keyward creates the Secret without an owner reference: it stays.
    Orphan,
    /// Keyward writes its keys into a Secret that someone else created.
    Merge,
}

/// What the executor may do with the target Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteDecision {
    Create,
    Update,
    /// Write only our keys into the existing Secret.
    MergeInto,
    Refuse(Refusal),
}

/// Why the target Secret must not be written. Display texts are meant for a condition message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("target Secret is already managed by ManagedSecret {name:?}")]
    ClaimedByOther { name: String },
    #[error(
        "target Secret is controlled by {kind} {name:?}; only creation policy Merge may write into it"
    )]
    ControlledByOther { kind: String, name: String },
    #[error(
        "target Secret exists and is not managed by Keyward; use creation policy Merge to write into it"
    )]
    ExistsUnmanaged,
    #[error("creation policy Merge needs the target Secret to exist; waiting for it")]
    MergeTargetMissing,
}

pub fn write_decision(claim: &Claim, policy: CreationPolicy) -> WriteDecision {
    use CreationPolicy::{Merge, Orphan, Owner};
    match (claim, policy) {
        (Claim::ClaimedByOther { name }, _) => {
            WriteDecision::Refuse(Refusal::ClaimedByOther { name: name.clone() })
        }
        (Claim::Absent, Owner | Orphan) => WriteDecision::Create,
        (Claim::Absent, Merge) => WriteDecision::Refuse(Refusal::MergeTargetMissing),
        (Claim::Ours, Owner | Orphan) => WriteDecision::Update,
        (Claim::Unclaimed, Owner | Orphan) => WriteDecision::Refuse(Refusal::ExistsUnmanaged),
        (Claim::ControlledByOther { kind, name }, Owner | Orphan) => {
            WriteDecision::Refuse(Refusal::ControlledByOther {
                kind: kind.clone(),
                name: name.clone(),
            })
        }
        (Claim::Ours | Claim::Unclaimed | Claim::ControlledByOther { .. }, Merge) => {
            WriteDecision::MergeInto
        }
    }
}

/// The labels Keyward puts on every Secret it writes (merged with the user's target labels).
pub fn managed_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned())])
}

/// The annotations Keyward puts on a Secret it writes: the claim, the data HMAC and, under Merge,
/// the keys it owns.
pub fn managed_annotations(
    my_name: &str,
    data_hmac: &str,
    merged_keys: Option<&BTreeSet<String>>,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([
        (CLAIM_ANNOTATION.to_owned(), my_name.to_owned()),
        (
            super::digest::DATA_HMAC_ANNOTATION.to_owned(),
            data_hmac.to_owned(),
        ),
    ]);
    if let Some(keys) = merged_keys {
        annotations.insert(
            OWNED_KEYS_ANNOTATION.to_owned(),
            owned_keys_annotation(keys),
        );
    }
    annotations
}

/// The `keyward.dev/owned-keys` annotation value: sorted keys joined by commas (Secret keys cannot
/// contain commas).
pub fn owned_keys_annotation(keys: &BTreeSet<String>) -> String {
    keys.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parse `keyward.dev/owned-keys`; a missing annotation means no keys.
pub fn parse_owned_keys(annotation: Option<&str>) -> BTreeSet<String> {
    annotation
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The observed data restricted to `keys` (for drift checks under Merge). Missing keys are simply
/// absent, which the HMAC sees as a change.
pub fn restrict_to<'a>(
    observed: &'a BTreeMap<String, Vec<u8>>,
    keys: &'a BTreeSet<String>,
) -> impl Iterator<Item = (&'a str, &'a [u8])> {
    observed
        .iter()
        .filter(|(k, _)| keys.contains(*k))
        .map(|(k, v)| (k.as_str(), v.as_slice()))
}

/// Keys Keyward owned before and no longer renders: remove these from a merged Secret.
pub fn released_keys(previous: &BTreeSet<String>, desired: &BTreeSet<String>) -> BTreeSet<String> {
    previous.difference(desired).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(claim: Option<&str>, refs: &[(&str, &str, &str, bool)]) -> TargetMeta {
        TargetMeta {
            labels: BTreeMap::from([(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned())]),
            annotations: claim
                .map(|c| BTreeMap::from([(CLAIM_ANNOTATION.to_owned(), c.to_owned())]))
                .unwrap_or_default(),
            owner_references: refs
                .iter()
                .map(|(api_version, kind, name, controller)| OwnerRef {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    name: name.to_string(),
                    controller: *controller,
                })
                .collect(),
        }
    }

    const MS: &str = "keyward.dev/v1alpha1";

    #[test]
    fn claim_table() {
        let other = |n: &str| Claim::ClaimedByOther { name: n.to_owned() };
        let cases: Vec<(&str, Option<TargetMeta>, Claim)> = vec![
            ("no secret", None, Claim::Absent),
            (
                "plain secret",
                Some(TargetMeta::default()),
                Claim::Unclaimed,
            ),
            ("our annotation", Some(meta(Some("db"), &[])), Claim::Ours),
            (
                "our annotation, padded",
                Some(meta(Some(" db "), &[])),
                Claim::Ours,
            ),
            (
                "empty annotation",
                Some(meta(Some(""), &[])),
                Claim::Unclaimed,
            ),
            (
                "other annotation",
                Some(meta(Some("cache"), &[])),
                other("cache"),
            ),
            (
                "our controller ref, no annotation",
                Some(meta(None, &[(MS, "ManagedSecret", "db", true)])),
                Claim::Ours,
            ),
            (
                "other ManagedSecret controls it",
                Some(meta(Some("db"), &[(MS, "ManagedSecret", "cache", true)])),
                other("cache"),
            ),
            (
                "non-controller ref to another ManagedSecret is not a claim",
                Some(meta(Some("db"), &[(MS, "ManagedSecret", "cache", false)])),
                Claim::Ours,
            ),
            (
                "a ManagedSecret of another group is foreign",
                Some(meta(
                    None,
                    &[("example.com/v1", "ManagedSecret", "db", true)],
                )),
                Claim::ControlledByOther {
                    kind: "ManagedSecret".to_owned(),
                    name: "db".to_owned(),
                },
            ),
            (
                "helm-style controller",
                Some(meta(None, &[("apps/v1", "Deployment", "web", true)])),
                Claim::ControlledByOther {
                    kind: "Deployment".to_owned(),
                    name: "web".to_owned(),
                },
            ),
            (
                "our claim but another controller",
                Some(meta(Some("db"), &[("apps/v1", "Deployment", "web", true)])),
                Claim::ControlledByOther {
                    kind: "Deployment".to_owned(),
                    name: "web".to_owned(),
                },
            ),
            (
                "non-controller foreign ref is ignored",
                Some(meta(None, &[("apps/v1", "Deployment", "web", false)])),
                Claim::Unclaimed,
            ),
        ];
        for (what, existing, want) in cases {
            assert_eq!(claim(existing.as_ref(), "db"), want, "{what}");
        }
    }

    #[test]
    fn write_decision_table() {
        use CreationPolicy::{Merge, Orphan, Owner};
        let foreign = Claim::ControlledByOther {
            kind: "Deployment".to_owned(),
            name: "web".to_owned(),
        };
        let other = Claim::ClaimedByOther {
            name: "cache".to_owned(),
        };
        let refuse = WriteDecision::Refuse;
        let cases = [
            (Claim::Absent, Owner, WriteDecision::Create),
            (Claim::Absent, Orphan, WriteDecision::Create),
            (Claim::Absent, Merge, refuse(Refusal::MergeTargetMissing)),
            (Claim::Ours, Owner, WriteDecision::Update),
            (Claim::Ours, Orphan, WriteDecision::Update),
            (Claim::Ours, Merge, WriteDecision::MergeInto),
            (Claim::Unclaimed, Owner, refuse(Refusal::ExistsUnmanaged)),
            (Claim::Unclaimed, Orphan, refuse(Refusal::ExistsUnmanaged)),
            (Claim::Unclaimed, Merge, WriteDecision::MergeInto),
            (
                foreign.clone(),
                Owner,
                refuse(Refusal::ControlledByOther {
                    kind: "Deployment".to_owned(),
                    name: "web".to_owned(),
                }),
            ),
            (foreign, Merge, WriteDecision::MergeInto),
            (
                other.clone(),
                Owner,
                refuse(Refusal::ClaimedByOther {
                    name: "cache".to_owned(),
                }),
            ),
            (
                other,
                Merge,
                refuse(Refusal::ClaimedByOther {
                    name: "cache".to_owned(),
                }),
            ),
        ];
        for (c, policy, want) in cases {
            assert_eq!(write_decision(&c, policy), want, "{c:?} {policy:?}");
        }
    }

    fn set(keys: &[&str]) -> BTreeSet<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn owned_keys_round_trip() {
        let keys = set(&["password", "url", "a.b"]);
        let annotation = owned_keys_annotation(&keys);
        assert_eq!(annotation, "a.b,password,url");
        assert_eq!(parse_owned_keys(Some(&annotation)), keys);
        assert_eq!(
            parse_owned_keys(Some(" url , ,password")),
            set(&["password", "url"])
        );
        assert_eq!(parse_owned_keys(None), set(&[]));
        assert_eq!(parse_owned_keys(Some("")), set(&[]));
    }

    #[test]
    fn merge_key_sets() {
        let previous = set(&["password", "url"]);
        let desired = set(&["password", "dsn"]);
        assert_eq!(released_keys(&previous, &desired), set(&["url"]));
        assert_eq!(released_keys(&desired, &desired), set(&[]));
    }

    #[test]
    fn restrict_to_sees_only_owned_keys() {
        use super::super::digest::{HmacKey, data_hmac, drifted};
        let key = HmacKey::new(vec![9u8; 32]).unwrap();
        let ours = set(&["password"]);
        let written = BTreeMap::from([("password".to_owned(), b"s3cret".to_vec())]);
        let annotation = data_hmac(&key, super::super::digest::entries(&written));
        // Someone else's key changing is not drift for us.
        let mut observed = written.clone();
        observed.insert("theirs".to_owned(), b"anything".to_vec());
        assert!(!drifted(
            restrict_to(&observed, &ours),
            Some(&annotation),
            &key
        ));
        // Our key changing or vanishing is.
        observed.insert("password".to_owned(), b"changed".to_vec());
        assert!(drifted(
            restrict_to(&observed, &ours),
            Some(&annotation),
            &key
        ));
        observed.remove("password");
        assert!(drifted(
            restrict_to(&observed, &ours),
            Some(&annotation),
            &key
        ));
    }

    #[test]
    fn written_metadata_makes_the_secret_ours() {
        let keys = set(&["password", "url"]);
        let written = TargetMeta {
            labels: managed_labels(),
            annotations: managed_annotations("db", "v1:00", Some(&keys)),
            owner_references: vec![],
        };
        assert_eq!(claim(Some(&written), "db"), Claim::Ours);
        assert_eq!(
            claim(Some(&written), "cache"),
            Claim::ClaimedByOther {
                name: "db".to_owned()
            }
        );
        assert_eq!(
            parse_owned_keys(
                written
                    .annotations
                    .get(OWNED_KEYS_ANNOTATION)
                    .map(String::as_str)
            ),
            keys
        );
        assert!(!managed_annotations("db", "v1:00", None).contains_key(OWNED_KEYS_ANNOTATION));
    }

    #[test]
    fn refusal_messages() {
        assert_eq!(
            Refusal::ClaimedByOther {
                name: "cache".to_owned()
            }
            .to_string(),
            "target Secret is already managed by ManagedSecret \"cache\""
        );
    }
}
