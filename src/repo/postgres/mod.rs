//! The PostgreSQL backend for several nodes on one database: jobs are claimed with
//! `FOR UPDATE SKIP LOCKED`, so any node may process any job; idle workers poll.

mod assets;
mod jobs;
mod keys;
mod maintenance;
mod tasks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{Repo, RepoResult};

/// The NOTIFY channel that announces new jobs.
pub(crate) const JOB_CHANNEL: &str = "assetlib_jobs";

/// How long a request waits for a connection before it answers 503: short, so an outage is
/// reported quickly instead of piling up requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL adapter for every metadata port.
#[derive(Debug, Clone)]
pub struct PgRepo {
    pool: PgPool,
}

impl PgRepo {
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
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Repo for PgRepo {
    async fn ping(&self) -> RepoResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn is_embedded(&self) -> bool {
        false
    }

    /// LISTEN on the job channel; every notification wakes an idle worker of this node. On a
    /// lost connection it reconnects; meanwhile workers fall back to polling.
    fn forward_wakeups(&self, wake: std::sync::Arc<tokio::sync::Notify>) {
        let pool = self.pool.clone();
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
