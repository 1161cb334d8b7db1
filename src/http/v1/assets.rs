use axum::Json;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;

use super::dto::{AssetBody, CreateBody, ListBody};
use super::paging::Paging;
use crate::domain::{AssetType, Status};
use crate::http::auth::V1Caller;
use crate::http::envelope::MAX_BODY_BYTES;
use crate::http::error::V1Error;
use crate::http::request::{dedupe_flag, force_flag, parse_json, wait_param};
use crate::http::upload_body::{
    Received, announced_length, read_upload, receive_raw, too_large_body,
};
use crate::service::{
    ListParams, Registered, ServiceError, UploadFields, acting_for, tenant_param,
};
use crate::state::AppState;

/// `201` with the new asset; with `dedupe`, `200` with a live asset of the tenant that has the
/// same bytes and type, and `deduplicatedFrom` naming it.
fn created(state: &AppState, registered: Registered) -> (StatusCode, Json<AssetBody>) {
    let mut answer = AssetBody::of(&registered.asset, &state.library);
    if registered.deduplicated {
        answer.deduplicated_from = Some(registered.asset.id.to_string());
        return (StatusCode::OK, Json(answer));
    }
    (StatusCode::CREATED, Json(answer))
}

/// `POST /v1/assets`: JSON naming a URL (`assetType` optional: without it the type is the
/// fetched bytes'), or `multipart/form-data` carrying the file (the parts `file`,
/// `assetType`, `name`, streamed as on the kyy route).
pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    request: Request,
) -> Result<(StatusCode, Json<AssetBody>), V1Error> {
    let dedupe = dedupe_flag(request.uri().query());
    let json_limit = MAX_BODY_BYTES as u64;
    let upload =
        match read_upload(&state, &caller, request, json_limit, "a JSON body", dedupe).await? {
            Received::Json(body) => {
                let body: CreateBody = parse_json(&body)?;
                let fields = UploadFields {
                    asset_type: body.asset_type,
                    name: body.name,
                    group_id: body.group_id,
                    dedupe: body.dedupe.unwrap_or(false) || dedupe,
                };
                // No assetType: the fetched bytes say which it is.
                fields.by_url_any_type(body.url.as_deref())?
            }
            Received::File(upload) => *upload,
        };
    let registered = state.ingest.file(&caller, upload).await?;
    Ok(created(&state, registered))
}

/// `PUT /v1/assets/{name}?assetType=`: the body is the file itself. `Content-Length` is
/// required; the type comes from `assetType`, or else from the `Content-Type`'s family
/// (`image/*`, `video/*`, `audio/*`; anything else is a Document).
pub async fn put_file(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(name): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<AssetBody>), V1Error> {
    let query = request.uri().query();
    let dedupe = dedupe_flag(query);
    let param = |name: &str| {
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .filter(|(key, _)| key == name)
            .last()
            .map(|(_, value)| value.into_owned())
    };
    let group_id = param("groupId");
    let asset_type = param("assetType").or_else(|| {
        request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|t| AssetType::for_media_type(t).as_str().to_owned())
    });
    let Some(asset_type) = asset_type else {
        return Err(ServiceError::client(
            &crate::domain::codes::INVALID_ASSET_TYPE,
            "send the file's Content-Type (e.g. image/png) or ?assetType=Image|Video|Audio|Document",
        )
        .into());
    };
    let limit = state.ingest.max_upload_bytes();
    match announced_length(request.headers()) {
        None => {
            return Err(ServiceError::invalid(
                "Content-Length is required: send the file's size with its bytes",
            )
            .into());
        }
        Some(n) if n > limit => return Err(too_large_body(limit, "an upload").into()),
        Some(_) => {}
    }
    let fields = UploadFields {
        asset_type: Some(asset_type),
        name: Some(name.clone()),
        group_id,
        dedupe,
    };
    let body = request.into_body();
    let upload = receive_raw(&state, &caller, body, fields, name, limit).await?;
    let registered = state.ingest.file(&caller, upload).await?;
    Ok(created(&state, registered))
}

pub async fn detail(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<AssetBody>, V1Error> {
    let wait = wait_param(query.as_deref())?;
    let caller = acting_for(&caller, tenant_param(query.as_deref()).as_deref(), false)?;
    let asset = state
        .library
        .get_when_settled(&caller, &asset_id, wait, &[Status::Processing])
        .await?;
    Ok(Json(AssetBody::of(&asset, &state.library)))
}

pub async fn delete(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<StatusCode, V1Error> {
    let caller = acting_for(&caller, tenant_param(query.as_deref()).as_deref(), true)?;
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
    let caller = acting_for(&caller, tenant_param(query.as_deref()).as_deref(), false)?;
    let mut params = ListParams::default();
    let mut paging = Paging::default();
    let mut cursor = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key == "cursor" {
            // Opaque here: it carries the sort value as well as the position.
            cursor = Some(value.into_owned());
            continue;
        }
        if paging.accept(&key, &value)? {
            continue;
        }
        match key.as_ref() {
            "sort" => params.sort = Some(value.into_owned()),
            "assetType" => params.asset_type = Some(value.into_owned()),
            "status" => params.status = Some(value.into_owned()),
            "name" => params.name = Some(value.into_owned()),
            "sha256" => params.sha256 = Some(value.into_owned()),
            "deleted" => params.deleted = value == "true" || value == "1",
            "groupId" => params.group_id = Some(value.into_owned()),
            _ => {}
        }
    }
    let filter = params.to_filter(false)?;
    let (items, next_cursor) = state
        .library
        .list_sorted(&caller, &filter, &params, cursor.as_deref(), paging.limit)
        .await?;
    Ok(Json(ListBody {
        items: items
            .iter()
            .map(|a| AssetBody::of(a, &state.library))
            .collect(),
        next_cursor,
    }))
}

/// `PATCH /v1/assets/{id}` `{"name", "groupId"}`: renames the asset and/or files it in a group
/// (`null` or `""`: no name, no group).
pub async fn update(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> Result<Json<AssetBody>, V1Error> {
    let caller = acting_for(&caller, tenant_param(query.as_deref()).as_deref(), true)?;
    let body: super::dto::UpdateBody = parse_json(&body)?;
    let asset = state
        .library
        .update(
            &caller,
            &asset_id,
            body.name.as_ref().map(Option::as_deref),
            body.group_id.as_ref().map(Option::as_deref),
        )
        .await?;
    Ok(Json(AssetBody::of(&asset, &state.library)))
}

/// `POST /v1/assets/{id}/restore`: brings back an asset deleted within the retention period.
pub async fn restore(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<AssetBody>, V1Error> {
    let caller = acting_for(&caller, tenant_param(query.as_deref()).as_deref(), true)?;
    let asset = state.library.restore(&caller, &asset_id).await?;
    Ok(Json(AssetBody::of(&asset, &state.library)))
}
