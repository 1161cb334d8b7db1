//! `assetlib migrate --to-database postgres://… --to-store s3://…`: an embedded deployment
//! (SQLite + a local blob directory), its server stopped, moved to PostgreSQL and an
//! S3-compatible bucket, for several nodes.
//!
//! 1. The data directory's lock is taken (no server may run on it meanwhile) and the target
//!    database is migrated to this release's schema.
//! 2. A target that holds anything — rows, blobs — is refused, unless it is this same source's
//!    migration, cut short (a marker row in `assetlib_migrations_from` names the source).
//! 3. Every blob the source names (and its preview) is copied and checked against its sha256;
//!    blobs already in the target are skipped (content-addressed: present means equal).
//! 4. Every table is copied (`rows`): rows already there are skipped, the target's sequences
//!    are moved past the copied ids, and each table is verified — counts and row digests.
//!    Blobs go first, so no copied row ever names a blob the target lacks.
//! 5. The parts of unfinished resumable uploads follow; the marker records the end.
//!
//! Killed anywhere, the same command resumes where it stopped.

mod rows;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

use super::blob_copy::{self, CopyError};
use crate::blob::{self, BlobError, BlobStore};
use crate::repo::RepoError;

pub use rows::{NOT_COPIED, TABLES};

/// Blobs copied at once.
const COPIES_IN_FLIGHT: usize = 4;

/// The embedded deployment moved.
#[derive(Debug, Clone)]
pub struct MigrateSource {
    pub data_dir: PathBuf,
    /// `sqlite://PATH`.
    pub database_url: String,
    /// `file://DIR` (or any blob store URL).
    pub blob_url: String,
}

/// Where it goes.
#[derive(Debug, Clone)]
pub struct MigrateTarget {
    /// `postgres://…`.
    pub database_url: String,
    /// `s3://BUCKET` (or any blob store URL).
    pub blob_url: String,
}

/// What the migration did, for its progress lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A migration of this source cut short is carried on.
    Resuming,
    Blobs {
        done: u64,
        total: u64,
        skipped: u64,
    },
    Rows {
        table: &'static str,
        done: u64,
        total: u64,
    },
    Verified {
        table: &'static str,
        rows: u64,
    },
}

/// What a migration copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MigrateReport {
    pub resumed: bool,
    pub rows: u64,
    pub tables: u64,
    pub blobs_copied: u64,
    /// Blobs already in the target (a resumed migration).
    pub blobs_present: u64,
    pub bytes: u64,
    pub previews: u64,
    pub upload_parts: u64,
}

/// Why a migration stopped (run it again once the cause is fixed: it resumes).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the source must be the embedded database (sqlite://…), not {0}")]
    SourceNotEmbedded(String),
    #[error("the target database must be PostgreSQL (postgres://…)")]
    TargetNotPostgres,
    #[error("a server is running on {0}: stop it first (the migration reads a stopped library)")]
    SourceInUse(PathBuf),
    #[error(
        "the target is not empty ({0}) and holds no migration of this source to resume: \
         migrate into an empty database and bucket"
    )]
    TargetNotEmpty(String),
    #[error("{0}")]
    Schema(String),
    #[error("verification failed: {0}")]
    Mismatch(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("blob store: {0}")]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Copy(#[from] CopyError),
}

/// Moves the deployment at `source` to `target`; `progress` is told how it goes.
pub async fn migrate(
    source: &MigrateSource,
    target: &MigrateTarget,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<MigrateReport, MigrateError> {
    let db_path = source
        .database_url
        .strip_prefix("sqlite://")
        .map(PathBuf::from)
        .ok_or_else(|| {
            MigrateError::SourceNotEmbedded(crate::config::redact_url(&source.database_url))
        })?;
    if !(target.database_url.starts_with("postgres://")
        || target.database_url.starts_with("postgresql://"))
    {
        return Err(MigrateError::TargetNotPostgres);
    }
    let _lock = lock(&source.data_dir)?;
    // Brings the source to this release's schema (and refuses a newer one).
    crate::repo::sqlite::SqliteRepo::open(&db_path).await?;
    let src = open_source(&db_path).await?;
    rows::check_source_tables(&src).await?;
    crate::repo::postgres::PgRepo::connect(&target.database_url).await?;
    let dst = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(PgConnectOptions::from_str(&target.database_url)?)
        .await?;
    let from = blob::open(&source.blob_url)?;
    let into = blob::open(&target.blob_url)?;

    let source_id = std::fs::canonicalize(&db_path)
        .unwrap_or(db_path.clone())
        .display()
        .to_string();
    let resumed = claim_target(&dst, &*into, &source_id).await?;
    if resumed {
        progress(Progress::Resuming);
    }
    let mut report = MigrateReport {
        resumed,
        ..MigrateReport::default()
    };

    let named = blob_copy::named_content(&src).await?;
    copy_blobs(
        &named,
        &from,
        &into,
        &source.data_dir.join("tmp"),
        &mut report,
        progress,
    )
    .await?;

    for &table in TABLES {
        let described = rows::describe(&src, &dst, table).await?;
        let total = u64::try_from(rows::count_sqlite(&src, table).await?).unwrap_or_default();
        rows::copy(&src, &dst, &described, &|done| {
            progress(Progress::Rows { table, done, total })
        })
        .await?;
        rows::advance_sequences(&dst, table).await?;
        rows::verify(&src, &dst, &described).await?;
        progress(Progress::Verified { table, rows: total });
        report.rows += total;
        report.tables += 1;
    }

    let tmp = source.data_dir.join("tmp");
    for (upload, part) in &named.upload_parts {
        blob_copy::copy_part(&*from, &*into, upload, part, &tmp).await?;
        report.upload_parts += 1;
    }
    sqlx::query("UPDATE assetlib_migrations_from SET finished_at = $2 WHERE source = $1")
        .bind(&source_id)
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&dst)
        .await?;
    dst.close().await;
    src.close().await;
    Ok(report)
}

/// The data directory's lock, as `serve` takes it: held, no server can start on it.
fn lock(data_dir: &Path) -> Result<std::fs::File, MigrateError> {
    let path = data_dir.join("assetlib.lock");
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| MigrateError::Io {
            path: path.clone(),
            source,
        })?;
    if file.try_lock().is_err() {
        return Err(MigrateError::SourceInUse(data_dir.to_owned()));
    }
    Ok(file)
}

async fn open_source(db: &Path) -> Result<SqlitePool, MigrateError> {
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(db)
        .read_only(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await?)
}

/// Whether the target is this source's migration carried on (`true`) or a new, empty one
/// (`false`, the marker written); any other target is refused.
async fn claim_target(
    dst: &PgPool,
    into: &dyn BlobStore,
    source_id: &str,
) -> Result<bool, MigrateError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS assetlib_migrations_from (\
         source TEXT PRIMARY KEY, started_at BIGINT NOT NULL, finished_at BIGINT)",
    )
    .execute(dst)
    .await?;
    let ours: Option<i64> =
        sqlx::query_scalar("SELECT started_at FROM assetlib_migrations_from WHERE source = $1")
            .bind(source_id)
            .fetch_optional(dst)
            .await?;
    if ours.is_some() {
        return Ok(true);
    }
    let mut held = Vec::new();
    for table in TABLES {
        let n = rows::count_pg(dst, table).await?;
        if n > 0 {
            held.push(format!("{n} rows in {table}"));
        }
    }
    let blobs = into.list().await?.len();
    if blobs > 0 {
        held.push(format!("{blobs} blobs in the store"));
    }
    if !held.is_empty() {
        return Err(MigrateError::TargetNotEmpty(held.join(", ")));
    }
    sqlx::query(
        "INSERT INTO assetlib_migrations_from (source, started_at) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING",
    )
    .bind(source_id)
    .bind(chrono::Utc::now().timestamp_millis())
    .execute(dst)
    .await?;
    Ok(false)
}

async fn copy_blobs(
    named: &blob_copy::Named,
    from: &Arc<dyn BlobStore>,
    into: &Arc<dyn BlobStore>,
    tmp: &Path,
    report: &mut MigrateReport,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(), MigrateError> {
    std::fs::create_dir_all(tmp).map_err(|source| MigrateError::Io {
        path: tmp.to_owned(),
        source,
    })?;
    let total = named.blobs.len() as u64;
    let mut copies = futures_util::stream::iter(named.blobs.iter().map(|(sha256, media)| {
        let (from, into) = (Arc::clone(from), Arc::clone(into));
        async move {
            if into.exists(sha256).await? {
                return Ok::<_, MigrateError>(None);
            }
            Ok(Some(
                blob_copy::copy_blob(&*from, &*into, sha256, media, tmp).await?,
            ))
        }
    }))
    .buffer_unordered(COPIES_IN_FLIGHT);
    let mut done = 0;
    while let Some(copied) = copies.try_next().await? {
        done += 1;
        match copied {
            Some(copied) => {
                report.blobs_copied += 1;
                report.bytes += copied.bytes;
                report.previews += u64::from(copied.preview);
            }
            None => report.blobs_present += 1,
        }
        progress(Progress::Blobs {
            done,
            total,
            skipped: report.blobs_present,
        });
    }
    Ok(())
}
