//! `POST /kyyVideo2/asset/upload`: a JSON body naming a URL (or carrying a `data:` URI), or a
//! `multipart/form-data` body with the parts `file`, `assetType` and `name`, the file streamed
//! to a temp file as it arrives (never held in memory). Both answer the same envelope.

use axum::Json;
use axum::extract::{Request, State};

use super::dto::{Envelope, UploadBody, UploadData};
use crate::http::auth::KyyCaller;
use crate::http::error::KyyError;
use crate::http::request::{MAX_JSON_UPLOAD_BYTES, dedupe_flag, parse_json};
use crate::http::upload_body::{Received, read_upload};
use crate::service::UploadFields;
use crate::state::AppState;

/// The route, under the kyy prefix.
pub const UPLOAD_ROUTE: &str = "/kyyVideo2/asset/upload";

pub async fn upload(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    request: Request,
) -> Result<Json<Envelope<UploadData>>, KyyError> {
    // `?dedupe=true`: the kyy body keeps its documented shape.
    let dedupe = dedupe_flag(request.uri().query());
    let body = read_upload(
        &state,
        &caller,
        request,
        MAX_JSON_UPLOAD_BYTES,
        "a JSON upload",
        dedupe,
    )
    .await?;
    let upload = match body {
        Received::Json(body) => {
            let body: UploadBody = parse_json(&body)?;
            let fields = UploadFields {
                asset_type: body.asset_type,
                name: body.name,
                group_id: None,
                dedupe,
            };
            fields.by_url(body.url.as_deref())?
        }
        Received::File(upload) => *upload,
    };
    let asset = state.ingest.file(&caller, upload).await?.asset;
    Ok(Json(Envelope {
        code: 0,
        msg: None,
        data: UploadData {
            asset_id: asset.id.to_string(),
        },
    }))
}
