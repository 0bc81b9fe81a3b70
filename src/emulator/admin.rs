//! The admin endpoint under `/emulator/`, outside the API prefix: health, request counters, fault
//! settings, the clock, and the key switch. Plain JSON, no authentication (a loopback test tool).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::json;

use super::api::Shared;
use super::clock::format_timestamp;
use super::faults::FaultSettings;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/emulator/health",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route("/emulator/metrics", get(metrics).delete(reset_metrics))
        .route("/emulator/faults", get(get_faults).put(put_faults))
        .route(
            "/emulator/faults/disabled-keys/{id}",
            post(disable_key).delete(enable_key),
        )
        .route("/emulator/clock", get(get_clock).post(set_clock))
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    Json(s.counters.snapshot()).into_response()
}

async fn reset_metrics(State(s): State<Arc<Shared>>) -> StatusCode {
    s.counters.reset();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Response {
    Json(s.faults().clone()).into_response()
}

async fn put_faults(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<FaultSettings>(&body)
        .map_err(|e| e.to_string())
        .and_then(|f| f.validate().map(|()| f))
    {
        Ok(f) => {
            *s.faults.write().unwrap_or_else(|e| e.into_inner()) = f.clone();
            Json(f).into_response()
        }
        Err(msg) => bad_request(msg),
    }
}

async fn disable_key(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> StatusCode {
    s.faults
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .disabled_keys
        .insert(id);
    StatusCode::NO_CONTENT
}

async fn enable_key(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> StatusCode {
    s.faults
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .disabled_keys
        .remove(&id);
    StatusCode::NO_CONTENT
}

fn clock_view(s: &Shared) -> Response {
    Json(json!({"now": format_timestamp(s.clock.now()), "frozen": s.clock.is_frozen()}))
        .into_response()
}

async fn get_clock(State(s): State<Arc<Shared>>) -> Response {
    clock_view(&s)
}

/// Exactly one of the fields: freeze at an instant, freeze now, advance by seconds, or resume.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockCommand {
    freeze_at: Option<Timestamp>,
    #[serde(default)]
    freeze: bool,
    advance_seconds: Option<f64>,
    #[serde(default)]
    resume: bool,
}

async fn set_clock(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let cmd: ClockCommand = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e.to_string()),
    };
    let given = usize::from(cmd.freeze_at.is_some())
        + usize::from(cmd.freeze)
        + usize::from(cmd.advance_seconds.is_some())
        + usize::from(cmd.resume);
    if given != 1 {
        return bad_request(
            "give exactly one of freeze_at, freeze, advance_seconds, resume".into(),
        );
    }
    if let Some(at) = cmd.freeze_at {
        s.clock.freeze_at(at);
    } else if cmd.freeze {
        s.clock.freeze();
    } else if let Some(secs) = cmd.advance_seconds {
        match SignedDuration::try_from_secs_f64(secs) {
            Ok(d) => s.clock.advance(d),
            Err(_) => return bad_request("advance_seconds is out of range".into()),
        }
    } else {
        s.clock.resume();
    }
    s.sweep(s.clock.now());
    clock_view(&s)
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"message": message, "type": "invalid_arguments"})),
    )
        .into_response()
}
