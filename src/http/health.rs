use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::passed_through;
use crate::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the metadata database and the blob store answer. Not ready is a 503 with the same
/// document (which dependency is down), not an error envelope.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let database = state.repo.ping().await;
    let blobs = state.blobs.ping().await;
    let ready = database.is_ok() && blobs.is_ok();
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database check failed");
    }
    if let Err(e) = &blobs {
        tracing::warn!(error = %e, "readiness: blob store check failed");
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    passed_through(
        (
            status,
            Json(json!({
                "status": word(ready),
                "database": word(database.is_ok()),
                "blobStore": word(blobs.is_ok()),
            })),
        )
            .into_response(),
    )
}
