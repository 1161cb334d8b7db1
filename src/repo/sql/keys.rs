use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Row, Type};

use super::rows::{key_from_row, millis};
use super::{Dialect, SqlRepo};
use crate::repo::{ApiKeyRecord, KeyRepo, NewApiKey, RepoResult};

#[async_trait]
impl<DB> KeyRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn insert_key(&self, key: &NewApiKey) -> RepoResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, key_hash, tenant, role, created_at, name) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(&key.key_hash)
        .bind(&key.tenant)
        .bind(key.role.as_str())
        .bind(millis(key.created_at))
        .bind(key.name.clone())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn find_active_key(&self, key_hash: &str) -> RepoResult<Option<ApiKeyRecord>> {
        let row = sqlx::query(
            "SELECT id, tenant, role, name, created_at, revoked_at FROM api_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn list_keys(&self) -> RepoResult<Vec<ApiKeyRecord>> {
        let rows = sqlx::query(
            "SELECT id, tenant, role, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> RepoResult<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(millis(at))
                .bind(id)
                .execute(&self.write)
                .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn insert_access_key(&self, key: &NewApiKey, secret: &str) -> RepoResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, key_hash, tenant, role, created_at, access_secret, name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.id)
        .bind(&key.key_hash)
        .bind(&key.tenant)
        .bind(key.role.as_str())
        .bind(millis(key.created_at))
        .bind(secret)
        .bind(key.name.clone())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn find_access_key(&self, id: &str) -> RepoResult<Option<(ApiKeyRecord, String)>> {
        let row = sqlx::query(
            "SELECT id, tenant, role, name, created_at, revoked_at, access_secret FROM api_keys \
             WHERE id = $1 AND revoked_at IS NULL AND access_secret IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref()
            .map(|row| {
                Ok((
                    key_from_row(row)?,
                    row.try_get::<String, _>("access_secret")?,
                ))
            })
            .transpose()
    }

    async fn count_active_admin_keys(&self) -> RepoResult<u64> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL",
        )
        .fetch_one(&self.read)
        .await?
        .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
