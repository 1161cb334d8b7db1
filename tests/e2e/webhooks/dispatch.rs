//! Sends do not wait for each other: endpoints that accept the connection and never answer
//! (each send runs into the 10 s timeout) do not delay another tenant's delivery, nor a stop
//! beyond its grace.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assetlib::fetch::SystemLookup;
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::{register, start_receiver, wait_within};
use crate::common::{Origin, media, spawn_app_with};

/// A loopback listener that accepts connections, reads what comes and never answers.
struct Silent {
    base: String,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("silent listener binds");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
                });
            }
        });
        Self {
            base,
            accepted,
            task,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_endpoint_is_not_held_up_by_twenty_that_never_answer() {
    let grace = Duration::from_secs(2);
    let mut app = spawn_app_with(
        |config| config.jobs.shutdown_grace = grace,
        Arc::new(SystemLookup),
    )
    .await;
    let origin = Origin::start().await;
    let silent = Silent::start().await;

    // Twenty endpoints that never answer, five of each of four tenants, each with an event due.
    for tenant in 0..4 {
        let key = app.create_key(&format!("silent-{tenant}")).await;
        for endpoint in 0..5 {
            let url = format!("{}/{tenant}/{endpoint}", silent.base);
            register(&app, &key, &json!({"url": url, "events": ["asset.active"]})).await;
        }
        let url = origin.put(
            &format!("silent-{tenant}.png"),
            media::png(300 + tenant, 300),
            "image/png",
        );
        let id = app.upload_ok(&key, "Image", &url).await;
        assert_eq!(app.wait_settled(&key, &id).await["status"], "Active");
    }
    // Their sends are under way (hanging until the send timeout).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while silent.accepted() < 8 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(silent.accepted() >= 8, "{} sends began", silent.accepted());

    // Another tenant's healthy endpoint gets its event at once, not after the silent ones.
    let (base, receiver) = start_receiver().await;
    let key = app.create_key("healthy").await;
    let url = format!("{base}/healthy");
    register(&app, &key, &json!({"url": url, "events": ["asset.active"]})).await;
    let png = origin.put("healthy.png", media::png(320, 320), "image/png");
    let id = app.upload_ok(&key, "Image", &png).await;
    let (received, event) = wait_within(
        &receiver,
        "/healthy",
        "asset.active",
        Duration::from_secs(40),
    )
    .await;
    assert_eq!(event["data"]["assetId"], json!(id));
    let occurred = chrono::DateTime::parse_from_rfc3339(event["timestamp"].as_str().expect("ts"))
        .expect("an RFC 3339 timestamp");
    let delay = (received.at - occurred.with_timezone(&chrono::Utc))
        .to_std()
        .unwrap_or_default();
    eprintln!(
        "healthy delivery {delay:?} after its event; {} silent sends began",
        silent.accepted()
    );
    assert!(
        delay < Duration::from_secs(2),
        "delivered {delay:?} after the event: held up by endpoints that never answer"
    );
    // Every silent endpoint's send began without waiting for the others to time out.
    assert_eq!(silent.accepted(), 20, "one send to each silent endpoint");

    // A stop with those sends still hanging: they get the grace, then are cut.
    let started = tokio::time::Instant::now();
    app.server.take().expect("running").shutdown().await;
    let took = started.elapsed();
    eprintln!("stopped in {took:?} with the silent sends hanging");
    assert!(
        took < grace + Duration::from_secs(3),
        "the stop took {took:?} with sends hanging (grace {grace:?})"
    );
}
