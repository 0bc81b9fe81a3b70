//! The low-level OCI client: one method per endpoint of the reference (vault secrets management,
//! secret bundles, KMS keys and key versions), every request signed, retries where safe, errors
//! classified, listings paged by `opc-next-page`.
//!
//! Logging: each operation runs in an `oci` span carrying the operation name, the resource id, the
//! last HTTP status and the number of attempts. Bodies are never logged; an error from a call that
//! carried a payload is scrubbed of it in case the server quotes it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::config::{OciConfig, Service};
use super::errors::classify;
use super::signing::RequestSigner;
use super::wire::{
    CreateSecretDetails, Key, KeyVersion, KeyVersionSummary, ScheduleDeletionDetails, Secret,
    SecretBundle, SecretBundleVersionSummary, SecretContent, SecretLifecycleState, SecretSummary,
    SecretVersion, SecretVersionSummary, Stage, UpdateSecretDetails,
};
use crate::provider::http::{self, Attempt, TransportFailure};
use crate::provider::observer::NoopObserver;
use crate::provider::retry::{AttemptFailure, Repeatable, parse_retry_after};
use crate::provider::{
    CallClass, CallObserver, ErrorKind, OpenGate, ProviderError, ProviderResult, RateSignal,
    RequestGate,
};

pub(crate) const PROVIDER: &str = "oci";

/// Pages fetched at most by one listing: a guard against a server whose `opc-next-page` never ends.
const MAX_PAGES: u32 = 1000;

/// The endpoints, named as in logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateSecret,
    GetSecret,
    UpdateSecret,
    ListSecrets,
    ListSecretVersions,
    GetSecretVersion,
    ScheduleSecretDeletion,
    CancelSecretDeletion,
    ScheduleSecretVersionDeletion,
    CancelSecretVersionDeletion,
    GetSecretBundle,
    GetSecretBundleByName,
    ListSecretBundleVersions,
    GetKey,
    CreateKeyVersion,
    ListKeyVersions,
    GetKeyVersion,
    ScheduleKeyVersionDeletion,
    CancelKeyVersionDeletion,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateSecret => "create_secret",
            Operation::GetSecret => "get_secret",
            Operation::UpdateSecret => "update_secret",
            Operation::ListSecrets => "list_secrets",
            Operation::ListSecretVersions => "list_secret_versions",
            Operation::GetSecretVersion => "get_secret_version",
            Operation::ScheduleSecretDeletion => "schedule_secret_deletion",
            Operation::CancelSecretDeletion => "cancel_secret_deletion",
            Operation::ScheduleSecretVersionDeletion => "schedule_secret_version_deletion",
            Operation::CancelSecretVersionDeletion => "cancel_secret_version_deletion",
            Operation::GetSecretBundle => "get_secret_bundle",
            Operation::GetSecretBundleByName => "get_secret_bundle_by_name",
            Operation::ListSecretBundleVersions => "list_secret_bundle_versions",
            Operation::GetKey => "get_key",
            Operation::CreateKeyVersion => "create_key_version",
            Operation::ListKeyVersions => "list_key_versions",
            Operation::GetKeyVersion => "get_key_version",
            Operation::ScheduleKeyVersionDeletion => "schedule_key_version_deletion",
            Operation::CancelKeyVersionDeletion => "cancel_key_version_deletion",
        }
    }

    /// How the request budget counts it: KMS management writes are throttled for the whole
    /// tenancy [SEED], so they also take a turn from the tenancy's shared budget.
    pub fn class(self) -> CallClass {
        use Operation::*;
        match self {
            CreateKeyVersion | ScheduleKeyVersionDeletion | CancelKeyVersionDeletion => {
                CallClass::TenancyWrite
            }
            CreateSecret
            | UpdateSecret
            | ScheduleSecretDeletion
            | CancelSecretDeletion
            | ScheduleSecretVersionDeletion
            | CancelSecretVersionDeletion => CallClass::Write,
            // GetSecretBundleByName is a POST that only reads.
            _ => CallClass::Read,
        }
    }

    pub fn service(self) -> Service {
        use Operation::*;
        match self {
            GetSecretBundle | GetSecretBundleByName | ListSecretBundleVersions => Service::Secrets,
            GetKey
            | CreateKeyVersion
            | ListKeyVersions
            | GetKeyVersion
            | ScheduleKeyVersionDeletion
            | CancelKeyVersionDeletion => Service::KmsManagement,
            _ => Service::Vaults,
        }
    }
}

/// Filters of ListSecrets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretFilter {
    pub compartment_id: String,
    pub vault_id: Option<String>,
    /// Exact name.
    pub name: Option<String>,
    pub lifecycle_state: Option<SecretLifecycleState>,
}

/// Which version GetSecretBundle reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BundleSelector {
    /// The server's default, `CURRENT`.
    #[default]
    Current,
    Stage(Stage),
    VersionNumber(u64),
    VersionName(String),
}

impl BundleSelector {
    fn query(&self) -> Option<(&'static str, String)> {
        match self {
            BundleSelector::Current => None,
            BundleSelector::Stage(s) => Some(("stage", s.as_str().to_string())),
            BundleSelector::VersionNumber(n) => Some(("versionNumber", n.to_string())),
            BundleSelector::VersionName(n) => Some(("secretVersionName", n.clone())),
        }
    }
}

/// One page of a listing and the token of the next (`opc-next-page`).
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page: Option<String>,
}

/// One HTTP call to make.
struct Call {
    op: Operation,
    method: Method,
    segments: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    retry_token: Option<String>,
    if_match: Option<String>,
    resource_id: Option<String>,
    repeatable: Repeatable,
}

impl Call {
    fn new(op: Operation, method: Method, segments: &[&str]) -> Self {
        // Reads and state changes are repeatable; the writes that make something say otherwise.
        Self {
            op,
            method,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            retry_token: None,
            if_match: None,
            resource_id: None,
            repeatable: Repeatable::Yes,
        }
    }

    fn resource(mut self, id: &str) -> Self {
        self.resource_id = Some(id.to_string());
        self
    }

    fn json(mut self, body: &impl serde::Serialize) -> Self {
        // Serializing our own request types cannot fail (string keys only).
        self.body = Some(serde_json::to_vec(body).expect("request serializes"));
        self
    }

    /// A POST with no body still sends one, empty, and signs it.
    fn empty_body(mut self) -> Self {
        self.body = Some(Vec::new());
        self
    }

    fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    fn query_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// A write that makes something: repeatable only with a retry token.
    fn creates(mut self, retry_token: Option<&str>) -> Self {
        self.retry_token = retry_token.map(str::to_string);
        self.repeatable = if self.retry_token.is_some() {
            Repeatable::Yes
        } else {
            Repeatable::No
        };
        self
    }

    fn retry_token(mut self, token: Option<&str>) -> Self {
        self.retry_token = token.map(str::to_string);
        self
    }

    fn if_match(mut self, etag: Option<&str>) -> Self {
        self.if_match = etag.map(str::to_string);
        self
    }
}

/// A successful answer.
struct Answer {
    body: Vec<u8>,
    etag: Option<String>,
    next_page: Option<String>,
}

/// An HTTP answer of any status.
struct Exchange {
    status: u16,
    retry_after: Option<Duration>,
    request_id: Option<String>,
    etag: Option<String>,
    next_page: Option<String>,
    body: Vec<u8>,
}

/// OCI Vault, secret retrieval and KMS management client for one API key and region.
#[derive(Clone)]
pub struct OciClient {
    http: reqwest::Client,
    signer: RequestSigner,
    config: OciConfig,
    gate: Arc<dyn RequestGate>,
    observer: Arc<dyn CallObserver>,
}

impl std::fmt::Debug for OciClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciClient")
            .field("region", &self.config.region)
            .field("key_id", &self.signer.key_id().to_string())
            .finish_non_exhaustive()
    }
}

impl OciClient {
    pub fn new(config: OciConfig) -> ProviderResult<Self> {
        let fail = |message: String| {
            ProviderError::new(
                PROVIDER,
                "configure",
                ErrorKind::InvalidArgument { details: vec![] },
                message,
            )
        };
        let signer = config.signer().map_err(|e| fail(e.to_string()))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|_| fail("could not build the HTTP client".into()))?;
        Ok(Self {
            http,
            signer,
            config,
            gate: Arc::new(OpenGate),
            observer: Arc::new(NoopObserver),
        })
    }

    /// Every attempt passes `gate` (the store runtime's budget) first.
    pub fn with_gate(mut self, gate: Arc<dyn RequestGate>) -> Self {
        self.gate = gate;
        self
    }

    /// Reports every finished operation to `observer` (metrics).
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = observer;
        self
    }

    pub fn config(&self) -> &OciConfig {
        &self.config
    }

    // ---- vault secrets management ----

    /// CreateSecret: the secret and its version 1. With a `retry_token` a repeat returns the first
    /// result (and is then retried on ambiguous failures); without one it is never repeated.
    pub async fn create_secret(
        &self,
        details: &CreateSecretDetails,
        retry_token: Option<&str>,
    ) -> ProviderResult<Secret> {
        let call = Call::new(Operation::CreateSecret, Method::POST, &["secrets"])
            .json(details)
            .creates(retry_token);
        self.fetch_tagged(call, |s: &mut Secret, etag| s.etag = etag)
            .await
            .map_err(|e| scrub_content(e, Some(&details.secret_content)))
    }

    pub async fn get_secret(&self, secret_id: &str) -> ProviderResult<Secret> {
        let call = Call::new(Operation::GetSecret, Method::GET, &["secrets", secret_id])
            .resource(secret_id);
        self.fetch_tagged(call, |s: &mut Secret, etag| s.etag = etag)
            .await
    }

    /// UpdateSecret. New content makes a version and is never repeated (the API takes no retry token
    /// here); a promotion (`current_version_number`) or a rules or tags change is.
    pub async fn update_secret(
        &self,
        secret_id: &str,
        details: &UpdateSecretDetails,
        if_match: Option<&str>,
    ) -> ProviderResult<Secret> {
        let mut call = Call::new(
            Operation::UpdateSecret,
            Method::PUT,
            &["secrets", secret_id],
        )
        .resource(secret_id)
        .json(details)
        .if_match(if_match);
        if details.secret_content.is_some() {
            call = call.creates(None);
        }
        self.fetch_tagged(call, |s: &mut Secret, etag| s.etag = etag)
            .await
            .map_err(|e| scrub_content(e, details.secret_content.as_ref()))
    }

    /// One page of ListSecrets (`page` is the previous page's `next_page`).
    pub async fn list_secrets_page(
        &self,
        filter: &SecretFilter,
        page: Option<&str>,
    ) -> ProviderResult<Page<SecretSummary>> {
        let call = Call::new(Operation::ListSecrets, Method::GET, &["secrets"])
            .query("compartmentId", &filter.compartment_id)
            .query_opt("vaultId", filter.vault_id.as_ref())
            .query_opt("name", filter.name.as_ref())
            .query_opt("lifecycleState", filter.lifecycle_state.map(|s| s.as_str()))
            .query("limit", self.config.page_size)
            .query_opt("page", page);
        self.fetch_page(call).await
    }

    /// Every page of ListSecrets.
    pub async fn list_secrets(&self, filter: &SecretFilter) -> ProviderResult<Vec<SecretSummary>> {
        self.all_pages(|page| async move { self.list_secrets_page(filter, page.as_deref()).await })
            .await
    }

    pub async fn list_secret_versions_page(
        &self,
        secret_id: &str,
        page: Option<&str>,
    ) -> ProviderResult<Page<SecretVersionSummary>> {
        let call = Call::new(
            Operation::ListSecretVersions,
            Method::GET,
            &["secrets", secret_id, "versions"],
        )
        .resource(secret_id)
        .query("limit", self.config.page_size)
        .query_opt("page", page);
        self.fetch_page(call).await
    }

    /// Every version summary of a secret (all pages).
    pub async fn list_secret_versions(
        &self,
        secret_id: &str,
    ) -> ProviderResult<Vec<SecretVersionSummary>> {
        self.all_pages(|page| async move {
            self.list_secret_versions_page(secret_id, page.as_deref())
                .await
        })
        .await
    }

    pub async fn get_secret_version(
        &self,
        secret_id: &str,
        version_number: u64,
    ) -> ProviderResult<SecretVersion> {
        let n = version_number.to_string();
        let call = Call::new(
            Operation::GetSecretVersion,
            Method::GET,
            &["secrets", secret_id, "version", &n],
        )
        .resource(secret_id);
        self.fetch(call).await
    }

    /// Schedules the secret's deletion (`None`: the server's default window, 30 days).
    pub async fn schedule_secret_deletion(
        &self,
        secret_id: &str,
        time_of_deletion: Option<jiff::Timestamp>,
        if_match: Option<&str>,
    ) -> ProviderResult<()> {
        let call = Call::new(
            Operation::ScheduleSecretDeletion,
            Method::POST,
            &["secrets", secret_id, "actions", "scheduleDeletion"],
        )
        .resource(secret_id)
        .json(&ScheduleDeletionDetails { time_of_deletion })
        .if_match(if_match);
        self.execute(call).await.map(|_| ())
    }

    pub async fn cancel_secret_deletion(
        &self,
        secret_id: &str,
        if_match: Option<&str>,
    ) -> ProviderResult<()> {
        let call = Call::new(
            Operation::CancelSecretDeletion,
            Method::POST,
            &["secrets", secret_id, "actions", "cancelDeletion"],
        )
        .resource(secret_id)
        .empty_body()
        .if_match(if_match);
        self.execute(call).await.map(|_| ())
    }

    /// Schedules a version's deletion; only a `DEPRECATED` version can be.
    pub async fn schedule_secret_version_deletion(
        &self,
        secret_id: &str,
        version_number: u64,
        time_of_deletion: Option<jiff::Timestamp>,
        if_match: Option<&str>,
    ) -> ProviderResult<()> {
        let n = version_number.to_string();
        let call = Call::new(
            Operation::ScheduleSecretVersionDeletion,
            Method::POST,
            &[
                "secrets",
                secret_id,
                "version",
                &n,
                "actions",
                "scheduleDeletion",
            ],
        )
        .resource(secret_id)
        .json(&ScheduleDeletionDetails { time_of_deletion })
        .if_match(if_match);
        self.execute(call).await.map(|_| ())
    }

    pub async fn cancel_secret_version_deletion(
        &self,
        secret_id: &str,
        version_number: u64,
        if_match: Option<&str>,
    ) -> ProviderResult<()> {
        let n = version_number.to_string();
        let call = Call::new(
            Operation::CancelSecretVersionDeletion,
            Method::POST,
            &[
                "secrets",
                secret_id,
                "version",
                &n,
                "actions",
                "cancelDeletion",
            ],
        )
        .resource(secret_id)
        .empty_body()
        .if_match(if_match);
        self.execute(call).await.map(|_| ())
    }

    // ---- secret retrieval ----

    /// GetSecretBundle: one version with its payload.
    pub async fn get_secret_bundle(
        &self,
        secret_id: &str,
        selector: &BundleSelector,
    ) -> ProviderResult<SecretBundle> {
        let mut call = Call::new(
            Operation::GetSecretBundle,
            Method::GET,
            &["secretbundles", secret_id],
        )
        .resource(secret_id);
        if let Some((k, v)) = selector.query() {
            call = call.query(k, v);
        }
        self.fetch(call).await
    }

    /// GetSecretBundleByName (a POST with an empty body; a read, so repeatable).
    pub async fn get_secret_bundle_by_name(
        &self,
        vault_id: &str,
        secret_name: &str,
        selector: &BundleSelector,
    ) -> ProviderResult<SecretBundle> {
        let mut call = Call::new(
            Operation::GetSecretBundleByName,
            Method::POST,
            &["secretbundles", "actions", "getByName"],
        )
        .query("secretName", secret_name)
        .query("vaultId", vault_id)
        .empty_body();
        if let Some((k, v)) = selector.query() {
            call = call.query(k, v);
        }
        self.fetch(call).await
    }

    pub async fn list_secret_bundle_versions_page(
        &self,
        secret_id: &str,
        page: Option<&str>,
    ) -> ProviderResult<Page<SecretBundleVersionSummary>> {
        let call = Call::new(
            Operation::ListSecretBundleVersions,
            Method::GET,
            &["secretbundles", secret_id, "versions"],
        )
        .resource(secret_id)
        .query("limit", self.config.page_size)
        .query_opt("page", page);
        self.fetch_page(call).await
    }

    pub async fn list_secret_bundle_versions(
        &self,
        secret_id: &str,
    ) -> ProviderResult<Vec<SecretBundleVersionSummary>> {
        self.all_pages(|page| async move {
            self.list_secret_bundle_versions_page(secret_id, page.as_deref())
                .await
        })
        .await
    }

    // ---- KMS keys and key versions (the vault's management endpoint) ----

    pub async fn get_key(&self, key_id: &str) -> ProviderResult<Key> {
        let call = Call::new(Operation::GetKey, Method::GET, &["keys", key_id]).resource(key_id);
        self.fetch_tagged(call, |k: &mut Key, etag| k.etag = etag)
            .await
    }

    /// CreateKeyVersion: new key material; the key must be `ENABLED`. A management write (10/s per
    /// tenancy). Repeated on ambiguous failures only with a `retry_token`.
    pub async fn create_key_version(
        &self,
        key_id: &str,
        retry_token: Option<&str>,
    ) -> ProviderResult<KeyVersion> {
        let call = Call::new(
            Operation::CreateKeyVersion,
            Method::POST,
            &["keys", key_id, "keyVersions"],
        )
        .resource(key_id)
        .empty_body()
        .creates(retry_token);
        self.fetch_tagged(call, |v: &mut KeyVersion, etag| v.etag = etag)
            .await
    }

    pub async fn list_key_versions_page(
        &self,
        key_id: &str,
        page: Option<&str>,
    ) -> ProviderResult<Page<KeyVersionSummary>> {
        let call = Call::new(
            Operation::ListKeyVersions,
            Method::GET,
            &["keys", key_id, "keyVersions"],
        )
        .resource(key_id)
        .query("limit", self.config.page_size)
        .query_opt("page", page);
        self.fetch_page(call).await
    }

    pub async fn list_key_versions(&self, key_id: &str) -> ProviderResult<Vec<KeyVersionSummary>> {
        self.all_pages(
            |page| async move { self.list_key_versions_page(key_id, page.as_deref()).await },
        )
        .await
    }

    pub async fn get_key_version(
        &self,
        key_id: &str,
        key_version_id: &str,
    ) -> ProviderResult<KeyVersion> {
        let call = Call::new(
            Operation::GetKeyVersion,
            Method::GET,
            &["keys", key_id, "keyVersions", key_version_id],
        )
        .resource(key_id);
        self.fetch_tagged(call, |v: &mut KeyVersion, etag| v.etag = etag)
            .await
    }

    /// Schedules a key version's deletion (7 to 30 days). Data encrypted with it becomes unreadable
    /// then: callers must never do this by default.
    pub async fn schedule_key_version_deletion(
        &self,
        key_id: &str,
        key_version_id: &str,
        time_of_deletion: Option<jiff::Timestamp>,
        if_match: Option<&str>,
        retry_token: Option<&str>,
    ) -> ProviderResult<KeyVersion> {
        let call = Call::new(
            Operation::ScheduleKeyVersionDeletion,
            Method::POST,
            &[
                "keys",
                key_id,
                "keyVersions",
                key_version_id,
                "actions",
                "scheduleDeletion",
            ],
        )
        .resource(key_id)
        .json(&ScheduleDeletionDetails { time_of_deletion })
        .if_match(if_match)
        .retry_token(retry_token);
        self.fetch_tagged(call, |v: &mut KeyVersion, etag| v.etag = etag)
            .await
    }

    pub async fn cancel_key_version_deletion(
        &self,
        key_id: &str,
        key_version_id: &str,
        if_match: Option<&str>,
        retry_token: Option<&str>,
    ) -> ProviderResult<KeyVersion> {
        let call = Call::new(
            Operation::CancelKeyVersionDeletion,
            Method::POST,
            &[
                "keys",
                key_id,
                "keyVersions",
                key_version_id,
                "actions",
                "cancelDeletion",
            ],
        )
        .resource(key_id)
        .empty_body()
        .if_match(if_match)
        .retry_token(retry_token);
        self.fetch_tagged(call, |v: &mut KeyVersion, etag| v.etag = etag)
            .await
    }

    // ---- transport ----

    async fn all_pages<T, F, Fut>(&self, mut page_of: F) -> ProviderResult<Vec<T>>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: std::future::Future<Output = ProviderResult<Page<T>>>,
    {
        let mut out = Vec::new();
        let mut next = None;
        for _ in 0..MAX_PAGES {
            let page = page_of(next.take()).await?;
            out.extend(page.items);
            match page.next_page.filter(|p| !p.is_empty()) {
                Some(p) => next = Some(p),
                None => break,
            }
        }
        Ok(out)
    }

    async fn fetch<T: DeserializeOwned>(&self, call: Call) -> ProviderResult<T> {
        let op = call.op;
        let answer = self.execute(call).await?;
        decode(op, &answer.body)
    }

    /// Like [`OciClient::fetch`], handing the answer's `etag` to `tag`.
    async fn fetch_tagged<T: DeserializeOwned>(
        &self,
        call: Call,
        tag: impl FnOnce(&mut T, Option<String>),
    ) -> ProviderResult<T> {
        let op = call.op;
        let answer = self.execute(call).await?;
        let mut value = decode(op, &answer.body)?;
        tag(&mut value, answer.etag);
        Ok(value)
    }

    async fn fetch_page<T: DeserializeOwned>(&self, call: Call) -> ProviderResult<Page<T>> {
        let op = call.op;
        let answer = self.execute(call).await?;
        Ok(Page {
            items: decode(op, &answer.body)?,
            next_page: answer.next_page,
        })
    }

    async fn execute(&self, call: Call) -> ProviderResult<Answer> {
        let span = tracing::info_span!(
            "oci",
            operation = call.op.name(),
            resource_id = call.resource_id.as_deref(),
            http_status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.execute_with_retries(call).instrument(span).await
    }

    fn url(&self, call: &Call) -> ProviderResult<Url> {
        let service = call.op.service();
        let base = self.config.base_url(service).ok_or_else(|| {
            ProviderError::new(
                PROVIDER,
                call.op.name(),
                ErrorKind::InvalidArgument { details: vec![] },
                format!("no {} endpoint is configured", service.name()),
            )
        })?;
        let mut url = Url::parse(&base).map_err(|_| {
            ProviderError::new(
                PROVIDER,
                call.op.name(),
                ErrorKind::InvalidArgument { details: vec![] },
                format!("the {} endpoint is not a URL", service.name()),
            )
        })?;
        url.path_segments_mut()
            .expect("http(s) URLs have path segments")
            .pop_if_empty()
            .extend(&call.segments);
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &call.query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    async fn execute_with_retries(&self, call: Call) -> ProviderResult<Answer> {
        let http_call = http::Call {
            provider: PROVIDER,
            operation: call.op.name(),
            class: call.op.class(),
            repeatable: call.repeatable,
            policy: &self.config.retry,
            gate: self.gate.as_ref(),
            observer: self.observer.as_ref(),
        };
        let url = self.url(&call);
        let (call, url) = (&call, &url);
        http_call
            .run(
                || async {
                    match url {
                        Ok(url) => Ok(url),
                        // Nothing to send: a configuration problem, reported as the call's end.
                        Err(e) => Err(Attempt::Final(e.clone())),
                    }
                },
                |url| async move {
                    match self.attempt(call, url).await {
                        Ok(x) if (200..300).contains(&x.status) => Attempt::Done {
                            value: Answer {
                                body: x.body,
                                etag: x.etag,
                                next_page: x.next_page,
                            },
                            status: x.status,
                        },
                        Ok(x) => {
                            let classified = classify(x.status, x.retry_after, &x.body);
                            Attempt::Failed {
                                failure: AttemptFailure::Answer {
                                    refusal: classified.refusal,
                                    retry_after: x.retry_after,
                                },
                                error: classified.into_error(
                                    PROVIDER,
                                    call.op.name(),
                                    x.status,
                                    x.request_id,
                                ),
                            }
                        }
                        Err(t) => t.attempt(PROVIDER, call.op.name()),
                    }
                },
            )
            .await
    }

    /// One signed HTTP exchange (signed afresh, so a retry carries a current `date`).
    async fn attempt(&self, call: &Call, url: &Url) -> Result<Exchange, TransportFailure> {
        let body = call.body.as_deref().unwrap_or_default();
        let signed = self.signer.sign_url(
            call.method.as_str(),
            url,
            body,
            None,
            jiff::Timestamp::now(),
        );
        let mut request = self
            .http
            .request(call.method.clone(), url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &signed.headers {
            let Ok(mut value) = HeaderValue::from_str(value) else {
                continue; // our own ASCII values; never happens
            };
            if *name == "authorization" {
                value.set_sensitive(true);
            }
            request = request.header(HeaderName::from_static(name), value);
        }
        if let Some(token) = &call.retry_token {
            request = request.header("opc-retry-token", token);
        }
        if let Some(etag) = &call.if_match {
            request = request.header(reqwest::header::IF_MATCH, etag);
        }
        if call.body.is_some() {
            request = request.body(body.to_vec());
        }
        let response = request.send().await.map_err(|e| TransportFailure::of(&e))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after =
            header("retry-after").and_then(|v| parse_retry_after(&v, jiff::Timestamp::now()));
        self.gate.observe(&RateSignal::from_response(
            status,
            response.headers(),
            retry_after,
        ));
        let request_id = header("opc-request-id");
        let etag = header("etag");
        let next_page = header("opc-next-page");
        let body = response
            .bytes()
            .await
            .map_err(|_| TransportFailure {
                not_sent: false,
                message: "the connection broke while reading the answer",
            })?
            .to_vec();
        Ok(Exchange {
            status,
            retry_after,
            request_id,
            etag,
            next_page,
            body,
        })
    }
}

fn decode<T: DeserializeOwned>(op: Operation, body: &[u8]) -> ProviderResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        // serde's message may quote the offending value (which could be a payload): keep only where.
        ProviderError::new(
            PROVIDER,
            op.name(),
            ErrorKind::InvalidResponse,
            format!(
                "could not decode the answer ({:?} at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        )
    })
}

/// In case the server quotes what it refused: the payload, its base64, or (JSON payloads) one of its
/// string values.
fn scrub_content(e: ProviderError, content: Option<&SecretContent>) -> ProviderError {
    let Some(content) = content else {
        return e;
    };
    let raw = content.content.expose();
    let encoded = BASE64.encode(raw);
    let text = String::from_utf8_lossy(raw);
    let mut needles: Vec<&str> = vec![&encoded, &text];
    let parsed: Option<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(raw).ok();
    if let Some(map) = &parsed {
        needles.extend(map.values().filter_map(serde_json::Value::as_str));
    }
    e.scrub(&needles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_that_make_something_are_unrepeatable_without_a_token() {
        let post =
            |token| Call::new(Operation::CreateSecret, Method::POST, &["secrets"]).creates(token);
        assert_eq!(post(None).repeatable, Repeatable::No);
        assert_eq!(post(Some("t")).repeatable, Repeatable::Yes);
        let get = Call::new(Operation::GetSecret, Method::GET, &["secrets", "x"]);
        assert_eq!(get.repeatable, Repeatable::Yes);
    }

    #[test]
    fn kms_writes_are_tenancy_writes() {
        assert_eq!(Operation::CreateKeyVersion.class(), CallClass::TenancyWrite);
        assert_eq!(Operation::UpdateSecret.class(), CallClass::Write);
        assert_eq!(Operation::GetSecretBundleByName.class(), CallClass::Read);
        assert_eq!(Operation::GetKey.class(), CallClass::Read);
    }

    #[test]
    fn services_of_operations() {
        assert_eq!(Operation::GetSecretBundleByName.service(), Service::Secrets);
        assert_eq!(
            Operation::CreateKeyVersion.service(),
            Service::KmsManagement
        );
        assert_eq!(
            Operation::ScheduleSecretVersionDeletion.service(),
            Service::Vaults
        );
    }

    #[test]
    fn bundle_selectors() {
        assert_eq!(BundleSelector::Current.query(), None);
        assert_eq!(
            BundleSelector::Stage(Stage::Previous).query(),
            Some(("stage", "PREVIOUS".into()))
        );
        assert_eq!(
            BundleSelector::VersionNumber(4).query(),
            Some(("versionNumber", "4".into()))
        );
        assert_eq!(
            BundleSelector::VersionName("v4".into()).query(),
            Some(("secretVersionName", "v4".into()))
        );
    }
}
