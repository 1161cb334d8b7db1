use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, Row, Type};

use super::rows::millis;
use super::{Dialect, SqlRepo};
use crate::repo::{Job, JobQueue, NewJob, RepoResult};

/// How far behind its own last queued job a tenant's next job is placed in the fair order.
/// Claims take jobs by `fair_at`, so a tenant that queues a burst of N jobs spreads them over
/// N slices from now, while another tenant's job queued meanwhile takes its place at *its*
/// now: it waits for the burst's jobs placed before it (one per slice elapsed), not for the
/// whole burst. A single tenant alone is not slowed: a due job is claimed whatever its place.
pub(super) const FAIR_SLICE_MS: i64 = 1000;

/// Enqueues a job (`$1` kind, `$2` asset id, `$3` max attempts, `$4` now, `$5` the slice, `$6`
/// the request id) for
/// the asset's tenant, due now, placed one slice after the tenant's last queued job or now.
pub(super) const INSERT_JOB: &str = "INSERT INTO jobs \
     (kind, asset_id, tenant, state, attempts, max_attempts, run_at, fair_at, created_at, \
      request_id) \
     SELECT $1, $2, a.tenant, 'queued', 0, $3, $4, \
     COALESCE((SELECT MAX(j.fair_at) + $5 FROM jobs j \
               WHERE j.tenant = a.tenant AND j.fair_at + $5 > $4), $4), $4, $6 \
     FROM assets a WHERE a.id = $2";

fn lease_end(lease: Duration) -> i64 {
    millis(Utc::now()) + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

#[async_trait]
impl<DB> JobQueue for SqlRepo<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB> + ColumnIndex<DB::Row>,
    String: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB>,
    i64: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<i64>: for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn claim_job(&self, worker: &str, lease: Duration) -> RepoResult<Option<Job>> {
        let now = millis(Utc::now());
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs \
                         WHERE (state = 'queued' AND run_at <= $3) \
                            OR (state = 'running' AND lease_until < $4) \
                         ORDER BY fair_at, id LIMIT 1{}) \
             RETURNING id, kind, asset_id, attempts, max_attempts, last_error, request_id",
            DB::CLAIM_SUFFIX
        )))
        .bind(worker)
        .bind(lease_end(lease))
        .bind(now)
        .bind(now)
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let attempts: i64 = row.try_get("attempts")?;
        let max_attempts: i64 = row.try_get("max_attempts")?;
        Ok(Some(Job {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            asset_id: row.try_get("asset_id")?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
            last_error: row.try_get("last_error")?,
            request_id: row.try_get("request_id")?,
        }))
    }

    async fn heartbeat_job(&self, job_id: i64, worker: &str, lease: Duration) -> RepoResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $1 \
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(lease_end(lease))
        .bind(job_id)
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn complete_job(&self, job_id: i64, worker: &str) -> RepoResult<()> {
        sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2")
            .bind(job_id)
            .bind(worker)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn retry_job(
        &self,
        job_id: i64,
        worker: &str,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> RepoResult<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = $1, last_error = $2, lease_owner = NULL, \
             lease_until = NULL WHERE id = $3 AND lease_owner = $4",
        )
        .bind(millis(run_at))
        .bind(error)
        .bind(job_id)
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn release_all_leases(&self) -> RepoResult<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL \
             WHERE state = 'running'",
        )
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done))
    }

    async fn release_leases(&self, worker: &str) -> RepoResult<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
             WHERE state = 'running' AND lease_owner = $1",
        )
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(DB::rows_affected(&done))
    }

    async fn enqueue_job(&self, asset_id: &str, job: &NewJob) -> RepoResult<()> {
        let now = millis(Utc::now());
        let mut tx = self.write.begin().await?;
        sqlx::query(INSERT_JOB)
            .bind(&job.kind)
            .bind(asset_id)
            .bind(i64::from(job.max_attempts))
            .bind(now)
            .bind(FAIR_SLICE_MS)
            .bind(job.request_id.clone())
            .execute(&mut *tx)
            .await?;
        DB::announce_job(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn oldest_job(&self) -> RepoResult<Option<DateTime<Utc>>> {
        let oldest: Option<i64> = sqlx::query("SELECT MIN(created_at) FROM jobs")
            .fetch_one(&self.read)
            .await?
            .try_get(0)?;
        oldest.map(super::rows::from_millis).transpose()
    }

    async fn count_jobs(&self) -> RepoResult<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM jobs")
            .fetch_one(&self.read)
            .await?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
