use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::service::Resolved;

/// `POST /v1/resolve`: the task with every `asset://` rewritten to a signed URL, or 422 with
/// every violation by field path.
pub async fn resolve(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: Bytes,
) -> Result<Response, V1Error> {
    let task: Value = crate::http::parse_json(&body)?;
    match state.assets.resolve(&caller, task, &state.signer).await? {
        Resolved::Task { task, .. } => Ok(Json(task).into_response()),
        Resolved::Invalid(violations) => {
            let message = format!(
                "{} problem{} with the task's references",
                violations.len(),
                if violations.len() == 1 { "" } else { "s" }
            );
            let body = json!({
                "error": {"code": "invalid-references", "message": message, "violations": violations}
            });
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
    }
}
