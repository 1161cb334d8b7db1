//! `GET /v1/reviews/history`: every approve, reject and reopen, newest first, as JSON pages or
//! (with `Accept: text/csv`) as CSV.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{FaceBox, HistoryDecision, parse_duration, rfc3339_millis};
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::repo::{HistoryQuery, HistoryRecord};
use crate::service::{ServiceError, validate_tenant};
use crate::state::AppState;

const JSON_LIMIT: (u32, u32) = (50, 100);
/// Default and most rows of one CSV answer.
const CSV_LIMIT: (u32, u32) = (10_000, 10_000);

/// One entry of the history.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryItem {
    /// The entry's number (increasing with time).
    pub entry_id: i64,
    pub asset_id: String,
    pub tenant: String,
    /// `approve`, `reject` or `reopen`.
    pub decision: &'static str,
    pub reason: Option<String>,
    pub reviewer_key_id: String,
    /// The key's name (`null` when it has none).
    pub reviewer_name: Option<String>,
    pub reviewer_tenant: String,
    pub decided_at: String,
    /// The face boxes shown at decision time, with their scores.
    pub faces: Vec<FaceBox>,
    /// Size of the image the boxes refer to.
    pub image_width: u32,
    pub image_height: u32,
}

impl From<&HistoryRecord> for HistoryItem {
    fn from(r: &HistoryRecord) -> Self {
        let e = &r.entry;
        Self {
            entry_id: r.seq,
            asset_id: e.asset_id.to_string(),
            tenant: e.tenant.clone(),
            decision: e.decision.as_str(),
            reason: e.reason.clone(),
            reviewer_key_id: e.reviewer_key.clone(),
            reviewer_name: e.reviewer_name.clone(),
            reviewer_tenant: e.reviewer_tenant.clone(),
            decided_at: rfc3339_millis(e.at),
            faces: e.faces.clone(),
            image_width: e.image_width,
            image_height: e.image_height,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryList {
    pub items: Vec<HistoryItem>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `since=`: an RFC 3339 time, or a duration meaning that long ago.
fn since(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ServiceError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    let ago = parse_duration(raw).map_err(|_| {
        ServiceError::invalid(format!(
            "since must be an RFC 3339 time (2026-12-07T08:00:00Z) or a duration (24h), got '{raw}'"
        ))
    })?;
    chrono::TimeDelta::from_std(ago)
        .ok()
        .and_then(|ago| now.checked_sub_signed(ago))
        .ok_or_else(|| ServiceError::invalid("since is too long ago"))
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes
/// doubled.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

pub const CSV_HEADER: &str = "decidedAt,decision,assetId,tenant,reviewerKeyId,reviewerName,\
reviewerTenant,reason,faceCount,faces,imageWidth,imageHeight";

fn csv(items: &[HistoryItem]) -> String {
    let mut out = String::with_capacity(128 * (items.len() + 1));
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for i in items {
        let faces = serde_json::to_string(&i.faces).unwrap_or_else(|_| "[]".to_owned());
        let row = [
            i.decided_at.clone(),
            i.decision.to_owned(),
            i.asset_id.clone(),
            i.tenant.clone(),
            i.reviewer_key_id.clone(),
            i.reviewer_name.clone().unwrap_or_default(),
            i.reviewer_tenant.clone(),
            i.reason.clone().unwrap_or_default(),
            i.faces.len().to_string(),
            faces,
            i.image_width.to_string(),
            i.image_height.to_string(),
        ];
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")))
}

pub async fn history(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, V1Error> {
    let as_csv = wants_csv(&headers);
    let (default_limit, max_limit) = if as_csv { CSV_LIMIT } else { JSON_LIMIT };
    let now = Utc::now();
    let raw_query = query.unwrap_or_default();
    let mut read = HistoryQuery {
        limit: default_limit,
        ..HistoryQuery::default()
    };
    for (key, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        if value.is_empty() {
            continue;
        }
        match key.as_ref() {
            "limit" => {
                read.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=max_limit).contains(n))
                    .ok_or_else(|| {
                        ServiceError::invalid(format!("limit must be 1–{max_limit}, got '{value}'"))
                    })?;
            }
            "cursor" => {
                read.before = Some(value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    ServiceError::invalid(format!(
                        "cursor '{value}' is not valid; pass nextCursor from a previous page"
                    ))
                })?);
            }
            "reviewer" => read.reviewer = Some(value.into_owned()),
            "tenant" => {
                validate_tenant(&value).map_err(ServiceError::invalid)?;
                read.tenant = Some(value.into_owned());
            }
            "decision" => {
                read.decision = Some(HistoryDecision::parse(&value).ok_or_else(|| {
                    ServiceError::invalid(format!(
                        "decision must be approve, reject or reopen, got '{value}'"
                    ))
                })?);
            }
            "since" => read.since = Some(since(&value, now)?),
            "assetId" => read.asset_id = Some(value.into_owned()),
            _ => {}
        }
    }
    let page = state.review.history(&caller, &read).await?;
    let items: Vec<HistoryItem> = page.items.iter().map(HistoryItem::from).collect();
    let next_cursor = page.next_before.map(|n| n.to_string());
    if !as_csv {
        return Ok(Json(HistoryList { items, next_cursor }).into_response());
    }
    let mut answer = (
        [(
            header::CONTENT_TYPE,
            "text/csv; charset=utf-8; header=present",
        )],
        csv(&items),
    )
        .into_response();
    if let Some(next) = next_cursor {
        let mut params: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
            .filter(|(k, _)| k != "cursor")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        params.push(("cursor".to_owned(), next.clone()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let link = format!("</v1/reviews/history?{query}>; rel=\"next\"");
        if let Ok(value) = HeaderValue::from_str(&link) {
            answer.headers_mut().insert(header::LINK, value);
        }
        if let Ok(value) = HeaderValue::from_str(&next) {
            answer.headers_mut().insert("x-next-cursor", value);
        }
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"no\""), "\"say \"\"no\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(""), "");
    }
}
