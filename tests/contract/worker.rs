//! The worker loop over the real queue: success completes, transient errors retry with
//! backoff until the last attempt, permanent errors give up at once, and stale leases of a
//! dead worker are taken over.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assetlib::config::JobConfig;
use assetlib::domain::{AssetId, AssetType};
use assetlib::jobs::{JobError, JobHandler, spawn_workers};
use assetlib::repo::{Job, NewAsset, NewJob, Repo};
use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::Notify;

use crate::backends::per_backend;

/// Answers per asset id: how many attempts fail before success, and how they fail.
struct Scripted {
    failures: u32,
    error: fn(String) -> JobError,
    runs: Mutex<Vec<(String, u32)>>,
    gave_up: Mutex<Vec<(String, String)>>,
}

impl Scripted {
    /// Fails the first `failures` attempts with `error`, then succeeds.
    fn new(failures: u32, error: fn(String) -> JobError) -> Arc<Self> {
        Arc::new(Self {
            failures,
            error,
            runs: Mutex::default(),
            gave_up: Mutex::default(),
        })
    }
}

#[async_trait]
impl JobHandler for Scripted {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.runs
            .lock()
            .expect("lock")
            .push((job.asset_id.clone(), job.attempts));
        if job.attempts <= self.failures {
            Err((self.error)(format!("failure {}", job.attempts)))
        } else {
            Ok(())
        }
    }

    async fn give_up(&self, job: &Job, reason: &str) {
        self.gave_up
            .lock()
            .expect("lock")
            .push((job.asset_id.clone(), reason.to_owned()));
    }
}

async fn enqueue(repo: &Arc<dyn Repo>, id: &str, max_attempts: u32) {
    let asset = NewAsset {
        id: AssetId::parse(id).expect("id"),
        tenant: "t".into(),
        name: None,
        asset_type: AssetType::Image,
        url: "https://example.com/a.png".into(),
        sha256: "0".repeat(64),
        bytes: 1,
        format: None,
        group_id: None,
        created_at: Utc::now(),
    };
    let job = NewJob {
        kind: "process-asset".into(),
        max_attempts,
        request_id: None,
    };
    repo.insert_asset_with_job(&asset, &job)
        .await
        .expect("enqueue");
}

fn fast() -> JobConfig {
    JobConfig {
        workers: 2,
        lease: Duration::from_secs(5),
        max_attempts: 3,
        backoff_base: Duration::from_millis(20),
        poll_interval: Duration::from_millis(20),
        shutdown_grace: Duration::from_secs(5),
    }
}

async fn until_empty(repo: &Arc<dyn Repo>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while repo.count_jobs().await.expect("count") > 0 {
        assert!(Instant::now() < deadline, "jobs left in the queue");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two workers on `repo` run one job for asset `asset-20260101000001-aaaaa` to its end.
async fn run_one_job(repo: &Arc<dyn Repo>, handler: &Arc<Scripted>, max_attempts: u32) {
    let pool = spawn_workers(
        "t",
        repo.clone(),
        handler.clone(),
        &fast(),
        Arc::new(Notify::new()),
    );
    enqueue(repo, "asset-20260101000001-aaaaa", max_attempts).await;
    until_empty(repo).await;
    pool.shutdown().await;
}

async fn retries_then_succeeds(repo: Arc<dyn Repo>) {
    let handler = Scripted::new(2, JobError::Retry);
    run_one_job(&repo, &handler, 3).await;
    let runs = handler.runs.lock().expect("lock").clone();
    assert_eq!(runs.iter().map(|r| r.1).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(handler.gave_up.lock().expect("lock").is_empty());
}

async fn transient_errors_give_up_after_the_last_attempt_with_the_last_reason(repo: Arc<dyn Repo>) {
    let handler = Scripted::new(99, JobError::Retry);
    run_one_job(&repo, &handler, 3).await;
    assert_eq!(handler.runs.lock().expect("lock").len(), 3);
    let gave_up = handler.gave_up.lock().expect("lock").clone();
    assert_eq!(
        gave_up,
        vec![(
            "asset-20260101000001-aaaaa".to_owned(),
            "failure 3".to_owned()
        )]
    );
}

async fn permanent_errors_give_up_at_once(repo: Arc<dyn Repo>) {
    let handler = Scripted::new(99, JobError::Abort);
    run_one_job(&repo, &handler, 5).await;
    assert_eq!(handler.runs.lock().expect("lock").len(), 1);
    assert_eq!(handler.gave_up.lock().expect("lock").len(), 1);
}

async fn a_dead_workers_lease_is_taken_over_and_a_wake_up_starts_work_at_once(repo: Arc<dyn Repo>) {
    enqueue(&repo, "asset-20260101000001-aaaaa", 5).await;
    // A worker that claimed the job and died: its short lease expires.
    let claimed = repo
        .claim_job("dead", Duration::from_millis(50))
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(claimed.attempts, 1);

    let handler = Scripted::new(0, JobError::Retry);
    let mut config = fast();
    config.poll_interval = Duration::from_secs(3600); // only wake-ups and the loop itself
    let wake = Arc::new(Notify::new());
    let pool = spawn_workers("t", repo.clone(), handler.clone(), &config, wake.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The first claim (before expiry) found nothing; a wake-up makes the idle worker look again.
    wake.notify_one();
    until_empty(&repo).await;
    let runs = handler.runs.lock().expect("lock").clone();
    assert_eq!(runs, vec![("asset-20260101000001-aaaaa".to_owned(), 2)]);

    enqueue(&repo, "asset-20260101000002-bbbbb", 5).await;
    wake.notify_one();
    until_empty(&repo).await;
    // Done within the deadline, far below the hour-long poll interval: the wake-up worked.
    pool.shutdown().await;
}

/// Never finishes: the job is still running when the node stops.
#[derive(Default)]
struct Stuck {
    started: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl JobHandler for Stuck {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::future::pending().await
    }

    async fn give_up(&self, _job: &Job, _reason: &str) {}
}

async fn shutdown_hands_unfinished_jobs_back_uncounted(repo: Arc<dyn Repo>) {
    enqueue(&repo, "asset-20260101000001-aaaaa", 5).await;
    let mut config = fast();
    config.lease = Duration::from_secs(3600); // only a hand-back frees it soon
    config.shutdown_grace = Duration::from_millis(200);
    let stuck = Arc::new(Stuck::default());
    let pool = spawn_workers(
        "stopping",
        repo.clone(),
        stuck.clone(),
        &config,
        Arc::new(Notify::new()),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while stuck.started.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the job was never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pool.shutdown().await, 1, "one job handed back");

    // Another node takes it at once, as attempt 1 (the interrupted one is not counted).
    let handler = Scripted::new(0, JobError::Retry);
    let pool = spawn_workers(
        "next",
        repo.clone(),
        handler.clone(),
        &fast(),
        Arc::new(Notify::new()),
    );
    until_empty(&repo).await;
    assert_eq!(pool.shutdown().await, 0);
    let runs = handler.runs.lock().expect("lock").clone();
    assert_eq!(runs, vec![("asset-20260101000001-aaaaa".to_owned(), 1)]);
}

per_backend!(sqlite: crate::backends::sqlite, postgres: crate::backends::postgres => {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    [
        retries_then_succeeds,
        transient_errors_give_up_after_the_last_attempt_with_the_last_reason,
        permanent_errors_give_up_at_once,
        a_dead_workers_lease_is_taken_over_and_a_wake_up_starts_work_at_once,
        shutdown_hands_unfinished_jobs_back_uncounted,
    ]
});
