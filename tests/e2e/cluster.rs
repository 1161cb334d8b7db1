//! Several real assetlib processes on one PostgreSQL database and one S3-compatible bucket:
//! every upload processed exactly once wherever it lands, each blob stored once, a node killed
//! while it holds leases loses nothing, and `fsck` finds and repairs what breaks underneath.
//! Runs when `TEST_DATABASE_URL` is set (`.ci/run` sets it, and `TEST_S3_ENDPOINT`).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use assetlib_test_support::opt_in;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row;

use crate::common::{
    JOB_LOGS, Origin, PgSchema, Proc, client, count_by_field, media, run, s3_bucket, serve,
    upload_image, wait_settled,
};

const SECRET: &str = "cluster-signing-secret";

/// The shared database and blob store of one test's cluster.
struct Shared {
    schema: PgSchema,
    blob_url: String,
    _blob_dir: tempfile::TempDir,
    dirs: Vec<tempfile::TempDir>,
}

impl Shared {
    async fn create(pg: &str, prefix: &str) -> Self {
        let schema = PgSchema::create(pg, prefix).await;
        let blob_dir = tempfile::tempdir().expect("blob dir");
        let on_s3 = format!("the {prefix} cluster on S3 (it uses a directory instead)");
        let blob_url = match s3_bucket(&prefix.replace('_', "-"), &on_s3).await {
            Some(url) => url,
            None => format!("file://{}", blob_dir.path().display()),
        };
        Self {
            schema,
            blob_url,
            _blob_dir: blob_dir,
            dirs: Vec::new(),
        }
    }

    fn storage_args(&self) -> Vec<String> {
        vec![
            "--database-url".into(),
            self.schema.url.clone(),
            "--blob-url".into(),
            self.blob_url.clone(),
        ]
    }

    /// A node with its own data directory (temp files only) on the shared stores.
    fn node(&mut self, extra: &[&str]) -> Proc {
        let dir = tempfile::tempdir().expect("node dir");
        let mut args: Vec<String> = self.storage_args();
        args.extend(["--signing-secret".into(), SECRET.into()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let node = serve(dir.path(), &args, JOB_LOGS);
        self.dirs.push(dir);
        node
    }

    /// `assetlib <command> … --database-url … --blob-url …` from a scratch directory.
    fn cli(&self, command: &[&str]) -> (i32, String) {
        let dir = tempfile::tempdir().expect("cli dir");
        let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
        args.extend(self.storage_args());
        args.extend(["--data-dir".into(), dir.path().display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args)
    }

    fn create_key(&self, tenant: &str) -> String {
        let (code, out) = self.cli(&["keys", "create", "--tenant", tenant]);
        assert_eq!(code, 0, "{out}");
        out.lines().last().expect("key line").trim().to_owned()
    }

    fn fsck(&self, extra: &[&str]) -> (i32, Value) {
        let mut command = vec!["fsck", "--json"];
        command.extend_from_slice(extra);
        let (code, out) = self.cli(&command);
        let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        (code, report)
    }

    async fn count(&self, sql: &str) -> i64 {
        let sql = sql.replace("{s}", &self.schema.name);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.schema.pool)
            .await
            .expect("query")
            .get(0)
    }

    fn blob_store(&self) -> std::sync::Arc<dyn assetlib::blob::BlobStore> {
        assetlib::fetch::install_crypto_provider();
        assetlib::blob::open(&self.blob_url).expect("blob store")
    }

    async fn remove(self) {
        self.schema.remove().await;
    }
}

/// Uploads `urls` spread round-robin over `nodes`, eight at a time.
async fn upload_all(nodes: &[&str], key: &str, urls: &[String]) -> Vec<String> {
    futures_util::stream::iter(urls.iter().enumerate())
        .map(|(i, url)| upload_image(nodes[i % nodes.len()], key, url))
        .buffered(8)
        .collect()
        .await
}

fn all_logs(nodes: &[&Proc]) -> Vec<String> {
    nodes.iter().flat_map(|n| n.logs()).collect()
}

/// The nodes' log lines once each of `assets` has its "job finished" line among them, or
/// after 30 s. A node writes the line before it deletes the job, but the test reads it out
/// of the node's stderr on a thread of its own, which a loaded machine may run late: a job
/// seen gone is not yet a line seen.
async fn logs_once_finished(nodes: &[&Proc], assets: &[&String]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = all_logs(nodes);
        let finished = count_by_field(&logs, "job finished", "asset");
        if assets.iter().all(|a| finished.contains_key(*a)) || Instant::now() >= deadline {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_process_300_uploads_exactly_once_and_store_each_blob_once() {
    let Some(pg) = opt_in::database_url("the cluster test") else {
        return;
    };
    let mut shared = Shared::create(&pg, "assetlib_cluster").await;
    let presign = shared.blob_url.starts_with("s3://");
    let a = shared.node(if presign {
        &["--workers", "2", "--presign-content"]
    } else {
        &["--workers", "2"]
    });
    let b = shared.node(&["--workers", "2"]);
    let c = shared.node(&["--workers", "2"]);
    let key = shared.create_key("cluster");

    // 30 different images, each uploaded 10 times: 300 assets, 30 blobs.
    let origin = Origin::start().await;
    let distinct: Vec<String> = (0..30)
        .map(|i| origin.put(&format!("p{i}.png"), media::png(300 + i, 300), "image/png"))
        .collect();
    let urls: Vec<String> = (0..300).map(|i| distinct[i % 30].clone()).collect();
    let ids = upload_all(&[&a.base, &b.base, &c.base], &key, &urls).await;
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 300);

    let http = client();
    for (i, id) in ids.iter().enumerate() {
        let node = [&a, &b, &c][(i + 1) % 3]; // asked on another node than the one uploaded to
        let body = wait_settled(&http, &node.base, &key, id).await;
        assert_eq!(body["status"], "Active", "{id}: {body}");
    }
    assert_eq!(shared.count("SELECT COUNT(*) FROM {s}.jobs").await, 0);

    // Exactly once: one "job finished" line per asset over the three processes' logs, and
    // work really was spread over the nodes.
    let logs = logs_once_finished(&[&a, &b, &c], &ids.iter().collect::<Vec<_>>()).await;
    let finished = count_by_field(&logs, "job finished", "asset");
    let unfinished: Vec<_> = ids
        .iter()
        .filter(|id| !finished.contains_key(*id))
        .collect();
    assert!(
        unfinished.is_empty(),
        "no \"job finished\" line: {unfinished:?}"
    );
    assert_eq!(finished.len(), 300, "every asset processed");
    let twice: Vec<_> = finished.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "processed more than once: {twice:?}");
    for node in [&a, &b, &c] {
        let mine = count_by_field(&node.logs(), "job finished", "asset").len();
        assert!(mine > 0, "a node processed nothing");
    }
    let lost: Vec<_> = logs
        .iter()
        .filter(|l| l.contains("lease lost") || l.contains("will be retried"))
        .collect();
    assert!(
        lost.is_empty(),
        "no lease was lost and nothing was retried: {lost:#?}"
    );

    // Each blob stored once: 30 uploads wrote bytes, 270 found them there, and the store
    // holds 30 blobs.
    let registered = logs
        .iter()
        .filter(|l| l.contains("asset registered"))
        .collect::<Vec<_>>();
    assert_eq!(registered.len(), 300);
    let stored = registered
        .iter()
        .filter(|l| l.contains("dedup=false"))
        .count();
    assert_eq!(stored, 30, "one write per distinct content");
    let blobs = shared.blob_store();
    assert_eq!(blobs.list().await.expect("list").len(), 30);

    // With presigning on, node A resolves assets to URLs of the object store itself.
    if presign {
        let resp = http
            .post(format!("{}/v1/resolve", a.base))
            .bearer_auth(&key)
            .json(&serde_json::json!({"first_image": format!("asset://{}", ids[0])}))
            .send()
            .await
            .expect("resolve");
        assert_eq!(resp.status(), StatusCode::OK);
        let resolved: Value = resp.json().await.expect("json");
        let url = resolved["first_image"].as_str().expect("url").to_owned();
        let endpoint = std::env::var("TEST_S3_ENDPOINT").expect("endpoint");
        assert!(url.starts_with(&endpoint), "{url}");
        let bytes = http.get(&url).send().await.expect("get").bytes().await;
        assert_eq!(
            bytes.expect("body").as_ref(),
            media::png(300, 300).as_slice()
        );
    }

    let (code, report) = shared.fsck(&["--grace-secs", "0"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["assets_checked"], 300);
    assert_eq!(report["blobs_checked"], 30);

    // Break things underneath: lose one blob (10 assets use it), leave an orphan behind.
    let lost = &blobs.list().await.expect("list")[0].sha256;
    blobs.delete(lost).await.expect("delete");
    let scratch = tempfile::tempdir().expect("dir");
    let orphan_file = scratch.path().join("orphan");
    std::fs::write(&orphan_file, b"bytes nobody registered").expect("write");
    let orphan = {
        use sha2::Digest;
        assetlib::fetch::hex(&sha2::Sha256::digest(b"bytes nobody registered"))
    };
    blobs
        .put_file(&orphan, &orphan_file, "application/octet-stream")
        .await
        .expect("orphan");

    let (code, report) = shared.fsck(&["--grace-secs", "3600"]);
    assert_eq!(code, 4, "{report}");
    assert_eq!(report["missing_blobs"].as_array().map(Vec::len), Some(10));
    assert_eq!(
        report["orphan_blobs"].as_array().map(Vec::len),
        Some(0),
        "young"
    );
    assert_eq!(report["recent_unreferenced_blobs"], 1);
    let (code, report) = shared.fsck(&["--grace-secs", "0", "--repair"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["orphan_blobs"][0]["sha256"], orphan.as_str());
    assert_eq!(report["repaired"]["orphan_blobs_removed"], 1);
    assert_eq!(report["repaired"]["assets_marked_failed"], 10);
    let failed = report["missing_blobs"][0]["asset_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let body = wait_settled(&http, &b.base, &key, &failed).await;
    assert_eq!(body["status"], "Failed", "{body}");
    assert!(body.to_string().contains("content-missing"), "{body}");
    let (code, report) = shared.fsck(&["--grace-secs", "0"]);
    assert_eq!(code, 0, "{report}");

    drop((a, b, c));
    shared.remove().await;
}

/// `n` distinct large JPEGs on the origin: each keeps a worker's face check busy for a while.
fn big_photos(origin: &Origin, n: u32) -> Vec<String> {
    (0..n)
        .map(|i| {
            origin.put(
                &format!("big{i}.jpg"),
                media::jpeg(1800 + i, 1400),
                "image/jpeg",
            )
        })
        .collect()
}

/// Waits until `node` (by pid) holds at least one running lease; returns the asset ids.
async fn leases_of(shared: &Shared, pid: u32, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let sql = format!(
            "SELECT asset_id FROM {}.jobs WHERE state = 'running' AND lease_owner LIKE 'node-{pid}-%'",
            shared.schema.name
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&shared.schema.pool)
            .await
            .expect("leases");
        if !rows.is_empty() {
            return rows.iter().map(|r| r.get::<String, _>(0)).collect();
        }
        assert!(Instant::now() < deadline, "the node never held a lease");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_holding_leases_loses_nothing() {
    let Some(pg) = opt_in::database_url("the node-failure test") else {
        return;
    };
    let mut shared = Shared::create(&pg, "assetlib_killed").await;
    // Short leases so the survivors take over soon; C only processes what A and B accept.
    let lease = ["--job-lease-secs", "2"];
    let a = shared.node(&[&lease[..], &["--workers", "1"]].concat());
    let b = shared.node(&[&lease[..], &["--workers", "1"]].concat());
    let mut c = shared.node(&[&lease[..], &["--workers", "2"]].concat());
    let key = shared.create_key("killed");

    // Large photos keep the face check busy long enough to catch C holding leases.
    let origin = Origin::start().await;
    let urls = big_photos(&origin, 24);
    let ids = upload_all(&[&a.base, &b.base], &key, &urls).await;
    let held = leases_of(&shared, c.pid(), Duration::from_secs(60)).await;
    c.kill(); // SIGKILL while holding `held`
    let finished_by_c = count_by_field(&c.logs(), "job finished", "asset");

    let http = client();
    for id in &ids {
        let body = wait_settled(&http, &a.base, &key, id).await;
        assert_eq!(body["status"], "Active", "{id}: {body}");
    }
    assert_eq!(shared.count("SELECT COUNT(*) FROM {s}.jobs").await, 0);
    // What C held (and did not finish in the instant before the kill) was finished by the
    // survivors, as a second attempt after the lease expired.
    let taken_over: Vec<_> = held
        .iter()
        .filter(|a| !finished_by_c.contains_key(*a))
        .collect();
    assert!(!taken_over.is_empty(), "C was killed with jobs in hand");
    let logs = logs_once_finished(&[&a, &b], &taken_over).await;
    for asset in taken_over {
        let done_here: Vec<_> = logs
            .iter()
            .filter(|l| l.contains("job finished") && l.contains(asset.as_str()))
            .collect();
        assert_eq!(done_here.len(), 1, "{asset}: {done_here:?}");
        assert!(done_here[0].contains("attempt=2"), "{}", done_here[0]);
    }
    let (code, report) = shared.fsck(&[]);
    assert_eq!(code, 0, "nothing stuck, nothing lost: {report}");
    assert_eq!(report["assets_checked"], 24);
    drop((a, b));
    shared.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_running_jobs_to_the_other_nodes() {
    let Some(pg) = opt_in::database_url("the shutdown test") else {
        return;
    };
    let mut shared = Shared::create(&pg, "assetlib_sigterm").await;
    // Leases far longer than the test: only a hand-back lets the others finish in time.
    let a = shared.node(&["--job-lease-secs", "600", "--workers", "1"]);
    let mut c = shared.node(&[
        "--job-lease-secs",
        "600",
        "--workers",
        "2",
        "--shutdown-grace-secs",
        "0",
    ]);
    let key = shared.create_key("sigterm");
    let origin = Origin::start().await;
    let urls = big_photos(&origin, 16);
    let ids = upload_all(&[&a.base], &key, &urls).await;
    let held = leases_of(&shared, c.pid(), Duration::from_secs(60)).await;
    let status = c
        .terminate(Duration::from_secs(30))
        .expect("the node stops after SIGTERM");
    assert!(status.success(), "clean exit: {status:?}");
    let handed = c
        .logs()
        .iter()
        .filter(|l| l.contains("handed back"))
        .count();
    assert!(
        handed >= 1,
        "C handed its running jobs back: {:?}",
        c.logs()
    );

    let http = client();
    for id in &ids {
        let body = wait_settled(&http, &a.base, &key, id).await;
        assert_eq!(body["status"], "Active", "{id}: {body}");
    }
    // Not waiting out a 10-minute lease: A took C's unfinished jobs at once, as their first
    // attempt (the interrupted one is not counted). A settles an asset, then logs its job
    // finished: the lines are waited for.
    let finished_by_c = count_by_field(&c.logs(), "job finished", "asset");
    let taken_over: Vec<_> = held
        .iter()
        .filter(|a| !finished_by_c.contains_key(*a))
        .collect();
    let logs = logs_once_finished(&[&a], &taken_over).await;
    for asset in taken_over {
        let line = logs
            .iter()
            .find(|l| l.contains("job finished") && l.contains(asset.as_str()));
        let line = line.unwrap_or_else(|| panic!("{asset} finished by A"));
        assert!(line.contains("attempt=1"), "{line}");
    }
    drop(a);
    shared.remove().await;
}
