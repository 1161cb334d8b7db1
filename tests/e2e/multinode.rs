//! Two nodes on one PostgreSQL database and one blob store: an upload to either is processed
//! by whichever node claims it, and both answer for every asset. Runs when `TEST_DATABASE_URL`
//! is set (`.ci/run` sets it, and `ASSETLIB_REQUIRE_BACKENDS=1`).

use assetlib_test_support::opt_in;
use reqwest::StatusCode;

use crate::common::{BIN, KYY, Origin, PgSchema, Proc, Stderr, media, node_on, wait_settled};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_postgres_and_one_blob_store() {
    let Some(pg) = opt_in::database_url("the two-node test") else {
        return;
    };
    let schema = PgSchema::create(&pg, "assetlib_e2e").await;
    let database_url = schema.url.clone();
    // One blob store for both nodes: the S3-compatible server when there is one.
    let blobs = tempfile::tempdir().expect("shared blob dir");
    let blob_url = match crate::common::s3_bucket(
        "assetlib-nodes",
        "the two-node test on S3 (it uses a directory instead)",
    )
    .await
    {
        Some(url) => url,
        None => format!("file://{}", blobs.path().display()),
    };

    let a = node_on(&database_url, &blob_url, |c| {
        c.signing_secret = Some("shared-secret-of-the-cluster".into());
    })
    .await;
    let b = node_on(&database_url, &blob_url, |c| {
        c.bootstrap_admin_key = false;
        c.signing_secret = Some("shared-secret-of-the-cluster".into());
    })
    .await;
    let origin = Origin::start().await;
    let key = a.create_key("shared").await; // one key table: valid on both nodes
    let url = origin.put("p.png", media::png(400, 400), "image/png");

    let mut ids = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { &a } else { &b };
        ids.push(node.upload_ok(&key, "Image", &url).await);
    }
    for id in &ids {
        for node in [&a, &b] {
            let body = wait_settled(&node.client, &node.base, &key, id).await;
            assert_eq!(body["status"], "Active", "{id}: {body}");
        }
    }
    let (status, list) = b.get(&key, &format!("{KYY}/list?pageSize=100")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"]["total"], serde_json::json!(20));
    assert_eq!(a.count_jobs().await, 0);

    // A URL signed by node A is honoured by node B (same secret, same blob store).
    let (_, resolved) = a
        .post(
            &key,
            "/v1/resolve",
            &serde_json::json!({"first_image": format!("asset://{}", ids[0])}),
        )
        .await;
    let signed = resolved["first_image"].as_str().expect("signed url");
    let on_b = signed.replace(&a.base, &b.base);
    let resp = b.client.get(&on_b).send().await.expect("fetch");
    assert_eq!(resp.status(), StatusCode::OK);
    schema.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_enqueued_on_one_node_wakes_another_through_notify() {
    let Some(pg) = opt_in::database_url("the wake-up test") else {
        return;
    };
    let schema = PgSchema::create(&pg, "assetlib_e2e_notify").await;
    let database_url = schema.url.clone();
    let blobs = tempfile::tempdir().expect("shared blob dir");
    let blob_url = format!("file://{}", blobs.path().display());

    // Node A only accepts uploads; node B only processes, and would poll just once an hour.
    let a = node_on(&database_url, &blob_url, |c| {
        c.jobs.workers = 0;
    })
    .await;
    let b = node_on(&database_url, &blob_url, |c| {
        c.bootstrap_admin_key = false;
        c.jobs.poll_interval = std::time::Duration::from_secs(3600);
    })
    .await;
    // Let node B's workers go idle (their first poll finds nothing).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let origin = Origin::start().await;
    let key = a.create_key("notify").await;
    let url = origin.put("p.png", media::png(400, 400), "image/png");
    for _ in 0..3 {
        let id = a.upload_ok(&key, "Image", &url).await;
        // wait_settled's deadline is far below the hour-long poll: only NOTIFY can wake B.
        let body = wait_settled(&b.client, &b.base, &key, &id).await;
        assert_eq!(body["status"], "Active", "{body}");
    }
    schema.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_only_node_processes_uploads_taken_by_an_api_node() {
    use std::process::Command;

    // On the embedded database a worker-only node makes no sense: refused with a reason.
    let lonely = tempfile::tempdir().expect("dir");
    let out = Command::new(BIN)
        .args(["worker", "--data-dir"])
        .arg(lonely.path())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a database shared"));

    let Some(pg) = opt_in::database_url("the worker-node test") else {
        return;
    };
    let schema = PgSchema::create(&pg, "assetlib_e2e_worker").await;
    let database_url = schema.url.clone();
    let blobs = tempfile::tempdir().expect("shared blob dir");
    let blob_url = format!("file://{}", blobs.path().display());

    let api = node_on(&database_url, &blob_url, |c| {
        c.jobs.workers = 0;
    })
    .await;
    let worker_dir = tempfile::tempdir().expect("dir");
    let mut worker = Command::new(BIN);
    worker
        .args([
            "worker",
            "--database-url",
            &database_url,
            "--blob-url",
            &blob_url,
            "--data-dir",
        ])
        .arg(worker_dir.path())
        .env("ASSETLIB_LOG", "warn");
    // Killed when the test ends, however it ends.
    let guard = tokio::task::spawn_blocking(move || {
        Proc::start(worker, "assetlib worker running", Stderr::Inherit)
    })
    .await
    .expect("start task")
    .unwrap_or_else(|e| panic!("the worker announced itself: {e}"));

    let origin = Origin::start().await;
    let key = api.create_key("split").await;
    let url = origin.put("p.png", media::png(400, 400), "image/png");
    let small = origin.put("s.png", media::png(40, 40), "image/png");
    for (url, want) in [(&url, "Active"), (&small, "Failed"), (&url, "Active")] {
        let id = api.upload_ok(&key, "Image", url).await;
        let body = wait_settled(&api.client, &api.base, &key, &id).await;
        assert_eq!(body["status"], want, "{body}");
    }
    drop(guard);
    schema.remove().await;
}
