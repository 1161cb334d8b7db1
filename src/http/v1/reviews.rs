use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::dto::AssetBody;
use super::paging::Paging;
use crate::domain::{AssetType, FaceBox, parse_duration, rfc3339_millis};
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::repo::{QueueCursor, QueuedAsset, ReviewQuery};
use crate::service::{ServiceError, validate_tenant};
use crate::state::AppState;

/// One held asset in the review queue.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewItem {
    pub tenant: String,
    #[serde(flatten)]
    pub asset: AssetBody,
    /// When the asset (last) entered the queue: held by the face check, or reopened.
    pub held_time: String,
    /// How long it has waited since `heldTime`.
    pub waiting_seconds: u64,
    /// Whether a decision on it was undone (reopened).
    pub reopened: bool,
    pub faces: Vec<FaceBox>,
    /// Size of the image the face boxes refer to.
    pub image_width: u32,
    pub image_height: u32,
    /// Why the image could not be scanned, when that is why it is held.
    pub note: Option<String>,
    /// A small JPEG of the image (the reviewer's key is needed); of a video, its first frame.
    pub preview_url: String,
    /// The original bytes (`GET /v1/assets/{id}/content`, readable with a reviewer's key).
    pub content_url: String,
    /// Of a video: the previews of every checked frame, in order (the boxes' `frame` indexes
    /// them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frame_urls: Vec<String>,
    /// Of a video: every checked frame at the video's own size (`GET
    /// /v1/assets/{id}/frames/{n}`), in the same order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub full_frame_urls: Vec<String>,
    /// Of a video: when each checked frame is, in seconds from the start, in the same order
    /// (absent when the video's sample table does not say).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frame_times: Vec<f64>,
}

impl ReviewItem {
    fn of(queued: &QueuedAsset, now: DateTime<Utc>) -> Self {
        let a = &queued.asset;
        let record = a.moderation.clone().unwrap_or_default();
        Self {
            tenant: a.tenant.clone(),
            asset: AssetBody::from(a),
            held_time: rfc3339_millis(queued.held_at),
            waiting_seconds: seconds_since(queued.held_at, now),
            reopened: record.reopened.is_some(),
            faces: record.faces,
            image_width: record.width,
            image_height: record.height,
            note: record.note,
            preview_url: format!("/v1/assets/{}/preview", a.id),
            content_url: format!("/v1/assets/{}/content", a.id),
            frame_urls: (0..record.frames.unwrap_or(0))
                .map(|n| format!("/v1/assets/{}/preview?frame={n}", a.id))
                .collect(),
            frame_times: record
                .frame_millis
                .iter()
                .map(|ms| *ms as f64 / 1000.0)
                .collect(),
            full_frame_urls: (0..record.frames.unwrap_or(0))
                .map(|n| format!("/v1/assets/{}/frames/{n}", a.id))
                .collect(),
        }
    }
}

fn seconds_since(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((now - at).num_seconds()).unwrap_or(0)
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewList {
    /// How many held assets match the filters, over every page.
    pub total: u64,
    /// How long the oldest of them has waited (`null` when none).
    pub oldest_waiting_seconds: Option<u64>,
    pub items: Vec<ReviewItem>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The queue's cursor: `h{heldAt ms}.{row}` (opaque to clients).
fn queue_cursor(raw: &str) -> Result<QueueCursor, ServiceError> {
    raw.strip_prefix('h')
        .and_then(|rest| rest.split_once('.'))
        .and_then(|(held, seq)| {
            Some(QueueCursor {
                held_at: held.parse().ok()?,
                seq: seq.parse().ok()?,
            })
        })
        .ok_or_else(|| {
            ServiceError::invalid(format!(
                "cursor '{raw}' is not valid; pass nextCursor from a previous page"
            ))
        })
}

pub async fn queue(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ReviewList>, V1Error> {
    let now = Utc::now();
    let mut paging = Paging::default();
    let mut read = ReviewQuery {
        tenant: None,
        asset_type: None,
        held_before: None,
        newest_first: false,
        after: None,
        limit: paging.limit,
    };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "cursor" if !value.is_empty() => read.after = Some(queue_cursor(&value)?),
            "cursor" => {}
            "tenant" if !value.is_empty() => {
                validate_tenant(&value).map_err(ServiceError::invalid)?;
                read.tenant = Some(value.into_owned());
            }
            "type" | "assetType" if !value.is_empty() => {
                read.asset_type = Some(AssetType::parse(&value).ok_or_else(|| {
                    ServiceError::invalid(format!(
                        "type must be Image, Video, Audio or Document, got '{value}'"
                    ))
                })?);
            }
            "olderThan" if !value.is_empty() => {
                let age = parse_duration(&value)
                    .map_err(|e| ServiceError::invalid(format!("olderThan: {e}")))?;
                let age = chrono::TimeDelta::from_std(age)
                    .map_err(|_| ServiceError::invalid("olderThan is too long"))?;
                read.held_before = Some(now - age);
            }
            "order" => {
                read.newest_first = match value.as_ref() {
                    "oldest" | "" => false,
                    "newest" => true,
                    other => {
                        return Err(ServiceError::invalid(format!(
                            "order must be oldest or newest, got '{other}'"
                        ))
                        .into());
                    }
                };
            }
            _ => {
                paging.accept(&key, &value)?;
            }
        }
    }
    read.limit = paging.limit;
    let page = state.review.queue(&caller, &read).await?;
    Ok(Json(ReviewList {
        total: page.total,
        oldest_waiting_seconds: page.oldest_held_at.map(|at| seconds_since(at, now)),
        items: page.items.iter().map(|q| ReviewItem::of(q, now)).collect(),
        next_cursor: page.next.map(|c| format!("h{}.{}", c.held_at, c.seq)),
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
    let frame = match url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "frame")
    {
        None => 0,
        Some((_, v)) => v.parse::<u32>().map_err(|_| {
            crate::service::ServiceError::invalid(format!(
                "frame must be a checked frame's number (0 is the poster), got '{v}'"
            ))
        })?,
    };
    let caller = crate::service::acting_for(
        &caller,
        crate::service::tenant_param(query.as_deref()).as_deref(),
        false,
    )?;
    let (jpeg, sha256) = state.review.preview(&caller, &asset_id, frame).await?;
    // The preview is made from the content (and the frame), so they name it.
    let etag = format!("\"{sha256}.{frame}\"");
    Ok(jpeg_answer(&headers, etag, jpeg))
}

/// `GET /v1/assets/{id}/frames/{n}`: a held video's checked frame `n` at full size (JPEG).
pub async fn full_frame(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path((asset_id, n)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, V1Error> {
    let n = n.parse::<u32>().map_err(|_| {
        crate::service::ServiceError::invalid(format!(
            "the frame must be a checked frame's number (0 is the first), got '{n}'"
        ))
    })?;
    let caller = crate::service::acting_for(
        &caller,
        crate::service::tenant_param(query.as_deref()).as_deref(),
        false,
    )?;
    let (jpeg, sha256) = state.review.full_frame(&caller, &asset_id, n).await?;
    let etag = format!("\"{sha256}.full{n}\"");
    Ok(jpeg_answer(&headers, etag, jpeg))
}

/// A preview or frame JPEG named by `etag`: `304` when the client holds it already.
fn jpeg_answer(
    headers: &axum::http::HeaderMap,
    etag: String,
    jpeg: bytes::Bytes,
) -> axum::response::Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (header::ETAG, etag),
        ],
        jpeg,
    )
        .into_response()
}
