//! `/v1/groups`: a tenant's folders of assets.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::dto::{GroupBody, GroupCreateBody, GroupDeletedBody, GroupListBody, GroupUpdateBody};
use super::paging::Paging;
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::{flag, parse_json};
use crate::state::AppState;

pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<GroupBody>), V1Error> {
    let body: GroupCreateBody = parse_json(&body)?;
    let group = state
        .groups
        .create(&caller, body.name.as_deref(), body.description.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(GroupBody::from(&group))))
}

pub async fn detail(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(group_id): Path<String>,
) -> Result<Json<GroupBody>, V1Error> {
    let group = state.groups.get(&caller, &group_id).await?;
    Ok(Json(GroupBody::from(&group)))
}

/// Newest first; `name` (a case-insensitive part of the name), `limit`, `cursor`.
pub async fn list(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<GroupListBody>, V1Error> {
    let mut paging = Paging::default();
    let mut name = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if paging.accept(&key, &value)? {
            continue;
        }
        if key == "name" {
            name = Some(value.into_owned());
        }
    }
    // The cursor of a group list is the offset of the next page.
    let offset = paging.cursor.map_or(0, |c| u64::try_from(c).unwrap_or(0));
    let page = state
        .groups
        .list(&caller, name.as_deref(), offset, paging.limit)
        .await?;
    let next = offset + page.items.len() as u64;
    Ok(Json(GroupListBody {
        items: page.items.iter().map(GroupBody::from).collect(),
        total: page.total,
        next_cursor: (next < page.total && !page.items.is_empty()).then(|| next.to_string()),
    }))
}

pub async fn update(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(group_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<GroupBody>, V1Error> {
    let body: GroupUpdateBody = parse_json(&body)?;
    let group = state
        .groups
        .update(
            &caller,
            &group_id,
            body.name.as_deref(),
            body.description.as_ref().map(Option::as_deref),
        )
        .await?;
    Ok(Json(GroupBody::from(&group)))
}

/// Refused with `group-not-empty` while assets are in the group, unless `?cascade=true`.
pub async fn delete(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(group_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<GroupDeletedBody>, V1Error> {
    let cascade = flag(query.as_deref(), "cascade");
    let deleted_assets = state.groups.delete(&caller, &group_id, cascade).await?;
    Ok(Json(GroupDeletedBody {
        group_id,
        deleted_assets,
    }))
}
