//! A node on a full disk: its temp directory and its blob directory are small tmpfs mounts in a
//! mount namespace of the server's own (`unshare --user --map-root-user --mount`), so writes
//! really fail with ENOSPC. Uploads that cannot be written answer `507 insufficient-storage`
//! with the cause, and `/readyz` says the node is not ready while its temp directory is full.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use assetlib_test_support::opt_in;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{BIN, Proc, Stderr, client};

const TEST: &str = "health::a_full_disk_answers_507_and_the_node_is_not_ready";

/// Whether this machine lets an unprivileged process mount a tmpfs in a namespace of its own.
fn namespaces_work() -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg("mount -t tmpfs -o size=64k assetlib-probe \"$0\"")
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success())
}

/// `assetlib serve` whose `DATA_DIR/tmp` and `DATA_DIR/blobs` are tmpfs mounts of these sizes.
fn serve_on_small_disks(data: &Path, tmp_kib: u32, blobs_kib: u32) -> Proc {
    std::fs::create_dir_all(data.join("tmp")).expect("tmp");
    std::fs::create_dir_all(data.join("blobs")).expect("blobs");
    let script = format!(
        "mount -t tmpfs -o size={tmp_kib}k assetlib-tmp \"$1/tmp\" && \
         mount -t tmpfs -o size={blobs_kib}k assetlib-blobs \"$1/blobs\" && \
         exec \"$0\" serve --listen 127.0.0.1:0 --allow-private-networks --data-dir \"$1\""
    );
    let mut command = Command::new("unshare");
    command
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .arg(BIN)
        .arg(data)
        .env("ASSETLIB_LOG", "warn");
    Proc::start(
        command,
        assetlib_test_support::serve::LISTENING,
        Stderr::Capture,
    )
    .unwrap_or_else(|e| panic!("the server starts: {e}"))
}

async fn call(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = req.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `PUT /v1/assets/{name}` of a text document of `kib` KiB.
async fn put_text(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    name: &str,
    kib: usize,
) -> (StatusCode, Value) {
    // Named in its text, so no two uploads share a blob.
    let text = format!("{name}\n") + &"All work and no play.\n".repeat(kib * 1024 / 22 + 1);
    call(
        http.put(format!("{base}/v1/assets/{name}?assetType=Document"))
            .bearer_auth(key)
            .header("Content-Type", "text/plain")
            .body(text),
    )
    .await
}

async fn ready_becomes(http: &reqwest::Client, base: &str, want: StatusCode) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = call(http.get(format!("{base}/readyz"))).await;
        if status == want {
            return body;
        }
        assert!(Instant::now() < deadline, "/readyz stays {status}: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_the_node_is_not_ready() {
    if !namespaces_work() {
        assert!(
            !opt_in::backends_required(),
            "{TEST}: unshare cannot mount a tmpfs here"
        );
        eprintln!("skipped {TEST}: it needs unshare to mount a tmpfs in a mount namespace");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // 384 KiB of temp space, 128 KiB of blob space.
    let mut node = serve_on_small_disks(dir.path(), 384, 128);
    let key = node.printed_key.clone().expect("the admin key");
    let http = client();
    let base = node.base.clone();

    let (status, body) = call(http.get(format!("{base}/readyz"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A file larger than the temp directory: the spool's write fails with ENOSPC.
    let (status, body) = put_text(&http, &base, &key, "big.txt", 448).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(body["error"]["code"], "insufficient-storage", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no space left"), "{message}");
    // The spool's temp file was removed: the node is ready again.
    ready_becomes(&http, &base, StatusCode::OK).await;

    // A file that fits the temp directory but not the blob directory (another filesystem, so
    // it is copied, not linked): the blob store's write fails with ENOSPC.
    let (status, body) = put_text(&http, &base, &key, "middle.txt", 200).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(body["error"]["code"], "insufficient-storage", "{body}");
    // A small one still fits everywhere.
    let (status, body) = put_text(&http, &base, &key, "small.txt", 8).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Each directory filled by something else: not ready, and it says which and why.
    let root = format!("/proc/{}/root{}", node.pid(), dir.path().display());
    for (place, key) in [("tmp", "tmpDir"), ("blobs", "blobStore")] {
        let filler = format!("{root}/{place}/filler");
        fill(&filler);
        let body = ready_becomes(&http, &base, StatusCode::SERVICE_UNAVAILABLE).await;
        assert_eq!(body["status"], "unavailable", "{body}");
        assert_eq!(body["database"], "ok", "{body}");
        assert_eq!(body[key], "full", "{body}");
        let cause = body["cause"].as_str().unwrap_or_default();
        assert!(cause.contains("no space left"), "{body}");
        let name = format!("more-{place}.txt");
        let (status, body) = put_text(&http, &base, &key_of(&node), &name, 8).await;
        assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{place}: {body}");

        std::fs::remove_file(&filler).expect("remove filler");
        let body = ready_becomes(&http, &base, StatusCode::OK).await;
        assert_eq!(
            body,
            json!({"status": "ok", "database": "ok", "blobStore": "ok", "tmpDir": "ok"})
        );
    }
    node.kill();
}

fn key_of(node: &Proc) -> String {
    node.printed_key.clone().expect("the admin key")
}

/// Writes a file at `path` until its filesystem has no space left.
fn fill(path: &str) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0_u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&chunk) {
            assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
            return;
        }
    }
}
