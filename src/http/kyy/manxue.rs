//! The SD2 Manxue batch asset routes: `POST /asset/sd2Manxue/assetUpload` and
//! `POST /asset/sd2Manxue/assetStatus`. Both answer a *string* code `"0"` and split the batch
//! into `items` and `failedItems`; an error of the whole call is the kyy error envelope.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::dto::kyy_status;
use crate::domain::AssetType;
use crate::http::auth::KyyCaller;
use crate::http::error::{KyyError, public_message};
use crate::http::request::parse_json;
use crate::service::ServiceError;
use crate::state::AppState;

/// Body of `assetUpload`: at least one list non-empty.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadBody {
    #[serde(default)]
    image_urls: Option<Vec<String>>,
    #[serde(default)]
    video_urls: Option<Vec<String>>,
    #[serde(default)]
    audio_urls: Option<Vec<String>>,
}

/// Body of `assetStatus`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusBody {
    #[serde(default)]
    asset_ids: Option<Vec<String>>,
}

/// `{code: "0", msg: null, data}`: these routes' success envelope.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "ManxueEnvelope_{T}")]
pub struct BatchEnvelope<T: Serialize> {
    #[schemars(extend("const" = "0"))]
    code: &'static str,
    msg: Option<String>,
    data: T,
}

fn ok<T: Serialize>(data: T) -> Json<BatchEnvelope<T>> {
    Json(BatchEnvelope {
        code: "0",
        msg: None,
        data,
    })
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "ManxueUploadData")]
pub struct UploadData {
    items: Vec<UploadItem>,
    failed_items: Vec<FailedUpload>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadItem {
    asset_type: &'static str,
    original_url: String,
    asset_id: String,
    status: &'static str,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FailedUpload {
    original_url: String,
    error_message: String,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusData {
    items: Vec<StatusItem>,
    failed_items: Vec<FailedStatus>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusItem {
    asset_id: String,
    status: &'static str,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FailedStatus {
    asset_id: String,
    error_message: String,
}

pub async fn upload(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    body: Bytes,
) -> Result<Json<BatchEnvelope<UploadData>>, KyyError> {
    let body: UploadBody = parse_json(&body)?;
    let urls = [
        (AssetType::Image, body.image_urls),
        (AssetType::Video, body.video_urls),
        (AssetType::Audio, body.audio_urls),
    ]
    .into_iter()
    .flat_map(|(t, urls)| urls.unwrap_or_default().into_iter().map(move |u| (t, u)))
    .collect();
    let outcomes = state.ingest.upload_batch(&caller, urls).await?;
    let mut data = UploadData {
        items: Vec::new(),
        failed_items: Vec::new(),
    };
    for one in outcomes {
        match one.outcome {
            Ok(asset) => data.items.push(UploadItem {
                asset_type: one.asset_type.as_str(),
                original_url: one.url,
                asset_id: asset.id.to_string(),
                status: "submitted",
            }),
            Err(e) => data.failed_items.push(FailedUpload {
                original_url: one.url,
                error_message: public_message(&e),
            }),
        }
    }
    Ok(ok(data))
}

pub async fn status(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    body: Bytes,
) -> Result<Json<BatchEnvelope<StatusData>>, KyyError> {
    let body: StatusBody = parse_json(&body)?;
    let ids = body.asset_ids.ok_or_else(|| {
        ServiceError::invalid("assetIds is required: a list of asset ids to look up")
    })?;
    let found = state.library.statuses(&caller, ids).await?;
    let mut data = StatusData {
        items: Vec::new(),
        failed_items: Vec::new(),
    };
    for (asset_id, asset) in found {
        match asset {
            Some(asset) => data.items.push(StatusItem {
                asset_id,
                status: kyy_status(asset.status),
            }),
            None => data.failed_items.push(FailedStatus {
                asset_id,
                error_message: public_message(&ServiceError::not_found()),
            }),
        }
    }
    Ok(ok(data))
}
