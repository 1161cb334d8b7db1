//! The origin's HTTP routes that do something other than serve a file: any status, redirects,
//! redirect chains, a body that trickles, a chunked body without Content-Length.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use bytes::Bytes;

use super::{Files, serve_file};

/// The start of a PNG: enough for a sniffer to call the body an image.
pub(super) const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// `/status/{code}`, `/redirect?to=URL`, `/hops/{n}` (n redirects, then the file
/// `hop-target.png`), `/trickle`, `/chunked/{n}`, `/delayed/{ms}/{name}` (the file after `ms`
/// milliseconds).
pub(super) fn misbehaving() -> Router<Files> {
    Router::new()
        .route("/status/{code}", get(status))
        .route("/redirect", get(redirect))
        .route("/hops/{n}", get(hops))
        .route("/trickle", get(trickle))
        .route("/chunked/{n}", get(chunked))
        .route("/delayed/{ms}/{name}", get(delayed))
}

/// The file `name`, answered after `ms` milliseconds: a slow source that does finish.
async fn delayed(State(files): State<Files>, Path((ms, name)): Path<(u64, String)>) -> Response {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    serve_file(&files, &name, None)
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
        return serve_file(&files, "hop-target.png", None);
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
            Bytes::from_static(PNG_MAGIC)
        } else {
            Bytes::from_static(b"x")
        };
        let next = sent + chunk.len();
        Some((Ok::<_, Infallible>(chunk), next))
    });
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CONTENT_LENGTH, "1015"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `n` bytes, chunked (no Content-Length), starting with PNG magic.
async fn chunked(Path(n): Path<usize>) -> Response {
    let stream = futures_util::stream::unfold(0usize, move |sent| async move {
        if sent >= n {
            return None;
        }
        let len = (n - sent).min(64 * 1024);
        let chunk = png_chunk(sent, len);
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), sent + len))
    });
    (
        [(header::CONTENT_TYPE, "image/png")],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `len` zero bytes at offset `sent` of a body, PNG magic at its start.
pub(super) fn png_chunk(sent: usize, len: usize) -> Vec<u8> {
    let mut chunk = vec![0u8; len];
    if sent == 0 {
        let m = PNG_MAGIC.len().min(len);
        chunk[..m].copy_from_slice(&PNG_MAGIC[..m]);
    }
    chunk
}
