//! The one place that maps service errors to each face's status and body; the numbers come
//! from the code registry (`domain::codes`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use axum::extract::{Request, State};
use axum::middleware::Next;

use crate::config::KyyErrorStatus;
use crate::domain::codes::{self, Code, Refusal};
use crate::service::ServiceError;

/// The prefix of the kyy face; every other path answers in the v1 envelope.
pub const KYY_PREFIX: &str = "/kyyReactApiServer";

/// Which envelope an answer takes, chosen by the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// `{code, msg, data}` under `/kyyReactApiServer`.
    Kyy,
    /// `{"error": {"code", "message"}}` everywhere else.
    V1,
}

impl Face {
    pub fn of(path: &str) -> Self {
        match path.strip_prefix(KYY_PREFIX) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => Face::Kyy,
            _ => Face::V1,
        }
    }
}

/// Marks an error answer whose body is final: the face's envelope, or an upstream answer
/// passed through. The envelope middleware (`http::envelope`) rewrites every other error
/// answer (axum's own 404/405 and extractor rejections) into the face's envelope.
#[derive(Debug, Clone, Copy)]
pub struct KeepBody;

/// Marks a kyy business error: a refusal of the request as sent (4xx but 401), which
/// `--kyy-error-status ok` answers with HTTP 200.
#[derive(Debug, Clone, Copy)]
struct KyyBusinessError;

fn kyy_answer(status: StatusCode, body: impl IntoResponse) -> Response {
    let mut response = keep_body((status, body).into_response());
    if status.is_client_error() && status != StatusCode::UNAUTHORIZED {
        response.extensions_mut().insert(KyyBusinessError);
    }
    response
}

/// The middleware around the whole router that applies `--kyy-error-status`: with `ok`, a kyy
/// business error answers HTTP 200, its code and message in the envelope (auth failures keep
/// 401, server faults their 5xx).
pub async fn kyy_error_status(
    State(style): State<KyyErrorStatus>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if style == KyyErrorStatus::Ok && response.extensions().get::<KyyBusinessError>().is_some() {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

fn keep_body(mut response: Response) -> Response {
    response.extensions_mut().insert(KeepBody);
    response
}

/// The refusal `code` with `message`, in the envelope of the face `path` belongs to. This is
/// also how a connection layer answers for the router (a 414 or 431 it detects itself, a
/// connection it sheds with 503) so that its answers look like every other.
pub fn envelope_for(path: &str, code: &'static Code, message: impl std::fmt::Display) -> Response {
    for_path(path, ServiceError::client(code, message))
}

pub(crate) const INTERNAL_MESSAGE: &str =
    "internal error; the request was not completed, please retry";

fn refusal(code: &Code) -> Refusal {
    code.refusal.or(codes::INTERNAL.refusal).unwrap_or(Refusal {
        kyy: 5000,
        http: 500,
        volc: codes::volc::INTERNAL_ERROR,
    })
}

/// The HTTP status a refusal with `code` answers.
pub fn http_status(code: &Code) -> StatusCode {
    StatusCode::from_u16(refusal(code).http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The numeric `code` of the kyy envelope.
pub fn kyy_code(code: &Code) -> i64 {
    refusal(code).kyy
}

/// The sentence a client is shown for `error` (internal errors are logged, never shown).
pub(crate) fn public_message(error: &ServiceError) -> String {
    match error {
        ServiceError::Client { message, .. }
        | ServiceError::Dependency { message, .. }
        | ServiceError::Busy { message, .. } => message.clone(),
        ServiceError::Internal(e) => {
            tracing::error!(error = %format!("{e:#}"), "internal error");
            INTERNAL_MESSAGE.to_owned()
        }
    }
}

/// The kyy error envelope, fields in the documented order.
#[derive(Serialize)]
struct KyyErrorBody {
    code: i64,
    msg: String,
    data: Option<()>,
}

/// An error answered in the kyy envelope `{code, msg, data: null}`.
#[derive(Debug)]
pub struct KyyError(pub ServiceError);

impl From<ServiceError> for KyyError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

impl IntoResponse for KyyError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        crate::request_id::note_code(code.name);
        let body = KyyErrorBody {
            code: kyy_code(code),
            msg: public_message(&self.0),
            data: None,
        };
        with_retry_after(&self.0, kyy_answer(http_status(code), Json(body)))
    }
}

/// A refusal under load tells the client when to come back.
fn with_retry_after(error: &ServiceError, mut response: Response) -> Response {
    if let ServiceError::Busy { retry_after, .. } = error {
        let secs = retry_after.as_secs().max(1);
        if let Ok(value) = axum::http::HeaderValue::from_str(&secs.to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
    }
    response
}

/// An error answered as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct V1Error(pub ServiceError);

impl From<ServiceError> for V1Error {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let code = self.0.code();
        crate::request_id::note_code(code.name);
        let body = json!({ "error": { "code": code.name, "message": public_message(&self.0) } });
        keep_body(with_retry_after(
            &self.0,
            (http_status(code), Json(body)).into_response(),
        ))
    }
}

/// An answer given again for an Idempotency-Key: final as it is (error bodies included), and on
/// the kyy face a business error again as the first answer was.
pub(crate) fn replayed(face: Face, response: Response) -> Response {
    let status = response.status();
    match face {
        Face::Kyy => kyy_answer(status, response),
        Face::V1 => keep_body(response),
    }
}

/// An answer of another service passed through as it is, error statuses included.
pub fn passed_through(response: Response) -> Response {
    keep_body(response)
}

/// A refusal that lists every problem found (`invalid-references`), in the kyy envelope:
/// `{"code", "data": {"violations"}, "msg"}`.
pub fn kyy_violations(code: &Code, msg: String, violations: impl Serialize) -> Response {
    crate::request_id::note_code(code.name);
    let body = json!({ "code": kyy_code(code), "msg": msg, "data": { "violations": violations } });
    kyy_answer(http_status(code), Json(body))
}

/// A refusal that lists every problem found, on v1: `{"error": {"code", "message", "violations"}}`.
pub fn v1_violations(code: &Code, message: String, violations: impl Serialize) -> Response {
    crate::request_id::note_code(code.name);
    let body =
        json!({ "error": { "code": code.name, "message": message, "violations": violations } });
    keep_body((http_status(code), Json(body)).into_response())
}

/// The face that serves `path`: the kyy envelope under `/kyyReactApiServer`, v1 elsewhere.
pub fn for_path(path: &str, error: ServiceError) -> Response {
    match Face::of(path) {
        Face::Kyy => KyyError(error).into_response(),
        Face::V1 => V1Error(error).into_response(),
    }
}

/// The v1 body of a refusal, serialised: for answers written before any request is read
/// (a connection over the cap), when the face is not yet known.
pub fn v1_body(code: &Code, message: &str) -> Vec<u8> {
    json!({ "error": { "code": code.name, "message": message } })
        .to_string()
        .into_bytes()
}
