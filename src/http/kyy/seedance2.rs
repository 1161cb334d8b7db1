//! The Seedance 2 asset routes many relays of this family call: `POST /asset/seedance2/assetUpload`
//! `{"assetType","url","name"?}` and `POST /asset/seedance2/assetDetail` `{"assetId"}` (the id
//! may carry `assetId://` or `asset://`). Their public clients read the answer two ways — some
//! the envelope's `data`, some the same fields at the top level — so the answer is one shape
//! both read: `{"code":0,"msg":null,"data":{…}, …the same fields again}`. Statuses are
//! upper-case; a held asset is `PROCESSING`. Errors are the kyy error envelope.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use serde::{Deserialize, Serialize};

use crate::domain::task_refs::asset_part;
use crate::domain::{Asset, Status};
use crate::http::auth::KyyCaller;
use crate::http::error::KyyError;
use crate::http::request::{dedupe_flag, parse_json, wait_param};
use crate::service::{ServiceError, UploadFields};
use crate::state::AppState;

/// Body of `assetUpload`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Seedance2UploadBody")]
pub(crate) struct UploadBody {
    asset_type: Option<String>,
    url: Option<String>,
    name: Option<String>,
}

/// Body of `assetDetail`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DetailBody {
    #[serde(alias = "asset_id")]
    asset_id: Option<String>,
}

/// An asset as these routes show it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Seedance2Asset {
    asset_id: String,
    asset_type: &'static str,
    /// `PROCESSING` (held for review too), `ACTIVE` or `FAILED`.
    status: &'static str,
    /// `PROCESSING`, `READY` (the asset is usable) or `FAILED`.
    material_status: &'static str,
    /// The failure sentence of a `FAILED` asset, else null.
    error_message: Option<String>,
    name: Option<String>,
    url: String,
    create_time: String,
}

/// The answer: the envelope, and the asset's fields once more at the top level.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Seedance2Answer {
    code: i64,
    msg: Option<String>,
    data: Seedance2Asset,
    #[serde(flatten)]
    top: Seedance2Asset,
}

/// `status` and `materialStatus` of an asset.
pub fn seedance2_status(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Processing | Status::PendingReview => ("PROCESSING", "PROCESSING"),
        Status::Active => ("ACTIVE", "READY"),
        Status::Failed => ("FAILED", "FAILED"),
    }
}

fn answer(asset: &Asset) -> Json<Seedance2Answer> {
    let (status, material_status) = seedance2_status(asset.status);
    let error_message = match (&asset.status, &asset.failure) {
        (Status::Failed, Some(f)) => Some(f.message.clone()),
        _ => None,
    };
    let shown = Seedance2Asset {
        asset_id: asset.id.to_string(),
        asset_type: asset.asset_type.as_str(),
        status,
        material_status,
        error_message: error_message.clone(),
        name: asset.name.clone(),
        url: asset.url.clone(),
        create_time: asset.create_time.format("%Y-%m-%d %H:%M:%S").to_string(),
    };
    Json(Seedance2Answer {
        code: 0,
        msg: error_message,
        data: shown.clone(),
        top: shown,
    })
}

pub async fn upload(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Json<Seedance2Answer>, KyyError> {
    let body: UploadBody = parse_json(&body)?;
    let fields = UploadFields {
        asset_type: body.asset_type,
        name: body.name,
        group_id: None,
        dedupe: dedupe_flag(query.as_deref()),
    };
    let upload = fields.by_url(body.url.as_deref())?;
    let asset = state.ingest.file(&caller, upload).await?.asset;
    Ok(answer(&asset))
}

pub async fn detail(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Json<Seedance2Answer>, KyyError> {
    let wait = wait_param(query.as_deref())?;
    let body: DetailBody = parse_json(&body)?;
    let raw = body
        .asset_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| ServiceError::invalid("assetId is required: the id assetUpload answered"))?;
    let raw = raw.trim();
    let id = asset_part(raw).unwrap_or(raw);
    let asset = state
        .library
        // A held asset shows as PROCESSING: the wait goes on through the review.
        .get_when_settled(
            &caller,
            id,
            wait,
            &[Status::Processing, Status::PendingReview],
        )
        .await?;
    Ok(answer(&asset))
}
