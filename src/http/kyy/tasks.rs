//! The task gateway routes, one pair per family of `service::TASK_FAMILIES` (`POST {path}`,
//! `GET {path}/{id}`) and `GET /v1/result/{id}` for all. The caller's body goes upstream with
//! only its `asset://` strings replaced; the upstream's answer comes back byte for byte.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::domain::codes;
use crate::http::auth::KyyCaller;
use crate::http::error::{KyyError, kyy_violations, passed_through};
use crate::service::{GatewayOutcome, GatewayService, ServiceError, TaskFamily};
use crate::state::AppState;
use crate::upstream::UpstreamAnswer;

fn gateway(state: &AppState) -> Result<&GatewayService, KyyError> {
    state.gateway.as_ref().ok_or_else(|| {
        KyyError(ServiceError::unavailable(
            "no generation service is configured on this server (start it with --upstream-url and --upstream-key)",
        ))
    })
}

/// The upstream's answer byte for byte: its status, its content type (none if it sent none)
/// and its body.
fn pass_through(answer: UpstreamAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = status;
    if let Some(value) = answer
        .content_type
        .and_then(|t| HeaderValue::from_str(&t).ok())
    {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    passed_through(response)
}

/// `POST {family.path}`: resolve, forward, record.
pub async fn submit(
    family: &'static TaskFamily,
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    body: Bytes,
) -> Result<Response, KyyError> {
    let gateway = gateway(&state)?;
    match gateway.submit_task(&caller, family, &body).await? {
        GatewayOutcome::Forwarded(answer) => Ok(pass_through(answer)),
        GatewayOutcome::Invalid(violations) => {
            let msg = violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.message))
                .collect::<Vec<_>>()
                .join("; ");
            Ok(kyy_violations(&codes::INVALID_REFERENCES, msg, violations))
        }
    }
}

/// `GET …/{id}`: the status read at `{upstream_path}/{id}`, for a task of the caller's tenant.
pub async fn status(
    upstream_path: &'static str,
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    Path(id): Path<String>,
) -> Result<Response, KyyError> {
    let answer = gateway(&state)?
        .task_status(&caller, upstream_path, &id)
        .await?;
    Ok(pass_through(answer))
}
