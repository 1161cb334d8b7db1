use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Row, Type};

use super::rows::millis;
use super::{Dialect, SqlRepo};
use crate::domain::{Quota, Usage};
use crate::repo::{QuotaRepo, RepoResult};

fn limit(v: Option<i64>) -> Option<u64> {
    v.and_then(|n| u64::try_from(n).ok())
}

fn stored(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

#[async_trait]
impl<DB> QuotaRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<i64>: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn get_quota(&self, tenant: &str) -> RepoResult<Option<Quota>> {
        let row = sqlx::query(
            "SELECT max_assets, max_bytes, uploads_per_minute FROM tenant_quotas \
             WHERE tenant = $1",
        )
        .bind(tenant)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| {
            Ok(Quota {
                max_assets: limit(row.try_get(0)?),
                max_bytes: limit(row.try_get(1)?),
                uploads_per_minute: limit(row.try_get(2)?)
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            })
        })
        .transpose()
    }

    async fn put_quota(&self, tenant: &str, quota: &Quota, at: DateTime<Utc>) -> RepoResult<()> {
        sqlx::query(
            "INSERT INTO tenant_quotas \
             (tenant, max_assets, max_bytes, uploads_per_minute, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant) DO UPDATE SET max_assets = $2, max_bytes = $3, \
             uploads_per_minute = $4, updated_at = $5",
        )
        .bind(tenant)
        .bind(stored(quota.max_assets))
        .bind(stored(quota.max_bytes))
        .bind(quota.uploads_per_minute.map(i64::from))
        .bind(millis(at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn delete_quota(&self, tenant: &str) -> RepoResult<bool> {
        let done = sqlx::query("DELETE FROM tenant_quotas WHERE tenant = $1")
            .bind(tenant)
            .execute(&self.write)
            .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn tenant_usage(&self, tenant: &str, since: DateTime<Utc>) -> RepoResult<Usage> {
        let mut conn = self.read.acquire().await?;
        usage_on::<DB>(&mut conn, tenant, since).await
    }
}

/// What `tenant` uses, read on `conn` (in a transaction, what it wrote counts too). The count
/// is a sum over the trigger-kept counts; the bytes, the recent uploads and the open uploads
/// read the tenant's rows through their indexes.
pub(super) async fn usage_on<DB>(
    conn: &mut DB::Connection,
    tenant: &str,
    since: DateTime<Utc>,
) -> RepoResult<Usage>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let row = sqlx::query(
        "SELECT \
         (SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM asset_counts WHERE tenant = $1), \
         (SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM assets \
          WHERE tenant = $1 AND deleted_at IS NULL), \
         (SELECT COUNT(*) FROM assets WHERE tenant = $1 AND created_at >= $2), \
         (SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM uploads \
          WHERE tenant = $1 AND asset_id IS NULL), \
         (SELECT COUNT(*) FROM uploads WHERE tenant = $1 AND asset_id IS NULL)",
    )
    .bind(tenant)
    .bind(millis(since))
    .fetch_one(&mut *conn)
    .await?;
    let count = |i: usize| -> RepoResult<u64> {
        let n: i64 = row.try_get(i)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(Usage {
        assets: count(0)?,
        bytes: count(1)?,
        uploads_last_minute: count(2)?,
        reserved_bytes: count(3)?,
        open_uploads: count(4)?,
    })
}
