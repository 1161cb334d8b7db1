//! The embedded SQLite backend (WAL). Writes go through a single-connection pool so they
//! never contend for the write lock; reads use a pool of their own.

mod assets;
mod jobs;
mod keys;
mod maintenance;
mod tasks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Repo, RepoError, RepoResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// SQLite adapter for every metadata port.
#[derive(Debug, Clone)]
pub struct SqliteRepo {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteRepo {
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
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { read, write })
    }
}

#[async_trait]
impl Repo for SqliteRepo {
    async fn ping(&self) -> RepoResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    fn is_embedded(&self) -> bool {
        true
    }
}
