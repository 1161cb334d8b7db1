//! Clients that ask for a large answer and then stop reading it: the write-progress timeout
//! cuts them, one address cannot take every connection place, and one signed content URL
//! streams to a bounded number of readers at once. Each reader has a tiny receive buffer and
//! reads nothing past the first bytes of its answer, so the server's writes stall at once.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use assetlib::config::Config;
use assetlib::domain::FacePolicy;
use image::{ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::{
    BOUND, app, complete_response, header, json_body, read_until_closed, serve_under_ulimit,
};
use crate::common::{KYY, Origin, TestApp, client, wait_settled};

/// The attacker's address and a second client's, apart from the test's own client (127.0.0.1):
/// all loopback on Linux.
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
const NEIGHBOUR: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A PNG of noise (it does not compress): about 3 bytes per pixel, 9.7 MB at 1800².
fn noise_png(side: u32) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    let img = RgbImage::from_fn(side, side, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        Rgb([a, b, c])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A large Active image and the path (with `exp` and `sig`) of a signed URL to its bytes.
async fn large_asset(app: &TestApp) -> (String, usize) {
    let key = app.create_key("slow").await;
    large_asset_on(&app.base, &key).await
}

async fn large_asset_on(base: &str, key: &str) -> (String, usize) {
    let origin = Origin::start().await;
    let http = client();
    let bytes = noise_png(1800);
    let url = origin.put("noise.png", bytes.clone(), "image/png");
    let uploaded: Value = http
        .post(format!("{base}{KYY}/upload"))
        .bearer_auth(key)
        .json(&json!({"assetType": "Image", "url": url, "name": "noise"}))
        .send()
        .await
        .expect("uploaded")
        .json()
        .await
        .expect("JSON");
    let id = uploaded["data"]["assetId"]
        .as_str()
        .unwrap_or_else(|| panic!("{uploaded}"));
    let body = wait_settled(&http, base, key, id).await;
    assert_eq!(body["status"], "Active", "{body}");
    let resolved: Value = http
        .post(format!("{base}/v1/resolve"))
        .bearer_auth(key)
        .json(&json!({"first_image": format!("asset://{id}")}))
        .send()
        .await
        .expect("resolved")
        .json()
        .await
        .expect("JSON");
    let signed = resolved["first_image"]
        .as_str()
        .unwrap_or_else(|| panic!("{resolved}"));
    let path = signed.strip_prefix(base).expect("on this server");
    (path.to_owned(), bytes.len())
}

async fn slow_app(adjust: impl FnOnce(&mut Config)) -> TestApp {
    app(|c| {
        c.moderation.faces = FacePolicy::Allow;
        c.http.header_read_timeout = Duration::from_secs(60);
        c.http.keep_alive_timeout = Duration::from_secs(60);
        adjust(c);
    })
    .await
}

/// The server's address.
trait Addr {
    fn addr(&self) -> SocketAddr;
}

impl Addr for TestApp {
    fn addr(&self) -> SocketAddr {
        address_of(&self.base)
    }
}

impl Addr for crate::common::Proc {
    fn addr(&self) -> SocketAddr {
        address_of(&self.base)
    }
}

fn address_of(base: &str) -> SocketAddr {
    base.trim_start_matches("http://")
        .parse()
        .expect("a socket address")
}

/// A connection from `from` with a tiny receive buffer.
async fn connect_from(app: &impl Addr, from: IpAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    socket.bind(SocketAddr::new(from, 0)).expect("bound");
    socket.connect(app.addr()).await.expect("connects")
}

/// A reader that sends its request, reads the start of the answer and then nothing more; and
/// the status it was answered.
struct Reader {
    stream: TcpStream,
    status: u16,
    start: Vec<u8>,
}

async fn slow_reader(app: &impl Addr, from: IpAddr, path: &str) -> Reader {
    let mut stream = connect_from(app, from).await;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .expect("request written");
    let mut start = Vec::new();
    let mut buf = [0u8; 1024];
    while !start.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("an answer within the bound")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        start.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&start);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // A refusal is short: read all of it.
    while status != 200 && complete_response(&start).is_none() {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("an answer within the bound")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        start.extend_from_slice(&buf[..n]);
    }
    Reader {
        stream,
        status,
        start,
    }
}

async fn readers(app: &impl Addr, from: IpAddr, path: &str, n: usize) -> Vec<Reader> {
    let mut readers = Vec::new();
    for _ in 0..n {
        readers.push(slow_reader(app, from, path).await);
    }
    readers
}

fn statuses(readers: &[Reader]) -> (usize, usize, Vec<u16>) {
    let ok = readers.iter().filter(|r| r.status == 200).count();
    let unavailable = readers.iter().filter(|r| r.status == 503).count();
    let other = readers
        .iter()
        .map(|r| r.status)
        .filter(|s| *s != 200 && *s != 503)
        .collect();
    (ok, unavailable, other)
}

/// `GET /healthz` on a fresh connection from `from`: the status (0 if closed unanswered).
async fn healthz_from(app: &impl Addr, from: IpAddr) -> u16 {
    let mut stream = connect_from(app, from).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("written");
    let got = read_until_closed(&mut stream, BOUND)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&got);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A 503 answer's body is the `unavailable` envelope and carries `Retry-After`.
fn assert_unavailable(reader: &mut Reader) {
    let text = String::from_utf8_lossy(&reader.start).into_owned();
    assert!(header(&text, "retry-after").is_some(), "{text}");
    let body: Value = json_body(&text);
    assert_eq!(body["error"]["code"], "unavailable", "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_that_stop_reading_are_cut_after_the_write_timeout_and_free_their_places() {
    let app = slow_app(|c| {
        c.http.max_connections = 40;
        c.http.max_connections_per_address = 0;
        c.http.max_streams_per_content_url = 100;
        c.http.write_timeout = Duration::from_secs(1);
    })
    .await;
    let (path, len) = large_asset(&app).await;

    let mut held = readers(&app, ATTACKER, &path, 50).await;
    let opened = Instant::now();
    let (ok, unavailable, other) = statuses(&held);
    assert!(other.is_empty(), "{other:?}");
    assert!(
        ok >= 30,
        "most places were taken by readers: {ok} answered 200"
    );
    assert_eq!(ok + unavailable, 50);

    // While the readers still hold their sockets, their places come free.
    let deadline = Instant::now() + BOUND;
    while healthz_from(&app, ATTACKER).await != 200 {
        assert!(
            Instant::now() < deadline,
            "readers that stopped reading hold every place {BOUND:?} later (write timeout 1 s)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Reading would revive a stalled answer: first let every reader's write clock run out
    // (the last reader stalled just after `opened`).
    tokio::time::sleep_until((opened + Duration::from_secs(3)).into()).await;
    for reader in held.iter_mut().filter(|r| r.status == 200) {
        let rest = read_until_closed(&mut reader.stream, BOUND)
            .await
            .expect("a stalled answer's connection is closed");
        assert!(
            reader.start.len() + rest.len() < len,
            "the whole answer was kept for a reader that stopped reading"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_place() {
    let app = slow_app(|c| {
        c.http.max_connections = 40;
        c.http.max_connections_per_address = 10;
        c.http.max_streams_per_content_url = 100;
        c.http.write_timeout = Duration::from_secs(60);
    })
    .await;
    let (path, _) = large_asset(&app).await;

    let mut held = readers(&app, ATTACKER, &path, 50).await;
    let (ok, unavailable, other) = statuses(&held);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!((ok, unavailable), (10, 40), "10 places for one address");
    for reader in held.iter_mut().filter(|r| r.status == 503) {
        assert_unavailable(reader);
    }
    assert_eq!(healthz_from(&app, ATTACKER).await, 503, "still at its cap");
    assert_eq!(
        healthz_from(&app, NEIGHBOUR).await,
        200,
        "another address is served"
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_signed_url_streams_to_a_bounded_number_of_readers_at_once() {
    let app = slow_app(|c| {
        c.http.max_connections = 100;
        c.http.max_connections_per_address = 0;
        c.http.max_streams_per_content_url = 4;
        c.http.write_timeout = Duration::from_secs(60);
    })
    .await;
    let (path, _) = large_asset(&app).await;

    let mut held = readers(&app, ATTACKER, &path, 6).await;
    let (ok, unavailable, other) = statuses(&held);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!((ok, unavailable), (4, 2));
    for reader in held.iter_mut().filter(|r| r.status == 503) {
        assert_unavailable(reader);
        let text = String::from_utf8_lossy(&reader.start).into_owned();
        assert_eq!(header(&text, "connection"), Some("close"), "{text}");
        assert!(
            json_body(&text)["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("content URL")),
            "{text}"
        );
    }
    assert_eq!(healthz_from(&app, ATTACKER).await, 200);

    // Readers that go away free the URL's places.
    drop(held);
    let deadline = Instant::now() + BOUND;
    loop {
        let reader = slow_reader(&app, NEIGHBOUR, &path).await;
        if reader.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the URL's places are never freed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_low_descriptor_limit_readers_are_answered_503_before_descriptors_run_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 256 descriptors: 128 connection places, and a reserve of 128 kept from connections.
    let server = serve_under_ulimit(
        dir.path(),
        "-n 256",
        &[
            "--allow-private-networks",
            "--faces",
            "allow",
            "--max-connections-per-address",
            "0",
            "--max-streams-per-content-url",
            "1000",
            "--write-timeout-secs",
            "60",
            "--keep-alive-timeout-secs",
            "60",
        ],
    );
    let admin = std::fs::read_to_string(dir.path().join("admin.key")).expect("admin key");
    let (path, _) = large_asset_on(&server.base, admin.trim()).await;

    // Each stream holds a socket and a blob file.
    let held = readers(&server, ATTACKER, &path, 150).await;
    let (ok, unavailable, other) = statuses(&held);
    assert!(
        other.is_empty(),
        "answers other than 200 and 503: {other:?}\n{:#?}",
        server.logs()
    );
    assert!(ok >= 20, "{ok} streams, {unavailable} refused");
    let open = std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .expect("the server's descriptors")
        .count();
    assert!(open < 256, "{open} descriptors open");
    assert_eq!(
        healthz_from(&server, NEIGHBOUR).await,
        503,
        "refused, not failed"
    );
    let logs = server.logs();
    let failures: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("accept error") || l.contains("Too many open files"))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    drop(held);
}
