//! The API request pipeline: route → authenticate → shared faults ([`Core::admit`]) → handler → render
//! → count ([`Core::finish`]).
//!
//! [`Core::admit`]: crate::emulator::core::Core::admit
//! [`Core::finish`]: crate::emulator::core::Core::finish

use std::sync::Arc;

use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::ScalewayEmulator;
use super::account::{
    Account, BrowseItem, NewSecret, NewVersion, RevisionSelector, SecretPatch, VersionPatch,
};
use super::auth::Caller;
use super::errors::ApiError;
use super::model::{AccessView, SecretType, SecretView, VersionView};
use super::payload;
use super::requests::{self, Body, MAX_BODY_BYTES, Query, parse_uuid};
use super::routes::{Endpoint, Route, route};
use crate::emulator::clock::format_timestamp;
use crate::emulator::core::Refusal;
use crate::emulator::metrics::Call;
use crate::emulator::provider::Provider;
use crate::secret_value::SecretValue;

/// What a handler answers on success.
enum Reply {
    Json(StatusCode, Vec<u8>),
    NoContent,
}

fn json_reply<T: Serialize>(value: &T) -> Reply {
    Reply::Json(
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

/// The single entry point for every request under the API prefix (and any unknown path).
pub async fn handle(
    State(shared): State<Arc<ScalewayEmulator>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let routed = route(&method, uri.path());
    let call = match &routed {
        Ok(r) => Call {
            endpoint: r.endpoint.name(),
            secret: r.secret_id,
        },
        Err((e, _)) => Call {
            endpoint: e.name(),
            secret: None,
        },
    };
    let core = &shared.core;
    let finish = |result, rate| core.finish(call, render(result), rate);
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
    let revoked = token.is_some_and(|t| core.faults().revoked_tokens.contains(t.trim()));
    let caller = match shared.auth.authenticate(token) {
        Ok(_) if revoked => {
            return finish(
                Err(ApiError::DeniedAuthentication {
                    method: "api_key",
                    reason: "invalid_argument",
                }),
                None,
            );
        }
        Ok(c) => c,
        Err(e) => return finish(Err(e), None),
    };
    let rate = match core.admit(call.endpoint, token.unwrap_or_default()).await {
        Ok(rate) => rate,
        Err(Refusal::RateLimited(d)) => return finish(Err(ApiError::TooManyRequests), Some(d)),
        Err(Refusal::Injected { status, rate }) => {
            return finish(Err(ApiError::Injected { status }), rate);
        }
        Err(Refusal::Dropped) => return core.drop_connection(call),
    };
    let result = match routed {
        Err((_, e)) => Err(e),
        Ok(r) => match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Err(_) => Err(ApiError::invalid(
                "",
                "constraint",
                format!("request body exceeds {MAX_BODY_BYTES} bytes"),
            )),
            Ok(bytes) => dispatch(&shared, caller, &r, &Query::parse(uri.query()), &bytes),
        },
    };
    finish(result, rate)
}

/// The answer in the gateway's form: JSON (errors in the API's shapes), its `Server` header and a
/// fresh request id.
fn render(result: Result<Reply, ApiError>) -> Response {
    let (status, body) = match result {
        Ok(Reply::Json(status, body)) => (status, body),
        Ok(Reply::NoContent) => (StatusCode::NO_CONTENT, Vec::new()),
        Err(e) => (
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            serde_json::to_vec(&e.body()).unwrap_or_default(),
        ),
    };
    let mut resp = Response::new(HttpBody::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    // 204 answers carry the JSON content type too [REC].
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::SERVER,
        HeaderValue::from_static("Scaleway API Gateway (keyward-emulator)"),
    );
    // A fresh random id per answer, as the gateway sends; drawn from the thread-local generator rather
    // than the OS so that it costs the hot path next to nothing.
    let request_id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    if let Ok(v) = HeaderValue::from_str(
        request_id
            .hyphenated()
            .encode_lower(&mut Uuid::encode_buffer()),
    ) {
        h.insert("x-request-id", v);
    }
    resp
}

fn secret_id(route: &Route<'_>) -> Result<Uuid, ApiError> {
    parse_uuid("secret_id", route.secret_id.unwrap_or_default())
}

fn selector(route: &Route<'_>) -> Result<RevisionSelector, ApiError> {
    RevisionSelector::parse(route.revision.unwrap_or_default())
}

fn dispatch(
    shared: &ScalewayEmulator,
    caller: Caller,
    route: &Route<'_>,
    query: &Query,
    body: &[u8],
) -> Result<Reply, ApiError> {
    use Endpoint as E;
    let now = shared.core.clock.now();
    shared.sweep(now);
    let region = route.region;
    match route.endpoint {
        E::CreateSecret => {
            let mut b = Body::parse(
                body,
                &[
                    "project_id",
                    "name",
                    "tags",
                    "description",
                    "type",
                    "path",
                    "ephemeral_policy",
                    "protected",
                    "key_id",
                ],
                false,
            )?;
            let project_id = parse_uuid("project_id", &b.required_string("project_id")?)?;
            caller.check_project(project_id, "secret", "create")?;
            let name = b.required_string("name")?;
            let tags = b.string_list("tags")?.unwrap_or_default();
            let description = b.string("description")?.unwrap_or_default();
            let secret_type = requests::parse_secret_type(b.string("type")?.as_deref())?
                .unwrap_or(SecretType::Opaque);
            let path = b.string("path")?.unwrap_or_else(|| "/".into());
            let ephemeral_policy = b
                .raw("ephemeral_policy")
                .map(requests::parse_policy)
                .transpose()?
                .flatten();
            let protected = b.bool("protected")?.unwrap_or(false);
            let key_id = b.string("key_id")?.filter(|k| !k.is_empty());
            let new = NewSecret {
                project_id,
                name,
                tags,
                description,
                secret_type,
                path,
                ephemeral_policy,
                protected,
                key_id,
            };
            let mut store = shared.write_store();
            let secret = store.create_secret(region, Uuid::new_v4(), new, now)?;
            let reply = json_reply(&SecretView::of(secret));
            drop(store);
            shared.core.changed();
            Ok(reply)
        }
        E::GetSecret => {
            let id = secret_id(route)?;
            let store = shared.read_store();
            let secret = store.secret(region, id)?;
            caller.check_project(secret.project_id, "secret", "read")?;
            Ok(json_reply(&SecretView::of(secret)))
        }
        E::UpdateSecret => {
            let id = secret_id(route)?;
            let mut b = Body::parse(
                body,
                &["name", "tags", "description", "path", "ephemeral_policy"],
                false,
            )?;
            let patch = SecretPatch {
                name: match b.string("name")? {
                    Some(n) if n.is_empty() => {
                        return Err(ApiError::invalid("name", "constraint", "must not be empty"));
                    }
                    other => other,
                },
                tags: b.string_list("tags")?,
                description: b.string("description")?,
                path: b.string("path")?,
                ephemeral_policy: b
                    .raw("ephemeral_policy")
                    .map(requests::parse_policy)
                    .transpose()?,
            };
            mutate_secret(shared, caller, region, id, "update", |store| {
                store
                    .update_secret(region, id, patch, now)
                    .map(|s| json_reply(&SecretView::of(s)))
            })
        }
        E::DeleteSecret => {
            let id = secret_id(route)?;
            mutate_secret(shared, caller, region, id, "delete", |store| {
                store
                    .delete_secret(region, id, now, shared.options)
                    .map(|()| Reply::NoContent)
            })
        }
        E::ListSecrets => {
            let mut filter = query.secret_filter()?;
            filter.project_id = caller.scope(filter.project_id, "secret")?;
            let (order, page) = (query.order_by()?, query.page()?);
            let store = shared.read_store();
            let (secrets, total) = store.list_secrets(region, &filter, order, page);
            let views: Vec<SecretView<'_>> = secrets.into_iter().map(SecretView::of).collect();
            Ok(json_reply(&json!({"secrets": views, "total_count": total})))
        }
        E::BrowseSecrets => {
            let mut filter = query.secret_filter()?;
            // Browse lists live secrets; it has no name, path or deletion filter.
            filter.name = None;
            filter.path = None;
            filter.scheduled_for_deletion = false;
            filter.project_id = caller.scope(filter.project_id, "secret")?;
            let prefix = super::account::normalize_path(query.get("prefix").unwrap_or("/"));
            let (order, page) = (query.order_by()?, query.page()?);
            let store = shared.read_store();
            let (items, total) = store.browse(region, &filter, &prefix, order, page);
            let items: Vec<_> = items.iter().map(browse_view).collect();
            Ok(json_reply(&BrowseView {
                items,
                current_path: &prefix,
                total_count: total,
            }))
        }
        E::ProtectSecret | E::UnprotectSecret => {
            let id = secret_id(route)?;
            Body::parse(body, &[], true)?;
            let protect = route.endpoint == E::ProtectSecret;
            mutate_secret(shared, caller, region, id, "update", |store| {
                store
                    .set_protected(region, id, protect)
                    .map(|s| json_reply(&SecretView::of(s)))
            })
        }
        E::AddSecretOwner => {
            let id = secret_id(route)?;
            let mut b = Body::parse(body, &["product"], false)?;
            let product = requests::parse_product(&b.required_string("product")?)?;
            // UNCONFIRMED: 204 with no body, like the other answers the SDK reads nothing from.
            mutate_secret(shared, caller, region, id, "update", |store| {
                store
                    .add_owner(region, id, product)
                    .map(|_| Reply::NoContent)
            })
        }
        E::RestoreSecret => {
            let id = secret_id(route)?;
            Body::parse(body, &[], true)?;
            mutate_secret(shared, caller, region, id, "update", |store| {
                store
                    .restore_secret(region, id, now)
                    .map(|s| json_reply(&SecretView::of(s)))
            })
        }
        E::CreateSecretVersion => {
            let id = secret_id(route)?;
            let mut b = Body::parse(
                body,
                &["data", "description", "disable_previous", "data_crc32"],
                false,
            )?;
            let data = b
                .string("data")?
                .ok_or_else(|| ApiError::invalid("data", "required", "is required"))?;
            let description = b.string("description")?.unwrap_or_default();
            let disable_previous = b.bool("disable_previous")?.unwrap_or(false);
            let data_crc32 = b.u32("data_crc32")?;
            let bytes = payload::decode_data(&data)?;
            if let Some(crc) = data_crc32 {
                payload::check_crc32(&bytes, crc)?;
            }
            let new = NewVersion {
                payload: SecretValue::new(bytes),
                description,
                disable_previous,
                data_crc32,
            };
            mutate_secret(shared, caller, region, id, "create", |store| {
                let secret = store.secret(region, id)?;
                check_key(shared, secret.id, secret.key_id.as_deref())?;
                payload::validate_for_type(secret.secret_type, new.payload.expose())?;
                let (secret, revision) = store.create_version(region, id, new, now)?;
                let version = secret
                    .version(revision)
                    .ok_or_else(|| ApiError::not_found_version(revision))?;
                Ok(json_reply(&VersionView::of(secret, version)))
            })
        }
        E::GetSecretVersion => {
            let (id, sel) = (secret_id(route)?, selector(route)?);
            let store = shared.read_store();
            let secret = store.secret(region, id)?;
            caller.check_project(secret.project_id, "secret", "read")?;
            let revision = Account::resolve(secret, sel)?;
            let version = secret
                .version(revision)
                .ok_or_else(|| ApiError::not_found_version(revision))?;
            Ok(json_reply(&VersionView::of(secret, version)))
        }
        E::UpdateSecretVersion => {
            let (id, sel) = (secret_id(route)?, selector(route)?);
            let mut b = Body::parse(body, &["description", "ephemeral_properties"], false)?;
            let patch = VersionPatch {
                description: b.string("description")?,
                ephemeral_properties: b
                    .raw("ephemeral_properties")
                    .map(requests::parse_properties)
                    .transpose()?,
            };
            mutate_secret(shared, caller, region, id, "update", |store| {
                version_reply(store.update_version(region, id, sel, patch, now))
            })
        }
        E::DeleteSecretVersion => {
            let (id, sel) = (secret_id(route)?, selector(route)?);
            mutate_secret(shared, caller, region, id, "delete", |store| {
                store
                    .delete_version(region, id, sel, now)
                    .map(|()| Reply::NoContent)
            })
        }
        E::ListSecretVersions => {
            let id = secret_id(route)?;
            let (statuses, page) = (query.statuses()?, query.page()?);
            let store = shared.read_store();
            let (secret, versions, total) = store.list_versions(region, id, &statuses, page)?;
            caller.check_project(secret.project_id, "secret", "read")?;
            let views: Vec<_> = versions
                .into_iter()
                .map(|v| VersionView::of(secret, v))
                .collect();
            Ok(json_reply(
                &json!({"versions": views, "total_count": total}),
            ))
        }
        E::AccessSecretVersion => {
            let (id, sel) = (secret_id(route)?, selector(route)?);
            access(shared, caller, region, id, sel, now)
        }
        E::AccessSecretVersionByPath => {
            let sel = selector(route)?;
            let name = query
                .get("secret_name")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ApiError::invalid("secret_name", "required", "is required"))?;
            let path = query.get("secret_path").unwrap_or("/");
            let project = caller.scope(query.uuid("project_id")?, "secret")?;
            let id = shared
                .read_store()
                .find_by_path(region, project, path, name)?
                .id;
            access(shared, caller, region, id, sel, now)
        }
        E::EnableSecretVersion | E::DisableSecretVersion => {
            let (id, sel) = (secret_id(route)?, selector(route)?);
            Body::parse(body, &[], true)?;
            let enable = route.endpoint == E::EnableSecretVersion;
            mutate_secret(shared, caller, region, id, "update", |store| {
                version_reply(store.set_version_enabled(region, id, sel, enable, now))
            })
        }
        E::RestoreSecretVersion => {
            let id = secret_id(route)?;
            // Only a number is documented for this endpoint [SDK]; `latest` is accepted as well here.
            let sel = selector(route)?;
            Body::parse(body, &[], true)?;
            mutate_secret(shared, caller, region, id, "update", |store| {
                version_reply(store.restore_version(region, id, sel, now))
            })
        }
        E::ListTags => {
            let project = caller.scope(query.uuid("project_id")?, "secret")?;
            let page = query.page()?;
            let tags = shared.read_store().tags(region, project);
            let total = tags.len();
            Ok(json_reply(
                &json!({"tags": page.slice(tags), "total_count": total}),
            ))
        }
        E::ListSecretTypes => {
            let project = caller.scope(query.uuid("project_id")?, "secret")?;
            let page = query.page()?;
            let types: Vec<&str> = shared
                .read_store()
                .types(region, project)
                .into_iter()
                .map(|t| t.as_str())
                .collect();
            let total = types.len();
            Ok(json_reply(
                &json!({"types": page.slice(types), "total_count": total}),
            ))
        }
        E::Unrouted => Err(ApiError::UnknownRoute),
    }
}

/// Runs a change on one secret under the write lock, after checking the caller owns it.
fn mutate_secret(
    shared: &ScalewayEmulator,
    caller: Caller,
    region: &str,
    id: Uuid,
    action: &'static str,
    change: impl FnOnce(&mut Account) -> Result<Reply, ApiError>,
) -> Result<Reply, ApiError> {
    let mut store = shared.write_store();
    let project = store.secret(region, id)?.project_id;
    caller.check_project(project, "secret", action)?;
    let reply = change(&mut store)?;
    drop(store);
    shared.core.changed();
    Ok(reply)
}

fn version_reply(
    result: Result<(&super::model::SecretRecord, u32), ApiError>,
) -> Result<Reply, ApiError> {
    let (secret, revision) = result?;
    let version = secret
        .version(revision)
        .ok_or_else(|| ApiError::not_found_version(revision))?;
    Ok(json_reply(&VersionView::of(secret, version)))
}

/// "Key disabled" (seed 003's KMS table): payload operations fail with 400 while metadata stays
/// readable. The body is an `invalid_arguments` on `key_id` (UNCONFIRMED).
fn check_key(
    shared: &ScalewayEmulator,
    secret_id: Uuid,
    key_id: Option<&str>,
) -> Result<(), ApiError> {
    if shared
        .core
        .faults()
        .key_disabled(&secret_id.to_string(), key_id)
    {
        return Err(ApiError::invalid(
            "key_id",
            "constraint",
            "the key protecting this secret is disabled or pending deletion",
        ));
    }
    Ok(())
}

fn access(
    shared: &ScalewayEmulator,
    caller: Caller,
    region: &str,
    id: Uuid,
    sel: RevisionSelector,
    now: Timestamp,
) -> Result<Reply, ApiError> {
    let mut store = shared.write_store();
    let secret = store.secret(region, id)?;
    caller.check_project(secret.project_id, "secret", "access")?;
    check_key(shared, secret.id, secret.key_id.as_deref())?;
    let accessed = store.access(region, id, sel, now)?;
    drop(store);
    if accessed.expired {
        shared.core.changed();
    }
    let view = AccessView {
        secret_id: id,
        revision: accessed.revision,
        data: base64::engine::general_purpose::STANDARD.encode(accessed.data.expose()),
        data_crc32: accessed.data_crc32,
        secret_type: accessed.secret_type.as_str(),
    };
    Ok(json_reply(&view))
}

#[derive(Serialize)]
struct BrowseView<'a> {
    items: Vec<serde_json::Value>,
    current_path: &'a str,
    total_count: usize,
}

fn browse_view(item: &BrowseItem<'_>) -> serde_json::Value {
    match item {
        BrowseItem::Secret(s) => {
            let view = SecretView::of(s);
            json!({
                "name": s.name,
                "created_at": format_timestamp(s.created_at),
                "updated_at": format_timestamp(s.updated_at),
                "secret": {
                    "id": s.id,
                    "tags": s.tags,
                    "version_count": s.versions.len(),
                    "protected": s.protected,
                    "ephemeral_policy": view.ephemeral_policy,
                    "type": s.secret_type.as_str(),
                },
            })
        }
        BrowseItem::Folder {
            name,
            created_at,
            updated_at,
        } => json!({
            "name": name,
            "created_at": format_timestamp(*created_at),
            "updated_at": format_timestamp(*updated_at),
            "folder": {},
        }),
    }
}
