//! Stopping a node is bounded: SIGTERM with an upload stuck on a source that never answers
//! exits within the shutdown grace plus a few seconds, answers the stuck request `unavailable`,
//! and leaves nothing half-stored.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{KYY, blob_files, client, serve};

const GRACE_SECS: u64 = 2;

/// A source that accepts connections and never answers; returns its URL and a channel that
/// tells when a connection came in.
fn silent_origin() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!(
        "http://{}/never.png",
        listener.local_addr().expect("address")
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            let _ = tx.send(());
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_an_upload_stuck_on_a_silent_source_exits_within_the_grace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let grace = GRACE_SECS.to_string();
    // The default fetch timeout (120 s) stays: the grace alone must bound the stop.
    let mut server = serve(dir.path(), &["--shutdown-grace-secs", &grace], "warn");
    let key = server.printed_key.clone().expect("admin key printed");
    let (url, connected) = silent_origin();

    let upload = tokio::spawn({
        let endpoint = format!("{}{KYY}/upload", server.base);
        async move {
            let resp = client()
                .post(endpoint)
                .bearer_auth(key)
                .json(&json!({ "assetType": "Image", "url": url, "name": "stuck" }))
                .send()
                .await
                .expect("answered");
            let status = resp.status();
            let body: Value = resp.json().await.expect("JSON body");
            (status, body)
        }
    });
    tokio::task::spawn_blocking(move || connected.recv_timeout(Duration::from_secs(30)))
        .await
        .expect("join")
        .expect("the server connected to the source");

    let stopping = Instant::now();
    let within = Duration::from_secs(GRACE_SECS + 10);
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate(within);
        (server, status)
    })
    .await
    .expect("join");
    let (server, status) = status;
    let status = status.unwrap_or_else(|e| panic!("{e}; logs: {:#?}", server.logs()));
    assert!(status.success(), "clean exit: {status:?}");
    eprintln!("stopped in {:?}", stopping.elapsed());

    let (status, body) = upload.await.expect("upload task");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], 5003, "{body}");

    let tmp: Vec<_> = std::fs::read_dir(dir.path().join("tmp"))
        .expect("tmp dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(tmp.is_empty(), "temp files left: {tmp:?}");
    assert!(blob_files(dir.path()).is_empty());
}
