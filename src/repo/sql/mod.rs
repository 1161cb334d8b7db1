//! The SQL adapter of every metadata port, written once over a [`Dialect`]: queries use `$n`
//! placeholders and portable SQL, so each one serves SQLite and PostgreSQL alike. What really
//! differs (opening the pools, migrations, WAL, LISTEN/NOTIFY) lives in `sqlite` and `postgres`.
//!
//! The impls of the ports (a file each) share one where-clause: the types their queries bind
//! and read. Rust does not carry such bounds along with a trait bound, so they cannot live in
//! `Dialect` alone.

mod assets;
mod dialect;
mod groups;
mod holds;
mod idempotency;
mod jobs;
mod keys;
mod maintenance;
mod migrations;
mod names;
mod point;
pub mod postgres;
mod quotas;
mod reviews;
mod rows;
mod sessions;
pub mod sqlite;
mod tasks;
mod uploads;
mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{Database, Executor, Pool};
use tokio::sync::Notify;

pub use dialect::Dialect;

use super::{
    AssetRepo, BlobHoldRepo, GroupRepo, IdempotencyRepo, JobQueue, KeyRepo, MaintenanceRepo,
    QuotaRepo, Repo, RepoResult, ReviewRepo, SessionRepo, TaskRepo, UploadRepo, WebhookRepo,
};

/// SQL adapter for every metadata port. Reads go to `read`, writes (and transactions that
/// read what they wrote) to `write`: one single-connection pool for SQLite, so writers never
/// contend for the file's lock, beside a read-only pool; the same pool twice for PostgreSQL.
#[derive(Debug)]
pub struct SqlRepo<DB: Database> {
    read: Pool<DB>,
    write: Pool<DB>,
    /// SQLite's one-row reads on the calling thread (`point.rs`); `None` on PostgreSQL.
    point: Option<Arc<point::PointReads>>,
}

impl<DB: Database> Clone for SqlRepo<DB> {
    fn clone(&self) -> Self {
        Self {
            read: self.read.clone(),
            write: self.write.clone(),
            point: self.point.clone(),
        }
    }
}

impl<DB: Database> SqlRepo<DB> {
    fn new(read: Pool<DB>, write: Pool<DB>) -> Self {
        Self {
            read,
            write,
            point: None,
        }
    }
}

#[async_trait]
impl<DB> Repo for SqlRepo<DB>
where
    DB: Dialect,
    Self: AssetRepo
        + JobQueue
        + KeyRepo
        + SessionRepo
        + TaskRepo
        + MaintenanceRepo
        + BlobHoldRepo
        + IdempotencyRepo
        + UploadRepo
        + GroupRepo
        + QuotaRepo
        + WebhookRepo
        + ReviewRepo,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    async fn ping(&self) -> RepoResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    fn is_embedded(&self) -> bool {
        DB::EMBEDDED
    }

    fn pool_use(&self) -> (u32, u32) {
        let idle = |p: &Pool<DB>| u32::try_from(p.num_idle()).unwrap_or(u32::MAX);
        if DB::EMBEDDED {
            // The writer and the readers are two pools.
            (
                self.read.size() + self.write.size(),
                idle(&self.read) + idle(&self.write),
            )
        } else {
            (self.read.size(), idle(&self.read))
        }
    }

    fn forward_wakeups(&self, wake: Arc<Notify>) {
        DB::forward_wakeups(&self.read, wake);
    }
}
