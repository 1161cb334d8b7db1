//! Quotas: the configuration file's per tenant, an admin's at run time
//! (`PUT /v1/tenants/{tenant}/quota`); an upload over one is refused at once with
//! `quota-exceeded` (429) naming the limit and the use, on both faces; `GET /v1/usage` shows a
//! tenant its use against its limits.

use std::sync::Arc;

use assetlib::domain::{Quota, QuotaConfig};
use assetlib::fetch::SystemLookup;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{KYY, Origin, TestApp, media, spawn_app_with};

async fn put(app: &TestApp, key: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    app.send(
        app.client
            .put(format!("{}{path}", app.base))
            .bearer_auth(key)
            .json(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_a_quota_are_refused_with_the_limit_and_the_use() {
    let app = spawn_app_with(
        |config| {
            let mut quotas = QuotaConfig::default();
            quotas.tenants.insert(
                "small".to_owned(),
                Quota {
                    max_assets: Some(2),
                    ..Quota::default()
                },
            );
            config.quotas = quotas;
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("small").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");

    let (status, usage) = app.get(&key, "/v1/usage").await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(usage["tenant"], "small");
    assert_eq!(usage["source"], "configuration");
    assert_eq!(usage["assets"], json!({"used": 0, "limit": 2}));
    assert_eq!(usage["bytes"]["limit"], Value::Null);

    let first = app.upload_ok(&key, "Image", &url).await;
    app.upload_ok(&key, "Image", &url).await;
    let (_, usage) = app.get(&key, "/v1/usage").await;
    assert_eq!(usage["assets"], json!({"used": 2, "limit": 2}), "{usage}");
    assert!(usage["bytes"]["used"].as_u64().is_some_and(|b| b > 0));
    assert_eq!(usage["uploadsPerMinute"]["used"], 2);

    // The third is refused at once, on both faces, before anything is fetched (a missing file
    // at the URL would answer source-http-error otherwise).
    let missing = format!("{}/files/missing.png", origin.base);
    let (status, refused) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": missing}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert_eq!(refused["error"]["code"], "quota-exceeded");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("2 of its 2 assets") && message.contains("maxAssets"),
        "{message}"
    );
    let (status, kyy) = app.kyy_upload(&key, "Image", &missing).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{kyy}");
    assert_eq!(kyy["code"], 1432, "{kyy}");
    let form = reqwest::multipart::Form::new()
        .text("assetType", "Image")
        .part(
            "file",
            reqwest::multipart::Part::bytes(media::png(300, 300)).file_name("b.png"),
        );
    let resp = app
        .client
        .post(format!("{}/v1/assets", app.base))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    // Answered before the file was read: the connection is not reused for the next request.
    assert_eq!(
        resp.headers()
            .get("connection")
            .and_then(|v| v.to_str().ok()),
        Some("close")
    );

    // Deleting frees room.
    let (status, _) = app.delete(&key, &format!("{KYY}/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    app.upload_ok(&key, "Image", &url).await;

    // An admin changes it at run time: bytes and rate limits, each refusal naming its numbers.
    let (status, refused) = put(
        &app,
        &key,
        "/v1/tenants/small/quota",
        &json!({"maxAssets": 100}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let admin = app.admin_key.clone();
    let (status, set) = put(
        &app,
        &admin,
        "/v1/tenants/small/quota",
        &json!({"maxAssets": 100, "maxBytes": 1000}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["source"], "admin");
    assert_eq!(set["assets"]["limit"], 100);
    assert_eq!(set["uploadsPerMinute"]["limit"], Value::Null);
    let (status, refused) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": url}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("maxBytes")),
        "{refused}"
    );
    // A resumable upload over the bytes limit is refused when it is created, before any byte.
    let tus = app
        .client
        .post(format!("{}/v1/uploads/tus", app.base))
        .bearer_auth(&key)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", "5000")
        .header("upload-metadata", "assetType SW1hZ2U=")
        .send()
        .await
        .expect("tus create");
    assert_eq!(tus.status(), StatusCode::TOO_MANY_REQUESTS);
    // One created within the quota whose completion is refused (the quota changed meanwhile)
    // is completed by a PATCH at its end once there is room again.
    let (status, _) = put(
        &app,
        &admin,
        "/v1/tenants/small/quota",
        &json!({"maxAssets": 100}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let png = media::png(320, 320);
    let created = app
        .client
        .post(format!("{}/v1/uploads/tus", app.base))
        .bearer_auth(&key)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", png.len().to_string())
        .header("upload-metadata", "assetType SW1hZ2U=")
        .send()
        .await
        .expect("tus create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let target = if location.starts_with("http") {
        location
    } else {
        format!("{}{location}", app.base)
    };
    let (status, _) = put(
        &app,
        &admin,
        "/v1/tenants/small/quota",
        &json!({"maxAssets": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let patch = |body: Vec<u8>, offset: usize| {
        app.client
            .patch(&target)
            .bearer_auth(&key)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(body)
            .send()
    };
    let refused = patch(png.clone(), 0).await.expect("patch");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = put(
        &app,
        &admin,
        "/v1/tenants/small/quota",
        &json!({"maxAssets": 100}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let done = patch(Vec::new(), png.len()).await.expect("patch");
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert!(done.headers().get("asset-id").is_some(), "completed");
    let (status, set) = put(
        &app,
        &admin,
        "/v1/tenants/small/quota",
        &json!({"uploadsPerMinute": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (status, refused) = app
        .send(
            app.client
                .post(format!("{}/v1/assets", app.base))
                .bearer_auth(&key)
                .json(&json!({"assetType": "Image", "url": url})),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("uploadsPerMinute")),
        "{refused}"
    );
    let resp = app
        .client
        .post(format!("{}/v1/assets", app.base))
        .bearer_auth(&key)
        .json(&json!({"assetType": "Image", "url": url}))
        .send()
        .await
        .expect("sent");
    assert!(resp.headers().get("retry-after").is_some(), "Retry-After");
    let (status, bad) = put(
        &app,
        &admin,
        "/v1/tenants/small/quota",
        &json!({"maxAsset": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    // Removed: the configuration's applies again.
    let (status, cleared) = app.delete(&admin, "/v1/tenants/small/quota").await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["source"], "configuration");
    assert_eq!(cleared["assets"]["limit"], 2);
    let (_, other) = app.get(&admin, "/v1/tenants/elsewhere/quota").await;
    assert_eq!(
        other["assets"],
        json!({"used": 0, "limit": null}),
        "{other}"
    );
}
