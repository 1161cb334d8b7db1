//! The `asset/seedance2` routes driven the way the family's public clients drive them: each
//! client's request shape, and each client's parser (written here from its code) run on the
//! answer. One answer shape must satisfy all of them: the envelope for the readers of `data`,
//! the same fields at the top level for the flat readers.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::upstream::{Canned, RawUpstream};
use crate::common::{Origin, TestApp, media, spawn_app};

mod readers;

use readers::{READERS, all_read, text};

const UPLOAD: &str = "/kyyReactApiServer/asset/seedance2/assetUpload";
const DETAIL: &str = "/kyyReactApiServer/asset/seedance2/assetDetail";

async fn detail(app: &TestApp, key: &str, id: &str, query: &str) -> (StatusCode, Value) {
    app.post(key, &format!("{DETAIL}{query}"), &json!({"assetId": id}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_reads_the_upload_and_the_detail() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("relay").await;
    let url = origin.put("ref.png", media::png(400, 400), "image/png");

    // Every client's upload body: assetType + url, a name of at most 50 characters or none.
    let bodies = [
        json!({"assetType": "Image", "url": url, "name": "doopoo-1-reference-image-1"}),
        json!({"assetType": "Image", "url": url}),
        json!({"assetType": "Image", "url": url, "name": "comic-ai-image-abcdef012345"}),
    ];
    let mut ids = Vec::new();
    for body in bodies {
        let (status, answer) = app.post(&key, UPLOAD, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (id, shown) = all_read(status, &answer);
        assert!(
            ["PROCESSING", "ACTIVE"].contains(&shown.as_str()),
            "{answer}"
        );
        assert_eq!(answer["data"]["assetType"], "Image");
        assert_eq!(answer["code"], 0);
        assert_eq!(answer["msg"], Value::Null);
        ids.push(id);
    }

    // Detail with the bare id, the assetId:// form, and asset://: ACTIVE for every reader.
    for (id, form) in ids.iter().zip(["{}", "assetId://{}", "asset://{}"]) {
        app.wait_settled(&key, id).await;
        let (status, answer) = detail(&app, &key, &form.replace("{}", id), "").await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(all_read(status, &answer), (id.clone(), "ACTIVE".into()));
        assert_eq!(answer["data"]["materialStatus"], "READY");
        assert_eq!(answer["data"], {
            let mut top = answer.clone();
            let top = top.as_object_mut().expect("object");
            for k in ["code", "msg", "data"] {
                top.remove(k);
            }
            Value::Object(top.clone())
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_refusals_reach_every_client_as_failures() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("relay").await;

    // A file that is not what it claims: FAILED, with the reason where each client looks.
    let url = origin.put("fake.png", media::truncated_jpeg(), "image/png");
    let (status, up) = app
        .post(&key, UPLOAD, &json!({"assetType": "Image", "url": url}))
        .await;
    if status == StatusCode::OK {
        let id = text(&up["assetId"]);
        app.wait_settled(&key, &id).await;
        let (status, answer) = detail(&app, &key, &id, "").await;
        assert_eq!(all_read(status, &answer).1, "FAILED", "{answer}");
        assert_eq!(answer["materialStatus"], "FAILED");
        assert!(!text(&answer["errorMessage"]).is_empty(), "{answer}");
        assert_eq!(answer["data"]["errorMessage"], answer["errorMessage"]);
    } else {
        // Refused at once: an error for every client.
        for (name, reader) in READERS {
            assert!(reader(status, &up).is_err(), "{name}: {up}");
        }
    }

    // Unknown ids, missing ids, another tenant's id, a bad type: errors for every client.
    let other = app.create_key("other").await;
    let png = origin.put("ok.png", media::png(400, 400), "image/png");
    let (_, mine) = app
        .post(&key, UPLOAD, &json!({"assetType": "Image", "url": png}))
        .await;
    let mine = text(&mine["assetId"]);
    let refusals = [
        (other.as_str(), DETAIL, json!({"assetId": mine}), 404),
        (
            key.as_str(),
            DETAIL,
            json!({"assetId": "asset-20260101000000-zzzzz"}),
            404,
        ),
        (key.as_str(), DETAIL, json!({}), 400),
        (
            key.as_str(),
            UPLOAD,
            json!({"assetType": "Picture", "url": png}),
            0,
        ),
        (key.as_str(), UPLOAD, json!({"assetType": "Image"}), 0),
    ];
    for (who, path, body, code) in refusals {
        let (status, answer) = app.post(who, path, &body).await;
        assert!(status.is_client_error(), "{body}: {answer}");
        if code != 0 {
            assert_eq!(status.as_u16(), code, "{body}: {answer}");
        }
        assert_ne!(answer["code"], 0, "{answer}");
        assert!(!text(&answer["msg"]).is_empty(), "{answer}");
        for (name, reader) in READERS {
            assert!(reader(status, &answer).is_err(), "{name}: {answer}");
        }
    }
    // Without a key: 401 in the same envelope.
    let response = app
        .client
        .post(format!("{}{DETAIL}", app.base))
        .json(&json!({"assetId": mine}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_waits_until_the_status_changes() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("relay").await;
    let url = origin.put("slow.png", media::png(400, 400), "image/png");
    let (_, up) = app
        .post(&key, UPLOAD, &json!({"assetType": "Image", "url": url}))
        .await;
    let id = text(&up["assetId"]);
    // One call with ?wait= answers once the asset is settled: no loop of quick polls.
    let (status, answer) = detail(&app, &key, &format!("assetId://{id}"), "?wait=30").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(all_read(status, &answer).1, "ACTIVE", "{answer}");
    let (status, bad) = detail(&app, &key, &id, "?wait=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_center_tasks_resolve_asset_id_references() {
    let upstream = RawUpstream::start().await;
    let app = upstream.app().await;
    let origin = Origin::start().await;
    let key = app.create_key("relay").await;
    let url = origin.put("ref.png", media::png(400, 400), "image/png");
    let (_, up) = app
        .post(&key, UPLOAD, &json!({"assetType": "Image", "url": url}))
        .await;
    let id = text(&up["data"]["assetId"]);
    let (_, ready) = detail(&app, &key, &id, "?wait=30").await;
    assert_eq!(ready["status"], "ACTIVE", "{ready}");

    upstream.answer(Canned::json(
        r#"{"id":"mcp_example_1","object":"video","model":"sd_2.0_discount","status":"queued","error":null}"#,
    ));
    // The relays' task body: snake_case, references as assetId://.
    let body = format!(
        r#"{{"model":"sd_2.0_discount","prompt":"demo","duration":5,"aspect_ratio":"16:9","reference_images":["assetId://{id}"]}}"#
    );
    let response = app
        .client
        .post(format!(
            "{}/kyyReactApiServer/v2/model-center/tasks",
            app.base
        ))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(answer["id"], "mcp_example_1");
    let sent = upstream.received();
    assert_eq!(sent[0].path, "/v2/model-center/tasks");
    assert_eq!(sent[0].method, reqwest::Method::POST);
    let forwarded: Value = serde_json::from_slice(&sent[0].body).expect("JSON");
    let signed = forwarded["reference_images"][0].as_str().expect("url");
    assert!(signed.contains(&format!("/content/{id}?")), "{signed}");
    assert_eq!(
        sent[0].body,
        body.replace(
            &format!("\"assetId://{id}\""),
            &serde_json::to_string(signed).expect("encoded")
        )
        .as_bytes()
    );
}

/// A held asset is `PROCESSING` here, so `?wait=` waits through the review: the full wait when
/// nobody decides, and an answer as soon as a reviewer approves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_waits_through_a_review() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("relay").await;
    let reviewer = app
        .server
        .as_ref()
        .expect("running")
        .state()
        .keys
        .create("moderators", assetlib::domain::Role::Reviewer)
        .await
        .expect("reviewer key")
        .secret;
    let url = origin.put("held.png", media::photo("astronaut.png"), "image/png");
    let (_, up) = app
        .post(&key, UPLOAD, &json!({"assetType": "Image", "url": url}))
        .await;
    let id = text(&up["assetId"]);
    assert_eq!(app.wait_settled(&key, &id).await["status"], "PendingReview");

    // Nobody decides: the full wait, still PROCESSING for every reader.
    let started = std::time::Instant::now();
    let (status, held) = detail(&app, &key, &id, "?wait=2").await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1900),
        "answered after {:?}: {held}",
        started.elapsed()
    );
    assert_eq!(all_read(status, &held).1, "PROCESSING", "{held}");
    assert_eq!(held["materialStatus"], "PROCESSING");

    // Approved half a second in: answered then, ACTIVE.
    let approve = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        app.post(&reviewer, &format!("/v1/reviews/{id}/approve"), &json!({}))
            .await
    };
    let started = std::time::Instant::now();
    let ((status, answer), (approved, _)) =
        tokio::join!(detail(&app, &key, &id, "?wait=20"), approve);
    assert_eq!(approved, StatusCode::OK);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{answer}"
    );
    assert_eq!(all_read(status, &answer).1, "ACTIVE", "{answer}");
}
