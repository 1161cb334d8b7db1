//! The third face: Volcengine's OpenAPI for the Ark asset library — `POST /?Action=…&Version=
//! 2024-01-01`, PascalCase JSON, requests signed with an access key pair (HMAC-SHA256, V4 style;
//! bearer keys work too), answers wrapped in `{"ResponseMetadata": {…}, "Result": {…}}` and
//! errors in `ResponseMetadata.Error{Code, Message}`. The actions run over the same services as
//! the other faces (`actions.rs`).

mod actions;
mod auth;
pub mod sign;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::domain::codes;
use crate::request_id;
use crate::service::ServiceError;
use crate::state::AppState;

/// The one API version of this face.
pub const VERSION: &str = "2024-01-01";

/// A refusal of this face: a Volcengine-style code, the sentence, the HTTP status.
#[derive(Debug)]
pub struct VolcError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl VolcError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

/// A service's refusal as this face names it (the stable code stays in the sentence).
impl From<ServiceError> for VolcError {
    fn from(e: ServiceError) -> Self {
        let code = e.code();
        let status = code
            .refusal
            .and_then(|r| StatusCode::from_u16(r.http).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Every refusal names its Volcengine code in the registry; a code that refuses no
        // request (an asset's failure, a reference's violation) is a parameter problem.
        let volc = code
            .refusal
            .map_or(codes::volc::INVALID_PARAMETER, |r| r.volc);
        let message = crate::http::error::public_message(&e);
        Self {
            status,
            code: volc,
            message: if code.name == codes::INTERNAL.name {
                message
            } else {
                format!("{message} ({})", code.name)
            },
        }
    }
}

struct Meta {
    action: String,
    version: String,
    region: String,
}

impl Meta {
    fn value(&self) -> Value {
        json!({
            "RequestId": request_id::current().unwrap_or_default(),
            "Action": self.action,
            "Version": self.version,
            "Service": "ark",
            "Region": self.region,
        })
    }
}

fn refused(meta: &Meta, error: VolcError) -> Response {
    let mut metadata = meta.value();
    metadata["Error"] = json!({"Code": error.code, "Message": error.message});
    // This face's own envelope, kept as it is by the envelope layer.
    crate::http::error::passed_through(
        (error.status, Json(json!({"ResponseMetadata": metadata}))).into_response(),
    )
}

/// `POST /` (and `GET /`): one action per call.
pub async fn dispatch(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let meta = Meta {
        action: param("Action"),
        version: param("Version"),
        region: state.config.volc.region.clone(),
    };
    let caller = match auth::authenticate(&state, &method, &uri, &headers, &body, &query).await {
        Ok(caller) => caller,
        Err(e) => return refused(&meta, e),
    };
    if meta.version != VERSION {
        return refused(
            &meta,
            VolcError::new(
                StatusCode::BAD_REQUEST,
                "InvalidActionOrVersion",
                format!("Version must be {VERSION}, got '{}'", meta.version),
            ),
        );
    }
    let input: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return refused(
                    &meta,
                    VolcError::new(
                        StatusCode::BAD_REQUEST,
                        codes::volc::INVALID_PARAMETER,
                        format!("the body is not JSON: {e}"),
                    ),
                );
            }
        }
    };
    match actions::run(&state, &caller, &meta.action, input).await {
        Ok(result) => {
            Json(json!({"ResponseMetadata": meta.value(), "Result": result})).into_response()
        }
        Err(e) => refused(&meta, e),
    }
}
