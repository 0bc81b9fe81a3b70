//! Thalassa's part of the admin API, under `/emulator/thalassa/`: KMS keys and their states, KMS
//! availability per region, and an organisation's feature gates. Plain JSON, no authentication (a
//! loopback test tool), like the shared `/emulator/...` endpoints.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::json;

use super::ThalassaEmulator;
use super::account::{Gates, NewKey};
use super::errors::ApiError;
use super::model::{KeyRecord, KeyStatus};

pub fn router() -> Router<Arc<ThalassaEmulator>> {
    Router::new()
        .route("/emulator/thalassa/keys", get(list_keys).post(create_key))
        .route("/emulator/thalassa/keys/{id}/status", put(set_key_status))
        .route("/emulator/thalassa/regions/{region}", put(set_region))
        .route(
            "/emulator/thalassa/organisations/{organisation}/features",
            put(set_features),
        )
}

fn error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(e.body())).into_response()
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn list_keys(State(emu): State<Arc<ThalassaEmulator>>) -> Response {
    let keys: Vec<_> = emu
        .read_store()
        .keys()
        .map(|k| {
            let mut v = k.view();
            v["region"] = json!(k.region);
            v
        })
        .collect();
    Json(keys).into_response()
}

/// A key for the emulator's fake KMS. Without `organisation`, every organisation may use it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyRequest {
    identity: Option<String>,
    name: Option<String>,
    slug: Option<String>,
    region: Option<String>,
    /// Default `aes256-gcm96`.
    key_type: Option<String>,
    organisation: Option<String>,
    project: Option<String>,
    status: Option<String>,
}

async fn create_key(State(emu): State<Arc<ThalassaEmulator>>, body: axum::body::Bytes) -> Response {
    let req: KeyRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let status = match req.status.as_deref().map(KeyStatus::parse) {
        Some(None) => return error(ApiError::bad_request("unknown status")),
        Some(s) => s,
        None => None,
    };
    let mut store = emu.write_store();
    let region = match req.region {
        Some(r) => r,
        None => match store.regions().next() {
            Some((r, _)) => r.to_string(),
            None => return error(ApiError::bad_request("the emulator serves no region")),
        },
    };
    if let Err(e) = store.check_region(&region) {
        return error(e);
    }
    let name = req
        .name
        .or_else(|| req.identity.clone())
        .unwrap_or_else(|| "key".into());
    let new = NewKey {
        identity: req.identity,
        name,
        slug: req.slug,
        region,
        organisation: req.organisation,
        project: req.project,
        key_type: req.key_type.unwrap_or_else(|| "aes256-gcm96".into()),
        status,
        ..NewKey::default()
    };
    let result = store
        .create_key(new, emu.core.clock.now())
        .map(KeyRecord::view);
    drop(store);
    match result {
        Ok(view) => {
            emu.core.changed();
            (StatusCode::CREATED, Json(view)).into_response()
        }
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    status: String,
}

/// Any state to any state, by identity or slug (the KMS API's own moves are stricter).
async fn set_key_status(
    State(emu): State<Arc<ThalassaEmulator>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let req: StatusRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let Some(status) = KeyStatus::parse(&req.status) else {
        return error(ApiError::bad_request(
            "status must be active, disabled or pending_deletion",
        ));
    };
    let now = emu.core.clock.now();
    let result = emu
        .write_store()
        .force_key_status(&id, status, now)
        .map(KeyRecord::view);
    match result {
        Ok(view) => {
            emu.core.changed();
            Json(view).into_response()
        }
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RegionRequest {
    kms_available: bool,
}

/// Serves the region (adding it when new) with or without KMS.
async fn set_region(
    State(emu): State<Arc<ThalassaEmulator>>,
    Path(region): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let req: RegionRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    emu.write_store()
        .set_kms_available(&region, req.kms_available);
    emu.core.changed();
    Json(json!({"region": region, "kmsAvailable": req.kms_available})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeaturesRequest {
    secrets: Option<bool>,
    kms: Option<bool>,
}

async fn set_features(
    State(emu): State<Arc<ThalassaEmulator>>,
    Path(organisation): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let req: FeaturesRequest = match parse(&body) {
        Ok(r) => r,
        Err(e) => return error(e),
    };
    let mut store = emu.write_store();
    let mut gates: Gates = store.gates(&organisation);
    if let Some(s) = req.secrets {
        gates.secrets = s;
    }
    if let Some(k) = req.kms {
        gates.kms = k;
    }
    store.set_gates(&organisation, gates);
    drop(store);
    emu.core.changed();
    Json(json!({"organisation": organisation, "secrets": gates.secrets, "kms": gates.kms}))
        .into_response()
}
