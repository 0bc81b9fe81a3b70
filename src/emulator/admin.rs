//! The admin endpoint under `/emulator/`, outside the API prefix: health, request counters, fault
//! settings, the clock, and the key switch. Plain JSON, no authentication (a loopback test tool). The
//! same for every provider: it works on the shared [`Core`] and calls the provider only to apply what a
//! clock move made due.

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

use super::clock::format_timestamp;
use super::core::Core;
use super::faults::FaultSettings;
use super::provider::Provider;

/// What the admin handlers work on.
#[derive(Clone)]
pub struct Admin {
    pub core: Arc<Core>,
    pub provider: Arc<dyn Provider>,
}

pub fn router(admin: Admin) -> Router {
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
        .with_state(admin)
}

async fn metrics(State(a): State<Admin>) -> Response {
    Json(a.core.counters.snapshot()).into_response()
}

async fn reset_metrics(State(a): State<Admin>) -> StatusCode {
    a.core.counters.reset();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(a): State<Admin>) -> Response {
    Json(a.core.faults().clone()).into_response()
}

async fn put_faults(State(a): State<Admin>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<FaultSettings>(&body)
        .map_err(|e| e.to_string())
        .and_then(|f| a.core.set_faults(f.clone()).map(|()| f))
    {
        Ok(f) => Json(f).into_response(),
        Err(msg) => bad_request(msg),
    }
}

async fn disable_key(State(a): State<Admin>, Path(id): Path<String>) -> StatusCode {
    a.core.set_key_disabled(id, true);
    StatusCode::NO_CONTENT
}

async fn enable_key(State(a): State<Admin>, Path(id): Path<String>) -> StatusCode {
    a.core.set_key_disabled(id, false);
    StatusCode::NO_CONTENT
}

fn clock_view(core: &Core) -> Response {
    Json(json!({"now": format_timestamp(core.clock.now()), "frozen": core.clock.is_frozen()}))
        .into_response()
}

async fn get_clock(State(a): State<Admin>) -> Response {
    clock_view(&a.core)
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

async fn set_clock(State(a): State<Admin>, body: axum::body::Bytes) -> Response {
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
    let clock = &a.core.clock;
    if let Some(at) = cmd.freeze_at {
        clock.freeze_at(at);
    } else if cmd.freeze {
        clock.freeze();
    } else if let Some(secs) = cmd.advance_seconds {
        match SignedDuration::try_from_secs_f64(secs) {
            Ok(d) => clock.advance(d),
            Err(_) => return bad_request("advance_seconds is out of range".into()),
        }
    } else {
        clock.resume();
    }
    a.provider.sweep(clock.now());
    clock_view(&a.core)
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"message": message, "type": "invalid_arguments"})),
    )
        .into_response()
}
