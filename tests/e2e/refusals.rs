//! Refused at request time: a clear error, a stable code, and nothing created.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{KYY, Origin, TestApp, blob_files, media, spawn_app};

const OVER_30_MB: usize = 31 * 1024 * 1024;

async fn assert_nothing_created(app: &TestApp, key: &str) {
    let (_, list) = app.get(key, &format!("{KYY}/list")).await;
    assert_eq!(list["data"]["total"], Value::from(0), "{list}");
    assert!(
        blob_files(app.dir.path()).is_empty(),
        "no blob may be stored"
    );
    let tmp: Vec<_> = std::fs::read_dir(app.dir.path().join("tmp"))
        .expect("tmp dir")
        .collect();
    assert!(tmp.is_empty(), "temp files are cleaned up: {tmp:?}");
    assert_eq!(app.count_jobs().await, 0);
}

async fn expect_refusal(
    app: &TestApp,
    key: &str,
    body: Value,
    http: StatusCode,
    code: i64,
) -> String {
    let (status, answer) = app.post(key, &format!("{KYY}/upload"), &body).await;
    assert_eq!(status, http, "{body} → {answer}");
    assert_eq!(answer["code"], Value::from(code), "{body} → {answer}");
    assert!(answer["data"].is_null(), "{answer}");
    let msg = answer["msg"]
        .as_str()
        .unwrap_or_else(|| panic!("msg in {answer}"))
        .to_owned();
    assert!(msg.len() > 10, "a sentence, not a token: {msg}");
    assert_nothing_created(app, key).await;
    msg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_create_nothing() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("refused").await;
    let png = origin.put("ok.png", media::png(400, 400), "image/png");
    let html = origin.put("page.png", media::HTML.to_vec(), "image/png");
    let video = origin.put("clip.mp3", media::mp4_header(), "audio/mpeg");
    let bad = StatusCode::BAD_REQUEST;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;

    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "image", "url": png}),
        bad,
        1007,
    )
    .await;
    assert!(
        msg.contains("'image'") && msg.contains("case-sensitive"),
        "{msg}"
    );
    expect_refusal(
        &app,
        &key,
        json!({"assetType": "Model", "url": png}),
        bad,
        1007,
    )
    .await;
    expect_refusal(&app, &key, json!({"url": png}), bad, 1007).await;
    let msg = expect_refusal(&app, &key, json!({"assetType": "Image"}), bad, 1008).await;
    assert!(msg.starts_with("url is required"), "{msg}");
    expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": "not a url"}),
        bad,
        1008,
    )
    .await;
    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": "ftp://example.com/a.png"}),
        bad,
        1008,
    )
    .await;
    assert!(msg.contains("ftp"), "{msg}");
    expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": png, "name": "x".repeat(65)}),
        bad,
        1009,
    )
    .await;
    expect_refusal(&app, &key, json!({"assetType": 7, "url": png}), bad, 1000).await;

    let (status, answer) = app
        .send(
            app.client
                .post(format!("{}{KYY}/upload", app.base))
                .bearer_auth(&key)
                .body("{not json"),
        )
        .await;
    assert_eq!(status, bad);
    assert_eq!(answer["code"], Value::from(1000));

    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": "http://127.0.0.1:1/a.png"}),
        unprocessable,
        1001,
    )
    .await;
    assert!(
        msg.starts_with("the source URL could not be reached"),
        "{msg}"
    );
    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": format!("{}/status/404", origin.base)}),
        unprocessable,
        1002,
    )
    .await;
    assert_eq!(msg, "the source server answered HTTP 404");
    expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": format!("{}/status/500", origin.base)}),
        unprocessable,
        1002,
    )
    .await;

    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": html}),
        unprocessable,
        1005,
    )
    .await;
    assert_eq!(
        msg,
        "the content at the URL is an HTML page (a Document), not an Image"
    );
    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Audio", "url": video}),
        unprocessable,
        1005,
    )
    .await;
    assert_eq!(
        msg,
        "the content at the URL is mp4 (video/mp4) (a Video), not an Audio"
    );
    let empty = origin.put("empty.png", Vec::new(), "image/png");
    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": empty}),
        unprocessable,
        1005,
    )
    .await;
    assert!(msg.contains("empty"), "{msg}");

    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": format!("{}/trickle", origin.base)}),
        unprocessable,
        1006,
    )
    .await;
    assert!(msg.contains("within 3 seconds"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_downloads_are_refused_however_the_size_is_announced() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("big").await;
    let too_large = StatusCode::PAYLOAD_TOO_LARGE;

    // Announced by Content-Length: refused before the body is read.
    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": format!("{}/declared-huge", origin.raw_base)}),
        too_large,
        1004,
    )
    .await;
    assert_eq!(
        msg,
        "the file at the URL is 38.1 MB (per its Content-Length); image must be under 30 MB"
    );
    // No Content-Length, chunked.
    let msg = expect_refusal(
        &app,
        &key,
        json!({"assetType": "Image", "url": format!("{}/chunked/{OVER_30_MB}", origin.base)}),
        too_large,
        1004,
    )
    .await;
    assert_eq!(
        msg,
        "the file at the URL is larger than allowed; image must be under 30 MB"
    );
    // No Content-Length, body until the connection closes.
    expect_refusal(&app, &key, json!({"assetType": "Image", "url": format!("{}/eof-stream/{OVER_30_MB}", origin.raw_base)}), too_large, 1004).await;
    // The per-type cap: 16 MB is fine for a Document but not for Audio.
    expect_refusal(&app, &key, json!({"assetType": "Audio", "url": format!("{}/chunked/{}", origin.base, 16 * 1024 * 1024)}), too_large, 1004).await;

    // Video's cap is 50 MB.
    expect_refusal(&app, &key, json!({"assetType": "Video", "url": format!("{}/chunked/{}", origin.base, 51 * 1024 * 1024)}), too_large, 1004).await;

    // A Content-Length that understates the body: only the announced bytes are taken, so
    // nothing larger than announced is ever stored.
    let (status, answer) = app
        .kyy_upload(
            &key,
            "Image",
            &format!("{}/lying-small/{OVER_30_MB}", origin.raw_base),
        )
        .await;
    if status == StatusCode::OK {
        let id = answer["data"]["assetId"].as_str().expect("id");
        let body = app.wait_settled(&key, id).await;
        assert_eq!(body["bytes"], Value::from(1000), "{body}");
        assert_eq!(body["status"], "Failed", "{body}");
    }
    for blob in blob_files(app.dir.path()) {
        let len = std::fs::metadata(&blob).expect("blob").len();
        assert!(len <= 1000, "{} is {len} bytes", blob.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v1_face_refuses_with_its_own_envelope() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("native").await;
    let html = origin.put("page", media::HTML.to_vec(), "text/html");
    let cases = [
        (
            json!({"assetType": "image", "url": html}),
            StatusCode::BAD_REQUEST,
            "invalid-asset-type",
        ),
        (
            json!({"assetType": "Image"}),
            StatusCode::BAD_REQUEST,
            "invalid-url",
        ),
        (
            json!({"assetType": "Image", "url": html}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "type-mismatch",
        ),
        (
            json!({"assetType": "Image", "url": "http://127.0.0.1:1/x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "source-unreachable",
        ),
        (
            json!({"assetType": "Image", "url": format!("{}/status/404", origin.base)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "source-http-error",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = app.post(&key, "/v1/assets", &body).await;
        assert_eq!(got, status, "{body} → {answer}");
        crate::common::assert_keys(&answer, &["error"]);
        crate::common::assert_keys(&answer["error"], &["code", "message"]);
        assert_eq!(answer["error"]["code"], code, "{answer}");
    }
    let resp = app
        .client
        .get(format!("{}/v1/assets", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_nothing_created(&app, &key).await;
}
