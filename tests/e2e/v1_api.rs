//! The native face: details with what the server knows, keyset pagination, proper statuses.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Origin, assert_keys, media, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_details_and_delete() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("native").await;
    let bytes = media::jpeg(800, 600);
    let sha = {
        use sha2::Digest;
        assetlib::fetch::hex(&sha2::Sha256::digest(&bytes))
    };
    let len = bytes.len();
    let url = origin.put("p.jpg", bytes, "image/jpeg");
    let (status, created) = app
        .post(
            &key,
            "/v1/assets",
            &json!({"assetType": "Image", "url": url, "name": "cover"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "Processing");
    assert_eq!(created["sha256"], Value::from(sha.clone()));
    let id = created["assetId"].as_str().expect("id").to_owned();

    let body = app.wait_settled(&key, &id).await;
    assert_keys(
        &body,
        &[
            "assetId",
            "name",
            "assetType",
            "status",
            "url",
            "sha256",
            "bytes",
            "format",
            "width",
            "height",
            "failure",
            "moderation",
            "groupId",
            "createTime",
            "updateTime",
        ],
    );
    assert_eq!(body["status"], "Active");
    assert_eq!(body["name"], "cover");
    assert_eq!(body["sha256"], Value::from(sha));
    assert_eq!(body["bytes"], Value::from(len));
    assert_eq!(body["format"], "jpeg");
    assert_eq!(body["width"], Value::from(800));
    assert_eq!(body["height"], Value::from(600));
    assert!(body["failure"].is_null());
    assert!(body["groupId"].is_null(), "in no group");
    for field in ["createTime", "updateTime"] {
        let t = body[field].as_str().expect("time");
        chrono::DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("{field} {t}: {e}"));
    }

    let (status, _) = app.delete(&key, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = app.get(&key, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone,
        json!({"error": {"code": "not-found", "message": "asset not found"}})
    );

    // Graceful stop: in-flight work finishes, the port closes.
    let mut app = app;
    app.stop().await;
    assert!(
        app.client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_cover_everything_once_newest_first() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("pager").await;
    let good = origin.put("g.png", media::png(400, 400), "image/png");
    let small = origin.put("s.png", media::png(100, 100), "image/png");
    let mut ids = Vec::new();
    for i in 0..7 {
        let url = if i % 3 == 0 { &small } else { &good };
        let id = app.upload_ok(&key, "Image", url).await;
        app.wait_settled(&key, &id).await;
        ids.push(id);
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, page) = app
            .get(&key, &format!("/v1/assets?limit=3&cursor={cursor}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_keys(&page, &["items", "nextCursor"]);
        pages += 1;
        for item in page["items"].as_array().expect("items") {
            seen.push(item["assetId"].as_str().expect("id").to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, newest_first);

    let (_, failed) = app.get(&key, "/v1/assets?status=Failed").await;
    let failed: Vec<&str> = failed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["assetId"].as_str().expect("id"))
        .collect();
    assert_eq!(
        failed,
        vec![ids[6].as_str(), ids[3].as_str(), ids[0].as_str()]
    );
    let (_, none) = app.get(&key, "/v1/assets?assetType=Video").await;
    assert_eq!(none["items"], json!([]));
    assert!(none["nextCursor"].is_null());

    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=abc",
        "cursor=-4",
        "status=Active,Failed",
        "assetType=video",
        "sort=Name",
        "sort=name&cursor=5",
        "sort=oldest&cursor=n.1.YQ",
    ] {
        let (status, body) = app.get(&key, &format!("/v1/assets?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["error"]["message"].is_string(), "{bad}");
    }
}

/// Every page of `/v1/assets?sort=…`, `limit` at a time: the names in order.
async fn sorted_names(
    app: &crate::common::TestApp,
    key: &str,
    sort: &str,
    limit: u32,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app
            .get(
                key,
                &format!("/v1/assets?sort={sort}&limit={limit}&cursor={cursor}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().expect("items") {
            seen.push(item["name"].as_str().expect("a name").to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorted_pages_follow_name_size_and_age() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("sorter").await;
    // (name, width): a larger PNG is more bytes.
    let uploads = [
        ("bravo", 300),
        ("Alpha", 100),
        ("été", 500),
        ("charlie", 200),
        ("alpha", 400),
    ];
    let mut by_size = Vec::new();
    for (n, (name, width)) in uploads.into_iter().enumerate() {
        let png = media::png(width, width);
        by_size.push((png.len(), n, name));
        let url = origin.put(&format!("{name}.png"), png, "image/png");
        let (status, body) = app
            .post(
                &key,
                "/v1/assets",
                &json!({"assetType": "Image", "url": url, "name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Largest first, ties newest first.
    by_size.sort_by_key(|x| std::cmp::Reverse((x.0, x.1)));
    let by_size: Vec<&str> = by_size.iter().map(|x| x.2).collect();
    for limit in [1, 2, 50] {
        assert_eq!(
            sorted_names(&app, &key, "name", limit).await,
            ["Alpha", "alpha", "bravo", "charlie", "été"],
            "limit {limit}"
        );
        assert_eq!(
            sorted_names(&app, &key, "size", limit).await,
            by_size,
            "limit {limit}"
        );
        assert_eq!(
            sorted_names(&app, &key, "oldest", limit).await,
            ["bravo", "Alpha", "été", "charlie", "alpha"],
            "limit {limit}"
        );
        assert_eq!(
            sorted_names(&app, &key, "newest", limit).await,
            ["alpha", "charlie", "été", "Alpha", "bravo"],
            "limit {limit}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let (status, body) = app
        .send(app.client.get(format!("{}/healthz", app.base)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
    let (status, body) = app
        .send(app.client.get(format!("{}/readyz", app.base)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "ok", "database": "ok", "blobStore": "ok", "tmpDir": "ok"})
    );
    let (status, body) = app.get(&app.admin_key, "/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not-found");
    let (status, body) = app.get(&app.admin_key, "/kyyReactApiServer/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], Value::from(-1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_can_wait_for_processing_to_finish() {
    use assetlib::jobs::JobHandler;
    use std::time::{Duration, Instant};

    // No workers: the test runs the job itself while a details request waits.
    let app = crate::common::spawn_app_with(
        |c| c.jobs.workers = 0,
        std::sync::Arc::new(assetlib::fetch::SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("waiter").await;
    let url = origin.put("w.png", media::png(400, 300), "image/png");
    let id = app.upload_ok(&key, "Image", &url).await;

    // Nothing happens within the wait: the answer is Processing, after the wait.
    let started = Instant::now();
    let (status, body) = app.get(&key, &format!("/v1/assets/{id}?wait=0.3")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "Processing");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Processing finishes while a request waits: it answers Active at once.
    let waiting = {
        let (client, base, key, id) = (
            app.client.clone(),
            app.base.clone(),
            key.clone(),
            id.clone(),
        );
        tokio::spawn(async move {
            let started = Instant::now();
            let resp = client
                .get(format!("{base}/v1/assets/{id}?wait=30"))
                .bearer_auth(&key)
                .send()
                .await
                .expect("details");
            let body: Value = resp.json().await.expect("json");
            (body, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let state = app.server.as_ref().expect("server").state().clone();
    let job = state
        .repo
        .claim_job("test", Duration::from_secs(30))
        .await
        .expect("claim")
        .expect("the upload's job");
    state.processing.run(&job).await.expect("processed");
    let (body, took) = waiting.await.expect("join");
    assert_eq!(body["status"], "Active", "{body}");
    assert!(took >= Duration::from_millis(300), "it waited: {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "it answered on the change: {took:?}"
    );

    // A settled asset answers at once; a bad wait is refused.
    let (status, body) = app.get(&key, &format!("/v1/assets/{id}?wait=30")).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("Active"))
    );
    for bad in ["-1", "61", "soon"] {
        let (status, body) = app.get(&key, &format!("/v1/assets/{id}?wait={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"]["code"], "invalid-request", "{body}");
    }
}
