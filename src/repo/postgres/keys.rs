use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::PgRepo;
use crate::repo::rows::{key_from_row, millis};
use crate::repo::{ApiKeyRecord, KeyRepo, NewApiKey, RepoResult};

#[async_trait]
impl KeyRepo for PgRepo {
    async fn insert_key(&self, key: &NewApiKey) -> RepoResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, key_hash, tenant, role, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.id)
        .bind(&key.key_hash)
        .bind(&key.tenant)
        .bind(key.role.as_str())
        .bind(millis(key.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_active_key(&self, key_hash: &str) -> RepoResult<Option<ApiKeyRecord>> {
        let row = sqlx::query(
            "SELECT id, tenant, role, created_at, revoked_at FROM api_keys \
             WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn list_keys(&self) -> RepoResult<Vec<ApiKeyRecord>> {
        let rows = sqlx::query(
            "SELECT id, tenant, role, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn revoke_key(&self, id: &str, at: DateTime<Utc>) -> RepoResult<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(millis(at))
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_active_admin_keys(&self) -> RepoResult<u64> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
