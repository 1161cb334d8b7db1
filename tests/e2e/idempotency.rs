//! `Idempotency-Key` on the calls that create: a retry gets the first answer again and creates
//! nothing; the same key with another request is refused; keys are per tenant; a retry while
//! the first call runs waits for it; two nodes on one PostgreSQL database share the keys.

use assetlib_test_support::opt_in;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{KYY, Origin, PgSchema, TestApp, media, node_on, spawn_app};

const KEY_HEADER: &str = "Idempotency-Key";

/// Sends a JSON POST with an Idempotency-Key: status, body and whether it was a replay.
async fn post_once(
    app: &TestApp,
    api_key: &str,
    path: &str,
    idempotency_key: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let response = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(api_key)
        .header(KEY_HEADER, idempotency_key)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let body: Value = response.json().await.expect("JSON body");
    (status, body, replayed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kyy_upload_sent_again_with_its_key_answers_the_same_asset_and_creates_nothing() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let body = json!({"assetType": "Image", "url": url, "name": "cover"});
    let upload = format!("{KYY}/upload");

    let (status, first, replayed) = post_once(&app, &key, &upload, "retry-1", &body).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(!replayed);
    let id = first["data"]["assetId"].as_str().expect("id").to_owned();

    // The client lost the answer and retries: the same answer, byte for byte, marked replayed.
    let (status, again, replayed) = post_once(&app, &key, &upload, "retry-1", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first);
    assert!(replayed);
    assert_eq!(app.all_asset_ids(&key).await, vec![id.clone()]);

    // The same key with another request is refused, in the kyy envelope.
    let other = json!({"assetType": "Image", "url": url, "name": "another name"});
    let (status, refused, _) = post_once(&app, &key, &upload, "retry-1", &other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["code"], 1422);
    assert!(
        refused["msg"]
            .as_str()
            .is_some_and(|m| m.contains("another request")),
        "{refused}"
    );

    // Another key creates; the same key of another tenant is that tenant's own.
    let (_, second, _) = post_once(&app, &key, &upload, "retry-2", &body).await;
    assert_ne!(second["data"]["assetId"], first["data"]["assetId"]);
    let other_tenant = app.create_key("elsewhere").await;
    let (status, theirs, replayed) =
        post_once(&app, &other_tenant, &upload, "retry-1", &body).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert!(!replayed);
    assert_ne!(theirs["data"]["assetId"], first["data"]["assetId"]);
    assert_eq!(app.all_asset_ids(&key).await.len(), 2);
    assert_eq!(app.all_asset_ids(&other_tenant).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_creates_and_refusals_are_replayed_and_bad_keys_refused() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let url = origin.put("a.jpg", media::jpeg(500, 400), "image/jpeg");
    let body = json!({"assetType": "Image", "url": url, "name": "cover"});

    let (status, first, _) = post_once(&app, &key, "/v1/assets", "k-1", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again, replayed) = post_once(&app, &key, "/v1/assets", "k-1", &body).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(again, first);

    // A refusal is an answer too: the retry of a bad request gets the same refusal.
    let bad = json!({"assetType": "Image", "url": "not a url"});
    let (status, refused, _) = post_once(&app, &key, "/v1/assets", "k-2", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let (status, again, replayed) = post_once(&app, &key, "/v1/assets", "k-2", &bad).await;
    assert_eq!((status, replayed), (StatusCode::BAD_REQUEST, true));
    assert_eq!(again, refused);

    // The same key with another body: 422 in the v1 envelope.
    let (status, reused, _) = post_once(&app, &key, "/v1/assets", "k-1", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused["error"]["code"], "idempotency-key-reused");

    // A key that is not 1–255 visible ASCII characters.
    for bad_key in ["two words", &"k".repeat(256)] {
        let (status, refused, _) = post_once(&app, &key, "/v1/assets", bad_key, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert_eq!(refused["error"]["code"], "idempotency-key-invalid");
    }
    assert_eq!(app.all_asset_ids(&key).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_sent_while_the_first_call_runs_wait_for_its_answer() {
    let app = spawn_app().await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    let urls: Vec<String> = (0..4u32)
        .map(|i| origin.put(&format!("{i}.png"), media::png(400, 400 + i), "image/png"))
        .collect();
    let body = json!({"imageUrls": urls});
    let path = "/kyyReactApiServer/asset/sd2Manxue/assetUpload";
    let calls = (0..6).map(|_| post_once(&app, &key, path, "batch-1", &body));
    let answers = futures_util::future::join_all(calls).await;
    let first = &answers[0].1;
    assert_eq!(
        first["data"]["items"].as_array().map(Vec::len),
        Some(4),
        "{first}"
    );
    for (status, answer, _) in &answers {
        assert_eq!(*status, StatusCode::OK, "{answer}");
        assert_eq!(answer, first);
    }
    assert_eq!(
        answers.iter().filter(|(_, _, replayed)| !replayed).count(),
        1
    );
    assert_eq!(app.all_asset_ids(&key).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_share_the_keys() {
    let Some(pg) = opt_in::database_url("the Idempotency-Key test across nodes") else {
        return;
    };
    let schema = PgSchema::create(&pg, "assetlib_e2e_idem").await;
    let blobs = tempfile::tempdir().expect("shared blob dir");
    let blob_url = format!("file://{}", blobs.path().display());
    let a = node_on(&schema.url, &blob_url, |_| {}).await;
    let b = node_on(&schema.url, &blob_url, |c| c.bootstrap_admin_key = false).await;
    let origin = Origin::start().await;
    let key = a.create_key("studio").await;
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let body = json!({"assetType": "Image", "url": url});

    let (status, first, _) = post_once(&a, &key, "/v1/assets", "across", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again, replayed) = post_once(&b, &key, "/v1/assets", "across", &body).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(again, first);
    assert_eq!(b.all_asset_ids(&key).await.len(), 1);
    drop((a, b));
    schema.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_sent_again_with_its_key_creates_one_asset() {
    use reqwest::multipart::{Form, Part};
    let app = spawn_app().await;
    let key = app.create_key("studio").await;
    let bytes = media::png(400, 400);
    let send = |file: Vec<u8>| {
        // reqwest picks a new boundary for every form, as clients do on a retry.
        let form = Form::new().text("assetType", "Image").part(
            "file",
            Part::bytes(file)
                .file_name("a.png")
                .mime_str("image/png")
                .expect("mime"),
        );
        app.client
            .post(format!("{}{KYY}/upload", app.base))
            .bearer_auth(&key)
            .header(KEY_HEADER, "file-1")
            .multipart(form)
            .send()
    };
    let first = send(bytes.clone()).await.expect("sent");
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.expect("json");
    let again = send(bytes.clone()).await.expect("sent");
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.headers().contains_key("idempotent-replayed"));
    assert_eq!(again.json::<Value>().await.expect("json"), first);
    // Another file under the same key: its length differs, so it is another request.
    let other = send(media::png(401, 400)).await.expect("sent");
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.all_asset_ids(&key).await.len(), 1);
}

/// A call that outlasts the claim's lock keeps its key: a retry sent after the lock would have
/// lapsed waits for the first call's answer instead of running a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_longer_than_the_lock_keeps_its_key_while_it_runs() {
    let app = crate::common::spawn_app_with(
        |c| c.idempotency_lock = std::time::Duration::from_secs(1),
        std::sync::Arc::new(assetlib::fetch::SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let key = app.create_key("studio").await;
    origin.put("slow.png", media::png(400, 400), "image/png");
    // The source answers after 2.5 s (the tests' fetch timeout is 3 s): over twice the lock.
    let url = format!("{}/delayed/2500/slow.png", origin.base);
    let body = json!({"assetType": "Image", "url": url});
    let first = post_once(&app, &key, "/v1/assets", "slow-1", &body);
    let retry = async {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        post_once(&app, &key, "/v1/assets", "slow-1", &body).await
    };
    let ((status, first, replayed_first), (again, retried, replayed)) = tokio::join!(first, retry);
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(!replayed_first);
    assert_eq!((again, replayed), (StatusCode::CREATED, true), "{retried}");
    assert_eq!(retried, first);
    assert_eq!(app.all_asset_ids(&key).await.len(), 1);
}
