//! `SecretStore` (namespaced) and `ClusterSecretStore` (cluster-scoped): which Secret Manager a
//! ManagedSecret talks to, and with which credentials.
//!
//! The provider is an enum-like struct with one optional field per provider, exactly one set (a CEL
//! rule checks it). A provider is one field here, one folder under `provider/`, and one entry in
//! the rule's list; ManagedSecrets do not change.

// Several `printcolumn(...)` entries repeat `type_ = ...`; clippy mistakes them for duplicates.
#![allow(clippy::duplicated_attributes)]
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default key of the access key in the credentials Secret (Scaleway's own variable name).
pub const DEFAULT_ACCESS_KEY_KEY: &str = "SCW_ACCESS_KEY";
/// Default key of the secret key in the credentials Secret (Scaleway's own variable name).
pub const DEFAULT_SECRET_KEY_KEY: &str = "SCW_SECRET_KEY";
/// Default key of a Thalassa personal access token in the credentials Secret (the variable name of
/// Thalassa's CLI, `tcloud`).
pub const DEFAULT_PERSONAL_ACCESS_TOKEN_KEY: &str = "THALASSA_PERSONAL_ACCESS_TOKEN";
/// Default key of a Thalassa OIDC client id in the credentials Secret (Thalassa's variable name).
pub const DEFAULT_CLIENT_ID_KEY: &str = "THALASSA_CLIENT_ID";
/// Default key of a Thalassa OIDC client secret in the credentials Secret (Thalassa's variable name).
pub const DEFAULT_CLIENT_SECRET_KEY: &str = "THALASSA_CLIENT_SECRET";
/// Default keys of an OCI API key in the credentials Secret: the OCI CLI's variable names.
pub const DEFAULT_OCI_TENANCY_KEY: &str = "OCI_CLI_TENANCY";
pub const DEFAULT_OCI_USER_KEY: &str = "OCI_CLI_USER";
pub const DEFAULT_OCI_FINGERPRINT_KEY: &str = "OCI_CLI_FINGERPRINT";
pub const DEFAULT_OCI_PRIVATE_KEY_KEY: &str = "OCI_CLI_KEY_CONTENT";
pub const DEFAULT_OCI_PASSPHRASE_KEY: &str = "OCI_CLI_PASSPHRASE";

/// A Secret Manager reachable from ManagedSecrets in the same namespace.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "keyward.dev",
    version = "v1alpha1",
    kind = "SecretStore",
    plural = "secretstores",
    namespaced,
    category = "keyward",
    status = "SecretStoreStatus",
    derive = "PartialEq",
    doc = "A Secret Manager (provider, region, project, credentials) used by ManagedSecrets of the same namespace.",
    printcolumn(
        name = "Provider",
        type_ = "string",
        json_path = ".status.provider",
        description = "The Secret Manager provider"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether Keyward can reach the provider with the credentials"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the store is (not) ready"
    ),
    printcolumn(
        name = "Region",
        type_ = "string",
        json_path = ".status.region",
        description = "Region of the Secret Manager",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("!has(self.provider.scaleway) || !has(self.provider.scaleway.credentials.secretRef.__namespace__)")
    .message("a SecretStore reads its credentials Secret from its own namespace: remove credentials.secretRef.namespace")
    .field_path(".provider.scaleway.credentials.secretRef")
    .reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("!has(self.provider.thalassa) || !has(self.provider.thalassa.credentials.secretRef.__namespace__)")
    .message("a SecretStore reads its credentials Secret from its own namespace: remove credentials.secretRef.namespace")
    .field_path(".provider.thalassa.credentials.secretRef")
    .reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("!has(self.provider.oci) || !has(self.provider.oci.credentials.secretRef.__namespace__)")
    .message("a SecretStore reads its credentials Secret from its own namespace: remove credentials.secretRef.namespace")
    .field_path(".provider.oci.credentials.secretRef")
    .reason(Reason::FieldValueForbidden))]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreSpec {
    /// The Secret Manager provider: set exactly one (`scaleway`, `thalassa` or `oci`).
    pub provider: ProviderSpec,

    /// How fast Keyward may call the provider with these credentials, shared by every
    /// ManagedSecret using them. Defaults per provider stay below the provider's own limit
    /// (Scaleway: 20 requests per second, burst 10; its API allows 50 per second per key.
    /// Thalassa: 10 per second, burst 5; it publishes no limit). Stores with the same provider,
    /// endpoint, scope and credentials share one budget: the one of the store Keyward used first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_budget: Option<RequestBudget>,
}

/// A Secret Manager shared by the namespaces it allows.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "keyward.dev",
    version = "v1alpha1",
    kind = "ClusterSecretStore",
    plural = "clustersecretstores",
    category = "keyward",
    status = "SecretStoreStatus",
    derive = "PartialEq",
    doc = "A cluster-wide Secret Manager (provider, region, project, credentials) usable by ManagedSecrets in the namespaces it allows.",
    printcolumn(
        name = "Provider",
        type_ = "string",
        json_path = ".status.provider",
        description = "The Secret Manager provider"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether Keyward can reach the provider with the credentials"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the store is (not) ready"
    ),
    printcolumn(
        name = "Region",
        type_ = "string",
        json_path = ".status.region",
        description = "Region of the Secret Manager",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("!has(self.provider.scaleway) || has(self.provider.scaleway.credentials.secretRef.__namespace__)")
    .message("a ClusterSecretStore needs credentials.secretRef.namespace: the namespace of its credentials Secret")
    .field_path(".provider.scaleway.credentials.secretRef")
    .reason(Reason::FieldValueRequired))]
#[x_kube(validation = Rule::new("!has(self.provider.thalassa) || has(self.provider.thalassa.credentials.secretRef.__namespace__)")
    .message("a ClusterSecretStore needs credentials.secretRef.namespace: the namespace of its credentials Secret")
    .field_path(".provider.thalassa.credentials.secretRef")
    .reason(Reason::FieldValueRequired))]
#[x_kube(validation = Rule::new("!has(self.provider.oci) || has(self.provider.oci.credentials.secretRef.__namespace__)")
    .message("a ClusterSecretStore needs credentials.secretRef.namespace: the namespace of its credentials Secret")
    .field_path(".provider.oci.credentials.secretRef")
    .reason(Reason::FieldValueRequired))]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecretStoreSpec {
    /// The Secret Manager provider: set exactly one (`scaleway`, `thalassa` or `oci`).
    pub provider: ProviderSpec,

    /// Namespaces whose ManagedSecrets may use this store: those listed in `names` and those matching
    /// `selector`. Unset allows every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_namespaces: Option<AllowedNamespaces>,

    /// How the namespaces using this store share its remote secrets: `PerNamespace` (default)
    /// puts each namespace's secrets under a folder named after it (`remote.path: /db` of a
    /// ManagedSecret in `team-a` is `/team-a/db`) and lets it adopt only secrets in that folder, so
    /// no namespace can read, overwrite or delete another's; `Shared` gives every allowed
    /// namespace the whole store (only for namespaces that trust each other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_paths: Option<RemotePaths>,

    /// How fast Keyward may call the provider with these credentials (see SecretStore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_budget: Option<RequestBudget>,
}

/// How the namespaces of a ClusterSecretStore share its remote secrets.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum RemotePaths {
    /// Each namespace under its own folder `/<namespace>`.
    #[default]
    PerNamespace,
    /// Every namespace addresses the whole store.
    Shared,
}

/// A request budget: a token bucket of `requestsPerSecond` with room for `burst` at once.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestBudget {
    /// Sustained requests per second (1 to 1000).
    #[schemars(range(min = 1, max = 1000))]
    pub requests_per_second: u32,

    /// Requests that may go at once after a quiet spell (1 to 1000, default 10). A provider that
    /// counts requests in one-second windows sees at most requestsPerSecond + burst in one window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub burst: Option<u32>,
}

/// Namespaces allowed to use a ClusterSecretStore: a namespace is allowed when it is listed in
/// `names` or matches `selector`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(validation = Rule::new("has(self.names) || has(self.selector)")
    .message("allowedNamespaces needs names, selector or both (leave allowedNamespaces out to allow every namespace)"))]
#[serde(rename_all = "camelCase")]
pub struct AllowedNamespaces {
    /// Names of allowed namespaces (at most 256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 63)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub names: Option<Vec<String>>,

    /// Label selector on namespaces (`matchLabels`, `matchExpressions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Exactly one provider: `scaleway`, `thalassa` or `oci`; the struct has one optional field per
/// provider.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("[has(self.scaleway), has(self.thalassa), has(self.oci)].exists_one(p, p)")
    .message("provider needs exactly one provider (supported: scaleway, thalassa, oci)"))]
#[serde(rename_all = "camelCase")]
pub struct ProviderSpec {
    /// Scaleway Secret Manager (v1beta1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaleway: Option<ScalewayProvider>,

    /// Thalassa Cloud Secrets Manager. Secrets are addressed by path (`remote.path` and
    /// `remote.name` make `/path/name`), created with their first version, and bound to a KMS key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thalassa: Option<ThalassaProvider>,

    /// OCI Vault secrets. A secret is created with its first version in one vault and encrypted
    /// with a master key of that vault; OCI has no folders, so `remote.path` becomes a prefix of
    /// the secret's name (`/team-a` and `db` make `team-a.db`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciProvider>,
}

/// Scaleway Secret Manager in one region and project.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScalewayProvider {
    /// Region: `fr-par`, `nl-ams` or `pl-waw`. Immutable: secrets cannot move between regions, so
    /// create another store for another region.
    #[x_kube(validation = Rule::new("self == oldSelf")
        .message("provider.scaleway.region is immutable: secrets cannot move between regions; create another store"))]
    pub region: ScalewayRegion,

    /// ID (UUID) of the Scaleway project that holds the secrets.
    #[schemars(length(max = 36))]
    #[x_kube(validation = Rule::new(concat!("self.matches('", "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", "')"))
        .message("provider.scaleway.projectId must be a UUID"))]
    pub project_id: String,

    /// Base URL of the Scaleway API, default `https://api.scaleway.com` (like `SCW_API_URL`). Keyward
    /// appends `/secret-manager/v1beta1/regions/{region}`. Set it to reach a local emulator, such as
    /// `http://127.0.0.1:9090`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+(/[^?#]*)?$')")
        .message("provider.scaleway.apiUrl must be an http(s) URL without query or fragment, such as https://api.scaleway.com"))]
    pub api_url: Option<String>,

    /// The Secret holding the API key.
    pub credentials: ScalewayCredentials,
}

/// Scaleway regions that offer Secret Manager.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ScalewayRegion {
    /// Paris.
    #[serde(rename = "fr-par")]
    FrPar,
    /// Amsterdam.
    #[serde(rename = "nl-ams")]
    NlAms,
    /// Warsaw.
    #[serde(rename = "pl-waw")]
    PlWaw,
}

impl ScalewayRegion {
    /// All regions, in the order the API lists them.
    pub const ALL: [ScalewayRegion; 3] = [Self::FrPar, Self::NlAms, Self::PlWaw];

    /// The region's name in URLs and IDs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FrPar => "fr-par",
            Self::NlAms => "nl-ams",
            Self::PlWaw => "pl-waw",
        }
    }
}

impl std::str::FromStr for ScalewayRegion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown Scaleway region {s:?} (expected fr-par, nl-ams or pl-waw)")
            })
    }
}

impl std::fmt::Display for ScalewayRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn default_access_key_key() -> String {
    DEFAULT_ACCESS_KEY_KEY.to_owned()
}
fn default_secret_key_key() -> String {
    DEFAULT_SECRET_KEY_KEY.to_owned()
}

/// Where the Scaleway API key is read from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalewayCredentials {
    /// The Secret holding the key. A SecretStore reads it from its own namespace; a
    /// ClusterSecretStore must name the namespace.
    pub secret_ref: SecretReference,

    /// Key in that Secret holding the access key (`SCW…`), default `SCW_ACCESS_KEY`. The access key
    /// only identifies the API key; it may be missing from the Secret.
    #[serde(default = "default_access_key_key")]
    #[schemars(length(min = 1, max = 253))]
    pub access_key_key: String,

    /// Key in that Secret holding the secret key (sent as `X-Auth-Token`), default `SCW_SECRET_KEY`.
    #[serde(default = "default_secret_key_key")]
    #[schemars(length(min = 1, max = 253))]
    pub secret_key_key: String,
}

/// Thalassa Cloud Secrets Manager in one region and organisation (optionally one project).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThalassaProvider {
    /// Region slug, such as `nl-01`. Immutable: a secret lives in one region and cannot be reached
    /// from another, so create another store for another region.
    #[schemars(length(min = 1, max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]+(-[a-z0-9]+)*$')")
        .message("provider.thalassa.region must be a region slug such as nl-01"))]
    #[x_kube(validation = Rule::new("self == oldSelf")
        .message("provider.thalassa.region is immutable: secrets cannot move between regions; create another store"))]
    pub region: String,

    /// Identity or slug of the organisation that holds the secrets (sent as
    /// `X-Organisation-Identity`).
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._-]*$')")
        .message("provider.thalassa.organisation must be an organisation identity or slug"))]
    pub organisation: String,

    /// Identity of the project, for project-scoped secrets (sent as `X-Project-Identity`). Unset
    /// uses the organisation scope. Secrets of one scope are not visible from another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._-]*$')")
        .message("provider.thalassa.project must be a project identity"))]
    pub project: Option<String>,

    /// Base URL of the Thalassa API, default `https://api.thalassa.cloud`. Keyward appends
    /// `/v1/secrets/{region}` (and `/oidc/token` for OIDC clients). Set it to reach a local
    /// emulator, such as `http://127.0.0.1:9090`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+(/[^?#]*)?$')")
        .message("provider.thalassa.apiUrl must be an http(s) URL without query or fragment, such as https://api.thalassa.cloud"))]
    pub api_url: Option<String>,

    /// Identity (or slug) of the KMS key new secrets are bound to: an active symmetric key
    /// (`aes128-gcm96`, `aes256-gcm96` or `chacha20-poly1305`) in the store's region. A secret's
    /// binding never changes; changing this affects secrets created afterwards only.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._-]*$')")
        .message("provider.thalassa.kmsKey must be a KMS key identity or slug"))]
    pub kms_key: String,

    /// The Secret holding a personal access token or an OIDC client.
    pub credentials: ThalassaCredentials,
}

fn default_personal_access_token_key() -> String {
    DEFAULT_PERSONAL_ACCESS_TOKEN_KEY.to_owned()
}
fn default_client_id_key() -> String {
    DEFAULT_CLIENT_ID_KEY.to_owned()
}
fn default_client_secret_key() -> String {
    DEFAULT_CLIENT_SECRET_KEY.to_owned()
}

/// Where the Thalassa credentials are read from: a personal access token (used when its key is
/// present), otherwise an OIDC client id and secret, exchanged for short-lived access tokens.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThalassaCredentials {
    /// The Secret holding the credentials. A SecretStore reads it from its own namespace; a
    /// ClusterSecretStore must name the namespace.
    pub secret_ref: SecretReference,

    /// Key in that Secret holding a personal access token, default
    /// `THALASSA_PERSONAL_ACCESS_TOKEN`.
    #[serde(default = "default_personal_access_token_key")]
    #[schemars(length(min = 1, max = 253))]
    pub personal_access_token_key: String,

    /// Key in that Secret holding an OIDC client id, default `THALASSA_CLIENT_ID`.
    #[serde(default = "default_client_id_key")]
    #[schemars(length(min = 1, max = 253))]
    pub client_id_key: String,

    /// Key in that Secret holding the OIDC client secret, default `THALASSA_CLIENT_SECRET`.
    #[serde(default = "default_client_secret_key")]
    #[schemars(length(min = 1, max = 253))]
    pub client_secret_key: String,
}

/// OCI Vault secrets in one region, compartment and vault, signed with an API key (user
/// principal).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OciProvider {
    /// Region identifier, such as `eu-frankfurt-1`. Immutable: a vault lives in one region, so
    /// create another store for another region.
    #[schemars(length(min = 1, max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z]+(-[a-z]+)+-[0-9]+$')")
        .message("provider.oci.region must be an OCI region identifier such as eu-frankfurt-1"))]
    #[x_kube(validation = Rule::new("self == oldSelf")
        .message("provider.oci.region is immutable: secrets cannot move between regions; create another store"))]
    pub region: String,

    /// OCID of the compartment that holds the secrets (the tenancy's OCID for the root
    /// compartment).
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = Rule::new("self.matches('^ocid1\\\\.(compartment|tenancy)\\\\.[a-z0-9-]+\\\\.[A-Za-z0-9._-]*[A-Za-z0-9]$')")
        .message("provider.oci.compartmentId must be a compartment or tenancy OCID (ocid1.compartment.oc1..…)"))]
    pub compartment_id: String,

    /// OCID of the vault that holds the secrets. Immutable: secrets cannot move between vaults.
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = Rule::new("self.matches('^ocid1\\\\.vault\\\\.[a-z0-9-]+\\\\.[A-Za-z0-9._-]*[A-Za-z0-9]$')")
        .message("provider.oci.vaultId must be a vault OCID (ocid1.vault.oc1.…)"))]
    #[x_kube(validation = Rule::new("self == oldSelf")
        .message("provider.oci.vaultId is immutable: secrets cannot move between vaults; create another store"))]
    pub vault_id: String,

    /// OCID of the master encryption key (a symmetric key of the vault) that new secrets are
    /// encrypted with. A secret keeps its key; changing this affects secrets created afterwards.
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = Rule::new("self.matches('^ocid1\\\\.key\\\\.[a-z0-9-]+\\\\.[A-Za-z0-9._-]*[A-Za-z0-9]$')")
        .message("provider.oci.keyId must be a key OCID (ocid1.key.oc1.…)"))]
    pub key_id: String,

    /// Where to reach the services instead of their public regional hosts (a private endpoint,
    /// a local emulator), as the SDK's `service_endpoint` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<OciEndpoints>,

    /// The Secret holding the API key.
    pub credentials: OciCredentials,
}

/// Endpoint overrides of an OCI store: scheme and host (and port), such as `http://127.0.0.1:9090`;
/// Keyward appends each API's base path.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct OciEndpoints {
    /// Vault secrets management, default `https://vaults.{region}.oci.oraclecloud.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+(/[^?#]*)?$')")
        .message("provider.oci.endpoints.vaults must be an http(s) URL without query or fragment"))]
    pub vaults: Option<String>,

    /// Secret retrieval (bundles), default `https://secrets.vaults.{region}.oci.oraclecloud.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+(/[^?#]*)?$')")
        .message("provider.oci.endpoints.secrets must be an http(s) URL without query or fragment"))]
    pub secrets: Option<String>,

    /// KMS management: the vault's `managementEndpoint`, used by ManagedKeys on this store that do
    /// not name their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^/?#]+(/[^?#]*)?$')")
        .message("provider.oci.endpoints.kmsManagement must be an http(s) URL without query or fragment"))]
    pub kms_management: Option<String>,
}

fn default_oci_tenancy_key() -> String {
    DEFAULT_OCI_TENANCY_KEY.to_owned()
}
fn default_oci_user_key() -> String {
    DEFAULT_OCI_USER_KEY.to_owned()
}
fn default_oci_fingerprint_key() -> String {
    DEFAULT_OCI_FINGERPRINT_KEY.to_owned()
}
fn default_oci_private_key_key() -> String {
    DEFAULT_OCI_PRIVATE_KEY_KEY.to_owned()
}
fn default_oci_passphrase_key() -> String {
    DEFAULT_OCI_PASSPHRASE_KEY.to_owned()
}

/// Where the OCI API key is read from, under the OCI CLI's variable names by default.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OciCredentials {
    /// The Secret holding the API key. A SecretStore reads it from its own namespace; a
    /// ClusterSecretStore must name the namespace.
    pub secret_ref: SecretReference,

    /// Key in that Secret holding the tenancy's OCID, default `OCI_CLI_TENANCY`.
    #[serde(default = "default_oci_tenancy_key")]
    #[schemars(length(min = 1, max = 253))]
    pub tenancy_key: String,

    /// Key holding the user's OCID, default `OCI_CLI_USER`.
    #[serde(default = "default_oci_user_key")]
    #[schemars(length(min = 1, max = 253))]
    pub user_key: String,

    /// Key holding the API key's fingerprint (`aa:bb:…`), default `OCI_CLI_FINGERPRINT`.
    #[serde(default = "default_oci_fingerprint_key")]
    #[schemars(length(min = 1, max = 253))]
    pub fingerprint_key: String,

    /// Key holding the private key in PEM (PKCS#8, encrypted PKCS#8 or PKCS#1), default
    /// `OCI_CLI_KEY_CONTENT`.
    #[serde(default = "default_oci_private_key_key")]
    #[schemars(length(min = 1, max = 253))]
    pub private_key_key: String,

    /// Key holding the private key's passphrase, if it is encrypted, default
    /// `OCI_CLI_PASSPHRASE`.
    #[serde(default = "default_oci_passphrase_key")]
    #[schemars(length(min = 1, max = 253))]
    pub passphrase_key: String,
}

/// A reference to a Secret by name (and, for cluster-scoped stores, namespace).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretReference {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// Namespace of the Secret: required for a ClusterSecretStore, not allowed for a SecretStore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// Observed state of a store, written only by Keyward.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatus {
    /// The provider (`scaleway`, `thalassa`, `oci`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,

    /// The provider's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,

    /// Conditions: `Ready` says whether the credentials could be read and the provider accepted them,
    /// with a reason such as Valid, CredentialsNotFound, AuthFailed, EndpointNotAllowed,
    /// RateLimited or ProviderError.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// When the store's Ready condition was last confirmed against the provider (written when
    /// the condition changes, and at most every ten minutes otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_validated_time: Option<Time>,
}

/// What ManagedSecrets need from either kind of store.
pub trait StoreSpecExt {
    /// The provider configuration.
    fn provider(&self) -> &ProviderSpec;
    /// The request budget, when the store sets one.
    fn request_budget(&self) -> Option<RequestBudget>;
}

impl StoreSpecExt for SecretStoreSpec {
    fn provider(&self) -> &ProviderSpec {
        &self.provider
    }
    fn request_budget(&self) -> Option<RequestBudget> {
        self.request_budget
    }
}

impl StoreSpecExt for ClusterSecretStoreSpec {
    fn provider(&self) -> &ProviderSpec {
        &self.provider
    }
    fn request_budget(&self) -> Option<RequestBudget> {
        self.request_budget
    }
}
