//! `GET /v1/usage` (a tenant's use against its quota) and `/v1/tenants/{tenant}/quota`
//! (admin: read, set at run time, remove).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use crate::domain::{Quota, Usage};
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::parse_json;
use crate::service::TenantQuota;
use crate::state::AppState;

/// One limit and the use it bounds (`limit: null`: none).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Measure {
    pub used: u64,
    pub limit: Option<u64>,
}

/// Bytes: stored, reserved by open uploads, and the limit on both together.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BytesMeasure {
    pub used: u64,
    /// Announced by resumable and direct uploads not yet complete; counted against `limit`.
    pub reserved: u64,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageBody {
    pub tenant: String,
    /// `configuration` (the file's `[quotas]`) or `admin` (set at run time).
    pub source: &'static str,
    /// Live assets.
    pub assets: Measure,
    /// Bytes of the live assets, and those reserved by open uploads.
    pub bytes: BytesMeasure,
    /// Assets created in the last 60 seconds.
    pub uploads_per_minute: Measure,
    /// Resumable and direct uploads created and not yet complete (`--max-open-uploads`).
    pub open_uploads: Measure,
}

fn usage_body(
    state: &AppState,
    tenant: &str,
    (quota, usage): (TenantQuota, Usage),
) -> Json<UsageBody> {
    let q = quota.quota;
    Json(UsageBody {
        tenant: tenant.to_owned(),
        source: if quota.runtime {
            "admin"
        } else {
            "configuration"
        },
        assets: Measure {
            used: usage.assets,
            limit: q.max_assets,
        },
        bytes: BytesMeasure {
            used: usage.bytes,
            reserved: usage.reserved_bytes,
            limit: q.max_bytes,
        },
        uploads_per_minute: Measure {
            used: usage.uploads_last_minute,
            limit: q.uploads_per_minute.map(u64::from),
        },
        open_uploads: Measure {
            used: usage.open_uploads,
            limit: Some(state.config.max_open_uploads),
        },
    })
}

/// `PUT /v1/tenants/{tenant}/quota`: every limit, `null` or left out for none.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaBody {
    pub max_assets: Option<u64>,
    pub max_bytes: Option<u64>,
    pub uploads_per_minute: Option<u32>,
}

pub async fn usage(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
) -> Result<Json<UsageBody>, V1Error> {
    let found = state.quotas.usage(&caller).await?;
    Ok(usage_body(&state, &caller.tenant, found))
}

pub async fn get_quota(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(tenant): Path<String>,
) -> Result<Json<UsageBody>, V1Error> {
    let found = state.quotas.tenant(&caller, &tenant).await?;
    Ok(usage_body(&state, &tenant, found))
}

pub async fn put_quota(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<UsageBody>, V1Error> {
    let body: QuotaBody = parse_json(&body)?;
    let quota = Quota {
        max_assets: body.max_assets,
        max_bytes: body.max_bytes,
        uploads_per_minute: body.uploads_per_minute,
    };
    let found = state.quotas.set(&caller, &tenant, quota).await?;
    Ok(usage_body(&state, &tenant, found))
}

pub async fn delete_quota(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(tenant): Path<String>,
) -> Result<Json<UsageBody>, V1Error> {
    let found = state.quotas.clear(&caller, &tenant).await?;
    Ok(usage_body(&state, &tenant, found))
}
