//! Direct uploads on the v1 face: `POST /v1/assets` with `multipart/form-data`, and
//! `PUT /v1/assets/{name}` with the file as the body; both streamed to disk, then the same
//! pipeline as a fetched file.

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::common::{TestApp, media, spawn_app};

async fn put_file(
    app: &TestApp,
    key: &str,
    path: &str,
    bytes: Vec<u8>,
    content_type: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .put(format!("{}{path}", app.base))
        .bearer_auth(key)
        .body(bytes);
    if let Some(t) = content_type {
        req = req.header("Content-Type", t);
    }
    app.send(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_posted_as_multipart_or_put_raw_become_active() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;

    let form = Form::new()
        .text("assetType", "Image")
        .text("name", "cover")
        .part(
            "file",
            Part::bytes(media::png(400, 400)).file_name("cover.png"),
        );
    let (status, created) = app
        .send(
            app.client
                .post(format!("{}/v1/assets", app.base))
                .bearer_auth(&key)
                .multipart(form),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "cover");
    assert_eq!(created["url"], "upload://cover.png");
    let id = created["assetId"].as_str().expect("id");
    assert_eq!(app.wait_settled(&key, id).await["status"], "Active");

    // The raw body: the type from Content-Type, the name from the path.
    let (status, put) = put_file(
        &app,
        &key,
        "/v1/assets/poster.jpg",
        media::jpeg(500, 400),
        Some("image/jpeg"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{put}");
    assert_eq!(put["assetType"], "Image");
    assert_eq!(put["name"], "poster.jpg");
    let id = put["assetId"].as_str().expect("id");
    assert_eq!(app.wait_settled(&key, id).await["status"], "Active");
    // …or from ?assetType=, which wins.
    let (status, doc) = put_file(
        &app,
        &key,
        "/v1/assets/notes.pdf?assetType=Document",
        media::pdf(),
        Some("application/octet-stream"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["assetType"], "Document");
    assert_eq!(app.all_asset_ids(&key).await.len(), 3);

    // A PUT sent again with its Idempotency-Key: the first answer, one asset.
    let mut answers = Vec::new();
    for _ in 0..2 {
        let resp = app
            .client
            .put(format!("{}/v1/assets/again.png", app.base))
            .bearer_auth(&key)
            .header("Content-Type", "image/png")
            .header("Idempotency-Key", "put-1")
            .body(media::png(410, 400))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), StatusCode::CREATED);
        answers.push(resp.json::<Value>().await.expect("json"));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(app.all_asset_ids(&key).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_uploads_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let key = app.create_key("studio").await;

    // Bytes that are not of the declared type.
    let (status, refused) = put_file(
        &app,
        &key,
        "/v1/assets/a.mp4",
        media::png(400, 400),
        Some("video/mp4"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "type-mismatch");

    // No type at all.
    let (status, refused) = put_file(&app, &key, "/v1/assets/x", media::png(400, 400), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid-asset-type");

    // Larger than the image cap (30 MiB): refused while it arrives.
    let mut huge = media::png(400, 400);
    huge.resize(31 * 1024 * 1024, 0);
    let (status, refused) =
        put_file(&app, &key, "/v1/assets/huge.png", huge, Some("image/png")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
    assert_eq!(refused["error"]["code"], "too-large");

    // A body without Content-Length (chunked).
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(media::png(400, 400))]);
    let (status, refused) = app
        .send(
            app.client
                .put(format!("{}/v1/assets/chunked.png", app.base))
                .bearer_auth(&key)
                .header("Content-Type", "image/png")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Content-Length")),
        "{refused}"
    );
    assert!(app.all_asset_ids(&key).await.is_empty());
}
