use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::dto::{AssetBody, CreateBody, ListBody};
use super::paging::Paging;
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::{force_flag, parse_json};
use crate::service::{ListParams, MAX_WAIT, ServiceError, UploadRequest};
use crate::state::AppState;

pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<AssetBody>), V1Error> {
    let body: CreateBody = parse_json(&body)?;
    let request = UploadRequest {
        asset_type: body.asset_type,
        url: body.url,
        name: body.name,
    };
    let asset = state.ingest.upload(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(AssetBody::from(&asset))))
}

pub async fn detail(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<AssetBody>, V1Error> {
    let wait = wait_param(query.as_deref())?;
    let asset = state
        .library
        .get_when_settled(&caller, &asset_id, wait)
        .await?;
    Ok(Json(AssetBody::from(&asset)))
}

/// `wait=S`: seconds (0–60) a details request may wait for the asset to leave Processing.
fn wait_param(query: Option<&str>) -> Result<Duration, ServiceError> {
    let mut wait = Duration::ZERO;
    let params = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes());
    for (_, value) in params.filter(|(key, _)| key == "wait") {
        wait = value
            .parse::<f64>()
            .ok()
            .filter(|s| (0.0..=MAX_WAIT.as_secs_f64()).contains(s))
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                ServiceError::invalid(format!(
                    "wait must be 0–{} seconds, got '{value}'",
                    MAX_WAIT.as_secs()
                ))
            })?;
    }
    Ok(wait)
}

pub async fn delete(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<StatusCode, V1Error> {
    state
        .library
        .delete(&caller, &asset_id, force_flag(query.as_deref()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ListBody>, V1Error> {
    let mut params = ListParams::default();
    let mut paging = Paging::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if paging.accept(&key, &value)? {
            continue;
        }
        match key.as_ref() {
            "assetType" => params.asset_type = Some(value.into_owned()),
            "status" => params.status = Some(value.into_owned()),
            "name" => params.name = Some(value.into_owned()),
            _ => {}
        }
    }
    let filter = params.to_filter(false)?;
    let page = state
        .library
        .list_before(&caller, &filter, paging.cursor, paging.limit)
        .await?;
    Ok(Json(ListBody {
        items: page.items.iter().map(AssetBody::from).collect(),
        next_cursor: page.next_before.map(|n| n.to_string()),
    }))
}
