//! Ingest: one use case files every upload, whatever request shape it arrived in. A face
//! parses its request once into an `Upload` (`request.rs`) whose `Source` says where the bytes
//! are: a URL to fetch, a `data:` URI, a file the client sent (`received.rs`), or a finished
//! resumable or direct upload (`resumable.rs`). `IngestService::file` brings the bytes into a
//! local file, then `register.rs` sniffs, stores and inserts the `Processing` asset and its job.
//! `admission.rs` bounds the fetches of each tenant and the queue; `batch.rs` files many URLs.

mod admission;
mod batch;
mod received;
mod register;
mod request;
mod resumable;

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::Notify;

pub use admission::{Admission, FetchSlot};
pub use batch::{BATCH_CONCURRENCY, BatchUpload, MAX_BATCH_URLS};
pub use received::{DATA_URI_MAX_BYTES, DATA_URI_SOURCE, Incoming};
pub use request::{Announced, Source, StoredUpload, Upload, UploadFields, Via};
pub use resumable::{Appended, DirectUpload, ResumableService, UPLOAD_TTL};

use received::Origin;

use super::ServiceError;
use super::blob_guard::BlobGuard;
use super::quota::QuotaService;
use crate::blob::BlobStore;
use crate::domain::codes;
use crate::domain::rules::{MediaLimits, describe_bytes, describe_cap};
use crate::domain::{Asset, AssetType, Caller};
use crate::fetch::{FetchError, FetchedFile, Fetcher};
use crate::repo::{AssetRepo, BlobHoldRepo, GroupRepo};

/// Files uploads: brings the bytes into a local file, then sniffs, stores and inserts.
#[derive(Clone)]
pub struct IngestService {
    fetcher: Arc<dyn Fetcher>,
    blobs: Arc<dyn BlobStore>,
    assets: Arc<dyn AssetRepo>,
    groups: Arc<dyn GroupRepo>,
    quotas: QuotaService,
    /// Keeps the orphan sweep off the blob between the put and the insert.
    guard: BlobGuard,
    /// Notified on every enqueue, so an idle worker of this node starts at once.
    wake: Arc<Notify>,
    limits: Arc<MediaLimits>,
    /// Attempts given to each processing job.
    max_attempts: u32,
    admission: Arc<Admission>,
    /// Where received and decoded uploads are spooled (`DATA_DIR/tmp`).
    tmp_dir: PathBuf,
    /// Tenants whose every upload is deduplicated (`*`: all of them).
    dedupe_tenants: Arc<Vec<String>>,
}

/// The ports ingest runs on.
pub struct IngestPorts {
    pub fetcher: Arc<dyn Fetcher>,
    pub blobs: Arc<dyn BlobStore>,
    pub assets: Arc<dyn AssetRepo>,
    pub holds: Arc<dyn BlobHoldRepo>,
    /// Uploads naming a group check that it is the tenant's.
    pub groups: Arc<dyn GroupRepo>,
    /// Refuses uploads over the tenant's quota.
    pub quotas: QuotaService,
    pub wake: Arc<Notify>,
    pub admission: Arc<Admission>,
}

/// The settings of ingest.
pub struct IngestSettings {
    pub limits: Arc<MediaLimits>,
    /// Attempts given to each processing job.
    pub max_attempts: u32,
    /// Where received and decoded uploads are spooled (`DATA_DIR/tmp`).
    pub tmp_dir: PathBuf,
    /// Tenants whose every upload is deduplicated (`*`: all of them).
    pub dedupe_tenants: Vec<String>,
}

/// What an upload gave: a new asset, or (`deduplicated`) a live one of the tenant with the
/// same bytes and type.
#[derive(Debug, Clone)]
pub struct Registered {
    pub asset: Asset,
    pub deduplicated: bool,
}

/// Counts an upload's outcome by its type: `accepted` (deduplicated ones included), or the
/// refusal's stable code.
/// An upload whose type comes from its bytes counts under the type found (`unknown` when
/// refused before one was).
fn count_upload(asset_type: Option<AssetType>, result: &Result<Registered, ServiceError>) {
    let (kind, outcome) = match result {
        Ok(r) => (Some(r.asset.asset_type), "accepted"),
        Err(e) => (asset_type, e.code().name),
    };
    crate::metrics::METRICS.upload(kind.map_or("unknown", AssetType::as_str), outcome);
}

/// Counts an upload refused before its type was checked (`unknown` when it named none that
/// exists).
fn count_refusal(raw_type: Option<&str>, refused: &ServiceError) {
    let kind = raw_type
        .and_then(AssetType::parse)
        .map_or("unknown", AssetType::as_str);
    crate::metrics::METRICS.upload(kind, refused.code().name);
}

fn spool_error(e: FetchError) -> ServiceError {
    ServiceError::internal("spooling an upload", e)
}

/// The type an upload declared, for the sources that always declare one.
fn declared(asset_type: Option<AssetType>) -> Result<AssetType, ServiceError> {
    asset_type.ok_or_else(|| {
        ServiceError::client(
            &codes::INVALID_ASSET_TYPE,
            "assetType is required: use one of Image, Video, Audio, Document",
        )
    })
}

fn fetch_error(e: FetchError, asset_type: Option<AssetType>) -> ServiceError {
    let code = match &e {
        FetchError::InvalidUrl(_)
        | FetchError::UnsupportedScheme(_)
        | FetchError::BadRedirect(_) => &codes::INVALID_URL,
        FetchError::Blocked { .. } => &codes::URL_NOT_ALLOWED,
        FetchError::Unreachable(_) => &codes::SOURCE_UNREACHABLE,
        FetchError::Timeout(_) => &codes::SOURCE_TIMEOUT,
        FetchError::HttpStatus(_) => &codes::SOURCE_HTTP_ERROR,
        FetchError::TooManyRedirects(_) => &codes::TOO_MANY_REDIRECTS,
        FetchError::TooLarge { limit, declared } => {
            let what =
                asset_type.map_or_else(|| "a file".to_owned(), |t| t.as_str().to_lowercase());
            let message = match declared {
                Some(n) => format!(
                    "the file at the URL is {} (per its Content-Length); {what} must be {}",
                    describe_bytes(*n),
                    describe_cap(*limit)
                ),
                None => format!(
                    "the file at the URL is larger than allowed; {what} must be {}",
                    describe_cap(*limit)
                ),
            };
            return ServiceError::client(&codes::TOO_LARGE, message);
        }
        FetchError::LocalIo(_) => return ServiceError::internal("storing a download", e),
    };
    ServiceError::client(code, e)
}

/// The file's size and sha256, as the spool counted and hashed them, against what a direct
/// upload announced.
fn check_announced(
    file: &FetchedFile,
    length: u64,
    sha256: Option<&str>,
) -> Result<(), ServiceError> {
    if file.bytes != length {
        return Err(ServiceError::client(
            &codes::UPLOAD_MISMATCH,
            format!(
                "the upload holds {} bytes, not the {length} announced; PUT the whole file again",
                file.bytes
            ),
        ));
    }
    if let Some(expected) = sha256
        && !expected.eq_ignore_ascii_case(&file.sha256)
    {
        return Err(ServiceError::client(
            &codes::UPLOAD_MISMATCH,
            format!(
                "the upload's sha256 is {}, not {expected}; PUT the file again",
                file.sha256
            ),
        ));
    }
    Ok(())
}

impl IngestService {
    pub fn new(ports: IngestPorts, settings: IngestSettings) -> Self {
        Self {
            fetcher: ports.fetcher,
            blobs: ports.blobs,
            assets: ports.assets,
            groups: ports.groups,
            quotas: ports.quotas,
            guard: BlobGuard::new(ports.holds),
            wake: ports.wake,
            admission: ports.admission,
            limits: settings.limits,
            max_attempts: settings.max_attempts,
            tmp_dir: settings.tmp_dir,
            dedupe_tenants: Arc::new(settings.dedupe_tenants),
        }
    }

    /// The largest file of any type: the cap on a file sent before its `assetType`.
    pub fn max_upload_bytes(&self) -> u64 {
        let l = &self.limits;
        [&l.image, &l.video, &l.audio, &l.document]
            .iter()
            .map(|t| t.max_bytes)
            .max()
            .unwrap_or(0)
    }

    /// The cap of one type.
    pub fn max_bytes(&self, asset_type: AssetType) -> u64 {
        self.limits.for_type(asset_type).max_bytes
    }

    /// Files an upload: its bytes into a local file (fetched SSRF-safe and capped, decoded,
    /// received, or read back from its parts), then sniff → store the blob → insert the asset
    /// (`Processing`) and its job in one transaction. Nothing is created on failure.
    pub async fn file(&self, caller: &Caller, upload: Upload) -> Result<Registered, ServiceError> {
        let asset_type = upload.asset_type;
        let result = self.file_upload(caller, upload).await;
        count_upload(asset_type, &result);
        result
    }

    async fn file_upload(
        &self,
        caller: &Caller,
        upload: Upload,
    ) -> Result<Registered, ServiceError> {
        let Upload {
            asset_type,
            name,
            group_id,
            dedupe,
            source,
        } = upload;
        let filing = register::Filing {
            name,
            group_id: self.check_group(caller, group_id.as_deref()).await?,
            finishes: match &source {
                Source::Stored(stored) => Some((stored.id.clone(), stored.length)),
                _ => None,
            },
        };
        // Without a type, fetched under the largest cap, then held to the found type's.
        let cap = asset_type.map_or_else(|| self.max_upload_bytes(), |t| self.max_bytes(t));
        // A fetch slot is held until the upload answers, whichever way (a file the client
        // sent holds the one it was received under).
        let (_slot, file, origin) = match source {
            Source::Url(url) => {
                let slot = self.admit(caller).await?;
                let fetching = std::time::Instant::now();
                let fetched = self
                    .fetcher
                    .fetch(&url, cap)
                    .await
                    .map_err(|e| fetch_error(e, asset_type))?;
                crate::metrics::METRICS.stage("fetch", fetching.elapsed());
                crate::metrics::METRICS.fetched_bytes.inc_by(fetched.bytes);
                (Some(slot), fetched, Origin::url(url))
            }
            Source::DataUri(raw) => {
                let slot = self.admit(caller).await?;
                let file = self.spool_data_uri(&raw, cap).await?;
                (Some(slot), file, Origin::data_uri())
            }
            Source::File(incoming) => {
                let origin = Origin::file(incoming.file_name());
                let file = (*incoming).finish(declared(asset_type)?, cap).await?;
                (None, file, origin)
            }
            Source::Stored(stored) => {
                let slot = self.admit(caller).await?;
                let file = self.read_stored(&stored, declared(asset_type)?).await?;
                if let Via::Direct { length, sha256 } = &stored.via {
                    check_announced(&file, *length, sha256.as_deref())?;
                }
                (Some(slot), file, Origin::file(stored.file_name.as_deref()))
            }
        };
        let asset_type = match asset_type {
            Some(t) => t,
            None => self.type_of(&file, &origin)?,
        };
        self.register(caller, asset_type, filing, origin, file, dedupe)
            .await
    }

    /// The type of an upload's bytes, for an upload that named none: their sniffed family,
    /// under that type's size cap.
    fn type_of(&self, file: &FetchedFile, origin: &Origin) -> Result<AssetType, ServiceError> {
        let sniffed = crate::probe::sniff::sniff(&file.head);
        let Some(found) = sniffed.family else {
            return Err(ServiceError::client(
                &codes::TYPE_MISMATCH,
                format!(
                    "{} is {}, which is of no accepted type (an image, a video, an audio file or \
                     a document); send another file, or name its assetType",
                    origin.described, sniffed.description
                ),
            ));
        };
        let cap = self.max_bytes(found);
        if file.bytes > cap {
            return Err(received::file_too_large(Some(found), cap));
        }
        Ok(found)
    }

    /// The tenant's quota (nothing of the file known yet), then one of its fetch slots.
    async fn admit(&self, caller: &Caller) -> Result<FetchSlot, ServiceError> {
        self.quotas.admit(&caller.tenant, 0).await?;
        self.admission.admit(&caller.tenant).await
    }

    /// The group an upload names, checked to be the caller's (`None`: no group).
    async fn check_group(
        &self,
        caller: &Caller,
        raw: Option<&str>,
    ) -> Result<Option<String>, ServiceError> {
        match raw {
            None => Ok(None),
            Some(raw) => super::groups::owned_group(self.groups.as_ref(), &caller.tenant, raw)
                .await
                .map(Some),
        }
    }

    /// Starts receiving a file of `caller` that a face streams in: admitted like an upload by
    /// URL (the slot is held until the upload answers), spooled under the largest cap until
    /// the type is known.
    pub async fn receive(&self, caller: &Caller) -> Result<Incoming, ServiceError> {
        let slot = match self.admit(caller).await {
            Ok(slot) => slot,
            Err(refused) => {
                // Refused before the file (and its type) arrived.
                count_refusal(None, &refused);
                return Err(refused);
            }
        };
        Incoming::create(
            &self.tmp_dir,
            self.max_upload_bytes(),
            Arc::clone(&self.limits),
            slot,
        )
    }

    /// A stored upload's parts, in order, read back through a new spool (hashed as written,
    /// the type's cap enforced).
    async fn read_stored(
        &self,
        stored: &StoredUpload,
        asset_type: AssetType,
    ) -> Result<FetchedFile, ServiceError> {
        let read_error = |e: crate::blob::BlobError| match (e, &stored.via) {
            (crate::blob::BlobError::NotFound(_), Via::Direct { .. }) => ServiceError::client(
                &codes::UPLOAD_MISMATCH,
                "no bytes have arrived for this upload yet: PUT the file to its url first",
            ),
            (crate::blob::BlobError::NotFound(_), Via::Resumable) => ServiceError::internal(
                "reading an upload's part",
                anyhow::anyhow!("a part of the upload is not in the blob store"),
            ),
            (other, _) => ServiceError::internal("reading an upload's part", other),
        };
        let cap = self.max_bytes(asset_type);
        let mut spool =
            crate::fetch::Spool::create(&self.tmp_dir, "upload-", cap).map_err(spool_error)?;
        for part in &stored.parts {
            let mut stream = self
                .blobs
                .upload_part_stream(&stored.id, part)
                .await
                .map_err(read_error)?;
            while let Some(chunk) = stream.next().await {
                match spool.write(&chunk.map_err(read_error)?).await {
                    Err(FetchError::TooLarge { limit, .. }) => {
                        return Err(received::file_too_large(Some(asset_type), limit));
                    }
                    other => other.map_err(spool_error)?,
                }
            }
        }
        spool.finish().await.map_err(spool_error)
    }
}
