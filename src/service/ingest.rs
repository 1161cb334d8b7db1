//! Ingest: an upload by URL becomes a stored blob and a `Processing` asset with its job. Bytes a
//! client sends (`received`) join the same path once they are in a local file.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Notify;
use url::Url;

use super::ServiceError;
use super::admission::Admission;
use super::blob_guard::BlobGuard;
use super::quota::QuotaService;
use super::received::{Origin, is_data_uri};
use crate::blob::{BlobStore, PutOutcome};
use crate::domain::codes;
use crate::domain::rules::{MediaLimits, describe_bytes, describe_cap};
use crate::domain::{Asset, AssetId, AssetName, AssetType, Caller, Status};
use crate::fetch::{FetchError, FetchedFile, Fetcher};
use crate::jobs::PROCESS_ASSET;
use crate::probe::sniff;
use crate::repo::{AssetFilter, AssetRepo, BlobHoldRepo, GroupRepo, Insert, NewAsset, NewJob};

/// Registers media: fetch, sniff, store, insert.
#[derive(Clone)]
pub struct IngestService {
    fetcher: Arc<dyn Fetcher>,
    blobs: Arc<dyn BlobStore>,
    assets: Arc<dyn AssetRepo>,
    groups: Arc<dyn GroupRepo>,
    pub(super) quotas: QuotaService,
    /// Keeps the orphan sweep off the blob between the put and the insert.
    guard: BlobGuard,
    /// Notified on every enqueue, so an idle worker of this node starts at once.
    wake: Arc<Notify>,
    pub(super) limits: Arc<MediaLimits>,
    /// Attempts given to each processing job.
    max_attempts: u32,
    pub(super) admission: Arc<Admission>,
    /// Where received and decoded uploads are spooled (`DATA_DIR/tmp`).
    pub(super) tmp_dir: PathBuf,
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

/// Times an upload takes a new hold on its blob after losing one (`blob_guard`).
const HOLD_ATTEMPTS: u32 = 3;

/// What the insert of an upload's row needs.
struct Registration<'a> {
    caller: &'a Caller,
    asset_type: AssetType,
    url: &'a str,
    filing: &'a Filing,
    sha256: &'a str,
    bytes: u64,
    format: &'a str,
    hold: &'a str,
}

/// An upload as a face receives it; every field is validated here.
#[derive(Debug, Clone, Default)]
pub struct UploadRequest {
    pub asset_type: Option<String>,
    pub url: Option<String>,
    pub name: Option<String>,
    /// The group to file the asset in (one of the tenant's).
    pub group_id: Option<String>,
    /// Answer a live asset of the tenant with the same bytes and type instead of creating one.
    pub dedupe: bool,
}

/// Counts an upload's outcome by its type (`unknown` when it named none that exists):
/// `accepted` (deduplicated ones included), or the refusal's stable code.
pub(super) fn count_upload(asset_type: Option<&str>, result: &Result<Registered, ServiceError>) {
    let kind = asset_type
        .and_then(AssetType::parse)
        .map_or("unknown", AssetType::as_str);
    let outcome = match result {
        Ok(_) => "accepted",
        Err(e) => e.code().name,
    };
    crate::metrics::METRICS.upload(kind, outcome);
}

/// Where a new asset is filed: its name and its group, both checked.
#[derive(Debug, Clone, Default)]
pub(super) struct Filing {
    pub name: Option<String>,
    pub group_id: Option<String>,
}

/// What an upload gave: a new asset, or (`deduplicated`) a live one of the tenant with the
/// same bytes and type.
#[derive(Debug, Clone)]
pub struct Registered {
    pub asset: Asset,
    pub deduplicated: bool,
}

const TYPES_HINT: &str = "use exactly one of Image, Video, Audio, Document (case-sensitive)";

fn article(t: AssetType) -> &'static str {
    match t {
        AssetType::Image | AssetType::Audio => "an",
        AssetType::Video | AssetType::Document => "a",
    }
}

/// Where an upload's bytes come from.
enum Source {
    Url(Url),
    /// A `data:` URI, as sent.
    Data(String),
}

/// `assetType`, exact.
pub(super) fn parse_type(raw: Option<&str>) -> Result<AssetType, ServiceError> {
    match raw {
        None | Some("") => Err(ServiceError::client(
            &codes::INVALID_ASSET_TYPE,
            format!("assetType is required; {TYPES_HINT}"),
        )),
        Some(raw) => AssetType::parse(raw).ok_or_else(|| {
            ServiceError::client(
                &codes::INVALID_ASSET_TYPE,
                format!("assetType '{raw}' is not valid; {TYPES_HINT}"),
            )
        }),
    }
}

/// `name`: optional; an empty name is no name (`null` on both faces).
pub(super) fn parse_name(raw: Option<&str>) -> Result<Option<String>, ServiceError> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            let name =
                AssetName::parse(raw).map_err(|m| ServiceError::client(&codes::INVALID_NAME, m))?;
            Ok(Some(name.into_string()).filter(|n| !n.is_empty()))
        }
    }
}

impl UploadRequest {
    /// Validates the fields as an upload does before it fetches anything: the type, the URL's
    /// syntax (or the `data:` URI's form) and the name.
    pub fn validate(&self) -> Result<(), ServiceError> {
        self.parse().map(|_| ())
    }

    fn parse(&self) -> Result<(AssetType, Source, Option<String>), ServiceError> {
        let asset_type = parse_type(self.asset_type.as_deref())?;
        let raw_url = self.url.as_deref().map(str::trim).unwrap_or_default();
        if raw_url.is_empty() {
            return Err(ServiceError::client(
                &codes::INVALID_URL,
                "url is required: a public http(s) URL the server can fetch now",
            ));
        }
        let name = parse_name(self.name.as_deref())?;
        if is_data_uri(raw_url) {
            return Ok((asset_type, Source::Data(raw_url.to_owned()), name));
        }
        let url = Url::parse(raw_url).map_err(|e| {
            ServiceError::client(
                &codes::INVALID_URL,
                format!("url '{raw_url}' is not a valid URL: {e}"),
            )
        })?;
        Ok((asset_type, Source::Url(url), name))
    }
}

fn fetch_error(e: FetchError, asset_type: AssetType) -> ServiceError {
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
            let what = asset_type.as_str().to_lowercase();
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

    /// Registers media by URL: fetch (SSRF-safe, capped) → sniff → store the blob → insert the
    /// asset (`Processing`) and its job in one transaction. Nothing is created on failure. A
    /// `data:` URI in `url` is decoded instead of fetched (see `received`).
    pub async fn upload(
        &self,
        caller: &Caller,
        req: UploadRequest,
    ) -> Result<Registered, ServiceError> {
        let asset_type = req.asset_type.clone();
        let result = self.upload_by_url(caller, req).await;
        count_upload(asset_type.as_deref(), &result);
        result
    }

    async fn upload_by_url(
        &self,
        caller: &Caller,
        req: UploadRequest,
    ) -> Result<Registered, ServiceError> {
        let (asset_type, source, name) = req.parse()?;
        let filing = Filing {
            name,
            group_id: self.check_group(caller, req.group_id.as_deref()).await?,
        };
        self.quotas.admit(&caller.tenant, 0).await?;
        // Held until the upload answers, whichever way.
        let _slot = self.admission.admit(&caller.tenant).await?;
        let cap = self.limits.for_type(asset_type).max_bytes;
        let (file, origin) = match source {
            Source::Url(url) => {
                let fetching = std::time::Instant::now();
                let fetched = self
                    .fetcher
                    .fetch(&url, cap)
                    .await
                    .map_err(|e| fetch_error(e, asset_type))?;
                crate::metrics::METRICS.stage("fetch", fetching.elapsed());
                crate::metrics::METRICS.fetched_bytes.inc_by(fetched.bytes);
                (fetched, Origin::url(url))
            }
            Source::Data(raw) => (
                self.spool_data_uri(&raw, asset_type).await?,
                Origin::data_uri(),
            ),
        };
        self.register(caller, asset_type, filing, origin, file, req.dedupe)
            .await
    }

    /// The group an upload names, checked to be the caller's (`None` and `""`: no group).
    pub(super) async fn check_group(
        &self,
        caller: &Caller,
        raw: Option<&str>,
    ) -> Result<Option<String>, ServiceError> {
        match raw.map(str::trim).filter(|g| !g.is_empty()) {
            None => Ok(None),
            Some(raw) => super::groups::owned_group(self.groups.as_ref(), &caller.tenant, raw)
                .await
                .map(Some),
        }
    }

    /// What every upload shares once its bytes are in a local file, fetched or received:
    /// sniff → store the blob → insert the asset (`Processing`) and its job.
    pub(super) async fn register(
        &self,
        caller: &Caller,
        asset_type: AssetType,
        filing: Filing,
        origin: Origin,
        file: FetchedFile,
        dedupe: bool,
    ) -> Result<Registered, ServiceError> {
        let sniffed = sniff(&file.head);
        if sniffed.family != Some(asset_type) {
            let family = sniffed
                .family
                .map(|f| format!(" ({} {f})", article(f)))
                .unwrap_or_default();
            return Err(ServiceError::client(
                &codes::TYPE_MISMATCH,
                format!(
                    "{} is {}{family}, not {} {asset_type}",
                    origin.described,
                    sniffed.description,
                    article(asset_type)
                ),
            ));
        }

        if (dedupe || self.dedupes(&caller.tenant))
            && let Some(asset) = self.live_twin(caller, asset_type, &file.sha256).await?
        {
            tracing::info!(asset = %asset.id, tenant = %caller.tenant, "upload deduplicated");
            return Ok(Registered {
                asset,
                deduplicated: true,
            });
        }

        // The file's size is known now: it must fit the tenant's quota of bytes.
        self.quotas.admit_bytes(&caller.tenant, file.bytes).await?;

        // The blob is held from before the put looks for it until the row is inserted, so the
        // orphan sweep cannot remove it in between (`blob_guard`). A hold reaped as stale
        // meanwhile (a very slow put) means starting over.
        for _ in 0..HOLD_ATTEMPTS {
            let hold = self.guard.hold_for_upload(&file.sha256).await?;
            let storing = std::time::Instant::now();
            let put = self
                .blobs
                .put_file(
                    &file.sha256,
                    &file.path,
                    crate::domain::mime_type(Some(&sniffed.format)),
                )
                .await
                .map_err(|e| ServiceError::internal("storing a blob", e))?;
            crate::metrics::METRICS.stage("store", storing.elapsed());
            let new = Registration {
                caller,
                asset_type,
                url: &origin.url,
                filing: &filing,
                sha256: &file.sha256,
                bytes: file.bytes,
                format: &sniffed.format,
                hold: hold.id(),
            };
            // On an error the hold is released when dropped; an insert consumes it.
            let inserted = self.insert(new).await?;
            hold.consumed();
            match inserted {
                Some(asset) => {
                    tracing::info!(
                        asset = %asset.id, tenant = %caller.tenant, bytes = asset.bytes,
                        format = %sniffed.format, dedup = put == PutOutcome::AlreadyPresent,
                        "asset registered"
                    );
                    return Ok(Registered {
                        asset,
                        deduplicated: false,
                    });
                }
                None => tracing::warn!(sha256 = %file.sha256, "blob hold lost; storing again"),
            }
        }
        Err(ServiceError::internal(
            "registering an asset",
            anyhow::anyhow!("the blob hold was lost {HOLD_ATTEMPTS} times"),
        ))
    }

    /// Whether every upload of `tenant` is deduplicated (the configuration's tenants).
    fn dedupes(&self, tenant: &str) -> bool {
        self.dedupe_tenants.iter().any(|t| t == "*" || t == tenant)
    }

    /// The newest live asset of the caller's tenant with these bytes and this type that has not
    /// failed (Processing, PendingReview or Active). Never another tenant's.
    async fn live_twin(
        &self,
        caller: &Caller,
        asset_type: AssetType,
        sha256: &str,
    ) -> Result<Option<Asset>, ServiceError> {
        let filter = AssetFilter {
            asset_type: Some(asset_type),
            statuses: vec![Status::Processing, Status::PendingReview, Status::Active],
            name_contains: None,
            sha256: Some(sha256.to_owned()),
            ..AssetFilter::default()
        };
        let page = self
            .assets
            .list_assets_keyset(&caller.tenant, &filter, None, 1)
            .await
            .map_err(|e| ServiceError::internal("looking for the same content", e))?;
        Ok(page.items.into_iter().next())
    }

    /// Inserts the `Processing` row and its job, releasing the upload's hold; `None` when the
    /// hold was gone.
    async fn insert(&self, new: Registration<'_>) -> Result<Option<Asset>, ServiceError> {
        let job = NewJob {
            kind: PROCESS_ASSET.to_owned(),
            max_attempts: self.max_attempts,
            request_id: crate::request_id::current(),
        };
        for _ in 0..8 {
            let now = Utc::now();
            let asset = NewAsset {
                id: AssetId::generate(now),
                tenant: new.caller.tenant.clone(),
                name: new.filing.name.clone(),
                asset_type: new.asset_type,
                url: new.url.to_owned(),
                sha256: new.sha256.to_owned(),
                bytes: new.bytes,
                format: Some(new.format.to_owned()),
                group_id: new.filing.group_id.clone(),
                created_at: now,
            };
            let inserted = self
                .assets
                .insert_held_asset_with_job(&asset, &job, new.hold)
                .await;
            match inserted {
                Ok(Insert::Inserted(asset)) => {
                    self.wake.notify_one();
                    return Ok(Some(*asset));
                }
                Ok(Insert::IdTaken) => continue,
                Ok(Insert::HoldLost) => return Ok(None),
                Err(e) => return Err(ServiceError::internal("registering an asset", e)),
            }
        }
        Err(ServiceError::internal(
            "registering an asset",
            anyhow::anyhow!("could not find a free asset id"),
        ))
    }
}
