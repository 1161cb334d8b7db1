//! One upload becomes exactly one asset, however its completions race: concurrent `complete`
//! calls of one direct upload, and empty tus `PATCH`es at the end racing the final one, started
//! together behind a barrier — on one node (SQLite) and on two nodes sharing PostgreSQL. Every
//! caller that gets an asset gets the same one; the others are told the upload is complete
//! (`409`).

use std::sync::Arc;

use assetlib_test_support::opt_in;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::common::{PgSchema, TestApp, media, node_on, spawn_app};

/// Racing callers of each test.
const RACERS: usize = 8;

/// A direct upload of `file` whose bytes are in: its `complete` path.
async fn direct_upload_sent(app: &TestApp, key: &str, file: &[u8]) -> String {
    let (status, created) = app
        .post(
            key,
            "/v1/uploads",
            &json!({"assetType": "Image", "name": "race.png", "length": file.len()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let put = app
        .client
        .put(created["url"].as_str().expect("url"))
        .body(file.to_vec())
        .send()
        .await
        .expect("put");
    assert!(put.status().is_success(), "{}", put.status());
    created["completeUrl"]
        .as_str()
        .expect("completeUrl")
        .to_owned()
}

/// Each answer is an asset (the same one for all) or `409`; at least one is an asset, and the
/// tenant has exactly one asset.
async fn exactly_one_asset(app: &TestApp, key: &str, answers: &[(StatusCode, Option<String>)]) {
    let ids: Vec<&String> = answers.iter().filter_map(|(_, id)| id.as_ref()).collect();
    assert!(!ids.is_empty(), "no completion gave an asset: {answers:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "{answers:?}");
    for (status, id) in answers {
        assert!(
            id.is_some() || *status == StatusCode::CONFLICT,
            "a completion answered {status}: {answers:?}"
        );
    }
    assert_eq!(app.all_asset_ids(key).await, vec![ids[0].clone()]);
}

/// `RACERS` completions of one direct upload, spread over `nodes`, started together.
async fn race_direct_completions(
    nodes: &[&TestApp],
    key: &str,
) -> Vec<(StatusCode, Option<String>)> {
    let complete = direct_upload_sent(nodes[0], key, &media::png(410, 400)).await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut racers = Vec::new();
    for i in 0..RACERS {
        let node = nodes[i % nodes.len()];
        let (client, url) = (node.client.clone(), format!("{}{complete}", node.base));
        let (key, barrier) = (key.to_owned(), Arc::clone(&barrier));
        racers.push(tokio::spawn(async move {
            barrier.wait().await;
            let resp = client
                .post(url)
                .bearer_auth(key)
                .json(&json!({}))
                .send()
                .await
                .expect("complete");
            let status = resp.status();
            let body: Value = resp.json().await.expect("json");
            let id = body["assetId"].as_str().map(str::to_owned);
            (status, id)
        }));
    }
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.expect("racer"));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_completions_of_a_direct_upload_make_one_asset() {
    let app = spawn_app().await;
    let key = app.create_key("racer").await;
    let answers = race_direct_completions(&[&app], &key).await;
    exactly_one_asset(&app, &key, &answers).await;
}

/// A tus upload of `file` with all but its last byte sent: its location.
async fn tus_upload_but_the_last_byte(app: &TestApp, key: &str, file: &[u8]) -> String {
    let created = crate::tus::create(app, key, file.len(), "Image").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    let first = tus_patch(app, key, &location, 0, &file[..file.len() - 1]).await;
    assert_eq!(first.0, StatusCode::NO_CONTENT);
    location
}

/// A `PATCH` at `offset`: its status, the asset it names (if any) and its body.
async fn tus_patch(
    app: &TestApp,
    key: &str,
    location: &str,
    offset: usize,
    bytes: &[u8],
) -> (StatusCode, Option<String>, String) {
    let resp = crate::tus::patch(app, key, location, offset, bytes).await;
    let asset = resp
        .headers()
        .get("asset-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = resp.status();
    (status, asset, resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_patches_racing_the_last_one_make_one_asset() {
    let app = Arc::new(spawn_app().await);
    let key = app.create_key("racer").await;
    let file = media::png(412, 400);
    let location = tus_upload_but_the_last_byte(&app, &key, &file).await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut racers = Vec::new();
    for i in 0..RACERS {
        let (app, key, location) = (Arc::clone(&app), key.clone(), location.clone());
        let (barrier, last) = (Arc::clone(&barrier), file[file.len() - 1..].to_vec());
        let length = file.len();
        racers.push(tokio::spawn(async move {
            barrier.wait().await;
            if i == 0 {
                let (status, id, _) = tus_patch(&app, &key, &location, length - 1, &last).await;
                return (status, id);
            }
            // An empty PATCH at the end, sent until the last byte is in (until then it is
            // refused: the offset is not where the upload stands).
            for _ in 0..500 {
                let answer = tus_patch(&app, &key, &location, length, &[]).await;
                if answer.0 != StatusCode::CONFLICT || answer.2.contains("is complete") {
                    return (answer.0, answer.1);
                }
                tokio::task::yield_now().await;
            }
            (StatusCode::CONFLICT, None)
        }));
    }
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.expect("racer"));
    }
    // A PATCH answers 204 with the asset's id once the upload is complete.
    let answers: Vec<(StatusCode, Option<String>)> = answers
        .into_iter()
        .map(|(status, id)| match (status, id) {
            (StatusCode::NO_CONTENT, Some(id)) => (StatusCode::OK, Some(id)),
            other => other,
        })
        .collect();
    exactly_one_asset(&app, &key, &answers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_racing_on_two_nodes_make_one_asset() {
    let Some(pg) = opt_in::database_url("the two-node completion race") else {
        return;
    };
    let schema = PgSchema::create(&pg, "assetlib_races").await;
    let blobs = tempfile::tempdir().expect("shared blob dir");
    let blob_url = format!("file://{}", blobs.path().display());
    let secret = "shared-secret-of-the-race";
    let a = node_on(&schema.url, &blob_url, |c| {
        c.signing_secret = Some(secret.into());
    })
    .await;
    let b = node_on(&schema.url, &blob_url, |c| {
        c.bootstrap_admin_key = false;
        c.signing_secret = Some(secret.into());
    })
    .await;
    let key = a.create_key("racer").await;
    for _ in 0..3 {
        let answers = race_direct_completions(&[&a, &b], &key).await;
        let id = answers
            .iter()
            .find_map(|(_, id)| id.clone())
            .expect("an asset");
        let ids: Vec<&String> = answers.iter().filter_map(|(_, id)| id.as_ref()).collect();
        assert!(ids.iter().all(|i| **i == id), "{answers:?}");
        assert!(
            answers
                .iter()
                .all(|(s, id)| id.is_some() || *s == StatusCode::CONFLICT),
            "{answers:?}"
        );
    }
    // Three uploads, three assets.
    assert_eq!(a.all_asset_ids(&key).await.len(), 3);
    drop((a, b));
    schema.remove().await;
}
