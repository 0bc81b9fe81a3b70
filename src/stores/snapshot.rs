//! What one sweep (one listing of a store's whole scope) saw, and the comparisons the runtime makes
//! with it: which secrets changed since the last sweep (their objects are woken), the lookup of a
//! secret by name and folder without a call, and a secret's fingerprint. Pure.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::provider::{RemoteSecret, SecretId};

/// The live secrets of a store's scope as of `taken_at`, kept current between sweeps by Keyward's
/// own writes.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub taken_at: Instant,
    /// The same instant on the wall clock, to compare with Kubernetes timestamps.
    pub taken_at_wall: jiff::Timestamp,
    by_id: HashMap<SecretId, RemoteSecret>,
}

/// Several live secrets share one name and folder: Keyward never picks one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ambiguous(pub usize);

impl Snapshot {
    /// A listing that began at `taken_at` (monotonic) and `taken_at_wall` (wall clock).
    pub fn new(
        secrets: Vec<RemoteSecret>,
        taken_at: Instant,
        taken_at_wall: jiff::Timestamp,
    ) -> Self {
        Self {
            taken_at,
            taken_at_wall,
            by_id: secrets
                .into_iter()
                .filter(|s| s.deletion_requested_at.is_none())
                .map(|s| (s.id.clone(), s))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: &SecretId) -> Option<&RemoteSecret> {
        self.by_id.get(id)
    }

    /// The live secret named `name` in folder `path`.
    pub fn find(&self, name: &str, path: &str) -> Result<Option<&RemoteSecret>, Ambiguous> {
        let mut found = self
            .by_id
            .values()
            .filter(|s| s.name == name && same_folder(&s.path, path));
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some(one), None) => Ok(Some(one)),
            (Some(_), Some(_)) => Err(Ambiguous(2 + found.count())),
        }
    }

    /// The ids whose record differs between `previous` and this snapshot, or that appeared or
    /// disappeared.
    pub fn changed_since(&self, previous: &Snapshot) -> Vec<SecretId> {
        let mut changed: Vec<SecretId> = self
            .by_id
            .iter()
            .filter(|(id, s)| previous.by_id.get(*id) != Some(*s))
            .map(|(id, _)| id.clone())
            .collect();
        changed.extend(
            previous
                .by_id
                .keys()
                .filter(|id| !self.by_id.contains_key(*id))
                .cloned(),
        );
        changed.sort();
        changed
    }

    /// Records what a write of Keyward's own returned (a created or updated secret), so the next
    /// sweep does not take Keyward's own change for someone else's.
    pub fn record(&mut self, secret: RemoteSecret) {
        if secret.deletion_requested_at.is_some() {
            self.by_id.remove(&secret.id);
        } else {
            self.by_id.insert(secret.id.clone(), secret);
        }
    }

    pub fn forget(&mut self, id: &SecretId) {
        self.by_id.remove(id);
    }
}

fn same_folder(a: &str, b: &str) -> bool {
    let norm = |p: &str| {
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            "/".to_owned()
        } else {
            t.to_owned()
        }
    };
    norm(a) == norm(b)
}

/// A short digest of what tells whether a secret's versions may have changed: its version
/// count, its update time and its deletion state. Recorded in a ManagedSecret's status, it lets a
/// reconcile after a restart see from the sweep alone that nothing changed remotely.
pub fn fingerprint(secret: &RemoteSecret) -> String {
    let text = format!(
        "{}|{:?}|{:?}|{:?}",
        secret.id, secret.version_count, secret.updated_at, secret.deletion_requested_at
    );
    let digest = Sha256::digest(text.as_bytes());
    let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    match secret.version_count {
        Some(n) => format!("v{n}-{short}"),
        None => short,
    }
}

#[cfg(test)]
pub(crate) fn secret(id: &str, name: &str, path: &str, versions: u64) -> RemoteSecret {
    RemoteSecret {
        id: SecretId::new(id),
        project_id: None,
        name: name.into(),
        path: path.into(),
        description: String::new(),
        tags: vec![],
        owner: None,
        kind: None,
        status: crate::provider::SecretStatus::Ready,
        protected: false,
        managed_by_other_product: false,
        version_count: Some(versions),
        ephemeral_policy: None,
        key_id: None,
        region: "fr-par".into(),
        created_at: None,
        updated_at: Some(jiff::Timestamp::from_second(1_800_000_000).unwrap()),
        deletion_requested_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_name_and_folder_and_refuses_to_pick_among_several() {
        let t = Instant::now();
        let s = Snapshot::new(
            vec![
                secret("1", "db", "/", 1),
                secret("2", "db", "/team-a", 1),
                secret("3", "twin", "/x", 1),
                secret("4", "twin", "/x/", 1),
            ],
            t,
            jiff::Timestamp::now(),
        );
        assert_eq!(s.find("db", "/").unwrap().unwrap().id, SecretId::new("1"));
        assert_eq!(
            s.find("db", "/team-a").unwrap().unwrap().id,
            SecretId::new("2")
        );
        assert_eq!(s.find("db", "/team-b").unwrap(), None);
        assert_eq!(s.find("twin", "/x"), Err(Ambiguous(2)));
    }

    #[test]
    fn deleted_secrets_are_not_live() {
        let mut gone = secret("1", "db", "/", 1);
        gone.deletion_requested_at = gone.updated_at;
        let s = Snapshot::new(vec![gone.clone()], Instant::now(), jiff::Timestamp::now());
        assert!(s.is_empty());
        let mut s = Snapshot::new(
            vec![secret("1", "db", "/", 1)],
            Instant::now(),
            jiff::Timestamp::now(),
        );
        s.record(gone);
        assert!(s.get(&SecretId::new("1")).is_none());
    }

    #[test]
    fn changes_between_sweeps_name_exactly_the_secrets_that_moved() {
        let t = Instant::now();
        let before = Snapshot::new(
            vec![
                secret("1", "a", "/", 1),
                secret("2", "b", "/", 3),
                secret("3", "c", "/", 1),
            ],
            t,
            jiff::Timestamp::now(),
        );
        let mut described = secret("3", "c", "/", 1);
        described.description = "changed".into();
        let after = Snapshot::new(
            vec![
                secret("1", "a", "/", 1),
                secret("2", "b", "/", 4),
                described,
                secret("5", "e", "/", 1),
            ],
            t,
            jiff::Timestamp::now(),
        );
        let ids = |v: Vec<SecretId>| v.into_iter().map(|i| i.0).collect::<Vec<_>>();
        assert_eq!(ids(after.changed_since(&before)), ["2", "3", "5"]);
        let shrunk = Snapshot::new(vec![secret("1", "a", "/", 1)], t, jiff::Timestamp::now());
        assert_eq!(ids(shrunk.changed_since(&before)), ["2", "3"]);
        assert!(before.changed_since(&before).is_empty());
    }

    #[test]
    fn keywards_own_writes_do_not_look_like_changes() {
        let t = Instant::now();
        let mut mine = Snapshot::new(vec![secret("1", "a", "/", 1)], t, jiff::Timestamp::now());
        // What the runtime records after creating version 2 (see `StoreRuntime::record_version`).
        mine.record(secret("1", "a", "/", 2));
        let next_sweep = Snapshot::new(vec![secret("1", "a", "/", 2)], t, jiff::Timestamp::now());
        assert!(next_sweep.changed_since(&mine).is_empty());
    }

    #[test]
    fn the_fingerprint_follows_versions_updates_and_deletion_only() {
        let a = secret("1", "a", "/", 2);
        assert!(fingerprint(&a).starts_with("v2-"));
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        let mut more = a.clone();
        more.version_count = Some(3);
        let mut updated = a.clone();
        updated.updated_at = Some(jiff::Timestamp::from_second(1_800_000_001).unwrap());
        let mut retagged = a.clone();
        retagged.tags = vec!["x".into()];
        assert_ne!(fingerprint(&a), fingerprint(&more));
        assert_ne!(fingerprint(&a), fingerprint(&updated));
        assert_eq!(fingerprint(&a), fingerprint(&retagged));
    }
}
