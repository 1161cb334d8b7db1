use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, Type};

use super::rows::millis;
use super::{Dialect, SqlRepo};
use crate::repo::{RepoResult, SessionRepo};

#[async_trait]
impl<DB> SessionRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
{
    async fn revoke_session(&self, id: &str, expires_at: DateTime<Utc>) -> RepoResult<()> {
        sqlx::query(
            "INSERT INTO revoked_sessions (id, expires_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(millis(expires_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn is_session_revoked(&self, id: &str) -> RepoResult<bool> {
        let row = sqlx::query("SELECT 1 FROM revoked_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn sweep_revoked_sessions(&self, now: DateTime<Utc>) -> RepoResult<u64> {
        let done = sqlx::query("DELETE FROM revoked_sessions WHERE expires_at <= $1")
            .bind(millis(now))
            .execute(&self.write)
            .await?;
        Ok(DB::rows_affected(&done))
    }
}
