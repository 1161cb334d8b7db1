//! The one place that maps service errors to each face's status and body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::service::{ErrorKind, ServiceError};

const INTERNAL_MESSAGE: &str = "internal error; the request was not completed, please retry";

pub fn http_status(kind: Option<ErrorKind>) -> StatusCode {
    match kind {
        Some(ErrorKind::InvalidRequest)
        | Some(ErrorKind::InvalidAssetType)
        | Some(ErrorKind::InvalidUrl)
        | Some(ErrorKind::InvalidName) => StatusCode::BAD_REQUEST,
        Some(ErrorKind::Unauthorized) => StatusCode::UNAUTHORIZED,
        Some(ErrorKind::Forbidden) => StatusCode::FORBIDDEN,
        Some(ErrorKind::NotFound) => StatusCode::NOT_FOUND,
        Some(ErrorKind::Conflict) | Some(ErrorKind::AssetInUse) => StatusCode::CONFLICT,
        Some(ErrorKind::UpstreamError) => StatusCode::BAD_GATEWAY,
        Some(ErrorKind::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
        Some(ErrorKind::SourceUnreachable)
        | Some(ErrorKind::SourceTimeout)
        | Some(ErrorKind::SourceHttpError)
        | Some(ErrorKind::UrlNotAllowed)
        | Some(ErrorKind::TooManyRedirects)
        | Some(ErrorKind::TypeMismatch) => StatusCode::UNPROCESSABLE_ENTITY,
        Some(ErrorKind::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
        None => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The numeric `code` of the kyy envelope (documented in README).
pub fn kyy_code(kind: Option<ErrorKind>) -> i64 {
    match kind {
        Some(ErrorKind::NotFound) => -1,
        Some(ErrorKind::InvalidRequest) => 1000,
        Some(ErrorKind::SourceUnreachable) => 1001,
        Some(ErrorKind::SourceHttpError) => 1002,
        Some(ErrorKind::UrlNotAllowed) => 1003,
        Some(ErrorKind::TooLarge) => 1004,
        Some(ErrorKind::TypeMismatch) => 1005,
        Some(ErrorKind::SourceTimeout) => 1006,
        Some(ErrorKind::InvalidAssetType) => 1007,
        Some(ErrorKind::InvalidUrl) => 1008,
        Some(ErrorKind::InvalidName) => 1009,
        Some(ErrorKind::TooManyRedirects) => 1010,
        Some(ErrorKind::Unauthorized) => 1401,
        Some(ErrorKind::Forbidden) => 1403,
        Some(ErrorKind::Conflict) => 1409,
        Some(ErrorKind::AssetInUse) => 1410,
        Some(ErrorKind::UpstreamError) => 5002,
        Some(ErrorKind::Unavailable) => 5003,
        None => 5000,
    }
}

fn public_message(error: &ServiceError) -> String {
    match error {
        ServiceError::Client { message, .. } => message.clone(),
        ServiceError::Internal(e) => {
            tracing::error!(error = %format!("{e:#}"), "internal error");
            INTERNAL_MESSAGE.to_owned()
        }
    }
}

/// The kyy error envelope, fields in the documented order.
#[derive(serde::Serialize)]
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
        let kind = self.0.kind();
        let body = KyyErrorBody {
            code: kyy_code(kind),
            msg: public_message(&self.0),
            data: None,
        };
        (http_status(kind), Json(body)).into_response()
    }
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
        let kind = self.0.kind();
        let body =
            json!({ "error": { "code": self.0.code(), "message": public_message(&self.0) } });
        (http_status(kind), Json(body)).into_response()
    }
}
