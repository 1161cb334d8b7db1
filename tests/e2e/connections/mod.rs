//! Client connections: a head that never comes or comes too slowly, an idle keep-alive
//! connection, a body that stops arriving, and the cap on open connections. Raw sockets, so the
//! test controls every byte; timeouts are set short and the bounds are generous multiples.

use std::sync::Arc;
use std::time::{Duration, Instant};

use assetlib::config::Config;
use assetlib::fetch::SystemLookup;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{KYY, TestApp, client, spawn_app_with};

mod slow_readers;

/// How long a test waits for something a 1–2 s timeout should cause.
const BOUND: Duration = Duration::from_secs(20);

async fn app(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with(adjust, Arc::new(SystemLookup)).await
}

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connects")
}

/// Reads until the server closes the connection (EOF or reset); `None` if it is still open
/// after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read).await.ok()?;
    Some(got)
}

/// One HTTP/1.1 response read off a keep-alive connection: status and body.
async fn read_response(stream: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            if let Some((status, body)) = complete_response(&got) {
                return (status, body);
            }
            let n = stream.read(&mut buf).await.expect("reads a response");
            assert!(
                n > 0,
                "closed mid-response: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(BOUND, read)
        .await
        .expect("a response within the bound")
}

/// Status and body of a whole response with Content-Length, once `bytes` hold all of it.
fn complete_response(bytes: &[u8]) -> Option<(u16, Vec<u8>)> {
    let text = String::from_utf8_lossy(bytes);
    let head_end = text.find("\r\n\r\n")?;
    let head = &text[..head_end];
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let body = bytes.get(head_end + 4..head_end + 4 + length)?;
    Some((status, body.to_vec()))
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

async fn get_healthz(stream: &mut TcpStream) -> u16 {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("request written");
    read_response(stream).await.0
}

#[tokio::test]
async fn a_socket_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = app(|c| c.http.header_read_timeout = Duration::from_secs(1)).await;
    let mut idle = connect(&app).await;
    let opened = Instant::now();
    let got = read_until_closed(&mut idle, BOUND).await;
    assert!(
        got.is_some(),
        "a silent connection is still open {BOUND:?} later (header timeout 1 s)"
    );
    assert!(
        opened.elapsed() >= Duration::from_millis(900),
        "closed before the timeout"
    );
}

#[tokio::test]
async fn a_head_sent_one_line_at_a_time_is_cut_at_the_header_timeout() {
    let app = app(|c| {
        c.http.header_read_timeout = Duration::from_secs(2);
        c.http.keep_alive_timeout = Duration::from_secs(60);
    })
    .await;
    let (mut reader, mut writer) = connect(&app).await.into_split();
    let closed = tokio::spawn(async move {
        let mut got = Vec::new();
        let _ = reader.read_to_end(&mut got).await;
        got
    });
    let started = Instant::now();
    let _ = writer
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        .await;
    let mut line = 0;
    while !closed.is_finished() && started.elapsed() < BOUND {
        line += 1;
        if writer
            .write_all(format!("X-Slow-{line}: y\r\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let got = tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .unwrap_or_else(|_| {
            panic!("a head trickling a line every 250 ms still open after {line} lines")
        })
        .expect("reader");
    assert!(
        !String::from_utf8_lossy(&got).contains("200 OK"),
        "the trickled request was served"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let app = app(|c| {
        c.http.header_read_timeout = Duration::from_secs(30);
        c.http.keep_alive_timeout = Duration::from_secs(1);
    })
    .await;
    let mut conn = connect(&app).await;
    assert_eq!(get_healthz(&mut conn).await, 200);
    assert!(
        read_until_closed(&mut conn, BOUND).await.is_some(),
        "an idle keep-alive connection is still open {BOUND:?} later (keep-alive timeout 1 s)"
    );
}

#[tokio::test]
async fn a_keep_alive_pause_longer_than_the_header_timeout_is_fine() {
    let app = app(|c| {
        c.http.header_read_timeout = Duration::from_secs(1);
        c.http.keep_alive_timeout = Duration::from_secs(60);
    })
    .await;
    let mut conn = connect(&app).await;
    assert_eq!(get_healthz(&mut conn).await, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(get_healthz(&mut conn).await, 200, "the connection was kept");
}

/// A request whose body stops after its first bytes; returns the whole answer.
async fn stalled_body(app: &TestApp, path: &str, key: &str) -> String {
    let mut conn = connect(app).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"assetTyp"
    );
    conn.write_all(head.as_bytes()).await.expect("written");
    let got = read_until_closed(&mut conn, BOUND)
        .await
        .unwrap_or_else(|| panic!("{path}: a stalled body is still waited for {BOUND:?} later"));
    String::from_utf8_lossy(&got).into_owned()
}

fn json_body(response: &str) -> Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body ({e}): {response}"))
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408_in_each_face_envelope() {
    let app = app(|c| c.http.body_read_timeout = Duration::from_secs(1)).await;
    let key = app.create_key("slow-body").await;

    let kyy = stalled_body(&app, &format!("{KYY}/upload"), &key).await;
    assert!(kyy.starts_with("HTTP/1.1 408"), "{kyy}");
    assert_eq!(header(&kyy, "connection"), Some("close"), "{kyy}");
    let body = json_body(&kyy);
    assert_eq!(body["code"], 1408, "{body}");
    assert!(
        body["msg"].as_str().is_some_and(|m| m.contains("1 s")),
        "{body}"
    );

    let v1 = stalled_body(&app, "/v1/assets", &key).await;
    assert!(v1.starts_with("HTTP/1.1 408"), "{v1}");
    let body = json_body(&v1);
    assert_eq!(body["error"]["code"], "request-timeout", "{body}");
    assert_eq!(app.all_asset_ids(&key).await.len(), 0);
}

#[tokio::test]
async fn a_body_refused_for_its_size_is_answered_not_reset_while_the_client_still_sends() {
    // The answer goes out as soon as the head announces too much; the client is still
    // sending. Closing then with its bytes unread would reset the connection under the
    // answer (the client sees a broken pipe), so the server reads and drops them first.
    let app = app(|_| {}).await;
    let key = app.create_key("big-body").await;
    let http = client();
    let sizes = [
        ("/v1/assets", 3 << 20),
        ("/v1/assets", 24 << 20),
        (KYY, 24 << 20),
    ];
    // Each after a small request on the same client, whose pool keeps the connection.
    for (path, size) in sizes.into_iter().cycle().take(24) {
        let small = http
            .get(format!("{}/v1/assets", app.base))
            .bearer_auth(&key)
            .send()
            .await
            .expect("a small request");
        assert_eq!(small.status(), 200);
        let url = if path == KYY {
            format!("{}{KYY}/upload", app.base)
        } else {
            format!("{}{path}", app.base)
        };
        let body = format!(r#"{{"assetType":"Image","url":"{}"}}"#, "x".repeat(size));
        let resp = http
            .post(&url)
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{size} bytes to {path}: no answer: {e:?}"));
        assert_eq!(resp.status(), 413, "{size} bytes to {path}");
        let body: Value = resp.json().await.expect("a JSON body");
        let code = if path == KYY {
            body["code"].to_string()
        } else {
            body["error"]["code"].to_string()
        };
        assert!(
            code.contains("413") || code.contains("body-too-large"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn at_the_connection_cap_new_connections_get_503_and_established_ones_keep_working() {
    let app = app(|c| {
        c.http.max_connections = 4;
        c.http.header_read_timeout = Duration::from_secs(60);
        c.http.keep_alive_timeout = Duration::from_secs(60);
    })
    .await;
    let mut established = connect(&app).await;
    assert_eq!(get_healthz(&mut established).await, 200);
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(connect(&app).await);
    }

    // The fifth connection is answered at once, before it sends anything.
    let mut over = connect(&app).await;
    let got = read_until_closed(&mut over, BOUND)
        .await
        .expect("a connection over the cap is answered and closed, not left waiting");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert_eq!(header(&text, "connection"), Some("close"), "{text}");
    assert!(header(&text, "retry-after").is_some(), "{text}");
    assert_eq!(json_body(&text)["error"]["code"], "unavailable", "{text}");

    // A client that sends its request first reads the same answer.
    let resp = client()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    // The established keep-alive connection is still served.
    assert_eq!(get_healthz(&mut established).await, 200);

    // A closed connection frees its place.
    drop(idle.pop());
    let deadline = Instant::now() + BOUND;
    loop {
        let mut fresh = connect(&app).await;
        fresh
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .expect("written");
        let got = read_until_closed(&mut fresh, BOUND)
            .await
            .unwrap_or_default();
        if String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the freed place is never reused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `assetlib serve` under `ulimit` (`limit`: e.g. `-S -n 256`) with `extra` flags, logs
/// captured.
fn serve_under_ulimit(dir: &std::path::Path, limit: &str, extra: &[&str]) -> crate::common::Proc {
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit {limit} && exec \"$0\" \"$@\""))
        .arg(crate::common::BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &dir.display().to_string(),
            "--header-read-timeout-secs",
            "60",
        ])
        .args(extra)
        .env("ASSETLIB_LOG", "warn");
    crate::common::Proc::start(
        command,
        assetlib_test_support::serve::LISTENING,
        crate::common::Stderr::Capture,
    )
    .expect("the server starts")
}

/// (soft, hard) "Max open files" of a process.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let mut fields = line["Max open files".len()..].split_whitespace();
    (
        fields.next().unwrap_or_default().to_owned(),
        fields.next().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn the_soft_open_file_limit_is_raised_to_the_hard_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve_under_ulimit(dir.path(), "-S -n 256", &[]);
    let (soft, hard) = open_file_limits(server.pid());
    assert_eq!(soft, hard, "soft limit raised at start-up");
}

#[tokio::test]
async fn under_a_low_descriptor_limit_accept_never_starves() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Soft and hard: the cap falls to half of 256.
    let server = serve_under_ulimit(dir.path(), "-n 256", &[]);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut established = TcpStream::connect(&addr).await.expect("connects");
    assert_eq!(get_healthz(&mut established).await, 200);
    // More idle sockets than the process has descriptors.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(&addr).await.expect("connects"));
    }
    // The newest are answered 503 at once.
    for conn in idle.iter_mut().rev().take(10) {
        let got = read_until_closed(conn, BOUND)
            .await
            .expect("a connection over the cap is answered, not left in the backlog");
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    }
    assert_eq!(get_healthz(&mut established).await, 200);
    let logs = server.logs();
    let errors: Vec<&String> = logs.iter().filter(|l| l.contains("accept error")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        logs.iter()
            .any(|l| l.contains("accepting at most 128 connections")),
        "the lowered cap is logged: {logs:#?}"
    );
}
