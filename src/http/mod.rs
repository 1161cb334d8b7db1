//! HTTP faces over the service layer: the kyy-compatible face, the native `/v1` face and
//! health checks. Handlers only translate; every rule lives in `service`. `envelope` wraps the
//! whole router: limits, and every error answer in the envelope of the face called.

pub mod auth;
pub(crate) mod console;
pub(crate) mod content;
pub mod envelope;
pub mod error;
mod health;
pub mod idempotency;
pub mod kyy;
pub mod limits;
pub mod observe;
pub mod openapi;
pub mod request;
pub mod routes;
pub(crate) mod upload_body;
pub mod v1;
pub mod volc;

/// The `Range` header parser, public for the fuzz targets (`fuzz/`).
pub use content::{RangeAsk, parse_range};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post, put};
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use routes::At;

/// Every route of both faces. A path no route answers is a 404, a route called with another
/// method a 405: axum answers both, and `envelope::guard` puts them in the face's envelope.
/// Paths are exact: `/v1/assets/` is not `/v1/assets` (404, the message names the route).
pub fn router(state: AppState) -> Router {
    let kyy_error_status = state.config.kyy_error_status;
    let routes = Router::new()
        .at("", "/healthz", get(health::healthz))
        .at("", "/readyz", get(health::readyz))
        .at("", "/content/{asset_id}", get(content::signed_content))
        .at("", "/uploads/{upload_id}", put(v1::direct::receive_signed))
        .merge(console::router())
        .nest(error::KYY_PREFIX, kyy::router(&state))
        .nest("/v1", v1::router(&state))
        .at("", "/metrics", get(observe::metrics))
        .at("", "/", post(volc::dispatch).get(volc::dispatch))
        .at("", "/openapi.json", get(openapi::document))
        .at("", "/docs", get(openapi::docs))
        .route_layer(middleware::from_fn(observe::count))
        .layer(DefaultBodyLimit::max(envelope::MAX_BODY_BYTES))
        .with_state(state);
    // The guard wraps the routing itself (a `Router::layer` would run after it, per route),
    // so it sees axum's own 404s and 405s with their `Allow` headers.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(envelope::guard))
        .layer(middleware::from_fn_with_state(
            kyy_error_status,
            error::kyy_error_status,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(observe::with_request_id))
}

/// The router of `--metrics-listen`: `GET /metrics` without a key.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(observe::open_metrics))
        .with_state(state)
}
