use axum::Json;
use axum::extract::{Path, RawQuery, State};

use super::dto::{AssetDetail, DeleteEnvelope, Envelope, ListData};
use crate::domain::Status;
use crate::http::auth::KyyCaller;
use crate::http::error::KyyError;
use crate::http::request::{force_flag, wait_param};
use crate::service::{ListParams, ServiceError};
use crate::state::AppState;

type KyyResult<T> = Result<Json<T>, KyyError>;

pub async fn detail(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
) -> KyyResult<Envelope<AssetDetail>> {
    let wait = wait_param(query.as_deref())?;
    let asset = state
        .library
        // The kyy face shows an asset held for review as Processing: the wait goes on through it.
        .get_when_settled(
            &caller,
            &asset_id,
            wait,
            &[Status::Processing, Status::PendingReview],
        )
        .await?;
    // A failed asset carries its reason in `msg` (null otherwise).
    let msg = match (&asset.status, &asset.failure) {
        (Status::Failed, Some(f)) => Some(f.message.clone()),
        _ => None,
    };
    Ok(Json(Envelope {
        code: 0,
        msg,
        data: AssetDetail::from(&asset),
    }))
}

pub async fn delete(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    Path(asset_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<DeleteEnvelope>, KyyError> {
    state
        .library
        .delete(&caller, &asset_id, force_flag(query.as_deref()))
        .await?;
    Ok(Json(DeleteEnvelope {
        code: "0",
        msg: "success",
        data: None,
    }))
}

fn parse_number<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T, ServiceError> {
    raw.trim().parse().map_err(|_| {
        ServiceError::invalid(format!("{name} must be a positive integer, got '{raw}'"))
    })
}

pub async fn list(
    State(state): State<AppState>,
    KyyCaller(caller): KyyCaller,
    RawQuery(query): RawQuery,
) -> KyyResult<Envelope<ListData>> {
    let mut params = ListParams::default();
    let mut page_num: u64 = 1;
    let mut page_size: u32 = 10;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "pageNum" if !value.is_empty() => page_num = parse_number("pageNum", &value)?,
            "pageSize" if !value.is_empty() => page_size = parse_number("pageSize", &value)?,
            "assetType" => params.asset_type = Some(value.into_owned()),
            "status" => params.status = Some(value.into_owned()),
            "name" => params.name = Some(value.into_owned()),
            _ => {}
        }
    }
    let filter = params.to_filter(true)?;
    let page = state
        .library
        .list_page(&caller, &filter, page_num, page_size)
        .await?;
    Ok(Json(Envelope {
        code: 0,
        msg: None,
        data: ListData {
            list: page.items.iter().map(AssetDetail::from).collect(),
            total: page.total,
            page_num,
            page_size,
        },
    }))
}
