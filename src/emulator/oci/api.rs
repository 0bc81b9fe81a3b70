//! The API request pipeline: route → read the body → verify the signature → the caller's policies
//! (a user whose policies were removed gets 404 for everything) → shared faults
//! ([`Core::admit`]) → the tenancy's management write budget → `opc-retry-token` replay → handler →
//! render → count ([`Core::finish`], by endpoint and by the secret or key id the path names).
//!
//! [`Core::admit`]: crate::emulator::core::Core::admit
//! [`Core::finish`]: crate::emulator::core::Core::finish

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use super::OciEmulator;
use super::account::{
    Account, BundleSelector, CreateSecretBody, Paging, RETRY_TOKEN_LIFETIME, RetryLookup,
    RetryRecord, ScheduleDeletionBody, SecretQuery, UpdateSecretBody,
};
use super::auth::authenticate;
use super::errors::OciError;
use super::routes::{Endpoint, Route, WriteBudget, route};
use crate::emulator::core::Refusal;
use crate::emulator::faults::RateDecision;
use crate::emulator::metrics::Call;
use crate::emulator::provider::Provider;

/// Largest request body (a 25 KB secret is about 34 KB of base64 plus its JSON).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A successful answer.
struct Reply {
    status: u16,
    body: Vec<u8>,
    etag: Option<String>,
    next_page: Option<String>,
}

impl Reply {
    fn json<T: Serialize>(value: &T) -> Self {
        Self {
            status: 200,
            body: serde_json::to_vec(value).unwrap_or_default(),
            etag: None,
            next_page: None,
        }
    }

    fn tagged<T: Serialize>((value, etag): (T, String)) -> Self {
        Self {
            etag: Some(etag),
            ..Self::json(&value)
        }
    }

    fn page<T: Serialize>((items, next): (Vec<T>, Option<String>)) -> Self {
        Self {
            next_page: next,
            ..Self::json(&items)
        }
    }

    /// The scheduling actions of the Vault API answer with no body.
    fn empty() -> Self {
        Self {
            status: 200,
            body: Vec::new(),
            etag: None,
            next_page: None,
        }
    }
}

/// The single entry point for every API path (and any unknown one).
pub async fn handle(
    State(emu): State<Arc<OciEmulator>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let routed = route(&method, uri.path());
    let (endpoint, resource) = match &routed {
        Ok(r) => (r.endpoint, r.resource.clone()),
        Err(_) => (Endpoint::Unrouted, None),
    };
    let call = Call {
        endpoint: endpoint.name(),
        secret: resource.as_deref(),
    };
    let core = &emu.core;
    let finish = |result, rate| core.finish(call, render(result), rate);
    let route = match routed {
        Ok(r) => r,
        Err(e) => return finish(Err(e), None),
    };
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return finish(
                Err(OciError::new(
                    413,
                    "PayloadTooLarge",
                    format!("The request body exceeds {MAX_BODY_BYTES} bytes."),
                )),
                None,
            );
        }
    };
    let now = core.clock.now();
    let settings = emu.settings();
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path());
    // The signature's date is held to the wall clock, not the emulator's: moving the emulator's
    // clock models the server's state moving on (deletions falling due), and the client's clock
    // does not move with it.
    let caller = {
        let store = emu.read_store();
        authenticate(
            &store,
            method.as_str(),
            path_and_query,
            &headers,
            &body,
            Timestamp::now(),
            settings.verify_signatures,
        )
    };
    let caller = match caller {
        Ok(k) => k,
        Err(e) => return finish(Err(e), None),
    };
    if !emu.read_store().user_allowed(&caller.user) {
        return finish(Err(OciError::not_found()), None);
    }
    let rate = match core.admit(call.endpoint, &caller.to_string()).await {
        Ok(rate) => rate,
        Err(Refusal::RateLimited(d)) => return finish(Err(OciError::too_many_requests()), Some(d)),
        Err(Refusal::Injected { status, rate }) => {
            return finish(Err(OciError::injected(status)), rate);
        }
        Err(Refusal::Dropped) => return core.drop_connection(call),
    };
    let budget = endpoint.write_budget().and_then(|b| match b {
        WriteBudget::Kms => settings
            .management_writes_per_second
            .map(|l| (format!("kms:{}", caller.tenancy), l)),
        WriteBudget::Vault => settings
            .secret_writes_per_second
            .map(|l| (format!("vault:{}", caller.tenancy), l)),
    });
    if let Some((bucket, limit)) = budget {
        let decision: RateDecision = emu.budgets.check(&bucket, limit, Instant::now());
        // UNCONFIRMED whether OCI sends Retry-After with a 429; this emulator does (`finish` adds
        // it, with the seconds until the one-second window resets).
        if !decision.allowed {
            return finish(Err(OciError::too_many_requests()), Some(decision));
        }
    }
    emu.sweep(now);
    let request = Request {
        route: &route,
        method: &method,
        query: parse_query(uri.query()),
        headers: &headers,
        body: &body,
        tenancy: &caller.tenancy,
        now,
        settings: &settings,
    };
    let result = if endpoint.write_budget().is_some() {
        let mut store = emu.write_store();
        let result = with_retry_token(&mut store, &request, path_and_query);
        if result.is_ok() {
            emu.core.changed();
        }
        result
    } else {
        read(&emu.read_store(), &request)
    };
    finish(result, rate)
}

/// Everything a handler needs from the request.
struct Request<'a> {
    route: &'a Route,
    method: &'a Method,
    query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    tenancy: &'a str,
    now: Timestamp,
    settings: &'a super::OciSettings,
}

impl Request<'_> {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn resource(&self) -> &str {
        self.route.resource.as_deref().unwrap_or_default()
    }

    fn version_number(&self) -> Result<u64, OciError> {
        self.route
            .version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| OciError::invalid("secretVersionNumber must be a positive integer."))
    }

    fn version_id(&self) -> &str {
        self.route.version.as_deref().unwrap_or_default()
    }

    fn paging(&self) -> Result<Paging, OciError> {
        let limit = match self.query("limit") {
            None => None,
            Some(l) => Some(
                l.parse::<u32>()
                    .map_err(|_| OciError::invalid("limit must be a positive integer."))?,
            ),
        };
        Ok(Paging {
            limit,
            page: self.query("page").map(str::to_string),
            sort_order: self.query("sortOrder").map(str::to_string),
        })
    }

    fn selector(&self) -> Result<Option<BundleSelector>, OciError> {
        let given = [
            self.query("stage")
                .map(|s| BundleSelector::Stage(s.to_string())),
            match self.query("versionNumber") {
                None => None,
                Some(n) => Some(BundleSelector::Number(n.parse().map_err(|_| {
                    OciError::invalid("versionNumber must be a positive integer.")
                })?)),
            },
            self.query("secretVersionName")
                .map(|n| BundleSelector::Name(n.to_string())),
        ];
        let mut given: Vec<BundleSelector> = given.into_iter().flatten().collect();
        if given.len() > 1 {
            return Err(OciError::invalid(
                "Give at most one of stage, versionNumber and secretVersionName.",
            ));
        }
        Ok(given.pop())
    }

    /// The JSON body as `T`; an empty body is `T::default()` where `T` has one (`Default` bodies).
    fn body<T: DeserializeOwned>(&self) -> Result<T, OciError> {
        serde_json::from_slice(self.body).map_err(body_error)
    }

    fn optional_body<T: DeserializeOwned + Default>(&self) -> Result<T, OciError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        self.body()
    }
}

/// serde's text names fields (safe) but may also quote a value (maybe a payload): keep the former.
fn body_error(e: serde_json::Error) -> OciError {
    let text = e.to_string();
    let safe = ["missing field", "unknown field", "unknown variant"]
        .iter()
        .any(|p| text.starts_with(p));
    if safe {
        let text = text.split(" at line").next().unwrap_or_default();
        OciError::invalid(format!("The request body is invalid: {text}."))
    } else {
        OciError::cannot_parse(format!(
            "The request body is not valid for this operation ({:?} at line {}, column {}).",
            e.classify(),
            e.line(),
            e.column()
        ))
    }
}

fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// A write, replayed when its `opc-retry-token` was seen with the same request; a success is
/// remembered for the token's lifetime.
fn with_retry_token(
    store: &mut Account,
    req: &Request<'_>,
    path_and_query: &str,
) -> Result<Reply, OciError> {
    let Some(token) = req.header("opc-retry-token").map(str::to_string) else {
        return write(store, req);
    };
    let key = format!("{}|{}|{token}", req.tenancy, req.route.endpoint.name());
    let mut hash = Sha256::new();
    hash.update(req.method.as_str());
    hash.update(b"\n");
    hash.update(path_and_query);
    hash.update(b"\n");
    hash.update(req.body);
    let fingerprint: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    match store.retry_lookup(&key, &fingerprint, req.now) {
        RetryLookup::Replay(r) => Ok(Reply {
            status: r.status,
            body: r.body.into_bytes(),
            etag: r.etag,
            next_page: None,
        }),
        RetryLookup::Conflict => Err(OciError::retry_token_reused()),
        RetryLookup::New => {
            let reply = write(store, req)?;
            store.retry_remember(
                key,
                RetryRecord {
                    request: fingerprint,
                    status: reply.status,
                    body: String::from_utf8_lossy(&reply.body).into_owned(),
                    etag: reply.etag.clone(),
                    expires: req.now + RETRY_TOKEN_LIFETIME,
                },
            );
            Ok(reply)
        }
    }
}

fn write(store: &mut Account, req: &Request<'_>) -> Result<Reply, OciError> {
    use Endpoint as E;
    let (t, now, limits) = (req.tenancy, req.now, &req.settings.limits);
    let if_match = req.header("if-match");
    match req.route.endpoint {
        E::CreateSecret => {
            let body: CreateSecretBody = req.body()?;
            store.create_secret(t, body, now, limits).map(Reply::tagged)
        }
        E::UpdateSecret => {
            let body: UpdateSecretBody = req.body()?;
            store
                .update_secret(t, req.resource(), body, if_match, now, limits)
                .map(Reply::tagged)
        }
        E::ScheduleSecretDeletion => {
            let body: ScheduleDeletionBody = req.optional_body()?;
            store
                .schedule_secret_deletion(
                    t,
                    req.resource(),
                    body.time_of_deletion,
                    if_match,
                    now,
                    limits,
                )
                .map(|()| Reply::empty())
        }
        E::CancelSecretDeletion => store
            .cancel_secret_deletion(t, req.resource(), if_match, now, limits)
            .map(|()| Reply::empty()),
        E::ScheduleSecretVersionDeletion => {
            let body: ScheduleDeletionBody = req.optional_body()?;
            store
                .schedule_secret_version_deletion(
                    t,
                    req.resource(),
                    req.version_number()?,
                    body.time_of_deletion,
                    if_match,
                    now,
                    limits,
                )
                .map(|()| Reply::empty())
        }
        E::CancelSecretVersionDeletion => store
            .cancel_secret_version_deletion(
                t,
                req.resource(),
                req.version_number()?,
                if_match,
                now,
                limits,
            )
            .map(|()| Reply::empty()),
        E::CreateKeyVersion => {
            // The optional body names external key material, which this emulator has none of.
            let body: serde_json::Value = req.optional_body()?;
            if body.get("externalKeyVersionId").is_some() {
                return Err(OciError::invalid(
                    "externalKeyVersionId needs an external key, which this vault has none of.",
                ));
            }
            store
                .create_key_version(t, req.resource(), now, limits)
                .map(Reply::tagged)
        }
        E::ScheduleKeyVersionDeletion => {
            let body: ScheduleDeletionBody = req.optional_body()?;
            store
                .schedule_key_version_deletion(
                    t,
                    req.resource(),
                    req.version_id(),
                    body.time_of_deletion,
                    if_match,
                    now,
                    limits,
                )
                .map(Reply::tagged)
        }
        E::CancelKeyVersionDeletion => store
            .cancel_key_version_deletion(t, req.resource(), req.version_id(), if_match, now, limits)
            .map(Reply::tagged),
        _ => read(store, req),
    }
}

fn read(store: &Account, req: &Request<'_>) -> Result<Reply, OciError> {
    use Endpoint as E;
    let (t, now) = (req.tenancy, req.now);
    match req.route.endpoint {
        E::GetSecret => store.get_secret(t, req.resource(), now).map(Reply::tagged),
        E::ListSecrets => {
            let query = SecretQuery {
                compartment_id: req.query("compartmentId").unwrap_or_default().to_string(),
                vault_id: req.query("vaultId").map(str::to_string),
                name: req.query("name").map(str::to_string),
                lifecycle_state: req.query("lifecycleState").map(str::to_string),
                sort_by: req.query("sortBy").map(str::to_string),
                paging: req.paging()?,
            };
            store.list_secrets(t, &query, now).map(Reply::page)
        }
        E::ListSecretVersions => store
            .list_secret_versions(t, req.resource(), req.query("sortBy"), &req.paging()?)
            .map(Reply::page),
        E::GetSecretVersion => store
            .get_secret_version(t, req.resource(), req.version_number()?)
            .map(|v| Reply::json(&v)),
        E::GetSecretBundle => store
            .get_secret_bundle(t, req.resource(), req.selector()?.as_ref(), now)
            .map(|b| Reply::json(&b)),
        E::GetSecretBundleByName => {
            let name = req
                .query("secretName")
                .ok_or_else(|| OciError::missing("secretName"))?;
            let vault = req
                .query("vaultId")
                .ok_or_else(|| OciError::missing("vaultId"))?;
            store
                .get_secret_bundle_by_name(t, vault, name, req.selector()?.as_ref(), now)
                .map(|b| Reply::json(&b))
        }
        E::ListSecretBundleVersions => store
            .list_secret_bundle_versions(
                t,
                req.resource(),
                req.query("sortBy"),
                &req.paging()?,
                now,
            )
            .map(Reply::page),
        E::GetKey => store.get_key(t, req.resource(), now).map(Reply::tagged),
        E::ListKeyVersions => store
            .list_key_versions(t, req.resource(), req.query("sortBy"), &req.paging()?)
            .map(Reply::page),
        E::GetKeyVersion => store
            .get_key_version(t, req.resource(), req.version_id())
            .map(Reply::tagged),
        // Writes go through `write`; nothing else is routed here.
        _ => Err(OciError::method_not_allowed()),
    }
}

/// The answer: JSON (errors as `{code, message}`), a fresh `opc-request-id`, `etag` and
/// `opc-next-page` when there are.
fn render(result: Result<Reply, OciError>) -> Response {
    let reply = match result {
        Ok(r) => r,
        Err(e) => Reply {
            status: e.status,
            body: serde_json::to_vec(&e.body()).unwrap_or_default(),
            etag: None,
            next_page: None,
        },
    };
    let mut resp = Response::new(HttpBody::from(reply.body));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let request_id: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("opc-request-id", v);
    }
    if let Some(v) = reply.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = reply.next_page.and_then(|p| HeaderValue::from_str(&p).ok()) {
        h.insert("opc-next-page", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            parse_query(Some("secretName=my+secret&vaultId=ocid1.vault%2Ex&flag")),
            vec![
                ("secretName".into(), "my secret".into()),
                ("vaultId".into(), "ocid1.vault.x".into()),
                ("flag".into(), String::new()),
            ]
        );
        assert!(parse_query(None).is_empty());
    }

    #[test]
    fn body_errors_never_quote_values() {
        let e = serde_json::from_str::<UpdateSecretBody>(r#"{"currentVersionNumber":"hunter2"}"#)
            .unwrap_err();
        let err = body_error(e);
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        let e = serde_json::from_str::<CreateSecretBody>(r#"{"vaultId":"v"}"#).unwrap_err();
        let err = body_error(e);
        assert!(
            err.message.contains("missing field `compartmentId`"),
            "{}",
            err.message
        );
    }
}
