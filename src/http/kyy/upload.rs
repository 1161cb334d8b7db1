//! `POST /kyyVideo2/asset/upload`: a JSON body naming a URL (or carrying a `data:` URI), or a
//! `multipart/form-data` body with the parts `file`, `assetType` and `name`, the file streamed
//! to a temp file as it arrives (never held in memory). Both answer the same envelope.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};

use super::dto::{Envelope, UploadBody, UploadData};
use crate::http::auth::KyyCaller;
use crate::http::error::KyyError;
use crate::http::request::{dedupe_flag, parse_json};
use crate::http::upload_body::{
    BodyKind, PARTS_HINT, body_kind, body_limit, receive, too_large_body,
};
use crate::service::{DATA_URI_MAX_BYTES, ServiceError, UploadRequest};
use crate::state::AppState;

/// The route, under the kyy prefix.
pub const UPLOAD_ROUTE: &str = "/kyyVideo2/asset/upload";
/// The largest JSON body of this route: a `data:` URI at its cap in base64, and the rest.
pub const MAX_JSON_BYTES: u64 = DATA_URI_MAX_BYTES.div_ceil(3) * 4 + 64 * 1024;

pub async fn upload(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    request: Request,
) -> Result<Json<Envelope<UploadData>>, KyyError> {
    // `?dedupe=true`: the kyy body keeps its documented shape.
    let dedupe = dedupe_flag(request.uri().query());
    let headers = request.headers();
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let asset = match body_kind(content_type.as_deref())? {
        BodyKind::Json => {
            if announced.is_some_and(|n| n > MAX_JSON_BYTES) {
                return Err(too_large_body(MAX_JSON_BYTES, "a JSON upload").into());
            }
            let limit = usize::try_from(MAX_JSON_BYTES).unwrap_or(usize::MAX);
            let body = axum::body::to_bytes(request.into_body(), limit)
                .await
                .map_err(|_| too_large_body(MAX_JSON_BYTES, "a JSON upload"))?;
            let body: UploadBody = parse_json(&body)?;
            let request = UploadRequest {
                asset_type: body.asset_type,
                url: body.url,
                name: body.name,
                dedupe,
            };
            state.ingest.upload(&caller, request).await?.asset
        }
        BodyKind::Multipart => {
            let limit = body_limit(&state);
            if announced.is_some_and(|n| n > limit) {
                return Err(too_large_body(limit, "an upload").into());
            }
            let multipart = Multipart::from_request(request, &state)
                .await
                .map_err(|e| ServiceError::invalid(format!("{}; {PARTS_HINT}", e.body_text())))?;
            receive(&state, &caller, multipart, limit, dedupe)
                .await?
                .asset
        }
    };
    Ok(Json(Envelope {
        code: 0,
        msg: None,
        data: UploadData {
            asset_id: asset.id.to_string(),
        },
    }))
}
