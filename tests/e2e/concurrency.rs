//! Many uploads at once: every one answers and every asset reaches a terminal state.

use std::sync::Arc;

use reqwest::StatusCode;

use crate::common::{KYY, Origin, media, spawn_app_with, wait_settled};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_parallel_uploads_all_settle() {
    // Admission is not what this test is about: every upload is let through.
    let app = spawn_app_with(
        |c| c.admission.max_fetches_per_tenant = 256,
        Arc::new(assetlib::fetch::SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = Arc::new(app.create_key("busy").await);
    let good = origin.put("good.png", media::png(400, 400), "image/png");
    let small = origin.put("small.png", media::png(64, 64), "image/png");

    let mut tasks = Vec::new();
    for i in 0..200 {
        let client = app.client.clone();
        let base = app.base.clone();
        let key = Arc::clone(&key);
        let url = if i % 10 == 0 {
            small.clone()
        } else {
            good.clone()
        };
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(format!("{base}{KYY}/upload"))
                .bearer_auth(key.as_str())
                .json(
                    &serde_json::json!({"assetType": "Image", "url": url, "name": format!("n{i}")}),
                )
                .send()
                .await
                .expect("upload sent");
            assert_eq!(resp.status(), StatusCode::OK);
            let body: serde_json::Value = resp.json().await.expect("json");
            (i, body["data"]["assetId"].as_str().expect("id").to_owned())
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("task"));
    }
    let mut unique: Vec<&String> = ids.iter().map(|(_, id)| id).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 200, "ids are unique");

    for (i, id) in &ids {
        let body = wait_settled(&app.client, &app.base, &key, id).await;
        let want = if i % 10 == 0 { "Failed" } else { "Active" };
        assert_eq!(body["status"], want, "{id}: {body}");
    }
    assert_eq!(app.count_jobs().await, 0);
    // Identical content is stored once.
    assert_eq!(crate::common::blob_files(app.dir.path()).len(), 2);
}
