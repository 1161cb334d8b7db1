//! A local origin server that the asset server fetches from: well-behaved routes on axum,
//! and misbehaving ones on a raw TCP socket (lying or absent Content-Length).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Files = Arc<Mutex<HashMap<String, (Bytes, String)>>>;

/// The origin's two listeners.
pub struct Origin {
    /// `http://127.0.0.1:PORT` of the well-behaved server.
    pub base: String,
    /// `http://127.0.0.1:PORT` of the raw, misbehaving server.
    pub raw_base: String,
    files: Files,
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

impl Origin {
    pub async fn start() -> Self {
        let files: Files = Arc::default();
        let app = Router::new()
            .route("/files/{name}", get(file))
            .route("/status/{code}", get(status))
            .route("/redirect", get(redirect))
            .route("/hops/{n}", get(hops))
            .route("/trickle", get(trickle))
            .route("/chunked/{n}", get(chunked))
            .with_state(Arc::clone(&files));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let raw = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind raw origin");
        let raw_base = format!("http://{}", raw.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((stream, _)) = raw.accept().await {
                tokio::spawn(serve_raw(stream));
            }
        });
        Self {
            base,
            raw_base,
            files,
        }
    }

    /// Serves `bytes` at `/files/{name}` and returns its URL.
    pub fn put(&self, name: &str, bytes: Vec<u8>, content_type: &str) -> String {
        self.files.lock().expect("files lock").insert(
            name.to_owned(),
            (Bytes::from(bytes), content_type.to_owned()),
        );
        format!("{}/files/{name}", self.base)
    }
}

async fn file(State(files): State<Files>, Path(name): Path<String>) -> Response {
    let found = files.lock().expect("files lock").get(&name).cloned();
    match found {
        Some((bytes, content_type)) => {
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

async fn status(Path(code): Path<u16>) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
    (code, "status page").into_response()
}

async fn redirect(Query(q): Query<HashMap<String, String>>) -> Response {
    let to = q.get("to").cloned().unwrap_or_default();
    Redirect::temporary(&to).into_response()
}

async fn hops(State(files): State<Files>, Path(n): Path<u32>) -> Response {
    if n == 0 {
        return file(State(files), Path("hop-target.png".to_owned())).await;
    }
    Redirect::temporary(&format!("/hops/{}", n - 1)).into_response()
}

/// Declares a small body, then sends one byte every 300 ms.
async fn trickle() -> Response {
    let stream = futures_util::stream::unfold(0usize, |sent| async move {
        if sent >= 1000 {
            return None;
        }
        if sent > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let chunk = if sent < PNG_MAGIC.len() {
            Bytes::copy_from_slice(PNG_MAGIC)
        } else {
            Bytes::from_static(b"x")
        };
        let next = sent + chunk.len();
        Some((Ok::<_, Infallible>(chunk), next))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "image/png")
        .header(header::CONTENT_LENGTH, "1015")
        .body(Body::from_stream(stream))
        .expect("response")
}

/// `n` bytes, chunked (no Content-Length), starting with PNG magic.
async fn chunked(Path(n): Path<usize>) -> Response {
    let stream = futures_util::stream::unfold(0usize, move |sent| async move {
        if sent >= n {
            return None;
        }
        let len = (n - sent).min(64 * 1024);
        let mut chunk = vec![0u8; len];
        if sent == 0 {
            let m = PNG_MAGIC.len().min(len);
            chunk[..m].copy_from_slice(&PNG_MAGIC[..m]);
        }
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), sent + len))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "image/png")
        .body(Body::from_stream(stream))
        .expect("response")
}

/// Raw routes: `/declared-huge`, `/eof-stream/{n}` (no Content-Length, close at end),
/// `/lying-small/{n}` (declares 1000 bytes, sends `n`).
async fn serve_raw(mut stream: TcpStream) {
    let mut buf = vec![0u8; 4096];
    let mut read = 0;
    while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") && read < buf.len() {
        match stream.read(&mut buf[read..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read += n,
        }
    }
    let request = String::from_utf8_lossy(&buf[..read]).to_string();
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let number = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
    };
    let (head, body_len) = if path == "/declared-huge" {
        (
            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 40000000\r\n\r\n"
                .to_owned(),
            16,
        )
    } else if let Some(n) = number("/eof-stream/") {
        (
            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n\r\n".to_owned(),
            n,
        )
    } else if let Some(n) = number("/lying-small/") {
        ("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n".to_owned(), n)
    } else {
        (
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
            0,
        )
    };
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut sent = 0;
    while sent < body_len {
        let len = (body_len - sent).min(64 * 1024);
        let mut chunk = vec![0u8; len];
        if sent == 0 {
            let m = PNG_MAGIC.len().min(len);
            chunk[..m].copy_from_slice(&PNG_MAGIC[..m]);
        }
        if stream.write_all(&chunk).await.is_err() {
            return;
        }
        sent += len;
    }
    let _ = stream.shutdown().await;
}
