//! `assetlib fsck` on the embedded default (SQLite + local directory): a job-less Processing
//! asset, a lost blob and an orphan are found, repaired, and the server carries on from there.
//! The same check on PostgreSQL + S3 runs in `cluster.rs`.

use serde_json::Value;

use crate::common::{Origin, client, media, run, serve, upload_image, wait_settled};

fn fsck(data: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["fsck", "--json", "--data-dir", data];
    args.extend_from_slice(extra);
    let (code, out) = run(&args);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsck_finds_and_repairs_stuck_assets_lost_blobs_and_orphans() {
    let dir = tempfile::tempdir().expect("data dir");
    let data = dir.path().display().to_string();
    let origin = Origin::start().await;
    let first = origin.put("a.png", media::png(400, 300), "image/png");
    let second = origin.put("b.png", media::png(500, 300), "image/png");

    // No workers: both assets stay Processing.
    let node = serve(dir.path(), &["--workers", "0"], "warn");
    let key = node.printed_key.clone().expect("admin key");
    let http = client();
    let mut ids = Vec::new();
    for url in [&first, &second] {
        ids.push(upload_image(&node.base, &key, url).await);
    }
    let (code, report) = fsck(&data, &[]);
    assert_eq!(code, 0, "a healthy library is clean: {report}");
    assert_eq!(report["assets_checked"], 2);
    drop(node);

    // The first asset loses its job, the second its blob; an orphan appears.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{data}/assetlib.db"))
        .await
        .expect("db");
    sqlx::query("DELETE FROM jobs WHERE asset_id = ?")
        .bind(&ids[0])
        .execute(&db)
        .await
        .expect("delete job");
    db.close().await;
    let sha_of = |bytes: &[u8]| {
        use sha2::Digest;
        assetlib::fetch::hex(&sha2::Sha256::digest(bytes))
    };
    let lost = sha_of(&media::png(500, 300));
    std::fs::remove_file(dir.path().join(format!(
        "blobs/sha256/{}/{}/{lost}",
        &lost[0..2],
        &lost[2..4]
    )))
    .expect("remove blob");
    let orphan = "beef".repeat(16);
    let orphan_path = dir.path().join(format!("blobs/sha256/be/ef/{orphan}"));
    std::fs::create_dir_all(orphan_path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&orphan_path, b"orphan").expect("orphan");

    let (code, report) = fsck(&data, &["--grace-secs", "0"]);
    assert_eq!(code, 4, "problems left: {report}");
    assert_eq!(report["stuck_processing"][0]["asset_id"], ids[0].as_str());
    assert_eq!(report["missing_blobs"][0]["asset_id"], ids[1].as_str());
    assert_eq!(report["missing_blobs"][0]["sha256"], lost.as_str());
    assert_eq!(report["orphan_blobs"][0]["sha256"], orphan.as_str());
    assert!(orphan_path.exists(), "a check alone changes nothing");
    // Within the grace period the orphan may be an upload in flight: left alone.
    let (_, report) = fsck(&data, &[]);
    assert_eq!(report["orphan_blobs"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["recent_unreferenced_blobs"], 1);

    // The text report names each problem.
    let (code, text) = run(&["fsck", "--grace-secs", "0", "--data-dir", &data]);
    assert_eq!(code, 4);
    assert!(
        text.contains(&format!("asset {} is Processing with no job", ids[0])),
        "{text}"
    );
    assert!(
        text.contains(&format!("missing blob {lost} of asset {}", ids[1])),
        "{text}"
    );
    assert!(text.contains(&format!("orphan blob {orphan}")), "{text}");
    assert!(text.contains("run with --repair"), "{text}");

    let (code, report) = fsck(&data, &["--grace-secs", "0", "--repair"]);
    assert_eq!(code, 1, "repaired: {report}");
    assert_eq!(report["repaired"]["jobs_queued"], 1);
    assert_eq!(report["repaired"]["assets_marked_failed"], 1);
    assert_eq!(report["repaired"]["orphan_blobs_removed"], 1);
    assert!(!orphan_path.exists());
    let (code, report) = fsck(&data, &["--grace-secs", "0"]);
    assert_eq!(code, 0, "clean after repair: {report}");

    // With workers, the re-queued asset is processed; the lost one says why it failed.
    let node = serve(dir.path(), &["--workers", "2"], "warn");
    let body = wait_settled(&http, &node.base, &key, &ids[0]).await;
    assert_eq!(body["status"], "Active", "{body}");
    let body = wait_settled(&http, &node.base, &key, &ids[1]).await;
    assert_eq!(body["status"], "Failed", "{body}");
    assert_eq!(body["failure"]["code"], "content-missing", "{body}");

    // A check that cannot run says so with its own exit status.
    let (code, _) = run(&[
        "fsck",
        "--database-url",
        "mysql://nowhere",
        "--data-dir",
        &data,
    ]);
    assert_eq!(code, 8);
}
