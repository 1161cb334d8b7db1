//! The metadata backends every contract runs on.

use std::sync::Arc;

use assetlib::repo::Repo;

/// SQLite always; PostgreSQL too when `TEST_DATABASE_URL` is set (`.ci/run` sets it, with
/// `ASSETLIB_REQUIRE_BACKENDS=1`, which fails the run when it is not). Each
/// call gets a fresh database: a new file, or a new schema.
pub async fn backends() -> Vec<(String, Arc<dyn Repo>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let repo = assetlib::repo::connect(&url).await.expect("sqlite opens");
    let mut out = vec![("sqlite".to_owned(), repo, dir)];
    if let Some(pg) = database_url() {
        let schema = fresh_schema(&pg).await;
        let options = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&pg)
            .expect("TEST_DATABASE_URL parses")
            .options([("search_path", schema.as_str())]);
        let repo = assetlib::repo::postgres::PgRepo::connect_with(options)
            .await
            .expect("postgres opens");
        out.push((
            "postgres".to_owned(),
            Arc::new(repo),
            tempfile::tempdir().expect("dir"),
        ));
    }
    out
}

/// Where a backend's database lives, for tests that open it more than once or write to it
/// behind the adapter's back.
pub enum Location {
    Sqlite {
        path: std::path::PathBuf,
        /// Removed with the location.
        _dir: tempfile::TempDir,
    },
    Postgres(Box<sqlx::postgres::PgConnectOptions>),
}

impl Location {
    /// Opens the database (migrations and start-up work included).
    pub async fn open(&self) -> Arc<dyn Repo> {
        match self {
            Location::Sqlite { path, .. } => {
                assetlib::repo::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .expect("sqlite opens")
            }
            Location::Postgres(options) => Arc::new(
                assetlib::repo::postgres::PgRepo::connect_with((**options).clone())
                    .await
                    .expect("postgres opens"),
            ),
        }
    }

    /// Runs one statement straight on the database.
    pub async fn execute(&self, sql: &'static str) {
        match self {
            Location::Sqlite { path, .. } => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
                let pool = sqlx::SqlitePool::connect_with(options)
                    .await
                    .expect("sqlite");
                sqlx::query(sql).execute(&pool).await.expect("statement");
                pool.close().await;
            }
            Location::Postgres(options) => {
                let pool = sqlx::PgPool::connect_with((**options).clone())
                    .await
                    .expect("postgres");
                sqlx::query(sql).execute(&pool).await.expect("statement");
                pool.close().await;
            }
        }
    }
}

/// Like `backends`, as locations: SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set.
pub async fn locations() -> Vec<(String, Location)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("contract.db");
    let mut out = vec![("sqlite".to_owned(), Location::Sqlite { path, _dir: dir })];
    if let Some(pg) = database_url() {
        let schema = fresh_schema(&pg).await;
        let options = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&pg)
            .expect("TEST_DATABASE_URL parses")
            .options([("search_path", schema.as_str())]);
        out.push(("postgres".to_owned(), Location::Postgres(Box::new(options))));
    }
    out
}

fn database_url() -> Option<String> {
    assetlib_test_support::opt_in::database_url("the PostgreSQL run of this contract")
}

/// A new empty schema; schemas left by earlier test processes are dropped first.
async fn fresh_schema(url: &str) -> String {
    use sqlx::Row;
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let pid = std::process::id();
    let pool = sqlx::PgPool::connect(url)
        .await
        .expect("TEST_DATABASE_URL reachable");
    let old = sqlx::query(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'assetlib_test_%' AND nspname NOT LIKE $1",
    )
    .bind(format!("assetlib_test_{pid}_%"))
    .fetch_all(&pool)
    .await
    .expect("list schemas");
    for row in old {
        let name: String = row.get(0);
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .execute(&pool)
        .await;
    }
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let schema = format!("assetlib_test_{pid}_{n}");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .expect("create schema");
    schema
}
