//! What every request leaves behind: its id (`x-request-id`, accepted or generated, echoed in
//! the answer and on every log line of the request) and its metrics (by route template).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::auth::V1Caller;
use super::error::V1Error;
use crate::metrics::METRICS;
use crate::request_id;
use crate::service::require_admin;
use crate::state::AppState;

/// The outermost layer: the request's id, its span, and the id in the answer.
pub async fn with_request_id(request: Request, next: Next) -> Response {
    let sent = request
        .headers()
        .get(request_id::HEADER)
        .and_then(|v| v.to_str().ok());
    let id = request_id::accept_or_generate(sent);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path()
    );
    let mut response = request_id::scope(id.clone(), next.run(request).instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(request_id::HEADER, value);
    }
    response
}

/// Around each matched route: the request's count and latency by route template.
pub async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    METRICS.request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The gauges read from the shared state, then every metric as text.
pub async fn render(state: &AppState) -> Response {
    if let Ok(depth) = state.repo.count_jobs().await {
        METRICS
            .queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    if let Ok(oldest) = state.repo.oldest_job().await {
        let age = oldest.map_or(0.0, |t| {
            (chrono::Utc::now() - t)
                .to_std()
                .unwrap_or_default()
                .as_secs_f64()
        });
        METRICS.oldest_job_age.set(age);
    }
    let (connections, idle) = state.repo.pool_use();
    METRICS.db_connections.set(i64::from(connections));
    METRICS.db_idle_connections.set(i64::from(idle));
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        METRICS.render(),
    )
        .into_response()
}

/// `GET /metrics` on the API's address: admin keys only.
pub async fn metrics(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
) -> Result<Response, V1Error> {
    require_admin(&caller, "metrics (or --metrics-listen, without a key)")?;
    Ok(render(&state).await)
}

/// `GET /metrics` on `--metrics-listen` (no key: that address is the operator's).
pub async fn open_metrics(State(state): State<AppState>) -> Response {
    render(&state).await
}
