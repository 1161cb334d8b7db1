//! The task gateway routes: `POST /v1/kyyvideo2/videos`, `GET /v1/result/{id}` and
//! `GET /v1/kyyvideo2/videos/{id}`. The upstream's answer is returned as is.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::domain::codes;
use crate::http::auth::KyyCaller;
use crate::http::error::{KyyError, kyy_violations, passed_through};
use crate::service::{GatewayOutcome, GatewayService, ServiceError};
use crate::state::AppState;
use crate::upstream::{SUBMIT_PATH, UpstreamAnswer};

fn gateway(state: &AppState) -> Result<&GatewayService, KyyError> {
    state.gateway.as_ref().ok_or_else(|| {
        KyyError(ServiceError::unavailable(
            "no generation service is configured on this server (start it with --upstream-url and --upstream-key)",
        ))
    })
}

fn pass_through(answer: UpstreamAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    passed_through((status, Json(answer.body)).into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    body: Bytes,
) -> Result<Response, KyyError> {
    let gateway = gateway(&state)?;
    let task: Value = crate::http::request::parse_json(&body)?;
    match gateway.submit_task(&caller, task).await? {
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

async fn status_at(
    state: &AppState,
    caller: &crate::domain::Caller,
    path: &str,
    id: &str,
) -> Result<Response, KyyError> {
    let answer = gateway(state)?.task_status(caller, path, id).await?;
    Ok(pass_through(answer))
}

pub async fn result(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    Path(id): Path<String>,
) -> Result<Response, KyyError> {
    status_at(&state, &caller, "/v1/result", &id).await
}

pub async fn video(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    Path(id): Path<String>,
) -> Result<Response, KyyError> {
    status_at(&state, &caller, SUBMIT_PATH, &id).await
}
