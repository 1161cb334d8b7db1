use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, SignedUrlOptions, Signer};
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use tokio::io::AsyncWriteExt;

use super::{
    BlobError, BlobInfo, BlobStore, ContentCache, LocalBlob, PutOutcome, StoreOptions,
    is_sha256_hex, object_key, preview_key, upload_part_key,
};
#[cfg(target_os = "linux")]
use super::{content_cache::sha256_bytes, mapped::MappedFiles};

/// Upload part size for large blobs.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one blob uploading at once: a large put holds at most (1 + this) × `PART_BYTES`.
const PARTS_IN_FLIGHT: usize = 2;

/// A `BlobStore` over any `object_store` backend.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    /// Signs direct-read URLs (S3-compatible stores).
    signer: Option<Arc<dyn Signer>>,
    /// The directory behind a `file://` store, whose files can be read in place.
    local_root: Option<std::path::PathBuf>,
    /// Chunks of a local store's blobs kept for content answers (`content_cache.rs`).
    content_cache: Arc<ContentCache>,
    /// A local store's files mapped for content answers (`mapped.rs`).
    #[cfg(target_os = "linux")]
    mapped: Arc<MappedFiles>,
}

impl ObjectBlobStore {
    /// Writes a local file to `location` in parts of `PART_BYTES`, a few at once (large reads:
    /// each read of a tokio file is a trip to the blocking pool).
    async fn write_file(
        &self,
        location: ObjectPath,
        file: &Path,
        attributes: Attributes,
    ) -> Result<(), BlobError> {
        let mut source =
            tokio::io::BufReader::with_capacity(1 << 20, tokio::fs::File::open(file).await?);
        let mut writer = BufWriter::with_capacity(Arc::clone(&self.store), location, PART_BYTES)
            .with_attributes(attributes)
            .with_max_concurrency(PARTS_IN_FLIGHT);
        if let Err(e) = tokio::io::copy_buf(&mut source, &mut writer).await {
            let _ = writer.abort().await;
            return Err(BlobError::Io(e));
        }
        if let Err(e) = writer.shutdown().await {
            let _ = writer.abort().await;
            return Err(BlobError::Io(e));
        }
        Ok(())
    }

    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            signer: None,
            local_root: None,
            content_cache: Arc::new(ContentCache::new(0)),
            #[cfg(target_os = "linux")]
            mapped: Arc::default(),
        }
    }

    /// `file://PATH`: a local directory (created if missing), whose content answers keep up to
    /// `options.content_cache_bytes` of chunks in memory; `s3://BUCKET`: an S3-compatible store,
    /// whose failing requests are retried with backoff for at most `options.retry` (the
    /// `object_store` default, three minutes, would hold an upload that long when the store is
    /// down).
    pub fn open_with(url: &str, options: &StoreOptions) -> Result<Self, BlobError> {
        if let Some(path) = url.strip_prefix("file://") {
            std::fs::create_dir_all(path)?;
            let store = LocalFileSystem::new_with_prefix(path)?.with_automatic_cleanup(true);
            return Ok(Self {
                store: Arc::new(store),
                signer: None,
                local_root: Some(std::fs::canonicalize(path)?),
                content_cache: Arc::new(ContentCache::new(options.content_cache_bytes)),
                #[cfg(target_os = "linux")]
                mapped: Arc::default(),
            });
        }
        if url.starts_with("s3://") {
            // Endpoint, credentials, region, AWS_ALLOW_HTTP… come from the standard AWS_*
            // variables that object_store reads.
            crate::fetch::install_crypto_provider();
            let parsed =
                url::Url::parse(url).map_err(|e| BlobError::InvalidUrl(format!("'{url}': {e}")))?;
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(parsed.as_str())
                .with_retry(retry_budget(options.retry))
                .build()?;
            let store = Arc::new(store);
            return Ok(Self {
                store: Arc::clone(&store) as Arc<dyn ObjectStore>,
                signer: Some(store),
                local_root: None,
                content_cache: Arc::new(ContentCache::new(0)),
                #[cfg(target_os = "linux")]
                mapped: Arc::default(),
            });
        }
        Err(BlobError::InvalidUrl(format!(
            "'{url}': expected file://PATH or s3://BUCKET"
        )))
    }

    /// Object metadata to store: none on a local directory, which keeps none.
    fn attributes(&self, content_type: &str) -> Attributes {
        let mut attributes = Attributes::new();
        if self.local_root.is_none() {
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
        }
        attributes
    }

    fn location(sha256: &str) -> ObjectPath {
        ObjectPath::from(object_key(sha256))
    }
}

/// Retries of a failing S3 request (a 5xx, a 429, no connection) with backoff for at most
/// `retry`; the last wait is short enough not to run far past it.
pub(super) fn retry_budget(retry: std::time::Duration) -> object_store::RetryConfig {
    object_store::RetryConfig {
        retry_timeout: retry,
        backoff: object_store::BackoffConfig {
            max_backoff: (retry / 4).clamp(
                std::time::Duration::from_millis(100),
                std::time::Duration::from_secs(15),
            ),
            ..object_store::BackoffConfig::default()
        },
        ..object_store::RetryConfig::default()
    }
}

/// On a local store, a hard link puts the downloaded file in place without copying a byte
/// (and fails, rather than overwrites, when the blob appeared meanwhile). `None` when it cannot
/// link (another filesystem, no hard links there): the caller copies instead.
async fn link_into(
    root: &Path,
    sha256: &str,
    file: &Path,
) -> Result<Option<PutOutcome>, BlobError> {
    let target = root.join(object_key(sha256));
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    match tokio::fs::hard_link(file, &target).await {
        Ok(()) => Ok(Some(PutOutcome::Stored)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(Some(PutOutcome::AlreadyPresent))
        }
        // Another filesystem, or one without hard links: copy instead.
        Err(_) => Ok(None),
    }
}

fn not_found(sha256: &str) -> impl FnOnce(object_store::Error) -> BlobError + '_ {
    move |e| match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound(sha256.to_owned()),
        other => BlobError::Store(other),
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put_file(
        &self,
        sha256: &str,
        file: &Path,
        content_type: &str,
    ) -> Result<PutOutcome, BlobError> {
        if self.exists(sha256).await? {
            return Ok(PutOutcome::AlreadyPresent);
        }
        if let Some(root) = &self.local_root
            && let Some(outcome) = link_into(root, sha256, file).await?
        {
            return Ok(outcome);
        }
        let size = tokio::fs::metadata(file).await?.len();
        if size <= PART_BYTES as u64 {
            // One conditional put: when two nodes store the same new content at once, exactly
            // one write lands and the other learns the blob is already there.
            let bytes = tokio::fs::read(file).await?;
            let options = PutOptions {
                mode: PutMode::Create,
                attributes: self.attributes(content_type),
                ..PutOptions::default()
            };
            return match self
                .store
                .put_opts(&Self::location(sha256), bytes.into(), options)
                .await
            {
                Ok(_) => Ok(PutOutcome::Stored),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(PutOutcome::AlreadyPresent),
                Err(e) => Err(BlobError::Store(e)),
            };
        }
        // Large blobs go up in parts; identical content written twice at once is harmless.
        self.write_file(Self::location(sha256), file, self.attributes(content_type))
            .await?;
        Ok(PutOutcome::Stored)
    }

    async fn put_upload_part(
        &self,
        upload: &str,
        part: &str,
        file: &Path,
    ) -> Result<(), BlobError> {
        let location = ObjectPath::from(upload_part_key(upload, part));
        self.write_file(location, file, Attributes::new()).await
    }

    async fn upload_part_stream(
        &self,
        upload: &str,
        part: &str,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let key = upload_part_key(upload, part);
        let result = self
            .store
            .get(&ObjectPath::from(key.as_str()))
            .await
            .map_err(not_found(&key))?;
        Ok(result.into_stream().map_err(BlobError::Store).boxed())
    }

    async fn presigned_put_url(
        &self,
        upload: &str,
        part: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<String>, BlobError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let location = ObjectPath::from(upload_part_key(upload, part));
        let url = signer.signed_url(Method::PUT, &location, ttl).await?;
        Ok(Some(url.to_string()))
    }

    async fn delete_upload_parts(&self, upload: &str) -> Result<(), BlobError> {
        let prefix = ObjectPath::from(format!("uploads/{upload}"));
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        for meta in metas {
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(BlobError::Store(e)),
            }
        }
        Ok(())
    }

    async fn read_range(&self, sha256: &str, range: Range<u64>) -> Result<Bytes, BlobError> {
        let location = Self::location(sha256);
        let meta = self
            .store
            .head(&location)
            .await
            .map_err(not_found(sha256))?;
        let end = range.end.min(meta.size);
        let start = range.start.min(end);
        if start == end {
            return Ok(Bytes::new());
        }
        self.store
            .get_range(&location, start..end)
            .await
            .map_err(not_found(sha256))
    }

    async fn local_file(&self, sha256: &str, tmp_dir: &Path) -> Result<LocalBlob, BlobError> {
        if let Some(root) = &self.local_root {
            let path = root.join(object_key(sha256));
            return match tokio::fs::metadata(&path).await {
                Ok(_) => Ok(LocalBlob::Stored(path)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(BlobError::NotFound(sha256.to_owned()))
                }
                Err(e) => Err(BlobError::Io(e)),
            };
        }
        let result = self
            .store
            .get(&Self::location(sha256))
            .await
            .map_err(not_found(sha256))?;
        let temp = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(tmp_dir)?;
        let (file, path) = temp.into_parts();
        let mut out = tokio::fs::File::from_std(file);
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.try_next().await? {
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        Ok(LocalBlob::Copy(path))
    }

    async fn stream(
        &self,
        sha256: &str,
        range: Option<Range<u64>>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        if let Some(root) = &self.local_root {
            // Large reads of the stored file itself (`local_read.rs`); only a hash names one.
            if !is_sha256_hex(sha256) {
                return Err(BlobError::NotFound(sha256.to_owned()));
            }
            return super::local_read::stream(
                root.join(object_key(sha256)),
                sha256,
                range,
                Arc::clone(&self.content_cache),
            )
            .await;
        }
        let options = object_store::GetOptions {
            range: range.map(object_store::GetRange::Bounded),
            ..object_store::GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&Self::location(sha256), options)
            .await
            .map_err(not_found(sha256))?;
        Ok(result.into_stream().map_err(BlobError::Store).boxed())
    }

    #[cfg(target_os = "linux")]
    async fn content_stream(
        &self,
        sha256: &str,
        range: Option<Range<u64>>,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let Some(root) = &self.local_root else {
            return self.stream(sha256, range).await;
        };
        let key = sha256_bytes(sha256).ok_or_else(|| BlobError::NotFound(sha256.to_owned()))?;
        match self.mapped.open(&key, &root.join(object_key(sha256))).await {
            Ok(Some(file)) => Ok(super::mapped::windows(file, range.unwrap_or(0..u64::MAX))),
            Ok(None) => Ok(futures_util::stream::empty().boxed()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(BlobError::NotFound(sha256.to_owned()))
            }
            // A file system that cannot map files: read them.
            Err(e) => {
                tracing::debug!(error = %e, "a stored file could not be mapped; reading it");
                self.stream(sha256, range).await
            }
        }
    }

    async fn put_preview(&self, sha256: &str, jpeg: Bytes) -> Result<(), BlobError> {
        self.store
            .put(&ObjectPath::from(preview_key(sha256)), jpeg.into())
            .await?;
        Ok(())
    }

    async fn read_preview(&self, sha256: &str) -> Result<Option<Bytes>, BlobError> {
        match self.store.get(&ObjectPath::from(preview_key(sha256))).await {
            Ok(result) => Ok(Some(result.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(BlobError::Store(e)),
        }
    }

    async fn exists(&self, sha256: &str) -> Result<bool, BlobError> {
        match self.store.head(&Self::location(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(BlobError::Store(e)),
        }
    }

    async fn delete(&self, sha256: &str) -> Result<(), BlobError> {
        match self
            .store
            .delete(&ObjectPath::from(preview_key(sha256)))
            .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(BlobError::Store(e)),
        }
        let deleted = match self.store.delete(&Self::location(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobError::Store(e)),
        };
        // A mapping kept would keep the removed file's space in use.
        #[cfg(target_os = "linux")]
        if let Some(key) = sha256_bytes(sha256) {
            self.mapped.forget(&key);
        }
        deleted
    }

    async fn list(&self) -> Result<Vec<BlobInfo>, BlobError> {
        let prefix = ObjectPath::from("sha256");
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let name = m.location.filename()?.to_owned();
                is_sha256_hex(&name).then_some(BlobInfo {
                    sha256: name,
                    bytes: m.size,
                    last_modified: m.last_modified,
                })
            })
            .collect())
    }

    async fn ping(&self) -> Result<(), BlobError> {
        // A missing probe object is a healthy answer; any other error is not.
        match self.store.head(&ObjectPath::from("health/probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobError::Store(e)),
        }
    }

    async fn probe_write(&self) -> Result<(), BlobError> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        // One name per process: nodes sharing the directory do not remove each other's probe.
        Ok(
            crate::fetch::probe_write(root, &format!(".write-probe-{}", std::process::id()))
                .await?,
        )
    }

    fn signs_urls(&self) -> bool {
        self.signer.is_some()
    }

    async fn presigned_url(
        &self,
        sha256: &str,
        content_type: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<String>, BlobError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let options =
            SignedUrlOptions::default().with_query([("response-content-type", content_type)]);
        let url = signer
            .signed_url_opts(Method::GET, &Self::location(sha256), ttl, &options)
            .await?;
        Ok(Some(url.to_string()))
    }
}
