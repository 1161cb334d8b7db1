//! The review port: the queue of held assets (filtered, counted, paged by keyset), decisions
//! recorded with their history entry in one transaction, and the history itself.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{RepoResult, StatusChange};
use crate::domain::{Asset, AssetId, AssetType, FaceBox, HistoryDecision, Status};

/// Where a page of the review queue ends: the held time (Unix ms) and row of its last item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueCursor {
    pub held_at: i64,
    pub seq: i64,
}

/// A read of the review queue.
#[derive(Debug, Clone)]
pub struct ReviewQuery {
    /// Only this tenant's held assets.
    pub tenant: Option<String>,
    pub asset_type: Option<AssetType>,
    /// Only assets held at or before this time (waiting at least so long).
    pub held_before: Option<DateTime<Utc>>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
    /// Continue after this item (in the query's order).
    pub after: Option<QueueCursor>,
    pub limit: u32,
}

/// A held asset and when it (last) entered the queue.
#[derive(Debug, Clone)]
pub struct QueuedAsset {
    pub asset: Asset,
    pub held_at: DateTime<Utc>,
}

/// A page of the queue, with the count and the oldest held time of every match (all pages).
#[derive(Debug, Clone)]
pub struct ReviewPage {
    pub items: Vec<QueuedAsset>,
    pub total: u64,
    pub oldest_held_at: Option<DateTime<Utc>>,
    /// Where the next page starts, when more items follow.
    pub next: Option<QueueCursor>,
}

/// One entry of the review history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub asset_id: AssetId,
    pub tenant: String,
    pub decision: HistoryDecision,
    pub reason: Option<String>,
    pub reviewer_key: String,
    pub reviewer_name: Option<String>,
    pub reviewer_tenant: String,
    /// The face boxes shown when it was decided, and the size of the image they refer to.
    pub faces: Vec<FaceBox>,
    pub image_width: u32,
    pub image_height: u32,
    pub at: DateTime<Utc>,
}

/// A stored history entry with its row number (the keyset of the history's pages).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    pub seq: i64,
    pub entry: HistoryEntry,
}

/// A read of the history, newest first.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// A key id or a key name.
    pub reviewer: Option<String>,
    pub tenant: Option<String>,
    pub decision: Option<HistoryDecision>,
    /// Entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub asset_id: Option<String>,
    /// Entries older than the entry `before` (a row number from a previous page).
    pub before: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub items: Vec<HistoryRecord>,
    pub next_before: Option<i64>,
}

/// The review queue and the decision history.
#[async_trait]
pub trait ReviewRepo: Send + Sync {
    /// Held (`PendingReview`) live assets of every tenant matching the query, in held-time
    /// order (ties by insertion), with the count and oldest held time of every match.
    async fn review_queue(&self, query: &ReviewQuery) -> RepoResult<ReviewPage>;
    /// Compare-and-set as `AssetRepo::change_status`, and, only when the asset moved, the
    /// history entry, in one transaction. `false` (nothing written) when the asset is no
    /// longer in `from`. Moving to `PendingReview` restarts the asset's held time.
    async fn record_review(
        &self,
        id: &AssetId,
        from: Status,
        change: &StatusChange,
        entry: &HistoryEntry,
    ) -> RepoResult<bool>;
    /// History entries matching the query, newest first.
    async fn review_history(&self, query: &HistoryQuery) -> RepoResult<HistoryPage>;
}
