//! `assetlib backup --to DIR` while the server runs and takes uploads (docs/OPERATIONS.md,
//! Backup and restore): a second server on the copy serves every asset acknowledged before the
//! backup began, byte for byte (its signed URLs too), and `fsck` finds the copy clean.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::{Barrier, Mutex};

use crate::common::{client, media, run, serve, tus, wait_settled};

/// A text document, named in its text so no two share a blob.
pub fn document(name: &str, kib: usize) -> Vec<u8> {
    (format!("{name}\n") + &"Backups are copies taken at one instant.\n".repeat(kib * 24 + 1))
        .into_bytes()
}

/// `PUT /v1/assets/{name}`; the new asset's id once the answer is in (acknowledged).
pub async fn put(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    name: &str,
    body: Vec<u8>,
) -> String {
    let resp = http
        .put(format!("{base}/v1/assets/{name}?assetType=Document"))
        .bearer_auth(key)
        .header("Content-Type", "text/plain")
        .body(body)
        .send()
        .await
        .expect("upload sent");
    assert_eq!(resp.status(), StatusCode::CREATED, "upload of {name}");
    let body: Value = resp.json().await.expect("JSON");
    body["assetId"].as_str().expect("an id").to_owned()
}

/// `PUT /v1/assets/{name}` of a PNG image; its id.
pub async fn put_image(http: &reqwest::Client, base: &str, key: &str, png: Vec<u8>) -> String {
    let resp = http
        .put(format!("{base}/v1/assets/picture.png?assetType=Image"))
        .bearer_auth(key)
        .header("Content-Type", "image/png")
        .body(png)
        .send()
        .await
        .expect("upload sent");
    assert_eq!(resp.status(), StatusCode::CREATED, "image upload");
    let body: Value = resp.json().await.expect("JSON");
    body["assetId"].as_str().expect("an id").to_owned()
}

/// A signed content URL of an Active image, as `POST /v1/resolve` hands it out.
pub async fn signed_url(http: &reqwest::Client, base: &str, key: &str, id: &str) -> String {
    let settled = wait_settled(http, base, key, id).await;
    assert_eq!(settled["status"], "Active", "{settled}");
    let resp = http
        .post(format!("{base}/v1/resolve"))
        .bearer_auth(key)
        .json(&serde_json::json!({ "first_image": format!("asset://{id}") }))
        .send()
        .await
        .expect("resolve");
    assert_eq!(resp.status(), StatusCode::OK, "resolve");
    let body: Value = resp.json().await.expect("JSON");
    body["first_image"]
        .as_str()
        .expect("a signed URL")
        .to_owned()
}

struct Acked {
    id: String,
    bytes: Vec<u8>,
    at: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_uploads_serves_every_acknowledged_asset_byte_for_byte() {
    let dir = tempfile::tempdir().expect("data dir");
    let copy_parent = tempfile::tempdir().expect("backup dir");
    let copy = copy_parent.path().join("backup");
    let node = serve(dir.path(), &[], "warn");
    let key = node.printed_key.clone().expect("admin key");
    let http = client();
    let png = media::png(400, 320);
    let image = put_image(&http, &node.base, &key, png.clone()).await;

    // A resumable upload half sent: its part goes into the backup too.
    let resumed = document("resumed.txt", 30);
    let half = resumed.len() / 2;
    let location = tus::start(&http, &node.base, &key, resumed.len()).await;
    let sent = tus::send(&http, &node.base, &location, &key, 0, &resumed[..half]).await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);

    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    for n in 0..8 {
        let name = format!("before-{n}.txt");
        let bytes = document(&name, 1 + n * 7);
        let id = put(&http, &node.base, &key, &name, bytes.clone()).await;
        acked.lock().await.push(Acked {
            id,
            bytes,
            at: Instant::now(),
        });
    }

    // Two uploaders and the backup start together; the uploaders go on until it is done.
    let barrier = Arc::new(Barrier::new(3));
    let done = Arc::new(AtomicBool::new(false));
    let mut uploaders = Vec::new();
    for u in 0..2 {
        let (barrier, done, acked) = (Arc::clone(&barrier), Arc::clone(&done), Arc::clone(&acked));
        let (http, base, key) = (http.clone(), node.base.clone(), key.clone());
        uploaders.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut n = 0;
            // At least a few uploads overlap the backup, however quick it is.
            while n < 4 || !done.load(Ordering::SeqCst) {
                let name = format!("during-{u}-{n}.txt");
                let bytes = document(&name, 3 + n % 5);
                let id = put(&http, &base, &key, &name, bytes.clone()).await;
                acked.lock().await.push(Acked {
                    id,
                    bytes,
                    at: Instant::now(),
                });
                n += 1;
            }
        }));
    }
    barrier.wait().await;
    let began = Instant::now();
    let (data, to) = (dir.path().display().to_string(), copy.display().to_string());
    let (code, out) =
        tokio::task::spawn_blocking(move || run(&["backup", "--data-dir", &data, "--to", &to]))
            .await
            .expect("backup ran");
    done.store(true, Ordering::SeqCst);
    for uploader in uploaders {
        uploader.await.expect("uploader");
    }
    assert_eq!(code, 0, "backup: {out}");
    assert!(out.contains("backed up"), "{out}");

    let acked = acked.lock().await;
    let before: Vec<&Acked> = acked.iter().filter(|a| a.at < began).collect();
    assert!(before.len() >= 8, "{} acknowledged before", before.len());
    assert!(
        acked.len() > before.len(),
        "no upload overlapped the backup"
    );
    // A signed content URL the original handed out, to be read from the copy.
    let signed = signed_url(&http, &node.base, &key, &image).await;
    let signed_path = &signed[signed.find("/content/").expect("a signed path")..];
    drop(node);

    let (code, report) = run(&["fsck", "--json", "--data-dir", &copy.display().to_string()]);
    assert_eq!(code, 0, "fsck of the copy: {report}");

    let restored = serve(&copy, &[], "warn");
    for a in &before {
        let settled = wait_settled(&http, &restored.base, &key, &a.id).await;
        assert_eq!(settled["status"], "Active", "{settled}");
        let resp = http
            .get(format!("{}/v1/assets/{}/content", restored.base, a.id))
            .bearer_auth(&key)
            .send()
            .await
            .expect("content");
        assert_eq!(resp.status(), StatusCode::OK, "content of {}", a.id);
        let bytes = resp.bytes().await.expect("bytes");
        assert!(
            bytes[..] == a.bytes[..],
            "{}: the copy's bytes differ",
            a.id
        );
    }
    let resp = http
        .get(format!("{}{signed_path}", restored.base))
        .send()
        .await
        .expect("signed content");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "a signed URL of the original"
    );
    assert!(resp.bytes().await.expect("bytes")[..] == png[..]);

    // The half-sent upload is finished on the copy.
    let rest = tus::send(
        &http,
        &restored.base,
        &location,
        &key,
        half,
        &resumed[half..],
    )
    .await;
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    let id = rest.headers()["asset-id"].to_str().expect("id").to_owned();
    wait_settled(&http, &restored.base, &key, &id).await;
    let content = http
        .get(format!("{}/v1/assets/{id}/content", restored.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("content");
    assert!(content.bytes().await.expect("bytes")[..] == resumed[..]);

    // The copy takes uploads of its own.
    put(
        &http,
        &restored.base,
        &key,
        "after.txt",
        document("after.txt", 2),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_refuses_a_directory_that_is_not_empty() {
    let dir = tempfile::tempdir().expect("data dir");
    let target = tempfile::tempdir().expect("target");
    std::fs::write(target.path().join("keep.txt"), b"mine").expect("a file");
    let node = serve(dir.path(), &[], "warn");
    drop(node);
    let (code, _) = run(&[
        "backup",
        "--data-dir",
        &dir.path().display().to_string(),
        "--to",
        &target.path().display().to_string(),
    ]);
    assert_ne!(code, 0);
    assert_eq!(
        std::fs::read(target.path().join("keep.txt")).expect("untouched"),
        b"mine"
    );
    assert!(!target.path().join("assetlib.db").exists());
}
