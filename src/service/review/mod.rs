//! Review of held assets: the queue, decisions (one or many), reopening a decision, the
//! history, and what reviewers may see (previews, the original of an asset in review).

mod decide;
mod history;

pub use decide::{BulkDecision, BulkOutcome, BulkResult, MAX_BULK_DECISIONS, REOPEN_WINDOW};

use std::sync::Arc;

use bytes::Bytes;

use super::ServiceError;
use crate::blob::BlobStore;
use crate::domain::codes;
use crate::domain::{Asset, AssetId, Caller, Role, Status};
use crate::repo::{AssetRepo, ReviewPage, ReviewQuery, ReviewRepo};

/// The review queue and its decisions, for reviewer and admin keys.
#[derive(Clone)]
pub struct ReviewService {
    assets: Arc<dyn AssetRepo>,
    /// The queue, decisions with their history entries, the history.
    reviews: Arc<dyn ReviewRepo>,
    /// Where the previews made by the face check are kept.
    blobs: Arc<dyn BlobStore>,
}

const MAX_REASON_CHARS: usize = 500;

pub(crate) fn require_reviewer(caller: &Caller) -> Result<(), ServiceError> {
    match caller.role {
        Role::Reviewer | Role::Admin => Ok(()),
        Role::Tenant => Err(ServiceError::client(
            &codes::FORBIDDEN,
            "reviewing needs a key with the reviewer or admin role",
        )),
    }
}

/// Whether the asset is or was in review: held now, or decided (or reopened) by a reviewer.
pub fn in_review(asset: &Asset) -> bool {
    asset.status == Status::PendingReview
        || asset
            .moderation
            .as_ref()
            .is_some_and(|m| m.decision.is_some() || m.reopened.is_some())
}

/// A reason as a decision records it: trimmed, at most 500 characters, `None` when empty.
fn clean_reason(reason: Option<&str>) -> Result<Option<String>, ServiceError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = reason
        && r.chars().count() > MAX_REASON_CHARS
    {
        return Err(ServiceError::invalid(format!(
            "the reason is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    Ok(reason.map(str::to_owned))
}

/// The reason a rejection must give.
fn rejection_reason(reason: Option<&str>) -> Result<String, ServiceError> {
    clean_reason(reason)?.ok_or_else(|| {
        ServiceError::client(
            &codes::REASON_REQUIRED,
            "a rejection needs a reason: send {\"reason\": \"…\"}; the asset's owner sees it",
        )
    })
}

impl ReviewService {
    pub fn new(
        assets: Arc<dyn AssetRepo>,
        reviews: Arc<dyn ReviewRepo>,
        blobs: Arc<dyn BlobStore>,
    ) -> Self {
        Self {
            assets,
            reviews,
            blobs,
        }
    }

    /// Held assets of every tenant matching the query, with the count and the oldest held
    /// time of every match.
    pub async fn queue(
        &self,
        caller: &Caller,
        query: &ReviewQuery,
    ) -> Result<ReviewPage, ServiceError> {
        require_reviewer(caller)?;
        self.reviews
            .review_queue(query)
            .await
            .map_err(|e| ServiceError::internal("listing the review queue", e))
    }

    async fn any_tenant(&self, id: &AssetId) -> Result<Option<Asset>, ServiceError> {
        self.assets
            .get_asset_any_tenant(id)
            .await
            .map_err(|e| ServiceError::internal("reading an asset", e))
    }

    /// The original of an asset that is or was in review, for a reviewer or admin key (the
    /// evidence a decision rests on); `not-found` for every other asset of another tenant.
    pub async fn evidence(&self, caller: &Caller, raw_id: &str) -> Result<Asset, ServiceError> {
        if caller.role == Role::Tenant {
            return Err(ServiceError::not_found());
        }
        let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
        self.any_tenant(&id)
            .await?
            .filter(in_review)
            .ok_or_else(ServiceError::not_found)
    }

    /// A held video's checked frame `n` (0 the first) at the video's own size, as a JPEG, with
    /// the content's sha256: for its owner, and for reviewer and admin keys on the evidence's
    /// terms (any asset that is or was in review); `not-found` otherwise.
    pub async fn full_frame(
        &self,
        caller: &Caller,
        raw_id: &str,
        n: u32,
    ) -> Result<(Bytes, String), ServiceError> {
        let asset = match caller.role {
            Role::Reviewer | Role::Admin => self.evidence(caller, raw_id).await?,
            Role::Tenant => {
                let id = AssetId::parse(raw_id).ok_or_else(ServiceError::not_found)?;
                self.assets
                    .get_asset(&caller.tenant, &id)
                    .await
                    .map_err(|e| ServiceError::internal("reading an asset", e))?
                    .ok_or_else(ServiceError::not_found)?
            }
        };
        let name = super::processing::full_frame_name(&asset.sha256, n as usize);
        let jpeg = self
            .blobs
            .read_preview(&name)
            .await
            .map_err(|e| ServiceError::internal("reading a frame", e))?
            .ok_or_else(|| {
                ServiceError::client(&codes::NOT_FOUND, "this asset has no such checked frame")
            })?;
        Ok((jpeg, asset.sha256))
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
