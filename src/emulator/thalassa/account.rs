//! The emulator's state and every operation on it, free of HTTP: each takes `now` and returns the
//! changed record or an [`ApiError`]. The HTTP layer parses, authenticates, applies the shared faults
//! and renders.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::ApiError;
use super::model::{
    KeyRecord, KeyStatus, KeyVersionRecord, Scope, SecretRecord, StoredValue, VersionRecord,
    VersionStatus,
};

/// A deleted KMS key is purged this long after its deletion was scheduled (reference §6).
pub const KEY_DELETION_GRACE: SignedDuration = SignedDuration::from_hours(30 * 24);

/// What `createSecret` needs (reference §3.3), checked by the HTTP layer.
pub struct NewSecret {
    pub path: String,
    pub kms_key: String,
    pub description: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub value: StoredValue,
    pub access_policy: Option<Value>,
}

/// What the admin API or the KMS API creates a key from.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    pub identity: Option<String>,
    pub name: String,
    pub slug: Option<String>,
    pub description: String,
    pub region: String,
    pub organisation: Option<String>,
    pub project: Option<String>,
    pub key_type: String,
    pub status: Option<KeyStatus>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub export_allowed: bool,
    pub key_rotation_enabled: bool,
    pub rotation_period_in_days: Option<u32>,
}

/// One reveal's answer.
pub struct Revealed {
    pub version: u32,
    pub value: StoredValue,
    pub kms_key: String,
    pub key_version: u32,
}

/// Per-organisation feature gates (reference §1); both on unless switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gates {
    pub secrets: bool,
    pub kms: bool,
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            secrets: true,
            kms: true,
        }
    }
}

/// A browse level: child directories and the secrets directly in it (reference §5).
pub struct Browse<'a> {
    pub prefixes: Vec<String>,
    pub secrets: Vec<&'a SecretRecord>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Account {
    /// Regions served, and whether KMS is available in each.
    regions: BTreeMap<String, bool>,
    keys: Vec<KeyRecord>,
    /// By scope, then path: listings come out in path order.
    #[serde(with = "secrets_as_list")]
    secrets: BTreeMap<(Scope, String), SecretRecord>,
    /// Organisations whose gates differ from the default.
    gates: BTreeMap<String, Gates>,
}

/// The state file lists secrets (JSON map keys must be strings); the map is rebuilt on load.
mod secrets_as_list {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        map: &BTreeMap<(Scope, String), SecretRecord>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.values())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(Scope, String), SecretRecord>, D::Error> {
        let list = Vec::<SecretRecord>::deserialize(d)?;
        Ok(list
            .into_iter()
            .map(|s| ((s.scope.clone(), s.path.clone()), s))
            .collect())
    }
}

impl Account {
    /// Serves `regions`, KMS available in each.
    pub fn new(regions: impl IntoIterator<Item = String>) -> Self {
        Self {
            regions: regions.into_iter().map(|r| (r, true)).collect(),
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    // ---- regions and gates ----

    /// An unknown region is 404 (UNCONFIRMED).
    pub fn check_region(&self, region: &str) -> Result<(), ApiError> {
        if self.regions.contains_key(region) {
            Ok(())
        } else {
            Err(ApiError::not_found(format!("region {region} not found")))
        }
    }

    /// Crypto-backed operations (create, put value, reveal) need a KMS endpoint in the region
    /// (reference §1: 503). Metadata calls do not (UNCONFIRMED: the reference expects so).
    pub fn check_kms_available(&self, region: &str) -> Result<(), ApiError> {
        match self.regions.get(region) {
            Some(true) => Ok(()),
            Some(false) => Err(ApiError::kms_unavailable(region)),
            None => Err(ApiError::not_found(format!("region {region} not found"))),
        }
    }

    /// Serves `region` too (KMS available), unless it is served already.
    pub fn ensure_region(&mut self, region: &str) {
        self.regions.entry(region.to_string()).or_insert(true);
    }

    /// Adds the region when it is new.
    pub fn set_kms_available(&mut self, region: &str, available: bool) {
        self.regions.insert(region.to_string(), available);
    }

    pub fn regions(&self) -> impl Iterator<Item = (&str, bool)> {
        self.regions.iter().map(|(r, a)| (r.as_str(), *a))
    }

    pub fn gates(&self, organisation: &str) -> Gates {
        self.gates.get(organisation).copied().unwrap_or_default()
    }

    pub fn set_gates(&mut self, organisation: &str, gates: Gates) {
        if gates == Gates::default() {
            self.gates.remove(organisation);
        } else {
            self.gates.insert(organisation.to_string(), gates);
        }
    }

    // ---- KMS keys ----

    pub fn keys(&self) -> impl Iterator<Item = &KeyRecord> {
        self.keys.iter()
    }

    /// A key by identity or slug, as `organisation` in `region` sees it.
    pub fn key(&self, region: &str, organisation: &str, id: &str) -> Result<&KeyRecord, ApiError> {
        self.keys
            .iter()
            .find(|k| {
                !k.deleted && k.region == region && k.visible_to(organisation) && k.answers_to(id)
            })
            .ok_or_else(|| ApiError::not_found(format!("KMS key {id} not found")))
    }

    fn key_mut(
        &mut self,
        region: &str,
        organisation: &str,
        id: &str,
    ) -> Result<&mut KeyRecord, ApiError> {
        self.keys
            .iter_mut()
            .find(|k| {
                !k.deleted && k.region == region && k.visible_to(organisation) && k.answers_to(id)
            })
            .ok_or_else(|| ApiError::not_found(format!("KMS key {id} not found")))
    }

    /// The key a secret is bound to, by identity, deleted ones included.
    pub fn bound_key(&self, secret: &SecretRecord) -> Option<&KeyRecord> {
        self.keys
            .iter()
            .find(|k| k.identity == secret.kms_key && k.region == secret.scope.region)
    }

    pub fn create_key(&mut self, new: NewKey, now: Timestamp) -> Result<&KeyRecord, ApiError> {
        if new.name.trim().is_empty() {
            return Err(ApiError::bad_request("name is required"));
        }
        if !super::model::KEY_TYPES.contains(&new.key_type.as_str()) {
            return Err(ApiError::bad_request(format!(
                "keyType must be one of {}",
                super::model::KEY_TYPES.join(", ")
            )));
        }
        if let Some(days) = new.rotation_period_in_days
            && !(1..=3650).contains(&days)
        {
            return Err(ApiError::bad_request(
                "rotationPeriodInDays must be from 1 to 3650",
            ));
        }
        let identity = new
            .identity
            .unwrap_or_else(|| format!("kms-{}", uuid::Uuid::new_v4().simple()));
        let slug = new.slug.unwrap_or_else(|| slugify(&new.name));
        let clash = self.keys.iter().any(|k| {
            !k.deleted
                && (k.identity == identity
                    || (k.region == new.region
                        && k.organisation == new.organisation
                        && k.slug == slug))
        });
        if clash {
            return Err(ApiError::conflict(format!(
                "a KMS key with identity {identity} or slug {slug} already exists"
            )));
        }
        let status = new.status.unwrap_or(KeyStatus::Active);
        self.keys.push(KeyRecord {
            identity,
            name: new.name,
            slug,
            description: new.description,
            region: new.region,
            organisation: new.organisation,
            project: new.project,
            key_type: new.key_type,
            status,
            labels: new.labels,
            annotations: new.annotations,
            export_allowed: new.export_allowed,
            key_rotation_enabled: new.key_rotation_enabled,
            rotation_period_in_days: new.rotation_period_in_days,
            versions: vec![KeyVersionRecord {
                version: 1,
                created_at: now,
            }],
            created_at: now,
            updated_at: now,
            object_version: 1,
            deletion_scheduled_at: (status == KeyStatus::PendingDeletion)
                .then(|| later(now, KEY_DELETION_GRACE)),
            deleted: false,
        });
        Ok(self.keys.last().expect("just pushed"))
    }

    /// The KMS lifecycle moves (reference §6): `disable` active→disabled, `enable` disabled→active,
    /// `delete` active/disabled→pending_deletion (30 days), `cancel-deletion` back to active. A key
    /// in another state than `from` is 400 (UNCONFIRMED).
    pub fn key_transition(
        &mut self,
        region: &str,
        organisation: &str,
        id: &str,
        from: &[KeyStatus],
        to: KeyStatus,
        now: Timestamp,
    ) -> Result<&KeyRecord, ApiError> {
        let key = self.key_mut(region, organisation, id)?;
        if !from.contains(&key.status) {
            return Err(ApiError::bad_request(format!(
                "KMS key {id} is {}; it cannot become {}",
                key.status.as_str(),
                to.as_str()
            )));
        }
        set_key_status(key, to, now);
        Ok(key)
    }

    /// The admin API's unconditional state change, by identity in any region and organisation.
    pub fn force_key_status(
        &mut self,
        identity: &str,
        to: KeyStatus,
        now: Timestamp,
    ) -> Result<&KeyRecord, ApiError> {
        let key = self
            .keys
            .iter_mut()
            .find(|k| !k.deleted && k.answers_to(identity))
            .ok_or_else(|| ApiError::not_found(format!("KMS key {identity} not found")))?;
        set_key_status(key, to, now);
        Ok(key)
    }

    pub fn rotate_key(
        &mut self,
        region: &str,
        organisation: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<&KeyRecord, ApiError> {
        let key = self.key_mut(region, organisation, id)?;
        if key.status != KeyStatus::Active {
            return Err(ApiError::bad_request(format!(
                "KMS key {id} is {}",
                key.status.as_str()
            )));
        }
        let next = key.latest_version() + 1;
        key.versions.push(KeyVersionRecord {
            version: next,
            created_at: now,
        });
        key.updated_at = now;
        key.object_version += 1;
        Ok(key)
    }

    pub fn set_key_rotation(
        &mut self,
        region: &str,
        organisation: &str,
        id: &str,
        enabled: Option<bool>,
        days: Option<u32>,
        now: Timestamp,
    ) -> Result<&KeyRecord, ApiError> {
        if let Some(days) = days
            && !(1..=3650).contains(&days)
        {
            return Err(ApiError::bad_request(
                "rotationPeriodInDays must be from 1 to 3650",
            ));
        }
        let key = self.key_mut(region, organisation, id)?;
        if let Some(enabled) = enabled {
            key.key_rotation_enabled = enabled;
        }
        if days.is_some() {
            key.rotation_period_in_days = days;
        }
        key.updated_at = now;
        key.object_version += 1;
        Ok(key)
    }

    /// A value operation needs the bound key active (reference §6: 400 otherwise). Only value
    /// operations check it: get, list, browse, policy, destroy and delete work whatever the key's state
    /// (UNCONFIRMED for destroy, delete and policy).
    fn check_value_key(&self, secret: &SecretRecord) -> Result<&KeyRecord, ApiError> {
        let key = self.bound_key(secret).ok_or_else(|| {
            ApiError::bad_request(format!("KMS key {} no longer exists", secret.kms_key))
        })?;
        if key.deleted {
            return Err(ApiError::bad_request(format!(
                "KMS key {} has been deleted",
                key.identity
            )));
        }
        match key.status {
            KeyStatus::Active => Ok(key),
            KeyStatus::Disabled => Err(ApiError::bad_request(format!(
                "KMS key {} is disabled",
                key.identity
            ))),
            KeyStatus::PendingDeletion => Err(ApiError::bad_request(format!(
                "KMS key {} is pending deletion",
                key.identity
            ))),
        }
    }

    // ---- secrets ----

    pub fn secret(&self, scope: &Scope, path: &str) -> Result<&SecretRecord, ApiError> {
        self.secrets
            .get(&(scope.clone(), path.to_string()))
            .ok_or_else(|| ApiError::not_found(format!("secret {path} not found")))
    }

    fn secret_mut(&mut self, scope: &Scope, path: &str) -> Result<&mut SecretRecord, ApiError> {
        self.secrets
            .get_mut(&(scope.clone(), path.to_string()))
            .ok_or_else(|| ApiError::not_found(format!("secret {path} not found")))
    }

    /// Creates the secret and version 1 (reference §3.3). The key must exist in the region (404; a
    /// key of another region is not found, UNCONFIRMED), be symmetric (400, UNCONFIRMED) and active
    /// (400, UNCONFIRMED).
    pub fn create_secret(
        &mut self,
        scope: &Scope,
        new: NewSecret,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        self.check_kms_available(&scope.region)?;
        let key = self.key(&scope.region, &scope.organisation, &new.kms_key)?;
        if !key.is_symmetric() {
            return Err(ApiError::bad_request(format!(
                "KMS key {} is a {} key; secrets need a symmetric encryption key",
                key.identity, key.key_type
            )));
        }
        if key.status != KeyStatus::Active {
            return Err(ApiError::bad_request(format!(
                "KMS key {} is {}",
                key.identity,
                key.status.as_str()
            )));
        }
        let (kms_key, key_version) = (key.identity.clone(), key.latest_version());
        let id = (scope.clone(), new.path.clone());
        if self.secrets.contains_key(&id) {
            return Err(ApiError::conflict(format!(
                "secret {} already exists",
                new.path
            )));
        }
        let record = SecretRecord {
            scope: scope.clone(),
            path: new.path,
            description: new.description,
            labels: new.labels,
            annotations: new.annotations,
            kms_key,
            created_at: now,
            updated_at: now,
            last_accessed_at: None,
            object_version: 1,
            next_version: 2,
            access_policy: new.access_policy,
            versions: vec![new_version(1, new.value, key_version, now)],
        };
        self.secrets.insert(id, record);
        Ok(())
    }

    /// `putSecretValue`: the next version becomes current; older ones stay readable.
    pub fn put_value(
        &mut self,
        scope: &Scope,
        path: &str,
        value: StoredValue,
        now: Timestamp,
    ) -> Result<u32, ApiError> {
        let secret = self.secret(scope, path)?;
        self.check_kms_available(&scope.region)?;
        let key_version = self.check_value_key(secret)?.latest_version();
        let secret = self.secret_mut(scope, path)?;
        let number = secret.next_version;
        secret.next_version += 1;
        secret
            .versions
            .push(new_version(number, value, key_version, now));
        // UNCONFIRMED: a new version moves the secret's `updatedAt`.
        secret.updated_at = now;
        secret.object_version += 1;
        Ok(number)
    }

    /// `getSecretValue`: the current version, or `version` if it is active. A version that never
    /// existed is 404; a destroyed one 400 (UNCONFIRMED, reference §8); no active version at all 404
    /// (UNCONFIRMED).
    pub fn reveal(
        &mut self,
        scope: &Scope,
        path: &str,
        version: Option<u32>,
        now: Timestamp,
    ) -> Result<Revealed, ApiError> {
        let secret = self.secret(scope, path)?;
        self.check_kms_available(&scope.region)?;
        self.check_value_key(secret)?;
        let number = match version {
            Some(n) => n,
            None => match secret.current_version() {
                0 => {
                    return Err(ApiError::not_found(format!(
                        "secret {path} has no active version"
                    )));
                }
                n => n,
            },
        };
        let kms_key = secret.kms_key.clone();
        let secret = self.secret_mut(scope, path)?;
        let record = secret
            .versions
            .iter_mut()
            .find(|v| v.version == number)
            .ok_or_else(|| ApiError::not_found(format!("secret version {number} not found")))?;
        let value = match (&record.status, &record.value) {
            (VersionStatus::Active, Some(value)) => value.clone(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "secret version {number} is destroyed"
                )));
            }
        };
        record.last_accessed_at = Some(now);
        let key_version = record.key_version;
        secret.last_accessed_at = Some(now);
        Ok(Revealed {
            version: number,
            value,
            kms_key,
            key_version,
        })
    }

    /// `destroySecretVersion`: the value is dropped, the entry stays. A version that never existed is
    /// 404 (UNCONFIRMED). Destroying a destroyed version again succeeds (UNCONFIRMED), and so does
    /// destroying the current one (UNCONFIRMED): the `current` stage moves to the highest active
    /// version left.
    pub fn destroy_version(
        &mut self,
        scope: &Scope,
        path: &str,
        version: u32,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let secret = self.secret_mut(scope, path)?;
        let record = secret
            .versions
            .iter_mut()
            .find(|v| v.version == version)
            .ok_or_else(|| ApiError::not_found(format!("secret version {version} not found")))?;
        if record.status == VersionStatus::Destroyed {
            return Ok(());
        }
        record.status = VersionStatus::Destroyed;
        record.value = None;
        record.destroyed_at = Some(now);
        secret.updated_at = now;
        secret.object_version += 1;
        Ok(())
    }

    /// Removes the secret and every version; the path is free again at once (reference §8).
    pub fn delete_secret(&mut self, scope: &Scope, path: &str) -> Result<(), ApiError> {
        self.secrets
            .remove(&(scope.clone(), path.to_string()))
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found(format!("secret {path} not found")))
    }

    /// Replaces (or with `None` clears) the access policy.
    pub fn set_policy(
        &mut self,
        scope: &Scope,
        path: &str,
        policy: Option<Value>,
        now: Timestamp,
    ) -> Result<&SecretRecord, ApiError> {
        let secret = self.secret_mut(scope, path)?;
        secret.access_policy = policy;
        secret.updated_at = now;
        secret.object_version += 1;
        Ok(secret)
    }

    fn in_scope<'s>(&'s self, scope: &Scope) -> impl Iterator<Item = &'s SecretRecord> + use<'s> {
        let scope = scope.clone();
        self.secrets
            .range((scope.clone(), String::new())..)
            .take_while(move |((s, _), _)| *s == scope)
            .map(|(_, v)| v)
    }

    /// Flat list: every secret whose path starts with `prefix` (a plain string prefix, UNCONFIRMED),
    /// in path order (UNCONFIRMED).
    pub fn list(&self, scope: &Scope, prefix: &str) -> Vec<&SecretRecord> {
        self.in_scope(scope)
            .filter(|s| s.path.starts_with(prefix))
            .collect()
    }

    /// One level under `dir` (with or without its trailing `/`, both accepted).
    pub fn browse(&self, scope: &Scope, dir: &str) -> (String, Browse<'_>) {
        let dir = if dir.ends_with('/') {
            dir.to_string()
        } else {
            format!("{dir}/")
        };
        let mut prefixes = BTreeSet::new();
        let mut secrets = Vec::new();
        for s in self.in_scope(scope) {
            let Some(rest) = s.path.strip_prefix(&dir) else {
                continue;
            };
            match rest.split_once('/') {
                None => secrets.push(s),
                Some((child, _)) => {
                    prefixes.insert(format!("{dir}{child}/"));
                }
            }
        }
        let browse = Browse {
            prefixes: prefixes.into_iter().collect(),
            secrets,
        };
        (dir, browse)
    }

    // ---- time ----

    pub fn sweep_due(&self, now: Timestamp) -> bool {
        self.keys.iter().any(|k| due(k, now))
    }

    /// Keys past their deletion date are gone for good.
    pub fn sweep(&mut self, now: Timestamp) -> bool {
        let mut changed = false;
        for key in self.keys.iter_mut().filter(|k| due(k, now)) {
            key.deleted = true;
            changed = true;
        }
        changed
    }
}

/// `now + by`, or the end of time.
pub fn later(now: Timestamp, by: SignedDuration) -> Timestamp {
    now.saturating_add(by).unwrap_or(Timestamp::MAX)
}

fn due(key: &KeyRecord, now: Timestamp) -> bool {
    !key.deleted
        && key.status == KeyStatus::PendingDeletion
        && key.deletion_scheduled_at.is_some_and(|at| at <= now)
}

fn set_key_status(key: &mut KeyRecord, to: KeyStatus, now: Timestamp) {
    key.status = to;
    key.deletion_scheduled_at =
        (to == KeyStatus::PendingDeletion).then(|| later(now, KEY_DELETION_GRACE));
    key.updated_at = now;
    key.object_version += 1;
}

fn new_version(number: u32, value: StoredValue, key_version: u32, now: Timestamp) -> VersionRecord {
    VersionRecord {
        version: number,
        status: VersionStatus::Active,
        value_format: value.format().to_string(),
        value: Some(value),
        created_at: now,
        last_accessed_at: None,
        destroyed_at: None,
        key_version,
    }
}

/// A slug from a name: lower case, runs of other characters as one `-`.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret_value::SecretValue;

    fn scope(project: Option<&str>) -> Scope {
        Scope {
            region: "nl-01".into(),
            organisation: "org".into(),
            project: project.map(str::to_string),
        }
    }

    fn store(now: Timestamp) -> Account {
        let mut s = Account::new(["nl-01".to_string()]);
        s.create_key(
            NewKey {
                identity: Some("k1".into()),
                name: "main".into(),
                region: "nl-01".into(),
                key_type: "aes256-gcm96".into(),
                ..NewKey::default()
            },
            now,
        )
        .unwrap();
        s
    }

    fn text(v: &str) -> StoredValue {
        StoredValue::String(SecretValue::from(v))
    }

    fn new_secret(path: &str) -> NewSecret {
        NewSecret {
            path: path.into(),
            kms_key: "k1".into(),
            description: String::new(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            value: text("v1"),
            access_policy: None,
        }
    }

    #[test]
    fn versions_count_up_and_destroyed_ones_stay_listed_but_unreadable() {
        let now: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
        let mut s = store(now);
        let sc = scope(None);
        s.create_secret(&sc, new_secret("/a/b"), now).unwrap();
        assert_eq!(s.put_value(&sc, "/a/b", text("v2"), now).unwrap(), 2);
        assert_eq!(s.reveal(&sc, "/a/b", None, now).unwrap().version, 2);
        s.destroy_version(&sc, "/a/b", 2, now).unwrap();
        s.destroy_version(&sc, "/a/b", 2, now).unwrap();
        assert_eq!(s.secret(&sc, "/a/b").unwrap().current_version(), 1);
        assert_eq!(
            s.reveal(&sc, "/a/b", Some(2), now).err().unwrap().status(),
            400
        );
        assert_eq!(
            s.reveal(&sc, "/a/b", Some(9), now).err().unwrap().status(),
            404
        );
        assert_eq!(
            s.put_value(&sc, "/a/b", text("v3"), now).unwrap(),
            3,
            "never reused"
        );
        assert_eq!(s.secret(&sc, "/a/b").unwrap().versions.len(), 3);
        assert_eq!(
            s.create_secret(&sc, new_secret("/a/b"), now)
                .err()
                .unwrap()
                .status(),
            409
        );
        assert_eq!(
            s.secret(&scope(Some("p")), "/a/b").err().unwrap().status(),
            404,
            "another scope sees nothing"
        );
    }

    #[test]
    fn key_states_block_values_but_not_metadata_and_deletion_ends_after_30_days() {
        let now: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
        let mut s = store(now);
        let sc = scope(None);
        s.create_secret(&sc, new_secret("/x"), now).unwrap();
        let active = [KeyStatus::Active];
        s.key_transition("nl-01", "org", "k1", &active, KeyStatus::Disabled, now)
            .unwrap();
        assert_eq!(s.reveal(&sc, "/x", None, now).err().unwrap().status(), 400);
        assert_eq!(
            s.put_value(&sc, "/x", text("v"), now).unwrap_err().status(),
            400
        );
        assert!(s.secret(&sc, "/x").is_ok());
        assert_eq!(
            s.key_transition("nl-01", "org", "k1", &active, KeyStatus::Disabled, now)
                .err()
                .unwrap()
                .status(),
            400
        );
        let live = [KeyStatus::Active, KeyStatus::Disabled];
        s.key_transition(
            "nl-01",
            "org",
            "main",
            &live,
            KeyStatus::PendingDeletion,
            now,
        )
        .unwrap();
        assert!(!s.sweep_due(now));
        let later = later(now, KEY_DELETION_GRACE);
        assert!(s.sweep_due(later) && s.sweep(later));
        assert_eq!(s.key("nl-01", "org", "k1").err().unwrap().status(), 404);
        assert_eq!(
            s.reveal(&sc, "/x", None, later).err().unwrap().status(),
            400
        );
        s.set_kms_available("nl-01", false);
        assert_eq!(
            s.reveal(&sc, "/x", None, later).err().unwrap().status(),
            503
        );
    }

    #[test]
    fn browse_and_list() {
        let now: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
        let mut s = store(now);
        let sc = scope(None);
        for p in [
            "/app/prod/db/password",
            "/app/prod/api",
            "/app/dev/api",
            "/apple",
            "/top",
        ] {
            s.create_secret(&sc, new_secret(p), now).unwrap();
        }
        let (dir, b) = s.browse(&sc, "/app/prod");
        assert_eq!(dir, "/app/prod/");
        assert_eq!(b.prefixes, ["/app/prod/db/"]);
        assert_eq!(
            b.secrets
                .iter()
                .map(|s| s.path.as_str())
                .collect::<Vec<_>>(),
            ["/app/prod/api"]
        );
        let (_, root) = s.browse(&sc, "/");
        assert_eq!(root.prefixes, ["/app/"]);
        assert_eq!(root.secrets.len(), 2);
        let listed: Vec<&str> = s
            .list(&sc, "/app")
            .iter()
            .map(|s| s.path.as_str())
            .collect();
        assert_eq!(
            listed,
            [
                "/app/dev/api",
                "/app/prod/api",
                "/app/prod/db/password",
                "/apple"
            ]
        );
        assert_eq!(s.list(&sc, "/app/").len(), 3);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("My Key  (prod)"), "my-key-prod");
    }
}
