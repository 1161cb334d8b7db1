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

/// Readiness: the metadata database and the blob store answer, and the temp directory and
/// the blob store can take a write (a full disk makes every upload fail). Not ready is a 503
/// with the same document — which dependency is down or full, and a `cause` sentence —, not
/// an error envelope.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let (database, blobs, storage) = tokio::join!(
        state.repo.ping(),
        state.blobs.ping(),
        state.storage.status()
    );
    if let Err(e) = &database {
        tracing::warn!(error = %e, "readiness: database check failed");
    }
    if let Err(e) = &blobs {
        tracing::warn!(error = %e, "readiness: blob store check failed");
    }
    let ready = database.is_ok()
        && blobs.is_ok()
        && storage.tmp_dir.is_yes()
        && storage.blob_store.is_yes();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let blob_word = if blobs.is_ok() {
        storage.blob_store.word()
    } else {
        "unavailable"
    };
    let mut body = json!({
        "status": word(ready),
        "database": word(database.is_ok()),
        "blobStore": blob_word,
        "tmpDir": storage.tmp_dir.word(),
    });
    let cause = if database.is_err() {
        Some("the metadata database does not answer".to_owned())
    } else if blobs.is_err() {
        Some("the blob store does not answer".to_owned())
    } else {
        storage
            .tmp_dir
            .cause()
            .or(storage.blob_store.cause())
            .map(str::to_owned)
    };
    if let Some(cause) = cause {
        body["cause"] = Value::String(cause);
    }
    passed_through((status, Json(body)).into_response())
}
