//! The request pipeline: route → authenticate → shared faults ([`Core::admit`]) → organisation,
//! project, gates and region → handler → render → count ([`Core::finish`]).
//!
//! [`Core::admit`]: crate::emulator::core::Core::admit
//! [`Core::finish`]: crate::emulator::core::Core::finish

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::ThalassaEmulator;
use super::account::{Account, NewKey, NewSecret};
use super::auth::Caller;
use super::errors::ApiError;
use super::model::{KeyRecord, KeyStatus, Scope};
use super::policy;
use super::requests::{Body, MAX_BODY_BYTES, Query, check_path, form};
use super::routes::{Endpoint, Route, route};
use crate::emulator::core::Refusal;
use crate::emulator::metrics::Call;

/// What a handler answers on success.
enum Reply {
    Json(StatusCode, Value),
    NoContent,
}

fn ok(value: Value) -> Reply {
    Reply::Json(StatusCode::OK, value)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The single entry point for every request outside `/emulator/`.
pub async fn handle(
    State(shared): State<Arc<ThalassaEmulator>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let query = Query::parse(parts.uri.query());
    let routed = route(&parts.method, parts.uri.path(), &query);
    let (endpoint, secret) = match &routed {
        Ok(r) => (r.endpoint, r.secret.clone()),
        Err((e, _)) => (*e, None),
    };
    let call = Call {
        endpoint: endpoint.name(),
        secret: secret.as_deref(),
    };
    let core = &shared.core;
    let now = core.clock.now();
    let authorization = header_str(&parts.headers, "authorization");
    if endpoint == Endpoint::CreateToken && routed.is_ok() {
        // The token endpoint authenticates the client itself; its budget is the client's.
        let rate = match core.admit(call.endpoint, "oidc-token").await {
            Ok(rate) => rate,
            Err(refusal) => return refuse(&shared, call, refusal),
        };
        let reply = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Err(_) => Err(ApiError::bad_request("request body too large")),
            Ok(bytes) => match shared.auth.issue(authorization, &form(&bytes), now) {
                Ok(token) => Ok(ok(token)),
                Err(e) => {
                    let mut resp = json_response(e.status, &e.body());
                    no_store(&mut resp);
                    return core.finish(call, resp, rate);
                }
            },
        };
        let mut resp = render(reply);
        no_store(&mut resp);
        return core.finish(call, resp, rate);
    }
    let caller = match shared.auth.authenticate(authorization, now) {
        Ok(c) => c,
        Err(e) => return core.finish(call, render(Err(e)), None),
    };
    let rate = match core
        .admit(call.endpoint, authorization.unwrap_or_default())
        .await
    {
        Ok(rate) => rate,
        Err(refusal) => return refuse(&shared, call, refusal),
    };
    let result = match routed {
        Err((_, e)) => Err(e),
        Ok(r) => match Context::of(&shared, &parts.headers, caller, &r) {
            Err(e) => Err(e),
            Ok(ctx) => match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
                Err(_) => Err(ApiError::bad_request("request body too large")),
                Ok(bytes) => dispatch(&shared, &ctx, &r, &query, &bytes, now),
            },
        },
    };
    core.finish(call, render(result), rate)
}

fn refuse(shared: &ThalassaEmulator, call: Call<'_>, refusal: Refusal) -> Response {
    let core = &shared.core;
    match refusal {
        Refusal::RateLimited(d) => {
            core.finish(call, render(Err(ApiError::too_many_requests())), Some(d))
        }
        Refusal::Injected { status, rate } => {
            core.finish(call, render(Err(ApiError::injected(status))), rate)
        }
        Refusal::Dropped => core.drop_connection(call),
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = Response::new(HttpBody::from(serde_json::to_vec(body).unwrap_or_default()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn no_store(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn render(result: Result<Reply, ApiError>) -> Response {
    match result {
        Ok(Reply::Json(status, body)) => json_response(status.as_u16(), &body),
        Ok(Reply::NoContent) => {
            let mut resp = Response::new(HttpBody::empty());
            *resp.status_mut() = StatusCode::NO_CONTENT;
            resp
        }
        Err(e) => json_response(e.status(), &e.body()),
    }
}

/// Who asks, in which scope, from where.
struct Context {
    scope: Scope,
    /// The caller's address for IP conditions: `X-Forwarded-For` (first entry, UNCONFIRMED), then
    /// `X-Real-IP`, else loopback (the shared server does not pass the peer address; the emulator
    /// serves loopback).
    client_ip: IpAddr,
}

impl Context {
    fn of(
        shared: &ThalassaEmulator,
        headers: &HeaderMap,
        caller: Caller,
        route: &Route,
    ) -> Result<Self, ApiError> {
        // UNCONFIRMED: a missing organisation header is 400.
        let organisation = header_str(headers, "x-organisation-identity")
            .ok_or_else(|| ApiError::bad_request("the X-Organisation-Identity header is required"))?
            .to_string();
        caller.check_organisation(&organisation)?;
        let store = shared.read_store();
        let gates = store.gates(&organisation);
        if route.endpoint.is_secrets() && !gates.secrets {
            return Err(ApiError::forbidden(
                "Secrets Manager is not enabled for this organisation",
            ));
        }
        // The summary answers with `featureEnabled: false` instead (the SDK reads it to tell).
        if !gates.kms && route.endpoint != Endpoint::GetKmsSummary {
            return Err(ApiError::forbidden(
                "KMS must be enabled for this organisation first",
            ));
        }
        let region = route.region.clone().unwrap_or_default();
        if route.region.is_some() {
            store.check_region(&region)?;
        }
        let client_ip = header_str(headers, "x-forwarded-for")
            .and_then(|v| v.split(',').next())
            .or_else(|| header_str(headers, "x-real-ip"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Ok(Self {
            scope: Scope {
                region,
                organisation,
                project: header_str(headers, "x-project-identity").map(str::to_string),
            },
            client_ip,
        })
    }

    fn region(&self) -> &str {
        &self.scope.region
    }

    fn organisation(&self) -> &str {
        &self.scope.organisation
    }
}

fn secret_path(route: &Route) -> Result<&str, ApiError> {
    let path = route.secret.as_deref().unwrap_or_default();
    check_path(path)?;
    Ok(path)
}

fn key_id(route: &Route) -> &str {
    route.key.as_deref().unwrap_or_default()
}

/// The shared "key disabled" switch (`--disable-key`, `/emulator/faults/disabled-keys/{id}`), by
/// secret path or key identity: value operations fail as with a disabled key.
fn check_fault_key(shared: &ThalassaEmulator, path: &str, key: &str) -> Result<(), ApiError> {
    if shared.core.faults().key_disabled(path, Some(key)) {
        return Err(ApiError::bad_request(format!("KMS key {key} is disabled")));
    }
    Ok(())
}

fn secret_view(store: &Account, secret: &super::model::SecretRecord, versions: bool) -> Value {
    secret.view(store.bound_key(secret), versions)
}

fn dispatch(
    shared: &ThalassaEmulator,
    ctx: &Context,
    route: &Route,
    query: &Query,
    body: &[u8],
    now: Timestamp,
) -> Result<Reply, ApiError> {
    use Endpoint as E;
    shared.sweep_at(now);
    let scope = &ctx.scope;
    match route.endpoint {
        E::CreateSecret => {
            let mut b = Body::parse(body, false)?;
            let path = b
                .string("path")?
                .ok_or_else(|| ApiError::bad_request("path is required"))?;
            check_path(&path)?;
            let kms_key = b
                .string("kmsKeyIdentity")?
                .filter(|k| !k.is_empty())
                .ok_or_else(|| ApiError::bad_request("kmsKeyIdentity is required"))?;
            let description = b.description()?;
            let labels = b.string_map("labels")?;
            let annotations = b.string_map("annotations")?;
            let access_policy = b.take("accessPolicy");
            if let Some(p) = &access_policy {
                policy::validate(p)?;
            }
            let value = b.value_input()?;
            check_fault_key(shared, &path, &kms_key)?;
            let mut store = shared.write_store();
            let new = NewSecret {
                path: path.clone(),
                kms_key,
                description,
                labels,
                annotations,
                value,
                access_policy,
            };
            store.create_secret(scope, new, now)?;
            let view = secret_view(&store, store.secret(scope, &path)?, false);
            drop(store);
            shared.core.changed();
            // The SDK's mock answers 201; the real status is UNCONFIRMED.
            Ok(Reply::Json(StatusCode::CREATED, view))
        }
        E::GetSecret => {
            let path = secret_path(route)?;
            let store = shared.read_store();
            let secret = store.secret(scope, path)?;
            let versions = query.get("includeVersions") == Some("true");
            Ok(ok(secret_view(&store, secret, versions)))
        }
        E::UpdateAccessPolicy => {
            let path = secret_path(route)?;
            let mut b = Body::parse(body, false)?;
            if !b.has("accessPolicy") {
                return Err(ApiError::bad_request(
                    "accessPolicy is required (null clears the policy)",
                ));
            }
            let policy = b.take("accessPolicy");
            if let Some(p) = &policy {
                policy::validate(p)?;
            }
            let mut store = shared.write_store();
            store.set_policy(scope, path, policy, now)?;
            let view = secret_view(&store, store.secret(scope, path)?, false);
            drop(store);
            shared.core.changed();
            Ok(ok(view))
        }
        E::PutSecretValue => {
            let path = secret_path(route)?;
            let mut b = Body::parse(body, false)?;
            check_body_path(&mut b, path)?;
            let value = b.value_input()?;
            let mut store = shared.write_store();
            let secret = store.secret(scope, path)?;
            policy::check(secret.access_policy.as_ref(), ctx.client_ip, now)?;
            check_fault_key(shared, path, &secret.kms_key)?;
            let version = store.put_value(scope, path, value, now)?;
            drop(store);
            shared.core.changed();
            // The SDK's mock answers 200; 200 or 201 is UNCONFIRMED.
            Ok(ok(json!({"path": path, "version": version})))
        }
        E::GetSecretValue => {
            let path = secret_path(route)?;
            let mut b = Body::parse(body, true)?;
            check_body_path(&mut b, path)?;
            let version = match b.u64("version")? {
                None => None,
                Some(n) if (1..=u64::from(u32::MAX)).contains(&n) => Some(n as u32),
                Some(_) => return Err(ApiError::bad_request("version must be 1 or more")),
            };
            let mut store = shared.write_store();
            let secret = store.secret(scope, path)?;
            policy::check(secret.access_policy.as_ref(), ctx.client_ip, now)?;
            check_fault_key(shared, path, &secret.kms_key)?;
            let revealed = store.reveal(scope, path, version, now)?;
            drop(store);
            shared.core.changed();
            let mut answer = Map::new();
            answer.insert("path".into(), json!(path));
            answer.insert("version".into(), json!(revealed.version));
            revealed.value.reveal_fields(&mut answer);
            answer.insert("kmsKeyIdentity".into(), json!(revealed.kms_key));
            // A string in the SDK (`"1"`).
            answer.insert(
                "kmsKeyVersion".into(),
                json!(revealed.key_version.to_string()),
            );
            Ok(ok(Value::Object(answer)))
        }
        E::DestroySecretVersion => {
            let path = secret_path(route)?;
            let version = query
                .get("version")
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|v| *v >= 1)
                .ok_or_else(|| ApiError::bad_request("version must be a number from 1"))?;
            shared
                .write_store()
                .destroy_version(scope, path, version, now)?;
            shared.core.changed();
            // The SDK's mock answers 204; the real status is UNCONFIRMED.
            Ok(Reply::NoContent)
        }
        E::DeleteSecret => {
            let path = secret_path(route)?;
            shared.write_store().delete_secret(scope, path)?;
            shared.core.changed();
            Ok(Reply::NoContent)
        }
        E::ListSecrets => {
            let prefix = query.get("pathPrefix").unwrap_or("/");
            let store = shared.read_store();
            let views: Vec<Value> = store
                .list(scope, prefix)
                .into_iter()
                .map(|s| secret_view(&store, s, false))
                .collect();
            Ok(ok(Value::Array(views)))
        }
        E::BrowseSecrets => {
            let dir = query.get("path").unwrap_or("/");
            if !dir.starts_with('/') || dir.contains("//") {
                return Err(ApiError::bad_request(
                    "invalid path: must be a directory such as /app/",
                ));
            }
            let store = shared.read_store();
            let (dir, level) = store.browse(scope, dir);
            let secrets: Vec<Value> = level
                .secrets
                .into_iter()
                .map(|s| secret_view(&store, s, false))
                .collect();
            Ok(ok(
                json!({"path": dir, "prefixes": level.prefixes, "secrets": secrets}),
            ))
        }
        E::GetKmsSummary => {
            let store = shared.read_store();
            let regions: Vec<Value> = store
                .regions()
                .map(|(region, available)| {
                    let keys: Vec<&KeyRecord> = store
                        .keys()
                        .filter(|k| {
                            !k.deleted && k.region == region && k.visible_to(ctx.organisation())
                        })
                        .collect();
                    let count = |s: KeyStatus| keys.iter().filter(|k| k.status == s).count();
                    json!({
                        "identity": format!("region-{region}"),
                        "name": region,
                        "slug": region,
                        "kmsAvailable": available,
                        "totalKeys": keys.len(),
                        "activeKeys": count(KeyStatus::Active),
                        "disabledKeys": count(KeyStatus::Disabled),
                        "pendingDeletionKeys": count(KeyStatus::PendingDeletion),
                    })
                })
                .collect();
            let enabled = store.gates(ctx.organisation()).kms;
            Ok(ok(json!({"featureEnabled": enabled, "regions": regions})))
        }
        // UNCONFIRMED: the key list is a bare array, like the secrets' flat list.
        E::ListKeys => {
            let store = shared.read_store();
            store.check_kms_available(ctx.region())?;
            let filter = |name: &str, value: &str| query.get(name).is_none_or(|want| want == value);
            let keys: Vec<Value> = store
                .keys()
                .filter(|k| {
                    !k.deleted && k.region == ctx.region() && k.visible_to(ctx.organisation())
                })
                .filter(|k| {
                    filter("identity", &k.identity)
                        && filter("name", &k.name)
                        && filter("slug", &k.slug)
                })
                .map(KeyRecord::view)
                .collect();
            Ok(ok(Value::Array(keys)))
        }
        E::CreateKey => {
            let mut b = Body::parse(body, false)?;
            let new = NewKey {
                name: b
                    .string("name")?
                    .ok_or_else(|| ApiError::bad_request("name is required"))?,
                key_type: b
                    .string("keyType")?
                    .ok_or_else(|| ApiError::bad_request("keyType is required"))?,
                description: b.description()?,
                labels: b.string_map("labels")?,
                annotations: b.string_map("annotations")?,
                export_allowed: b.bool("exportAllowed")?.unwrap_or(false),
                key_rotation_enabled: b.bool("keyRotationEnabled")?.unwrap_or(false),
                rotation_period_in_days: rotation_days(&mut b)?,
                region: ctx.region().to_string(),
                organisation: Some(ctx.organisation().to_string()),
                project: scope.project.clone(),
                ..NewKey::default()
            };
            let mut store = shared.write_store();
            store.check_kms_available(ctx.region())?;
            let view = store.create_key(new, now)?.view();
            drop(store);
            shared.core.changed();
            // UNCONFIRMED: 201 with the key; the other KMS moves answer 200 with the key.
            Ok(Reply::Json(StatusCode::CREATED, view))
        }
        E::GetKey => {
            let store = shared.read_store();
            store.check_kms_available(ctx.region())?;
            Ok(ok(store
                .key(ctx.region(), ctx.organisation(), key_id(route))?
                .view()))
        }
        E::DeleteKey | E::EnableKey | E::DisableKey | E::CancelKeyDeletion => {
            use KeyStatus::{Active, Disabled, PendingDeletion};
            let (from, to): (&[KeyStatus], KeyStatus) = match route.endpoint {
                E::DeleteKey => (&[Active, Disabled], PendingDeletion),
                E::EnableKey => (&[Disabled], Active),
                E::DisableKey => (&[Active], Disabled),
                _ => (&[PendingDeletion], Active),
            };
            mutate_key(shared, ctx, |store| {
                store.key_transition(
                    ctx.region(),
                    ctx.organisation(),
                    key_id(route),
                    from,
                    to,
                    now,
                )
            })
        }
        E::RotateKey => mutate_key(shared, ctx, |store| {
            store.rotate_key(ctx.region(), ctx.organisation(), key_id(route), now)
        }),
        E::UpdateKeyRotation => {
            let mut b = Body::parse(body, false)?;
            let enabled = b.bool("keyRotationEnabled")?;
            let days = rotation_days(&mut b)?;
            mutate_key(shared, ctx, |store| {
                store.set_key_rotation(
                    ctx.region(),
                    ctx.organisation(),
                    key_id(route),
                    enabled,
                    days,
                    now,
                )
            })
        }
        E::CreateToken | E::Unrouted => Err(ApiError::not_found("no such API route")),
    }
}

fn mutate_key(
    shared: &ThalassaEmulator,
    ctx: &Context,
    change: impl FnOnce(&mut Account) -> Result<&KeyRecord, ApiError>,
) -> Result<Reply, ApiError> {
    let mut store = shared.write_store();
    store.check_kms_available(ctx.region())?;
    let view = change(&mut store)?.view();
    drop(store);
    shared.core.changed();
    Ok(ok(view))
}

fn rotation_days(b: &mut Body) -> Result<Option<u32>, ApiError> {
    b.u64("rotationPeriodInDays")?
        .map(|d| {
            u32::try_from(d).map_err(|_| ApiError::bad_request("rotationPeriodInDays is too large"))
        })
        .transpose()
}

/// The body's `path`, when sent, must be the URL's (UNCONFIRMED: the reference leaves a mismatch open).
fn check_body_path(b: &mut Body, path: &str) -> Result<(), ApiError> {
    match b.string("path")? {
        Some(p) if p != path => Err(ApiError::bad_request(
            "the path in the body does not match the path in the URL",
        )),
        _ => Ok(()),
    }
}
