//! `POST /v1/assets` by URL without `assetType`: the type is the fetched bytes' (image, video,
//! audio, document), bytes of no accepted type are refused, a named type is checked as ever,
//! and the kyy face still requires one.

use assetlib_test_support::media::{Clip, tone_wav};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Origin, media, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_upload_without_a_type_takes_the_bytes_type() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("sniffer").await;
    let clip = Clip::new(720, 720, 24, 3).bars().expect("an H.264 clip");
    // Served under misleading names and Content-Types: only the bytes count.
    let cases = [
        (
            "photo.bin",
            media::png(400, 320),
            "application/octet-stream",
            "Image",
        ),
        ("clip.png", clip, "image/png", "Video"),
        ("tone", tone_wav(3000, 16_000, 1), "text/plain", "Audio"),
        (
            "notes.txt",
            b"Shot list\nday one: beach\n".to_vec(),
            "text/plain",
            "Document",
        ),
    ];
    for (name, bytes, content_type, expected) in cases {
        let url = origin.put(name, bytes, content_type);
        let (status, body) = app
            .post(&key, "/v1/assets", &json!({"url": url, "name": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        assert_eq!(body["assetType"], expected, "{name}: {body}");
        let id = body["assetId"].as_str().expect("an id");
        let settled = app.wait_settled(&key, id).await;
        assert_eq!(settled["assetType"], expected, "{name}: {settled}");
        assert_ne!(settled["status"], "Failed", "{name}: {settled}");
    }
    // An empty assetType is the same as none.
    let url = origin.put("again.png", media::png(64, 64), "image/png");
    let (status, body) = app
        .post(&key, "/v1/assets", &json!({"url": url, "assetType": ""}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["assetType"], "Image", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_of_no_accepted_type_are_refused_and_a_named_type_is_still_checked() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("sniffer").await;
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i * 7919 % 251) as u8 | 0x80)
        .collect();
    let url = origin.put("blob.png", noise, "image/png");
    let (status, body) = app.post(&key, "/v1/assets", &json!({"url": url})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "type-mismatch", "{body}");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("no accepted type"), "{message}");

    // Named, the type is checked against the bytes as before.
    let png = origin.put("p.png", media::png(64, 64), "image/png");
    let (status, body) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"url": png, "assetType": "Video"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "type-mismatch", "{body}");
    let (status, body) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"url": png, "assetType": "Picture"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The kyy face keeps assetType required.
    let (_, envelope) = app.kyy_upload(&key, "", &png).await;
    assert_ne!(envelope["code"], 0, "{envelope}");
    assert!(
        envelope["data"].is_null() || envelope["data"]["assetId"].is_null(),
        "{envelope}"
    );
}
