//! What every request leaves behind: its id (`x-request-id`, accepted or generated, echoed in
//! the answer and on every log line of the request) and its metrics (by route template).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::auth::V1Caller;
use super::client_addr::{Peer, client_address};
use super::error::V1Error;
use crate::metrics::METRICS;
use crate::request_id::{self, Notes};
use crate::service::require_admin;
use crate::state::AppState;

/// The `--trusted-proxies` networks.
pub type TrustedProxies = Arc<[ipnet::IpNet]>;

/// The outermost layer: the request's id, its span, and the id in the answer; the client's
/// address (`client_addr`), for the access log and as a request extension.
pub async fn with_request_id(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<Peer>()
        .map(|peer| client_address(peer.0, request.headers(), &trusted));
    if let Some(client) = client {
        request.extensions_mut().insert(ClientAddr(client));
    }
    let sent = request
        .headers()
        .get(request_id::HEADER)
        .and_then(|v| v.to_str().ok());
    let id = request_id::accept_or_generate(sent);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        path = %request.uri().path()
    );
    let started = Instant::now();
    let (mut response, notes) = request_id::with_notes(request_id::scope(
        id.clone(),
        next.run(request).instrument(span),
    ))
    .await;
    access_log(&method, &response, &notes, &id, client, started.elapsed());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(request_id::HEADER, value);
    }
    response
}

/// The client's address of a request (`client_addr::client_address`), when it came over a
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// One line per request (target `assetlib::access`): method, route template, status, latency,
/// tenant, request id, the refusal's code and the client's address. Server errors at error,
/// refusals (every 4xx, authentication failures included) at warn, the rest at info. Never a
/// header, a query or a body: no secret reaches the log.
fn access_log(
    method: &Method,
    response: &Response,
    notes: &Notes,
    id: &str,
    client: Option<IpAddr>,
    took: Duration,
) {
    let client = client.map_or_else(|| "-".to_owned(), |c| c.to_string());
    let status = response.status();
    let route = notes.route.as_deref().unwrap_or("unmatched");
    let tenant = notes.tenant.as_deref().unwrap_or("-");
    let code = notes.code.unwrap_or("-");
    // Milliseconds to the microsecond (`0.288`, not `0.28776799999999997`).
    let latency_ms = took.as_micros() as f64 / 1000.0;
    let status = status.as_u16();
    macro_rules! access {
        ($level:ident) => {
            tracing::$level!(
                target: "assetlib::access",
                %method, route, status, latency_ms, tenant, request_id = id, code, client,
                "request"
            )
        };
    }
    if status >= 500 {
        access!(error);
    } else if status >= 400 {
        access!(warn);
    } else {
        access!(info);
    }
}

/// Around each matched route: the request's count and latency by route template.
pub async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    request_id::note_route(&route);
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
    if let Ok((held, oldest)) = state.repo.review_backlog().await {
        let age = oldest.map_or(Duration::ZERO, |t| {
            (chrono::Utc::now() - t).to_std().unwrap_or_default()
        });
        METRICS.review_backlog(held, age);
    }
    METRICS.process(crate::metrics::ProcessStats::read());
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
