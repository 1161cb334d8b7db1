//! Decisions: approve and reject one asset or up to 100 at once, and reopen (undo) a decision.
//! Each status change is written with its history entry in one transaction.

use chrono::Utc;

use super::{ReviewService, clean_reason, in_review, rejection_reason, require_reviewer};
use crate::domain::codes;
use crate::domain::{
    Asset, AssetId, Caller, Decision, Failure, HistoryDecision, ModerationRecord, Reopened,
    ReviewAction, Role, Status, Transition,
};
use crate::repo::{HistoryEntry, StatusChange};
use crate::service::ServiceError;
use crate::service::status::record_review;

/// The most decisions one bulk call may carry.
pub const MAX_BULK_DECISIONS: usize = 100;

/// How long a reviewer may reopen their own decision (an admin may reopen any, at any time).
pub const REOPEN_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// One decision of a bulk call, as the face parsed it.
#[derive(Debug, Clone)]
pub struct BulkDecision {
    pub asset_id: String,
    /// `approve` or `reject`.
    pub decision: String,
    pub reason: Option<String>,
}

/// What became of one decision of a bulk call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkOutcome {
    /// This call decided it.
    Decided,
    /// It was in review but is no longer held (decided by someone else, or earlier in the call).
    AlreadyDecided,
    /// No such asset, deleted, or never in review.
    NotFound,
}

impl BulkOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkOutcome::Decided => "decided",
            BulkOutcome::AlreadyDecided => "already-decided",
            BulkOutcome::NotFound => "not-found",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BulkResult {
    pub asset_id: String,
    pub action: ReviewAction,
    pub outcome: BulkOutcome,
    /// The asset's status now (none when not found).
    pub status: Option<Status>,
}

/// The history entry of a decision on `asset` by `caller`, with the faces shown then.
fn entry(
    caller: &Caller,
    asset: &Asset,
    decision: HistoryDecision,
    reason: Option<String>,
    at: chrono::DateTime<Utc>,
) -> HistoryEntry {
    let record = asset.moderation.clone().unwrap_or_default();
    HistoryEntry {
        asset_id: asset.id.clone(),
        tenant: asset.tenant.clone(),
        decision,
        reason,
        reviewer_key: caller.key_id.clone(),
        reviewer_name: caller.key_name.clone(),
        reviewer_tenant: caller.tenant.clone(),
        faces: record.faces,
        image_width: record.width,
        image_height: record.height,
        at,
    }
}

impl ReviewService {
    async fn held(&self, raw_id: &str) -> Result<Asset, ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        let asset = self
            .any_tenant(&id)
            .await?
            .ok_or_else(ServiceError::not_found)?;
        if asset.status != Status::PendingReview {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                format!(
                    "asset {} is not waiting for review; it is {}",
                    asset.id, asset.status
                ),
            ));
        }
        Ok(asset)
    }

    /// Moves a held asset as decided, with its history entry; `false` when someone else moved
    /// it first.
    async fn apply(
        &self,
        caller: &Caller,
        asset: &Asset,
        action: ReviewAction,
        reason: Option<String>,
    ) -> Result<bool, ServiceError> {
        let at = Utc::now();
        let mut record = asset.moderation.clone().unwrap_or_default();
        record.decision = Some(Decision {
            action,
            reviewer_key: caller.key_id.clone(),
            reviewer_name: caller.key_name.clone(),
            reviewer_tenant: caller.tenant.clone(),
            reason: reason.clone(),
            at,
        });
        let (to, failure) = match action {
            ReviewAction::Approve => (Status::Active, None),
            ReviewAction::Reject => (
                Status::Failed,
                Some(Failure {
                    code: codes::REVIEW_REJECTED.name.to_owned(),
                    message: reason.clone().unwrap_or_default(),
                }),
            ),
        };
        let change = StatusChange {
            to,
            format: None,
            facts: None,
            failure,
            moderation: Some(record),
            at,
        };
        let entry = entry(caller, asset, action.into(), reason, at);
        let moved = record_review(
            self.reviews.as_ref(),
            &asset.id,
            Status::PendingReview,
            &change,
            Transition::Lifecycle,
            &entry,
        )
        .await
        .map_err(|e| ServiceError::internal("recording a review decision", e))?;
        if moved {
            tracing::info!(asset = %asset.id, %action, reviewer = %caller.key_id, "review decision");
        }
        Ok(moved)
    }

    async fn decide_one(
        &self,
        caller: &Caller,
        raw_id: &str,
        action: ReviewAction,
        reason: Option<String>,
    ) -> Result<Asset, ServiceError> {
        require_reviewer(caller)?;
        let asset = self.held(raw_id).await?;
        if !self.apply(caller, &asset, action, reason).await? {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                format!("asset {} was decided by someone else meanwhile", asset.id),
            ));
        }
        self.any_tenant(&asset.id)
            .await?
            .ok_or_else(ServiceError::not_found)
    }

    /// Approves a held asset: it becomes `Active`.
    pub async fn approve(&self, caller: &Caller, raw_id: &str) -> Result<Asset, ServiceError> {
        self.decide_one(caller, raw_id, ReviewAction::Approve, None)
            .await
    }

    /// Rejects a held asset: it becomes `Failed` (`review-rejected`) with the reason, which is
    /// required (`reason-required`).
    pub async fn reject(
        &self,
        caller: &Caller,
        raw_id: &str,
        reason: Option<String>,
    ) -> Result<Asset, ServiceError> {
        require_reviewer(caller)?;
        let reason = rejection_reason(reason.as_deref())?;
        self.decide_one(caller, raw_id, ReviewAction::Reject, Some(reason))
            .await
    }

    /// Up to 100 decisions, each atomic on its own, checked in full before any is made: a
    /// reject without a reason or an unknown decision refuses the whole call.
    pub async fn decide_many(
        &self,
        caller: &Caller,
        decisions: Vec<BulkDecision>,
    ) -> Result<Vec<BulkResult>, ServiceError> {
        require_reviewer(caller)?;
        if decisions.is_empty() || decisions.len() > MAX_BULK_DECISIONS {
            return Err(ServiceError::client(
                &codes::TOO_MANY_DECISIONS,
                format!(
                    "send 1–{MAX_BULK_DECISIONS} decisions in one call; this one has {}",
                    decisions.len()
                ),
            ));
        }
        let mut checked = Vec::with_capacity(decisions.len());
        for (n, d) in decisions.into_iter().enumerate() {
            let action = match d.decision.as_str() {
                "approve" => ReviewAction::Approve,
                "reject" => ReviewAction::Reject,
                other => {
                    return Err(ServiceError::invalid(format!(
                        "decisions[{n}]: decision must be approve or reject, got '{other}'"
                    )));
                }
            };
            let reason = match action {
                ReviewAction::Reject => {
                    Some(rejection_reason(d.reason.as_deref()).map_err(|e| {
                        ServiceError::client(e.code(), format!("decisions[{n}]: {e}"))
                    })?)
                }
                ReviewAction::Approve => clean_reason(d.reason.as_deref())?,
            };
            checked.push((d.asset_id, action, reason));
        }
        let mut results = Vec::with_capacity(checked.len());
        for (raw_id, action, reason) in checked {
            let (outcome, status) = self.decide_in_bulk(caller, &raw_id, action, reason).await?;
            results.push(BulkResult {
                asset_id: raw_id,
                action,
                outcome,
                status,
            });
        }
        Ok(results)
    }

    async fn decide_in_bulk(
        &self,
        caller: &Caller,
        raw_id: &str,
        action: ReviewAction,
        reason: Option<String>,
    ) -> Result<(BulkOutcome, Option<Status>), ServiceError> {
        let Some(id) = AssetId::parse(raw_id) else {
            return Ok((BulkOutcome::NotFound, None));
        };
        let Some(asset) = self.any_tenant(&id).await? else {
            return Ok((BulkOutcome::NotFound, None));
        };
        if !in_review(&asset) {
            return Ok((BulkOutcome::NotFound, None));
        }
        if asset.status != Status::PendingReview {
            return Ok((BulkOutcome::AlreadyDecided, Some(asset.status)));
        }
        if self.apply(caller, &asset, action, reason).await? {
            let status = match action {
                ReviewAction::Approve => Status::Active,
                ReviewAction::Reject => Status::Failed,
            };
            return Ok((BulkOutcome::Decided, Some(status)));
        }
        // Decided (or deleted) by someone else between the read and the change.
        Ok(match self.any_tenant(&id).await? {
            Some(now) => (BulkOutcome::AlreadyDecided, Some(now.status)),
            None => (BulkOutcome::NotFound, None),
        })
    }

    /// Puts a decided asset back in the queue: a reviewer their own decision within
    /// [`REOPEN_WINDOW`], an admin any decision at any time (`reopen-forbidden` otherwise).
    pub async fn reopen(
        &self,
        caller: &Caller,
        raw_id: &str,
        reason: Option<String>,
    ) -> Result<Asset, ServiceError> {
        require_reviewer(caller)?;
        let reason = clean_reason(reason.as_deref())?;
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        let asset = self
            .any_tenant(&id)
            .await?
            .filter(in_review)
            .ok_or_else(ServiceError::not_found)?;
        if asset.status == Status::PendingReview {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                format!("asset {id} is waiting for review already"),
            ));
        }
        let mut record: ModerationRecord = asset.moderation.clone().unwrap_or_default();
        let Some(decision) = record.decision.take() else {
            return Err(ServiceError::not_found());
        };
        let now = Utc::now();
        if caller.role != Role::Admin {
            if decision.reviewer_key != caller.key_id {
                return Err(ServiceError::client(
                    &codes::REOPEN_FORBIDDEN,
                    format!(
                        "asset {id} was decided by another reviewer (key {}); only they, within \
                         10 minutes, or an admin can reopen it",
                        decision.reviewer_key
                    ),
                ));
            }
            if now - decision.at > REOPEN_WINDOW {
                return Err(ServiceError::client(
                    &codes::REOPEN_FORBIDDEN,
                    format!(
                        "asset {id} was decided {} minutes ago; a reviewer can reopen their own \
                         decision for 10 minutes, after that ask an admin",
                        (now - decision.at).num_minutes()
                    ),
                ));
            }
        }
        let expected = match decision.action {
            ReviewAction::Approve => Status::Active,
            ReviewAction::Reject => Status::Failed,
        };
        if asset.status != expected {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                format!(
                    "asset {id} is {} since it was decided; there is no decision to undo",
                    asset.status
                ),
            ));
        }
        record.reopened = Some(Reopened {
            by_key: caller.key_id.clone(),
            at: now,
            undone: decision.action,
        });
        let change = StatusChange {
            to: Status::PendingReview,
            format: None,
            facts: None,
            failure: None,
            moderation: Some(record),
            at: now,
        };
        let entry = entry(caller, &asset, HistoryDecision::Reopen, reason, now);
        let moved = record_review(
            self.reviews.as_ref(),
            &id,
            asset.status,
            &change,
            Transition::Reopen,
            &entry,
        )
        .await
        .map_err(|e| ServiceError::internal("reopening a decision", e))?;
        if !moved {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                format!("asset {id} changed meanwhile; read it again"),
            ));
        }
        tracing::info!(asset = %id, undone = %decision.action, by = %caller.key_id, "review reopened");
        self.any_tenant(&id)
            .await?
            .ok_or_else(ServiceError::not_found)
    }
}
