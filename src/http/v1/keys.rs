//! `/v1/keys` (admin): list, create (the secret shown once), revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::domain::{Role, rfc3339_millis};
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::parse_json;
use crate::repo::ApiKeyRecord;
use crate::service::ServiceError;
use crate::state::AppState;

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyBody {
    pub key_id: String,
    pub tenant: String,
    pub role: &'static str,
    /// Who the key belongs to (`null`: no name).
    pub name: Option<String>,
    pub create_time: String,
    pub revoke_time: Option<String>,
    /// Only in the answer to the creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&ApiKeyRecord> for KeyBody {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            key_id: k.id.clone(),
            tenant: k.tenant.clone(),
            role: k.role.as_str(),
            name: k.name.clone(),
            create_time: rfc3339_millis(k.created_at),
            revoke_time: k.revoked_at.map(rfc3339_millis),
            secret: None,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct KeyListBody {
    pub items: Vec<KeyBody>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    pub tenant: Option<String>,
    /// `tenant` (default), `reviewer` or `admin`.
    pub role: Option<String>,
    /// Who the key belongs to (≤ 64 characters), shown in the review history.
    pub name: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
) -> Result<Json<KeyListBody>, V1Error> {
    let keys = state.keys.list_for(&caller).await?;
    Ok(Json(KeyListBody {
        items: keys.iter().map(KeyBody::from).collect(),
    }))
}

pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<KeyBody>), V1Error> {
    let body: CreateKeyBody = parse_json(&body)?;
    let role = body
        .role
        .as_deref()
        .unwrap_or("tenant")
        .parse::<Role>()
        .map_err(ServiceError::invalid)?;
    let tenant = body.tenant.unwrap_or_default();
    let created = state
        .keys
        .create_for(&caller, tenant.trim(), role, body.name.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(KeyBody {
            key_id: created.id,
            tenant: created.tenant,
            role: role.as_str(),
            name: created.name,
            create_time: rfc3339_millis(chrono::Utc::now()),
            revoke_time: None,
            secret: Some(created.secret),
        }),
    ))
}

pub async fn revoke(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(key_id): Path<String>,
) -> Result<StatusCode, V1Error> {
    state.keys.revoke_for(&caller, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
