//! Crash safety over the real binary: SIGKILL while assets are Processing, restart on the
//! same data dir, and every asset settles; leftovers of interrupted uploads are cleaned.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{
    BIN, KYY, Origin, Proc, blob_files, client, media, serve, upload_image, wait_settled,
};

fn start(data_dir: &Path, extra: &[&str]) -> Proc {
    serve(data_dir, extra, "warn")
}

fn kill(node: Proc) {
    drop(node);
}

fn cli(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("ASSETLIB_LOG", "warn")
        .output()
        .expect("cli runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_processing_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let origin = Origin::start().await;
    let good = origin.put("good.png", media::png(500, 400), "image/png");
    let small = origin.put("small.png", media::png(50, 40), "image/png");

    // First start: no workers, so everything stays Processing.
    let node = start(data, &["--workers", "0"]);
    let admin = node
        .printed_key
        .clone()
        .expect("first start prints the admin key");
    let saved = std::fs::read_to_string(data.join("admin.key")).expect("admin.key");
    assert_eq!(saved.trim(), admin);
    let mode = std::fs::metadata(data.join("admin.key"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let created = cli(data, &["keys", "create", "--tenant", "crashy"]);
    let key = created.lines().last().expect("key line").trim().to_owned();
    assert!(key.starts_with("alk_"), "{created}");
    let listed = cli(data, &["keys", "list"]);
    assert!(
        listed.contains("crashy") && listed.contains("admin"),
        "{listed}"
    );

    let mut expected = Vec::new();
    for i in 0..20 {
        let (url, want) = if i % 4 == 0 {
            (&small, "Failed")
        } else {
            (&good, "Active")
        };
        expected.push((upload_image(&node.base, &key, url).await, want));
    }
    let resp = client()
        .get(format!(
            "{}{KYY}/list?status=Processing&pageSize=100",
            node.base
        ))
        .bearer_auth(&key)
        .send()
        .await
        .expect("list");
    let list: Value = resp.json().await.expect("json");
    assert_eq!(list["data"]["total"], Value::from(20));

    // Leftovers of an upload interrupted between storing the blob and inserting the row.
    let orphan = "dead".repeat(16);
    let orphan_path = data.join(format!("blobs/sha256/de/ad/{orphan}"));
    std::fs::create_dir_all(orphan_path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&orphan_path, b"orphan").expect("orphan blob");
    std::fs::write(data.join("tmp/fetch-leftover"), b"partial").expect("temp leftover");

    kill(node);

    // Restart with workers: every asset settles, leftovers go.
    let node = start(data, &["--workers", "2", "--orphan-grace-secs", "0"]);
    assert!(
        node.printed_key.is_none(),
        "the admin key is only printed once"
    );
    let http = client();
    for (id, want) in &expected {
        let body = wait_settled(&http, &node.base, &key, id).await;
        assert_eq!(body["status"], *want, "{id}: {body}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while orphan_path.exists() {
        assert!(Instant::now() < deadline, "orphan blob still present");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!data.join("tmp/fetch-leftover").exists());
    assert_eq!(
        blob_files(data).len(),
        2,
        "exactly the two referenced blobs remain"
    );

    // Second crash, this time while workers are busy.
    let mut more = Vec::new();
    for i in 0..30 {
        let (url, want) = if i % 5 == 0 {
            (&small, "Failed")
        } else {
            (&good, "Active")
        };
        more.push((upload_image(&node.base, &key, url).await, want));
    }
    kill(node);
    let node = start(data, &["--workers", "2"]);
    for (id, want) in more.iter().chain(expected.iter()) {
        let body = wait_settled(&http, &node.base, &key, id).await;
        assert_eq!(body["status"], *want, "{id}: {body}");
    }
    let resp = http
        .get(format!("{}{KYY}/list?pageSize=100", node.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("list");
    let list: Value = resp.json().await.expect("json");
    assert_eq!(list["data"]["total"], Value::from(50));
    kill(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = start(dir.path(), &[]);
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("second server runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another assetlib server is already using"),
        "{stderr}"
    );
    kill(node);
}
