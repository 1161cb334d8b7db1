//! One-row reads of the embedded database on the request's own thread.
//!
//! sqlx runs each SQLite connection on a thread of its own: every query is sent there and its
//! rows sent back (two thread hand-offs, channel wake-ups) and the row copied into sqlx's own
//! values. For the one read every content request makes (an asset by its id) that was about
//! 0.1 ms of CPU, a third of what serving a whole 600 kB photo cost (docs/PERFORMANCE.md,
//! "Asset rows read in place"). Here that row is read by a plain read-only SQLite connection,
//! in place, on the calling thread: a lookup by primary key, whose few pages are as a rule in
//! the connection's page cache or the kernel's (a page that is not is read from the disk on
//! that thread; a content window's pages, by contrast, are checked first: `blob/mapped.rs`).
//!
//! Nothing is cached: every call reads the row as committed, as the pool's readers do (a WAL
//! reader sees every committed write, another process's too). A call that finds the database
//! locked (`busy_timeout` is 0, so it never waits on the request's thread) or fails in any
//! other way answers [`Unread`], and the caller reads through the pool, whose answer or error
//! stands.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};

use super::rows::{ASSET_BY_ID, ASSET_BY_ID_AND_TENANT, AssetColumns};
use crate::domain::{Asset, AssetId};
use crate::repo::RepoResult;

/// Idle connections kept for the next reads (as many as the pool's readers).
const IDLE: usize = 8;

/// Read-only connections to the database file, each used by one call at a time.
#[derive(Debug)]
pub struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// A read that did not happen here (busy, or any other failure): read through the pool.
pub struct Unread;

impl PointReads {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The asset `id` (of `tenant` when given), unless deleted.
    pub fn asset(
        &self,
        tenant: Option<&str>,
        id: &AssetId,
    ) -> Result<RepoResult<Option<Asset>>, Unread> {
        let columns = match tenant {
            Some(tenant) => self.with_connection(|conn| {
                conn.prepare_cached(&ASSET_BY_ID_AND_TENANT)?
                    .query_row((id.as_str(), tenant), columns_of)
                    .optional()
            }),
            None => self.with_connection(|conn| {
                conn.prepare_cached(&ASSET_BY_ID)?
                    .query_row([id.as_str()], columns_of)
                    .optional()
            }),
        };
        match columns {
            Ok(row) => Ok(row.map(AssetColumns::into_asset).transpose()),
            Err(e) => {
                tracing::debug!(error = %e, "a one-row read goes through the pool");
                Err(Unread)
            }
        }
    }

    /// Runs `read` on an idle connection (opened when there is none) and keeps the connection
    /// unless the read failed.
    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let answer = read(&conn)?;
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE
        {
            idle.push(conn);
        }
        Ok(answer)
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Never wait for a lock on the request's thread: the pool waits instead.
        conn.busy_timeout(std::time::Duration::ZERO)?;
        Ok(conn)
    }
}

/// The values of a row of `SELECT {ASSET_COLUMNS}`, in that order.
fn columns_of(row: &Row<'_>) -> rusqlite::Result<AssetColumns> {
    Ok(AssetColumns {
        seq: row.get(0)?,
        id: row.get(1)?,
        tenant: row.get(2)?,
        name: row.get(3)?,
        asset_type: row.get(4)?,
        url: row.get(5)?,
        sha256: row.get(6)?,
        bytes: row.get(7)?,
        format: row.get(8)?,
        facts: row.get(9)?,
        status: row.get(10)?,
        failure_code: row.get(11)?,
        failure_message: row.get(12)?,
        moderation: row.get(13)?,
        group_id: row.get(14)?,
        last_used_at: row.get(15)?,
        created_at: row.get(16)?,
        updated_at: row.get(17)?,
    })
}

#[cfg(test)]
mod tests {
    use super::PointReads;
    use crate::domain::AssetId;

    #[tokio::test]
    async fn a_locked_database_leaves_the_read_to_the_pool_without_waiting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("locked.db");
        // The server's own schema, its pools closed again.
        let repo = super::super::sqlite::SqliteRepo::open(&path)
            .await
            .expect("open");
        repo.read.close().await;
        repo.write.close().await;
        // A connection in exclusive locking mode keeps the file locked once it has read it.
        let locker = rusqlite::Connection::open(&path).expect("open");
        locker
            .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
            .expect("lock");
        let reads = PointReads::new(&path);
        let id = AssetId::parse("asset-20260101000001-aaaaa").expect("id");
        let asked = std::time::Instant::now();
        assert!(
            reads.asset(Some("t1"), &id).is_err(),
            "locked: the pool reads"
        );
        // The pool would wait up to its 10 s busy timeout; this read does not wait at all.
        assert!(
            asked.elapsed() < std::time::Duration::from_secs(5),
            "it waited"
        );
        locker.execute_batch("COMMIT;").expect("commit");
        drop(locker);
        assert!(reads.asset(Some("t1"), &id).is_ok(), "unlocked: read here");
    }

    #[test]
    fn a_database_that_cannot_be_opened_leaves_the_read_to_the_pool() {
        let dir = tempfile::tempdir().expect("temp dir");
        let reads = PointReads::new(&dir.path().join("missing.db"));
        let id = AssetId::parse("asset-20260101000001-aaaaa").expect("id");
        assert!(reads.asset(None, &id).is_err(), "read-only: never created");
        assert!(!dir.path().join("missing.db").exists());
    }
}
