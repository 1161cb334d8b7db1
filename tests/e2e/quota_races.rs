//! Quotas hold under concurrency and count what is reserved: uploads started together behind a
//! barrier never pass `maxAssets`, `maxBytes` or `uploadsPerMinute` (on one node and on two
//! sharing PostgreSQL); the bytes announced by resumable and direct uploads not yet complete
//! count in `GET /v1/usage` and against `maxBytes`; a tenant has at most
//! `--max-open-uploads` of them.

use std::sync::Arc;

use assetlib::domain::{Quota, QuotaConfig};
use assetlib::fetch::SystemLookup;
use assetlib_test_support::opt_in;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::common::{Origin, PgSchema, TestApp, media, node_on, spawn_app_with};

/// Uploads started together.
const RACERS: usize = 30;

fn quota_of(tenant: &str, quota: Quota) -> QuotaConfig {
    let mut quotas = QuotaConfig::default();
    quotas.tenants.insert(tenant.to_owned(), quota);
    quotas
}

/// `RACERS` uploads of `url` spread over `nodes`, started together; how many were created
/// (the others must be refused with `quota-exceeded`).
async fn race_uploads(nodes: &[&TestApp], key: &str, url: &str) -> usize {
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut racers = Vec::new();
    for i in 0..RACERS {
        let node = nodes[i % nodes.len()];
        let (client, base) = (node.client.clone(), node.base.clone());
        let (key, barrier) = (key.to_owned(), Arc::clone(&barrier));
        let url = format!("{url}?v={i}");
        racers.push(tokio::spawn(async move {
            barrier.wait().await;
            let resp = client
                .post(format!("{base}/v1/assets"))
                .bearer_auth(key)
                .json(&json!({"assetType": "Image", "url": url}))
                .send()
                .await
                .expect("upload");
            let status = resp.status();
            let body: Value = resp.json().await.expect("json");
            (status, body)
        }));
    }
    let mut created = 0;
    for racer in racers {
        let (status, body) = racer.await.expect("racer");
        match status {
            StatusCode::CREATED => created += 1,
            _ => assert_eq!(body["error"]["code"], "quota-exceeded", "{status}: {body}"),
        }
    }
    created
}

async fn racing_app(quota: Quota) -> (TestApp, String, Origin, String) {
    let app = spawn_app_with(
        move |c| c.quotas = quota_of("racer", quota),
        Arc::new(SystemLookup),
    )
    .await;
    let key = app.create_key("racer").await;
    let origin = Origin::start().await;
    let url = origin.put("r.png", media::png(400, 400), "image/png");
    (app, key, origin, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_stop_at_max_assets() {
    let (app, key, _origin, url) = racing_app(Quota {
        max_assets: Some(5),
        ..Quota::default()
    })
    .await;
    assert_eq!(race_uploads(&[&app], &key, &url).await, 5);
    assert_eq!(app.all_asset_ids(&key).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_stop_at_max_bytes() {
    let size = media::png(400, 400).len() as u64;
    let (app, key, _origin, url) = racing_app(Quota {
        max_bytes: Some(5 * size + size / 2),
        ..Quota::default()
    })
    .await;
    assert_eq!(race_uploads(&[&app], &key, &url).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_stop_at_the_per_minute_rate() {
    let (app, key, _origin, url) = racing_app(Quota {
        uploads_per_minute: Some(5),
        ..Quota::default()
    })
    .await;
    assert_eq!(race_uploads(&[&app], &key, &url).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_on_two_nodes_stop_at_max_assets() {
    let Some(pg) = opt_in::database_url("the two-node quota race") else {
        return;
    };
    let schema = PgSchema::create(&pg, "assetlib_quota_race").await;
    let blobs = tempfile::tempdir().expect("shared blob dir");
    let blob_url = format!("file://{}", blobs.path().display());
    let quota = Quota {
        max_assets: Some(5),
        ..Quota::default()
    };
    let a = node_on(&schema.url, &blob_url, |c| {
        c.quotas = quota_of("racer", quota)
    })
    .await;
    let b = node_on(&schema.url, &blob_url, |c| {
        c.bootstrap_admin_key = false;
        c.quotas = quota_of("racer", quota);
    })
    .await;
    let key = a.create_key("racer").await;
    let origin = Origin::start().await;
    let url = origin.put("r.png", media::png(400, 400), "image/png");
    assert_eq!(race_uploads(&[&a, &b], &key, &url).await, 5);
    assert_eq!(b.all_asset_ids(&key).await.len(), 5);
    drop((a, b));
    schema.remove().await;
}

async fn tus_create(app: &TestApp, key: &str, length: u64) -> reqwest::Response {
    let metadata = format!(
        "assetType {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "Image")
    );
    app.client
        .post(format!("{}/v1/uploads/tus", app.base))
        .bearer_auth(key)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", metadata)
        .send()
        .await
        .expect("create")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_uploads_count_against_the_bytes_quota() {
    const KB: u64 = 1000;
    let app = spawn_app_with(
        |c| {
            c.quotas = quota_of(
                "reserver",
                Quota {
                    max_bytes: Some(1000 * KB),
                    ..Quota::default()
                },
            );
        },
        Arc::new(SystemLookup),
    )
    .await;
    let key = app.create_key("reserver").await;
    let first = tus_create(&app, &key, 600 * KB).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let (status, usage) = app.get(&key, "/v1/usage").await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(usage["bytes"]["used"], 0, "{usage}");
    assert_eq!(usage["bytes"]["reserved"], 600 * KB, "{usage}");
    assert_eq!(usage["openUploads"]["used"], 1, "{usage}");

    // Another 600 kB, by tus or direct, would pass the limit with the first one's.
    let second = tus_create(&app, &key, 600 * KB).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = second.json().await.expect("json");
    assert_eq!(body["error"]["code"], "quota-exceeded", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("reserved"), "{message}");
    let (status, direct) = app
        .post(
            &key,
            "/v1/uploads",
            &json!({"assetType": "Image", "length": 600 * KB}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{direct}");
    assert_eq!(direct["error"]["code"], "quota-exceeded");
    // 300 kB still fits.
    let (status, direct) = app
        .post(
            &key,
            "/v1/uploads",
            &json!({"assetType": "Image", "length": 300 * KB}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{direct}");

    // Ending the first frees its reservation.
    let location = first
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    let ended = app
        .client
        .delete(format!("{}{location}", app.base))
        .bearer_auth(&key)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("delete");
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let (_, usage) = app.get(&key, "/v1/usage").await;
    assert_eq!(usage["bytes"]["reserved"], 300 * KB, "{usage}");
    assert_eq!(
        tus_create(&app, &key, 600 * KB).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_has_at_most_the_open_uploads_allowed() {
    let app = spawn_app_with(|c| c.max_open_uploads = 2, Arc::new(SystemLookup)).await;
    let key = app.create_key("opener").await;
    for _ in 0..2 {
        assert_eq!(
            tus_create(&app, &key, 1000).await.status(),
            StatusCode::CREATED
        );
    }
    let third = tus_create(&app, &key, 1000).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = third.json().await.expect("json");
    assert_eq!(body["error"]["code"], "quota-exceeded", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("2 open uploads"), "{message}");
    let (_, usage) = app.get(&key, "/v1/usage").await;
    assert_eq!(
        usage["openUploads"],
        json!({"used": 2, "limit": 2}),
        "{usage}"
    );
    // Another tenant is not affected.
    let other = app.create_key("elsewhere").await;
    assert_eq!(
        tus_create(&app, &other, 1000).await.status(),
        StatusCode::CREATED
    );
}
