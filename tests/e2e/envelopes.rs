//! Every error answer of the server is the envelope of the face that was called, with a
//! registered code: kyy `{code, msg, data}` under `/kyyReactApiServer`, v1
//! `{"error": {"code", "message"}}` everywhere else. Every route is walked with every method,
//! then with hostile requests: an undecodable id, a 10 MB body, a trailing slash, a long URL,
//! oversized headers.

use std::time::Duration;

use assetlib::domain::codes::{self, Code};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestApp, assert_keys, spawn_app};

/// Every route of the router and the methods it answers (GET routes also answer HEAD).
const ROUTES: &[(&str, &[&str])] = &[
    ("/healthz", &["GET"]),
    ("/readyz", &["GET"]),
    ("/content/{id}", &["GET"]),
    ("/kyyReactApiServer/kyyVideo2/asset/upload", &["POST"]),
    ("/kyyReactApiServer/kyyVideo2/asset/list", &["GET"]),
    (
        "/kyyReactApiServer/kyyVideo2/asset/{id}",
        &["GET", "DELETE"],
    ),
    ("/kyyReactApiServer/asset/seedance2/assetUpload", &["POST"]),
    ("/kyyReactApiServer/asset/seedance2/assetDetail", &["POST"]),
    ("/kyyReactApiServer/v1/kyyvideo2/videos", &["POST"]),
    ("/kyyReactApiServer/v1/kyyvideo2/videos/{id}", &["GET"]),
    ("/kyyReactApiServer/v1/banana/images", &["POST"]),
    ("/kyyReactApiServer/v1/banana/images/{id}", &["GET"]),
    ("/kyyReactApiServer/v1/result/{id}", &["GET"]),
    ("/v1/assets", &["GET", "POST"]),
    ("/v1/assets/{id}", &["GET", "DELETE", "PUT", "PATCH"]),
    ("/v1/assets/{id}/restore", &["POST"]),
    ("/v1/assets/{id}/preview", &["GET"]),
    ("/v1/assets/{id}/content", &["GET"]),
    ("/v1/groups", &["GET", "POST"]),
    ("/v1/groups/{id}", &["GET", "PATCH", "DELETE"]),
    ("/v1/usage", &["GET"]),
    ("/v1/keys", &["GET", "POST"]),
    ("/v1/keys/{id}", &["DELETE"]),
    ("/console", &["GET"]),
    ("/metrics", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/docs", &["GET"]),
    ("/console/app.js", &["GET"]),
    ("/console/session", &["GET", "POST", "DELETE"]),
    ("/v1/webhooks", &["GET", "POST"]),
    ("/v1/webhooks/{id}", &["GET", "DELETE"]),
    ("/v1/webhooks/{id}/deliveries", &["GET"]),
    ("/v1/webhooks/{id}/deliveries/{id}/redeliver", &["POST"]),
    ("/v1/tenants/{id}/quota", &["GET", "PUT", "DELETE"]),
    ("/v1/resolve", &["POST"]),
    ("/v1/reviews", &["GET"]),
    ("/v1/reviews/{id}/approve", &["POST"]),
    ("/v1/reviews/{id}/reject", &["POST"]),
];

/// Paths no route answers: each face's 404. (`/` is the Volcengine-style face, whose envelope
/// `tests/e2e/volc.rs` checks.)
const UNKNOWN: &[&str] = &[
    "/nope",
    "/v1",
    "/v1/",
    "/v1/nope",
    "/kyyReactApiServer",
    "/kyyReactApiServer/",
    "/kyyReactApiServer/nope",
    "/kyyReactApiServer/kyyVideo2/asset",
    "/kyyReactApiServerX/kyyVideo2/asset/list",
];

const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
];

/// A well-formed id that no asset has.
const MISSING_ID: &str = "asset-20260101000000-zzzzz";

fn is_kyy(path: &str) -> bool {
    path == "/kyyReactApiServer" || path.starts_with("/kyyReactApiServer/")
}

fn with_id(template: &str, id: &str) -> String {
    template.replace("{id}", id)
}

/// One answer, as read off the wire.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    allow: Option<String>,
    body: Vec<u8>,
}

/// Asserts an error answer is the face's envelope with a registered code of its status and
/// returns the code. HEAD answers have no body: only the status and the content type count.
fn assert_envelope(what: &str, path: &str, head: bool, answer: &Answer) -> Option<&'static Code> {
    let status = answer.status;
    assert!(
        status.is_client_error() || status.is_server_error(),
        "{what}: {status}"
    );
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/json"),
        "{what}: {status} {:?}",
        String::from_utf8_lossy(&answer.body)
    );
    let registered = |code: &'static Code| {
        let refusal = code.refusal.unwrap_or_else(|| panic!("{what}: {code}"));
        assert_eq!(refusal.http, status.as_u16(), "{what}: {code} and {status}");
        Some(code)
    };
    if head {
        assert!(answer.body.is_empty(), "{what}: a HEAD answer has no body");
        return None;
    }
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
        panic!(
            "{what}: {status} body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&answer.body)
        )
    });
    if is_kyy(path) {
        assert_keys(&body, &["code", "msg", "data"]);
        let number = body["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("{what}: {body}"));
        assert!(
            body["msg"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
        assert!(body["data"].is_null(), "{what}: {body}");
        let code = codes::ALL
            .iter()
            .copied()
            .find(|c| c.refusal.is_some_and(|r| r.kyy == number))
            .unwrap_or_else(|| panic!("{what}: kyy code {number} is not registered: {body}"));
        registered(code)
    } else {
        let error = &body["error"];
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{what}: {body}");
        let name = error["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {body}"));
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
        let code = codes::find(name)
            .unwrap_or_else(|| panic!("{what}: v1 code {name} is not registered: {body}"));
        registered(code)
    }
}

/// Asserts the answer is the face's envelope with exactly `want` (for HEAD: its status).
fn assert_code(what: &str, path: &str, head: bool, answer: &Answer, want: &Code) {
    let want_status = want.refusal.map(|r| r.http).unwrap_or_default();
    assert_eq!(answer.status.as_u16(), want_status, "{what}: {answer:?}");
    if let Some(got) = assert_envelope(what, path, head, answer) {
        assert_eq!(got.name, want.name, "{what}");
    }
}

async fn send(app: &TestApp, method: &Method, path: &str, key: Option<&str>) -> Answer {
    let mut req = app
        .client
        .request(method.clone(), format!("{}{path}", app.base));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        req = req.header("content-type", "application/json").body("{}");
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, allow) = (header("content-type"), header("allow"));
    let status = resp.status();
    let body = resp.bytes().await.expect("body").to_vec();
    Answer {
        status,
        content_type,
        allow,
        body,
    }
}

/// Sends `head` then `body` on a fresh connection (write errors ignored: the server may answer
/// and close before reading everything) and reads the answer until the server closes.
async fn raw(app: &TestApp, head: String, body: Vec<u8>) -> Answer {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_ok() {
            let _ = writer.write_all(&body).await;
        }
        writer
    });
    let mut bytes = Vec::new();
    // A reset after the answer ends the read with an error; what was read still counts.
    let read = tokio::time::timeout(Duration::from_secs(20), reader.read_to_end(&mut bytes)).await;
    assert!(read.is_ok(), "no answer within 20 s");
    writing.abort();
    parse_answer(&bytes)
}

fn parse_answer(bytes: &[u8]) -> Answer {
    let text_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..text_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or_else(|| panic!("status line {status_line:?}"));
    let mut content_type = None;
    let mut allow = None;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value),
            "allow" => allow = Some(value),
            "content-length" => length = value.parse::<usize>().ok(),
            _ => {}
        }
    }
    let rest = &bytes[text_end + 4..];
    let body = rest[..length.unwrap_or(rest.len()).min(rest.len())].to_vec();
    Answer {
        status,
        content_type,
        allow,
        body,
    }
}

fn request_head(method: &str, target: &str, extra: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{extra}\r\n")
}

fn allowed(methods: &[&str], method: &Method) -> bool {
    methods.contains(&method.as_str()) || (*method == Method::HEAD && methods.contains(&"GET"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_every_method_answers_its_faces_envelope() {
    let app = spawn_app().await;
    let key = app.admin_key.clone();
    for (template, methods) in ROUTES {
        let path = with_id(template, MISSING_ID);
        for method in &METHODS {
            let head = *method == Method::HEAD;
            for key in [None, Some(key.as_str())] {
                let what = format!("{method} {path} (key: {})", key.is_some());
                let answer = send(&app, method, &path, key).await;
                if allowed(methods, method) {
                    if !answer.status.is_success() {
                        assert_envelope(&what, &path, head, &answer);
                    }
                    continue;
                }
                assert_code(&what, &path, head, &answer, &codes::METHOD_NOT_ALLOWED);
                let mut want: Vec<&str> = methods.to_vec();
                if methods.contains(&"GET") {
                    want.push("HEAD");
                }
                let mut allow: Vec<&str> = answer
                    .allow
                    .as_deref()
                    .unwrap_or_else(|| panic!("{what}: no Allow header"))
                    .split(',')
                    .map(str::trim)
                    .collect();
                want.sort_unstable();
                allow.sort_unstable();
                assert_eq!(allow, want, "{what}: Allow");
            }
        }
    }
    for path in UNKNOWN {
        for method in &METHODS {
            let what = format!("{method} {path}");
            let answer = send(&app, method, path, Some(&key)).await;
            let head = *method == Method::HEAD;
            assert_code(&what, path, head, &answer, &codes::NOT_FOUND);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trailing_slash_is_a_missing_route_in_the_faces_envelope() {
    let app = spawn_app().await;
    for (template, _) in ROUTES {
        let path = format!("{}/", with_id(template, MISSING_ID));
        for method in &METHODS {
            let what = format!("{method} {path}");
            let answer = send(&app, method, &path, Some(&app.admin_key)).await;
            let head = *method == Method::HEAD;
            assert_code(&what, &path, head, &answer, &codes::NOT_FOUND);
            if !head {
                let body = String::from_utf8_lossy(&answer.body);
                assert!(body.contains("trailing slash"), "{what}: {body}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_that_is_not_utf8_is_an_invalid_request() {
    let app = spawn_app().await;
    for (template, methods) in ROUTES.iter().filter(|(t, _)| t.contains("{id}")) {
        let path = with_id(template, "%FF%FE");
        for method in METHODS.iter().filter(|m| allowed(methods, m)) {
            let what = format!("{method} {path}");
            let answer = send(&app, method, &path, Some(&app.admin_key)).await;
            let head = *method == Method::HEAD;
            assert_code(&what, &path, head, &answer, &codes::INVALID_REQUEST);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_on_every_route() {
    let app = spawn_app().await;
    let auth = format!("authorization: Bearer {}\r\n", app.admin_key);
    let ten_mb = 10 * 1024 * 1024;
    // The routes that take files: over their own limit (the largest file and its framing).
    let upload = "/kyyReactApiServer/kyyVideo2/asset/upload";
    let v1_put = format!("/v1/assets/{MISSING_ID}");
    // A task for the gateway may be up to 12 MiB.
    let task = |method: &Method, path: &str| {
        *method == Method::POST
            && (path.ends_with("/videos") || path.ends_with("/images") || path.ends_with("/tasks"))
    };
    let too_much = |method: &Method, path: &str| {
        let takes_files = (*method == Method::POST && (path == upload || path == "/v1/assets"))
            || (*method == Method::PUT && path == v1_put);
        if takes_files {
            60 * 1024 * 1024
        } else if task(method, path) {
            13 * 1024 * 1024
        } else {
            ten_mb
        }
    };
    // Declared by Content-Length: refused before a byte of it is read, whatever the route.
    let paths = ROUTES
        .iter()
        .map(|(t, _)| with_id(t, MISSING_ID))
        .chain(UNKNOWN.iter().map(|p| (*p).to_owned()));
    for path in paths {
        for method in &METHODS {
            let head = request_head(
                method.as_str(),
                &path,
                &format!(
                    "{auth}content-type: application/json\r\ncontent-length: {}\r\n",
                    too_much(method, &path)
                ),
            );
            let answer = raw(&app, head, Vec::new()).await;
            let what = format!("{method} {path} with a large body");
            let is_head = *method == Method::HEAD;
            assert_code(&what, &path, is_head, &answer, &codes::BODY_TOO_LARGE);
        }
    }
    // Sent chunked, with no length announced: refused once the limit is crossed.
    let chunked = |bytes: usize| {
        let chunk = vec![b' '; 64 * 1024];
        let mut body = Vec::new();
        for _ in 0..(bytes / chunk.len()) {
            body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            body.extend_from_slice(&chunk);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        body
    };
    // A JSON upload may carry a 10 MB data: URI: 14 MiB is over its limit.
    // A task may be 12 MiB: 14 MiB is over its limit too.
    let (body, upload_body) = (chunked(ten_mb), chunked(14 * 1024 * 1024));
    for path in [
        "/kyyReactApiServer/kyyVideo2/asset/upload",
        "/kyyReactApiServer/v1/kyyvideo2/videos",
        "/v1/assets",
        "/v1/resolve",
        &format!("/v1/reviews/{MISSING_ID}/reject"),
    ] {
        let head = request_head(
            "POST",
            path,
            &format!("{auth}content-type: application/json\r\ntransfer-encoding: chunked\r\n"),
        );
        let body = if path == upload || task(&Method::POST, path) {
            &upload_body
        } else {
            &body
        };
        let answer = raw(&app, head, body.clone()).await;
        let what = format!("POST {path} with a large chunked body");
        assert_code(&what, path, false, &answer, &codes::BODY_TOO_LARGE);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_urls_and_oversized_headers_are_refused_in_the_envelope() {
    let app = spawn_app().await;
    let auth = format!("authorization: Bearer {}\r\n", app.admin_key);
    let long_query = |len: usize| format!("?name={}", "a".repeat(len));
    let kyy_list = "/kyyReactApiServer/kyyVideo2/asset/list";
    let many_headers = |count: usize, each: usize| -> String {
        (0..count)
            .map(|i| format!("x-filler-{i}: {}\r\n", "v".repeat(each)))
            .collect()
    };
    for path in [kyy_list, "/v1/assets", "/healthz", "/nope"] {
        // Over the router's limits, well inside the HTTP parser's: the envelope.
        let target = format!("{path}{}", long_query(20_000));
        let answer = raw(&app, request_head("GET", &target, &auth), Vec::new()).await;
        assert_code(
            &format!("GET {path} with a 20k query"),
            path,
            false,
            &answer,
            &codes::URI_TOO_LONG,
        );
        let extra = format!("{auth}{}", many_headers(40, 2048));
        let answer = raw(&app, request_head("GET", path, &extra), Vec::new()).await;
        assert_code(
            &format!("GET {path} with 80 KB of headers"),
            path,
            false,
            &answer,
            &codes::HEADERS_TOO_LARGE,
        );

        // Past the HTTP parser's own limits (a URI over 65,534 bytes; a head over its buffer;
        // more headers than it parses) the connection layer answers before the router: the
        // status is checked, and a body, when there is one, must be the envelope.
        for (what, head, want) in [
            (
                "a 100k query",
                request_head("GET", &format!("{path}{}", long_query(100_000)), &auth),
                &codes::URI_TOO_LONG,
            ),
            (
                "a 1 MB Authorization header",
                request_head(
                    "GET",
                    path,
                    &format!("authorization: Bearer {}\r\n", "k".repeat(1024 * 1024)),
                ),
                &codes::HEADERS_TOO_LARGE,
            ),
            (
                "500 headers",
                request_head("GET", path, &format!("{auth}{}", many_headers(500, 8))),
                &codes::HEADERS_TOO_LARGE,
            ),
        ] {
            let what = format!("GET {path} with {what}");
            let answer = raw(&app, head, Vec::new()).await;
            let want_status = want.refusal.map(|r| r.http).unwrap_or_default();
            assert_eq!(answer.status.as_u16(), want_status, "{what}");
            if !answer.body.is_empty() {
                assert_code(&what, path, false, &answer, want);
            }
        }
    }
}

/// Requests hyper cannot parse (a malformed request line, raw bytes outside ASCII in the target
/// or a header) are answered in the envelope with the stable code, not with a bare 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparseable_requests_are_answered_in_the_envelope() {
    let app = spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    for payload in [
        b"GARBAGE\xff LINE\r\n\r\n".as_slice(),
        b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n".as_slice(),
        b"GET /v1/assets HTTP/1.1\r\nHost: x\r\nX\xff: y\r\n\r\n".as_slice(),
        b"\xff\xff\xff\r\n\r\n".as_slice(),
    ] {
        let mut socket = TcpStream::connect(&addr).await.expect("connect");
        socket.write_all(payload).await.expect("send");
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer))
            .await
            .expect("answered and closed")
            .expect("read");
        let answer = String::from_utf8_lossy(&answer).into_owned();
        assert!(answer.starts_with("HTTP/1.1 400 "), "{payload:?}: {answer}");
        let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
        assert_eq!(
            body["error"]["code"], "invalid-request",
            "{payload:?}: {body}"
        );
    }
    // The server is still up.
    let (status, _) = app.get("nokey", "/healthz").await;
    assert_eq!(status, StatusCode::OK);
}
