//! HTTP faces over the service layer: the kyy-compatible face, the native `/v1` face and
//! health checks. Handlers only translate; every rule lives in `service`.

pub mod auth;
pub(crate) mod content;
pub mod error;
mod health;
pub mod kyy;
pub mod v1;

use axum::Router;
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

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

/// Parses a JSON body into `T`, with an error message that names what is wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, crate::service::ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(crate::service::ServiceError::invalid(
            "the request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        crate::service::ServiceError::invalid(format!(
            "the request body is not valid JSON for this call: {e}"
        ))
    })
}

/// `force=true` (or `1`) in a query string.
pub fn force_flag(query: Option<&str>) -> bool {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "force" && (v == "true" || v == "1"))
}
