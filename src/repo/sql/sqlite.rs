//! The embedded SQLite database (WAL). Writes go through a single-connection pool so they
//! never contend for the write lock; reads use a read-only pool of their own.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteQueryResult, SqliteSynchronous,
};
use sqlx::{Pool, Sqlite};
use tokio::sync::Notify;

use super::{Dialect, SqlRepo};
use crate::repo::{RepoError, RepoResult};

/// The SQL adapter on SQLite.
pub type SqliteRepo = SqlRepo<Sqlite>;

impl Dialect for Sqlite {
    const EMBEDDED: bool = true;
    const POSITION_FN: &'static str = "instr";
    /// The single writer connection already serialises claims.
    const BYTE_ORDER: &'static str = "";
    const CLAIM_SUFFIX: &'static str = "";

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    async fn announce_job(_tx: &mut SqliteConnection) -> RepoResult<()> {
        Ok(())
    }

    async fn lock_tenant(_tx: &mut SqliteConnection, _tenant: &str) -> RepoResult<()> {
        Ok(())
    }

    fn forward_wakeups(_pool: &Pool<Sqlite>, _wake: Arc<Notify>) {}
}

impl SqlRepo<Sqlite> {
    /// Opens (creating if missing) the database file and runs migrations.
    pub async fn open(path: &Path) -> RepoResult<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| RepoError::Open(format!("{}: {e}", parent.display())))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // No ping before a connection is handed out: sqlx's default sends one to the
        // connection's thread and waits for the answer, a round trip per query for a file that
        // cannot hang up. sqlx still pings each connection as it is given back, which finds
        // one whose thread has failed and closes it.
        let write = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        super::migrations::refuse_newer(
            sqlx::query_scalar::<Sqlite, Option<i64>>(super::migrations::APPLIED_VERSION)
                .fetch_one(&write)
                .await
                .ok()
                .flatten(),
            &super::migrations::SQLITE,
        )?;
        super::migrations::SQLITE.run(&write).await?;
        super::names::backfill_folded_names(&write).await?;
        let read = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        let mut repo = Self::new(read, write);
        repo.point = Some(Arc::new(super::point::PointReads::new(path)));
        Ok(repo)
    }
}
