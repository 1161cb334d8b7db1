//! Resumable uploads (tus 1.0): create, append in parts, a part cut by the network keeps what
//! arrived, resume from HEAD's offset, complete into an asset; the refusals; termination;
//! expiry; another node continuing an upload (PostgreSQL, shared blob store).

use std::sync::Arc;

use assetlib::fetch::SystemLookup;
use assetlib_test_support::opt_in;
use base64::Engine as _;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{PgSchema, TestApp, media, node_on, spawn_app, spawn_app_with};

const TUS: &str = "/v1/uploads/tus";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub(crate) async fn create(
    app: &TestApp,
    key: &str,
    length: usize,
    asset_type: &str,
) -> reqwest::Response {
    app.client
        .post(format!("{}{TUS}", app.base))
        .bearer_auth(key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header(
            "Upload-Metadata",
            format!("assetType {},name {}", b64(asset_type), b64("cover.png")),
        )
        .send()
        .await
        .expect("create")
}

pub(crate) async fn patch(
    app: &TestApp,
    key: &str,
    location: &str,
    offset: usize,
    bytes: &[u8],
) -> reqwest::Response {
    app.client
        .patch(format!("{}{location}", app.base))
        .bearer_auth(key)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(bytes.to_vec())
        .send()
        .await
        .expect("patch")
}

async fn offset(app: &TestApp, key: &str, location: &str) -> (StatusCode, Option<u64>) {
    let resp = app
        .client
        .head(format!("{}{location}", app.base))
        .bearer_auth(key)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    let offset = resp
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (resp.status(), offset)
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A PATCH whose connection is closed after `sent` of the announced bytes.
async fn cut_patch(
    app: &TestApp,
    key: &str,
    location: &str,
    offset: usize,
    bytes: &[u8],
    sent: usize,
) {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\n\
         tus-resumable: 1.0.0\r\ncontent-type: application/offset+octet-stream\r\n\
         upload-offset: {offset}\r\ncontent-length: {}\r\n\r\n",
        bytes.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&bytes[..sent]).await.expect("part");
    stream.flush().await.expect("flush");
    // Give the server time to read what was sent, then cut.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = stream.shutdown().await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut rest),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_sent_in_parts_over_a_bad_link_becomes_an_asset() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;
    let file = media::png(600, 400);

    let options = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}{TUS}", app.base))
        .send()
        .await
        .expect("options");
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&options, "tus-version"), "1.0.0");
    assert!(header(&options, "tus-extension").contains("creation"));

    let created = create(&app, &key, file.len(), "Image").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = header(&created, "location");
    assert!(location.starts_with("/v1/uploads/tus/upl-"), "{location}");
    assert!(!header(&created, "upload-expires").is_empty());
    assert_eq!(
        offset(&app, &key, &location).await,
        (StatusCode::OK, Some(0))
    );

    // A first part, then one cut by the network: what arrived is kept.
    let resp = patch(&app, &key, &location, 0, &file[..1000]).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&resp, "upload-offset"), "1000");
    cut_patch(&app, &key, &location, 1000, &file[1000..], 700).await;
    let (status, at) = offset(&app, &key, &location).await;
    assert_eq!(status, StatusCode::OK);
    let at = at.expect("offset") as usize;
    assert_eq!(at, 1700, "the cut part's bytes are kept");

    // Refusals: a stale offset, no protocol version, the wrong body type; another tenant.
    let stale = patch(&app, &key, &location, 0, &file[..10]).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let stale: serde_json::Value = stale.json().await.expect("json");
    assert_eq!(stale["error"]["code"], "conflict");
    let versionless = app
        .client
        .patch(format!("{}{location}", app.base))
        .bearer_auth(&key)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", at.to_string())
        .body(vec![0u8; 4])
        .send()
        .await
        .expect("patch");
    assert_eq!(versionless.status(), StatusCode::PRECONDITION_FAILED);
    let typed = app
        .client
        .patch(format!("{}{location}", app.base))
        .bearer_auth(&key)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "image/png")
        .header("Upload-Offset", at.to_string())
        .body(vec![0u8; 4])
        .send()
        .await
        .expect("patch");
    assert_eq!(typed.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let other = app.create_key("elsewhere").await;
    assert_eq!(
        offset(&app, &other, &location).await.0,
        StatusCode::NOT_FOUND
    );

    // The rest: complete, the asset named, processed like any upload.
    let done = patch(&app, &key, &location, at, &file[at..]).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let asset = header(&done, "asset-id");
    assert!(asset.starts_with("asset-"), "{asset}");
    let settled = app.wait_settled(&key, &asset).await;
    assert_eq!(settled["status"], "Active", "{settled}");
    assert_eq!(settled["url"], "upload://cover.png");
    assert_eq!(settled["bytes"], file.len());
    let again = patch(&app, &key, &location, file.len(), b"").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_refused_ended_and_expired() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;
    // Over the type's cap, no type, no length.
    let huge = create(&app, &key, 31 * 1024 * 1024, "Image").await;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let untyped = app
        .client
        .post(format!("{}{TUS}", app.base))
        .bearer_auth(&key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .expect("create");
    assert_eq!(untyped.status(), StatusCode::BAD_REQUEST);
    let lengthless = app
        .client
        .post(format!("{}{TUS}", app.base))
        .bearer_auth(&key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Metadata", format!("assetType {}", b64("Image")))
        .send()
        .await
        .expect("create");
    assert_eq!(lengthless.status(), StatusCode::BAD_REQUEST);

    // Termination.
    let ended = header(&create(&app, &key, 5000, "Image").await, "location");
    patch(&app, &key, &ended, 0, &[1u8; 100]).await;
    let resp = app
        .client
        .delete(format!("{}{ended}", app.base))
        .bearer_auth(&key)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset(&app, &key, &ended).await.0, StatusCode::NOT_FOUND);

    // Expiry: an upload left unfinished is swept with its parts.
    let left = header(&create(&app, &key, 5000, "Image").await, "location");
    patch(&app, &key, &left, 0, &[1u8; 100]).await;
    let state = app.server.as_ref().expect("running").state();
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    assert_eq!(state.resumable.sweep(later).await.expect("sweep"), 1);
    assert_eq!(offset(&app, &key, &left).await.0, StatusCode::NOT_FOUND);
    let parts = app.dir.path().join("blobs").join("uploads");
    let left_over = std::fs::read_dir(&parts).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left_over, 0, "parts left in {}", parts.display());
    assert!(app.all_asset_ids(&key).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_node_continues_an_upload() {
    let Some(pg) = opt_in::database_url("the resumable upload test across nodes") else {
        return;
    };
    let schema = PgSchema::create(&pg, "assetlib_e2e_tus").await;
    let blobs = tempfile::tempdir().expect("shared blob dir");
    let blob_url = format!("file://{}", blobs.path().display());
    let a = node_on(&schema.url, &blob_url, |_| {}).await;
    let b = node_on(&schema.url, &blob_url, |c| c.bootstrap_admin_key = false).await;
    let key = a.create_key("studio").await;
    let file = media::png(500, 400);
    let location = header(&create(&a, &key, file.len(), "Image").await, "location");
    assert_eq!(
        patch(&a, &key, &location, 0, &file[..2000]).await.status(),
        StatusCode::NO_CONTENT
    );
    // Node A goes away; B answers where the upload stands and takes the rest.
    drop(a);
    assert_eq!(
        offset(&b, &key, &location).await,
        (StatusCode::OK, Some(2000))
    );
    let done = patch(&b, &key, &location, 2000, &file[2000..]).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    let asset = header(&done, "asset-id");
    assert_eq!(b.wait_settled(&key, &asset).await["status"], "Active");
    drop(b);
    schema.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_the_parts_live_in_the_bucket() {
    let Some(blob_url) = crate::common::s3_bucket("assetlib-tus", "resumable uploads on S3").await
    else {
        return;
    };
    let app = spawn_app_with(move |c| c.blob_url = blob_url, Arc::new(SystemLookup)).await;
    let key = app.create_key("studio").await;
    let file = media::png(520, 400);
    let location = header(&create(&app, &key, file.len(), "Image").await, "location");
    for (from, to) in [(0, 3000), (3000, file.len())] {
        let resp = patch(&app, &key, &location, from, &file[from..to]).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        if to == file.len() {
            let asset = header(&resp, "asset-id");
            assert_eq!(app.wait_settled(&key, &asset).await["status"], "Active");
        }
    }
}

/// 12 MiB in three parts of 4 MiB on S3: each part is an object of the bucket, and the
/// completed blob (over the 8 MiB part size) goes up as a multipart upload whose parts meet the
/// store's minimum (5 MiB but the last); the content reads back byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_a_large_upload_in_three_parts_is_stored_in_parts() {
    let Some(blob_url) =
        crate::common::s3_bucket("assetlib-tus-large", "a large resumable upload on S3").await
    else {
        return;
    };
    let app = spawn_app_with(move |c| c.blob_url = blob_url, Arc::new(SystemLookup)).await;
    let key = app.create_key("studio").await;
    let file: Vec<u8> = (0..)
        .flat_map(|i: u32| format!("line {i} of a large resumable upload\n").into_bytes())
        .take(12 * 1024 * 1024)
        .collect();
    let location = header(
        &create(&app, &key, file.len(), "Document").await,
        "location",
    );
    let part = file.len() / 3;
    let mut asset = None;
    for from in [0, part, 2 * part] {
        let to = (from + part).min(file.len());
        let resp = patch(&app, &key, &location, from, &file[from..to]).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT, "part at {from}");
        if to == file.len() {
            asset = Some(header(&resp, "asset-id"));
        }
    }
    let asset = asset.expect("the last part completes the upload");
    assert_eq!(app.wait_settled(&key, &asset).await["status"], "Active");
    let resp = app
        .client
        .get(format!("{}/v1/assets/{asset}/content", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("content");
    assert_eq!(resp.status(), StatusCode::OK);
    let read = resp.bytes().await.expect("bytes");
    assert!(read.as_ref() == file.as_slice(), "other bytes read back");
}
