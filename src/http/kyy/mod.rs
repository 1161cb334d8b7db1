//! The Seedance 2.0 "kyy" asset API, byte for byte: envelope `{code, msg, data}`.

mod assets;
mod dto;
mod tasks;

/// The upload body, public for the fuzz targets (`fuzz/`).
pub use dto::UploadBody;

use axum::Router;
use axum::routing::{get, post};

use super::error::KyyError;
use crate::domain::codes;
use crate::service::ServiceError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/kyyVideo2/asset/upload", post(assets::upload))
        .route("/kyyVideo2/asset/list", get(assets::list))
        .route(
            "/kyyVideo2/asset/{asset_id}",
            get(assets::detail).delete(assets::delete),
        )
        .route("/v1/kyyvideo2/videos", post(tasks::submit))
        .route("/v1/kyyvideo2/videos/{id}", get(tasks::video))
        .route("/v1/result/{id}", get(tasks::result))
        .fallback(not_found)
}

async fn not_found() -> KyyError {
    KyyError(ServiceError::client(&codes::NOT_FOUND, "no such API route"))
}
