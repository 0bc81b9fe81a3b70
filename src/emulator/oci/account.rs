//! The OCI emulator's state and every operation on it: pure, clock-injected, one method per API
//! operation (plus seeding and the admin's key switch). Handlers parse, call one of these, render.
//!
//! Access: every resource belongs to a compartment, every compartment to a tenancy; a caller (the
//! tenancy of the signing key) that asks for another tenancy's resource gets the same 404 as for a
//! missing one, as OCI answers.
//!
//! Choices where the reference says UNCONFIRMED are marked so at the rule that makes them.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::errors::OciError;
use super::model::{
    ApiKeyRecord, BundleVersionSummaryView, BundleView, CompartmentRecord, KeyRecord, KeyState,
    KeyVersionRecord, KeyVersionState, KeyVersionSummaryView, KeyVersionView, KeyView, Roles,
    SecretRecord, SecretRule, SecretState, SecretSummaryView, SecretTransition,
    SecretVersionSummaryView, SecretVersionView, SecretView, VaultRecord, VersionRecord,
    expiry_interval_days,
};

/// How long a retry token is remembered (the SDK documents 24 hours).
pub const RETRY_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

/// The rules that are numbers, with the reference's values as defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Limits {
    /// How long a secret shows CREATING/UPDATING/... after a write, refusing other writes with 409
    /// IncorrectState; a key shows UPDATING after a KMS write. 0 turns the window off.
    pub updating_window_ms: u64,
    /// Versions in active use per secret (not pending deletion). The 31st gets 400 LimitExceeded.
    pub max_versions_in_use: usize,
    /// Versions pending deletion per secret.
    pub max_versions_pending_deletion: usize,
    /// Largest decoded secret content (UNCONFIRMED: 25 KB, the documented bundle size).
    pub max_content_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            updating_window_ms: 200,
            max_versions_in_use: 30,
            max_versions_pending_deletion: 30,
            max_content_bytes: 25 * 1024,
        }
    }
}

impl Limits {
    fn window_end(&self, now: Timestamp) -> Option<Timestamp> {
        (self.updating_window_ms > 0)
            .then(|| now + SignedDuration::from_millis(self.updating_window_ms as i64))
    }
}

// ---- request bodies ----

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentBody {
    pub content_type: String,
    pub content: Option<String>,
    pub name: Option<String>,
    pub stage: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSecretBody {
    pub compartment_id: String,
    pub vault_id: String,
    pub key_id: Option<String>,
    pub secret_name: String,
    pub secret_content: Option<ContentBody>,
    pub secret_rules: Option<Vec<SecretRule>>,
    pub description: Option<String>,
    pub freeform_tags: Option<BTreeMap<String, String>>,
    pub defined_tags: Option<BTreeMap<String, BTreeMap<String, serde_json::Value>>>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateSecretBody {
    pub current_version_number: Option<u64>,
    pub secret_content: Option<ContentBody>,
    pub secret_rules: Option<Vec<SecretRule>>,
    pub description: Option<String>,
    pub freeform_tags: Option<BTreeMap<String, String>>,
    pub defined_tags: Option<BTreeMap<String, BTreeMap<String, serde_json::Value>>>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleDeletionBody {
    pub time_of_deletion: Option<Timestamp>,
}

/// Which version a bundle read picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleSelector {
    Stage(String),
    Number(u64),
    Name(String),
}

/// `limit` and `page` of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paging {
    pub limit: Option<u32>,
    pub page: Option<String>,
    /// `ASC` or `DESC`; `None` for the sort field's default.
    pub sort_order: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretQuery {
    pub compartment_id: String,
    pub vault_id: Option<String>,
    pub name: Option<String>,
    pub lifecycle_state: Option<String>,
    /// `TIMECREATED` (default, newest first) or `NAME` (default A→Z).
    pub sort_by: Option<String>,
    pub paging: Paging,
}

/// A page of items and the token of the next, if any.
pub type Listed<T> = (Vec<T>, Option<String>);

/// UNCONFIRMED: the service's default and largest page sizes; 100 and 1000 here.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Cuts one page out of `items` (already filtered and sorted). Tokens are opaque to clients; here they
/// carry the offset.
fn page<T>(items: Vec<T>, paging: &Paging) -> Result<Listed<T>, OciError> {
    let limit = paging.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(OciError::invalid(format!(
            "limit must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    let offset = match &paging.page {
        None => 0,
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| OciError::invalid("page is not a token this API returned"))?,
    };
    let total = items.len();
    let end = (offset + limit as usize).min(total);
    let next = (end < total).then(|| format!("page-{end}"));
    let items = items
        .into_iter()
        .skip(offset)
        .take(limit as usize)
        .collect();
    Ok((items, next))
}

fn descending(paging: &Paging, default_descending: bool) -> Result<bool, OciError> {
    match paging.sort_order.as_deref() {
        None => Ok(default_descending),
        Some("ASC") => Ok(false),
        Some("DESC") => Ok(true),
        Some(_) => Err(OciError::invalid("sortOrder must be ASC or DESC")),
    }
}

// ---- seeding ----

/// Compartments, vaults, keys and API keys to create (admin endpoint, `--oci-seed` file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Seed {
    /// Each key's tenancy is also a compartment (the root compartment is the tenancy).
    pub api_keys: Vec<ApiKeyRecord>,
    pub compartments: Vec<CompartmentRecord>,
    pub vaults: Vec<VaultSeed>,
    pub keys: Vec<KeySeed>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VaultSeed {
    /// Generated when absent.
    pub id: Option<String>,
    pub compartment_id: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySeed {
    pub id: Option<String>,
    pub vault_id: String,
    pub display_name: Option<String>,
    /// `AES` (default), `RSA` or `ECDSA`.
    pub algorithm: Option<String>,
    /// `ENABLED` (default), `DISABLED`, `PENDING_DELETION`.
    pub lifecycle_state: Option<String>,
}

/// What seeding created: the ids, in the seed's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seeded {
    pub vault_ids: Vec<String>,
    pub key_ids: Vec<String>,
}

/// A remembered answer to a write that carried `opc-retry-token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryRecord {
    /// SHA-256 of method, path and body: "the same request".
    pub request: String,
    pub status: u16,
    pub body: String,
    pub etag: Option<String>,
    pub expires: Timestamp,
}

/// What [`Account::retry_lookup`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryLookup {
    /// No answer remembered: handle the request (and remember a success).
    New,
    /// The same request again: answer what it answered.
    Replay(RetryRecord),
    /// The token was used for another request: 409.
    Conflict,
}

/// A successful answer with its etag.
pub type Tagged<T> = (T, String);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Account {
    region: String,
    api_keys: BTreeMap<String, ApiKeyRecord>,
    compartments: BTreeMap<String, CompartmentRecord>,
    vaults: BTreeMap<String, VaultRecord>,
    keys: BTreeMap<String, KeyRecord>,
    secrets: BTreeMap<String, SecretRecord>,
    retry_tokens: BTreeMap<String, RetryRecord>,
    /// Users whose IAM policies were taken away: still authenticated, allowed nothing.
    denied_users: std::collections::BTreeSet<String>,
}

fn new_ocid(kind: &str, region: &str) -> String {
    format!(
        "ocid1.{kind}.oc1.{region}.amaaaaaa{}",
        uuid::Uuid::new_v4().simple()
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_if_match(if_match: Option<&str>, etag: &str) -> Result<(), OciError> {
    match if_match {
        Some(given) if given != etag && given != "*" => Err(OciError::no_etag_match()),
        _ => Ok(()),
    }
}

/// `timeOfDeletion` within `min_days..=max_days` from now; `None` gives `max_days`.
fn deletion_time(
    given: Option<Timestamp>,
    now: Timestamp,
    min_days: i64,
    max_days: i64,
) -> Result<Timestamp, OciError> {
    let day = SignedDuration::from_hours(24);
    let earliest = now + day * min_days as i32;
    let latest = now + day * max_days as i32;
    match given {
        None => Ok(latest),
        // A minute of slack below the minimum, for a client that computed "now + N days" a moment ago.
        Some(t) if t >= earliest - SignedDuration::from_secs(60) && t <= latest => Ok(t),
        Some(_) => Err(OciError::invalid(format!(
            "timeOfDeletion must be between {min_days} and {max_days} days from now"
        ))),
    }
}

impl Account {
    pub fn new(region: &str) -> Self {
        Self {
            region: region.to_string(),
            ..Self::default()
        }
    }

    pub fn secret_count(&self) -> usize {
        self.secrets.len()
    }

    // ---- identity and seeding ----

    pub fn api_key(&self, key_id: &str) -> Option<&ApiKeyRecord> {
        self.api_keys.get(key_id)
    }

    /// Adds or replaces an API key; its tenancy becomes a (root) compartment.
    pub fn register_api_key(&mut self, key: ApiKeyRecord) {
        self.compartments
            .entry(key.tenancy.clone())
            .or_insert_with(|| CompartmentRecord {
                id: key.tenancy.clone(),
                tenancy_id: key.tenancy.clone(),
            });
        self.api_keys.insert(key.key_id(), key);
    }

    /// Creates what the seed lists, in order (API keys, compartments, vaults, keys). Existing ids keep
    /// their state and take only what the seed states, so seeding twice is harmless.
    pub fn seed(&mut self, seed: Seed, now: Timestamp) -> Result<Seeded, String> {
        for key in seed.api_keys {
            crate::provider::oci::signing::public_key_from_pem(&key.public_key)
                .map_err(|e| format!("API key {}: {e}", key.key_id()))?;
            self.register_api_key(key);
        }
        for c in seed.compartments {
            self.compartments.insert(c.id.clone(), c);
        }
        let mut out = Seeded::default();
        for v in seed.vaults {
            if !self.compartments.contains_key(&v.compartment_id) {
                return Err(format!("vault: unknown compartment {}", v.compartment_id));
            }
            let id = v.id.unwrap_or_else(|| new_ocid("vault", &self.region));
            let vault = self
                .vaults
                .entry(id.clone())
                .or_insert_with(|| VaultRecord {
                    id: id.clone(),
                    compartment_id: v.compartment_id,
                    display_name: "vault".into(),
                    time_created: now,
                });
            if let Some(name) = v.display_name {
                vault.display_name = name;
            }
            out.vault_ids.push(id);
        }
        for k in seed.keys {
            let vault = self
                .vaults
                .get(&k.vault_id)
                .ok_or_else(|| format!("key: unknown vault {}", k.vault_id))?;
            let state = match k.lifecycle_state.as_deref() {
                None => None,
                Some(s) => Some(
                    KeyState::parse(s)
                        .filter(|s| *s != KeyState::Deleted)
                        .ok_or_else(|| format!("key: lifecycleState {s:?} cannot be seeded"))?,
                ),
            };
            let id = k.id.unwrap_or_else(|| new_ocid("key", &self.region));
            // Seeding an existing key (a restart on a state file with the same seed) changes only
            // what the seed states, so a key the admin disabled stays disabled.
            if let Some(existing) = self.keys.get_mut(&id) {
                if let Some(state) = state {
                    existing.state = state;
                    existing.revision += 1;
                }
                if let Some(name) = k.display_name {
                    existing.display_name = name;
                }
                out.key_ids.push(id);
                continue;
            }
            let state = state.unwrap_or(KeyState::Enabled);
            let algorithm = k.algorithm.unwrap_or_else(|| "AES".into());
            let length = match algorithm.as_str() {
                "AES" => 32,
                "RSA" => 256,
                "ECDSA" => 32,
                other => return Err(format!("key: unknown algorithm {other}")),
            };
            let version = KeyVersionRecord {
                id: new_ocid("keyversion", &self.region),
                state: KeyVersionState::Enabled,
                time_created: now,
                time_of_deletion: None,
                revision: 1,
            };
            let key = KeyRecord {
                id: id.clone(),
                compartment_id: vault.compartment_id.clone(),
                vault_id: vault.id.clone(),
                display_name: k.display_name.unwrap_or_else(|| "key".into()),
                algorithm,
                length,
                protection_mode: "SOFTWARE".into(),
                state,
                updating_until: None,
                time_created: now,
                time_of_deletion: (state == KeyState::PendingDeletion)
                    .then(|| now + SignedDuration::from_hours(24 * 30)),
                current_version: version.id.clone(),
                versions: vec![version],
                revision: 1,
            };
            self.keys.insert(id.clone(), key);
            out.key_ids.push(id);
        }
        Ok(out)
    }

    /// The admin's policy switch: a user whose policies are removed keeps a valid API key but may
    /// do nothing, and OCI answers every call of theirs with the 404 it gives for a missing
    /// resource.
    pub fn set_user_allowed(&mut self, user: &str, allowed: bool) {
        if allowed {
            self.denied_users.remove(user);
        } else {
            self.denied_users.insert(user.to_string());
        }
    }

    pub fn user_allowed(&self, user: &str) -> bool {
        !self.denied_users.contains(user)
    }

    /// The admin's key switch: ENABLED, DISABLED or PENDING_DELETION (with a deletion time).
    pub fn set_key_state(
        &mut self,
        key_id: &str,
        state: KeyState,
        time_of_deletion: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<KeyView, String> {
        let key = self
            .keys
            .get_mut(key_id)
            .ok_or_else(|| format!("unknown key {key_id}"))?;
        key.state = state;
        key.updating_until = None;
        key.time_of_deletion = match state {
            KeyState::PendingDeletion => {
                Some(time_of_deletion.unwrap_or(now + SignedDuration::from_hours(24 * 30)))
            }
            KeyState::Deleted => Some(now),
            _ => None,
        };
        key.revision += 1;
        Ok(key.view(now))
    }

    /// The tenancy a compartment belongs to.
    fn tenancy_of(&self, compartment_id: &str) -> Option<&str> {
        self.compartments
            .get(compartment_id)
            .map(|c| c.tenancy_id.as_str())
    }

    fn owns(&self, caller: &str, compartment_id: &str) -> bool {
        self.tenancy_of(compartment_id) == Some(caller)
    }

    fn secret(&self, caller: &str, id: &str) -> Result<&SecretRecord, OciError> {
        self.secrets
            .get(id)
            .filter(|s| self.owns(caller, &s.compartment_id))
            .ok_or_else(OciError::not_found)
    }

    fn secret_mut(&mut self, caller: &str, id: &str) -> Result<&mut SecretRecord, OciError> {
        self.secret(caller, id)?;
        Ok(self.secrets.get_mut(id).expect("checked above"))
    }

    fn key(&self, caller: &str, id: &str) -> Result<&KeyRecord, OciError> {
        self.keys
            .get(id)
            .filter(|k| self.owns(caller, &k.compartment_id))
            .ok_or_else(OciError::not_found)
    }

    fn key_mut(&mut self, caller: &str, id: &str) -> Result<&mut KeyRecord, OciError> {
        self.key(caller, id)?;
        Ok(self.keys.get_mut(id).expect("checked above"))
    }

    /// The key a secret write encrypts with must be a symmetric, ENABLED key of the secret's vault.
    fn usable_key(&self, key_id: &str, vault_id: &str) -> Result<(), OciError> {
        let key = self
            .keys
            .get(key_id)
            .filter(|k| k.vault_id == vault_id)
            .ok_or_else(|| {
                OciError::new(
                    404,
                    "RelatedResourceNotAuthorizedOrNotFound",
                    format!("The key {key_id} was not found in the vault."),
                )
            })?;
        if key.algorithm != "AES" {
            return Err(OciError::invalid(
                "The key must be a symmetric (AES) master encryption key.",
            ));
        }
        if key.state != KeyState::Enabled {
            return Err(OciError::invalid(format!(
                "The master encryption key {key_id} is {}; secrets need an ENABLED key.",
                key.state.as_str()
            )));
        }
        Ok(())
    }

    // ---- vault secrets management ----

    pub fn create_secret(
        &mut self,
        caller: &str,
        body: CreateSecretBody,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<Tagged<SecretView>, OciError> {
        if !self.owns(caller, &body.compartment_id) {
            return Err(OciError::not_found());
        }
        let vault = self
            .vaults
            .get(&body.vault_id)
            .filter(|v| self.owns(caller, &v.compartment_id))
            .ok_or_else(|| {
                OciError::new(
                    404,
                    "RelatedResourceNotAuthorizedOrNotFound",
                    format!("The vault {} was not found.", body.vault_id),
                )
            })?;
        let key_id = body.key_id.ok_or_else(|| OciError::missing("keyId"))?;
        let name = body.secret_name.trim().to_string();
        if name.is_empty() || name.len() > 255 {
            return Err(OciError::invalid("secretName must be 1 to 255 characters."));
        }
        // The name stays reserved while a secret is PENDING_DELETION (reference §2).
        if let Some(taken) = self
            .secrets
            .values()
            .find(|s| s.vault_id == vault.id && s.name == name && s.state != SecretState::Deleted)
        {
            let pending = match taken.settled(now) {
                Ok(SecretState::PendingDeletion) | Err(SecretTransition::SchedulingDeletion) => {
                    " (that secret is pending deletion; the name stays reserved until it is deleted)"
                }
                _ => "",
            };
            return Err(OciError::invalid(format!(
                "A secret with the name {name} already exists in this vault{pending}."
            )));
        }
        self.usable_key(&key_id, &vault.id)?;
        let content = body
            .secret_content
            .ok_or_else(|| OciError::missing("secretContent"))?;
        let rules = validate_rules(body.secret_rules.unwrap_or_default())?;
        let (stage_pending, version) = parse_content(content, 1, now, limits)?;
        // UNCONFIRMED: the first version cannot wait as PENDING (it is CURRENT and LATEST).
        if stage_pending {
            return Err(OciError::invalid(
                "The first version of a secret must be CURRENT.",
            ));
        }
        let id = new_ocid("vaultsecret", &self.region);
        let record = SecretRecord {
            id: id.clone(),
            compartment_id: body.compartment_id,
            vault_id: vault.id.clone(),
            key_id,
            name,
            description: body.description,
            freeform_tags: body.freeform_tags.unwrap_or_default(),
            defined_tags: body.defined_tags.unwrap_or_default(),
            metadata: body.metadata,
            rules,
            state: SecretState::Active,
            transition: limits
                .window_end(now)
                .map(|until| (SecretTransition::Creating, until)),
            time_created: now,
            time_of_deletion: None,
            versions: vec![version],
            next_version: 2,
            roles: Roles {
                current: 1,
                ..Roles::default()
            },
            deleted_content: Vec::new(),
            revision: 1,
        };
        let answer = (record.view(now), record.etag());
        self.secrets.insert(id, record);
        Ok(answer)
    }

    pub fn get_secret(
        &self,
        caller: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<Tagged<SecretView>, OciError> {
        let s = self.secret(caller, id)?;
        Ok((s.view(now), s.etag()))
    }

    /// A write on a secret needs it ACTIVE and outside another write's window.
    fn writable(s: &SecretRecord, now: Timestamp) -> Result<(), OciError> {
        match s.settled(now) {
            Ok(SecretState::Active) => Ok(()),
            Ok(state) => Err(OciError::incorrect_state(format!(
                "The secret is in lifecycle state {}; it must be ACTIVE.",
                state.as_str()
            ))),
            Err(t) => Err(OciError::incorrect_state(format!(
                "The secret is in lifecycle state {}; try again when it is ACTIVE.",
                t.as_str()
            ))),
        }
    }

    pub fn update_secret(
        &mut self,
        caller: &str,
        id: &str,
        body: UpdateSecretBody,
        if_match: Option<&str>,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<Tagged<SecretView>, OciError> {
        let parts = [
            body.secret_content.is_some(),
            body.current_version_number.is_some(),
            body.secret_rules.is_some(),
        ];
        if parts.iter().filter(|p| **p).count() > 1 {
            return Err(OciError::invalid(
                "secretContent, currentVersionNumber and secretRules cannot be combined in one update.",
            ));
        }
        let nothing = !parts.iter().any(|p| *p)
            && body.description.is_none()
            && body.freeform_tags.is_none()
            && body.defined_tags.is_none()
            && body.metadata.is_none();
        if nothing {
            return Err(OciError::invalid("The update changes nothing."));
        }
        let s = self.secret(caller, id)?;
        check_if_match(if_match, &s.etag())?;
        Self::writable(s, now)?;
        let (key_id, vault_id) = (s.key_id.clone(), s.vault_id.clone());
        let mut new_version = None;
        if let Some(content) = body.secret_content {
            self.usable_key(&key_id, &vault_id)?;
            let s = self.secret(caller, id)?;
            let in_use = s
                .versions
                .iter()
                .filter(|v| v.time_of_deletion.is_none())
                .count();
            if in_use >= limits.max_versions_in_use {
                // UNCONFIRMED: the answer for a 31st version in use.
                return Err(OciError::limit(format!(
                    "The secret already has {in_use} versions in use (the limit is {}); schedule \
                     the deletion of DEPRECATED versions first.",
                    limits.max_versions_in_use
                )));
            }
            let (pending, version) = parse_content(content, s.next_version, now, limits)?;
            if let Some(name) = &version.name
                && s.versions.iter().any(|v| v.name.as_ref() == Some(name))
            {
                return Err(OciError::invalid(format!(
                    "The version name {name} already exists for this secret."
                )));
            }
            if let Some(also_deleted) = s.reuse_rule() {
                let reused = s
                    .versions
                    .iter()
                    .any(|v| v.content_sha256 == version.content_sha256)
                    || (also_deleted && s.deleted_content.contains(&version.content_sha256));
                if reused {
                    return Err(OciError::invalid(
                        "The secret's reuse rule forbids content that an earlier version had.",
                    ));
                }
            }
            new_version = Some((pending, version));
        }
        if let Some(n) = body.current_version_number {
            let s = self.secret(caller, id)?;
            match s.version(n) {
                None => {
                    return Err(OciError::invalid(format!(
                        "Secret version {n} does not exist."
                    )));
                }
                Some(v) if v.time_of_deletion.is_some() => {
                    return Err(OciError::invalid(format!(
                        "Secret version {n} is pending deletion; cancel the deletion first."
                    )));
                }
                Some(_) => {}
            }
        }
        let rules = body.secret_rules.map(validate_rules).transpose()?;
        let s = self.secret_mut(caller, id)?;
        if let Some((pending, version)) = new_version {
            s.roles = s.roles.upload(version.number, pending);
            s.next_version = version.number + 1;
            s.versions.push(version);
        }
        if let Some(n) = body.current_version_number {
            s.roles = s.roles.promote(n);
        }
        if let Some(rules) = rules {
            s.rules = rules;
        }
        if let Some(d) = body.description {
            s.description = Some(d);
        }
        if let Some(t) = body.freeform_tags {
            s.freeform_tags = t;
        }
        if let Some(t) = body.defined_tags {
            s.defined_tags = t;
        }
        if let Some(m) = body.metadata {
            s.metadata = Some(m);
        }
        s.state = SecretState::Active;
        s.transition = limits
            .window_end(now)
            .map(|until| (SecretTransition::Updating, until));
        s.revision += 1;
        Ok((s.view(now), s.etag()))
    }

    pub fn list_secrets(
        &self,
        caller: &str,
        query: &SecretQuery,
        now: Timestamp,
    ) -> Result<Listed<SecretSummaryView>, OciError> {
        if query.compartment_id.is_empty() {
            return Err(OciError::missing("compartmentId"));
        }
        if !self.owns(caller, &query.compartment_id) {
            return Err(OciError::not_found());
        }
        let by_name = match query.sort_by.as_deref() {
            None | Some("TIMECREATED") => false,
            Some("NAME") => true,
            Some(_) => return Err(OciError::invalid("sortBy must be TIMECREATED or NAME")),
        };
        // TIMECREATED defaults to newest first, NAME to A→Z (the API's documented defaults).
        let desc = descending(&query.paging, !by_name)?;
        let mut found: Vec<&SecretRecord> = self
            .secrets
            .values()
            .filter(|s| s.compartment_id == query.compartment_id)
            .filter(|s| query.vault_id.as_ref().is_none_or(|v| &s.vault_id == v))
            .filter(|s| query.name.as_ref().is_none_or(|n| &s.name == n))
            .filter(|s| {
                query
                    .lifecycle_state
                    .as_deref()
                    .is_none_or(|st| s.lifecycle_state(now) == st)
            })
            .collect();
        found.sort_by(|a, b| {
            let order = if by_name {
                a.name.cmp(&b.name)
            } else {
                a.time_created.cmp(&b.time_created)
            };
            order.then_with(|| a.id.cmp(&b.id))
        });
        if desc {
            found.reverse();
        }
        page(
            found.into_iter().map(|s| s.summary(now)).collect(),
            &query.paging,
        )
    }

    pub fn list_secret_versions(
        &self,
        caller: &str,
        id: &str,
        sort_by: Option<&str>,
        paging: &Paging,
    ) -> Result<Listed<SecretVersionSummaryView>, OciError> {
        let s = self.secret(caller, id)?;
        if sort_by.is_some_and(|b| b != "VERSION_NUMBER") {
            return Err(OciError::invalid("sortBy must be VERSION_NUMBER"));
        }
        // UNCONFIRMED: the default order; newest first here.
        let desc = descending(paging, true)?;
        let mut versions: Vec<&VersionRecord> = s.versions.iter().collect();
        if desc {
            versions.reverse();
        }
        page(
            versions.into_iter().map(|v| s.version_summary(v)).collect(),
            paging,
        )
    }

    pub fn get_secret_version(
        &self,
        caller: &str,
        id: &str,
        n: u64,
    ) -> Result<SecretVersionView, OciError> {
        let s = self.secret(caller, id)?;
        let v = s.version(n).ok_or_else(OciError::not_found)?;
        Ok(s.version_view(v))
    }

    pub fn schedule_secret_deletion(
        &mut self,
        caller: &str,
        id: &str,
        time_of_deletion: Option<Timestamp>,
        if_match: Option<&str>,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<(), OciError> {
        let s = self.secret(caller, id)?;
        check_if_match(if_match, &s.etag())?;
        Self::writable(s, now)?;
        // The secret's deletion window is 1 to 30 days, 30 by default (reference §2).
        let when = deletion_time(time_of_deletion, now, 1, 30)?;
        let s = self.secret_mut(caller, id)?;
        s.state = SecretState::PendingDeletion;
        s.transition = limits
            .window_end(now)
            .map(|until| (SecretTransition::SchedulingDeletion, until));
        s.time_of_deletion = Some(when);
        s.revision += 1;
        Ok(())
    }

    pub fn cancel_secret_deletion(
        &mut self,
        caller: &str,
        id: &str,
        if_match: Option<&str>,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<(), OciError> {
        let s = self.secret(caller, id)?;
        check_if_match(if_match, &s.etag())?;
        match s.settled(now) {
            Ok(SecretState::PendingDeletion) => {}
            Ok(state) => {
                return Err(OciError::incorrect_state(format!(
                    "The secret is in lifecycle state {}; only a secret PENDING_DELETION can be \
                     restored.",
                    state.as_str()
                )));
            }
            Err(t) => {
                return Err(OciError::incorrect_state(format!(
                    "The secret is in lifecycle state {}; try again later.",
                    t.as_str()
                )));
            }
        }
        let s = self.secret_mut(caller, id)?;
        s.state = SecretState::Active;
        s.transition = limits
            .window_end(now)
            .map(|until| (SecretTransition::CancellingDeletion, until));
        s.time_of_deletion = None;
        s.revision += 1;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn schedule_secret_version_deletion(
        &mut self,
        caller: &str,
        id: &str,
        n: u64,
        time_of_deletion: Option<Timestamp>,
        if_match: Option<&str>,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<(), OciError> {
        let s = self.secret(caller, id)?;
        check_if_match(if_match, &s.etag())?;
        Self::writable(s, now)?;
        let v = s.version(n).ok_or_else(OciError::not_found)?;
        if v.time_of_deletion.is_some() {
            return Err(OciError::incorrect_state(format!(
                "Secret version {n} is already pending deletion."
            )));
        }
        // Only a DEPRECATED version can be scheduled (reference §2); UNCONFIRMED: 409 IncorrectState.
        if !s.roles.is_deprecated(n) {
            return Err(OciError::incorrect_state(format!(
                "Secret version {n} holds the stages {}; only a DEPRECATED version can be \
                 scheduled for deletion (it must be deprecated first).",
                s.stages_of(n).join(", ")
            )));
        }
        let pending = s
            .versions
            .iter()
            .filter(|v| v.time_of_deletion.is_some())
            .count();
        if pending >= limits.max_versions_pending_deletion {
            return Err(OciError::limit(format!(
                "The secret already has {pending} versions pending deletion (the limit is {}).",
                limits.max_versions_pending_deletion
            )));
        }
        // UNCONFIRMED: a version's window is the secret's, 1 to 30 days, 30 by default.
        let when = deletion_time(time_of_deletion, now, 1, 30)?;
        let s = self.secret_mut(caller, id)?;
        if let Some(v) = s.versions.iter_mut().find(|v| v.number == n) {
            v.time_of_deletion = Some(when);
        }
        s.transition = limits
            .window_end(now)
            .map(|until| (SecretTransition::Updating, until));
        s.revision += 1;
        Ok(())
    }

    pub fn cancel_secret_version_deletion(
        &mut self,
        caller: &str,
        id: &str,
        n: u64,
        if_match: Option<&str>,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<(), OciError> {
        let s = self.secret(caller, id)?;
        check_if_match(if_match, &s.etag())?;
        Self::writable(s, now)?;
        let v = s.version(n).ok_or_else(OciError::not_found)?;
        if v.time_of_deletion.is_none() {
            return Err(OciError::incorrect_state(format!(
                "Secret version {n} is not pending deletion."
            )));
        }
        let s = self.secret_mut(caller, id)?;
        if let Some(v) = s.versions.iter_mut().find(|v| v.number == n) {
            v.time_of_deletion = None;
        }
        s.transition = limits
            .window_end(now)
            .map(|until| (SecretTransition::Updating, until));
        s.revision += 1;
        Ok(())
    }

    // ---- secret retrieval ----

    /// A secret whose payloads can be read: not deleted or on its way, and its key usable.
    fn readable_secret(&self, s: &SecretRecord, now: Timestamp) -> Result<(), OciError> {
        match s.settled(now) {
            Ok(SecretState::Active)
            | Err(SecretTransition::Creating | SecretTransition::Updating) => {}
            // ESO's pitfall: a secret pending deletion answers 404 to reads.
            _ => return Err(OciError::not_found()),
        }
        // UNCONFIRMED: reading a secret whose key is not ENABLED is refused with 400.
        match self.keys.get(&s.key_id) {
            Some(k) if k.state == KeyState::Enabled => Ok(()),
            Some(k) => Err(OciError::invalid(format!(
                "The master encryption key {} is {}; the secret cannot be decrypted.",
                k.id,
                k.state.as_str()
            ))),
            None => Err(OciError::not_found()),
        }
    }

    fn pick<'s>(
        s: &'s SecretRecord,
        selector: Option<&BundleSelector>,
    ) -> Result<&'s VersionRecord, OciError> {
        let number = match selector {
            None => Some(s.roles.current),
            Some(BundleSelector::Number(n)) => Some(*n),
            Some(BundleSelector::Name(name)) => s
                .versions
                .iter()
                .find(|v| v.name.as_ref() == Some(name))
                .map(|v| v.number),
            Some(BundleSelector::Stage(stage)) => match stage.as_str() {
                "CURRENT" => Some(s.roles.current),
                "PENDING" => s.roles.pending,
                "PREVIOUS" => s.roles.previous,
                "LATEST" => Some(s.latest()),
                // UNCONFIRMED: several versions can be DEPRECATED; the newest is read.
                "DEPRECATED" => s
                    .versions
                    .iter()
                    .rev()
                    .find(|v| s.roles.is_deprecated(v.number))
                    .map(|v| v.number),
                _ => {
                    return Err(OciError::invalid(
                        "stage must be one of CURRENT, PENDING, LATEST, PREVIOUS, DEPRECATED",
                    ));
                }
            },
        };
        let v = number
            .and_then(|n| s.version(n))
            .ok_or_else(OciError::not_found)?;
        // UNCONFIRMED: a version pending deletion is no longer readable.
        if v.time_of_deletion.is_some() {
            return Err(OciError::not_found());
        }
        Ok(v)
    }

    fn bundle_of(
        &self,
        s: &SecretRecord,
        selector: Option<&BundleSelector>,
        now: Timestamp,
    ) -> Result<BundleView, OciError> {
        self.readable_secret(s, now)?;
        let v = Self::pick(s, selector)?;
        if s.retrieval_blocked_on_expiry() && s.expiry_of(v).is_some_and(|t| t <= now) {
            // UNCONFIRMED: the answer for an expired version whose retrieval is blocked.
            return Err(OciError::invalid(format!(
                "Secret version {} expired and the secret's expiry rule blocks its retrieval.",
                v.number
            )));
        }
        Ok(s.bundle(v))
    }

    pub fn get_secret_bundle(
        &self,
        caller: &str,
        id: &str,
        selector: Option<&BundleSelector>,
        now: Timestamp,
    ) -> Result<BundleView, OciError> {
        let s = self.secret(caller, id)?;
        self.bundle_of(s, selector, now)
    }

    pub fn get_secret_bundle_by_name(
        &self,
        caller: &str,
        vault_id: &str,
        name: &str,
        selector: Option<&BundleSelector>,
        now: Timestamp,
    ) -> Result<BundleView, OciError> {
        let s = self
            .secrets
            .values()
            .filter(|s| s.vault_id == vault_id && s.name == name)
            .filter(|s| s.state != SecretState::Deleted)
            .find(|s| self.owns(caller, &s.compartment_id))
            .ok_or_else(OciError::not_found)?;
        self.bundle_of(s, selector, now)
    }

    pub fn list_secret_bundle_versions(
        &self,
        caller: &str,
        id: &str,
        sort_by: Option<&str>,
        paging: &Paging,
        now: Timestamp,
    ) -> Result<Listed<BundleVersionSummaryView>, OciError> {
        let s = self.secret(caller, id)?;
        self.readable_secret(s, now)?;
        if sort_by.is_some_and(|b| b != "VERSION_NUMBER") {
            return Err(OciError::invalid("sortBy must be VERSION_NUMBER"));
        }
        let desc = descending(paging, true)?;
        let mut versions: Vec<&VersionRecord> = s.versions.iter().collect();
        if desc {
            versions.reverse();
        }
        page(
            versions.into_iter().map(|v| s.bundle_summary(v)).collect(),
            paging,
        )
    }

    // ---- KMS keys and key versions ----

    pub fn get_key(
        &self,
        caller: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<Tagged<KeyView>, OciError> {
        let k = self.key(caller, id)?;
        Ok((k.view(now), k.etag()))
    }

    fn kms_writable(k: &KeyRecord, now: Timestamp) -> Result<(), OciError> {
        if k.is_updating(now) {
            return Err(OciError::incorrect_state(format!(
                "The key {} is in lifecycle state UPDATING; try again later.",
                k.id
            )));
        }
        Ok(())
    }

    pub fn create_key_version(
        &mut self,
        caller: &str,
        key_id: &str,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<Tagged<KeyVersionView>, OciError> {
        let region = self.region.clone();
        let k = self.key_mut(caller, key_id)?;
        Self::kms_writable(k, now)?;
        // The key must be ENABLED to rotate [SEED]; UNCONFIRMED: 409 IncorrectState otherwise.
        if k.state != KeyState::Enabled {
            return Err(OciError::incorrect_state(format!(
                "The key {} is {}; it must be ENABLED to create a key version.",
                k.id,
                k.state.as_str()
            )));
        }
        let version = KeyVersionRecord {
            id: new_ocid("keyversion", &region),
            state: KeyVersionState::Enabled,
            time_created: now,
            time_of_deletion: None,
            revision: 1,
        };
        k.current_version = version.id.clone();
        k.versions.push(version.clone());
        k.updating_until = limits.window_end(now);
        k.revision += 1;
        Ok((k.version_view(&version), k.etag()))
    }

    pub fn list_key_versions(
        &self,
        caller: &str,
        key_id: &str,
        sort_by: Option<&str>,
        paging: &Paging,
    ) -> Result<Listed<KeyVersionSummaryView>, OciError> {
        let k = self.key(caller, key_id)?;
        // Key versions have no display name; DISPLAYNAME sorts by id (their only name).
        let by_id = match sort_by {
            None | Some("TIMECREATED") => false,
            Some("DISPLAYNAME") => true,
            Some(_) => {
                return Err(OciError::invalid(
                    "sortBy must be TIMECREATED or DISPLAYNAME",
                ));
            }
        };
        let desc = descending(paging, !by_id)?;
        let mut versions: Vec<&KeyVersionRecord> = k.versions.iter().collect();
        if by_id {
            versions.sort_by(|a, b| a.id.cmp(&b.id));
        }
        if desc {
            versions.reverse();
        }
        page(
            versions.into_iter().map(|v| k.version_summary(v)).collect(),
            paging,
        )
    }

    pub fn get_key_version(
        &self,
        caller: &str,
        key_id: &str,
        version_id: &str,
    ) -> Result<Tagged<KeyVersionView>, OciError> {
        let k = self.key(caller, key_id)?;
        let v = k.version(version_id).ok_or_else(OciError::not_found)?;
        Ok((
            k.version_view(v),
            format!("\"{}-{}\"", k.revision, v.revision),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn schedule_key_version_deletion(
        &mut self,
        caller: &str,
        key_id: &str,
        version_id: &str,
        time_of_deletion: Option<Timestamp>,
        if_match: Option<&str>,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<Tagged<KeyVersionView>, OciError> {
        let (_, etag) = self.get_key_version(caller, key_id, version_id)?;
        check_if_match(if_match, &etag)?;
        let k = self.key(caller, key_id)?;
        Self::kms_writable(k, now)?;
        // UNCONFIRMED: the current key version cannot be scheduled (refused, per the reference).
        if k.current_version == version_id {
            return Err(OciError::incorrect_state(format!(
                "Key version {version_id} is the key's current key version; create a new key \
                 version before deleting this one."
            )));
        }
        let v = k.version(version_id).ok_or_else(OciError::not_found)?;
        if v.state != KeyVersionState::Enabled {
            return Err(OciError::incorrect_state(format!(
                "Key version {version_id} is {}; only an ENABLED key version can be scheduled \
                 for deletion.",
                v.state.as_str()
            )));
        }
        // 7 to 30 days (reference §4); 30 by default.
        let when = deletion_time(time_of_deletion, now, 7, 30)?;
        let k = self.key_mut(caller, key_id)?;
        let enabled = k.state == KeyState::Enabled;
        let v = k
            .versions
            .iter_mut()
            .find(|v| v.id == version_id)
            .expect("found above");
        v.state = KeyVersionState::PendingDeletion;
        v.time_of_deletion = Some(when);
        v.revision += 1;
        let v = v.clone();
        if enabled {
            k.updating_until = limits.window_end(now);
        }
        k.revision += 1;
        Ok((
            k.version_view(&v),
            format!("\"{}-{}\"", k.revision, v.revision),
        ))
    }

    pub fn cancel_key_version_deletion(
        &mut self,
        caller: &str,
        key_id: &str,
        version_id: &str,
        if_match: Option<&str>,
        now: Timestamp,
        limits: &Limits,
    ) -> Result<Tagged<KeyVersionView>, OciError> {
        let (_, etag) = self.get_key_version(caller, key_id, version_id)?;
        check_if_match(if_match, &etag)?;
        let k = self.key(caller, key_id)?;
        Self::kms_writable(k, now)?;
        let v = k.version(version_id).ok_or_else(OciError::not_found)?;
        if v.state != KeyVersionState::PendingDeletion {
            return Err(OciError::incorrect_state(format!(
                "Key version {version_id} is {}; only a key version PENDING_DELETION can be \
                 restored.",
                v.state.as_str()
            )));
        }
        let k = self.key_mut(caller, key_id)?;
        let enabled = k.state == KeyState::Enabled;
        let v = k
            .versions
            .iter_mut()
            .find(|v| v.id == version_id)
            .expect("found above");
        v.state = KeyVersionState::Enabled;
        v.time_of_deletion = None;
        v.revision += 1;
        let v = v.clone();
        if enabled {
            k.updating_until = limits.window_end(now);
        }
        k.revision += 1;
        Ok((
            k.version_view(&v),
            format!("\"{}-{}\"", k.revision, v.revision),
        ))
    }

    // ---- retry tokens ----

    pub fn retry_lookup(&self, key: &str, request: &str, now: Timestamp) -> RetryLookup {
        match self.retry_tokens.get(key) {
            Some(r) if r.expires > now && r.request == request => RetryLookup::Replay(r.clone()),
            Some(r) if r.expires > now => RetryLookup::Conflict,
            _ => RetryLookup::New,
        }
    }

    pub fn retry_remember(&mut self, key: String, record: RetryRecord) {
        self.retry_tokens.insert(key, record);
    }

    // ---- time passing ----

    /// Whether [`Account::sweep`] has anything to do at `now`.
    pub fn sweep_due(&self, now: Timestamp) -> bool {
        let due = |t: Option<Timestamp>| t.is_some_and(|t| t <= now);
        self.secrets.values().any(|s| {
            s.transition.is_some_and(|(_, until)| until <= now)
                || (s.state == SecretState::PendingDeletion && due(s.time_of_deletion))
                || s.versions.iter().any(|v| due(v.time_of_deletion))
        }) || self.keys.values().any(|k| {
            (k.state == KeyState::PendingDeletion && due(k.time_of_deletion))
                || k.updating_until.is_some_and(|t| t <= now)
                || k.versions
                    .iter()
                    .any(|v| v.state == KeyVersionState::PendingDeletion && due(v.time_of_deletion))
        }) || self.retry_tokens.values().any(|r| r.expires <= now)
    }

    /// Settles ended write windows, deletes what was scheduled up to `now`, forgets old retry tokens.
    /// Returns whether anything changed.
    pub fn sweep(&mut self, now: Timestamp) -> bool {
        if !self.sweep_due(now) {
            return false;
        }
        let due = |t: Option<Timestamp>| t.is_some_and(|t| t <= now);
        for s in self.secrets.values_mut() {
            if let Some((t, until)) = s.transition
                && until <= now
            {
                s.state = t.settles_to();
                s.transition = None;
            }
            if s.state == SecretState::PendingDeletion && due(s.time_of_deletion) {
                // Deleted: the name is free again and the payloads are gone.
                s.state = SecretState::Deleted;
                s.versions.clear();
                s.deleted_content.clear();
                continue;
            }
            let (gone, kept): (Vec<VersionRecord>, Vec<VersionRecord>) =
                std::mem::take(&mut s.versions)
                    .into_iter()
                    .partition(|v| due(v.time_of_deletion));
            s.versions = kept;
            s.deleted_content
                .extend(gone.into_iter().map(|v| v.content_sha256));
        }
        for k in self.keys.values_mut() {
            if k.updating_until.is_some_and(|t| t <= now) {
                k.updating_until = None;
            }
            if k.state == KeyState::PendingDeletion && due(k.time_of_deletion) {
                k.state = KeyState::Deleted;
            }
            for v in &mut k.versions {
                if v.state == KeyVersionState::PendingDeletion && due(v.time_of_deletion) {
                    v.state = KeyVersionState::Deleted;
                }
            }
        }
        self.retry_tokens.retain(|_, r| r.expires > now);
        true
    }
}

/// Checks new content and makes version `number` of it. Returns whether it asked for PENDING.
fn parse_content(
    content: ContentBody,
    number: u64,
    now: Timestamp,
    limits: &Limits,
) -> Result<(bool, VersionRecord), OciError> {
    if content.content_type != "BASE64" {
        return Err(OciError::invalid(
            "secretContent.contentType must be BASE64.",
        ));
    }
    let encoded = content
        .content
        .ok_or_else(|| OciError::missing("secretContent.content"))?;
    let decoded = BASE64
        .decode(encoded.as_bytes())
        .map_err(|_| OciError::invalid("secretContent.content is not valid base64."))?;
    if decoded.is_empty() {
        return Err(OciError::invalid("secretContent.content is empty."));
    }
    if decoded.len() > limits.max_content_bytes {
        return Err(OciError::invalid(format!(
            "secretContent.content exceeds {} bytes.",
            limits.max_content_bytes
        )));
    }
    let pending = match content.stage.as_deref() {
        None | Some("CURRENT") => false,
        Some("PENDING") => true,
        Some(_) => {
            return Err(OciError::invalid(
                "secretContent.stage must be CURRENT or PENDING.",
            ));
        }
    };
    if content.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
        return Err(OciError::invalid("secretContent.name must not be empty."));
    }
    Ok((
        pending,
        VersionRecord {
            number,
            name: content.name,
            content_sha256: sha256_hex(&decoded),
            content: encoded,
            time_created: now,
            time_of_deletion: None,
        },
    ))
}

fn validate_rules(rules: Vec<SecretRule>) -> Result<Vec<SecretRule>, OciError> {
    let mut kinds = Vec::new();
    for rule in &rules {
        let kind = match rule {
            SecretRule::Expiry {
                secret_version_expiry_interval,
                time_of_absolute_expiry,
                ..
            } => {
                if let Some(i) = secret_version_expiry_interval
                    && expiry_interval_days(i).is_none()
                {
                    return Err(OciError::invalid(
                        "secretVersionExpiryInterval must be P1D to P90D.",
                    ));
                }
                if secret_version_expiry_interval.is_none() && time_of_absolute_expiry.is_none() {
                    return Err(OciError::invalid(
                        "An expiry rule needs secretVersionExpiryInterval or timeOfAbsoluteExpiry.",
                    ));
                }
                "SECRET_EXPIRY_RULE"
            }
            SecretRule::Reuse { .. } => "SECRET_REUSE_RULE",
        };
        if kinds.contains(&kind) {
            return Err(OciError::invalid(format!("Only one {kind} is allowed.")));
        }
        kinds.push(kind);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests;
