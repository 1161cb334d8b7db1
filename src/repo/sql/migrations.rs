//! The migrations each backend embeds (`migrations/sqlite`, `migrations/postgres`), built as
//! `sqlx::migrate!` builds them — same versions, descriptions and checksums, so a database
//! migrated by an earlier build is recognised — without sqlx's proc-macro, whose build compiles
//! the database drivers (SQLite's C source included) a second time for the build host.

use std::borrow::Cow;
use std::sync::LazyLock;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::repo::{RepoError, RepoResult};

/// `(file name, contents)` of the named files of `migrations/DIR`.
macro_rules! files {
    ($dir:literal: $($name:literal),+ $(,)?) => {
        &[$((
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir, "/", $name)),
        )),+]
    };
}

const SQLITE_FILES: &[(&str, &str)] = files!("sqlite":
    "0001_init.sql",
    "0002_moderation.sql",
    "0003_tasks.sql",
    "0004_asset_counts.sql",
    "0005_fair_jobs.sql",
    "0006_name_folded.sql",
    "0007_blob_holds.sql",
    "0008_idempotency_keys.sql",
    "0009_uploads.sql",
    "0010_groups.sql",
    "0011_quotas.sql",
    "0012_last_used.sql",
    "0013_webhooks.sql",
    "0014_job_request_id.sql",
    "0015_access_keys.sql",
    "0016_delivery_ids.sql",
    "0017_revoked_sessions.sql",
    "0018_open_uploads.sql",
    "0019_review_history.sql",
);

const POSTGRES_FILES: &[(&str, &str)] = files!("postgres":
    "0001_init.sql",
    "0002_asset_counts.sql",
    "0003_fair_jobs.sql",
    "0004_name_folded.sql",
    "0005_blob_holds.sql",
    "0006_idempotency_keys.sql",
    "0007_uploads.sql",
    "0008_groups.sql",
    "0009_quotas.sql",
    "0010_last_used.sql",
    "0011_webhooks.sql",
    "0012_job_request_id.sql",
    "0013_access_keys.sql",
    "0014_delivery_ids.sql",
    "0015_revoked_sessions.sql",
    "0016_open_uploads.sql",
    "0017_review_history.sql",
);

pub(crate) static SQLITE: LazyLock<Migrator> = LazyLock::new(|| migrator(SQLITE_FILES));
pub(crate) static POSTGRES: LazyLock<Migrator> = LazyLock::new(|| migrator(POSTGRES_FILES));

/// Refuses a database whose highest applied migration (`applied`, read from sqlx's
/// `_sqlx_migrations`; `None` for a new database) is newer than every migration of `migrator`:
/// a newer release migrated it, and this one would misread its rows.
pub(crate) fn refuse_newer(applied: Option<i64>, migrator: &Migrator) -> RepoResult<()> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or_default();
    match applied {
        Some(found) if found > known => Err(RepoError::NewerSchema {
            found,
            known,
            release: env!("CARGO_PKG_VERSION"),
        }),
        _ => Ok(()),
    }
}

/// The query for the highest migration applied (fails before the first: no table yet — a
/// failure of another kind shows again when the migrations run).
pub(crate) const APPLIED_VERSION: &str = "SELECT MAX(version) FROM _sqlx_migrations";

/// A migrator over files named `VERSION_DESCRIPTION.sql` (sqlx's naming: the description is
/// the rest of the name with `_` read as a space; `-- no-transaction` first opts out of the
/// transaction).
fn migrator(files: &[(&str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|(name, sql)| {
            let (version, rest) = name.split_once('_').unwrap_or((name, ""));
            Migration::new(
                // The names are this crate's own, checked by the test below.
                version.parse().unwrap_or_default(),
                Cow::Owned(rest.trim_end_matches(".sql").replace('_', " ")),
                MigrationType::Simple,
                sqlx::SqlStr::from_static(sql),
                sql.starts_with("-- no-transaction"),
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_once_in_order() {
        for (dir, files, migrator) in [
            ("sqlite", SQLITE_FILES, &*SQLITE),
            ("postgres", POSTGRES_FILES, &*POSTGRES),
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut on_disk: Vec<String> = std::fs::read_dir(&path)
                .expect("migrations dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            on_disk.sort();
            let embedded: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
            assert_eq!(
                embedded, on_disk,
                "migrations/{dir}: a file is missing here"
            );
            // Each version is its file's number, in increasing order (a number may be left
            // free for a migration of another line of work, merged later).
            let versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
            let expected: Vec<i64> = files
                .iter()
                .map(|(name, _)| name[..4].parse().expect("a numbered file"))
                .collect();
            assert_eq!(versions, expected, "migrations/{dir}");
            assert!(
                versions.windows(2).all(|w| w[0] < w[1]),
                "migrations/{dir}: {versions:?}"
            );
        }
        let first = SQLITE.iter().next().expect("a migration");
        assert_eq!(first.description, "init");
        // sqlx's checksum: SHA-384 of the file as it is.
        assert_eq!(first.checksum.len(), 48);
    }

    /// An in-memory SQLite database migrated up to, not including, the migration `file`.
    async fn migrated_before(file: &str) -> sqlx::SqlitePool {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(SqliteConnectOptions::new().in_memory(true))
            .await
            .expect("sqlite");
        let before = SQLITE_FILES
            .iter()
            .position(|(name, _)| *name == file)
            .unwrap_or_else(|| panic!("no migration {file}"));
        migrator(&SQLITE_FILES[..before])
            .run(&pool)
            .await
            .expect("the earlier migrations");
        pool
    }

    /// Decisions recorded in assets' moderation records before the review history existed
    /// (SQLite's 0019) become its first entries, in the order they were made.
    #[tokio::test]
    async fn earlier_decisions_start_the_review_history_when_migrated() {
        use sqlx::Row;
        let pool = migrated_before("0019_review_history.sql").await;
        let decided = |action: &str, at: &str| {
            serde_json::json!({
                "detector": "mtcnn",
                "faces": [{"x": 1, "y": 2, "width": 30, "height": 40, "score": 0.9}],
                "width": 640,
                "height": 480,
                "decision": {"action": action, "reviewerKey": "key_r", "reviewerTenant": "mods",
                             "reason": (action == "reject").then_some("a face"), "at": at},
            })
            .to_string()
        };
        for (n, status, moderation) in [
            (
                1,
                "Failed",
                Some(decided("reject", "2026-12-01T10:00:02.500000000Z")),
            ),
            (
                2,
                "Active",
                Some(decided("approve", "2026-12-01T10:00:01.250Z")),
            ),
            (
                3,
                "PendingReview",
                Some(
                    serde_json::json!({"detector": "mtcnn", "faces": [],
                "width": 1, "height": 1})
                    .to_string(),
                ),
            ),
            (4, "Active", None),
        ] {
            sqlx::query(
                "INSERT INTO assets (id, tenant, asset_type, url, sha256, bytes, status, \
                 moderation, created_at, updated_at) \
                 VALUES ($1, 't', 'Image', 'u', 's', 1, $2, $3, 0, 0)",
            )
            .bind(format!("asset-20261201000000-m000{n}"))
            .bind(status)
            .bind(moderation)
            .execute(&pool)
            .await
            .expect("an asset");
        }
        SQLITE.run(&pool).await.expect("migrates forward");
        let rows = sqlx::query(
            "SELECT asset_id, decision, reason, reviewer_key, faces, image_width, decided_at \
             FROM review_history ORDER BY seq",
        )
        .fetch_all(&pool)
        .await
        .expect("history");
        let got: Vec<(String, String, Option<String>, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.get::<String, _>(0),
                    r.get::<String, _>(1),
                    r.get::<Option<String>, _>(2),
                    r.get::<i64, _>(6),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "asset-20261201000000-m0002".into(),
                    "approve".into(),
                    None,
                    1_796_119_201_250
                ),
                (
                    "asset-20261201000000-m0001".into(),
                    "reject".into(),
                    Some("a face".into()),
                    1_796_119_202_500
                ),
            ]
        );
        let faces: Vec<crate::domain::FaceBox> =
            serde_json::from_str(&rows[0].get::<String, _>(4)).expect("faces");
        assert_eq!(faces.len(), 1);
        assert_eq!(rows[0].get::<i64, _>(5), 640);
        // The held asset waits from its last change.
        let held: Option<i64> =
            sqlx::query_scalar("SELECT held_at FROM assets WHERE status = 'PendingReview'")
                .fetch_one(&pool)
                .await
                .expect("held");
        assert_eq!(held, Some(0));
    }

    /// A database made before delivery ids (SQLite's 0016) migrates forward: its deliveries
    /// get one each, and deliveries written afterwards by the triggers get one too.
    #[tokio::test]
    async fn existing_deliveries_get_an_opaque_id_when_migrated() {
        let pool = migrated_before("0016_delivery_ids.sql").await;
        for n in 0..3_i64 {
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, \
                 subject_id, occurred_at, next_attempt_at, created_at) \
                 VALUES ('wh-20260101000000-aaaaa', 't', $1, 'asset.active', 'a', 0, 0, $2)",
            )
            .bind(format!("evt-{n}"))
            .bind(1_767_225_600_000_i64 + n)
            .execute(&pool)
            .await
            .expect("an old delivery");
        }
        SQLITE.run(&pool).await.expect("migrates forward");
        sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, \
             subject_id, occurred_at, next_attempt_at, created_at) \
             VALUES ('wh-20260101000000-aaaaa', 't', 'evt-new', 'asset.active', 'a', 0, 0, \
             1767225600000)",
        )
        .execute(&pool)
        .await
        .expect("a new delivery");
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT public_id FROM webhook_deliveries ORDER BY id")
                .fetch_all(&pool)
                .await
                .expect("ids");
        assert_eq!(ids.len(), 4);
        for id in &ids {
            assert!(
                crate::domain::DeliveryId::parse(id).is_some(),
                "{id} is not a delivery id"
            );
            assert!(id.starts_with("dlv-20260101000000-"), "{id}: stamped");
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 4, "{ids:?}");
    }
}
