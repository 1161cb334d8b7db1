use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use super::rows::{ASSET_REF_COLUMNS, asset_ref_from_row};
use super::{Dialect, SqlRepo};
use crate::repo::{AssetRef, MaintenanceRepo, RepoResult};

#[async_trait]
impl<DB> MaintenanceRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn scan_assets(&self, after: i64, limit: u32) -> RepoResult<Vec<AssetRef>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSET_REF_COLUMNS} FROM assets WHERE deleted_at IS NULL AND seq > $1 \
             ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(asset_ref_from_row).collect()
    }

    async fn processing_without_job(&self) -> RepoResult<Vec<AssetRef>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSET_REF_COLUMNS} FROM assets a WHERE a.deleted_at IS NULL \
             AND a.status = 'Processing' \
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.asset_id = a.id) ORDER BY a.seq"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(asset_ref_from_row).collect()
    }
}
