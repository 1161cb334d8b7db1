use async_trait::async_trait;
use chrono::Utc;
use sqlx::{ColumnIndex, Decode, Encode, Executor, Row, Type};

use super::rows::millis;
use super::{Dialect, SqlRepo};
use crate::repo::{RepoResult, TaskRepo};

#[async_trait]
impl<DB> TaskRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn record_task(
        &self,
        id: &str,
        tenant: &str,
        status: &str,
        finished: bool,
        asset_ids: &[String],
    ) -> RepoResult<bool> {
        let now = millis(Utc::now());
        let mut tx = self.write.begin().await?;
        // Another tenant's task of the same id is left alone (no row changes).
        let done = sqlx::query(
            "INSERT INTO tasks (id, tenant, status, finished, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, finished = excluded.finished, \
             updated_at = excluded.updated_at WHERE tasks.tenant = excluded.tenant",
        )
        .bind(id)
        .bind(tenant)
        .bind(status)
        .bind(i64::from(finished))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 0 {
            return Ok(false);
        }
        for asset in asset_ids {
            sqlx::query(
                "INSERT INTO task_assets (task_id, asset_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(asset)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn has_task(&self, tenant: &str, id: &str) -> RepoResult<bool> {
        let row = sqlx::query("SELECT 1 FROM tasks WHERE id = $1 AND tenant = $2")
            .bind(id)
            .bind(tenant)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn update_task(
        &self,
        tenant: &str,
        id: &str,
        status: &str,
        finished: bool,
    ) -> RepoResult<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET status = $1, finished = $2, updated_at = $3 \
             WHERE id = $4 AND tenant = $5",
        )
        .bind(status)
        .bind(i64::from(finished))
        .bind(millis(Utc::now()))
        .bind(id)
        .bind(tenant)
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn unfinished_task_using(&self, asset_id: &str) -> RepoResult<Option<String>> {
        let row = sqlx::query(
            "SELECT t.id FROM tasks t JOIN task_assets a ON a.task_id = t.id \
             WHERE a.asset_id = $1 AND t.finished = 0 ORDER BY t.created_at LIMIT 1",
        )
        .bind(asset_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| r.try_get::<String, _>(0))
            .transpose()
            .map_err(Into::into)
    }
}
