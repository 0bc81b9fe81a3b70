//! Deletion, planned: what the finalizer does with the remote secret and the target Secret. Pure.
//!
//! The remote secret is deleted only when the deletion policy is `Delete` and Keyward created it
//! (it carries this object's owner mark), or it was adopted with `adopt.allowDeletion: true`.
//! Otherwise it stays, with an Event saying why. A store or credentials that are gone (a namespace
//! being deleted removes them first) never hold the finalizer: the remote secret stays and an
//! Event says so. In a namespace being deleted, no provider failure holds it either. Elsewhere a
//! protected secret, or a provider that fails, keeps the finalizer and is retried with backoff
//! (see the reconcile module's docs for how a person resolves a protected secret).

use crate::api::conditions::Reason;
use crate::api::{CreationPolicy, RemoteDeletionPolicy, TargetDeletionPolicy};
use crate::controller::events::EventNote;
use crate::provider::{ErrorKind, OwnerMark, ProviderError, SecretId};

use super::backoff::Pace;
use super::conclude::{Failure, provider_failure};

/// What to do with the remote secret.
#[derive(Clone, Debug, PartialEq)]
pub enum RemoteCleanup {
    /// Nothing to do (policy Retain, or nothing was ever created).
    Nothing,
    /// The store is needed to decide: resolve it and look the secret up.
    LookUp(SecretId),
    Delete(SecretId),
    /// Leave it and finish; the Event says why.
    Keep(EventNote),
    /// Keep the finalizer and try again later.
    Block(Failure),
}

/// The first decision: whether the remote secret concerns the deletion at all.
pub fn remote_first(policy: RemoteDeletionPolicy, secret_id: Option<&str>) -> RemoteCleanup {
    match (policy, secret_id) {
        (RemoteDeletionPolicy::Delete, Some(id)) => RemoteCleanup::LookUp(SecretId::new(id)),
        _ => RemoteCleanup::Nothing,
    }
}

/// The store could not be resolved (`reason`, `message`).
pub fn store_unusable(
    id: &SecretId,
    reason: Reason,
    message: &str,
    namespace_terminating: bool,
) -> RemoteCleanup {
    let gone = matches!(reason, Reason::StoreNotFound | Reason::CredentialsNotFound);
    if gone || namespace_terminating {
        return RemoteCleanup::Keep(EventNote::warning(
            "RemoteKept",
            "DeleteSecret",
            format!(
                "remote secret {id} was left in the Secret Manager: remoteDeletionPolicy is Delete, but the store cannot be used ({reason}: {message}); delete it there if it is no longer needed"
            ),
        ));
    }
    RemoteCleanup::Block(Failure::new(
        reason,
        format!("cannot delete remote secret {id}: {message}"),
        Pace::Temporary,
    ))
}

/// What the lookup found decides: Keyward's own secret is deleted, anything else stays.
pub fn after_lookup(
    id: &SecretId,
    found_owner: Option<Option<&OwnerMark>>,
    ours: &OwnerMark,
    adopted: bool,
    allow_adopted_deletion: bool,
) -> RemoteCleanup {
    let Some(owner) = found_owner else {
        // Already gone.
        return RemoteCleanup::Nothing;
    };
    if adopted {
        return if allow_adopted_deletion {
            RemoteCleanup::Delete(id.clone())
        } else {
            RemoteCleanup::Keep(EventNote::normal(
                "RemoteKept",
                "DeleteSecret",
                format!(
                    "remote secret {id} was adopted, not created by Keyward, so remoteDeletionPolicy Delete leaves it; set spec.remote.adopt.allowDeletion: true to delete adopted secrets"
                ),
            ))
        };
    }
    match owner {
        Some(owner) if owner == ours => RemoteCleanup::Delete(id.clone()),
        Some(other) => RemoteCleanup::Keep(EventNote::warning(
            "RemoteKept",
            "DeleteSecret",
            format!(
                "remote secret {id} belongs to {other}, so this ManagedSecret does not delete it"
            ),
        )),
        None => RemoteCleanup::Keep(EventNote::warning(
            "RemoteKept",
            "DeleteSecret",
            format!(
                "remote secret {id} carries no Keyward owner mark, so Keyward does not delete it; delete it in the Secret Manager if it is no longer needed"
            ),
        )),
    }
}

/// The answer to the delete call.
pub fn after_delete(
    id: &SecretId,
    result: Result<(), &ProviderError>,
    namespace_terminating: bool,
) -> RemoteCleanup {
    let error = match result {
        Ok(()) => {
            return RemoteCleanup::Keep(EventNote::normal(
                "Deleted",
                "DeleteSecret",
                format!("deleted remote secret {id}"),
            ));
        }
        Err(e) if *e.kind() == ErrorKind::NotFound => return RemoteCleanup::Nothing,
        Err(e) => e,
    };
    if *error.kind() == ErrorKind::Protected {
        if namespace_terminating {
            return RemoteCleanup::Keep(EventNote::warning(
                "RemoteKept",
                "DeleteSecret",
                format!(
                    "remote secret {id} is protected, so it was left in the Secret Manager while its namespace is deleted"
                ),
            ));
        }
        return RemoteCleanup::Block(Failure::new(
            Reason::Protected,
            format!(
                "remote secret {id} is protected, so remoteDeletionPolicy Delete cannot delete it. The ManagedSecret keeps its finalizer and Keyward retries slowly: remove the protection in the Secret Manager, or set spec.remoteDeletionPolicy to Retain to keep the remote secret"
            ),
            Pace::Persistent,
        ));
    }
    if namespace_terminating {
        return RemoteCleanup::Keep(EventNote::warning(
            "RemoteKept",
            "DeleteSecret",
            format!(
                "remote secret {id} could not be deleted while its namespace is deleted ({}); it was left in the Secret Manager",
                error.condition_message()
            ),
        ));
    }
    RemoteCleanup::Block(provider_failure(error))
}

/// What to do with the target Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetCleanup {
    Nothing,
    Delete,
    /// Someone else's Secret (Merge): remove exactly Keyward's keys, labels and annotations.
    Release,
    /// Retained: drop Keyward's owner reference so garbage collection keeps it.
    Orphan,
}

pub fn target_cleanup(
    deletion: TargetDeletionPolicy,
    creation: CreationPolicy,
    ours: bool,
    has_owner_references: bool,
) -> TargetCleanup {
    if !ours {
        return TargetCleanup::Nothing;
    }
    match (deletion, creation) {
        (TargetDeletionPolicy::Delete, CreationPolicy::Merge) => TargetCleanup::Release,
        (TargetDeletionPolicy::Delete, _) => TargetCleanup::Delete,
        (TargetDeletionPolicy::Retain, _) if has_owner_references => TargetCleanup::Orphan,
        (TargetDeletionPolicy::Retain, _) => TargetCleanup::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SecretId {
        SecretId::new("s-1")
    }

    fn mark(object: &str) -> OwnerMark {
        OwnerMark::for_object("c", "team", object)
    }

    fn kept(c: &RemoteCleanup) -> bool {
        matches!(c, RemoteCleanup::Keep(_))
    }

    #[test]
    fn only_the_delete_policy_with_a_recorded_secret_looks_further() {
        assert_eq!(
            remote_first(RemoteDeletionPolicy::Retain, Some("s-1")),
            RemoteCleanup::Nothing
        );
        assert_eq!(
            remote_first(RemoteDeletionPolicy::Delete, None),
            RemoteCleanup::Nothing
        );
        assert_eq!(
            remote_first(RemoteDeletionPolicy::Delete, Some("s-1")),
            RemoteCleanup::LookUp(id())
        );
    }

    #[test]
    fn a_gone_store_or_a_terminating_namespace_never_holds_the_finalizer() {
        for reason in [Reason::StoreNotFound, Reason::CredentialsNotFound] {
            assert!(
                kept(&store_unusable(&id(), reason, "gone", false)),
                "{reason}"
            );
        }
        assert!(kept(&store_unusable(
            &id(),
            Reason::StoreNotReady,
            "timeout",
            true
        )));
        assert!(matches!(
            store_unusable(&id(), Reason::StoreNotReady, "timeout", false),
            RemoteCleanup::Block(f) if f.reason == Reason::StoreNotReady
        ));
    }

    #[test]
    fn only_keywards_own_or_explicitly_allowed_adopted_secrets_are_deleted() {
        let ours = mark("db");
        // (case, the owner the lookup found (`None`: gone), adopted, allowed, outcome)
        type Row<'a> = (&'a str, Option<Option<&'a OwnerMark>>, bool, bool, &'a str);
        let rows: [Row; 7] = [
            ("ours", Some(Some(&ours)), false, false, "delete"),
            (
                "another object's",
                Some(Some(&mark("other"))),
                false,
                false,
                "keep",
            ),
            ("unmarked", Some(None), false, false, "keep"),
            ("already gone", None, false, false, "nothing"),
            ("adopted", Some(None), true, false, "keep"),
            ("adopted, allowed", Some(None), true, true, "delete"),
            (
                "adopted, ours, not allowed",
                Some(Some(&ours)),
                true,
                false,
                "keep",
            ),
        ];
        for (name, owner, adopted, allowed, want) in rows {
            let got = match after_lookup(&id(), owner, &ours, adopted, allowed) {
                RemoteCleanup::Delete(_) => "delete",
                RemoteCleanup::Keep(e) => {
                    assert!(e.note.contains("s-1"), "{name}: {}", e.note);
                    "keep"
                }
                RemoteCleanup::Nothing => "nothing",
                other => panic!("{name}: {other:?}"),
            };
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn delete_answers() {
        let protected = ProviderError::new("scaleway", "delete_secret", ErrorKind::Protected, "p");
        let down = ProviderError::new("scaleway", "delete_secret", ErrorKind::ServerError, "500");
        let missing = ProviderError::new("scaleway", "delete_secret", ErrorKind::NotFound, "404");
        assert!(
            matches!(after_delete(&id(), Ok(()), false), RemoteCleanup::Keep(e) if e.reason == "Deleted")
        );
        assert_eq!(
            after_delete(&id(), Err(&missing), false),
            RemoteCleanup::Nothing
        );
        assert!(matches!(
            after_delete(&id(), Err(&protected), false),
            RemoteCleanup::Block(f) if f.reason == Reason::Protected
        ));
        assert!(matches!(
            after_delete(&id(), Err(&down), false),
            RemoteCleanup::Block(f) if f.reason == Reason::ProviderError
        ));
        assert!(kept(&after_delete(&id(), Err(&protected), true)));
        assert!(kept(&after_delete(&id(), Err(&down), true)));
    }

    #[test]
    fn target_by_policy_and_claim() {
        use CreationPolicy::*;
        use TargetDeletionPolicy::*;
        let rows = [
            (Delete, Owner, true, true, TargetCleanup::Delete),
            (Delete, Orphan, true, false, TargetCleanup::Delete),
            (Delete, Merge, true, false, TargetCleanup::Release),
            (Retain, Owner, true, true, TargetCleanup::Orphan),
            (Retain, Orphan, true, false, TargetCleanup::Nothing),
            (Delete, Owner, false, true, TargetCleanup::Nothing),
        ];
        for (deletion, creation, ours, refs, want) in rows {
            assert_eq!(
                target_cleanup(deletion, creation, ours, refs),
                want,
                "{deletion:?} {creation:?} {ours}"
            );
        }
    }
}
