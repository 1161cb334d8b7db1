//! What reviewers and admins may reach: the original of any asset that is or was in review (and
//! nothing else of another tenant), another tenant's library with `?tenant=`; and HEIC refused
//! at upload on every face, so that no image is ever decided blind.

use assetlib::domain::Role;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::{KYY, Origin, TestApp, media, spawn_app};
use crate::review_workflow::key_of;

async fn bytes_of(
    app: &TestApp,
    key: &str,
    path: &str,
    range: Option<&str>,
) -> (StatusCode, Vec<u8>) {
    let mut req = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(key);
    if let Some(range) = range {
        req = req.header("Range", range);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status();
    (status, resp.bytes().await.expect("body").to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_read_the_original_of_assets_in_review_and_nothing_else() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let studio = app.create_key("studio").await;
    let (reviewer, _) = key_of(&app, "moderators", Role::Reviewer, "Rita").await;
    let photo = media::photo("astronaut.png");
    let face = origin.put("astronaut.png", photo.clone(), "image/png");
    let plain = origin.put("coffee.png", media::photo("coffee.png"), "image/png");
    let held = app.upload_ok(&studio, "Image", &face).await;
    assert_eq!(
        app.wait_settled(&studio, &held).await["status"],
        "PendingReview"
    );
    let other = app.upload_ok(&studio, "Image", &plain).await;
    assert_eq!(app.wait_settled(&studio, &other).await["status"], "Active");

    // Held: the full original, and ranges of it, as its owner gets them.
    let path = format!("/v1/assets/{held}/content");
    for key in [&reviewer, &app.admin_key] {
        let (status, body) = bytes_of(&app, key, &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, photo, "the original bytes");
        let (status, part) = bytes_of(&app, key, &path, Some("bytes=0-15")).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(part, photo[..16]);
    }
    let (_, queue) = app.get(&reviewer, "/v1/reviews").await;
    assert_eq!(queue["items"][0]["contentUrl"], path.as_str());

    // Never in review, or another tenant's key: as if missing.
    let (status, _) = bytes_of(
        &app,
        &reviewer,
        &format!("/v1/assets/{other}/content"),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an asset never in review stays hidden"
    );
    let stranger = app.create_key("agency").await;
    let (status, _) = bytes_of(&app, &stranger, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Decided, it was in review: the reviewer still reads it.
    let (status, _) = app
        .post(
            &reviewer,
            &format!("/v1/reviews/{held}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = bytes_of(&app, &reviewer, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), photo.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_reviewers_reach_another_tenants_library_with_the_tenant_parameter() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let studio = app.create_key("studio").await;
    let agency = app.create_key("agency").await;
    let (reviewer, _) = key_of(&app, "moderators", Role::Reviewer, "Rita").await;
    let bytes = media::png(640, 480);
    let url = origin.put("a.png", bytes.clone(), "image/png");
    let id = app.upload_ok(&studio, "Image", &url).await;
    app.wait_settled(&studio, &id).await;

    // Reads: admin and reviewer name the tenant; the asset is there.
    for key in [&app.admin_key, &reviewer] {
        let (status, list) = app.get(key, "/v1/assets?tenant=studio").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["items"][0]["assetId"], id.as_str(), "{list}");
        let (status, detail) = app
            .get(key, &format!("/v1/assets/{id}?tenant=studio"))
            .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        let (status, body) = bytes_of(
            &app,
            key,
            &format!("/v1/assets/{id}/content?tenant=studio"),
            None,
        )
        .await;
        assert_eq!((status, body.len()), (StatusCode::OK, bytes.len()));
        let (status, _) = app.get(key, "/v1/assets").await;
        assert_eq!(status, StatusCode::OK, "without it: the key's own tenant");
    }
    let (_, own) = app.get(&app.admin_key, "/v1/assets").await;
    assert_eq!(
        own["items"],
        json!([]),
        "the admin tenant's library is its own"
    );

    // Writes: the admin may, the reviewer may not.
    let rename = |key: &str| {
        app.send(
            app.client
                .patch(format!("{}/v1/assets/{id}?tenant=studio", app.base))
                .bearer_auth(key)
                .json(&json!({"name": "renamed by the desk"})),
        )
    };
    let (status, body) = rename(&reviewer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, body) = rename(&app.admin_key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "renamed by the desk");
    let (status, _) = app
        .delete(&reviewer, &format!("/v1/assets/{id}?tenant=studio"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .delete(&app.admin_key, &format!("/v1/assets/{id}?tenant=studio"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .post(
            &app.admin_key,
            &format!("/v1/assets/{id}/restore?tenant=studio"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A tenant key: its own tenant named is fine, another is refused.
    let (status, _) = app.get(&studio, "/v1/assets?tenant=studio").await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/v1/assets?tenant=studio".to_owned(),
        format!("/v1/assets/{id}?tenant=studio"),
        format!("/v1/assets/{id}/content?tenant=studio"),
    ] {
        let (status, body) = app
            .send(
                app.client
                    .get(format!("{}{path}", app.base))
                    .bearer_auth(&agency),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
}

/// An ISO-BMFF head with `brand` as its major brand, the rest zeros.
fn bmff(brand: &[u8; 4]) -> Vec<u8> {
    let mut head = vec![0, 0, 0, 24];
    head.extend_from_slice(b"ftyp");
    head.extend_from_slice(brand);
    head.extend_from_slice(&[0, 0, 0, 0]);
    head.extend_from_slice(b"mif1heic");
    head.resize(2048, 0);
    head
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heic_is_refused_at_upload_on_every_face() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("phone").await;
    // The committed HEIC (tests/fixtures/README.md), and headers with the other brands.
    let url = origin.put("photo.heic", media::heic(), "image/heic");
    let (status, body) = app.kyy_upload(&key, "Image", &url).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], 1016, "{body}");
    assert!(
        body["msg"].as_str().expect("msg").contains("HEIC"),
        "{body}"
    );
    for brand in [b"heix", b"mif1", b"msf1", b"hevc"] {
        let url = origin.put("x.bin", bmff(brand), "application/octet-stream");
        let (status, body) = app
            .post(
                &key,
                "/v1/assets",
                &json!({"assetType": "Image", "url": url}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "image-format", "{body}");
    }
    let form = Form::new().text("assetType", "Image").part(
        "file",
        Part::bytes(media::heic()).file_name("IMG_0001.HEIC"),
    );
    let (status, body) = app
        .send(
            app.client
                .post(format!("{}/v1/assets", app.base))
                .bearer_auth(&key)
                .multipart(form),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "image-format");
    let (status, body) = app
        .send(
            app.client
                .put(format!("{}/v1/assets/IMG_0002.HEIC", app.base))
                .bearer_auth(&key)
                .header("Content-Type", "image/heic")
                .body(media::heic()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "image-format");
    let (status, body) = app
        .post(
            &key,
            "/kyyReactApiServer/asset/sd2Manxue/assetUpload",
            &json!({"imageUrls": [url]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["items"], json!([]), "{body}");
    assert_eq!(
        body["data"]["failedItems"].as_array().map(Vec::len),
        Some(1)
    );
    let (status, group) = app
        .post(&key, "/v1/groups", &json!({"name": "phone"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let (status, body) = app
        .send(
            app.client
                .post(format!(
                    "{}/?Action=CreateAsset&Version=2024-01-01",
                    app.base
                ))
                .bearer_auth(&key)
                .json(&json!({"GroupId": group["groupId"], "URL": url, "AssetType": "Image"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let error = &body["ResponseMetadata"]["Error"];
    assert_eq!(error["Code"], "InvalidParameter.URL", "{body}");
    assert!(
        error["Message"]
            .as_str()
            .is_some_and(|m| m.contains("HEIC")),
        "{body}"
    );
    // Nothing was created.
    let (_, list) = app
        .get(&key, &format!("{KYY}/list?pageNum=1&pageSize=10"))
        .await;
    assert_eq!(list["data"]["total"], Value::from(0), "{list}");
}
