use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, QueryBuilder, Row, Type};

use super::jobs::{FAIR_SLICE_MS, INSERT_JOB};
use super::rows::{ASSET_BY_ID, ASSET_BY_ID_AND_TENANT, ASSET_COLUMNS, asset_from_row, millis};
use super::{Dialect, SqlRepo};
use crate::domain::{Asset, AssetId, Status, Usage, check_quota, fold_name};
use crate::repo::AssetOrder;
use crate::repo::{
    AssetFilter, AssetRepo, Filed, Insert, KeysetPage, ListSort, NewAsset, NewJob, OffsetPage,
    QuotaCheck, RepoError, RepoResult, SortCursor, SortKey, SortedPage, StatusChange, TenantScope,
    keyset_split,
};

fn push_filter<DB>(q: &mut QueryBuilder<DB>, tenant: &str, filter: &AssetFilter)
where
    DB: Dialect,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
{
    q.push(if filter.deleted {
        " WHERE deleted_at IS NOT NULL AND tenant = "
    } else {
        " WHERE deleted_at IS NULL AND tenant = "
    });
    q.push_bind(tenant.to_owned());
    push_kind_filter(q, filter);
    if let Some(name) = &filter.name_contains {
        // Both sides folded by Unicode (`fold_name`): the column when the row is written.
        q.push(format_args!(
            " AND {}(coalesce(name_folded, ''), ",
            DB::POSITION_FN
        ));
        q.push_bind(fold_name(name));
        q.push(") > 0");
    }
    if let Some(sha256) = &filter.sha256 {
        q.push(" AND sha256 = ");
        q.push_bind(sha256.clone());
    }
    if let Some(group) = &filter.group_id {
        q.push(" AND group_id = ");
        q.push_bind(group.clone());
    }
    if !filter.group_ids.is_empty() {
        q.push(" AND group_id IN (");
        let mut list = q.separated(", ");
        for group in &filter.group_ids {
            list.push_bind(group.clone());
        }
        q.push(")");
    }
}

/// The compare-and-set of a status change (binds: to, format, facts, moderation, failure code
/// and message, at, id, from). Entering the review queue restarts the held time.
const CHANGE_STATUS: &str = "UPDATE assets SET status = $1, format = coalesce($2, format), \
     facts = coalesce($3, facts), moderation = coalesce($4, moderation), \
     failure_code = $5, failure_message = $6, updated_at = $7, \
     held_at = CASE WHEN $1 = 'PendingReview' THEN $7 ELSE held_at END \
     WHERE id = $8 AND status = $9 AND deleted_at IS NULL";

/// The `ORDER BY` of an offset-paged list.
fn order_by(order: AssetOrder) -> &'static str {
    match (order.key, order.ascending) {
        (SortKey::Inserted, false) => " ORDER BY seq DESC",
        (SortKey::Inserted, true) => " ORDER BY seq ASC",
        (SortKey::CreateTime, false) => " ORDER BY created_at DESC, seq DESC",
        (SortKey::CreateTime, true) => " ORDER BY created_at ASC, seq ASC",
        (SortKey::UpdateTime, false) => " ORDER BY updated_at DESC, seq DESC",
        (SortKey::UpdateTime, true) => " ORDER BY updated_at ASC, seq ASC",
        // NULLs (no group) last either way: SQLite and PostgreSQL place them differently.
        (SortKey::GroupId, false) => {
            " ORDER BY CASE WHEN group_id IS NULL THEN 1 ELSE 0 END, group_id DESC, seq DESC"
        }
        (SortKey::GroupId, true) => {
            " ORDER BY CASE WHEN group_id IS NULL THEN 1 ELSE 0 END, group_id ASC, seq ASC"
        }
    }
}

/// The type and status conditions, shared by the rows and the per-tenant counts.
fn push_kind_filter<DB>(q: &mut QueryBuilder<DB>, filter: &AssetFilter)
where
    DB: Dialect,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
{
    if let Some(t) = filter.asset_type {
        q.push(" AND asset_type = ");
        q.push_bind(t.as_str());
    }
    if !filter.statuses.is_empty() {
        q.push(" AND status IN (");
        let mut list = q.separated(", ");
        for s in &filter.statuses {
            list.push_bind(s.as_str());
        }
        q.push(")");
    }
}

/// A page of at most `limit` rows from a query that fetched `limit + 1`: the extra row only
/// says that more follow.
fn keyset_page<DB>(rows: &[DB::Row], limit: u32) -> RepoResult<KeysetPage>
where
    DB: Dialect,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'r> Decode<'r, DB> + Type<DB>,
{
    let items: Vec<Asset> = rows.iter().map(asset_from_row).collect::<RepoResult<_>>()?;
    let (items, next_before) = keyset_split(items, limit, |a| a.seq);
    Ok(KeysetPage { items, next_before })
}

impl<DB> SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// The asset row and its job in one transaction, consuming the upload's hold if given.
    async fn insert(
        &self,
        asset: &NewAsset,
        job: &NewJob,
        hold: Option<&str>,
        upload: Option<&str>,
        quota: Option<QuotaCheck>,
    ) -> RepoResult<Insert> {
        let now = millis(asset.created_at);
        let mut tx = self.write.begin().await?;
        if quota.is_some() {
            // First, so that the tenant's inserts wait for each other before taking any other
            // lock.
            DB::lock_tenant(&mut tx, &asset.tenant).await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO assets (id, tenant, name, name_folded, asset_type, url, sha256, bytes, \
             format, group_id, facts, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '{}', 'Processing', $11, $12) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(asset.id.as_str())
        .bind(&asset.tenant)
        .bind(&asset.name)
        .bind(asset.name.as_deref().map(fold_name))
        .bind(asset.asset_type.as_str())
        .bind(&asset.url)
        .bind(&asset.sha256)
        .bind(i64::try_from(asset.bytes).map_err(|_| RepoError::Corrupt("size".into()))?)
        .bind(&asset.format)
        .bind(&asset.group_id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&inserted) == 0 {
            tx.rollback().await?;
            return Ok(Insert::IdTaken);
        }
        if let Some(hold) = hold {
            let released = sqlx::query("DELETE FROM blob_holds WHERE id = $1")
                .bind(hold)
                .execute(&mut *tx)
                .await?;
            if DB::rows_affected(&released) == 0 {
                tx.rollback().await?;
                return Ok(Insert::HoldLost);
            }
        }
        if let Some(upload) = upload {
            // Waits for (PostgreSQL) or runs after (SQLite's one writer) any other completion
            // of the upload, and sees what it wrote.
            let finished =
                sqlx::query("UPDATE uploads SET asset_id = $2 WHERE id = $1 AND asset_id IS NULL")
                    .bind(upload)
                    .bind(asset.id.as_str())
                    .execute(&mut *tx)
                    .await?;
            if DB::rows_affected(&finished) == 0 {
                tx.rollback().await?;
                let became: Option<Option<String>> =
                    sqlx::query_scalar("SELECT asset_id FROM uploads WHERE id = $1")
                        .bind(upload)
                        .fetch_optional(&self.write)
                        .await?;
                return Ok(Insert::UploadFinished(became.flatten()));
            }
        }
        if let Some(check) = quota {
            // The use with this asset (and without the reservation of the upload it finished),
            // less this asset: what it was before, as the other inserts of the tenant left it.
            let with = super::quotas::usage_on::<DB>(&mut tx, &asset.tenant, check.since).await?;
            let before = Usage {
                assets: with.assets.saturating_sub(1),
                bytes: with.bytes.saturating_sub(asset.bytes),
                uploads_last_minute: with.uploads_last_minute.saturating_sub(1),
                ..with
            };
            if let Err(over) = check_quota(&asset.tenant, &check.quota, &before, asset.bytes) {
                tx.rollback().await?;
                return Ok(Insert::OverQuota(over));
            }
        }
        sqlx::query(INSERT_JOB)
            .bind(&job.kind)
            .bind(asset.id.as_str())
            .bind(i64::from(job.max_attempts))
            .bind(now)
            .bind(FAIR_SLICE_MS)
            .bind(job.request_id.clone())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE id = $1"
        )))
        .bind(asset.id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let stored = asset_from_row(&row)?;
        DB::announce_job(&mut tx).await?;
        tx.commit().await?;
        Ok(Insert::Inserted(Box::new(stored)))
    }
}

#[async_trait]
impl<DB> AssetRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn insert_asset_with_job(&self, asset: &NewAsset, job: &NewJob) -> RepoResult<Insert> {
        self.insert(asset, job, None, None, None).await
    }

    async fn insert_held_asset_with_job(
        &self,
        asset: &NewAsset,
        job: &NewJob,
        hold: &str,
    ) -> RepoResult<Insert> {
        self.insert(asset, job, Some(hold), None, None).await
    }

    async fn insert_filed_asset(
        &self,
        asset: &NewAsset,
        job: &NewJob,
        filed: &Filed<'_>,
    ) -> RepoResult<Insert> {
        self.insert(asset, job, Some(filed.hold), filed.finishes, filed.quota)
            .await
    }

    async fn get_asset(&self, tenant: &str, id: &AssetId) -> RepoResult<Option<Asset>> {
        if let Some(Ok(asset)) = self.point.as_ref().map(|p| p.asset(Some(tenant), id)) {
            return asset;
        }
        let row = sqlx::query(ASSET_BY_ID_AND_TENANT.as_str())
            .bind(id.as_str())
            .bind(tenant)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(asset_from_row).transpose()
    }

    async fn get_asset_any_tenant(&self, id: &AssetId) -> RepoResult<Option<Asset>> {
        if let Some(Ok(asset)) = self.point.as_ref().map(|p| p.asset(None, id)) {
            return asset;
        }
        let row = sqlx::query(ASSET_BY_ID.as_str())
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(asset_from_row).transpose()
    }

    async fn list_assets_offset(
        &self,
        tenant: &str,
        filter: &AssetFilter,
        offset: u64,
        limit: u32,
    ) -> RepoResult<OffsetPage> {
        // Without a name or content filter the total is a sum over the trigger-kept counts (a
        // few rows); those filters have to look at the rows.
        let mut count = if filter.name_contains.is_none()
            && filter.sha256.is_none()
            && filter.group_id.is_none()
            && filter.group_ids.is_empty()
            && !filter.deleted
        {
            let mut q = QueryBuilder::<DB>::new(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM asset_counts WHERE tenant = ",
            );
            q.push_bind(tenant.to_owned());
            push_kind_filter(&mut q, filter);
            q
        } else {
            let mut q = QueryBuilder::<DB>::new("SELECT COUNT(*) FROM assets");
            push_filter(&mut q, tenant, filter);
            q
        };
        let total: i64 = count.build().fetch_one(&self.read).await?.try_get(0)?;

        let mut q = QueryBuilder::<DB>::new(format!("SELECT {ASSET_COLUMNS} FROM assets"));
        push_filter(&mut q, tenant, filter);
        q.push(order_by(filter.order));
        q.push(" LIMIT ");
        q.push_bind(i64::from(limit));
        q.push(" OFFSET ");
        q.push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
        let rows = q.build().fetch_all(&self.read).await?;
        Ok(OffsetPage {
            items: rows.iter().map(asset_from_row).collect::<RepoResult<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn list_assets_keyset(
        &self,
        tenant: &str,
        filter: &AssetFilter,
        before: Option<i64>,
        limit: u32,
    ) -> RepoResult<KeysetPage> {
        let mut q = QueryBuilder::<DB>::new(format!("SELECT {ASSET_COLUMNS} FROM assets"));
        push_filter(&mut q, tenant, filter);
        if let Some(before) = before {
            q.push(" AND seq < ");
            q.push_bind(before);
        }
        q.push(" ORDER BY seq DESC LIMIT ");
        q.push_bind(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.read).await?;
        keyset_page::<DB>(&rows, limit)
    }

    async fn list_assets_sorted(
        &self,
        tenant: &str,
        filter: &AssetFilter,
        sort: ListSort,
        after: Option<&SortCursor>,
        limit: u32,
    ) -> RepoResult<SortedPage> {
        let name = format!("coalesce(name_folded, ''){}", DB::BYTE_ORDER);
        let mut q = QueryBuilder::<DB>::new(format!("SELECT {ASSET_COLUMNS} FROM assets"));
        push_filter(&mut q, tenant, filter);
        match after.filter(|c| c.sort() == sort) {
            None => {}
            Some(SortCursor::Newest { seq }) => {
                q.push(" AND seq < ");
                q.push_bind(*seq);
            }
            Some(SortCursor::Oldest { seq }) => {
                q.push(" AND seq > ");
                q.push_bind(*seq);
            }
            Some(SortCursor::Name { name: after, seq }) => {
                q.push(format_args!(" AND ({name} > "));
                q.push_bind(after.clone());
                q.push(format_args!(" OR ({name} = "));
                q.push_bind(after.clone());
                q.push(" AND seq > ");
                q.push_bind(*seq);
                q.push("))");
            }
            Some(SortCursor::Size { bytes, seq }) => {
                q.push(" AND (bytes < ");
                q.push_bind(*bytes);
                q.push(" OR (bytes = ");
                q.push_bind(*bytes);
                q.push(" AND seq < ");
                q.push_bind(*seq);
                q.push("))");
            }
        }
        match sort {
            ListSort::Newest => q.push(" ORDER BY seq DESC"),
            ListSort::Oldest => q.push(" ORDER BY seq ASC"),
            ListSort::Name => q.push(format_args!(" ORDER BY {name} ASC, seq ASC")),
            ListSort::Size => q.push(" ORDER BY bytes DESC, seq DESC"),
        };
        q.push(" LIMIT ");
        q.push_bind(i64::from(limit) + 1);
        let rows = q.build().fetch_all(&self.read).await?;
        let items: Vec<Asset> = rows.iter().map(asset_from_row).collect::<RepoResult<_>>()?;
        let more = items.len() > limit as usize;
        let mut items = items;
        items.truncate(limit as usize);
        let next = if more {
            items.last().map(|a| SortCursor::after(sort, a))
        } else {
            None
        };
        Ok(SortedPage { items, next })
    }

    async fn change_status(
        &self,
        id: &AssetId,
        from: Status,
        change: &StatusChange,
    ) -> RepoResult<bool> {
        change_status_on::<DB, _>(&self.write, id, from, change).await
    }

    async fn review_backlog(&self) -> RepoResult<(u64, Option<DateTime<Utc>>)> {
        let row = sqlx::query(
            "SELECT COUNT(*), MIN(held_at) FROM assets \
             WHERE status = 'PendingReview' AND deleted_at IS NULL",
        )
        .fetch_one(&self.read)
        .await?;
        let count: i64 = row.try_get(0)?;
        let oldest: Option<i64> = row.try_get(1)?;
        Ok((
            u64::try_from(count).unwrap_or(0),
            oldest.map(super::rows::from_millis).transpose()?,
        ))
    }

    async fn rename_asset(
        &self,
        tenant: &str,
        id: &AssetId,
        name: Option<&str>,
        at: DateTime<Utc>,
    ) -> RepoResult<bool> {
        let done = sqlx::query(
            "UPDATE assets SET name = $1, name_folded = $2, updated_at = $3 \
             WHERE id = $4 AND tenant = $5 AND deleted_at IS NULL",
        )
        .bind(name.map(str::to_owned))
        .bind(name.map(fold_name))
        .bind(millis(at))
        .bind(id.as_str())
        .bind(tenant)
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn set_asset_group(
        &self,
        tenant: &str,
        id: &AssetId,
        group_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> RepoResult<bool> {
        let done = sqlx::query(
            "UPDATE assets SET group_id = $1, updated_at = $2 \
             WHERE id = $3 AND tenant = $4 AND deleted_at IS NULL",
        )
        .bind(group_id.map(str::to_owned))
        .bind(millis(at))
        .bind(id.as_str())
        .bind(tenant)
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn restore_asset(
        &self,
        tenant: &str,
        id: &AssetId,
        deleted_since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> RepoResult<bool> {
        let done = sqlx::query(
            "UPDATE assets SET deleted_at = NULL, updated_at = $1, last_used_at = $1, \
             group_id = (SELECT g.id FROM asset_groups g WHERE g.id = assets.group_id) \
             WHERE id = $2 AND tenant = $3 AND deleted_at IS NOT NULL AND deleted_at >= $4",
        )
        .bind(millis(at))
        .bind(id.as_str())
        .bind(tenant)
        .bind(millis(deleted_since))
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn purge_deleted(&self, deleted_before: DateTime<Utc>, limit: u32) -> RepoResult<u64> {
        let done = sqlx::query(
            "DELETE FROM assets WHERE id IN (SELECT id FROM assets \
             WHERE deleted_at IS NOT NULL AND deleted_at < $1 ORDER BY deleted_at LIMIT $2)",
        )
        .bind(millis(deleted_before))
        .bind(i64::from(limit))
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done))
    }

    async fn mark_assets_used(
        &self,
        tenant: &str,
        ids: &[AssetId],
        at: DateTime<Utc>,
    ) -> RepoResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut q = QueryBuilder::<DB>::new("UPDATE assets SET last_used_at = ");
        q.push_bind(millis(at));
        q.push(" WHERE deleted_at IS NULL AND tenant = ");
        q.push_bind(tenant.to_owned());
        q.push(" AND id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id.as_str().to_owned());
        }
        q.push(")");
        q.build().execute(&self.write).await?;
        Ok(())
    }

    async fn expired_assets(
        &self,
        scope: &TenantScope,
        unused_before: Option<DateTime<Utc>>,
        created_before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> RepoResult<Vec<(String, AssetId)>> {
        if unused_before.is_none() && created_before.is_none() {
            return Ok(Vec::new());
        }
        let mut q =
            QueryBuilder::<DB>::new("SELECT tenant, id FROM assets WHERE deleted_at IS NULL");
        match scope {
            TenantScope::One(tenant) => {
                q.push(" AND tenant = ");
                q.push_bind(tenant.clone());
            }
            TenantScope::AllBut(others) if !others.is_empty() => {
                q.push(" AND tenant NOT IN (");
                let mut list = q.separated(", ");
                for t in others {
                    list.push_bind(t.clone());
                }
                q.push(")");
            }
            TenantScope::AllBut(_) => {}
        }
        q.push(" AND (");
        let mut any = q.separated(" OR ");
        if let Some(at) = unused_before {
            any.push("coalesce(last_used_at, created_at) < ");
            any.push_bind_unseparated(millis(at));
        }
        if let Some(at) = created_before {
            any.push("created_at < ");
            any.push_bind_unseparated(millis(at));
        }
        // An asset an unfinished generation task still reads is kept, as a delete would be
        // refused (`asset-in-use`).
        q.push(
            ") AND NOT EXISTS (SELECT 1 FROM task_assets ta JOIN tasks t ON t.id = ta.task_id \
             WHERE ta.asset_id = assets.id AND t.finished = 0) ORDER BY seq LIMIT ",
        );
        q.push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(1)?;
                let id = AssetId::parse(&id)
                    .ok_or_else(|| RepoError::Corrupt(format!("asset id {id}")))?;
                Ok((row.try_get(0)?, id))
            })
            .collect()
    }

    async fn delete_asset(
        &self,
        tenant: &str,
        id: &AssetId,
        at: DateTime<Utc>,
    ) -> RepoResult<bool> {
        let done = sqlx::query(
            "UPDATE assets SET deleted_at = $1, updated_at = $2 \
             WHERE id = $3 AND tenant = $4 AND deleted_at IS NULL",
        )
        .bind(millis(at))
        .bind(millis(at))
        .bind(id.as_str())
        .bind(tenant)
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }
}

/// Runs the compare-and-set `CHANGE_STATUS` of `id` from `from` on `executor` (the pool, or a
/// transaction that writes more with it); whether the asset was still in `from`.
pub(super) async fn change_status_on<'c, DB, E>(
    executor: E,
    id: &AssetId,
    from: Status,
    change: &StatusChange,
) -> RepoResult<bool>
where
    DB: Dialect,
    E: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
{
    let (facts, moderation) = change_json(change)?;
    let done = sqlx::query(CHANGE_STATUS)
        .bind(change.to.as_str())
        .bind(&change.format)
        .bind(facts)
        .bind(moderation)
        .bind(change.failure.as_ref().map(|f| f.code.clone()))
        .bind(change.failure.as_ref().map(|f| f.message.clone()))
        .bind(millis(change.at))
        .bind(id.as_str())
        .bind(from.as_str())
        .execute(executor)
        .await?;
    Ok(DB::rows_affected(&done) == 1)
}

/// A status change's facts and moderation record as the JSON text `CHANGE_STATUS` binds.
fn change_json(change: &StatusChange) -> RepoResult<(Option<String>, Option<String>)> {
    let facts = change
        .facts
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| RepoError::Corrupt(format!("facts: {e}")))?;
    let moderation = change
        .moderation
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| RepoError::Corrupt(format!("moderation: {e}")))?;
    Ok((facts, moderation))
}
