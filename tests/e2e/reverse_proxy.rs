//! assetlib behind nginx with TLS (docs/OPERATIONS.md, Behind a reverse proxy): the server block
//! of `packaging/nginx.conf` as shipped — only its addresses, name and certificate paths
//! replaced — in front of `assetlib serve --public-url https://…`, with a self-signed
//! certificate made here by `openssl`. Through it: plain http is redirected, a body over nginx's
//! default 1 MB limit uploads, content URLs are signed for the public URL and work (ranges
//! too), the console's sign-in cookie is `Secure`, and with `--trusted-proxies` the access log
//! names the client's address, not nginx's. Without it a forged `X-Forwarded-For` is ignored.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::backup::{put_image, signed_url};
use crate::common::{BIN, client, media, wait_settled};
use assetlib_test_support::{Proc, Serve};

const SITE: &str = include_str!("../../packaging/nginx.conf");
const NAME: &str = "assets.test";

/// nginx in the foreground on a prefix directory of its own; stopped (SIGQUIT, then waited
/// for) when dropped, workers included.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!(
            "nginx error log:\n{}",
            std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `nginx` on PATH or in /usr/sbin, or `None` (skipped; required in CI).
fn nginx_binary() -> Option<PathBuf> {
    let found = ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|bin| Command::new(bin).arg("-v").output().is_ok());
    if found.is_none() {
        assert!(
            !assetlib_test_support::opt_in::backends_required(),
            "nginx is missing (apt-get install nginx)"
        );
        eprintln!("reverse_proxy: skipped, nginx is not installed (apt-get install nginx)");
    }
    found
}

/// A self-signed certificate for `NAME`: (certificate, key) paths.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", &format!("/CN={NAME}")])
        .args(["-addext", &format!("subjectAltName=DNS:{NAME}")])
        // A server's certificate, not a CA's (which TLS clients refuse as a server's).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// The shipped server block with this test's addresses, name and certificate.
fn site(upstream: &str, https: u16, http: u16, cert: &Path, key: &Path) -> String {
    let mut site = SITE.to_owned();
    for (from, to) in [
        ("server 127.0.0.1:8080;", format!("server {upstream};")),
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{https} ssl http2;"),
        ),
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        ("listen [::]:443 ssl http2;", String::new()),
        ("listen [::]:80;", String::new()),
        (
            "/etc/letsencrypt/live/assets.example.com/fullchain.pem",
            cert.display().to_string(),
        ),
        (
            "/etc/letsencrypt/live/assets.example.com/privkey.pem",
            key.display().to_string(),
        ),
        ("assets.example.com", NAME.to_owned()),
    ] {
        assert!(site.contains(from), "packaging/nginx.conf has no {from}");
        site = site.replace(from, &to);
    }
    site
}

fn start_nginx(bin: &Path, dir: &Path, site: &str, https: u16) -> Nginx {
    // Workers (another user when nginx starts as root) spool bodies under this directory.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let d = dir.display();
    std::fs::write(dir.join("assetlib.conf"), site).expect("site");
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/assetlib.conf;\n}}\n"
        ),
    )
    .expect("nginx.conf");
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let nginx = Nginx {
        child,
        dir: dir.to_owned(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, https)).is_err() {
        assert!(Instant::now() < deadline, "nginx does not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_with_tls_uploads_signed_urls_and_the_console_work() {
    let Some(bin) = nginx_binary() else { return };
    let dir = tempfile::tempdir().expect("nginx dir");
    let data = tempfile::tempdir().expect("data dir");
    let (cert, key_pem) = certificate(dir.path());
    let (https, http_port) = (free_port(), free_port());
    let public = format!("https://{NAME}:{https}");
    // nginx reaches the server from 127.0.0.1, the client reaches nginx from 127.0.0.2.
    let node = json_logging(
        data.path(),
        &["--public-url", &public, "--trusted-proxies", "127.0.0.1/32"],
    );
    let key = node.printed_key.clone().expect("admin key");
    let upstream = node.base.trim_start_matches("http://");
    let site = site(upstream, https, http_port, &cert, &key_pem);
    let _nginx = start_nginx(&bin, dir.path(), &site, https);

    assetlib::fetch::install_crypto_provider();
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).expect("cert")).expect("pem");
    let through = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let http = reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::from(CLIENT))
        .add_root_certificate(root)
        .resolve(NAME, through(https))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");

    // Plain http is sent to https.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .resolve(NAME, through(http_port))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("http://{NAME}:{http_port}/healthz"))
        .send()
        .await
        .expect("plain http");
    assert_eq!(plain.status(), StatusCode::PERMANENT_REDIRECT);

    // A 3 MB upload: over nginx's default client_max_body_size of 1 MB.
    let text = "Through the proxy, byte for byte.\n".repeat(3 * 1024 * 1024 / 34);
    let resp = http
        .put(format!("{public}/v1/assets/big.txt?assetType=Document"))
        .bearer_auth(&key)
        .header("Content-Type", "text/plain")
        .header("x-request-id", "through-nginx")
        // A forgery nginx passes on, with the address it saw appended.
        .header("X-Forwarded-For", "203.0.113.66")
        .body(text.clone())
        .send()
        .await
        .expect("upload through nginx");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let id = resp.json::<Value>().await.expect("JSON")["assetId"]
        .as_str()
        .expect("id")
        .to_owned();
    let asset = wait_settled(&http, &public, &key, &id).await;
    assert_eq!(asset["status"], "Active", "{asset}");

    let content = http
        .get(format!("{public}/v1/assets/{id}/content"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("content through nginx");
    assert_eq!(content.status(), StatusCode::OK);
    assert!(content.bytes().await.expect("bytes")[..] == *text.as_bytes());

    // Content URLs are signed for the public URL, and work through nginx with no key.
    let png = media::png(400, 320);
    let image = put_image(&http, &public, &key, png.clone()).await;
    let url = signed_url(&http, &public, &key, &image).await;
    assert!(
        url.starts_with(&format!("{public}/content/{image}?")),
        "{url}"
    );
    let whole = http.get(&url).send().await.expect("signed URL");
    assert_eq!(whole.status(), StatusCode::OK);
    assert!(whole.bytes().await.expect("bytes")[..] == png[..]);
    let part = http
        .get(&url)
        .header("Range", "bytes=0-7")
        .send()
        .await
        .expect("a range");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.expect("bytes").as_ref(), &png[..8]);

    // The console signs in with a Secure cookie, which then works through nginx.
    let resp = http
        .post(format!("{public}/console/session"))
        .header("x-assetlib-console", "1")
        .json(&serde_json::json!({ "key": key }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a cookie")
        .to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let session = cookie.split(';').next().expect("name=value");
    let who = http
        .get(format!("{public}/console/session"))
        .header("Cookie", session)
        .send()
        .await
        .expect("who am I");
    assert_eq!(who.status(), StatusCode::OK);

    // nginx logged the client's own address for each request, and so did assetlib.
    let log = std::fs::read_to_string(dir.path().join("access.log")).expect("access log");
    assert!(
        log.lines()
            .any(|l| l.starts_with("127.0.0.2 ") && l.contains("PUT /v1/assets/big.txt")),
        "{log}"
    );
    let line = access_line(&node, "through-nginx");
    assert_eq!(line["status"], 201, "{line}");
    assert_eq!(line["client"], "127.0.0.2", "{line}");
}

/// The client's source address in the test through nginx (any 127/8 address is loopback).
const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// A server logging JSON (access lines included) to its captured stderr.
fn json_logging(data: &Path, args: &[&str]) -> Proc {
    Serve::new(BIN, data)
        .args(args)
        .log("warn,assetlib::access=info")
        .env("ASSETLIB_LOG_FORMAT", "json")
        .start()
        .unwrap_or_else(|e| panic!("the server starts: {e}"))
}

/// The access-log line of the request `request_id`, once the server has written it.
fn access_line(node: &Proc, request_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = node
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["target"] == "assetlib::access" && l["request_id"] == request_id);
        if let Some(line) = found {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no access line of {request_id}: {:?}",
            node.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let data = tempfile::tempdir().expect("data dir");
    // No --trusted-proxies (the default): no peer's forwarding headers are believed.
    let node = json_logging(data.path(), &[]);
    let answer = client()
        .get(format!("{}/healthz", node.base))
        .header("x-request-id", "forged")
        .header("X-Forwarded-For", "203.0.113.7")
        .header("X-Real-IP", "203.0.113.8")
        .send()
        .await
        .expect("healthz");
    assert_eq!(answer.status(), StatusCode::OK);
    let line = access_line(&node, "forged");
    assert_eq!(line["client"], "127.0.0.1", "{line}");
}
