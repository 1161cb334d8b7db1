//! `/v1/keys` (admin): list, create (the secret shown once), revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

use crate::domain::{Caller, Role, codes};
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::parse_json;
use crate::repo::ApiKeyRecord;
use crate::service::ServiceError;
use crate::state::AppState;

fn require_admin(caller: &Caller) -> Result<(), ServiceError> {
    match caller.role {
        Role::Admin => Ok(()),
        _ => Err(ServiceError::client(
            &codes::FORBIDDEN,
            "keys are managed with an admin key",
        )),
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyBody {
    pub key_id: String,
    pub tenant: String,
    pub role: &'static str,
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
            create_time: k.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            revoke_time: k
                .revoked_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
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
}

pub async fn list(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
) -> Result<Json<KeyListBody>, V1Error> {
    require_admin(&caller)?;
    let keys = state.keys.list().await?;
    Ok(Json(KeyListBody {
        items: keys.iter().map(KeyBody::from).collect(),
    }))
}

pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<KeyBody>), V1Error> {
    require_admin(&caller)?;
    let body: CreateKeyBody = parse_json(&body)?;
    let role = body
        .role
        .as_deref()
        .unwrap_or("tenant")
        .parse::<Role>()
        .map_err(ServiceError::invalid)?;
    let tenant = body.tenant.unwrap_or_default();
    let created = state.keys.create(tenant.trim(), role).await?;
    tracing::info!(key = %created.id, tenant = %created.tenant, role = %role, by = %caller.key_id, "key created");
    Ok((
        StatusCode::CREATED,
        Json(KeyBody {
            key_id: created.id,
            tenant: created.tenant,
            role: role.as_str(),
            create_time: chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
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
    require_admin(&caller)?;
    if !state.keys.revoke(&key_id).await? {
        return Err(ServiceError::client(
            &codes::NOT_FOUND,
            format!("there is no active key {key_id}"),
        )
        .into());
    }
    tracing::info!(key = %key_id, by = %caller.key_id, "key revoked");
    Ok(StatusCode::NO_CONTENT)
}
