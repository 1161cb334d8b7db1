//! Review of held assets: the queue, approve, reject, and previews.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;

use super::ServiceError;
use super::status::change_status;
use crate::blob::BlobStore;
use crate::domain::codes;
use crate::domain::{
    Asset, AssetId, Caller, Decision, Failure, ReviewAction, Role, Status, Transition,
};
use crate::repo::{AssetRepo, KeysetPage, StatusChange};

/// The review queue and its decisions, for reviewer and admin keys.
#[derive(Clone)]
pub struct ReviewService {
    assets: Arc<dyn AssetRepo>,
    /// Where the previews made by the face check are kept.
    blobs: Arc<dyn BlobStore>,
}

const MAX_REASON_CHARS: usize = 500;

fn require_reviewer(caller: &Caller) -> Result<(), ServiceError> {
    match caller.role {
        Role::Reviewer | Role::Admin => Ok(()),
        Role::Tenant => Err(ServiceError::client(
            &codes::FORBIDDEN,
            "reviewing needs a key with the reviewer or admin role",
        )),
    }
}

impl ReviewService {
    pub fn new(assets: Arc<dyn AssetRepo>, blobs: Arc<dyn BlobStore>) -> Self {
        Self { assets, blobs }
    }

    /// Held assets of every tenant, oldest first.
    pub async fn pending_reviews(
        &self,
        caller: &Caller,
        after: Option<i64>,
        limit: u32,
    ) -> Result<KeysetPage, ServiceError> {
        require_reviewer(caller)?;
        self.assets
            .list_pending_reviews(after, limit)
            .await
            .map_err(|e| ServiceError::internal("listing the review queue", e))
    }

    async fn held(&self, raw_id: &str) -> Result<Asset, ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        let asset = self
            .assets
            .get_asset_any_tenant(&id)
            .await
            .map_err(|e| ServiceError::internal("reading an asset", e))?
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

    async fn decide(
        &self,
        caller: &Caller,
        asset: Asset,
        action: ReviewAction,
        reason: Option<String>,
    ) -> Result<Asset, ServiceError> {
        let at = Utc::now();
        let mut record = asset.moderation.clone().unwrap_or_default();
        record.decision = Some(Decision {
            action,
            reviewer_key: caller.key_id.clone(),
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
        let moved = change_status(
            self.assets.as_ref(),
            &asset.id,
            Status::PendingReview,
            &change,
            Transition::Lifecycle,
        )
        .await
        .map_err(|e| ServiceError::internal("recording a review decision", e))?;
        if !moved {
            return Err(ServiceError::client(
                &codes::CONFLICT,
                format!("asset {} was decided by someone else meanwhile", asset.id),
            ));
        }
        tracing::info!(asset = %asset.id, %action, reviewer = %caller.key_id, "review decision");
        self.assets
            .get_asset_any_tenant(&asset.id)
            .await
            .map_err(|e| ServiceError::internal("reading an asset", e))?
            .ok_or_else(ServiceError::not_found)
    }

    /// Approves a held asset: it becomes `Active`.
    pub async fn approve(&self, caller: &Caller, raw_id: &str) -> Result<Asset, ServiceError> {
        require_reviewer(caller)?;
        let asset = self.held(raw_id).await?;
        self.decide(caller, asset, ReviewAction::Approve, None)
            .await
    }

    /// Rejects a held asset: it becomes `Failed` (`review-rejected`) with the reason.
    pub async fn reject(
        &self,
        caller: &Caller,
        raw_id: &str,
        reason: Option<String>,
    ) -> Result<Asset, ServiceError> {
        require_reviewer(caller)?;
        let reason = reason.map(|r| r.trim().to_owned()).unwrap_or_default();
        if reason.is_empty() {
            return Err(ServiceError::invalid(
                "a rejection needs a reason: send {\"reason\": \"…\"}; the asset's owner sees it",
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(ServiceError::invalid(format!(
                "the reason is longer than {MAX_REASON_CHARS} characters"
            )));
        }
        let asset = self.held(raw_id).await?;
        self.decide(caller, asset, ReviewAction::Reject, Some(reason))
            .await
    }

    /// The preview of an asset: for its owner, and for reviewers of every tenant.
    /// The preview JPEG (of a video's checked frame `frame`, 0 the poster) and the sha256 of
    /// the content it was made from.
    pub async fn preview(
        &self,
        caller: &Caller,
        raw_id: &str,
        frame: u32,
    ) -> Result<(Bytes, String), ServiceError> {
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        let asset = match caller.role {
            Role::Reviewer | Role::Admin => self.assets.get_asset_any_tenant(&id).await,
            Role::Tenant => self.assets.get_asset(&caller.tenant, &id).await,
        }
        .map_err(|e| ServiceError::internal("reading an asset", e))?
        .ok_or_else(ServiceError::not_found)?;
        let name = match frame {
            0 => asset.sha256.clone(),
            n => super::processing::frame_preview_name(&asset.sha256, n as usize),
        };
        let jpeg = self
            .blobs
            .read_preview(&name)
            .await
            .map_err(|e| ServiceError::internal("reading a preview", e))?
            .ok_or_else(|| ServiceError::client(&codes::NOT_FOUND, "this asset has no preview"))?;
        Ok((jpeg, asset.sha256))
    }
}
