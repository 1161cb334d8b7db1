//! Direct uploads whose bytes bypass the API: `POST /v1/uploads` gives a URL to `PUT` the file
//! to (presigned into the bucket on S3, a signed URL of the node on a local store), then
//! `complete` checks the size and sha256 and registers the file.

use std::sync::Arc;

use assetlib::fetch::SystemLookup;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestApp, media, s3_bucket, spawn_app, spawn_app_with};

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    assetlib::fetch::hex(&sha2::Sha256::digest(bytes))
}

/// Creates, sends and completes a direct upload of `file`; the completion's answer.
async fn upload_directly(app: &TestApp, key: &str, file: &[u8], presigned: bool) -> Value {
    let (status, created) = app
        .post(
            key,
            "/v1/uploads",
            &json!({"assetType": "Image", "name": "cover.png", "length": file.len()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["method"], "PUT");
    assert_eq!(created["presigned"], json!(presigned), "{created}");
    let url = created["url"].as_str().expect("url");
    let complete = created["completeUrl"]
        .as_str()
        .expect("completeUrl")
        .to_owned();

    // Completing before the bytes are there says so.
    let (status, early) = app.post(key, &complete, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{early}");
    assert_eq!(early["error"]["code"], "upload-mismatch");

    // The bytes go to the URL, with no API key.
    let put = app
        .client
        .put(url)
        .body(file.to_vec())
        .send()
        .await
        .expect("put");
    assert!(put.status().is_success(), "{}", put.status());

    // A wrong checksum is refused and the bytes stay for another try.
    let (status, wrong) = app
        .post(key, &complete, &json!({"sha256": "0".repeat(64)}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    assert_eq!(wrong["error"]["code"], "upload-mismatch");

    let (status, asset) = app
        .post(key, &complete, &json!({"sha256": sha256(file)}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asset}");
    let (status, again) = app.post(key, &complete, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    asset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_put_to_the_nodes_signed_url_becomes_an_asset() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;
    let file = media::png(400, 400);
    let asset = upload_directly(&app, &key, &file, false).await;
    let id = asset["assetId"].as_str().expect("id");
    let settled = app.wait_settled(&key, id).await;
    assert_eq!(settled["status"], "Active", "{settled}");
    assert_eq!(settled["sha256"], json!(sha256(&file)));
    assert_eq!(settled["url"], "upload://cover.png");

    // A tampered or foreign signature writes nothing; another tenant cannot complete.
    let (_, created) = app
        .post(
            &key,
            "/v1/uploads",
            &json!({"assetType": "Image", "length": 10}),
        )
        .await;
    let url = created["url"]
        .as_str()
        .expect("url")
        .replace("sig=", "sig=0");
    let put = app
        .client
        .put(url)
        .body(vec![0u8; 10])
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::FORBIDDEN);
    let other = app.create_key("elsewhere").await;
    let complete = created["completeUrl"].as_str().expect("completeUrl");
    let (status, _) = app.post(&other, complete, &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A size other than announced.
    let put = app
        .client
        .put(created["url"].as_str().expect("url"))
        .body(vec![0u8; 4])
        .send()
        .await
        .expect("put");
    assert!(put.status().is_success());
    let (status, short) = app.post(&key, complete, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{short}");
    assert!(
        short["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("4 bytes"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_the_bytes_go_straight_into_the_bucket() {
    let Some(blob_url) = s3_bucket("assetlib-direct", "direct uploads on S3").await else {
        return;
    };
    let app = spawn_app_with(move |c| c.blob_url = blob_url, Arc::new(SystemLookup)).await;
    let key = app.create_key("studio").await;
    let file = media::png(420, 400);
    let asset = upload_directly(&app, &key, &file, true).await;
    let id = asset["assetId"].as_str().expect("id");
    assert_eq!(app.wait_settled(&key, id).await["status"], "Active");
}
