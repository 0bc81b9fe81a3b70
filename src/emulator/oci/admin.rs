//! `/emulator/oci/...`: seeding (API keys, compartments, vaults, keys), the settings (write window,
//! limits, write budget, strict or lenient signatures), the key switch (ENABLED, DISABLED,
//! PENDING_DELETION) and the policy switch (a user's IAM policies taken away or given back). Plain JSON, no authentication (a loopback test tool), like `/emulator/...`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::account::Seed;
use super::model::KeyState;
use super::{OciEmulator, OciSettings};

pub fn router() -> Router<Arc<OciEmulator>> {
    Router::new()
        .route("/emulator/oci/seed", post(seed))
        .route(
            "/emulator/oci/settings",
            get(get_settings).put(put_settings),
        )
        .route("/emulator/oci/keys/{id}/state", put(set_key_state))
        .route("/emulator/oci/users/{id}/policies", put(set_policies))
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"code": "InvalidParameter", "message": message})),
    )
        .into_response()
}

async fn seed(State(emu): State<Arc<OciEmulator>>, body: axum::body::Bytes) -> Response {
    let seed: Seed = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(e.to_string()),
    };
    let now = emu.core.clock.now();
    match emu.write_store().seed(seed, now) {
        Ok(seeded) => {
            emu.core.changed();
            Json(seeded).into_response()
        }
        Err(e) => bad_request(e),
    }
}

async fn get_settings(State(emu): State<Arc<OciEmulator>>) -> Response {
    Json(emu.settings()).into_response()
}

async fn put_settings(State(emu): State<Arc<OciEmulator>>, body: axum::body::Bytes) -> Response {
    let settings = match serde_json::from_slice::<OciSettings>(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(e.to_string()),
    };
    match emu.set_settings(settings.clone()) {
        Ok(()) => Json(settings).into_response(),
        Err(e) => bad_request(e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyStateCommand {
    lifecycle_state: String,
    time_of_deletion: Option<Timestamp>,
}

async fn set_key_state(
    State(emu): State<Arc<OciEmulator>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let cmd: KeyStateCommand = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e.to_string()),
    };
    let Some(state) = KeyState::parse(&cmd.lifecycle_state).filter(|s| *s != KeyState::Deleted)
    else {
        return bad_request("lifecycleState must be ENABLED, DISABLED or PENDING_DELETION".into());
    };
    let now = emu.core.clock.now();
    match emu
        .write_store()
        .set_key_state(&id, state, cmd.time_of_deletion, now)
    {
        Ok(view) => {
            emu.core.changed();
            Json(view).into_response()
        }
        Err(e) => (
            StatusCode::NOT_FOUND,
            Json(json!({"code": "NotAuthorizedOrNotFound", "message": e})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PoliciesCommand {
    allowed: bool,
}

/// `{"allowed": false}` takes the user's policies away (every call answers 404
/// NotAuthorizedOrNotFound, as OCI does for a missing permission); `true` gives them back.
async fn set_policies(
    State(emu): State<Arc<OciEmulator>>,
    Path(user): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let cmd: PoliciesCommand = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e.to_string()),
    };
    emu.write_store().set_user_allowed(&user, cmd.allowed);
    emu.core.changed();
    Json(json!({"user": user, "allowed": cmd.allowed})).into_response()
}
