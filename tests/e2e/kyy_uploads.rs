//! The kyy upload route taking files: multipart bodies streamed to disk, `data:` URIs, the
//! refusals of both; `?wait=` on kyy details; `--kyy-error-status ok`; omitted names; the
//! start-up warning about content URLs an upstream cannot fetch.

use assetlib::config::KyyErrorStatus;
use assetlib::fetch::SystemLookup;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{KYY, Origin, TestApp, media, serve, spawn_app, spawn_app_with};
use crate::corpus;

fn file(bytes: Vec<u8>, file_name: &str) -> Part {
    Part::bytes(bytes).file_name(file_name.to_owned())
}

async fn post_form(app: &TestApp, key: &str, form: Form) -> (StatusCode, Value) {
    app.send(
        app.client
            .post(format!("{}{KYY}/upload", app.base))
            .bearer_auth(key)
            .multipart(form),
    )
    .await
}

fn asset_id(status: StatusCode, body: &Value) -> String {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["code"], json!(0), "{body}");
    assert!(body["msg"].is_null(), "{body}");
    body["data"]["assetId"]
        .as_str()
        .unwrap_or_else(|| panic!("no assetId in {body}"))
        .to_owned()
}

/// kyy details with `?wait=30`: answers once the asset has left Processing.
async fn kyy_settled(app: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = app.get(key, &format!("{KYY}/{id}?wait=30")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_of_an_image_and_a_video_become_active() {
    let app = spawn_app().await;
    let key = app.create_key("acme").await;

    let form = Form::new()
        .text("assetType", "Image")
        .text("name", "My portrait photo")
        .part("file", file(media::png(640, 480), "portrait 1.png"));
    let (status, body) = post_form(&app, &key, form).await;
    let image = asset_id(status, &body);

    // The file first, its type after it: any order of parts.
    let mp4 = tokio::task::spawn_blocking(|| corpus::read("v-720p-h264-aac.mp4"))
        .await
        .expect("corpus");
    let mp4_len = mp4.len() as u64;
    let form = Form::new()
        .part("file", file(mp4, "clip.mp4"))
        .text("assetType", "Video")
        .text("name", "clip");
    let (status, body) = post_form(&app, &key, form).await;
    let video = asset_id(status, &body);

    let detail = kyy_settled(&app, &key, &image).await;
    assert_eq!(detail["data"]["status"], "Active", "{detail}");
    assert_eq!(detail["data"]["name"], "My portrait photo");
    assert_eq!(detail["data"]["url"], "upload://portrait%201.png");
    let (_, v1) = app.get(&key, &format!("/v1/assets/{image}")).await;
    assert_eq!(v1["format"], "png", "{v1}");
    assert_eq!(
        (v1["width"].clone(), v1["height"].clone()),
        (json!(640), json!(480))
    );

    let detail = kyy_settled(&app, &key, &video).await;
    assert_eq!(detail["data"]["status"], "Active", "{detail}");
    assert_eq!(detail["data"]["assetType"], "Video");
    let (_, v1) = app.get(&key, &format!("/v1/assets/{video}")).await;
    assert_eq!(v1["format"], "mp4", "{v1}");
    assert_eq!(v1["bytes"], json!(mp4_len));
    assert_eq!(
        (v1["width"].clone(), v1["height"].clone()),
        (json!(1280), json!(720))
    );
    assert!(v1["durationMs"].as_u64().is_some(), "{v1}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_refusals_say_what_is_wrong() {
    let app = spawn_app_with(
        |c| c.limits.image.max_bytes = 64 * 1024,
        Arc::new(SystemLookup),
    )
    .await;
    let key = app.create_key("acme").await;
    let refused = |status: StatusCode, body: &Value, http: StatusCode, code: i64, says: &str| {
        assert_eq!(status, http, "{body}");
        assert_eq!(body["code"], json!(code), "{body}");
        assert!(body["data"].is_null(), "{body}");
        let msg = body["msg"].as_str().unwrap_or_default();
        assert!(msg.contains(says), "'{says}' not in {msg}");
    };

    // Over the type's cap, the type known before the file, and after it.
    let mut big = media::png(640, 480);
    big.resize(200 * 1024, 0);
    for type_first in [true, false] {
        let form = if type_first {
            Form::new()
                .text("assetType", "Image")
                .part("file", file(big.clone(), "big.png"))
        } else {
            Form::new()
                .part("file", file(big.clone(), "big.png"))
                .text("assetType", "Image")
        };
        let (status, body) = post_form(&app, &key, form).await;
        refused(
            status,
            &body,
            StatusCode::PAYLOAD_TOO_LARGE,
            1004,
            "image must be",
        );
    }

    let form = Form::new().text("assetType", "Image").text("name", "x");
    let (status, body) = post_form(&app, &key, form).await;
    refused(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        1000,
        "the part 'file' is missing",
    );

    let form = Form::new()
        .text("assetType", "Image")
        .text("colour", "red")
        .part("file", file(media::png(640, 480), "a.png"));
    let (status, body) = post_form(&app, &key, form).await;
    refused(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        1000,
        "unknown part 'colour'",
    );

    let form = Form::new().part("file", file(media::png(640, 480), "a.png"));
    let (status, body) = post_form(&app, &key, form).await;
    refused(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        1007,
        "assetType is required",
    );

    let form = Form::new()
        .text("assetType", "Image")
        .part("file", file(media::pdf(), "a.png"));
    let (status, body) = post_form(&app, &key, form).await;
    refused(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        1005,
        "the uploaded file is",
    );

    let (status, body) = app
        .send(
            app.client
                .post(format!("{}{KYY}/upload", app.base))
                .bearer_auth(&key)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("assetType=Image"),
        )
        .await;
    refused(status, &body, StatusCode::BAD_REQUEST, 1000, "Content-Type");
    // A JSON object sent as a form (`curl -d '{…}'` without a JSON Content-Type) is read as
    // JSON: here its source is refused for what it is, not for the header.
    let (status, body) = app
        .send(
            app.client
                .post(format!("{}{KYY}/upload", app.base))
                .bearer_auth(&key)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(r#"{"assetType":"Image","url":"ftp://example.com/a.png"}"#),
        )
        .await;
    refused(status, &body, StatusCode::BAD_REQUEST, 1008, "scheme 'ftp'");

    // Nothing was created, and no temp file is left.
    assert!(app.all_asset_ids(&key).await.is_empty());
    let tmp = app.dir.path().join("tmp");
    let left = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "temp files left in {}", tmp.display());

    // Other routes keep the small body limit.
    let (status, body) = app
        .send(
            app.client
                .post(format!("{}/v1/assets", app.base))
                .bearer_auth(&key)
                .json(&json!({"assetType": "Image", "url": "x".repeat(3 << 20)})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "body-too-large");
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_uris_are_uploads_capped_at_10_mb() {
    let app = spawn_app().await;
    let key = app.create_key("acme").await;
    let url = format!("data:image/png;base64,{}", base64(&media::png(640, 480)));
    let body = json!({"assetType": "Image", "url": url, "name": "inline"});
    let (status, up) = app.post(&key, &format!("{KYY}/upload"), &body).await;
    let id = asset_id(status, &up);
    let detail = kyy_settled(&app, &key, &id).await;
    assert_eq!(detail["data"]["status"], "Active", "{detail}");
    assert_eq!(detail["data"]["url"], "upload://data-uri");

    // Over 10 MB decoded: refused before decoding, with a sentence that says so.
    let url = format!(
        "data:image/png;base64,{}",
        "AAAA".repeat((10 << 20) / 3 + 2)
    );
    let body = json!({"assetType": "Image", "url": url});
    let (status, refused) = app.post(&key, &format!("{KYY}/upload"), &body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
    assert_eq!(refused["code"], json!(1004));
    assert!(
        refused["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("data: URI may carry at most 10 MB"),
        "{refused}"
    );

    let body = json!({"assetType": "Image", "url": "data:image/png;base64,@@@"});
    let (status, refused) = app.post(&key, &format!("{KYY}/upload"), &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["code"], json!(1008), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kyy_details_wait_like_v1() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("acme").await;
    let id = app
        .upload_ok(
            &key,
            "Image",
            &origin.put("w.png", media::png(640, 480), "image/png"),
        )
        .await;
    let detail = kyy_settled(&app, &key, &id).await;
    assert_eq!(detail["data"]["status"], "Active", "{detail}");
    let (status, body) = app.get(&key, &format!("{KYY}/{id}?wait=61")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], json!(1000));
    assert!(
        body["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("wait must be")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kyy_error_status_ok_answers_refusals_with_200() {
    let app = spawn_app_with(
        |c| c.kyy_error_status = KyyErrorStatus::Ok,
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("acme").await;
    let pdf = origin.put("doc.pdf", media::pdf(), "application/pdf");

    let (status, body) = app.kyy_upload(&key, "Image", &pdf).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["code"], json!(1005));
    assert!(
        body["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("not an Image")
    );

    let form = Form::new().text("assetType", "Image");
    let (status, body) = post_form(&app, &key, form).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::OK, json!(1000))
    );
    let (status, body) = app
        .get(&key, &format!("{KYY}/asset-20260101000000-zzzzz"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["code"], json!(-1));
    let (status, body) = app.get(&key, "/kyyReactApiServer/no/such/route").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Auth keeps 401; the v1 face keeps its statuses.
    let (status, body) = app.kyy_upload("alk_wrong", "Image", &pdf).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], json!(1401));
    let (status, _) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": pdf}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The default is the code's own status.
    let rest = spawn_app().await;
    let key = rest.create_key("acme").await;
    let (status, body) = rest.kyy_upload(&key, "Image", &pdf).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!(1005))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_omitted_or_empty_name_is_null_on_both_faces() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("acme").await;
    let url = origin.put("n.png", media::png(640, 480), "image/png");
    let mut ids = Vec::new();
    for body in [
        json!({"assetType": "Image", "url": url}),
        json!({"assetType": "Image", "url": url, "name": ""}),
        json!({"assetType": "Image", "url": url, "name": null}),
    ] {
        let (status, up) = app.post(&key, &format!("{KYY}/upload"), &body).await;
        ids.push(asset_id(status, &up));
    }
    let form = Form::new()
        .text("assetType", "Image")
        .part("file", file(media::png(640, 480), "n.png"));
    let (status, up) = post_form(&app, &key, form).await;
    ids.push(asset_id(status, &up));
    let (status, created) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": url}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["name"].is_null(), "{created}");
    ids.push(created["assetId"].as_str().expect("id").to_owned());

    for id in &ids {
        let (_, kyy) = app.get(&key, &format!("{KYY}/{id}")).await;
        assert!(kyy["data"]["name"].is_null(), "{kyy}");
        assert!(kyy["data"].as_object().expect("data").contains_key("name"));
        let (_, v1) = app.get(&key, &format!("/v1/assets/{id}")).await;
        assert!(v1["name"].is_null(), "{v1}");
    }
    let (_, list) = app.get(&key, &format!("{KYY}/list?pageSize=50")).await;
    for item in list["data"]["list"].as_array().expect("list") {
        assert!(item["name"].is_null(), "{item}");
    }
}

#[test]
fn a_gateway_with_loopback_content_urls_warns_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let args = [
        "--upstream-url",
        "https://upstream.example",
        "--upstream-key",
        "k",
    ];
    let node = serve(dir.path(), &args, "warn");
    // Written before the ready line, but read from stderr on a thread of its own: waited for.
    let warned = |node: &assetlib_test_support::Proc, within: Duration| {
        node.saw_line(
            |l| l.contains("WARN") && l.contains("cannot fetch the assets"),
            within,
        )
    };
    assert!(warned(&node, Duration::from_secs(10)), "{:?}", node.logs());
    drop(node);

    let dir = tempfile::tempdir().expect("dir");
    let mut args = args.to_vec();
    args.extend(["--public-url", "https://assets.example.com"]);
    let node = serve(dir.path(), &args, "warn");
    assert!(
        !warned(&node, Duration::from_millis(500)),
        "{:?}",
        node.logs()
    );
}
