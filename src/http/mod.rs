//! HTTP faces over the service layer: the kyy-compatible face, the native `/v1` face and
//! health checks. Handlers only translate; every rule lives in `service`. `envelope` wraps the
//! whole router: limits, and every error answer in the envelope of the face called.

pub mod auth;
pub mod client_addr;
pub(crate) mod console;
pub(crate) mod content;
mod content_streams;
pub mod envelope;
pub mod error;
mod health;
pub mod idempotency;
pub mod index;
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

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::{Extension, Router, middleware};
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use error::Face;
use routes::{Route, Routes, Schema};

/// Every route of every face: the one table the router and the OpenAPI document are folded from.
pub fn table() -> Vec<Routes> {
    vec![
        kyy::routes(),
        v1::routes(),
        outside_faces(),
        console::routes(),
    ]
}

/// Each route's method and full path, from the table.
pub fn endpoints() -> Vec<(Method, String)> {
    table().iter().flat_map(Routes::endpoints).collect()
}

/// The routes outside the two faces' prefixes: signed URLs, the Volcengine-style face, and
/// operating the server.
fn outside_faces() -> Routes {
    let health = json!({"type": "object", "properties": {"status": {"type": "string"}}});
    let volc = json!({"type": "object", "required": ["ResponseMetadata"], "properties": {
        "ResponseMetadata": {"type": "object", "required": ["RequestId", "Action", "Version", "Service", "Region"],
            "properties": {"RequestId": {"type": "string"}, "Action": {"type": "string"}, "Version": {"type": "string"},
                "Service": {"type": "string"}, "Region": {"type": "string"},
                "Error": {"type": "object", "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}}}}},
        "Result": {"type": "object"}}});
    let volc_summary = "Volcengine OpenAPI: ?Action=CreateAssetGroup|GetAssetGroup|ListAssetGroups|UpdateAssetGroup|DeleteAssetGroup|CreateAsset|GetAsset|ListAssets|UpdateAsset|DeleteAsset&Version=2024-01-01, signed HMAC-SHA256 (or a bearer key)";
    let volc_answer =
        "{ResponseMetadata, Result}; refusals carry ResponseMetadata.Error{Code, Message}";
    let mut routes = Routes::new("", Face::V1, "ops")
        .route(
            Route::get(
                "/content/{asset_id}",
                content::signed_content,
                "The bytes through a signed, expiring URL (no key)",
            )
            .tag("v1")
            .query(&["exp", "sig"])
            .bytes(200, "The bytes")
            .bytes(206, "The range"),
        )
        .route(
            Route::put(
                "/uploads/{upload_id}",
                v1::direct::receive_signed,
                "The bytes of a direct upload (signed URL, no key)",
            )
            .tag("v1")
            .query(&["exp", "sig"])
            .raw_body("application/octet-stream", "The file")
            .answers_empty(200, "Stored"),
        );
    // The Volcengine-style face: one path, the action in the query; `/api/ark` is the same face
    // at the path some integrations call it by.
    // `GET /` without an action is the index (a browser is sent to the console).
    let root_summary = format!(
        "The index: a browser (Accept: text/html) is sent to /console, an API client gets the \
         links of the faces, documents and health checks; with ?Action=… the {volc_summary}"
    );
    for route in [
        Route::post("/", volc::dispatch, volc_summary),
        Route::get("/", index::root, &root_summary),
        Route::post("/api/ark", volc::dispatch, volc_summary),
        Route::get("/api/ark", volc::dispatch, volc_summary),
    ] {
        routes = routes.route(
            route
                .tag("volc")
                .query(&["Action", "Version"])
                .body(Schema::any_object())
                .answers_json(200, volc_answer, Schema::Literal(volc.clone())),
        );
    }
    routes
        .route(
            Route::get("/healthz", health::healthz, "Liveness").answers_json(
                200,
                "Up",
                Schema::Literal(health.clone()),
            ),
        )
        .route(
            Route::get(
                "/readyz",
                health::readyz,
                "Readiness (database and blob store)",
            )
            .answers_json(200, "Ready", Schema::Literal(health))
            .answers_json(503, "Not ready", Schema::any_object()),
        )
        .route(
            Route::get(
                "/metrics",
                observe::metrics,
                "Prometheus metrics (admin key)",
            )
            .answers_empty(200, "OpenMetrics text"),
        )
        .route(
            Route::get("/openapi.json", openapi::document, "This document").answers_json(
                200,
                "OpenAPI 3.1",
                Schema::any_object(),
            ),
        )
        .route(
            Route::get("/docs", openapi::docs, "This document, to read").answers_empty(200, "HTML"),
        )
}

/// Every route of the table. A path no route answers is a 404, a route called with another
/// method a 405: axum answers both, and `envelope::guard` puts them in the face's envelope.
/// Paths are exact: `/v1/assets/` is not `/v1/assets` (404, the message names the route).
pub fn router(state: AppState) -> Router {
    let kyy_error_status = state.config.kyy_error_status;
    let trusted_proxies: observe::TrustedProxies = state.config.http.trusted_proxies.clone().into();
    let table = table();
    let document = openapi::build(&table);
    let routes = routes::router(table, &state)
        .route_layer(middleware::from_fn(observe::count))
        .layer(Extension(document))
        .layer(Extension(content_streams::ContentStreams::new(
            state.config.http.max_streams_per_content_url,
        )))
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
        .layer(middleware::from_fn_with_state(
            trusted_proxies,
            observe::with_request_id,
        ))
}

/// The router of `--metrics-listen`: `GET /metrics` without a key.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(observe::open_metrics))
        .with_state(state)
}
