use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::dto::AssetBody;
use super::paging::Paging;
use crate::domain::{Asset, FaceBox};
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::state::AppState;

/// One held asset in the review queue.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewItem {
    pub tenant: String,
    #[serde(flatten)]
    pub asset: AssetBody,
    pub faces: Vec<FaceBox>,
    /// Size of the image the face boxes refer to.
    pub image_width: u32,
    pub image_height: u32,
    /// Why the image could not be scanned, when that is why it is held.
    pub note: Option<String>,
    /// A small JPEG of the image (the reviewer's key is needed); of a video, its first frame.
    pub preview_url: String,
    /// Of a video: the previews of every checked frame, in order (the boxes' `frame` indexes
    /// them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frame_urls: Vec<String>,
}

impl From<&Asset> for ReviewItem {
    fn from(a: &Asset) -> Self {
        let record = a.moderation.clone().unwrap_or_default();
        Self {
            tenant: a.tenant.clone(),
            asset: AssetBody::from(a),
            faces: record.faces,
            image_width: record.width,
            image_height: record.height,
            note: record.note,
            preview_url: format!("/v1/assets/{}/preview", a.id),
            frame_urls: (0..record.frames.unwrap_or(0))
                .map(|n| format!("/v1/assets/{}/preview?frame={n}", a.id))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewList {
    pub items: Vec<ReviewItem>,
    pub next_cursor: Option<String>,
}

pub async fn queue(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ReviewList>, V1Error> {
    let mut paging = Paging::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        paging.accept(&key, &value)?;
    }
    let page = state
        .review
        .pending_reviews(&caller, paging.cursor, paging.limit)
        .await?;
    Ok(Json(ReviewList {
        items: page.items.iter().map(ReviewItem::from).collect(),
        next_cursor: page.next_before.map(|n| n.to_string()),
    }))
}

pub async fn approve(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
) -> Result<Json<AssetBody>, V1Error> {
    let asset = state.review.approve(&caller, &asset_id).await?;
    Ok(Json(AssetBody::of(&asset, &state.library)))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RejectBody {
    pub reason: Option<String>,
}

pub async fn reject(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    body: Bytes,
) -> Result<Json<AssetBody>, V1Error> {
    let body: RejectBody = crate::http::request::parse_json(&body)?;
    let asset = state.review.reject(&caller, &asset_id, body.reason).await?;
    Ok(Json(AssetBody::of(&asset, &state.library)))
}

pub async fn preview(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, V1Error> {
    let frame = match url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "frame")
    {
        None => 0,
        Some((_, v)) => v.parse::<u32>().map_err(|_| {
            crate::service::ServiceError::invalid(format!(
                "frame must be a checked frame's number (0 is the poster), got '{v}'"
            ))
        })?,
    };
    let (jpeg, sha256) = state.review.preview(&caller, &asset_id, frame).await?;
    // The preview is made from the content (and the frame), so they name it.
    let etag = format!("\"{sha256}.{frame}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (header::ETAG, etag),
        ],
        jpeg,
    )
        .into_response())
}
