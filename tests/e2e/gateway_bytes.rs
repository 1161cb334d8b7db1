//! The gateway changes nothing but the references: the upstream receives the caller's bytes
//! with only the `asset://` strings replaced, and the caller receives the upstream's answer
//! byte for byte (status, content type, body). Bodies nested 10,000 deep and of 8 MB pass.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::upstream::{Canned, RawUpstream};
use crate::common::{Origin, TestApp, media};

const TASKS: &str = "/kyyReactApiServer/v1/kyyvideo2/videos";

/// An Active image of a new tenant: its key and id.
async fn active_image(app: &TestApp, origin: &Origin, name: &str) -> (String, String) {
    let key = app.create_key("studio").await;
    let url = origin.put(name, media::png(400, 400), "image/png");
    let id = app.upload_ok(&key, "Image", &url).await;
    assert_eq!(app.wait_settled(&key, &id).await["status"], "Active");
    (key, id)
}

/// A gateway to a raw upstream, with an Active image of a new tenant: the upstream, the
/// server, the origin serving the image (keep it alive), the tenant's key and the image's id.
async fn gateway_with_image() -> (RawUpstream, TestApp, Origin, String, String) {
    let upstream = RawUpstream::start().await;
    let app = upstream.app().await;
    let origin = Origin::start().await;
    let (key, id) = active_image(&app, &origin, "a.png").await;
    (upstream, app, origin, key, id)
}

/// Posts `body` as is; the answer's status, content type and bytes.
async fn post_raw(
    app: &TestApp,
    key: &str,
    path: &str,
    body: Vec<u8>,
) -> (StatusCode, Option<String>, Vec<u8>) {
    let response = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.expect("body").to_vec();
    (status, content_type, bytes)
}

/// Posts `body` as is and checks it is answered 200; the answer's bytes.
async fn post_ok(app: &TestApp, key: &str, path: &str, body: &str) -> Vec<u8> {
    let (status, _, answer) = post_raw(app, key, path, body.as_bytes().to_vec()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    answer
}

/// A `POST` that announces `length` bytes and sends none: the server's whole answer.
async fn announced_only(app: &TestApp, key: &str, path: &str, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    let mut answer = Vec::new();
    // The connection closes after a refusal of an unread body; the time bound is a guard.
    let read = stream.read_to_end(&mut answer);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), read).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The one reference string the upstream received in place of `asset://{id}`, found by
/// reading what it received at `pointer`.
fn replaced(body: &[u8], pointer: &str) -> String {
    let sent: Value = serde_json::from_slice(body).expect("JSON received");
    let url = sent
        .pointer(pointer)
        .and_then(Value::as_str)
        .expect("a URL");
    assert!(url.starts_with("http"), "{url}");
    serde_json::to_string(url).expect("encoded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_receives_the_callers_bytes_with_only_the_references_replaced() {
    let (upstream, app, _origin, key, id) = gateway_with_image().await;
    // Key order, huge and odd numbers, escapes, whitespace: all as the caller wrote them.
    let body = format!(
        "{{ \"zeta\":1, \"model\" : \"m\",\"big\":123456789012345678901234567890,\"e\":1e2,\"neg\":-0,\
         \"f\":1.50,\"text\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/\",\n\t\"referenceImages\":[\"asset://{id}\", \
         \"https://cdn.example.com/x.png\"],\"alpha\":{{\"b\":[ 1 ,2 ],\"a\":null}}}}"
    );
    post_ok(&app, &key, TASKS, &body).await;
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    let url = replaced(&received[0].body, "/referenceImages/0");
    let expected = body.replace(&format!("\"asset://{id}\""), &url);
    assert_eq!(
        String::from_utf8(received[0].body.to_vec()).expect("utf-8"),
        expected
    );
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/json")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_receives_the_upstreams_answer_byte_for_byte() {
    let upstream = RawUpstream::start().await;
    let app = upstream.app().await;
    let key = app.create_key("studio").await;
    let task = br#"{"model":"m","prompt":"p"}"#.to_vec();

    // A JSON answer no serializer would write: order, numbers, spacing, its own content type.
    let odd =
        "{\"z\":1, \"id\":\"task-odd\",\"a\":123456789012345678901234567890,\"x\":1e2,\"n\":-0 }\n";
    upstream.answer(Canned {
        status: 202,
        content_type: Some("application/vnd.example+json; charset=utf-8".into()),
        body: odd.as_bytes().to_vec().into(),
    });
    let (status, content_type, answer) = post_raw(&app, &key, TASKS, task.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        content_type.as_deref(),
        Some("application/vnd.example+json; charset=utf-8")
    );
    assert_eq!(answer, odd.as_bytes());

    // The status read of that task: the same, byte for byte.
    let read = app
        .client
        .get(format!("{}/kyyReactApiServer/v1/result/task-odd", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("sent");
    assert_eq!(read.status(), StatusCode::ACCEPTED);
    assert_eq!(read.bytes().await.expect("body").as_ref(), odd.as_bytes());

    // Not JSON at all, and an error status: still passed through as it came.
    upstream.answer(Canned {
        status: 503,
        content_type: Some("text/plain".into()),
        body: b"upstream busy, come back later".to_vec().into(),
    });
    let (status, content_type, answer) = post_raw(&app, &key, TASKS, task).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(content_type.as_deref(), Some("text/plain"));
    assert_eq!(answer, b"upstream busy, come back later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_nested_ten_thousand_deep_passes_through() {
    let (upstream, app, _origin, key, id) = gateway_with_image().await;
    let depth = 10_000;
    let body = format!(
        "{{\"model\":\"m\",\"deep\":{}{},\"referenceImages\":[\"asset://{id}\"]}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    post_ok(&app, &key, TASKS, &body).await;
    let received = upstream.received();
    let sent = String::from_utf8(received[0].body.to_vec()).expect("utf-8");
    // serde_json would refuse the depth: find the URL by its place in the text.
    let at = sent.find("\"referenceImages\":[").expect("field") + "\"referenceImages\":[".len();
    let end = sent[at..].find(']').expect("end") + at;
    let url = &sent[at..end];
    assert!(url.starts_with("\"http"), "{url}");
    assert_eq!(sent, body.replace(&format!("\"asset://{id}\""), url));

    // A reference below the depth the gateway resolves is refused, by its place.
    let hidden = format!(
        "{{\"deep\":{}\"asset://{id}\"{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let (status, _, answer) = post_raw(&app, &key, TASKS, hidden.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = serde_json::from_slice(&answer).expect("JSON");
    assert_eq!(answer["data"]["violations"][0]["code"], "task-too-deep");
    assert_eq!(upstream.received().len(), 1, "nothing more forwarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eight_megabyte_task_passes_through_and_a_larger_one_is_refused() {
    let (upstream, app, _origin, key, id) = gateway_with_image().await;
    let prompt = "a".repeat(8 * 1024 * 1024);
    let body = format!(
        "{{\"model\":\"m\",\"prompt\":\"{prompt}\",\"referenceImages\":[\"asset://{id}\"]}}"
    );
    post_ok(&app, &key, TASKS, &body).await;
    let received = upstream.received();
    let url = replaced(&received[0].body, "/referenceImages/0");
    assert!(received[0].body.len() > 8 * 1024 * 1024);
    assert!(
        received[0].body == body.replace(&format!("\"asset://{id}\""), &url).as_bytes(),
        "the forwarded body differs"
    );

    // Over 12 MiB, announced: refused before a byte of it is read.
    let answer = announced_only(&app, &key, TASKS, 13 * 1024 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").expect("head") + 4..];
    let body: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(body["code"], 1413, "{body}");
    assert!(
        body["msg"].as_str().expect("msg").contains("limit"),
        "{body}"
    );
    assert_eq!(upstream.received().len(), 1, "nothing more forwarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banana_image_tasks_resolve_their_image_urls() {
    let (upstream, app, _origin, key, id) = gateway_with_image().await;
    upstream.answer(Canned::json(
        r#"{"id":"image_task_1","object":"nanobanana","status":"queued"}"#,
    ));
    // The shape of the public image clients: model, prompt, size, resolution, image_urls.
    let body = format!(
        r#"{{"model":"nano-banana-2","prompt":"a key visual","size":"16:9","resolution":"2k","image_urls":["asset://{id}","https://cdn.example.com/b.png"]}}"#
    );
    let path = "/kyyReactApiServer/v1/banana/images";
    let answer = post_ok(&app, &key, path, &body).await;
    assert_eq!(
        answer,
        br#"{"id":"image_task_1","object":"nanobanana","status":"queued"}"#
    );
    let received = upstream.received();
    assert_eq!(received[0].path, "/v1/banana/images");
    let url = replaced(&received[0].body, "/image_urls/0");
    assert_eq!(
        received[0].body,
        body.replace(&format!("\"asset://{id}\""), &url).as_bytes()
    );

    // The task was recorded: its status is read through the shared result route.
    upstream.answer(Canned::json(
        r#"{"id":"image_task_1","status":"completed"}"#,
    ));
    let (status, read) = app
        .get(&key, "/kyyReactApiServer/v1/result/image_task_1")
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["status"], "completed");

    // image_urls takes images: a malformed entry is refused by its place.
    let bad = r#"{"model":"nano-banana-2","prompt":"p","image_urls":["asset://nope"]}"#;
    let (status, _, answer) = post_raw(&app, &key, path, bad.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = serde_json::from_slice(&answer).expect("JSON");
    assert_eq!(answer["data"]["violations"][0]["field"], "image_urls[0]");
}
