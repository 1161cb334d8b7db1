//! HTTP faces over the service layer: the kyy-compatible face, the native `/v1` face and
//! health checks. Handlers only translate; every rule lives in `service`.

pub mod auth;
pub(crate) mod content;
pub mod error;
mod health;
pub mod kyy;
pub mod request;
pub mod v1;

/// The `Range` header parser, public for the fuzz targets (`fuzz/`).
pub use content::{RangeAsk, parse_range};

use axum::Router;
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/content/{asset_id}", get(content::signed_content))
        .nest("/kyyReactApiServer", kyy::router())
        .nest("/v1", v1::router())
        .fallback(v1::not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
