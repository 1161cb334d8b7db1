//! PostgreSQL, for several nodes on one database: jobs are claimed with
//! `FOR UPDATE SKIP LOCKED`, so any node may process any job; an enqueue NOTIFYs every node,
//! whose LISTEN task wakes an idle worker (workers still poll, should a notification be lost).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgQueryResult};
use sqlx::{Pool, Postgres};
use tokio::sync::Notify;

use super::{Dialect, SqlRepo};
use crate::repo::RepoResult;

/// The NOTIFY channel that announces new jobs.
const JOB_CHANNEL: &str = "assetlib_jobs";

/// How long a request waits for a connection before it answers 503: short, so an outage is
/// reported quickly instead of piling up requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQL adapter on PostgreSQL.
pub type PgRepo = SqlRepo<Postgres>;

impl Dialect for Postgres {
    const EMBEDDED: bool = false;
    const POSITION_FN: &'static str = "strpos";
    const BYTE_ORDER: &'static str = " COLLATE \"C\"";
    const CLAIM_SUFFIX: &'static str = " FOR UPDATE SKIP LOCKED";

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    /// Delivered at commit to every node's listener.
    async fn announce_job(tx: &mut PgConnection) -> RepoResult<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(JOB_CHANNEL)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// A transaction-level advisory lock on the tenant's name, released at commit or rollback.
    async fn lock_tenant(tx: &mut PgConnection, tenant: &str) -> RepoResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('assetlib tenant ' || $1, 0))")
            .bind(tenant)
            .execute(tx)
            .await?;
        Ok(())
    }

    /// LISTEN on the job channel; every notification wakes an idle worker of this node. On a
    /// lost connection it reconnects; meanwhile workers fall back to polling.
    fn forward_wakeups(pool: &Pool<Postgres>, wake: Arc<Notify>) {
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(JOB_CHANNEL).await {
                            tracing::warn!(error = %e, "cannot listen for job notifications");
                        } else {
                            while listener.recv().await.is_ok() {
                                wake.notify_one();
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "job notification listener cannot connect")
                    }
                }
                if pool.is_closed() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

impl SqlRepo<Postgres> {
    /// Connects and runs migrations (safe to run from several nodes at once).
    pub async fn connect(url: &str) -> RepoResult<Self> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects with explicit options (e.g. a `search_path` schema) and runs migrations.
    pub async fn connect_with(options: PgConnectOptions) -> RepoResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        super::migrations::refuse_newer(
            sqlx::query_scalar::<Postgres, Option<i64>>(super::migrations::APPLIED_VERSION)
                .fetch_one(&pool)
                .await
                .ok()
                .flatten(),
            &super::migrations::POSTGRES,
        )?;
        super::migrations::POSTGRES.run(&pool).await?;
        super::names::backfill_folded_names(&pool).await?;
        Ok(Self::new(pool.clone(), pool))
    }
}
