//! The task gateway against a local fake upstream that records what it receives, and delete
//! protection across a task's life.

use std::sync::{Arc, Mutex};

use assetlib::config::UpstreamConfig;
use assetlib::fetch::SystemLookup;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::routing::{get, post};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::common::{KYY, Origin, media, spawn_app, spawn_app_with};

#[derive(Clone, Default)]
struct Fake {
    received: Arc<Mutex<Vec<(String, Value)>>>,
    /// The path of every submit, in order.
    submit_paths: Arc<Mutex<Vec<String>>>,
    status: Arc<Mutex<String>>,
    /// Every task id whose status was read.
    reads: Arc<Mutex<Vec<String>>>,
    /// The path of every status read.
    read_paths: Arc<Mutex<Vec<String>>>,
}

/// The families the fake serves: the path, the task id it hands out there, and its answer to a
/// submit in the family's documented shape.
fn family_answer(path: &str, model: &Value) -> Value {
    match path {
        "/v1/kyyvideo2/videos" => {
            json!({"id": "task-123", "object": "video", "created": 1764000000, "model": model, "status": "queued", "error": null})
        }
        "/v1/sd2_manxue/videos" => {
            json!({"code": "0", "msg": null, "data": {"projectId": "proj_sd2manxue_1"}})
        }
        "/v2/model-center/tasks" => {
            json!({"code": 0, "msg": "success", "data": {"taskId": "mc-task-1", "status": "queued"}})
        }
        other => {
            let family = other.trim_start_matches("/v1/").trim_end_matches("/videos");
            json!({"id": format!("video_{family}_1"), "object": "video", "created": 1764000000, "model": model, "status": "queued", "error": null})
        }
    }
}

/// Every family route of the gateway, with the task id the fake hands out there.
const FAMILIES: [(&str, &str); 6] = [
    ("/v1/kyyvideo2/videos", "task-123"),
    ("/v1/seedance/videos", "video_seedance_1"),
    ("/v1/seedance-discount/videos", "video_seedance-discount_1"),
    ("/v1/seedance-special/videos", "video_seedance-special_1"),
    ("/v1/sd2_manxue/videos", "proj_sd2manxue_1"),
    ("/v2/model-center/tasks", "mc-task-1"),
];

async fn submit(
    State(fake): State<Fake>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let model = body["model"].clone();
    fake.received.lock().expect("lock").push((auth, body));
    fake.submit_paths
        .lock()
        .expect("lock")
        .push(uri.path().to_owned());
    *fake.status.lock().expect("lock") = "queued".into();
    Json(family_answer(uri.path(), &model))
}

async fn status(State(fake): State<Fake>, uri: Uri, Path(id): Path<String>) -> Json<Value> {
    fake.reads.lock().expect("lock").push(id.clone());
    fake.read_paths
        .lock()
        .expect("lock")
        .push(uri.path().to_owned());
    let status = fake.status.lock().expect("lock").clone();
    Json(json!({"id": id, "object": "video", "status": status, "error": null}))
}

async fn start_fake() -> (String, Fake) {
    let fake = Fake::default();
    let mut app = Router::new().route("/v1/result/{id}", get(status));
    for (path, _) in FAMILIES {
        app = app
            .route(path, post(submit))
            .route(&format!("{path}/{{id}}"), get(status));
    }
    let app = app.with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, fake)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_upstream_the_gateway_says_so() {
    let app = spawn_app().await;
    let key = app.create_key("t").await;
    let (status, body) = app
        .post(
            &key,
            "/kyyReactApiServer/v1/kyyvideo2/videos",
            &json!({"model": "m"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], json!(5003));
    assert!(
        body["msg"]
            .as_str()
            .expect("msg")
            .contains("--upstream-url")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_resolved_forwarded_and_protect_their_assets() {
    let (upstream, fake) = start_fake().await;
    let app = spawn_app_with(
        |c| {
            c.upstream = Some(UpstreamConfig {
                url: upstream.clone(),
                key: "upstream-secret".into(),
            })
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let bytes = media::png(400, 400);
    let url = origin.put("a.png", bytes.clone(), "image/png");
    let first = app.upload_ok(&key, "Image", &url).await;
    app.wait_settled(&key, &first).await;
    let url2 = origin.put("b.png", media::png(500, 400), "image/png");
    let second = app.upload_ok(&key, "Image", &url2).await;
    app.wait_settled(&key, &second).await;

    // Invalid references: 422, nothing forwarded.
    let (status, bad) = app
        .post(
            &key,
            "/kyyReactApiServer/v1/kyyvideo2/videos",
            &json!({"model": "m", "referenceImages": ["asset:/x"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["code"], json!(1011));
    assert_eq!(bad["data"]["violations"][0]["field"], "referenceImages[0]");
    assert!(fake.received.lock().expect("lock").is_empty());

    let task = json!({
        "model": "seedance-2.0", "prompt": "a slow pan", "duration": 5, "ratio": "16:9",
        "referenceImages": [format!("asset://{first}"), "https://cdn.example.com/x.png", format!("asset://{second}")],
    });
    let (status, answer) = app
        .post(&key, "/kyyReactApiServer/v1/kyyvideo2/videos", &task)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"id": "task-123", "object": "video", "created": 1764000000, "model": "seedance-2.0", "status": "queued", "error": null})
    );
    let (auth, forwarded) = fake.received.lock().expect("lock")[0].clone();
    assert_eq!(auth, "Bearer upstream-secret");
    assert!(
        !forwarded.to_string().contains(&key),
        "the caller's key is never forwarded"
    );
    for field in ["model", "prompt", "duration", "ratio"] {
        assert_eq!(forwarded[field], task[field], "{field}");
    }
    assert_eq!(
        forwarded["referenceImages"][1],
        "https://cdn.example.com/x.png"
    );
    let signed = forwarded["referenceImages"][0]
        .as_str()
        .expect("signed url");
    let fetched = app
        .client
        .get(signed)
        .send()
        .await
        .expect("fetch")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(
        assetlib::fetch::hex(&sha2::Sha256::digest(&fetched)),
        assetlib::fetch::hex(&sha2::Sha256::digest(&bytes)),
        "the signed URL serves the asset's bytes"
    );

    // Queued and processing: the assets cannot be deleted, on either face.
    for stage in ["queued", "processing"] {
        *fake.status.lock().expect("lock") = stage.into();
        let (status, result) = app.get(&key, "/kyyReactApiServer/v1/result/task-123").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(result["status"], stage);
        let (status, kyy) = app.delete(&key, &format!("{KYY}/{first}")).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stage}: {kyy}");
        assert_eq!(kyy["code"], json!(1410));
        assert!(kyy["msg"].as_str().expect("msg").contains("task-123"));
        let (status, v1) = app.delete(&key, &format!("/v1/assets/{first}")).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(v1["error"]["code"], "asset-in-use");
    }
    // force=true deletes anyway.
    let (status, forced) = app
        .delete(&key, &format!("{KYY}/{second}?force=true"))
        .await;
    assert_eq!(status, StatusCode::OK, "{forced}");
    assert_eq!(forced["code"], "0");

    // Finished (through the other status route): delete works.
    *fake.status.lock().expect("lock") = "completed".into();
    let (status, result) = app
        .get(&key, "/kyyReactApiServer/v1/kyyvideo2/videos/task-123")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["status"], "completed");
    let (status, del) = app.delete(&key, &format!("{KYY}/{first}")).await;
    assert_eq!(status, StatusCode::OK, "{del}");
    assert_eq!(del, json!({"code": "0", "msg": "success", "data": null}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_releases_its_assets() {
    let (upstream, fake) = start_fake().await;
    let app = spawn_app_with(
        |c| {
            c.upstream = Some(UpstreamConfig {
                url: upstream.clone(),
                key: "k".into(),
            })
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let id = app.upload_ok(&key, "Image", &url).await;
    app.wait_settled(&key, &id).await;
    let (status, _) = app
        .post(
            &key,
            "/kyyReactApiServer/v1/kyyvideo2/videos",
            &json!({"model": "m", "first_image": format!("asset://{id}")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&key, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    *fake.status.lock().expect("lock") = "failed".into();
    let (_, result) = app.get(&key, "/kyyReactApiServer/v1/result/task-123").await;
    assert_eq!(result["status"], "failed");
    let (status, _) = app.delete(&key, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_task_answers_like_a_missing_one() {
    let (upstream, fake) = start_fake().await;
    let app = spawn_app_with(
        |c| {
            c.upstream = Some(UpstreamConfig {
                url: upstream.clone(),
                key: "k".into(),
            })
        },
        Arc::new(SystemLookup),
    )
    .await;
    let owner = app.create_key("owner").await;
    let other = app.create_key("other").await;
    let (status, submitted) = app
        .post(
            &owner,
            "/kyyReactApiServer/v1/kyyvideo2/videos",
            &json!({"model": "m", "prompt": "p"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(submitted["id"], "task-123");

    for route in [
        "/kyyReactApiServer/v1/result",
        "/kyyReactApiServer/v1/kyyvideo2/videos",
    ] {
        let foreign = app.get(&other, &format!("{route}/task-123")).await;
        let missing = app.get(&other, &format!("{route}/task-nope")).await;
        let missing_for_owner = app.get(&owner, &format!("{route}/task-nope")).await;
        assert_eq!(foreign.0, StatusCode::NOT_FOUND, "{route}: {}", foreign.1);
        assert_eq!(foreign, missing, "{route}");
        assert_eq!(foreign, missing_for_owner, "{route}");
        assert_eq!(foreign.1["code"], json!(-1));
        // The owner still reads it.
        let (status, own) = app.get(&owner, &format!("{route}/task-123")).await;
        assert_eq!(status, StatusCode::OK, "{own}");
    }
    // Only the owner's reads reached the upstream.
    assert_eq!(
        fake.reads.lock().expect("lock").as_slice(),
        ["task-123", "task-123"]
    );

    // An upstream that hands the other tenant the same id does not give it the owner's task.
    let (status, _) = app
        .post(
            &other,
            "/kyyReactApiServer/v1/kyyvideo2/videos",
            &json!({"model": "m", "prompt": "q"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .get(&other, "/kyyReactApiServer/v1/result/task-123")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get(&owner, "/kyyReactApiServer/v1/result/task-123")
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_family_is_resolved_forwarded_recorded_and_tenant_checked() {
    let (upstream, fake) = start_fake().await;
    let app = spawn_app_with(
        |c| {
            c.upstream = Some(UpstreamConfig {
                url: upstream.clone(),
                key: "upstream-secret".into(),
            })
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let owner = app.create_key("studio").await;
    let other = app.create_key("other").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let asset = app.upload_ok(&owner, "Image", &url).await;
    app.wait_settled(&owner, &asset).await;

    for (n, (path, task_id)) in FAMILIES.iter().enumerate() {
        let route = format!("/kyyReactApiServer{path}");
        let task = json!({
            "model": format!("model-{n}"), "prompt": "a slow pan", "duration": 5,
            "referenceImages": [format!("asset://{asset}"), "https://cdn.example.com/x.png"],
        });
        let (status, answer) = app.post(&owner, &route, &task).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        // The upstream's answer, as is: enveloped where the family envelopes it.
        assert_eq!(
            answer,
            family_answer(path, &json!(format!("model-{n}"))),
            "{path}"
        );

        // Forwarded to the family's own upstream path, with the upstream key and the
        // reference resolved to a signed URL of this server.
        assert_eq!(fake.submit_paths.lock().expect("lock")[n], *path);
        let (auth, forwarded) = fake.received.lock().expect("lock")[n].clone();
        assert_eq!(auth, "Bearer upstream-secret", "{path}");
        assert_eq!(forwarded["prompt"], "a slow pan", "{path}");
        let signed = forwarded["referenceImages"][0].as_str().expect("url");
        assert!(
            signed.starts_with(&format!("{}/content/{asset}?exp=", app.base)),
            "{path}: {signed}"
        );
        assert_eq!(
            forwarded["referenceImages"][1],
            "https://cdn.example.com/x.png"
        );

        // Recorded under the id read from the answer: the owner reads it on the family's own
        // route and on /v1/result; another tenant gets exactly the 404 of a missing id.
        for read in [
            format!("{route}/{task_id}"),
            format!("/kyyReactApiServer/v1/result/{task_id}"),
        ] {
            let (status, own) = app.get(&owner, &read).await;
            assert_eq!(status, StatusCode::OK, "{read}: {own}");
            assert_eq!(own["id"], *task_id, "{read}");
            let foreign = app.get(&other, &read).await;
            let missing = app
                .get(&other, &read.replace(task_id, "no-such-task"))
                .await;
            assert_eq!(foreign.0, StatusCode::NOT_FOUND, "{read}: {}", foreign.1);
            assert_eq!(foreign, missing, "{read}");
            assert_eq!(foreign.1["code"], json!(-1));
        }
        let reads = fake.read_paths.lock().expect("lock").clone();
        assert_eq!(
            reads[reads.len() - 2..],
            [format!("{path}/{task_id}"), format!("/v1/result/{task_id}")],
            "only the owner's reads reach the upstream, at the family's path"
        );
    }

    // Every family's task protects the asset until it has finished.
    let (status, busy) = app.delete(&owner, &format!("{KYY}/{asset}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    *fake.status.lock().expect("lock") = "completed".into();
    for (n, (path, task_id)) in FAMILIES.iter().enumerate() {
        let (status, _) = app
            .get(&owner, &format!("/kyyReactApiServer{path}/{task_id}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.delete(&owner, &format!("{KYY}/{asset}")).await;
        let last = n == FAMILIES.len() - 1;
        assert_eq!(status == StatusCode::OK, last, "{path}: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_submit_sent_again_with_its_idempotency_key_reaches_upstream_once() {
    let (upstream, fake) = start_fake().await;
    let app = spawn_app_with(
        |c| {
            c.upstream = Some(UpstreamConfig {
                url: upstream.clone(),
                key: "k".into(),
            })
        },
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let id = app.upload_ok(&key, "Image", &url).await;
    app.wait_settled(&key, &id).await;
    let body = json!({"model": "m", "first_image": format!("asset://{id}")});
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .post(format!(
                "{}/kyyReactApiServer/v1/kyyvideo2/videos",
                app.base
            ))
            .bearer_auth(&key)
            .header("Idempotency-Key", "submit-1")
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), StatusCode::OK);
        let replayed = response.headers().contains_key("idempotent-replayed");
        answers.push((replayed, response.json::<Value>().await.expect("json")));
    }
    assert_eq!(answers[0].1, answers[1].1);
    assert_eq!((answers[0].0, answers[1].0), (false, true));
    assert_eq!(
        fake.received.lock().expect("lock").len(),
        1,
        "one task upstream"
    );
}
