//! Webhooks: an endpoint registered through v1 receives `asset.active`, `asset.deleted`…,
//! signed as Standard Webhooks sign (checked here with HMAC-SHA256 directly); a failing
//! endpoint is retried with backoff until it answers; the delivery log shows each status code
//! and latency; a delivery can be sent again by its opaque id; endpoints on private addresses
//! are refused; endpoints that never answer do not hold up anyone else's (`dispatch.rs`).

mod dispatch;
mod ids;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use assetlib::fetch::SystemLookup;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{Origin, TestApp, media, spawn_app_with};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
    /// When it arrived.
    at: chrono::DateTime<chrono::Utc>,
}

#[derive(Default)]
struct Receiver {
    got: Mutex<Vec<Received>>,
    /// Answers 500 to this many requests on `/flaky` before answering 200.
    flaky_failures: Mutex<u32>,
}

async fn receive(
    State(receiver): State<Arc<Receiver>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    receiver
        .got
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Received {
            path: uri.path().to_owned(),
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body,
            at: chrono::Utc::now(),
        });
    if uri.path() == "/flaky" {
        let mut left = receiver
            .flaky_failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *left > 0 {
            *left -= 1;
            return AxumStatus::INTERNAL_SERVER_ERROR;
        }
    }
    AxumStatus::OK
}

async fn start_receiver() -> (String, Arc<Receiver>) {
    let receiver = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/{*path}", post(receive))
        .with_state(Arc::clone(&receiver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("receiver binds");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, receiver)
}

/// Waits until the receiver got a request on `path` whose body has `type` = `event`.
async fn wait_for(receiver: &Receiver, path: &str, event: &str) -> (Received, Value) {
    wait_within(receiver, path, event, Duration::from_secs(15)).await
}

/// `wait_for`, giving up after `limit`.
async fn wait_within(
    receiver: &Receiver,
    path: &str,
    event: &str,
    limit: Duration,
) -> (Received, Value) {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let found = receiver
            .got
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|r| r.path == path)
            .find_map(|r| {
                let body: Value = serde_json::from_slice(&r.body).ok()?;
                (body["type"] == event).then(|| (r.clone(), body))
            });
        if let Some(found) = found {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {event} arrived at {path} within {limit:?}");
}

fn count(receiver: &Receiver, path: &str) -> usize {
    receiver
        .got
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|r| r.path == path)
        .count()
}

/// What a receiver does to check a delivery: HMAC-SHA256 over `{id}.{timestamp}.{body}`,
/// keyed by the secret's base64-decoded part after `whsec_`.
fn verify(secret: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("secret is base64");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("key");
    mac.update(format!("{}.{}.", received.id, received.timestamp).as_bytes());
    mac.update(&received.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received.signature.split(' ').any(|s| s == expected)
}

async fn register(app: &TestApp, key: &str, body: &Value) -> Value {
    let (status, created) = app.post(key, "/v1/webhooks", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_delivered_signed_retried_and_logged() {
    let app = spawn_app_with(
        |config| config.webhook_retry_base = Duration::from_millis(100),
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let (base, receiver) = start_receiver().await;
    let key = app.create_key("studio").await;
    let other = app.create_key("elsewhere").await;

    let all = register(&app, &key, &json!({"url": format!("{base}/all")})).await;
    let secret = all["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(all["events"].as_array().map(Vec::len), Some(5), "{all}");
    let hook = all["webhookId"].as_str().expect("id").to_owned();
    *receiver
        .flaky_failures
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = 2;
    let flaky = register(
        &app,
        &key,
        &json!({"url": format!("{base}/flaky"), "events": ["asset.active"]}),
    )
    .await;
    let flaky_id = flaky["webhookId"].as_str().expect("id").to_owned();
    register(&app, &other, &json!({"url": format!("{base}/other")})).await;

    // The secret is not shown again; another tenant does not see the endpoint.
    let (_, listed) = app.get(&key, "/v1/webhooks").await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    assert!(listed["items"][0].get("secret").is_none(), "{listed}");
    let (status, _) = app.get(&other, &format!("/v1/webhooks/{hook}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An upload that becomes Active: a signed asset.active.
    let url = origin.put("a.png", media::png(400, 400), "image/png");
    let id = app.upload_ok(&key, "Image", &url).await;
    let (received, event) = wait_for(&receiver, "/all", "asset.active").await;
    assert!(verify(&secret, &received), "the signature verifies");
    assert!(received.id.starts_with("evt-"), "{}", received.id);
    assert_eq!(event["id"], json!(received.id));
    assert_eq!(event["data"]["assetId"], json!(id), "{event}");
    assert_eq!(event["data"]["status"], "Active");
    assert!(event["timestamp"].is_string());
    let mut tampered = received.clone();
    tampered.body = Bytes::from(received.body.iter().copied().rev().collect::<Vec<_>>());
    assert!(
        !verify(&secret, &tampered),
        "a changed body does not verify"
    );

    // The flaky endpoint answered 500 twice; it is retried until it takes the event.
    wait_for(&receiver, "/flaky", "asset.active").await;
    let mut delivered = Value::Null;
    for _ in 0..200 {
        let (_, log) = app
            .get(&key, &format!("/v1/webhooks/{flaky_id}/deliveries"))
            .await;
        if log["items"][0]["state"] == "delivered" {
            delivered = log;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let item = &delivered["items"][0];
    assert_eq!(item["attempts"], 3, "{delivered}");
    assert_eq!(item["responseStatus"], 200, "{delivered}");
    assert!(item["latencyMs"].is_u64(), "{delivered}");
    assert_eq!(item["type"], "asset.active");
    assert_eq!(count(&receiver, "/flaky"), 3);

    // Redeliver: the same event again, as a new delivery.
    let (_, log) = app
        .get(&key, &format!("/v1/webhooks/{hook}/deliveries"))
        .await;
    let first = log["items"][0].clone();
    assert_eq!(first["state"], "delivered", "{log}");
    assert_eq!(first["responseStatus"], 200, "{log}");
    let before = count(&receiver, "/all");
    let (status, again) = app
        .post(
            &key,
            &format!(
                "/v1/webhooks/{hook}/deliveries/{}/redeliver",
                first["deliveryId"].as_str().expect("id")
            ),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["eventId"], first["eventId"]);
    for _ in 0..100 {
        if count(&receiver, "/all") > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&receiver, "/all"), before + 1, "sent again");

    // A delete: asset.deleted, to the endpoints subscribed to it only.
    let (status, _) = app.delete(&key, &format!("/v1/assets/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, deleted) = wait_for(&receiver, "/all", "asset.deleted").await;
    assert_eq!(deleted["data"]["assetId"], json!(id));
    assert_eq!(
        count(&receiver, "/other"),
        0,
        "another tenant's endpoint hears nothing"
    );
    assert_eq!(
        count(&receiver, "/flaky"),
        3,
        "not subscribed to asset.deleted"
    );

    // Removing an endpoint removes its log; bad registrations are refused with a reason.
    let (status, _) = app.delete(&key, &format!("/v1/webhooks/{flaky_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .get(&key, &format!("/v1/webhooks/{flaky_id}/deliveries"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (body, code) in [
        (json!({}), "invalid-url"),
        (json!({"url": "ftp://example.com/x"}), "invalid-url"),
        (
            json!({"url": "https://example.com/x", "events": ["asset.created"]}),
            "invalid-request",
        ),
    ] {
        let (status, refused) = app.post(&key, "/v1/webhooks", &body).await;
        assert!(status.is_client_error(), "{body}: {refused}");
        assert_eq!(refused["error"]["code"], code, "{body}: {refused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_on_private_addresses_are_refused() {
    let app = spawn_app_with(
        |config| config.fetch.allow_private_networks = false,
        Arc::new(SystemLookup),
    )
    .await;
    let key = app.create_key("studio").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/",
    ] {
        let (status, refused) = app.post(&key, "/v1/webhooks", &json!({"url": url})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {refused}");
        assert_eq!(refused["error"]["code"], "url-not-allowed", "{refused}");
    }
}
