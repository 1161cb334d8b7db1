use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Row, Type};

use super::rows::millis;
use super::{Dialect, SqlRepo};
use crate::repo::{IdempotencyRepo, KeyClaim, KeyRequest, RepoError, RepoResult, StoredAnswer};

const INSERT: &str = "INSERT INTO idempotency_keys \
     (tenant, key, fingerprint, created_at, locked_until, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, key) DO NOTHING";

const TAKE_OVER: &str = "UPDATE idempotency_keys SET fingerprint = $3, status = NULL, \
     content_type = NULL, body = NULL, created_at = $4, locked_until = $5, expires_at = $6 \
     WHERE tenant = $1 AND key = $2 \
     AND (expires_at <= $4 OR (status IS NULL AND locked_until <= $4))";

#[async_trait]
impl<DB> IdempotencyRepo for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Vec<u8>: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn claim_idempotency_key(&self, request: &KeyRequest) -> RepoResult<KeyClaim> {
        let now = millis(request.at);
        let locked_until = now.saturating_add(duration_millis(request.lock));
        let expires_at = now.saturating_add(duration_millis(request.ttl));
        // A row swept between the statements below is claimed on the next round.
        for _ in 0..3 {
            // A free key is inserted; an expired one, or a claim whose node never answered, is
            // taken over. Both statements take the same values.
            for claim in [INSERT, TAKE_OVER] {
                let done = sqlx::query(claim)
                    .bind(request.tenant.as_str())
                    .bind(request.key.as_str())
                    .bind(request.fingerprint.as_str())
                    .bind(now)
                    .bind(locked_until)
                    .bind(expires_at)
                    .execute(&self.write)
                    .await?;
                if DB::rows_affected(&done) == 1 {
                    return Ok(KeyClaim::Claimed);
                }
            }
            let row = sqlx::query(
                "SELECT fingerprint, status, content_type, body FROM idempotency_keys \
                 WHERE tenant = $1 AND key = $2",
            )
            .bind(request.tenant.as_str())
            .bind(request.key.as_str())
            .fetch_optional(&self.write)
            .await?;
            let Some(row) = row else { continue };
            let fingerprint: String = row.try_get(0)?;
            let status: Option<i64> = row.try_get(1)?;
            let Some(status) = status else {
                return Ok(KeyClaim::InProgress { fingerprint });
            };
            let status = u16::try_from(status)
                .map_err(|_| RepoError::Corrupt(format!("answer status {status}")))?;
            let content_type: Option<String> = row.try_get(2)?;
            let body: Option<Vec<u8>> = row.try_get(3)?;
            return Ok(KeyClaim::Answered {
                fingerprint,
                answer: StoredAnswer {
                    status,
                    content_type,
                    body: body.unwrap_or_default(),
                },
            });
        }
        Err(RepoError::Corrupt(
            "an idempotency key kept vanishing while it was claimed".to_owned(),
        ))
    }

    async fn record_idempotent_answer(
        &self,
        tenant: &str,
        key: &str,
        answer: &StoredAnswer,
    ) -> RepoResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 \
             WHERE tenant = $1 AND key = $2 AND status IS NULL",
        )
        .bind(tenant)
        .bind(key)
        .bind(i64::from(answer.status))
        .bind(answer.content_type.clone())
        .bind(answer.body.clone())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn renew_idempotency_claim(
        &self,
        tenant: &str,
        key: &str,
        fingerprint: &str,
        locked_until: DateTime<Utc>,
    ) -> RepoResult<bool> {
        let done = sqlx::query(
            "UPDATE idempotency_keys SET locked_until = $4 \
             WHERE tenant = $1 AND key = $2 AND fingerprint = $3 AND status IS NULL",
        )
        .bind(tenant)
        .bind(key)
        .bind(fingerprint)
        .bind(millis(locked_until))
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn release_idempotency_key(&self, tenant: &str, key: &str) -> RepoResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE tenant = $1 AND key = $2 AND status IS NULL",
        )
        .bind(tenant)
        .bind(key)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn sweep_idempotency_keys(&self, now: DateTime<Utc>) -> RepoResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
            .bind(millis(now))
            .execute(&self.write)
            .await?;
        Ok(DB::rows_affected(&done))
    }
}

fn duration_millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
