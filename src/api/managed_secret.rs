//! The `ManagedSecret` custom resource: one remote secret in a Secret Manager, its source of values,
//! its rotation and the Kubernetes `Secret` it is mirrored into.
//!
//! Doc comments on fields become the `kubectl explain` text, so they are written for users.
//! CEL rules (`x-kubernetes-validations`) reject what the API server can check on its own; the rest is
//! checked by [`crate::api::validation`].

// Several `printcolumn(...)` entries repeat `type_ = ...`; clippy mistakes them for duplicates.
#![allow(clippy::duplicated_attributes)]
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::provider::SecretType;

/// The UUID shape of Scaleway IDs as a regular expression, usable in `concat!` for CEL rules.
macro_rules! uuid_pattern {
    () => {
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    };
}

/// The UUID shape of Scaleway IDs (secret, project and key IDs) as a regular expression.
pub const UUID_PATTERN: &str = uuid_pattern!();

/// Desired state of a ManagedSecret: which store, which remote secret, where its values come from, when
/// they rotate and which Kubernetes Secret receives them.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "keyward.dev",
    version = "v1alpha1",
    kind = "ManagedSecret",
    plural = "managedsecrets",
    namespaced,
    shortname = "ms",
    category = "keyward",
    status = "ManagedSecretStatus",
    derive = "PartialEq",
    doc = "A secret kept in a cloud Secret Manager (created, adopted or followed), its versions rotated or pushed, and mirrored into a Kubernetes Secret.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the remote secret and the target Secret are in step"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the ManagedSecret is (not) ready",
        priority = 1
    ),
    printcolumn(
        name = "Revision",
        type_ = "integer",
        json_path = ".status.currentRevision",
        description = "Remote revision mirrored into the target Secret"
    ),
    printcolumn(
        name = "Next Rotation",
        // A string, not a date: kubectl renders date columns as an age, and a future instant
        // as `<invalid>`.
        type_ = "string",
        json_path = ".status.nextRotationTime",
        description = "When Keyward next generates a new version"
    ),
    printcolumn(
        name = "Consumers",
        type_ = "string",
        json_path = ".status.rollout.summary",
        description = "Workloads running the current revision, out of all the rollout covers",
        priority = 1
    ),
    printcolumn(
        name = "Last Rotation",
        type_ = "date",
        json_path = ".status.lastRotationTime",
        description = "When Keyward last generated a new version",
        priority = 1
    ),
    printcolumn(
        name = "Secret ID",
        type_ = "string",
        json_path = ".status.secretId",
        description = "ID of the remote secret",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("!(has(self.generate) && has(self.fromSecret))")
    .message("set at most one source: generate or fromSecret (or neither, to follow the remote secret)")
    .reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("!has(self.rotation) || has(self.generate)")
    .message("rotation needs spec.generate: only generated values can be rotated")
    .field_path(".rotation")
    .reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("!has(self.generate) || !has(self.generate.keys) || (has(self.remote.type) && self.remote.type in ['key_value', 'basic_credentials', 'database_credentials', 'ssh_key'])")
    .message("generate.keys needs remote.type key_value, basic_credentials, database_credentials or ssh_key")
    .field_path(".generate.keys"))]
#[x_kube(validation = Rule::new("!has(self.generate) || has(self.generate.keys) || !has(self.remote.type) || self.remote.type == 'opaque'")
    .message("a generated value for remote.type other than opaque needs generate.keys (certificates cannot be generated)")
    .field_path(".generate"))]
#[x_kube(validation = Rule::new("!(has(self.remote.scaleway) && has(self.remote.scaleway.ephemeralPolicy) && has(self.remote.scaleway.ephemeralPolicy.expiresOnceAccessed) && self.remote.scaleway.ephemeralPolicy.expiresOnceAccessed) || has(self.generate) || has(self.fromSecret)")
    .message("ephemeralPolicy.expiresOnceAccessed needs generate or fromSecret: following a single-access secret would spend its one access on Keyward's own read")
    .field_path(".remote.scaleway.ephemeralPolicy.expiresOnceAccessed"))]
#[x_kube(validation = Rule::new("!(has(self.generate) && has(self.remote.scaleway) && has(self.remote.scaleway.ephemeralPolicy) && has(self.remote.scaleway.ephemeralPolicy.timeToLive)) || (has(self.rotation) && has(self.rotation.interval) && self.rotation.interval.matches('^([0-9]+(h|m|s))+$') && self.remote.scaleway.ephemeralPolicy.timeToLive.matches('^([0-9]+(h|m|s))+$') && duration(self.rotation.interval) < duration(self.remote.scaleway.ephemeralPolicy.timeToLive))")
    .message("a generated value with ephemeralPolicy.timeToLive needs rotation.interval shorter than the time to live, so a new version comes before the current one expires")
    .field_path(".rotation"))]
#[x_kube(validation = Rule::new("(has(self.target) && has(self.target.type) ? self.target.type : 'Opaque') == (has(oldSelf.target) && has(oldSelf.target.type) ? oldSelf.target.type : 'Opaque') || (has(self.target) && has(self.target.name) ? self.target.name : '') != (has(oldSelf.target) && has(oldSelf.target.name) ? oldSelf.target.name : '')")
    .message("target.type cannot change while target.name stays: a Secret's type is immutable; give target.name a new name too (Keyward then writes the new Secret and removes the old one)")
    .field_path(".target.type"))]
#[x_kube(validation = Rule::new("!(has(self.target) && has(self.target.includePrevious) && self.target.includePrevious) || has(self.retirement)")
    .message("target.includePrevious needs spec.retirement: its grace period is how long the previous value stays")
    .field_path(".target.includePrevious"))]
#[serde(rename_all = "camelCase")]
pub struct ManagedSecretSpec {
    /// The SecretStore or ClusterSecretStore that says which Secret Manager (provider, region,
    /// project, credentials) holds the remote secret.
    pub store_ref: StoreRef,

    /// The remote secret in the Secret Manager: created by Keyward from these fields, or adopted when
    /// `adopt` is set. Fields that the Secret Manager cannot change after creation (type, keyId,
    /// ephemeralPolicy, adopt) are immutable.
    #[serde(default)]
    pub remote: RemoteSecretSpec,

    /// Source: generate values in Keyward. Each rotation creates one new version with fresh values.
    /// At most one of generate and fromSecret; with neither, Keyward only follows the remote secret
    /// (versions created elsewhere are mirrored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<GenerateSpec>,

    /// Source: push the data of a Secret in the same namespace. Each change of its data creates
    /// exactly one new remote version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_secret: Option<FromSecretSpec>,

    /// When Keyward generates a new version (needs `generate`). Rotation can also be requested at
    /// any time by giving the annotation `keyward.dev/rotate` a new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<RotationSpec>,

    /// How often Keyward reads the remote secret to pick up versions created elsewhere (console,
    /// Terraform, another tool), as a duration such as `30s`, `5m` or `1h` (at least `10s`).
    /// Defaults to `1h`. The annotation `keyward.dev/force-sync` with a new value forces a refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(h|m|s))+$')")
        .message("refreshInterval must be a duration made of hours, minutes and seconds, such as 30s, 5m, 1h or 1h30m"))]
    #[x_kube(validation = Rule::new("!self.matches('^([0-9]+(h|m|s))+$') || duration(self) >= duration('10s')")
        .message("refreshInterval must be at least 10s"))]
    pub refresh_interval: Option<String>,

    /// The Kubernetes Secret that receives the current revision. Defaults to a Secret named like the
    /// ManagedSecret, of type Opaque, owned by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSpec>,

    /// What happens to the remote secret when the ManagedSecret is deleted: `Retain` (default) leaves
    /// it in the Secret Manager, so a new ManagedSecret with the same name and path adopts it with its
    /// values; `Delete` deletes it (a protected remote secret is never deleted: the ManagedSecret then
    /// reports Ready=False with reason Protected and keeps its finalizer until protection is removed
    /// or the policy is changed to Retain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_deletion_policy: Option<RemoteDeletionPolicy>,

    /// Workloads to restart when a new revision reaches the target Secret, each once however
    /// many ManagedSecrets they read, and only for a new revision. Unset: nothing is restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::api::lifecycle::RolloutSpec>,

    /// Retire superseded versions once every rollout workload runs the new revision: disable them
    /// after a grace period, then delete them after a retention period. Unset: every version stays
    /// enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retirement: Option<crate::api::lifecycle::RetirementSpec>,
}

/// Reference to the store that holds the remote secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreRef {
    /// `SecretStore` (in the ManagedSecret's namespace, the default) or `ClusterSecretStore` (which
    /// must allow this namespace).
    #[serde(default)]
    pub kind: StoreKind,

    /// Name of the store.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Which kind of store a ManagedSecret refers to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, Default, JsonSchema)]
pub enum StoreKind {
    /// A namespaced store in the ManagedSecret's namespace.
    #[default]
    SecretStore,
    /// A cluster-scoped store shared by the namespaces it allows.
    ClusterSecretStore,
}

/// The remote secret: what Keyward creates, or which existing secret it adopts.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(validation = Rule::new("(has(self.type) ? self.type : 'opaque') == (has(oldSelf.type) ? oldSelf.type : 'opaque')")
    .message("remote.type is immutable: the Secret Manager cannot change a secret's type after creation")
    .field_path(".type"))]
#[x_kube(validation = Rule::new("(has(self.scaleway) && has(self.scaleway.keyId) ? self.scaleway.keyId : '') == (has(oldSelf.scaleway) && has(oldSelf.scaleway.keyId) ? oldSelf.scaleway.keyId : '')")
    .message("remote.scaleway.keyId is immutable: the encryption key of a secret is chosen at creation")
    .field_path(".scaleway.keyId"))]
#[x_kube(validation = Rule::new("(has(self.scaleway) && has(self.scaleway.ephemeralPolicy)) == (has(oldSelf.scaleway) && has(oldSelf.scaleway.ephemeralPolicy)) && (!(has(self.scaleway) && has(self.scaleway.ephemeralPolicy)) || self.scaleway.ephemeralPolicy == oldSelf.scaleway.ephemeralPolicy)")
    .message("remote.scaleway.ephemeralPolicy is immutable: it can only be set when the secret is created, and never removed")
    .field_path(".scaleway.ephemeralPolicy"))]
#[x_kube(validation = Rule::new("has(self.adopt) == has(oldSelf.adopt) && (!has(self.adopt) || ((has(self.adopt.secretId) ? self.adopt.secretId : '') == (has(oldSelf.adopt.secretId) ? oldSelf.adopt.secretId : '') && (has(self.adopt.terraformId) ? self.adopt.terraformId : '') == (has(oldSelf.adopt.terraformId) ? oldSelf.adopt.terraformId : '')))")
    .message("remote.adopt.secretId and terraformId are immutable: create a new ManagedSecret to adopt another secret")
    .field_path(".adopt"))]
#[x_kube(validation = Rule::new("!has(self.adopt) || !(has(self.name) || has(self.path) || has(self.scaleway))")
    .message("an adopted secret keeps its own name, path and provider settings: remove name, path and scaleway from remote when adopt is set")
    .field_path(".adopt"))]
#[serde(rename_all = "camelCase")]
pub struct RemoteSecretSpec {
    /// Name of the remote secret. Defaults to the ManagedSecret's name. Letters, digits, `.`, `_` and
    /// `-`, starting with a letter or digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._-]*$')")
        .message("remote.name may only contain letters, digits, '.', '_' and '-', and must start with a letter or digit"))]
    pub name: Option<String>,

    /// Folder of the remote secret, such as `/` (the default) or `/apps/billing`. Starts with `/`,
    /// has no trailing `/` (except the root) and no empty segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("remote.path must start with '/'"))]
    #[x_kube(validation = Rule::new("self == '/' || !self.endsWith('/')")
        .message("remote.path must not end with '/' (except the root path '/')"))]
    #[x_kube(validation = Rule::new("!self.contains('//')").message("remote.path must not contain an empty segment ('//')"))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9/._-]*$')")
        .message("remote.path may only contain letters, digits, '/', '.', '_' and '-'"))]
    pub path: Option<String>,

    /// Description of the remote secret (plain text, visible in the Secret Manager console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,

    /// Tags of the remote secret (at most 32, each 1 to 128 characters, no duplicates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), inner(length(min = 1, max = 128)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub tags: Option<Vec<String>>,

    /// Type of the remote secret, which decides the payload format: `opaque` (any bytes, the
    /// default), `certificate` (PEM), `key_value` (flat JSON object), `basic_credentials`
    /// (username, password), `database_credentials` (engine, username, password, host, dbname, port)
    /// or `ssh_key` (ssh_private_key). Immutable.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<SecretType>,

    /// Protect the remote secret against deletion. Unset leaves protection as it is on an adopted
    /// secret and creates an unprotected one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,

    /// Settings only Scaleway Secret Manager has, used when Keyward creates the secret (immutable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaleway: Option<ScalewayRemoteSpec>,

    /// Adopt an existing remote secret instead of creating one. Its name, path, type and provider
    /// settings are kept; description, tags and protection are applied when set here. Keyward
    /// never takes over a secret it did not create unless it is adopted here. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<AdoptSpec>,
}

/// Creation settings of a Scaleway secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ScalewayRemoteSpec {
    /// ID (UUID) of the Key Manager key that encrypts the versions. Unset uses the Secret Manager's
    /// internal key. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 36))]
    #[x_kube(validation = Rule::new(concat!("self.matches('", uuid_pattern!(), "')"))
        .message("remote.scaleway.keyId must be a UUID"))]
    pub key_id: Option<String>,

    /// Ephemeral policy: versions expire after a time to live and/or after their first access.
    /// Can only be set at creation and never removed (immutable). What Keyward supports: a time
    /// to live with generated or pushed values (with rotation, the interval must be shorter than
    /// the time to live, so a new version always comes before the old one expires); versions that
    /// expire once accessed only with generated or pushed values, which Keyward knows without
    /// reading them back, so it never spends the one access itself. Following or adopting a
    /// single-access secret is refused: mirroring would consume it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_policy: Option<EphemeralPolicy>,
}

/// Which existing remote secret to adopt: exactly one of `secretId` and `terraformId`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("has(self.secretId) != has(self.terraformId)")
    .message("adopt needs exactly one of secretId and terraformId"))]
#[serde(rename_all = "camelCase")]
pub struct AdoptSpec {
    /// The provider's ID of the remote secret: a UUID in the store's region on Scaleway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub secret_id: Option<String>,

    /// Terraform-style ID `{region}/{id}` (as imported by `scaleway_secret`) or
    /// `{region}/{id}/{revision}` (as imported by `scaleway_secret_version`), for example
    /// `fr-par/11111111-1111-1111-1111-111111111111/2`. The region must be the store's region. The
    /// revision (a number, `latest` or `latest_enabled`) is the version mirrored first; afterwards
    /// Keyward follows the secret like any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 80))]
    #[x_kube(validation = Rule::new("self.matches('^(fr-par|nl-ams|pl-waw)/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/([1-9][0-9]*|latest|latest_enabled))?$')")
        .message("adopt.terraformId must look like {region}/{uuid} or {region}/{uuid}/{revision}, with region fr-par, nl-ams or pl-waw and revision a number, latest or latest_enabled"))]
    pub terraform_id: Option<String>,

    /// Let `remoteDeletionPolicy: Delete` delete this adopted secret when the ManagedSecret is
    /// deleted. Without it Keyward deletes only secrets it created itself (they carry its owner
    /// mark), and leaves an adopted one in place with an Event saying so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_deletion: Option<bool>,
}

/// Ephemeral policy of a remote secret: when its versions expire and what happens then.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("has(self.timeToLive) || (has(self.expiresOnceAccessed) && self.expiresOnceAccessed)")
    .message("ephemeralPolicy needs timeToLive or expiresOnceAccessed: true"))]
#[serde(rename_all = "camelCase")]
pub struct EphemeralPolicy {
    /// How long each version stays valid after its creation, as a duration from `1s` to `8760h`
    /// (one year), such as `30m` or `720h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(h|m|s))+$')")
        .message("ephemeralPolicy.timeToLive must be a duration made of hours, minutes and seconds, such as 30m or 720h"))]
    #[x_kube(validation = Rule::new("!self.matches('^([0-9]+(h|m|s))+$') || (duration(self) >= duration('1s') && duration(self) <= duration('8760h'))")
        .message("ephemeralPolicy.timeToLive must be between 1s and 8760h (one year)"))]
    pub time_to_live: Option<String>,

    /// Whether a version expires after its first access. Keyward reads each version once to mirror it,
    /// so applications should then read the mirrored Kubernetes Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_once_accessed: Option<bool>,

    /// What happens to an expired version: `delete` or `disable`.
    pub action: EphemeralAction,
}

/// What happens to a version when it expires.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EphemeralAction {
    /// The version is deleted.
    Delete,
    /// The version is disabled.
    Disable,
}

/// Default generated length, in characters.
pub const DEFAULT_GENERATED_LENGTH: u32 = 32;
/// Symbols used when `symbols` is enabled and no `symbolCharacters` are given. They need no quoting
/// in shells, URLs' userinfo aside, YAML or JSON.
pub const DEFAULT_SYMBOL_CHARACTERS: &str = "!#%+,-.:=?@^_~";

fn default_length() -> u32 {
    DEFAULT_GENERATED_LENGTH
}
fn default_true() -> bool {
    true
}

/// Generated values: a random string for opaque secrets, or a map of keys for keyed types.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct GenerateSpec {
    /// Length and character classes of the top-level value (the same fields, defaults and rules as
    /// each key's `generate`).
    #[serde(flatten)]
    pub policy: PasswordPolicy,

    /// For keyed types (key_value, basic_credentials, database_credentials, ssh_key): the keys of the
    /// payload, each with a fixed value or generated. A key with `generate: {}` uses the defaults
    /// (32 characters, letters and digits). At most 64 keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 64))]
    // Key names are checked by `validation::validate_managed_secret`, not CEL: map keys have no
    // maxLength, so a regex over them would exceed the API server's cost estimate.
    pub keys: Option<BTreeMap<String, KeyValueSource>>,
}

/// The value of one key of a generated keyed payload: exactly one of `value` and `generate`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("has(self.value) != has(self.generate)")
    .message("each generate.keys entry needs exactly one of value and generate"))]
#[serde(rename_all = "camelCase")]
pub struct KeyValueSource {
    /// A fixed value, such as a user name, host or port. It is stored in plain text in this
    /// ManagedSecret: never put a secret here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub value: Option<String>,

    /// Generate this key's value (at creation and at each rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate: Option<PasswordPolicy>,
}

/// Length and character classes of one generated value.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("self.lowercase || self.uppercase || self.digits || self.symbols")
    .message("generate needs at least one character class: lowercase, uppercase, digits or symbols"))]
#[serde(rename_all = "camelCase")]
pub struct PasswordPolicy {
    /// Length in characters (1 to 4096, default 32).
    #[serde(default = "default_length")]
    #[schemars(range(min = 1, max = 4096))]
    pub length: u32,

    /// Use lowercase letters `a-z` (default true).
    #[serde(default = "default_true")]
    pub lowercase: bool,

    /// Use uppercase letters `A-Z` (default true).
    #[serde(default = "default_true")]
    pub uppercase: bool,

    /// Use digits `0-9` (default true).
    #[serde(default = "default_true")]
    pub digits: bool,

    /// Use symbols (default false): those of `symbolCharacters`, or `!#%+,-.:=?@^_~`.
    #[serde(default)]
    pub symbols: bool,

    /// The symbols to use when `symbols` is true (1 to 64 printable ASCII characters, no space).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^[!-/:-@\\\\[-`{-~]+$')")
        .message("symbolCharacters may only contain printable ASCII symbols (no letters, digits or spaces)"))]
    pub symbol_characters: Option<String>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            length: DEFAULT_GENERATED_LENGTH,
            lowercase: true,
            uppercase: true,
            digits: true,
            symbols: false,
            symbol_characters: None,
        }
    }
}

impl PasswordPolicy {
    /// The symbols in use (empty when `symbols` is false).
    pub fn symbol_set(&self) -> &str {
        if !self.symbols {
            ""
        } else {
            self.symbol_characters
                .as_deref()
                .unwrap_or(DEFAULT_SYMBOL_CHARACTERS)
        }
    }
}

/// Push the data of a Secret in the ManagedSecret's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FromSecretSpec {
    /// Name of the source Secret (same namespace as the ManagedSecret).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Keys of the source Secret to push (default: all). For opaque and certificate types exactly one
    /// key must be selected (or the Secret must hold exactly one key): its bytes become the payload.
    /// For keyed types the selected keys become the JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), inner(length(min = 1, max = 253)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub keys: Option<Vec<String>>,
}

/// When a rotation is due: `interval`, `schedule`, or both (whichever comes first).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("has(self.interval) || has(self.schedule)")
    .message("rotation needs interval, schedule or both"))]
#[x_kube(validation = Rule::new("!has(self.timeZone) || has(self.schedule)")
    .message("rotation.timeZone only applies to rotation.schedule (an interval counts elapsed time)"))]
#[serde(rename_all = "camelCase")]
pub struct RotationSpec {
    /// Rotate when the current value (or key version) is this old, as a duration of at least `1m` made of hours,
    /// minutes and seconds, such as `720h` (30 days) or `1h30m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(h|m|s))+$')")
        .message("rotation.interval must be a duration made of hours, minutes and seconds, such as 720h or 1h30m"))]
    #[x_kube(validation = Rule::new("!self.matches('^([0-9]+(h|m|s))+$') || duration(self) >= duration('1m')")
        .message("rotation.interval must be at least 1m"))]
    pub interval: Option<String>,

    /// Rotate on a cron schedule, read in `timeZone` (UTC by default): five fields (minute hour
    /// day-of-month month day-of-week), such as `0 3 * * 1`, or one of `@hourly`, `@daily`,
    /// `@weekly`, `@monthly`, `@yearly`. A `TZ=` or `CRON_TZ=` prefix is refused: use `timeZone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    #[x_kube(validation = Rule::new("!self.matches('^ *(?i)(cron_)?tz=')")
        .message("rotation.schedule must not start with TZ= or CRON_TZ=; set rotation.timeZone instead"))]
    #[x_kube(validation = Rule::new("self.matches('^(@(yearly|annually|monthly|weekly|daily|hourly)|[0-9A-Za-z*,/?#-]+( +[0-9A-Za-z*,/?#-]+){4})$')")
        .message("rotation.schedule must be a cron expression of five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly"))]
    pub schedule: Option<String>,

    /// Time zone of `schedule`, as an IANA tz database name such as `Europe/Paris` or
    /// `America/New_York` (default `UTC`), like a CronJob's `timeZone`. Keyward carries its own copy
    /// of the tz database. Daylight saving time: a schedule with a fixed minute and hour (`30 2 * * *`)
    /// whose time is skipped when clocks go forward runs at the first instant after the gap, and
    /// runs once when clocks go back and repeat it; a schedule with a wildcard or step in the
    /// minute or hour field skips matches inside the gap and matches in both passes of a repeated
    /// hour. A name not in the tz database makes the object `Ready=False` (`InvalidSpec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$')")
        .message("rotation.timeZone must be an IANA time zone name such as UTC or Europe/Paris"))]
    pub time_zone: Option<String>,
}

/// The Kubernetes Secret that mirrors the current remote revision.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetSpec {
    /// Name of the Secret (same namespace). Defaults to the ManagedSecret's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,

    /// Kubernetes Secret type, such as `Opaque` (the default), `kubernetes.io/basic-auth` or
    /// `kubernetes.io/tls`. Use `template` to produce the keys a type requires.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub type_: Option<String>,

    /// Labels added to the Secret (Keyward adds its own `app.kubernetes.io/managed-by: keyward` and `keyward.dev/managed-secret` labels too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 64))]
    pub labels: Option<BTreeMap<String, String>>,

    /// Annotations added to the Secret (Keyward adds its own `keyward.dev/*` annotations too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 64))]
    pub annotations: Option<BTreeMap<String, String>>,

    /// Keys of the Secret, each rendered from a template (Jinja syntax). Templates see the remote
    /// payload: `value` (the raw payload as text), and for keyed types each key by name, also as
    /// `data.<key>`. Example: `url: "postgres://{{ username }}:{{ password }}@{{ host }}/{{ dbname }}"`.
    /// Without a template, an opaque payload is written under the key `value` and a keyed payload
    /// writes one Secret key per JSON key. With a template, the Secret holds exactly the templated
    /// keys. At most 64 keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 64))]
    // Key names are checked by `validation::validate_managed_secret`, not CEL: map keys have no
    // maxLength, so a regex over them would exceed the API server's cost estimate.
    pub template: Option<BTreeMap<String, String>>,

    /// How the Secret is created: `Owner` (default: Keyward creates it with an owner reference to the
    /// ManagedSecret), `Orphan` (Keyward creates it without owner reference) or `Merge` (the Secret
    /// already exists and belongs to someone else; Keyward only writes its own keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_policy: Option<CreationPolicy>,

    /// What happens to the Secret when the ManagedSecret is deleted: `Delete` (default; with creation
    /// policy Merge only Keyward's keys are removed) or `Retain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<TargetDeletionPolicy>,

    /// While the version a rotation superseded is in its retirement grace period, also write its
    /// keys, each with the suffix `_previous` (templates see them as the map `previous`, empty
    /// outside the grace period). For rotations that need both values for a while, such as a
    /// database user with two passwords. Needs spec.retirement, which ends the grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_previous: Option<bool>,
}

/// How the target Secret is created.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum CreationPolicy {
    /// Created by Keyward, owned by the ManagedSecret (garbage-collected with it unless retained).
    #[default]
    Owner,
    /// Created by Keyward, without owner reference.
    Orphan,
    /// Existing Secret owned by someone else; only Keyward's keys are written.
    Merge,
}

/// What happens to the target Secret when the ManagedSecret is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum TargetDeletionPolicy {
    /// Delete the Secret (or, with creation policy Merge, remove Keyward's keys).
    #[default]
    Delete,
    /// Leave the Secret as it is, without Keyward's owner reference.
    Retain,
}

/// What happens to the remote secret when the ManagedSecret is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum RemoteDeletionPolicy {
    /// Leave the remote secret and its versions in the Secret Manager.
    #[default]
    Retain,
    /// Delete the remote secret (soft delete: restorable for 7 days in Scaleway).
    Delete,
}

/// Observed state of a ManagedSecret, written only by Keyward. It never holds secret values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedSecretStatus {
    /// Conditions: `Ready` says whether the remote secret and the target Secret are in step, with a
    /// reason such as Synced, InvalidSpec, StoreNotReady, AuthFailed, ProviderError, RateLimited,
    /// KeyUnavailable, Conflict or Protected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// ID of the remote secret (created or adopted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,

    /// Region of the remote secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,

    /// A digest of the remote secret's version count, update time and deletion state when this
    /// status was written: a later sweep that shows the same fingerprint proves nothing changed
    /// remotely, so Keyward need not list the versions again (for example after a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_fingerprint: Option<String>,

    /// Remote revision currently mirrored into the target Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<u32>,

    /// Name of the Secret Keyward last wrote (to clean up when `target.name` changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,

    /// When the target Secret was last confirmed equal to the current revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,

    /// When Keyward last created a version (rotation, first value or push).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotation_time: Option<Time>,

    /// When the next rotation is due (unset without rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_time: Option<Time>,

    /// The revisions Keyward created, oldest first (the last 32 are kept). Versions created elsewhere
    /// are mirrored but not listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub managed_revisions: Vec<u32>,

    /// A remote write Keyward started and has not yet confirmed. Its token is written into the remote
    /// object's description, so after a crash or retry Keyward finds its own work instead of writing
    /// twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_operation: Option<PendingOperation>,

    /// The last value of the annotation `keyward.dev/rotate` that Keyward acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_rotate_request: Option<String>,

    /// The last value of the annotation `keyward.dev/force-sync` that Keyward acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled_force_sync: Option<String>,

    /// Keyed digest (HMAC, never the data) of the source Secret data last pushed with fromSecret, so
    /// each change creates exactly one version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<String>,

    /// Where each revision stands (current, previous, disabled, deleted, kept) and since when,
    /// newest first; set with spec.rollout or spec.retirement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub revisions: Vec<crate::api::lifecycle::RevisionStage>,

    /// The rollout of the current revision to the workloads that read it; set with spec.rollout
    /// or spec.retirement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::api::lifecycle::RolloutStatus>,
}

/// A remote write in flight, recorded before it is sent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingOperation {
    /// Unique token (a UUID) carried in the remote object's description.
    pub token: String,

    /// What the operation does.
    pub kind: OperationKind,

    /// Why: `Initial`, `Rotation`, `Push` or `Request` (annotation `keyward.dev/rotate`).
    pub cause: OperationCause,

    /// When the operation was recorded.
    pub started_at: Time,

    /// Keyed digest (never the value) of the payload being written, for providers that keep no
    /// description with a version: after a crash, the newest version's digest tells whether the
    /// write happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_digest: Option<String>,
}

/// The remote writes Keyward records before sending.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OperationKind {
    /// Create the remote secret.
    CreateSecret,
    /// Create a version of the remote secret.
    CreateVersion,
}

/// Why a remote write happens.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OperationCause {
    /// The first value of a new remote secret.
    Initial,
    /// A rotation that came due (interval or schedule).
    Rotation,
    /// A rotation requested with the annotation `keyward.dev/rotate`.
    Request,
    /// A change of the fromSecret source.
    Push,
}
