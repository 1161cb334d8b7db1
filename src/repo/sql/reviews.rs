//! The review queue (filtered, counted, keyset-paged in held-time order), decisions written
//! with their history entry in one transaction, and the history.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, QueryBuilder, Row, Type};

use super::assets::change_status_on;
use super::rows::{ASSET_COLUMNS, asset_from_row, from_millis, millis};
use super::{Dialect, SqlRepo};
use crate::domain::{AssetId, FaceBox, HistoryDecision, Status};
use crate::repo::{
    HistoryEntry, HistoryPage, HistoryQuery, HistoryRecord, QueueCursor, QueuedAsset, RepoError,
    RepoResult, ReviewPage, ReviewQuery, ReviewRepo, StatusChange, keyset_split,
};

const HISTORY_COLUMNS: &str = "seq, asset_id, tenant, decision, reason, reviewer_key, \
     reviewer_name, reviewer_tenant, faces, image_width, image_height, decided_at";

/// The conditions every read of the queue shares (the rows, the count).
fn push_queue_filter<DB>(q: &mut QueryBuilder<DB>, query: &ReviewQuery)
where
    DB: Dialect,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
{
    q.push(" WHERE status = 'PendingReview' AND deleted_at IS NULL");
    if let Some(tenant) = &query.tenant {
        q.push(" AND tenant = ");
        q.push_bind(tenant.clone());
    }
    if let Some(t) = query.asset_type {
        q.push(" AND asset_type = ");
        q.push_bind(t.as_str());
    }
    if let Some(at) = query.held_before {
        q.push(" AND held_at <= ");
        q.push_bind(millis(at));
    }
}

fn history_from_row<'r, R>(row: &'r R) -> RepoResult<HistoryRecord>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = row.try_get("asset_id")?;
    let decision: String = row.try_get("decision")?;
    let faces: String = row.try_get("faces")?;
    let side = |name: &'r str| -> RepoResult<u32> {
        let n: i64 = row.try_get(name)?;
        u32::try_from(n).map_err(|_| RepoError::Corrupt(format!("{name} {n}")))
    };
    Ok(HistoryRecord {
        seq: row.try_get("seq")?,
        entry: HistoryEntry {
            asset_id: AssetId::parse(&id)
                .ok_or_else(|| RepoError::Corrupt(format!("asset id {id}")))?,
            tenant: row.try_get("tenant")?,
            decision: HistoryDecision::parse(&decision)
                .ok_or_else(|| RepoError::Corrupt(format!("decision {decision}")))?,
            reason: row.try_get("reason")?,
            reviewer_key: row.try_get("reviewer_key")?,
            reviewer_name: row.try_get("reviewer_name")?,
            reviewer_tenant: row.try_get("reviewer_tenant")?,
            faces: serde_json::from_str::<Vec<FaceBox>>(&faces)
                .map_err(|e| RepoError::Corrupt(format!("faces of a decision on {id}: {e}")))?,
            image_width: side("image_width")?,
            image_height: side("image_height")?,
            at: from_millis(row.try_get("decided_at")?)?,
        },
    })
}

#[async_trait]
impl<DB> ReviewRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn review_queue(&self, query: &ReviewQuery) -> RepoResult<ReviewPage> {
        let mut count = QueryBuilder::<DB>::new(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n, MIN(held_at) AS oldest FROM assets",
        );
        push_queue_filter(&mut count, query);
        let row = count.build().fetch_one(&self.read).await?;
        let total: i64 = row.try_get("n")?;
        let oldest: Option<i64> = row.try_get("oldest")?;

        let mut q = QueryBuilder::<DB>::new(format!(
            "SELECT {ASSET_COLUMNS}, held_at AS queued_at FROM assets"
        ));
        push_queue_filter(&mut q, query);
        let (cmp, dir) = if query.newest_first {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(after) = query.after {
            q.push(format_args!(" AND (held_at {cmp} "));
            q.push_bind(after.held_at);
            q.push(" OR (held_at = ");
            q.push_bind(after.held_at);
            q.push(format_args!(" AND seq {cmp} "));
            q.push_bind(after.seq);
            q.push("))");
        }
        q.push(format_args!(" ORDER BY held_at {dir}, seq {dir} LIMIT "));
        q.push_bind(i64::from(query.limit) + 1);
        let rows = q.build().fetch_all(&self.read).await?;
        let items = rows
            .iter()
            .map(|row| {
                let held: i64 = row.try_get("queued_at")?;
                Ok(QueuedAsset {
                    asset: asset_from_row(row)?,
                    held_at: from_millis(held)?,
                })
            })
            .collect::<RepoResult<Vec<_>>>()?;
        let more = items.len() > query.limit as usize;
        let mut items = items;
        items.truncate(query.limit as usize);
        let next = if more {
            items.last().map(|i| QueueCursor {
                held_at: millis(i.held_at),
                seq: i.asset.seq,
            })
        } else {
            None
        };
        Ok(ReviewPage {
            items,
            total: u64::try_from(total).unwrap_or(0),
            oldest_held_at: oldest.map(from_millis).transpose()?,
            next,
        })
    }

    async fn record_review(
        &self,
        id: &AssetId,
        from: Status,
        change: &StatusChange,
        entry: &HistoryEntry,
    ) -> RepoResult<bool> {
        let faces = serde_json::to_string(&entry.faces)
            .map_err(|e| RepoError::Corrupt(format!("faces: {e}")))?;
        let mut tx = self.write.begin().await?;
        if !change_status_on::<DB, _>(&mut *tx, id, from, change).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO review_history (asset_id, tenant, decision, reason, reviewer_key, \
             reviewer_name, reviewer_tenant, faces, image_width, image_height, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(entry.asset_id.as_str())
        .bind(&entry.tenant)
        .bind(entry.decision.as_str())
        .bind(entry.reason.clone())
        .bind(&entry.reviewer_key)
        .bind(entry.reviewer_name.clone())
        .bind(&entry.reviewer_tenant)
        .bind(faces)
        .bind(i64::from(entry.image_width))
        .bind(i64::from(entry.image_height))
        .bind(millis(entry.at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn review_history(&self, query: &HistoryQuery) -> RepoResult<HistoryPage> {
        let mut q = QueryBuilder::<DB>::new(format!(
            "SELECT {HISTORY_COLUMNS} FROM review_history WHERE 1 = 1"
        ));
        if let Some(reviewer) = &query.reviewer {
            q.push(" AND (reviewer_key = ");
            q.push_bind(reviewer.clone());
            q.push(" OR reviewer_name = ");
            q.push_bind(reviewer.clone());
            q.push(")");
        }
        if let Some(tenant) = &query.tenant {
            q.push(" AND tenant = ");
            q.push_bind(tenant.clone());
        }
        if let Some(decision) = query.decision {
            q.push(" AND decision = ");
            q.push_bind(decision.as_str());
        }
        if let Some(since) = query.since {
            q.push(" AND decided_at >= ");
            q.push_bind(millis(since));
        }
        if let Some(asset) = &query.asset_id {
            q.push(" AND asset_id = ");
            q.push_bind(asset.clone());
        }
        if let Some(before) = query.before {
            q.push(" AND seq < ");
            q.push_bind(before);
        }
        q.push(" ORDER BY seq DESC LIMIT ");
        q.push_bind(i64::from(query.limit) + 1);
        let rows = q.build().fetch_all(&self.read).await?;
        let items = rows
            .iter()
            .map(history_from_row)
            .collect::<RepoResult<Vec<_>>>()?;
        let (items, next_before) = keyset_split(items, query.limit, |r| r.seq);
        Ok(HistoryPage { items, next_before })
    }
}
