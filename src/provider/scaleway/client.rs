//! The HTTP client: one method per endpoint Keyward uses, retries where safe, errors classified.
//!
//! Logging: each operation runs in a `scaleway` span carrying the operation name, the secret id, the
//! revision, the last HTTP status and the number of attempts. Bodies are never logged.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::config::ScalewayConfig;
use super::errors::classify_with_resource;
use super::wire::{self, AccessResponse, ListSecretsResponse, ListVersionsResponse};
use crate::provider::http::{self, Attempt, TransportFailure};
use crate::provider::observer::NoopObserver;
use crate::provider::retry::{AttemptFailure, Repeatable, parse_retry_after};
use crate::provider::{
    AccessedVersion, CallClass, CallObserver, ErrorKind, NewSecret, NewVersion, OpenGate,
    ProviderError, ProviderResult, RateSignal, RemoteSecret, RemoteVersion, RequestGate,
    RevisionSelector, SecretId, SecretUpdate,
};
use crate::secret_value::SecretValue;

pub(crate) const PROVIDER: &str = "scaleway";

/// Pages fetched at most by one listing: a guard against a server whose `total_count` never adds up.
const MAX_PAGES: u32 = 1000;

/// The endpoints Keyward uses, named as in logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateSecret,
    GetSecret,
    UpdateSecret,
    DeleteSecret,
    ListSecrets,
    ProtectSecret,
    UnprotectSecret,
    CreateVersion,
    GetVersion,
    UpdateVersion,
    DeleteVersion,
    ListVersions,
    AccessVersion,
    EnableVersion,
    DisableVersion,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateSecret => "create_secret",
            Operation::GetSecret => "get_secret",
            Operation::UpdateSecret => "update_secret",
            Operation::DeleteSecret => "delete_secret",
            Operation::ListSecrets => "list_secrets",
            Operation::ProtectSecret => "protect_secret",
            Operation::UnprotectSecret => "unprotect_secret",
            Operation::CreateVersion => "create_version",
            Operation::GetVersion => "get_version",
            Operation::UpdateVersion => "update_version",
            Operation::DeleteVersion => "delete_version",
            Operation::ListVersions => "list_versions",
            Operation::AccessVersion => "access_version",
            Operation::EnableVersion => "enable_version",
            Operation::DisableVersion => "disable_version",
        }
    }

    /// Creates are not repeatable: a second POST is a second object. Everything else reads or sets
    /// a state, so repeating it has the same effect (a repeated DELETE may answer `NotFound`).
    fn repeatable(self) -> Repeatable {
        match self {
            Operation::CreateSecret | Operation::CreateVersion => Repeatable::No,
            _ => Repeatable::Yes,
        }
    }
}

/// Filters for [`ScalewayClient::list_secrets`]; the project is always the configured one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListSecretsFilter {
    /// Server-side name filter (exact or substring: unconfirmed; callers compare again).
    pub name: Option<String>,
    /// Exact folder.
    pub path: Option<String>,
}

/// One HTTP call to make.
struct Call {
    op: Operation,
    method: Method,
    segments: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    secret_id: Option<String>,
    revision: Option<String>,
}

impl Call {
    fn new(op: Operation, method: Method, segments: &[&str]) -> Self {
        Self {
            op,
            method,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            secret_id: None,
            revision: None,
        }
    }

    fn secret(mut self, id: &SecretId) -> Self {
        self.secret_id = Some(id.0.clone());
        self
    }

    fn revision(mut self, revision: impl ToString) -> Self {
        self.revision = Some(revision.to_string());
        self
    }

    fn json(mut self, body: &impl serde::Serialize) -> Self {
        // Serializing our own request types cannot fail (string keys, no maps with other keys).
        self.body = Some(serde_json::to_vec(body).expect("request serializes"));
        self
    }

    fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }
}

/// A successful answer.
struct Answer {
    body: Vec<u8>,
}

/// Scaleway Secret Manager v1beta1 client for one region and project.
#[derive(Clone)]
pub struct ScalewayClient {
    http: reqwest::Client,
    base: Url,
    config: ScalewayConfig,
    observer: Arc<dyn CallObserver>,
    gate: Arc<dyn RequestGate>,
}

impl std::fmt::Debug for ScalewayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScalewayClient")
            .field("base", &self.base.as_str())
            .field("project_id", &self.config.project_id)
            .finish_non_exhaustive()
    }
}

impl ScalewayClient {
    pub fn new(config: ScalewayConfig) -> ProviderResult<Self> {
        let fail = |message: &str| {
            ProviderError::new(
                PROVIDER,
                "configure",
                ErrorKind::InvalidArgument { details: vec![] },
                message,
            )
        };
        let base = Url::parse(&config.base_url()).map_err(|_| fail("the API URL is invalid"))?;
        let mut token = HeaderValue::from_str(config.secret_key.expose())
            .map_err(|_| fail("the secret key contains characters not allowed in a header"))?;
        token.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("X-Auth-Token", token);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // A redirect would carry the secret key to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| fail("could not build the HTTP client"))?;
        Ok(Self {
            http,
            base,
            config,
            observer: Arc::new(NoopObserver),
            gate: Arc::new(OpenGate),
        })
    }

    /// A client configured from `SCW_*` environment variables (see [`ScalewayConfig::from_env`]).
    pub fn from_env() -> ProviderResult<Self> {
        let config = ScalewayConfig::from_env().map_err(|e| {
            ProviderError::new(
                PROVIDER,
                "configure",
                ErrorKind::InvalidArgument { details: vec![] },
                e.to_string(),
            )
        })?;
        Self::new(config)
    }

    /// Reports every finished operation to `observer` (metrics).
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Every HTTP attempt passes `gate` first (the store runtime's request budget) and reports the
    /// answer's rate signal to it.
    pub fn with_gate(mut self, gate: Arc<dyn RequestGate>) -> Self {
        self.gate = gate;
        self
    }

    pub fn config(&self) -> &ScalewayConfig {
        &self.config
    }

    // ---- secrets ----

    pub async fn create_secret(&self, secret: &NewSecret) -> ProviderResult<RemoteSecret> {
        let body = wire::CreateSecretRequest {
            project_id: self.config.project_id.clone(),
            name: secret.name.clone(),
            tags: wire::tags_with_owner(&secret.tags, secret.owner.as_ref()),
            description: secret.description.clone(),
            kind: secret.kind.as_str().to_string(),
            path: normalize_path(&secret.path),
            protected: secret.protected,
            ephemeral_policy: secret.ephemeral_policy.as_ref().map(wire::policy_to_wire),
            key_id: secret.key_id.clone(),
        };
        let call = Call::new(Operation::CreateSecret, Method::POST, &["secrets"]).json(&body);
        self.fetch::<wire::WireSecret>(call)
            .await
            .map(wire::WireSecret::into_remote)
    }

    pub async fn get_secret(&self, id: &SecretId) -> ProviderResult<RemoteSecret> {
        let call = Call::new(Operation::GetSecret, Method::GET, &["secrets", &id.0]).secret(id);
        self.fetch::<wire::WireSecret>(call)
            .await
            .map(wire::WireSecret::into_remote)
    }

    pub async fn update_secret(
        &self,
        id: &SecretId,
        update: &SecretUpdate,
    ) -> ProviderResult<RemoteSecret> {
        let tags = (update.tags.is_some() || update.owner.is_some()).then(|| {
            wire::tags_with_owner(
                update.tags.as_deref().unwrap_or_default(),
                update.owner.as_ref(),
            )
        });
        let body = wire::UpdateSecretRequest {
            name: update.name.clone(),
            tags,
            description: update.description.clone(),
            path: update.path.as_deref().map(normalize_path),
            ephemeral_policy: update.ephemeral_policy.as_ref().map(wire::policy_to_wire),
        };
        let call = Call::new(Operation::UpdateSecret, Method::PATCH, &["secrets", &id.0])
            .secret(id)
            .json(&body);
        self.fetch::<wire::WireSecret>(call)
            .await
            .map(wire::WireSecret::into_remote)
    }

    pub async fn delete_secret(&self, id: &SecretId) -> ProviderResult<()> {
        let call =
            Call::new(Operation::DeleteSecret, Method::DELETE, &["secrets", &id.0]).secret(id);
        self.execute(call).await.map(|_| ())
    }

    pub async fn set_protected(
        &self,
        id: &SecretId,
        protected: bool,
    ) -> ProviderResult<RemoteSecret> {
        let (op, action) = if protected {
            (Operation::ProtectSecret, "protect")
        } else {
            (Operation::UnprotectSecret, "unprotect")
        };
        let call = Call::new(op, Method::POST, &["secrets", &id.0, action])
            .secret(id)
            .json(&serde_json::json!({}));
        self.fetch::<wire::WireSecret>(call)
            .await
            .map(wire::WireSecret::into_remote)
    }

    /// Every live secret of the configured project matching the filter, all pages, in name order.
    pub async fn list_secrets(
        &self,
        filter: &ListSecretsFilter,
    ) -> ProviderResult<Vec<RemoteSecret>> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut call = Call::new(Operation::ListSecrets, Method::GET, &["secrets"])
                .query("project_id", &self.config.project_id)
                .query("order_by", "name_asc")
                .query("scheduled_for_deletion", "false");
            if let Some(name) = &filter.name {
                call = call.query("name", name);
            }
            if let Some(path) = &filter.path {
                call = call.query("path", normalize_path(path));
            }
            let call = call
                .query("page", page)
                .query("page_size", self.config.page_size);
            let resp: ListSecretsResponse = self.fetch(call).await?;
            let got = resp.secrets.len();
            out.extend(resp.secrets.into_iter().map(wire::WireSecret::into_remote));
            if got == 0 || out.len() as u64 >= resp.total_count {
                break;
            }
        }
        Ok(out)
    }

    /// The live secret with exactly this name and folder; `Conflict` when there are several.
    pub async fn find_secret(
        &self,
        name: &str,
        path: &str,
    ) -> ProviderResult<Option<RemoteSecret>> {
        let path = normalize_path(path);
        let filter = ListSecretsFilter {
            name: Some(name.to_string()),
            path: Some(path.clone()),
        };
        let mut matches: Vec<RemoteSecret> = self
            .list_secrets(&filter)
            .await?
            .into_iter()
            .filter(|s| s.name == name && normalize_path(&s.path) == path)
            .filter(|s| s.deletion_requested_at.is_none())
            .collect();
        match matches.len() {
            0 => Ok(None),
            1 => Ok(matches.pop()),
            n => Err(ProviderError::new(
                PROVIDER,
                Operation::ListSecrets.name(),
                ErrorKind::Conflict,
                format!("{n} secrets are named {name:?} in folder {path:?}; expected at most one"),
            )),
        }
    }

    // ---- versions ----

    /// Creates one version. Not retried once the request may have been received.
    pub async fn create_version(
        &self,
        id: &SecretId,
        version: &NewVersion,
    ) -> ProviderResult<RemoteVersion> {
        let raw = version.value.expose();
        let data = BASE64.encode(raw);
        let body = wire::CreateVersionRequest {
            data: data.clone(),
            description: version.description.clone(),
            disable_previous: version.disable_previous.then_some(true),
            data_crc32: Some(crc32fast::hash(raw)),
        };
        let call = Call::new(
            Operation::CreateVersion,
            Method::POST,
            &["secrets", &id.0, "versions"],
        )
        .secret(id)
        .json(&body);
        self.fetch::<wire::WireVersion>(call)
            .await
            .map(wire::WireVersion::into_remote)
            .map_err(|e| {
                // In case the server quotes what it refused: the whole payload, its base64, or
                // (for key/value types) one of its values.
                let text = String::from_utf8_lossy(raw);
                let mut needles: Vec<&str> = vec![&data, &text];
                let parsed: Option<serde_json::Map<String, serde_json::Value>> =
                    serde_json::from_slice(raw).ok();
                if let Some(map) = &parsed {
                    needles.extend(map.values().filter_map(serde_json::Value::as_str));
                }
                e.scrub(&needles)
            })
    }

    pub async fn get_version(
        &self,
        id: &SecretId,
        revision: RevisionSelector,
    ) -> ProviderResult<RemoteVersion> {
        let rev = revision.to_string();
        let call = Call::new(
            Operation::GetVersion,
            Method::GET,
            &["secrets", &id.0, "versions", &rev],
        )
        .secret(id)
        .revision(&rev);
        self.fetch::<wire::WireVersion>(call)
            .await
            .map(wire::WireVersion::into_remote)
    }

    pub async fn update_version_description(
        &self,
        id: &SecretId,
        revision: u64,
        description: &str,
    ) -> ProviderResult<RemoteVersion> {
        let rev = revision.to_string();
        let body = wire::UpdateVersionRequest {
            description: Some(description.to_string()),
        };
        let call = Call::new(
            Operation::UpdateVersion,
            Method::PATCH,
            &["secrets", &id.0, "versions", &rev],
        )
        .secret(id)
        .revision(&rev)
        .json(&body);
        self.fetch::<wire::WireVersion>(call)
            .await
            .map(wire::WireVersion::into_remote)
    }

    pub async fn delete_version(&self, id: &SecretId, revision: u64) -> ProviderResult<()> {
        let rev = revision.to_string();
        let call = Call::new(
            Operation::DeleteVersion,
            Method::DELETE,
            &["secrets", &id.0, "versions", &rev],
        )
        .secret(id)
        .revision(&rev);
        self.execute(call).await.map(|_| ())
    }

    /// Metadata of every version, all pages, highest revision first (as the server sends them).
    pub async fn list_versions(&self, id: &SecretId) -> ProviderResult<Vec<RemoteVersion>> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let call = Call::new(
                Operation::ListVersions,
                Method::GET,
                &["secrets", &id.0, "versions"],
            )
            .secret(id)
            .query("page", page)
            .query("page_size", self.config.page_size);
            let resp: ListVersionsResponse = self.fetch(call).await?;
            let got = resp.versions.len();
            out.extend(
                resp.versions
                    .into_iter()
                    .map(wire::WireVersion::into_remote),
            );
            if got == 0 || out.len() as u64 >= resp.total_count {
                break;
            }
        }
        Ok(out)
    }

    pub async fn access_version(
        &self,
        id: &SecretId,
        revision: RevisionSelector,
    ) -> ProviderResult<AccessedVersion> {
        let rev = revision.to_string();
        let call = Call::new(
            Operation::AccessVersion,
            Method::GET,
            &["secrets", &id.0, "versions", &rev, "access"],
        )
        .secret(id)
        .revision(&rev);
        let resp: AccessResponse = self.fetch(call).await.map_err(unreadable_version)?;
        let invalid = |message: &str| {
            ProviderError::new(
                PROVIDER,
                Operation::AccessVersion.name(),
                ErrorKind::InvalidResponse,
                message,
            )
        };
        let bytes = BASE64
            .decode(resp.data.as_bytes())
            .map_err(|_| invalid("the payload is not valid base64"))?;
        if let Some(expected) = resp.data_crc32
            && crc32fast::hash(&bytes) != expected
        {
            return Err(invalid("the payload does not match its data_crc32"));
        }
        Ok(AccessedVersion {
            secret_id: SecretId(resp.secret_id),
            revision: resp.revision,
            value: SecretValue::new(bytes),
            kind: resp.kind.parse().ok(),
        })
    }

    pub async fn set_version_enabled(
        &self,
        id: &SecretId,
        revision: u64,
        enabled: bool,
    ) -> ProviderResult<RemoteVersion> {
        let rev = revision.to_string();
        let (op, action) = if enabled {
            (Operation::EnableVersion, "enable")
        } else {
            (Operation::DisableVersion, "disable")
        };
        let call = Call::new(
            op,
            Method::POST,
            &["secrets", &id.0, "versions", &rev, action],
        )
        .secret(id)
        .revision(&rev)
        .json(&serde_json::json!({}));
        self.fetch::<wire::WireVersion>(call)
            .await
            .map(wire::WireVersion::into_remote)
    }

    // ---- transport ----

    async fn fetch<T: DeserializeOwned>(&self, call: Call) -> ProviderResult<T> {
        let op = call.op;
        let answer = self.execute(call).await?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            // serde's message may quote the offending value (which could be a payload): keep only
            // where it happened.
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

    async fn execute(&self, call: Call) -> ProviderResult<Answer> {
        let span = tracing::info_span!(
            "scaleway",
            operation = call.op.name(),
            secret_id = call.secret_id.as_deref(),
            revision = call.revision.as_deref(),
            http_status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.execute_with_retries(call).instrument(span).await
    }

    async fn execute_with_retries(&self, call: Call) -> ProviderResult<Answer> {
        let mut url = self.base.clone();
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
        let (call, url) = (&call, &url);
        http::Call {
            provider: PROVIDER,
            operation: call.op.name(),
            class: CallClass::of_method(&call.method),
            repeatable: call.op.repeatable(),
            policy: &self.config.retry,
            gate: self.gate.as_ref(),
            observer: self.observer.as_ref(),
        }
        .run(
            || async { Ok(()) },
            |()| async move {
                match self.attempt(call, url).await {
                    Ok((status, _, _, body)) if (200..300).contains(&status) => Attempt::Done {
                        value: Answer { body },
                        status,
                    },
                    Ok((status, retry_after, request_id, body)) => {
                        let (kind, message, resource) =
                            classify_with_resource(status, retry_after, &body);
                        Attempt::Failed {
                            failure: AttemptFailure::status(status, retry_after),
                            error: ProviderError::new(PROVIDER, call.op.name(), kind, message)
                                .with_http(status, request_id)
                                .with_resource(resource),
                        }
                    }
                    Err(t) => t.attempt(PROVIDER, call.op.name()),
                }
            },
        )
        .await
    }

    /// One HTTP exchange: status, `Retry-After`, request id and body, or a transport failure.
    async fn attempt(
        &self,
        call: &Call,
        url: &Url,
    ) -> Result<(u16, Option<Duration>, Option<String>, Vec<u8>), TransportFailure> {
        let mut request = self.http.request(call.method.clone(), url.clone());
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
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
        let request_id = header("x-request-id");
        let body = response
            .bytes()
            .await
            .map_err(|_| TransportFailure {
                not_sent: false,
                message: "the connection broke while reading the answer",
            })?
            .to_vec();
        Ok((status, retry_after, request_id, body))
    }
}

/// Reading a disabled, deleted or expired version is refused with a 4xx whose exact shape is
/// unconfirmed. Only an answer that names the secret itself as missing means the secret is gone;
/// other refusals say "this revision is not readable".
fn unreadable_version(e: ProviderError) -> ProviderError {
    let secret_missing = e.kind() == &ErrorKind::NotFound && e.resource() == Some("secret");
    let refused = matches!(
        e.kind(),
        ErrorKind::NotFound
            | ErrorKind::Precondition
            | ErrorKind::InvalidArgument { .. }
            | ErrorKind::Conflict
    );
    if refused && !secret_missing {
        e.with_kind(ErrorKind::VersionUnreadable)
    } else {
        e
    }
}

/// Scaleway stores folders with a leading `/` and without a trailing one (except the root).
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized_like_the_server() {
        for (given, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/x/", "/x"),
            ("x/y", "/x/y"),
            ("/a/b", "/a/b"),
        ] {
            assert_eq!(normalize_path(given), want, "{given}");
        }
    }

    #[test]
    fn only_creates_are_not_repeatable() {
        assert_eq!(Operation::CreateVersion.repeatable(), Repeatable::No);
        assert_eq!(Operation::CreateSecret.repeatable(), Repeatable::No);
        assert_eq!(Operation::DeleteSecret.repeatable(), Repeatable::Yes);
        assert_eq!(Operation::AccessVersion.repeatable(), Repeatable::Yes);
    }
}
