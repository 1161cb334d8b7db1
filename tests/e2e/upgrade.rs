//! Upgrades (docs/OPERATIONS.md, Upgrades): migrations only go forward, so a node refuses a
//! database a newer release migrated — with a message saying so, and a non-zero exit — instead
//! of misreading its rows; on SQLite and on PostgreSQL.

use std::path::Path;

use crate::common::{PgSchema, Serve, run};

const BIN: &str = crate::common::BIN;

/// What a node started on a database of schema version 9999 says before it exits.
fn assert_refused(data_dir: &Path, extra: &[&str]) {
    let refused = Serve::new(BIN, data_dir)
        .args(extra)
        .start()
        .err()
        .expect("the node refuses to start");
    let text = refused.to_string();
    assert!(text.contains("exit status: 1"), "{text}");
    assert!(
        text.contains("schema version 9999, newer than this assetlib"),
        "{text}"
    );
    assert!(text.contains("migrations only go forward"), "{text}");
}

const NEWER: &str = "INSERT INTO _sqlx_migrations \
     (version, description, success, checksum, execution_time) \
     VALUES (9999, 'from a newer release', TRUE, $1, 0)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_an_sqlite_database_newer_than_itself() {
    let dir = tempfile::tempdir().expect("data dir");
    drop(crate::common::serve(dir.path(), &[], "warn"));
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("assetlib.db").display()
    ))
    .await
    .expect("db");
    sqlx::query(NEWER)
        .bind(vec![0u8; 48])
        .execute(&db)
        .await
        .expect("a newer migration recorded");
    db.close().await;

    assert_refused(dir.path(), &[]);
    // The one-shot commands refuse it too.
    let data = dir.path().display().to_string();
    let (code, _) = run(&["keys", "list", "--data-dir", &data]);
    assert_ne!(code, 0);
    let (code, _) = run(&["fsck", "--data-dir", &data]);
    assert_ne!(code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_a_postgres_database_newer_than_itself() {
    let Some(pg) = assetlib_test_support::opt_in::database_url("upgrade::postgres_newer") else {
        return;
    };
    let schema = PgSchema::create(&pg, "upgrade_newer").await;
    let dir = tempfile::tempdir().expect("data dir");
    let on_pg = ["--database-url", schema.url.as_str()];
    drop(crate::common::serve(dir.path(), &on_pg, "warn"));
    sqlx::query(sqlx::AssertSqlSafe(NEWER.replace(
        "_sqlx_migrations",
        &format!("{}._sqlx_migrations", schema.name),
    )))
    .bind(vec![0u8; 48])
    .execute(&schema.pool)
    .await
    .expect("a newer migration recorded");

    let second = tempfile::tempdir().expect("another node's dir");
    assert_refused(second.path(), &on_pg);
    schema.remove().await;
}
