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
use crate::repo::StoredAnswer;
use crate::request_id;
use crate::service::{Begin, ServiceError, fingerprint};
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
    answer(meta, Err(error))
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
        Ok(caller) => {
            crate::request_id::note_tenant(&caller.tenant);
            caller
        }
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
    let Some(key) = replay_key(&meta.action, &headers) else {
        return answer(
            &meta,
            actions::run(&state, &caller, &meta.action, input).await,
        );
    };
    // A signed request that creates is carried out once: the same request sent again within
    // its signature's window (a replay, or an SDK's retry) gets the first answer.
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let print = fingerprint(method.as_str(), path, content_type, Ok(&body));
    let tenant = caller.tenant.clone();
    match state.idempotency.begin(&tenant, &key, &print).await {
        Err(e) => refused(&meta, e.into()),
        Ok(Begin::Replay(first)) => {
            let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK);
            let mut response = (
                status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                first.body,
            )
                .into_response();
            response.headers_mut().insert(
                crate::http::idempotency::REPLAYED,
                axum::http::HeaderValue::from_static("true"),
            );
            crate::http::error::passed_through(response)
        }
        Ok(Begin::Run) => {
            let kept = state.idempotency.keep_claimed(&tenant, &key, &print);
            let result = actions::run(&state, &caller, &meta.action, input).await;
            drop(kept);
            let (status, value) = answer_value(&meta, result);
            let kept = if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                None
            } else {
                Some(StoredAnswer {
                    status: status.as_u16(),
                    content_type: Some("application/json".to_owned()),
                    body: serde_json::to_vec(&value).unwrap_or_default(),
                })
            };
            if let Err(e) = state.idempotency.finish(&tenant, &key, kept).await {
                tracing::warn!(error = %e, "could not record a signed request's answer");
            }
            respond(status, value)
        }
    }
}

/// The actions that create something.
const CREATING: [&str; 2] = ["CreateAsset", "CreateAssetGroup"];

/// The key under which a signed request that creates is carried out once: its signature,
/// which covers its method, path, query, headers, body and time. `None` for other actions and
/// for bearer keys (they may send `Idempotency-Key` on the other faces).
fn replay_key(action: &str, headers: &HeaderMap) -> Option<String> {
    if !CREATING.contains(&action) {
        return None;
    }
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let auth = sign::parse_authorization(value).ok()?;
    Some(format!("volc-signature:{}", auth.signature))
}

/// The answer of an action: its result in the envelope, or its refusal.
fn answer_value(meta: &Meta, result: Result<Value, VolcError>) -> (StatusCode, Value) {
    match result {
        Ok(result) => (
            StatusCode::OK,
            json!({"ResponseMetadata": meta.value(), "Result": result}),
        ),
        Err(error) => {
            crate::request_id::note_code(error.code);
            let mut metadata = meta.value();
            metadata["Error"] = json!({"Code": error.code, "Message": error.message});
            (error.status, json!({"ResponseMetadata": metadata}))
        }
    }
}

fn respond(status: StatusCode, value: Value) -> Response {
    let response = (status, Json(value)).into_response();
    if status.is_success() {
        response
    } else {
        // This face's own envelope, kept as it is by the envelope layer.
        crate::http::error::passed_through(response)
    }
}

fn answer(meta: &Meta, result: Result<Value, VolcError>) -> Response {
    let (status, value) = answer_value(meta, result);
    respond(status, value)
}
