//! The backends every contract runs on, and `per_backend!`, which makes one test of each case
//! on each backend: `repo::tenants::sqlite::keys_contract` and
//! `repo::tenants::postgres::keys_contract` pass or fail apart, and a failure's name says which
//! case broke on which backend.
//!
//! The embedded SQLite and the local directory always; PostgreSQL when `TEST_DATABASE_URL` is
//! set and an S3-compatible server when `TEST_S3_ENDPOINT` is (`.ci/run` sets both, with
//! `ASSETLIB_REQUIRE_BACKENDS=1`, which fails the run when either is not). Every test gets
//! fresh storage of its own: a new SQLite file or PostgreSQL schema, a new directory or
//! bucket, so tests running at once never see each other's rows or blobs.

use std::future::Future;
use std::sync::Arc;

use assetlib::blob::BlobStore;
use assetlib::repo::Repo;

/// `per_backend!(backend: runner, … => { #[test attribute] [case, …] … })` makes
/// `mod backend` for each backend, holding one test per case (with the attribute of its
/// group) that calls `runner(super::case)`. A runner opens fresh storage of its backend, hands
/// it to the case and keeps it until the case ends (or, for a server that is not configured,
/// skips or fails as `opt_in` says).
macro_rules! per_backend {
    ($($backend:ident: $runner:path),+ $(,)? => $groups:tt) => {
        $( $crate::backends::per_backend!(@module $backend $runner $groups); )+
    };
    (@module $backend:ident $runner:path { $( #[$test:meta] [$($case:ident),+ $(,)?] )+ }) => {
        mod $backend {
            $($(
                #[$test]
                async fn $case() {
                    $runner(super::$case).await;
                }
            )+)+
        }
    };
}
pub(crate) use per_backend;

/// What a case is handed: opened from a fresh database's location.
pub trait Fixture: Sized {
    fn open(location: &Location) -> impl Future<Output = Self>;
}

/// The repository over the database, migrations and start-up work done.
impl Fixture for Arc<dyn Repo> {
    async fn open(location: &Location) -> Self {
        location.open().await
    }
}

/// The database's location itself, for cases that open it more than once or write to it
/// behind the adapter's back.
impl Fixture for Location {
    async fn open(location: &Location) -> Self {
        location.clone()
    }
}

/// Runs `case` on a fresh SQLite database.
pub async fn sqlite<F: Fixture, Fut: Future<Output = ()>>(case: impl FnOnce(F) -> Fut) {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = Location::Sqlite {
        path: dir.path().join("contract.db"),
        _dir: Arc::new(dir),
    };
    case(F::open(&location).await).await;
}

/// Runs `case` on a fresh schema of the PostgreSQL database at `TEST_DATABASE_URL`; without
/// one, skips (one line for the whole run) or, under `ASSETLIB_REQUIRE_BACKENDS=1`, fails.
pub async fn postgres<F: Fixture, Fut: Future<Output = ()>>(case: impl FnOnce(F) -> Fut) {
    let Some(url) = assetlib_test_support::opt_in::database_url(&this_test()) else {
        return;
    };
    let schema = fresh_schema(&url).await;
    let options = <sqlx::postgres::PgConnectOptions as std::str::FromStr>::from_str(&url)
        .expect("TEST_DATABASE_URL parses")
        .options([("search_path", schema.as_str())]);
    let location = Location::Postgres(Box::new(options));
    case(F::open(&location).await).await;
}

/// Runs `case` on a blob store in a fresh local directory.
pub async fn local<Fut: Future<Output = ()>>(case: impl FnOnce(Arc<dyn BlobStore>) -> Fut) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("file://{}", dir.path().join("blobs").display());
    case(assetlib::blob::open(&url).expect("local store")).await;
}

/// Runs `case` on a fresh bucket of the S3-compatible server at `TEST_S3_ENDPOINT` (the AWS_*
/// variables give the credentials); without one, skips or, under
/// `ASSETLIB_REQUIRE_BACKENDS=1`, fails.
pub async fn s3<Fut: Future<Output = ()>>(case: impl FnOnce(Arc<dyn BlobStore>) -> Fut) {
    let Some(endpoint) = assetlib_test_support::opt_in::s3_endpoint(&this_test()) else {
        return;
    };
    // Random: tests running at once must never share a bucket (a clock's nanoseconds did, once).
    let bucket = format!(
        "assetlib-contract-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    );
    assetlib::fetch::install_crypto_provider();
    let credentials = assetlib_test_support::s3::Credentials::from_env();
    assetlib_test_support::s3::create_bucket(&endpoint, &bucket, &credentials)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    case(assetlib::blob::open(&format!("s3://{bucket}")).expect("s3 store")).await;
}

/// A metadata backend with a blob backend, each fresh: the pairs `sqlite_local`,
/// `postgres_local`, `sqlite_s3` and `postgres_s3`.
macro_rules! pair {
    ($pair:ident, $db:ident, $blobs:ident) => {
        pub async fn $pair<Fut: Future<Output = ()>>(
            case: impl FnOnce(Arc<dyn Repo>, Arc<dyn BlobStore>) -> Fut,
        ) {
            $db(move |repo: Arc<dyn Repo>| $blobs(move |blobs| case(repo, blobs))).await;
        }
    };
}
pair!(sqlite_local, sqlite, local);
pair!(postgres_local, postgres, local);
pair!(sqlite_s3, sqlite, s3);
pair!(postgres_s3, postgres, s3);

/// The running test's name, for the line that says it was skipped (the test harness names
/// each test's thread after it).
fn this_test() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a contract test")
        .to_owned()
}

/// Where a backend's database lives.
#[derive(Clone)]
pub enum Location {
    Sqlite {
        path: std::path::PathBuf,
        /// Removed with the last copy of the location.
        _dir: Arc<tempfile::TempDir>,
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

/// A new empty schema, `assetlib_test_<pid>_<n>`; schemas left by test processes that have
/// ended are dropped first (those of processes still running, this one's or another
/// checkout's, are theirs).
async fn fresh_schema(url: &str) -> String {
    use sqlx::Row;
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let pool = sqlx::PgPool::connect(url)
        .await
        .expect("TEST_DATABASE_URL reachable");
    let old =
        sqlx::query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'assetlib\\_test\\_%'")
            .fetch_all(&pool)
            .await
            .expect("list schemas");
    for row in old {
        let name: String = row.get(0);
        let owner = name
            .strip_prefix("assetlib_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let running =
            owner.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if running {
            continue;
        }
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .execute(&pool)
        .await;
    }
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let schema = format!("assetlib_test_{}_{n}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&pool)
        .await
        .expect("create schema");
    pool.close().await;
    schema
}
