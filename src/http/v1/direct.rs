//! Direct uploads whose bytes bypass the API: `POST /v1/uploads` answers where to `PUT` the
//! file (presigned into the bucket on S3; a signed URL of this node on a local store), and
//! `POST /v1/uploads/{id}/complete` checks what arrived and registers it.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::dto::AssetBody;
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::parse_json;
use crate::service::{ServiceError, UploadFields};
use crate::state::AppState;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateDirectBody {
    pub asset_type: Option<String>,
    pub name: Option<String>,
    pub length: Option<u64>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompleteBody {
    pub sha256: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectBody {
    pub upload_id: String,
    /// `PUT` the file's bytes here (no API key), before `urlExpiresAt`.
    pub method: &'static str,
    pub url: String,
    pub url_expires_at: String,
    /// Whether `url` writes straight into the blob store.
    pub presigned: bool,
    /// Then `POST` here (with the API key) to check and register the file.
    pub complete_url: String,
    /// An upload never completed is removed after this.
    pub expires_at: String,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `POST /v1/uploads` `{"assetType", "name", "length"}`.
pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<DirectBody>), V1Error> {
    let body: CreateDirectBody = parse_json(&body)?;
    let length = body
        .length
        .ok_or_else(|| ServiceError::invalid("length is required: the file's size in bytes"))?;
    let announced = UploadFields {
        asset_type: body.asset_type,
        name: body.name,
        ..UploadFields::default()
    }
    .announced()?;
    let direct = state
        .resumable
        .create_direct(&caller, announced, length)
        .await?;
    let id = direct.upload.id.clone();
    Ok((
        StatusCode::CREATED,
        Json(DirectBody {
            complete_url: format!("/v1/uploads/{id}/complete"),
            upload_id: id,
            method: "PUT",
            url: direct.url,
            url_expires_at: rfc3339(direct.url_expires_at),
            presigned: direct.presigned,
            expires_at: rfc3339(direct.upload.expires_at),
        }),
    ))
}

/// `POST /v1/uploads/{id}/complete` `{"sha256"}` (optional): `201` and the asset.
pub async fn complete(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<AssetBody>), V1Error> {
    let body: CompleteBody = if body.iter().all(u8::is_ascii_whitespace) {
        CompleteBody::default()
    } else {
        parse_json(&body)?
    };
    let registered = state
        .resumable
        .complete_direct(&caller, &id, body.sha256.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AssetBody::of(&registered.asset, &state.library)),
    ))
}

/// `PUT /uploads/{id}?exp=…&sig=…`: this node's signed upload URL (no API key).
pub async fn receive_signed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<StatusCode, V1Error> {
    let (exp, sig) = crate::http::request::signature_params(query.as_deref());
    let body: Body = request.into_body();
    state
        .resumable
        .receive_direct(&id, &exp, &sig, body.into_data_stream())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
