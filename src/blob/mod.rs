//! Content-addressed blob storage. One `BlobStore` port; one adapter over the `object_store`
//! crate, so the local directory and S3-compatible stores share a single code path.

mod local_read;
mod object;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use object::ObjectBlobStore;

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

/// Opens the blob store named by `url` (`file:///path` or `file://relative/path`).
pub fn open(url: &str) -> Result<Arc<dyn BlobStore>, BlobError> {
    Ok(Arc::new(ObjectBlobStore::open(url)?))
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
