//! `assetlib backup --to DIR`: a consistent copy of an embedded deployment (SQLite + a blob
//! store) taken while its server runs and takes uploads.
//!
//! 1. The database is copied with `VACUUM INTO` on a connection of its own: one read
//!    transaction, so the copy is the database as of one instant — every upload acknowledged
//!    before the backup began is in it (its row was committed before its answer went out, and
//!    its blob stored before its row) — and writers are not blocked (WAL).
//! 2. Every blob the copy names (assets, deleted ones included: they can be restored), each
//!    blob's preview, and the parts of unfinished resumable uploads are copied into
//!    `DIR/blobs`, each blob's sha256 checked against its name on the way.
//! 3. The signing key and the admin key file are copied, and only then the database is given
//!    its name (`assetlib.db`): a backup cut short is never taken for a whole one.
//!
//! The copy is a data directory: `assetlib serve --data-dir DIR` serves it as it was.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::blob_copy::{self, CopyError, copy_blob, copy_part};
use crate::blob::{self, BlobError, BlobStore};

/// The database file of a data directory, as the server names it.
pub const DATABASE_FILE: &str = "assetlib.db";
/// The name the copied database has until every blob it names is copied.
const PARTIAL_DATABASE_FILE: &str = "assetlib.db.partial";
/// Small files of a data directory that go with it (when present).
const KEY_FILES: &[&str] = &["url-signing.key", "admin.key"];
/// Blobs copied at once.
const COPIES_IN_FLIGHT: usize = 4;

/// Where the backup reads from.
#[derive(Debug, Clone)]
pub struct BackupSource {
    /// The data directory (its key files are copied).
    pub data_dir: PathBuf,
    /// `sqlite://PATH`: only the embedded database is backed up this way.
    pub database_url: String,
    /// The blob store the server uses (`file://…` or `s3://…`).
    pub blob_url: String,
}

/// What a backup copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackupReport {
    pub assets: u64,
    pub blobs: u64,
    pub bytes: u64,
    pub previews: u64,
    pub upload_parts: u64,
}

/// Why a backup stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backup copies the embedded SQLite database; for PostgreSQL use pg_dump and the bucket's \
         versioning or replication (docs/OPERATIONS.md)"
    )]
    NotEmbedded,
    #[error("{0} is not empty: back up into a new directory")]
    TargetNotEmpty(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("copying the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Copy(#[from] CopyError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Copies the deployment at `source` into the new directory `to`; `progress` is told each
/// blob copied (done, total).
pub async fn backup(
    source: &BackupSource,
    to: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<BackupReport, BackupError> {
    let db_path = source
        .database_url
        .strip_prefix("sqlite://")
        .map(PathBuf::from)
        .ok_or(BackupError::NotEmbedded)?;
    prepare_target(to)?;
    let partial = to.join(PARTIAL_DATABASE_FILE);
    copy_database(&db_path, &partial).await?;

    let named = {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&partial)
            .read_only(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let named = blob_copy::named_content(&pool).await;
        pool.close().await;
        named?
    };
    let from = blob::open(&source.blob_url)?;
    let into: Arc<dyn BlobStore> = blob::open(&format!("file://{}", to.join("blobs").display()))?;
    let tmp = to.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;

    let mut report = BackupReport {
        assets: named.assets,
        ..BackupReport::default()
    };
    let total = named.blobs.len() as u64;
    let mut copies = futures_util::stream::iter(named.blobs.iter().map(|(sha256, media)| {
        let (from, into, tmp) = (Arc::clone(&from), Arc::clone(&into), tmp.clone());
        async move { copy_blob(&*from, &*into, sha256, media, &tmp).await }
    }))
    .buffer_unordered(COPIES_IN_FLIGHT);
    while let Some(copied) = copies.try_next().await? {
        report.blobs += 1;
        report.bytes += copied.bytes;
        report.previews += u64::from(copied.preview);
        progress(report.blobs, total);
    }
    for (upload, part) in &named.upload_parts {
        copy_part(&*from, &*into, upload, part, &tmp).await?;
        report.upload_parts += 1;
    }
    for name in KEY_FILES {
        let file = source.data_dir.join(name);
        if file.exists() {
            std::fs::copy(&file, to.join(name)).map_err(io(&file))?;
        }
    }
    let _ = std::fs::remove_dir(&tmp);
    let done = to.join(DATABASE_FILE);
    std::fs::rename(&partial, &done).map_err(io(&done))?;
    Ok(report)
}

/// `to` must be missing or empty: a backup never mixes with other files.
fn prepare_target(to: &Path) -> Result<(), BackupError> {
    if to.exists() {
        let mut entries = std::fs::read_dir(to).map_err(io(to))?;
        if entries.next().is_some() {
            return Err(BackupError::TargetNotEmpty(to.to_owned()));
        }
    }
    std::fs::create_dir_all(to).map_err(io(to))
}

/// `VACUUM INTO`: the database as of one read transaction, written to `into`.
async fn copy_database(db: &Path, into: &Path) -> Result<(), BackupError> {
    if !db.exists() {
        return Err(BackupError::Io {
            path: db.to_owned(),
            source: std::io::ErrorKind::NotFound.into(),
        });
    }
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(db)
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(into.display().to_string())
        .execute(&pool)
        .await;
    pool.close().await;
    copied?;
    Ok(())
}
