//! The `SecretManager` trait the controller talks to, its error kinds, and one module per provider.
//!
//! The trait is provider-neutral: identifiers are opaque strings, statuses and kinds are our own enums,
//! and what a provider cannot do is declared in [`Capabilities`] rather than discovered by failing.
//! It is object-safe (`Arc<dyn SecretManager>`) because the provider is chosen at run time from a
//! store; `async-trait` gives that without hand-written boxed futures in every implementation.
//!
//! Shapes chosen so that a path-based provider (Thalassa: identity = full path, version 1 created with
//! the secret, no metadata update, no disable) fits without controller changes:
//! - [`SecretId`] is opaque (a UUID for Scaleway, the full path for Thalassa);
//! - [`SecretManager::create_secret`] takes an optional initial version;
//! - [`Capabilities`] tells the controller which optional operations exist.
//!
//! How the Thalassa module maps the trait (see `thalassa/` and
//! `docs/thalassa-secrets-manager-api.md` in the shared docs):
//!
//! | trait | Thalassa |
//! | --- | --- |
//! | `SecretId` | the full path `{path}/{name}` |
//! | `list_all_secrets` | `GET …/secrets?pathPrefix=/` (the whole organisation or project scope) |
//! | `find_secret(name, path)` | `GET …/secret{path}/{name}`, 404 → `None` |
//! | `get_secret` | `GET …/secret{path}?includeVersions=true` |
//! | `create_secret(.., Some(v))` | `POST …/secrets` with `secretString` (version 1 in the same call), the owner mark as labels |
//! | `list_versions` | `GET …/secret{path}?includeVersions=true` |
//! | `create_version` | `POST …/secret{path}/versions` (no description: `version_descriptions = false`) |
//! | `access_version` | `POST …/secret{path}/value` (`Latest`/`LatestEnabled` → current version) |
//! | `delete_version` / `delete_secret` | `DELETE …/versions?version=N` / `DELETE …/secret{path}` |
//! | `update_secret`, `set_protected`, `set_version_enabled` | `Unsupported` (capabilities say so) |
//! | KMS key disabled (400) / KMS missing (503) | `KeyUnavailable` |

pub mod error;
pub mod gate;
pub mod http;
pub mod keys;
pub mod observer;
pub mod oci;
pub mod read_only;
pub mod registry;
pub mod retry;
pub mod revision;
pub mod scaleway;
pub mod secret_type;
pub mod thalassa;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

pub use error::{ArgumentProblem, ErrorKind, ProviderError};
pub use gate::{CallClass, GateClosed, GatePass, OpenGate, RateSignal, RequestGate};
pub use observer::{CallObserver, ProviderCall};

use crate::secret_value::SecretValue;
pub use revision::RevisionSelector;
pub use secret_type::{SecretType, UnknownSecretType};

/// Result of every provider operation.
pub type ProviderResult<T> = Result<T, ProviderError>;

/// A provider's identifier of a secret. Opaque to the controller: store it, compare it, pass it back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretId(pub String);

impl SecretId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the provider lets anyone act on the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretStatus {
    Ready,
    /// The provider froze the secret; no action is allowed until it lifts the lock.
    Locked,
    Unknown,
}

/// Lifecycle state of one version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionStatus {
    /// Readable.
    Enabled,
    /// Kept but not readable until enabled again.
    Disabled,
    /// Deleted, still restorable for a while; not readable.
    ScheduledForDeletion,
    /// Gone for good; only the metadata remains.
    Destroyed,
    Unknown,
}

/// What happens to a version when its ephemeral lifetime ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpiryAction {
    Delete,
    Disable,
}

/// Automatic expiry of versions, set on the secret and inherited by its versions.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EphemeralPolicy {
    /// Lifetime of each version (whole seconds are what providers accept).
    pub time_to_live: Option<Duration>,
    /// The version expires after its first access.
    pub expires_once_accessed: Option<bool>,
    pub action: Option<ExpiryAction>,
}

/// Who created a remote secret: Keyward in one cluster, for one ManagedSecret. Each provider stores
/// it its own way (Scaleway: two tags; Thalassa: labels; OCI: freeform tags), so that ownership is
/// read from the remote secret itself, not only from Keyward's status: Keyward takes over,
/// deletes or retires only what carries its mark (or what a person told it to adopt).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnerMark {
    /// The cluster's identity (the `kube-system` namespace's uid, or `--cluster-id`).
    pub cluster: String,
    /// `<namespace>/<name>` of the ManagedSecret; long names are shortened with a digest so the
    /// mark fits the providers' tag limits (see [`OwnerMark::for_object`]).
    pub object: String,
}

impl OwnerMark {
    /// Longest `object` kept verbatim (Scaleway tags hold at most 128 characters, and the key
    /// takes some of them).
    const MAX_OBJECT: usize = 100;

    pub fn for_object(cluster: &str, namespace: &str, name: &str) -> Self {
        let full = format!("{namespace}/{name}");
        let object = if full.len() <= Self::MAX_OBJECT {
            full
        } else {
            use sha2::Digest as _;
            let digest = sha2::Sha256::digest(full.as_bytes());
            let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
            let keep: String = full.chars().take(Self::MAX_OBJECT - 13).collect();
            format!("{keep}~{short}")
        };
        Self {
            cluster: cluster.to_owned(),
            object,
        }
    }
}

impl fmt::Display for OwnerMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ManagedSecret {} in cluster {}",
            self.object, self.cluster
        )
    }
}

/// Metadata of a remote secret. Never contains a payload.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteSecret {
    pub id: SecretId,
    pub project_id: Option<String>,
    pub name: String,
    /// Folder, always starting with `/`, no trailing slash except the root.
    pub path: String,
    pub description: String,
    /// The user's tags (Keyward's owner mark is in [`RemoteSecret::owner`], not here).
    pub tags: Vec<String>,
    /// Keyward's owner mark, when the secret carries one.
    pub owner: Option<OwnerMark>,
    /// `None` when the provider reported a type this build does not know.
    pub kind: Option<SecretType>,
    pub status: SecretStatus,
    pub protected: bool,
    /// Another product (not Keyward, not a person) manages or uses this secret; never adopt or delete it.
    pub managed_by_other_product: bool,
    /// Number of versions ever created, if the provider reports it.
    pub version_count: Option<u64>,
    pub ephemeral_policy: Option<EphemeralPolicy>,
    /// Customer-managed encryption key, `None` for the provider's internal key.
    pub key_id: Option<String>,
    pub region: String,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    /// Set when the secret was deleted but can still be restored.
    pub deletion_requested_at: Option<Timestamp>,
}

/// Metadata of one immutable version. Never contains a payload.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteVersion {
    pub secret_id: SecretId,
    /// 1-based, never reused.
    pub revision: u64,
    pub status: VersionStatus,
    /// Free text; Keyward records its operation token here.
    pub description: String,
    /// The highest revision.
    pub latest: bool,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub deletion_requested_at: Option<Timestamp>,
}

/// A version's payload, as read.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessedVersion {
    pub secret_id: SecretId,
    /// The resolved number, also when the request asked for `Latest`.
    pub revision: u64,
    pub value: SecretValue,
    /// `None` when the provider reported a type this build does not know.
    pub kind: Option<SecretType>,
}

/// Everything needed to create a secret (metadata only; see [`NewVersion`] for the payload).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NewSecret {
    pub name: String,
    /// Folder; `/` when empty.
    pub path: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// Keyward's mark on what it creates.
    pub owner: Option<OwnerMark>,
    pub kind: SecretType,
    pub protected: bool,
    pub ephemeral_policy: Option<EphemeralPolicy>,
    pub key_id: Option<String>,
}

/// Metadata changes; `None` leaves a field as it is.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SecretUpdate {
    pub name: Option<String>,
    pub path: Option<String>,
    /// `Some("")` clears the description.
    pub description: Option<String>,
    /// The whole list; `Some(vec![])` clears it.
    pub tags: Option<Vec<String>>,
    /// Sets the owner mark. Where the mark lives in the tags (Scaleway), `tags` must be sent too:
    /// together they are the whole new list.
    pub owner: Option<OwnerMark>,
    pub ephemeral_policy: Option<EphemeralPolicy>,
}

impl SecretUpdate {
    pub fn is_empty(&self) -> bool {
        self == &SecretUpdate::default()
    }
}

/// A new version. Its `Debug` shows only `<redacted>` for the value.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NewVersion {
    pub value: SecretValue,
    /// Free text kept with the version; the controller puts its operation token here so that a retry
    /// after a crash finds the version it already created (see [`Capabilities::version_descriptions`]).
    pub description: Option<String>,
    /// Disable the version that was the latest before this one.
    pub disable_previous: bool,
}

/// A secret just created, with its initial version when one was given.
#[derive(Clone, Debug, PartialEq)]
pub struct CreatedSecret {
    pub secret: RemoteSecret,
    pub initial_version: Option<RemoteVersion>,
}

/// Optional abilities of a provider. The controller checks these instead of branching on the
/// provider's name; an operation outside them fails with [`ErrorKind::Unsupported`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `update_secret` can change description, tags, name, path, ephemeral policy.
    pub update_metadata: bool,
    /// `set_protected` exists.
    pub protection: bool,
    /// Versions can be disabled and enabled again (otherwise only destroyed).
    pub disable_versions: bool,
    /// `NewVersion::description` is stored and returned in `RemoteVersion::description`.
    pub version_descriptions: bool,
    /// `create_secret` fails without an initial version (the provider creates both at once).
    pub create_requires_initial_version: bool,
    /// Ephemeral policies are supported.
    pub ephemeral_policy: bool,
    /// Tags are stored.
    pub tags: bool,
    /// What [`SecretManager::list_all_secrets`] (the store runtime's sweep) shows of each secret.
    pub listing: Listing,
    /// [`OwnerMark`]s are stored and read back.
    pub owner_marks: bool,
    /// What [`SecretManager::delete_version`] does to a version.
    pub version_removal: VersionRemoval,
    /// The newest superseded version cannot be removed until a newer one supersedes it (OCI
    /// schedules the deletion of `DEPRECATED` versions only, and the version that was current
    /// before stays `PREVIOUS` until the next rotation): retirement leaves it until then.
    pub removal_spares_previous: bool,
}

/// What one listing of a store's scope tells about each secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Its version count or update time: the sweep sees new versions, so an object whose secret
    /// did not change costs no call (Scaleway, Thalassa).
    WithVersions,
    /// The secret only (OCI's ListSecrets summaries carry no current version): the sweep still
    /// finds secrets by name, but an object looks its secret up by id with one read per refresh.
    SecretsOnly,
}

/// How a provider removes a version, as said in Events and status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionRemoval {
    /// Gone at once (Scaleway).
    Delete,
    /// Its payload is destroyed; the number stays listed (Thalassa).
    Destroy,
    /// Deleted after the provider's pending period (OCI).
    ScheduleDeletion,
}

impl VersionRemoval {
    /// The past participle for Events: "deleted", "destroyed", "scheduled for deletion".
    pub fn done(self) -> &'static str {
        match self {
            VersionRemoval::Delete => "deleted",
            VersionRemoval::Destroy => "destroyed",
            VersionRemoval::ScheduleDeletion => "scheduled for deletion",
        }
    }
}

/// A Secret Manager as the controller sees it. Every method is one logical operation; the
/// implementation handles paging, retries that are safe, and error classification.
#[async_trait]
pub trait SecretManager: Send + Sync {
    /// Short provider name for logs, metrics and status (`"scaleway"`).
    fn provider(&self) -> &'static str;

    /// The region this client acts in.
    fn region(&self) -> &str;

    fn capabilities(&self) -> Capabilities;

    /// The live (not deleted) secret with exactly this name in this folder of the configured project,
    /// searching every page. `Ok(None)` when there is none; an error of kind `Conflict` when there are
    /// several (Keyward never picks one at random).
    async fn find_secret(&self, name: &str, path: &str) -> ProviderResult<Option<RemoteSecret>>;

    /// Every live secret of the store's scope (project, vault, path prefix), all pages: the store
    /// runtime's sweep, one listing for all the objects of a store.
    async fn list_all_secrets(&self) -> ProviderResult<Vec<RemoteSecret>>;

    /// A secret by id. A soft-deleted secret is returned with `deletion_requested_at` set; a purged or
    /// unknown one is `NotFound`.
    async fn get_secret(&self, id: &SecretId) -> ProviderResult<RemoteSecret>;

    /// Creates a secret, and its first version when `initial_version` is given. Call
    /// [`SecretManager::find_secret`] first: providers do not reliably refuse duplicates. When the
    /// secret is created but the version is not, the error is returned and the secret stays; the next
    /// reconcile finds it and creates the version.
    async fn create_secret(
        &self,
        secret: &NewSecret,
        initial_version: Option<&NewVersion>,
    ) -> ProviderResult<CreatedSecret>;

    async fn update_secret(
        &self,
        id: &SecretId,
        update: &SecretUpdate,
    ) -> ProviderResult<RemoteSecret>;

    /// Deletes a secret (soft delete where the provider has one). A protected secret gives `Protected`.
    async fn delete_secret(&self, id: &SecretId) -> ProviderResult<()>;

    async fn set_protected(&self, id: &SecretId, protected: bool) -> ProviderResult<RemoteSecret>;

    /// Metadata of every version (all pages, any status), highest revision first.
    async fn list_versions(&self, id: &SecretId) -> ProviderResult<Vec<RemoteVersion>>;

    /// Creates exactly one version. Never retried after the request may have reached the provider:
    /// on an ambiguous failure, look for the operation token in `list_versions` before trying again.
    async fn create_version(
        &self,
        id: &SecretId,
        version: &NewVersion,
    ) -> ProviderResult<RemoteVersion>;

    /// Reads a payload. A version that is not readable (disabled, deleted, expired) gives
    /// `VersionUnreadable`; only `NotFound` means the secret itself is gone.
    async fn access_version(
        &self,
        id: &SecretId,
        revision: RevisionSelector,
    ) -> ProviderResult<AccessedVersion>;

    async fn set_version_enabled(
        &self,
        id: &SecretId,
        revision: u64,
        enabled: bool,
    ) -> ProviderResult<RemoteVersion>;

    /// Deletes (or destroys) one version. Where the provider deletes after a waiting period
    /// (`VersionRemoval::ScheduleDeletion`, OCI), `window` is that period, within what the
    /// provider allows; providers that delete at once ignore it.
    async fn delete_version(
        &self,
        id: &SecretId,
        revision: u64,
        window: std::time::Duration,
    ) -> ProviderResult<()>;
}
