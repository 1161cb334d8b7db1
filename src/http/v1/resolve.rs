use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::domain::codes;
use crate::http::auth::V1Caller;
use crate::http::error::{V1Error, v1_violations};
use crate::service::Resolved;
use crate::state::AppState;

/// `POST /v1/resolve`: the task with every `asset://` rewritten to a signed URL, or 422 with
/// every violation by field path.
pub async fn resolve(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: Bytes,
) -> Result<Response, V1Error> {
    let task: serde_json::Value = crate::http::request::parse_json(&body)?;
    match state.delivery.resolve(&caller, task).await? {
        Resolved::Task { task, .. } => Ok(Json(task).into_response()),
        Resolved::Invalid(violations) => {
            let message = format!(
                "{} problem{} with the task's references",
                violations.len(),
                if violations.len() == 1 { "" } else { "s" }
            );
            Ok(v1_violations(
                &codes::INVALID_REFERENCES,
                message,
                violations,
            ))
        }
    }
}
