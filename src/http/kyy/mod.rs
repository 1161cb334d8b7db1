//! The Seedance 2.0 "kyy" asset API, byte for byte: envelope `{code, msg, data}`.

mod assets;
mod dto;
mod tasks;
mod upload;

pub use upload::{MAX_JSON_BYTES, UPLOAD_ROUTE};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;

/// The face's routes; the upload route reads bodies up to `upload::body_limit`, every other
/// route keeps the router's small limit.
pub fn router(state: &AppState) -> Router<AppState> {
    let upload_limit = usize::try_from(upload::body_limit(state)).unwrap_or(usize::MAX);
    Router::new()
        .route(
            UPLOAD_ROUTE,
            post(upload::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/kyyVideo2/asset/list", get(assets::list))
        .route(
            "/kyyVideo2/asset/{asset_id}",
            get(assets::detail).delete(assets::delete),
        )
        .route("/v1/kyyvideo2/videos", post(tasks::submit))
        .route("/v1/kyyvideo2/videos/{id}", get(tasks::video))
        .route("/v1/result/{id}", get(tasks::result))
}
