use async_trait::async_trait;

use super::SqliteRepo;
use crate::repo::rows::{ASSET_REF_COLUMNS, asset_ref_from_row};
use crate::repo::{AssetRef, MaintenanceRepo, RepoResult};

#[async_trait]
impl MaintenanceRepo for SqliteRepo {
    async fn scan_assets(&self, after: i64, limit: u32) -> RepoResult<Vec<AssetRef>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSET_REF_COLUMNS} FROM assets WHERE deleted_at IS NULL AND seq > ? \
             ORDER BY seq LIMIT ?"
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
