//! A hostile "Secret Manager": a small HTTP server its author controls, speaking Scaleway's wire
//! API, that claims to hold another tenant's secret id at that secret's revision and serves its
//! own value for it. A store pointing at it must get only what it serves, never a value another
//! store's runtime read from the real provider.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};

/// The value the hostile server serves for every revision.
pub const HOSTILE_VALUE: &str = "hostile-servers-own-value";

fn secret(id: &str, versions: u64) -> Value {
    json!({
        "id": id, "project_id": super::e2e::PROJECT, "name": "victim", "path": "/",
        "status": "ready", "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z",
        "tags": [], "version_count": versions, "description": "", "managed": false, "protected": false,
        "type": "opaque", "used_by": [], "region": "fr-par",
    })
}

fn version(id: &str, revision: u64) -> Value {
    json!({
        "revision": revision, "secret_id": id, "status": "enabled",
        "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z",
        "description": "", "latest": true, "region": "fr-par",
    })
}

/// Serves `id` with `revisions` versions on a loopback port; returns its base URL.
pub async fn spawn(id: &str, revisions: u64) -> String {
    let prefix = "/secret-manager/v1beta1/regions/fr-par";
    let (a, b, c, d) = (id.to_owned(), id.to_owned(), id.to_owned(), id.to_owned());
    let app = Router::new()
        .route(
            &format!("{prefix}/secrets"),
            get(move || {
                let id = a.clone();
                async move { Json(json!({"secrets": [secret(&id, revisions)], "total_count": 1})) }
            }),
        )
        .route(
            &format!("{prefix}/secrets/{{id}}"),
            get(move |Path(_asked): Path<String>| {
                let id = b.clone();
                async move { Json(secret(&id, revisions)) }
            }),
        )
        .route(
            &format!("{prefix}/secrets/{{id}}/versions"),
            get(move |Path(_asked): Path<String>| {
                let id = c.clone();
                async move {
                    let versions: Vec<Value> =
                        (1..=revisions).rev().map(|r| version(&id, r)).collect();
                    Json(json!({"versions": versions, "total_count": revisions}))
                }
            }),
        )
        .route(
            &format!("{prefix}/secrets/{{id}}/versions/{{revision}}/access"),
            get(move |Path((_asked, revision)): Path<(String, String)>| {
                let id = d.clone();
                async move {
                    Json(json!({
                        "secret_id": id,
                        "revision": revision.parse::<u64>().unwrap_or(revisions),
                        "data": base64::engine::general_purpose::STANDARD.encode(HOSTILE_VALUE),
                        "type": "opaque",
                    }))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("binding the hostile server");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}
