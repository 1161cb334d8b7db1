//! `/v1/webhooks`: a tenant's endpoints, each delivery's log, and a manual redeliver.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::paging::Paging;
use crate::domain::{Delivery, Webhook, rfc3339_millis};
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::parse_json;
use crate::state::AppState;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub url: Option<String>,
    /// Left out: every event type.
    pub events: Option<Vec<String>>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody {
    pub webhook_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub create_time: String,
    /// Only in the answer to the creation: keep it, it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&Webhook> for WebhookBody {
    fn from(w: &Webhook) -> Self {
        Self {
            webhook_id: w.id.to_string(),
            url: w.url.clone(),
            events: w.events.clone(),
            create_time: rfc3339_millis(w.create_time),
            secret: None,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WebhookListBody {
    pub items: Vec<WebhookBody>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryBody {
    /// Opaque: `dlv-YYYYMMDDhhmmss-` and 16 random hex characters.
    pub delivery_id: String,
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The asset or task the event is about.
    pub subject_id: String,
    /// `pending`, `delivered`, or `failed` (given up after a day of retries).
    pub state: &'static str,
    pub attempts: u32,
    /// The endpoint's HTTP status on the last attempt (`null`: no answer).
    pub response_status: Option<u16>,
    pub latency_ms: Option<u64>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub create_time: String,
    /// When a pending delivery is tried next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<String>,
    pub finish_time: Option<String>,
}

impl From<&Delivery> for DeliveryBody {
    fn from(d: &Delivery) -> Self {
        let pending = d.state == crate::domain::DeliveryState::Pending;
        Self {
            delivery_id: d.delivery_id.to_string(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            subject_id: d.subject_id.clone(),
            state: d.state.as_str(),
            attempts: d.attempts,
            response_status: d.response_status,
            latency_ms: d.latency_ms,
            error: d.last_error.clone(),
            create_time: rfc3339_millis(d.create_time),
            next_attempt_time: pending.then(|| rfc3339_millis(d.next_attempt_at)),
            finish_time: d.finish_time.map(rfc3339_millis),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryListBody {
    pub items: Vec<DeliveryBody>,
    /// The last delivery id shown, to pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<WebhookBody>), V1Error> {
    let body: CreateBody = parse_json(&body)?;
    let webhook = state
        .webhooks
        .create(&caller, body.url.as_deref(), body.events.as_deref())
        .await?;
    let mut answer = WebhookBody::from(&webhook);
    answer.secret = Some(webhook.secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

pub async fn list(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
) -> Result<Json<WebhookListBody>, V1Error> {
    let webhooks = state.webhooks.list(&caller).await?;
    Ok(Json(WebhookListBody {
        items: webhooks.iter().map(WebhookBody::from).collect(),
    }))
}

pub async fn detail(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(webhook_id): Path<String>,
) -> Result<Json<WebhookBody>, V1Error> {
    let webhook = state.webhooks.get(&caller, &webhook_id).await?;
    Ok(Json(WebhookBody::from(&webhook)))
}

pub async fn delete(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(webhook_id): Path<String>,
) -> Result<StatusCode, V1Error> {
    state.webhooks.delete(&caller, &webhook_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Newest first; `limit`, `cursor`.
pub async fn deliveries(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(webhook_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<DeliveryListBody>, V1Error> {
    let mut paging = Paging::default();
    // The cursor is a delivery id (opaque, as the ids are), not the shared numeric cursor.
    let mut cursor = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key == "cursor" {
            cursor = (!value.is_empty()).then(|| value.into_owned());
        } else {
            paging.accept(&key, &value)?;
        }
    }
    let (items, next) = state
        .webhooks
        .deliveries(&caller, &webhook_id, cursor.as_deref(), paging.limit)
        .await?;
    Ok(Json(DeliveryListBody {
        items: items.iter().map(DeliveryBody::from).collect(),
        next_cursor: next.map(|n| n.to_string()),
    }))
}

/// `202` with the new delivery, due now.
pub async fn redeliver(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path((webhook_id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryBody>), V1Error> {
    let delivery = state
        .webhooks
        .redeliver(&caller, &webhook_id, &delivery_id)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryBody::from(&delivery))))
}
