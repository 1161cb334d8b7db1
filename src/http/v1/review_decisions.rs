//! `POST /v1/reviews/decisions` (up to 100 decisions at once) and `POST
//! /v1/reviews/{assetId}/reopen` (undo a decision).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::dto::AssetBody;
use crate::http::auth::V1Caller;
use crate::http::error::V1Error;
use crate::http::request::parse_json;
use crate::service::{BulkDecision, BulkOutcome};
use crate::state::AppState;

/// One decision of a bulk call.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionItem {
    pub asset_id: String,
    /// `approve` or `reject`.
    pub decision: String,
    /// Required to reject (the owner sees it); optional to approve.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct DecisionsBody {
    /// 1–100 decisions, each made atomically on its own, in order.
    pub decisions: Vec<DecisionItem>,
}

/// What became of one decision.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionResult {
    pub asset_id: String,
    pub decision: &'static str,
    /// `decided`, `already-decided` or `not-found`.
    pub result: &'static str,
    /// The asset's status now (absent when not found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionsAnswer {
    /// One per decision sent, in order.
    pub results: Vec<DecisionResult>,
    /// How many this call decided.
    pub decided: usize,
}

pub async fn decide_many(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    body: Bytes,
) -> Result<Json<DecisionsAnswer>, V1Error> {
    let body: DecisionsBody = parse_json(&body)?;
    let decisions = body
        .decisions
        .into_iter()
        .map(|d| BulkDecision {
            asset_id: d.asset_id,
            decision: d.decision,
            reason: d.reason,
        })
        .collect();
    let results = state.review.decide_many(&caller, decisions).await?;
    let decided = results
        .iter()
        .filter(|r| r.outcome == BulkOutcome::Decided)
        .count();
    Ok(Json(DecisionsAnswer {
        results: results
            .into_iter()
            .map(|r| DecisionResult {
                asset_id: r.asset_id,
                decision: r.action.as_str(),
                result: r.outcome.as_str(),
                status: r.status.map(|s| s.as_str()),
            })
            .collect(),
        decided,
    }))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ReopenBody {
    /// Why the decision is undone (recorded in the history).
    pub reason: Option<String>,
}

pub async fn reopen(
    State(state): State<AppState>,
    V1Caller(caller): V1Caller,
    Path(asset_id): Path<String>,
    body: Bytes,
) -> Result<Json<AssetBody>, V1Error> {
    let body: ReopenBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReopenBody::default()
    } else {
        parse_json(&body)?
    };
    let asset = state.review.reopen(&caller, &asset_id, body.reason).await?;
    Ok(Json(AssetBody::of(&asset, &state.library)))
}
