//! Content-addressed blob storage. One `BlobStore` port; one adapter over the `object_store`
//! crate, so the local directory and S3-compatible stores share a single code path.

mod content_cache;
mod local_read;
#[cfg(target_os = "linux")]
pub(crate) mod mapped;
mod object;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use content_cache::ContentCache;
pub use object::ObjectBlobStore;

/// The most stored files a node keeps mapped and open for content answers (a sixteenth of its
/// open-file limit, between 16 and this; Linux, local store): up to it, open blob files are a
/// cache, not a leak (the soak judges them against it).
pub const CONTENT_FILES_KEPT_OPEN_MAX: usize = 256;

/// Errors of the blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("blob store error: {0}")]
    Store(#[from] object_store::Error),
    #[error("blob store I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid blob store URL: {0}")]
    InvalidUrl(String),
}

impl BlobError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, BlobError::NotFound(_))
    }

    /// Transient store failures are worth retrying; a missing blob is not.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BlobError::Store(_) | BlobError::Io(_))
    }

    /// Whether the store could not be reached or answered a server error (5xx, 429) after
    /// every retry — an outage or a storage cluster without a quorum, which a client may
    /// retry later — rather than refusing the request itself (a missing object, denied
    /// credentials, a request it does not support).
    pub fn is_unavailable(&self) -> bool {
        match self {
            BlobError::Store(object_store::Error::Generic { source, .. }) => {
                server_side(source.as_ref())
            }
            // A streamed write (multipart) reports the store's error as I/O.
            BlobError::Io(e) => e
                .get_ref()
                .is_some_and(|inner| server_side(inner) || unavailable_store(inner)),
            _ => false,
        }
    }
}

/// A store's error (`object_store`'s retry error and its causes) that says the store was not
/// reached or failed on its side: a transport error, or a 5xx (but 501, not implemented) or 429
/// status.
fn server_side(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.downcast_ref::<object_store::client::HttpError>()
            .is_some()
        {
            return true;
        }
        let text = e.to_string();
        if let Some(rest) = text.split("status code: ").nth(1)
            && ((rest.starts_with('5') && !rest.starts_with("501")) || rest.starts_with("429"))
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// An `object_store` error wrapped in another (an I/O error of a streamed write) that is
/// `server_side`.
fn unavailable_store(error: &(dyn std::error::Error + 'static)) -> bool {
    match error.downcast_ref::<object_store::Error>() {
        Some(object_store::Error::Generic { source, .. }) => server_side(source.as_ref()),
        _ => false,
    }
}

/// Whether a put stored new bytes or found them already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Stored,
    AlreadyPresent,
}

/// A blob as listed by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub sha256: String,
    pub bytes: u64,
    pub last_modified: DateTime<Utc>,
}

/// A local file with a blob's bytes: the stored file itself, or a temporary copy that is
/// removed when this is dropped.
#[derive(Debug)]
pub enum LocalBlob {
    Stored(std::path::PathBuf),
    Copy(tempfile::TempPath),
}

impl LocalBlob {
    pub fn path(&self) -> &std::path::Path {
        match self {
            LocalBlob::Stored(path) => path,
            LocalBlob::Copy(temp) => temp,
        }
    }
}

/// Content-addressed storage keyed by lowercase hex sha256.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores the file's bytes under `sha256` unless a blob with that hash exists. Stores that
    /// keep metadata (S3) record `content_type`, which direct (presigned) reads answer with.
    async fn put_file(
        &self,
        sha256: &str,
        file: &Path,
        content_type: &str,
    ) -> Result<PutOutcome, BlobError>;
    /// Bytes `range` of the blob (clamped to its end).
    async fn read_range(&self, sha256: &str, range: Range<u64>) -> Result<Bytes, BlobError>;
    async fn exists(&self, sha256: &str) -> Result<bool, BlobError>;
    /// Deletes the blob; deleting a missing blob is not an error.
    async fn delete(&self, sha256: &str) -> Result<(), BlobError>;
    /// A local file holding the blob: the stored file itself on a local store, else a copy
    /// downloaded into `tmp_dir`. Parsers read it with seeks, never whole into memory.
    async fn local_file(&self, sha256: &str, tmp_dir: &Path) -> Result<LocalBlob, BlobError>;
    /// The blob's bytes (or a byte range of them, clamped to its end) as a stream.
    async fn stream(
        &self,
        sha256: &str,
        range: Option<Range<u64>>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, BlobError>>, BlobError>;
    /// As `stream`, for a content answer: on a local store (Linux) the body is windows of the
    /// mapped file, which the connection sends with `sendfile` (`mapped.rs`).
    async fn content_stream(
        &self,
        sha256: &str,
        range: Option<Range<u64>>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        self.stream(sha256, range).await
    }
    /// Stores a part of a resumable upload (`uploads/{upload}/{part}`), replacing any earlier
    /// part of that name. Parts are not blobs: `list` does not show them.
    async fn put_upload_part(&self, upload: &str, part: &str, file: &Path)
    -> Result<(), BlobError>;
    /// A stored part's bytes as a stream.
    async fn upload_part_stream(
        &self,
        upload: &str,
        part: &str,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, BlobError>>, BlobError>;
    /// A URL that writes part `part` of `upload` straight into the store (`PUT`, no
    /// credentials) for `ttl`; `None` when the store cannot sign URLs (local disk).
    async fn presigned_put_url(
        &self,
        upload: &str,
        part: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<String>, BlobError>;
    /// Deletes every part of an upload (none is not an error).
    async fn delete_upload_parts(&self, upload: &str) -> Result<(), BlobError>;
    /// Stores the preview image of a blob (replacing any earlier one).
    async fn put_preview(&self, sha256: &str, jpeg: Bytes) -> Result<(), BlobError>;
    /// The preview image of a blob, if one was made.
    async fn read_preview(&self, sha256: &str) -> Result<Option<Bytes>, BlobError>;
    /// Every blob in the store.
    async fn list(&self) -> Result<Vec<BlobInfo>, BlobError>;
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), BlobError>;
    /// Whether the store can take a write now (readiness): a local directory writes and
    /// removes a small probe file, so a full disk shows; a remote store's writes are its own
    /// to refuse, and answer `Ok`.
    async fn probe_write(&self) -> Result<(), BlobError> {
        Ok(())
    }
    /// Whether `presigned_url` can answer (S3-compatible stores; not a local directory).
    fn signs_urls(&self) -> bool;
    /// A URL that reads the blob straight from the store, without credentials, for `ttl`,
    /// answered with `content_type`; `None` when the store cannot sign URLs (local disk).
    async fn presigned_url(
        &self,
        sha256: &str,
        content_type: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<String>, BlobError>;
}

/// Opens the blob store named by `url` (`file:///path`, `file://relative/path` or
/// `s3://BUCKET`), retrying a failing S3 request for the default time.
pub fn open(url: &str) -> Result<Arc<dyn BlobStore>, BlobError> {
    open_with(url, &StoreOptions::default())
}

/// How a store is opened beyond its URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a failing S3 request is retried (with backoff).
    pub retry: std::time::Duration,
    /// Bytes of a local store's blobs kept in memory for content answers (0: none).
    pub content_cache_bytes: u64,
}

impl Default for StoreOptions {
    /// The default retry, and no content cache (tools that only copy or check blobs).
    fn default() -> Self {
        Self {
            retry: std::time::Duration::from_secs(crate::config::defaults::BLOB_RETRY_SECS),
            content_cache_bytes: 0,
        }
    }
}

/// As `open`, with `options`.
pub fn open_with(url: &str, options: &StoreOptions) -> Result<Arc<dyn BlobStore>, BlobError> {
    Ok(Arc::new(ObjectBlobStore::open_with(url, options)?))
}

/// `sha256/ab/cd/<hex>`: the object key of a content hash.
pub fn object_key(sha256: &str) -> String {
    let a = sha256.get(0..2).unwrap_or("00");
    let b = sha256.get(2..4).unwrap_or("00");
    format!("sha256/{a}/{b}/{sha256}")
}

/// `uploads/{upload}/{part}`: the object key of a part of a resumable upload.
pub fn upload_part_key(upload: &str, part: &str) -> String {
    format!("uploads/{upload}/{part}")
}

/// `previews/ab/<hex>.jpg`: the object key of a blob's preview.
pub fn preview_key(sha256: &str) -> String {
    let a = sha256.get(0..2).unwrap_or("00");
    format!("previews/{a}/{sha256}.jpg")
}

/// Whether `s` is a lowercase hex sha256.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An S3 store at `endpoint` that retries for `retry_ms`.
    fn s3_at(endpoint: &str, retry_ms: u64) -> ObjectBlobStore {
        crate::fetch::install_crypto_provider();
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_bucket_name("b")
            .with_region("garage")
            .with_access_key_id("k")
            .with_secret_access_key("s")
            .with_allow_http(true)
            .with_retry(object::retry_budget(std::time::Duration::from_millis(
                retry_ms,
            )))
            .build()
            .expect("s3 store");
        ObjectBlobStore::new(Arc::new(store))
    }

    /// A server that answers every request with `status`.
    async fn answering(status: u16) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().fallback(move || async move {
            axum::http::StatusCode::from_u16(status).expect("status")
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_store_down_or_failing_on_its_side_is_unavailable_and_a_refusal_is_not() {
        // Nothing listens: the connection is refused.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr")
        };
        let down = s3_at(&format!("http://{closed}"), 0);
        let err = down.exists(&"a".repeat(64)).await.expect_err("down");
        assert!(err.is_unavailable(), "{err:?}");
        for (status, unavailable) in [
            (500, true),
            (503, true),
            (429, true),
            (400, false),
            (501, false),
        ] {
            let store = s3_at(&answering(status).await, 0);
            let err = store.exists(&"a".repeat(64)).await.expect_err("fails");
            assert_eq!(err.is_unavailable(), unavailable, "{status}: {err:?}");
        }
        // Denied credentials and a missing blob are the store's answer, not an outage.
        let denied = s3_at(&answering(403).await, 0);
        let err = denied.exists(&"a".repeat(64)).await.expect_err("denied");
        assert!(!err.is_unavailable(), "{err:?}");
        assert!(!BlobError::NotFound("x".into()).is_unavailable());
    }

    #[tokio::test]
    async fn a_failing_request_is_retried_only_for_the_configured_time() {
        let store = s3_at(&answering(503).await, 1500);
        let err = store.exists(&"a".repeat(64)).await.expect_err("fails");
        assert!(err.is_unavailable(), "{err:?}");
        // Retried (more than one attempt), then given up: the message counts the retries.
        assert!(format!("{err}").contains("retries"), "{err}");
    }
}
