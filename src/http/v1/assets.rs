use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::dto::{AssetBody, CreateBody, ListBody};
use super::paging::Paging;
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::{dedupe_flag, force_flag, parse_json, wait_param};
use crate::service::{ListParams, UploadRequest};
use crate::state::AppState;

/// `201` with the new asset; with `dedupe`, `200` with a live asset of the tenant that has the
/// same bytes and type, and `deduplicatedFrom` naming it.
pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<(StatusCode, Json<AssetBody>), V1Error> {
    let body: CreateBody = parse_json(&body)?;
    let request = UploadRequest {
        asset_type: body.asset_type,
        url: body.url,
        name: body.name,
        dedupe: body.dedupe.unwrap_or(false) || dedupe_flag(query.as_deref()),
    };
    let registered = state.ingest.upload(&caller, request).await?;
    let mut answer = AssetBody::from(&registered.asset);
    if registered.deduplicated {
        answer.deduplicated_from = Some(registered.asset.id.to_string());
        return Ok((StatusCode::OK, Json(answer)));
    }
    Ok((StatusCode::CREATED, Json(answer)))
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
            "sha256" => params.sha256 = Some(value.into_owned()),
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
