use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Type};

use super::rows::millis;
use super::{Dialect, SqlRepo};
use crate::repo::{BlobHoldRepo, HoldKind, RepoResult};

#[async_trait]
impl<DB> BlobHoldRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn hold_blob(
        &self,
        sha256: &str,
        kind: HoldKind,
        at: DateTime<Utc>,
    ) -> RepoResult<String> {
        let id = format!("{:032x}", rand::random::<u128>());
        sqlx::query(
            "INSERT INTO blob_holds (id, sha256, kind, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.as_str())
        .bind(sha256)
        .bind(kind.as_str())
        .bind(millis(at))
        .execute(&self.write)
        .await?;
        Ok(id)
    }

    async fn release_hold(&self, id: &str) -> RepoResult<bool> {
        let done = sqlx::query("DELETE FROM blob_holds WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn blob_held(
        &self,
        sha256: &str,
        kind: HoldKind,
        since: DateTime<Utc>,
    ) -> RepoResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM blob_holds WHERE sha256 = $1 AND kind = $2 AND created_at >= $3 LIMIT 1",
        )
        .bind(sha256)
        .bind(kind.as_str())
        .bind(millis(since))
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    async fn blob_in_use(&self, sha256: &str) -> RepoResult<bool> {
        // One statement, so one snapshot: the insert that swaps an upload's hold for its row
        // is seen wholly before or wholly after.
        let row = sqlx::query(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM assets WHERE sha256 = $1) \
             OR EXISTS (SELECT 1 FROM blob_holds WHERE sha256 = $2 AND kind = 'upload')",
        )
        .bind(sha256)
        .bind(sha256)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    async fn reap_holds(&self, kind: HoldKind, before: DateTime<Utc>) -> RepoResult<u64> {
        let done = sqlx::query("DELETE FROM blob_holds WHERE kind = $1 AND created_at < $2")
            .bind(kind.as_str())
            .bind(millis(before))
            .execute(&self.write)
            .await?;
        Ok(DB::rows_affected(&done))
    }
}
