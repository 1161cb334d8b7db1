//! Admission under load: a tenant's fetches in flight are capped, the processing queue's depth
//! is capped, and both refusals answer 429 with `Retry-After` in each face's envelope.

use std::sync::Arc;
use std::time::{Duration, Instant};

use assetlib::fetch::SystemLookup;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{KYY, Origin, media, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_with_its_fetches_in_flight_is_told_to_retry() {
    let app = spawn_app_with(
        |c| {
            c.admission.max_fetches_per_tenant = 2;
            c.fetch.total_timeout = Duration::from_secs(60);
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let busy = app.create_key("busy").await;
    let calm = app.create_key("calm").await;
    let slow = format!("{}/trickle", origin.base);
    let fast = origin.put("a.png", media::png(400, 400), "image/png");

    // Uploads from a source that trickles hold the tenant's fetch slots. Keep starting them
    // until one is refused at once: by then two are in flight, whatever the scheduling.
    let mut held = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        assert!(Instant::now() < deadline, "no upload was refused");
        let request = app
            .client
            .post(format!("{}{KYY}/upload", app.base))
            .bearer_auth(&busy)
            .json(&json!({"assetType": "Image", "url": slow}));
        let mut upload = tokio::spawn(async move { request.send().await });
        match tokio::time::timeout(Duration::from_secs(1), &mut upload).await {
            Ok(answered) => break answered.expect("task").expect("sent"),
            Err(_) => held.push(upload),
        }
    };
    assert!(held.len() >= 2, "refused only once two were in flight");
    let status = refused.status();
    let headers = refused.headers().clone();
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], json!(1429), "{body}");
    assert!(body["msg"].as_str().expect("msg").contains("2 uploads"));
    assert_eq!(body["data"], serde_json::Value::Null);
    assert_eq!(headers["retry-after"], "1");

    // The same refusal on v1.
    let (status, v1) = app
        .post(
            &busy,
            "/v1/assets",
            &json!({"assetType": "Image", "url": fast}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(v1["error"]["code"], "too-many-uploads");

    // Another tenant is not affected.
    let id = app.upload_ok(&calm, "Image", &fast).await;
    assert_eq!(app.wait_settled(&calm, &id).await["status"], "Active");

    for h in held {
        h.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_new_uploads_until_it_drains() {
    // No workers: accepted uploads stay queued.
    let app = spawn_app_with(
        |c| {
            c.jobs.workers = 0;
            c.admission.max_queued_jobs = 3;
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("t").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    for _ in 0..3 {
        app.upload_ok(&key, "Image", &url).await;
    }
    // The depth is re-read at most every 250 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = app
        .client
        .post(format!("{}{KYY}/upload", app.base))
        .bearer_auth(&key)
        .json(&json!({"assetType": "Image", "url": url}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "5");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["code"], json!(1430), "{body}");
    // Nothing was created by the refusal.
    assert_eq!(app.count_jobs().await, 3);
}
