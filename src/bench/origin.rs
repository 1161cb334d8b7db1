//! The local origin the bench imports from: files held in memory, served by name. `?v=N` serves
//! a distinct but equally valid variant (a JPEG comment segment after SOI, a trailing mp4 `free`
//! box), so every import is new content and nothing is deduplicated away.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

/// One served file.
#[derive(Clone)]
pub struct File {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub addr: SocketAddr,
}

type Files = Arc<HashMap<String, File>>;

impl Origin {
    pub async fn start(files: HashMap<String, File>) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/f/{name}", get(serve))
            .with_state(Arc::new(files));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr })
    }

    /// The URL of variant `v` of a file.
    pub fn url(&self, name: &str, v: u64) -> String {
        format!("http://{}/f/{name}?v={v}", self.addr)
    }
}

async fn serve(
    State(files): State<Files>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(file) = files.get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let variant: u64 = query.get("v").and_then(|v| v.parse().ok()).unwrap_or(0);
    let chunks = variant_chunks(file, variant);
    let length: usize = chunks.iter().map(Bytes::len).sum();
    let body = Body::from_stream(futures_util::stream::iter(
        chunks
            .into_iter()
            .map(Ok::<Bytes, std::convert::Infallible>),
    ));
    (
        [
            (header::CONTENT_TYPE, file.content_type.to_owned()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response()
}

/// The file's bytes with a variant marker spliced in, without copying the file.
fn variant_chunks(file: &File, variant: u64) -> Vec<Bytes> {
    let marker = format!("assetlib-bench variant {variant:020}");
    let b = &file.bytes;
    if b.starts_with(&[0xFF, 0xD8]) {
        // JPEG: a COM segment right after SOI.
        let len = u16::try_from(marker.len() + 2).unwrap_or(u16::MAX);
        let mut segment = vec![0xFF, 0xFE];
        segment.extend_from_slice(&len.to_be_bytes());
        segment.extend_from_slice(marker.as_bytes());
        return vec![b.slice(0..2), Bytes::from(segment), b.slice(2..)];
    }
    if b.get(4..8) == Some(b"ftyp") {
        // ISO-BMFF: a trailing top-level `free` box.
        let size = u32::try_from(marker.len() + 8).unwrap_or(u32::MAX);
        let mut free = size.to_be_bytes().to_vec();
        free.extend_from_slice(b"free");
        free.extend_from_slice(marker.as_bytes());
        return vec![b.clone(), Bytes::from(free)];
    }
    vec![b.clone()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_differ_and_keep_the_container_valid() {
        let jpeg = File {
            bytes: Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xD9]),
            content_type: "image/jpeg",
        };
        let a: Vec<u8> = variant_chunks(&jpeg, 1).concat();
        let b: Vec<u8> = variant_chunks(&jpeg, 2).concat();
        assert_ne!(a, b);
        assert_eq!(&a[..4], &[0xFF, 0xD8, 0xFF, 0xFE]);
        assert_eq!(&a[a.len() - 2..], &[0xFF, 0xD9]);
        let mp4 = File {
            bytes: Bytes::from_static(b"\0\0\0\x08ftyp"),
            content_type: "video/mp4",
        };
        let v: Vec<u8> = variant_chunks(&mp4, 7).concat();
        let size = u32::from_be_bytes([v[8], v[9], v[10], v[11]]) as usize;
        assert_eq!(&v[12..16], b"free");
        assert_eq!(v.len(), 8 + size);
    }
}
