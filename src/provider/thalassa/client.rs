//! The HTTP client: one method per endpoint Keyward uses, the access token kept fresh, retries where
//! safe, errors classified.
//!
//! Every HTTP attempt, the token exchange included, passes the store's gate and reports its answer
//! to it. A create or a put-value is never sent again once it may have reached the server; a refused
//! credential (401) with an OIDC token is retried once with a fresh token, since a 401 means the
//! server did not act. Logging: each operation runs in a `thalassa` span carrying the operation,
//! the secret path, the last HTTP status and the attempts. Bodies are never logged.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::config::{Credential, Credentials, ThalassaConfig};
use super::errors::{classify, classify_token};
use super::path::is_thalassa_path;
use super::wire::{self, GetSecretValueResponse, ListResponse, PutSecretValueResponse, WireSecret};
use crate::provider::SecretType;
use crate::provider::http::{self, Attempt, TransportFailure};
use crate::provider::observer::NoopObserver;
use crate::provider::retry::{AttemptFailure, Repeatable, parse_retry_after};
use crate::provider::{
    AccessedVersion, CallClass, CallObserver, CreatedSecret, ErrorKind, NewSecret, NewVersion,
    OpenGate, ProviderError, ProviderResult, RateSignal, RemoteSecret, RemoteVersion, RequestGate,
    RevisionSelector, SecretId, VersionStatus,
};
use crate::secret_value::SecretValue;

pub(crate) const PROVIDER: &str = "thalassa";

/// The endpoints Keyward uses, named as in logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateSecret,
    GetSecret,
    FindSecret,
    ListSecrets,
    DeleteSecret,
    ListVersions,
    CreateVersion,
    AccessVersion,
    DeleteVersion,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateSecret => "create_secret",
            Operation::GetSecret => "get_secret",
            Operation::FindSecret => "find_secret",
            Operation::ListSecrets => "list_secrets",
            Operation::DeleteSecret => "delete_secret",
            Operation::ListVersions => "list_versions",
            Operation::CreateVersion => "create_version",
            Operation::AccessVersion => "access_version",
            Operation::DeleteVersion => "delete_version",
        }
    }

    /// A second create or put-value is a second secret or version; everything else reads or sets a
    /// state (a repeated DELETE may answer `NotFound`; destroying twice is harmless).
    fn repeatable(self) -> Repeatable {
        match self {
            Operation::CreateSecret | Operation::CreateVersion => Repeatable::No,
            _ => Repeatable::Yes,
        }
    }
}

/// One HTTP call to make.
struct Call {
    op: Operation,
    method: Method,
    url: Url,
    body: Option<Vec<u8>>,
    secret: Option<String>,
}

/// One HTTP answer.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    request_id: Option<String>,
    body: Vec<u8>,
}

/// An OIDC access token and when to renew it. Shared by the client's clones.
#[derive(Default)]
struct TokenCache {
    current: Mutex<Option<(String, Instant)>>,
    /// One exchange at a time: concurrent operations wait for it instead of each exchanging.
    exchange: tokio::sync::Mutex<()>,
}

impl TokenCache {
    fn valid(&self, now: Instant) -> Option<String> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|(_, renew_at)| now < *renew_at)
            .map(|(t, _)| t.clone())
    }

    fn set(&self, token: String, renew_at: Instant) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((token, renew_at));
    }

    fn clear(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Thalassa Secrets Manager client for one region and organisation (and optional project).
#[derive(Clone)]
pub struct ThalassaClient {
    http: reqwest::Client,
    config: ThalassaConfig,
    observer: Arc<dyn CallObserver>,
    gate: Arc<dyn RequestGate>,
    token: Arc<TokenCache>,
}

impl std::fmt::Debug for ThalassaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThalassaClient")
            .field("base", &self.config.base_url())
            .field("scope", &self.config.scope())
            .finish_non_exhaustive()
    }
}

fn configure_error(message: &str) -> ProviderError {
    ProviderError::new(
        PROVIDER,
        "configure",
        ErrorKind::InvalidArgument { details: vec![] },
        message,
    )
}

impl ThalassaClient {
    pub fn new(config: ThalassaConfig) -> ProviderResult<Self> {
        Url::parse(&config.base_url()).map_err(|_| configure_error("the API URL is invalid"))?;
        Url::parse(&config.token_url).map_err(|_| configure_error("the token URL is invalid"))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // A redirect would carry the credentials to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| configure_error("could not build the HTTP client"))?;
        let client = Self {
            http,
            config,
            observer: Arc::new(NoopObserver),
            gate: Arc::new(OpenGate),
            token: Arc::default(),
        };
        if let Credentials::PersonalAccessToken(pat) = &client.config.credentials {
            sensitive(&format!("Token {}", pat.expose())).ok_or_else(|| {
                configure_error("the token contains characters not allowed in a header")
            })?;
        }
        Ok(client)
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

    pub fn config(&self) -> &ThalassaConfig {
        &self.config
    }

    // ---- secrets ----

    /// Creates the secret with its first version (Thalassa makes both in one call). Not retried once
    /// the request may have been received.
    pub async fn create_secret(
        &self,
        secret: &NewSecret,
        initial: &NewVersion,
    ) -> ProviderResult<CreatedSecret> {
        let op = Operation::CreateSecret;
        if secret.protected || secret.ephemeral_policy.is_some() {
            return Err(ProviderError::new(
                PROVIDER,
                op.name(),
                ErrorKind::Unsupported,
                "Thalassa has no deletion protection and no ephemeral policies",
            ));
        }
        let path = wire::secret_path(&secret.path, &secret.name);
        check_path(op, &path)?;
        let raw = initial.value.expose();
        let encoded = BASE64.encode(raw);
        let body = wire::CreateSecretRequest {
            path: path.clone(),
            kms_key_identity: secret
                .key_id
                .clone()
                .unwrap_or_else(|| self.config.kms_key.clone()),
            description: secret.description.clone().filter(|d| !d.is_empty()),
            labels: wire::owner_labels(secret.owner.as_ref()),
            secret_string: encoded.clone(),
        };
        let call = self
            .call(op, Method::POST, self.url("/secrets")?, Some(&path))
            .json(&body);
        let created: WireSecret = self
            .fetch(call)
            .await
            .map_err(|e| scrubbed(e, raw, &encoded))?;
        let initial_version = RemoteVersion {
            secret_id: SecretId(created.path.clone()),
            revision: created.current_version.max(1),
            status: VersionStatus::Enabled,
            description: String::new(),
            latest: true,
            created_at: created.created_at.as_deref().and_then(|t| t.parse().ok()),
            updated_at: created.created_at.as_deref().and_then(|t| t.parse().ok()),
            deletion_requested_at: None,
        };
        Ok(CreatedSecret {
            secret: self.remote(created),
            initial_version: Some(initial_version),
        })
    }

    /// Metadata: the fields a listing has too, so that both give one fingerprint.
    pub async fn get_secret(&self, id: &SecretId) -> ProviderResult<RemoteSecret> {
        let wire = self
            .get_wire(Operation::GetSecret, id.as_str(), false)
            .await?;
        Ok(self.remote(wire))
    }

    /// The secret at `{path}/{name}`, `None` when there is none (or it is in another scope).
    pub async fn find_secret(
        &self,
        name: &str,
        path: &str,
    ) -> ProviderResult<Option<RemoteSecret>> {
        let full = wire::secret_path(path, name);
        match self.get_wire(Operation::FindSecret, &full, false).await {
            Ok(s) => Ok(Some(self.remote(s))),
            Err(e) if e.kind() == &ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every secret of the organisation (or project) scope, in one answer: neither the docs nor the
    /// SDK page this list (UNCONFIRMED that the server never does).
    pub async fn list_secrets(&self) -> ProviderResult<Vec<RemoteSecret>> {
        let mut url = self.url("/secrets")?;
        url.query_pairs_mut().append_pair("pathPrefix", "/");
        let call = self.call(Operation::ListSecrets, Method::GET, url, None);
        let listed: ListResponse = self.fetch(call).await?;
        Ok(listed
            .into_secrets()
            .into_iter()
            .map(|s| self.remote(s))
            .collect())
    }

    pub async fn delete_secret(&self, id: &SecretId) -> ProviderResult<()> {
        let op = Operation::DeleteSecret;
        let call = self.call(
            op,
            Method::DELETE,
            self.secret_url(op, id.as_str(), "")?,
            Some(id.as_str()),
        );
        self.execute(call).await.map(|_| ())
    }

    // ---- versions ----

    /// Every version, highest first.
    pub async fn list_versions(&self, id: &SecretId) -> ProviderResult<Vec<RemoteVersion>> {
        let wire = self
            .get_wire(Operation::ListVersions, id.as_str(), true)
            .await?;
        Ok(wire.remote_versions())
    }

    /// `putSecretValue`. Not retried once the request may have been received.
    pub async fn create_version(
        &self,
        id: &SecretId,
        version: &NewVersion,
    ) -> ProviderResult<RemoteVersion> {
        let op = Operation::CreateVersion;
        let raw = version.value.expose();
        let encoded = BASE64.encode(raw);
        let body = wire::PutSecretValueRequest {
            path: id.0.clone(),
            secret_string: encoded.clone(),
        };
        let url = self.secret_url(op, id.as_str(), "/versions")?;
        let call = self
            .call(op, Method::POST, url, Some(id.as_str()))
            .json(&body);
        let result: ProviderResult<PutSecretValueResponse> = self.fetch(call).await;
        let put = match result {
            Ok(put) => put,
            Err(e) => {
                let e = self.refine_value_error(id, e, false).await;
                return Err(scrubbed(e, raw, &encoded));
            }
        };
        Ok(RemoteVersion {
            secret_id: id.clone(),
            revision: put.version,
            status: VersionStatus::Enabled,
            description: String::new(),
            latest: true,
            created_at: None,
            updated_at: None,
            deletion_requested_at: None,
        })
    }

    /// `getSecretValue`: `Latest` and `LatestEnabled` read the current version (the latest active
    /// one). A `keyValue` version reads as a flat JSON object of its (UTF-8) values.
    pub async fn access_version(
        &self,
        id: &SecretId,
        revision: RevisionSelector,
    ) -> ProviderResult<AccessedVersion> {
        let op = Operation::AccessVersion;
        let body = wire::GetSecretValueRequest {
            path: id.0.clone(),
            version: match revision {
                RevisionSelector::Number(n) => Some(n),
                RevisionSelector::Latest | RevisionSelector::LatestEnabled => None,
            },
        };
        let url = self.secret_url(op, id.as_str(), "/value")?;
        let call = self
            .call(op, Method::POST, url, Some(id.as_str()))
            .json(&body);
        let result: ProviderResult<GetSecretValueResponse> = self.fetch(call).await;
        let read = match result {
            Ok(read) => read,
            Err(e) => return Err(self.refine_value_error(id, e, true).await),
        };
        let invalid = |message: &str| {
            ProviderError::new(PROVIDER, op.name(), ErrorKind::InvalidResponse, message)
        };
        let decode = |text: &str| {
            BASE64
                .decode(text.as_bytes())
                .map_err(|_| invalid("the value is not valid base64"))
        };
        let (value, kind) = match (&read.secret_string, &read.secret_key_values) {
            (Some(text), _) => (decode(text)?, SecretType::Opaque),
            (None, Some(map)) => {
                let mut object = BTreeMap::new();
                for (name, text) in map {
                    let bytes = decode(text)?;
                    let text = String::from_utf8(bytes).map_err(|_| {
                        invalid("a key/value version holds a value that is not UTF-8 text")
                    })?;
                    object.insert(name.clone(), text);
                }
                let json = serde_json::to_vec(&object).expect("a map of strings serializes");
                (json, SecretType::KeyValue)
            }
            (None, None) => return Err(invalid("the answer holds no value")),
        };
        Ok(AccessedVersion {
            secret_id: id.clone(),
            revision: read.version,
            value: SecretValue::new(value),
            kind: Some(kind),
        })
    }

    /// `destroySecretVersion`: the value is gone for good; the entry stays in the history.
    pub async fn delete_version(&self, id: &SecretId, revision: u64) -> ProviderResult<()> {
        let op = Operation::DeleteVersion;
        let mut url = self.secret_url(op, id.as_str(), "/versions")?;
        url.query_pairs_mut()
            .append_pair("version", &revision.to_string());
        let call = self.call(op, Method::DELETE, url, Some(id.as_str()));
        self.execute(call).await.map(|_| ())
    }

    // ---- helpers ----

    fn remote(&self, wire: WireSecret) -> RemoteSecret {
        wire.into_remote(self.config.project.as_deref(), &self.config.region)
    }

    async fn get_wire(
        &self,
        op: Operation,
        path: &str,
        include_versions: bool,
    ) -> ProviderResult<WireSecret> {
        let mut url = self.secret_url(op, path, "")?;
        if include_versions {
            url.query_pairs_mut().append_pair("includeVersions", "true");
        }
        let call = self.call(op, Method::GET, url, Some(path));
        self.fetch(call).await
    }

    /// A value operation refused with 404 or a 400 that does not name KMS: the metadata tells what
    /// the message may not (its wording is UNCONFIRMED). The secret gone is `NotFound`; its key not
    /// active is `KeyUnavailable`; otherwise a read was refused for the version (destroyed, never
    /// existed, none active): `VersionUnreadable`.
    async fn refine_value_error(
        &self,
        id: &SecretId,
        error: ProviderError,
        reading: bool,
    ) -> ProviderError {
        if !matches!(
            error.kind(),
            ErrorKind::NotFound | ErrorKind::InvalidArgument { .. }
        ) {
            return error;
        }
        match self
            .get_wire(Operation::GetSecret, id.as_str(), false)
            .await
        {
            Err(e) if e.kind() == &ErrorKind::NotFound => error.with_kind(ErrorKind::NotFound),
            Err(_) => error,
            Ok(secret) if secret.key_unusable() => error.with_kind(ErrorKind::KeyUnavailable),
            Ok(_) if reading => error.with_kind(ErrorKind::VersionUnreadable),
            Ok(_) => error,
        }
    }

    fn url(&self, suffix: &str) -> ProviderResult<Url> {
        Url::parse(&format!("{}{suffix}", self.config.base_url()))
            .map_err(|_| configure_error("the API URL is invalid"))
    }

    /// `{base}/secret{path}{action}`: the path appended straight after `secret`, `+` as is.
    fn secret_url(&self, op: Operation, path: &str, action: &str) -> ProviderResult<Url> {
        check_path(op, path)?;
        self.url(&format!("/secret{path}{action}"))
    }

    fn call(&self, op: Operation, method: Method, url: Url, secret: Option<&str>) -> Call {
        Call {
            op,
            method,
            url,
            body: None,
            secret: secret.map(str::to_string),
        }
    }

    // ---- transport ----

    async fn fetch<T: DeserializeOwned>(&self, call: Call) -> ProviderResult<T> {
        let op = call.op;
        let body = self.execute(call).await?;
        serde_json::from_slice(&body).map_err(|e| decode_error(op.name(), &e))
    }

    async fn execute(&self, call: Call) -> ProviderResult<Vec<u8>> {
        let span = tracing::info_span!(
            "thalassa",
            operation = call.op.name(),
            secret = call.secret.as_deref(),
            http_status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.execute_with_retries(&call).instrument(span).await
    }

    async fn execute_with_retries(&self, call: &Call) -> ProviderResult<Vec<u8>> {
        let renewed_token = AtomicBool::new(false);
        let renewed_token = &renewed_token;
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
            || async {
                match self.authorization(call.op).await {
                    Ok(authorization) => Ok(authorization),
                    // The request was not sent: safe to try again whatever it does, if the
                    // cause may pass.
                    Err(e) if e.kind().is_temporary() => Err(Attempt::Failed {
                        failure: AttemptFailure::NotSent,
                        error: e,
                    }),
                    Err(e) => Err(Attempt::Final(e)),
                }
            },
            |authorization| async move {
                match self.attempt(call, authorization).await {
                    Ok(a) if (200..300).contains(&a.status) => Attempt::Done {
                        value: a.body,
                        status: a.status,
                    },
                    // The token may have expired early or been revoked; a 401 means the server
                    // did not act, so even a create may go again, once.
                    Ok(a)
                        if a.status == 401
                            && self.uses_oidc()
                            && !renewed_token.swap(true, Ordering::Relaxed) =>
                    {
                        self.token.clear();
                        Attempt::Again { status: a.status }
                    }
                    Ok(a) => {
                        let (kind, message) = classify(a.status, a.retry_after, &a.body);
                        let error = ProviderError::new(PROVIDER, call.op.name(), kind, message)
                            .with_http(a.status, a.request_id);
                        if error.kind() == &ErrorKind::KeyUnavailable {
                            // No KMS in the region is not a passing fault: do not retry.
                            Attempt::Final(error)
                        } else {
                            Attempt::Failed {
                                failure: AttemptFailure::status(a.status, a.retry_after),
                                error,
                            }
                        }
                    }
                    Err(t) => t.attempt(PROVIDER, call.op.name()),
                }
            },
        )
        .await
    }

    /// One HTTP exchange with the API.
    async fn attempt(
        &self,
        call: &Call,
        authorization: HeaderValue,
    ) -> Result<Answer, TransportFailure> {
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .header("X-Organisation-Identity", &self.config.organisation);
        if let Some(project) = &self.config.project {
            request = request.header("X-Project-Identity", project);
        }
        if let Some(body) = &call.body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, TransportFailure> {
        let response = request.send().await.map_err(|e| TransportFailure::of(&e))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header(RETRY_AFTER.as_str())
            .and_then(|v| parse_retry_after(&v, jiff::Timestamp::now()));
        self.gate.observe(&RateSignal::from_response(
            status,
            response.headers(),
            retry_after,
        ));
        // UNCONFIRMED: the name of Thalassa's request id header.
        let request_id = header("x-request-id");
        let body = response
            .bytes()
            .await
            .map_err(|_| TransportFailure {
                not_sent: false,
                message: "the connection broke while reading the answer",
            })?
            .to_vec();
        Ok(Answer {
            status,
            retry_after,
            request_id,
            body,
        })
    }

    fn uses_oidc(&self) -> bool {
        matches!(self.config.credentials, Credentials::OidcClient { .. })
    }

    /// The `Authorization` value: `Token <pat>`, or `Bearer <access token>` (exchanged when there is
    /// none or it is about to expire).
    async fn authorization(&self, op: Operation) -> ProviderResult<HeaderValue> {
        let value = match &self.config.credentials {
            Credentials::PersonalAccessToken(pat) => format!("Token {}", pat.expose()),
            Credentials::OidcClient {
                client_id,
                client_secret,
            } => format!(
                "Bearer {}",
                self.access_token(op, client_id, client_secret).await?
            ),
        };
        sensitive(&value).ok_or_else(|| {
            ProviderError::new(
                PROVIDER,
                op.name(),
                ErrorKind::InvalidResponse,
                "the access token contains characters not allowed in a header",
            )
        })
    }

    async fn access_token(
        &self,
        op: Operation,
        client_id: &str,
        client_secret: &Credential,
    ) -> ProviderResult<String> {
        if let Some(token) = self.token.valid(Instant::now()) {
            return Ok(token);
        }
        let _exchange = self.token.exchange.lock().await;
        if let Some(token) = self.token.valid(Instant::now()) {
            return Ok(token);
        }
        let (token, lifetime) = self.exchange_token(op, client_id, client_secret).await?;
        let margin = self.config.token_refresh_margin.min(lifetime / 2);
        self.token
            .set(token.clone(), Instant::now() + lifetime - margin);
        Ok(token)
    }

    /// `POST {token_url}` with `grant_type=client_credentials`, the client in HTTP Basic (RFC 6749
    /// §2.3.1: each part form-encoded). One attempt; the operation's loop retries.
    async fn exchange_token(
        &self,
        op: Operation,
        client_id: &str,
        client_secret: &Credential,
    ) -> ProviderResult<(String, Duration)> {
        let fail = |kind: ErrorKind, message: String| {
            ProviderError::new(PROVIDER, op.name(), kind, message)
        };
        let pass = self.gate.admit(CallClass::Write).await.map_err(|closed| {
            ProviderError::budget_spent(PROVIDER, op.name(), closed.retry_after)
        })?;
        let encode = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let basic = BASE64.encode(format!(
            "{}:{}",
            encode(client_id),
            encode(client_secret.expose())
        ));
        let authorization = sensitive(&format!("Basic {basic}")).ok_or_else(|| {
            fail(
                ErrorKind::InvalidArgument { details: vec![] },
                "the client id cannot be sent".into(),
            )
        })?;
        let request = self
            .http
            .post(&self.config.token_url)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body("grant_type=client_credentials");
        let answer = self.send(request).await;
        drop(pass);
        let answer = answer.map_err(|t| {
            fail(
                ErrorKind::Transport,
                format!("token endpoint: {}", t.message),
            )
        })?;
        if !(200..300).contains(&answer.status) {
            let (kind, message) = classify_token(answer.status, answer.retry_after, &answer.body);
            return Err(fail(kind, message).with_http(answer.status, answer.request_id));
        }
        let token: wire::TokenResponse =
            serde_json::from_slice(&answer.body).map_err(|e| decode_error(op.name(), &e))?;
        if token.access_token.is_empty() {
            return Err(fail(
                ErrorKind::InvalidResponse,
                "the token endpoint answered without an access token".into(),
            ));
        }
        // Without `expires_in`, the SDK assumes an hour; so does Keyward.
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600).max(1));
        tracing::debug!(lifetime_s = lifetime.as_secs(), "access token exchanged");
        Ok((token.access_token, lifetime))
    }
}

impl Call {
    fn json(mut self, body: &impl serde::Serialize) -> Self {
        // Serializing our own request types cannot fail (string keys only).
        self.body = Some(serde_json::to_vec(body).expect("request serializes"));
        self
    }
}

/// A header value marked sensitive (kept out of reqwest's debug output).
fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// serde's message may quote the offending value (which could be a secret value): keep only where.
fn decode_error(operation: &'static str, e: &serde_json::Error) -> ProviderError {
    ProviderError::new(
        PROVIDER,
        operation,
        ErrorKind::InvalidResponse,
        format!(
            "could not decode the answer ({:?} at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    )
}

/// A path Thalassa accepts, checked before it goes into a URL: an adopted id from a spec must not
/// smuggle a query or another route in.
fn check_path(op: Operation, path: &str) -> ProviderResult<()> {
    if is_thalassa_path(path) {
        return Ok(());
    }
    Err(ProviderError::new(
        PROVIDER,
        op.name(),
        ErrorKind::InvalidArgument { details: vec![] },
        format!(
            "{path:?} is not a Thalassa secret path (1 to 512 of A-Z a-z 0-9 / _ - . +, starting with /, no trailing or double /)"
        ),
    ))
}

/// The error without anything a server might have quoted back of the value sent.
fn scrubbed(e: ProviderError, raw: &[u8], encoded: &str) -> ProviderError {
    let needles = needles(raw, encoded);
    let refs: Vec<&str> = needles.iter().map(String::as_str).collect();
    e.scrub(&refs)
}

/// What a server might quote back of a value: its base64, its text, and (for a JSON object) each of
/// its string values.
fn needles<'a>(raw: &'a [u8], encoded: &'a str) -> Vec<String> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let mut out = vec![encoded.to_string(), text];
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(raw) {
        out.extend(map.values().filter_map(|v| v.as_str().map(str::to_string)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_creates_are_not_repeatable() {
        assert_eq!(Operation::CreateVersion.repeatable(), Repeatable::No);
        assert_eq!(Operation::CreateSecret.repeatable(), Repeatable::No);
        assert_eq!(Operation::DeleteVersion.repeatable(), Repeatable::Yes);
        assert_eq!(Operation::AccessVersion.repeatable(), Repeatable::Yes);
    }

    #[test]
    fn needles_cover_encodings_and_json_values() {
        let raw = br#"{"password":"canary-x"}"#;
        let n = needles(raw, "ENC");
        assert!(n.contains(&"ENC".to_string()));
        assert!(n.contains(&"canary-x".to_string()));
    }
}
