//! Test harness: the real server on port 0 with a temp data dir (in process, or the binary as
//! a child process), a local origin server serving generated media, and small JSON helpers. The
//! origin and the child-process handling come from `assetlib-test-support`, shared with the
//! benchmark.

pub mod garage;
pub mod media;
pub mod tus;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assetlib::config::Config;
use assetlib::domain::Role;
use assetlib::fetch::{NameLookup, SystemLookup};
use assetlib::server::Server;
use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

pub use assetlib_test_support::{JOB_LOGS, Origin, Proc, Serve, Stderr, count_by_field};

pub const KYY: &str = "/kyyReactApiServer/kyyVideo2/asset";

/// The server binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_assetlib");

/// `assetlib serve` as a child process on a free port, private networks allowed (the origin is
/// local), `ASSETLIB_LOG=log`, its log lines captured; SIGKILLed when dropped.
pub fn serve(data_dir: &Path, extra: &[&str], log: &str) -> Proc {
    Serve::new(BIN, data_dir)
        .args(extra)
        .log(log)
        .start()
        .unwrap_or_else(|e| panic!("the server starts: {e}"))
}

/// Runs a one-shot command of the binary; returns its exit code and stdout.
pub fn run(args: &[&str]) -> (i32, String) {
    assetlib_test_support::run(Path::new(BIN), args).expect("the command runs")
}

/// A running server with its data directory and an admin key.
pub struct TestApp {
    pub server: Option<Server>,
    pub base: String,
    pub admin_key: String,
    pub client: reqwest::Client,
    pub dir: TempDir,
}

pub fn client() -> reqwest::Client {
    assetlib::fetch::install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("test client")
}

/// Test defaults: port 0, private networks allowed (the origin is on loopback), short timeouts.
pub fn test_config(dir: &Path) -> Config {
    let mut config = Config::for_data_dir(dir);
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.fetch.allow_private_networks = true;
    config.fetch.connect_timeout = Duration::from_secs(2);
    config.fetch.total_timeout = Duration::from_secs(3);
    config.jobs.poll_interval = Duration::from_millis(200);
    // Every test client is on 127.0.0.1, one address; `connections::slow_readers` tests the cap.
    config.http.max_connections_per_address = 0;
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}, Arc::new(SystemLookup)).await
}

pub async fn spawn_app_with(
    adjust: impl FnOnce(&mut Config),
    lookup: Arc<dyn NameLookup>,
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(dir.path());
    adjust(&mut config);
    let server = Server::start_with_lookup(config, lookup)
        .await
        .expect("server starts");
    // Empty when the start did not create one (a second node on a shared database).
    let admin_key = server
        .bootstrap_key
        .as_ref()
        .map(|k| k.secret.clone())
        .unwrap_or_default();
    TestApp {
        base: format!("http://{}", server.addr()),
        server: Some(server),
        admin_key,
        client: client(),
        dir,
    }
}

impl TestApp {
    pub async fn create_key(&self, tenant: &str) -> String {
        let server = self.server.as_ref().expect("running");
        server
            .state()
            .keys
            .create(tenant, Role::Tenant)
            .await
            .expect("key created")
            .secret
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON body ({e}): {text}"))
        };
        (status, body)
    }

    pub async fn get(&self, key: &str, path: &str) -> (StatusCode, Value) {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .bearer_auth(key),
        )
        .await
    }

    pub async fn delete(&self, key: &str, path: &str) -> (StatusCode, Value) {
        self.send(
            self.client
                .delete(format!("{}{path}", self.base))
                .bearer_auth(key),
        )
        .await
    }

    pub async fn post(&self, key: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .bearer_auth(key)
                .json(body),
        )
        .await
    }

    /// kyy upload; returns the HTTP status and the envelope.
    pub async fn kyy_upload(&self, key: &str, asset_type: &str, url: &str) -> (StatusCode, Value) {
        let body = serde_json::json!({ "assetType": asset_type, "url": url, "name": "test asset" });
        self.post(key, &format!("{KYY}/upload"), &body).await
    }

    /// Uploads and returns the new id, failing the test on refusal.
    pub async fn upload_ok(&self, key: &str, asset_type: &str, url: &str) -> String {
        let (status, body) = self.kyy_upload(key, asset_type, url).await;
        assert_eq!(status, StatusCode::OK, "upload of {url} refused: {body}");
        body["data"]["assetId"]
            .as_str()
            .unwrap_or_else(|| panic!("no assetId in {body}"))
            .to_owned()
    }

    /// Polls v1 details until the asset leaves `Processing`; returns the final body.
    pub async fn wait_settled(&self, key: &str, id: &str) -> Value {
        wait_settled(&self.client, &self.base, key, id).await
    }

    /// Jobs still queued or running.
    pub async fn count_jobs(&self) -> u64 {
        let server = self.server.as_ref().expect("running");
        server.state().repo.count_jobs().await.expect("count jobs")
    }

    /// Assets of the tenant of `key`, through the v1 list (all pages).
    pub async fn all_asset_ids(&self, key: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor = String::new();
        loop {
            let (status, body) = self
                .get(key, &format!("/v1/assets?limit=100&cursor={cursor}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            for item in body["items"].as_array().expect("items") {
                ids.push(item["assetId"].as_str().expect("id").to_owned());
            }
            match body["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => return ids,
            }
        }
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// Polls v1 details until the asset leaves `Processing`; returns the final body.
pub async fn wait_settled(client: &reqwest::Client, base: &str, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let resp = client
            .get(format!("{base}/v1/assets/{id}"))
            .bearer_auth(key)
            .send()
            .await
            .expect("details request");
        assert_eq!(resp.status(), StatusCode::OK, "details of {id}");
        let body: Value = resp.json().await.expect("details JSON");
        if body["status"] != "Processing" {
            return body;
        }
        assert!(Instant::now() < deadline, "{id} still Processing: {body}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Every content blob file under a data dir (previews are not counted).
pub fn blob_files(data_dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&data_dir.join("blobs").join("sha256"), &mut out);
    out
}

/// Asserts a JSON object has exactly these keys.
pub fn assert_keys(value: &Value, keys: &[&str]) {
    let obj = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    let mut got: Vec<&str> = obj.keys().map(String::as_str).collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "keys of {value}");
}

/// A fresh PostgreSQL schema for one test, and the database URL that selects it.
pub struct PgSchema {
    pub pool: sqlx::PgPool,
    pub name: String,
    pub url: String,
}

impl PgSchema {
    pub async fn create(pg: &str, prefix: &str) -> Self {
        let pool = sqlx::PgPool::connect(pg).await.expect("postgres");
        let name = format!("{prefix}_{}", std::process::id());
        for sql in [
            format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
            format!("CREATE SCHEMA {name}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("schema");
        }
        let sep = if pg.contains('?') { '&' } else { '?' };
        let url = format!("{pg}{sep}options=-c%20search_path%3D{name}");
        Self { pool, name, url }
    }

    pub async fn remove(self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&self.pool)
            .await;
    }
}

/// A fresh bucket on the S3-compatible test server, as a blob URL; `None` without one (then
/// `test` is said to be skipped on S3, or fails under `ASSETLIB_REQUIRE_BACKENDS=1`).
pub async fn s3_bucket(prefix: &str, test: &str) -> Option<String> {
    let endpoint = assetlib_test_support::opt_in::s3_endpoint(test)?;
    let bucket = format!("{prefix}-{}-{}", std::process::id(), rand::random::<u32>());
    assetlib::fetch::install_crypto_provider();
    let credentials = assetlib_test_support::s3::Credentials::from_env();
    assetlib_test_support::s3::create_bucket(&endpoint, &bucket, &credentials)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    Some(format!("s3://{bucket}"))
}

/// Uploads an image by URL through the kyy face of a server at `base`; the new asset's id.
pub async fn upload_image(base: &str, key: &str, url: &str) -> String {
    let resp = client()
        .post(format!("{base}{KYY}/upload"))
        .bearer_auth(key)
        .json(&serde_json::json!({"assetType": "Image", "url": url}))
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    body["data"]["assetId"]
        .as_str()
        .unwrap_or_else(|| panic!("no asset id: {body}"))
        .to_owned()
}

/// An in-process node on the shared database and blob store; `adjust` sets the rest.
pub async fn node_on(
    database_url: &str,
    blob_url: &str,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let (db, bu) = (database_url.to_owned(), blob_url.to_owned());
    spawn_app_with(
        move |c| {
            c.database_url = db;
            c.blob_url = bu;
            adjust(c);
        },
        Arc::new(SystemLookup),
    )
    .await
}
