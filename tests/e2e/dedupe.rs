//! Content dedup per tenant: with `dedupe` (per request, or per tenant in the configuration) an
//! upload of bytes a live asset of the same tenant and type already has answers that asset;
//! never across tenants; `GET /v1/assets?sha256=` finds assets by content.

use std::sync::Arc;

use assetlib::fetch::SystemLookup;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{KYY, Origin, media, spawn_app, spawn_app_with};

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    assetlib::fetch::hex(&sha2::Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedupe_upload_of_known_bytes_answers_the_earlier_asset() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let bytes = media::png(400, 400);
    let first_url = origin.put("a.png", bytes.clone(), "image/png");
    let same_bytes = origin.put("copy-of-a.png", bytes.clone(), "image/png");
    let other_bytes = origin.put("b.png", media::png(420, 400), "image/png");

    let (status, first) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": first_url, "name": "cover"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(first.get("deduplicatedFrom").is_none());
    let id = first["assetId"].as_str().expect("id").to_owned();

    // The same bytes under another URL, with dedupe: the earlier asset, said so.
    let (status, again) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": same_bytes, "dedupe": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["assetId"], json!(id));
    assert_eq!(again["deduplicatedFrom"], json!(id));
    assert_eq!(again["name"], "cover", "the earlier asset as it is");
    // `?dedupe=true` works the same, on the kyy route too (its body keeps its shape).
    let (status, kyy) = app
        .post(
            &key,
            &format!("{KYY}/upload?dedupe=true"),
            &json!({"assetType": "Image", "url": same_bytes}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kyy}");
    assert_eq!(kyy["data"]["assetId"], json!(id));

    // Without dedupe, or with other bytes, a new asset.
    let (status, plain) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": same_bytes}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(plain["assetId"], json!(id));
    let (status, other) = app
        .post(
            &key,
            "/v1/assets?dedupe=true",
            &json!({"assetType": "Image", "url": other_bytes}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");

    // Never another tenant's asset.
    let theirs = app.create_key("elsewhere").await;
    let (status, separate) = app
        .post(
            &theirs,
            "/v1/assets?dedupe=true",
            &json!({"assetType": "Image", "url": same_bytes}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{separate}");
    assert_ne!(separate["assetId"], json!(id));

    // Asking before uploading: the tenant's assets with these bytes, newest first.
    let sha = sha256(&bytes);
    let (status, found) = app
        .get(&key, &format!("/v1/assets?sha256={}", sha.to_uppercase()))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let ids: Vec<&Value> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| &a["assetId"])
        .collect();
    assert_eq!(ids, vec![&plain["assetId"], &json!(id)]);
    let (status, bad) = app.get(&key, "/v1/assets?sha256=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(app.all_asset_ids(&key).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_named_in_the_configuration_are_deduplicated_and_failed_assets_are_not_reused() {
    let app = spawn_app_with(
        |c| c.dedupe_tenants = vec!["studio".to_owned()],
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let first = app.upload_ok(&key, "Image", &url).await;
    let second = app.upload_ok(&key, "Image", &url).await;
    assert_eq!(first, second);

    // An asset that failed is no twin: the same bytes make a new one.
    let broken = origin.put("cut.jpg", media::truncated_jpeg(), "image/jpeg");
    let failed = app.upload_ok(&key, "Image", &broken).await;
    let settled = app.wait_settled(&key, &failed).await;
    assert_eq!(settled["status"], "Failed", "{settled}");
    let retried = app.upload_ok(&key, "Image", &broken).await;
    assert_ne!(retried, failed);

    // Another tenant is not named: no dedupe for it.
    let other = app.create_key("elsewhere").await;
    let a = app.upload_ok(&other, "Image", &url).await;
    let b = app.upload_ok(&other, "Image", &url).await;
    assert_ne!(a, b);
}
