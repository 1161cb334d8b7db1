//! A local origin server that the asset server fetches from. Files are held in memory and
//! served by name at `/files/{name}`; `?v=N` serves a distinct but equally valid variant of the
//! file (see `variant.rs`), so repeated imports are new content. Misbehaving routes live on the
//! same server (`routes.rs`) and on a raw TCP socket (`raw.rs`: lying or absent Content-Length).

mod raw;
mod routes;
mod variant;

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use tokio::net::TcpListener;

/// One served file.
#[derive(Debug, Clone)]
struct File {
    bytes: Bytes,
    content_type: String,
}

type Files = Arc<Mutex<HashMap<String, File>>>;

/// The origin's two listeners, on loopback; they run until the async runtime ends.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `http://127.0.0.1:PORT` of the well-behaved server.
    pub base: String,
    /// `http://127.0.0.1:PORT` of the raw, misbehaving server.
    pub raw_base: String,
    files: Files,
}

impl Origin {
    /// Starts the origin on the current tokio runtime; panics if loopback cannot be bound (tests).
    pub async fn start() -> Self {
        Self::try_start()
            .await
            .expect("the origin binds two loopback ports")
    }

    /// Starts the origin on the current tokio runtime.
    pub async fn try_start() -> io::Result<Self> {
        let files: Files = Arc::default();
        let app = Router::new()
            .route("/files/{name}", get(file))
            .merge(routes::misbehaving())
            .with_state(Arc::clone(&files));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let raw_base = raw::start().await?;
        Ok(Self {
            base,
            raw_base,
            files,
        })
    }

    /// Serves `bytes` at `/files/{name}` and returns its URL.
    pub fn put(&self, name: &str, bytes: impl Into<Bytes>, content_type: &str) -> String {
        let file = File {
            bytes: bytes.into(),
            content_type: content_type.to_owned(),
        };
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), file);
        format!("{}/files/{name}", self.base)
    }

    /// The URL of variant `v` of a file put earlier: the same file with a marker spliced in.
    pub fn url(&self, name: &str, v: u64) -> String {
        format!("{}/files/{name}?v={v}", self.base)
    }
}

async fn file(
    State(files): State<Files>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let variant = query.get("v").and_then(|v| v.parse().ok());
    serve_file(&files, &name, variant)
}

/// The file `name` as stored, or its variant `v`.
fn serve_file(files: &Files, name: &str, variant: Option<u64>) -> Response {
    let found = files
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .cloned();
    let Some(file) = found else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let Some(v) = variant else {
        return ([(header::CONTENT_TYPE, file.content_type)], file.bytes).into_response();
    };
    // The variant's pieces are streamed one after the other: a large file is not copied.
    let chunks = variant::chunks(&file.bytes, v);
    let length: usize = chunks.iter().map(Bytes::len).sum();
    let body = Body::from_stream(futures_util::stream::iter(
        chunks
            .into_iter()
            .map(Ok::<Bytes, std::convert::Infallible>),
    ));
    (
        [
            (header::CONTENT_TYPE, file.content_type),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response()
}
