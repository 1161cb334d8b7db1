//! Scale-out on a real distributed object store, broken on purpose: two assetlib processes on
//! one PostgreSQL database and a Garage cluster of the test's own (three nodes, replication
//! factor 3; node A talks S3 to Garage node 0, node B to Garage node 1) take uploads from
//! several clients while Garage node 2 and assetlib node B are SIGKILLed at once. While two
//! Garage nodes of three live, every upload that reaches a live server is acknowledged; with
//! two down, uploads are refused quickly with `503 unavailable` and `Retry-After` (no hang);
//! after the restarts uploads go on. At the end no acknowledged asset is lost: each is Active,
//! its content answers its exact bytes, and `fsck` is clean.
//!
//! Runs when `TEST_DATABASE_URL` and `TEST_GARAGE_BIN` are set (`.ci/run` sets both with
//! `ASSETLIB_REQUIRE_BACKENDS=1`; `scripts/garage-cluster.sh start` prints the second).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assetlib_test_support::opt_in;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::garage::GarageCluster;
use crate::common::{BIN, JOB_LOGS, KYY, Origin, PgSchema, Proc, Serve, client, media};

const CLIENTS: usize = 4;
/// How long a node retries a failing S3 request before answering.
const BLOB_RETRY_SECS: &str = "3";

/// What one upload attempt got.
#[derive(Debug, Clone)]
enum Outcome {
    Acknowledged(String),
    Refused(StatusCode, Value, Option<String>),
    /// No answer: the node is dead or died during the request (the error, for failure messages).
    Unreachable(#[allow(dead_code)] String),
}

#[derive(Debug, Clone)]
struct Attempt {
    node: String,
    content: usize,
    /// The phase when the attempt started and when it ended.
    phases: (usize, usize),
    outcome: Outcome,
}

/// Clients uploading distinct images, each to a live node (and again to another live node when
/// one does not answer), until stopped.
struct Clients {
    live: Mutex<Vec<String>>,
    next: AtomicUsize,
    stop: AtomicBool,
    phase: AtomicUsize,
    attempts: Mutex<Vec<Attempt>>,
    urls: Vec<String>,
}

impl Clients {
    fn acknowledged_in(&self, phase: usize) -> usize {
        self.attempts
            .lock()
            .expect("attempts")
            .iter()
            .filter(|a| a.phases.0 == phase && matches!(a.outcome, Outcome::Acknowledged(_)))
            .count()
    }

    async fn run(self: Arc<Self>, key: String) {
        let http = client();
        let mut turn = 0usize;
        while !self.stop.load(Ordering::SeqCst) {
            let content = self.next.fetch_add(1, Ordering::SeqCst);
            let Some(url) = self.urls.get(content).cloned() else {
                // Only a run of failures uses up the images: say what they were.
                let attempts = self.attempts.lock().expect("attempts");
                let last: Vec<_> = attempts.iter().rev().take(8).collect();
                panic!("more than {} uploads; the last: {last:#?}", self.urls.len());
            };
            for _ in 0..5 {
                turn += 1;
                let node = {
                    let live = self.live.lock().expect("live");
                    live[turn % live.len()].clone()
                };
                let start = self.phase.load(Ordering::SeqCst);
                let outcome = upload(&http, &node, &key, &url).await;
                let end = self.phase.load(Ordering::SeqCst);
                let unreachable = matches!(outcome, Outcome::Unreachable(_));
                self.attempts.lock().expect("attempts").push(Attempt {
                    node,
                    content,
                    phases: (start, end),
                    outcome,
                });
                if !unreachable {
                    break;
                }
            }
        }
    }

    /// Runs the clients until `count` uploads started in the current phase are acknowledged.
    async fn until_acknowledged(self: &Arc<Self>, key: &str, count: usize) {
        self.stop.store(false, Ordering::SeqCst);
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| tokio::spawn(Arc::clone(self).run(key.to_owned())))
            .collect();
        let phase = self.phase.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.acknowledged_in(phase) < count {
            assert!(
                Instant::now() < deadline,
                "phase {phase}: {} of {count} uploads acknowledged: {:#?}",
                self.acknowledged_in(phase),
                self.attempts.lock().expect("attempts")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.stop.store(true, Ordering::SeqCst);
        for task in tasks {
            task.await.expect("a client ended");
        }
    }
}

async fn upload(http: &reqwest::Client, base: &str, key: &str, url: &str) -> Outcome {
    let sent = http
        .post(format!("{base}{KYY}/upload"))
        .bearer_auth(key)
        .json(&serde_json::json!({"assetType": "Image", "url": url}))
        .send()
        .await;
    let resp = match sent {
        Ok(resp) => resp,
        Err(e) => return Outcome::Unreachable(e.to_string()),
    };
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = match resp.json().await {
        Ok(body) => body,
        Err(e) => return Outcome::Unreachable(e.to_string()),
    };
    match body["data"]["assetId"].as_str() {
        Some(id) if status == StatusCode::OK => Outcome::Acknowledged(id.to_owned()),
        _ => Outcome::Refused(status, body, retry_after),
    }
}

/// One assetlib node on the shared database and bucket, its S3 requests sent to Garage node
/// `garage_node`.
fn node(
    cluster: &GarageCluster,
    garage_node: usize,
    storage: &[String],
    dir: &std::path::Path,
) -> Proc {
    let mut serve = Serve::new(BIN, dir)
        .args(storage)
        .args([
            "--signing-secret",
            "garage-faults-signing-secret",
            "--workers",
            "2",
            "--job-lease-secs",
            "3",
            "--blob-retry-secs",
            BLOB_RETRY_SECS,
        ])
        .log(JOB_LOGS);
    for (name, value) in cluster.s3_env(garage_node) {
        serve = serve.env(name, value);
    }
    serve
        .start()
        .unwrap_or_else(|e| panic!("the server starts: {e}"))
}

/// `assetlib ARGS… STORAGE…` with the cluster's S3 variables; exit code and stdout.
fn cli(cluster: &GarageCluster, args: &[&str], storage: &[String]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("cli dir");
    let out = std::process::Command::new(BIN)
        .args(args)
        .args(storage)
        .arg("--data-dir")
        .arg(dir.path())
        .envs(cluster.s3_env(0))
        .env("ASSETLIB_LOG", "warn")
        .output()
        .expect("the command runs");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn settle_all(http: &reqwest::Client, bases: &[&str], key: &str, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        let body = crate::common::wait_settled(http, bases[i % bases.len()], key, id).await;
        assert_eq!(body["status"], "Active", "{id}: {body}");
    }
}

fn acknowledged(attempts: &[Attempt]) -> Vec<(String, usize)> {
    attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Acknowledged(id) => Some((id.clone(), a.content)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uploads_survive_a_garage_node_and_an_assetlib_node_killed_at_once() {
    let test = "the Garage fault test";
    let Some(pg) = opt_in::database_url(test) else {
        return;
    };
    let Some(garage) = opt_in::garage_bin(test) else {
        return;
    };
    assetlib::fetch::install_crypto_provider();
    let cluster = GarageCluster::start(&garage);
    let bucket = format!("assetlib-faults-{}", std::process::id());
    assetlib_test_support::s3::create_bucket(&cluster.endpoint(0), &bucket, &cluster.credentials())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let schema = PgSchema::create(&pg, "assetlib_garage_faults").await;
    let storage = vec![
        "--database-url".to_owned(),
        schema.url.clone(),
        "--blob-url".to_owned(),
        format!("s3://{bucket}"),
    ];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let a = node(&cluster, 0, &storage, dirs[0].path());
    let mut b = node(&cluster, 1, &storage, dirs[1].path());
    let (code, out) = cli(
        &cluster,
        &["keys", "create", "--tenant", "faults"],
        &storage,
    );
    assert_eq!(code, 0, "{out}");
    let key = out.lines().last().expect("key line").trim().to_owned();

    let origin = Origin::start().await;
    // More images than the phases acknowledge (32) with room for slow phases, in which more
    // uploads are still under way when a phase has its count.
    let images: Vec<Vec<u8>> = (0..160u32).map(|i| media::png(300 + i, 300)).collect();
    let urls = images
        .iter()
        .enumerate()
        .map(|(i, png)| origin.put(&format!("p{i}.png"), png.clone(), "image/png"))
        .collect();
    let clients = Arc::new(Clients {
        live: Mutex::new(vec![a.base.clone(), b.base.clone()]),
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        phase: AtomicUsize::new(0),
        attempts: Mutex::new(Vec::new()),
        urls,
    });
    let http = client();

    // Phase 0: everything up; both nodes take uploads.
    clients.until_acknowledged(&key, 12).await;
    let first_b = b.base.clone();
    assert!(
        clients
            .attempts
            .lock()
            .expect("attempts")
            .iter()
            .any(|a| a.node == first_b && matches!(a.outcome, Outcome::Acknowledged(_))),
        "B took uploads before it was killed"
    );

    // Phase 1: Garage node 2 and assetlib node B killed at once, while the clients upload.
    clients.stop.store(false, Ordering::SeqCst);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(Arc::clone(&clients).run(key.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    clients.phase.store(1, Ordering::SeqCst);
    cluster.kill(2);
    b.kill();
    clients
        .live
        .lock()
        .expect("live")
        .retain(|base| *base == a.base);
    let deadline = Instant::now() + Duration::from_secs(90);
    while clients.acknowledged_in(1) < 12 {
        assert!(
            Instant::now() < deadline,
            "uploads stalled with one Garage node down: {:#?}",
            clients
                .attempts
                .lock()
                .expect("attempts")
                .iter()
                .filter(|a| a.phases.1 >= 1)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    clients.stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.expect("a client ended");
    }
    let so_far = acknowledged(&clients.attempts.lock().expect("attempts"));
    // Reads while a Garage node is down: every asset settles and answers its bytes.
    let ids: Vec<String> = so_far.iter().map(|(id, _)| id.clone()).collect();
    settle_all(&http, &[a.base.as_str()], &key, &ids).await;
    for (id, content) in &so_far {
        let bytes = content_of(&http, &a.base, &key, id).await;
        assert!(bytes == images[*content], "{id}: other bytes");
    }

    // Phase 2: two Garage nodes of three down. Uploads are refused quickly and say to retry.
    clients.phase.store(2, Ordering::SeqCst);
    cluster.kill(1);
    let refused = futures_util::future::join_all((0..CLIENTS).map(|i| {
        let (http, base, key) = (http.clone(), a.base.clone(), key.clone());
        let url = clients.urls[clients.urls.len() - 1 - i].clone();
        async move {
            let outcome =
                tokio::time::timeout(Duration::from_secs(60), upload(&http, &base, &key, &url))
                    .await;
            outcome.expect("an upload hung with two Garage nodes down")
        }
    }))
    .await;
    for outcome in refused {
        let Outcome::Refused(status, body, retry_after) = &outcome else {
            panic!("not refused with two Garage nodes down: {outcome:?}");
        };
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], 5003, "{body}");
        assert!(
            body["msg"]
                .as_str()
                .is_some_and(|m| m.contains("blob store") && m.contains("try again")),
            "{body}"
        );
        assert!(retry_after.is_some(), "no Retry-After: {body}");
    }

    // Phase 3: the Garage nodes and node B back; uploads go on on both nodes.
    cluster.restart_dead();
    let b = node(&cluster, 1, &storage, dirs[2].path());
    *clients.live.lock().expect("live") = vec![a.base.clone(), b.base.clone()];
    clients.phase.store(3, Ordering::SeqCst);
    clients.until_acknowledged(&key, 8).await;

    let attempts = clients.attempts.lock().expect("attempts").clone();
    // No upload to a live server failed while two Garage nodes of three lived: the only
    // failures are requests to B as it was killed (retried on A).
    for attempt in &attempts {
        if let Outcome::Acknowledged(_) = attempt.outcome {
            continue;
        }
        let killed_b = attempt.node != a.base && attempt.phases.1 >= 1 && attempt.phases.0 <= 1;
        assert!(
            killed_b && matches!(attempt.outcome, Outcome::Unreachable(_)),
            "failed with a Garage quorum alive: {attempt:?}"
        );
    }
    let all = acknowledged(&attempts);
    assert!(all.len() >= 32, "{} acknowledged", all.len());
    // Every acknowledged asset is Active and answers its exact bytes, from either node.
    let ids: Vec<String> = all.iter().map(|(id, _)| id.clone()).collect();
    settle_all(&http, &[a.base.as_str(), b.base.as_str()], &key, &ids).await;
    for (i, (id, content)) in all.iter().enumerate() {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let bytes = content_of(&http, base, &key, id).await;
        assert!(bytes == images[*content], "{id}: other bytes");
    }
    let (code, out) = cli(&cluster, &["fsck", "--json"], &storage);
    assert_eq!(code, 0, "fsck: {out}");
    drop((a, b));
    schema.remove().await;
}

async fn content_of(http: &reqwest::Client, base: &str, key: &str, id: &str) -> Vec<u8> {
    let resp = http
        .get(format!("{base}/v1/assets/{id}/content"))
        .bearer_auth(key)
        .send()
        .await
        .expect("content");
    assert_eq!(resp.status(), StatusCode::OK, "content of {id}");
    resp.bytes().await.expect("content bytes").to_vec()
}
